//! The statement splitter against its contract: Postgres's lexical rules, byte spans and the
//! positions they become, parity with what the Supabase CLI stores, and property tests,
//! one of them against a model of the CLI's own splitter (`cli` below).

use migration_guard::findings::span::LineIndex;
use migration_guard::sql::split::{OpenToken, Split, split};
use proptest::prelude::*;

const BOM: &str = "\u{feff}";

/// What the Supabase CLI stores for one token: `strings.TrimRight(token, ";")`, then
/// `strings.TrimSpace` (Go's and Rust's whitespace are both Unicode `White_Space`).
fn cli_trim(token: &str) -> &str {
    token.trim_end_matches(';').trim()
}

fn texts(source: &str) -> Vec<&str> {
    split(source)
        .statements
        .iter()
        .map(|statement| statement.text(source))
        .collect()
}

/// The 1-based (line, column) of a byte offset, as the report shows it.
fn line_col(source: &str, offset: usize) -> (usize, usize) {
    let at = LineIndex::new(source).line_col(source, offset);
    (at.line, at.column)
}

/// Where each statement's text starts.
fn starts(source: &str) -> Vec<(usize, usize)> {
    split(source)
        .statements
        .iter()
        .map(|statement| line_col(source, statement.text.start))
        .collect()
}

/// Asserts the texts and the start of every statement, and that the spans hold together.
fn assert_split(source: &str, expected: &[(&str, (usize, usize))]) {
    check_invariants(source);
    let texts: Vec<&str> = expected.iter().map(|(text, _)| *text).collect();
    let starts: Vec<(usize, usize)> = expected.iter().map(|(_, start)| *start).collect();
    assert_eq!(self::texts(source), texts, "texts of {source:?}");
    assert_eq!(self::starts(source), starts, "starts of {source:?}");
}

fn unclosed(source: &str) -> Option<(OpenToken, (usize, usize))> {
    split(source)
        .unclosed
        .map(|open| (open.token, line_col(source, open.start)))
}

/// What must hold for any input: the raw spans tile the file, each text is the CLI's
/// trimming of its own chunk, and meta-commands and unclosed tokens point into the file.
fn check_invariants(source: &str) -> Split {
    let result = split(source);
    let body = source.strip_prefix(BOM).unwrap_or(source);
    let blank_file = body.chars().all(|c| c.is_whitespace() || c == ';');
    assert_eq!(
        result.statements.is_empty(),
        blank_file,
        "statements exist exactly when the file is more than whitespace and `;`: {source:?}"
    );

    let mut end = 0;
    for statement in &result.statements {
        let (span, text) = (statement.span, statement.text);
        assert_eq!(span.start, end, "raw spans are contiguous: {source:?}");
        assert!(span.start < span.end, "raw spans are not empty: {source:?}");
        end = span.end;
        assert!(
            span.start <= text.start && text.start < text.end && text.end <= span.end,
            "text {text:?} lies inside raw span {span:?}: {source:?}"
        );
        assert!(source.is_char_boundary(text.start) && source.is_char_boundary(text.end));

        // The raw span is the statement's own chunk (up to its first `;` after the text)
        // plus folded-in chunks of whitespace and `;` before and after it.
        let raw = span.slice(source);
        let (text_start, text_end) = (text.start - span.start, text.end - span.start);
        let skip = if span.start == 0 && raw.starts_with(BOM) {
            BOM.len()
        } else {
            0
        };
        let before = &raw[skip..text_start];
        let after = &raw[text_end..];
        let blank = |part: &str| part.chars().all(|c| c.is_whitespace() || c == ';');
        assert!(
            blank(before) && blank(after),
            "only blanks around {text:?}: {source:?}"
        );
        let chunk_start = before.rfind(';').map_or(skip, |at| skip + at + 1);
        let chunk_end = text_end + after.find(';').map_or(after.len(), |at| at + 1);
        assert_eq!(
            cli_trim(&raw[chunk_start..chunk_end]),
            text.slice(source),
            "text is the CLI's trimming of its chunk: {source:?}"
        );
        assert_eq!(statement.offset_of_position(source, 1), text.start);
    }
    if !result.statements.is_empty() {
        assert_eq!(
            end,
            source.len(),
            "raw spans reach the end of the file: {source:?}"
        );
    }

    for meta in &result.meta_commands {
        let text = meta.span.slice(source);
        assert!(text.starts_with('\\') && text.starts_with(meta.name.as_str()));
        assert!(!text.contains('\n') && text.trim_end() == text, "{text:?}");
    }
    if let Some(open) = result.unclosed {
        assert!(open.start < source.len() && source.is_char_boundary(open.start));
    }
    result
}

// --- Lexical rules, each with the statement texts and where they start. ---

#[test]
fn single_quotes_double_their_quote() {
    assert_split(
        "insert into t values ('it''s; here', ';');\n  select ''';';\nselect 3;",
        &[
            ("insert into t values ('it''s; here', ';')", (1, 1)),
            ("select ''';'", (2, 3)),
            ("select 3", (3, 1)),
        ],
    );
}

#[test]
fn plain_strings_keep_backslashes_literal() {
    // standard_conforming_strings: a backslash before the closing quote escapes nothing.
    assert_split(
        "select 'C:\\dir\\';\nselect 2;",
        &[("select 'C:\\dir\\'", (1, 1)), ("select 2", (2, 1))],
    );
}

#[test]
fn e_strings_escape_with_backslashes() {
    assert_split(
        "select E'it\\'s; x';\nselect e'\\\\';\n select E'a''b;\\n';\nselect fee'\\';\nselect 5;",
        &[
            ("select E'it\\'s; x'", (1, 1)),
            ("select e'\\\\'", (2, 1)),
            ("select E'a''b;\\n'", (3, 2)),
            // `fee'…'` is no E-string: the backslash is literal and the quote closes it.
            ("select fee'\\'", (4, 1)),
            ("select 5", (5, 1)),
        ],
    );
}

