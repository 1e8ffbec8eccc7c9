//! The `docker` provider against the real engine on this machine. The images are the
//! local `postgres:15` and `postgres:17` that scripts/build-postgres-image.sh builds
//! (`.ci/run` runs it for both).
//! Without an engine these tests fail under CI=true and say they were skipped otherwise.

use crate::common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{Project, output};
use serde_json::Value;

const IMAGE: &str = "postgres:15";
/// The newest major the local images cover (`scripts/build-postgres-image.sh 17`).
pub(crate) const IMAGE_17: &str = "postgres:17";
const LABEL: &str = "dev.migration-guard.shadow";

/// The tests count containers with our label, so they run one at a time.
static ENGINE: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Holds the engine for one test: `None` (test skipped) when the engine or the image is
/// missing, which fails under CI=true.
fn engine() -> Option<std::sync::MutexGuard<'static, ()>> {
    engine_with(IMAGE)
}

/// [`engine`] for a test that needs `image` rather than the default one.
pub(crate) fn engine_with(image: &str) -> Option<std::sync::MutexGuard<'static, ()>> {
    let guard = ENGINE
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let ready = Command::new("docker")
        .args(["image", "inspect", image])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success());
    if !ready {
        assert!(
            std::env::var("CI").is_err(),
            "CI=true: these tests need a Docker engine with the image {image} (scripts/build-postgres-image.sh)"
        );
        eprintln!("SKIPPED: no Docker engine with {image}; run scripts/build-postgres-image.sh");
        return None;
    }
    Some(guard)
}

/// Shadow containers of ours that exist right now.
fn our_containers() -> Vec<String> {
    labelled(&["ps", "-a"])
}

/// Shadow networks of ours that exist right now.
fn our_networks() -> Vec<String> {
    labelled(&["network", "ls"])
}

/// The ids `docker <list> -q` gives for what carries our label.
fn labelled(list: &[&str]) -> Vec<String> {
    let output = Command::new("docker")
        .args(list)
        .args(["-q", "--filter", &format!("label={LABEL}")])
        .output()
        .unwrap();
    String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

/// Waits until no container (nor network) with our label is left (removal is
/// asynchronous in the engine), failing after a few seconds.
fn assert_no_containers_left(before: &[String]) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let left: Vec<String> = our_containers()
            .into_iter()
            .chain(our_networks())
            .filter(|id| !before.contains(id))
            .collect();
        if left.is_empty() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "containers left behind: {left:?}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn full_shadow_through_docker_on_the_example_project() {
    let Some(_engine) = engine() else { return };
    let before = our_containers();
    let mut command = assert_cmd::Command::cargo_bin("migration-guard").unwrap();
    command.current_dir(env!("CARGO_MANIFEST_DIR")).args([
        "shadow",
        "--provider",
        "docker",
        "--format",
        "json",
    ]);
    let (code, stdout, stderr) = output(&mut command);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let report: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["postgres"]["provider"], "docker");
    assert_eq!(
        report["postgres"]["supabase_compat"],
        migration_guard::shadow::COMPAT_VERSION
    );
    assert!(report["postgres"]["ready_ms"].as_u64().unwrap() > 0);
    assert_eq!(report["verify"].as_array().unwrap().len(), 25);
    assert_no_containers_left(&before);
}

