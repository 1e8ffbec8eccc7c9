//! Connection URLs: parsed with their password kept out of every error, refused when
//! they name a transaction-mode pooler, and described (`user@host:port`) for messages.
//! `sslmode=verify-ca` and `verify-full` check the server's certificate as libpq does,
//! against `sslrootcert` (a PEM file, or `system` for the platform's roots).

use std::path::PathBuf;
use std::str::FromStr;

use tokio_postgres::Config;
use tokio_postgres::config::Host;

use super::tls::{Tls, Verify};

/// A server a URL names: how to connect, and how its certificate is checked.
#[derive(Clone)]
pub struct Endpoint {
    pub config: Config,
    pub tls: Tls,
}

#[derive(Debug, thiserror::Error)]
pub enum UrlError {
    #[error(
        "the database URL is not a valid connection string ({reason}); expected postgresql://USER:PASSWORD@HOST:PORT/DATABASE"
    )]
    Invalid { reason: String },
    #[error(
        "{described} is a transaction-mode pooler (Supavisor's port 6543, or pgbouncer with pool_mode = transaction): a migration needs one session throughout (its lock_timeout, the deploy lock, prepared statements), which a transaction pooler does not keep. Use a session pooler (Supabase's: the same host, port 5432; pgbouncer: pool_mode = session) or the direct connection (db.<project-ref>.supabase.co:5432)"
    )]
    TransactionPooler { described: String },
    #[error(
        "sslmode={mode} checks the server's certificate against a root certificate, and {path} cannot be read ({reason}): give its path with sslrootcert=PATH, use the system's trusted roots with sslrootcert=system, or use sslmode=require (encrypted, the certificate not checked)"
    )]
    RootCertificate {
        mode: &'static str,
        path: String,
        reason: String,
    },
}

/// Parses a connection URL (or `key=value` string). The error never repeats the input,
/// which holds a password.
pub fn parse(url: &str) -> Result<Endpoint, UrlError> {
    let (rest, verification) = verification(url);
    let mut config = Config::from_str(&rest).map_err(|error| UrlError::Invalid {
        reason: redact(&redact(&error.to_string(), &rest), url),
    })?;
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(std::time::Duration::from_secs(10));
    }
    // 6543 is the transaction-mode port of Supabase's pooler (and pgbouncer's habit).
    if config.get_ports().contains(&6543) {
        return Err(UrlError::TransactionPooler {
            described: describe(&config),
        });
    }
    let tls = match verification {
        None => Tls::EncryptOnly,
        Some((host_name, root)) => {
            let mode = if host_name {
                "verify-full"
            } else {
                "verify-ca"
            };
            let root = root.unwrap_or_else(default_root);
            Tls::verified(Verify {
                host_name,
                root: root.clone(),
            })
            .map_err(|reason| UrlError::RootCertificate {
                mode,
                path: root.display().to_string(),
                reason,
            })?
        }
    };
    Ok(Endpoint { config, tls })
}

/// The URL without `sslmode=verify-ca|verify-full` and `sslrootcert` (which the driver
/// does not know; `sslmode=require` takes the mode's place), and, when it asked for a
/// check, whether the host name is checked too and the root certificate it named.
fn verification(url: &str) -> (String, Option<(bool, Option<PathBuf>)>) {
    let url_form = url.contains("://");
    let (head, params): (&str, Vec<&str>) = if url_form {
        match url.split_once('?') {
            Some((head, query)) => (head, query.split('&').collect()),
            None => return (url.to_string(), None),
        }
    } else {
        ("", url.split_whitespace().collect())
    };
    let mut mode = None;
    let mut root = None;
    let mut kept = Vec::new();
    for param in params {
        match param.split_once('=') {
            Some(("sslmode", value @ ("verify-ca" | "verify-full"))) => {
                mode = Some(value == "verify-full");
            }
            Some(("sslrootcert", value)) => root = Some(PathBuf::from(percent_decoded(value))),
            _ => kept.push(param),
        }
    }
    let Some(host_name) = mode else {
        return (url.to_string(), None);
    };
    kept.push("sslmode=require");
    let rest = if url_form {
        format!("{head}?{}", kept.join("&"))
    } else {
        kept.join(" ")
    };
    (rest, Some((host_name, root)))
}

