//! `--base-ref`: the branch's migrations against its base branch in a real git
//! repository: edits and deletions of migrations the base has, new ones out of order,
//! and the clear errors when the history is not there.

use crate::common;

use std::fs;
use std::path::Path;
use std::process::Command;

use common::{Project, output};
use serde_json::Value;

const FIRST: &str = "20250101000000_create_notes.sql";
const SECOND: &str = "20250201000000_add_title.sql";

fn git(dir: &Path, args: &[&str]) -> String {
    let output = Command::new("git")
        .current_dir(dir)
        .args(["-c", "user.name=t", "-c", "user.email=t@example.com"])
        .args(args)
        .output()
        .expect("git runs");
    assert!(
        output.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// A repository whose `main` has two migrations, checked out on a new branch `feature`.
fn repository() -> Project {
    let project = Project::new();
    git(project.path(), &["init", "-q", "-b", "main"]);
    project.file(
        FIRST,
        "-- notes\nCREATE TABLE IF NOT EXISTS notes (id bigint PRIMARY KEY);\n",
    );
    project.file(
        SECOND,
        "ALTER TABLE notes ADD COLUMN IF NOT EXISTS title text;\nALTER TABLE notes ADD COLUMN IF NOT EXISTS body text;\n",
    );
    commit(&project, "base");
    git(project.path(), &["checkout", "-q", "-b", "feature"]);
    project
}

fn commit(project: &Project, message: &str) {
    git(project.path(), &["add", "-A"]);
    git(project.path(), &["commit", "-q", "-m", message]);
}

fn lint(project: &Project, base: &str) -> (i32, Value, String) {
    let (code, stdout, stderr) =
        output(&mut project.command(&["lint", "--format", "json", "--base-ref", base]));
    let report = serde_json::from_str(&stdout).unwrap_or_else(|_| panic!("{stdout}{stderr}"));
    (code, report, stderr)
}

/// (rule, file name, line) of the findings this module adds.
fn base_findings(report: &Value) -> Vec<(String, String, Option<u64>)> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| {
            ["migration-edited", "migration-deleted", "out-of-order"]
                .contains(&f["rule"].as_str().unwrap())
        })
        .map(|f| {
            let file = f["file"].as_str().unwrap_or_default();
            let name = file.rsplit('/').next().unwrap_or_default().to_string();
            (
                f["rule"].as_str().unwrap().to_string(),
                name,
                f["line"].as_u64(),
            )
        })
        .collect()
}

#[test]
fn an_edited_statement_of_a_base_migration_fails_at_that_statement() {
    let project = repository();
    project.file(
        SECOND,
        "ALTER TABLE notes ADD COLUMN IF NOT EXISTS title text;\nALTER TABLE notes ADD COLUMN IF NOT EXISTS body varchar(200);\n",
    );
    let (code, report, _) = lint(&project, "main");
    assert_eq!(code, 1, "{report:#}");
    assert_eq!(
        base_findings(&report),
        [("migration-edited".into(), SECOND.into(), Some(2))]
    );
    let finding = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == "migration-edited")
        .unwrap();
    assert!(
        finding["message"].as_str().unwrap().contains("statement 2"),
        "{finding:#}"
    );
    assert!(
        finding["help"]
            .as_str()
            .unwrap()
            .contains("git checkout main --"),
        "{finding:#}"
    );
    assert!(
        report["notes"][0]
            .as_str()
            .unwrap()
            .starts_with("Compared with `main`"),
        "{report:#}"
    );
}

#[test]
fn comments_whitespace_and_a_new_name_for_the_same_version_are_not_edits() {
    let project = repository();
    fs::remove_file(project.migrations().join(FIRST)).unwrap();
    project.file(
        "20250101000000_create_notes_table.sql",
        "-- the notes table, explained at length\n\nCREATE TABLE IF NOT EXISTS notes (id bigint PRIMARY KEY);   \n",
    );
    let (code, report, _) = lint(&project, "main");
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(base_findings(&report), []);
}

