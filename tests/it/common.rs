//! Helpers shared by the integration tests: a project directory on disk and the binary.

#![allow(dead_code)]

use std::fs;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use tempfile::TempDir;

/// A throwaway project folder with a `migrations` directory.
pub struct Project {
    pub root: TempDir,
}

impl Project {
    pub fn new() -> Self {
        let root = tempfile::tempdir().expect("temp dir");
        fs::create_dir(root.path().join("migrations")).expect("migrations dir");
        Project { root }
    }

    pub fn path(&self) -> &Path {
        self.root.path()
    }

    pub fn migrations(&self) -> PathBuf {
        self.root.path().join("migrations")
    }

    /// Writes `migrations/<name>` and returns its path.
    pub fn file(&self, name: &str, contents: impl AsRef<[u8]>) -> PathBuf {
        let path = self.migrations().join(name);
        fs::write(&path, contents).expect("write migration");
        path
    }

    /// The binary, run in the project root with `--dir migrations`.
    pub fn command(&self, args: &[&str]) -> Command {
        self.command_in("migrations", args)
    }

    /// The binary, run in the project root with `--dir <dir>`.
    pub fn command_in(&self, dir: &str, args: &[&str]) -> Command {
        let mut command = Command::cargo_bin("migration-guard").expect("binary");
        command
            .current_dir(self.path())
            .env_remove("RUST_LOG")
            .env_remove("MIGRATION_GUARD_FORMAT")
            .env("NO_COLOR", "1")
            .args(args)
            .args(["--dir", dir]);
        command
    }
}

/// Runs the command and returns (exit code, stdout, stderr).
pub fn output(command: &mut Command) -> (i32, String, String) {
    let output = command.output().expect("run the binary");
    (
        output.status.code().expect("exit code"),
        String::from_utf8(output.stdout).expect("utf-8 stdout"),
        String::from_utf8(output.stderr).expect("utf-8 stderr"),
    )
}

/// `shadow --provider local --format json` on `project`: its exit code and report.
pub fn shadow_json(project: &Project) -> (i32, serde_json::Value) {
    let (code, stdout, stderr) =
        output(&mut project.command(&["shadow", "--provider", "local", "--format", "json"]));
    let report =
        serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}\n{stderr}"));
    (code, report)
}

/// The findings of `rule` in a JSON report.
pub fn findings_of<'r>(report: &'r serde_json::Value, rule: &str) -> Vec<&'r serde_json::Value> {
    report["findings"]
        .as_array()
        .expect("a findings list")
        .iter()
        .filter(|finding| finding["rule"] == rule)
        .collect()
}

/// The name of the file a JSON finding points at (its last path part).
pub fn file_name(finding: &serde_json::Value) -> String {
    finding["file"]
        .as_str()
        .expect("a file")
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .to_string()
}

/// A real Postgres server for tests that need one of their own (the `url` provider and
/// the apply engine): initdb + pg_ctl in a temp dir, TCP on a free loopback port,
/// password authentication, stopped on drop.
/// One cluster for the tests of a module that run at the same time (`module` names it:
/// modules whose `setup` differs never share one); `setup` runs once on it when it
/// starts; it stops when the last test holding it ends.
pub fn shared_server(module: &'static str, setup: fn(&PgServer)) -> std::sync::Arc<PgServer> {
    use std::collections::HashMap;
    use std::sync::{Arc, Mutex, PoisonError, Weak};
    static SHARED: Mutex<Option<HashMap<&'static str, Weak<PgServer>>>> = Mutex::new(None);
    let mut shared = SHARED.lock().unwrap_or_else(PoisonError::into_inner);
    let servers = shared.get_or_insert_with(HashMap::new);
    if let Some(server) = servers.get(module).and_then(Weak::upgrade) {
        return server;
    }
    let server = Arc::new(PgServer::start());
    setup(&server);
    servers.insert(module, Arc::downgrade(&server));
    server
}

/// Runs openssl with `args` then `paths`, and insists that it succeeds.
fn openssl(args: &[&str], paths: &[&Path]) {
    let status = std::process::Command::new("openssl")
        .args(args)
        .args(paths)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .expect("openssl");
    assert!(status.success(), "openssl {args:?} {paths:?}");
}

pub struct PgServer {
    pub port: u16,
    pub password: String,
    dir: TempDir,
    pub run_as: Option<(u32, u32)>,
}

const PG_BIN: &str = "/usr/lib/postgresql/15/bin";

