//! The command line: clap definitions. Every flag has an environment twin
//! (`MIGRATION_GUARD_<FLAG>`) so the action and CI scripts can set it.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

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
    /// The migrations directory.
    #[arg(
        long,
        global = true,
        env = "MIGRATION_GUARD_DIR",
        default_value = "supabase/migrations"
    )]
    pub dir: PathBuf,
    /// Output format.
    #[arg(
        long,
        global = true,
        env = "MIGRATION_GUARD_FORMAT",
        value_enum,
        default_value_t = Format::Text
    )]
    pub format: Format,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// For people: colour on a terminal, plain otherwise.
    Text,
    /// The stable JSON report (schema_version 1).
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// List the local migrations, skipped files and version collisions.
    Status,
    /// Create supabase/migrations/<YYYYMMDDHHMMSS>_NAME.sql from a safe template.
    New(NewArgs),
}

#[derive(Debug, Args)]
pub struct NewArgs {
    /// The migration's name: letters, digits and underscores, e.g. add_user_email.
    pub name: String,
}
