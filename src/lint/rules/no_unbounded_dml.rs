//! `no-unbounded-dml`: `UPDATE` or `DELETE` without a `WHERE` (or with one that is always
//! true, such as `WHERE true` or `WHERE 1 = 1`) on a table that may hold data.
//!
//! What a `DO` block runs runs with the migration: it is judged at its own lines
//! (`lint::embedded`).
//!
//! Why, and what to write instead: docs/rules/no-unbounded-dml.md.

use crate::findings::registry;
use crate::sql::names::{name_at, table_key};
use sqlparser::ast::{
    BinaryOperator, Expr, FromTable, Query, SetExpr, Statement, TableFactor, UnaryOperator, Value,
};
use sqlparser::tokenizer::Token;

use crate::lint::rule::{Diagnostic, FileContext, RuleDef};
use crate::sql::statement::{ParsedStatement, Tok};

use crate::findings::span::Span;

use super::support::span_of;

pub const RULE: RuleDef = RuleDef::new(registry::NO_UNBOUNDED_DML, check);

/// Which rows an UPDATE or DELETE reaches.
pub(super) enum Rows {
    /// No WHERE.
    All,
    /// A WHERE that is always true (its text).
    AlwaysTrue(String),
    /// A WHERE that picks rows.
    Some,
}

/// One UPDATE or DELETE found in a statement.
pub(super) struct Dml {
    pub delete: bool,
    /// The table ([`table_key`]).
    pub table: String,
    pub rows: Rows,
    /// The keyword through the table name.
    pub span: Span,
}

fn check(context: &FileContext<'_>, statement: &ParsedStatement, out: &mut Vec<Diagnostic>) {
    for dml in dml(context, statement) {
        if !context.holds_data(&dml.table, statement.index) {
            continue;
        }
        let (verb, effect) = if dml.delete {
            ("DELETE", "deletes every row of")
        } else {
            ("UPDATE", "changes every row of")
        };
        let message = match dml.rows {
            Rows::All => format!("{verb} without WHERE {effect} {}", dml.table),
            Rows::AlwaysTrue(condition) => format!(
                "WHERE {condition} matches every row: this {verb} {effect} {}",
                dml.table
            ),
            // A WHERE that picks rows: a deliberate change.
            Rows::Some => continue,
        };
        out.push(Diagnostic::new(dml.span, message).help(
            "data changes belong in a data script run on purpose, not in a migration; if it must be here, make the WHERE say exactly which rows",
        ));
    }
}

/// The UPDATEs and DELETEs `statement` runs, including those in `WITH` clauses (not
/// those in bodies: a `DO` block's come as statements of their own), bounded or not.
pub(super) fn dml(context: &FileContext<'_>, statement: &ParsedStatement) -> Vec<Dml> {
    let mut found = Vec::new();
    match statement.ast.as_deref() {
        Some(ast) => collect(context, statement, ast, &mut found),
        None => found.extend(unparsed(statement)),
    }
    found
}

