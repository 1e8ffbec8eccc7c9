//! Reads what `supabase db push [--dry-run]` printed.
//!
//! The CLI has no machine-readable output for a push, so its lines are the interface
//! (internal/db/push/push.go, pkg/migration/apply.go and file.go, internal/migration/up/up.go):
//!
//! ```text
//! DRY RUN: migrations will *not* be pushed to the database.      (stderr, dry run only)
//! Would push these migrations:                                   (stderr, dry run)
//!  • 20250101000000_first.sql
//! Do you want to push these migrations to the remote database?   (stderr, real push)
//!  • 20250101000000_first.sql
//! Applying migration 20250101000000_first.sql...                 (stderr)
//! Remote database is up to date.                                 (stdout)
//! Finished supabase db push.                                     (stdout)
//! ```
//!
//! A failing statement prints the Postgres error, its detail and hint lines, then
//! `At statement: N` (0-based) and the statement, cut after a caret line under the error
//! position. The whole block is rendered as one lipgloss block: every line is padded with
//! spaces to the widest one and tabs become spaces, so the statement is reproduced with
//! trailing spaces trimmed. Two refusals stop a push before it applies anything:
//! remote versions missing locally, and local files older than the last remote version
//! (which `--include-all` applies).
//!
//! The parser takes stderr and stdout in any interleaving, with or without ANSI colours
//! and with CRLF line ends. The index is the CLI's count of results from its Postgres
//! driver, which is not always the failing statement's: a statement that returns rows and
//! fails while running is reported at the next index (and the next statement's text), and
//! a failure after a comment-only statement at that comment's index.

use std::fmt;
use std::sync::LazyLock;

use regex::Regex;
use serde::Serialize;

const DRY_RUN: &str = "DRY RUN: migrations will *not* be pushed to the database.";
const WOULD_PUSH: &str = "Would push these migrations:";
const FINISHED: &str = "Finished supabase db push.";
const SUGGEST_DEBUG: &str = "Try rerunning the command with --debug to troubleshoot the error.";
const MISSING_LOCAL: &str = "Remote migration versions not found in local migrations directory.";
const MISSING_REMOTE: &str =
    "Found local migration files to be inserted before the last migration on remote database.";
const REPAIR_COMMAND: &str = "supabase migration repair --status reverted";
const INCLUDE_ALL_HINT: &str =
    "Rerun the command with --include-all flag to apply these migrations:";
const HISTORY_INSERT: &str = "INSERT INTO supabase_migrations.schema_migrations(";

static ANSI: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]")
        .expect("valid regex")
});
static CONFIRM: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^Do you want to push these migrations to the (?:remote|local) database\?$")
        .expect("valid regex")
});
static APPLYING: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^Applying migration (.+)\.\.\.$").expect("valid regex"));
static UP_TO_DATE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?:Remote|Local) database is up to date\.$").expect("valid regex")
});
static SKIPPING: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^Skipping migration (.+?)\.\.\. \((.+)\)$").expect("valid regex")
});
static SEVERITY: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?:^|[ (])(?:ERROR|FATAL|PANIC): ").expect("valid regex"));
static SQLSTATE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r" \(SQLSTATE ([0-9A-Z]{5})\)").expect("valid regex"));
/// `At statement: 3` (current) or `At statement 3: <text>` (CLIs before 2023).
static AT_STATEMENT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^At statement(?:: ([0-9]+)$| ([0-9]+):(?: (.*))?$)").expect("valid regex")
});
static CARET: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^( *)\^$").expect("valid regex"));

/// Everything one `supabase db push` run said about the migrations.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PushOutput {
    /// The run was a `--dry-run`.
    pub dry_run: bool,
    /// The file names the CLI listed as to be pushed: `Would push these migrations:` in
    /// a dry run, the confirmation prompt otherwise.
    pub pending: Vec<String>,
    /// The file names of every `Applying migration <file>...` line, in order.
    pub applying: Vec<String>,
    /// `Remote database is up to date.` (or `Local ...`): nothing to push.
    pub up_to_date: bool,
    /// `Finished supabase db push.`: the run completed.
    pub finished: bool,
    /// Files in the migrations directory the CLI skipped, with its reason.
    pub skipped: Vec<SkippedFile>,
    /// The CLI refused to push because of the history's state.
    pub refusal: Option<Refusal>,
    /// The error the run stopped on.
    pub failure: Option<PushFailure>,
}

