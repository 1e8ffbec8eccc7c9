//! `enum-value-in-transaction`: `ALTER TYPE … ADD VALUE` and, later in the same file, a
//! statement that uses the new value.
//!
//! Why, and what to write instead: docs/rules/enum-value-in-transaction.md.

use crate::findings::registry;
use crate::sql::names::{name_at, table_key};
use std::collections::HashSet;

use sqlparser::ast::{AlterTypeOperation, Statement};
use sqlparser::tokenizer::Token;

use crate::lint::rule::{Diagnostic, FileContext, RuleDef, Sequence};
use crate::sql::statement::ParsedStatement;

use crate::findings::span::Span;

use super::support::{line_of, position, span_of};

pub const RULE: RuleDef = RuleDef::sequence(registry::ENUM_VALUE_IN_TRANSACTION, || {
    Box::<EnumValues>::default()
});

/// An `ALTER TYPE … ADD VALUE`: the type, the value, and the span of `ADD VALUE '…'`.
struct Added {
    type_name: String,
    value: String,
    span: Span,
}

#[derive(Default)]
struct EnumValues {
    /// Types this file created so far: a value added to one is no one's yet.
    created: HashSet<String>,
    /// Values added so far that no later statement has used yet.
    added: Vec<Added>,
}

impl Sequence for EnumValues {
    fn statement(
        &mut self,
        context: &FileContext<'_>,
        statement: &ParsedStatement,
        out: &mut Vec<Diagnostic>,
    ) {
        let adding = added_value(statement);
        if adding.is_none() && !self.added.is_empty() {
            self.added.retain(|added| {
                let Some(used) = statement.tokens.iter().find(|token| {
                    matches!(&token.token, Token::SingleQuotedString(value) if *value == added.value)
                }) else {
                    return true;
                };
                out.push(diagnostic(added, line_of(context.source(), used.span.start)));
                false
            });
        }
        if let Some(name) = created_type(statement) {
            self.created.insert(name);
            return;
        }
        if let Some(added) = adding.filter(|added| !self.created.contains(&added.type_name)) {
            self.added.push(added);
        }
    }
}

fn diagnostic(added: &Added, line: usize) -> Diagnostic {
    Diagnostic::new(
        added.span,
        format!(
            "the new value '{}' of {} is used on line {line} of the same file, which the Supabase CLI runs as one transaction: Postgres 12+ fails with 55P04 \"unsafe use of new value\" (before 12, ADD VALUE cannot run in a transaction at all)",
            added.value, added.type_name
        ),
    )
    .help("add the value in a migration of its own and use it in a later one")
}

fn created_type(statement: &ParsedStatement) -> Option<String> {
    match statement.ast.as_deref() {
        Some(Statement::CreateType { name, .. }) => Some(table_key(name)),
        None if statement.starts_with(&["CREATE", "TYPE"]) => {
            name_at(&statement.tokens, 2).map(|(name, _)| name)
        }
        _ => None,
    }
}

fn added_value(statement: &ParsedStatement) -> Option<Added> {
    let tokens = &statement.tokens;
    let add = position(tokens, &["ADD", "VALUE"])?;
    let (type_name, value) = match statement.ast.as_deref() {
        Some(Statement::AlterType(alter)) => match &alter.operation {
            AlterTypeOperation::AddValue(add) => (table_key(&alter.name), add.value.value.clone()),
            _ => return None,
        },
        Some(_) => return None,
        None => {
            if !statement.starts_with(&["ALTER", "TYPE"]) {
                return None;
            }
            let (type_name, _) = name_at(tokens, 2)?;
            let value = tokens[add..].iter().find_map(|token| match &token.token {
                Token::SingleQuotedString(value) => Some(value.clone()),
                _ => None,
            })?;
            (type_name, value)
        }
    };
    let literal = tokens[add..]
        .iter()
        .position(|token| matches!(&token.token, Token::SingleQuotedString(v) if *v == value))
        .map_or(add + 1, |at| add + at);
    Some(Added {
        type_name,
        value,
        span: span_of(&tokens[add..=literal])?,
    })
}

#[cfg(test)]
mod tests {
    use crate::lint::test_utils::{assert_ok, render_err};

    #[test]
    fn ok() {
        assert_ok(
            &super::RULE,
            include_str!("fixtures/enum-value-in-transaction/ok.sql"),
        );
    }

    #[test]
    fn err() {
        insta::assert_snapshot!(render_err(
            &super::RULE,
            include_str!("fixtures/enum-value-in-transaction/err.sql")
        ));
    }
}