#[test]
fn unicode_escape_strings_and_identifiers() {
    assert_split(
        "select U&'d\\0061t\\+000061; ''q''';\nselect u&'x\\';\nselect U&\"d;\"\"x\" from t;\nselect 4;",
        &[
            ("select U&'d\\0061t\\+000061; ''q'''", (1, 1)),
            // In U&'…' a backslash starts a code point, it never escapes the quote.
            ("select u&'x\\'", (2, 1)),
            ("select U&\"d;\"\"x\" from t", (3, 1)),
            ("select 4", (4, 1)),
        ],
    );
}

#[test]
fn quoted_identifiers_double_their_quote() {
    assert_split(
        "create table \"odd;\"\"name\" (\"x'y\" int);\n\tselect \"\"\"\";\nselect 3;",
        &[
            ("create table \"odd;\"\"name\" (\"x'y\" int)", (1, 1)),
            ("select \"\"\"\"", (2, 2)),
            ("select 3", (3, 1)),
        ],
    );
}

#[test]
fn dollar_quotes_with_and_without_tags() {
    let source = concat!(
        "create function f() returns int language plpgsql as $$\n",
        "begin\n",
        "  raise notice 'it''s; $fn$'; -- it's\n",
        "  return 2;\n",
        "end;\n",
        "$$;\n",
        "create function g() returns text language plpgsql as $fn$\n",
        "declare q text := $body$ select 1; $fn $body$;\n",
        "begin return q; end;\n",
        "$fn$;\n",
        "  prepare p(int) as select $1;\n",
        "select a$b$ from t; select $Tag$ ; $tag$ ; $Tag$;\n",
        "select 6;\n",
    );
    assert_split(
        source,
        &[
            (
                concat!(
                    "create function f() returns int language plpgsql as $$\n",
                    "begin\n",
                    "  raise notice 'it''s; $fn$'; -- it's\n",
                    "  return 2;\n",
                    "end;\n",
                    "$$"
                ),
                (1, 1),
            ),
            (
                concat!(
                    "create function g() returns text language plpgsql as $fn$\n",
                    "declare q text := $body$ select 1; $fn $body$;\n",
                    "begin return q; end;\n",
                    "$fn$"
                ),
                (7, 1),
            ),
            // `$1` is a parameter, `a$b$` an identifier, and tags are case-sensitive.
            ("prepare p(int) as select $1", (11, 3)),
            ("select a$b$ from t", (12, 1)),
            ("select $Tag$ ; $tag$ ; $Tag$", (12, 21)),
            ("select 6", (13, 1)),
        ],
    );
}

#[test]
fn numbers_end_before_a_dollar_quote() {
    // Postgres reads `1$$` as a number and a dollar quote, and `$1$$` as a parameter and
    // one; only in an identifier does `$` continue the word.
    assert_split(
        "select 1$$;$$;\nselect $1$fn$;$fn$, x1$y$;\nselect 3;",
        &[
            ("select 1$$;$$", (1, 1)),
            ("select $1$fn$;$fn$, x1$y$", (2, 1)),
            ("select 3", (3, 1)),
        ],
    );
}

#[test]
fn non_ascii_dollar_tags() {
    // Postgres allows any non-ASCII character in a tag.
    assert_split(
        "do $é$ begin perform 1; end $é$;\nselect 2;",
        &[
            ("do $é$ begin perform 1; end $é$", (1, 1)),
            ("select 2", (2, 1)),
        ],
    );
}

#[test]
fn line_comments() {
    assert_split(
        "select 1 -- not the end; it's\n;\n-- lead; comment\nselect /* x */ 2; -- after\nselect 3;",
        &[
            ("select 1 -- not the end; it's", (1, 1)),
            // Leading comments stay with the statement after them, as the CLI keeps them.
            ("-- lead; comment\nselect /* x */ 2", (3, 1)),
            ("-- after\nselect 3", (4, 19)),
        ],
    );
}

#[test]
fn a_lone_carriage_return_does_not_end_a_line_comment() {
    // Postgres ends `--` at `\r` too, but the CLI only at `\n`: we store what the CLI
    // stores, and positions count `\n` alone as a line break.
    assert_split(
        "select 1 -- x\r;\nselect 2;\nselect 3;",
        &[("select 1 -- x\r;\nselect 2", (1, 1)), ("select 3", (3, 1))],
    );
}

#[test]
fn nested_block_comments() {
    assert_split(
        concat!(
            "/* outer /* inner; */ still; comment */ select 1;\n",
            "select /* a */ 2 /* b /* c */ ; */;\n",
            "/**/select 3;\n",
            "select 4 /*/ ; */;\n",
            "/* a /* b */* ; */ select 5;\n",
            "select 6;",
        ),
        &[
            ("/* outer /* inner; */ still; comment */ select 1", (1, 1)),
            ("select /* a */ 2 /* b /* c */ ; */", (2, 1)),
            ("/**/select 3", (3, 1)),
            // `/*/` opens a comment and does not close it.
            ("select 4 /*/ ; */", (4, 1)),
            // `*/*` closes the inner comment before anything opens.
            ("/* a /* b */* ; */ select 5", (5, 1)),
            ("select 6", (6, 1)),
        ],
    );
}

#[test]
fn semicolons_inside_parentheses() {
    assert_split(
        concat!(
            "create rule r as on update to t do also (\n",
            "  insert into log values ((1), ';');\n",
            "  notify t;\n",
            ");\n",
            "select 1); select 2;",
        ),
        &[
            (
                concat!(
                    "create rule r as on update to t do also (\n",
                    "  insert into log values ((1), ';');\n",
                    "  notify t;\n",
                    ")"
                ),
                (1, 1),
            ),
            // A stray `)` does not stop later `;` from splitting.
            ("select 1)", (5, 1)),
            ("select 2", (5, 12)),
        ],
    );
}

