//! `migration-guard shadow`: lint the files, apply them to a throwaway Postgres, verify.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;

use crate::app::cli::{ProviderArgs, ShadowArgs};
use crate::config::Project;
use crate::engine::seed::Seed;
use crate::lint::{self, Judged};
use crate::migration;
use crate::pipeline::{self, Steps};
use crate::report::{CommandName, Report};
use crate::shadow::ShadowOptions;
use crate::shadow::docker::{DEFAULT_IMAGE, DockerOptions};
use crate::supabase::project::SupabaseProject;

/// Lints the project's migrations while the shadow starts, then runs the shadow for
/// them.
pub async fn run(project: &Project, args: &ShadowArgs) -> anyhow::Result<Report> {
    let dir = project.migrations.as_path();
    let discovery = Arc::new(migration::discover(dir)?);
    // The rules need no database: they read the files on another thread while the
    // shadow's server starts and its database is built.
    let linting = {
        let discovery = Arc::clone(&discovery);
        let config = project.config.clone();
        tokio::task::spawn_blocking(move || lint::findings(&discovery, &config))
    };
    // The history first: which migrations are under review decides where a seed goes.
    let mut files = Report::of_files(CommandName::Shadow, &discovery);
    let history = pipeline::history(
        &mut files,
        &discovery,
        &project.config,
        args.checks.base_ref.as_deref(),
    )?;
    files.fail_on = args.checks.fail_on.into();
    let steps = Steps {
        verify_dir: Some(project.verify_dir(args.verify_dir.as_deref())),
        tests_dir: project
            .migrations
            .parent()
            .map(|supabase| supabase.join("tests")),
        catalog_checks: !args.no_catalog_checks,
        snapshot_at_end: false,
        seed_files: true,
        seed: args.seed_rows.map(|rows| Seed {
            rows,
            before: discovery
                .migrations
                .iter()
                .position(|m| !history.contains(&m.path))
                .unwrap_or(discovery.migrations.len()),
        }),
    };
    let mut options = options(&args.shadow, project)?;
    // A target to preview says which Data API grants the project really has.
    let target_grants = match &args.checks.preview_db_url {
        Some(url) => super::status::automatic_api_grants(url)
            .await
            .context("cannot look at the --preview-db-url target")?,
        None => None,
    };
    if let Some(automatic) = target_grants {
        options.automatic_api_grants = automatic;
    }
    let (mut report, _) = pipeline::shadow(&discovery, &options, &steps).await?;
    // The rules' findings ahead of the base branch's, as `lint` gives them.
    let linted = linting.await.context("the lint rules stopped")?;
    files.findings.splice(0..0, linted);
    if let Some(automatic) = target_grants {
        files.notes.push(if automatic {
            "The Data API's grants follow the --preview-db-url target: it grants what migrations create in public to anon, authenticated and service_role automatically (the platform's former default)".to_string()
        } else {
            "The Data API's grants follow the --preview-db-url target: nothing a migration creates in public is granted to anon, authenticated or service_role until a migration grants it".to_string()
        });
    }
    report.findings.extend(files.findings);
    report.notes.extend(files.notes);
    report.fail_on = files.fail_on;
    super::lint::preview(
        &mut report,
        &discovery,
        &args.checks,
        &project.config.lock_budgets,
    )
    .await?;
    report.findings = pipeline::settle(
        std::mem::take(&mut report.findings),
        &discovery,
        &project.config,
        Judged::Everything,
        &report.migrations,
    );
    report.scope(&history, &crate::migration::base_branch::BRANCH_ACTS);
    Ok(report)
}

/// The shadow as the provider flags and the project describe it. A Supabase project's shadow image is Supabase's own, of the version the
/// project runs, unless `--image` says otherwise.
pub fn options(args: &ProviderArgs, project: &Project) -> anyhow::Result<ShadowOptions> {
    let supabase = SupabaseProject::beside(&project.migrations)?;
    let image = match (&args.image, &supabase) {
        (Some(image), _) => image.clone(),
        (None, Some(supabase)) => supabase.image(),
        (None, None) => DEFAULT_IMAGE.to_string(),
    };
    Ok(ShadowOptions {
        provider: args.provider,
        database_url: args.database_url.clone(),
        pg_bin: args.pg_bin.clone(),
        docker: DockerOptions {
            image,
            reach: args.docker_reach,
            ready_timeout: Duration::from_secs(args.ready_timeout),
        },
        supabase_compat: !args.no_supabase_compat,
        extension_stubs: !args.no_extension_stubs,
        automatic_api_grants: supabase
            .as_ref()
            .is_some_and(|project| project.auto_expose_new_tables),
        supabase,
    })
}
