//! `on-conflict-needs-unique`: `INSERT … ON CONFLICT` whose target matches no unique
//! constraint or index the migrations declared.
//!
//! Why, and what to write instead: docs/rules/on-conflict-needs-unique.md.

use crate::findings::registry;
use crate::sql::names::{ident_key, last_part, table_key};
use std::collections::BTreeSet;

use sqlparser::ast::{ConflictTarget, OnConflict, OnInsert, Statement, TableObject};

use crate::lint::rule::{Diagnostic, FileContext, RuleDef};
use crate::lint::schema::Table;
use crate::sql::statement::ParsedStatement;

use crate::findings::span::Span;

use super::support::{position, span_of};

pub const RULE: RuleDef = RuleDef::new(registry::ON_CONFLICT_NEEDS_UNIQUE, check);

fn check(context: &FileContext<'_>, statement: &ParsedStatement, out: &mut Vec<Diagnostic>) {
    // The keys as they stand: the earlier files' plus this file's so far.
    if let Some(Statement::Insert(insert)) = statement.ast.as_deref()
        && let TableObject::TableName(name) = &insert.table
        && let Some(OnInsert::OnConflict(conflict)) = &insert.on
    {
        let key = table_key(name);
        if let Some(table) = context
            .schema
            .tables
            .get(&key)
            .filter(|table| !table.opaque)
            && let Some(diagnostic) = judge(statement, &key, table, conflict)
        {
            out.push(diagnostic);
        }
    }
}

fn judge(
    statement: &ParsedStatement,
    key: &str,
    table: &Table,
    conflict: &OnConflict,
) -> Option<Diagnostic> {
    let span = target_span(statement);
    match conflict.conflict_target.as_ref()? {
        ConflictTarget::Columns {
            columns,
            predicate: None,
        } => {
            let wanted: BTreeSet<String> = columns.iter().map(ident_key).collect();
            if wanted.is_empty() || table.unique_columns.contains(&wanted) {
                return None;
            }
            let list = columns
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ");
            let known = if table.unique_columns.is_empty() {
                "it has none".to_string()
            } else {
                let keys: Vec<String> = table
                    .unique_columns
                    .iter()
                    .map(|set| format!("({})", set.iter().cloned().collect::<Vec<_>>().join(", ")))
                    .collect();
                format!("its unique keys are {}", keys.join(", "))
            };
            Some(
                Diagnostic::new(
                    span,
                    format!(
                        "no unique constraint or index on exactly ({list}) is declared for {key}: Postgres fails with 42P10 \"there is no unique or exclusion constraint matching the ON CONFLICT specification\""
                    ),
                )
                .help(format!(
                    "declare the key before this statement (`CREATE UNIQUE INDEX IF NOT EXISTS … ON {key} ({list})` or `ADD CONSTRAINT … UNIQUE ({list})`), or use the columns of a key that exists ({known})"
                )),
            )
        }
        ConflictTarget::OnConstraint(name) => {
            let constraint = name.0.last().map(|part| match part.as_ident() {
                Some(ident) => ident_key(ident),
                None => part.to_string(),
            })?;
            if known_name(key, table, &constraint) {
                return None;
            }
            let bare = last_part(key);
            let known = if table.unique_names.is_empty() {
                String::new()
            } else {
                format!(
                    " (named unique constraints and indexes: {})",
                    table
                        .unique_names
                        .iter()
                        .cloned()
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            };
            Some(
                Diagnostic::new(
                    span,
                    format!(
                        "no unique constraint {constraint} is declared for {key}: Postgres fails with 42704 \"constraint \"{constraint}\" for table \"{bare}\" does not exist\""
                    ),
                )
                .help(format!(
                    "declare the constraint before this statement, or name the unique constraint that exists{known}"
                )),
            )
        }
        ConflictTarget::Columns { .. } => None,
    }
}

/// Whether `name` is a unique constraint or index of `table`: declared with that name, or
/// the name Postgres gives an unnamed primary key (`<table>_pkey`) or unique constraint
/// (`<table>_<columns>_key`).
fn known_name(key: &str, table: &Table, name: &str) -> bool {
    if table.unique_names.contains(name) {
        return true;
    }
    let bare = last_part(key);
    if table.unique_columns.is_empty() {
        return false;
    }
    if name == format!("{bare}_pkey") {
        return true;
    }
    // Postgres shortens generated names to 63 bytes: not judged.
    if name.len() >= 60 && name.ends_with("key") {
        return true;
    }
    // `<table>_<columns in declared order>_key`; the schema keeps no order.
    let Some(middle) = name
        .strip_prefix(&format!("{bare}_"))
        .and_then(|rest| rest.strip_suffix("_key"))
    else {
        return false;
    };
    table.unique_columns.iter().any(|columns| {
        let length: usize = columns.iter().map(String::len).sum::<usize>() + columns.len() - 1;
        middle.len() == length
            && columns
                .iter()
                .all(|column| middle.contains(column.as_str()))
    })
}

/// `ON CONFLICT …` up to `DO`.
fn target_span(statement: &ParsedStatement) -> Span {
    let tokens = &statement.tokens;
    let Some(on) = position(tokens, &["ON", "CONFLICT"]) else {
        return statement.head();
    };
    let end = tokens[on..]
        .iter()
        .position(|token| token.is_word("DO"))
        .map_or(tokens.len(), |end| on + end);
    span_of(&tokens[on..end.max(on + 2)]).unwrap_or_else(|| statement.head())
}

#[cfg(test)]
mod tests {
    use crate::lint::test_utils::{assert_ok, render_err};

    #[test]
    fn ok() {
        assert_ok(
            &super::RULE,
            include_str!("fixtures/on-conflict-needs-unique/ok.sql"),
        );
    }

    #[test]
    fn err() {
        insta::assert_snapshot!(render_err(
            &super::RULE,
            include_str!("fixtures/on-conflict-needs-unique/err.sql")
        ));
    }
}