/// The UPDATEs and DELETEs of `ast`, including those in `WITH` clauses.
fn collect(
    context: &FileContext<'_>,
    statement: &ParsedStatement,
    ast: &Statement,
    out: &mut Vec<Dml>,
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

fn collect_query(
    context: &FileContext<'_>,
    statement: &ParsedStatement,
    query: &Query,
    out: &mut Vec<Dml>,
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

fn rows(selection: Option<&Expr>) -> Rows {
    match selection {
        None => Rows::All,
        Some(expr) if truth(expr) == Some(true) => Rows::AlwaysTrue(expr.to_string()),
        Some(_) => Rows::Some,
    }
}

/// The value of a condition that needs no data: `Some(true)` for `true`, `1 = 1`, `'a' =
/// 'a'`, `1 <> 2`, `NOT false`, `NULL IS NULL`, `1 IS NOT NULL` and `AND`/`OR`/parentheses
/// of those; `None` when it depends on a row (or is NULL). `x = x` depends on the row: it
/// is NULL where `x` is.
fn truth(expr: &Expr) -> Option<bool> {
    match expr {
        Expr::Value(value) => match value.value {
            Value::Boolean(value) => Some(value),
            _ => None,
        },
        Expr::Nested(inner) => truth(inner),
        Expr::UnaryOp {
            op: UnaryOperator::Not,
            expr,
        } => truth(expr).map(|value| !value),
        Expr::IsTrue(inner) | Expr::IsNotFalse(inner) => truth(inner),
        Expr::IsFalse(inner) | Expr::IsNotTrue(inner) => truth(inner).map(|value| !value),
        Expr::IsNull(inner) => literal(inner).map(|value| value == Value::Null),
        Expr::IsNotNull(inner) => literal(inner).map(|value| value != Value::Null),
        Expr::BinaryOp { left, op, right } => match op {
            BinaryOperator::And => match (truth(left), truth(right)) {
                (Some(false), _) | (_, Some(false)) => Some(false),
                (Some(true), Some(true)) => Some(true),
                _ => None,
            },
            BinaryOperator::Or => match (truth(left), truth(right)) {
                (Some(true), _) | (_, Some(true)) => Some(true),
                (Some(false), Some(false)) => Some(false),
                _ => None,
            },
            BinaryOperator::Eq => same(left, right),
            BinaryOperator::NotEq => same(left, right).map(|value| !value),
            _ => None,
        },
        _ => None,
    }
}

/// A literal (through parentheses).
fn literal(expr: &Expr) -> Option<Value> {
    match expr {
        Expr::Value(value) => Some(value.value.clone()),
        Expr::Nested(inner) => literal(inner),
        _ => None,
    }
}

/// Whether two non-NULL literals of one kind are equal (numbers by value, so `1 = 1.0`).
fn same(left: &Expr, right: &Expr) -> Option<bool> {
    match (literal(left)?, literal(right)?) {
        (Value::Number(left, _), Value::Number(right, _)) => {
            Some(left.parse::<f64>().ok()? == right.parse::<f64>().ok()?)
        }
        (Value::Boolean(left), Value::Boolean(right)) => Some(left == right),
        (Value::SingleQuotedString(left), Value::SingleQuotedString(right)) => Some(left == right),
        _ => None,
    }
}

/// Unparsed: `UPDATE [ONLY] name … ` or `DELETE FROM [ONLY] name …`, from the tokens:
/// bounded when a `WHERE` outside parentheses says more than `true` or `1 = 1`.
fn unparsed(statement: &ParsedStatement) -> Option<Dml> {
    let (delete, at) = if statement.starts_with(&["UPDATE"]) {
        (false, 1)
    } else if statement.starts_with(&["DELETE", "FROM"]) {
        (true, 2)
    } else {
        return None;
    };
    let tokens = &statement.tokens;
    let at = at + usize::from(tokens.get(at).is_some_and(|t| t.is_word("ONLY")));
    let (table, next) = name_at(tokens, at)?;
    Some(Dml {
        delete,
        table,
        rows: token_rows(tokens),
        span: span_of(&tokens[..next])?,
    })
}

/// The rows a statement's top-level `WHERE` picks, from its tokens.
fn token_rows(tokens: &[Tok]) -> Rows {
    let mut depth = 0usize;
    let mut at = None;
    for (index, token) in tokens.iter().enumerate() {
        match token.token {
            Token::LParen | Token::LBracket => depth += 1,
            Token::RParen | Token::RBracket => depth = depth.saturating_sub(1),
            _ if depth == 0 && token.is_word("WHERE") => {
                at = Some(index);
                break;
            }
            _ => {}
        }
    }
    let Some(at) = at else {
        return Rows::All;
    };
    let mut condition = &tokens[at + 1..];
    if let Some(end) = condition
        .iter()
        .position(|t| t.token == Token::SemiColon || t.is_word("RETURNING"))
    {
        condition = &condition[..end];
    }
    while let [first, inner @ .., last] = condition
        && first.token == Token::LParen
        && last.token == Token::RParen
    {
        condition = inner;
    }
    let always = match condition {
        [only] => only.is_word("TRUE"),
        [left, equals, right] => {
            equals.token == Token::Eq
                && left.token == right.token
                && matches!(left.token, Token::Number(..) | Token::SingleQuotedString(_))
        }
        _ => false,
    };
    if always {
        let text: Vec<String> = condition.iter().map(|t| t.token.to_string()).collect();
        Rows::AlwaysTrue(text.join(" "))
    } else {
        Rows::Some
    }
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
