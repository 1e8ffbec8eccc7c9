//! `migration-guard deploy`: apply what the target lacks, after the checks that keep a
//! team from deploying the wrong thing: never from a pull request, production only when
//! confirmed, nothing when the history and the files disagree (remote-only versions,
//! out-of-order files, applied files edited since). Then verify the target.
//!
//! The report lists every migration (already applied, applied now, failed, skipped or
//! pending), whatever happened, so a failure never leaves the team guessing.

use std::borrow::Borrow;
use std::io::{BufRead, IsTerminal, Write as _};
use std::path::PathBuf;
use std::time::Instant;

use crate::checks::verify::{self, VerifyError};
use crate::findings::registry;
use crate::findings::{Finding, Severity};
use crate::migration::{Discovery, MigrationFile};
use crate::report::model::{MigrationError, PostgresInfo};
use crate::report::{CommandName, MigrationEntry, MigrationStatus, Report};
use crate::supabase::cli::PushOutput;

pub mod backup;
pub mod cli;
pub mod direct;
pub mod plan;
pub mod platform;

use crate::supabase::cli::{CliError, SupabaseCli};
use cli::CliTarget;
use direct::{Settings, Target, TargetError};
use platform::{Platform, Watch};

/// Where the migrations go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Environment {
    Staging,
    Production,
}

impl Environment {
    pub fn as_str(self) -> &'static str {
        match self {
            Environment::Staging => "staging",
            Environment::Production => "production",
        }
    }
}

/// Whether a person agreed to deploy to production.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Confirmation {
    /// `--yes`, or an approved GitHub environment.
    Given,
    /// Ask on the terminal once the pending list is known.
    Ask,
    /// No terminal to ask on and no `--yes`.
    Missing,
}

impl Confirmation {
    /// `--yes` gives it; otherwise ask when there is a terminal to ask on.
    pub fn from_flag(yes: bool) -> Confirmation {
        if yes {
            Confirmation::Given
        } else if std::io::stdin().is_terminal() && std::io::stderr().is_terminal() {
            Confirmation::Ask
        } else {
            Confirmation::Missing
        }
    }
}

/// How the target is reached.
#[derive(Debug)]
pub enum Via {
    /// Over a database URL, with this tool's apply engine.
    Direct { db_url: String },
    /// Through `supabase link` and `supabase db push`.
    Cli(CliTarget),
}