#[test]
fn begin_atomic_bodies() {
    let source = concat!(
        "create function f(x int) returns text language sql\n",
        "begin -- why not\n",
        "  /* a; comment */ atomic\n",
        "  select case when x > 0 then 'pos;' else 'neg' end;\n",
        "  select case x when 1 then (select 'one') end;\n",
        "end;\n",
        "CREATE PROCEDURE p() BEGIN ATOMIC INSERT INTO t VALUES (1); End; SELECT 3;\n",
        "begin;\n",
        "select atomic, case when true then 1 end from t;\n",
        "commit;",
    );
    assert_split(
        source,
        &[
            (
                concat!(
                    "create function f(x int) returns text language sql\n",
                    "begin -- why not\n",
                    "  /* a; comment */ atomic\n",
                    "  select case when x > 0 then 'pos;' else 'neg' end;\n",
                    "  select case x when 1 then (select 'one') end;\n",
                    "end"
                ),
                (1, 1),
            ),
            (
                "CREATE PROCEDURE p() BEGIN ATOMIC INSERT INTO t VALUES (1); End",
                (7, 1),
            ),
            ("SELECT 3", (7, 66)),
            // A transaction's BEGIN, a column named atomic and CASE outside a body are code.
            ("begin", (8, 1)),
            ("select atomic, case when true then 1 end from t", (9, 1)),
            ("commit", (10, 1)),
        ],
    );
}

#[test]
fn crlf_files() {
    let source = concat!(
        "create table a (\r\n  id int\r\n);\r\n\r\n",
        "-- note; here\r\ninsert into a values (1);\r\n",
        "create function f() returns int as $$\r\nselect 1;\r\n$$ language sql;\r\n",
        "  select 'x;\r\ny';\r\n",
    );
    assert_split(
        source,
        &[
            ("create table a (\r\n  id int\r\n)", (1, 1)),
            ("-- note; here\r\ninsert into a values (1)", (5, 1)),
            (
                "create function f() returns int as $$\r\nselect 1;\r\n$$ language sql",
                (7, 1),
            ),
            ("select 'x;\r\ny'", (10, 3)),
        ],
    );
    let last = split(source).statements.pop().unwrap();
    assert_eq!(&source[last.span.start..], "\r\n  select 'x;\r\ny';\r\n");
}

#[test]
fn byte_order_mark() {
    let source = "\u{feff}select 1;\nselect 'é';\n  select 3;";
    assert_split(
        source,
        &[
            ("select 1", (1, 1)),
            ("select 'é'", (2, 1)),
            ("select 3", (3, 3)),
        ],
    );
    let first = split(source).statements.remove(0);
    assert_eq!((first.span.start, first.text.start), (0, BOM.len()));

    assert_split(
        "\u{feff}-- header\r\nselect 1;",
        &[("-- header\r\nselect 1", (1, 1))],
    );
    assert_split("\u{feff};select 1;", &[("select 1", (1, 2))]);
    assert_split("\u{feff}\r\n", &[]);
}

#[test]
fn error_positions_map_to_file_offsets() {
    // Postgres reports a 1-based character position in the statement text it was sent.
    let source =
        "select 1;\r\ninsert into t (name, mood)\r\nvalues ('é', '😀') returning nope;\r\n";
    let statement = split(source).statements.remove(1);
    assert_eq!(
        statement.text(source),
        "insert into t (name, mood)\r\nvalues ('é', '😀') returning nope"
    );
    let position = |needle: &str| {
        let text = statement.text(source);
        text[..text.find(needle).unwrap()].chars().count() + 1
    };
    assert_eq!(position("nope"), 57);
    let nope = statement.offset_of_position(source, 57);
    assert_eq!(nope, source.find("nope").unwrap());
    assert_eq!(line_col(source, nope), (3, 29));
    let emoji = statement.offset_of_position(source, position("😀"));
    assert_eq!(emoji, source.find('😀').unwrap());
    assert_eq!(line_col(source, emoji), (3, 15));
    assert_eq!(
        line_col(source, statement.offset_of_position(source, 1)),
        (2, 1)
    );
    // Past the end it clamps to the end of the statement.
    assert_eq!(
        statement.offset_of_position(source, 999),
        statement.text.end
    );
}

// --- psql meta-commands ---

#[test]
fn meta_commands_are_collected_with_their_spans() {
    let source = concat!(
        "\\set ON_ERROR_STOP on\n",
        "select 1;\n",
        "  \\i other.sql   \r\n",
        "select ':x' -- \\not_a_command\n",
        ", $$ \\not_either $$, '\\nor_this', \"\\no\";\n",
        "select (1,\n\\echo inside parentheses\n2);\n",
        "\\connect db",
    );
    let result = check_invariants(source);
    let metas: Vec<_> = result
        .meta_commands
        .iter()
        .map(|meta| {
            (
                meta.name.as_str(),
                meta.span.slice(source),
                line_col(source, meta.span.start),
                line_col(source, meta.span.end),
            )
        })
        .collect();
    assert_eq!(
        metas,
        [
            ("\\set", "\\set ON_ERROR_STOP on", (1, 1), (1, 22)),
            ("\\i", "\\i other.sql", (3, 3), (3, 15)),
            ("\\echo", "\\echo inside parentheses", (7, 1), (7, 25)),
            ("\\connect", "\\connect db", (9, 1), (9, 12)),
        ]
    );
    // They stay in the statement texts and never make a chunk look comment-only.
    let last = result.statements.last().unwrap();
    assert_eq!(last.text(source), "\\connect db");
    assert!(!last.comment_only);
}

