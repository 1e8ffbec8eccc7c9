//! One statement as the rules see it: its tokens with byte spans in the file, its
//! syntax tree when sqlparser can build one, and its comments (for suppressions).
//!
//! Tokens come from sqlparser's tokenizer, so text inside comments, string literals and
//! dollar-quoted bodies is never mistaken for code, and rules that only need keywords
//! still judge a statement sqlparser cannot parse.

use sqlparser::ast;
use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::parser::Parser;
use sqlparser::tokenizer::{self, Token, Tokenizer, Whitespace};

use crate::findings::span::Span;
use crate::sql::classify::{TxRole, tx_role};
use crate::sql::split::Statement;

/// A code token and where it is in the file.
#[derive(Debug, Clone, PartialEq)]
pub struct Tok {
    pub token: Token,
    pub span: Span,
}

impl Tok {
    /// The keyword or unquoted identifier, upper-cased; `None` for anything else.
    pub fn word(&self) -> Option<String> {
        match &self.token {
            Token::Word(word) if word.quote_style.is_none() => Some(word.value.to_uppercase()),
            _ => None,
        }
    }

    pub fn is_word(&self, keyword: &str) -> bool {
        matches!(&self.token, Token::Word(word) if word.quote_style.is_none() && word.value.eq_ignore_ascii_case(keyword))
    }
}

/// A comment and where it is in the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Comment {
    pub text: String,
    pub span: Span,
}

#[derive(Debug, Clone)]
pub struct ParsedStatement {
    /// Index of the statement in its file.
    pub index: usize,
    /// The statement text's span in the file.
    pub span: Span,
    pub tokens: Vec<Tok>,
    /// Comments before the first token.
    pub leading_comments: Vec<Comment>,
    /// Boxed: a `Statement` is 3.4 KiB, and parsed statements move (through the
    /// linter's channel, into and out of batches) far more often than trees are read.
    pub ast: Option<Box<ast::Statement>>,
    /// Why sqlparser could not build a tree.
    pub parse_error: Option<String>,
    pub tx_role: TxRole,
}

impl ParsedStatement {
    pub fn new(source: &str, index: usize, statement: &Statement) -> ParsedStatement {
        let text = statement.text(source);
        let dialect = PostgreSqlDialect {};
        let positions = Positions::new(text, statement.text.start);
        let mut parsed = ParsedStatement {
            index,
            span: statement.text,
            tokens: Vec::new(),
            leading_comments: Vec::new(),
            ast: None,
            parse_error: None,
            tx_role: tx_role(text),
        };
        let raw = match Tokenizer::new(&dialect, text).tokenize_with_location() {
            Ok(raw) => raw,
            Err(error) => {
                parsed.parse_error = Some(error.message);
                return parsed;
            }
        };
        // Comments before the first code token are the statement's own (suppressions).
        let mut has_code = false;
        for token in &raw {
            let comment = match &token.token {
                Token::Whitespace(Whitespace::SingleLineComment { comment, .. }) => {
                    comment.trim_end()
                }
                Token::Whitespace(Whitespace::MultiLineComment(comment)) => comment,
                Token::Whitespace(_) | Token::EOF => continue,
                _ => {
                    has_code = true;
                    break;
                }
            };
            parsed.leading_comments.push(Comment {
                text: comment.to_string(),
                span: positions.span(token.span),
            });
        }
        if !has_code {
            return parsed;
        }
        let mut parser = Parser::new(&dialect).with_tokens_with_locations(raw);
        match parser.parse_statements() {
            Ok(mut statements) if statements.len() == 1 => {
                parsed.ast = statements.pop().map(Box::new)
            }
            Ok(statements) => {
                parsed.parse_error = Some(format!("read as {} statements", statements.len()))
            }
            Err(error) => parsed.parse_error = Some(error.to_string()),
        }
        // The parser hands its tokens back: the code tokens are kept without a copy.
        parsed.tokens = parser
            .into_tokens()
            .into_iter()
            .filter_map(|token| match token.token {
                Token::Whitespace(_) | Token::EOF => None,
                code => Some(Tok {
                    span: positions.span(token.span),
                    token: code,
                }),
            })
            .collect();
        parsed
    }

    /// The statement's upper-cased leading keywords.
    pub fn starts_with(&self, keywords: &[&str]) -> bool {
        keywords.len() <= self.tokens.len()
            && keywords
                .iter()
                .zip(&self.tokens)
                .all(|(keyword, token)| token.is_word(keyword))
    }

    /// The span of the first run of `keywords` (consecutive tokens), if any.
    pub fn find(&self, keywords: &[&str]) -> Option<Span> {
        if keywords.is_empty() {
            return None;
        }
        self.tokens
            .windows(keywords.len())
            .find(|window| {
                window
                    .iter()
                    .zip(keywords)
                    .all(|(token, k)| token.is_word(k))
            })
            .map(|window| Span::new(window[0].span.start, window[window.len() - 1].span.end))
    }

