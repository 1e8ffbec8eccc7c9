//! `migration-guard action` run the way the runner runs it: INPUT_* and GITHUB_* in the
//! environment, the file-command files, a pull-request event, and a local fake of the
//! GitHub REST API. The comment is created on the first run and updated on the second.

use crate::common;

use std::fs;
use std::path::Path;

use common::Project;
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const COMMENTS: &str = "/repos/acme/shop/issues/42/comments";

fn comment(id: u64, body: &str) -> Value {
    json!({
        "id": id, "node_id": "IC_x", "body": body,
        "url": format!("https://api.example/repos/acme/shop/issues/comments/{id}"),
        "html_url": format!("https://github.com/acme/shop/pull/42#issuecomment-{id}"),
        "issue_url": "https://api.example/repos/acme/shop/issues/42",
        "user": {"login": "github-actions[bot]", "id": 41898282, "node_id": "x", "type": "Bot", "site_admin": false},
        "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z",
        "author_association": "NONE"
    })
}

/// The fake answers the comment list of the pull request with `comments`.
async fn list_comments(api: &MockServer, comments: Value) {
    Mock::given(method("GET"))
        .and(path(COMMENTS))
        .respond_with(ResponseTemplate::new(200).set_body_json(comments))
        .mount(api)
        .await;
}

/// Runs the action in `project` against `api`; returns (exit code, stdout).
async fn run_action(project: &Project, api: &str, runner: &Path) -> (i32, String) {
    run_action_with(project, api, runner, &[]).await
}