#[test]
fn meta_command_names_end_at_any_whitespace() {
    // A vertical tab is whitespace to `trim`, so it must end the name as it ends the span.
    for (source, name, text) in [
        ("\\echo\u{b}hi \nselect 1;", "\\echo", "\\echo\u{b}hi"),
        ("\\\u{b} ", "\\", "\\"),
    ] {
        let result = check_invariants(source);
        let meta = &result.meta_commands[0];
        assert_eq!((meta.name.as_str(), meta.span.slice(source)), (name, text));
    }
}

#[test]
fn meta_commands_inside_begin_atomic_and_after_comments() {
    let source = "create function f() begin atomic\n\\include x.sql\nselect 1; end;\n-- x\n\\q";
    let result = check_invariants(source);
    let names: Vec<&str> = result
        .meta_commands
        .iter()
        .map(|m| m.name.as_str())
        .collect();
    assert_eq!(names, ["\\include", "\\q"]);
    assert_eq!(line_col(source, result.meta_commands[0].span.start), (2, 1));
    assert_eq!(texts(source).last(), Some(&"-- x\n\\q"));
    assert!(!result.statements.last().unwrap().comment_only);
}

// --- Unclosed tokens ---

#[test]
fn unclosed_tokens_report_their_kind_and_start() {
    let cases = [
        (
            "select 1;\nselect 'abc;\nselect 3;",
            OpenToken::String,
            (2, 8),
        ),
        ("select E'it\\'s;", OpenToken::String, (1, 8)),
        ("select 1;\n  select U&'x;", OpenToken::String, (2, 10)),
        (
            "select 1;\n  select \"abc",
            OpenToken::QuotedIdentifier,
            (2, 10),
        ),
        (
            "create function f() as $fn$\nbegin;\n$$;",
            OpenToken::DollarQuote,
            (1, 24),
        ),
        (
            "select 1; /* a /* b */ c;",
            OpenToken::BlockComment,
            (1, 11),
        ),
        (
            "select 1;\ncreate procedure p()\nbegin atomic\n  select 1;\n",
            OpenToken::BeginAtomic,
            (3, 1),
        ),
        (
            "create function f() begin\r\n  atomic select case when x then 1 end;",
            OpenToken::BeginAtomic,
            (1, 21),
        ),
    ];
    for (source, token, start) in cases {
        check_invariants(source);
        assert_eq!(unclosed(source), Some((token, start)), "{source:?}");
    }
    // Everything after the opening is one statement.
    assert_eq!(texts(cases[0].0), ["select 1", "select 'abc;\nselect 3"]);
}

#[test]
fn closed_tokens_are_not_reported() {
    for source in [
        "-- it's",
        "select $1, a$b$",
        "select 'a''';",
        "select E'\\\\';",
        "/* /* */ */",
        "select $$$$;",
        "begin atomic end;",
    ] {
        assert_eq!(unclosed(source), None, "{source:?}");
    }
}

// --- Trimming parity with the CLI ---

#[test]
fn trims_like_the_cli() {
    assert_split("select 1 ;", &[("select 1", (1, 1))]);
    assert_split("  select 1  ;  \n", &[("select 1", (1, 3))]);
    assert_split(
        "select 1;\nselect 2",
        &[("select 1", (1, 1)), ("select 2", (2, 1))],
    );
    assert_split("select 1\n\n", &[("select 1", (1, 1))]);
}

#[test]
fn empty_chunks_are_dropped_and_folded() {
    for blank in ["", ";;", " \n\t\r\n", ";\n;\r\n  ;"] {
        assert_split(blank, &[]);
    }
    let source = ";;select 1;;\n;select 2;; \n\n";
    assert_split(source, &[("select 1", (1, 3)), ("select 2", (2, 2))]);
    let spans: Vec<&str> = split(source)
        .statements
        .iter()
        .map(|s| s.span.slice(source))
        .collect();
    assert_eq!(spans, [";;select 1;;\n;", "select 2;; \n\n"]);
}

#[test]
fn comment_only_chunks_are_kept() {
    let source = "select 1;\n/* c */ ;\nselect 2; -- end\n";
    assert_split(
        source,
        &[
            ("select 1", (1, 1)),
            ("/* c */", (2, 1)),
            ("select 2", (3, 1)),
            ("-- end", (3, 11)),
        ],
    );
    let flags: Vec<bool> = split(source)
        .statements
        .iter()
        .map(|s| s.comment_only)
        .collect();
    assert_eq!(flags, [false, true, false, true]);
    assert_split("-- only a comment", &[("-- only a comment", (1, 1))]);
    assert!(split("-- only a comment").statements[0].comment_only);
}

// --- Property tests ---

/// Pieces of text that the lexer treats specially, for inputs biased toward its edge cases.
const SQLISH: &[&str] = &[
    "'",
    "\"",
    "$",
    "$$",
    "$a$",
    "$é$",
    "$1",
    "a$b$",
    ";",
    ";;",
    "-",
    "--",
    "/",
    "*",
    "/*",
    "*/",
    "(",
    ")",
    "\\",
    "\\i x",
    "E",
    "e'",
    "E'",
    "U&",
    "u&'",
    " ",
    "  ",
    "\n",
    "\r\n",
    "\r",
    "\t",
    "\u{b}",
    BOM,
    "é",
    "😀",
    "\u{a0}",
    "BEGIN",
    "begin atomic",
    "BEGIN ATOMIC",
    "ATOMIC",
    "atomic",
    "END",
    "end",
    "CASE",
    "case",
    "select",
    "x",
    "1",
];