#[test]
fn a_deleted_base_migration_fails() {
    let project = repository();
    fs::remove_file(project.migrations().join(FIRST)).unwrap();
    commit(&project, "drop the first");
    let (code, report, _) = lint(&project, "main");
    assert_eq!(code, 1, "{report:#}");
    let findings = base_findings(&report);
    assert_eq!(findings.len(), 1, "{report:#}");
    assert_eq!(findings[0].0, "migration-deleted");
    let deleted = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == "migration-deleted")
        .unwrap();
    let message = deleted["message"].as_str().unwrap();
    assert!(message.contains(FIRST), "{message}");
    // The way to undo a deployed migration: a revert drafted from what it added.
    let help = deleted["help"].as_str().unwrap();
    assert!(
        help.contains("migration-guard new revert_create_notes --revert 20250101000000"),
        "{help}"
    );
}

#[test]
fn a_new_migration_older_than_the_bases_newest_is_out_of_order_not_the_bases_own() {
    let project = repository();
    // The branch adds a migration...
    project.file(
        "20250301000000_add_tags.sql",
        "ALTER TABLE notes ADD COLUMN IF NOT EXISTS tags text[];\n",
    );
    commit(&project, "tags");
    // ...while main moves on with a newer one the branch does not have.
    git(project.path(), &["checkout", "-q", "main"]);
    project.file(
        "20250401000000_add_pinned.sql",
        "ALTER TABLE notes ADD COLUMN IF NOT EXISTS pinned boolean;\n",
    );
    commit(&project, "pinned");
    git(project.path(), &["checkout", "-q", "feature"]);

    let (code, report, _) = lint(&project, "main");
    // A warning: the run passes unless --fail-on warning.
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(
        base_findings(&report),
        [(
            "out-of-order".into(),
            "20250301000000_add_tags.sql".into(),
            Some(1)
        )]
    );
    let message = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == "out-of-order")
        .unwrap()["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        message.contains("20250401000000") && message.contains("--include-all"),
        "{message}"
    );

    // A team that wants it an error says so in the configuration.
    fs::write(
        project.path().join("migration-guard.yml"),
        "rules:\n  out-of-order: error\n",
    )
    .unwrap();
    let (code, report, _) = lint(&project, "main");
    assert_eq!(code, 1, "{report:#}");
}

#[test]
fn a_clone_without_a_local_base_branch_uses_the_remote_tracking_one() {
    let origin = repository();
    git(origin.path(), &["checkout", "-q", "main"]);
    let clone = tempfile::tempdir().unwrap();
    git(
        clone.path(),
        &["clone", "-q", origin.path().to_str().unwrap(), "."],
    );
    git(clone.path(), &["checkout", "-q", "-b", "feature"]);
    git(clone.path(), &["branch", "-q", "-D", "main"]);
    fs::write(
        clone.path().join("migrations").join(FIRST),
        "CREATE TABLE IF NOT EXISTS notes (id uuid PRIMARY KEY);\n",
    )
    .unwrap();
    let project = Project { root: clone };
    let (code, report, _) = lint(&project, "main");
    assert_eq!(code, 1, "{report:#}");
    assert_eq!(
        base_findings(&report),
        [("migration-edited".into(), FIRST.into(), Some(1))]
    );
    assert!(report["notes"][0].as_str().unwrap().contains("origin/main"));
}

#[test]
fn a_base_without_the_migrations_directory_has_nothing_to_compare() {
    let project = Project::new();
    git(project.path(), &["init", "-q", "-b", "main"]);
    fs::write(project.path().join("README"), "hello\n").unwrap();
    commit(&project, "empty");
    git(project.path(), &["checkout", "-q", "-b", "feature"]);
    project.file(FIRST, "SELECT 1;\n");
    let (code, report, _) = lint(&project, "main");
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(base_findings(&report), []);
}

#[test]
fn an_unknown_base_or_no_repository_is_an_error_that_says_what_to_do() {
    let project = repository();
    let (code, report, _) = lint(&project, "release");
    assert_eq!(code, 2, "{report:#}");
    let error = report["error"]["message"].as_str().unwrap();
    assert!(
        error.contains("origin/release") && error.contains("fetch-depth: 0"),
        "{error}"
    );

    let plain = Project::new();
    plain.file(FIRST, "SELECT 1;\n");
    let (code, report, _) = lint(&plain, "main");
    assert_eq!(code, 2, "{report:#}");
    assert!(
        report["error"]["message"]
            .as_str()
            .unwrap()
            .contains("not in a git repository"),
        "{report:#}"
    );
}

