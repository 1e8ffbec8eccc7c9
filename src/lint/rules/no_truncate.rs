//! `no-truncate`: `TRUNCATE` on a table that may hold data.
//!
//! Why, and what to write instead: docs/rules/no-truncate.md.

use crate::findings::registry;
use crate::sql::names::{name_at, table_key};
use sqlparser::ast::{CascadeOption, Statement};

use crate::lint::rule::{Diagnostic, FileContext, RuleDef};
use crate::sql::statement::ParsedStatement;

use super::support::split_top_level;

pub const RULE: RuleDef = RuleDef::new(registry::NO_TRUNCATE, check);

fn check(context: &FileContext<'_>, statement: &ParsedStatement, out: &mut Vec<Diagnostic>) {
    let (tables, cascade): (Vec<String>, bool) = match statement.ast.as_deref() {
        Some(Statement::Truncate(truncate)) => (
            truncate
                .table_names
                .iter()
                .map(|target| table_key(&target.name))
                .collect(),
            matches!(truncate.cascade, Some(CascadeOption::Cascade)),
        ),
        // Unparsed: `TRUNCATE [TABLE] [ONLY] name [*] [, …] …` from the tokens.
        None if statement.starts_with(&["TRUNCATE"]) => {
            let at = if statement.starts_with(&["TRUNCATE", "TABLE"]) {
                2
            } else {
                1
            };
            let tables = split_top_level(&statement.tokens[at..])
                .into_iter()
                .filter_map(|part| {
                    let at = usize::from(part[0].is_word("ONLY"));
                    name_at(part, at).map(|(name, _)| name)
                })
                .collect();
            (tables, statement.has_word("CASCADE"))
        }
        _ => return,
    };
    let named = !tables.is_empty();
    let emptied: Vec<String> = tables
        .into_iter()
        .filter(|table| context.holds_data(table, statement.index))
        .collect();
    if named && emptied.is_empty() {
        return;
    }
    let what = match emptied.as_slice() {
        [] => "a table".to_string(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    };
    let mut message = format!("TRUNCATE deletes every row of {what} for good");
    if cascade {
        let it = if emptied.len() > 1 { "them" } else { "it" };
        message.push_str(&format!(
            ", and CASCADE also empties every table with a foreign key to {it}, which the statement does not name"
        ));
    }
    out.push(
        Diagnostic::new(statement.code_span(), message)
            .help("delete data in a data script run on purpose, not in a migration; if it must be here, use a DELETE with a WHERE that says which rows, or `-- migration-guard: allow no-truncate -- <why>`"),
    );
}

#[cfg(test)]
mod tests {
    use crate::lint::test_utils::{assert_ok, render_err};

    #[test]
    fn ok() {
        assert_ok(&super::RULE, include_str!("fixtures/no-truncate/ok.sql"));
    }

    #[test]
    fn err() {
        insta::assert_snapshot!(render_err(
            &super::RULE,
            include_str!("fixtures/no-truncate/err.sql")
        ));
    }
}
