//! `supabase link` and `supabase db push` through the runner, with the stand-in CLI
//! (tests/standin/supabase) against a real Postgres: what is pending, applied, refused and
//! failed, as the CLI reports it, and no secret in anything that comes back.

use crate::common;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::PgServer;
use migration_guard::migration::discover;
use migration_guard::supabase::cli::{
    CliError, PushOptions, PushOutput, Refusal, SupabaseCli, Target,
};
use tempfile::TempDir;

const STANDIN: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/standin/supabase");
/// A project ref has the real format: twenty lowercase letters.
const REF: &str = "stagingprojectabcdef";

/// A folder holding `supabase/migrations`, as a Supabase project does.
struct Project {
    root: TempDir,
}

impl Project {
    fn new() -> Project {
        let root = tempfile::tempdir().unwrap();
        fs::create_dir_all(root.path().join("supabase/migrations")).unwrap();
        Project { root }
    }

    fn path(&self) -> &Path {
        self.root.path()
    }

    fn migrations(&self) -> PathBuf {
        self.path().join("supabase/migrations")
    }

    fn migration(&self, name: &str, sql: &str) {
        fs::write(self.migrations().join(name), sql).unwrap();
    }

    /// An executable shell script in the project folder.
    fn script(&self, name: &str, body: &str) -> PathBuf {
        let path = self.path().join(name);
        fs::write(&path, format!("#!/bin/sh\n{body}")).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
        path
    }
}

fn access_token() -> String {
    format!(
        "sbp_{:032x}{:08x}",
        rand::random::<u128>(),
        rand::random::<u32>()
    )
}

/// The stand-in for `project`, with `REF` mapped to `server` (the URL without its
/// password: the CLI connects with the database password it is given).
fn cli(project: &Project, server: &PgServer, token: &str) -> SupabaseCli {
    SupabaseCli::new(project.path())
        .program(STANDIN)
        .access_token(token)
        .db_password(server.password.clone())
        .env(
            format!("SUPABASE_STANDIN_DB_URL_{REF}"),
            format!("postgresql://postgres@127.0.0.1:{}/postgres", server.port),
        )
}

async fn linked(project: &Project, server: &PgServer) -> SupabaseCli {
    let cli = cli(project, server, &access_token());
    let captured = cli.link(REF).await.unwrap();
    assert_eq!(captured.stdout.trim(), "Finished supabase link.");
    cli
}

fn push() -> PushOptions {
    PushOptions::default()
}

fn dry_run() -> PushOptions {
    PushOptions {
        dry_run: true,
        ..PushOptions::default()
    }
}

fn history(server: &PgServer) -> String {
    server.psql("SELECT string_agg(version || ':' || name, ',' ORDER BY version) FROM supabase_migrations.schema_migrations")
}

fn tables(server: &PgServer) -> String {
    server.psql("SELECT string_agg(tablename, ',' ORDER BY tablename) FROM pg_tables WHERE schemaname = 'public'")
}

#[tokio::test]
async fn a_dry_run_lists_every_pending_migration_and_applies_nothing() {
    let server = PgServer::start();
    let project = Project::new();
    project.migration("20250101000000_first.sql", "CREATE TABLE a (id int);\n");
    project.migration("20250102000000_second.sql", "CREATE TABLE b (id int);\n");
    project.migration("20250103000000_third.sql", "CREATE TABLE c (id int);\n");
    project.migration("README.md", "not a migration");
    let cli = linked(&project, &server).await;
    assert_eq!(
        fs::read_to_string(project.path().join("supabase/.temp/project-ref")).unwrap(),
        REF
    );

    let run = cli.push(&dry_run()).await.unwrap();
    let output = run.output;
    assert!(output.dry_run && output.finished && !output.up_to_date);
    assert_eq!(
        output.pending,
        [
            "20250101000000_first.sql",
            "20250102000000_second.sql",
            "20250103000000_third.sql"
        ]
    );
    assert!(output.applying.is_empty() && output.applied().is_empty());
    assert_eq!(output.skipped.len(), 1);
    assert_eq!(output.skipped[0].file, "README.md");
    assert!(
        run.captured
            .stderr
            .contains("DRY RUN: migrations will *not* be pushed to the database.")
    );
    assert_eq!(
        server.psql("SELECT to_regclass('supabase_migrations.schema_migrations') IS NULL"),
        "t"
    );
}

