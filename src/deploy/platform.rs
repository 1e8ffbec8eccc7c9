//! The Supabase project through its Management API, for what the database alone cannot
//! tell: the platform's backups before production, the services' health after a deploy,
//! and the verify scripts when the project is reached only through the CLI (no database
//! URL), each statement read-only.
//!
//! And the watch after a deploy: for a while (two minutes for production by default),
//! poll the services' health and re-run the verify checks, so a deploy that breaks the
//! project a little later is reported with the way back, not discovered by users.

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::checks::verify::{self, Row, Runner, StatementError, VerifyError};
use crate::findings::registry;
use crate::findings::{Finding, Severity};
use crate::report::Report;
use crate::supabase::api::{ApiError, Client, describe_unhealthy};

/// The services a deploy of migrations can break.
const SERVICES: &[&str] = &["db", "rest", "auth"];

/// What to do when the project broke after a deploy.
const ROLLBACK: &str = "roll back: write a migration that reverts the change and deploy it (`migration-guard new revert_…`); if data is at risk, restore the platform backup or the point in time before the deploy (Dashboard → Database → Backups), or the schema backup in the report directory";

/// A project and the API client that reaches it.
#[derive(Debug, Clone)]
pub struct Platform {
    pub client: Client,
    pub project_ref: String,
}

impl Platform {
    /// The platform's backups, for the report before production.
    pub async fn backups_note(&self) -> String {
        match self.client.backups(&self.project_ref).await {
            Ok(summary) => format!("Platform backups of {}: {summary}.", self.project_ref),
            Err(error) => format!(
                "Platform backups of {}: could not be read ({error}).",
                self.project_ref
            ),
        }
    }

    /// `None` when every service is healthy, else what is not.
    async fn unhealthy(&self) -> Result<Option<String>, ApiError> {
        let services = self.client.health(&self.project_ref, SERVICES).await?;
        Ok(describe_unhealthy(&services))
    }
}

impl Runner for Platform {
    async fn begin(&self) -> Result<(), StatementError> {
        Ok(())
    }

    async fn run(&self, sql: &str) -> Result<Vec<Row>, StatementError> {
        match self.client.query(&self.project_ref, sql, true).await {
            Ok(rows) => Ok(rows
                .into_iter()
                .map(|row| {
                    row.into_iter()
                        .map(|(column, value)| (column, text(value)))
                        .collect()
                })
                .collect()),
            Err(ApiError::Sql(error)) => Err(StatementError::Failed {
                message: error.message,
                sqlstate: error.sqlstate,
                position: None,
            }),
            Err(error) => Err(StatementError::Lost(error.to_string())),
        }
    }

    async fn rollback(&self) -> Result<(), StatementError> {
        Ok(())
    }
}

/// A JSON value as Postgres's text output would show it.
fn text(value: Value) -> Option<String> {
    match value {
        Value::Null => None,
        Value::Bool(true) => Some("t".to_string()),
        Value::Bool(false) => Some("f".to_string()),
        Value::String(text) => Some(text),
        other => Some(other.to_string()),
    }
}

/// How long and how often to watch after a deploy.
#[derive(Debug, Clone, Copy)]
pub struct Watch {
    pub window: Duration,
    pub every: Duration,
}

/// Watches the project after a deploy: health (with `platform`) and the verify checks
/// (through `runner`) every `watch.every` for `watch.window`; the first failure becomes
/// a finding with the rollback steps and ends the watch.
pub async fn watch(
    platform: Option<&Platform>,
    runner: &impl Runner,
    verify_dir: &Path,
    watch: Watch,
    report: &mut Report,
) -> Result<(), VerifyError> {
    let started = Instant::now();
    let mut rounds = 0;
    while started.elapsed() < watch.window {
        tokio::time::sleep(
            watch
                .every
                .min(watch.window.saturating_sub(started.elapsed())),
        )
        .await;
        rounds += 1;
        if let Some(platform) = platform {
            match platform.unhealthy().await {
                Ok(None) => {}
                Ok(Some(unhealthy)) => {
                    report.findings.push(after_deploy(
                        registry::UNHEALTHY_AFTER_DEPLOY.id,
                        format!(
                            "{}s after the deploy, the project is not healthy: {unhealthy}",
                            started.elapsed().as_secs()
                        ),
                    ));
                    return Ok(());
                }
                Err(error) => report.notes.push(format!(
                    "The health of {} could not be read after the deploy: {error}",
                    platform.project_ref
                )),
            }
        }
        let mut again = Report::new(report.command);
        verify::run(runner, verify_dir, &mut again).await?;
        if let Some(check) = again.verify.iter().find(|check| !check.ok) {
            report.findings.push(after_deploy(
                registry::VERIFY_FAILED.id,
                format!(
                    "{}s after the deploy, the check `{}` ({}) failed: {}",
                    started.elapsed().as_secs(),
                    check.check,
                    check.file.display(),
                    check.detail
                ),
            ));
            return Ok(());
        }
    }
    report.notes.push(format!(
        "Watched for {}s after the deploy ({rounds} round(s)): {}the verify checks kept passing.",
        watch.window.as_secs(),
        if platform.is_some() {
            "db, rest and auth healthy, "
        } else {
            ""
        }
    ));
    Ok(())
}

fn after_deploy(rule: &'static str, message: String) -> Finding {
    Finding {
        rule,
        severity: Severity::Error,
        location: None,
        message,
        help: Some(ROLLBACK.to_string()),
    }
}
