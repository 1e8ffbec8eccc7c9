//! The action's container image, run the way the GitHub runner runs a Docker container
//! action: `docker run --workdir /github/workspace` with the job's folders mounted
//! (workspace, file commands, workflow, runner temp, home), the engine's socket mounted so
//! the shadow is a sibling container, `INPUT_*` (hyphens kept) and `GITHUB_*` in the
//! environment, and a fake of the GitHub REST API that the container reaches over the
//! default bridge.
//!
//! The image is the Dockerfile's `local` target around this build of the binary
//! (scripts/build-action-image.sh: Debian trixie, whose glibc is newer than the host's
//! bookworm); the shadow image is the local `postgres:15` (scripts/build-postgres-image.sh).
//! Without them these tests fail under CI=true and say they were skipped otherwise.

use crate::common;

use std::fs;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::{Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tempfile::TempDir;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const IMAGE: &str = "migration-guard/action:test";
const SHADOW_IMAGE: &str = "postgres:15";
const TOKEN: &str = "ghs_container_token_123";
const COMMENTS: &str = "/repos/acme/shop/issues/42/comments";
/// A migration on the pull request's branch with a warning-level finding
/// (`no-hardcoded-environment`: a staging host written into a data change), which
/// annotates the diff but passes the step.
const NEW_MIGRATION: &str = "supabase/migrations/20251201090000_describe_default_preferences.sql";
/// The user the runner's workspace belongs to on GitHub-hosted runners.
const RUNNER_UID: u32 = 1001;

/// The tests count shadow containers, so they run one at a time.
static ENGINE: Mutex<()> = Mutex::new(());

/// Holds the engine for one test and makes sure the image is built: `None` (test skipped)
/// when the engine or the shadow image is missing, which fails under CI=true.
fn engine() -> Option<MutexGuard<'static, ()>> {
    let guard = ENGINE.lock().unwrap_or_else(PoisonError::into_inner);
    if !common::docker_image_present(SHADOW_IMAGE) {
        assert!(
            std::env::var("CI").is_err(),
            "CI=true: these tests need a Docker engine with the image {SHADOW_IMAGE} (scripts/build-postgres-image.sh)"
        );
        eprintln!(
            "SKIPPED: no Docker engine with {SHADOW_IMAGE}; run scripts/build-postgres-image.sh"
        );
        return None;
    }
    build_image();
    Some(guard)
}

