//! The `local` provider: a throwaway cluster from the Postgres server binaries on this
//! machine (`initdb`, `pg_ctl`), in a temporary directory, reachable only through a
//! Unix socket in that directory (no TCP port to collide with), durability off for speed.
//!
//! The cluster is stopped and its directory removed when the value is dropped: on
//! success, on error, on panic, and when a signal makes the command drop its work.

use std::fs;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use tempfile::TempDir;
use tokio_postgres::Config;

/// The superuser of the cluster, named as on Supabase.
pub const SUPERUSER: &str = "supabase_admin";
const PORT: u16 = 5432;
const READY_SECONDS: &str = "60";

#[derive(Debug, thiserror::Error)]
pub enum LocalError {
    #[error(
        "no Postgres server binaries found ({searched}); install them (e.g. `apt-get install postgresql`), pass --pg-bin DIR, or use --database-url"
    )]
    NoBinaries { searched: String },
    #[error("{dir} has no {program}; --pg-bin must be the directory holding initdb and pg_ctl")]
    MissingProgram { dir: PathBuf, program: &'static str },
    #[error("cannot prepare a directory for the throwaway cluster: {0}")]
    TempDir(#[source] std::io::Error),
    #[error("running as root, and there is no `postgres` or `nobody` user to run Postgres as")]
    NoUnprivilegedUser,
    #[error("{program} failed ({status}):\n{output}")]
    Failed {
        program: String,
        status: String,
        output: String,
    },
    #[error("cannot run {program}: {source}")]
    Spawn {
        program: String,
        #[source]
        source: std::io::Error,
    },
}

/// A running throwaway cluster.
pub struct LocalCluster {
    dir: TempDir,
    bin: PathBuf,
    run_as: Option<(u32, u32)>,
    running: bool,
}

impl LocalCluster {
    /// Creates and starts a cluster with the binaries in `bin` (or found on this machine).
    pub async fn start(bin: Option<&Path>) -> Result<LocalCluster, LocalError> {
        let bin = find_bin_dir(bin)?;
        let run_as = unprivileged_user()?;
        let dir = tempfile::Builder::new()
            .prefix("migration-guard-")
            .tempdir()
            .map_err(LocalError::TempDir)?;
        if let Some((uid, gid)) = run_as {
            std::os::unix::fs::chown(dir.path(), Some(uid), Some(gid))
                .map_err(LocalError::TempDir)?;
        }
        let mut cluster = LocalCluster {
            dir,
            bin,
            run_as,
            running: false,
        };
        tracing::info!(
            "starting a throwaway Postgres cluster ({})",
            cluster.bin.display()
        );
        let data = cluster.data_dir();
        cluster
            .run(
                "initdb",
                &[
                    "-D".as_ref(),
                    data.as_os_str(),
                    "-U".as_ref(),
                    SUPERUSER.as_ref(),
                    "--auth=trust".as_ref(),
                    "--encoding=UTF8".as_ref(),
                    "--locale=C".as_ref(),
                    "--no-sync".as_ref(),
                    "--no-instructions".as_ref(),
                ],
            )
            .await?;
        let options = format!(
            "-c listen_addresses='' -k {} -p {PORT} -c fsync=off -c synchronous_commit=off -c full_page_writes=off",
            cluster.dir.path().display()
        );
        let log = cluster.dir.path().join("server.log");
        // Marked running first: if pg_ctl gives up half way, Drop still stops the server.
        cluster.running = true;
        let started = cluster
            .run(
                "pg_ctl",
                &[
                    "start".as_ref(),
                    "-w".as_ref(),
                    "-t".as_ref(),
                    READY_SECONDS.as_ref(),
                    "-D".as_ref(),
                    data.as_os_str(),
                    "-l".as_ref(),
                    log.as_os_str(),
                    "-o".as_ref(),
                    options.as_ref(),
                ],
            )
            .await;
        if let Err(LocalError::Failed {
            program,
            status,
            output,
        }) = started
        {
            let log = fs::read_to_string(&log).unwrap_or_default();
            return Err(LocalError::Failed {
                program,
                status,
                output: format!("{output}\nserver log:\n{}", tail(&log, 20)),
            });
        }
        started?;
        Ok(cluster)
    }

    /// Connection settings for the cluster's superuser.
    pub fn admin_config(&self) -> Config {
        let mut config = Config::new();
        config
            .host_path(self.dir.path())
            .port(PORT)
            .user(SUPERUSER)
            .dbname("postgres");
        config
    }

    fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn command(&self, program: &str) -> Command {
        let mut command = Command::new(self.bin.join(program));
        if let Some((uid, gid)) = self.run_as {
            command.uid(uid).gid(gid);
        }
        // A clean environment: the server must not hold the tool's tokens and URLs, which
        // anything that reads its environment (a program, /proc) would give away.
        command
            .env_clear()
            .env("PATH", "/usr/local/bin:/usr/bin:/bin")
            .env("LC_ALL", "C")
            .stdin(Stdio::null());
        command
    }

    async fn run(&self, program: &str, args: &[&std::ffi::OsStr]) -> Result<(), LocalError> {
        let mut command = tokio::process::Command::from(self.command(program));
        command.args(args).kill_on_drop(true);
        let output = command.output().await.map_err(|source| LocalError::Spawn {
            program: program.to_string(),
            source,
        })?;
        if output.status.success() {
            return Ok(());
        }
        Err(LocalError::Failed {
            program: program.to_string(),
            status: output.status.to_string(),
            output: format!(
                "{}{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            )
            .trim()
            .to_string(),
        })
    }
}

impl Drop for LocalCluster {
    fn drop(&mut self) {
        if !self.running {
            return;
        }
        // Immediate: nothing in a throwaway cluster is worth a clean shutdown.
        let stopped = self
            .command("pg_ctl")
            .args(["stop", "-m", "immediate", "-w", "-D"])
            .arg(self.data_dir())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        if !stopped.is_ok_and(|status| status.success()) {
            tracing::warn!(
                "could not stop the throwaway cluster in {}",
                self.dir.path().display()
            );
        }
    }
}

/// `--pg-bin`, else `initdb` on PATH, else the newest /usr/lib/postgresql/*/bin.
fn find_bin_dir(explicit: Option<&Path>) -> Result<PathBuf, LocalError> {
    if let Some(dir) = explicit {
        for program in ["initdb", "pg_ctl"] {
            if !dir.join(program).is_file() {
                return Err(LocalError::MissingProgram {
                    dir: dir.to_path_buf(),
                    program,
                });
            }
        }
        return Ok(dir.to_path_buf());
    }
    let on_path = std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .map(|dir| dir.join("initdb"))
        .find(|initdb| initdb.is_file())
        // pg_ctl looks for `postgres` beside its real path: follow symlinks.
        .and_then(|initdb| fs::canonicalize(initdb).ok())
        .and_then(|initdb| initdb.parent().map(Path::to_path_buf));
    if let Some(dir) = on_path.filter(|dir| dir.join("pg_ctl").is_file()) {
        return Ok(dir);
    }
    let mut installed: Vec<(u32, PathBuf)> = fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let major = entry.file_name().to_str()?.parse().ok()?;
            let bin = entry.path().join("bin");
            bin.join("initdb").is_file().then_some((major, bin))
        })
        .collect();
    installed.sort();
    installed
        .pop()
        .map(|(_, bin)| bin)
        .ok_or_else(|| LocalError::NoBinaries {
            searched: "initdb on PATH, /usr/lib/postgresql/*/bin".to_string(),
        })
}

/// Postgres refuses to run as root; as root, run it as `postgres` (or `nobody`).
fn unprivileged_user() -> Result<Option<(u32, u32)>, LocalError> {
    if !nix::unistd::geteuid().is_root() {
        return Ok(None);
    }
    ["postgres", "nobody"]
        .into_iter()
        .find_map(|name| nix::unistd::User::from_name(name).ok().flatten())
        .map(|user| Some((user.uid.as_raw(), user.gid.as_raw())))
        .ok_or(LocalError::NoUnprivilegedUser)
}

fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}
