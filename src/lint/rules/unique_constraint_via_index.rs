//! `unique-constraint-via-index`: `ALTER TABLE … ADD CONSTRAINT … UNIQUE` or `PRIMARY
//! KEY` (not `USING INDEX`) on a table that may hold data.
//!
//! Why, and what to write instead: docs/rules/unique-constraint-via-index.md.

use crate::findings::registry;
use crate::sql::names::{ident_key, last_part, table_key};
use sqlparser::ast::{AlterTableOperation, Statement, TableConstraint};

use crate::lint::rule::{Diagnostic, FileContext, RuleDef};
use crate::sql::statement::ParsedStatement;
use crate::sql::statement::Tok;

use crate::findings::span::Span;

use super::support::{action_through, added_constraint, alter_table, position};

pub const RULE: RuleDef = RuleDef::new(registry::UNIQUE_CONSTRAINT_VIA_INDEX, check);

fn check(context: &FileContext<'_>, statement: &ParsedStatement, out: &mut Vec<Diagnostic>) {
    let Some(alter) = alter_table(statement) else {
        return;
    };
    // (span, "UNIQUE" or "PRIMARY KEY", constraint name, columns)
    let mut found: Vec<(Span, &str, Option<String>, Option<String>)> = Vec::new();
    let table = match statement.ast.as_deref() {
        Some(Statement::AlterTable(ast)) => {
            let count = ast.operations.len();
            for (index, operation) in ast.operations.iter().enumerate() {
                let AlterTableOperation::AddConstraint { constraint, .. } = operation else {
                    continue;
                };
                let (kind, name, columns) = match constraint {
                    TableConstraint::Unique(unique) => {
                        ("UNIQUE", unique.name.as_ref(), &unique.columns)
                    }
                    TableConstraint::PrimaryKey(key) => {
                        ("PRIMARY KEY", key.name.as_ref(), &key.columns)
                    }
                    _ => continue,
                };
                let columns = columns
                    .iter()
                    .map(|column| column.column.expr.to_string())
                    .collect::<Vec<_>>()
                    .join(", ");
                let span = alter
                    .action(index, count)
                    .and_then(|action| action_through(action, &["UNIQUE", "KEY"]))
                    .unwrap_or_else(|| statement.head());
                found.push((span, kind, name.map(ident_key), Some(columns)));
            }
            table_key(&ast.name)
        }
        Some(_) => return,
        None => {
            for action in &alter.actions {
                if let Some((kind, name)) = from_tokens(action)
                    && let Some(span) = action_through(action, &["UNIQUE", "KEY"])
                {
                    found.push((span, kind, name, None));
                }
            }
            alter.table.clone()
        }
    };
    if !context.holds_data(&table, statement.index) {
        return;
    }
    for (span, kind, name, columns) in found {
        out.push(diagnostic(span, &table, kind, name, columns));
    }
}

/// `ADD [CONSTRAINT name] UNIQUE (…)` / `PRIMARY KEY (…)`, not `USING INDEX`.
fn from_tokens(action: &[Tok]) -> Option<(&'static str, Option<String>)> {
    let (name, kind) = added_constraint(action)?;
    if position(action, &["USING", "INDEX"]).is_some() {
        return None;
    }
    if kind.is_word("UNIQUE") {
        Some(("UNIQUE", name))
    } else if kind.is_word("PRIMARY") {
        Some(("PRIMARY KEY", name))
    } else {
        None
    }
}

fn diagnostic(
    span: Span,
    table: &str,
    kind: &str,
    name: Option<String>,
    columns: Option<String>,
) -> Diagnostic {
    let bare = last_part(table);
    let index = match (&columns, &name) {
        (Some(columns), _) => {
            let columns: String = columns
                .replace(", ", "_")
                .chars()
                .filter(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            format!("{bare}_{columns}_idx")
        }
        (None, Some(name)) => format!("{name}_idx"),
        (None, None) => format!("{bare}_key_idx"),
    };
    let columns = columns.unwrap_or_else(|| "…".to_string());
    let name = name.unwrap_or_else(|| "<name>".to_string());
    Diagnostic::new(
        span,
        format!(
            "adding this {kind} constraint builds its index while holding an ACCESS EXCLUSIVE lock on {table}: reads and writes wait for the whole build"
        ),
    )
    .help(format!(
        "first `CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS {index} ON {table} ({columns});` alone in its own migration file (CONCURRENTLY cannot run in a transaction), then, in a later migration, `ALTER TABLE {table} ADD CONSTRAINT {name} {kind} USING INDEX {index};` (instant)"
    ))
}

#[cfg(test)]
mod tests {
    use crate::lint::test_utils::{assert_ok, render_err};

    #[test]
    fn ok() {
        assert_ok(
            &super::RULE,
            include_str!("fixtures/unique-constraint-via-index/ok.sql"),
        );
    }

    #[test]
    fn err() {
        insta::assert_snapshot!(render_err(
            &super::RULE,
            include_str!("fixtures/unique-constraint-via-index/err.sql")
        ));
    }
}