/// Builds [`IMAGE`] from the binary under test, once per test run.
fn build_image() {
    static BUILT: OnceLock<Result<(), String>> = OnceLock::new();
    let built = BUILT.get_or_init(|| {
        let started = Instant::now();
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/build-action-image.sh");
        let output = Command::new(script)
            .args([env!("CARGO_BIN_EXE_migration-guard"), IMAGE])
            .output()
            .map_err(|error| format!("cannot run scripts/build-action-image.sh: {error}"))?;
        if !output.status.success() {
            return Err(format!(
                "scripts/build-action-image.sh failed:\n{}{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            ));
        }
        eprintln!("built {IMAGE} in {:.1?}", started.elapsed());
        Ok(())
    });
    if let Err(error) = built {
        panic!("{error}");
    }
}

/// The address the default bridge's containers reach this host at: the network's IPAM
/// gateway, or, where the engine leaves it out of the IPAM config, the address of the
/// bridge's interface on the host (Docker gives it the subnet's first address).
fn bridge_gateway() -> String {
    let output = Command::new("docker")
        .args(["network", "inspect", "bridge", "--format", "{{json .}}"])
        .output()
        .expect("docker network inspect");
    assert!(output.status.success(), "docker network inspect bridge");
    let bridge: Value = serde_json::from_slice(&output.stdout).unwrap();
    let configs = bridge["IPAM"]["Config"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let ipv4 = |value: &Value| {
        value
            .as_str()
            .and_then(|text| text.split('/').next())
            .and_then(|address| address.parse::<std::net::Ipv4Addr>().ok())
    };
    if let Some(gateway) = configs.iter().find_map(|config| ipv4(&config["Gateway"])) {
        return gateway.to_string();
    }
    let interface = bridge["Options"]["com.docker.network.bridge.name"]
        .as_str()
        .unwrap_or("docker0");
    if let Ok(output) = Command::new("ip")
        .args(["-4", "-o", "addr", "show", "dev", interface])
        .output()
        && let Some(address) = String::from_utf8_lossy(&output.stdout)
            .split_whitespace()
            .skip_while(|word| *word != "inet")
            .nth(1)
            .and_then(|cidr| ipv4(&json!(cidr)))
    {
        return address.to_string();
    }
    let subnet = configs
        .iter()
        .find_map(|config| ipv4(&config["Subnet"]))
        .expect("the bridge network has an IPv4 subnet");
    std::net::Ipv4Addr::from(u32::from(subnet) + 1).to_string()
}

/// The job's folders on the runner's host, mounted into the action's container.
struct Job {
    dir: TempDir,
}

impl Job {
    /// Empty folders, and the pull-request event in `workflow/event.json`.
    fn new() -> Job {
        let dir = tempfile::Builder::new()
            .prefix("mg-action-job-")
            .tempdir()
            .unwrap();
        for folder in [
            "workspace",
            "file_commands",
            "workflow",
            "runner_temp",
            "home",
        ] {
            fs::create_dir(dir.path().join(folder)).unwrap();
        }
        fs::copy(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/events/pull_request.json"),
            dir.path().join("workflow/event.json"),
        )
        .unwrap();
        Job { dir }
    }

    fn path(&self, folder: &str) -> PathBuf {
        self.dir.path().join(folder)
    }

    fn workspace(&self) -> PathBuf {
        self.path("workspace")
    }

    /// A `docker run` of the action as the runner starts it: the same mounts, working
    /// directory and variables (inputs not given are empty strings, as the runner passes
    /// them), a file-command file pair named after `step`, and `--rm`.
    fn docker_run(
        &self,
        name: &str,
        step: &str,
        api_url: &str,
        inputs: &[(&str, &str)],
    ) -> Command {
        let mut all_inputs = vec![
            ("command", "shadow"),
            ("workdir", "."),
            ("migrations-dir", "supabase/migrations"),
            ("verify-dir", ""),
            ("github-token", TOKEN),
            ("provider", "docker"),
            ("image", SHADOW_IMAGE),
            ("fail-on", "error"),
            ("comment", "true"),
            ("target", ""),
            ("project-ref", ""),
            ("db-url", ""),
            ("supabase-access-token", ""),
            ("supabase-db-password", ""),
            ("no-backup", "false"),
            ("base-ref", "main"),
        ];
        for (name, value) in inputs {
            let input = all_inputs.iter_mut().find(|(known, _)| known == name);
            input.expect("an input of action.yml").1 = *value;
        }
        let mut env: Vec<(String, String)> = all_inputs
            .iter()
            .map(|(name, value)| (format!("INPUT_{}", name.to_uppercase()), value.to_string()))
            .collect();
        for (name, value) in [
            ("HOME", "/github/home"),
            ("GITHUB_ACTIONS", "true"),
            ("CI", "true"),
            ("GITHUB_EVENT_NAME", "pull_request"),
            ("GITHUB_EVENT_PATH", "/github/workflow/event.json"),
            ("GITHUB_REPOSITORY", "acme/shop"),
            ("GITHUB_SERVER_URL", "https://github.com"),
            ("GITHUB_ACTION_REPOSITORY", "acme/migration-guard"),
            ("GITHUB_ACTION_REF", "v1"),
            ("GITHUB_API_URL", api_url),
            ("GITHUB_WORKSPACE", "/github/workspace"),
            ("GITHUB_BASE_REF", "main"),
            ("GITHUB_HEAD_REF", "add-discount-code"),
            ("GITHUB_REF", "refs/pull/42/merge"),
            (
                "GITHUB_OUTPUT",
                &format!("/github/file_commands/set_output_{step}"),
            ),
            (
                "GITHUB_STEP_SUMMARY",
                &format!("/github/file_commands/step_summary_{step}"),
            ),
            ("RUNNER_TEMP", "/github/runner_temp"),
        ] {
            env.push((name.to_string(), value.to_string()));
        }
        let mut command = Command::new("docker");
        command.args([
            "run",
            "--name",
            name,
            "--workdir",
            "/github/workspace",
            "--rm",
        ]);
        // Names only, values in the docker CLI's environment: the runner's way, which
        // keeps the token out of the process list.
        for (name, value) in &env {
            command.arg("-e").arg(name).env(name, value);
        }
        command.args(["-v", "/var/run/docker.sock:/var/run/docker.sock"]);
        for (folder, target) in [
            ("runner_temp", "/github/runner_temp"),
            ("home", "/github/home"),
            ("workflow", "/github/workflow"),
            ("file_commands", "/github/file_commands"),
            ("workspace", "/github/workspace"),
        ] {
            command
                .arg("-v")
                .arg(format!("{}:{target}", self.path(folder).display()));
        }
        command.args([IMAGE, "action"]);
        command
    }

    /// The file a step's container wrote, read on the host.
    fn file_command(&self, name: &str) -> String {
        fs::read_to_string(self.path("file_commands").join(name))
            .unwrap_or_else(|error| panic!("file_commands/{name}: {error}"))
    }
}

/// Removes the action's container by name when a test ends early (`--rm` does it
/// otherwise).
struct Container(String);

impl Container {
    fn new(test: &str) -> Container {
        Container(format!(
            "mg-action-{test}-{}-{:08x}",
            std::process::id(),
            rand::random::<u32>()
        ))
    }
}

impl Drop for Container {
    fn drop(&mut self) {
        let _ = Command::new("docker")
            .args(["rm", "-f", &self.0])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

/// Runs `command` to its end, killing it after `limit`.
fn run_with_limit(mut command: Command, limit: Duration) -> Output {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("docker run");
    let stdout = drain(child.stdout.take().unwrap());
    let stderr = drain(child.stderr.take().unwrap());
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let status = child.wait().unwrap();
            panic!(
                "the action's container still ran after {limit:?} ({status}):\n{}\n{}",
                stdout.join().unwrap(),
                stderr.join().unwrap()
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    Output {
        status,
        stdout: stdout.join().unwrap().into_bytes(),
        stderr: stderr.join().unwrap().into_bytes(),
    }
}

fn drain(mut pipe: impl Read + Send + 'static) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut text = String::new();
        let _ = pipe.read_to_string(&mut text);
        text
    })
}

/// The example project in the workspace as a git checkout of the pull request: `main` has
/// the example's migrations, the branch adds [`NEW_MIGRATION`]. Owned by the runner's uid,
/// as on GitHub, so git in the container (root) needs the image's `safe.directory`.
fn example_checkout(workspace: &Path, project: &str) {
    copy_dir(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("supabase"),
        &workspace.join(project).join("supabase"),
    );
    let git = |args: &[&str]| {
        let output = Command::new("git")
            .current_dir(workspace)
            .env_remove("GIT_DIR")
            .env_remove("GIT_WORK_TREE")
            .env_remove("GIT_INDEX_FILE")
            .args([
                "-c",
                "user.name=migration-guard tests",
                "-c",
                "user.email=tests@migration-guard.invalid",
                "-c",
                "commit.gpgsign=false",
            ])
            .args(args)
            .output()
            .expect("git");
        assert!(
            output.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    };
    git(&["init", "-q", "-b", "main"]);
    git(&["add", "."]);
    git(&["commit", "-q", "-m", "the example project"]);
    git(&["update-ref", "refs/remotes/origin/main", "main"]);
    git(&["checkout", "-q", "-b", "add-discount-code"]);
    fs::write(
        workspace.join(project).join(NEW_MIGRATION),
        "-- A clearer description for the default preferences row.\n\
         \n\
         BEGIN;\n\
         \n\
         SET LOCAL lock_timeout = '5s';\n\
         SET LOCAL statement_timeout = '60s';\n\
         \n\
         UPDATE public.bot_config SET description = 'Sent to https://hooks.staging.acme.dev first'\n\
         WHERE env = 'production' AND key = 'default_user_preferences';\n\
         \n\
         COMMIT;\n",
    )
    .unwrap();
    git(&["add", "."]);
    git(&["commit", "-q", "-m", "describe the default preferences"]);
    if nix::unistd::geteuid().is_root() {
        chown_tree(workspace, RUNNER_UID);
    }
}

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), target).unwrap();
        }
    }
}

