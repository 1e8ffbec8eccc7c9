//! The SQL a `DO` block runs, as statements of the file at their real places.
//!
//! A `DO` block runs when the migration runs, so what it does is the migration's doing:
//! `DROP TABLE`, `ALTER TABLE … DROP COLUMN` or an unbounded `DELETE` inside one is as
//! destructive as at the top level. sqlparser reads no PL/pgSQL, so the block's body is
//! cut here at its `;`s, the control flow around each piece (`DECLARE … BEGIN`, `IF …
//! THEN`, `ELSE`, `LOOP`, `EXCEPTION WHEN … THEN`, labels) is stepped over, and what is
//! left, when it starts with an SQL command, is parsed as a statement whose spans are the
//! file's own. `EXECUTE '<literal>'` counts too, when the literal holds no escape (its
//! text is then the file's text). What a block builds at run time (`EXECUTE 'DROP TABLE '
//! || name`) stays the shadow's to see.

use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::tokenizer::{Token, Tokenizer};

use crate::findings::span::Span;
use crate::sql::split::Statement;

use crate::sql::statement::ParsedStatement;

/// The commands whose text, inside a block, is linted as a statement.
const COMMANDS: &[&str] = &[
    "ALTER", "CREATE", "DROP", "TRUNCATE", "UPDATE", "DELETE", "INSERT", "GRANT", "REVOKE",
    "COMMENT", "LOCK", "REFRESH", "REINDEX", "CLUSTER",
];

/// The statements the `DO` block `statement` runs, parsed, each with the block's index.
pub fn statements(source: &str, statement: &ParsedStatement) -> Vec<ParsedStatement> {
    if !statement.starts_with(&["DO"]) {
        return Vec::new();
    }
    let language = statement
        .tokens
        .windows(2)
        .find(|pair| pair[0].is_word("LANGUAGE"))
        .map(|pair| pair[1].token.to_string().trim_matches('\'').to_lowercase());
    if language.is_some_and(|language| language != "plpgsql") {
        return Vec::new();
    }
    let Some(body) = statement
        .tokens
        .iter()
        .find_map(|token| match &token.token {
            Token::DollarQuotedString(quoted) => {
                let tag = quoted.tag.as_deref().map_or(2, |tag| tag.len() + 2);
                let (start, end) = (token.span.start + tag, token.span.end.saturating_sub(tag));
                (start <= end).then(|| Span::new(start, end))
            }
            _ => None,
        })
    else {
        return Vec::new();
    };
    pieces(source, body)
        .into_iter()
        .filter_map(|span| {
            let text = Statement {
                span,
                text: span,
                comment_only: false,
            };
            let parsed = ParsedStatement::new(source, statement.index, &text);
            (!parsed.tokens.is_empty()).then_some(parsed)
        })
        .collect()
}

/// A code token of the body and its span in the file.
struct Code {
    token: Token,
    span: Span,
}

impl Code {
    fn is(&self, keyword: &str) -> bool {
        matches!(&self.token, Token::Word(word) if word.quote_style.is_none() && word.value.eq_ignore_ascii_case(keyword))
    }
}

/// The spans of the SQL commands in the PL/pgSQL body at `body`.
fn pieces(source: &str, body: Span) -> Vec<Span> {
    let text = body.slice(source);
    let Ok(raw) = Tokenizer::new(&PostgreSqlDialect {}, text).tokenize_with_location() else {
        return Vec::new();
    };
    let offsets = line_offsets(text);
    let at = |location: sqlparser::tokenizer::Location| {
        let line = offsets
            .get(location.line.saturating_sub(1) as usize)
            .copied()
            .unwrap_or(text.len());
        let column: usize = text[line..]
            .chars()
            .take(location.column.saturating_sub(1) as usize)
            .map(char::len_utf8)
            .sum();
        body.start + line + column
    };
    let code: Vec<Code> = raw
        .into_iter()
        .filter(|token| !matches!(token.token, Token::Whitespace(_) | Token::EOF))
        .map(|token| Code {
            span: Span::new(at(token.span.start), at(token.span.end)),
            token: token.token,
        })
        .collect();
    let mut found = Vec::new();
    let mut depth = 0usize;
    let mut start = 0;
    for (i, token) in code.iter().enumerate() {
        match token.token {
            Token::LParen => depth += 1,
            Token::RParen => depth = depth.saturating_sub(1),
            Token::SemiColon if depth == 0 => {
                found.extend(command(source, &code[start..i]));
                start = i + 1;
            }
            _ => {}
        }
    }
    found.extend(command(source, &code[start..]));
    found
}

