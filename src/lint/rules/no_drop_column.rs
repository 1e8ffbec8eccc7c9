//! `no-drop-column`: `ALTER TABLE … DROP COLUMN` on a table that may hold data.
//!
//! **Why.** The runbook's policy is additive only: the column's values are gone for good
//! (a restore is the only way back), and every client that still selects, inserts or
//! updates the column fails the moment the migration runs, including the app version
//! that is still deployed while the migration runs.
//!
//! **Instead.** Stop reading and writing the column and deploy that first; drop it later
//! in a migration of its own, reviewed as such, with
//! `-- migration-guard: allow no-drop-column -- <why>` above the statement. Dropping a
//! column of a table the same file created is not reported.
//!
//! This file also holds the token helpers the other `ALTER TABLE` rules share
//! ([`alter_table_tokens`], [`action_span`], [`file_span`]).

use sqlparser::ast::{AlterTableOperation, Ident, ObjectName, ObjectNamePart, Statement};
use sqlparser::tokenizer::Token;

use crate::lint::schema::{ident_key, table_key};
use crate::lint::statement::{ParsedStatement, Tok};
use crate::lint::{Diagnostic, FileContext};
use crate::report::Severity;
use crate::text::Span;

use super::RuleDef;

pub const RULE: RuleDef = RuleDef {
    id: "no-drop-column",
    severity: Severity::Error,
    summary: "DROP COLUMN on a table that may hold data",
    check,
};

fn check(context: &FileContext<'_>, out: &mut Vec<Diagnostic>) {
    for statement in &context.statements {
        let Some(tokens) = alter_table_tokens(statement) else {
            continue;
        };
        // (span, table, column); the column is empty when the tokens do not say.
        let mut dropped: Vec<(Span, String, String)> = Vec::new();
        match &statement.ast {
            Some(Statement::AlterTable(alter)) => {
                let table = table_key(&alter.name);
                for (index, operation) in alter.operations.iter().enumerate() {
                    let AlterTableOperation::DropColumn { column_names, .. } = operation else {
                        continue;
                    };
                    let span = action_span(&tokens, alter.operations.len(), index)
                        .or_else(|| statement.find(&["DROP", "COLUMN"]))
                        .or_else(|| statement.find(&["DROP"]))
                        .unwrap_or_else(|| statement.head());
                    let columns: Vec<String> = column_names.iter().map(ident_key).collect();
                    dropped.push((span, table.clone(), columns.join(", ")));
                }
            }
            // Unparsed: `DROP [COLUMN] [IF EXISTS] name` among the actions.
            None => {
                let table = table_key(&tokens.name);
                for action in &tokens.actions {
                    if !action[0].is_word("DROP")
                        || action.get(1).is_none_or(|t| t.is_word("CONSTRAINT"))
                    {
                        continue;
                    }
                    let mut at = 1;
                    if action[at].is_word("COLUMN") {
                        at += 1;
                    }
                    if action.get(at).is_some_and(|t| t.is_word("IF"))
                        && action.get(at + 1).is_some_and(|t| t.is_word("EXISTS"))
                    {
                        at += 2;
                    }
                    let column = action.get(at).and_then(word_ident).map(|i| ident_key(&i));
                    dropped.push((
                        tokens_span(action),
                        table.clone(),
                        column.unwrap_or_default(),
                    ));
                }
            }
            _ => {}
        }
        for (span, table, column) in dropped {
            if !context.holds_data(&table, statement.index) {
                continue;
            }
            let what = if column.is_empty() {
                format!("a column of {table}")
            } else {
                format!("column {table}.{column}")
            };
            out.push(
                Diagnostic::new(
                    span,
                    format!(
                        "dropping {what} deletes its values for good and breaks every client still reading or writing it"
                    ),
                )
                .help("stop using the column and deploy that first; drop it later in a migration of its own, with `-- migration-guard: allow no-drop-column -- <why>`"),
            );
        }
    }
}

/// An `ALTER TABLE` read from its tokens: the table, and each action (the parts between
/// top-level commas after the name). With the syntax tree, action `i` is operation `i`;
/// without it, the actions still say what the statement does.
pub(super) struct AlterTableTokens<'s> {
    pub name: ObjectName,
    pub actions: Vec<&'s [Tok]>,
}

/// `ALTER TABLE [IF EXISTS] [ONLY] name [*] action [, …]`, or `None` for anything else.
pub(super) fn alter_table_tokens(statement: &ParsedStatement) -> Option<AlterTableTokens<'_>> {
    if !statement.starts_with(&["ALTER", "TABLE"]) {
        return None;
    }
    let tokens = &statement.tokens;
    let mut at = 2;
    if tokens.get(at).is_some_and(|t| t.is_word("IF"))
        && tokens.get(at + 1).is_some_and(|t| t.is_word("EXISTS"))
    {
        at += 2;
    }
    if tokens.get(at).is_some_and(|t| t.is_word("ONLY")) {
        at += 1;
    }
    let (name, next) = object_name(tokens, at)?;
    at = next;
    if tokens.get(at).is_some_and(|t| t.token == Token::Mul) {
        at += 1;
    }
    let mut rest = &tokens[at..];
    while let [init @ .., last] = rest
        && last.token == Token::SemiColon
    {
        rest = init;
    }
    Some(AlterTableTokens {
        name,
        actions: split_top_level(rest),
    })
}

