//! `migration-guard new NAME`: a new migration file from a template that follows the
//! runbook, named like the Supabase CLI names it (`<UTC YYYYMMDDHHMMSS>_<name>.sql`).

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use chrono::{DateTime, NaiveDateTime, TimeDelta, Utc};

use crate::app::cli::ProviderArgs;
use crate::config::Project;
use crate::migration::discover::{file_names, parse_file_name};
use crate::migration::{self, DiscoverError};
use crate::pipeline::{self, Steps};
use crate::report::{CommandName, Report};

const TEMPLATE: &str = include_str!("../../templates/migration.sql");
const VERSION_FORMAT: &str = "%Y%m%d%H%M%S";
const MAX_NAME_LEN: usize = 100;

#[derive(Debug, thiserror::Error)]
pub enum NewError {
    #[error(
        "{name:?} is not a safe migration name: use letters, digits and underscores, starting with a letter or digit, at most {MAX_NAME_LEN} characters{}",
        suggestion.as_ref().map(|s| format!(" (for example {s})")).unwrap_or_default()
    )]
    BadName {
        name: String,
        suggestion: Option<String>,
    },
    #[error(
        "the newest migration version {0} sorts after any timestamp version, so a new file would apply before it; name the new file by hand with a version after {0}"
    )]
    NoVersionAfter(String),
    #[error(transparent)]
    Dir(#[from] DiscoverError),
    #[error("cannot write {path}: {source}")]
    Write { path: PathBuf, source: io::Error },
}

/// Writes the new migration into `dir` (created if missing) and reports its path.
pub fn run(dir: &Path, name: &str, now: DateTime<Utc>) -> Result<Report, NewError> {
    write(dir, name, now, &TEMPLATE.replace("{name}", name))
}

/// Drafts the revert of `version` as a new migration: the migrations before it and
/// through it built in two shadows, what it added dropped.
pub async fn revert(
    project: &Project,
    name: &str,
    version: &str,
    provider: &ProviderArgs,
    now: DateTime<Utc>,
) -> anyhow::Result<Report> {
    check_name(name)?;
    let discovery = migration::discover(&project.migrations)?;
    let Some(position) = discovery
        .migrations
        .iter()
        .position(|m| m.version == version)
    else {
        anyhow::bail!(
            "no migration has the version {version} in {}",
            project.migrations.display()
        );
    };
    let options = super::shadow::options(provider, project)?;
    let steps = Steps {
        snapshot_at_end: true,
        ..Steps::default()
    };
    let catalog_after = |count: usize| {
        let mut subset = discovery.clone();
        subset.migrations.truncate(count);
        subset.collisions.clear();
        let (options, steps) = (&options, &steps);
        async move {
            let (report, catalog) = pipeline::shadow(&subset, options, steps).await?;
            catalog.ok_or_else(|| {
                anyhow::anyhow!(
                    "the migrations up to {version} do not apply in the shadow: {}",
                    report
                        .migrations
                        .iter()
                        .find_map(|m| m.error.as_ref().map(|e| e.message.clone()))
                        .unwrap_or_default()
                )
            })
        }
    };
    let before = catalog_after(position).await?;
    let after = catalog_after(position + 1).await?;
    write(
        &project.migrations,
        name,
        now,
        &crate::catalog::revert::draft(version, &before, &after),
    )
    .map_err(Into::into)
}

fn write(dir: &Path, name: &str, now: DateTime<Utc>, content: &str) -> Result<Report, NewError> {
    check_name(name)?;
    let existing = match file_names(dir) {
        Ok(names) => names,
        Err(DiscoverError::Missing(_)) => {
            fs::create_dir_all(dir).map_err(|source| NewError::Write {
                path: dir.to_path_buf(),
                source,
            })?;
            Vec::new()
        }
        Err(error) => return Err(error.into()),
    };
    let newest = existing
        .iter()
        .filter_map(|file| parse_file_name(file).map(|(version, _)| version))
        .max();
    let version = next_version(newest.as_deref(), now)?;
    let path = dir.join(format!("{version}_{name}.sql"));
    write_new(&path, content)?;
    let mut report = Report::new(CommandName::New);
    report.created.push(path);
    Ok(report)
}