#[tokio::test]
async fn a_push_applies_every_file_and_records_it_as_the_cli_does() {
    let server = PgServer::start();
    let project = Project::new();
    project.migration(
        "20250101000000_first.sql",
        "-- the first table\nCREATE TABLE a (id int) ;\n\nINSERT INTO a VALUES (1);;\n-- tail\n",
    );
    project.migration(
        "20250102000000_second_with_body.sql",
        "CREATE FUNCTION one() RETURNS int LANGUAGE plpgsql AS $body$\nBEGIN\n  RETURN 1; -- ; inside\nEND;\n$body$;\nCOMMENT ON FUNCTION one() IS 'a ''quoted''; comment';\n",
    );
    let cli = linked(&project, &server).await;

    let run = cli.push(&push()).await.unwrap();
    let names = [
        "20250101000000_first.sql",
        "20250102000000_second_with_body.sql",
    ];
    assert!(run.output.finished && !run.output.dry_run);
    assert_eq!(run.output.pending, names);
    assert_eq!(run.output.applied(), names);
    assert_eq!(
        history(&server),
        "20250101000000:first,20250102000000:second_with_body"
    );
    assert_eq!(server.psql("SELECT one() + (SELECT id FROM a)"), "2");

    // The history holds the statements exactly as this project splits them.
    let discovery = discover(&project.migrations()).unwrap();
    for migration in &discovery.migrations {
        let expected: Vec<&str> = migration
            .split
            .statements
            .iter()
            .map(|statement| statement.text(&migration.source))
            .collect();
        let stored: Vec<String> = serde_json::from_str(&server.psql(&format!(
            "SELECT array_to_json(statements) FROM supabase_migrations.schema_migrations WHERE version = '{}'",
            migration.version
        )))
        .unwrap();
        assert_eq!(stored, expected, "{}", migration.file_name);
    }

    let again = cli.push(&push()).await.unwrap();
    assert!(again.output.up_to_date);
    assert!(again.output.applied().is_empty() && again.output.pending.is_empty());
    assert_eq!(
        again.captured.stdout.trim(),
        "Remote database is up to date."
    );
}

#[tokio::test]
async fn a_failing_statement_names_its_file_and_index_and_only_its_file_rolls_back() {
    let server = PgServer::start();
    let project = Project::new();
    project.migration("20250101000000_ok.sql", "CREATE TABLE kept (id int);\n");
    project.migration(
        "20250102000000_bad.sql",
        "CREATE TABLE half (id int);\nINSERT INTO half\n  VALUES ('not a number');\nCREATE TABLE after (id int);\n",
    );
    project.migration("20250103000000_never.sql", "CREATE TABLE never (id int);\n");
    let cli = linked(&project, &server).await;

    let error = cli.push(&push()).await.unwrap_err();
    let CliError::MigrationFailed {
        failure,
        applied,
        captured,
        ..
    } = &error
    else {
        panic!("{error:?}");
    };
    assert_eq!(failure.file.as_deref(), Some("20250102000000_bad.sql"));
    assert_eq!(failure.statement_index, Some(1));
    assert_eq!(
        failure.statement.as_deref(),
        Some("INSERT INTO half\n  VALUES ('not a number')")
    );
    assert_eq!(failure.caret_column, Some(11));
    assert_eq!(failure.sqlstate.as_deref(), Some("22P02"));
    assert_eq!(
        failure.message,
        "invalid input syntax for type integer: \"not a number\""
    );
    assert!(!failure.in_history_insert());
    assert_eq!(applied, &["20250101000000_ok.sql"]);
    assert!(captured.stderr.contains("At statement: 1"));
    let message = error.to_string();
    assert!(
        message.contains("20250102000000_bad.sql") && message.contains("statement 1"),
        "{message}"
    );

    assert_eq!(tables(&server), "kept");
    assert_eq!(history(&server), "20250101000000:ok");
}

