//! `migration-guard drift --db-url URL`: what a database has that its migrations did not
//! make, lacks, or has otherwise. The migrations its history says are applied are built
//! in a shadow; both catalogs are compared. The database is only read: a read-only
//! session, one catalog query, no temporary objects. `deploy --drift` runs the same
//! comparison after a deploy.

use crate::app::cli::DriftArgs;
use crate::catalog::{self, ChangeKind, Scope};
use crate::config::Project;
use crate::db::Database;
use crate::db::url as server;
use crate::deploy::plan;
use crate::lint::Judged;
use crate::migration::{self, Discovery, history};
use crate::pipeline::{self, Steps};
use crate::report::model::DriftItem;
use crate::report::{CommandName, Report};
use crate::shadow::ShadowOptions;

pub async fn run(project: &Project, args: &DriftArgs) -> anyhow::Result<Report> {
    let discovery = migration::discover(&project.migrations)?;
    let options = super::shadow::options(&args.shadow, project)?;
    compare(project, &discovery, &args.db_url, options).await
}

/// The drift report of the database at `db_url`: the shadow's report (its migrations and
/// findings) with the differences in `drift`.
pub async fn compare(
    project: &Project,
    discovery: &Discovery,
    db_url: &str,
    options: ShadowOptions,
) -> anyhow::Result<Report> {
    let server::Endpoint { mut config, tls } = server::parse(db_url)?;
    config.application_name("migration-guard drift");
    config.options("-c default_transaction_read_only=on");
    let described = server::describe(&config);
    let target = Database::connect_with(&config, &tls)
        .await
        .map_err(|error| anyhow::anyhow!("cannot connect to {described}: {error}"))?;
    let recorded = history::read(&target).await?;
    let actual = catalog::snapshot(&target, &Scope::user()).await?;
    drop(target);

    // The files the target has applied, as it would have applied them.
    let mut applied = discovery.clone();
    applied
        .migrations
        .retain(|m| recorded.iter().any(|r| r.version == m.version));
    applied.collisions.clear();
    let steps = Steps {
        snapshot_at_end: true,
        ..Steps::default()
    };
    let (mut report, expected) = pipeline::shadow(&applied, &options, &steps).await?;
    report.command = CommandName::Drift;
    report.findings = pipeline::settle(
        std::mem::take(&mut report.findings),
        &applied,
        &project.config,
        Judged::Everything,
        &report.migrations,
    );
    // What the history and the files disagree on (remote-only versions, edited files).
    report
        .findings
        .extend(plan::plan(&discovery.migrations, &recorded, true).refusals);
    let Some(expected) = expected else {
        report.notes.push(
            "No drift comparison: the applied migrations do not build in the shadow".to_string(),
        );
        return Ok(report);
    };
    report.drift = catalog::diff(&expected, &actual)
        .into_iter()
        .map(|change| DriftItem {
            kind: change.kind.as_str().to_string(),
            object: change.object,
            change: match change.change {
                ChangeKind::Added => "extra",
                ChangeKind::Removed => "missing",
                ChangeKind::Changed => "different",
            }
            .to_string(),
            detail: change.detail,
        })
        .collect();
    report.notes.push(format!(
        "Drift: compared {described} with a shadow built from the {} migration(s) its history lists: {} difference(s).",
        applied.migrations.len(),
        report.drift.len()
    ));
    Ok(report)
}
