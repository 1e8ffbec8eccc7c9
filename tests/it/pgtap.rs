//! pgTAP test files run against a real Postgres 15 with pgTAP, through a connection that
//! acts as a non-superuser role (`-c role=...`) as the shadow's does: one check per test
//! with its diagnostics and line, plan mismatches, errors at their line, every file in a
//! transaction that is rolled back, nested directories, and pgTAP installed for the run
//! with the session user's rights and removed after it.

use crate::common;

use std::fs;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use common::PgServer;
use migration_guard::checks::pgtap;
use migration_guard::db::Database;
use migration_guard::report::model::VerifyCheck;
use migration_guard::report::{CommandName, Report, Status};
use tempfile::TempDir;

fn server() -> Arc<PgServer> {
    common::shared_server(module_path!(), |_| {})
}

async fn connect(config: &tokio_postgres::Config) -> Database {
    Database::connect(config).await.unwrap()
}

/// A fresh database owned by a fresh non-superuser role, a session that acts as that role
/// as the shadow's does, a superuser session to look at it, and a tests directory.
struct Shadow {
    _server: Arc<PgServer>,
    role: String,
    /// The session the tests run on: the superuser acting as `role`.
    db: Database,
    /// A plain superuser session on the same database.
    admin: Database,
    tests: TempDir,
}

impl Shadow {
    async fn new() -> Shadow {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let server = server();
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let name = format!("pgtap_{}_{n}", std::process::id());
        let role = format!("pgtap_role_{}_{n}", std::process::id());
        let cluster = connect(&tokio_postgres::Config::from_str(&server.url()).unwrap()).await;
        for sql in [
            format!("CREATE ROLE {role} NOLOGIN"),
            format!("CREATE DATABASE {name} OWNER {role}"),
        ] {
            cluster.client.batch_execute(&sql).await.unwrap();
        }
        let mut config = tokio_postgres::Config::from_str(&server.url_for(&name)).unwrap();
        let admin = connect(&config).await;
        config.options(format!(
            "-c role={role} -c search_path=\"$user\",public,extensions"
        ));
        let db = connect(&config).await;
        Shadow {
            _server: server,
            role,
            db,
            admin,
            tests: tempfile::tempdir().unwrap(),
        }
    }

    fn dir(&self) -> &Path {
        self.tests.path()
    }

    /// Writes `<tests>/<path>` (directories made as needed) and returns its path.
    fn file(&self, path: &str, sql: &str) -> PathBuf {
        let path = self.dir().join(path);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, sql).unwrap();
        path
    }

    async fn run_in(&self, dir: &Path) -> Report {
        let mut report = Report::new(CommandName::Shadow);
        pgtap::run(&self.db, &self.admin, dir, &mut report)
            .await
            .unwrap_or_else(|error| panic!("{error}"));
        report
    }

    async fn run(&self) -> Report {
        self.run_in(self.dir()).await
    }

    /// The first column of the first row of `sql`, as the superuser.
    async fn admin_value(&self, sql: &str) -> Option<String> {
        let messages = self.admin.client.simple_query(sql).await.unwrap();
        messages.iter().find_map(|message| match message {
            tokio_postgres::SimpleQueryMessage::Row(row) => row.get(0).map(str::to_string),
            _ => None,
        })
    }

    async fn session_value(&self, sql: &str) -> String {
        let row = self.db.client.query_one(sql, &[]).await.unwrap();
        row.get(0)
    }
}

/// (check, ok, line) of every check.
fn summary(report: &Report) -> Vec<(String, bool, Option<usize>)> {
    report
        .verify
        .iter()
        .map(|check| (check.check.clone(), check.ok, line(report, check)))
        .collect()
}

fn line(report: &Report, check: &VerifyCheck) -> Option<usize> {
    Some(report.locate(check.location.as_ref()?)?.line)
}

fn owned(checks: &[(&str, bool, Option<usize>)]) -> Vec<(String, bool, Option<usize>)> {
    checks
        .iter()
        .map(|(check, ok, line)| (check.to_string(), *ok, *line))
        .collect()
}

