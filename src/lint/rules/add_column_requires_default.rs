//! `add-column-requires-default`: `ALTER TABLE … ADD COLUMN` without a `DEFAULT` on a
//! table that may hold data.
//!
//! Why, and what to write instead: docs/rules/add-column-requires-default.md.

use crate::findings::Severity;
use crate::findings::registry;
use crate::sql::names::{ident_key, table_key, word_key};
use sqlparser::ast::{AlterTableOperation, ColumnDef, ColumnOption, DataType, Statement};

use crate::lint::rule::{Diagnostic, FileContext, RuleDef};
use crate::sql::statement::ParsedStatement;
use crate::sql::statement::Tok;

use crate::findings::span::Span;

use super::support::{SERIAL, adds_constraint, alter_table, span_of};

pub const RULE: RuleDef = RuleDef::new(registry::ADD_COLUMN_REQUIRES_DEFAULT, check);

/// What a column added without a default does to the existing rows.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// NULL in every existing row.
    Nullable,
    /// Fails on the first existing row.
    NotNull,
    /// Fails on the first existing row, and a constant default would not help.
    PrimaryKey,
}

/// A column added without a default.
struct Added {
    span: Span,
    column: String,
    kind: Kind,
}

fn check(context: &FileContext<'_>, statement: &ParsedStatement, out: &mut Vec<Diagnostic>) {
    let Some(tokens) = alter_table(statement) else {
        return;
    };
    let mut added = Vec::new();
    let table = match statement.ast.as_deref() {
        Some(Statement::AlterTable(alter)) => {
            for (index, operation) in alter.operations.iter().enumerate() {
                let AlterTableOperation::AddColumn { column_def, .. } = operation else {
                    continue;
                };
                let Some(kind) = without_default(column_def) else {
                    continue;
                };
                let span = tokens
                    .action(index, alter.operations.len())
                    .and_then(span_of)
                    .or_else(|| statement.find(&["ADD"]))
                    .unwrap_or_else(|| statement.head());
                added.push(Added {
                    span,
                    column: ident_key(&column_def.name),
                    kind,
                });
            }
            table_key(&alter.name)
        }
        None => {
            added.extend(tokens.actions.iter().filter_map(|action| unparsed(action)));
            tokens.table
        }
        _ => return,
    };
    if !context.holds_data(&table, statement.index) {
        return;
    }
    for added in added {
        let column = format!("{table}.{}", added.column);
        let diagnostic = match added.kind {
            Kind::NotNull => Diagnostic::new(
                added.span,
                format!(
                    "adding NOT NULL column {column} without a DEFAULT fails as soon as {table} has a row (the existing rows would be NULL)"
                ),
            )
            .help("add `DEFAULT <value>` with a sensible value: a constant default is instant since Postgres 11, no table rewrite"),
            Kind::PrimaryKey => Diagnostic::new(
                added.span,
                format!(
                    "adding primary-key column {column} without a DEFAULT fails as soon as {table} has a row (the existing rows would be NULL)"
                ),
            )
            .help("add it as an identity column or with a generated default (`DEFAULT gen_random_uuid()`), or add it nullable, backfill it, and make it the key in a later migration"),
            Kind::Nullable => Diagnostic::new(
                added.span,
                format!(
                    "column {column} is added without a DEFAULT: it is NULL in every existing row of {table}, and every client reading it must handle that"
                ),
            )
            .help("add `DEFAULT <value>` with a sensible value (a constant default is instant since Postgres 11); if NULL is right for the existing rows, write `DEFAULT NULL`")
            // Often NULL is right (an optional field): worth a look, not a warning.
            .severity(Severity::Info),
        };
        out.push(diagnostic);
    }
}

/// `Some(kind)` when the column has no default and does not fill itself.
fn without_default(column: &ColumnDef) -> Option<Kind> {
    if let DataType::Custom(name, _) = &column.data_type
        && name.0.len() == 1
        && SERIAL.contains(&name.to_string().to_lowercase().as_str())
    {
        return None;
    }
    let mut kind = Kind::Nullable;
    for option in &column.options {
        match &option.option {
            ColumnOption::Default(_)
            | ColumnOption::Generated { .. }
            | ColumnOption::Identity(_) => return None,
            ColumnOption::PrimaryKey(_) => kind = Kind::PrimaryKey,
            ColumnOption::NotNull if kind == Kind::Nullable => kind = Kind::NotNull,
            _ => {}
        }
    }
    Some(kind)
}

/// Unparsed: `ADD [COLUMN] [IF NOT EXISTS] name type …` without DEFAULT, GENERATED or a
/// serial type, from the tokens.
fn unparsed(action: &[Tok]) -> Option<Added> {
    if !action[0].is_word("ADD") || adds_constraint(action) {
        return None;
    }
    let mut at = 1;
    if action.get(at)?.is_word("COLUMN") {
        at += 1;
    }
    if action.get(at)?.is_word("IF") {
        at += 3;
    }
    let column = word_key(action.get(at)?)?;
    let serial = action
        .get(at + 1)
        .and_then(Tok::word)
        .is_some_and(|word| SERIAL.contains(&word.to_lowercase().as_str()));
    let fills_itself = serial
        || action
            .iter()
            .any(|t| t.is_word("DEFAULT") || t.is_word("GENERATED"));
    if fills_itself {
        return None;
    }
    let pair = |a: &str, b: &str| {
        action
            .windows(2)
            .any(|pair| pair[0].is_word(a) && pair[1].is_word(b))
    };
    let kind = if pair("PRIMARY", "KEY") {
        Kind::PrimaryKey
    } else if pair("NOT", "NULL") {
        Kind::NotNull
    } else {
        Kind::Nullable
    };
    Some(Added {
        span: span_of(action)?,
        column,
        kind,
    })
}

#[cfg(test)]
mod tests {
    use crate::lint::test_utils::{assert_ok, render_err};

    #[test]
    fn ok() {
        assert_ok(
            &super::RULE,
            include_str!("fixtures/add-column-requires-default/ok.sql"),
        );
    }

    #[test]
    fn err() {
        insta::assert_snapshot!(render_err(
            &super::RULE,
            include_str!("fixtures/add-column-requires-default/err.sql")
        ));
    }
}