fn sqlish() -> impl Strategy<Value = String> {
    (
        any::<bool>(),
        prop::collection::vec(prop::sample::select(SQLISH), 0..40),
    )
        .prop_map(
            |(bom, pieces)| if bom { BOM.to_string() } else { String::new() } + &pieces.concat(),
        )
}

fn any_source() -> impl Strategy<Value = String> {
    prop_oneof![1 => any::<String>(), 3 => sqlish()]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4000))]

    #[test]
    fn any_input_splits_into_spans_that_tile_the_file(source in any_source()) {
        check_invariants(&source);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    #[test]
    fn well_formed_statements_come_back_as_written(
        file in generate::file(generate::Flavor { postgres_only: true }),
    ) {
        check_invariants(&file.source);
        prop_assert_eq!(texts(&file.source), file.expected());
    }

    #[test]
    fn splits_like_the_cli_where_both_follow_postgres(
        file in generate::file(generate::Flavor { postgres_only: false }),
    ) {
        check_invariants(&file.source);
        let ours = texts(&file.source);
        prop_assert_eq!(&ours, &file.expected());
        prop_assert_eq!(cli::split_and_trim(&file.source), ours);
    }
}

// --- The CLI model itself, and where we differ from the CLI on purpose ---

#[test]
fn the_cli_model_matches_the_cli_test_suite() {
    // Cases from the CLI's own pkg/parser/state_test.go: raw tokens, untrimmed.
    let cases: &[&[&str]] = &[
        &["END;", "-- comment"],
        &["SELECT --; 1"],
        &["- ;", "END"],
        &["-- /* \n;", " */ END"],
        &["SELECT /*; /*;*/ ;*/ 1"],
        &["/ * ;", " */ END"],
        &[";", "END;", ";"],
        &["\\;;", "\\;"],
        &["$tag$ any ; string$tag$"],
        &["SELECT \"$\";", " $$"],
        &["SELECT '\\';", " 1'"],
        &["CREATE POLICY \"pet\"\"name\" on pets;", " END"],
        &[
            "CREATE RULE notify_me AS ON UPDATE TO mytable DO (NOTIFY mytable; SELECT \"1\");",
            "SELECT 1",
        ],
        &["begin atomic; select 'end'; end"],
        &["CREATE FUNCTION test() BEGIN\nATOMIC-- END;\n-- END;\nEND\n;"],
        &[
            "CREATE FUNCTION fn_atomic() AS $$ BEGIN NULL; END; $$;",
            "\nSELECT 1;",
        ],
    ];
    for tokens in cases {
        assert_eq!(cli::tokens(&tokens.concat()), *tokens);
    }
}

/// Inputs on which the CLI's splitter and ours disagree, with what each returns (checked
/// against the CLI's Go code). Postgres and psql read each of them as we do, so the CLI
/// would send broken SQL; the exceptions are a meta-command, which only psql understands and
/// we refuse, and a byte order mark, which Postgres would take for part of the first word.
/// The well-formed generator leaves these out of `splits_like_the_cli_where_both_follow_postgres`.
#[test]
fn documented_differences_from_the_cli() {
    let cases: &[(&str, &str, &[&str], &[&str])] = &[
        (
            "a backslash escapes a quote in an E'' string",
            "select E'it\\'s; x'; select 2",
            &["select E'it\\'s", "x'; select 2"],
            &["select E'it\\'s; x'", "select 2"],
        ),
        (
            "CASE … END inside BEGIN ATOMIC does not end the body",
            "create function f() begin atomic select case when true then 1 end; select 2; end; select 3",
            &[
                "create function f() begin atomic select case when true then 1 end",
                "select 2",
                "end",
                "select 3",
            ],
            &[
                "create function f() begin atomic select case when true then 1 end; select 2; end",
                "select 3",
            ],
        ),
        (
            "the CLI ends a BEGIN ATOMIC body at any word that ends in `end`",
            "create function f() begin atomic select legend from t; select 2; end; select 3",
            &[
                "create function f() begin atomic select legend from t",
                "select 2",
                "end",
                "select 3",
            ],
            &[
                "create function f() begin atomic select legend from t; select 2; end",
                "select 3",
            ],
        ),
        (
            "comments may stand between BEGIN and ATOMIC",
            "create function f() begin -- body\n atomic select 1; end; select 2",
            &[
                "create function f() begin -- body\n atomic select 1",
                "end",
                "select 2",
            ],
            &[
                "create function f() begin -- body\n atomic select 1; end",
                "select 2",
            ],
        ),
        (
            "the CLI's first `)` closes every open parenthesis",
            "create rule r as on insert to t do also (insert into a values (1); notify t); select 2",
            &[
                "create rule r as on insert to t do also (insert into a values (1)",
                "notify t)",
                "select 2",
            ],
            &[
                "create rule r as on insert to t do also (insert into a values (1); notify t)",
                "select 2",
            ],
        ),
        (
            "`$` inside an identifier does not open a dollar quote",
            "select a$b$ from t; select $b$",
            &["select a$b$ from t; select $b$"],
            &["select a$b$ from t", "select $b$"],
        ),
        (
            "a dollar-quote tag cannot start with a digit: `$1` is a parameter",
            "select $1$$;$$; select 2",
            &["select $1$$;$$; select 2"],
            &["select $1$$;$$", "select 2"],
        ),
        (
            "a dollar-quote tag may hold non-ASCII characters",
            "do $é$ begin perform 1; end $é$; select 2",
            &["do $é$ begin perform 1", "end $é$", "select 2"],
            &["do $é$ begin perform 1; end $é$", "select 2"],
        ),
        (
            "`/*/` opens a block comment without closing it",
            "select 1 /*/ ; */; select 2",
            &["select 1 /*/", "*/", "select 2"],
            &["select 1 /*/ ; */", "select 2"],
        ),
        (
            "`*/*` inside a nested comment closes one level",
            "/* a /* b */* ; */ select 1; select 2",
            &["/* a /* b */* ; */ select 1; select 2"],
            &["/* a /* b */* ; */ select 1", "select 2"],
        ),
        (
            "a dollar quote's closing tag cannot overlap its opening tag",
            "select $$$ ; $$; select 2",
            &["select $$$", "$$; select 2"],
            &["select $$$ ; $$", "select 2"],
        ),
        (
            "a psql meta-command runs to the end of its line (and is reported, never sent)",
            "\\set x 1;\nselect 1",
            &["\\set x 1", "select 1"],
            &["\\set x 1;\nselect 1"],
        ),
        (
            "a byte order mark is not part of the first statement",
            "\u{feff}select 1",
            &["\u{feff}select 1"],
            &["select 1"],
        ),
    ];
    for (why, source, cli, ours) in cases {
        assert_eq!(cli::split_and_trim(source), *cli, "CLI: {why}");
        assert_eq!(texts(source), *ours, "ours: {why}");
    }
}

