//! `migration-guard lint`: the rules over the migration files, no database needed.

use anyhow::Context;

use crate::app::cli::FileChecks;
use crate::checks::locks;
use crate::config::LockBudgets;
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
        &report.migrations,
    );
    preview(
        &mut report,
        &discovery,
        checks,
        &project.config.lock_budgets,
    )
    .await?;
    report.scope(&history, &base_branch::BRANCH_ACTS);
    Ok(report)
}

/// `--preview-db-url`: what a deploy to that target would apply, and refuse.
/// With the shadow's locks in `report`: how long each would be held there
/// (`predicted_ms`), and those past `budgets` (`lock-budget-exceeded`).
pub async fn preview(
    report: &mut Report,
    discovery: &Discovery,
    checks: &FileChecks,
    budgets: &LockBudgets,
) -> anyhow::Result<()> {
    let Some(url) = &checks.preview_db_url else {
        return Ok(());
    };
    // Sizes only where there are locks to predict (a shadow run's).
    let locked = report
        .migrations
        .iter()
        .any(|entry| !entry.locks.is_empty());
    let look = super::status::look(discovery, url, locked)
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
    // Only what a deploy there would run: the rest is there already.
    locks::predict_all(
        report
            .migrations
            .iter_mut()
            .filter(|entry| look.pending.contains(&entry.version)),
        &look.sizes,
    );
    report.lock_budgets = Some(*budgets);
    let over: Vec<_> = report
        .migrations
        .iter()
        .flat_map(|entry| locks::over_budget(entry, budgets))
        .collect();
    report.findings.extend(over);
    let unpredicted = report
        .migrations
        .iter()
        .flat_map(|entry| entry.blocking_locks())
        .filter(|lock| lock.held.is_some() && lock.predicted.is_none())
        .count();
    if unpredicted > 0 {
        report.notes.push(format!(
            "{unpredicted} lock(s) have no predicted time on the target: the shadow held no data for what they went through (run with --seed-rows), or the target does not have the relation yet"
        ));
    }
    Ok(())
}

/// What `lint` says about the files ([`pipeline::files`]), with the `--fail-on`
/// threshold. (`shadow` says the same, the rules run beside its start.)
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
