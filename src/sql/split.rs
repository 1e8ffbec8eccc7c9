//! Splits a migration file into statements with Postgres's lexical rules.
//!
//! A `;` ends a statement only outside string literals (`'…'`, `E'…'` with backslash
//! escapes, `U&'…'`), quoted identifiers, dollar-quoted bodies (`$$…$$`, `$tag$…$tag$`),
//! comments (`--`, nested `/* */`), parentheses and `BEGIN ATOMIC … END` bodies, as psql
//! reads it. Every statement keeps two byte spans: the raw chunk of the file it came from
//! (the chunks tile the whole file) and its trimmed text, which is exactly what the
//! Supabase CLI stores in `supabase_migrations.schema_migrations.statements` (trailing `;`
//! removed, then surrounding whitespace), so history written by either tool compares equal.
//!
//! psql meta-commands (`\i`, `\set`, `\connect`, …) are not SQL: they are collected
//! separately so that callers refuse the file instead of sending them to a server.

use crate::findings::span::Span;
use crate::sql::lexical::block_comment_end;

/// One statement of a migration file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    /// The raw chunk: from the end of the previous statement through this one's `;`.
    /// Whitespace-only chunks (`;;`, trailing blank lines) are folded into a neighbour,
    /// so the spans of all statements tile the file.
    pub span: Span,
    /// The trimmed statement text, as the Supabase CLI stores and sends it.
    pub text: Span,
    /// The text holds comments and nothing else (the CLI still stores it).
    pub comment_only: bool,
}

impl Statement {
    pub fn text<'s>(&self, source: &'s str) -> &'s str {
        self.text.slice(source)
    }

    /// The byte offset in the file where the statement's code starts, after the
    /// comments the CLI keeps at the head of its text.
    pub fn code_start(&self, source: &str) -> usize {
        self.text.start + crate::sql::lexical::code_start(self.text(source))
    }

    /// The byte offset in the file of the 1-based character `position` of the statement
    /// text, as Postgres reports it in an error; clamped to the statement.
    pub fn offset_of_position(&self, source: &str, position: usize) -> usize {
        let text = self.text(source);
        let within = text
            .char_indices()
            .nth(position.saturating_sub(1))
            .map_or(text.len(), |(at, _)| at);
        self.text.start + within
    }
}

/// A psql meta-command such as `\i other.sql`, from the backslash to the end of its line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetaCommand {
    pub span: Span,
    /// The command word, e.g. `\set`.
    pub name: String,
}

/// What was still open when the file ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpenToken {
    String,
    QuotedIdentifier,
    DollarQuote,
    BlockComment,
    BeginAtomic,
}

impl OpenToken {
    pub fn describe(self) -> &'static str {
        match self {
            OpenToken::String => "string literal",
            OpenToken::QuotedIdentifier => "quoted identifier",
            OpenToken::DollarQuote => "dollar-quoted string",
            OpenToken::BlockComment => "block comment",
            OpenToken::BeginAtomic => "BEGIN ATOMIC body",
        }
    }
}

/// A token that the end of the file left open, and where it started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unclosed {
    pub token: OpenToken,
    pub start: usize,
}

/// The statements of one file, its meta-commands, and an unclosed token if any.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Split {
    pub statements: Vec<Statement>,
    pub meta_commands: Vec<MetaCommand>,
    pub unclosed: Option<Unclosed>,
}

impl Split {
    /// The statements' texts as the Supabase CLI stores them in its history's
    /// `statements` column, which is what makes two versions of a file the same migration.
    pub fn texts<'s>(&self, source: &'s str) -> Vec<&'s str> {
        self.statements
            .iter()
            .map(|statement| statement.text(source))
            .collect()
    }

    /// The statements that hold code (comments aside), each with its index in the file.
    pub fn code(&self) -> impl DoubleEndedIterator<Item = (usize, &Statement)> {
        self.statements
            .iter()
            .enumerate()
            .filter(|(_, statement)| !statement.comment_only)
    }
}

/// Splits `source` into statements.
pub fn split(source: &str) -> Split {
    Splitter::new(source).run()
}

struct Splitter<'s> {
    source: &'s str,
    bytes: &'s [u8],
    at: usize,
    out: Split,
    chunk_start: usize,
    /// Start of whitespace-only chunks seen before the first statement.
    orphan_start: Option<usize>,
    code_in_chunk: bool,
    paren_depth: usize,
    atomic_depth: usize,
    /// Where the outermost open `BEGIN ATOMIC` starts.
    atomic_start: usize,
    /// Where the previous word starts, if it is `BEGIN`.
    begin_at: Option<usize>,
}

