//! The linter never panics, whatever the SQL: statements built from keywords, names and
//! punctuation in random order (the shapes rules index into), ASCII or not, over two
//! files so the cross-file schema is exercised too, and its spans land on character
//! boundaries; nor on random bytes, where the text report stays
//! linear in its input; and the configuration loader never panics on random YAML.

use std::path::PathBuf;
use std::sync::Arc;

use migration_guard::config::Config;
use migration_guard::lint::lint;
use migration_guard::migration::{Discovery, MigrationFile};
use migration_guard::sql::split::split;
use proptest::prelude::*;

const PIECES: &[&str] = &[
    "ALTER",
    "TABLE",
    "ADD",
    "COLUMN",
    "DROP",
    "CONSTRAINT",
    "UNIQUE",
    "PRIMARY",
    "KEY",
    "FOREIGN",
    "REFERENCES",
    "CHECK",
    "NOT",
    "NULL",
    "DEFAULT",
    "VALID",
    "VALIDATE",
    "USING",
    "INDEX",
    "CREATE",
    "CONCURRENTLY",
    "IF",
    "EXISTS",
    "ON",
    "ONLY",
    "CONFLICT",
    "DO",
    "NOTHING",
    "UPDATE",
    "SET",
    "DELETE",
    "FROM",
    "WHERE",
    "INSERT",
    "INTO",
    "VALUES",
    "TRUNCATE",
    "RENAME",
    "TO",
    "TYPE",
    "VALUE",
    "SCHEMA",
    "POLICY",
    "TRIGGER",
    "FUNCTION",
    "OR",
    "REPLACE",
    "BEGIN",
    "COMMIT",
    "lock_timeout",
    "statement_timeout",
    "json",
    "jsonb",
    "serial",
    "now()",
    "random()",
    "t",
    "public.t",
    "\"Q\"",
    "c",
    "1",
    "'x'",
    "(",
    ")",
    ",",
    ".",
    "=",
    "*",
    "$$ body $$",
    "'https://abcdefghijklmnopqrst.supabase.co'",
    "DO",
    "$$ BEGIN DROP TABLE t; IF x THEN DELETE FROM t; END IF; END $$",
    "$$ DECLARE r record; BEGIN <<l>> FOR r IN SELECT 1 LOOP EXECUTE 'DROP VIEW v'; END LOOP; END $$",
    "EXECUTE",
    "'ALTER TABLE t DROP COLUMN c'",
    "LANGUAGE",
    "plpgsql",
    "$x$",
    // Not ASCII: names, literals, comments and dollar tags whose characters are
    // several bytes long, so that every span must land on a character boundary.
    "naïve",
    "\"Ünïcødé\"",
    "'日本語のテキスト'",
    "-- commentaire: é\n",
    "/* 😀 */",
    "$é$ corps $é$",
    "tablé",
    "'ß'",
];

fn statement() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(PIECES), 0..14).prop_map(|words| words.join(" "))
}

fn file() -> impl Strategy<Value = String> {
    prop::collection::vec(statement(), 1..6).prop_map(|statements| statements.join(";\n") + ";\n")
}

fn migration(version: &str, source: String) -> MigrationFile {
    MigrationFile {
        path: PathBuf::from(format!("{version}_fuzz.sql")),
        file_name: format!("{version}_fuzz.sql"),
        version: version.to_string(),
        name: "fuzz".to_string(),
        split: split(&source),
        source: Arc::from(source),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1500))]

    #[test]
    fn lint_never_panics(first in file(), second in file()) {
        let discovery = Discovery {
            dir: PathBuf::from("."),
            migrations: vec![migration("0001", first), migration("0002", second)],
            skipped: Vec::new(),
            collisions: Vec::new(),
        };
        let findings = lint(&discovery, &Config::default());
        for finding in findings {
            let location = finding.location.expect("every finding has a place");
            let source = &discovery
                .migrations
                .iter()
                .find(|m| m.path == location.file)
                .expect("a finding's file is one of the migrations")
                .source;
            let span = location.span;
            prop_assert!(span.start <= span.end && span.end <= source.len());
            prop_assert!(
                source.is_char_boundary(span.start) && source.is_char_boundary(span.end),
                "{span:?} cuts a character of {source:?}"
            );
        }
    }
}

/// A few YAML shapes the configuration loader must refuse or take, never panic on.
const YAML: &[&str] = &[
    "rules:",
    "ignore:",
    "baseline:",
    "migrations_dir:",
    "\n",
    "  ",
    "- ",
    "no-drop-table",
    ": ",
    "off",
    "error",
    "warning",
    "info",
    "'",
    "\"",
    "[",
    "]",
    "{",
    "}",
    "*",
    "&a",
    "*a",
    "20240101",
    "~",
    "!!str",
    "#",
    ",",
    "?",
    "|",
    ">",
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    #[test]
    fn random_bytes_never_panic_and_the_text_stays_linear(bytes in prop::collection::vec(any::<u8>(), 0..4000)) {
        let source = String::from_utf8_lossy(&bytes).into_owned();
        let length = source.len();
        let discovery = Discovery {
            dir: PathBuf::from("."),
            migrations: vec![migration("0001", source)],
            skipped: Vec::new(),
            collisions: Vec::new(),
        };
        let findings = lint(&discovery, &Config::default());
        let mut report = migration_guard::report::Report::of_files(
            migration_guard::report::CommandName::Lint,
            &discovery,
        );
        report.findings = findings;
        let text = migration_guard::report::text::render(&report);
        // A window of a line, carets and help per finding, and the file list.
        prop_assert!(text.len() <= 2_000 * (report.findings.len() + 1) + 4 * length);
    }

    #[test]
    fn random_yaml_never_panics_the_configuration(pieces in prop::collection::vec(prop::sample::select(YAML), 0..40)) {
        let _ = Config::parse(&pieces.concat(), PathBuf::from("fuzz.yml"));
    }
}