/// The SQL command a piece between two `;` ends with, after its control flow.
fn command(source: &str, piece: &[Code]) -> Option<Span> {
    let mut rest = piece;
    loop {
        let first = rest.first()?;
        let skip_to = |end: &str| {
            let mut depth = 0usize;
            rest.iter().position(|token| {
                match token.token {
                    Token::LParen => depth += 1,
                    Token::RParen => depth = depth.saturating_sub(1),
                    _ => {}
                }
                depth == 0 && token.is(end)
            })
        };
        let next = if first.is("DECLARE") {
            skip_to("BEGIN")? + 1
        } else if first.is("IF") || first.is("ELSIF") || first.is("ELSEIF") || first.is("WHEN") {
            skip_to("THEN")? + 1
        } else if first.is("FOR") || first.is("WHILE") || first.is("FOREACH") {
            skip_to("LOOP")? + 1
        } else if first.is("BEGIN") || first.is("ELSE") || first.is("LOOP") || first.is("EXCEPTION")
        {
            1
        } else if first.token == Token::ShiftLeft {
            // A label: `<<name>>`.
            rest.iter()
                .position(|token| token.token == Token::ShiftRight)?
                + 1
        } else {
            break;
        };
        rest = &rest[next..];
    }
    let first = rest.first()?;
    let last = rest.last()?;
    if COMMANDS.iter().any(|command| first.is(command)) {
        return Some(Span::new(first.span.start, last.span.end));
    }
    // `EXECUTE '<literal>'` (then INTO / USING, or nothing).
    if first.is("EXECUTE")
        && let Some(Code {
            token: Token::SingleQuotedString(value),
            span,
        }) = rest.get(1)
        && rest
            .get(2)
            .is_none_or(|next| next.is("INTO") || next.is("USING"))
    {
        let inner = Span::new(span.start + 1, span.end.saturating_sub(1));
        let starts_a_command = COMMANDS
            .iter()
            .any(|command| value.trim_start().to_uppercase().starts_with(command));
        if inner.end > inner.start && inner.slice(source) == value && starts_a_command {
            return Some(inner);
        }
    }
    None
}

/// The byte offset of each line's start in `text`.
fn line_offsets(text: &str) -> Vec<usize> {
    std::iter::once(0)
        .chain(text.match_indices('\n').map(|(at, _)| at + 1))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sql::split::split;

    fn embedded(sql: &str) -> Vec<String> {
        let split = split(sql);
        split
            .statements
            .iter()
            .enumerate()
            .map(|(index, statement)| ParsedStatement::new(sql, index, statement))
            .flat_map(|statement| statements(sql, &statement))
            .map(|statement| statement.span.slice(sql).to_string())
            .collect()
    }

    #[test]
    fn the_commands_a_block_runs_at_their_places_in_the_file() {
        let sql = "DO $$\nDECLARE r record;\nBEGIN\n  IF EXISTS (SELECT 1 FROM pg_tables WHERE tablename = 'old') THEN\n    DROP TABLE public.old;\n  END IF;\n  <<cleanup>>\n  FOR r IN SELECT id FROM t LOOP\n    DELETE FROM public.items;\n  END LOOP;\n  EXECUTE 'ALTER TABLE public.notes DROP COLUMN body';\n  EXECUTE 'DROP TABLE ' || quote_ident(r.name);\n  PERFORM pg_sleep(0);\nEXCEPTION WHEN others THEN\n  TRUNCATE public.logs;\nEND $$;\n";
        assert_eq!(
            embedded(sql),
            [
                "DROP TABLE public.old",
                "DELETE FROM public.items",
                "ALTER TABLE public.notes DROP COLUMN body",
                "TRUNCATE public.logs",
            ]
        );
    }

    #[test]
    fn other_languages_and_plain_statements_have_none() {
        assert!(embedded("DO LANGUAGE plv8 $$ drop_all() $$;").is_empty());
        assert!(embedded("DROP TABLE t;").is_empty());
        assert!(embedded("DO $$ BEGIN EXECUTE 'DROP TABLE it''s'; END $$;").is_empty());
    }
}
