//! `volatile-default`: `ALTER TABLE … ADD COLUMN` with a volatile default on a table
//! that may hold data.
//!
//! Why, and what to write instead: docs/rules/volatile-default.md.

use crate::findings::registry;
use crate::sql::names::table_key;
use sqlparser::ast::{
    AlterTableOperation, ColumnDef, ColumnOption, DataType, Expr, FunctionArg, FunctionArgExpr,
    FunctionArguments, GeneratedAs, ObjectName, Statement,
};
use sqlparser::tokenizer::Token;

use crate::lint::rule::{Diagnostic, FileContext, RuleDef};
use crate::sql::statement::ParsedStatement;
use crate::sql::statement::Tok;

use crate::findings::span::Span;

use super::support::{SERIAL, adds_constraint, alter_table, span_of};

pub const RULE: RuleDef = RuleDef::new(registry::VOLATILE_DEFAULT, check);

/// Functions whose result cannot be computed once for all rows.
pub(super) const VOLATILE: &[&str] = &[
    "random",
    "random_normal",
    "gen_random_uuid",
    "gen_random_bytes",
    "uuid_generate_v1",
    "uuid_generate_v1mc",
    "uuid_generate_v4",
    "uuidv4",
    "uuidv7",
    "clock_timestamp",
    "timeofday",
    "nextval",
    "setval",
    "txid_current",
    "pg_current_xact_id",
];

/// Stable or immutable functions (computed once when the column is added), Supabase's
/// `auth.uid()`, `auth.role()`, `auth.jwt()` and `auth.email()` included.
pub(super) const NOT_VOLATILE: &[&str] = &[
    "now",
    "current_timestamp",
    "current_date",
    "current_time",
    "localtime",
    "localtimestamp",
    "statement_timestamp",
    "transaction_timestamp",
    "timezone",
    "date_trunc",
    "date_part",
    "extract",
    "make_date",
    "make_interval",
    "make_timestamp",
    "make_timestamptz",
    "to_timestamp",
    "to_date",
    "to_char",
    "to_number",
    "current_user",
    "session_user",
    "current_role",
    "user",
    "current_schema",
    "current_database",
    "current_setting",
    "cast",
    "lower",
    "upper",
    "btrim",
    "ltrim",
    "rtrim",
    "trim",
    "concat",
    "concat_ws",
    "format",
    "length",
    "left",
    "right",
    "substr",
    "substring",
    "replace",
    "coalesce",
    "nullif",
    "greatest",
    "least",
    "abs",
    "round",
    "floor",
    "ceil",
    "md5",
    "to_json",
    "to_jsonb",
    "json_build_object",
    "json_build_array",
    "jsonb_build_object",
    "jsonb_build_array",
    "array",
    "row",
    "to_tsvector",
    "uid",
    "role",
    "jwt",
    "email",
];

/// Supabase's `auth.*` helpers are stable.
const AUTH_STABLE: &[&str] = &["uid", "role", "jwt", "email"];

/// Why a column's default is (or may be) computed per row.
enum Why {
    /// A known volatile function.
    Volatile(String),
    /// A function the rule does not know.
    Unknown(String),
    /// A `serial` type (a `nextval()` default).
    Serial(String),
    /// An identity column (values from a sequence).
    Identity,
}

fn check(context: &FileContext<'_>, statement: &ParsedStatement, out: &mut Vec<Diagnostic>) {
    let Some(alter) = alter_table(statement) else {
        return;
    };
    let mut found: Vec<(Span, String, Why)> = Vec::new();
    let table = match statement.ast.as_deref() {
        Some(Statement::AlterTable(ast)) => {
            let count = ast.operations.len();
            for (index, operation) in ast.operations.iter().enumerate() {
                let AlterTableOperation::AddColumn { column_def, .. } = operation else {
                    continue;
                };
                let Some(why) = column_why(column_def) else {
                    continue;
                };
                let span = alter
                    .action(index, count)
                    .and_then(|action| why_span(action, &why))
                    .unwrap_or_else(|| statement.head());
                found.push((span, column_def.name.to_string(), why));
            }
            table_key(&ast.name)
        }
        Some(_) => return,
        None => {
            for action in &alter.actions {
                if let Some((column, why)) = from_tokens(action)
                    && let Some(span) = why_span(action, &why)
                {
                    found.push((span, column, why));
                }
            }
            alter.table.clone()
        }
    };
    if !context.holds_data(&table, statement.index) {
        return;
    }
    for (span, column, why) in found {
        out.push(diagnostic(span, &table, &column, why));
    }
}

