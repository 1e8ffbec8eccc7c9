//! One run, in order: the files (the lint rules and the base branch) -> the shadow (a
//! server) -> applying the migrations -> the checks -> the policy -> one [`Report`].
//!
//! The commands choose which of these they need; this module is the only place that
//! knows their order.

use std::path::PathBuf;
use std::time::Instant;

use crate::catalog::{self, Catalog, Scope};
use crate::checks::{advisors, declarative, locks, pgtap, plpgsql, seed_files, semantic, verify};
use crate::config::Config;
use crate::db::{Database, PgError};
use crate::engine::seed::{self, Seed};
use crate::engine::{Applier, ApplyError, Reroute};
use crate::findings::policy::{History, merge_confirmed};
use crate::findings::span::LineIndex;
use crate::findings::{Finding, registry};
use crate::lint::{self, Judged};
use crate::migration::base_branch;
use crate::migration::{Discovery, MigrationFile};
use crate::report::{CommandName, MigrationEntry, MigrationStatus, Report};
use crate::shadow::{Databases, Shadow, ShadowError, ShadowOptions, interrupted};
use crate::supabase::project::{DEFAULT_API_SCHEMAS, DeclarativeSchema};

/// How long an interrupted run lets its server finish starting, to remove it whole.
const FINISH_STARTING: std::time::Duration = std::time::Duration::from_secs(30);