#[test]
fn the_shadow_reports_only_the_advisor_findings_this_branch_introduces() {
    // The base's notes table has no row level security: the advisors see it, but it is
    // not this branch's doing.
    let project = repository();
    project.file(
        "20250301000000_tags.sql",
        "CREATE TABLE IF NOT EXISTS public.tags (id bigint PRIMARY KEY);\n",
    );
    commit(&project, "tags");
    let (_, stdout, stderr) = output(&mut project.command(&[
        "shadow",
        "--format",
        "json",
        "--provider",
        "local",
        "--base-ref",
        "main",
    ]));
    let report: Value = serde_json::from_str(&stdout).unwrap_or_else(|_| panic!("{stderr}"));
    let advised: Vec<(String, String)> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == "advisor-rls-disabled-in-public")
        .map(|f| {
            let file = f["file"].as_str().unwrap().rsplit('/').next().unwrap();
            (file.to_string(), f["message"].as_str().unwrap().to_string())
        })
        .collect();
    assert_eq!(advised.len(), 1, "{report:#}");
    assert_eq!(advised[0].0, "20250301000000_tags.sql");
    assert!(advised[0].1.starts_with("public.tags:"), "{advised:?}");

    // Without a base, the notes table is reported too, on the last file that changed it.
    let (_, stdout, _) =
        output(&mut project.command(&["shadow", "--format", "json", "--provider", "local"]));
    let report: Value = serde_json::from_str(&stdout).unwrap();
    let files: Vec<&str> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == "advisor-rls-disabled-in-public")
        .map(|f| f["file"].as_str().unwrap().rsplit('/').next().unwrap())
        .collect();
    assert_eq!(files, [SECOND, "20250301000000_tags.sql"], "{report:#}");
}

/// A base whose migrations break every rule (as deployed history does), and a branch
/// that adds one file: the verdict is about that file alone.
fn repository_with_a_noisy_history() -> Project {
    let project = Project::new();
    git(project.path(), &["init", "-q", "-b", "main"]);
    project.file(
        FIRST,
        "CREATE TABLE notes (id bigint PRIMARY KEY, body text);\nCREATE TABLE drafts (id int);\n",
    );
    project.file(
        SECOND,
        "DROP TABLE drafts;\nALTER TABLE notes ALTER COLUMN body TYPE varchar(200);\nTRUNCATE notes;\n",
    );
    commit(&project, "base");
    git(project.path(), &["checkout", "-q", "-b", "feature"]);
    project
}

