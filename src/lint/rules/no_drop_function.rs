//! `no-drop-function`: a migration drops a function or a procedure that may exist before
//! it and does not create it again.
//!
//! Why, and what to write instead: docs/rules/no-drop-function.md.

use crate::findings::registry;
use crate::sql::names::{last_part, name_at, table_key};
use sqlparser::ast::{FunctionDesc, Statement};

use crate::findings::span::Span;
use crate::lint::rule::{Diagnostic, RuleDef};
use crate::sql::statement::ParsedStatement;

use super::no_drop_view::{Removals, names_after};

pub const RULE: RuleDef = RuleDef::sequence(registry::NO_DROP_FUNCTION, || {
    Box::new(Removals::new(
        created_function,
        dropped_functions,
        diagnostic,
    ))
});

/// What is dropped.
#[derive(Clone, Copy)]
enum Kind {
    Function,
    Procedure,
    /// `DROP ROUTINE`: a function or a procedure.
    Routine,
}

fn diagnostic(span: Span, kind: Kind, name: &str) -> Diagnostic {
    let word = match kind {
        Kind::Function => "function",
        Kind::Procedure => "procedure",
        Kind::Routine => "routine",
    };
    let what = if name.is_empty() {
        format!("a {word}")
    } else {
        format!("{word} {name}")
    };
    let rpc = if name.is_empty() {
        "/rpc/…".to_string()
    } else {
        format!("/rpc/{}", last_part(name))
    };
    let message = match kind {
        Kind::Procedure => format!(
            "dropping {what} breaks every caller still using it (CALL from functions, scheduled jobs, clients) the moment the migration runs"
        ),
        Kind::Function | Kind::Routine => format!(
            "dropping {what} breaks clients calling it through the Data API (`{rpc}`: 404 / PGRST errors) and the triggers, policies and functions using it, the moment the migration runs"
        ),
    };
    let replace = match kind {
        Kind::Procedure => "CREATE OR REPLACE PROCEDURE",
        Kind::Function | Kind::Routine => "CREATE OR REPLACE FUNCTION",
    };
    Diagnostic::new(span, message).help(format!(
        "change it in place with {replace} (same arguments), or add the new {word} beside it and drop the old one in a later release, once nothing calls it, with `-- migration-guard: allow no-drop-function -- <why>`"
    ))
}

/// `DROP FUNCTION` / `DROP PROCEDURE` / `DROP ROUTINE`: what is dropped, and the names
/// (keyed like [`table_key`]; empty when the tokens do not say).
fn dropped_functions(statement: &ParsedStatement) -> Option<(Kind, Vec<String>)> {
    let keys = |descs: &[FunctionDesc]| descs.iter().map(|desc| table_key(&desc.name)).collect();
    match statement.ast.as_deref() {
        Some(Statement::DropFunction(drop)) => Some((Kind::Function, keys(&drop.func_desc))),
        Some(Statement::DropProcedure { proc_desc, .. }) => {
            Some((Kind::Procedure, keys(proc_desc)))
        }
        Some(_) => None,
        None => {
            let kind = if statement.starts_with(&["DROP", "FUNCTION"]) {
                Kind::Function
            } else if statement.starts_with(&["DROP", "PROCEDURE"]) {
                Kind::Procedure
            } else if statement.starts_with(&["DROP", "ROUTINE"]) {
                Kind::Routine
            } else {
                return None;
            };
            Some((kind, names_after(&statement.tokens, 2)))
        }
    }
}

/// `CREATE [OR REPLACE] FUNCTION | PROCEDURE name`: the name, keyed like [`table_key`].
fn created_function(statement: &ParsedStatement) -> Option<String> {
    match statement.ast.as_deref() {
        Some(Statement::CreateFunction(function)) => Some(table_key(&function.name)),
        Some(Statement::CreateProcedure { name, .. }) => Some(table_key(name)),
        Some(_) => None,
        None => {
            let at = if statement.starts_with(&["CREATE", "OR", "REPLACE"]) {
                3
            } else if statement.starts_with(&["CREATE"]) {
                1
            } else {
                return None;
            };
            let kind = statement.tokens.get(at)?;
            if !kind.is_word("FUNCTION") && !kind.is_word("PROCEDURE") {
                return None;
            }
            name_at(&statement.tokens, at + 1).map(|(name, _)| name)
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::lint::test_utils::{assert_ok, render_err};

    #[test]
    fn ok() {
        assert_ok(
            &super::RULE,
            include_str!("fixtures/no-drop-function/ok.sql"),
        );
    }

    #[test]
    fn err() {
        insta::assert_snapshot!(render_err(
            &super::RULE,
            include_str!("fixtures/no-drop-function/err.sql")
        ));
    }
}