    /// Whether any token is the keyword.
    pub fn has_word(&self, keyword: &str) -> bool {
        self.tokens.iter().any(|token| token.is_word(keyword))
    }

    /// The first code token's span (the statement's start when it has none).
    pub fn head(&self) -> Span {
        self.tokens
            .first()
            .map_or(Span::new(self.span.start, self.span.start), |token| {
                token.span
            })
    }

    /// From the first keyword of `keywords` to the statement's end; `head()` if absent.
    pub fn from_keywords(&self, keywords: &[&str]) -> Span {
        match self.find(keywords) {
            Some(found) => Span::new(found.start, self.span.end),
            None => self.head(),
        }
    }

    /// The whole statement, without its leading comments.
    pub fn code_span(&self) -> Span {
        Span::new(self.head().start, self.span.end)
    }

    /// A sqlparser span from the syntax tree (lines and character columns within the
    /// statement's text) as a byte span of the file; `None` for the empty span sqlparser
    /// uses when it has no position.
    pub fn file_span(&self, source: &str, span: tokenizer::Span) -> Option<Span> {
        if span.start.line == 0 {
            return None;
        }
        Some(Positions::new(self.span.slice(source), self.span.start).span(span))
    }

    /// The file span of a name written in the statement (first to last part).
    pub fn name_span(&self, source: &str, name: &ast::ObjectName) -> Option<Span> {
        let ident = |part: &ast::ObjectNamePart| match part {
            ast::ObjectNamePart::Identifier(ident) => Some(ident.span),
            _ => None,
        };
        let first = self.file_span(source, ident(name.0.first()?)?)?;
        let last = self.file_span(source, ident(name.0.last()?)?)?;
        Some(Span::new(first.start, last.end.max(first.start)))
    }

    /// From a keyword of the syntax tree (`INSERT`, `UPDATE`, …) through the end of the
    /// table name after it; the keyword alone when the name has no position, the first
    /// token when the keyword has none.
    pub fn keyword_through_name(
        &self,
        source: &str,
        keyword: tokenizer::Span,
        name: &ast::ObjectName,
    ) -> Span {
        match (
            self.file_span(source, keyword),
            self.name_span(source, name),
        ) {
            (Some(keyword), Some(name)) if keyword.start <= name.end => {
                Span::new(keyword.start, name.end)
            }
            (Some(keyword), _) => keyword,
            _ => self.head(),
        }
    }
}

/// Turns sqlparser's 1-based (line, character column) positions within a statement into
/// byte offsets in the file.
struct Positions<'t> {
    text: &'t str,
    base: usize,
    line_starts: Vec<usize>,
    /// Whether the text is ASCII: then a column is a byte offset (the common case,
    /// and the hot path: every token is placed).
    ascii: bool,
}

impl<'t> Positions<'t> {
    fn new(text: &'t str, base: usize) -> Self {
        let mut line_starts = vec![0];
        line_starts.extend(text.match_indices('\n').map(|(at, _)| at + 1));
        Positions {
            text,
            base,
            line_starts,
            ascii: text.is_ascii(),
        }
    }

    fn offset(&self, line: u64, column: u64) -> usize {
        let Some(&start) = self.line_starts.get((line as usize).saturating_sub(1)) else {
            return self.base + self.text.len();
        };
        let column = (column as usize).saturating_sub(1);
        let within = if self.ascii {
            column.min(self.text.len() - start)
        } else {
            self.text[start..]
                .char_indices()
                .nth(column)
                .map_or(self.text.len() - start, |(at, _)| at)
        };
        self.base + start + within
    }

    fn span(&self, span: tokenizer::Span) -> Span {
        let start = self.offset(span.start.line, span.start.column);
        let end = self.offset(span.end.line, span.end.column).max(start);
        Span::new(start, end)
    }
}

#[cfg(test)]
mod tests {
    use sqlparser::ast::TableObject;

    use super::*;
    use crate::sql::split::split;

    #[test]
    fn tree_positions_become_file_spans() {
        let sql = "SELECT 1;\nINSERT INTO\n  \"Café\".tëst (a) VALUES (1);";
        let split = split(sql);
        let statement = ParsedStatement::new(sql, 1, &split.statements[1]);
        let Some(ast::Statement::Insert(insert)) = statement.ast.as_deref() else {
            panic!("an INSERT");
        };
        let TableObject::TableName(name) = &insert.table else {
            panic!("a table name");
        };
        let name_span = statement.name_span(sql, name).expect("a position");
        assert_eq!(name_span.slice(sql), "\"Café\".tëst");
        let span = statement.keyword_through_name(sql, insert.insert_token.0.span, name);
        assert_eq!(span.slice(sql), "INSERT INTO\n  \"Café\".tëst");
        let empty = sqlparser::tokenizer::Span::empty();
        assert_eq!(statement.file_span(sql, empty), None);
    }
}
