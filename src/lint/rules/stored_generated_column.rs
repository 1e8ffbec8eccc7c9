//! `stored-generated-column`: `ALTER TABLE … ADD COLUMN … GENERATED ALWAYS AS (…)
//! STORED` on a table that may hold data.
//!
//! Why, and what to write instead: docs/rules/stored-generated-column.md.

use crate::findings::registry;
use sqlparser::ast::{
    AlterTableOperation, ColumnDef, ColumnOption, GeneratedAs, GeneratedExpressionMode,
};
use sqlparser::tokenizer::Token;

use crate::lint::rule::{Diagnostic, FileContext, RuleDef};
use crate::sql::statement::ParsedStatement;
use crate::sql::statement::Tok;

use crate::findings::span::Span;

use super::support::{adds_constraint, altered_columns, position, span_of};

pub const RULE: RuleDef = RuleDef::new(registry::STORED_GENERATED_COLUMN, check);

fn check(context: &FileContext<'_>, statement: &ParsedStatement, out: &mut Vec<Diagnostic>) {
    let Some((table, found)) = altered_columns(
        statement,
        |operation| match operation {
            AlterTableOperation::AddColumn { column_def, .. } if stored_generated(column_def) => {
                Some(column_def.name.to_string())
            }
            _ => None,
        },
        generated_span,
        added_column,
    ) else {
        return;
    };
    if !context.holds_data(&table, statement.index) {
        return;
    }
    for (span, column) in found {
        out.push(
            Diagnostic::new(
                span,
                format!(
                    "adding the stored generated column {column} rewrites all of {table} to compute it for every existing row, while holding an ACCESS EXCLUSIVE lock: reads and writes wait until it is done"
                ),
            )
            .help(format!(
                "add {column} as a plain nullable column, backfill it in batches, and keep it in sync with a BEFORE INSERT OR UPDATE trigger; or compute it in a view"
            )),
        );
    }
}

/// Whether a column is `GENERATED ALWAYS AS (…) STORED`.
fn stored_generated(column: &ColumnDef) -> bool {
    column.options.iter().any(|option| {
        matches!(
            &option.option,
            ColumnOption::Generated {
                generation_expr: Some(_),
                generated_as,
                generation_expr_mode,
                ..
            } if *generated_as == GeneratedAs::ExpStored
                || *generation_expr_mode == Some(GeneratedExpressionMode::Stored)
        )
    })
}

/// `ADD [COLUMN] [IF NOT EXISTS] name …`: the column's name as written.
fn added_column(action: &[Tok]) -> Option<String> {
    if !action.first()?.is_word("ADD") || adds_constraint(action) {
        return None;
    }
    let mut at = if action.get(1)?.is_word("COLUMN") {
        2
    } else {
        1
    };
    if position(&action[at..], &["IF", "NOT", "EXISTS"]) == Some(0) {
        at += 3;
    }
    match &action.get(at)?.token {
        token @ Token::Word(_) => Some(token.to_string()),
        _ => None,
    }
}

/// The span of `GENERATED ALWAYS AS (…) STORED` in an action; `None` when the action has
/// no such clause (an identity column, a virtual generated column).
fn generated_span(action: &[Tok]) -> Option<Span> {
    let start = position(action, &["GENERATED", "ALWAYS", "AS"])?;
    let open = start + 3;
    if action.get(open)?.token != Token::LParen {
        return None;
    }
    let mut depth = 0usize;
    for (index, token) in action.iter().enumerate().skip(open) {
        match token.token {
            Token::LParen => depth += 1,
            Token::RParen => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    let stored = index + 1;
                    return action
                        .get(stored)
                        .filter(|token| token.is_word("STORED"))
                        .and_then(|_| span_of(&action[start..=stored]));
                }
            }
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use crate::lint::test_utils::{assert_ok, render_err};

    #[test]
    fn ok() {
        assert_ok(
            &super::RULE,
            include_str!("fixtures/stored-generated-column/ok.sql"),
        );
    }

    #[test]
    fn err() {
        insta::assert_snapshot!(render_err(
            &super::RULE,
            include_str!("fixtures/stored-generated-column/err.sql")
        ));
    }
}
