//! Connection URLs: parsed with their password kept out of every error, refused when
//! they name a transaction-mode pooler, and described (`user@host:port`) for messages.

use std::str::FromStr;

use tokio_postgres::Config;
use tokio_postgres::config::Host;

#[derive(Debug, thiserror::Error)]
pub enum UrlError {
    #[error(
        "the database URL is not a valid connection string ({reason}); expected postgresql://USER:PASSWORD@HOST:PORT/DATABASE"
    )]
    Invalid { reason: String },
    #[error(
        "{described} is a transaction-mode pooler (Supavisor or pgbouncer on port 6543): a migration needs one session throughout (its lock_timeout, the deploy lock, prepared statements), which a transaction pooler does not keep. Use the session pooler (the same host, port 5432) or the direct connection (db.<project-ref>.supabase.co:5432)"
    )]
    TransactionPooler { described: String },
}

/// Parses a connection URL (or `key=value` string). The error never repeats the input,
/// which holds a password.
pub fn parse(url: &str) -> Result<Config, UrlError> {
    let mut config = Config::from_str(url).map_err(|error| UrlError::Invalid {
        reason: redact(&error.to_string(), url),
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
    Ok(config)
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
    fn describes_without_the_password() {
        let config = parse("postgresql://app:s3cret@db.example.com:5432/postgres").unwrap();
        assert_eq!(describe(&config), "app@db.example.com:5432");
    }

    #[test]
    fn a_transaction_pooler_is_refused_with_the_url_to_use() {
        let error = parse(
            "postgresql://postgres.ref:s3cret@aws-0-eu-west-1.pooler.supabase.com:6543/postgres",
        )
        .unwrap_err();
        let message = error.to_string();
        assert!(message.contains("transaction-mode pooler"), "{message}");
        assert!(message.contains("port 5432"), "{message}");
        assert!(!message.contains("s3cret"), "{message}");
    }

    #[test]
    fn bad_url_error_does_not_echo_it() {
        let error = parse("postgresql://app:s3cret@host:notaport/db").unwrap_err();
        assert!(!error.to_string().contains("s3cret"), "{error}");
    }
}
