//! The command line: clap definitions. Every flag has an environment twin
//! (`MIGRATION_GUARD_<FLAG>`) so the action and CI scripts can set it.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::deploy::Environment;
use crate::shadow::ProviderChoice;
use crate::shadow::docker::Reach;

#[derive(Debug, Parser)]
#[command(
    name = "migration-guard",
    version,
    about = "Lint, shadow-apply, verify and deploy Supabase / Postgres migrations"
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// The migrations directory [default: the config's migrations_dir, else
    /// supabase/migrations].
    #[arg(long, global = true, env = "MIGRATION_GUARD_DIR")]
    pub dir: Option<PathBuf>,
    /// The configuration file [default: migration-guard.yml beside the migrations
    /// directory's parent folder (supabase/), else in the current directory].
    #[arg(long, global = true, env = "MIGRATION_GUARD_CONFIG")]
    pub config: Option<PathBuf>,
    /// Output format.
    #[arg(
        long,
        global = true,
        env = "MIGRATION_GUARD_FORMAT",
        value_enum,
        default_value_t = Format::Text
    )]
    pub format: Format,
    /// Text output: only errors (the findings that fail the run) and the verdict.
    #[arg(long, short = 'q', global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Text output: also the infos that ask nothing (statements the parser could not
    /// read, which the shadow still applies).
    #[arg(long, short = 'v', global = true)]
    pub verbose: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// For people: colour on a terminal, plain otherwise.
    Text,
    /// The stable JSON report (schema_version 1).
    Json,
    /// The pull-request comment body.
    Markdown,
    /// SARIF 2.1.0, for GitHub code scanning.
    Sarif,
    /// GitHub workflow commands: an annotation per finding.
    Github,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check the migrations without a database: the runbook's rules and lock safety.
    Lint(LintArgs),
    /// List the local migrations, skipped files and version collisions; with --db-url,
    /// which of them a database has applied (like `supabase migration list`).
    Status(StatusArgs),
    /// Apply every migration to a throwaway Postgres, then run the verify scripts.
    Shadow(ShadowArgs),
    /// Create supabase/migrations/<YYYYMMDDHHMMSS>_NAME.sql from a safe template.
    New(NewArgs),
    /// Mark the migrations up to VERSION (default: the newest) as deployed history in
    /// migration-guard.yml: their findings no longer count.
    Baseline(BaselineArgs),
    /// Apply what the target lacks to staging or production, then verify it there.
    Deploy(DeployArgs),
    /// Compare a database's schema with what its applied migrations build in a shadow.
    Drift(DriftArgs),
    /// The GitHub Action entry point: reads INPUT_* and runs one of the commands.
    Action,
}

#[derive(Debug, Args)]
pub struct DriftArgs {
    /// The database to compare (only read, in a read-only transaction).
    #[arg(long, env = "MIGRATION_GUARD_DB_URL", hide_env_values = true)]
    pub db_url: String,
    #[command(flatten)]
    pub shadow: ProviderArgs,
    /// Also write report.json and report.md into this directory.
    #[arg(long, env = "MIGRATION_GUARD_REPORT_DIR")]
    pub report_dir: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Compare with this database's history (read only).
    #[arg(long, env = "MIGRATION_GUARD_DB_URL", hide_env_values = true)]
    pub db_url: Option<String>,
}

