//! Token helpers shared by the idempotency and lock-safety rules: where the actions of
//! an `ALTER TABLE` are, a name read from tokens (for statements sqlparser cannot parse),
//! and spans over keyword runs, so findings point at the words that matter.

use sqlparser::tokenizer::Token;

use crate::lint::statement::{ParsedStatement, Tok};
use crate::text::{LineIndex, Span};

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

/// A possibly qualified name at `tokens[at..]`, keyed like
/// [`table_key`](crate::lint::schema::table_key) (unquoted parts folded to lower case,
/// `public.` when unqualified), and the index of the token after it.
pub fn name_at(tokens: &[Tok], at: usize) -> Option<(String, usize)> {
    let mut parts = Vec::new();
    let mut at = at;
    while let Some(Tok {
        token: Token::Word(word),
        ..
    }) = tokens.get(at)
    {
        parts.push(if word.quote_style.is_some() {
            word.value.clone()
        } else {
            word.value.to_lowercase()
        });
        at += 1;
        let dot = matches!(
            tokens.get(at),
            Some(Tok {
                token: Token::Period,
                ..
            })
        );
        if !dot
            || !matches!(
                tokens.get(at + 1),
                Some(Tok {
                    token: Token::Word(_),
                    ..
                })
            )
        {
            break;
        }
        at += 1;
    }
    match parts.len() {
        0 => None,
        1 => Some((format!("public.{}", parts[0]), at)),
        _ => Some((parts.join("."), at)),
    }
}

/// The last part of a name read by [`name_at`] (an index, trigger or policy name).
pub fn last_part(key: &str) -> &str {
    key.rsplit('.').next().unwrap_or(key)
}

/// An `ALTER TABLE` read from its tokens: the table and one token slice per action
/// (split at top-level commas), in the order of the AST's operations.
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
    if matches!(
        tokens.get(at),
        Some(Tok {
            token: Token::Mul,
            ..
        })
    ) {
        at += 1;
    }
    let rest = &tokens[at..];
    let rest = match rest.last() {
        Some(Tok {
            token: Token::SemiColon,
            ..
        }) => &rest[..rest.len() - 1],
        _ => rest,
    };
    let mut actions = Vec::new();
    let mut depth = 0usize;
    let mut start = 0;
    for (index, token) in rest.iter().enumerate() {
        match token.token {
            Token::LParen | Token::LBracket => depth += 1,
            Token::RParen | Token::RBracket => depth = depth.saturating_sub(1),
            Token::Comma if depth == 0 => {
                actions.push(&rest[start..index]);
                start = index + 1;
            }
            _ => {}
        }
    }
    actions.push(&rest[start..]);
    actions.retain(|action| !action.is_empty());
    Some(AlterTable { table, actions })
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::migration::split::split;

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
    fn names_are_keyed_like_tables() {
        let statement = parsed("DROP INDEX orders_idx");
        assert_eq!(
            name_at(&statement.tokens, 2),
            Some(("public.orders_idx".to_string(), 3))
        );
    }
}
