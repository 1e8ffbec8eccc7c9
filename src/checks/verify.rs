//! Verification scripts: every `.sql` file of the verify directory, run after the
//! migrations, each in a transaction that is rolled back (a check must not change the
//! schema it checks).
//!
//! A statement returning rows with the columns `check`, `ok` and `detail` gives one check
//! per row; an error (a failed assertion, `RAISE EXCEPTION`) is a failed check at the
//! file's line and stops that file; a file that returns no check rows and raises nothing
//! is one passing check.

use std::path::Path;

use tokio_postgres::SimpleQueryMessage;
use tokio_postgres::error::ErrorPosition;

use crate::db::{Database, PgError};
use crate::migration::discover::{FileError, read_source};
use crate::migration::split::split;
use crate::report::model::VerifyCheck;
use crate::report::{Location, Report};
use crate::text::Span;

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
    #[error("lost the connection to Postgres while verifying {file}: {source}")]
    Connection {
        file: String,
        #[source]
        source: PgError,
    },
}

/// Runs every verify script in `dir` and adds the checks to `report`.
pub async fn run(db: &Database, dir: &Path, report: &mut Report) -> Result<(), VerifyError> {
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
        let checks = run_file(db, &file, &source).await?;
        report.verify.extend(checks);
    }
    Ok(())
}

async fn run_file(
    db: &Database,
    file: &Path,
    source: &str,
) -> Result<Vec<VerifyCheck>, VerifyError> {
    let connection = |source| VerifyError::Connection {
        file: file.display().to_string(),
        source,
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
    db.client.batch_execute("BEGIN").await.map_err(connection)?;
    let mut checks = Vec::new();
    for (index, statement) in split.statements.iter().enumerate() {
        if statement.comment_only {
            continue;
        }
        match db.client.simple_query(statement.text(source)).await {
            Ok(messages) => checks.extend(rows_to_checks(file, &messages)),
            Err(error) => {
                let Some(db_error) = error.as_db_error() else {
                    return Err(connection(error));
                };
                let offset = match db_error.position() {
                    Some(ErrorPosition::Original(position)) => {
                        statement.offset_of_position(source, *position as usize)
                    }
                    _ => statement.text.start,
                };
                checks.push(failed(
                    format!("{name} (statement {})", index + 1),
                    format!("{} [{}]", db_error.message(), db_error.code().code()),
                    offset,
                ));
                break;
            }
        }
    }
    db.client
        .batch_execute("ROLLBACK")
        .await
        .map_err(connection)?;
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

fn rows_to_checks(file: &Path, messages: &[SimpleQueryMessage]) -> Vec<VerifyCheck> {
    messages
        .iter()
        .filter_map(|message| match message {
            SimpleQueryMessage::Row(row) => Some(row),
            _ => None,
        })
        .filter_map(|row| {
            let column = |name: &str| {
                row.columns()
                    .iter()
                    .position(|column| column.name() == name)
            };
            let (check, ok, detail) = (column("check")?, column("ok")?, column("detail"));
            Some(VerifyCheck {
                file: file.to_path_buf(),
                check: row.get(check).unwrap_or_default().to_string(),
                ok: matches!(row.get(ok), Some("t" | "true" | "1" | "yes" | "on")),
                detail: detail
                    .and_then(|detail| row.get(detail))
                    .unwrap_or_default()
                    .to_string(),
                location: None,
            })
        })
        .collect()
}