impl<'s> Splitter<'s> {
    fn new(source: &'s str) -> Self {
        let bytes = source.as_bytes();
        Splitter {
            source,
            bytes,
            at: if source.starts_with('\u{feff}') { 3 } else { 0 },
            out: Split::default(),
            chunk_start: 0,
            orphan_start: None,
            code_in_chunk: false,
            paren_depth: 0,
            atomic_depth: 0,
            atomic_start: 0,
            begin_at: None,
        }
    }

    fn run(mut self) -> Split {
        while self.at < self.bytes.len() {
            let byte = self.bytes[self.at];
            let next = self.bytes.get(self.at + 1).copied();
            match byte {
                b'-' if next == Some(b'-') => self.at = self.line_end(self.at),
                b'/' if next == Some(b'*') => self.block_comment(),
                b'\'' => self.quoted(self.at, false, OpenToken::String),
                b'"' => self.quoted(self.at, false, OpenToken::QuotedIdentifier),
                b'$' => self.dollar(),
                b'\\' => self.meta_command(),
                b';' if self.paren_depth == 0 && self.atomic_depth == 0 => {
                    self.at += 1;
                    self.end_chunk(self.at);
                }
                _ if is_word_start(byte) || byte.is_ascii_digit() => self.word(),
                _ if byte.is_ascii_whitespace() => self.at += 1,
                _ => {
                    match byte {
                        b'(' => self.paren_depth += 1,
                        b')' => self.paren_depth = self.paren_depth.saturating_sub(1),
                        _ => {}
                    }
                    self.code();
                    self.at += 1;
                }
            }
        }
        if self.out.unclosed.is_none() && self.atomic_depth > 0 {
            self.out.unclosed = Some(Unclosed {
                token: OpenToken::BeginAtomic,
                start: self.atomic_start,
            });
        }
        self.end_chunk(self.bytes.len());
        self.out
    }

    fn code(&mut self) {
        self.code_in_chunk = true;
        self.begin_at = None;
    }

