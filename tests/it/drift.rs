//! `migration-guard drift`: a real database deployed from the migrations, compared with a
//! shadow built from them; changes made by hand show up by their full names.

use crate::common;

use std::process::Command;

use common::{PgServer, Project};
use serde_json::Value;

fn project() -> Project {
    let project = Project::new();
    project.file(
        "20250101000000_notes.sql",
        "CREATE TABLE IF NOT EXISTS public.notes (id bigint PRIMARY KEY, body text);\n\
         CREATE INDEX IF NOT EXISTS notes_body_idx ON public.notes (body);\n",
    );
    project.file(
        "20250102000000_tags.sql",
        "ALTER TABLE public.notes ADD COLUMN IF NOT EXISTS tags text[] DEFAULT '{}';\n",
    );
    project
}

fn run(project: &Project, server: &PgServer, args: &[&str]) -> (i32, Value) {
    let output = Command::new(env!("CARGO_BIN_EXE_migration-guard"))
        .current_dir(project.path())
        .env("MIGRATION_GUARD_DB_URL", server.url_for("target"))
        .env("MIGRATION_GUARD_WATCH", "0")
        .args(args)
        .args(["--format", "json", "--dir", "migrations"])
        .output()
        .unwrap();
    let stdout = String::from_utf8(output.stdout).unwrap();
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        !format!("{stdout}{stderr}").contains(&server.password),
        "the password was printed"
    );
    let report = serde_json::from_str(&stdout).unwrap_or_else(|_| panic!("{stdout}\n{stderr}"));
    (output.status.code().unwrap(), report)
}

fn drift(project: &Project, server: &PgServer) -> (i32, Value) {
    // The target is plain Postgres, deployed as a superuser: so is the shadow.
    run(
        project,
        server,
        &["drift", "--provider", "local", "--no-supabase-compat"],
    )
}

fn items(report: &Value) -> Vec<(String, String, String)> {
    report["drift"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| {
            (
                item["change"].as_str().unwrap().to_string(),
                item["kind"].as_str().unwrap().to_string(),
                item["object"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn a_target_built_from_the_migrations_has_no_drift_and_hand_changes_are_named() {
    let server = PgServer::start();
    server.psql("CREATE DATABASE target");
    let project = project();
    let (code, report) = run(&project, &server, &["deploy", "--target", "staging"]);
    assert_eq!(code, 0, "{report:#}");

    let (code, report) = drift(&project, &server);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(report["command"], "drift");
    assert_eq!(items(&report), [], "{report:#}");

    // Made by hand in the dashboard: a column added, an index dropped.
    server.psql_in(
        "target",
        "ALTER TABLE public.notes ADD COLUMN nickname text; DROP INDEX public.notes_body_idx;",
    );
    let (code, report) = drift(&project, &server);
    assert_eq!(code, 1, "{report:#}");
    let mut found = items(&report);
    found.sort();
    assert_eq!(
        found,
        [
            (
                "extra".to_string(),
                "column".to_string(),
                "public.notes.nickname".to_string()
            ),
            (
                "missing".to_string(),
                "index".to_string(),
                "public.notes.notes_body_idx".to_string()
            ),
        ],
        "{report:#}"
    );
    // Only read: the target's history and schema are as they were.
    assert_eq!(
        server.psql_in(
            "target",
            "SELECT count(*) FROM supabase_migrations.schema_migrations"
        ),
        "2"
    );
}

#[test]
fn only_the_migrations_the_target_applied_are_built() {
    let server = PgServer::start();
    server.psql("CREATE DATABASE target");
    let project = project();
    let (code, _) = run(&project, &server, &["deploy", "--target", "staging"]);
    assert_eq!(code, 0);
    // A new local migration the target has not applied is not drift.
    project.file(
        "20250103000000_pinned.sql",
        "ALTER TABLE public.notes ADD COLUMN IF NOT EXISTS pinned boolean;\n",
    );
    let (code, report) = drift(&project, &server);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(items(&report), []);
    assert!(report["notes"].to_string().contains("2 migration(s)"));
}

#[test]
fn a_deploy_with_drift_checks_the_target_after_applying() {
    let server = PgServer::start();
    server.psql("CREATE DATABASE target");
    let project = project();
    let deploy = |project: &Project| {
        run(
            project,
            &server,
            &[
                "deploy",
                "--target",
                "staging",
                "--drift",
                "--provider",
                "local",
                "--no-supabase-compat",
            ],
        )
    };
    let (code, report) = deploy(&project);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(items(&report), []);
    assert!(
        report["notes"].to_string().contains("Drift: compared"),
        "{report:#}"
    );

    // Someone adds an index by hand; the next deploy applies its migration, then says so.
    server.psql_in("target", "CREATE INDEX notes_tags_idx ON public.notes (id)");
    project.file(
        "20250103000000_pinned.sql",
        "ALTER TABLE public.notes ADD COLUMN IF NOT EXISTS pinned boolean;\n",
    );
    let (code, report) = deploy(&project);
    assert_eq!(code, 1, "{report:#}");
    assert_eq!(report["migrations"][2]["status"], "applied");
    assert_eq!(
        items(&report),
        [(
            "extra".to_string(),
            "index".to_string(),
            "public.notes.notes_tags_idx".to_string()
        )]
    );
}
