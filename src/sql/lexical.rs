//! The lexical facts every reader of SQL text shares: where a (nested) block comment
//! ends, where the code of a statement starts after its comments, and its tokens
//! without the whitespace and comments between them.

use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::tokenizer::{Token, Tokenizer};

/// The tokens of `text` that are not whitespace or comments (Postgres's dialect);
/// `None` when it does not tokenize (an unterminated string or comment).
pub fn significant_tokens(text: &str) -> Option<Vec<Token>> {
    let tokens = Tokenizer::new(&PostgreSqlDialect {}, text)
        .tokenize()
        .ok()?;
    Some(
        tokens
            .into_iter()
            .filter(|token| !matches!(token, Token::Whitespace(_)))
            .collect(),
    )
}

/// [`significant_tokens`] of one statement, without the `;` that ends it; `None` when
/// the text does not tokenize or holds more than one statement.
pub fn statement_tokens(text: &str) -> Option<Vec<Token>> {
    let mut tokens = significant_tokens(text)?;
    let end = tokens
        .iter()
        .rposition(|token| !matches!(token, Token::SemiColon))
        .map_or(0, |last| last + 1);
    tokens.truncate(end);
    (!tokens.contains(&Token::SemiColon)).then_some(tokens)
}

/// The byte offset of the first code in `text`, after whitespace and comments.
pub fn code_start(text: &str) -> usize {
    let mut at = 0;
    while at < text.len() {
        let rest = &text[at..];
        if rest.starts_with("--") {
            at += rest.find('\n').unwrap_or(rest.len());
        } else if rest.starts_with("/*") {
            at += block_comment_end(rest.as_bytes()).unwrap_or(rest.len());
        } else if rest.as_bytes()[0].is_ascii_whitespace() {
            at += 1;
        } else {
            break;
        }
    }
    at
}

/// The length of the (nested) block comment at the start of `bytes`, or `None` when the
/// text ends inside it.
pub fn block_comment_end(bytes: &[u8]) -> Option<usize> {
    let mut depth = 0usize;
    let mut at = 0;
    while at + 1 < bytes.len() {
        match (bytes[at], bytes[at + 1]) {
            (b'/', b'*') => {
                depth += 1;
                at += 2;
            }
            (b'*', b'/') => {
                depth -= 1;
                at += 2;
                if depth == 0 {
                    return Some(at);
                }
            }
            _ => at += 1,
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_starts_after_comments() {
        assert_eq!(code_start("-- a\n/* b */ SELECT"), 13);
        assert_eq!(code_start("SELECT"), 0);
        assert_eq!(code_start("-- only"), 7);
    }

    #[test]
    fn block_comments_nest() {
        assert_eq!(block_comment_end(b"/* a /* b */ c */ d"), Some(17));
        assert_eq!(block_comment_end(b"/* open"), None);
    }
}