fn diagnostic(span: Span, table: &str, column: &str, why: Why) -> Diagnostic {
    let rewrite = format!(
        "Postgres rewrites all of {table} to fill {column} for every existing row, while holding an ACCESS EXCLUSIVE lock: reads and writes wait until it is done"
    );
    let message = match &why {
        Why::Volatile(function) => format!("{function}() is volatile: {rewrite}"),
        Why::Unknown(function) => format!(
            "{function}() is not known to be stable or immutable; if it is volatile, {rewrite}"
        ),
        Why::Serial(kind) => format!("a {kind} column gets a nextval() default: {rewrite}"),
        Why::Identity => format!("an identity column takes its values from a sequence: {rewrite}"),
    };
    let help = match why {
        Why::Serial(_) | Why::Identity => format!(
            "add {column} as a plain nullable column, give it its sequence default separately (`ALTER TABLE {table} ALTER COLUMN {column} SET DEFAULT nextval(…)`: only new rows use it), backfill the existing rows in batches, then make it NOT NULL"
        ),
        _ => format!(
            "add {column} without a default (or with a constant one), then `ALTER TABLE {table} ALTER COLUMN {column} SET DEFAULT …` (only new rows use it), and backfill the existing rows in batches"
        ),
    };
    Diagnostic::new(span, message).help(help)
}

fn column_why(column: &ColumnDef) -> Option<Why> {
    if let DataType::Custom(name, _) = &column.data_type
        && let Some(kind) = last_name(name).filter(|kind| SERIAL.contains(&kind.as_str()))
    {
        return Some(Why::Serial(kind));
    }
    column
        .options
        .iter()
        .find_map(|option| match &option.option {
            ColumnOption::Default(expr) => volatility(expr),
            ColumnOption::Generated {
                generated_as: GeneratedAs::Always | GeneratedAs::ByDefault,
                generation_expr: None,
                ..
            } => Some(Why::Identity),
            _ => None,
        })
}

fn last_name(name: &ObjectName) -> Option<String> {
    name.0
        .last()
        .and_then(|part| part.as_ident())
        .map(|ident| ident.value.to_lowercase())
}

/// The first volatile (or unknown) function in `expr`, if any.
fn volatility(expr: &Expr) -> Option<Why> {
    match expr {
        Expr::Function(function) => {
            let name = last_name(&function.name)?;
            let qualifier = (function.name.0.len() == 2)
                .then(|| {
                    function.name.0[0]
                        .as_ident()
                        .map(|i| i.value.to_lowercase())
                })
                .flatten();
            let auth = qualifier.as_deref() == Some("auth") && AUTH_STABLE.contains(&name.as_str());
            if VOLATILE.contains(&name.as_str()) {
                return Some(Why::Volatile(function.name.to_string()));
            }
            let in_args = match &function.args {
                FunctionArguments::List(list) => list.args.iter().find_map(|arg| match arg {
                    FunctionArg::Unnamed(FunctionArgExpr::Expr(expr))
                    | FunctionArg::Named {
                        arg: FunctionArgExpr::Expr(expr),
                        ..
                    }
                    | FunctionArg::ExprNamed {
                        arg: FunctionArgExpr::Expr(expr),
                        ..
                    } => volatility(expr),
                    _ => None,
                }),
                _ => None,
            };
            let known = auth || NOT_VOLATILE.contains(&name.as_str());
            match in_args {
                Some(Why::Volatile(inner)) => Some(Why::Volatile(inner)),
                _ if !known => Some(Why::Unknown(function.name.to_string())),
                other => other,
            }
        }
        Expr::Cast { expr, .. }
        | Expr::Nested(expr)
        | Expr::UnaryOp { expr, .. }
        | Expr::Collate { expr, .. } => volatility(expr),
        Expr::BinaryOp { left, right, .. } => volatility(left).or_else(|| volatility(right)),
        Expr::AtTimeZone {
            timestamp,
            time_zone,
        } => volatility(timestamp).or_else(|| volatility(time_zone)),
        Expr::Array(array) => array.elem.iter().find_map(volatility),
        Expr::Tuple(items) => items.iter().find_map(volatility),
        Expr::Case {
            operand,
            conditions,
            else_result,
            ..
        } => operand
            .as_deref()
            .and_then(volatility)
            .or_else(|| {
                conditions.iter().find_map(|when| {
                    volatility(&when.condition).or_else(|| volatility(&when.result))
                })
            })
            .or_else(|| else_result.as_deref().and_then(volatility)),
        // Literals, typed strings, intervals and the like are constants.
        _ => None,
    }
}