impl PgServer {
    pub fn start() -> PgServer {
        use std::os::unix::process::CommandExt;
        let dir = tempfile::Builder::new()
            .prefix("mg-test-pg-")
            .tempdir()
            .unwrap();
        let run_as = nix::unistd::geteuid().is_root().then(|| {
            let user = nix::unistd::User::from_name("postgres")
                .unwrap()
                .expect("postgres user");
            std::os::unix::fs::chown(dir.path(), Some(user.uid.as_raw()), Some(user.gid.as_raw()))
                .unwrap();
            (user.uid.as_raw(), user.gid.as_raw())
        });
        let password = format!("pw-{:08x}", rand::random::<u32>());
        let pwfile = dir.path().join("pw");
        fs::write(&pwfile, &password).unwrap();
        if let Some((uid, gid)) = run_as {
            std::os::unix::fs::chown(&pwfile, Some(uid), Some(gid)).unwrap();
        }
        let port = free_port();
        let run = |args: &[&str]| {
            let mut command = std::process::Command::new(format!("{PG_BIN}/{}", args[0]));
            command.args(&args[1..]);
            if let Some((uid, gid)) = run_as {
                command.uid(uid).gid(gid);
            }
            let output = command.output().expect("run postgres tool");
            assert!(
                output.status.success(),
                "{args:?}: {}",
                String::from_utf8_lossy(&output.stderr)
            );
        };
        let data = dir.path().join("data");
        let data = data.to_str().unwrap();
        run(&[
            "initdb",
            "-D",
            data,
            "-U",
            "postgres",
            "--auth=scram-sha-256",
            "--pwfile",
            pwfile.to_str().unwrap(),
            "--no-sync",
            "-E",
            "UTF8",
            "--locale=C",
        ]);
        let options = format!(
            "-c listen_addresses=127.0.0.1 -p {port} -k {} -c fsync=off",
            dir.path().display()
        );
        let log = dir.path().join("log");
        run(&[
            "pg_ctl",
            "start",
            "-w",
            "-D",
            data,
            "-l",
            log.to_str().unwrap(),
            "-o",
            &options,
        ]);
        PgServer {
            port,
            password,
            dir,
            run_as,
        }
    }

    pub fn url(&self) -> String {
        self.url_for("postgres")
    }

    pub fn url_for(&self, database: &str) -> String {
        format!(
            "postgresql://postgres:{}@127.0.0.1:{}/{database}",
            self.password, self.port
        )
    }

    /// Turns TLS on with a self-signed certificate (what a hosted database's own CA
    /// looks like to a client that trusts only the system's).
    pub fn enable_tls(&self) {
        let data = self.dir.path().join("data");
        openssl(
            &[
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-days",
                "1",
                "-subj",
                "/CN=db.example.supabase.co",
                "-keyout",
            ],
            &[
                &data.join("server.key"),
                Path::new("-out"),
                &data.join("server.crt"),
            ],
        );
        self.use_tls_files();
    }

    /// Turns TLS on with a certificate for `localhost` (only) that a CA of the test
    /// signed; returns the CA's certificate, the root a verifying client is given.
    pub fn enable_tls_signed(&self) -> PathBuf {
        let data = self.dir.path().join("data");
        let ca = self.dir.path().join("ca");
        fs::create_dir_all(&ca).unwrap();
        openssl(
            &[
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-days",
                "1",
                "-subj",
                "/CN=migration-guard test CA",
                "-keyout",
            ],
            &[&ca.join("ca.key"), Path::new("-out"), &ca.join("ca.crt")],
        );
        openssl(
            &[
                "req",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-subj",
                "/CN=localhost",
                "-keyout",
            ],
            &[
                &data.join("server.key"),
                Path::new("-out"),
                &ca.join("server.csr"),
            ],
        );
        fs::write(ca.join("san.ext"), "subjectAltName=DNS:localhost\n").unwrap();
        openssl(
            &["x509", "-req", "-days", "1", "-CAcreateserial", "-in"],
            &[
                &ca.join("server.csr"),
                Path::new("-CA"),
                &ca.join("ca.crt"),
                Path::new("-CAkey"),
                &ca.join("ca.key"),
                Path::new("-extfile"),
                &ca.join("san.ext"),
                Path::new("-out"),
                &data.join("server.crt"),
            ],
        );
        self.use_tls_files();
        ca.join("ca.crt")
    }

