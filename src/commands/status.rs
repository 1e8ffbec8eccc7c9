//! `migration-guard status`: the local migrations, skipped files and collisions.

use std::path::Path;

use crate::migration::{self, DiscoverError, Discovery};
use crate::report::model::SkippedFile;
use crate::report::{CommandName, MigrationEntry, MigrationStatus, Report};

/// Lists the migrations in `dir` without touching a database.
pub fn run(dir: &Path) -> Result<Report, DiscoverError> {
    let discovery = migration::discover(dir)?;
    Ok(local_report(CommandName::Status, &discovery))
}

/// A report of the files alone: every migration `local`, with the file-level findings.
pub fn local_report(command: CommandName, discovery: &Discovery) -> Report {
    let mut report = Report::new(command);
    for migration in &discovery.migrations {
        report.add_source(&migration.path, migration.source.clone());
        report
            .migrations
            .push(MigrationEntry::new(migration, MigrationStatus::Local));
    }
    report.skipped = discovery
        .skipped
        .iter()
        .map(|skipped| SkippedFile {
            file: skipped.path.clone(),
            reason: skipped.reason.explain().to_string(),
        })
        .collect();
    report.findings = crate::lint::rules::file_problems(discovery);
    report
}