/// The CLI counts results, not statements: a query that fails while returning rows has
/// already been counted, so the index (and the text shown) is the next statement's.
#[tokio::test]
async fn the_index_is_the_clis_count_of_results() {
    let server = PgServer::start();
    let project = Project::new();
    project.migration(
        "20250101000000_rows.sql",
        "CREATE TABLE n (v int);\nINSERT INTO n VALUES (0);\nSELECT 1 / v FROM n;\nSELECT 2;\n",
    );
    let cli = linked(&project, &server).await;
    let error = cli.push(&push()).await.unwrap_err();
    let CliError::MigrationFailed { failure, .. } = &error else {
        panic!("{error:?}");
    };
    assert_eq!(failure.message, "division by zero");
    assert_eq!(failure.statement_index, Some(3));
    assert_eq!(failure.statement.as_deref(), Some("SELECT 2"));
    assert_eq!(tables(&server), "");
}

#[tokio::test]
async fn out_of_order_files_are_refused_until_include_all() {
    let server = PgServer::start();
    let project = Project::new();
    project.migration("20250101000000_first.sql", "CREATE TABLE a (id int);\n");
    project.migration("20250103000000_third.sql", "CREATE TABLE c (id int);\n");
    let cli = linked(&project, &server).await;
    cli.push(&push()).await.unwrap();
    project.migration("20250102000000_late.sql", "CREATE TABLE b (id int);\n");

    for options in [push(), dry_run()] {
        let error = cli.push(&options).await.unwrap_err();
        let CliError::Refused { refusal, .. } = &error else {
            panic!("{error:?}");
        };
        assert_eq!(
            refusal,
            &Refusal::OutOfOrder {
                files: vec!["supabase/migrations/20250102000000_late.sql".into()]
            }
        );
        let message = error.to_string();
        assert!(
            message.contains("Found local migration files to be inserted before the last migration on remote database.")
                && message.contains("--include-all"),
            "{message}"
        );
    }
    assert_eq!(tables(&server), "a,c");

    let run = cli
        .push(&PushOptions {
            include_all: true,
            ..push()
        })
        .await
        .unwrap();
    assert_eq!(run.output.applied(), ["20250102000000_late.sql"]);
    assert_eq!(
        history(&server),
        "20250101000000:first,20250102000000:late,20250103000000:third"
    );
}

#[tokio::test]
async fn remote_versions_missing_locally_are_refused() {
    let server = PgServer::start();
    let project = Project::new();
    project.migration("20250101000000_first.sql", "CREATE TABLE a (id int);\n");
    project.migration("20250102000000_second.sql", "CREATE TABLE b (id int);\n");
    let cli = linked(&project, &server).await;
    cli.push(&push()).await.unwrap();
    fs::remove_file(project.migrations().join("20250102000000_second.sql")).unwrap();
    project.migration("20250103000000_third.sql", "CREATE TABLE c (id int);\n");

    let error = cli.push(&push()).await.unwrap_err();
    let CliError::Refused { refusal, .. } = &error else {
        panic!("{error:?}");
    };
    assert_eq!(
        refusal,
        &Refusal::RemoteOnly {
            versions: vec!["20250102000000".into()]
        }
    );
    assert!(
        error
            .to_string()
            .contains("Remote migration versions not found in local migrations directory."),
        "{error}"
    );
    assert_eq!(tables(&server), "a,b");
}

