//! `enum-value-in-transaction`: `ALTER TYPE … ADD VALUE` and, later in the same file, a
//! statement that uses the new value.
//!
//! Why, and what to write instead: docs/rules/enum-value-in-transaction.md.

use crate::findings::registry;
use crate::sql::names::{name_at, table_key};
use std::collections::HashSet;

use sqlparser::ast::{AlterTypeOperation, Statement};
use sqlparser::tokenizer::Token;

use crate::lint::rule::{Diagnostic, FileContext, RuleDef};
use crate::sql::statement::ParsedStatement;

use crate::findings::span::Span;

use super::support::{line_of, position, span_of};

pub const RULE: RuleDef = RuleDef::new(registry::ENUM_VALUE_IN_TRANSACTION, check);

/// An `ALTER TYPE … ADD VALUE`: the type, the value, and the span of `ADD VALUE '…'`.
struct Added {
    type_name: String,
    value: String,
    span: Span,
}

fn check(context: &FileContext<'_>, out: &mut Vec<Diagnostic>) {
    let mut created: HashSet<String> = HashSet::new();
    for (at, statement) in context.statements.iter().enumerate() {
        if let Some(name) = created_type(statement) {
            created.insert(name);
            continue;
        }
        let Some(added) = added_value(statement) else {
            continue;
        };
        if created.contains(&added.type_name) {
            continue;
        }
        let used = context.statements[at + 1..]
            .iter()
            .filter(|later| added_value(later).is_none())
            .find_map(|later| {
                later.tokens.iter().find(|token| {
                    matches!(&token.token, Token::SingleQuotedString(value) if *value == added.value)
                })
            });
        let Some(used) = used else {
            continue;
        };
        let line = line_of(context.source(), used.span.start);
        out.push(
            Diagnostic::new(
                added.span,
                format!(
                    "the new value '{}' of {} is used on line {line} of the same file, which the Supabase CLI runs as one transaction: Postgres 12+ fails with 55P04 \"unsafe use of new value\" (before 12, ADD VALUE cannot run in a transaction at all)",
                    added.value, added.type_name
                ),
            )
            .help("add the value in a migration of its own and use it in a later one"),
        );
    }
}

fn created_type(statement: &ParsedStatement) -> Option<String> {
    match &statement.ast {
        Some(Statement::CreateType { name, .. }) => Some(table_key(name)),
        None if statement.starts_with(&["CREATE", "TYPE"]) => {
            name_at(&statement.tokens, 2).map(|(name, _)| name)
        }
        _ => None,
    }
}

fn added_value(statement: &ParsedStatement) -> Option<Added> {
    let tokens = &statement.tokens;
    let add = position(tokens, &["ADD", "VALUE"])?;
    let (type_name, value) = match &statement.ast {
        Some(Statement::AlterType(alter)) => match &alter.operation {
            AlterTypeOperation::AddValue(add) => (table_key(&alter.name), add.value.value.clone()),
            _ => return None,
        },
        Some(_) => return None,
        None => {
            if !statement.starts_with(&["ALTER", "TYPE"]) {
                return None;
            }
            let (type_name, _) = name_at(tokens, 2)?;
            let value = tokens[add..].iter().find_map(|token| match &token.token {
                Token::SingleQuotedString(value) => Some(value.clone()),
                _ => None,
            })?;
            (type_name, value)
        }
    };
    let literal = tokens[add..]
        .iter()
        .position(|token| matches!(&token.token, Token::SingleQuotedString(v) if *v == value))
        .map_or(add + 1, |at| add + at);
    Some(Added {
        type_name,
        value,
        span: span_of(&tokens[add..=literal])?,
    })
}

#[cfg(test)]
mod tests {
    use crate::lint::test_utils::{assert_ok, render_err};

    #[test]
    fn ok() {
        assert_ok(
            &super::RULE,
            include_str!("fixtures/enum-value-in-transaction/ok.sql"),
        );
    }

    #[test]
    fn err() {
        insta::assert_snapshot!(render_err(
            &super::RULE,
            include_str!("fixtures/enum-value-in-transaction/err.sql")
        ));
    }
}