/// A file the CLI skipped: `Skipping migration <file>... (<reason>)`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SkippedFile {
    pub file: String,
    pub reason: String,
}

/// Why the CLI would not push at all.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Refusal {
    /// `Remote migration versions not found in local migrations directory.`: the history
    /// holds versions no local file has.
    RemoteOnly { versions: Vec<String> },
    /// `Found local migration files to be inserted before the last migration on remote
    /// database.`: unapplied files older than the newest applied version, as the CLI
    /// prints them (`supabase/migrations/<file>`); `--include-all` applies them.
    OutOfOrder { files: Vec<String> },
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::RemoteOnly { versions } => {
                write!(f, "{MISSING_LOCAL} ({})", versions.join(", "))
            }
            Refusal::OutOfOrder { files } => {
                write!(f, "{MISSING_REMOTE} ({})", files.join(", "))
            }
        }
    }
}

/// The error a push stopped on, and where.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PushFailure {
    /// The migration being applied when the error came, if one was.
    pub file: Option<String>,
    /// The server's message, without the severity and SQLSTATE around it.
    pub message: String,
    pub sqlstate: Option<String>,
    /// The lines between the error and `At statement`: Postgres's detail, the CLI's hints.
    pub detail: Vec<String>,
    /// `At statement: N`: 0-based among the file's statements, as the CLI counts them (see
    /// the module docs); one past the last for the history insert.
    pub statement_index: Option<usize>,
    /// The statement as printed: up to the line holding the error position.
    pub statement: Option<String>,
    /// The 1-based column of the caret under the statement's last printed line.
    pub caret_column: Option<usize>,
}

impl PushFailure {
    /// The failing statement is the CLI's own history insert: the file's version is
    /// already recorded (two files share a version, or the row was repaired in).
    pub fn in_history_insert(&self) -> bool {
        self.statement
            .as_deref()
            .is_some_and(|statement| statement.starts_with(HISTORY_INSERT))
    }
}

impl PushOutput {
    /// Parses the captured stderr and stdout of a push, in any order or interleaving.
    pub fn parse(text: &str) -> PushOutput {
        let lines = clean_lines(text);
        let mut output = PushOutput::default();
        // Bullets belong to the list whose header came last: any other line (`Would seed
        // these files:`, say) ends the list of migrations.
        let mut in_pending_list = false;
        let mut at = 0;
        while at < lines.len() {
            let line = lines[at].trim();
            at += 1;
            if let Some(file) = line.strip_prefix("• ") {
                if in_pending_list {
                    output.pending.push(file.trim().to_string());
                }
                continue;
            }
            if line.is_empty() || line.starts_with("[Y/n]") || line.starts_with("[y/N]") {
                continue;
            }
            in_pending_list = false;
            if line == DRY_RUN {
                output.dry_run = true;
            } else if line == WOULD_PUSH || CONFIRM.is_match(line) {
                in_pending_list = true;
                output.pending.clear();
            } else if let Some(parts) = APPLYING.captures(line) {
                output.applying.push(parts[1].to_string());
            } else if UP_TO_DATE.is_match(line) {
                output.up_to_date = true;
            } else if line == FINISHED {
                output.finished = true;
            } else if let Some(parts) = SKIPPING.captures(line) {
                output.skipped.push(SkippedFile {
                    file: parts[1].to_string(),
                    reason: parts[2].to_string(),
                });
            } else if line == MISSING_LOCAL && output.refusal.is_none() {
                at = remote_only(&lines, at, &mut output);
            } else if line == MISSING_REMOTE && output.refusal.is_none() {
                at = out_of_order(&lines, at, &mut output);
            } else if output.failure.is_none() && SEVERITY.is_match(line) {
                at = failure(&lines, at - 1, &mut output);
            }
        }
        output
    }