fn chown_tree(path: &Path, uid: u32) {
    std::os::unix::fs::lchown(path, Some(uid), Some(uid)).unwrap();
    if path.is_dir() && !path.is_symlink() {
        for entry in fs::read_dir(path).unwrap() {
            chown_tree(&entry.unwrap().path(), uid);
        }
    }
}

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

/// `name=value` lines of a `GITHUB_OUTPUT` file.
fn outputs(text: &str) -> std::collections::HashMap<String, String> {
    text.lines()
        .filter_map(|line| line.split_once('='))
        .map(|(name, value)| (name.to_string(), value.to_string()))
        .collect()
}

/// The project in a folder of the repository, as monorepos keep it.
const WORKDIR: &str = "apps/db";

/// What a step of the job left: its exit code, log and file commands.
struct Step {
    code: Option<i32>,
    stdout: String,
    outputs: std::collections::HashMap<String, String>,
}

impl Job {
    /// Runs the action's container for one step of the job, as the runner does.
    fn step(&self, step: &str, api_url: &str, inputs: &[(&str, &str)]) -> Step {
        let container = Container::new(step);
        let started = Instant::now();
        let output = run_with_limit(
            self.docker_run(&container.0, step, api_url, inputs),
            Duration::from_secs(180),
        );
        eprintln!("step {step}: {:.1?}", started.elapsed());
        let stdout = String::from_utf8(output.stdout).unwrap();
        let stderr = String::from_utf8(output.stderr).unwrap();
        assert!(
            stdout.lines().next() == Some(format!("::add-mask::{TOKEN}").as_str()),
            "step {step} masks first:\n{stdout}\n{stderr}"
        );
        Step {
            code: output.status.code(),
            outputs: outputs(&self.file_command(&format!("set_output_{step}"))),
            stdout: format!("{stdout}\n{stderr}"),
        }
    }
}