#[tokio::test]
async fn two_files_with_one_version_fail_in_the_history_insert() {
    let server = PgServer::start();
    let project = Project::new();
    project.migration("20251125_170356_add_x.sql", "CREATE TABLE x (id int);\n");
    project.migration(
        "20251125_180000_add_y.sql",
        "CREATE TABLE y (id int);\nCREATE TABLE z (id int);\n",
    );
    let cli = linked(&project, &server).await;

    let error = cli.push(&push()).await.unwrap_err();
    let CliError::MigrationFailed {
        failure, applied, ..
    } = &error
    else {
        panic!("{error:?}");
    };
    assert_eq!(failure.file.as_deref(), Some("20251125_180000_add_y.sql"));
    assert!(failure.in_history_insert());
    assert_eq!(failure.statement_index, Some(2));
    assert_eq!(failure.sqlstate.as_deref(), Some("23505"));
    assert_eq!(failure.detail, ["Key (version)=(20251125) already exists."]);
    assert_eq!(applied, &["20251125_170356_add_x.sql"]);
    assert!(error.to_string().contains("same version"), "{error}");
    assert_eq!(tables(&server), "x");
}

#[tokio::test]
async fn secrets_never_reach_the_output_or_the_errors() {
    let server = PgServer::start();
    let project = Project::new();
    let token = access_token();
    let password = server.password.clone();
    project.migration("20250101000000_ok.sql", "CREATE TABLE a (id int);\n");
    // A statement that makes the server and the CLI print both secrets back.
    project.migration(
        "20250102000000_leaky.sql",
        &format!("SELECT '{token}'::int AS t, '{password}' AS p;\n"),
    );
    let cli = cli(&project, &server, &token);
    let linked = cli.link(REF).await.unwrap();

    let error = cli.push(&push()).await.unwrap_err();
    let CliError::MigrationFailed {
        failure, captured, ..
    } = &error
    else {
        panic!("{error:?}");
    };
    // The secrets were printed, and masked.
    assert_eq!(
        failure.message,
        "invalid input syntax for type integer: \"***\""
    );
    assert_eq!(
        failure.statement.as_deref(),
        Some("SELECT '***'::int AS t, '***' AS p")
    );
    // A --db-url with its password: the password goes to the environment.
    let over_url = cli
        .clone()
        .push(&PushOptions {
            target: Target::DbUrl(server.url()),
            dry_run: true,
            ..push()
        })
        .await
        .unwrap();
    assert_eq!(over_url.output.pending, ["20250102000000_leaky.sql"]);

    let texts = [
        linked.stdout,
        linked.stderr,
        captured.stdout.clone(),
        captured.stderr.clone(),
        error.to_string(),
        format!("{error:?}"),
        format!("{failure:?}"),
        format!("{cli:?}"),
        format!("{over_url:?}"),
        format!(
            "{:?}",
            PushOptions {
                target: Target::DbUrl(server.url()),
                ..push()
            }
        ),
    ];
    for text in &texts {
        assert!(!text.contains(&token), "the access token leaked: {text}");
        assert!(!text.contains(&password), "the password leaked: {text}");
    }
}

#[tokio::test]
async fn secrets_travel_in_the_environment_never_on_the_command_line() {
    let project = Project::new();
    let program = project.script(
        "fake-supabase",
        &format!(
            "printf '%s\\n' \"$@\" > {0}/args\nenv > {0}/env\necho 'Remote database is up to date.'\n",
            project.path().display()
        ),
    );
    let token = access_token();
    let cli = SupabaseCli::new(project.path())
        .program(&program)
        .access_token(&token)
        .db_password("linked-db-password");
    let run = cli
        .push(&PushOptions {
            target: Target::DbUrl(
                "postgresql://postgres:url%40password@db.example.com:5432/postgres".into(),
            ),
            ..push()
        })
        .await
        .unwrap();
    assert!(run.output.up_to_date);
    let args = fs::read_to_string(project.path().join("args")).unwrap();
    let env = fs::read_to_string(project.path().join("env")).unwrap();
    assert_eq!(
        args.lines().collect::<Vec<_>>(),
        [
            "--workdir",
            project.path().to_str().unwrap(),
            "db",
            "push",
            "--db-url",
            "postgresql://postgres@db.example.com:5432/postgres",
            "--yes"
        ]
    );
    assert!(
        env.lines()
            .any(|line| line == format!("SUPABASE_ACCESS_TOKEN={token}"))
    );
    assert!(
        env.lines()
            .any(|line| line == "SUPABASE_DB_PASSWORD=linked-db-password")
    );
    assert!(env.lines().any(|line| line == "PGPASSWORD=url@password"));
    assert!(env.lines().any(|line| line == "NO_COLOR=1"));
}

