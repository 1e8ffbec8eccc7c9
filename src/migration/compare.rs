//! Whether two versions of a migration are the same code: statement by statement, by
//! their tokens, so comments, blank lines and whitespace may change freely.
//!
//! The Supabase CLI records a migration's statements in its history; a file whose code
//! no longer matches what a database recorded was edited after it was applied there.

use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::tokenizer::{Token, Tokenizer};

/// Where two versions of a migration first differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Difference {
    /// The 1-based number of the first differing statement, counting only statements
    /// that hold code.
    pub ordinal: usize,
    /// That statement's index in the newer version's list, when it has one (it has none
    /// when statements were removed from the end).
    pub index: Option<usize>,
}

/// The first statement where `now` differs from `before`; `None` when they are the same
/// code.
pub fn first_difference(before: &[&str], now: &[&str]) -> Option<Difference> {
    let before = code(before);
    let now = code(now);
    let position = (0..before.len().max(now.len())).find(
        |&i| !matches!((before.get(i), now.get(i)), (Some(a), Some(b)) if a.tokens == b.tokens),
    )?;
    Some(Difference {
        ordinal: position + 1,
        index: now.get(position).map(|statement| statement.index),
    })
}

/// A statement's code: its tokens without whitespace and comments, or its text when it
/// does not tokenize (an unclosed literal).
#[derive(Debug, PartialEq)]
enum Tokens {
    Code(Vec<Token>),
    Text(String),
}

struct Code {
    index: usize,
    tokens: Tokens,
}

/// The statements that hold code, in order.
fn code(texts: &[&str]) -> Vec<Code> {
    texts
        .iter()
        .enumerate()
        .filter_map(|(index, text)| {
            let tokens = match Tokenizer::new(&PostgreSqlDialect {}, text).tokenize() {
                Ok(tokens) => {
                    let mut tokens: Vec<Token> = tokens
                        .into_iter()
                        .filter(|token| !matches!(token, Token::Whitespace(_) | Token::EOF))
                        .collect();
                    // Whether a history stores the closing `;` differs between CLI versions.
                    while tokens.last() == Some(&Token::SemiColon) {
                        tokens.pop();
                    }
                    if tokens.is_empty() {
                        return None;
                    }
                    Tokens::Code(tokens)
                }
                Err(_) => Tokens::Text(text.to_string()),
            };
            Some(Code { index, tokens })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comments_and_whitespace_are_not_differences() {
        assert_eq!(
            first_difference(
                &["-- why\nCREATE TABLE t (id int)", "-- trailing note"],
                &["CREATE  TABLE t\n  (id int) /* kept */;"]
            ),
            None
        );
    }

    #[test]
    fn the_first_changed_statement_is_named_by_its_position() {
        let before = ["SELECT 1", "SELECT 2"];
        assert_eq!(
            first_difference(&before, &["-- a comment", "SELECT 1", "SELECT 3"]),
            Some(Difference {
                ordinal: 2,
                index: Some(2)
            })
        );
        assert_eq!(
            first_difference(&before, &["SELECT 1"]),
            Some(Difference {
                ordinal: 2,
                index: None
            })
        );
        // Case and quoting are code.
        assert!(first_difference(&["select 'a'"], &["select 'A'"]).is_some());
        // A literal left open compares as text.
        assert!(first_difference(&["select 'a"], &["select 'a"]).is_none());
    }
}