/// The body of the one comment `requests` created or updated.
fn sent_body(requests: &[wiremock::Request], verb: &str) -> String {
    let sent: Vec<_> = requests
        .iter()
        .filter(|request| request.method.as_str() == verb)
        .collect();
    assert_eq!(sent.len(), 1, "one {verb}");
    assert_eq!(
        sent[0]
            .headers
            .get("authorization")
            .and_then(|value| value.to_str().ok()),
        Some(format!("Bearer {TOKEN}").as_str())
    );
    let body: Value = serde_json::from_slice(&sent[0].body).unwrap();
    body["body"].as_str().unwrap().to_string()
}

/// A pull request's job with a lint step and a shadow step on a project in a folder:
/// each step keeps its own sticky comment, report folder and SARIF; annotations name
/// files from the repository's root; a re-run updates both comments in place.
#[test]
fn a_lint_step_and_a_shadow_step_keep_their_own_comments_and_reports() {
    let Some(_engine) = engine() else { return };
    let before = common::shadow_containers();
    let job = Job::new();
    example_checkout(&job.workspace(), WORKDIR);
    let new_migration = format!("{WORKDIR}/{NEW_MIGRATION}");

    let runtime = tokio::runtime::Runtime::new().unwrap();
    // The container is on the default bridge: the fake listens on every address and is
    // reached through the bridge's gateway.
    let listener = std::net::TcpListener::bind("0.0.0.0:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let api = runtime.block_on(MockServer::builder().listener(listener).start());
    let api_url = format!("http://{}:{port}", bridge_gateway());
    // The pull request's comments as GitHub would list them, and what each request must do.
    let expect = |existing: Vec<Value>, creates: u64, updates: &[(u64, u64)]| {
        runtime.block_on(async {
            api.reset().await;
            Mock::given(method("GET"))
                .and(path(COMMENTS))
                .respond_with(ResponseTemplate::new(200).set_body_json(existing))
                .mount(&api)
                .await;
            Mock::given(method("POST"))
                .and(path(COMMENTS))
                .respond_with(ResponseTemplate::new(201).set_body_json(comment(9, "")))
                .expect(creates)
                .mount(&api)
                .await;
            for (id, times) in updates {
                Mock::given(method("PATCH"))
                    .and(path(format!("/repos/acme/shop/issues/comments/{id}")))
                    .respond_with(ResponseTemplate::new(200).set_body_json(comment(*id, "")))
                    .expect(*times)
                    .mount(&api)
                    .await;
            }
        });
    };
    let requests = || runtime.block_on(api.received_requests()).unwrap();
    let inputs = |command| [("command", command), ("workdir", WORKDIR)];

    // The lint step: no comment of ours yet, so it creates one.
    expect(vec![], 1, &[]);
    let lint = job.step("lint", &api_url, &inputs("lint"));
    assert_eq!(lint.code, Some(0), "a warning passes:\n{}", lint.stdout);
    assert!(
        lint.stdout
            .contains(&format!("::warning file={new_migration},line=8,")),
        "annotations name the file from the repository's root:\n{}",
        lint.stdout
    );
    runtime.block_on(api.verify());
    let lint_comment = sent_body(&requests(), "POST");
    assert!(
        lint_comment.starts_with(&format!("<!-- migration-guard:lint:{WORKDIR} -->\n")),
        "{lint_comment}"
    );
    assert!(
        lint_comment.contains("migration-guard lint: passed"),
        "{lint_comment}"
    );
    assert!(lint_comment.contains(&new_migration), "{lint_comment}");

    // The shadow step finds the lint step's comment, leaves it alone, and adds its own.
    expect(vec![comment(7, &lint_comment)], 1, &[(7, 0)]);
    let shadow = job.step("shadow", &api_url, &inputs("shadow"));
    assert_eq!(shadow.code, Some(0), "{}", shadow.stdout);
    assert!(
        shadow
            .stdout
            .contains("applying 20251201090000_describe_default_preferences.sql"),
        "{}",
        shadow.stdout
    );
    runtime.block_on(api.verify());
    let shadow_comment = sent_body(&requests(), "POST");
    assert!(
        shadow_comment.starts_with(&format!("<!-- migration-guard:shadow:{WORKDIR} -->\n")),
        "{shadow_comment}"
    );
    assert!(
        shadow_comment.contains("migration-guard shadow: passed"),
        "{shadow_comment}"
    );
    common::assert_no_shadow_containers_left(&before);

    // Each step's reports in its own folder, named relative to the workspace.
    for (step, command) in [(&lint, "lint"), (&shadow, "shadow")] {
        let outputs = &step.outputs;
        assert_eq!(outputs["status"], "passed", "{outputs:?}");
        assert_eq!(
            outputs["report-dir"],
            format!(".migration-guard/{WORKDIR}/{command}")
        );
        let report: Value = serde_json::from_str(
            &fs::read_to_string(job.workspace().join(&outputs["report-path"])).unwrap(),
        )
        .unwrap();
        assert_eq!(report["command"], command);
        let sarif = crate::sarif::assert_schema_valid(
            &fs::read_to_string(job.workspace().join(&outputs["sarif-path"])).unwrap(),
        );
        let run = &sarif["runs"][0];
        assert_eq!(
            run["automationDetails"]["id"],
            format!("migration-guard/{command}/{WORKDIR}/")
        );
        let result = run["results"]
            .as_array()
            .unwrap()
            .iter()
            .find(|result| result["ruleId"] == "no-hardcoded-environment")
            .unwrap_or_else(|| panic!("{sarif:#}"));
        assert_eq!(
            result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
            new_migration
        );
        // The rule pages of the action's version that runs.
        assert!(
            run["tool"]["driver"]["rules"]
                .as_array()
                .unwrap()
                .iter()
                .all(|rule| rule["helpUri"]
                    .as_str()
                    .unwrap()
                    .starts_with("https://github.com/acme/migration-guard/blob/v1/docs/rules/")),
            "{sarif:#}"
        );
    }
    let summary = job.file_command("step_summary_shadow");
    assert!(
        summary.contains("migration-guard shadow: passed"),
        "{summary}"
    );
    // The comparison with the base branch ran: git in the container (root) read the
    // checkout that belongs to the runner's user.
    let report: Value = serde_json::from_str(
        &fs::read_to_string(job.workspace().join(&shadow.outputs["report-path"])).unwrap(),
    )
    .unwrap();
    assert_eq!(report["postgres"]["provider"], "docker");
    assert!(
        report["notes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|note| note.as_str().unwrap().contains("main")),
        "{report:#}"
    );

    // A re-run of the job: each step updates its own comment, neither adds one.
    let listed = vec![comment(7, &lint_comment), comment(8, &shadow_comment)];
    expect(listed.clone(), 0, &[(7, 1), (8, 0)]);
    let lint = job.step("lint-again", &api_url, &inputs("lint"));
    assert_eq!(lint.code, Some(0), "{}", lint.stdout);
    assert!(
        lint.stdout.contains("updated the pull-request comment"),
        "{}",
        lint.stdout
    );
    runtime.block_on(api.verify());
    expect(listed, 0, &[(7, 0), (8, 1)]);
    let shadow = job.step("shadow-again", &api_url, &inputs("shadow"));
    assert_eq!(shadow.code, Some(0), "{}", shadow.stdout);
    runtime.block_on(api.verify());
    common::assert_no_shadow_containers_left(&before);
}

/// The image's pg_dump dumps the newest server a production deploy can meet, and git
/// reads the runner-owned checkout.
#[test]
fn the_image_has_pg_dump_17_and_reads_the_checkout() {
    let Some(_engine) = engine() else { return };
    let output = Command::new("docker")
        .args(["run", "--rm", "--entrypoint", "pg_dump", IMAGE, "--version"])
        .output()
        .unwrap();
    let version = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && version.contains("(PostgreSQL) 17"),
        "pg_dump in the image: {version}{}",
        String::from_utf8_lossy(&output.stderr)
    );

    let job = Job::new();
    example_checkout(&job.workspace(), ".");
    let output = Command::new("docker")
        .args(["run", "--rm", "--workdir", "/github/workspace", "-v"])
        .arg(format!("{}:/github/workspace", job.workspace().display()))
        .args(["--entrypoint", "git", IMAGE])
        .args(["diff", "--name-only", "origin/main...HEAD"])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "git in the image: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&output.stdout).trim(),
        NEW_MIGRATION
    );
}