/// The shadow runs a pull request's SQL: its container is alone on an internal network
/// (no route out), both from a host and as a sibling.
#[test]
fn the_shadow_container_has_no_route_out() {
    let Some(_engine) = engine() else { return };
    let before: Vec<String> = our_containers().into_iter().chain(our_networks()).collect();
    let project = Project::new();
    project.file("0001_wait.sql", "SELECT pg_sleep(6);\n");
    let mut child = Command::new(assert_cmd::cargo::cargo_bin("migration-guard"))
        .current_dir(project.path())
        .args(["shadow", "--provider", "docker", "--no-catalog-checks"])
        .args(["--dir", "migrations"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let container = loop {
        let running: Vec<String> = our_containers()
            .into_iter()
            .filter(|id| !before.contains(id))
            .collect();
        if let Some(id) = running.first() {
            break id.clone();
        }
        assert!(Instant::now() < deadline, "no shadow container started");
        std::thread::sleep(Duration::from_millis(100));
    };
    let inspect = |args: &[&str]| {
        let output = Command::new("docker").args(args).output().unwrap();
        String::from_utf8_lossy(&output.stdout).trim().to_string()
    };
    let networks = inspect(&[
        "inspect",
        "-f",
        "{{range $name, $_ := .NetworkSettings.Networks}}{{$name}} {{end}}",
        &container,
    ]);
    let networks: Vec<&str> = networks.split_whitespace().collect();
    assert_eq!(networks.len(), 1, "{networks:?}");
    assert_eq!(
        inspect(&["network", "inspect", "-f", "{{.Internal}}", networks[0]]),
        "true",
        "{networks:?}"
    );
    assert!(child.wait().unwrap().success());
    assert_no_containers_left(&before);
}

#[test]
fn full_shadow_through_docker_on_postgres_17() {
    let Some(_engine) = engine_with(IMAGE_17) else {
        return;
    };
    let before = our_containers();
    let mut command = assert_cmd::Command::cargo_bin("migration-guard").unwrap();
    command.current_dir(env!("CARGO_MANIFEST_DIR")).args([
        "shadow",
        "--provider",
        "docker",
        "--image",
        IMAGE_17,
        "--format",
        "json",
    ]);
    let (code, stdout, stderr) = output(&mut command);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let report: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["status"], "passed");
    assert_eq!(report["postgres"]["provider"], "docker");
    let version = report["postgres"]["server_version"].as_str().unwrap();
    assert!(version.starts_with("17."), "server_version {version}");
    assert_eq!(report["verify"].as_array().unwrap().len(), 25);
    assert_no_containers_left(&before);
}

/// The shadow on `image` over a fixture's migrations: exit code and report.
fn shadow_on(image: &str, dir: &str) -> (i32, Value) {
    let mut command = assert_cmd::Command::cargo_bin("migration-guard").unwrap();
    command.current_dir(env!("CARGO_MANIFEST_DIR")).args([
        "shadow",
        "--provider",
        "docker",
        "--image",
        image,
        "--format",
        "json",
        "--dir",
        dir,
    ]);
    let (code, stdout, stderr) = output(&mut command);
    let report = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stderr}"));
    (code, report)
}

#[test]
fn the_supabase_emulation_and_the_after_checks_hold_on_postgres_15_and_17() {
    for image in [IMAGE, IMAGE_17] {
        let Some(_engine) = engine_with(image) else {
            return;
        };
        let before = our_containers();
        for fixture in ["pg_cron", "privileged_extensions", "realtime", "vault"] {
            let (code, report) = shadow_on(image, &format!("tests/fixtures/fidelity/{fixture}"));
            assert_eq!(code, 0, "{image} {fixture}: {report:#}");
        }
        // pgTAP and plpgsql_check come with the image.
        let (code, report) = shadow_on(image, "tests/fixtures/checks/supabase/migrations");
        assert_eq!(code, 1, "{image}: {report:#}");
        let rules: Vec<&str> = report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["rule"].as_str().unwrap())
            .collect();
        assert!(rules.contains(&"plpgsql-error"), "{image}: {report:#}");
        let failing: Vec<&str> = report["verify"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|check| check["ok"] == false)
            .map(|check| check["check"].as_str().unwrap())
            .collect();
        assert_eq!(failing, ["2 - there is one todo"], "{image}: {report:#}");
        assert_no_containers_left(&before);
    }
}

#[test]
fn an_image_that_cannot_be_pulled() {
    let Some(_engine) = engine() else { return };
    let project = Project::new();
    project.file("0001_t.sql", "SELECT 1;\n");
    let image = "migration-guard-test/does-not-exist:1";
    let (code, _, stderr) =
        output(&mut project.command(&["shadow", "--provider", "docker", "--image", image]));
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains(&format!("cannot pull the image {image}")),
        "{stderr}"
    );
}