/// The span of action `index` when the actions line up with the `operations` of the
/// syntax tree.
pub(super) fn action_span(
    tokens: &AlterTableTokens<'_>,
    operations: usize,
    index: usize,
) -> Option<Span> {
    if tokens.actions.len() != operations {
        return None;
    }
    tokens.actions.get(index).map(|action| tokens_span(action))
}

/// From the first token's start to the last one's end.
pub(super) fn tokens_span(tokens: &[Tok]) -> Span {
    match (tokens.first(), tokens.last()) {
        (Some(first), Some(last)) => Span::new(first.span.start, last.span.end),
        _ => Span::new(0, 0),
    }
}

/// A dotted name (`a`, `"A".b`) starting at token `at`, and the index after it.
pub(super) fn object_name(tokens: &[Tok], at: usize) -> Option<(ObjectName, usize)> {
    let mut parts = vec![ObjectNamePart::Identifier(word_ident(tokens.get(at)?)?)];
    let mut at = at + 1;
    while tokens.get(at).is_some_and(|t| t.token == Token::Period) {
        let Some(part) = tokens.get(at + 1).and_then(word_ident) else {
            break;
        };
        parts.push(ObjectNamePart::Identifier(part));
        at += 2;
    }
    Some((ObjectName(parts), at))
}

/// A word token as an identifier (quoted or not).
pub(super) fn word_ident(token: &Tok) -> Option<Ident> {
    match &token.token {
        Token::Word(word) => Some(match word.quote_style {
            Some(quote) => Ident::with_quote(quote, word.value.clone()),
            None => Ident::new(word.value.clone()),
        }),
        _ => None,
    }
}

/// Splits tokens at the commas outside parentheses and brackets; empty parts are dropped.
pub(super) fn split_top_level(tokens: &[Tok]) -> Vec<&[Tok]> {
    let mut parts = Vec::new();
    let mut depth = 0usize;
    let mut start = 0;
    for (index, tok) in tokens.iter().enumerate() {
        match tok.token {
            Token::LParen | Token::LBracket => depth += 1,
            Token::RParen | Token::RBracket => depth = depth.saturating_sub(1),
            Token::Comma if depth == 0 => {
                parts.push(&tokens[start..index]);
                start = index + 1;
            }
            _ => {}
        }
    }
    parts.push(&tokens[start..]);
    parts.retain(|part| !part.is_empty());
    parts
}

/// A sqlparser span (lines and character columns within the statement's text) as a byte
/// span of the file; `None` for the empty span sqlparser uses when it has no position.
pub(super) fn file_span(
    context: &FileContext<'_>,
    statement: &ParsedStatement,
    span: sqlparser::tokenizer::Span,
) -> Option<Span> {
    if span.start.line == 0 {
        return None;
    }
    let text = statement.span.slice(context.source());
    let offset = |line: u64, column: u64| {
        let start: usize = text
            .split_inclusive('\n')
            .take((line as usize).saturating_sub(1))
            .map(str::len)
            .sum();
        let within = text[start..]
            .char_indices()
            .nth((column as usize).saturating_sub(1))
            .map_or(text.len() - start, |(at, _)| at);
        statement.span.start + start + within
    };
    let start = offset(span.start.line, span.start.column);
    let end = offset(span.end.line, span.end.column).max(start);
    Some(Span::new(start, end))
}

/// The file span of a name written in the statement (first to last part).
pub(super) fn name_span(
    context: &FileContext<'_>,
    statement: &ParsedStatement,
    name: &ObjectName,
) -> Option<Span> {
    let ident = |part: &ObjectNamePart| match part {
        ObjectNamePart::Identifier(ident) => Some(ident.span),
        _ => None,
    };
    let first = file_span(context, statement, ident(name.0.first()?)?)?;
    let last = file_span(context, statement, ident(name.0.last()?)?)?;
    Some(Span::new(first.start, last.end.max(first.start)))
}

#[cfg(test)]
mod tests {
    use crate::lint::test_utils::{assert_ok, render_err};

    #[test]
    fn ok() {
        assert_ok(&super::RULE, include_str!("fixtures/no-drop-column/ok.sql"));
    }

    #[test]
    fn err() {
        insta::assert_snapshot!(render_err(
            &super::RULE,
            include_str!("fixtures/no-drop-column/err.sql")
        ));
    }
}
