//! `migration-guard status`: the local migrations, skipped files and collisions, and
//! with a database URL, which of them it has applied.

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use anyhow::Context;

use crate::deploy::direct::{Settings, Target};
use crate::deploy::plan;
use crate::findings::Finding;
use crate::migration::{self, DiscoverError, Discovery};
use crate::report::model::{PostgresInfo, Size};
use crate::report::{CommandName, MigrationEntry, MigrationStatus, Report};

/// Lists the migrations in `dir` without touching a database, with what is wrong with
/// the files as files (collisions, meta-commands, unclosed literals).
pub fn run(dir: &Path) -> Result<Report, DiscoverError> {
    let discovery = migration::discover(dir)?;
    let mut report = Report::of_files(CommandName::Status, &discovery);
    report.findings = crate::lint::rules::file_problems(&discovery);
    Ok(report)
}

/// The local migrations against `db_url`'s history, as `supabase migration list` shows
/// them: applied, pending, and what a deploy would refuse (remote-only versions,
/// out-of-order files, applied files edited since). Only reads.
pub async fn against(dir: &Path, db_url: &str) -> anyhow::Result<Report> {
    let discovery = migration::discover(dir)?;
    let mut report = Report::new(CommandName::Status);
    for migration in &discovery.migrations {
        report.add_source(&migration.path, migration.source.clone());
    }
    let look = look(&discovery, db_url, false).await?;
    report.postgres = Some(look.postgres);
    report.notes.push(look.note);
    for migration in &discovery.migrations {
        let status = if look.pending.contains(&migration.version) {
            MigrationStatus::Pending
        } else {
            MigrationStatus::AlreadyApplied
        };
        report
            .migrations
            .push(MigrationEntry::new(migration, status));
    }
    report.findings = crate::lint::rules::file_problems(&discovery);
    report.findings.extend(look.refusals);
    Ok(report)
}

/// What a target has applied of `discovery`, read only.
pub struct Look {
    pub postgres: PostgresInfo,
    /// `user@host:port: N version(s) applied.`
    pub note: String,
    /// The versions a deploy would apply, in order.
    pub pending: Vec<String>,
    /// What a deploy would refuse.
    pub refusals: Vec<Finding>,
    /// Its tables' sizes, as its statistics have them, when asked for.
    pub sizes: HashMap<String, Size>,
}

/// Whether the target grants what migrations create in `public` to the Data API's roles
/// automatically; `None` when it is no Supabase database.
pub async fn automatic_api_grants(db_url: &str) -> anyhow::Result<Option<bool>> {
    let target = Target::connect(db_url, &looking()).await?;
    crate::checks::api_grants::automatic_on(&target.db)
        .await
        .context("cannot read the target's default privileges")
}

/// How the tool connects to a target it only looks at.
fn looking() -> Settings {
    Settings {
        lock_timeout: "5s".to_string(),
        escalate: Vec::new(),
        analyze: false,
        statement_timeout: "1min".to_string(),
        lock_wait: Duration::ZERO,
        retries: 0,
        backoff: Duration::ZERO,
    }
}

/// What the target `db_url` has applied of `discovery`, read only; with `sizes`, its
/// tables' sizes too (to predict lock times there).
pub async fn look(discovery: &Discovery, db_url: &str, sizes: bool) -> anyhow::Result<Look> {
    let target = Target::connect(db_url, &looking()).await?;
    let history = target.history().await?;
    let plan = plan::plan(&discovery.migrations, &history, false);
    Ok(Look {
        postgres: PostgresInfo {
            provider: "direct".to_string(),
            server_version: target.server_version().await?,
            supabase_compat: None,
            ready_ms: None,
        },
        note: format!(
            "{}: {} version(s) applied.",
            target.described,
            history.len()
        ),
        pending: plan.pending.iter().map(|m| m.version.clone()).collect(),
        refusals: plan.refusals,
        sizes: if sizes {
            crate::engine::sizes(&target.db)
                .await
                .context("cannot read the sizes of the target's tables")?
        } else {
            HashMap::new()
        },
    })
}
