//! `GET /v1/projects/{ref}/database/backups`: what a production deploy can fall back on —
//! the latest completed backup and, with point-in-time recovery, the latest restorable
//! moment.

use std::fmt;

use chrono::{DateTime, NaiveDateTime, Utc};
use reqwest::Method;
use serde::Deserialize;

use super::client::{ApiError, Client, Replay};

/// The answer's fields this module reads; every one may be absent or null, as they vary
/// with the project's plan.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct BackupsAnswer {
    pitr_enabled: Option<bool>,
    backups: Option<Vec<Backup>>,
    physical_backup_data: Option<PhysicalBackupData>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Backup {
    status: Option<String>,
    inserted_at: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct PhysicalBackupData {
    latest_physical_backup_date_unix: Option<i64>,
}

/// The project's backups, summed up for a report line (its `Display`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupSummary {
    /// When the newest completed backup was taken.
    pub latest_completed: Option<DateTime<Utc>>,
    pub pitr_enabled: bool,
    /// With point-in-time recovery: the latest moment the project can be restored to.
    pub latest_restorable: Option<DateTime<Utc>>,
}

impl BackupSummary {
    fn from_answer(answer: BackupsAnswer) -> Self {
        let latest_completed = answer
            .backups
            .unwrap_or_default()
            .iter()
            .filter(|backup| {
                backup
                    .status
                    .as_deref()
                    .is_some_and(|status| status.eq_ignore_ascii_case("COMPLETED"))
            })
            .filter_map(|backup| parse_time(backup.inserted_at.as_deref()?))
            .max();
        let pitr_enabled = answer.pitr_enabled.unwrap_or(false);
        let latest_restorable = answer
            .physical_backup_data
            .and_then(|data| data.latest_physical_backup_date_unix)
            .and_then(|unix| DateTime::from_timestamp(unix, 0))
            .filter(|_| pitr_enabled);
        BackupSummary {
            latest_completed,
            pitr_enabled,
            latest_restorable,
        }
    }
}

impl fmt::Display for BackupSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const FORMAT: &str = "%Y-%m-%d %H:%M UTC";
        match self.latest_completed {
            Some(at) => write!(f, "latest completed backup {}", at.format(FORMAT))?,
            None => f.write_str("no completed backup")?,
        }
        match (self.pitr_enabled, self.latest_restorable) {
            (true, Some(at)) => write!(
                f,
                "; point-in-time recovery on, restorable up to {}",
                at.format(FORMAT)
            ),
            (true, None) => f.write_str("; point-in-time recovery on"),
            (false, _) => f.write_str("; point-in-time recovery off"),
        }
    }
}

/// An API timestamp: RFC 3339, or without an offset (then UTC, as the API stores them).
fn parse_time(text: &str) -> Option<DateTime<Utc>> {
    let text = text.trim();
    DateTime::parse_from_rfc3339(text)
        .map(|at| at.with_timezone(&Utc))
        .or_else(|_| {
            NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f").map(|at| at.and_utc())
        })
        .ok()
}

impl Client {
    /// A summary of the project's backups: the latest completed one and point-in-time
    /// recovery.
    pub async fn backups(&self, project_ref: &str) -> Result<BackupSummary, ApiError> {
        let action = format!("list the backups of project {project_ref}");
        let url = self.project_url(project_ref, &["database", "backups"]);
        let answer = self
            .call(&action, Method::GET, url, None, Replay::Always)
            .await?;
        let answer: BackupsAnswer = self.decode(&action, &answer)?;
        Ok(BackupSummary::from_answer(answer))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_with_and_without_offset() {
        let at = parse_time("2026-11-24T03:00:00.000Z").unwrap();
        assert_eq!(at.to_rfc3339(), "2026-11-24T03:00:00+00:00");
        assert_eq!(parse_time("2026-11-24T03:00:00.000"), Some(at));
        assert_eq!(parse_time("2026-11-24T05:00:00+02:00"), Some(at));
        assert_eq!(parse_time("yesterday"), None);
    }

    #[test]
    fn an_empty_answer_is_no_backup() {
        let summary: BackupsAnswer = serde_json::from_str(r#"{"backups": null}"#).unwrap();
        assert_eq!(
            BackupSummary::from_answer(summary).to_string(),
            "no completed backup; point-in-time recovery off"
        );
    }
}
