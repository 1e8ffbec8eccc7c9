//! `migration-guard deploy --db-url`: two real databases as staging and production,
//! through the real binary. What a deploy applies, what it refuses, and what it leaves
//! behind when a migration fails, a lock is taken or the connection dies; and that the
//! password never appears in anything it prints.

use crate::common;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{PgServer, Project};
use serde_json::Value;

/// How the deploy reaches the target: directly (`--db-url`), or through the Supabase
/// CLI (the stand-in executable, playing the CLI against the same real databases).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Way {
    Direct,
    Cli,
}

struct Env {
    server: PgServer,
    project: Project,
    way: Way,
}

fn env() -> Env {
    let server = PgServer::start();
    server.psql("CREATE DATABASE staging");
    server.psql("CREATE DATABASE production");
    let project = Project::new();
    project.file(
        "20250101000000_notes.sql",
        "CREATE TABLE IF NOT EXISTS notes (id bigint PRIMARY KEY, body text);\n",
    );
    project.file(
        "20250102000000_tags.sql",
        "ALTER TABLE notes ADD COLUMN IF NOT EXISTS tags text[] DEFAULT '{}';\n",
    );
    Env {
        server,
        project,
        way: Way::Direct,
    }
}

/// The project of `way`: `migrations/` for a direct deploy, a Supabase project folder
/// (`supabase/migrations`) for the CLI.
fn env_for(way: Way) -> Env {
    match way {
        Way::Direct => env(),
        Way::Cli => through_the_cli::cli_env(),
    }
}

impl Env {
    /// Where the migration files are, relative to the project.
    fn migrations(&self) -> &'static str {
        match self.way {
            Way::Direct => "migrations",
            Way::Cli => "supabase/migrations",
        }
    }

    fn write(&self, name: &str, sql: &str) {
        let path = self.project.path().join(self.migrations()).join(name);
        std::fs::write(path, sql).unwrap();
    }

    /// Deploys to staging the way of this environment.
    fn deploy_staging(&self, args: &[&str]) -> (i32, Value, String) {
        match self.way {
            Way::Direct => {
                let args: Vec<&str> = ["--target", "staging"]
                    .iter()
                    .chain(args)
                    .copied()
                    .collect();
                self.deploy("staging", &args)
            }
            Way::Cli => through_the_cli::deploy(self, args),
        }
    }

    fn command(&self, database: &str, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_migration-guard"));
        command
            .current_dir(self.project.path())
            .env_remove("GITHUB_EVENT_NAME")
            .env_remove("RUST_LOG")
            .env("NO_COLOR", "1")
            .env("MIGRATION_GUARD_DB_URL", self.server.url_for(database))
            // Production watches the target for two minutes by default.
            .env("MIGRATION_GUARD_WATCH", "0")
            .args(["deploy", "--format", "json", "--dir", "migrations"])
            .args(args)
            .stdin(Stdio::null());
        command
    }

    /// Runs a deploy to `database` and returns (exit code, report, stderr), checking
    /// that the password is nowhere in what it printed.
    fn deploy(&self, database: &str, args: &[&str]) -> (i32, Value, String) {
        let output = self.command(database, args).output().unwrap();
        self.finish(output)
    }

    fn spawn(&self, database: &str, args: &[&str]) -> Child {
        self.command(database, args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    }

    fn finish(&self, output: std::process::Output) -> (i32, Value, String) {
        let stdout = String::from_utf8(output.stdout).unwrap();
        let stderr = String::from_utf8(output.stderr).unwrap();
        for text in [&stdout, &stderr] {
            assert!(
                !text.contains(&self.server.password),
                "the password was printed:\n{text}"
            );
        }
        let report = serde_json::from_str(&stdout).unwrap_or_else(|_| panic!("{stdout}\n{stderr}"));
        (output.status.code().unwrap(), report, stderr)
    }

    /// Runs `sql` in `database` from another session, in the background, once it has
    /// had time to take its locks.
    fn hold(&self, database: &str, sql: &str) -> Child {
        let holder = Command::new("psql")
            .args(["-X", "-q", &self.server.url_for(database), "-c", sql])
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(500));
        holder
    }

    fn history(&self, database: &str) -> Vec<String> {
        self.server
            .psql_in(
                database,
                "SELECT version FROM supabase_migrations.schema_migrations ORDER BY version",
            )
            .lines()
            .map(str::to_string)
            .collect()
    }

    fn table_exists(&self, database: &str, table: &str) -> bool {
        self.server.psql_in(
            database,
            &format!("SELECT to_regclass('{table}') IS NOT NULL"),
        ) == "t"
    }
}