/// Generators of migration files whose statements are known by construction.
mod generate {
    use super::cli_trim;
    use proptest::prelude::*;
    use proptest::sample::select;
    use proptest::strategy::{BoxedStrategy, Union};

    #[derive(Clone, Copy, Debug)]
    pub struct Flavor {
        /// Also generate what the CLI splits differently (see
        /// `documented_differences_from_the_cli`): E'' strings with `\'`, CASE in BEGIN
        /// ATOMIC, comments between BEGIN and ATOMIC, nested parentheses, `$` in
        /// identifiers, non-ASCII dollar tags, `$1` before a dollar quote and a byte order
        /// mark.
        pub postgres_only: bool,
    }

    #[derive(Clone, Debug)]
    pub struct File {
        pub source: String,
        pub statements: Vec<String>,
    }

    impl File {
        pub fn expected(&self) -> Vec<&str> {
            self.statements.iter().map(|s| cli_trim(s)).collect()
        }
    }

    fn one_of(options: &'static [&'static str]) -> BoxedStrategy<String> {
        select(options).prop_map(String::from).boxed()
    }

    /// `open`, then up to `max` pieces, then `close`.
    fn wrapped(
        open: &'static str,
        pieces: &'static [&'static str],
        max: usize,
        close: &'static str,
    ) -> BoxedStrategy<String> {
        prop::collection::vec(select(pieces), 0..=max)
            .prop_map(move |pieces| format!("{open}{}{close}", pieces.concat()))
            .boxed()
    }

    fn word() -> BoxedStrategy<String> {
        "[a-zA-Z_][a-zA-Z0-9_]{0,8}"
            .prop_filter("keywords the splitters track", |word| {
                let word = word.to_ascii_lowercase();
                !["begin", "atomic", "end", "case"]
                    .iter()
                    .any(|k| word.contains(k))
            })
            .boxed()
    }

    fn dollar_quoted(flavor: Flavor) -> BoxedStrategy<String> {
        let tags: &'static [&'static str] = if flavor.postgres_only {
            &["", "fn", "body", "x_1", "T", "é", "ü2"]
        } else {
            &["", "fn", "body", "x_1", "T"]
        };
        const BODY: &[&str] = &[
            "select 1;",
            ";",
            "'",
            "\"",
            "--",
            "/*",
            "*/",
            "\n",
            "\r\n",
            "$1",
            "é",
            "end;",
            "begin atomic",
            "$q$ nested; $q$",
            "$$ inner; $$",
            "$t$ lower; $t$",
            "\\",
        ];
        (select(tags), prop::collection::vec(select(BODY), 0..6))
            .prop_map(|(tag, body)| format!("${tag}$ {} ${tag}$", body.join(" ")))
            .prop_filter("the body must not close the quote", |quoted| {
                let tag_end = quoted[1..].find('$').unwrap() + 2;
                let tag = &quoted[..tag_end];
                quoted[tag_end..quoted.len() - tag_end].find(tag).is_none()
            })
            .boxed()
    }

    /// One token-like piece of a statement: never `;` at the top level, never a keyword
    /// the splitters track.
    fn atom(flavor: Flavor) -> BoxedStrategy<String> {
        const STRING: &[&str] = &[
            "a",
            "b c",
            ";",
            "''",
            "\"",
            "$$",
            "$x$",
            "--",
            "/*",
            "*/",
            "(",
            ")",
            "\\",
            "é",
            "😀",
            "\n",
            "\r\n",
            "end",
            "begin atomic",
        ];
        const IDENTIFIER: &[&str] = &["a", ";", "\"\"", "'", " ", "$$", "--", "é", "end"];
        const E_STRING: &[&str] = &["a", ";", "\\'", "\\\\", "''", "\\n", "é", "\"", "$$"];
        const LINE_COMMENT: &[&str] = &[" x", ";", "'", "\"", "$$", "/*", "(", ")", "é", "end"];
        const BLOCK_COMMENT: &[&str] = &[
            " x", " ;", " '", " \"", " $$", " --", " (", " \n", " é", " /* ; */", " end",
        ];
        let mut options = vec![
            word(),
            "[0-9]{1,4}(\\.[0-9]{1,2})?".boxed(),
            one_of(&[
                "=", "+", ",", ".", "<>", "*", "-", "/", "::", "||", "$1", "$2",
            ]),
            wrapped("'", STRING, 5, "'"),
            wrapped("U&'", STRING, 4, "'"),
            wrapped("\"", IDENTIFIER, 4, "\""),
            wrapped("U&\"", IDENTIFIER, 3, "\""),
            dollar_quoted(flavor),
            (wrapped("--", LINE_COMMENT, 4, ""), one_of(&["\n", "\r\n"]))
                .prop_map(|(comment, end)| comment + &end)
                .boxed(),
            wrapped("/*", BLOCK_COMMENT, 4, " */"),
        ];
        // A number ends where a dollar quote starts; `$1` then a quote is CLI-incompatible.
        let numbers: &'static [&'static str] = if flavor.postgres_only {
            &["1", "42", "$1"]
        } else {
            &["1", "42"]
        };
        options.push(
            (one_of(numbers), dollar_quoted(flavor))
                .prop_map(|(number, quoted)| number + &quoted)
                .boxed(),
        );
        if flavor.postgres_only {
            options.push(wrapped("E'", E_STRING, 5, "'"));
            options.push(wrapped("e'", E_STRING, 3, "'"));
            options.push(one_of(&["a$b$", "x$", "f$1$"]));
        }
        Union::new(options).boxed()
    }

    fn joined(parts: Vec<(String, String)>) -> String {
        parts.into_iter().map(|(part, gap)| part + &gap).collect()
    }

    fn gap() -> BoxedStrategy<String> {
        one_of(&[" ", " ", "\n", "\r\n", "\t", "\n  "])
    }

    /// `( … )` holding atoms and `;`, nested only where the CLI agrees.
    fn parenthesised(flavor: Flavor) -> BoxedStrategy<String> {
        let inner = prop_oneof![3 => atom(flavor), 1 => Just(";".to_string())];
        let inner = if flavor.postgres_only {
            let nested = (prop::collection::vec((inner.clone(), gap()), 0..4))
                .prop_map(|parts| format!("({})", joined(parts)));
            prop_oneof![4 => inner, 1 => nested].boxed()
        } else {
            inner.boxed()
        };
        prop::collection::vec((inner, gap()), 0..5)
            .prop_map(|parts| format!("({})", joined(parts)))
            .boxed()
    }

    fn begin_atomic(flavor: Flavor) -> BoxedStrategy<String> {
        let (between, part) = if flavor.postgres_only {
            let case = one_of(&[
                "case when x then 'a;' else 1 end",
                "CASE x WHEN 1 THEN (select 2; ) END",
                "case when (case when y then 1 end) = 1 then 2 End",
            ]);
            (
                one_of(&[
                    " ",
                    "\n  ",
                    "\r\n",
                    "\t",
                    " -- c; \n ",
                    " /* c; */ ",
                    "/**/",
                ]),
                prop_oneof![4 => atom(flavor), 1 => parenthesised(flavor), 1 => case].boxed(),
            )
        } else {
            (
                one_of(&[" ", "\n  ", "\r\n", "\t"]),
                prop_oneof![4 => atom(flavor), 1 => parenthesised(flavor)].boxed(),
            )
        };
        let statement = prop::collection::vec((part, gap()), 1..4).prop_map(joined);
        (
            one_of(&["begin", "BEGIN", "Begin"]),
            between,
            one_of(&["atomic", "ATOMIC"]),
            prop::collection::vec(statement, 1..4),
            one_of(&["end", "END", "End"]),
        )
            .prop_map(|(begin, between, atomic, statements, end)| {
                format!(
                    "{begin}{between}{atomic}\n  {};\n{end}",
                    statements.join(";\n  ")
                )
            })
            .boxed()
    }

    fn statement(flavor: Flavor) -> BoxedStrategy<String> {
        let part = prop_oneof![
            10 => atom(flavor),
            2 => parenthesised(flavor),
            1 => begin_atomic(flavor),
        ];
        prop::collection::vec((part, gap()), 1..7)
            .prop_map(joined)
            .boxed()
    }

    pub fn file(flavor: Flavor) -> BoxedStrategy<File> {
        let end = (
            one_of(&["", " ", "\n", "\r\n", "\t "]),
            one_of(&["", "", ";", " ;", ";\n;"]),
            one_of(&["", "\n", "\r\n", " ", "\n\n", "\r\n\r\n"]),
        );
        (
            any::<bool>(),
            one_of(&["", "\n", " ", "\r\n", ";", "\n;\n"]),
            prop::collection::vec((statement(flavor), end), 1..8),
            any::<bool>(),
        )
            .prop_map(move |(bom, leading, statements, final_semicolon)| {
                let mut source = if flavor.postgres_only && bom {
                    "\u{feff}".to_string()
                } else {
                    String::new()
                };
                source += &leading;
                let count = statements.len();
                for (index, (statement, (before, extra, after))) in statements.iter().enumerate() {
                    source += statement;
                    source += before;
                    if index + 1 < count || final_semicolon {
                        source += ";";
                        source += extra;
                    }
                    source += after;
                }
                File {
                    source,
                    statements: statements
                        .into_iter()
                        .map(|(statement, _)| statement)
                        .collect(),
                }
            })
            .boxed()
    }
}

