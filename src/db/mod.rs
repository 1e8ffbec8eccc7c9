//! The narrow seam to Postgres: a connected client whose server notices are captured.
//!
//! The shadow, staging and production differ only in how the connection [`Config`] is
//! obtained; everything that runs SQL takes a [`Database`].

pub mod tls;
pub mod url;

use std::fmt;
use std::sync::Mutex;

use futures_util::StreamExt;
use futures_util::stream;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_postgres::{AsyncMessage, Client, Config};

pub use tokio_postgres::Error as PgError;

/// A server message that is not an error: NOTICE, WARNING, INFO.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub severity: String,
    pub message: String,
}

impl fmt::Display for Notice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.severity, self.message)
    }
}

/// How long startup and authentication may take: `MIGRATION_GUARD_CONNECT_TIMEOUT`
/// seconds, else 30.
fn connect_deadline() -> std::time::Duration {
    std::time::Duration::from_secs(
        std::env::var("MIGRATION_GUARD_CONNECT_TIMEOUT")
            .ok()
            .and_then(|seconds| seconds.parse().ok())
            .unwrap_or(30),
    )
}

/// Why a connection could not be made, in the server's own words (never the password).
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("{}", reason(.0))]
    Postgres(PgError),
    #[error(
        "no answer within {} s: the server took the connection but did not complete startup and authentication (a wrong port, a proxy, a server that hangs); check the URL, or raise MIGRATION_GUARD_CONNECT_TIMEOUT",
        .0.as_secs()
    )]
    Timeout(std::time::Duration),
}

/// An error as the server gave it (`FATAL: password authentication failed for user
/// "x"`), with its detail and hint; other errors with what caused them (a refused TLS
/// handshake, a refused connection).
pub fn reason(error: &PgError) -> String {
    if let Some(db) = error.as_db_error() {
        let mut text = format!("{}: {}", db.severity(), db.message());
        if let Some(detail) = db.detail() {
            text.push_str(&format!(" ({detail})"));
        }
        if let Some(hint) = db.hint() {
            text.push_str(&format!("; hint: {hint}"));
        }
        return text;
    }
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(&format!(": {cause_text}"));
        }
        source = cause.source();
    }
    text
}

/// A connection and the notices the server sent on it.
pub struct Database {
    pub client: Client,
    notices: Mutex<mpsc::UnboundedReceiver<Notice>>,
    driver: JoinHandle<()>,
    /// How the server's certificate was checked: a cancel request checks it the same way.
    tls: tls::Tls,
}

impl Database {
    /// Connects as `config` says; TLS as its `sslmode` asks (`prefer`, the default,
    /// falls back to a plain connection when the server has no TLS).
    /// Startup and authentication must finish within the connect deadline.
    pub async fn connect(config: &Config) -> Result<Database, ConnectError> {
        Database::connect_with(config, &tls::Tls::EncryptOnly).await
    }

    /// [`Database::connect`], with the server's certificate checked as `tls` says.
    pub async fn connect_with(config: &Config, tls: &tls::Tls) -> Result<Database, ConnectError> {
        let deadline = connect_deadline();
        let (client, mut connection) =
            tokio::time::timeout(deadline, config.connect(tls.connector()))
                .await
                .map_err(|_| ConnectError::Timeout(deadline))?
                .map_err(ConnectError::Postgres)?;
        let (sender, notices) = mpsc::unbounded_channel();
        let driver = tokio::spawn(async move {
            let mut messages = stream::poll_fn(move |cx| connection.poll_message(cx));
            while let Some(message) = messages.next().await {
                match message {
                    Ok(AsyncMessage::Notice(notice)) => {
                        let _ = sender.send(Notice {
                            severity: notice.severity().to_string(),
                            message: notice.message().to_string(),
                        });
                    }
                    Ok(_) => {}
                    Err(error) => {
                        tracing::debug!("connection closed: {error}");
                        break;
                    }
                }
            }
        });
        Ok(Database {
            client,
            notices: Mutex::new(notices),
            driver,
            tls: tls.clone(),
        })
    }

