//! `require-upsert`: `INSERT` without `ON CONFLICT`.
//!
//! Why, and what to write instead: docs/rules/require-upsert.md.

use crate::findings::registry;
use crate::sql::names::{ident_key, last_part, name_at, table_key};
use sqlparser::ast::{
    BinaryOperator, Expr, InTarget, Insert, JoinOperator, Query, Select, SetExpr, Statement,
    TableFactor, TableObject, UnaryOperator,
};

use crate::lint::rule::{Diagnostic, FileContext, RuleDef};
use crate::sql::statement::ParsedStatement;

use crate::findings::span::Span;

use super::support::span_of;

pub const RULE: RuleDef = RuleDef::new(registry::REQUIRE_UPSERT, check);

fn check(context: &FileContext<'_>, statement: &ParsedStatement, out: &mut Vec<Diagnostic>) {
    // (span, table); the table is empty when the tokens do not say.
    let mut found: Vec<(Span, String)> = Vec::new();
    match statement.ast.as_deref() {
        Some(Statement::Insert(insert)) => {
            found.extend(plain_insert(context, statement, insert));
        }
        Some(Statement::Query(query)) => collect_query(context, statement, query, &mut found),
        Some(_) => {}
        // Unparsed: an INSERT with neither ON CONFLICT nor NOT EXISTS in its tokens.
        None => {
            if statement.starts_with(&["INSERT", "INTO"])
                && statement.find(&["ON", "CONFLICT"]).is_none()
                && statement.find(&["NOT", "EXISTS"]).is_none()
            {
                let tokens = &statement.tokens;
                let named = name_at(tokens, 2)
                    .and_then(|(table, next)| Some((span_of(&tokens[..next])?, table)));
                found.push(named.unwrap_or_else(|| (statement.head(), String::new())));
            }
        }
    }
    for (span, table) in found {
        let into = if table.is_empty() {
            String::new()
        } else {
            format!(" into {table}")
        };
        out.push(
            Diagnostic::new(
                span,
                format!(
                    "INSERT{into} without ON CONFLICT fails on a unique key, or adds the rows a second time, when the migration runs again"
                ),
            )
            .help("add `ON CONFLICT (<unique columns>) DO NOTHING` (or `DO UPDATE SET …`), or insert with `SELECT … WHERE NOT EXISTS (…)`"),
        );
    }
}

/// INSERTs in a query's `WITH` clauses and body.
fn collect_query(
    context: &FileContext<'_>,
    statement: &ParsedStatement,
    query: &Query,
    out: &mut Vec<(Span, String)>,
) {
    if let Some(with) = &query.with {
        for cte in &with.cte_tables {
            collect_query(context, statement, &cte.query, out);
        }
    }
    match query.body.as_ref() {
        SetExpr::Insert(Statement::Insert(insert)) => {
            out.extend(plain_insert(context, statement, insert));
        }
        SetExpr::Query(query) => collect_query(context, statement, query, out),
        _ => {}
    }
}

/// The INSERT's span (keyword to table name) and table, unless it handles conflicts or
/// guards itself with `WHERE NOT EXISTS`.
fn plain_insert(
    context: &FileContext<'_>,
    statement: &ParsedStatement,
    insert: &Insert,
) -> Option<(Span, String)> {
    let TableObject::TableName(name) = &insert.table else {
        return None;
    };
    let table = table_key(name);
    if insert.on.is_some()
        || insert
            .source
            .as_deref()
            .is_some_and(|source| guarded(source, &table))
    {
        return None;
    }
    let span = statement.keyword_through_name(context.source(), insert.insert_token.0.span, name);
    Some((span, table))
}

/// Inserts only what is not in `table` yet: `SELECT … WHERE NOT EXISTS (…)`,
/// `… WHERE x NOT IN (SELECT …)` (alone or AND-ed with other conditions), or the anti-join
/// `… LEFT JOIN table t ON … WHERE t.col IS NULL`.
fn guarded(source: &Query, table: &str) -> bool {
    match source.body.as_ref() {
        SetExpr::Select(select) => select
            .selection
            .as_ref()
            .is_some_and(|selection| guard(selection) || anti_join(select, selection, table)),
        SetExpr::Query(query) => guarded(query, table),
        _ => false,
    }
}

/// `… LEFT JOIN table [AS] t ON … WHERE … t.col IS NULL …`.
fn anti_join(select: &Select, selection: &Expr, table: &str) -> bool {
    let joined: Vec<String> = select
        .from
        .iter()
        .flat_map(|from| &from.joins)
        .filter(|join| {
            matches!(
                join.join_operator,
                JoinOperator::Left(_) | JoinOperator::LeftOuter(_)
            )
        })
        .filter_map(|join| match &join.relation {
            TableFactor::Table { name, alias, .. } if table_key(name) == table => {
                Some(match alias {
                    Some(alias) => ident_key(&alias.name),
                    None => last_part(table).to_string(),
                })
            }
            _ => None,
        })
        .collect();
    !joined.is_empty() && is_null_of(selection, &joined)
}

/// Whether an AND-chain holds `<one of names>.<col> IS NULL`.
fn is_null_of(expr: &Expr, names: &[String]) -> bool {
    match expr {
        Expr::IsNull(inner) => match inner.as_ref() {
            Expr::CompoundIdentifier(parts) => parts
                .first()
                .is_some_and(|first| names.contains(&ident_key(first))),
            _ => false,
        },
        Expr::Nested(inner) => is_null_of(inner, names),
        Expr::BinaryOp {
            left,
            op: BinaryOperator::And,
            right,
        } => is_null_of(left, names) || is_null_of(right, names),
        _ => false,
    }
}

fn guard(expr: &Expr) -> bool {
    match expr {
        Expr::Exists { negated: true, .. } => true,
        Expr::In {
            negated: true,
            target: InTarget::Subquery(_),
            ..
        } => true,
        Expr::UnaryOp {
            op: UnaryOperator::Not,
            expr,
        } => exists(expr),
        Expr::Nested(inner) => guard(inner),
        Expr::BinaryOp {
            left,
            op: BinaryOperator::And,
            right,
        } => guard(left) || guard(right),
        _ => false,
    }
}

/// `EXISTS (…)`, possibly in parentheses.
fn exists(expr: &Expr) -> bool {
    match expr {
        Expr::Exists { negated: false, .. } => true,
        Expr::Nested(inner) => exists(inner),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use crate::lint::test_utils::{assert_ok, render_err};

    #[test]
    fn ok() {
        assert_ok(&super::RULE, include_str!("fixtures/require-upsert/ok.sql"));
    }

    #[test]
    fn err() {
        insta::assert_snapshot!(render_err(
            &super::RULE,
            include_str!("fixtures/require-upsert/err.sql")
        ));
    }
}
