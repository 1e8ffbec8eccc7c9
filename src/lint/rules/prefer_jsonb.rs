//! `prefer-jsonb`: a column of type `json` (in `CREATE TABLE`, `ADD COLUMN` or
//! `ALTER COLUMN … TYPE`).
//!
//! Why, and what to write instead: docs/rules/prefer-jsonb.md.

use crate::findings::registry;
use crate::sql::names::{ident_key, name_at, name_parts, table_key, word_key};
use sqlparser::ast::{
    AlterColumnOperation, AlterTableOperation, ArrayElemTypeDef, DataType, Ident, Statement,
};
use sqlparser::tokenizer::Token;

use crate::lint::rule::{Diagnostic, FileContext, RuleDef};
use crate::sql::statement::{ParsedStatement, Tok};

use crate::findings::span::Span;

use super::support::{CONSTRAINT_WORDS, adds_constraint, alter_table, span_of, split_top_level};

pub const RULE: RuleDef = RuleDef::new(registry::PREFER_JSONB, check);

/// A json column found: where, which, and whether it is an array (`json[]`).
struct Found {
    span: Span,
    table: String,
    column: String,
    array: bool,
    /// `ALTER COLUMN … TYPE json` rather than a new column.
    altered: bool,
}

fn check(context: &FileContext<'_>, statement: &ParsedStatement, out: &mut Vec<Diagnostic>) {
    let mut found = Vec::new();
    match statement.ast.as_deref() {
        Some(Statement::CreateTable(create)) => {
            let table = table_key(&create.name);
            for column in &create.columns {
                if let Some(array) = json_type(&column.data_type) {
                    found.push(Found {
                        span: column_span(context, statement, &column.name),
                        table: table.clone(),
                        column: ident_key(&column.name),
                        array,
                        altered: false,
                    });
                }
            }
        }
        Some(Statement::AlterTable(alter)) => {
            let table = table_key(&alter.name);
            let tokens = alter_table(statement);
            for (index, operation) in alter.operations.iter().enumerate() {
                let (name, data_type, altered) = match operation {
                    AlterTableOperation::AddColumn { column_def, .. } => {
                        (&column_def.name, &column_def.data_type, false)
                    }
                    AlterTableOperation::AlterColumn {
                        column_name,
                        op: AlterColumnOperation::SetDataType { data_type, .. },
                    } => (column_name, data_type, true),
                    _ => continue,
                };
                let Some(array) = json_type(data_type) else {
                    continue;
                };
                let span = if altered {
                    tokens
                        .as_ref()
                        .and_then(|t| t.action(index, alter.operations.len()))
                        .and_then(span_of)
                        .unwrap_or_else(|| column_span(context, statement, name))
                } else {
                    column_span(context, statement, name)
                };
                found.push(Found {
                    span,
                    table: table.clone(),
                    column: ident_key(name),
                    array,
                    altered,
                });
            }
        }
        Some(_) => {}
        None => found.extend(unparsed(statement)),
    }
    for found in found {
        let json = if found.array { "json[]" } else { "json" };
        let what = if found.altered {
            format!("column {}.{} becomes {json}", found.table, found.column)
        } else {
            format!("column {}.{} is {json}", found.table, found.column)
        };
        out.push(
            Diagnostic::new(
                found.span,
                format!(
                    "{what}: stored as text and parsed again on every access, with no GIN index, no equality (no DISTINCT, GROUP BY or unique constraint) and duplicate keys kept"
                ),
            )
            .help(if found.array {
                "use jsonb (a jsonb array holds the list); keep json only to preserve the exact text, with `-- migration-guard: allow prefer-jsonb -- <why>`"
            } else {
                "use jsonb; keep json only to preserve the exact text (key order, whitespace, duplicate keys), with `-- migration-guard: allow prefer-jsonb -- <why>`"
            }),
        );
    }
}

/// `Some(is_array)` when `data_type` is `json`, `pg_catalog.json` or an array of them.
fn json_type(data_type: &DataType) -> Option<bool> {
    match data_type {
        DataType::JSON => Some(false),
        DataType::Array(
            ArrayElemTypeDef::SquareBracket(inner, _)
            | ArrayElemTypeDef::AngleBracket(inner)
            | ArrayElemTypeDef::Parenthesis(inner),
        ) => json_type(inner).map(|_| true),
        DataType::Custom(name, modifiers) if modifiers.is_empty() => {
            let parts = name_parts(name);
            matches!(
                parts
                    .iter()
                    .map(String::as_str)
                    .collect::<Vec<_>>()
                    .as_slice(),
                ["json"] | ["pg_catalog", "json"]
            )
            .then_some(false)
        }
        _ => None,
    }
}

/// From the column's name to the end of its `json` type, as written.
fn column_span(context: &FileContext<'_>, statement: &ParsedStatement, name: &Ident) -> Span {
    let Some(name) = statement.file_span(context.source(), name.span) else {
        return statement.head();
    };
    let tokens = &statement.tokens;
    let Some(at) = tokens.iter().position(|t| t.span.start == name.start) else {
        return name;
    };
    (at + 1..tokens.len().min(at + 8))
        .find_map(|i| json_at(tokens, i))
        .map_or(name, |end| Span::new(name.start, type_end(tokens, end)))
}

