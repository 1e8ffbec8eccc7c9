//! The schema-only backup taken before production is touched: `pg_dump --schema-only`
//! of the target into the report directory, so the schema as it was before the deploy
//! is in the run's artifacts.
//!
//! pg_dump refuses a server newer than itself, so the newest pg_dump installed is used
//! and one older than the server stops the deploy before anything is applied. The
//! password reaches pg_dump through its environment, never its command line.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use tokio::process::Command;
use tokio_postgres::Config;
use tokio_postgres::config::Host;

use crate::db::tls::Tls;

#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error(
        "no pg_dump found (on PATH or in /usr/lib/postgresql/*/bin) for the schema backup before production: install the PostgreSQL {server_major} client (postgresql-client-{server_major}), or deploy with --no-backup"
    )]
    NoPgDump { server_major: u32 },
    #[error(
        "pg_dump {found} cannot dump a PostgreSQL {server_major} server: install postgresql-client-{server_major} (or newer), or deploy with --no-backup"
    )]
    TooOld { found: u32, server_major: u32 },
    #[error("cannot write the schema backup in {dir}: {source}")]
    Io {
        dir: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("pg_dump failed: {stderr}")]
    Failed { stderr: String },
}

/// A backup written.
#[derive(Debug)]
pub struct Backup {
    pub path: PathBuf,
    pub bytes: u64,
}

/// Dumps the schema of the database `config` names into `dir`, its certificate checked
/// as `tls` says.
pub async fn schema(
    config: &Config,
    tls: &Tls,
    server_version: &str,
    dir: &Path,
    name: &str,
) -> Result<Backup, BackupError> {
    let server_major = major(server_version).unwrap_or(0);
    let pg_dump = choose(installed().await, server_major)?;
    std::fs::create_dir_all(dir).map_err(|source| BackupError::Io {
        dir: dir.to_path_buf(),
        source,
    })?;
    let path = dir.join(format!(
        "{name}-schema-{}.sql",
        chrono::Utc::now().format("%Y%m%dT%H%M%SZ")
    ));
    let mut command = Command::new(&pg_dump);
    command
        .args(["--schema-only", "--no-password", "--file"])
        .arg(&path)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    for (key, value) in environment(config, tls) {
        command.env(key, value);
    }
    let output = command.output().await.map_err(|source| BackupError::Io {
        dir: dir.to_path_buf(),
        source,
    })?;
    if !output.status.success() {
        let _ = std::fs::remove_file(&path);
        return Err(BackupError::Failed {
            stderr: String::from_utf8_lossy(&output.stderr).trim().to_string(),
        });
    }
    let bytes = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    Ok(Backup { path, bytes })
}

/// libpq's variables for `config`: the password stays off the command line.
fn environment(config: &Config, tls: &Tls) -> Vec<(&'static str, String)> {
    let mut env = Vec::new();
    if let Some(host) = config.get_hosts().first() {
        env.push((
            "PGHOST",
            match host {
                Host::Tcp(name) => name.clone(),
                Host::Unix(path) => path.display().to_string(),
            },
        ));
    }
    if let Some(port) = config.get_ports().first() {
        env.push(("PGPORT", port.to_string()));
    }
    if let Some(user) = config.get_user() {
        env.push(("PGUSER", user.to_string()));
    }
    if let Some(password) = config.get_password() {
        env.push(("PGPASSWORD", String::from_utf8_lossy(password).into_owned()));
    }
    if let Some(dbname) = config.get_dbname() {
        env.push(("PGDATABASE", dbname.to_string()));
    }
    // The URL's sslmode, as the deploy itself connected (`require` stays `require`,
    // `verify-full` checks the certificate against the same root).
    let sslmode = match (config.get_ssl_mode(), tls.libpq()) {
        (tokio_postgres::config::SslMode::Disable, _) => "disable",
        (tokio_postgres::config::SslMode::Require, (mode, root)) => {
            if let Some(root) = root {
                env.push(("PGSSLROOTCERT", root.display().to_string()));
            }
            mode
        }
        _ => "prefer",
    };
    env.push(("PGSSLMODE", sslmode.to_string()));
    env
}

/// The major version in `15.18`, `17.4 (Debian …)` or `pg_dump (PostgreSQL) 15.18`.
fn major(version: &str) -> Option<u32> {
    version
        .split(|c: char| !c.is_ascii_digit())
        .find(|part| !part.is_empty())?
        .parse()
        .ok()
}

/// Every pg_dump found, with its major version.
async fn installed() -> Vec<(u32, PathBuf)> {
    let mut candidates: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| entry.path().join("bin/pg_dump"))
        .filter(|path| path.is_file())
        .collect();
    candidates.push(PathBuf::from("pg_dump"));
    let mut found = Vec::new();
    for candidate in candidates {
        let Ok(output) = Command::new(&candidate).arg("--version").output().await else {
            continue;
        };
        let version = String::from_utf8_lossy(&output.stdout);
        let number = version.rsplit(' ').next().unwrap_or_default();
        if let Some(major) = major(number) {
            found.push((major, candidate));
        }
    }
    found
}

