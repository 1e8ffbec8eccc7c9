//! `migration-guard lint`: the rules over the migration files, no database needed.

use anyhow::Context;

use crate::app::cli::FileChecks;
use crate::config::Project;
use crate::findings::policy::History;
use crate::lint::Judged;
use crate::migration::base_branch;
use crate::migration::{self, Discovery};
use crate::pipeline;
use crate::report::{CommandName, Report};

/// Lints the project's migrations; findings of `--fail-on` or worse fail the run.
pub async fn run(project: &Project, checks: &FileChecks) -> anyhow::Result<Report> {
    let discovery = migration::discover(&project.migrations)?;
    let mut report = Report::of_files(CommandName::Lint, &discovery);
    let history = check_files(&mut report, &discovery, project, checks)?;
    report.findings = pipeline::settle(
        std::mem::take(&mut report.findings),
        &discovery,
        &project.config,
        Judged::Files,
    );
    preview(&mut report, &discovery, checks).await?;
    report.scope(&history, &base_branch::BRANCH_ACTS);
    Ok(report)
}

/// `--preview-db-url`: what a deploy to that target would apply, and refuse.
pub async fn preview(
    report: &mut Report,
    discovery: &Discovery,
    checks: &FileChecks,
) -> anyhow::Result<()> {
    let Some(url) = &checks.preview_db_url else {
        return Ok(());
    };
    let look = super::status::look(discovery, url)
        .await
        .context("cannot look at the --preview-db-url target")?;
    let files: Vec<&str> = discovery
        .migrations
        .iter()
        .filter(|m| look.pending.contains(&m.version))
        .map(|m| m.file_name.as_str())
        .collect();
    report.notes.push(if files.is_empty() {
        format!("Deploy preview: {} Nothing to apply.", look.note)
    } else {
        format!(
            "Deploy preview: {} A deploy would apply {}: {}.",
            look.note,
            files.len(),
            files.join(", ")
        )
    });
    report.findings.extend(look.refusals);
    Ok(())
}

/// What `lint` and `shadow` both say about the files ([`pipeline::files`]), with the
/// `--fail-on` threshold.
pub fn check_files(
    report: &mut Report,
    discovery: &Discovery,
    project: &Project,
    checks: &FileChecks,
) -> anyhow::Result<History> {
    let history = pipeline::files(
        report,
        discovery,
        &project.config,
        checks.base_ref.as_deref(),
    )?;
    report.fail_on = checks.fail_on.into();
    Ok(history)
}
