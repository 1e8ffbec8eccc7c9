//! `no-unbounded-dml`: `UPDATE` or `DELETE` without a `WHERE` (or with one that is always
//! true, such as `WHERE true` or `WHERE 1 = 1`) on a table that may hold data.
//!
//! **Why.** It changes or deletes every row of the table, on every environment the
//! migration runs on, production included; an `UPDATE` of every row also locks them all
//! until the migration commits and writes a new version of each. It is almost always a
//! forgotten `WHERE`, and nothing short of a restore undoes it.
//!
//! **Instead.** Data changes belong in a data script run on purpose, not in a schema
//! migration. If the change must be in the migration, give it a `WHERE` that says which
//! rows. A bounded `UPDATE`/`DELETE` is still a data change in a migration: a warning
//! (the runbook's policy). Statements on a table the same file created are not reported,
//! and neither are data-modifying statements inside function bodies.

use sqlparser::ast::{
    BinaryOperator, Expr, FromTable, Query, SetExpr, Statement, TableFactor, UnaryOperator, Value,
};

use crate::lint::schema::table_key;
use crate::lint::statement::ParsedStatement;
use crate::lint::{Diagnostic, FileContext};
use crate::report::Severity;
use crate::text::Span;

use super::RuleDef;
use super::support::{name_at, span_of};

pub const RULE: RuleDef = RuleDef {
    id: "no-unbounded-dml",
    severity: Severity::Error,
    summary: "UPDATE or DELETE without WHERE changes every row",
    check,
};

/// Which rows an UPDATE or DELETE reaches.
enum Rows<'a> {
    /// No WHERE.
    All,
    /// A WHERE that is always true.
    AlwaysTrue(&'a Expr),
    /// A WHERE that picks rows.
    Some,
}

/// One UPDATE or DELETE found in a statement.
struct Dml<'a> {
    delete: bool,
    table: String,
    rows: Rows<'a>,
    span: Span,
}

fn check(context: &FileContext<'_>, out: &mut Vec<Diagnostic>) {
    for statement in &context.statements {
        let mut found = Vec::new();
        match &statement.ast {
            Some(ast) => collect(context, statement, ast, &mut found),
            None => found.extend(unparsed(statement)),
        }
        for dml in found {
            if !context.holds_data(&dml.table, statement.index) {
                continue;
            }
            let (verb, effect) = if dml.delete {
                ("DELETE", "deletes every row of")
            } else {
                ("UPDATE", "changes every row of")
            };
            let diagnostic = match dml.rows {
                Rows::All => Diagnostic::new(
                    dml.span,
                    format!("{verb} without WHERE {effect} {}", dml.table),
                ),
                Rows::AlwaysTrue(expr) => Diagnostic::new(
                    dml.span,
                    format!(
                        "WHERE {expr} matches every row: this {verb} {effect} {}",
                        dml.table
                    ),
                ),
                Rows::Some => Diagnostic::new(
                    dml.span,
                    format!(
                        "data change in a migration: this {verb} changes rows of {} on every environment it runs on",
                        dml.table
                    ),
                )
                .severity(Severity::Warning),
            };
            out.push(diagnostic.help(
                "data changes belong in a data script run on purpose, not in a migration; if it must be here, make the WHERE say exactly which rows",
            ));
        }
    }
}

