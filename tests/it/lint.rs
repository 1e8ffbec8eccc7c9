//! `migration-guard lint` on a migration set written the way real Supabase projects
//! write them (RLS policies, plpgsql functions, triggers on auth.users, grants, storage
//! buckets, a DO block): exactly the findings a reviewer would act on, and nothing else;
//! plus the text, JSON, SARIF and annotation renderings.

use crate::common;

use common::{Project, output};
use serde_json::Value;

const REALISTIC: &str = "tests/fixtures/realistic/migrations";

fn lint(format: &str, extra: &[&str]) -> (i32, String) {
    let mut command = assert_cmd::Command::cargo_bin("migration-guard").unwrap();
    command
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("NO_COLOR", "1")
        .env_remove("MIGRATION_GUARD_FORMAT")
        .args(["lint", "--dir", REALISTIC, "--format", format])
        .args(extra);
    let (code, stdout, stderr) = output(&mut command);
    assert!(!stderr.contains("panicked"), "{stderr}");
    (code, stdout)
}

#[test]
fn a_realistic_supabase_set_gets_exactly_the_findings_a_reviewer_wants() {
    let (code, stdout) = lint("json", &[]);
    assert_eq!(code, 1, "error findings fail the run");
    let report: Value = serde_json::from_str(&stdout).unwrap();
    let found: Vec<(String, String, u64)> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let file = f["file"]
                .as_str()
                .unwrap()
                .rsplit('/')
                .next()
                .unwrap()
                .to_string();
            (
                f["rule"].as_str().unwrap().to_string(),
                file,
                f["line"].as_u64().unwrap(),
            )
        })
        .collect();
    let expected = [
        ("unparsed", "20240101000000_init.sql", 60),
        (
            "add-column-requires-default",
            "20240103000000_team_settings.sql",
            6,
        ),
        ("prefer-jsonb", "20240103000000_team_settings.sql", 7),
        (
            "require-concurrent-index",
            "20240103000000_team_settings.sql",
            8,
        ),
        ("no-unbounded-dml", "20240103000000_team_settings.sql", 9),
        (
            "on-conflict-needs-unique",
            "20240103000000_team_settings.sql",
            12,
        ),
        ("no-drop-column", "20240103000000_team_settings.sql", 13),
    ];
    let expected: Vec<(String, String, u64)> = expected
        .iter()
        .map(|(rule, file, line)| (rule.to_string(), file.to_string(), *line))
        .collect();
    assert_eq!(found, expected);
}

#[test]
fn text_output() {
    let (_, stdout) = lint("text", &[]);
    insta::assert_snapshot!(stdout);
}

#[test]
fn json_output() {
    let (_, stdout) = lint("json", &[]);
    insta::assert_snapshot!(stdout);
}

#[test]
fn sarif_output() {
    let (_, stdout) = lint("sarif", &[]);
    let mut sarif = crate::sarif::assert_schema_valid(&stdout);
    // The rules' pages have their own test (docs.rs): here, only that each is there.
    for rule in sarif["runs"][0]["tool"]["driver"]["rules"]
        .as_array_mut()
        .unwrap()
    {
        let page = rule["help"]["markdown"].as_str().unwrap();
        assert!(page.starts_with(&format!("# {}\n", rule["id"].as_str().unwrap())));
        rule["help"]["markdown"] = "<docs/rules page>".into();
    }
    insta::assert_snapshot!(serde_json::to_string_pretty(&sarif).unwrap());
}

#[test]
fn markdown_comment() {
    let (_, stdout) = lint("markdown", &[]);
    insta::assert_snapshot!(stdout);
}

#[test]
fn github_annotations() {
    let (_, stdout) = lint("github", &[]);
    insta::assert_snapshot!(stdout);
}

#[test]
fn fail_on_warning_and_configured_severities() {
    let project = Project::new();
    project.file("0001_t.sql", "CREATE TABLE IF NOT EXISTS t (id int);\n");
    project.file(
        "0002_index.sql",
        "BEGIN;\nSET LOCAL lock_timeout = '5s';\nSET LOCAL statement_timeout = '60s';\nCREATE INDEX IF NOT EXISTS t_id ON t (id);\nCOMMIT;\n",
    );
    let (code, _, _) = output(&mut project.command(&["lint"]));
    assert_eq!(code, 0, "warnings alone pass");
    let (code, _, _) = output(&mut project.command(&["lint", "--fail-on", "warning"]));
    assert_eq!(code, 1, "--fail-on warning fails on them");

    std::fs::write(
        project.path().join("migration-guard.yml"),
        "rules:\n  require-concurrent-index: error\n  require-transaction: off\n",
    )
    .unwrap();
    let (code, stdout, _) = output(&mut project.command(&["lint", "--format", "json"]));
    assert_eq!(code, 1, "configured as an error: {stdout}");
    let report: Value = serde_json::from_str(&stdout).unwrap();
    let rules: Vec<&str> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule"].as_str().unwrap())
        .collect();
    assert_eq!(
        rules,
        ["require-concurrent-index"],
        "require-transaction is off"
    );
}