    /// The files known to be committed: each one the CLI moved on from, and the last one
    /// too when the push finished. A file is one transaction, so the one that was running
    /// when the run stopped is not among them.
    pub fn applied(&self) -> &[String] {
        if self.finished {
            &self.applying
        } else {
            &self.applying[..self.applying.len().saturating_sub(1)]
        }
    }
}

/// ANSI escapes removed, line ends normalised, a carriage return's overwrite applied,
/// trailing padding trimmed.
pub(super) fn clean_lines(text: &str) -> Vec<String> {
    let text = ANSI.replace_all(text, "");
    text.split('\n')
        .map(|line| {
            let line = line.strip_suffix('\r').unwrap_or(line);
            let line = line.rsplit('\r').next().unwrap_or(line);
            line.trim_end().to_string()
        })
        .collect()
}

/// The lines after the refusal's sentence, up to the end of the suggestion that follows.
fn suggestion_lines(lines: &[String], from: usize) -> impl Iterator<Item = (usize, &str)> {
    lines[from..]
        .iter()
        .enumerate()
        .map(move |(offset, line)| (from + offset, line.trim()))
        .take_while(|(_, line)| *line != SUGGEST_DEBUG)
}

fn remote_only(lines: &[String], from: usize, output: &mut PushOutput) -> usize {
    let mut versions = Vec::new();
    let mut next = from;
    for (at, line) in suggestion_lines(lines, from).take(6) {
        if let Some(rest) = line.strip_prefix(REPAIR_COMMAND) {
            versions = rest
                .split_whitespace()
                .filter(|word| word.bytes().all(|b| b.is_ascii_digit()))
                .map(str::to_string)
                .collect();
            next = at + 1;
            break;
        }
    }
    output.refusal = Some(Refusal::RemoteOnly { versions });
    next
}

fn out_of_order(lines: &[String], from: usize, output: &mut PushOutput) -> usize {
    let mut files = Vec::new();
    let mut next = from;
    let mut listing = false;
    for (at, line) in suggestion_lines(lines, from) {
        if listing {
            if line.is_empty() {
                break;
            }
            files.push(line.to_string());
            next = at + 1;
        } else if line == INCLUDE_ALL_HINT {
            listing = true;
            next = at + 1;
        } else if !line.is_empty() || at > from + 2 {
            break;
        }
    }
    output.refusal = Some(Refusal::OutOfOrder { files });
    next
}

/// The failure block starting at `start`; returns the line after it.
fn failure(lines: &[String], start: usize, output: &mut PushOutput) -> usize {
    let first = lines[start].trim();
    let severity = SEVERITY.find(first).expect("caller matched");
    let mut message = first[severity.end()..].to_string();
    let mut at = start + 1;
    // A message may span lines: it ends at its SQLSTATE.
    let mut sqlstate = SQLSTATE
        .captures(&message)
        .map(|parts| parts[1].to_string());
    if sqlstate.is_none() {
        let end = lines[at..]
            .iter()
            .take_while(|line| !is_block_end(line))
            .position(|line| SQLSTATE.is_match(line));
        if let Some(end) = end {
            for line in &lines[at..=at + end] {
                message.push('\n');
                message.push_str(line.trim_end());
            }
            at += end + 1;
            sqlstate = SQLSTATE
                .captures(&message)
                .map(|parts| parts[1].to_string());
        }
    }
    if let Some(found) = SQLSTATE.find(&message) {
        message.truncate(found.start());
    }
    let mut detail = Vec::new();
    let mut statement_index = None;
    let mut statement_lines = Vec::new();
    while at < lines.len() && !is_block_end(&lines[at]) {
        let line = &lines[at];
        at += 1;
        if statement_index.is_none() {
            if let Some(parts) = AT_STATEMENT.captures(line.trim()) {
                let index = parts.get(1).or(parts.get(2)).expect("one index group");
                statement_index = index.as_str().parse().ok();
                if let Some(text) = parts.get(3) {
                    statement_lines.push(text.as_str());
                }
            } else {
                detail.push(line.trim().to_string());
            }
        } else {
            statement_lines.push(line.as_str());
        }
    }
    // The CLI suggests --debug after its error; the block ends there.
    if lines
        .get(at)
        .is_some_and(|line| line.trim() == SUGGEST_DEBUG)
    {
        at += 1;
    }
    while detail.last().is_some_and(String::is_empty) {
        detail.pop();
    }
    while statement_lines.last().is_some_and(|line| line.is_empty()) {
        statement_lines.pop();
    }
    let caret_column = match statement_lines.last().and_then(|line| CARET.captures(line)) {
        Some(parts) if statement_lines.len() > 1 => {
            let column = parts[1].len() + 1;
            statement_lines.pop();
            Some(column)
        }
        _ => None,
    };
    let file = if output.finished {
        None
    } else {
        output.applying.last().cloned()
    };
    output.failure = Some(PushFailure {
        file,
        message,
        sqlstate,
        detail,
        statement: statement_index.map(|_| statement_lines.join("\n")),
        statement_index,
        caret_column,
    });
    at
}

