//! `migration-guard lint`: the rules over the migration files, no database needed.

use crate::config::Project;
use crate::lint;
use crate::migration;
use crate::report::{CommandName, Report, Severity};

/// Lints the project's migrations; findings of `fail_on` or worse fail the run.
pub fn run(project: &Project, fail_on: Severity) -> Result<Report, migration::DiscoverError> {
    let discovery = migration::discover(&project.migrations)?;
    let mut report = Report::of_files(CommandName::Lint, &discovery);
    report.findings = lint::lint(&discovery, &project.config);
    report.fail_on = fail_on;
    Ok(report)
}
