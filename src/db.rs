//! The narrow seam to Postgres: a connected client whose server notices are captured.
//!
//! The shadow, staging and production differ only in how the connection [`Config`] is
//! obtained; everything that runs SQL takes a [`Database`].

use std::fmt;
use std::sync::Mutex;

use futures_util::StreamExt;
use futures_util::stream;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_postgres::{AsyncMessage, Client, Config, NoTls};

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

/// A connection and the notices the server sent on it.
pub struct Database {
    pub client: Client,
    notices: Mutex<mpsc::UnboundedReceiver<Notice>>,
    driver: JoinHandle<()>,
}

impl Database {
    pub async fn connect(config: &Config) -> Result<Database, PgError> {
        let (client, mut connection) = config.connect(NoTls).await?;
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
        })
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

impl Drop for Database {
    fn drop(&mut self) {
        self.driver.abort();
    }
}

/// Quotes an identifier for SQL text.
pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}
