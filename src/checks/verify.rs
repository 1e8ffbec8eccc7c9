//! Verification scripts: every `.sql` file of the verify directory, run after the
//! migrations, each in a transaction that is rolled back (a check must not change the
//! schema it checks).
//!
//! A statement returning rows with the columns `check`, `ok` and `detail` gives one check
//! per row; an error (a failed assertion, `RAISE EXCEPTION`) is a failed check at the
//! file's line and stops that file; a file that returns no check rows and raises nothing
//! is one passing check.
//!
//! The scripts run through a [`Runner`]: a database connection, or the Supabase
//! Management API when a project is reached only through it (each statement read-only
//! there, as no transaction spans two requests).

use std::path::Path;

use tokio_postgres::SimpleQueryMessage;
use tokio_postgres::error::ErrorPosition;

use crate::db::Database;
use crate::findings::Location;
use crate::findings::span::Span;
use crate::migration::discover::{FileError, read_source};
use crate::report::Report;
use crate::report::model::VerifyCheck;
use crate::sql::split::split;

/// A row of a statement's result: its columns' names and text values.
pub type Row = Vec<(String, Option<String>)>;

/// Why a statement gave no rows.
#[derive(Debug)]
pub enum StatementError {
    /// The statement failed: the check fails, the runner is fine.
    Failed {
        message: String,
        sqlstate: Option<String>,
        /// 1-based character position in the statement, when known.
        position: Option<usize>,
    },
    /// The connection or the API is gone: verification stops.
    Lost(String),
}

/// What runs the verify statements.
pub trait Runner {
    /// Starts a file's statements (a transaction on a connection).
    fn begin(&self) -> impl Future<Output = Result<(), StatementError>>;
    /// Runs one statement and returns its rows.
    fn run(&self, sql: &str) -> impl Future<Output = Result<Vec<Row>, StatementError>>;
    /// Ends a file's statements, undoing whatever they did.
    fn rollback(&self) -> impl Future<Output = Result<(), StatementError>>;
}

impl Runner for Database {
    async fn begin(&self) -> Result<(), StatementError> {
        self.client
            .batch_execute("BEGIN")
            .await
            .map_err(|error| StatementError::Lost(error.to_string()))
    }

    async fn run(&self, sql: &str) -> Result<Vec<Row>, StatementError> {
        match self.client.simple_query(sql).await {
            Ok(messages) => Ok(messages
                .iter()
                .filter_map(|message| match message {
                    SimpleQueryMessage::Row(row) => Some(
                        row.columns()
                            .iter()
                            .enumerate()
                            .map(|(i, column)| {
                                (column.name().to_string(), row.get(i).map(str::to_string))
                            })
                            .collect(),
                    ),
                    _ => None,
                })
                .collect()),
            Err(error) => Err(match error.as_db_error() {
                Some(db_error) => StatementError::Failed {
                    message: db_error.message().to_string(),
                    sqlstate: Some(db_error.code().code().to_string()),
                    position: match db_error.position() {
                        Some(ErrorPosition::Original(position)) => Some(*position as usize),
                        _ => None,
                    },
                },
                None => StatementError::Lost(error.to_string()),
            }),
        }
    }

    async fn rollback(&self) -> Result<(), StatementError> {
        self.client
            .batch_execute("ROLLBACK")
            .await
            .map_err(|error| StatementError::Lost(error.to_string()))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error("cannot read the verify directory {dir}: {source}")]
    Unlistable {
        dir: String,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    File(#[from] FileError),
    #[error("lost the database while verifying {file}: {message}")]
    Lost { file: String, message: String },
}

/// Runs every verify script in `dir` and adds the checks to `report`.
pub async fn run(runner: &impl Runner, dir: &Path, report: &mut Report) -> Result<(), VerifyError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            report.notes.push(format!(
                "no verify directory at {}: nothing to verify",
                dir.display()
            ));
            return Ok(());
        }
        Err(source) => {
            return Err(VerifyError::Unlistable {
                dir: dir.display().to_string(),
                source,
            });
        }
    };
    let mut files: Vec<_> = entries
        .flatten()
        .map(|entry| entry.path())
        .filter(|path| path.is_file() && path.extension().is_some_and(|ext| ext == "sql"))
        .collect();
    files.sort();
    if files.is_empty() {
        report.notes.push(format!(
            "no .sql files in {}: nothing to verify",
            dir.display()
        ));
    }
    for file in files {
        tracing::info!("verifying {}", file.display());
        let source: std::sync::Arc<str> = read_source(&file)?.into();
        report.add_source(&file, source.clone());
        let checks = run_file(runner, &file, &source).await?;
        report.verify.extend(checks);
    }
    Ok(())
}

async fn run_file(
    runner: &impl Runner,
    file: &Path,
    source: &str,
) -> Result<Vec<VerifyCheck>, VerifyError> {
    let lost = |message| VerifyError::Lost {
        file: file.display().to_string(),
        message,
    };
    let failed = |check: String, detail: String, offset: usize| VerifyCheck {
        file: file.to_path_buf(),
        check,
        ok: false,
        detail,
        location: Some(Location {
            file: file.to_path_buf(),
            span: Span::new(offset, offset),
        }),
    };
    let split = split(source);
    let name = file
        .file_name()
        .map_or_else(String::new, |name| name.to_string_lossy().into_owned());
    if let Some(meta) = split.meta_commands.first() {
        return Ok(vec![failed(
            name,
            format!(
                "`{}` is a psql meta-command, not SQL; the file was not run",
                meta.name
            ),
            meta.span.start,
        )]);
    }
    let give_up = |error| match error {
        StatementError::Lost(message) => lost(message),
        StatementError::Failed { message, .. } => lost(message),
    };
    runner.begin().await.map_err(give_up)?;
    let mut checks = Vec::new();
    for (index, statement) in split.statements.iter().enumerate() {
        if statement.comment_only {
            continue;
        }
        match runner.run(statement.text(source)).await {
            Ok(rows) => checks.extend(rows.iter().filter_map(|row| row_to_check(file, row))),
            Err(StatementError::Lost(message)) => return Err(lost(message)),
            Err(StatementError::Failed {
                message,
                sqlstate,
                position,
            }) => {
                let offset = position.map_or(statement.text.start, |position| {
                    statement.offset_of_position(source, position)
                });
                checks.push(failed(
                    format!("{name} (statement {})", index + 1),
                    match sqlstate {
                        Some(sqlstate) => format!("{message} [{sqlstate}]"),
                        None => message,
                    },
                    offset,
                ));
                break;
            }
        }
    }
    runner.rollback().await.map_err(give_up)?;
    if checks.is_empty() {
        checks.push(VerifyCheck {
            file: file.to_path_buf(),
            check: name,
            ok: true,
            detail: "ran without error".to_string(),
            location: None,
        });
    }
    Ok(checks)
}

/// A row with the columns `check` and `ok` (and `detail`) is a check.
fn row_to_check(file: &Path, row: &Row) -> Option<VerifyCheck> {
    let column = |name: &str| {
        row.iter()
            .find(|(column, _)| column == name)
            .map(|(_, value)| value.clone().unwrap_or_default())
    };
    Some(VerifyCheck {
        file: file.to_path_buf(),
        check: column("check")?,
        ok: matches!(column("ok")?.as_str(), "t" | "true" | "1" | "yes" | "on"),
        detail: column("detail").unwrap_or_default(),
        location: None,
    })
}