/// The index of the last token of a `json` or `pg_catalog.json` type name starting at
/// token `at`.
fn json_at(tokens: &[Tok], at: usize) -> Option<usize> {
    let is_json = |tok: &Tok| word_key(tok).is_some_and(|key| key == "json");
    if is_json(tokens.get(at)?) {
        return Some(at);
    }
    let schema = word_key(tokens.get(at)?)?;
    (schema == "pg_catalog"
        && tokens.get(at + 1)?.token == Token::Period
        && is_json(tokens.get(at + 2)?))
    .then_some(at + 2)
}

/// The end of a type name ending at token `last`, with its `[]` if any.
fn type_end(tokens: &[Tok], last: usize) -> usize {
    match (tokens.get(last + 1), tokens.get(last + 2)) {
        (Some(open), Some(close))
            if open.token == Token::LBracket && close.token == Token::RBracket =>
        {
            close.span.end
        }
        _ => tokens[last].span.end,
    }
}

/// Whether the type name ending at token `last` is followed by `[`: `json[]`.
fn is_array(tokens: &[Tok], last: usize) -> bool {
    tokens
        .get(last + 1)
        .is_some_and(|t| t.token == Token::LBracket)
}

/// Unparsed: column definitions of `CREATE TABLE … (…)` and `ADD`/`ALTER … TYPE` actions
/// of `ALTER TABLE`, from the tokens.
fn unparsed(statement: &ParsedStatement) -> Vec<Found> {
    let mut found = Vec::new();
    let tokens = &statement.tokens;
    if let Some(alter) = alter_table(statement) {
        for action in &alter.actions {
            let (column_at, altered) = if action[0].is_word("ADD") {
                if adds_constraint(action) {
                    continue;
                }
                let mut at = 1;
                if action.get(at).is_some_and(|t| t.is_word("COLUMN")) {
                    at += 1;
                }
                if action.get(at).is_some_and(|t| t.is_word("IF")) {
                    at += 3;
                }
                (at, false)
            } else if action[0].is_word("ALTER") {
                let at = if action.get(1).is_some_and(|t| t.is_word("COLUMN")) {
                    2
                } else {
                    1
                };
                (at, true)
            } else {
                continue;
            };
            let Some(column) = action.get(column_at).and_then(word_key) else {
                continue;
            };
            let mut type_at = column_at + 1;
            if altered {
                if action.get(type_at).is_some_and(|t| t.is_word("SET")) {
                    type_at += 2;
                }
                if !action.get(type_at).is_some_and(|t| t.is_word("TYPE")) {
                    continue;
                }
                type_at += 1;
            }
            if let Some(last) = json_at(action, type_at) {
                found.push(Found {
                    span: match span_of(action) {
                        Some(whole) if altered => whole,
                        _ => Span::new(action[column_at].span.start, type_end(action, last)),
                    },
                    table: alter.table.clone(),
                    column,
                    array: is_array(action, last),
                    altered,
                });
            }
        }
        return found;
    }
    // CREATE [GLOBAL|LOCAL] [TEMP|TEMPORARY|UNLOGGED] TABLE [IF NOT EXISTS] name (…)
    if !tokens.first().is_some_and(|t| t.is_word("CREATE")) {
        return found;
    }
    let Some(table_at) = tokens.iter().take(5).position(|t| t.is_word("TABLE")) else {
        return found;
    };
    let mut at = table_at + 1;
    if tokens.get(at).is_some_and(|t| t.is_word("IF")) {
        at += 3;
    }
    let Some((table, next)) = name_at(tokens, at) else {
        return found;
    };
    if tokens.get(next).is_none_or(|t| t.token != Token::LParen) {
        return found;
    }
    let mut depth = 0usize;
    let close = tokens[next..].iter().position(|t| {
        match t.token {
            Token::LParen => depth += 1,
            Token::RParen => depth -= 1,
            _ => {}
        }
        depth == 0
    });
    let Some(close) = close else {
        return found;
    };
    for element in split_top_level(&tokens[next + 1..next + close]) {
        let constraint = CONSTRAINT_WORDS
            .iter()
            .chain(&["LIKE"])
            .any(|k| element[0].is_word(k));
        if constraint {
            continue;
        }
        let Some(column) = word_key(&element[0]) else {
            continue;
        };
        if let Some(last) = json_at(element, 1) {
            found.push(Found {
                span: Span::new(element[0].span.start, type_end(element, last)),
                table: table.clone(),
                column,
                array: is_array(element, last),
                altered: false,
            });
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use crate::lint::test_utils::{assert_ok, render_err};

    #[test]
    fn ok() {
        assert_ok(&super::RULE, include_str!("fixtures/prefer-jsonb/ok.sql"));
    }

    #[test]
    fn err() {
        insta::assert_snapshot!(render_err(
            &super::RULE,
            include_str!("fixtures/prefer-jsonb/err.sql")
        ));
    }
}
