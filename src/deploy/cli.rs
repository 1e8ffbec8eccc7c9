//! A deploy target reached through the Supabase CLI, the way the dashboard's own docs
//! deploy: `supabase link --project-ref REF`, then `supabase db push --dry-run` to learn
//! and show what is pending, then `supabase db push`. What the CLI prints is read back
//! into the same report entries as a direct deploy: applied, failed at a file and
//! statement, skipped, or refused.

use std::path::{Path, PathBuf};

use super::plan;
use crate::findings::span::Span;
use crate::findings::{Finding, Location};
use crate::migration::compare::first_difference;
use crate::migration::{Discovery, MigrationFile};
use crate::report::model::MigrationError;
use crate::report::{MigrationEntry, MigrationStatus};
use crate::supabase::cli::{
    CliError, PushFailure, PushOptions, PushOutput, Refusal, SupabaseCli, Target,
};

/// The project, its credentials (from the environment, never the command line) and
/// the folder that holds `supabase/`.
#[derive(Debug, Clone)]
pub struct CliTarget {
    pub project_ref: String,
    pub access_token: Option<String>,
    pub db_password: Option<String>,
}

impl CliTarget {
    /// The CLI for `discovery`, linked to the project: it reads `supabase/migrations`
    /// under the folder it runs in, so the migrations must be there.
    pub async fn link(&self, discovery: &Discovery) -> Result<SupabaseCli, CliError> {
        let mut cli = SupabaseCli::new(project_folder(&discovery.dir)?);
        if let Some(token) = &self.access_token {
            cli = cli.access_token(token.clone());
        }
        if let Some(password) = &self.db_password {
            cli = cli.db_password(password.clone());
        }
        cli.link(&self.project_ref).await?;
        Ok(cli)
    }
}

/// The folder holding `supabase/migrations` for a migrations directory.
fn project_folder(dir: &Path) -> Result<PathBuf, CliError> {
    let absolute = std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf());
    let folder = absolute
        .parent()
        .filter(|supabase| {
            absolute
                .file_name()
                .is_some_and(|name| name == "migrations")
                && supabase.file_name().is_some_and(|name| name == "supabase")
        })
        .and_then(Path::parent);
    folder.map(Path::to_path_buf).ok_or(CliError::NoWorkdir {
        workdir: absolute.join("..").join(".."),
    })
}

/// `db push` with or without `--dry-run`.
pub async fn push(
    cli: &SupabaseCli,
    dry_run: bool,
    include_all: bool,
) -> Result<PushOutput, CliError> {
    let options = PushOptions {
        target: Target::Linked,
        dry_run,
        include_all,
    };
    Ok(cli.push(&options).await?.output)
}

/// The findings for a push the CLI refused before applying anything: the same as a
/// direct deploy's.
pub fn refusal_findings(refusal: &Refusal, discovery: &Discovery) -> Vec<Finding> {
    match refusal {
        Refusal::OutOfOrder { files } => files
            .iter()
            .map(|file| {
                plan::out_of_order(
                    find(discovery, file),
                    format!(
                        "{file} is not applied on the target and sorts before its newest version"
                    ),
                )
            })
            .collect(),
        Refusal::RemoteOnly { versions } => {
            let bare: Vec<&str> = versions.iter().map(String::as_str).collect();
            vec![plan::remote_only(versions, &bare)]
        }
    }
}

/// The local migration the CLI names, by file name or by path (`supabase/migrations/…`).
pub fn find<'d>(discovery: &'d Discovery, named: &str) -> Option<&'d MigrationFile> {
    let file_name = named.rsplit('/').next().unwrap_or(named);
    discovery
        .migrations
        .iter()
        .find(|migration| migration.file_name == file_name)
}

/// The entries for `pending` after a push that applied `applied` and, if it failed,
/// failed with `failure`: the rest skipped.
pub fn entries(
    pending: &[&MigrationFile],
    applied: &[String],
    failure: Option<&PushFailure>,
) -> Vec<MigrationEntry> {
    let failed_file = failure.and_then(|failure| failure.file.as_deref());
    let mut stopped = false;
    pending
        .iter()
        .map(|migration| {
            if applied.contains(&migration.file_name) {
                return MigrationEntry::new(migration, MigrationStatus::Applied);
            }
            if stopped {
                return MigrationEntry::new(migration, MigrationStatus::Skipped);
            }
            stopped = true;
            let mut entry = MigrationEntry::new(migration, MigrationStatus::Failed);
            if let Some(failure) =
                failure.filter(|_| failed_file.is_none_or(|file| file == migration.file_name))
            {
                entry.error = Some(error_of(migration, failure));
            }
            entry
        })
        .collect()
}

/// The CLI's failure as a migration error, located at the statement it names. Its
/// `At statement: N` counts the driver's results, which can be one off (a failing
/// statement that returns rows, a comment-only statement before it), so the statement
/// text decides among N and its neighbours.
fn error_of(migration: &MigrationFile, failure: &PushFailure) -> MigrationError {
    let texts = migration.split.texts(&migration.source);
    let index = failure.statement_index.and_then(|reported| {
        let candidates = [Some(reported), reported.checked_sub(1), Some(reported + 1)];
        let by_text = failure.statement.as_deref().and_then(|statement| {
            candidates.into_iter().flatten().find(|&i| {
                texts
                    .get(i)
                    .is_some_and(|text| first_difference(&[statement], &[text]).is_none())
            })
        });
        by_text.or(Some(reported).filter(|&i| i < texts.len()))
    });
    let statement = index.map(|index| migration.split.statements[index].text);
    MigrationError {
        message: failure.message.clone(),
        sqlstate: failure.sqlstate.clone(),
        location: statement.map(|span| Location {
            file: migration.path.clone(),
            span: Span::new(span.start, span.start),
        }),
        statement,
        statement_index: index,
        detail: (!failure.detail.is_empty()).then(|| failure.detail.join("\n")),
        hint: None,
        context: None,
        stayed: Vec::new(),
    }
}
