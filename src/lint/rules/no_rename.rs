//! `no-rename`: `ALTER TABLE … RENAME TO` or `RENAME [COLUMN]` on a table that may hold
//! data.
//!
//! Why, and what to write instead: docs/rules/no-rename.md.

use crate::findings::registry;
use crate::sql::names::{ident_key, last_part, table_key, word_key};
use sqlparser::ast::{AlterTableOperation, RenameTableNameKind, Statement};

use crate::lint::rule::{Diagnostic, FileContext, RuleDef};
use crate::sql::statement::ParsedStatement;
use crate::sql::statement::Tok;

use crate::findings::span::Span;

use super::support::{alter_table, span_of};

pub const RULE: RuleDef = RuleDef::new(registry::NO_RENAME, check);

enum Rename {
    /// The new table name (last part, folded), empty when unknown.
    Table(String),
    /// The old and new column names, folded.
    Column(String, String),
}

fn check(context: &FileContext<'_>, statement: &ParsedStatement, out: &mut Vec<Diagnostic>) {
    let Some(tokens) = alter_table(statement) else {
        return;
    };
    let mut renames: Vec<(Span, Rename)> = Vec::new();
    let table = match statement.ast.as_deref() {
        Some(Statement::AlterTable(alter)) => {
            let count = alter.operations.len();
            for (index, operation) in alter.operations.iter().enumerate() {
                let rename = match operation {
                    AlterTableOperation::RenameTable { table_name } => {
                        let (RenameTableNameKind::To(name) | RenameTableNameKind::As(name)) =
                            table_name;
                        Rename::Table(last_part(&table_key(name)).to_string())
                    }
                    AlterTableOperation::RenameColumn {
                        old_column_name,
                        new_column_name,
                    } => Rename::Column(ident_key(old_column_name), ident_key(new_column_name)),
                    _ => continue,
                };
                let span = tokens
                    .action(index, count)
                    .and_then(span_of)
                    .or_else(|| statement.find(&["RENAME"]))
                    .unwrap_or_else(|| statement.head());
                renames.push((span, rename));
            }
            table_key(&alter.name)
        }
        // Unparsed: `RENAME TO new` or `RENAME [COLUMN] old TO new` among the actions.
        None => {
            for action in &tokens.actions {
                if let Some(rename) = rename_action(action)
                    && let Some(span) = span_of(action)
                {
                    renames.push((span, rename));
                }
            }
            tokens.table
        }
        _ => return,
    };
    if !context.holds_data(&table, statement.index) {
        return;
    }
    let schema = table.split_once('.').map_or("public", |(schema, _)| schema);
    for (span, rename) in renames {
        let diagnostic = match rename {
            Rename::Table(new) => {
                let (to, target) = if new.is_empty() {
                    (String::new(), "<new name>".to_string())
                } else {
                    (format!(" to {schema}.{new}"), format!("{schema}.{new}"))
                };
                Diagnostic::new(
                    span,
                    format!(
                        "renaming table {table}{to} breaks every client and function body still using the old name, the moment the migration runs"
                    ),
                )
                .help(format!(
                    "keep the old name working: in the same migration, `CREATE VIEW {table} WITH (security_invoker = true) AS SELECT * FROM {target}` (a simple view accepts writes; security_invoker keeps RLS), move clients over, and drop the view in a later migration"
                ))
            }
            Rename::Column(old, new) => Diagnostic::new(
                span,
                format!(
                    "renaming column {table}.{old} to {new} breaks every client and function body still using the old name, the moment the migration runs"
                ),
            )
            .help(format!(
                "add column {new} instead, dual-write (or a trigger) and backfill it, move clients over, and drop {old} in a later migration"
            )),
        };
        out.push(diagnostic);
    }
}

/// `RENAME TO new` or `RENAME [COLUMN] old TO new` (not `RENAME CONSTRAINT`).
fn rename_action(action: &[Tok]) -> Option<Rename> {
    if !action[0].is_word("RENAME") {
        return None;
    }
    let next = action.get(1)?;
    if next.is_word("TO") {
        let new = action.get(2).and_then(word_key);
        return Some(Rename::Table(new.unwrap_or_default()));
    }
    if next.is_word("CONSTRAINT") {
        return None;
    }
    let at = if next.is_word("COLUMN") { 2 } else { 1 };
    let old = word_key(action.get(at)?)?;
    if !action.get(at + 1)?.is_word("TO") {
        return None;
    }
    let new = word_key(action.get(at + 2)?)?;
    Some(Rename::Column(old, new))
}

#[cfg(test)]
mod tests {
    use crate::lint::test_utils::{assert_ok, render_err};

    #[test]
    fn ok() {
        assert_ok(&super::RULE, include_str!("fixtures/no-rename/ok.sql"));
    }

    #[test]
    fn err() {
        insta::assert_snapshot!(render_err(
            &super::RULE,
            include_str!("fixtures/no-rename/err.sql")
        ));
    }
}