/// (version, status) of every migration in the report.
fn statuses(report: &Value) -> Vec<(String, String)> {
    report["migrations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["version"].as_str().unwrap().to_string(),
                m["status"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn pairs(expected: &[(&str, &str)]) -> Vec<(String, String)> {
    expected
        .iter()
        .map(|(v, s)| (v.to_string(), s.to_string()))
        .collect()
}

fn rules(report: &Value) -> Vec<String> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule"].as_str().unwrap().to_string())
        .collect()
}

/// The tests both ways of deploying must pass, run for each.
macro_rules! both_ways {
    ($($test:ident),* $(,)?) => {
        mod direct {
            $(#[test]
            fn $test() {
                super::$test(super::Way::Direct);
            })*
        }
        mod cli {
            $(#[test]
            fn $test() {
                super::$test(super::Way::Cli);
            })*
        }
    };
}

both_ways!(
    first_deploy_applies_all_the_second_nothing_then_a_new_one_alone,
    an_out_of_order_file_is_refused_then_applied_with_include_all,
    a_failing_migration_rolls_back_whole_and_leaves_the_earlier_ones,
);

fn first_deploy_applies_all_the_second_nothing_then_a_new_one_alone(way: Way) {
    let env = env_for(way);
    let (code, report, _) = env.deploy_staging(&["--dry-run"]);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(
        statuses(&report),
        pairs(&[("20250101000000", "pending"), ("20250102000000", "pending")])
    );
    assert!(
        !env.table_exists("staging", "notes"),
        "a dry run applies nothing"
    );

    let (code, report, _) = env.deploy_staging(&[]);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(
        statuses(&report),
        pairs(&[("20250101000000", "applied"), ("20250102000000", "applied")])
    );
    if way == Way::Direct {
        assert_eq!(report["postgres"]["provider"], "direct");
    }
    assert_eq!(env.history("staging"), ["20250101000000", "20250102000000"]);
    // Production is another database: untouched.
    assert!(!env.table_exists("production", "notes"));

    let (code, report, _) = env.deploy_staging(&[]);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(
        statuses(&report),
        pairs(&[
            ("20250101000000", "already-applied"),
            ("20250102000000", "already-applied")
        ])
    );
    assert!(
        report["notes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n.as_str().unwrap().contains("up to date")),
        "{report:#}"
    );

    env.write(
        "20250103000000_pinned.sql",
        "ALTER TABLE notes ADD COLUMN IF NOT EXISTS pinned boolean DEFAULT false;\n",
    );
    let (code, report, _) = env.deploy_staging(&[]);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(
        statuses(&report),
        pairs(&[
            ("20250101000000", "already-applied"),
            ("20250102000000", "already-applied"),
            ("20250103000000", "applied")
        ])
    );
    // The history row is the CLI's: version, name and the statements.
    assert_eq!(
        env.server.psql_in(
            "staging",
            "SELECT name || ' ' || array_length(statements, 1) FROM supabase_migrations.schema_migrations WHERE version = '20250103000000'"
        ),
        "pinned 1"
    );
}

fn an_out_of_order_file_is_refused_then_applied_with_include_all(way: Way) {
    let env = env_for(way);
    let (code, report, _) = env.deploy_staging(&[]);
    assert_eq!(code, 0, "{report:#}");
    env.write(
        "20241231000000_early.sql",
        "CREATE TABLE IF NOT EXISTS early (id int);\n",
    );

    let (code, report, _) = env.deploy_staging(&[]);
    assert_eq!(code, 1, "{report:#}");
    assert_eq!(rules(&report), ["out-of-order"]);
    assert_eq!(
        report["findings"][0]["file"],
        format!("{}/20241231000000_early.sql", env.migrations())
    );
    assert!(!env.table_exists("staging", "early"));

    let (code, report, _) = env.deploy_staging(&["--include-all"]);
    assert_eq!(code, 0, "{report:#}");
    assert!(env.table_exists("staging", "early"));
    assert_eq!(
        env.history("staging"),
        ["20241231000000", "20250101000000", "20250102000000"]
    );
}

fn a_failing_migration_rolls_back_whole_and_leaves_the_earlier_ones(way: Way) {
    let env = env_for(way);
    env.write(
        "20250103000000_broken.sql",
        "CREATE TABLE IF NOT EXISTS half (id int);\nINSERT INTO half VALUES (1);\nALTER TABLE notes ADD COLUMN IF NOT EXISTS n int REFERENCES nowhere (id);\n",
    );
    env.write(
        "20250104000000_after.sql",
        "CREATE TABLE IF NOT EXISTS after_broken (id int);\n",
    );
    let (code, report, _) = env.deploy_staging(&[]);
    assert_eq!(code, 1, "{report:#}");
    assert_eq!(
        statuses(&report),
        pairs(&[
            ("20250101000000", "applied"),
            ("20250102000000", "applied"),
            ("20250103000000", "failed"),
            ("20250104000000", "skipped")
        ])
    );
    // Located in its file.
    let error = &report["migrations"][2]["error"];
    assert_eq!(error["sqlstate"], "42P01", "{error:#}");
    assert_eq!(error["line"], 3, "{error:#}");
    // Nothing of the failed file, its history row included; nothing after it.
    assert!(!env.table_exists("staging", "half"));
    assert!(!env.table_exists("staging", "after_broken"));
    assert_eq!(env.history("staging"), ["20250101000000", "20250102000000"]);
}

#[test]
fn an_applied_migration_edited_since_is_reported_and_nothing_applied() {
    let env = env();
    let (code, _, _) = env.deploy("staging", &["--target", "staging"]);
    assert_eq!(code, 0);
    env.project.file(
        "20250102000000_tags.sql",
        "-- a comment is no edit\nALTER TABLE notes ADD COLUMN IF NOT EXISTS tags text[] DEFAULT '{}';\n",
    );
    let (code, report, _) = env.deploy("staging", &["--target", "staging"]);
    assert_eq!(code, 0, "{report:#}");

    env.project.file(
        "20250102000000_tags.sql",
        "ALTER TABLE notes ADD COLUMN IF NOT EXISTS tags jsonb;\n",
    );
    env.project.file(
        "20250103000000_more.sql",
        "CREATE TABLE IF NOT EXISTS more (id int);\n",
    );
    let (code, report, _) = env.deploy("staging", &["--target", "staging"]);
    assert_eq!(code, 1, "{report:#}");
    assert_eq!(rules(&report), ["migration-edited"]);
    assert_eq!(
        report["findings"][0]["file"],
        "migrations/20250102000000_tags.sql"
    );
    assert!(!env.table_exists("staging", "more"), "nothing is applied");
}

#[test]
fn a_version_only_the_target_has_is_refused_with_the_repair_command() {
    let env = env();
    let (code, _, _) = env.deploy("staging", &["--target", "staging"]);
    assert_eq!(code, 0);
    std::fs::remove_file(env.project.migrations().join("20250102000000_tags.sql")).unwrap();
    let (code, report, _) = env.deploy("staging", &["--target", "staging"]);
    assert_eq!(code, 1, "{report:#}");
    assert_eq!(rules(&report), ["remote-only-version"]);
    assert!(
        report["findings"][0]["help"]
            .as_str()
            .unwrap()
            .contains("supabase migration repair --status reverted 20250102000000")
    );
}

#[test]
fn production_needs_a_confirmation_and_pull_requests_never_deploy() {
    let env = env();
    let (code, report, _) = env.deploy("production", &["--target", "production"]);
    assert_eq!(code, 1, "{report:#}");
    assert_eq!(rules(&report), ["deploy-refused"]);
    assert!(!env.table_exists("production", "notes"));

    let (code, report, _) = env.deploy("production", &["--target", "production", "--yes"]);
    assert_eq!(code, 0, "{report:#}");
    assert!(env.table_exists("production", "notes"));

    // The schema as it was before each production deploy is kept.
    env.project.file(
        "20250103000000_pinned.sql",
        "ALTER TABLE notes ADD COLUMN IF NOT EXISTS pinned boolean DEFAULT false;\n",
    );
    let reports = tempfile::tempdir().unwrap();
    let (code, report, _) = env.deploy(
        "production",
        &[
            "--target",
            "production",
            "--yes",
            "--report-dir",
            reports.path().to_str().unwrap(),
        ],
    );
    assert_eq!(code, 0, "{report:#}");
    let backups: Vec<_> = std::fs::read_dir(reports.path())
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.to_string_lossy().contains("production-schema-"))
        .collect();
    assert_eq!(backups.len(), 1, "{report:#}");
    let backup = std::fs::read_to_string(&backups[0]).unwrap();
    assert!(backup.contains("CREATE TABLE public.notes"), "{backup}");
    assert!(!backup.contains("pinned"), "taken before the deploy");
    assert!(!backup.contains("INSERT INTO"), "schema only");
    assert!(reports.path().join("report.json").is_file());

    for event in ["pull_request", "pull_request_target"] {
        let output = env
            .command("staging", &["--target", "staging"])
            .env("GITHUB_EVENT_NAME", event)
            // Refused before connecting: even an unreachable target is not an error.
            .env("MIGRATION_GUARD_DB_URL", "postgresql://u:pw@127.0.0.1:1/db")
            .output()
            .unwrap();
        let (code, report, _) = env.finish(output);
        assert_eq!(code, 1, "{report:#}");
        assert_eq!(rules(&report), ["deploy-refused"]);
        assert!(!env.table_exists("staging", "notes"));
    }
}

#[test]
fn two_deploys_at_once_run_one_after_the_other() {
    let env = env();
    env.project.file(
        "20250103000000_slow.sql",
        "CREATE TABLE IF NOT EXISTS slow (id int);\nSELECT pg_sleep(1.5);\n",
    );
    let first = env.spawn("staging", &["--target", "staging"]);
    let second = env.spawn("staging", &["--target", "staging"]);
    let (code_a, report_a, stderr_a) = env.finish(first.wait_with_output().unwrap());
    let (code_b, report_b, stderr_b) = env.finish(second.wait_with_output().unwrap());
    assert_eq!((code_a, code_b), (0, 0), "{report_a:#}\n{report_b:#}");
    let applied = |report: &Value| {
        statuses(report)
            .iter()
            .filter(|(_, status)| status == "applied")
            .count()
    };
    // One applied everything; the other waited, then found nothing left to do.
    let mut counts = [applied(&report_a), applied(&report_b)];
    counts.sort();
    assert_eq!(counts, [0, 3]);
    assert!(
        format!("{stderr_a}{stderr_b}").contains("another deploy is running"),
        "{stderr_a}\n{stderr_b}"
    );
    assert_eq!(env.history("staging").len(), 3);
}

#[test]
fn a_connection_killed_mid_migration_leaves_nothing_of_it() {
    let env = env();
    env.project.file(
        "20250103000000_long.sql",
        "CREATE TABLE IF NOT EXISTS long_running (id int);\nSELECT pg_sleep(30);\n",
    );
    let child = env.spawn("staging", &["--target", "staging"]);
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let killed = env.server.psql(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity \
             WHERE application_name = 'migration-guard deploy' AND query LIKE '%pg_sleep(30)%'",
        );
        if killed == "1" {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the long migration never started"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let (code, report, _) = env.finish(child.wait_with_output().unwrap());
    assert_eq!(code, 2, "{report:#}");
    assert!(
        report["error"]["message"]
            .as_str()
            .unwrap()
            .contains("connection")
    );
    assert_eq!(
        statuses(&report),
        pairs(&[
            ("20250101000000", "applied"),
            ("20250102000000", "applied"),
            ("20250103000000", "failed")
        ])
    );
    assert!(
        report["migrations"][2]["error"]["message"]
            .as_str()
            .unwrap()
            .contains("rolled back"),
        "{report:#}"
    );
    assert!(!env.table_exists("staging", "long_running"));
    assert_eq!(env.history("staging"), ["20250101000000", "20250102000000"]);
}

#[test]
fn a_migration_that_hits_lock_timeout_is_run_again() {
    let env = env();
    let (code, _, _) = env.deploy("staging", &["--target", "staging"]);
    assert_eq!(code, 0);
    env.project.file(
        "20250103000000_lock.sql",
        "ALTER TABLE notes ADD COLUMN IF NOT EXISTS locked boolean DEFAULT false;\n",
    );
    // A long transaction holds the table for 2.5 s.
    let holder = env.hold(
        "staging",
        "BEGIN; LOCK TABLE notes IN ACCESS SHARE MODE; SELECT pg_sleep(2.5); COMMIT;",
    );
    let (code, report, stderr) = env.deploy(
        "staging",
        &["--target", "staging", "--lock-timeout", "400ms"],
    );
    let _ = { holder }.wait();
    assert_eq!(code, 0, "{report:#}\n{stderr}");
    assert_eq!(statuses(&report)[2].1, "applied");
    assert!(
        report["notes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n.as_str().unwrap().contains("hit lock_timeout")),
        "{report:#}"
    );

    // With no retries left, the lock_timeout is the failure.
    env.project.file(
        "20250104000000_lock_again.sql",
        "ALTER TABLE notes ADD COLUMN IF NOT EXISTS locked_again boolean;\n",
    );
    let holder = env.hold(
        "staging",
        "BEGIN; LOCK TABLE notes IN ACCESS SHARE MODE; SELECT pg_sleep(2); COMMIT;",
    );
    let (code, report, _) = env.deploy(
        "staging",
        &[
            "--target",
            "staging",
            "--lock-timeout",
            "200ms",
            "--retries",
            "0",
        ],
    );
    let _ = { holder }.wait();
    assert_eq!(code, 1, "{report:#}");
    assert_eq!(report["migrations"][3]["error"]["sqlstate"], "55P03");
}

#[test]
fn lock_timeout_escalates_from_one_retry_to_the_next() {
    let env = env();
    let (code, _, _) = env.deploy("staging", &["--target", "staging"]);
    assert_eq!(code, 0);
    env.project.file(
        "20250103000000_lock.sql",
        "ALTER TABLE notes ADD COLUMN IF NOT EXISTS escalated boolean;\n",
    );
    // Held for 2.5 s: the first run gives up after 200 ms, the retry (about 1 s later)
    // would too at 200 ms, but waits up to 10 s.
    let holder = env.hold(
        "staging",
        "BEGIN; LOCK TABLE notes IN ACCESS SHARE MODE; SELECT pg_sleep(2.5); COMMIT;",
    );
    let (code, report, stderr) = env.deploy(
        "staging",
        &[
            "--target",
            "staging",
            "--lock-timeout",
            "200ms,10s",
            "--retries",
            "1",
        ],
    );
    let _ = { holder }.wait();
    assert_eq!(code, 0, "{report:#}\n{stderr}");
    assert_eq!(statuses(&report)[2].1, "applied");
    assert!(stderr.contains("with lock_timeout 10s"), "{stderr}");
}

#[test]
fn a_table_is_analyzed_after_a_migration_builds_an_index_on_it() {
    let env = env();
    let (code, _, _) = env.deploy("staging", &["--target", "staging"]);
    assert_eq!(code, 0);
    let analyzed = || {
        env.server.psql_in(
            "staging",
            "SELECT last_analyze IS NOT NULL FROM pg_stat_user_tables WHERE relname = 'notes'",
        )
    };
    assert_eq!(analyzed().trim(), "f");
    env.project.file(
        "20250103000000_index.sql",
        "CREATE INDEX IF NOT EXISTS notes_body_lower ON notes (lower(body));\n",
    );
    let (code, report, _) = env.deploy("staging", &["--target", "staging"]);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(analyzed().trim(), "t");
}

#[test]
fn an_index_left_invalid_by_concurrently_is_an_error_even_when_if_not_exists_skips_it() {
    let env = env();
    let (code, _, _) = env.deploy("staging", &["--target", "staging"]);
    assert_eq!(code, 0);
    env.server.psql_in(
        "staging",
        "INSERT INTO notes (id, body) VALUES (1, 'a'), (2, 'a')",
    );
    env.project.file(
        "20250103000000_unique_body.sql",
        "CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS notes_body_key ON notes (body);\n",
    );
    let (code, report, _) = env.deploy("staging", &["--target", "staging"]);
    assert_eq!(code, 1, "{report:#}");
    assert_eq!(statuses(&report)[2].1, "failed");
    assert_eq!(rules(&report), ["invalid-index"]);

    // Run again: IF NOT EXISTS would skip the invalid index and the file "succeed", its
    // version recorded with no index: refused before it runs, with the exact DROP.
    let (code, report, _) = env.deploy("staging", &["--target", "staging"]);
    assert_eq!(code, 1, "{report:#}");
    assert_eq!(rules(&report), ["invalid-index"]);
    assert_eq!(statuses(&report)[2].1, "skipped", "{report:#}");
    assert_eq!(
        env.history("staging").len(),
        2,
        "the version is not recorded"
    );
    let finding = &report["findings"][0];
    assert!(
        finding["message"]
            .as_str()
            .unwrap()
            .contains("notes_body_key"),
        "{report:#}"
    );
    assert!(
        finding["help"]
            .as_str()
            .unwrap()
            .contains("DROP INDEX CONCURRENTLY public.notes_body_key"),
        "{report:#}"
    );

    // Dropped as told and the duplicate fixed: the file runs and the index is valid.
    env.server
        .psql_in("staging", "DROP INDEX CONCURRENTLY public.notes_body_key");
    env.server
        .psql_in("staging", "UPDATE notes SET body = 'b' WHERE id = 2");
    let (code, report, _) = env.deploy("staging", &["--target", "staging"]);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(env.history("staging").len(), 3);
    assert_eq!(
        env.server.psql_in(
            "staging",
            "SELECT indisvalid FROM pg_index WHERE indexrelid = 'public.notes_body_key'::regclass"
        ),
        "t"
    );
}

#[test]
fn verify_scripts_run_against_the_target() {
    let env = env();
    std::fs::create_dir(env.project.path().join("verify")).unwrap();
    std::fs::write(
        env.project.path().join("verify/checks.sql"),
        "SELECT 'notes has tags' AS check, EXISTS (SELECT FROM information_schema.columns WHERE table_name = 'notes' AND column_name = 'tags') AS ok, '' AS detail;\n\
         SELECT 'notes has pinned' AS check, EXISTS (SELECT FROM information_schema.columns WHERE table_name = 'notes' AND column_name = 'pinned') AS ok, 'no pinned column' AS detail;\n",
    )
    .unwrap();
    let (code, report, _) = env.deploy("staging", &["--target", "staging"]);
    assert_eq!(code, 1, "{report:#}");
    let verify: Vec<(String, bool)> = report["verify"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["check"].as_str().unwrap().to_string(),
                c["ok"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        verify,
        [
            ("notes has tags".to_string(), true),
            ("notes has pinned".to_string(), false)
        ]
    );
}

#[test]
fn an_unreachable_target_is_an_error_that_names_it_without_the_password() {
    let env = env();
    let output = env
        .command("staging", &["--target", "staging"])
        .env(
            "MIGRATION_GUARD_DB_URL",
            format!(
                "postgresql://postgres:{}@127.0.0.1:1/db",
                env.server.password
            ),
        )
        .output()
        .unwrap();
    let (code, report, _) = env.finish(output);
    assert_eq!(code, 2, "{report:#}");
    let message = report["error"]["message"].as_str().unwrap();
    assert!(message.contains("postgres@127.0.0.1:1"), "{message}");
}

/// The deploy through the Supabase CLI: the stand-in executable (tests/standin/supabase)
/// plays the CLI against the same real databases.
mod through_the_cli {
    use super::*;

    const STANDIN: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/standin/supabase");
    const REF: &str = "stagingprojectabcdef";
    const TOKEN: &str = "sbp_0123456789abcdef0123456789abcdef01234567";

    /// A Supabase project folder (`supabase/migrations`) with the two migrations.
    pub(super) fn cli_env() -> Env {
        let mut env = env();
        env.way = Way::Cli;
        let migrations = env.project.path().join("supabase/migrations");
        std::fs::create_dir_all(&migrations).unwrap();
        for entry in std::fs::read_dir(env.project.migrations()).unwrap() {
            let entry = entry.unwrap();
            std::fs::copy(entry.path(), migrations.join(entry.file_name())).unwrap();
        }
        std::fs::remove_dir_all(env.project.migrations()).unwrap();
        env
    }

    pub(super) fn deploy(env: &Env, args: &[&str]) -> (i32, Value, String) {
        let output = Command::new(env!("CARGO_BIN_EXE_migration-guard"))
            .current_dir(env.project.path())
            .env_remove("GITHUB_EVENT_NAME")
            .env_remove("MIGRATION_GUARD_DB_URL")
            .env("NO_COLOR", "1")
            .env("SUPABASE_CLI", STANDIN)
            .env("SUPABASE_ACCESS_TOKEN", TOKEN)
            .env("SUPABASE_DB_PASSWORD", &env.server.password)
            .env(
                format!("SUPABASE_STANDIN_DB_URL_{REF}"),
                format!(
                    "postgresql://postgres@127.0.0.1:{}/staging",
                    env.server.port
                ),
            )
            .args(["deploy", "--format", "json", "--target", "staging"])
            .args(["--project-ref", REF])
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            !format!("{stdout}{stderr}").contains(TOKEN),
            "token printed"
        );
        env.finish(output)
    }

    /// Production through the CLI with the Management API faked: the platform's backups
    /// recorded before, the verify scripts run through the API after, then the health
    /// watched: a 5xx is retried, an unhealthy answer fails the deploy with the way back.
    #[test]
    fn the_management_api_records_backups_verifies_and_watches_health() {
        use wiremock::matchers::{body_partial_json, header, method, path};
        use wiremock::{Mock, MockServer, ResponseTemplate};

        let env = cli_env();
        let verify = env.project.path().join("supabase/verify");
        std::fs::create_dir_all(&verify).unwrap();
        std::fs::write(
            verify.join("notes.sql"),
            "SELECT 'notes exists' AS check, to_regclass('public.notes') IS NOT NULL AS ok, '' AS detail;\n",
        )
        .unwrap();

        let runtime = tokio::runtime::Runtime::new().unwrap();
        let api = runtime.block_on(MockServer::start());
        let project = format!("/v1/projects/{REF}");
        runtime.block_on(async {
            Mock::given(method("GET"))
                .and(path(format!("{project}/database/backups")))
                .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
                .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
                    "pitr_enabled": true, "walg_enabled": true,
                    "backups": [{"is_physical_backup": true, "status": "COMPLETED", "inserted_at": "2026-11-24T03:00:00.000Z"}],
                    "physical_backup_data": {"earliest_physical_backup_date_unix": 1763000000, "latest_physical_backup_date_unix": 1764000000}
                })))
                .mount(&api)
                .await;
            Mock::given(method("POST"))
                .and(path(format!("{project}/database/query")))
                .and(body_partial_json(serde_json::json!({"read_only": true})))
                .respond_with(ResponseTemplate::new(201).set_body_json(serde_json::json!([
                    {"check": "notes exists", "ok": true, "detail": ""}
                ])))
                .mount(&api)
                .await;
            // The first look at the health meets a 502, the retry an unhealthy REST.
            Mock::given(method("GET"))
                .and(path(format!("{project}/health")))
                .respond_with(ResponseTemplate::new(502))
                .up_to_n_times(1)
                .with_priority(1)
                .mount(&api)
                .await;
            Mock::given(method("GET"))
                .and(path(format!("{project}/health")))
                .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!([
                    {"name": "db", "healthy": true, "status": "ACTIVE_HEALTHY"},
                    {"name": "rest", "healthy": false, "status": "UNHEALTHY", "error": "connection refused"},
                    {"name": "auth", "healthy": true, "status": "ACTIVE_HEALTHY"}
                ])))
                .with_priority(2)
                .mount(&api)
                .await;
        });

        let output = Command::new(env!("CARGO_BIN_EXE_migration-guard"))
            .current_dir(env.project.path())
            .env_remove("GITHUB_EVENT_NAME")
            .env_remove("MIGRATION_GUARD_DB_URL")
            .env("SUPABASE_CLI", STANDIN)
            .env("SUPABASE_ACCESS_TOKEN", TOKEN)
            .env("SUPABASE_DB_PASSWORD", &env.server.password)
            .env("SUPABASE_API_URL", api.uri())
            .env(
                format!("SUPABASE_STANDIN_DB_URL_{REF}"),
                format!(
                    "postgresql://postgres@127.0.0.1:{}/staging",
                    env.server.port
                ),
            )
            .args([
                "deploy",
                "--format",
                "json",
                "--target",
                "production",
                "--yes",
            ])
            .args(["--project-ref", REF, "--watch", "5", "--watch-every", "1"])
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let printed = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(!printed.contains(TOKEN), "token printed");
        let (code, report, _) = env.finish(output);
        assert_eq!(code, 1, "{report:#}");
        assert!(
            env.table_exists("staging", "notes"),
            "applied through the CLI"
        );
        let notes = report["notes"].to_string();
        assert!(
            notes.contains("Platform backups") && notes.contains("point-in-time recovery on"),
            "{notes}"
        );
        assert_eq!(report["verify"][0]["check"], "notes exists", "{report:#}");
        assert_eq!(report["verify"][0]["ok"], true);
        assert_eq!(rules(&report), ["unhealthy-after-deploy"]);
        let message = report["findings"][0]["message"].as_str().unwrap();
        assert!(message.contains("rest UNHEALTHY"), "{message}");
        let requests = runtime.block_on(api.received_requests()).unwrap();
        let health = requests
            .iter()
            .filter(|request| request.url.path().ends_with("/health"))
            .count();
        assert_eq!(
            health, 2,
            "the 502 was retried once, then the watch stopped"
        );
    }

    #[test]
    fn a_missing_cli_is_an_error_that_says_how_to_get_it() {
        let env = cli_env();
        let output = Command::new(env!("CARGO_BIN_EXE_migration-guard"))
            .current_dir(env.project.path())
            .env_remove("GITHUB_EVENT_NAME")
            .env_remove("MIGRATION_GUARD_DB_URL")
            .env("SUPABASE_CLI", "/nonexistent/supabase")
            .args(["deploy", "--format", "json", "--target", "staging"])
            .args(["--project-ref", REF])
            .output()
            .unwrap();
        let (code, report, _) = env.finish(output);
        assert_eq!(code, 2, "{report:#}");
        assert!(
            report["error"]["message"]
                .as_str()
                .unwrap()
                .contains("Supabase CLI was not found"),
            "{report:#}"
        );
    }
}