/// The unbounded UPDATEs and DELETEs of `ast`, including those in `WITH` clauses.
fn collect<'a>(
    context: &FileContext<'_>,
    statement: &ParsedStatement,
    ast: &'a Statement,
    out: &mut Vec<Dml<'a>>,
) {
    match ast {
        Statement::Update(update) => {
            let TableFactor::Table { name, .. } = &update.table.relation else {
                return;
            };
            out.push(Dml {
                delete: false,
                table: table_key(name),
                rows: rows(update.selection.as_ref()),
                span: statement.keyword_through_name(
                    context.source(),
                    update.update_token.0.span,
                    name,
                ),
            });
        }
        Statement::Delete(delete) => {
            let (FromTable::WithFromKeyword(from) | FromTable::WithoutKeyword(from)) = &delete.from;
            let Some(TableFactor::Table { name, .. }) = from.first().map(|t| &t.relation) else {
                return;
            };
            out.push(Dml {
                delete: true,
                table: table_key(name),
                rows: rows(delete.selection.as_ref()),
                span: statement.keyword_through_name(
                    context.source(),
                    delete.delete_token.0.span,
                    name,
                ),
            });
        }
        Statement::Query(query) => collect_query(context, statement, query, out),
        _ => {}
    }
}

fn collect_query<'a>(
    context: &FileContext<'_>,
    statement: &ParsedStatement,
    query: &'a Query,
    out: &mut Vec<Dml<'a>>,
) {
    if let Some(with) = &query.with {
        for cte in &with.cte_tables {
            collect_query(context, statement, &cte.query, out);
        }
    }
    match query.body.as_ref() {
        SetExpr::Update(ast) | SetExpr::Delete(ast) => collect(context, statement, ast, out),
        SetExpr::Query(query) => collect_query(context, statement, query, out),
        _ => {}
    }
}

fn rows(selection: Option<&Expr>) -> Rows<'_> {
    match selection {
        None => Rows::All,
        Some(expr) if always_true(expr) => Rows::AlwaysTrue(expr),
        Some(_) => Rows::Some,
    }
}

/// `true`, `1 = 1`, `'a' = 'a'`, `NOT false`, and `AND`/`OR`/parentheses of those.
fn always_true(expr: &Expr) -> bool {
    match expr {
        Expr::Value(value) => value.value == Value::Boolean(true),
        Expr::Nested(inner) => always_true(inner),
        Expr::UnaryOp {
            op: UnaryOperator::Not,
            expr,
        } => always_false(expr),
        Expr::BinaryOp { left, op, right } => match op {
            BinaryOperator::And => always_true(left) && always_true(right),
            BinaryOperator::Or => always_true(left) || always_true(right),
            BinaryOperator::Eq => match (left.as_ref(), right.as_ref()) {
                (Expr::Value(left), Expr::Value(right)) => {
                    left.value == right.value && left.value != Value::Null
                }
                _ => false,
            },
            _ => false,
        },
        _ => false,
    }
}

fn always_false(expr: &Expr) -> bool {
    match expr {
        Expr::Value(value) => value.value == Value::Boolean(false),
        Expr::Nested(inner) => always_false(inner),
        _ => false,
    }
}

/// Unparsed: `UPDATE [ONLY] name … ` or `DELETE FROM [ONLY] name …`, bounded when a
/// `WHERE` appears anywhere, from the tokens.
fn unparsed(statement: &ParsedStatement) -> Option<Dml<'static>> {
    let (delete, at) = if statement.starts_with(&["UPDATE"]) {
        (false, 1)
    } else if statement.starts_with(&["DELETE", "FROM"]) {
        (true, 2)
    } else {
        return None;
    };
    let rows = if statement.has_word("WHERE") {
        Rows::Some
    } else {
        Rows::All
    };
    let tokens = &statement.tokens;
    let at = at + usize::from(tokens.get(at).is_some_and(|t| t.is_word("ONLY")));
    let (table, next) = name_at(tokens, at)?;
    Some(Dml {
        delete,
        table,
        rows,
        span: span_of(&tokens[..next])?,
    })
}

#[cfg(test)]
mod tests {
    use crate::lint::test_utils::{assert_ok, render_err};

    #[test]
    fn ok() {
        assert_ok(
            &super::RULE,
            include_str!("fixtures/no-unbounded-dml/ok.sql"),
        );
    }

    #[test]
    fn err() {
        insta::assert_snapshot!(render_err(
            &super::RULE,
            include_str!("fixtures/no-unbounded-dml/err.sql")
        ));
    }
}
