//! `migration-guard deploy`: the command line turned into [`DeployOptions`].

use std::time::Duration;

use crate::app::cli::{DeployArgs, ViaChoice};
use crate::config::Project;
use crate::deploy::cli::CliTarget;
use crate::deploy::direct::Settings;
use crate::deploy::platform::{Platform, Watch};
use crate::deploy::{self, Confirmation, DeployOptions, Environment, Via};
use crate::migration::{self, Discovery};
use crate::report::{Report, Status};
use crate::supabase::api::{Client, api_url_from_env};

pub async fn run(project: &Project, args: &DeployArgs) -> anyhow::Result<Report> {
    let dir = project.migrations.as_path();
    let discovery = migration::discover(dir)?;
    let via = match (args.via, &args.db_url, &args.project_ref) {
        (Some(ViaChoice::Direct) | None, Some(db_url), _) => Via::Direct {
            db_url: db_url.clone(),
        },
        (Some(ViaChoice::Cli) | None, _, Some(project_ref)) => Via::Cli(CliTarget {
            project_ref: project_ref.clone(),
            access_token: args.access_token.clone(),
            db_password: args.db_password.clone(),
        }),
        (Some(ViaChoice::Direct), None, _) => {
            anyhow::bail!("--via direct needs --db-url (or MIGRATION_GUARD_DB_URL)")
        }
        (Some(ViaChoice::Cli), _, None) => {
            anyhow::bail!("--via cli needs --project-ref (or MIGRATION_GUARD_PROJECT_REF)")
        }
        (None, None, None) => anyhow::bail!(
            "no target: give --db-url to deploy directly, or --project-ref to deploy through the Supabase CLI"
        ),
    };
    let platform = match (&args.project_ref, &args.access_token) {
        (Some(project_ref), Some(token)) => Some(Platform {
            client: Client::new(&api_url_from_env(), token)?,
            project_ref: project_ref.clone(),
        }),
        _ => None,
    };
    let watch_seconds = args.watch.unwrap_or(match args.target {
        Environment::Production => 120,
        Environment::Staging => 0,
    });
    let options = DeployOptions {
        environment: args.target,
        via,
        platform,
        watch: (watch_seconds > 0).then(|| Watch {
            window: Duration::from_secs(watch_seconds),
            every: Duration::from_secs(args.watch_every.max(1)),
        }),
        dry_run: args.dry_run,
        include_all: args.include_all,
        confirmation: Confirmation::from_flag(args.yes),
        verify_dir: project.verify_dir(args.verify_dir.as_deref()),
        backup_dir: (!args.no_backup).then(|| {
            args.report_dir
                .clone()
                .unwrap_or_else(|| "migration-guard-backups".into())
        }),
        settings: Settings {
            lock_timeout: args.lock_timeout[0].clone(),
            escalate: args.lock_timeout[1..].to_vec(),
            analyze: !args.no_analyze,
            statement_timeout: args.statement_timeout.clone(),
            lock_wait: Duration::from_secs(args.lock_wait),
            retries: args.retries,
            backoff: Duration::from_secs(1),
        },
        event_name: std::env::var("GITHUB_EVENT_NAME").ok(),
    };
    let mut report = deploy::run(&discovery, &options).await;
    if args.drift && report.status() == Status::Passed {
        drift(&mut report, project, &discovery, args).await;
    }
    Ok(report)
}

/// `--drift`: the target against a shadow of its applied migrations, folded into the
/// deploy's report.
async fn drift(report: &mut Report, project: &Project, discovery: &Discovery, args: &DeployArgs) {
    let Some(db_url) = &args.db_url else {
        report.notes.push(
            "No drift check: it reads the target over --db-url, and this deploy has none"
                .to_string(),
        );
        return;
    };
    let compared = match super::shadow::options(&args.shadow, project) {
        Ok(options) => super::drift::compare(project, discovery, db_url, options).await,
        Err(error) => Err(error),
    };
    match compared {
        Ok(drift) => {
            report.drift = drift.drift;
            report.notes.extend(drift.notes);
            if drift.error.is_some() || drift.migrations.iter().any(|m| m.error.is_some()) {
                report.notes.push(
                    "The drift check could not build the target's migrations in a shadow"
                        .to_string(),
                );
            }
        }
        Err(error) => {
            report.error = Some(format!(
                "the drift check after the deploy failed: {error:#}"
            ))
        }
    }
}