fn check_name(name: &str) -> Result<(), NewError> {
    let safe = !name.is_empty()
        && name.len() <= MAX_NAME_LEN
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        && !name.starts_with('_');
    if safe {
        return Ok(());
    }
    let suggestion: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect::<String>()
        .split('_')
        .filter(|part| !part.is_empty())
        .collect::<Vec<_>>()
        .join("_");
    Err(NewError::BadName {
        name: name.to_string(),
        suggestion: (!suggestion.is_empty() && suggestion.len() <= MAX_NAME_LEN)
            .then_some(suggestion),
    })
}

/// The current UTC time as a version, or one second past `newest` when the clock is
/// behind it (versions compare as strings, as the CLI compares them).
fn next_version(newest: Option<&str>, now: DateTime<Utc>) -> Result<String, NewError> {
    let candidate = now.format(VERSION_FORMAT).to_string();
    let Some(newest) = newest.filter(|newest| *newest >= candidate.as_str()) else {
        return Ok(candidate);
    };
    NaiveDateTime::parse_from_str(newest, VERSION_FORMAT)
        .ok()
        .filter(|_| newest.len() == candidate.len())
        .and_then(|at| at.checked_add_signed(TimeDelta::seconds(1)))
        .map(|at| at.format(VERSION_FORMAT).to_string())
        .filter(|next| next.len() == candidate.len())
        .ok_or_else(|| NewError::NoVersionAfter(newest.to_string()))
}

fn write_new(path: &Path, contents: &str) -> Result<(), NewError> {
    let write = || -> io::Result<()> {
        let mut file = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(path)?;
        file.write_all(contents.as_bytes())?;
        file.sync_all()
    };
    write().map_err(|source| NewError::Write {
        path: path.to_path_buf(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, mo, d, h, mi, s).unwrap()
    }

    #[test]
    fn uses_the_clock_when_it_is_ahead() {
        let now = at(2026, 11, 25, 18, 0, 5);
        assert_eq!(next_version(None, now).unwrap(), "20261125180005");
        assert_eq!(next_version(Some("0002"), now).unwrap(), "20261125180005");
        assert_eq!(
            next_version(Some("20261125180004"), now).unwrap(),
            "20261125180005"
        );
    }

    #[test]
    fn bumps_past_a_newest_version_from_the_future() {
        let now = at(2026, 11, 25, 18, 0, 5);
        assert_eq!(
            next_version(Some("20261125180005"), now).unwrap(),
            "20261125180006"
        );
        assert_eq!(
            next_version(Some("20261231235959"), now).unwrap(),
            "20270101000000"
        );
    }

    #[test]
    fn refuses_when_no_timestamp_sorts_after_the_newest() {
        let now = at(2026, 11, 25, 18, 0, 5);
        for newest in ["9", "99999999999999", "202611251800051"] {
            assert!(
                matches!(next_version(Some(newest), now), Err(NewError::NoVersionAfter(v)) if v == newest),
                "{newest}"
            );
        }
    }

    #[test]
    fn names_must_be_safe_identifiers() {
        for good in ["add_users", "AddUsers", "v2_index", "0001"] {
            check_name(good).unwrap();
        }
        for (bad, suggestion) in [
            ("add users", Some("add_users")),
            ("../etc/passwd", Some("etc_passwd")),
            ("", None),
            ("_x", Some("x")),
            ("drop;table", Some("drop_table")),
            ("ünïcode", Some("n_code")),
        ] {
            match check_name(bad) {
                Err(NewError::BadName { suggestion: s, .. }) => {
                    assert_eq!(s.as_deref(), suggestion, "{bad}")
                }
                other => panic!("{bad:?} gave {other:?}"),
            }
        }
    }
}