    /// Whether this session reaches its server through a transaction-mode pooler
    /// (pgbouncer, Supavisor on another port than 6543): a second session (`config`,
    /// `tls`) in a transaction gets the backend this one just used, or this one's next
    /// statement runs on another backend (or waits for one). A direct or session-pooled
    /// connection keeps one backend for the whole session. Simple queries only: a
    /// transaction pooler may not keep prepared statements.
    pub async fn behind_transaction_pooler(
        &self,
        config: &Config,
        tls: &tls::Tls,
    ) -> Result<bool, ConnectError> {
        const PID: &str = "SELECT pg_backend_pid()";
        let first = backend(&self.client, PID).await?;
        let other = Database::connect_with(config, tls).await?;
        let borrowed = backend(&other.client, &format!("BEGIN; {PID}")).await?;
        let again = tokio::time::timeout(
            std::time::Duration::from_secs(5),
            backend(&self.client, PID),
        )
        .await;
        let _ = other.client.simple_query("ROLLBACK").await;
        Ok(borrowed == first
            || match again {
                Ok(again) => again? != first,
                // A pool of one: this session waits for the other's transaction.
                Err(_) => true,
            })
    }

    /// What cancels the statement this connection is running, from anywhere (a signal).
    pub fn canceller(&self) -> Canceller {
        Canceller(self.client.cancel_token(), self.tls.clone())
    }

    /// The notices received since the last call.
    pub fn take_notices(&self) -> Vec<Notice> {
        let mut notices = self.notices.lock().unwrap_or_else(|e| e.into_inner());
        std::iter::from_fn(|| notices.try_recv().ok()).collect()
    }

    /// The server's version, e.g. `15.18`.
    pub async fn server_version(&self) -> Result<String, PgError> {
        let row = self.client.query_one("SHOW server_version", &[]).await?;
        let version: String = row.get(0);
        // "15.18 (Debian 15.18-0+deb12u1)" -> "15.18"
        Ok(version
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .to_string())
    }
}

/// The backend process id `sql` (ending in `SELECT pg_backend_pid()`) returns.
async fn backend(client: &tokio_postgres::Client, sql: &str) -> Result<String, ConnectError> {
    let messages = client
        .simple_query(sql)
        .await
        .map_err(ConnectError::Postgres)?;
    Ok(messages
        .iter()
        .find_map(|message| match message {
            tokio_postgres::SimpleQueryMessage::Row(row) => row.get(0).map(str::to_string),
            _ => None,
        })
        .unwrap_or_default())
}

/// Cancels the statement a connection is running (Postgres's cancel request, on a new
/// connection): its transaction rolls back and its locks go now, not at its timeout.
#[derive(Clone)]
pub struct Canceller(tokio_postgres::CancelToken, tls::Tls);

impl Canceller {
    pub async fn cancel(&self) -> Result<(), PgError> {
        self.0.cancel_query(self.1.connector()).await
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        self.driver.abort();
    }
}

/// Awaits `steps` with every request sent before any answer is awaited, in order: each
/// is polled in turn (a request goes out as its future is first polled), then polled
/// again as answers come. Their outputs, in order.
pub async fn pipelined<F: std::future::Future>(steps: Vec<F>) -> Vec<F::Output> {
    let mut steps: Vec<_> = steps
        .into_iter()
        .map(|step| Box::pin(futures_util::future::maybe_done(step)))
        .collect();
    std::future::poll_fn(|context| {
        let mut done = true;
        for step in &mut steps {
            done &= step.as_mut().poll(context).is_ready();
        }
        if done {
            std::task::Poll::Ready(())
        } else {
            std::task::Poll::Pending
        }
    })
    .await;
    steps
        .iter_mut()
        .map(|step| step.as_mut().take_output().expect("every step is done"))
        .collect()
}

/// Quotes an identifier for SQL text.
pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// `value` as a SQL string literal (standard_conforming_strings, the default).
pub fn quote_literal(value: &str) -> String {
    format!("'{}'", value.replace('\'', "''"))
}