    fn line_end(&self, from: usize) -> usize {
        self.bytes[from..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(self.bytes.len(), |at| from + at)
    }

    fn unclosed(&mut self, token: OpenToken, start: usize) {
        self.out.unclosed.get_or_insert(Unclosed { token, start });
        self.at = self.bytes.len();
    }

    fn block_comment(&mut self) {
        match block_comment_end(&self.bytes[self.at..]) {
            Some(len) => self.at += len,
            None => self.unclosed(OpenToken::BlockComment, self.at),
        }
    }

    /// A literal or identifier from `start` (its prefix, as in `E'`) closed by the quote at
    /// the current byte, where a doubled quote stands for itself and, in an `E'…'` string,
    /// a backslash escapes the next character.
    fn quoted(&mut self, start: usize, backslash_escapes: bool, token: OpenToken) {
        self.code();
        let quote = self.bytes[self.at];
        let mut at = self.at + 1;
        while at < self.bytes.len() {
            let byte = self.bytes[at];
            if backslash_escapes && byte == b'\\' {
                at += 2;
            } else if byte == quote {
                if self.bytes.get(at + 1) == Some(&quote) {
                    at += 2;
                } else {
                    self.at = at + 1;
                    return;
                }
            } else {
                at += 1;
            }
        }
        self.unclosed(token, start);
    }

    /// `$tag$ … $tag$`; a `$` that does not open a tag (`$1`) is ordinary code.
    fn dollar(&mut self) {
        self.code();
        let start = self.at;
        let tag_end = match self.bytes.get(start + 1) {
            Some(b'$') => start + 2,
            Some(&first) if is_word_start(first) => {
                let mut at = start + 2;
                while at < self.bytes.len() && is_tag_char(self.bytes[at]) {
                    at += 1;
                }
                if self.bytes.get(at) != Some(&b'$') {
                    self.at += 1;
                    return;
                }
                at + 1
            }
            _ => {
                self.at += 1;
                return;
            }
        };
        let tag = &self.source[start..tag_end];
        match self.source[tag_end..].find(tag) {
            Some(at) => self.at = tag_end + at + tag.len(),
            None => self.unclosed(OpenToken::DollarQuote, start),
        }
    }

    fn meta_command(&mut self) {
        self.code();
        let start = self.at;
        let end = self.line_end(start);
        let text = self.source[start..end].trim_end();
        // The same whitespace ends the name and the span, so the name never outruns it.
        let name = text.split(char::is_whitespace).next().unwrap_or(text);
        self.out.meta_commands.push(MetaCommand {
            span: Span::new(start, start + text.len()),
            name: name.to_string(),
        });
        self.at = end;
    }

    /// An identifier, keyword or number; a word may prefix a string (`E'…'`, `U&'…'`).
    fn word(&mut self) {
        let start = self.at;
        // A number is digits only: `1$$` is a number and a dollar quote, `a$$` one identifier.
        let in_word: fn(u8) -> bool = if self.bytes[start].is_ascii_digit() {
            |byte| byte.is_ascii_digit()
        } else {
            is_word_char
        };
        let mut at = start;
        while at < self.bytes.len() && in_word(self.bytes[at]) {
            at += 1;
        }
        self.at = at;
        let word = &self.source[start..at];
        let after = self.bytes.get(at).copied();
        if after == Some(b'\'') && word.eq_ignore_ascii_case("e") {
            self.quoted(start, true, OpenToken::String);
            return;
        }
        if after == Some(b'&') && word.eq_ignore_ascii_case("u") {
            // U&'…' and U&"…" use doubled quotes only, like plain ones.
            self.at += 1;
            match self.bytes.get(self.at) {
                Some(b'\'') => self.quoted(start, false, OpenToken::String),
                Some(b'"') => self.quoted(start, false, OpenToken::QuotedIdentifier),
                _ => self.code(),
            }
            return;
        }
        let begin_at = self.begin_at;
        self.code();
        if let Some(begin) = begin_at.filter(|_| word.eq_ignore_ascii_case("atomic")) {
            if self.atomic_depth == 0 {
                self.atomic_start = begin;
            }
            self.atomic_depth += 1;
        } else if self.atomic_depth > 0 {
            if word.eq_ignore_ascii_case("case") {
                self.atomic_depth += 1;
            } else if word.eq_ignore_ascii_case("end") {
                self.atomic_depth -= 1;
            }
        }
        if word.eq_ignore_ascii_case("begin") {
            self.begin_at = Some(start);
        }
    }

    fn end_chunk(&mut self, end: usize) {
        let chunk = Span::new(self.chunk_start, end);
        let raw = chunk.slice(self.source);
        let body_start = if chunk.start == 0 {
            raw.strip_prefix('\u{feff}').map_or(0, |_| 3)
        } else {
            0
        };
        let body = &raw[body_start..];
        let without_semicolons = body.trim_end_matches(';');
        let trimmed = without_semicolons.trim();
        if trimmed.is_empty() {
            match self.out.statements.last_mut() {
                Some(previous) => previous.span.end = end,
                None => {
                    self.orphan_start.get_or_insert(chunk.start);
                }
            }
        } else {
            let text_start = chunk.start
                + body_start
                + (without_semicolons.len() - without_semicolons.trim_start().len());
            let span_start = self.orphan_start.take().unwrap_or(chunk.start);
            self.out.statements.push(Statement {
                span: Span::new(span_start, end),
                text: Span::new(text_start, text_start + trimmed.len()),
                comment_only: !self.code_in_chunk,
            });
        }
        self.chunk_start = end;
        self.code_in_chunk = false;
        self.begin_at = None;
    }
}

fn is_word_start(byte: u8) -> bool {
    byte.is_ascii_alphabetic() || byte == b'_' || byte >= 0x80
}

fn is_tag_char(byte: u8) -> bool {
    is_word_start(byte) || byte.is_ascii_digit()
}

fn is_word_char(byte: u8) -> bool {
    is_tag_char(byte) || byte == b'$'
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(source: &str) -> Vec<&str> {
        split(source)
            .statements
            .iter()
            .map(|statement| statement.text(source))
            .collect()
    }

    #[test]
    fn splits_on_semicolons_and_trims_like_the_cli() {
        assert_eq!(
            texts("  select 1 ;\n\nselect 2;;\n-- tail\n"),
            ["select 1", "select 2", "-- tail"]
        );
    }

    #[test]
    fn leading_comments_stay_with_their_statement() {
        assert_eq!(
            texts("-- first\ncreate table a (id int);\n/* b */ select 1;"),
            ["-- first\ncreate table a (id int)", "/* b */ select 1"]
        );
    }

    #[test]
    fn comment_only_tail_is_kept_and_flagged() {
        let source = "select 1;\n-- the end\n";
        let split = split(source);
        assert!(!split.statements[0].comment_only);
        assert!(split.statements[1].comment_only);
    }

    #[test]
    fn dollar_sign_in_identifiers_and_parameters_is_code() {
        assert_eq!(
            texts("select a$b$ from t; prepare p as select $1;"),
            ["select a$b$ from t", "prepare p as select $1"]
        );
    }
}
