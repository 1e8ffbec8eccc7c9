//! `migration-guard shadow`: lint the files, apply them to a throwaway Postgres, verify.

use std::path::Path;
use std::time::Duration;

use crate::cli::ShadowArgs;
use crate::migration;
use crate::report::Report;
use crate::shadow::docker::DockerOptions;
use crate::shadow::{self, ShadowOptions};

/// Runs the shadow for the migrations in `dir`.
pub async fn run(dir: &Path, args: &ShadowArgs) -> anyhow::Result<Report> {
    let discovery = migration::discover(dir)?;
    let verify_dir = args
        .verify_dir
        .clone()
        .unwrap_or_else(|| dir.parent().unwrap_or_else(|| Path::new("")).join("verify"));
    let options = ShadowOptions {
        provider: args.provider,
        database_url: args.database_url.clone(),
        pg_bin: args.pg_bin.clone(),
        docker: DockerOptions {
            image: args.image.clone(),
            reach: args.docker_reach,
            ready_timeout: Duration::from_secs(args.ready_timeout),
        },
        supabase_compat: !args.no_supabase_compat,
        verify_dir,
    };
    Ok(shadow::run(&discovery, &options).await?)
}
