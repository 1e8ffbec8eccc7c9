//! Byte spans into a source file and the one place they become line/column.
//!
//! Everything the tool finds carries a [`Span`] of byte offsets; only renderers turn a
//! span into the 1-based line and column the author sees, through [`LineIndex`].

use serde::Serialize;

/// A half-open byte range `start..end` into a file's text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct Span {
    pub start: usize,
    pub end: usize,
}

impl Span {
    pub fn new(start: usize, end: usize) -> Self {
        debug_assert!(start <= end, "span {start}..{end} is reversed");
        Span { start, end }
    }

    pub fn len(self) -> usize {
        self.end - self.start
    }

    pub fn is_empty(self) -> bool {
        self.start == self.end
    }

    pub fn slice(self, text: &str) -> &str {
        &text[self.start..self.end]
    }
}

/// A 1-based line and column; the column counts characters, as an editor shows them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct LineCol {
    pub line: usize,
    pub column: usize,
}

/// Maps byte offsets of one text to [`LineCol`].
///
/// A line ends at `\n` (so CRLF files count like LF files), and a UTF-8 byte order mark at
/// the start of the file takes no column.
#[derive(Debug, Clone)]
pub struct LineIndex {
    line_starts: Vec<usize>,
}

const BOM: &str = "\u{feff}";

impl LineIndex {
    pub fn new(text: &str) -> Self {
        let mut line_starts = vec![if text.starts_with(BOM) { BOM.len() } else { 0 }];
        line_starts.extend(text.match_indices('\n').map(|(at, _)| at + 1));
        LineIndex { line_starts }
    }

    /// The position of the character at byte `offset` (clamped to the text).
    pub fn line_col(&self, text: &str, offset: usize) -> LineCol {
        let offset = floor_char_boundary(text, offset.min(text.len()));
        let line = self
            .line_starts
            .partition_point(|&start| start <= offset)
            .max(1);
        let start = self.line_starts[line - 1].min(offset);
        LineCol {
            line,
            column: text[start..offset].chars().count() + 1,
        }
    }

    /// The text of 1-based `line` without its line break.
    pub fn line_text<'t>(&self, text: &'t str, line: usize) -> &'t str {
        let start = self.line_starts[line - 1];
        let end = self.line_starts.get(line).map_or(text.len(), |&next| next);
        text[start..end].trim_end_matches(['\n', '\r'])
    }

    pub fn line_count(&self) -> usize {
        self.line_starts.len()
    }
}

fn floor_char_boundary(text: &str, mut offset: usize) -> usize {
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lf_crlf_and_bom_give_the_same_positions() {
        for text in ["ab\ncd\n", "ab\r\ncd\r\n", "\u{feff}ab\ncd\n"] {
            let index = LineIndex::new(text);
            let at = text.find('d').unwrap();
            assert_eq!(
                index.line_col(text, at),
                LineCol { line: 2, column: 2 },
                "{text:?}"
            );
            let at = text.find('a').unwrap();
            assert_eq!(
                index.line_col(text, at),
                LineCol { line: 1, column: 1 },
                "{text:?}"
            );
            assert_eq!(index.line_text(text, 1), "ab");
        }
    }

    #[test]
    fn columns_count_characters_not_bytes() {
        let text = "é😀x";
        let index = LineIndex::new(text);
        assert_eq!(index.line_col(text, text.find('x').unwrap()).column, 3);
        // An offset inside a multi-byte character is the character itself.
        assert_eq!(index.line_col(text, 1).column, 1);
    }

    #[test]
    fn offset_past_the_end_is_clamped() {
        let text = "a\nb";
        let index = LineIndex::new(text);
        assert_eq!(index.line_col(text, 99), LineCol { line: 2, column: 2 });
    }
}