/// A model of the Supabase CLI's splitter (`pkg/parser`: `state.go` and `token.go`), kept
/// close to the Go code, quirks included: each state's `Next` returns the next state, or
/// `None` (Go's `nil`) to emit the token read so far.
mod cli {
    use super::cli_trim;

    #[derive(Clone, Debug)]
    enum State {
        Ready,
        /// After one `-`.
        Comment,
        /// After `/`, then inside `/* */` with its depth.
        Block {
            depth: usize,
        },
        Quote {
            delimiter: char,
            escape: bool,
        },
        /// Inside `$tag$ … $tag$`, and inside a `--` comment with `\n` as the delimiter.
        Dollar {
            delimiter: Vec<u8>,
        },
        /// After `$`, reading a tag that starts at `offset`.
        Tag {
            offset: usize,
        },
        /// After `\`, which escapes the next character.
        Escape,
        /// Inside `( … )` or `BEGIN ATOMIC … END`, tracking the state within.
        Atomic {
            prev: Box<State>,
            delimiter: &'static [u8],
        },
    }

    /// Go's `unicode.IsLetter` is category L and `unicode.IsDigit` category Nd; Rust's
    /// `is_alphabetic` and `is_numeric` are wider (Nl, No, some marks), which only matters
    /// for characters the generators never produce.
    fn is_letter_or_digit(r: char) -> bool {
        r.is_alphabetic() || r.is_numeric()
    }

