//! `migration-guard status` on real directories: ordering, skipped files, collisions,
//! meta-commands and every bad input, through the real binary.

use crate::common;

use std::fs;

use common::{Project, output};

#[test]
fn example_project_passes() {
    let mut command = assert_cmd::Command::cargo_bin("migration-guard").unwrap();
    command
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("NO_COLOR", "1")
        .args(["status", "--format", "json"]);
    let (code, stdout, _) = output(&mut command);
    assert_eq!(code, 0, "{stdout}");
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["status"], "passed");
    let versions: Vec<&str> = report["migrations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["version"].as_str().unwrap())
        .collect();
    assert_eq!(versions, ["0001", "20251125170356"]);
}

fn messy_project() -> Project {
    let project = Project::new();
    project.file(
        "20251125_170356_add_x.sql",
        "ALTER TABLE t ADD COLUMN IF NOT EXISTS x int;\n",
    );
    project.file(
        "20251125_180000_add_y.sql",
        "ALTER TABLE t ADD COLUMN IF NOT EXISTS y int;\n",
    );
    project.file("20251124_090000_solo.sql", "SELECT 1;\n");
    project.file(
        "0001_baseline.sql",
        "-- baseline\nCREATE TABLE IF NOT EXISTS t (id int);\n\\i other.sql\n",
    );
    project.file("README.md", "not a migration");
    project.file("0002-missing-underscore.sql", "SELECT 1;");
    fs::create_dir(project.migrations().join("archive")).unwrap();
    fs::write(
        project.migrations().join("archive/0003_old.sql"),
        "SELECT 1;",
    )
    .unwrap();
    project
}

#[test]
fn messy_directory_text() {
    let project = messy_project();
    let (code, stdout, stderr) = output(&mut project.command(&["status"]));
    assert_eq!(code, 1, "a collision fails the check");
    insta::assert_snapshot!(stdout);
    assert!(
        stderr.contains(
            r#"Skipping migration migrations/README.md... (file name must match pattern "<timestamp>_name.sql")"#
        ),
        "{stderr}"
    );
    assert!(
        !stderr.contains("archive"),
        "directories are ignored: {stderr}"
    );
}

#[test]
fn messy_directory_json() {
    let project = messy_project();
    let (code, stdout, _) = output(&mut project.command(&["status", "--format", "json"]));
    assert_eq!(code, 1);
    serde_json::from_str::<serde_json::Value>(&stdout).expect("valid JSON");
    // The raw text, so the snapshot also pins the key order scripts see.
    insta::assert_snapshot!(stdout);
}

#[test]
fn legacy_init_file_is_skipped_like_the_cli() {
    let project = Project::new();
    project.file("20211208000000_init.sql", "SELECT 1;");
    project.file("20211210000000_next.sql", "SELECT 1;");
    let (code, stdout, stderr) = output(&mut project.command(&["status", "--format", "json"]));
    assert_eq!(code, 0);
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["migrations"].as_array().unwrap().len(), 1);
    assert_eq!(
        report["skipped"][0]["reason"],
        r#"replace "init" with a different file name to apply this migration"#
    );
    assert!(stderr.contains("20211208000000_init.sql"), "{stderr}");
}

/// Runs `status` and expects exit 2 with every `needle` in stderr (text) and a JSON
/// report with status `error`.
fn assert_tool_error(project: &Project, dir: &str, needles: &[&str]) {
    let (code, stdout, stderr) = output(&mut project.command_in(dir, &["status"]));
    assert_eq!(code, 2, "stdout: {stdout}\nstderr: {stderr}");
    for needle in needles {
        assert!(stderr.contains(needle), "{needle:?} not in {stderr}");
    }
    assert!(!stderr.contains("panicked"), "{stderr}");

    let (code, stdout, _) = output(&mut project.command_in(dir, &["status", "--format", "json"]));
    assert_eq!(code, 2);
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["status"], "error");
    let message = report["error"]["message"].as_str().unwrap();
    for needle in needles {
        assert!(message.contains(needle), "{needle:?} not in {message}");
    }
}

#[test]
fn missing_directory() {
    let project = Project::new();
    assert_tool_error(
        &project,
        "nope/migrations",
        &["nope/migrations does not exist", "--dir"],
    );
}

#[test]
fn directory_is_a_file() {
    let project = Project::new();
    project.file("0001_a.sql", "SELECT 1;");
    assert_tool_error(&project, "migrations/0001_a.sql", &["is not a directory"]);
}