#[test]
fn status_against_a_database_lists_applied_and_pending_and_only_reads() {
    let env = env();
    let (code, _, _) = env.deploy("staging", &["--target", "staging"]);
    assert_eq!(code, 0);
    env.project.file(
        "20250103000000_pinned.sql",
        "ALTER TABLE notes ADD COLUMN IF NOT EXISTS pinned boolean DEFAULT false;\n",
    );
    let status = |env: &Env| {
        let output = Command::new(env!("CARGO_BIN_EXE_migration-guard"))
            .current_dir(env.project.path())
            .env("MIGRATION_GUARD_DB_URL", env.server.url_for("staging"))
            .args(["status", "--format", "json", "--dir", "migrations"])
            .output()
            .unwrap();
        env.finish(output)
    };
    let (code, report, _) = status(&env);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(
        statuses(&report),
        pairs(&[
            ("20250101000000", "already-applied"),
            ("20250102000000", "already-applied"),
            ("20250103000000", "pending")
        ])
    );
    assert_eq!(env.history("staging").len(), 2, "status applies nothing");

    std::fs::remove_file(env.project.migrations().join("20250101000000_notes.sql")).unwrap();
    let (code, report, _) = status(&env);
    assert_eq!(code, 1, "{report:#}");
    assert_eq!(rules(&report), ["remote-only-version"]);
}

