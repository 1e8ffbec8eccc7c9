//! The project's seed files, run after the migrations as `supabase db reset` and every
//! preview branch of Supabase Branching run them (`[db.seed]` in `config.toml`; by
//! default `supabase/seed.sql`). A seed that fails there fails the reset and the branch
//! (`MIGRATIONS_FAILED`), so it is an error here, at its file and line. The seed's rows
//! stay for what runs after (verify scripts, pgTAP tests), as after a reset.
//!
//! Each file runs in one transaction on the migrations' connection, statement by
//! statement; after the first failure the later files are not run.

use std::path::PathBuf;

use crate::db::Database;
use crate::engine::{self, ApplyError, Reroute};
use crate::findings::registry;
use crate::findings::{Finding, Location};
use crate::migration::MigrationFile;
use crate::report::Report;

#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    #[error(transparent)]
    Apply(#[from] ApplyError),
}

/// Runs `files` in order into the shadow; a failure (or an unreadable file) is a
/// `seed-failed` finding, and the files after it are not run.
pub async fn run(
    db: &Database,
    files: &[PathBuf],
    reroute: Option<&dyn Reroute>,
    report: &mut Report,
) -> Result<(), SeedError> {
    for (position, path) in files.iter().enumerate() {
        let seed = match MigrationFile::script(path) {
            Ok(seed) => seed,
            Err(error) => {
                report.findings.push(failed(
                    Location::start_of(path),
                    format!("the seed file cannot be read: {error}"),
                    None,
                ));
                return Ok(());
            }
        };
        report.add_source(&seed.path, seed.source.clone());
        tracing::info!("running the seed file {}", seed.path.display());
        if let Some(error) = engine::run_script(db, &seed, reroute).await? {
            let at = error
                .location
                .clone()
                .unwrap_or(Location::start_of(&seed.path));
            let code = error
                .sqlstate
                .as_deref()
                .map_or(String::new(), |code| format!(" [{code}]"));
            let detail = error
                .detail
                .as_deref()
                .map_or(String::new(), |detail| format!(" ({detail})"));
            report.findings.push(failed(
                at,
                format!(
                    "the seed fails after the migrations: {}{code}{detail}; `supabase db reset` and every preview branch stop here",
                    error.message
                ),
                error.hint.clone(),
            ));
            let left = files.len() - position - 1;
            if left > 0 {
                report.notes.push(format!(
                    "{left} seed file(s) after {} were not run",
                    seed.file_name
                ));
            }
            return Ok(());
        }
    }
    if !files.is_empty() {
        report.notes.push(format!(
            "Ran {} seed file(s) after the migrations, as `supabase db reset` and preview branches do.",
            files.len()
        ));
    }
    Ok(())
}

fn failed(at: Location, message: String, help: Option<String>) -> Finding {
    Finding {
        rule: registry::SEED_FAILED.id,
        severity: registry::SEED_FAILED.severity,
        location: Some(at),
        message,
        help: Some(help.unwrap_or_else(|| {
            "fix the seed so it runs on the schema the migrations build (run `migration-guard shadow` to try it), or leave the file out of [db.seed] sql_paths".to_string()
        })),
    }
}
