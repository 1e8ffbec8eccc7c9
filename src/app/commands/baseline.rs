//! `migration-guard baseline [VERSION]`: the migrations up to VERSION (default: the
//! newest) become deployed history in migration-guard.yml. How a project adopts the
//! tool without git history to compare with: what was deployed before is not judged
//! again, what comes after is.

use std::path::PathBuf;

use anyhow::Context;

use crate::config::{FILE_NAME, Project};
use crate::migration;
use crate::report::{CommandName, Report};

pub fn run(project: &Project, version: Option<&str>) -> anyhow::Result<Report> {
    let discovery = migration::discover(&project.migrations)?;
    let version = match version {
        Some(version) => {
            anyhow::ensure!(
                !version.is_empty() && version.bytes().all(|b| b.is_ascii_digit()),
                "`{version}` is not a migration version: give the digits before the first `_` of a file name"
            );
            anyhow::ensure!(
                discovery.migrations.iter().any(|m| m.version == version),
                "no migration in {} has the version {version}; `migration-guard status` lists them",
                project.migrations.display()
            );
            version.to_string()
        }
        None => discovery
            .migrations
            .iter()
            .map(|m| m.version.clone())
            .max_by(|a, b| (a.len(), a).cmp(&(b.len(), b)))
            .with_context(|| {
                format!(
                    "{} has no migrations to make a baseline of",
                    project.migrations.display()
                )
            })?,
    };
    let path = project.config.path.clone().unwrap_or_else(|| {
        project
            .migrations
            .parent()
            .map_or_else(|| PathBuf::from(FILE_NAME), |dir| dir.join(FILE_NAME))
    });
    let before = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(error) => return Err(error).with_context(|| format!("cannot read {}", path.display())),
    };
    let line = format!("baseline: \"{version}\"");
    // The file is the user's: only the one line changes, comments and order stay.
    let mut replaced = false;
    let mut lines: Vec<String> = before
        .lines()
        .map(|existing| {
            if existing.starts_with("baseline:") {
                replaced = true;
                line.clone()
            } else {
                existing.to_string()
            }
        })
        .collect();
    if !replaced {
        lines.push(line);
    }
    let after = lines.join("\n") + "\n";
    // What is written must still be a configuration this tool reads.
    let config = crate::config::Config::parse(&after, path.clone())?;
    std::fs::write(&path, after).with_context(|| format!("cannot write {}", path.display()))?;
    let count = discovery
        .migrations
        .iter()
        .filter(|m| config.before_baseline(&m.version))
        .count();
    let mut report = Report::new(CommandName::Baseline);
    report.notes.push(format!(
        "{}: baseline {version}: {count} migration{} are deployed history; their findings no longer count, later ones are judged",
        path.display(),
        if count == 1 { "" } else { "s" }
    ));
    Ok(report)
}
