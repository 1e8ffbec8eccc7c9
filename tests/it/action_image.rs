//! The action's container image, run the way the GitHub runner runs a Docker container
//! action: `docker run --workdir /github/workspace` with the job's folders mounted
//! (workspace, file commands, workflow, runner temp, home), the engine's socket mounted so
//! the shadow is a sibling container, `INPUT_*` (hyphens kept) and `GITHUB_*` in the
//! environment, and a fake of the GitHub REST API that the container reaches over the
//! default bridge.
//!
//! The image is the Dockerfile's `local` target around this build of the binary
//! (scripts/build-action-image.sh; the host is Debian bookworm, as the image is); the
//! shadow image is the local `postgres:15` (scripts/build-postgres-image.sh). Without
//! them these tests fail under CI=true and say they were skipped otherwise.

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
const MARKER: &str = "<!-- migration-guard -->";
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
fn example_checkout(workspace: &Path) {
    copy_dir(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("supabase"),
        &workspace.join("supabase"),
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
    git(&["add", "supabase"]);
    git(&["commit", "-q", "-m", "the example project"]);
    git(&["update-ref", "refs/remotes/origin/main", "main"]);
    git(&["checkout", "-q", "-b", "add-discount-code"]);
    fs::write(
        workspace.join(NEW_MIGRATION),
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
    git(&["add", "supabase"]);
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

#[test]
fn the_image_runs_like_the_runner_runs_it_comments_then_updates() {
    let Some(_engine) = engine() else { return };
    let before = common::shadow_containers();
    let job = Job::new();
    example_checkout(&job.workspace());

    let runtime = tokio::runtime::Runtime::new().unwrap();
    // The container is on the default bridge: the fake listens on every address and is
    // reached through the bridge's gateway.
    let listener = std::net::TcpListener::bind("0.0.0.0:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let api = runtime.block_on(MockServer::builder().listener(listener).start());
    let api_url = format!("http://{}:{port}", bridge_gateway());

    // First run: no comment of ours yet, so one is created.
    runtime.block_on(async {
        Mock::given(method("GET"))
            .and(path(COMMENTS))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!([])))
            .mount(&api)
            .await;
        Mock::given(method("POST"))
            .and(path(COMMENTS))
            .respond_with(ResponseTemplate::new(201).set_body_json(comment(7, MARKER)))
            .expect(1)
            .mount(&api)
            .await;
    });
    let container = Container::new("comment");
    let started = Instant::now();
    let output = run_with_limit(
        job.docker_run(&container.0, "first", &api_url, &[]),
        Duration::from_secs(180),
    );
    eprintln!("first run: {:.1?}", started.elapsed());
    let stdout = String::from_utf8(output.stdout).unwrap();
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(
        output.status.code(),
        Some(0),
        "a warning does not fail the step:\n{stdout}\n{stderr}"
    );
    assert_eq!(
        stdout.lines().next(),
        Some(format!("::add-mask::{TOKEN}").as_str()),
        "masks first:\n{stdout}"
    );
    assert!(
        stdout.contains(&format!("::warning file={NEW_MIGRATION},line=8,")),
        "a warning annotation on the new migration:\n{stdout}"
    );
    assert!(
        stdout.lines().any(|line| line.starts_with("::warning ")
            && line.contains("title=no-hardcoded-environment::")),
        "{stdout}"
    );
    assert!(
        !stdout.lines().any(|line| line.starts_with("::error")),
        "{stdout}"
    );
    assert!(
        stdout.contains("commented on the pull request"),
        "{stdout}\n{stderr}"
    );
    assert!(
        stderr.contains("applying 20251201090000_describe_default_preferences.sql"),
        "{stderr}"
    );
    let requests = runtime.block_on(api.received_requests()).unwrap();
    let posted = requests
        .iter()
        .find(|request| request.method.as_str() == "POST")
        .expect("the comment was created");
    assert_eq!(
        posted
            .headers
            .get("authorization")
            .and_then(|value| value.to_str().ok()),
        Some(format!("Bearer {TOKEN}").as_str())
    );
    let body: Value = serde_json::from_slice(&posted.body).unwrap();
    let body = body["body"].as_str().unwrap();
    // The comment is this command's and this workdir's.
    assert!(
        body.starts_with("<!-- migration-guard:shadow:. -->\n"),
        "{body}"
    );
    assert!(body.contains("migration-guard shadow: passed"), "{body}");
    assert!(body.contains("no-hardcoded-environment"), "{body}");
    runtime.block_on(api.verify());

    // The step's outputs, summary and report, in the mounted folders.
    let first = outputs(&job.file_command("set_output_first"));
    assert_eq!(first["status"], "passed", "{first:?}");
    assert_eq!(first["applied"], "3", "{first:?}");
    assert_eq!(first["pending"], "0", "{first:?}");
    // action.yml: report-path is relative to the workspace (the host's path differs).
    let report_path = Path::new(&first["report-path"]);
    assert!(report_path.is_relative(), "{first:?}");
    assert!(report_path.starts_with(&first["report-dir"]), "{first:?}");
    let report: Value =
        serde_json::from_str(&fs::read_to_string(job.workspace().join(report_path)).unwrap())
            .unwrap();
    assert_eq!(report["command"], "shadow");
    assert_eq!(report["status"], "passed");
    assert_eq!(report["postgres"]["provider"], "docker");
    // The comparison with the base branch ran: git in the container (root) read the
    // checkout that belongs to the runner's user.
    assert!(
        report["notes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|note| note.as_str().unwrap().contains("main")),
        "{report:#}"
    );
    assert_eq!(
        first["findings"],
        report["findings"].as_array().unwrap().len().to_string()
    );
    let summary = job.file_command("step_summary_first");
    assert!(summary.starts_with(MARKER), "{summary}");
    assert!(
        summary.contains("migration-guard shadow: passed"),
        "{summary}"
    );
    common::assert_no_shadow_containers_left(&before);

    // Second run: the comment is ours now, so it is updated in place, never added again.
    runtime.block_on(async {
        api.reset().await;
        Mock::given(method("GET"))
            .and(path(COMMENTS))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(json!([comment(7, &format!("{MARKER}\nthe first run"))])),
            )
            .mount(&api)
            .await;
        Mock::given(method("PATCH"))
            .and(path("/repos/acme/shop/issues/comments/7"))
            .respond_with(ResponseTemplate::new(200).set_body_json(comment(7, MARKER)))
            .expect(1)
            .mount(&api)
            .await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(500))
            .expect(0)
            .mount(&api)
            .await;
    });
    let container = Container::new("update");
    let started = Instant::now();
    let output = run_with_limit(
        job.docker_run(&container.0, "second", &api_url, &[]),
        Duration::from_secs(180),
    );
    eprintln!("second run: {:.1?}", started.elapsed());
    let stdout = String::from_utf8(output.stdout).unwrap();
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(output.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("updated the pull-request comment"),
        "{stdout}\n{stderr}"
    );
    runtime.block_on(api.verify());
    assert_eq!(
        outputs(&job.file_command("set_output_second"))["status"],
        "passed"
    );
    assert!(job.path("file_commands/step_summary_second").exists());
    common::assert_no_shadow_containers_left(&before);

    // git in the image reads the runner-owned checkout and compares it with the base.
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
    example_checkout(&job.workspace());
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