    /// Hands `server.key` and `server.crt` in the data directory to the server and
    /// turns TLS on.
    fn use_tls_files(&self) {
        let data = self.dir.path().join("data");
        for file in ["server.key", "server.crt"] {
            let path = data.join(file);
            if let Some((uid, gid)) = self.run_as {
                std::os::unix::fs::chown(&path, Some(uid), Some(gid)).unwrap();
            }
            use std::os::unix::fs::PermissionsExt;
            fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
        }
        self.psql("ALTER SYSTEM SET ssl = on");
        self.psql("SELECT pg_reload_conf()");
        // The reload is asynchronous.
        std::thread::sleep(std::time::Duration::from_millis(500));
    }

    /// Creates a database of its own for one test, named after `prefix`, and returns
    /// its name.
    pub fn fresh_database(&self, prefix: &str) -> String {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let name = format!(
            "{prefix}_{}_{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        self.psql(&format!("CREATE DATABASE {name}"));
        name
    }

    /// Runs SQL with psql and returns the unaligned, tuples-only output.
    pub fn psql(&self, sql: &str) -> String {
        self.psql_in("postgres", sql)
    }

    /// Runs SQL with psql in `database` and returns the unaligned, tuples-only output.
    pub fn psql_in(&self, database: &str, sql: &str) -> String {
        let output = std::process::Command::new("psql")
            .args([
                "-X",
                "-A",
                "-t",
                "-v",
                "ON_ERROR_STOP=1",
                &self.url_for(database),
                "-c",
                sql,
            ])
            .output()
            .expect("psql");
        assert!(
            output.status.success(),
            "{sql}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).unwrap().trim().to_string()
    }
}

impl Drop for PgServer {
    fn drop(&mut self) {
        use std::os::unix::process::CommandExt;
        let mut command = std::process::Command::new(format!("{PG_BIN}/pg_ctl"));
        command
            .args(["stop", "-m", "immediate", "-D"])
            .arg(self.dir.path().join("data"));
        if let Some((uid, gid)) = self.run_as {
            command.uid(uid).gid(gid);
        }
        let _ = command.output();
    }
}

/// A real pgbouncer in front of one database of a [`PgServer`], in `pool_mode`
/// (`transaction` or `session`); stopped on drop.
pub struct PgBouncer {
    pub port: u16,
    process: std::process::Child,
    _dir: TempDir,
}

impl PgBouncer {
    pub fn start(server: &PgServer, database: &str, pool_mode: &str) -> PgBouncer {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let ini = dir.path().join("pgbouncer.ini");
        fs::write(
            &ini,
            format!(
                "[databases]\n{database} = host=127.0.0.1 port={} dbname={database} user=postgres password={}\n\
                 [pgbouncer]\nlisten_addr = 127.0.0.1\nlisten_port = {port}\nauth_type = any\n\
                 pool_mode = {pool_mode}\ndefault_pool_size = 4\nunix_socket_dir =\n\
                 logfile = {}\n",
                server.port,
                server.password,
                dir.path().join("pgbouncer.log").display()
            ),
        )
        .unwrap();
        if let Some((uid, gid)) = server.run_as {
            std::os::unix::fs::chown(dir.path(), Some(uid), Some(gid)).unwrap();
            std::os::unix::fs::chown(&ini, Some(uid), Some(gid)).unwrap();
        }
        let mut command = std::process::Command::new("pgbouncer");
        command
            .arg(&ini)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
        if let Some((uid, gid)) = server.run_as {
            use std::os::unix::process::CommandExt;
            command.uid(uid).gid(gid);
        }
        let process = command
            .spawn()
            .expect("pgbouncer (Debian: apt-get install pgbouncer)");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                std::time::Instant::now() < deadline,
                "pgbouncer did not listen"
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        PgBouncer {
            port,
            process,
            _dir: dir,
        }
    }
}

impl Drop for PgBouncer {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The label on every shadow container the `docker` provider starts.
pub const SHADOW_LABEL: &str = "dev.migration-guard.shadow";

/// Whether a Docker engine answers and has `image`.
pub fn docker_image_present(image: &str) -> bool {
    std::process::Command::new("docker")
        .args(["image", "inspect", image])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

/// The ids of the shadow containers that exist right now, running or not.
pub fn shadow_containers() -> Vec<String> {
    let output = std::process::Command::new("docker")
        .args([
            "ps",
            "-a",
            "-q",
            "--filter",
            &format!("label={SHADOW_LABEL}"),
        ])
        .output()
        .expect("docker ps");
    String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

/// Waits until no shadow container is left but those in `before` (removal is
/// asynchronous in the engine), failing after ten seconds.
pub fn assert_no_shadow_containers_left(before: &[String]) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let left: Vec<String> = shadow_containers()
            .into_iter()
            .filter(|id| !before.contains(id))
            .collect();
        if left.is_empty() {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "shadow containers left behind: {left:?}"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
}