#[derive(Debug, Args)]
pub struct DeployArgs {
    /// Which environment this is: production needs --yes or a confirmation at the prompt.
    #[arg(long, env = "MIGRATION_GUARD_TARGET", value_enum)]
    pub target: Environment,
    /// The target database (postgresql://USER:PASSWORD@HOST:PORT/DATABASE): deploy
    /// directly.
    #[arg(long, env = "MIGRATION_GUARD_DB_URL", hide_env_values = true)]
    pub db_url: Option<String>,
    /// The target Supabase project: deploy through the Supabase CLI (`link`, `db
    /// push`), with SUPABASE_ACCESS_TOKEN and SUPABASE_DB_PASSWORD from the environment.
    #[arg(long, env = "MIGRATION_GUARD_PROJECT_REF")]
    pub project_ref: Option<String>,
    /// The access token the Supabase CLI uses (set SUPABASE_ACCESS_TOKEN).
    #[arg(
        long,
        env = "SUPABASE_ACCESS_TOKEN",
        hide_env_values = true,
        hide = true
    )]
    pub access_token: Option<String>,
    /// The database password the Supabase CLI uses (set SUPABASE_DB_PASSWORD).
    #[arg(
        long,
        env = "SUPABASE_DB_PASSWORD",
        hide_env_values = true,
        hide = true
    )]
    pub db_password: Option<String>,
    /// How to reach the target [default: cli with --project-ref, direct with --db-url].
    #[arg(long, env = "MIGRATION_GUARD_VIA", value_enum)]
    pub via: Option<ViaChoice>,
    /// Show what would be applied, apply nothing.
    #[arg(long, env = "MIGRATION_GUARD_DRY_RUN")]
    pub dry_run: bool,
    /// Also apply files older than the newest applied version (`supabase db push
    /// --include-all`).
    #[arg(long, env = "MIGRATION_GUARD_INCLUDE_ALL")]
    pub include_all: bool,
    /// Deploy to production without asking.
    #[arg(long, env = "MIGRATION_GUARD_YES")]
    pub yes: bool,
    /// Verification SQL directory [default: verify/ beside the migrations directory].
    #[arg(long, env = "MIGRATION_GUARD_VERIFY_DIR")]
    pub verify_dir: Option<PathBuf>,
    /// lock_timeout for files that set none; a list (1s,3s,10s) escalates: a file that
    /// hit it runs again with the next.
    #[arg(long, env = "MIGRATION_GUARD_LOCK_TIMEOUT", default_value = "5s", value_parser = setting, value_delimiter = ',')]
    pub lock_timeout: Vec<String>,
    /// Skip the ANALYZE of a table after a migration built an index on it without
    /// CONCURRENTLY (the planner learns the new index's expressions' statistics).
    #[arg(long, env = "MIGRATION_GUARD_NO_ANALYZE")]
    pub no_analyze: bool,
    /// statement_timeout for files that set none.
    #[arg(long, env = "MIGRATION_GUARD_STATEMENT_TIMEOUT", default_value = "10min", value_parser = setting)]
    pub statement_timeout: String,
    /// Seconds to wait for another deploy to the same database to finish.
    #[arg(long, env = "MIGRATION_GUARD_LOCK_WAIT", default_value_t = 600)]
    pub lock_wait: u64,
    /// How many times to run a file again after it hit lock_timeout (it rolled back whole).
    #[arg(long, env = "MIGRATION_GUARD_RETRIES", default_value_t = 3)]
    pub retries: u32,
    /// Skip the schema backup (pg_dump --schema-only) taken before production.
    #[arg(long, env = "MIGRATION_GUARD_NO_BACKUP")]
    pub no_backup: bool,
    /// After the deploy, compare the target with a shadow built from its migrations
    /// (`drift`; needs --db-url): a difference fails the deploy.
    #[arg(long, env = "MIGRATION_GUARD_DRIFT")]
    pub drift: bool,
    #[command(flatten)]
    pub shadow: ProviderArgs,
    /// Seconds to watch the target after the deploy: the project's health (with
    /// --project-ref and an access token) and the verify checks again [default: 120 for
    /// production, 0 for staging].
    #[arg(long, env = "MIGRATION_GUARD_WATCH")]
    pub watch: Option<u64>,
    /// Seconds between two looks while watching.
    #[arg(long, env = "MIGRATION_GUARD_WATCH_EVERY", default_value_t = 10)]
    pub watch_every: u64,
    /// Also write report.json and report.md into this directory, and the backup before
    /// production [default for the backup: migration-guard-backups/].
    #[arg(long, env = "MIGRATION_GUARD_REPORT_DIR")]
    pub report_dir: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ViaChoice {
    /// The Supabase CLI: `supabase link` and `supabase db push`.
    Cli,
    /// This tool's apply engine over --db-url.
    Direct,
}

/// A Postgres duration such as `5s`, `500ms` or `10min` (0 turns the timeout off).
fn setting(value: &str) -> Result<String, String> {
    let valid = !value.is_empty()
        && value.starts_with(|c: char| c.is_ascii_digit())
        && value.chars().all(|c| c.is_ascii_alphanumeric());
    if valid {
        Ok(value.to_string())
    } else {
        Err("expected a duration such as 5s, 500ms or 10min".to_string())
    }
}

#[derive(Debug, Args)]
pub struct BaselineArgs {
    /// The last version that is deployed history; default: the newest migration.
    pub version: Option<String>,
}

#[derive(Debug, Args)]
pub struct NewArgs {
    /// The migration's name: letters, digits and underscores, e.g. add_user_email.
    pub name: String,
    /// Draft the revert of this version instead of the template: what the shadow saw it
    /// add, dropped in reverse order.
    #[arg(long, value_name = "VERSION")]
    pub revert: Option<String>,
    #[command(flatten)]
    pub shadow: ProviderArgs,
}

/// The lowest severity that fails the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FailOn {
    Error,
    Warning,
}

