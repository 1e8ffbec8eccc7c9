//! `migration-guard status`: the local migrations, skipped files and collisions.

use std::path::Path;

use crate::migration::{self, DiscoverError};
use crate::report::{CommandName, Report};

/// Lists the migrations in `dir` without touching a database, with what is wrong with
/// the files as files (collisions, meta-commands, unclosed literals).
pub fn run(dir: &Path) -> Result<Report, DiscoverError> {
    let discovery = migration::discover(dir)?;
    let mut report = Report::of_files(CommandName::Status, &discovery);
    report.findings = crate::lint::rules::file_problems(&discovery);
    Ok(report)
}