#[test]
fn a_container_that_never_becomes_ready_shows_its_logs() {
    let Some(_engine) = engine() else { return };
    let image = "migration-guard-test/never-ready:1";
    let mut build = Command::new("docker")
        .args(["build", "-q", "-t", image, "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        let mut stdin = build.stdin.take().unwrap();
        writeln!(
            stdin,
            "FROM {IMAGE}\nENTRYPOINT [\"sh\", \"-c\", \"echo warming up the buffers; sleep 600\"]"
        )
        .unwrap();
    }
    assert!(build.wait().unwrap().success());
    let before = our_containers();
    let project = Project::new();
    project.file("0001_t.sql", "SELECT 1;\n");
    let started = Instant::now();
    let (code, _, stderr) = output(&mut project.command(&[
        "shadow",
        "--provider",
        "docker",
        "--image",
        image,
        "--ready-timeout",
        "3",
    ]));
    assert_eq!(code, 2, "{stderr}");
    assert!(started.elapsed() < Duration::from_secs(20));
    assert!(
        stderr.contains("did not accept connections within 3 s"),
        "{stderr}"
    );
    assert!(
        stderr.contains("warming up the buffers"),
        "the container's logs: {stderr}"
    );
    assert_no_containers_left(&before);
}

#[test]
fn a_failing_migration_removes_the_container() {
    let Some(_engine) = engine() else { return };
    let before = our_containers();
    let project = Project::new();
    project.file("0001_bad.sql", "CREATE TABLE t (id nosuchtype);\n");
    let (code, stdout, _) =
        output(&mut project.command(&["shadow", "--provider", "docker", "--format", "json"]));
    assert_eq!(code, 1, "{stdout}");
    assert_no_containers_left(&before);
}

#[test]
fn sigterm_removes_the_container() {
    let Some(_engine) = engine() else { return };
    let before = our_containers();
    let project = Project::new();
    project.file("0001_slow.sql", "SELECT pg_sleep(60);\n");
    let mut child = Command::new(assert_cmd::cargo::cargo_bin("migration-guard"))
        .current_dir(project.path())
        .args(["shadow", "--provider", "docker", "--dir", "migrations"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufRead::lines(std::io::BufReader::new(child.stderr.take().unwrap()));
    for line in lines.by_ref() {
        if line.unwrap().contains("applying 0001_slow.sql") {
            break;
        }
    }
    assert_eq!(
        our_containers().len(),
        before.len() + 1,
        "the shadow container runs"
    );
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(2));
    assert_no_containers_left(&before);
}

#[test]
fn no_engine_at_docker_host_is_a_clear_error() {
    let _engine = ENGINE
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let project = Project::new();
    project.file("0001_t.sql", "SELECT 1;\n");
    for host in ["unix:///nonexistent/docker.sock", "tcp://127.0.0.1:1"] {
        let mut command = project.command(&["shadow", "--provider", "docker"]);
        command.env("DOCKER_HOST", host);
        let (code, _, stderr) = output(&mut command);
        assert_eq!(code, 2, "{host}: {stderr}");
        assert!(
            stderr.contains(&format!("no Docker engine answers at {host}")),
            "{stderr}"
        );
        assert!(!stderr.contains("panicked"));
    }
}

#[test]
fn auto_falls_back_to_local_binaries_and_says_why() {
    let _engine = ENGINE
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let project = Project::new();
    project.file("0001_t.sql", "SELECT 1;\n");
    let mut command = project.command(&["shadow", "--format", "json"]);
    command.env("DOCKER_HOST", "unix:///nonexistent/docker.sock");
    let (code, stdout, stderr) = output(&mut command);
    assert_eq!(code, 0, "{stderr}");
    let report: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["postgres"]["provider"], "local");
    assert!(
        stderr.contains("using local Postgres binaries: no Docker engine answers"),
        "{stderr}"
    );
}

/// The GitHub-action case: the binary in a container of its own, talking to the engine
/// through the mounted socket, reaching its sibling shadow over the shared network.
#[test]
fn from_inside_a_container_the_shadow_is_a_sibling() {
    let Some(_engine) = engine() else { return };
    let before = our_containers();
    let binary = assert_cmd::cargo::cargo_bin("migration-guard");
    let project = env!("CARGO_MANIFEST_DIR");
    let output = Command::new("docker")
        .args([
            "run",
            "--rm",
            "-v",
            "/var/run/docker.sock:/var/run/docker.sock",
        ])
        .arg("-v")
        .arg(format!(
            "{}:/usr/local/bin/migration-guard:ro",
            binary.display()
        ))
        .args([
            "-v",
            &format!("{project}/supabase:/github/workspace/supabase:ro"),
        ])
        .args([
            "-w",
            "/github/workspace",
            "--entrypoint",
            "migration-guard",
            IMAGE,
        ])
        .args(["shadow", "--provider", "docker", "--format", "json"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    let report: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["status"], "passed");
    assert_eq!(report["postgres"]["provider"], "docker");
    assert_no_containers_left(&before);
}

/// On Postgres 17 the migration role keeps CREATEROLE (there it grants only what it
/// administers), and still gets no superuser and no program.
#[test]
fn on_postgres_17_a_migration_cannot_become_superuser_or_run_programs() {
    let Some(_engine) = engine_with(IMAGE_17) else {
        return;
    };
    for escape in [
        "SET ROLE NONE;",
        "SET SESSION AUTHORIZATION supabase_admin;",
        "GRANT pg_execute_server_program TO postgres;",
    ] {
        let project = Project::new();
        project.file(
            "0001_escape.sql",
            format!("{escape}\nCREATE TEMP TABLE out (line text);\nCOPY out FROM PROGRAM 'id';\n"),
        );
        project.file(
            "0002_role.sql",
            "CREATE ROLE reader NOLOGIN;\nGRANT reader TO postgres;\n",
        );
        let (code, stdout, stderr) = output(&mut project.command(&[
            "shadow",
            "--provider",
            "docker",
            "--image",
            IMAGE_17,
            "--no-catalog-checks",
            "--format",
            "json",
        ]));
        let report: Value =
            serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stderr}"));
        assert_eq!(code, 1, "{escape}: {report:#}");
        assert_eq!(
            report["migrations"][0]["error"]["sqlstate"], "42501",
            "{escape}: {report:#}"
        );
    }
    // Role statements themselves work as on hosted Supabase.
    let project = Project::new();
    project.file(
        "0001_role.sql",
        "CREATE ROLE reader NOLOGIN;\nGRANT reader TO postgres;\nSET ROLE reader;\nRESET ROLE;\n",
    );
    let (code, stdout, _) = output(&mut project.command(&[
        "shadow",
        "--provider",
        "docker",
        "--image",
        IMAGE_17,
        "--no-catalog-checks",
    ]));
    assert_eq!(code, 0, "{stdout}");
}

/// Two runs on one engine must not destroy each other's shadows: at start-up a run
/// removes only what a gone run left (its owner process no longer exists), or what no
/// owner can be checked for past the age limit, never a live run's shadow however old.
#[test]
fn a_run_reaps_only_the_shadows_of_runs_that_are_gone() {
    let Some(_engine) = engine() else { return };
    let host = String::from_utf8(Command::new("hostname").output().unwrap().stdout)
        .unwrap()
        .trim()
        .to_string();
    let mut live = Command::new("sleep").arg("120").spawn().unwrap();
    let mut gone = Command::new("true").spawn().unwrap();
    let gone_pid = gone.id();
    gone.wait().unwrap();
    let create = |name: &str, owner: Option<String>| {
        let mut args = vec![
            "create".to_string(),
            "--name".to_string(),
            name.to_string(),
            "--label".to_string(),
            format!("{LABEL}=test"),
        ];
        if let Some(owner) = owner {
            args.extend([
                "--label".to_string(),
                format!("dev.migration-guard.owner={owner}"),
            ]);
        }
        args.push(IMAGE.to_string());
        let output = Command::new("docker").args(&args).output().unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).unwrap().trim().to_string()
    };
    let suffix = std::process::id();
    let live_id = create(
        &format!("mg-reap-live-{suffix}"),
        Some(format!("{host}:{}", live.id())),
    );
    let gone_id = create(
        &format!("mg-reap-gone-{suffix}"),
        Some(format!("{host}:{gone_pid}")),
    );
    let elsewhere_id = create(
        &format!("mg-reap-elsewhere-{suffix}"),
        Some("another-host:1".to_string()),
    );

    let shadow = |stale_after: &str| {
        let project = Project::new();
        project.file("0001_t.sql", "CREATE TABLE IF NOT EXISTS t (id int);\n");
        let mut command =
            project.command(&["shadow", "--provider", "docker", "--no-catalog-checks"]);
        command.env("MIGRATION_GUARD_STALE_AFTER_SECONDS", stale_after);
        let (code, stdout, stderr) = output(&mut command);
        assert_eq!(code, 0, "{stdout}\n{stderr}");
    };
    // Every one of them is younger than the default age limit.
    shadow("21600");
    let left = our_containers();
    let short = |id: &str| id[..12].to_string();
    assert!(
        left.contains(&short(&live_id)),
        "a live run's shadow was removed"
    );
    assert!(
        !left.contains(&short(&gone_id)),
        "a gone run's shadow was left"
    );
    assert!(
        left.contains(&short(&elsewhere_id)),
        "another host's young shadow was removed"
    );
    // Past the age limit, what no owner can be checked for goes; a live run's stays.
    shadow("0");
    let left = our_containers();
    assert!(
        left.contains(&short(&live_id)),
        "a live run's shadow was removed"
    );
    assert!(
        !left.contains(&short(&elsewhere_id)),
        "an old ownerless shadow was left"
    );

    live.kill().unwrap();
    live.wait().unwrap();
    Command::new("docker")
        .args(["rm", "-f", &live_id])
        .output()
        .unwrap();
}