#[test]
fn the_action_deploys_production_on_push_and_never_on_a_pull_request() {
    let env = env();
    let runner = tempfile::tempdir().unwrap();
    let action = |event: &str| {
        let output = Command::new(env!("CARGO_BIN_EXE_migration-guard"))
            .arg("action")
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap())
            .env("INPUT_COMMAND", "deploy")
            .env("INPUT_TARGET", "production")
            .env("INPUT_MIGRATIONS-DIR", "migrations")
            .env("INPUT_DB-URL", env.server.url_for("production"))
            .env("INPUT_COMMENT", "false")
            .env("MIGRATION_GUARD_WATCH", "0")
            .env("GITHUB_ACTIONS", "true")
            .env("GITHUB_EVENT_NAME", event)
            .env("GITHUB_WORKSPACE", env.project.path())
            .env("GITHUB_REPOSITORY", "acme/shop")
            .env("GITHUB_OUTPUT", runner.path().join("output"))
            .env("GITHUB_STEP_SUMMARY", runner.path().join("summary"))
            .env("RUNNER_TEMP", runner.path())
            .output()
            .unwrap();
        let stdout = String::from_utf8(output.stdout).unwrap();
        let stderr = String::from_utf8(output.stderr).unwrap();
        // The secret is printed only to be masked, before anything else.
        for line in stdout.lines().chain(stderr.lines()) {
            assert!(
                !line.contains(&env.server.password) || line.starts_with("::add-mask::"),
                "{line}"
            );
        }
        assert!(stdout.starts_with("::add-mask::"), "{stdout}");
        (output.status.code().unwrap(), stdout)
    };

    let (code, stdout) = action("pull_request");
    assert_eq!(code, 1, "{stdout}");
    assert!(stdout.contains("::error"), "{stdout}");
    assert!(!env.table_exists("production", "notes"));

    let (code, stdout) = action("push");
    assert_eq!(code, 0, "{stdout}");
    assert!(env.table_exists("production", "notes"));
    let outputs = std::fs::read_to_string(runner.path().join("output")).unwrap();
    assert!(outputs.contains("applied=2"), "{outputs}");
    assert!(outputs.contains("status=passed"), "{outputs}");
}