    fn is_identifier_rune(r: char) -> bool {
        is_letter_or_digit(r) || r == '_' || r == '$'
    }

    fn last_rune(data: &[u8]) -> char {
        std::str::from_utf8(data)
            .ok()
            .and_then(|text| text.chars().next_back())
            .unwrap_or('\u{fffd}')
    }

    fn is_begin_atomic(data: &[u8]) -> bool {
        let Some(offset) = data.len().checked_sub(6) else {
            return false;
        };
        if !data[offset..].eq_ignore_ascii_case(b"ATOMIC") {
            return false;
        }
        if offset > 0 && is_identifier_rune(last_rune(&data[..offset])) {
            return false;
        }
        // Only whitespace may stand between BEGIN and ATOMIC.
        let prefix =
            std::str::from_utf8(&data[..offset]).map_or(&[][..], |p| p.trim_end().as_bytes());
        let Some(offset) = prefix.len().checked_sub(5) else {
            return false;
        };
        if !prefix[offset..].eq_ignore_ascii_case(b"BEGIN") {
            return false;
        }
        offset == 0 || !is_identifier_rune(last_rune(&prefix[..offset]))
    }

    fn ready(r: char, data: &[u8]) -> Option<State> {
        Some(match r {
            '$' => State::Tag {
                offset: data.len() - 1,
            },
            '\'' | '"' => State::Quote {
                delimiter: r,
                escape: false,
            },
            '-' => State::Comment,
            '/' => State::Block { depth: 0 },
            '\\' => State::Escape,
            ';' => return None,
            '(' => State::Atomic {
                prev: Box::new(State::Ready),
                delimiter: b")",
            },
            'c' | 'C' if is_begin_atomic(data) => State::Atomic {
                prev: Box::new(State::Ready),
                delimiter: b"END",
            },
            _ => State::Ready,
        })
    }

    impl State {
        fn next(self, r: char, data: &[u8]) -> Option<State> {
            match self {
                State::Ready => ready(r, data),
                State::Comment if r == '-' => Some(State::Dollar {
                    delimiter: b"\n".to_vec(),
                }),
                State::Comment => ready(r, data),
                State::Block { depth } => {
                    let window = &data[data.len() - 2..];
                    if window == b"/*" {
                        return Some(State::Block { depth: depth + 1 });
                    }
                    if depth == 0 {
                        return ready(r, data);
                    }
                    if window == b"*/" && depth == 1 {
                        return Some(State::Ready);
                    }
                    let depth = if window == b"*/" { depth - 1 } else { depth };
                    Some(State::Block { depth })
                }
                State::Quote {
                    delimiter,
                    escape: true,
                } if r != delimiter => ready(r, data),
                State::Quote { delimiter, escape } => Some(State::Quote {
                    delimiter,
                    // A doubled delimiter clears the flag set by the first one.
                    escape: !escape && r == delimiter,
                }),
                State::Dollar { delimiter } if data.ends_with(&delimiter) => Some(State::Ready),
                dollar @ State::Dollar { .. } => Some(dollar),
                State::Tag { offset } if r == '$' => Some(State::Dollar {
                    delimiter: data[offset..].to_vec(),
                }),
                tag @ State::Tag { .. } if is_letter_or_digit(r) || r == '_' => Some(tag),
                State::Tag { .. } => ready(r, data),
                State::Escape => Some(State::Ready),
                State::Atomic {
                    mut prev,
                    delimiter,
                } => {
                    // A `nil` from the inner state leaves it as it was: the `;` doesn't count.
                    if let Some(current) = prev.clone().next(r, data) {
                        *prev = current;
                    }
                    let closes = matches!(*prev, State::Ready)
                        && data.len() >= delimiter.len()
                        && data[data.len() - delimiter.len()..].eq_ignore_ascii_case(delimiter);
                    Some(if closes {
                        State::Ready
                    } else {
                        State::Atomic { prev, delimiter }
                    })
                }
            }
        }
    }

    /// The CLI's `Split`: raw tokens, each ending at an emitting `;` or at the end.
    pub fn tokens(source: &str) -> Vec<&str> {
        let bytes = source.as_bytes();
        let mut tokens = Vec::new();
        let (mut start, mut at) = (0, 0);
        let mut state = State::Ready;
        while at < bytes.len() {
            // ScanToken's loop shadows `width`, so it steps one byte at a time and decodes a
            // rune at every byte: each continuation byte of a character arrives as U+FFFD.
            let (r, end) = match source.get(at..).and_then(|rest| rest.chars().next()) {
                Some(r) => (r, at + r.len_utf8()),
                None => ('\u{fffd}', at + 1),
            };
            match state.next(r, &bytes[start..end]) {
                Some(next) => state = next,
                None => {
                    tokens.push(&source[start..end]);
                    start = end;
                    state = State::Ready;
                }
            }
            at += 1;
        }
        if start < bytes.len() {
            tokens.push(&source[start..]);
        }
        tokens
    }

    /// The CLI's `SplitAndTrim`: what it stores in `schema_migrations.statements`.
    pub fn split_and_trim(source: &str) -> Vec<&str> {
        tokens(source)
            .into_iter()
            .map(cli_trim)
            .filter(|token| !token.is_empty())
            .collect()
    }
}
