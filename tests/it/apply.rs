//! The apply engine against a real server: history rows as the Supabase CLI writes them,
//! atomic files, transaction modes, notices and collisions.

use crate::common;

use std::str::FromStr;

use common::{PgServer, Project};
use migration_guard::db::Database;
use migration_guard::engine::apply_all;
use migration_guard::migration::discover;
use migration_guard::report::{MigrationEntry, MigrationStatus};

async fn apply(server: &PgServer, project: &Project) -> Vec<MigrationEntry> {
    let config = tokio_postgres::Config::from_str(&server.url()).unwrap();
    let db = Database::connect(&config).await.unwrap();
    let discovery = discover(&project.migrations()).unwrap();
    apply_all(&db, &discovery.migrations).await.unwrap()
}

fn statuses(entries: &[MigrationEntry]) -> Vec<MigrationStatus> {
    entries.iter().map(|entry| entry.status).collect()
}

/// The tables of the public schema, by name, comma-separated ("" for none).
fn public_tables(server: &PgServer) -> String {
    server.psql(
        "SELECT string_agg(tablename, ',' ORDER BY tablename) FROM pg_tables WHERE schemaname = 'public'",
    )
}

/// The SQLSTATE of a failed entry and the index of the statement that failed.
fn failed_at(entry: &MigrationEntry) -> (&str, usize) {
    let error = entry.error.as_ref().expect("a failed entry");
    (
        error.sqlstate.as_deref().unwrap_or_default(),
        error.statement_index.expect("a failing statement"),
    )
}

#[tokio::test]
async fn history_rows_hold_the_statements_as_the_cli_stores_them() {
    let server = PgServer::start();
    let project = Project::new();
    project.file(
        "20250101000000_first.sql",
        "-- the first table\nCREATE TABLE a (id int) ;\n\nINSERT INTO a VALUES (1);;\n-- tail\n",
    );
    project.file("20250102000000_second.sql", "SELECT 1");
    let entries = apply(&server, &project).await;
    assert_eq!(statuses(&entries), [MigrationStatus::Applied; 2]);
    assert_eq!(
        server.psql(
            "SELECT version || '|' || name || '|' || array_to_json(statements) FROM supabase_migrations.schema_migrations ORDER BY version"
        ),
        "20250101000000|first|[\"-- the first table\\nCREATE TABLE a (id int)\",\"INSERT INTO a VALUES (1)\",\"-- tail\"]\n20250102000000|second|[\"SELECT 1\"]"
    );
}

#[tokio::test]
async fn a_failing_file_leaves_nothing_behind() {
    let server = PgServer::start();
    let project = Project::new();
    project.file("0001_ok.sql", "CREATE TABLE kept (id int);\n");
    project.file(
        "0002_bad.sql",
        "CREATE TABLE half (id int);\nINSERT INTO half VALUES ('not a number');\n",
    );
    project.file(
        "0003_own_tx.sql",
        "BEGIN;\nCREATE TABLE never (id int);\nCOMMIT;\n",
    );
    let entries = apply(&server, &project).await;
    assert_eq!(
        statuses(&entries),
        [
            MigrationStatus::Applied,
            MigrationStatus::Failed,
            MigrationStatus::Skipped
        ]
    );
    let error = entries[1].error.as_ref().unwrap();
    assert_eq!(error.sqlstate.as_deref(), Some("22P02"));
    assert_eq!(error.statement_index, Some(1));
    assert_eq!(public_tables(&server), "kept");
    assert_eq!(
        server.psql("SELECT string_agg(version, ',') FROM supabase_migrations.schema_migrations"),
        "0001"
    );
}

/// The statements of a transaction are sent many at a time: a failure among them is
/// the file's (not the aborted transaction's complaint about the ones after it), and
/// nothing after it takes effect, in the first batch or a later one.
#[tokio::test]
async fn a_failure_among_statements_sent_together_is_the_one_reported() {
    let server = PgServer::start();
    let project = Project::new();
    let mut many: String = (0..40)
        .map(|i| format!("CREATE TABLE t_{i} (id int);\n"))
        .collect();
    many.push_str("INSERT INTO t_0 VALUES ('not a number');\nCREATE TABLE after_it (id int);\n");
    project.file("0001_many.sql", &many);
    project.file(
        "0002_own.sql",
        "BEGIN;\nCREATE TABLE own (id int);\nSELECT 1/0;\nCREATE TABLE own_after (id int);\nCOMMIT;\n",
    );
    let entries = apply(&server, &project).await;
    assert_eq!(
        statuses(&entries),
        [MigrationStatus::Failed, MigrationStatus::Skipped]
    );
    assert_eq!(failed_at(&entries[0]), ("22P02", 40));
    assert_eq!(public_tables(&server), "");
    project.file("0001_many.sql", "CREATE TABLE kept (id int);\n");
    let entries = apply(&server, &project).await;
    assert_eq!(
        statuses(&entries),
        [MigrationStatus::Applied, MigrationStatus::Failed]
    );
    assert_eq!(failed_at(&entries[1]), ("22012", 2));
    assert_eq!(public_tables(&server), "kept");
    assert_eq!(
        server.psql("SELECT string_agg(version, ',') FROM supabase_migrations.schema_migrations"),
        "0001"
    );
}

