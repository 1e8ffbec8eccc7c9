//! `migration-guard deploy`: the command line turned into [`DeployOptions`].

use std::time::Duration;

use crate::cli::DeployArgs;
use crate::config::Project;
use crate::deploy::direct::Settings;
use crate::deploy::{self, Confirmation, DeployOptions};
use crate::migration;
use crate::report::Report;

pub async fn run(project: &Project, args: &DeployArgs) -> anyhow::Result<Report> {
    let dir = project.migrations.as_path();
    let discovery = migration::discover(dir)?;
    let options = DeployOptions {
        environment: args.target,
        db_url: args.db_url.clone(),
        dry_run: args.dry_run,
        include_all: args.include_all,
        confirmation: Confirmation::from_flag(args.yes),
        verify_dir: project.verify_dir(args.verify_dir.as_deref()),
        settings: Settings {
            lock_timeout: args.lock_timeout.clone(),
            statement_timeout: args.statement_timeout.clone(),
            lock_wait: Duration::from_secs(args.lock_wait),
            retries: args.retries,
            backoff: Duration::from_secs(1),
        },
        event_name: std::env::var("GITHUB_EVENT_NAME").ok(),
    };
    Ok(deploy::run(&discovery, &options).await)
}
