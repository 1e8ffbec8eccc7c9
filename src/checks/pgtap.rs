//! pgTAP tests: every `.sql` file under `supabase/tests` (recursively, in path order), run
//! in the shadow after the migrations, as `supabase test db` runs them with `pg_prove`.
//!
//! Before the first file pgTAP is installed as the Supabase CLI does it
//! (`CREATE EXTENSION IF NOT EXISTS pgtap WITH SCHEMA extensions`), on the shadow's own
//! superuser connection (the tests run on the migration role's, which cannot install
//! it), and removed again after the last file when this module installed it, so that the
//! schema the migrations built is what later checks see. A server without pgTAP gives one
//! failed check that says how to get it.
//!
//! Each file runs statement by statement in a transaction that is always rolled back. The
//! file's own transaction control works inside it: `BEGIN` becomes a savepoint, `COMMIT`
//! releases it and `ROLLBACK` rolls back to it, so a file written as
//! `begin; select plan(2); …; select * from finish(); rollback;` behaves as under psql,
//! and nothing any file does (not even a `COMMIT`) outlives it.
//!
//! Every text value a statement returns is TAP output. Each `ok` / `not ok` line is one
//! [`VerifyCheck`] named `<n> - <description>` at the statement that produced it, its
//! detail the diagnostic (`# …`) lines that follow it; `# SKIP` and `# TODO` tests pass.
//! A plan that does not match the tests that ran, or a file without a plan, is a failed
//! `plan` check; a statement that raises an error is a failed check at its line (where
//! Postgres points) and stops the file, as `pg_prove` (psql with `ON_ERROR_STOP`) does.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio_postgres::SimpleQueryMessage;
use tokio_postgres::error::ErrorPosition;

use crate::db::Database;
use crate::findings::Location;
use crate::findings::span::Span;
use crate::migration::discover::{FileError, read_source};
use crate::report::Report;
use crate::report::model::VerifyCheck;
use crate::sql::classify::{TxRole, tx_role};
use crate::sql::split::split;

/// The savepoint that stands for a test file's own transaction.
const FILE_TRANSACTION: &str = "migration_guard_pgtap";