/// What runs in the shadow after the migrations.
#[derive(Debug, Clone, Default)]
pub struct Steps {
    /// The verify scripts to run after the migrations, if any.
    pub verify_dir: Option<PathBuf>,
    /// The pgTAP tests to run after them (`supabase/tests`, as `supabase test db`).
    pub tests_dir: Option<PathBuf>,
    /// Snapshot the catalog after each migration and run each twice (the semantic
    /// checks), then the advisors and plpgsql_check; off, the migrations are only applied.
    pub catalog_checks: bool,
    /// Return the catalog the migrations built (for `drift` and `new`).
    pub snapshot_at_end: bool,
    /// Fill the tables with synthetic rows before the first migration under review
    /// (`--seed-rows`).
    pub seed: Option<Seed>,
    /// Run the project's seed files after the migrations, as a reset or a preview
    /// branch does.
    pub seed_files: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    #[error(transparent)]
    Shadow(#[from] ShadowError),
    #[error(transparent)]
    Apply(#[from] ApplyError),
    #[error(transparent)]
    Verify(#[from] verify::VerifyError),
    #[error(transparent)]
    Semantic(#[from] semantic::SemanticError),
    #[error(transparent)]
    Advisors(#[from] advisors::AdvisorError),
    #[error(transparent)]
    Plpgsql(#[from] plpgsql::PlpgsqlError),
    #[error(transparent)]
    PgTap(#[from] pgtap::PgTapError),
    #[error(transparent)]
    SeedFiles(#[from] seed_files::SeedError),
    #[error(transparent)]
    Declarative(#[from] declarative::DeclarativeError),
    #[error("cannot prepare the shadow database (reading the catalog the migrations built): {0}")]
    Catalog(#[source] PgError),
    #[error("cannot compare the migrations with `{base_ref}`")]
    BaseBranch {
        base_ref: String,
        #[source]
        source: base_branch::BaseError,
    },
    #[error("interrupted; the shadow was removed")]
    Interrupted,
}

/// The files as files: the lint rules' findings and, with `base_ref`, the comparison
/// with the base branch, as they give them (settled later, once, with the rest). Returns
/// the deployed history (see [`history`]).
pub fn files(
    report: &mut Report,
    discovery: &Discovery,
    config: &Config,
    base_ref: Option<&str>,
) -> Result<History, PipelineError> {
    report.findings.extend(lint::findings(discovery, config));
    history(report, discovery, config, base_ref)
}

/// The deployed history: the migrations the base already has (unless edited here) and
/// those up to the configured baseline. With `base_ref`, the comparison's note and
/// findings go to `report`.
pub fn history(
    report: &mut Report,
    discovery: &Discovery,
    config: &Config,
    base_ref: Option<&str>,
) -> Result<History, PipelineError> {
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
    if let Some(base_ref) = base_ref {
        let comparison = base_branch::compare(discovery, base_ref).map_err(|source| {
            PipelineError::BaseBranch {
                base_ref: base_ref.to_string(),
                source,
            }
        })?;
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
    Ok(history)
}

/// The policy, once, over every source's findings; then one finding for one problem
/// (a catalog check that confirms a lint finding folds into it).
///
/// With the shadow's `migrations`, `require-lock-timeout` is what the shadow measured
/// where it watched a file ([`locks::judge_lock_timeout`]).
pub fn settle(
    findings: Vec<Finding>,
    discovery: &Discovery,
    config: &Config,
    judged: Judged,
    migrations: &[MigrationEntry],
) -> Vec<Finding> {
    let findings = match judged {
        Judged::Files => findings,
        Judged::Everything => {
            locks::judge_lock_timeout(findings, migrations, &discovery.migrations)
        }
    };
    let settled = lint::settle(findings, discovery, config, judged);
    match judged {
        Judged::Files => settled,
        Judged::Everything => merge_confirmed(settled, &semantic::CONFIRMS, semantic::object_named),
    }
}

/// Applies every migration of `discovery` to a fresh shadow and runs `steps` there;
/// with `snapshot_at_end`, also returns the catalog the migrations built. The findings
/// are as the checks give them: the caller settles them with the policy.
pub async fn shadow(
    discovery: &Discovery,
    options: &ShadowOptions,
    steps: &Steps,
) -> Result<(Report, Option<Catalog>), PipelineError> {
    let started = Instant::now();
    let mut report = Report::of_files(CommandName::Shadow, discovery);
    let start = Shadow::start(options);
    tokio::pin!(start);
    let mut shadow = tokio::select! {
        shadow = &mut start => shadow?,
        () = interrupted() => {
            // A server stopped half way through starting (initdb, pg_ctl, a container
            // coming up) leaves files or processes behind: let it finish, briefly, then
            // remove it whole.
            if let Ok(Ok(shadow)) = tokio::time::timeout(FINISH_STARTING, start).await {
                shadow.stop().await;
            }
            return Err(PipelineError::Interrupted);
        }
    };
    let ready_ms = started.elapsed().as_millis() as u64;
    tracing::info!("Postgres is ready after {ready_ms} ms");
    let outcome = tokio::select! {
        outcome = in_shadow(&mut shadow, options, steps, discovery, &mut report) => outcome,
        () = interrupted() => Err(PipelineError::Interrupted),
    };
    shadow.stop().await;
    let built = outcome?;
    if let Some(postgres) = &mut report.postgres {
        postgres.ready_ms = Some(ready_ms);
    }
    report.duration_ms = Some(started.elapsed().as_millis() as u64);
    Ok((report, built))
}

async fn in_shadow(
    shadow: &mut Shadow,
    options: &ShadowOptions,
    steps: &Steps,
    discovery: &Discovery,
    report: &mut Report,
) -> Result<Option<Catalog>, PipelineError> {
    let prepared = shadow.prepare(options).await?;
    report.postgres = Some(prepared.postgres.clone());
    report.notes.extend(prepared.notes.iter().cloned());
    let surveyed = prepared.survey(&discovery.migrations);
    // Each missing extension once, where a migration first creates it.
    let mut named: Vec<&str> = Vec::new();
    let mut unavailable: Vec<String> = Vec::new();
    for finding in &surveyed {
        let Some(name) = crate::shadow::extensions::unavailable_name(finding) else {
            continue;
        };
        if named.contains(&name) {
            continue;
        }
        named.push(name);
        let at = finding.location.as_ref().and_then(|at| {
            let migration = discovery.migrations.iter().find(|m| m.path == at.file)?;
            let line = LineIndex::new(&migration.source)
                .line_col(&migration.source, at.span.start)
                .line;
            Some(format!("{}:{line}", migration.file_name))
        });
        unavailable.push(format!("{name} ({})", at.unwrap_or_default()));
    }
    report.findings.extend(surveyed);
    if !unavailable.is_empty() {
        report.error = Some(format!(
            "the shadow cannot judge these migrations: they need extensions its Postgres does not have: {} (extension-unavailable); nothing was applied",
            unavailable.join(", ")
        ));
        return Ok(None);
    }
    let Databases {
        migrations: db,
        privileged,
    } = shadow.databases(&prepared).await?;
    let exposed = exposed_schemas(options);
    let supautils = prepared.supautils();
    let reroute = supautils
        .as_ref()
        .map(|supautils| supautils as &dyn Reroute);
    // What the migrations built, as the catalog checks read it at their end.
    let mut built = None;
    // The advisors and plpgsql_check read what the migrations built on the tool's own
    // session, while the migrations' session reads it too.
    let mut after = None;
    let seeded = if steps.catalog_checks {
        let beside = semantic::Beside {
            // What the advisors say of the platform alone: only what the migrations add
            // counts.
            start: advisors::advise(&privileged, &exposed),
            end: after_checks(&privileged, &discovery.migrations, &exposed),
        };
        let (checked, advice_before, ended) = semantic::apply(
            &db,
            &discovery.migrations,
            reroute,
            steps.seed,
            &exposed,
            beside,
        )
        .await?;
        let advice_before = advice_before?;
        after = ended
            .transpose()?
            .map(|ended| ended.introduced(&advice_before, &discovery.migrations));
        report.migrations = checked.entries;
        report.findings.extend(checked.findings);
        built = checked.built;
        checked.seeded
    } else {
        let applier = Applier::new(&db).await?.rerouting(reroute);
        let split = steps
            .seed
            .map_or(0, |seed| seed.before.min(discovery.migrations.len()));
        let (deployed, reviewed) = discovery.migrations.split_at(split);
        report.migrations = applier.apply_all(deployed).await?;
        let mut seeded = None;
        if report.migrations.iter().any(|m| m.error.is_some()) {
            report.migrations.extend(
                reviewed
                    .iter()
                    .map(|m| MigrationEntry::new(m, MigrationStatus::Skipped)),
            );
        } else {
            if let Some(seed) = steps.seed.filter(|_| !reviewed.is_empty()) {
                seeded = Some(
                    seed::fill(&db, seed.rows)
                        .await
                        .map_err(semantic::SemanticError::Seed)?,
                );
            }
            report.migrations.extend(applier.apply_all(reviewed).await?);
        }
        seeded
    };
    match (steps.seed, seeded) {
        (_, Some(seeded)) => report.notes.push(seeded.note()),
        (Some(_), None) if report.migrations.iter().all(|m| m.error.is_none()) => {
            report.notes.push(
                "--seed-rows: no migration is under review, so nothing was seeded (with --base-ref or a baseline, the tables the deployed migrations build are filled before the others run)"
                    .to_string(),
            )
        }
        _ => {}
    }
    explain_platform_failures(report, &discovery.migrations);
    let failed = report.migrations.iter().any(|m| m.error.is_some());
    if let (Some(schema), Some(built), false) = (
        options
            .supabase
            .as_ref()
            .and_then(|project| project.declarative.as_ref()),
        &built,
        failed,
    ) {
        let all: Vec<PathBuf>;
        let build = match schema {
            DeclarativeSchema::Ordered(files) => declarative::Build::InOrder(files),
            DeclarativeSchema::PgDelta { files, custom } => {
                report.findings.extend(declarative::custom_contract(custom));
                all = files.iter().chain(custom).cloned().collect();
                declarative::Build::Retrying(&all)
            }
        };
        let declared = shadow.database(&prepared, "declared").await?;
        declarative::compare(
            &declared.migrations,
            build,
            reroute,
            &discovery.migrations,
            built,
            report,
        )
        .await?;
    }
    let seeds = options
        .supabase
        .as_ref()
        .map_or(&[][..], |project| project.seed_files.as_slice());
    if !failed && steps.seed_files {
        seed_files::run(&db, seeds, reroute, report).await?;
    }
    match &steps.verify_dir {
        _ if failed => report
            .notes
            .push("verification skipped: a migration failed".to_string()),
        Some(dir) => verify::run(&db, dir, report).await?,
        None => {}
    }
    if let (false, Some(dir)) = (failed, &steps.tests_dir) {
        pgtap::run(&db, &privileged, dir, report).await?;
    }
    // Only when every migration applied.
    if let Some((findings, notes)) = after {
        report.findings.extend(findings);
        report.notes.extend(notes);
    }
    if !steps.snapshot_at_end || failed {
        return Ok(None);
    }
    let built = catalog::snapshot(&db, &Scope::user())
        .await
        .map_err(PipelineError::Catalog)?;
    Ok(Some(built))
}

/// Adds what the platform says of a failure the emulation reproduces on purpose to its
/// hint, so that it reads as what it is and not as a shadow's defect.
fn explain_platform_failures(report: &mut Report, migrations: &[MigrationFile]) {
    for entry in &mut report.migrations {
        let Some(error) = &mut entry.error else {
            continue;
        };
        let statement = migrations
            .iter()
            .find(|m| m.path == entry.file)
            .zip(error.statement)
            .and_then(|(migration, span)| migration.source.get(span.start..span.end));
        let hint = crate::shadow::extensions::platform_hint(
            error.sqlstate.as_deref().unwrap_or_default(),
            &error.message,
            statement.unwrap_or_default(),
        );
        if let Some(hint) = hint {
            error.hint = Some(match error.hint.take() {
                Some(server) => format!("{server} {hint}"),
                None => hint.to_string(),
            });
        }
    }
}

/// The schemas the Data API exposes: the project's `[api] schemas`, else Supabase's
/// defaults.
fn exposed_schemas(options: &ShadowOptions) -> Vec<String> {
    match &options.supabase {
        Some(project) => project.api_schemas.clone(),
        None => DEFAULT_API_SCHEMAS
            .iter()
            .map(|schema| schema.to_string())
            .collect(),
    }
}

/// What the advisors and plpgsql_check say of what the migrations built.
struct AfterChecks {
    advice: Vec<advisors::Advice>,
    plpgsql: plpgsql::Checked,
}

/// The checks of what the migrations built, on the tool's own session of the shadow:
/// Supabase's advisors and plpgsql_check on every body. Both only read.
async fn after_checks(
    privileged: &Database,
    migrations: &[MigrationFile],
    exposed: &[String],
) -> Result<AfterChecks, PipelineError> {
    tracing::info!("running Supabase's advisors");
    let advice = advisors::advise(privileged, exposed).await?;
    tracing::info!("checking PL/pgSQL bodies");
    let plpgsql = plpgsql::check(privileged, migrations).await?;
    Ok(AfterChecks { advice, plpgsql })
}

impl AfterChecks {
    /// The findings (what the migrations introduced, on the file that made each object)
    /// and the notes.
    fn introduced(
        self,
        advice_before: &[advisors::Advice],
        migrations: &[MigrationFile],
    ) -> (Vec<Finding>, Vec<String>) {
        let locator = advisors::Locator::new(migrations);
        let findings = advisors::introduced(advice_before, &self.advice)
            .iter()
            .map(|advice| advisors::finding(advice, locator.locate(&advice.object)))
            .chain(self.plpgsql.findings)
            .collect();
        (findings, self.plpgsql.notes)
    }
}