#[tokio::test]
async fn link_needs_an_access_token_like_the_real_cli() {
    let project = Project::new();
    let home = tempfile::tempdir().unwrap();
    let cli = SupabaseCli::new(project.path())
        .program(STANDIN)
        .env("HOME", home.path().to_str().unwrap())
        .env(
            format!("SUPABASE_STANDIN_DB_URL_{REF}"),
            "postgresql://postgres@127.0.0.1:1/postgres",
        );
    let error = cli.link(REF).await.unwrap_err();
    let CliError::Failed { code, message, .. } = &error else {
        panic!("{error:?}");
    };
    assert_eq!(*code, Some(1));
    assert_eq!(
        message,
        "Access token not provided. Supply an access token by running supabase login or setting the SUPABASE_ACCESS_TOKEN environment variable."
    );
    assert!(!project.path().join("supabase/.temp/project-ref").exists());

    let error = cli
        .access_token(access_token())
        .link("Not-A-Ref")
        .await
        .unwrap_err();
    assert!(
        error
            .to_string()
            .contains("Invalid project ref format. Must be like `abcdefghijklmnopqrst`."),
        "{error}"
    );
}

#[tokio::test]
async fn a_push_before_link_says_so() {
    let project = Project::new();
    project.migration("20250101000000_first.sql", "SELECT 1;\n");
    let error = SupabaseCli::new(project.path())
        .program(STANDIN)
        .db_password("unused")
        .push(&push())
        .await
        .unwrap_err();
    let CliError::Failed { message, .. } = &error else {
        panic!("{error:?}");
    };
    assert_eq!(
        message,
        "Cannot find project ref. Have you run supabase link?"
    );
}

#[tokio::test]
async fn a_missing_executable_is_a_clear_error() {
    let project = Project::new();
    let error = SupabaseCli::new(project.path())
        .program("/nonexistent/bin/supabase")
        .push(&dry_run())
        .await
        .unwrap_err();
    assert!(matches!(error, CliError::NotFound { .. }), "{error:?}");
    assert_eq!(
        error.to_string(),
        "the Supabase CLI was not found at /nonexistent/bin/supabase: point SUPABASE_CLI at the executable, or install it (https://supabase.com/docs/guides/local-development/cli/getting-started)"
    );
    assert!(error.captured().is_none());

    let error = SupabaseCli::new(project.path())
        .program("supabase-not-installed-anywhere")
        .link(REF)
        .await
        .unwrap_err();
    assert!(
        error
            .to_string()
            .starts_with("the Supabase CLI (`supabase-not-installed-anywhere`) is not on PATH"),
        "{error}"
    );

    let error = SupabaseCli::new(project.path().join("missing"))
        .program(STANDIN)
        .link(REF)
        .await
        .unwrap_err();
    assert!(matches!(error, CliError::NoWorkdir { .. }), "{error:?}");
}