/// A line that cannot belong to a failure block: the suggestion that follows it, or a
/// line of the push's own progress interleaved from the other stream.
fn is_block_end(line: &str) -> bool {
    let line = line.trim();
    line == SUGGEST_DEBUG || line == FINISHED || UP_TO_DATE.is_match(line)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// supabase/cli#1519, in the current `At statement: N` form.
    const FAILED_PUSH: &str = "\
Connecting to remote database...
Do you want to push these migrations to the remote database?
 • 20230901000000_init.sql
 • 20230922120547_add-mytable-new_column.sql

 [Y/n] y
Applying migration 20230901000000_init.sql...
Applying migration 20230922120547_add-mytable-new_column.sql...
ERROR: column \"new_column\" of relation \"mytable\" already exists (SQLSTATE 42701)
At statement: 0                                                                      
-- we test a 'new_column' migration with                                             
alter table \"public\".\"mytable\" add column \"new_column\" boolean not null default true
Try rerunning the command with --debug to troubleshoot the error.
";

    #[test]
    fn a_dry_run_lists_what_would_be_pushed() {
        let output = PushOutput::parse(
            "DRY RUN: migrations will *not* be pushed to the database.\n\
             Connecting to remote database...\n\
             Would push these migrations:\n \
             • 20250101000000_first.sql\n \
             • 20250102000000_second.sql\n\
             Finished supabase db push.\n",
        );
        assert!(output.dry_run && output.finished && !output.up_to_date);
        assert_eq!(
            output.pending,
            ["20250101000000_first.sql", "20250102000000_second.sql"]
        );
        assert!(output.applying.is_empty() && output.applied().is_empty());
        assert_eq!(output.failure, None);
    }

    #[test]
    fn seeds_and_roles_are_not_migrations() {
        let output = PushOutput::parse(
            "DRY RUN: migrations will *not* be pushed to the database.\n\
             Would create custom roles supabase/roles.sql...\n\
             Would push these migrations:\n • 0001_a.sql\n\
             Would seed these files:\n • supabase/seed.sql (hash update)\n\
             Finished supabase db push.\n",
        );
        assert_eq!(output.pending, ["0001_a.sql"]);
    }

    #[test]
    fn up_to_date() {
        for line in [
            "Remote database is up to date.",
            "Local database is up to date.",
        ] {
            let output = PushOutput::parse(&format!("Connecting to remote database...\n{line}\n"));
            assert!(output.up_to_date && !output.finished);
            assert!(output.pending.is_empty());
        }
    }

    #[test]
    fn a_finished_push_applied_every_file() {
        let output = PushOutput::parse(
            "Do you want to push these migrations to the remote database?\n • 0001_a.sql\n • 0002_b.sql\n\n [Y/n] \n\
             Applying migration 0001_a.sql...\nApplying migration 0002_b.sql...\n\
             Finished supabase db push.\n",
        );
        assert!(!output.dry_run);
        assert_eq!(output.pending, ["0001_a.sql", "0002_b.sql"]);
        assert_eq!(output.applied(), ["0001_a.sql", "0002_b.sql"]);
    }

    #[test]
    fn the_failure_block_names_file_statement_and_sqlstate() {
        let output = PushOutput::parse(FAILED_PUSH);
        assert_eq!(output.applied(), ["20230901000000_init.sql"]);
        let failure = output.failure.unwrap();
        assert_eq!(
            failure.file.as_deref(),
            Some("20230922120547_add-mytable-new_column.sql")
        );
        assert_eq!(
            failure.message,
            "column \"new_column\" of relation \"mytable\" already exists"
        );
        assert_eq!(failure.sqlstate.as_deref(), Some("42701"));
        assert_eq!(failure.statement_index, Some(0));
        assert_eq!(
            failure.statement.as_deref(),
            Some(
                "-- we test a 'new_column' migration with\nalter table \"public\".\"mytable\" add column \"new_column\" boolean not null default true"
            )
        );
        assert_eq!(failure.caret_column, None);
        assert!(!failure.in_history_insert());
    }

    #[test]
    fn colours_crlf_and_interleaved_stdout_change_nothing() {
        let coloured = FAILED_PUSH
            .replace(" • 2023", " • \x1b[1m2023")
            .replace(".sql\n", ".sql\x1b[0m\n")
            .replace("ERROR:", "\x1b[91mERROR:")
            .replace("(SQLSTATE 42701)", "(SQLSTATE 42701)\x1b[0m")
            .replace('\n', "\r\n");
        let plain = PushOutput::parse(FAILED_PUSH);
        assert_eq!(PushOutput::parse(&coloured), plain);
        // stdout's lines may land anywhere between stderr's.
        let interleaved = FAILED_PUSH.replacen(
            "Applying migration 2023092",
            "Remote database is up to date.\nApplying migration 2023092",
            1,
        );
        let parsed = PushOutput::parse(&interleaved);
        assert_eq!(parsed.failure, plain.failure);
        assert_eq!(parsed.applied(), plain.applied());
    }

    #[test]
    fn detail_hint_and_caret() {
        // pkg/migration/file.go: detail first, then the 42704 hint, then the statement cut
        // after the caret line; lipgloss pads every line to the widest.
        let output = PushOutput::parse(
            "Applying migration 0001_t.sql...\n\
             ERROR: type \"mytype\" does not exist (SQLSTATE 42704)                      \n\
             \x20                                                                         \n\
             Hint: This type may be defined in a schema that's not in your search_path.\n\
             \x20     Use schema-qualified type references to avoid this error:           \n\
             \x20       CREATE TABLE example (col extensions.mytype);                     \n\
             \x20     Learn more: supabase migration new --help                           \n\
             At statement: 2                                                           \n\
             CREATE TABLE t (                                                          \n\
             \x20 x mytype                                                             \n\
             \x20   ^                                                                  \n\
             Try rerunning the command with --debug to troubleshoot the error.\n",
        );
        let failure = output.failure.unwrap();
        assert_eq!(failure.sqlstate.as_deref(), Some("42704"));
        assert_eq!(failure.message, "type \"mytype\" does not exist");
        assert_eq!(failure.detail.len(), 5);
        assert_eq!(failure.detail[0], "");
        assert!(failure.detail[1].starts_with("Hint: This type"));
        assert_eq!(failure.statement_index, Some(2));
        assert_eq!(
            failure.statement.as_deref(),
            Some("CREATE TABLE t (\n  x mytype")
        );
        assert_eq!(failure.caret_column, Some(5));
    }

    #[test]
    fn a_version_collision_fails_in_the_history_insert() {
        let output = PushOutput::parse(
            "Applying migration 20251125_170356_add_x.sql...\n\
             Applying migration 20251125_180000_add_y.sql...\n\
             ERROR: duplicate key value violates unique constraint \"schema_migrations_pkey\" (SQLSTATE 23505)\n\
             Key (version)=(20251125) already exists.\n\
             At statement: 1\n\
             INSERT INTO supabase_migrations.schema_migrations(version, name, statements) VALUES($1, $2, $3)\n\
             Try rerunning the command with --debug to troubleshoot the error.\n",
        );
        let failure = output.failure.unwrap();
        assert_eq!(failure.file.as_deref(), Some("20251125_180000_add_y.sql"));
        assert_eq!(failure.detail, ["Key (version)=(20251125) already exists."]);
        assert_eq!(failure.statement_index, Some(1));
        assert!(failure.in_history_insert());
    }

    #[test]
    fn the_older_at_statement_form() {
        let output = PushOutput::parse(
            "Applying migration 20230922120547_add-mytable-new_column.sql...\n\
             ERROR: column \"new_column\" of relation \"mytable\" already exists (SQLSTATE 42701)\n\
             At statement 0: -- we test a 'new_column' migration with\n\
             alter table \"public\".\"mytable\" add column \"new_column\" boolean not null default true\n\
             Try rerunning the command with --debug to troubleshoot the error.\n",
        );
        let failure = output.failure.unwrap();
        assert_eq!(failure.statement_index, Some(0));
        assert!(failure.statement.unwrap().starts_with("-- we test"));
    }

    #[test]
    fn an_error_outside_a_migration_has_no_statement() {
        let output = PushOutput::parse(
            "Connecting to remote database...\n\
             failed to connect to `host=db.abcdefghijklmnopqrst.supabase.co user=postgres database=postgres`: failed SASL auth (FATAL: password authentication failed for user \"postgres\" (SQLSTATE 28P01))\n\
             Connect to your database by setting the env var correctly: SUPABASE_DB_PASSWORD\n",
        );
        let failure = output.failure.unwrap();
        assert_eq!(failure.file, None);
        assert_eq!(
            failure.message,
            "password authentication failed for user \"postgres\""
        );
        assert_eq!(failure.sqlstate.as_deref(), Some("28P01"));
        assert_eq!(failure.statement_index, None);
        assert_eq!(failure.statement, None);
    }

    #[test]
    fn refusals_in_the_clis_words() {
        let remote_only = PushOutput::parse(
            "Connecting to remote database...\n\
             Remote migration versions not found in local migrations directory.\n\
             \n\
             Make sure your local git repo is up-to-date. If the error persists, try repairing the migration history table:\n\
             supabase migration repair --status reverted 20240101000000 20240102000000\n\
             \n\
             And update local migrations to match remote database:\n\
             supabase db pull\n\n",
        );
        assert_eq!(
            remote_only.refusal,
            Some(Refusal::RemoteOnly {
                versions: vec!["20240101000000".into(), "20240102000000".into()]
            })
        );
        assert_eq!(remote_only.failure, None);
        let out_of_order = PushOutput::parse(
            "Connecting to remote database...\n\
             Found local migration files to be inserted before the last migration on remote database.\n\
             \n\
             Rerun the command with --include-all flag to apply these migrations:\n\
             supabase/migrations/20240101000000_a.sql           \n\
             supabase/migrations/20240102000000_longer_name.sql\n\
             \n",
        );
        let refusal = out_of_order.refusal.unwrap();
        assert_eq!(
            refusal,
            Refusal::OutOfOrder {
                files: vec![
                    "supabase/migrations/20240101000000_a.sql".into(),
                    "supabase/migrations/20240102000000_longer_name.sql".into()
                ]
            }
        );
        assert!(refusal.to_string().starts_with(MISSING_REMOTE));
    }

    #[test]
    fn skipped_files() {
        let output = PushOutput::parse(
            "Skipping migration .DS_Store... (file name must match pattern \"<timestamp>_name.sql\")\n\
             Skipping migration 20211208000000_init.sql... (replace \"init\" with a different file name to apply this migration)\n\
             Remote database is up to date.\n",
        );
        assert_eq!(output.skipped.len(), 2);
        assert_eq!(output.skipped[0].file, ".DS_Store");
        assert!(output.skipped[1].reason.starts_with("replace \"init\""));
    }

    #[test]
    fn snapshot_of_a_failed_push() {
        insta::assert_json_snapshot!(PushOutput::parse(FAILED_PUSH));
    }
}