#[derive(Debug)]
pub struct DeployOptions {
    pub environment: Environment,
    pub via: Via,
    pub dry_run: bool,
    pub include_all: bool,
    pub confirmation: Confirmation,
    pub verify_dir: PathBuf,
    /// Where the schema backup before production goes; `None`: no backup.
    pub backup_dir: Option<PathBuf>,
    /// The project through the Management API (a project ref and an access token).
    pub platform: Option<Platform>,
    /// Watch the target after the deploy; `None`: don't.
    pub watch: Option<Watch>,
    pub settings: Settings,
    /// `GITHUB_EVENT_NAME`, when run by a workflow.
    pub event_name: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum DeployError {
    #[error(transparent)]
    Target(#[from] TargetError),
    #[error(transparent)]
    Verify(#[from] VerifyError),
    #[error(transparent)]
    Cli(#[from] CliError),
    #[error("nothing was applied: {0}")]
    Backup(#[from] backup::BackupError),
}

/// Deploys `discovery` to the target. A failure to reach or keep the target still
/// returns the report of what happened, with its `error` set.
pub async fn run(discovery: &Discovery, options: &DeployOptions) -> Report {
    let started = Instant::now();
    let mut report = Report::new(CommandName::Deploy);
    for migration in &discovery.migrations {
        report.add_source(&migration.path, migration.source.clone());
    }
    // Set once a direct target is connected: what cancels its running statement.
    let running = std::sync::Mutex::new(None);
    let outcome = tokio::select! {
        outcome = deploy(discovery, options, &mut report, &running) => Some(outcome),
        () = crate::shadow::interrupted() => None,
    };
    match outcome {
        Some(Ok(())) => {}
        Some(Err(error)) => report.error = Some(error.to_string()),
        None => {
            // A statement left running would hold its locks (and the deploy lock) until
            // its timeout: cancel it, so its transaction rolls back now.
            let canceller = running
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .take();
            let cancelled = match canceller {
                Some(canceller) => canceller.cancel().await.is_ok(),
                None => false,
            };
            report.error = Some(format!(
                "interrupted (SIGINT/SIGTERM){}: the file being applied was rolled back (its history row with it) and the deploy lock goes with the session; what was applied before it stays, as the report lists",
                if cancelled {
                    "; its running statement was cancelled"
                } else {
                    ""
                }
            ));
        }
    }
    report.duration_ms = Some(started.elapsed().as_millis() as u64);
    report
}

async fn deploy(
    discovery: &Discovery,
    options: &DeployOptions,
    report: &mut Report,
    running: &std::sync::Mutex<Option<crate::db::Canceller>>,
) -> Result<(), DeployError> {
    let environment = options.environment.as_str();
    if let Some(event) = options
        .event_name
        .as_deref()
        .filter(|event| matches!(*event, "pull_request" | "pull_request_target"))
    {
        report.findings.push(refusal(
            format!("a {event} event does not deploy: a pull request's migrations are not reviewed or merged yet"),
            "deploy on a push to the main branch (and production behind an environment with required reviewers); on pull requests run `shadow`",
        ));
        list(report, &discovery.migrations, MigrationStatus::Local);
        return Ok(());
    }

    // Two files of one version: the CLI applies the first and fails on the second's
    // history row, part way through the push. Refused before anything is applied.
    let collisions = crate::lint::rules::version_collision::check_set(discovery);
    if !collisions.is_empty() {
        report.findings.extend(collisions);
        list(report, &discovery.migrations, MigrationStatus::Local);
        report
            .notes
            .push(format!("Nothing was applied to {environment}."));
        return Ok(());
    }

    let target = Reached::connect(discovery, options, report).await?;
    if let Reached::Direct(direct) = &target {
        *running
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(direct.db.canceller());
    }
    let learned = target.learn(discovery, options.include_all).await?;
    list(report, &learned.applied, MigrationStatus::AlreadyApplied);
    if !learned.refusals.is_empty() {
        report.findings.extend(learned.refusals);
        list(report, &learned.pending, MigrationStatus::Pending);
        report
            .notes
            .push(format!("Nothing was applied to {environment}."));
        return Ok(());
    }
    let pending = learned.pending;
    // What the linter knows cannot run as written (a psql meta-command, a literal left
    // open, CONCURRENTLY inside the file's own BEGIN) fails on the target too, part way
    // through the push: refused before anything is applied.
    let unrunnable = cannot_run(discovery, &pending);
    if !unrunnable.is_empty() {
        report.findings.extend(unrunnable);
        list(report, &pending, MigrationStatus::Pending);
        report
            .notes
            .push(format!("Nothing was applied to {environment}."));
        return Ok(());
    }
    if pending.is_empty() {
        report
            .notes
            .push(format!("{environment} is up to date: nothing to apply."));
    } else if options.dry_run {
        list(report, &pending, MigrationStatus::Pending);
        report.notes.push(format!(
            "Dry run: {} migration(s) would be applied to {environment}.",
            pending.len()
        ));
        return Ok(());
    } else {
        if options.environment == Environment::Production
            && !confirmed(options.confirmation, &pending, &target.describe()).await
        {
            report.findings.push(refusal(
                "production was not confirmed".to_string(),
                "pass --yes (the action does, behind the environment's required reviewers), or answer `yes` at the prompt",
            ));
            list(report, &pending, MigrationStatus::Pending);
            return Ok(());
        }
        if options.environment == Environment::Production
            && let Some(platform) = &options.platform
        {
            report.notes.push(platform.backups_note().await);
        }
        if options.environment == Environment::Production
            && let (Reached::Direct(direct), Some(dir)) = (&target, &options.backup_dir)
        {
            let version = report
                .postgres
                .as_ref()
                .map(|postgres| postgres.server_version.clone())
                .unwrap_or_default();
            let backup =
                backup::schema(&direct.config, &direct.tls, &version, dir, environment).await?;
            report.notes.push(format!(
                "Schema backup before the deploy: {} ({} bytes).",
                backup.path.display(),
                backup.bytes
            ));
        }
        target.apply(&pending, options.include_all, report).await?;
    }
    if passed(report) {
        target.verify(options, report).await?;
    }
    Ok(())
}

/// The target, connected (direct) or linked (CLI).
enum Reached {
    Direct(Box<Target>),
    Cli(SupabaseCli),
}

/// What the target has and lacks, and the reasons not to deploy.
struct Learned<'d> {
    applied: Vec<&'d MigrationFile>,
    pending: Vec<&'d MigrationFile>,
    refusals: Vec<Finding>,
}

impl Reached {
    async fn connect(
        discovery: &Discovery,
        options: &DeployOptions,
        report: &mut Report,
    ) -> Result<Reached, DeployError> {
        let environment = options.environment.as_str();
        match &options.via {
            Via::Direct { db_url } => {
                let target = Target::connect(db_url, &options.settings).await?;
                report.postgres = Some(PostgresInfo {
                    provider: "direct".to_string(),
                    server_version: target.server_version().await?,
                    supabase_compat: None,
                    ready_ms: None,
                });
                report
                    .notes
                    .push(format!("Target {environment}: {}", target.described));
                let waited = target.lock().await?;
                if waited.as_secs() >= 1 {
                    report.notes.push(format!(
                        "Waited {}s for another deploy to finish.",
                        waited.as_secs()
                    ));
                }
                Ok(Reached::Direct(Box::new(target)))
            }
            Via::Cli(target) => {
                report.notes.push(format!(
                    "Target {environment}: Supabase project {} through the Supabase CLI",
                    target.project_ref
                ));
                Ok(Reached::Cli(target.link(discovery).await?))
            }
        }
    }

    /// Runs the verify scripts on the target, then watches it (health and the checks
    /// again) when asked and everything passed.
    async fn verify(
        &self,
        options: &DeployOptions,
        report: &mut Report,
    ) -> Result<(), VerifyError> {
        let dir = &options.verify_dir;
        let platform = options.platform.as_ref();
        match (self, platform) {
            (Reached::Direct(target), _) => {
                verify::run(&target.db, dir, report).await?;
                if let Some(watch) = options.watch.filter(|_| passed(report)) {
                    platform::watch(platform, &target.db, dir, watch, report).await?;
                }
            }
            (Reached::Cli(_), Some(platform)) => {
                verify::run(platform, dir, report).await?;
                if let Some(watch) = options.watch.filter(|_| passed(report)) {
                    platform::watch(Some(platform), platform, dir, watch, report).await?;
                }
            }
            (Reached::Cli(_), None) => report.notes.push(
                "Not verified: the verify scripts run over --db-url, or through the Management API with SUPABASE_ACCESS_TOKEN".to_string(),
            ),
        }
        Ok(())
    }

    fn describe(&self) -> String {
        match self {
            Reached::Direct(target) => target.described.clone(),
            Reached::Cli(_) => "through the Supabase CLI".to_string(),
        }
    }

    async fn learn<'d>(
        &self,
        discovery: &'d Discovery,
        include_all: bool,
    ) -> Result<Learned<'d>, DeployError> {
        match self {
            Reached::Direct(target) => {
                let history = target.history().await?;
                let plan = plan::plan(&discovery.migrations, &history, include_all);
                Ok(Learned {
                    applied: plan.applied,
                    pending: plan.pending,
                    refusals: plan.refusals,
                })
            }
            Reached::Cli(supabase) => match cli::push(supabase, true, include_all).await {
                Ok(output) => {
                    let (pending, applied) = discovery
                        .migrations
                        .iter()
                        .partition(|migration| output.pending.contains(&migration.file_name));
                    Ok(Learned {
                        applied,
                        pending,
                        refusals: Vec::new(),
                    })
                }
                Err(CliError::Refused { refusal, .. }) => Ok(Learned {
                    applied: Vec::new(),
                    pending: Vec::new(),
                    refusals: cli::refusal_findings(&refusal, discovery),
                }),
                Err(error) => Err(error.into()),
            },
        }
    }

    /// Applies `pending`; the report says what happened even when this fails.
    async fn apply(
        &self,
        pending: &[&MigrationFile],
        include_all: bool,
        report: &mut Report,
    ) -> Result<(), DeployError> {
        match self {
            Reached::Direct(target) => {
                let mut applied = direct::Applied::default();
                let outcome = target.apply(pending, &mut applied).await;
                report.migrations.extend(applied.entries);
                report.findings.extend(applied.findings);
                report.notes.extend(applied.notes);
                Ok(outcome?)
            }
            Reached::Cli(supabase) => match cli::push(supabase, false, include_all).await {
                Ok(output) => {
                    report
                        .migrations
                        .extend(cli::entries(pending, output.applied(), None));
                    Ok(())
                }
                Err(CliError::MigrationFailed {
                    failure, applied, ..
                }) => {
                    report
                        .migrations
                        .extend(cli::entries(pending, &applied, Some(&failure)));
                    Ok(())
                }
                Err(error) => {
                    let applied = error
                        .captured()
                        .map(|captured| {
                            PushOutput::parse(&format!("{}\n{}", captured.stderr, captured.stdout))
                                .applied()
                                .to_vec()
                        })
                        .unwrap_or_default();
                    let mut entries = cli::entries(pending, &applied, None);
                    if let Some(entry) = entries
                        .iter_mut()
                        .find(|entry| entry.status == MigrationStatus::Failed)
                    {
                        entry.error = Some(MigrationError {
                            message: error.to_string(),
                            ..MigrationError::default()
                        });
                    }
                    report.migrations.extend(entries);
                    Err(error.into())
                }
            },
        }
    }
}

fn passed(report: &Report) -> bool {
    report.status() == crate::report::Status::Passed
}

/// Adds `migrations` to the report with `status`.
fn list(report: &mut Report, migrations: &[impl Borrow<MigrationFile>], status: MigrationStatus) {
    report.migrations.extend(
        migrations
            .iter()
            .map(|migration| MigrationEntry::new(migration.borrow(), status)),
    );
}

/// The linter's errors on `pending` files that mean a file cannot run as written.
fn cannot_run(discovery: &Discovery, pending: &[&MigrationFile]) -> Vec<Finding> {
    use crate::lint::rules::{concurrently_in_transaction, no_psql_meta, syntax_error};
    const CANNOT_RUN: [&str; 3] = [
        no_psql_meta::RULE.id,
        syntax_error::RULE.id,
        concurrently_in_transaction::RULE.id,
    ];
    let pending: Vec<&std::path::Path> = pending.iter().map(|m| m.path.as_path()).collect();
    crate::lint::lint(discovery, &crate::config::Config::default())
        .into_iter()
        .filter(|finding| {
            finding.severity == Severity::Error
                && CANNOT_RUN.contains(&finding.rule)
                && finding
                    .location
                    .as_ref()
                    .is_some_and(|location| pending.contains(&location.file.as_path()))
        })
        .collect()
}

fn refusal(message: String, help: &str) -> Finding {
    Finding {
        rule: registry::DEPLOY_REFUSED.id,
        severity: Severity::Error,
        location: None,
        message,
        help: Some(help.to_string()),
    }
}

/// Whether production may go ahead: given, or asked and answered `yes`.
async fn confirmed(confirmation: Confirmation, pending: &[&MigrationFile], target: &str) -> bool {
    match confirmation {
        Confirmation::Given => true,
        Confirmation::Missing => false,
        Confirmation::Ask => {
            let mut question = format!("Apply to PRODUCTION ({target}):\n");
            for migration in pending {
                question.push_str(&format!("  • {}\n", migration.file_name));
            }
            question.push_str("Type yes to go on: ");
            tokio::task::spawn_blocking(move || {
                let mut stderr = std::io::stderr();
                let _ = stderr.write_all(question.as_bytes());
                let _ = stderr.flush();
                let mut answer = String::new();
                std::io::stdin().lock().read_line(&mut answer).is_ok() && answer.trim() == "yes"
            })
            .await
            .unwrap_or(false)
        }
    }
}