#[tokio::test]
async fn the_files_own_transaction_is_kept_and_rolled_back_whole() {
    let server = PgServer::start();
    let project = Project::new();
    project.file(
        "0001_wrapped.sql",
        "BEGIN;\nSET LOCAL lock_timeout = '5s';\nCREATE TABLE t (id int);\nCREATE TABLE t (id int);\nCOMMIT;\n",
    );
    let entries = apply(&server, &project).await;
    assert_eq!(statuses(&entries), [MigrationStatus::Failed]);
    assert_eq!(
        entries[0].error.as_ref().unwrap().sqlstate.as_deref(),
        Some("42P07")
    );
    assert_eq!(public_tables(&server), "");
    assert_eq!(
        server.psql("SELECT count(*) FROM supabase_migrations.schema_migrations"),
        "0"
    );
}

#[tokio::test]
async fn authored_transactions_run_as_written() {
    let server = PgServer::start();
    let project = Project::new();
    project.file(
        "0001_two.sql",
        "BEGIN;\nCREATE TABLE x (id int);\nCOMMIT;\nBEGIN;\nCREATE TABLE y (id int);\nCOMMIT;\n",
    );
    let entries = apply(&server, &project).await;
    assert_eq!(statuses(&entries), [MigrationStatus::Applied]);
    assert!(
        entries[0]
            .transaction
            .as_deref()
            .unwrap()
            .starts_with("as written")
    );
    assert_eq!(
        server.psql("SELECT count(*) FROM supabase_migrations.schema_migrations"),
        "1"
    );
}

#[tokio::test]
async fn a_new_enum_value_is_committed_before_it_is_used() {
    let server = PgServer::start();
    let project = Project::new();
    project.file(
        "0001_enum.sql",
        "CREATE TYPE mood AS ENUM ('ok');\nALTER TYPE mood ADD VALUE 'great';\nCREATE TABLE m (v mood DEFAULT 'great');\nINSERT INTO m DEFAULT VALUES;\n",
    );
    let entries = apply(&server, &project).await;
    assert_eq!(
        statuses(&entries),
        [MigrationStatus::Applied],
        "{:?}",
        entries[0].error
    );
    assert_eq!(server.psql("SELECT v FROM m"), "great");
}

#[tokio::test]
async fn notices_are_captured_per_migration() {
    let server = PgServer::start();
    let project = Project::new();
    project.file(
        "0001_a.sql",
        "DO $$ BEGIN RAISE NOTICE 'hello from a'; END $$;\n",
    );
    project.file("0002_b.sql", "DROP TABLE IF EXISTS nothing_here;\n");
    let entries = apply(&server, &project).await;
    assert_eq!(entries[0].notices, ["NOTICE: hello from a"]);
    assert_eq!(
        entries[1].notices,
        ["NOTICE: table \"nothing_here\" does not exist, skipping"]
    );
}

#[tokio::test]
async fn two_files_with_one_version_fail_like_the_cli() {
    let server = PgServer::start();
    let project = Project::new();
    project.file("20251125_170356_a.sql", "CREATE TABLE a (id int);\n");
    project.file("20251125_180000_b.sql", "CREATE TABLE b (id int);\n");
    let entries = apply(&server, &project).await;
    assert_eq!(
        statuses(&entries),
        [MigrationStatus::Applied, MigrationStatus::Failed]
    );
    let error = entries[1].error.as_ref().unwrap();
    assert_eq!(error.sqlstate.as_deref(), Some("23505"));
    assert!(
        error.message.contains("while recording version 20251125"),
        "{}",
        error.message
    );
    assert_eq!(
        server.psql("SELECT to_regclass('public.b') IS NULL"),
        "t",
        "rolled back with its row"
    );
}

/// `COPY … FROM STDIN` waits for rows from the client: sent, it left the session
/// waiting and the run lost its connection. It fails its file, at its line, and the
/// session goes on; psql's inline rows (ended by `\.`) fail their file before it runs.
#[tokio::test]
async fn a_copy_from_the_client_fails_its_file_and_the_session_goes_on() {
    let server = PgServer::start();
    let project = Project::new();
    project.file(
        "0001_ok.sql",
        "CREATE TABLE kept (id int);\nCREATE SEQUENCE counter;\n",
    );
    // A sequence's value is not rolled back: it shows whether what follows the COPY was
    // sent.
    project.file(
        "0002_copy.sql",
        "CREATE TABLE half (id int, name text);\nCOPY half (id, name) FROM stdin;\n\
         SELECT nextval('counter');\n",
    );
    let entries = apply(&server, &project).await;
    assert_eq!(
        statuses(&entries),
        [MigrationStatus::Applied, MigrationStatus::Failed]
    );
    let error = entries[1].error.as_ref().unwrap();
    assert_eq!(error.statement_index, Some(1));
    assert!(
        error
            .message
            .starts_with("`COPY … FROM STDIN` reads its rows from the client"),
        "{error:?}"
    );
    assert!(
        error.hint.as_deref().unwrap().contains("INSERT … VALUES"),
        "{error:?}"
    );
    // Nothing of the file stayed, and the session still answers.
    assert_eq!(public_tables(&server), "kept");
    assert_eq!(
        server.psql("SELECT is_called FROM counter"),
        "f",
        "nothing after the COPY was sent"
    );

    let inline = Project::new();
    inline.file(
        "0001_rows.sql",
        "CREATE TABLE rows (id int);\nCOPY rows (id) FROM STDIN;\n1\n2\n\\.\n",
    );
    let entries = apply(&server, &inline).await;
    let error = entries[0].error.as_ref().unwrap();
    assert!(
        error
            .message
            .starts_with("`\\.` ends the rows of a `COPY … FROM STDIN`"),
        "{error:?}"
    );
}