/// [`run_action`] with more `INPUT_*` (or other) variables.
async fn run_action_with(
    project: &Project,
    api: &str,
    runner: &Path,
    extra: &[(&str, &str)],
) -> (i32, String) {
    let event = runner.join("event.json");
    fs::write(
        &event,
        json!({"pull_request": {"number": 42, "head": {"sha": "abc", "repo": {"id": 1}}, "base": {"ref": "main", "repo": {"id": 1}}}}).to_string(),
    )
    .unwrap();
    let mut command = std::process::Command::new(assert_cmd::cargo::cargo_bin("migration-guard"));
    command
        .arg("action")
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap())
        .env("INPUT_COMMAND", "lint")
        .env("INPUT_MIGRATIONS-DIR", "migrations")
        .env("INPUT_GITHUB-TOKEN", "ghs_secret_token_123")
        .env("INPUT_COMMENT", "true")
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_WORKSPACE", project.path())
        .env("GITHUB_EVENT_NAME", "pull_request")
        .env("GITHUB_EVENT_PATH", &event)
        .env("GITHUB_REPOSITORY", "acme/shop")
        .env("GITHUB_API_URL", api)
        .env("GITHUB_OUTPUT", runner.join("output"))
        .env("GITHUB_STEP_SUMMARY", runner.join("summary"))
        .env("RUNNER_TEMP", runner)
        .envs(extra.iter().copied());
    let output = tokio::task::spawn_blocking(move || command.output().unwrap())
        .await
        .unwrap();
    (
        output.status.code().unwrap(),
        String::from_utf8(output.stdout).unwrap(),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn first_run_comments_second_run_updates_and_files_are_written() {
    let project = Project::new();
    project.file(
        "0001_t.sql",
        "CREATE TABLE IF NOT EXISTS t (id int, old text);\n",
    );
    project.file(
        "0002_drop.sql",
        "BEGIN;\nALTER TABLE t DROP COLUMN IF EXISTS old;\nCOMMIT;\n",
    );
    let runner = tempfile::tempdir().unwrap();

    let api = MockServer::start().await;
    list_comments(&api, json!([])).await;
    Mock::given(method("POST"))
        .and(path(COMMENTS))
        .respond_with(
            ResponseTemplate::new(201).set_body_json(comment(7, "<!-- migration-guard -->")),
        )
        .expect(1)
        .mount(&api)
        .await;
    let (code, stdout) = run_action(&project, &api.uri(), runner.path()).await;
    assert_eq!(code, 1, "a no-drop-column error fails the step:\n{stdout}");
    assert_eq!(
        stdout.lines().next(),
        Some("::add-mask::ghs_secret_token_123"),
        "masks first"
    );
    assert_eq!(
        stdout.matches("ghs_secret_token_123").count(),
        1,
        "the token is printed only to mask it"
    );
    assert!(
        stdout.contains("::error file=migrations/0002_drop.sql,line=2,col="),
        "{stdout}"
    );
    assert!(stdout.contains("commented on the pull request"), "{stdout}");
    let posted: Value =
        serde_json::from_slice(&api.received_requests().await.unwrap().last().unwrap().body)
            .unwrap();
    assert!(
        posted["body"]
            .as_str()
            .unwrap()
            .starts_with("<!-- migration-guard:lint:. -->\n### ❌ migration-guard lint: failed")
    );

    let outputs = fs::read_to_string(runner.path().join("output")).unwrap();
    assert!(outputs.contains("status=failed\n"), "{outputs}");
    assert!(outputs.contains("findings="), "{outputs}");
    let report_path = outputs
        .lines()
        .find_map(|l| l.strip_prefix("report-path="))
        .unwrap();
    assert_eq!(report_path, ".migration-guard/lint/report.json");
    let report: Value =
        serde_json::from_str(&fs::read_to_string(project.path().join(report_path)).unwrap())
            .unwrap();
    assert_eq!(report["command"], "lint");
    let sarif_path = outputs
        .lines()
        .find_map(|l| l.strip_prefix("sarif-path="))
        .unwrap();
    assert_eq!(sarif_path, ".migration-guard/lint/report.sarif");
    let sarif = crate::sarif::assert_schema_valid(
        &fs::read_to_string(project.path().join(sarif_path)).unwrap(),
    );
    let rules: Vec<&str> = sarif["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|result| result["ruleId"].as_str())
        .collect();
    assert!(rules.contains(&"no-drop-column"), "{rules:?}");
    let summary = fs::read_to_string(runner.path().join("summary")).unwrap();
    assert!(summary.contains("no-drop-column"), "{summary}");
    api.verify().await;

    // Second run: our comment exists, so it is updated, not added again.
    api.reset().await;
    list_comments(&api, json!([comment(7, "<!-- migration-guard -->\nold")])).await;
    Mock::given(method("PATCH"))
        .and(path("/repos/acme/shop/issues/comments/7"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(comment(7, "<!-- migration-guard -->")),
        )
        .expect(1)
        .mount(&api)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(500))
        .expect(0)
        .mount(&api)
        .await;
    let (code, stdout) = run_action(&project, &api.uri(), runner.path()).await;
    assert_eq!(code, 1);
    assert!(
        stdout.contains("updated the pull-request comment"),
        "{stdout}"
    );
    api.verify().await;

    // Third run, beside a shadow step's comment: each command keeps its own (the old
    // generic one above was taken over by the second run).
    api.reset().await;
    list_comments(
        &api,
        json!([
            comment(8, "<!-- migration-guard:shadow:. -->\nthe shadow's"),
            comment(9, "<!-- migration-guard:lint:. -->\nthe last lint"),
        ]),
    )
    .await;
    Mock::given(method("PATCH"))
        .and(path("/repos/acme/shop/issues/comments/9"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(comment(9, "<!-- migration-guard:lint:. -->")),
        )
        .expect(1)
        .mount(&api)
        .await;
    Mock::given(method("PATCH"))
        .and(path("/repos/acme/shop/issues/comments/8"))
        .respond_with(ResponseTemplate::new(500))
        .expect(0)
        .mount(&api)
        .await;
    let (code, stdout) = run_action(&project, &api.uri(), runner.path()).await;
    assert_eq!(code, 1);
    assert!(
        stdout.contains("updated the pull-request comment"),
        "{stdout}"
    );
    api.verify().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_read_only_token_on_a_fork_is_a_warning_not_the_verdict() {
    let project = Project::new();
    project.file(
        "0001_t.sql",
        "BEGIN;\nCREATE TABLE IF NOT EXISTS t (id int);\nCOMMIT;\n",
    );
    let runner = tempfile::tempdir().unwrap();
    let api = MockServer::start().await;
    list_comments(&api, json!([])).await;
    Mock::given(method("POST"))
        .and(path(COMMENTS))
        .respond_with(
            ResponseTemplate::new(403)
                .set_body_json(json!({"message": "Resource not accessible by integration"})),
        )
        .mount(&api)
        .await;
    let (code, stdout) = run_action(&project, &api.uri(), runner.path()).await;
    assert_eq!(code, 0, "the migrations pass: {stdout}");
    assert!(stdout.contains("::warning title=migration-guard::no pull-request comment (Resource not accessible by integration"), "{stdout}");
    assert!(
        fs::read_to_string(runner.path().join("summary"))
            .unwrap()
            .contains("migration-guard lint: passed")
    );
}

/// The report folder is hidden (`.migration-guard`), and `upload-artifact` leaves hidden
/// files out unless told: every artifact step of the shipped workflow and of the README's
/// says `include-hidden-files: true`, or the reports and the backup are never kept.
#[test]
fn every_artifact_step_keeps_the_hidden_report_folder() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let workflow =
        std::fs::read_to_string(root.join(".github/workflows/db-migrations.yml")).unwrap();
    let parsed: serde_yaml::Value = serde_yaml::from_str(&workflow).unwrap();
    let mut uploads = 0;
    for (_, job) in parsed["jobs"].as_mapping().unwrap() {
        for step in job["steps"].as_sequence().into_iter().flatten() {
            let uses = step["uses"].as_str().unwrap_or_default();
            if uses.starts_with("actions/upload-artifact") {
                uploads += 1;
                assert_eq!(
                    step["with"]["include-hidden-files"].as_bool(),
                    Some(true),
                    "{step:?}"
                );
            }
        }
    }
    assert!(uploads >= 3, "the workflow uploads each job's reports");
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let lines: Vec<&str> = readme.lines().collect();
    for (at, line) in lines.iter().enumerate() {
        if line.contains("actions/upload-artifact") {
            let next = lines[at..(at + 4).min(lines.len())].join("\n");
            assert!(
                next.contains("include-hidden-files: true"),
                "README line {}: {next}",
                at + 1
            );
        }
    }
}

/// With `workdir`, files are named from the repository's root in the annotations and
/// the comment (where GitHub attaches them to the diff), and the comment is the
/// workdir's own.
#[tokio::test(flavor = "multi_thread")]
async fn a_workdir_project_is_reported_from_the_repository_root() {
    let project = Project::new();
    let migrations = project.path().join("apps/db/migrations");
    fs::create_dir_all(&migrations).unwrap();
    fs::write(
        migrations.join("0001_t.sql"),
        "BEGIN;\nCREATE TABLE IF NOT EXISTS t (id int, old int);\nCOMMIT;\n",
    )
    .unwrap();
    fs::write(
        migrations.join("0002_drop.sql"),
        "BEGIN;\nALTER TABLE t DROP COLUMN IF EXISTS old;\nCOMMIT;\n",
    )
    .unwrap();
    let runner = tempfile::tempdir().unwrap();
    let api = MockServer::start().await;
    list_comments(&api, json!([])).await;
    Mock::given(method("POST"))
        .and(path(COMMENTS))
        .respond_with(ResponseTemplate::new(201).set_body_json(comment(7, "x")))
        .expect(1)
        .mount(&api)
        .await;
    let (code, stdout) = run_action_with(
        &project,
        &api.uri(),
        runner.path(),
        &[("INPUT_WORKDIR", "apps/db")],
    )
    .await;
    assert_eq!(code, 1, "{stdout}");
    assert!(
        stdout.contains("::error file=apps/db/migrations/0002_drop.sql,line=2,"),
        "{stdout}"
    );
    let posted: Value =
        serde_json::from_slice(&api.received_requests().await.unwrap().last().unwrap().body)
            .unwrap();
    let body = posted["body"].as_str().unwrap();
    assert!(
        body.starts_with("<!-- migration-guard:lint:apps/db -->\n"),
        "{body}"
    );
    assert!(body.contains("apps/db/migrations/0002_drop.sql"), "{body}");
    api.verify().await;
}