#[test]
fn empty_directory() {
    let project = Project::new();
    assert_tool_error(
        &project,
        "migrations",
        &["no migration files in migrations", "migration-guard new"],
    );
}

#[test]
fn directory_with_only_other_files() {
    let project = Project::new();
    project.file(".gitkeep", "");
    assert_tool_error(
        &project,
        "migrations",
        &["no migration files", "1 other file(s) skipped"],
    );
}

#[test]
fn non_utf8_file_names_the_file_and_line() {
    let project = Project::new();
    project.file("0001_ok.sql", "SELECT 1;");
    project.file("0002_latin1.sql", b"SELECT 1;\n-- caf\xe9\nSELECT 2;\n");
    assert_tool_error(
        &project,
        "migrations",
        &[
            "migrations/0002_latin1.sql:2: is not valid UTF-8",
            "re-save the file as UTF-8",
        ],
    );
}

#[test]
fn binary_file() {
    let project = Project::new();
    project.file("0001_blob.sql", b"\x89PNG\r\n\x1a\n\x00\x00");
    assert_tool_error(
        &project,
        "migrations",
        &["0001_blob.sql: looks like a binary file"],
    );
}

#[test]
fn utf16_file_gets_a_hint() {
    let project = Project::new();
    let utf16: Vec<u8> = [0xff, 0xfe]
        .into_iter()
        .chain("SELECT 1;".encode_utf16().flat_map(u16::to_le_bytes))
        .collect();
    project.file("0001_utf16.sql", utf16);
    assert_tool_error(&project, "migrations", &["saved as UTF-16"]);
}

#[test]
fn unreadable_file_every_problem_listed() {
    let project = Project::new();
    std::os::unix::fs::symlink(
        "/nonexistent/target.sql",
        project.migrations().join("0001_gone.sql"),
    )
    .unwrap();
    project.file("0002_blob.sql", b"\x00");
    assert_tool_error(
        &project,
        "migrations",
        &[
            "2 migration file(s) cannot be read",
            "0001_gone.sql: cannot read it",
            "0002_blob.sql",
        ],
    );
}

#[test]
fn unclosed_dollar_quote_is_reported_where_it_opens() {
    let project = Project::new();
    project.file(
        "0001_fn.sql",
        "SELECT 1;\nCREATE FUNCTION f() RETURNS int LANGUAGE sql AS $body$\n  SELECT 1;\n",
    );
    let (code, stdout, _) = output(&mut project.command(&["status", "--format", "json"]));
    assert_eq!(code, 1);
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let finding = &report["findings"][0];
    assert_eq!(finding["rule"], "syntax-error");
    assert_eq!(
        (finding["line"].as_u64(), finding["column"].as_u64()),
        (Some(2), Some(49))
    );
}

#[test]
fn format_from_the_environment() {
    let project = Project::new();
    project.file("0001_a.sql", "SELECT 1;");
    let mut command = project.command(&["status"]);
    command.env("MIGRATION_GUARD_FORMAT", "json");
    let (code, stdout, _) = output(&mut command);
    assert_eq!(code, 0);
    assert!(stdout.starts_with('{'), "{stdout}");
}

/// The server's own reason reaches the user, without the password.
#[test]
fn a_refused_login_gives_the_servers_reason_without_the_password() {
    let server = common::PgServer::start();
    let project = Project::new();
    project.file("0001_t.sql", "CREATE TABLE IF NOT EXISTS t (id int);\n");
    let url = format!(
        "postgresql://postgres:wrong-secret-pw@127.0.0.1:{}/postgres",
        server.port
    );
    for format in ["text", "json"] {
        let (code, stdout, stderr) =
            output(&mut project.command(&["status", "--db-url", &url, "--format", format]));
        let all = format!("{stdout}{stderr}");
        assert_eq!(code, 2, "{all}");
        assert!(
            all.contains("password authentication failed for user"),
            "{all}"
        );
        assert!(!all.contains("wrong-secret-pw"), "{all}");
    }
}

/// A server that accepts the connection and never answers: the command gives up with
/// exit 2 after the connect deadline and says what it was waiting for.
#[test]
fn a_server_that_never_answers_is_given_up_on() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    // Accept and hold every connection, answering nothing.
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming() {
            held.push(stream);
        }
    });
    let project = Project::new();
    project.file("0001_t.sql", "CREATE TABLE IF NOT EXISTS t (id int);\n");
    let url = format!("postgresql://postgres:pw@127.0.0.1:{port}/postgres?sslmode=disable");
    let started = std::time::Instant::now();
    let (code, stdout, stderr) = output(
        project
            .command(&["status", "--db-url", &url])
            .env("MIGRATION_GUARD_CONNECT_TIMEOUT", "2"),
    );
    assert_eq!(code, 2, "{stdout}{stderr}");
    assert!(started.elapsed() < std::time::Duration::from_secs(20));
    assert!(
        format!("{stdout}{stderr}").contains("no answer within 2 s"),
        "{stdout}{stderr}"
    );
}

