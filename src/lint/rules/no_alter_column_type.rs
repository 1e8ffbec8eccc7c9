//! `no-alter-column-type`: `ALTER TABLE … ALTER COLUMN … [SET DATA] TYPE` on a table that
//! may hold data.
//!
//! Why, and what to write instead: docs/rules/no-alter-column-type.md.

use crate::findings::registry;
use crate::sql::names::{ident_key, table_key, word_key};
use sqlparser::ast::{AlterColumnOperation, AlterTableOperation, Statement};

use crate::lint::rule::{Diagnostic, FileContext, RuleDef};
use crate::sql::statement::ParsedStatement;
use crate::sql::statement::Tok;

use crate::findings::span::Span;

use super::support::{alter_table, span_of};

pub const RULE: RuleDef = RuleDef::new(registry::NO_ALTER_COLUMN_TYPE, check);

fn check(context: &FileContext<'_>, statement: &ParsedStatement, out: &mut Vec<Diagnostic>) {
    let Some(tokens) = alter_table(statement) else {
        return;
    };
    // (span, table, column, new type); column and type are empty when unknown.
    let mut changed: Vec<(Span, String, String, String)> = Vec::new();
    match statement.ast.as_deref() {
        Some(Statement::AlterTable(alter)) => {
            let table = table_key(&alter.name);
            for (index, operation) in alter.operations.iter().enumerate() {
                let AlterTableOperation::AlterColumn {
                    column_name,
                    op: AlterColumnOperation::SetDataType { data_type, .. },
                } = operation
                else {
                    continue;
                };
                let action = tokens.action(index, alter.operations.len());
                let span = action
                    .and_then(span_of)
                    .or_else(|| statement.find(&["TYPE"]))
                    .unwrap_or_else(|| statement.head());
                // The type as written; sqlparser's rendering when the actions do
                // not line up.
                let new_type = action
                    .and_then(type_change)
                    .map(|(_, written)| {
                        span_of(written).map_or_else(String::new, |span| context.quoted(span))
                    })
                    .unwrap_or_else(|| data_type.to_string());
                changed.push((span, table.clone(), ident_key(column_name), new_type));
            }
        }
        // Unparsed: `ALTER [COLUMN] name [SET DATA] TYPE type …` among the actions.
        None => {
            for action in &tokens.actions {
                if let Some((column, written)) = type_change(action)
                    && let Some(span) = span_of(action)
                {
                    let new_type =
                        span_of(written).map_or_else(String::new, |span| context.quoted(span));
                    changed.push((span, tokens.table.clone(), column, new_type));
                }
            }
        }
        _ => {}
    }
    for (span, table, column, new_type) in changed {
        if !context.holds_data(&table, statement.index) {
            continue;
        }
        let to = if new_type.is_empty() {
            String::new()
        } else {
            format!(" to {new_type}")
        };
        out.push(
            Diagnostic::new(
                span,
                format!(
                    "changing the type of column {table}.{column}{to} takes an ACCESS EXCLUSIVE lock on {table} (reads and writes wait) and usually rewrites the table while holding it; clients that expect the old type break"
                ),
            )
            .help("add a new column of the new type, dual-write and backfill it in batches, move clients over, and drop the old column in a later migration"),
        );
    }
}

/// `ALTER [COLUMN] name [SET DATA] TYPE type …`: the column, and the type's tokens (up
/// to `USING` or `COLLATE`).
fn type_change(action: &[Tok]) -> Option<(String, &[Tok])> {
    if !action[0].is_word("ALTER") {
        return None;
    }
    let mut at = 1;
    if action.get(at)?.is_word("COLUMN") {
        at += 1;
    }
    let column = word_key(action.get(at)?)?;
    at += 1;
    if action.get(at)?.is_word("SET") && action.get(at + 1)?.is_word("DATA") {
        at += 2;
    }
    if !action.get(at)?.is_word("TYPE") {
        return None;
    }
    let rest = &action[at + 1..];
    let end = rest
        .iter()
        .position(|t| t.is_word("USING") || t.is_word("COLLATE"))
        .unwrap_or(rest.len());
    Some((column, &rest[..end]))
}

#[cfg(test)]
mod tests {
    use crate::lint::test_utils::{assert_ok, render_err};

    #[test]
    fn ok() {
        assert_ok(
            &super::RULE,
            include_str!("fixtures/no-alter-column-type/ok.sql"),
        );
    }

    #[test]
    fn err() {
        insta::assert_snapshot!(render_err(
            &super::RULE,
            include_str!("fixtures/no-alter-column-type/err.sql")
        ));
    }
}
