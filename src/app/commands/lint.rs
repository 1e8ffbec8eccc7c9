//! `migration-guard lint`: the rules over the migration files, no database needed.

use anyhow::Context;

use crate::app::cli::FileChecks;
use crate::config::Project;
use crate::findings::policy::History;
use crate::findings::registry;
use crate::lint;
use crate::migration::base_branch;
use crate::migration::{self, Discovery};
use crate::report::{CommandName, Report};

/// Lints the project's migrations; findings of `--fail-on` or worse fail the run.
pub async fn run(project: &Project, checks: &FileChecks) -> anyhow::Result<Report> {
    let discovery = migration::discover(&project.migrations)?;
    let mut report = Report::of_files(CommandName::Lint, &discovery);
    let history = check_files(&mut report, &discovery, project, checks)?;
    report.findings = lint::settle(
        std::mem::take(&mut report.findings),
        &discovery,
        &project.config,
        lint::Judged::Files,
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

/// What `lint` and `shadow` both say about the files: the rules, and the comparison
/// with the base branch when one is given, as they give them (the caller settles them
/// with the policy, once). Returns the deployed history: the migrations the base already
/// has (unless edited here) and those up to the configured baseline.
pub fn check_files(
    report: &mut Report,
    discovery: &Discovery,
    project: &Project,
    checks: &FileChecks,
) -> anyhow::Result<History> {
    report
        .findings
        .extend(lint::findings(discovery, &project.config));
    let config = &project.config;
    let mut history = History::new(
        discovery
            .migrations
            .iter()
            .filter(|m| config.before_baseline(&m.version))
            .map(|m| m.path.clone()),
        format!(
            "at or before the baseline {}",
            config.baseline.as_deref().unwrap_or_default()
        ),
    );
    if let Some(base_ref) = &checks.base_ref {
        let comparison = base_branch::compare(discovery, base_ref)
            .with_context(|| format!("cannot compare the migrations with `{base_ref}`"))?;
        report.notes.push(comparison.note);
        let edited: Vec<&std::path::Path> = comparison
            .findings
            .iter()
            .filter(|finding| finding.rule == registry::MIGRATION_EDITED.id)
            .filter_map(|finding| Some(finding.location.as_ref()?.file.as_path()))
            .collect();
        history = history.union(History::new(
            discovery
                .migrations
                .iter()
                .filter(|m| {
                    comparison.base_versions.contains(&m.version)
                        && !edited.contains(&m.path.as_path())
                })
                .map(|m| m.path.clone()),
            format!("on `{}`", comparison.base_name),
        ));
        report.findings.extend(comparison.findings);
    }
    report.fail_on = checks.fail_on.into();
    Ok(history)
}