/// A cancelled job: the runner's `docker run` passes SIGINT/SIGTERM to the container,
/// tini hands it to the binary, and the binary removes its shadow container and stops.
#[test]
fn sigterm_stops_the_container_and_removes_the_shadow() {
    let Some(_engine) = engine() else { return };
    let before = common::shadow_containers();
    let job = Job::new();
    // A pull request's checkout: the base comparison, which comes first, needs one.
    example_checkout(&job.workspace(), ".");
    let migrations = job.workspace().join("supabase/migrations");
    fs::write(migrations.join("0001_slow.sql"), "SELECT pg_sleep(120);\n").unwrap();

    let container = Container::new("sigterm");
    let mut command = job.docker_run(
        &container.0,
        "cancelled",
        "http://127.0.0.1:9",
        &[("comment", "false")],
    );
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("docker run");
    let stdout = drain(child.stdout.take().unwrap());
    let (lines_tx, lines_rx) = std::sync::mpsc::channel();
    let stderr = child.stderr.take().unwrap();
    let stderr = std::thread::spawn(move || {
        let mut text = String::new();
        for line in BufReader::new(stderr).lines() {
            let line = line.unwrap_or_default();
            text.push_str(&line);
            text.push('\n');
            let _ = lines_tx.send(line);
        }
        text
    });
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match lines_rx.recv_timeout(left) {
            Ok(line) if line.contains("applying 0001_slow.sql") => break,
            Ok(_) => {}
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "the migration never started:\n{}\n{}",
                    stdout.join().unwrap(),
                    stderr.join().unwrap()
                );
            }
        }
    }
    assert_eq!(
        common::shadow_containers().len(),
        before.len() + 1,
        "the shadow container runs"
    );

    let killed = Instant::now();
    let status = Command::new("docker")
        .args(["kill", "--signal", "TERM", &container.0])
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success(), "docker kill");
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            killed.elapsed() < Duration::from_secs(30),
            "the container still runs 30 s after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    let stopped_in = killed.elapsed();
    let stdout = stdout.join().unwrap();
    let stderr = stderr.join().unwrap();
    eprintln!("stopped {stopped_in:.1?} after SIGTERM");
    assert!(
        stopped_in < Duration::from_secs(10),
        "stopped only after {stopped_in:?}:\n{stdout}\n{stderr}"
    );
    assert_eq!(status.code(), Some(2), "{stdout}\n{stderr}");
    assert!(stderr.contains("interrupted"), "{stderr}");
    common::assert_no_shadow_containers_left(&before);
    assert_eq!(
        outputs(&job.file_command("set_output_cancelled"))["status"],
        "error"
    );
}
