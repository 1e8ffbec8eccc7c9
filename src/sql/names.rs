//! Names as Postgres resolves them: unquoted parts folded to lower case, `public` when
//! no schema is given; read from a syntax tree's names or from a statement's tokens.

use sqlparser::ast::{Ident, ObjectName, ObjectNamePart};
use sqlparser::tokenizer::Token;

use crate::sql::statement::Tok;

/// A table name as Postgres resolves it: unquoted parts folded to lower case, and
/// `public` when no schema is given.
pub fn table_key(name: &ObjectName) -> String {
    let parts = name_parts(name);
    match parts.as_slice() {
        [table] => format!("public.{table}"),
        _ => parts.join("."),
    }
}

/// The parts of a name as Postgres resolves them ([`ident_key`]), schema not filled in.
pub fn name_parts(name: &ObjectName) -> Vec<String> {
    name.0
        .iter()
        .map(|part| match part {
            ObjectNamePart::Identifier(ident) => ident_key(ident),
            other => other.to_string(),
        })
        .collect()
}

pub fn ident_key(ident: &Ident) -> String {
    if ident.quote_style.is_some() {
        ident.value.clone()
    } else {
        ident.value.to_lowercase()
    }
}

/// A word token (quoted or not) as an identifier.
pub fn word_ident(token: &Tok) -> Option<Ident> {
    match &token.token {
        Token::Word(word) => Some(match word.quote_style {
            Some(quote) => Ident::with_quote(quote, word.value.clone()),
            None => Ident::new(word.value.clone()),
        }),
        _ => None,
    }
}

/// A word token (quoted or not) as a name, keyed like [`ident_key`]: unquoted words
/// folded to lower case.
pub fn word_key(token: &Tok) -> Option<String> {
    word_ident(token).map(|ident| ident_key(&ident))
}

/// A possibly qualified name (`a`, `"A".b`) at `tokens[at..]`, and the index of the
/// token after it.
pub fn object_name(tokens: &[Tok], at: usize) -> Option<(ObjectName, usize)> {
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

/// The name at `tokens[at..]` read by [`object_name`], keyed like [`table_key`]
/// (unquoted parts folded to lower case, `public.` when unqualified), and the index of
/// the token after it.
pub fn name_at(tokens: &[Tok], at: usize) -> Option<(String, usize)> {
    object_name(tokens, at).map(|(name, next)| (table_key(&name), next))
}

/// The last part of a key (a table, index, trigger or policy without its schema).
pub fn last_part(key: &str) -> &str {
    key.rsplit('.').next().unwrap_or(key)
}
