//! `no-drop-column`: `ALTER TABLE … DROP COLUMN` on a table that may hold data.
//!
//! Why, and what to write instead: docs/rules/no-drop-column.md.

use crate::findings::registry;
use crate::sql::names::{ident_key, table_key, word_key};
use sqlparser::ast::{AlterTableOperation, Statement};

use crate::lint::rule::{Diagnostic, FileContext, RuleDef};
use crate::sql::statement::ParsedStatement;

use crate::findings::span::Span;

use super::support::{alter_table, span_of};

pub const RULE: RuleDef = RuleDef::new(registry::NO_DROP_COLUMN, check);

fn check(context: &FileContext<'_>, statement: &ParsedStatement, out: &mut Vec<Diagnostic>) {
    let Some(tokens) = alter_table(statement) else {
        return;
    };
    // (span, table, column); the column is empty when the tokens do not say.
    let mut dropped: Vec<(Span, String, String)> = Vec::new();
    match statement.ast.as_deref() {
        Some(Statement::AlterTable(alter)) => {
            let table = table_key(&alter.name);
            for (index, operation) in alter.operations.iter().enumerate() {
                let AlterTableOperation::DropColumn { column_names, .. } = operation else {
                    continue;
                };
                let span = tokens
                    .action(index, alter.operations.len())
                    .and_then(span_of)
                    .or_else(|| statement.find(&["DROP", "COLUMN"]))
                    .or_else(|| statement.find(&["DROP"]))
                    .unwrap_or_else(|| statement.head());
                let columns: Vec<String> = column_names.iter().map(ident_key).collect();
                dropped.push((span, table.clone(), columns.join(", ")));
            }
        }
        // Unparsed: `DROP [COLUMN] [IF EXISTS] name` among the actions.
        None => {
            for action in &tokens.actions {
                if !action[0].is_word("DROP")
                    || action.get(1).is_none_or(|t| t.is_word("CONSTRAINT"))
                {
                    continue;
                }
                let mut at = 1;
                if action[at].is_word("COLUMN") {
                    at += 1;
                }
                if action.get(at).is_some_and(|t| t.is_word("IF"))
                    && action.get(at + 1).is_some_and(|t| t.is_word("EXISTS"))
                {
                    at += 2;
                }
                let column = action.get(at).and_then(word_key);
                if let Some(span) = span_of(action) {
                    dropped.push((span, tokens.table.clone(), column.unwrap_or_default()));
                }
            }
        }
        _ => {}
    }
    for (span, table, column) in dropped {
        if !context.holds_data(&table, statement.index) {
            continue;
        }
        let what = if column.is_empty() {
            format!("a column of {table}")
        } else {
            format!("column {table}.{column}")
        };
        out.push(
            Diagnostic::new(
                span,
                format!(
                    "dropping {what} deletes its values for good and breaks every client still reading or writing it"
                ),
            )
            .help("stop using the column and deploy that first; drop it later in a migration of its own, with `-- migration-guard: allow no-drop-column -- <why>`"),
        );
    }
}

#[cfg(test)]
mod tests {
    use crate::lint::test_utils::{assert_ok, render_err};

    #[test]
    fn ok() {
        assert_ok(&super::RULE, include_str!("fixtures/no-drop-column/ok.sql"));
    }

    #[test]
    fn err() {
        insta::assert_snapshot!(render_err(
            &super::RULE,
            include_str!("fixtures/no-drop-column/err.sql")
        ));
    }
}
