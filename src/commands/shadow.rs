//! `migration-guard shadow`: lint the files, apply them to a throwaway Postgres, verify.

use std::time::Duration;

use crate::cli::{ProviderArgs, ShadowArgs};
use crate::config::Project;
use crate::migration;
use crate::report::Report;
use crate::shadow::docker::DockerOptions;
use crate::shadow::{self, ShadowOptions};

/// Lints the project's migrations, then runs the shadow for them.
pub async fn run(project: &Project, args: &ShadowArgs) -> anyhow::Result<Report> {
    let dir = project.migrations.as_path();
    let discovery = migration::discover(dir)?;
    let options = ShadowOptions {
        verify_dir: Some(project.verify_dir(args.verify_dir.as_deref())),
        catalog_checks: !args.no_catalog_checks,
        ..options(&args.shadow)
    };
    let (mut report, _) = shadow::run(&discovery, &options, &project.config).await?;
    super::lint::check_files(&mut report, &discovery, project, &args.checks)?;
    super::lint::preview(&mut report, &discovery, &args.checks).await?;
    Ok(report)
}

/// The shadow as the provider flags describe it: only applying, no verify dir.
pub fn options(args: &ProviderArgs) -> ShadowOptions {
    ShadowOptions {
        provider: args.provider,
        database_url: args.database_url.clone(),
        pg_bin: args.pg_bin.clone(),
        docker: DockerOptions {
            image: args.image.clone(),
            reach: args.docker_reach,
            ready_timeout: Duration::from_secs(args.ready_timeout),
        },
        supabase_compat: !args.no_supabase_compat,
        extension_stubs: !args.no_extension_stubs,
        verify_dir: None,
        catalog_checks: false,
        snapshot_at_end: false,
    }
}