#[test]
fn a_check_that_fails_while_watching_after_the_deploy_fails_it_with_the_way_back() {
    let env = env();
    env.project.file(
        "20250103000000_alarms.sql",
        "CREATE TABLE IF NOT EXISTS alarms (id int);\n",
    );
    std::fs::create_dir(env.project.path().join("verify")).unwrap();
    std::fs::write(
        env.project.path().join("verify/alarms.sql"),
        "SELECT 'no alarm' AS check, NOT EXISTS (SELECT FROM alarms) AS ok, 'an alarm was raised' AS detail;\n",
    )
    .unwrap();
    let child = env.spawn(
        "staging",
        &["--target", "staging", "--watch", "8", "--watch-every", "1"],
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    while !env.table_exists("staging", "alarms") {
        assert!(Instant::now() < deadline, "the deploy never applied");
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_millis(500));
    env.server
        .psql_in("staging", "INSERT INTO alarms VALUES (1)");
    let (code, report, _) = env.finish(child.wait_with_output().unwrap());
    assert_eq!(code, 1, "{report:#}");
    assert_eq!(rules(&report), ["verify-failed"]);
    let finding = &report["findings"][0];
    assert!(
        finding["message"].as_str().unwrap().contains("no alarm"),
        "{finding:#}"
    );
    assert!(
        finding["help"].as_str().unwrap().contains("roll back"),
        "{finding:#}"
    );
    // The first verify, right after the deploy, passed.
    assert_eq!(report["verify"][0]["ok"], true, "{report:#}");
    assert_eq!(statuses(&report)[2].1, "applied");
}

#[test]
fn a_deploy_that_waits_too_long_for_the_lock_says_who_holds_it() {
    let env = env();
    // The key every deploy locks on ("mg-deploy").
    let holder = env.hold(
        "staging",
        "SELECT pg_advisory_lock(7883319581957188719); SELECT pg_sleep(4);",
    );
    // A deploy to another database of the same cluster holds a lock of its own.
    let other = env.hold(
        "production",
        "SELECT pg_advisory_lock(7883319581957188719); SELECT pg_sleep(4);",
    );
    let (code, report, stderr) =
        env.deploy("staging", &["--target", "staging", "--lock-wait", "1"]);
    let _ = { holder }.wait();
    let _ = { other }.wait();
    assert_eq!(code, 2, "{report:#}");
    let message = report["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("another deploy held the deploy lock") && message.contains("pid "),
        "{message}"
    );
    assert!(stderr.contains("waiting up to 1s"), "{stderr}");
    assert!(!env.table_exists("staging", "notes"));
}

#[test]
fn a_pull_request_previews_what_staging_would_apply() {
    let env = env();
    let (code, _, _) = env.deploy("staging", &["--target", "staging"]);
    assert_eq!(code, 0);
    env.project.file(
        "20250103000000_pinned.sql",
        "ALTER TABLE notes ADD COLUMN IF NOT EXISTS pinned boolean DEFAULT false;\n",
    );
    let output = Command::new(env!("CARGO_BIN_EXE_migration-guard"))
        .current_dir(env.project.path())
        .env(
            "MIGRATION_GUARD_PREVIEW_DB_URL",
            env.server.url_for("staging"),
        )
        .args(["lint", "--format", "json", "--dir", "migrations"])
        .output()
        .unwrap();
    let (code, report, _) = env.finish(output);
    assert_eq!(code, 0, "{report:#}");
    let notes = report["notes"].to_string();
    assert!(
        notes.contains("A deploy would apply 1: 20250103000000_pinned.sql"),
        "{notes}"
    );
    assert_eq!(env.history("staging").len(), 2, "a preview applies nothing");
}

#[test]
fn a_target_that_requires_tls_is_reached_over_tls() {
    let env = env();
    env.server.enable_tls();
    // Only TLS connections from now on, as a database with SSL enforced.
    let hba = env.server.psql("SHOW hba_file");
    std::fs::write(
        &hba,
        "local all all trust\nhostssl all all 127.0.0.1/32 scram-sha-256\n",
    )
    .unwrap();
    env.server.psql("SELECT pg_reload_conf()");
    std::thread::sleep(Duration::from_millis(500));

    let url = format!("{}?sslmode=require", env.server.url_for("staging"));
    let output = env
        .command("staging", &["--target", "staging"])
        .env("MIGRATION_GUARD_DB_URL", &url)
        .output()
        .unwrap();
    let (code, report, stderr) = env.finish(output);
    assert_eq!(code, 0, "{report:#}\n{stderr}");
    assert_eq!(env.history("staging").len(), 2);

    let output = env
        .command("staging", &["--target", "staging"])
        .env(
            "MIGRATION_GUARD_DB_URL",
            format!("{}?sslmode=disable", env.server.url_for("staging")),
        )
        .output()
        .unwrap();
    let (code, report, _) = env.finish(output);
    assert_eq!(code, 2, "a plain connection is refused: {report:#}");
}

/// A cancelled job (SIGTERM) during a long statement: the statement is cancelled at
/// once, so its locks and the deploy lock go now, not at the statement timeout; the
/// report is written and says so; exit 2.
#[test]
fn sigterm_during_a_deploy_cancels_the_running_statement() {
    let env = env();
    env.project.file(
        "20250103000000_slow.sql",
        "ALTER TABLE notes ADD COLUMN IF NOT EXISTS slow int;\nSELECT pg_sleep(60);\n",
    );
    let child = env.spawn("staging", &["--target", "staging"]);
    let running = || {
        env.server.psql_in(
            "staging",
            "SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(60)%' AND pid <> pg_backend_pid()",
        )
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while running() != "1" {
        assert!(
            std::time::Instant::now() < deadline,
            "the slow statement never ran"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let started = std::time::Instant::now();
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(started.elapsed() < Duration::from_secs(10));
    let (code, report, _) = env.finish(output);
    assert_eq!(code, 2, "{report:#}");
    let message = report["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("running statement was cancelled"),
        "{message}"
    );
    // Nothing is left running or locked, and the file was rolled back whole.
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(running(), "0");
    assert_eq!(
        env.server.psql_in(
            "staging",
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'"
        ),
        "0"
    );
    assert!(!env.history("staging").iter().any(|v| v == "20250103000000"));
}

/// Two files of one version (the `YYYYMMDD_HHMMSS_name.sql` form gives every migration of
/// a day the same one): refused before anything is applied.
#[test]
fn a_version_collision_is_refused_before_anything_is_applied() {
    let env = env();
    env.project.file(
        "20250105_100000_a.sql",
        "CREATE TABLE IF NOT EXISTS a (id int);\n",
    );
    env.project.file(
        "20250105_110000_b.sql",
        "CREATE TABLE IF NOT EXISTS b (id int);\n",
    );
    let (code, report, _) = env.deploy("staging", &["--target", "staging"]);
    assert_eq!(code, 1, "{report:#}");
    assert!(
        report["findings"].to_string().contains("version-collision"),
        "{report:#}"
    );
    assert!(!env.table_exists("staging", "notes"));
    assert!(!env.table_exists("staging", "a"));
}

/// A file that does not run as one transaction and fails part way: the report says
/// which statements stayed, and how to finish or undo them.
#[test]
fn a_half_applied_file_says_what_stayed_and_what_to_do() {
    let env = env();
    env.project.file(
        "20250103000000_tags.sql",
        "CREATE TABLE IF NOT EXISTS tags (id int);\n\
         CREATE INDEX CONCURRENTLY IF NOT EXISTS notes_body_idx ON notes (body);\n\
         CREATE TABLE broken (kind nosuchtype);\n",
    );
    let (code, report, _) = env.deploy("staging", &["--target", "staging"]);
    assert_eq!(code, 1, "{report:#}");
    let failed = report["migrations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["status"] == "failed")
        .unwrap_or_else(|| panic!("{report:#}"));
    let lines: Vec<u64> = failed["error"]["stayed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["line"].as_u64().unwrap())
        .collect();
    // The table's batch committed before the index ran on its own; both stay.
    assert_eq!(lines, [1, 2], "{failed:#}");
    assert!(env.table_exists("staging", "tags"));
    // The same deploy again, read as a person reads it.
    let output = Command::new(env!("CARGO_BIN_EXE_migration-guard"))
        .current_dir(env.project.path())
        .env("NO_COLOR", "1")
        .env("MIGRATION_GUARD_DB_URL", env.server.url_for("staging"))
        .args(["deploy", "--target", "staging", "--dir", "migrations"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let (text, stderr) = (
        String::from_utf8(output.stdout).unwrap(),
        String::from_utf8(output.stderr).unwrap(),
    );
    let all = format!("{text}{stderr}");
    assert!(all.contains("half applied"), "{all}");
    assert!(
        all.contains("supabase migration repair --status applied 20250103000000"),
        "{all}"
    );
}

/// What the linter knows cannot run as written is refused before anything is applied,
/// rather than failing part way through the push.
#[test]
fn a_file_that_cannot_run_as_written_is_refused_before_anything_is_applied() {
    let env = env();
    env.project.file(
        "20250103000000_index.sql",
        "BEGIN;\nCREATE INDEX CONCURRENTLY IF NOT EXISTS notes_body_idx ON notes (body);\nCOMMIT;\n",
    );
    let (code, report, _) = env.deploy("staging", &["--target", "staging"]);
    assert_eq!(code, 1, "{report:#}");
    assert!(
        report["findings"]
            .to_string()
            .contains("concurrently-in-transaction"),
        "{report:#}"
    );
    assert!(!env.table_exists("staging", "notes"), "nothing applied");
}

/// A real pgbouncer in transaction mode, on a port that says nothing: the deploy finds
/// it by how its sessions share backends and refuses before applying anything, with the
/// session pooler to use instead; in session mode the same pgbouncer deploys.
#[test]
fn a_transaction_pooler_on_any_port_is_found_and_refused() {
    let env = env();
    let bouncer = common::PgBouncer::start(&env.server, "staging", "transaction");
    let url = format!(
        "postgresql://postgres:{}@127.0.0.1:{}/staging",
        env.server.password, bouncer.port
    );
    let output = env
        .command("staging", &["--target", "staging"])
        .env("MIGRATION_GUARD_DB_URL", &url)
        .output()
        .unwrap();
    let (code, report, stderr) = env.finish(output);
    assert_eq!(code, 2, "{report:#}\n{stderr}");
    let message = report["error"]["message"].as_str().unwrap();
    assert!(message.contains("transaction-mode pooler"), "{message}");
    assert!(message.contains("pool_mode = session"), "{message}");
    assert!(!env.table_exists("staging", "notes"), "nothing applied");
    drop(bouncer);

    let bouncer = common::PgBouncer::start(&env.server, "staging", "session");
    let url = format!(
        "postgresql://postgres:{}@127.0.0.1:{}/staging",
        env.server.password, bouncer.port
    );
    let output = env
        .command("staging", &["--target", "staging"])
        .env("MIGRATION_GUARD_DB_URL", &url)
        .output()
        .unwrap();
    let (code, report, stderr) = env.finish(output);
    assert_eq!(code, 0, "{report:#}\n{stderr}");
    assert_eq!(env.history("staging").len(), 2);
}

/// Before its first lock, a deploy says which sessions on the target may hold it up: an
/// open transaction left idle (it keeps its locks, and a DDL lock queued behind it
/// blocks everyone after) is named with its pid, how long and what it ran last.
#[test]
fn sessions_that_may_hold_up_the_locks_are_named_before_the_first_one() {
    use std::io::Write;
    let env = env();
    let mut idle = Command::new("psql")
        .args(["-X", "-q", &env.server.url_for("staging")])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = idle.stdin.take().unwrap();
    writeln!(stdin, "BEGIN; SELECT 'left open' AS forgotten;").unwrap();
    stdin.flush().unwrap();
    std::thread::sleep(Duration::from_millis(5500));

    let (code, report, _) = env.deploy("staging", &["--target", "staging"]);
    assert_eq!(code, 0, "{report:#}");
    let notes = report["notes"].to_string();
    assert!(
        notes.contains("may hold up the migrations' locks"),
        "{notes}"
    );
    assert!(notes.contains("idle in transaction"), "{notes}");
    assert!(notes.contains("left open"), "{notes}");

    drop(stdin);
    let _ = idle.kill();
    let _ = idle.wait();
    // Nothing pending, nothing said.
    let (code, report, _) = env.deploy("staging", &["--target", "staging"]);
    assert_eq!(code, 0, "{report:#}");
    assert!(
        !report["notes"].to_string().contains("may hold up"),
        "{report:#}"
    );
}