#[derive(Debug, thiserror::Error)]
pub enum PgTapError {
    #[error("cannot read the pgTAP tests directory {dir}: {source}")]
    Unlistable {
        dir: String,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    File(#[from] FileError),
    #[error("cannot install pgTAP in the shadow: {message}")]
    Install { message: String },
    #[error("lost the database while running the pgTAP tests of {file}: {message}")]
    Lost { file: String, message: String },
    #[error("cannot remove pgTAP from the shadow after the tests: {message}")]
    Uninstall { message: String },
}

/// Runs every pgTAP test file under `dir` on `db` and adds one check per test to
/// `report`; `admin`, a superuser connection to the same database, installs pgTAP.
///
/// A missing directory, or one without `.sql` files, does nothing (not even install
/// pgTAP).
pub async fn run(
    db: &Database,
    admin: &Database,
    dir: &Path,
    report: &mut Report,
) -> Result<(), PgTapError> {
    let files = test_files(dir)?;
    if files.is_empty() {
        return Ok(());
    }
    let mut sources = Vec::with_capacity(files.len());
    for file in files {
        let source: Arc<str> = read_source(&file)?.into();
        report.add_source(&file, source.clone());
        sources.push((file, source));
    }
    let installed = match install(admin).await? {
        Install::Ready(installed) => installed,
        Install::Unavailable { major } => {
            report.verify.push(VerifyCheck {
                file: dir.to_path_buf(),
                check: "pgTAP".to_string(),
                ok: false,
                detail: format!(
                    "pgTAP is not installed in the shadow's Postgres, so the {} test file{} \
                     in {} did not run: use the supabase/postgres image for the shadow \
                     (`--image supabase/postgres:<version>`), or install the \
                     postgresql-{major}-pgtap package where the shadow's Postgres runs",
                    sources.len(),
                    if sources.len() == 1 { "" } else { "s" },
                    dir.display(),
                ),
                location: None,
            });
            return Ok(());
        }
    };
    for (file, source) in &sources {
        tracing::info!("running pgTAP tests {}", file.display());
        let checks = run_file(db, file, source).await?;
        for notice in db.take_notices() {
            tracing::debug!("{}: {notice}", file.display());
        }
        report.verify.extend(checks);
    }
    uninstall(admin, installed).await
}

/// The `.sql` files under `dir`, recursively, sorted by path; none when `dir` is missing.
fn test_files(dir: &Path) -> Result<Vec<PathBuf>, PgTapError> {
    fn walk(dir: &Path, files: &mut Vec<PathBuf>) -> Result<(), PgTapError> {
        let unlistable = |source| PgTapError::Unlistable {
            dir: dir.display().to_string(),
            source,
        };
        for entry in std::fs::read_dir(dir).map_err(unlistable)? {
            let entry = entry.map_err(unlistable)?;
            let path = entry.path();
            let kind = entry.file_type().map_err(unlistable)?;
            // Symbolic links to directories are not followed: no cycles.
            if kind.is_dir() {
                walk(&path, files)?;
            } else if (kind.is_file() || (kind.is_symlink() && path.is_file()))
                && path.extension().is_some_and(|ext| ext == "sql")
            {
                files.push(path);
            }
        }
        Ok(())
    }
    let mut files = Vec::new();
    match std::fs::metadata(dir) {
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(files),
        _ => walk(dir, &mut files)?,
    }
    files.sort();
    Ok(files)
}

/// What installing pgTAP left to undo.
#[derive(Debug, Clone, Copy, Default)]
struct Installed {
    extension: bool,
    schema: bool,
}

enum Install {
    Ready(Installed),
    /// The server has no pgTAP to install; `major` is its major version.
    Unavailable {
        major: i32,
    },
}

/// Makes sure pgTAP is installed; `db` is a superuser connection.
async fn install(db: &Database) -> Result<Install, PgTapError> {
    let failed = |error: tokio_postgres::Error| PgTapError::Install {
        message: describe(&error),
    };
    let row = db
        .client
        .query_one(
            "SELECT EXISTS (SELECT FROM pg_catalog.pg_available_extensions WHERE name = 'pgtap'), \
                    EXISTS (SELECT FROM pg_catalog.pg_extension WHERE extname = 'pgtap'), \
                    EXISTS (SELECT FROM pg_catalog.pg_namespace WHERE nspname = 'extensions'), \
                    current_setting('server_version_num')::int / 10000",
            &[],
        )
        .await
        .map_err(failed)?;
    let (available, present, schema, major): (bool, bool, bool, i32) =
        (row.get(0), row.get(1), row.get(2), row.get(3));
    if present {
        return Ok(Install::Ready(Installed::default()));
    }
    if !available {
        return Ok(Install::Unavailable { major });
    }
    let mut sql = String::from("CREATE SCHEMA IF NOT EXISTS extensions;");
    if !schema {
        // The role the tests run as must reach what the superuser creates.
        sql.push_str("GRANT USAGE ON SCHEMA extensions TO PUBLIC;");
    }
    sql.push_str("CREATE EXTENSION IF NOT EXISTS pgtap WITH SCHEMA extensions;");
    db.client.batch_execute(&sql).await.map_err(failed)?;
    Ok(Install::Ready(Installed {
        extension: true,
        schema: !schema,
    }))
}

/// Removes what [`install`] created, as `supabase test db` does.
async fn uninstall(db: &Database, installed: Installed) -> Result<(), PgTapError> {
    let mut sql = String::new();
    if installed.extension {
        sql.push_str("DROP EXTENSION IF EXISTS pgtap;");
    }
    if installed.schema {
        sql.push_str("DROP SCHEMA IF EXISTS extensions;");
    }
    if sql.is_empty() {
        return Ok(());
    }
    db.client
        .batch_execute(&sql)
        .await
        .map_err(|error| PgTapError::Uninstall {
            message: describe(&error),
        })
}

fn describe(error: &tokio_postgres::Error) -> String {
    match error.as_db_error() {
        Some(db_error) => format!("{} [{}]", db_error.message(), db_error.code().code()),
        None => error.to_string(),
    }
}

/// Runs one test file in a transaction that is rolled back, and returns its checks.
async fn run_file(
    db: &Database,
    file: &Path,
    source: &str,
) -> Result<Vec<VerifyCheck>, PgTapError> {
    let lost = |error: tokio_postgres::Error| PgTapError::Lost {
        file: file.display().to_string(),
        message: error.to_string(),
    };
    let name = file
        .file_name()
        .map_or_else(String::new, |name| name.to_string_lossy().into_owned());
    let split = split(source);
    if let Some(meta) = split.meta_commands.first() {
        return Ok(vec![failed_check(
            file,
            name,
            format!(
                "`{}` is a psql meta-command, not SQL; the file was not run",
                meta.name
            ),
            meta.span.start,
        )]);
    }
    db.client.batch_execute("BEGIN").await.map_err(lost)?;
    let mut tap = Tap::default();
    let mut error = None;
    // Whether the file's own transaction (our savepoint) is open.
    let mut open = false;
    for (index, statement) in split.statements.iter().enumerate() {
        if statement.comment_only {
            continue;
        }
        let text = statement.text(source);
        let at = statement.code_start(source);
        let role = tx_role(text);
        let sql = match (role, open) {
            (TxRole::Begin, false) => format!("SAVEPOINT {FILE_TRANSACTION}"),
            (TxRole::Commit, true) => format!("RELEASE SAVEPOINT {FILE_TRANSACTION}"),
            (TxRole::Abort, true) => format!(
                "ROLLBACK TO SAVEPOINT {FILE_TRANSACTION}; RELEASE SAVEPOINT {FILE_TRANSACTION}"
            ),
            // psql only warns about these: a transaction is (not) in progress.
            (TxRole::Begin, true) | (TxRole::Commit | TxRole::Abort, false) => continue,
            _ => text.to_string(),
        };
        match db.client.simple_query(&sql).await {
            Ok(messages) => {
                if let TxRole::Begin | TxRole::Commit | TxRole::Abort = role {
                    open = !open;
                }
                for message in &messages {
                    if let SimpleQueryMessage::Row(row) = message {
                        for value in (0..row.len()).filter_map(|i| row.get(i)) {
                            tap.feed(value, at);
                        }
                    }
                }
                if tap.bail_out.is_some() {
                    break;
                }
            }
            Err(db_error) => {
                let Some(server) = db_error.as_db_error() else {
                    return Err(lost(db_error));
                };
                let offset = match server.position() {
                    Some(ErrorPosition::Original(position)) if sql == text => {
                        statement.offset_of_position(source, *position as usize)
                    }
                    _ => at,
                };
                error = Some(failed_check(
                    file,
                    format!("{name} (statement {})", index + 1),
                    format!("{} [{}]", server.message(), server.code().code()),
                    offset,
                ));
                break;
            }
        }
    }
    db.client.batch_execute("ROLLBACK").await.map_err(lost)?;
    let stopped = error.is_some();
    let mut checks = tap.checks(file, stopped);
    checks.extend(error);
    Ok(checks)
}

fn location(file: &Path, at: usize) -> Option<Location> {
    Some(Location {
        file: file.to_path_buf(),
        span: Span::new(at, at),
    })
}

fn failed_check(file: &Path, check: String, detail: String, at: usize) -> VerifyCheck {
    VerifyCheck {
        file: file.to_path_buf(),
        check,
        ok: false,
        detail,
        location: location(file, at),
    }
}

/// A TAP directive after a test's description.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Directive {
    Skip(String),
    Todo(String),
}

/// One line of TAP output.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Line<'a> {
    Test {
        passed: bool,
        number: Option<usize>,
        description: String,
        directive: Option<Directive>,
    },
    /// `1..N`, with the reason after `#` when the whole file is skipped.
    Plan {
        count: usize,
        skip: Option<String>,
    },
    /// A `#` line, without the `#` and one space after it.
    Diagnostic(&'a str),
    BailOut(&'a str),
    /// Anything else (a value a statement returned that is not TAP): ignored.
    Other,
}

fn parse_line(line: &str) -> Line<'_> {
    let line = line.trim_end_matches('\r');
    let after = |word: &str| {
        line.strip_prefix(word)
            .filter(|rest| rest.is_empty() || rest.starts_with(char::is_whitespace))
    };
    if let Some((passed, rest)) = after("not ok")
        .map(|rest| (false, rest))
        .or_else(|| after("ok").map(|rest| (true, rest)))
    {
        let rest = rest.trim_start();
        let digits = rest.len() - rest.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        let number = rest[..digits].parse().ok();
        let rest = rest[digits..].trim_start();
        let rest = rest.strip_prefix('-').unwrap_or(rest).trim_start();
        let (description, directive) = split_directive(rest);
        return Line::Test {
            passed,
            number,
            description,
            directive,
        };
    }
    if let Some(rest) = line.strip_prefix("1..") {
        let digits = rest.len() - rest.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        if let Ok(count) = rest[..digits].parse() {
            let tail = rest[digits..].trim();
            if tail.is_empty() || tail.starts_with('#') {
                let skip = tail
                    .strip_prefix('#')
                    .map(|reason| reason.trim().to_string());
                return Line::Plan { count, skip };
            }
        }
    }
    if let Some(rest) = line.strip_prefix('#') {
        return Line::Diagnostic(rest.strip_prefix(' ').unwrap_or(rest));
    }
    if let Some(rest) = line.strip_prefix("Bail out!") {
        return Line::BailOut(rest.trim());
    }
    Line::Other
}

/// Splits `description # SKIP why` at the first unescaped `#` that starts a directive,
/// and unescapes `\#` and `\\` in the description.
fn split_directive(text: &str) -> (String, Option<Directive>) {
    let mut escaped = false;
    let mut cut = None;
    for (at, c) in text.char_indices() {
        match c {
            '\\' if !escaped => {
                escaped = true;
                continue;
            }
            '#' if !escaped => {
                let rest = text[at + 1..].trim_start();
                let word_len = rest
                    .find(|c: char| !c.is_ascii_alphabetic())
                    .unwrap_or(rest.len());
                let word = rest[..word_len].to_ascii_uppercase();
                let reason = || rest[word_len..].trim().to_string();
                if word.starts_with("SKIP") {
                    cut = Some((at, Directive::Skip(reason())));
                } else if word == "TODO" {
                    cut = Some((at, Directive::Todo(reason())));
                }
                if cut.is_some() {
                    break;
                }
            }
            _ => {}
        }
        escaped = false;
    }
    let (description, directive) = match cut {
        Some((at, directive)) => (&text[..at], Some(directive)),
        None => (text, None),
    };
    let description = description
        .trim()
        .replace("\\\\", "\u{0}")
        .replace("\\#", "#")
        .replace('\u{0}', "\\");
    (description, directive)
}

/// A test as its `ok` / `not ok` line and the diagnostics after it said.
#[derive(Debug, Clone, PartialEq, Eq)]
struct TapTest {
    number: usize,
    description: String,
    passed: bool,
    directive: Option<Directive>,
    diagnostics: Vec<String>,
    /// The byte offset of the statement that printed it.
    at: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Plan {
    count: usize,
    skip: Option<String>,
    at: usize,
}

/// The TAP output of one file, fed value by value.
#[derive(Debug, Default)]
struct Tap {
    tests: Vec<TapTest>,
    plan: Option<Plan>,
    /// `finish()`'s "Looks like you planned 3 tests but ran 2", and where.
    miscount: Option<(String, usize)>,
    bail_out: Option<(String, usize)>,
    /// Indented failures and diagnostics of a subtest (`runtests()`), for the test line
    /// that sums the subtest up.
    subtest: Vec<String>,
}

impl Tap {
    /// Reads one value a statement starting at byte `at` returned.
    fn feed(&mut self, output: &str, at: usize) {
        for line in output.lines() {
            if line.starts_with(char::is_whitespace) {
                let inner = line.trim();
                if inner.starts_with("not ok") || inner.starts_with('#') {
                    self.subtest.push(inner.to_string());
                }
                continue;
            }
            match parse_line(line) {
                Line::Test {
                    passed,
                    number,
                    description,
                    directive,
                } => {
                    let subtest = std::mem::take(&mut self.subtest);
                    self.tests.push(TapTest {
                        number: number.unwrap_or(self.tests.len() + 1),
                        description,
                        passed,
                        directive,
                        diagnostics: if passed { Vec::new() } else { subtest },
                        at,
                    });
                }
                Line::Plan { count, skip } => self.plan = Some(Plan { count, skip, at }),
                Line::Diagnostic(text) if text.starts_with("Looks like you planned") => {
                    self.miscount = Some((text.to_string(), at));
                }
                // finish()'s summary of the failures already reported one by one.
                Line::Diagnostic(text) if text.starts_with("Looks like you failed") => {}
                Line::Diagnostic(text) => {
                    if let Some(test) = self.tests.last_mut() {
                        test.diagnostics.push(text.to_string());
                    }
                }
                Line::BailOut(reason) => {
                    self.bail_out = Some((reason.to_string(), at));
                    return;
                }
                Line::Other => {}
            }
        }
    }