/// `ADD [COLUMN] [IF NOT EXISTS] name type … DEFAULT f(…)` from the tokens.
fn from_tokens(action: &[Tok]) -> Option<(String, Why)> {
    if !action.first()?.is_word("ADD") || adds_constraint(action) {
        return None;
    }
    let mut at = if action.get(1)?.is_word("COLUMN") {
        2
    } else {
        1
    };
    if action.get(at)?.is_word("IF") {
        at += 3;
    }
    let column = match &action.get(at)?.token {
        Token::Word(word) => word.value.clone(),
        _ => return None,
    };
    if let Some(kind) = action
        .get(at + 1)
        .and_then(Tok::word)
        .map(|kind| kind.to_lowercase())
        .filter(|kind| SERIAL.contains(&kind.as_str()))
    {
        return Some((column, Why::Serial(kind)));
    }
    if action.iter().any(|t| t.is_word("IDENTITY")) {
        return Some((column, Why::Identity));
    }
    let default = action.iter().position(|t| t.is_word("DEFAULT"))?;
    let end = default_end(action, default);
    action[default + 1..end].windows(2).find_map(|pair| {
        let Token::Word(word) = &pair[0].token else {
            return None;
        };
        if pair[1].token != Token::LParen {
            return None;
        }
        let name = word.value.to_lowercase();
        if VOLATILE.contains(&name.as_str()) {
            Some((column.clone(), Why::Volatile(word.value.clone())))
        } else if NOT_VOLATILE.contains(&name.as_str()) || AUTH_STABLE.contains(&name.as_str()) {
            None
        } else {
            Some((column.clone(), Why::Unknown(word.value.clone())))
        }
    })
}

/// Where the default expression after `action[default]` ends: the next column
/// constraint keyword outside parentheses, or the end of the action.
pub(super) fn default_end(action: &[Tok], default: usize) -> usize {
    const STOP: &[&str] = &[
        "NOT",
        "NULL",
        "PRIMARY",
        "UNIQUE",
        "CHECK",
        "REFERENCES",
        "CONSTRAINT",
        "GENERATED",
        "COLLATE",
        "COMPRESSION",
        "STORAGE",
    ];
    let mut depth = 0usize;
    for (index, token) in action.iter().enumerate().skip(default + 1) {
        match token.token {
            Token::LParen | Token::LBracket => depth += 1,
            Token::RParen | Token::RBracket => depth = depth.saturating_sub(1),
            _ if depth == 0 && STOP.iter().any(|word| token.is_word(word)) => return index,
            _ => {}
        }
    }
    action.len()
}

/// The tokens to point at: `DEFAULT <expression>`, the serial type, or `GENERATED …
/// IDENTITY`.
fn why_span(action: &[Tok], why: &Why) -> Option<Span> {
    match why {
        Why::Serial(_) => {
            let at = action
                .iter()
                .position(|t| SERIAL.iter().any(|kind| t.is_word(kind)))?;
            Some(action[at].span)
        }
        Why::Identity => {
            let start = action.iter().position(|t| t.is_word("GENERATED"))?;
            let end = action.iter().position(|t| t.is_word("IDENTITY"))?;
            span_of(&action[start..=end.max(start)])
        }
        _ => {
            let default = action.iter().position(|t| t.is_word("DEFAULT"))?;
            span_of(&action[default..default_end(action, default)])
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::lint::test_utils::{assert_ok, render_err};

    #[test]
    fn ok() {
        assert_ok(
            &super::RULE,
            include_str!("fixtures/volatile-default/ok.sql"),
        );
    }

    #[test]
    fn err() {
        insta::assert_snapshot!(render_err(
            &super::RULE,
            include_str!("fixtures/volatile-default/err.sql")
        ));
    }
}