#[test]
fn a_bad_configuration_is_a_clear_error() {
    let project = Project::new();
    project.file("0001_t.sql", "SELECT 1;\n");
    std::fs::write(
        project.path().join("migration-guard.yml"),
        "rules:\n  no-drop-tabel: off\n",
    )
    .unwrap();
    let (code, _, stderr) = output(&mut project.command(&["lint"]));
    assert_eq!(code, 2);
    assert!(
        stderr.contains("migration-guard.yml: rules: unknown rule id `no-drop-tabel`"),
        "{stderr}"
    );
}

#[test]
fn suppressions_show_their_reason_and_unused_ones_are_reported() {
    let project = Project::new();
    project.file(
        "0001_t.sql",
        "CREATE TABLE IF NOT EXISTS t (id int, old text);\n",
    );
    project.file(
        "0002_drop.sql",
        "BEGIN;\nSET LOCAL lock_timeout = '5s';\nSET LOCAL statement_timeout = '60s';\n-- migration-guard: allow no-drop-column -- replaced by new_col in #12\nALTER TABLE t DROP COLUMN IF EXISTS old;\n-- migration-guard: allow no-truncate -- nothing to truncate here\nSELECT 1;\nCOMMIT;\n",
    );
    let (code, stdout, _) = output(&mut project.command(&["lint", "--format", "json"]));
    let report: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(code, 0, "the only error is allowed: {stdout}");
    let findings = report["findings"].as_array().unwrap();
    let allowed = findings
        .iter()
        .find(|f| f["rule"] == "no-drop-column")
        .unwrap();
    assert_eq!(allowed["severity"], "info");
    assert!(
        allowed["message"]
            .as_str()
            .unwrap()
            .ends_with("(allowed: replaced by new_col in #12)")
    );
    let unused = findings
        .iter()
        .find(|f| f["rule"] == "unused-suppression")
        .unwrap();
    assert_eq!(unused["line"], 6);
}

/// Text output is linear in the findings whatever the lines: a file of one long line
/// with thousands of findings shows a window of the line for each, never the line.
#[test]
fn one_long_line_with_many_findings_gives_output_linear_in_them() {
    let project = common::Project::new();
    let statements = 3_000;
    project.file(
        "0001_one_line.sql",
        "DELETE FROM events;".repeat(statements),
    );
    let (code, stdout, stderr) = common::output(&mut project.command(&["lint"]));
    assert_eq!(code, 1, "{stderr}");
    let findings = stdout.matches("error[no-unbounded-dml]").count();
    assert_eq!(findings, statements);
    // About a window of the line, the carets and the help for each.
    assert!(
        stdout.len() < statements * 1_000,
        "{} bytes for {statements} findings",
        stdout.len()
    );
    assert!(stdout.contains('…'));
    // The counts by rule close the report.
    assert!(
        stdout.contains("Findings by rule"),
        "{}",
        &stdout[stdout.len() - 500..]
    );
}

#[test]
fn quiet_shows_only_errors_and_verbose_the_infos_that_ask_nothing() {
    let project = common::Project::new();
    project.file(
        "0001_mixed.sql",
        "CREATE TABLE IF NOT EXISTS t (id int);\n\
         CREATE INDEX IF NOT EXISTS t_id ON events (id);\n\
         DROP TABLE legacy;\n\
         ALTER SEQUENCE s RESTART WITH 5;\n",
    );
    let text = |flag: &[&str]| {
        let mut args = vec!["lint"];
        args.extend_from_slice(flag);
        common::output(&mut project.command(&args)).1
    };
    let normal = text(&[]);
    assert!(normal.contains("error[no-drop-table]"), "{normal}");
    assert!(
        normal.contains("warning[require-concurrent-index]"),
        "{normal}"
    );
    assert!(!normal.contains("[unparsed]"), "{normal}");
    let quiet = text(&["--quiet"]);
    assert!(quiet.contains("error[no-drop-table]"), "{quiet}");
    assert!(!quiet.contains("warning["), "{quiet}");
    let verbose = text(&["--verbose"]);
    assert!(verbose.contains("[unparsed]"), "{verbose}");
}