#[tokio::test]
async fn passing_and_failing_tests_are_reported_one_by_one() {
    let shadow = Shadow::new().await;
    let file = shadow.file(
        "basic.sql",
        "begin;\n\
         select plan(2);\n\
         \n\
         select ok(true, 'one passes');\n\
         -- the second one does not\n\
         select is(1 + 1, 3, 'arithmetic');\n\
         \n\
         select * from finish();\n\
         rollback;\n",
    );
    let report = shadow.run().await;
    assert_eq!(
        summary(&report),
        owned(&[
            ("1 - one passes", true, Some(4)),
            ("2 - arithmetic", false, Some(6)),
        ])
    );
    assert!(report.verify.iter().all(|check| check.file == file));
    assert_eq!(report.verify[0].detail, "");
    assert_eq!(
        report.verify[1].detail,
        "Failed test 2: \"arithmetic\"\n        have: 2\n        want: 3"
    );
    assert_eq!(report.status(), Status::Failed);
}

#[tokio::test]
async fn skip_and_todo_tests_pass() {
    let shadow = Shadow::new().await;
    shadow.file(
        "skips.sql",
        "begin;\n\
         select plan(3);\n\
         select skip('no network here', 2);\n\
         select todo('not written yet', 1);\n\
         select ok(false, 'later');\n\
         select * from finish();\n\
         rollback;\n",
    );
    let report = shadow.run().await;
    assert_eq!(
        summary(&report),
        owned(&[
            ("1 # SKIP no network here", true, Some(3)),
            ("2 # SKIP no network here", true, Some(3)),
            ("3 - later # TODO not written yet", true, Some(5)),
        ])
    );
    assert_eq!(report.status(), Status::Passed);
}

#[tokio::test]
async fn plan_mismatches_are_failed_checks() {
    let shadow = Shadow::new().await;
    shadow.file(
        "a_finish.sql",
        "begin;\n\
         select plan(3);\n\
         select pass('one');\n\
         select pass('two');\n\
         select * from finish();\n\
         rollback;\n",
    );
    shadow.file(
        "b_no_finish.sql",
        "begin;\n\
         select plan(1);\n\
         select pass('one');\n\
         select pass('two');\n\
         rollback;\n",
    );
    shadow.file("c_no_plan.sql", "select 1;\n");
    shadow.file(
        "d_no_plan_then_finish.sql",
        "select no_plan();\nselect pass('counted at the end');\nselect * from finish();\n",
    );
    let report = shadow.run().await;
    assert_eq!(
        summary(&report),
        owned(&[
            ("1 - one", true, Some(3)),
            ("2 - two", true, Some(4)),
            ("plan", false, Some(5)),
            ("1 - one", true, Some(3)),
            ("2 - two", true, Some(4)),
            ("plan", false, Some(2)),
            ("plan", false, None),
            ("1 - counted at the end", true, Some(2)),
        ])
    );
    assert_eq!(
        report.verify[2].detail,
        "Looks like you planned 3 tests but ran 2"
    );
    assert_eq!(
        report.verify[5].detail,
        "Looks like you planned 1 test but ran 2"
    );
    assert!(report.verify[6].detail.starts_with("no plan"));
}

#[tokio::test]
async fn an_error_is_a_failed_check_at_its_line_and_stops_the_file() {
    let shadow = Shadow::new().await;
    shadow.file(
        "a_divides.sql",
        "begin;\n\
         select plan(2);\n\
         select pass('before');\n\
         select 1 / 0;\n\
         select pass('never runs');\n\
         select * from finish();\n\
         rollback;\n",
    );
    // Postgres points at the column, two lines into the statement.
    shadow.file(
        "b_column.sql",
        "select plan(1);\n\
         select\n  1,\n  no_such_column\nfrom pg_class;\n",
    );
    // The next file starts clean.
    shadow.file(
        "c_after.sql",
        "begin;\nselect plan(1);\nselect pass('after');\nselect * from finish();\nrollback;\n",
    );
    let report = shadow.run().await;
    assert_eq!(
        summary(&report),
        owned(&[
            ("1 - before", true, Some(3)),
            ("a_divides.sql (statement 4)", false, Some(4)),
            ("b_column.sql (statement 2)", false, Some(4)),
            ("1 - after", true, Some(3)),
        ])
    );
    assert_eq!(report.verify[1].detail, "division by zero [22012]");
    assert_eq!(
        report.verify[2].detail,
        "column \"no_such_column\" does not exist [42703]"
    );
}