impl From<FailOn> for crate::findings::Severity {
    fn from(fail_on: FailOn) -> Self {
        match fail_on {
            FailOn::Error => crate::findings::Severity::Error,
            FailOn::Warning => crate::findings::Severity::Warning,
        }
    }
}

/// The checks of the files themselves, shared by `lint` and `shadow`.
#[derive(Debug, Args)]
pub struct FileChecks {
    /// Fail (exit 1) on findings of this severity or worse.
    #[arg(long, env = "MIGRATION_GUARD_FAIL_ON", value_enum, default_value_t = FailOn::Error)]
    pub fail_on: FailOn,
    /// Compare with this branch through git (e.g. main, or origin/main): migrations it
    /// has that were edited or deleted here, new ones older than its newest.
    #[arg(long, env = "MIGRATION_GUARD_BASE_REF")]
    pub base_ref: Option<String>,
    /// A deploy target to look at, read only (e.g. staging): the report says what a
    /// deploy there would apply, and what it would refuse.
    #[arg(long, env = "MIGRATION_GUARD_PREVIEW_DB_URL", hide_env_values = true)]
    pub preview_db_url: Option<String>,
}

#[derive(Debug, Args)]
pub struct LintArgs {
    #[command(flatten)]
    pub checks: FileChecks,
}

/// Where the throwaway Postgres comes from: shared by `shadow` and `drift`.
#[derive(Debug, Args)]
pub struct ProviderArgs {
    /// Where the throwaway Postgres comes from.
    #[arg(long, env = "MIGRATION_GUARD_PROVIDER", value_enum, default_value_t = ProviderChoice::Auto)]
    pub provider: ProviderChoice,
    /// An existing server to create the shadow databases on (provider url).
    #[arg(long, env = "MIGRATION_GUARD_DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
    /// Shadow image for provider docker [default: for a Supabase project (a
    /// supabase/config.toml), supabase/postgres of the linked version
    /// (supabase/.temp/postgres-version) or of [db] major_version; else postgres:15].
    #[arg(long, env = "MIGRATION_GUARD_IMAGE")]
    pub image: Option<String>,
    /// How to reach the shadow container: a published port on a host, the container's
    /// network from inside a container (a sibling, as in a GitHub container action).
    #[arg(long, env = "MIGRATION_GUARD_DOCKER_REACH", value_enum, default_value_t = Reach::Auto)]
    pub docker_reach: Reach,
    /// Seconds to wait for the shadow container to accept connections.
    #[arg(long, env = "MIGRATION_GUARD_READY_TIMEOUT", default_value_t = 60)]
    pub ready_timeout: u64,
    /// Directory of the Postgres server binaries (initdb, pg_ctl) for provider local.
    #[arg(long, env = "MIGRATION_GUARD_PG_BIN")]
    pub pg_bin: Option<PathBuf>,
    /// Plain Postgres: no Supabase roles, schemas or non-superuser migration role.
    #[arg(long, env = "MIGRATION_GUARD_NO_SUPABASE_COMPAT")]
    pub no_supabase_compat: bool,
    /// No stand-ins for the extensions vanilla Postgres lacks (pg_cron, pg_net, http,
    /// pgjwt, pg_graphql, Vault): a migration that needs one is `extension-unavailable`.
    #[arg(long, env = "MIGRATION_GUARD_NO_EXTENSION_STUBS")]
    pub no_extension_stubs: bool,
}

#[derive(Debug, Args)]
pub struct ShadowArgs {
    #[command(flatten)]
    pub checks: FileChecks,
    #[command(flatten)]
    pub shadow: ProviderArgs,
    /// Verification SQL directory [default: verify/ beside the migrations directory].
    #[arg(long, env = "MIGRATION_GUARD_VERIFY_DIR")]
    pub verify_dir: Option<PathBuf>,
    /// Fill every table that exists before the migrations under review (those --base-ref
    /// or the baseline leave) with N synthetic rows first, so that lock hold times are
    /// measured on data.
    #[arg(long, env = "MIGRATION_GUARD_SEED_ROWS", value_name = "N", value_parser = clap::value_parser!(u64).range(1..=100_000_000))]
    pub seed_rows: Option<u64>,
    /// Only apply: no catalog snapshot after each migration (dropped-column, rls-disabled,
    /// …) and no second run of each (not-idempotent).
    #[arg(long, env = "MIGRATION_GUARD_NO_CATALOG_CHECKS")]
    pub no_catalog_checks: bool,
    /// Also write report.json and report.md into this directory.
    #[arg(long, env = "MIGRATION_GUARD_REPORT_DIR")]
    pub report_dir: Option<PathBuf>,
}