/// libpq's default root certificate: `~/.postgresql/root.crt`.
fn default_root() -> PathBuf {
    let home = std::env::var_os("HOME").unwrap_or_default();
    PathBuf::from(home).join(".postgresql/root.crt")
}

fn percent_decoded(value: &str) -> String {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut at = 0;
    while at < bytes.len() {
        let hex = bytes
            .get(at + 1..at + 3)
            .and_then(|pair| std::str::from_utf8(pair).ok())
            .and_then(|pair| u8::from_str_radix(pair, 16).ok());
        match (bytes[at], hex) {
            (b'%', Some(byte)) => {
                out.push(byte);
                at += 3;
            }
            (byte, _) => {
                out.push(byte);
                at += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `user@host:port` for messages: never the password.
pub fn describe(config: &Config) -> String {
    let host = config
        .get_hosts()
        .first()
        .map(|host| match host {
            Host::Tcp(name) => name.clone(),
            Host::Unix(path) => path.display().to_string(),
        })
        .unwrap_or_else(|| "localhost".to_string());
    let port = config.get_ports().first().copied().unwrap_or(5432);
    format!(
        "{}@{host}:{port}",
        config.get_user().unwrap_or("(default user)")
    )
}

fn redact(message: &str, url: &str) -> String {
    if url.is_empty() {
        message.to_string()
    } else {
        message.replace(url, "<url>")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verify_modes_become_require_with_the_root_certificate_kept_aside() {
        let (rest, check) = verification(
            "postgresql://u:p@db.example.com:5432/postgres?sslmode=verify-full&sslrootcert=%2Ftmp%2Fca.pem&application_name=x",
        );
        assert_eq!(
            rest,
            "postgresql://u:p@db.example.com:5432/postgres?application_name=x&sslmode=require"
        );
        assert_eq!(check, Some((true, Some(PathBuf::from("/tmp/ca.pem")))));
        let (rest, check) = verification("host=h user=u sslmode=verify-ca dbname=d");
        assert_eq!(rest, "host=h user=u dbname=d sslmode=require");
        assert_eq!(check, Some((false, None)));
        let plain = "postgresql://u:p@h/d?sslmode=require";
        assert_eq!(verification(plain), (plain.to_string(), None));
    }

    #[test]
    fn a_root_certificate_that_cannot_be_read_is_refused_with_what_to_do() {
        let error =
            parse("postgresql://u:s3cret@h/d?sslmode=verify-full&sslrootcert=/nonexistent/ca.pem")
                .err()
                .expect("refused");
        let message = error.to_string();
        assert!(message.contains("/nonexistent/ca.pem"), "{message}");
        assert!(message.contains("sslrootcert=system"), "{message}");
        assert!(!message.contains("s3cret"), "{message}");
    }

    #[test]
    fn describes_without_the_password() {
        let config = parse("postgresql://app:s3cret@db.example.com:5432/postgres")
            .unwrap()
            .config;
        assert_eq!(describe(&config), "app@db.example.com:5432");
    }

    #[test]
    fn a_transaction_pooler_is_refused_with_the_url_to_use() {
        let error = parse(
            "postgresql://postgres.ref:s3cret@aws-0-eu-west-1.pooler.supabase.com:6543/postgres",
        )
        .err()
        .expect("refused");
        let message = error.to_string();
        assert!(message.contains("transaction-mode pooler"), "{message}");
        assert!(message.contains("port 5432"), "{message}");
        assert!(!message.contains("s3cret"), "{message}");
    }

    #[test]
    fn bad_url_error_does_not_echo_it() {
        let error = parse("postgresql://app:s3cret@host:notaport/db")
            .err()
            .expect("refused");
        assert!(!error.to_string().contains("s3cret"), "{error}");
    }
}
