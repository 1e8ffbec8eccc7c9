//! What the rules share, mostly read from tokens (for what the syntax tree does not say,
//! and for the statements sqlparser cannot parse): the actions of an `ALTER TABLE`, a
//! possibly qualified name, where a run of keywords is, spans over tokens so findings
//! point at the words that matter, and the word lists several rules check against
//! (`ADD` of a constraint rather than a column, the `serial` types).
//!
//! Turning the syntax tree's positions (lines and character columns) into file spans is
//! [`ParsedStatement::file_span`], next to the placing of the tokens.

use sqlparser::ast::{AlterTableOperation, Statement};
use sqlparser::tokenizer::Token;

use crate::findings::span::{LineIndex, Span};
use crate::sql::names::{name_at, table_key};
use crate::sql::statement::{ParsedStatement, Tok};

/// The span from the first to the last of `tokens` (`None` when empty).
pub fn span_of(tokens: &[Tok]) -> Option<Span> {
    let first = tokens.first()?;
    let last = tokens.last()?;
    Some(Span::new(first.span.start, last.span.end))
}

/// The position in `tokens` of the first run of `keywords`.
pub fn position(tokens: &[Tok], keywords: &[&str]) -> Option<usize> {
    if keywords.is_empty() {
        return None;
    }
    tokens.windows(keywords.len()).position(|window| {
        window
            .iter()
            .zip(keywords)
            .all(|(token, keyword)| token.is_word(keyword))
    })
}

/// The span from the statement's first token through the first token (within the first
/// `limit`) that is one of `words`; the first token alone when none is.
pub fn head_through(statement: &ParsedStatement, words: &[&str], limit: usize) -> Span {
    let end = statement
        .tokens
        .iter()
        .take(limit)
        .position(|token| words.iter().any(|word| token.is_word(word)));
    match end {
        Some(end) => span_of(&statement.tokens[..=end]).unwrap_or_else(|| statement.head()),
        None => statement.head(),
    }
}

/// The table named after the first `ON` (`CREATE INDEX … ON [ONLY] t`, `CREATE TRIGGER
/// … ON t`), keyed like [`name_at`].
pub fn table_after_on(tokens: &[Tok]) -> Option<String> {
    let on = tokens.iter().position(|t| t.is_word("ON"))?;
    let at = if tokens.get(on + 1).is_some_and(|t| t.is_word("ONLY")) {
        on + 2
    } else {
        on + 1
    };
    name_at(tokens, at).map(|(name, _)| name)
}

/// The `serial` pseudo-types (lower case): an integer column with a `nextval()` default.
pub const SERIAL: &[&str] = &[
    "smallserial",
    "serial",
    "bigserial",
    "serial2",
    "serial4",
    "serial8",
];

/// The words that start a table constraint (after `ADD` in an `ALTER TABLE`, or as an
/// element of `CREATE TABLE … (…)`) rather than a column.
pub const CONSTRAINT_WORDS: &[&str] = &[
    "CONSTRAINT",
    "PRIMARY",
    "UNIQUE",
    "CHECK",
    "FOREIGN",
    "EXCLUDE",
];

/// Whether an `ALTER TABLE` action adds a table constraint (`ADD CONSTRAINT …`, `ADD
/// PRIMARY KEY …`, …) rather than a column.
pub fn adds_constraint(action: &[Tok]) -> bool {
    action.first().is_some_and(|t| t.is_word("ADD"))
        && action
            .get(1)
            .is_some_and(|t| CONSTRAINT_WORDS.iter().any(|word| t.is_word(word)))
}

/// `ADD [CONSTRAINT name] kind …`: the constraint's name (an unquoted word, lower-cased)
/// and the token of its kind (`CHECK`, `UNIQUE`, …).
pub fn added_constraint(action: &[Tok]) -> Option<(Option<String>, &Tok)> {
    if !action.first()?.is_word("ADD") {
        return None;
    }
    let (name, at) = if action.get(1)?.is_word("CONSTRAINT") {
        (
            action.get(2).and_then(Tok::word).map(|n| n.to_lowercase()),
            3,
        )
    } else {
        (None, 1)
    };
    Some((name, action.get(at)?))
}

/// Splits tokens at the commas outside parentheses and brackets; empty parts are dropped.
pub fn split_top_level(tokens: &[Tok]) -> Vec<&[Tok]> {
    let mut parts = Vec::new();
    let mut depth = 0usize;
    let mut start = 0;
    for (index, token) in tokens.iter().enumerate() {
        match token.token {
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

/// An `ALTER TABLE` read from its tokens: the table (keyed like [`name_at`]) and one
/// token slice per action (split at top-level commas). With the syntax tree, action `i`
/// is operation `i` when their counts agree; without it, the actions still say what the
/// statement does.
pub struct AlterTable<'s> {
    pub table: String,
    pub actions: Vec<&'s [Tok]>,
}

/// Reads `ALTER TABLE [IF EXISTS] [ONLY] name [*] action [, …]` from the tokens.
pub fn alter_table(statement: &ParsedStatement) -> Option<AlterTable<'_>> {
    if !statement.starts_with(&["ALTER", "TABLE"]) {
        return None;
    }
    let tokens = &statement.tokens;
    let mut at = 2;
    if position(&tokens[at..], &["IF", "EXISTS"]) == Some(0) {
        at += 2;
    }
    if tokens.get(at).is_some_and(|token| token.is_word("ONLY")) {
        at += 1;
    }
    let (table, mut at) = name_at(tokens, at)?;
    if tokens
        .get(at)
        .is_some_and(|token| token.token == Token::Mul)
    {
        at += 1;
    }
    let mut rest = &tokens[at..];
    while let [init @ .., last] = rest
        && last.token == Token::SemiColon
    {
        rest = init;
    }
    Some(AlterTable {
        table,
        actions: split_top_level(rest),
    })
}

impl<'s> AlterTable<'s> {
    /// The tokens of action `index` when the actions line up with `operations` AST
    /// operations; `None` otherwise (then a rule points at the statement's head).
    pub fn action(&self, index: usize, operations: usize) -> Option<&'s [Tok]> {
        if self.actions.len() == operations {
            self.actions.get(index).copied()
        } else {
            None
        }
    }
}