#[tokio::test]
async fn a_hung_cli_is_stopped_at_the_timeout_with_all_it_started() {
    let project = Project::new();
    let program = project.script(
        "fake-supabase",
        "echo 'Applying migration 20250101000000_slow.sql...' >&2\nsleep 30 &\nwait\n",
    );
    let started = Instant::now();
    let error = SupabaseCli::new(project.path())
        .program(&program)
        .timeout(Duration::from_millis(500))
        .push(&push())
        .await
        .unwrap_err();
    // The pipes closed at once: the `sleep` the script started was killed with it.
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
    let CliError::Timeout {
        running, captured, ..
    } = &error
    else {
        panic!("{error:?}");
    };
    assert_eq!(running.as_deref(), Some("20250101000000_slow.sql"));
    assert!(captured.stderr.contains("Applying migration"));
    assert!(
        error
            .to_string()
            .starts_with("`supabase db push --linked --yes` did not finish within 500ms and was stopped while applying 20250101000000_slow.sql"),
        "{error}"
    );
}

#[tokio::test]
async fn output_is_kept_when_something_the_cli_started_holds_its_pipes() {
    let project = Project::new();
    let pid_file = project.path().join("sleep.pid");
    let program = project.script(
        "fake-supabase",
        &format!(
            "sleep 30 &\necho $! > {}\necho 'Remote database is up to date.'\n",
            pid_file.display()
        ),
    );
    let run = SupabaseCli::new(project.path())
        .program(&program)
        .push(&push())
        .await
        .unwrap();
    let pid: i32 = fs::read_to_string(&pid_file)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let _ = nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid),
        nix::sys::signal::Signal::SIGKILL,
    );
    assert!(run.output.up_to_date, "{run:?}");
}

/// The stand-in's own surface: `migration list`, and colours that the parser reads
/// through.
#[test]
fn the_standin_lists_migrations_and_colours_its_output_like_the_cli() {
    let server = PgServer::start();
    let project = Project::new();
    project.migration("20250101000000_first.sql", "CREATE TABLE a (id int);\n");
    project.migration("20250102000000_second.sql", "CREATE TABLE b (id int);\n");
    let standin = |args: &[&str], color: bool| {
        let mut command = std::process::Command::new(STANDIN);
        command
            .current_dir(project.path())
            .args(args)
            .env_remove("NO_COLOR")
            .stdin(std::process::Stdio::null());
        if color {
            command.env("CLICOLOR_FORCE", "1");
        }
        let output = command.output().unwrap();
        (
            output.status.code(),
            String::from_utf8(output.stdout).unwrap(),
            String::from_utf8(output.stderr).unwrap(),
        )
    };
    let url = server.url();
    let (code, _, _) = standin(&["db", "push", "--db-url", &url, "--yes"], false);
    assert_eq!(code, Some(0));
    project.migration("20250103000000_third.sql", "CREATE TABLE c (id int);\n");

    let (code, stdout, stderr) = standin(&["migration", "list", "--db-url", &url], false);
    assert_eq!(code, Some(0), "{stderr}");
    let rows: Vec<Vec<&str>> = stdout
        .lines()
        .filter(|line| line.contains('|') && !line.contains("--"))
        .map(|line| line.split('|').map(str::trim).collect())
        .collect();
    assert_eq!(
        rows,
        [
            vec!["Local", "Remote", "Time (UTC)"],
            vec!["20250101000000", "20250101000000", "2025-01-01 00:00:00"],
            vec!["20250102000000", "20250102000000", "2025-01-02 00:00:00"],
            vec!["20250103000000", "", "2025-01-03 00:00:00"],
        ]
    );

    let (_, plain_out, plain_err) = standin(&["db", "push", "--db-url", &url, "--dry-run"], false);
    let (_, color_out, color_err) = standin(&["db", "push", "--db-url", &url, "--dry-run"], true);
    assert!(
        color_err.contains("\x1b[1m20250103000000_third.sql\x1b[0m"),
        "{color_err}"
    );
    assert!(!plain_err.contains('\x1b'));
    let plain = PushOutput::parse(&format!("{plain_err}\n{plain_out}"));
    assert_eq!(plain.pending, ["20250103000000_third.sql"]);
    assert_eq!(PushOutput::parse(&format!("{color_err}{color_out}")), plain);
}