    /// The checks of `file`: one per test, then what is wrong with the plan unless the
    /// file was `stopped` by an error.
    fn checks(&self, file: &Path, stopped: bool) -> Vec<VerifyCheck> {
        let mut checks: Vec<VerifyCheck> = self
            .tests
            .iter()
            .map(|test| {
                let mut check = test.number.to_string();
                if !test.description.is_empty() {
                    check.push_str(" - ");
                    check.push_str(&test.description);
                }
                let mut detail = Vec::new();
                match &test.directive {
                    Some(Directive::Skip(why)) => check.push_str(&directive(" # SKIP", why)),
                    Some(Directive::Todo(why)) => {
                        check.push_str(&directive(" # TODO", why));
                        if !test.passed {
                            detail.push("not ok, as the TODO expects: does not fail the run");
                        }
                    }
                    None => {}
                }
                detail.extend(test.diagnostics.iter().map(String::as_str));
                VerifyCheck {
                    file: file.to_path_buf(),
                    check,
                    ok: test.passed || test.directive.is_some(),
                    detail: detail.join("\n"),
                    location: location(file, test.at),
                }
            })
            .collect();
        let plan_check = |ok: bool, detail: String, at: Option<usize>| VerifyCheck {
            file: file.to_path_buf(),
            check: "plan".to_string(),
            ok,
            detail,
            location: at.and_then(|at| location(file, at)),
        };
        let ran = self.tests.len();
        if let Some((reason, at)) = &self.bail_out {
            checks.push(VerifyCheck {
                check: "Bail out!".to_string(),
                ..plan_check(false, reason.clone(), Some(*at))
            });
        } else if stopped {
            // The error that stopped the file is its failure; the count says nothing more.
        } else if let Some((text, at)) = &self.miscount {
            checks.push(plan_check(false, text.clone(), Some(*at)));
        } else {
            match &self.plan {
                None => checks.push(plan_check(
                    false,
                    "no plan in the TAP output: start the file with `select plan(<n>);` \
                     (or `select no_plan();` and end it with `select * from finish();`)"
                        .to_string(),
                    None,
                )),
                Some(plan) if plan.count == 0 && ran == 0 => checks.push(plan_check(
                    true,
                    match &plan.skip {
                        Some(reason) if !reason.is_empty() => format!("all skipped: {reason}"),
                        _ => "no tests".to_string(),
                    },
                    Some(plan.at),
                )),
                Some(plan) if plan.count != ran => checks.push(plan_check(
                    false,
                    format!(
                        "Looks like you planned {} test{} but ran {ran}",
                        plan.count,
                        if plan.count == 1 { "" } else { "s" }
                    ),
                    Some(plan.at),
                )),
                Some(_) => {}
            }
        }
        checks
    }
}

fn directive(name: &str, why: &str) -> String {
    if why.is_empty() {
        name.to_string()
    } else {
        format!("{name} {why}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn test_line(passed: bool, number: usize, description: &str) -> Line<'static> {
        Line::Test {
            passed,
            number: Some(number),
            description: description.to_string(),
            directive: None,
        }
    }

    #[test]
    fn test_lines() {
        assert_eq!(
            parse_line("ok 1 - has a table"),
            test_line(true, 1, "has a table")
        );
        assert_eq!(parse_line("not ok 2 - fails"), test_line(false, 2, "fails"));
        assert_eq!(parse_line("ok 3"), test_line(true, 3, ""));
        assert_eq!(parse_line("ok 4 no dash\r"), test_line(true, 4, "no dash"));
        assert_eq!(
            parse_line("ok - unnumbered"),
            Line::Test {
                passed: true,
                number: None,
                description: "unnumbered".to_string(),
                directive: None,
            }
        );
        assert_eq!(parse_line("okay"), Line::Other);
        assert_eq!(parse_line("not okay"), Line::Other);
        assert_eq!(parse_line("t"), Line::Other);
        assert_eq!(parse_line(""), Line::Other);
    }

    #[test]
    fn directives() {
        let parsed = |line| match parse_line(line) {
            Line::Test {
                description,
                directive,
                ..
            } => (description, directive),
            other => panic!("{other:?}"),
        };
        // pgTAP's skip(): ok(TRUE) || ' ' || diag('SKIP why').
        assert_eq!(
            parsed("ok 3 # SKIP no network"),
            (
                String::new(),
                Some(Directive::Skip("no network".to_string()))
            )
        );
        assert_eq!(
            parsed("ok 3 # skipped"),
            (String::new(), Some(Directive::Skip(String::new())))
        );
        assert_eq!(
            parsed("not ok 4 - later # TODO not written yet"),
            (
                "later".to_string(),
                Some(Directive::Todo("not written yet".to_string()))
            )
        );
        // A `#` that starts no directive is part of the description; `\#` is unescaped.
        assert_eq!(
            parsed("ok 5 - issue #12 \\# fixed # TODO why"),
            (
                "issue #12 # fixed".to_string(),
                Some(Directive::Todo("why".to_string()))
            )
        );
        assert_eq!(
            parsed("ok 6 - escaped \\# SKIP is not one"),
            ("escaped # SKIP is not one".to_string(), None)
        );
        assert_eq!(parsed("ok 7 - # todos"), ("# todos".to_string(), None));
    }

    #[test]
    fn plans_diagnostics_and_bail_out() {
        assert_eq!(
            parse_line("1..3"),
            Line::Plan {
                count: 3,
                skip: None
            }
        );
        assert_eq!(
            parse_line("1..0 # Skipped: no auth schema"),
            Line::Plan {
                count: 0,
                skip: Some("Skipped: no auth schema".to_string())
            }
        );
        assert_eq!(parse_line("1..x"), Line::Other);
        assert_eq!(parse_line("1..3 tests"), Line::Other);
        assert_eq!(
            parse_line("#         have: 1"),
            Line::Diagnostic("        have: 1")
        );
        assert_eq!(parse_line("#"), Line::Diagnostic(""));
        assert_eq!(parse_line("Bail out! no db"), Line::BailOut("no db"));
    }

    fn tap(values: &[(&str, usize)]) -> Vec<VerifyCheck> {
        let mut tap = Tap::default();
        for (value, at) in values {
            tap.feed(value, *at);
        }
        tap.checks(Path::new("t.sql"), false)
    }

    fn summary(checks: &[VerifyCheck]) -> Vec<(&str, bool, &str, Option<usize>)> {
        checks
            .iter()
            .map(|check| {
                (
                    check.check.as_str(),
                    check.ok,
                    check.detail.as_str(),
                    check.location.as_ref().map(|l| l.span.start),
                )
            })
            .collect()
    }

    #[test]
    fn one_check_per_test_with_the_diagnostics_that_follow() {
        let checks = tap(&[
            ("1..3", 0),
            ("ok 1 - passes", 10),
            (
                "not ok 2 - fails\n# Failed test 2: \"fails\"\n#         have: 1\n#         want: 2",
                20,
            ),
            ("# said by diag()", 30),
            ("ignored: not TAP", 35),
            ("ok 3 - last", 40),
            ("# Looks like you failed 1 test of 3", 50),
        ]);
        assert_eq!(
            summary(&checks),
            [
                ("1 - passes", true, "", Some(10)),
                (
                    "2 - fails",
                    false,
                    "Failed test 2: \"fails\"\n        have: 1\n        want: 2\nsaid by diag()",
                    Some(20)
                ),
                ("3 - last", true, "", Some(40)),
            ]
        );
    }

    #[test]
    fn skip_and_todo_pass() {
        let checks = tap(&[
            ("1..3", 0),
            ("ok 1 # SKIP no network\nok 2 # SKIP no network", 5),
            (
                "not ok 3 - later # TODO not yet\n# Failed (TODO) test 3: \"later\"",
                9,
            ),
        ]);
        assert_eq!(
            summary(&checks),
            [
                ("1 # SKIP no network", true, "", Some(5)),
                ("2 # SKIP no network", true, "", Some(5)),
                (
                    "3 - later # TODO not yet",
                    true,
                    "not ok, as the TODO expects: does not fail the run\n\
                     Failed (TODO) test 3: \"later\"",
                    Some(9)
                ),
            ]
        );
    }

    #[test]
    fn plan_mismatches() {
        // finish() says it.
        let checks = tap(&[
            ("1..3", 0),
            ("ok 1", 5),
            ("ok 2", 6),
            ("# Looks like you planned 3 tests but ran 2", 7),
        ]);
        assert_eq!(
            summary(&checks)[2],
            (
                "plan",
                false,
                "Looks like you planned 3 tests but ran 2",
                Some(7)
            )
        );
        // No finish(): counted here, at the plan.
        let checks = tap(&[("1..1", 3), ("ok 1", 5), ("ok 2", 6)]);
        assert_eq!(
            summary(&checks)[2],
            (
                "plan",
                false,
                "Looks like you planned 1 test but ran 2",
                Some(3)
            )
        );
        // no_plan() + finish(): the plan comes last.
        let checks = tap(&[("ok 1", 5), ("ok 2", 6), ("1..2", 7)]);
        assert_eq!(checks.len(), 2);
        // No plan at all.
        let checks = tap(&[("ok 1", 5)]);
        assert_eq!(checks[1].check, "plan");
        assert!(!checks[1].ok);
        assert!(checks[1].detail.starts_with("no plan"));
        assert!(tap(&[])[0].detail.starts_with("no plan"));
        // Skipping everything passes.
        let checks = tap(&[("1..0 # Skipped: no auth schema", 2)]);
        assert_eq!(
            summary(&checks),
            [(
                "plan",
                true,
                "all skipped: Skipped: no auth schema",
                Some(2)
            )]
        );
    }

    #[test]
    fn a_stopped_file_has_no_plan_check() {
        let mut tap = Tap::default();
        tap.feed("1..3", 0);
        tap.feed("ok 1", 4);
        assert_eq!(tap.checks(Path::new("t.sql"), true).len(), 1);
    }

    #[test]
    fn bail_out_fails_and_replaces_the_plan_check() {
        let mut tap = Tap::default();
        tap.feed("1..3", 0);
        tap.feed("ok 1\nBail out! the schema is missing\nok 2", 4);
        assert!(tap.bail_out.is_some());
        assert_eq!(
            summary(&tap.checks(Path::new("t.sql"), false)),
            [
                ("1", true, "", Some(4)),
                ("Bail out!", false, "the schema is missing", Some(4)),
            ]
        );
    }

    #[test]
    fn a_subtests_failures_go_to_the_test_that_sums_it_up() {
        let checks = tap(&[
            ("1..2", 0),
            (
                "    # Subtest: public.test_a()\n    ok 1 - fine\n    not ok 2 - broken\n    # Failed test 2: \"broken\"\n    1..2",
                5,
            ),
            ("not ok 1 - public.test_a", 5),
            (
                "    # Subtest: public.test_b()\n    ok 1 - fine\n    1..1",
                5,
            ),
            ("ok 2 - public.test_b", 5),
        ]);
        assert_eq!(
            summary(&checks),
            [
                (
                    "1 - public.test_a",
                    false,
                    "# Subtest: public.test_a()\nnot ok 2 - broken\n# Failed test 2: \"broken\"",
                    Some(5)
                ),
                ("2 - public.test_b", true, "", Some(5)),
            ]
        );
    }
}
