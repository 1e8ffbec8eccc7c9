//! `migration-guard new NAME`: the file name, the template, a clock behind the newest
//! version, and names that are refused.

use crate::common;

use std::fs;

use common::{Project, output};

fn created(stdout: &str) -> std::path::PathBuf {
    let report: serde_json::Value = serde_json::from_str(stdout).unwrap();
    assert_eq!(report["status"], "passed", "{stdout}");
    report["created"][0].as_str().unwrap().into()
}

#[test]
fn writes_a_timestamped_file_from_the_template() {
    let project = Project::new();
    let before = chrono::Utc::now().format("%Y%m%d%H%M%S").to_string();
    let (code, stdout, _) =
        output(&mut project.command(&["new", "add_user_email", "--format", "json"]));
    let after = chrono::Utc::now().format("%Y%m%d%H%M%S").to_string();
    assert_eq!(code, 0);
    let path = created(&stdout);
    let file_name = path.file_name().unwrap().to_str().unwrap();
    let (version, name) = file_name.split_once('_').unwrap();
    assert_eq!(version.len(), 14);
    assert!(
        before.as_str() <= version && version <= after.as_str(),
        "{version}"
    );
    assert_eq!(name, "add_user_email.sql");
    assert_eq!(path.parent().unwrap(), std::path::Path::new("migrations"));

    let sql = fs::read_to_string(project.path().join(&path)).unwrap();
    assert!(sql.starts_with("-- Migration: add_user_email\n"), "{sql}");
    for needle in [
        "BEGIN;",
        "SET LOCAL lock_timeout",
        "SET LOCAL statement_timeout",
        "IF NOT EXISTS",
        "COMMIT;",
    ] {
        assert!(sql.contains(needle), "{needle} missing from the template");
    }
    // The template itself is a clean migration.
    let (code, stdout, _) = output(&mut project.command(&["status", "--format", "json"]));
    assert_eq!(code, 0, "{stdout}");
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["findings"], serde_json::json!([]));
    assert_eq!(
        report["migrations"][0]["statements"], 4,
        "BEGIN, two SETs, COMMIT"
    );
}

#[test]
fn clock_behind_the_newest_version_bumps_past_it() {
    let project = Project::new();
    project.file("29991231235959_from_the_future.sql", "SELECT 1;");
    project.file("0001_old.sql", "SELECT 1;");
    let (code, stdout, _) = output(&mut project.command(&["new", "next", "--format", "json"]));
    assert_eq!(code, 0);
    assert_eq!(
        created(&stdout),
        std::path::Path::new("migrations/30000101000000_next.sql")
    );
}

#[test]
fn text_output_names_the_file() {
    let project = Project::new();
    let (code, stdout, _) = output(&mut project.command(&["new", "first"]));
    assert_eq!(code, 0);
    assert!(
        stdout.starts_with("Created new migration at migrations/"),
        "{stdout}"
    );
    assert!(stdout.contains("_first.sql"), "{stdout}");
}

#[test]
fn missing_directory_is_created() {
    let project = Project::new();
    let (code, stdout, _) = output(
        &mut project.command_in("supabase/migrations", &["new", "init", "--format", "json"]),
    );
    assert_eq!(code, 0, "{stdout}");
    let path = created(&stdout);
    assert!(project.path().join(path).is_file());
}

#[test]
fn unsafe_names_are_refused_with_a_suggestion() {
    let project = Project::new();
    for (name, expected) in [
        ("add users", "(for example add_users)"),
        ("../../etc/x", "(for example etc_x)"),
        ("", "not a safe migration name"),
    ] {
        let (code, _, stderr) = output(&mut project.command(&["new", name]));
        assert_eq!(code, 2, "{name:?}");
        assert!(stderr.contains(expected), "{name:?}: {stderr}");
    }
    assert_eq!(
        fs::read_dir(project.migrations()).unwrap().count(),
        0,
        "nothing written"
    );
}

#[test]
fn migrations_path_that_is_a_file_is_an_error() {
    let project = Project::new();
    project.file("0001_a.sql", "SELECT 1;");
    let (code, _, stderr) = output(&mut project.command_in("migrations/0001_a.sql", &["new", "x"]));
    assert_eq!(code, 2);
    assert!(stderr.contains("is not a directory"), "{stderr}");
}