/// A history another tool wrote oddly (a `bigint` version, a NULL statement) is read
/// without a panic, and the report says what the database has.
#[test]
fn an_odd_history_is_read_without_a_panic() {
    let server = common::PgServer::start();
    server.psql(
        "CREATE SCHEMA supabase_migrations; \
         CREATE TABLE supabase_migrations.schema_migrations (version bigint PRIMARY KEY, statements text[], name text); \
         INSERT INTO supabase_migrations.schema_migrations VALUES (1, ARRAY['CREATE TABLE t (id int)', NULL], NULL);",
    );
    let project = Project::new();
    project.file("0001_t.sql", "CREATE TABLE t (id int);\n");
    project.file("0002_u.sql", "CREATE TABLE u (id int);\n");
    let (code, stdout, stderr) =
        output(&mut project.command(&["status", "--db-url", &server.url(), "--format", "json"]));
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_ne!(code, 101, "{stderr}");
    let report: serde_json::Value =
        serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}\n{stderr}"));
    assert_ne!(report["status"], "error", "{report:#}");
}

/// A transaction-mode pooler cannot hold a migration's session: refused before any
/// connection, with the URL to use instead.
#[test]
fn a_transaction_pooler_url_is_refused_with_the_one_to_use() {
    let project = Project::new();
    project.file("0001_t.sql", "CREATE TABLE IF NOT EXISTS t (id int);\n");
    let url = "postgresql://postgres.abcdefghijklmnopqrst:hunter2-secret@aws-0-eu-west-1.pooler.supabase.com:6543/postgres";
    for command in [
        &["status", "--db-url", url][..],
        &["deploy", "--target", "staging", "--db-url", url, "--yes"][..],
    ] {
        let (code, stdout, stderr) = output(&mut project.command(command));
        let all = format!("{stdout}{stderr}");
        assert_eq!(code, 2, "{all}");
        assert!(all.contains("transaction-mode pooler"), "{all}");
        assert!(all.contains("port 5432"), "{all}");
        assert!(!all.contains("hunter2-secret"), "{all}");
    }
}

/// `sslmode=verify-full` checks the certificate as libpq does: it must chain to
/// `sslrootcert` and name the host connected to; `verify-ca` checks the chain alone. A
/// certificate that fails is refused with the reason, before anything is read.
#[test]
fn verify_full_checks_the_certificate_chain_and_name() {
    let server = common::PgServer::start();
    let root = server.enable_tls_signed();
    let other = common::PgServer::start();
    let other_root = other.enable_tls_signed();
    let project = Project::new();
    project.file("0001_t.sql", "CREATE TABLE IF NOT EXISTS t (id int);\n");
    let url = |host: &str, mode: &str, root: &std::path::Path| {
        format!(
            "postgresql://postgres:{}@{host}:{}/postgres?sslmode={mode}&sslrootcert={}",
            server.password,
            server.port,
            root.display()
        )
    };
    let status = |url: &str| {
        let (code, stdout, stderr) = output(&mut project.command(&["status", "--db-url", url]));
        let all = format!("{stdout}{stderr}");
        assert!(
            !all.contains(&server.password),
            "the password was printed: {all}"
        );
        (code, all)
    };
    // The certificate names localhost, and the test's CA signed it.
    let (code, all) = status(&url("localhost", "verify-full", &root));
    assert_eq!(code, 0, "{all}");
    // 127.0.0.1 is not the name the certificate gives: verify-full refuses, verify-ca
    // (the chain alone) accepts.
    let (code, all) = status(&url("127.0.0.1", "verify-full", &root));
    assert_eq!(code, 2, "{all}");
    assert!(all.to_lowercase().contains("certificate"), "{all}");
    let (code, all) = status(&url("127.0.0.1", "verify-ca", &root));
    assert_eq!(code, 0, "{all}");
    // Another CA's root: not the chain.
    let (code, all) = status(&url("localhost", "verify-full", &other_root));
    assert_eq!(code, 2, "{all}");
    assert!(all.to_lowercase().contains("certificate"), "{all}");
}