fn rules(findings: &Value) -> Vec<(String, String)> {
    findings
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let file = f["file"].as_str().unwrap_or_default();
            (
                f["rule"].as_str().unwrap().to_string(),
                file.rsplit('/').next().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

#[test]
fn findings_on_migrations_the_base_has_are_history_not_the_branchs() {
    let project = repository_with_a_noisy_history();
    project.file(
        "20250301000000_tags.sql",
        "CREATE TABLE IF NOT EXISTS public.tags (id bigint PRIMARY KEY);\nALTER TABLE public.tags ENABLE ROW LEVEL SECURITY;\n",
    );
    commit(&project, "tags");
    for command in [&["lint"][..], &["shadow", "--provider", "local"][..]] {
        let mut args = command.to_vec();
        args.extend(["--format", "json", "--base-ref", "main"]);
        let (code, stdout, stderr) = output(&mut project.command(&args));
        let report: Value = serde_json::from_str(&stdout).unwrap_or_else(|_| panic!("{stderr}"));
        let branch = rules(&report["findings"]);
        assert!(
            branch
                .iter()
                .all(|(_, file)| file == "20250301000000_tags.sql"),
            "{command:?}: {branch:?}"
        );
        assert_eq!(code, 0, "{command:?}: {report:#}");
        let history = rules(&report["baseline_findings"]);
        assert!(
            history.contains(&("no-drop-table".to_string(), SECOND.to_string())),
            "{command:?}: {history:?}"
        );
        assert!(
            history
                .iter()
                .all(|(_, file)| file == FIRST || file == SECOND),
            "{command:?}: {history:?}"
        );
        assert_eq!(report["history"], "on `main`");
        // Text shows history as one line.
        let mut args = command.to_vec();
        args.extend(["--base-ref", "main"]);
        let (_, text, _) = output(&mut project.command(&args));
        assert!(!text.contains("no-drop-table"), "{text}");
        assert!(
            text.contains(&format!(
                "{} findings in 2 migrations already deployed (on `main`)",
                history.len()
            )),
            "{text}"
        );
    }

    // A branch that adds a destructive migration fails on it.
    project.file("20250401000000_drop_tags.sql", "DROP TABLE public.tags;\n");
    commit(&project, "drop tags");
    let (code, report, _) = lint(&project, "main");
    assert_eq!(code, 1, "{report:#}");
    assert!(
        rules(&report["findings"]).contains(&(
            "no-drop-table".to_string(),
            "20250401000000_drop_tags.sql".to_string()
        )),
        "{report:#}"
    );
}

#[test]
fn an_edited_base_migration_is_the_branchs_and_keeps_its_findings() {
    let project = repository_with_a_noisy_history();
    project.file(
        SECOND,
        "DROP TABLE drafts;\nALTER TABLE notes ALTER COLUMN body TYPE varchar(300);\nTRUNCATE notes;\n",
    );
    commit(&project, "edit");
    let (code, report, _) = lint(&project, "main");
    assert_eq!(code, 1);
    let branch = rules(&report["findings"]);
    assert!(
        branch.contains(&("migration-edited".to_string(), SECOND.to_string())),
        "{branch:?}"
    );
    assert!(
        branch.contains(&("no-drop-table".to_string(), SECOND.to_string())),
        "{branch:?}"
    );
}

#[test]
fn a_base_migration_that_fails_in_the_shadow_is_an_error_that_names_it() {
    let project = Project::new();
    git(project.path(), &["init", "-q", "-b", "main"]);
    project.file(
        FIRST,
        "ALTER TABLE made_in_the_dashboard ADD COLUMN x int;\n",
    );
    commit(&project, "base");
    git(project.path(), &["checkout", "-q", "-b", "feature"]);
    project.file(SECOND, "CREATE TABLE IF NOT EXISTS t (id int);\n");
    commit(&project, "new");
    let (code, stdout, stderr) =
        output(&mut project.command(&["shadow", "--provider", "local", "--base-ref", "main"]));
    assert_eq!(code, 2, "{stdout}\n{stderr}");
    // A report that ends in an error goes to stderr, with the files' status still shown.
    let text = format!("{stdout}{stderr}");
    assert!(
        text.contains(&format!(
            "{FIRST} is already deployed (on `main`) but fails in the shadow"
        )),
        "{text}"
    );
    assert!(text.contains("skipped  20250201000000"), "{text}");
}

#[test]
fn the_configured_baseline_makes_history_without_git() {
    let project = Project::new();
    project.file(FIRST, "CREATE TABLE notes (id int);\nDROP TABLE notes;\n");
    project.file(SECOND, "TRUNCATE somewhere;\n");
    let (code, _, _) = output(&mut project.command(&["lint"]));
    assert_eq!(code, 1);
    let (code, stdout, stderr) = output(&mut project.command(&["baseline"]));
    assert_eq!(code, 0, "{stdout}{stderr}");
    let written = fs::read_to_string(project.path().join("migration-guard.yml")).unwrap();
    assert!(
        written.contains("baseline: \"20250201000000\""),
        "{written}"
    );
    let (code, stdout, _) = output(&mut project.command(&["lint", "--format", "json"]));
    let report: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(rules(&report["findings"]), Vec::<(String, String)>::new());
    assert_eq!(
        report["history"],
        "at or before the baseline 20250201000000"
    );
    // A later migration is judged again.
    project.file("20250301000000_x.sql", "DROP TABLE IF EXISTS other;\n");
    let (code, _, _) = output(&mut project.command(&["lint"]));
    assert_eq!(code, 1);
}