/// The newest pg_dump, if it can dump a server of `server_major`.
fn choose(mut found: Vec<(u32, PathBuf)>, server_major: u32) -> Result<PathBuf, BackupError> {
    found.sort();
    let (newest, path) = found.pop().ok_or(BackupError::NoPgDump { server_major })?;
    if newest < server_major {
        return Err(BackupError::TooOld {
            found: newest,
            server_major,
        });
    }
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A self-signed certificate, as a root (its key was thrown away).
    const TEST_ROOT: &str = "-----BEGIN CERTIFICATE-----\nMIIDCTCCAfGgAwIBAgIUN5LkLfhSY6WaIj+wW1w9MOJCDLgwDQYJKoZIhvcNAQEL\nBQAwFDESMBAGA1UEAwwJdGVzdC1yb290MB4XDTI2MTIwNTA5MDAxOVoXDTM2MTIw\nMjA5MDAxOVowFDESMBAGA1UEAwwJdGVzdC1yb290MIIBIjANBgkqhkiG9w0BAQEF\nAAOCAQ8AMIIBCgKCAQEA39BqOIddu+OjspV6saZBFr5DmsUD4neGhP7MwUjz0KIY\nELVN07iEkmKgwKSKpQ8BGrighC+7wh8VAqUJalGN52jbp9kmZGRtiRNYIuGhgF3B\nYSSA2zdLujGhFl6obxJd2AXB3p5azXxX/iyTpuREcATcqWm+H34oGKg4DTdK/Eli\nUOaS74o92qnH2jpXX2kh67CUl+aaG9kDEdddYXLbTzrd72A0yUvdR0nNsPlNcFRV\nUZ+Mk+aCdivmFDne8p6KtG/gnG8QY3WeLghvMhv7jyAplfxJ2oKH2w2PbD/Ihm3P\n0/8BUscquxWz3+kefwP4hTtLN3M7xPhX6l222HtB+wIDAQABo1MwUTAdBgNVHQ4E\nFgQUccHb8cgi9CZSGGIwU1U5+MjhL74wHwYDVR0jBBgwFoAUccHb8cgi9CZSGGIw\nU1U5+MjhL74wDwYDVR0TAQH/BAUwAwEB/zANBgkqhkiG9w0BAQsFAAOCAQEAPAlA\nv9Ch2VNwy0WyH3k4ct2QeREaK/Nk1apV5DtmqX8/xfrMe4+6RAEpMxu0L2R8yKgL\n5zlZuzjDopmVmc+M2E8gAMvH+FCV7D6Pi6USJzukfYJcNO+DPOr1uzC55fvaqpk8\nQcp1JXJ4y1wskslLM1SKjXgaXnszkC38kk52MmZTD3Uv8NwX8XoUzprOfAOhAWSo\nxLwGGPUfr9Jg8fB/K2CLJVP4EoUOIKlznoTdhQvtB1LD2bKqgdbcbShxMs/sJM8l\nwVa0ctj66Ly3nsAnZxKAU+tbVHHGrpFztyOJSrXgCp8Xr2TlTE1+s/HiIVNya0kc\npOCisrIaN3FzC+GLRA==\n-----END CERTIFICATE-----\n";

    #[test]
    fn pg_dump_gets_the_urls_sslmode() {
        let env = |url: &str| {
            let endpoint = crate::db::url::parse(url).unwrap();
            environment(&endpoint.config, &endpoint.tls)
        };
        assert!(
            env("postgresql://u:p@h:5432/d?sslmode=require")
                .contains(&("PGSSLMODE", "require".to_string()))
        );
        assert!(
            env("postgresql://u:p@h:5432/d?sslmode=disable")
                .contains(&("PGSSLMODE", "disable".to_string()))
        );
        assert!(env("postgresql://u:p@h:5432/d").contains(&("PGSSLMODE", "prefer".to_string())));
        let root = std::env::temp_dir().join(format!("mg-root-{}.pem", std::process::id()));
        std::fs::write(&root, TEST_ROOT).unwrap();
        let verified = env(&format!(
            "postgresql://u:p@h:5432/d?sslmode=verify-full&sslrootcert={}",
            root.display()
        ));
        std::fs::remove_file(&root).unwrap();
        assert!(verified.contains(&("PGSSLMODE", "verify-full".to_string())));
        assert!(verified.contains(&("PGSSLROOTCERT", root.display().to_string())));
    }

    #[test]
    fn the_newest_pg_dump_and_only_if_it_is_new_enough() {
        let found = vec![
            (15, PathBuf::from("/usr/lib/postgresql/15/bin/pg_dump")),
            (17, PathBuf::from("/usr/lib/postgresql/17/bin/pg_dump")),
        ];
        assert_eq!(
            choose(found.clone(), 15).unwrap(),
            PathBuf::from("/usr/lib/postgresql/17/bin/pg_dump")
        );
        let error = choose(found[..1].to_vec(), 17).unwrap_err();
        assert!(
            error.to_string().contains("postgresql-client-17"),
            "{error}"
        );
        assert!(matches!(
            choose(Vec::new(), 15),
            Err(BackupError::NoPgDump { server_major: 15 })
        ));
    }

    #[test]
    fn majors_from_every_way_a_version_is_written() {
        assert_eq!(major("15.18"), Some(15));
        assert_eq!(major("17.4 (Debian 17.4-1)"), Some(17));
        assert_eq!(major("PostgreSQL 9.6.24"), Some(9));
        assert_eq!(major("devel"), None);
    }
}