/// The span of `action` from its start through the first token that is one of `words`
/// (the whole action when none is).
pub fn action_through(action: &[Tok], words: &[&str]) -> Option<Span> {
    let end = action
        .iter()
        .position(|token| words.iter().any(|word| token.is_word(word)))
        .unwrap_or(action.len().saturating_sub(1));
    span_of(&action[..=end.min(action.len().saturating_sub(1))])
}

/// The 1-based line of byte `offset` in `source`.
pub fn line_of(source: &str, offset: usize) -> usize {
    LineIndex::new(source).line_col(source, offset).line
}

/// The columns an `ALTER TABLE` acts on in the way a rule looks for, each with the span
/// of its action, and the table: from the syntax tree when sqlparser read the statement
/// (`parsed` names an operation's column; `span` places its action, the statement's
/// head when it cannot), from each action's tokens otherwise (`unparsed`). `None` for
/// any other statement.
pub fn altered_columns(
    statement: &ParsedStatement,
    parsed: impl Fn(&AlterTableOperation) -> Option<String>,
    span: impl Fn(&[Tok]) -> Option<Span>,
    unparsed: impl Fn(&[Tok]) -> Option<String>,
) -> Option<(String, Vec<(Span, String)>)> {
    let alter = alter_table(statement)?;
    match statement.ast.as_deref() {
        Some(Statement::AlterTable(ast)) => {
            let count = ast.operations.len();
            let found = ast
                .operations
                .iter()
                .enumerate()
                .filter_map(|(index, operation)| {
                    let column = parsed(operation)?;
                    let at = alter
                        .action(index, count)
                        .and_then(&span)
                        .unwrap_or_else(|| statement.head());
                    Some((at, column))
                })
                .collect();
            Some((table_key(&ast.name), found))
        }
        Some(_) => None,
        None => {
            let found = alter
                .actions
                .iter()
                .filter_map(|action| {
                    let column = unparsed(action)?;
                    Some((span(action)?, column))
                })
                .collect();
            Some((alter.table.clone(), found))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sql::split::split;

    fn parsed(sql: &str) -> ParsedStatement {
        let split = split(sql);
        ParsedStatement::new(sql, 0, &split.statements[0])
    }

    #[test]
    fn alter_table_actions_split_at_top_level_commas() {
        let sql = "ALTER TABLE IF EXISTS ONLY \"App\".Orders ADD COLUMN a numeric(10, 2), ADD CONSTRAINT c CHECK (a IN (1, 2));";
        let statement = parsed(sql);
        let alter = alter_table(&statement).expect("an ALTER TABLE");
        assert_eq!(alter.table, "App.orders");
        let texts: Vec<&str> = alter
            .actions
            .iter()
            .map(|action| span_of(action).unwrap().slice(sql))
            .collect();
        assert_eq!(
            texts,
            [
                "ADD COLUMN a numeric(10, 2)",
                "ADD CONSTRAINT c CHECK (a IN (1, 2))"
            ]
        );
    }

    #[test]
    fn constraint_actions_are_told_from_columns() {
        let statement = parsed(
            "ALTER TABLE t ADD, ADD CONSTRAINT T_Pos CHECK (a > 0), ADD UNIQUE (a), ADD COLUMN b int, ADD check_date date",
        );
        let alter = alter_table(&statement).expect("an ALTER TABLE");
        let adds: Vec<bool> = alter.actions.iter().map(|a| adds_constraint(a)).collect();
        assert_eq!(adds, [false, true, true, false, false]);
        let kind = |index: usize| {
            added_constraint(alter.actions[index]).map(|(name, kind)| (name, kind.word()))
        };
        assert_eq!(kind(0), None);
        assert_eq!(
            kind(1),
            Some((Some("t_pos".to_string()), Some("CHECK".to_string())))
        );
        assert_eq!(kind(2), Some((None, Some("UNIQUE".to_string()))));
    }

    #[test]
    fn quoted_names_keep_their_case() {
        let statement = parsed("CREATE INDEX i ON ONLY \"Sales\".Orders (a)");
        assert_eq!(
            table_after_on(&statement.tokens).as_deref(),
            Some("Sales.orders")
        );
        let (name, next) = crate::sql::names::object_name(&statement.tokens, 5).expect("a name");
        assert_eq!((name.to_string().as_str(), next), ("\"Sales\".Orders", 8));
    }

    #[test]
    fn names_are_keyed_like_tables() {
        let statement = parsed("DROP INDEX orders_idx");
        assert_eq!(
            name_at(&statement.tokens, 2),
            Some(("public.orders_idx".to_string(), 3))
        );
    }
}