#[tokio::test]
async fn files_run_in_transactions_that_are_rolled_back() {
    let shadow = Shadow::new().await;
    // Its COMMIT is the end of its own transaction, not of the run's.
    shadow.file(
        "a_commits.sql",
        "begin;\n\
         select plan(2);\n\
         create table made_by_a (id int);\n\
         commit;\n\
         select has_table('public', 'made_by_a', 'visible after its commit');\n\
         insert into made_by_a values (1);\n\
         select is((select count(*)::int from made_by_a), 1, 'one row');\n\
         select * from finish();\n",
    );
    // Leaves its transaction open, and changes the session's settings.
    shadow.file(
        "b_open.sql",
        "begin;\n\
         select plan(1);\n\
         create table made_by_b (id int);\n\
         select has_table('public', 'made_by_b', 'made it');\n\
         set search_path to pg_catalog;\n",
    );
    // Its own ROLLBACK undoes what it made, and the rest of it still runs.
    shadow.file(
        "c_rolls_back.sql",
        "select plan(3);\n\
         begin;\n\
         create table made_by_c (id int);\n\
         rollback;\n\
         select hasnt_table('public', 'made_by_a', 'a is gone');\n\
         select hasnt_table('public', 'made_by_b', 'b is gone');\n\
         select hasnt_table('public', 'made_by_c', 'c is gone');\n",
    );
    let report = shadow.run().await;
    assert_eq!(
        report
            .verify
            .iter()
            .map(|check| (check.check.as_str(), check.ok))
            .collect::<Vec<_>>(),
        [
            ("1 - visible after its commit", true),
            ("2 - one row", true),
            ("1 - made it", true),
            ("1 - a is gone", true),
            ("2 - b is gone", true),
            ("3 - c is gone", true),
        ],
        "{:#?}",
        report.verify
    );
    for table in ["made_by_a", "made_by_b", "made_by_c"] {
        assert_eq!(
            shadow
                .admin_value(&format!("SELECT to_regclass('public.{table}')::text"))
                .await,
            None,
            "{table}"
        );
    }
    assert_eq!(
        shadow.session_value("SELECT current_user::text").await,
        shadow.role
    );
    assert_eq!(
        shadow.session_value("SHOW search_path").await,
        "\"$user\",public,extensions"
    );
    // SAVEPOINT fails outside a transaction block.
    let probe = shadow.db.client.batch_execute("SAVEPOINT probe").await;
    assert_eq!(
        probe.unwrap_err().as_db_error().unwrap().code().code(),
        "25P01",
        "no transaction is left open"
    );
}

#[tokio::test]
async fn no_test_files_means_no_checks_and_no_pgtap() {
    let shadow = Shadow::new().await;
    let missing = shadow.dir().join("missing");
    assert!(shadow.run_in(&missing).await.verify.is_empty());
    assert!(shadow.run().await.verify.is_empty());
    shadow.file("README.md", "# tests\n");
    fs::create_dir_all(shadow.dir().join("database/empty")).unwrap();
    let report = shadow.run().await;
    assert!(report.verify.is_empty());
    assert!(report.notes.is_empty());
    assert_eq!(
        shadow
            .admin_value(
                "SELECT string_agg(nspname, ',') FROM pg_namespace WHERE nspname = 'extensions'"
            )
            .await,
        None
    );
}

#[tokio::test]
async fn nested_directories_are_found_in_path_order() {
    let shadow = Shadow::new().await;
    let test =
        |name: &str| format!("select plan(1);\nselect pass('{name}');\nselect * from finish();\n");
    let z = shadow.file("z_last.sql", &test("z"));
    let b = shadow.file("database/b.sql", &test("b"));
    let c = shadow.file("database/nested/c.sql", &test("c"));
    let a = shadow.file("a_first.sql", &test("a"));
    shadow.file("database/notes.txt", "select 1;\n");
    let report = shadow.run().await;
    assert_eq!(
        report
            .verify
            .iter()
            .map(|check| (check.file.clone(), check.check.as_str()))
            .collect::<Vec<_>>(),
        [(a, "1 - a"), (b, "1 - b"), (c, "1 - c"), (z, "1 - z")]
    );
    assert_eq!(report.status(), Status::Passed);
}

#[tokio::test]
async fn pgtap_is_installed_by_the_session_user_and_removed_after() {
    let shadow = Shadow::new().await;
    shadow.file(
        "owner.sql",
        &format!(
            "begin;\n\
             select plan(2);\n\
             select is(\n\
               (select extowner::regrole::text || ' in ' || extnamespace::regnamespace::text\n\
                  from pg_extension where extname = 'pgtap'),\n\
               'postgres in extensions',\n\
               'installed by the session user'\n\
             );\n\
             select is(current_user::text, '{}', 'run as the role');\n\
             select * from finish();\n\
             rollback;\n",
            shadow.role
        ),
    );
    let report = shadow.run().await;
    assert_eq!(
        summary(&report),
        owned(&[
            ("1 - installed by the session user", true, Some(3)),
            ("2 - run as the role", true, Some(9)),
        ]),
        "{:#?}",
        report.verify
    );
    assert_eq!(
        shadow
            .admin_value("SELECT extname::text FROM pg_extension WHERE extname = 'pgtap'")
            .await,
        None,
        "pgTAP removed after the run"
    );
    assert_eq!(
        shadow
            .admin_value("SELECT nspname::text FROM pg_namespace WHERE nspname = 'extensions'")
            .await,
        None,
        "the schema made for it removed too"
    );
    assert_eq!(
        shadow.session_value("SELECT current_user::text").await,
        shadow.role
    );
}

#[tokio::test]
async fn pgtap_the_migrations_installed_stays() {
    let shadow = Shadow::new().await;
    shadow
        .admin
        .client
        .batch_execute(
            "CREATE SCHEMA extensions; GRANT USAGE ON SCHEMA extensions TO PUBLIC; \
             CREATE EXTENSION pgtap WITH SCHEMA extensions",
        )
        .await
        .unwrap();
    shadow.file(
        "one.sql",
        "select plan(1);\nselect pass('works');\nselect * from finish();\n",
    );
    let report = shadow.run().await;
    assert_eq!(summary(&report), owned(&[("1 - works", true, Some(2))]));
    assert_eq!(
        shadow
            .admin_value("SELECT extname::text FROM pg_extension WHERE extname = 'pgtap'")
            .await
            .as_deref(),
        Some("pgtap")
    );
}

#[tokio::test]
async fn an_existing_extensions_schema_is_kept() {
    let shadow = Shadow::new().await;
    shadow
        .admin
        .client
        .batch_execute("CREATE SCHEMA extensions; GRANT USAGE ON SCHEMA extensions TO PUBLIC")
        .await
        .unwrap();
    shadow.file(
        "one.sql",
        "select plan(1);\nselect pass('works');\nselect * from finish();\n",
    );
    let report = shadow.run().await;
    assert_eq!(summary(&report), owned(&[("1 - works", true, Some(2))]));
    assert_eq!(
        shadow
            .admin_value("SELECT nspname::text FROM pg_namespace WHERE nspname = 'extensions'")
            .await
            .as_deref(),
        Some("extensions")
    );
    assert_eq!(
        shadow
            .admin_value("SELECT extname::text FROM pg_extension WHERE extname = 'pgtap'")
            .await,
        None
    );
}

#[tokio::test]
async fn a_psql_meta_command_is_refused() {
    let shadow = Shadow::new().await;
    shadow.file(
        "meta.sql",
        "select plan(1);\n\\set ON_ERROR_STOP 1\nselect pass('x');\n",
    );
    let report = shadow.run().await;
    assert_eq!(summary(&report), owned(&[("meta.sql", false, Some(2))]));
    assert!(report.verify[0].detail.contains("psql meta-command"));
}
