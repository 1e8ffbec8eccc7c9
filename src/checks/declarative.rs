//! Declarative schemas: a project that keeps its desired schema in `supabase/schemas`
//! (or the globs of `[db.migrations] schema_paths`) generates its migrations from them
//! with `supabase db diff`. The two drift apart when a schema file is edited without
//! generating the migration, or a migration is written by hand without the schema file:
//! the next generated diff then drops or rewrites what the other side has.
//!
//! The schema files run, in the CLI's order and each in one transaction, into a second
//! database cloned from the same template as the migrations' shadow; the two catalogs
//! are compared, and every difference is `declarative-drift`, at the schema file's line
//! that declares the object (or, for what only the migrations make, the migration's).

use std::path::PathBuf;

use crate::catalog::{self, Catalog, Change, ChangeKind, Scope};
use crate::db::{Database, PgError};
use crate::engine::{self, ApplyError, Reroute};
use crate::findings::registry;
use crate::findings::span::Span;
use crate::findings::{Finding, Location};
use crate::migration::MigrationFile;
use crate::report::Report;

#[derive(Debug, thiserror::Error)]
pub enum DeclarativeError {
    #[error(transparent)]
    Apply(#[from] ApplyError),
    #[error("cannot read the catalog the schema files built: {0}")]
    Snapshot(#[source] PgError),
}

/// Runs the schema `files` into `db` (a fresh clone of the template) and compares what
/// they build with `built`, what the migrations built.
pub async fn compare(
    db: &Database,
    files: &[PathBuf],
    reroute: Option<&dyn Reroute>,
    migrations: &[MigrationFile],
    built: &Catalog,
    report: &mut Report,
) -> Result<(), DeclarativeError> {
    let mut declared_files = Vec::new();
    for path in files {
        let file = match MigrationFile::script(path) {
            Ok(file) => file,
            Err(error) => {
                report.findings.push(drift(
                    start_of(path),
                    format!("the schema file cannot be read: {error}"),
                ));
                return Ok(());
            }
        };
        report.add_source(&file.path, file.source.clone());
        tracing::info!("running the schema file {}", file.path.display());
        if let Some(error) = engine::run_script(db, &file, reroute).await? {
            let code = error
                .sqlstate
                .as_deref()
                .map_or(String::new(), |code| format!(" [{code}]"));
            report.findings.push(drift(
                error.location.clone().unwrap_or_else(|| start_of(path)),
                format!(
                    "the schema file fails to apply: {}{code}; `supabase db diff` stops here, so nothing was compared",
                    error.message
                ),
            ));
            return Ok(());
        }
        declared_files.push(file);
    }
    let declared = catalog::snapshot(db, &Scope::user())
        .await
        .map_err(DeclarativeError::Snapshot)?;
    for change in catalog::diff(built, &declared) {
        report
            .findings
            .push(finding(&change, &declared_files, migrations));
    }
    if !declared_files.is_empty() {
        report.notes.push(format!(
            "Compared the schema the migrations build with the {} declarative schema file(s).",
            declared_files.len()
        ));
    }
    Ok(())
}

/// The finding for one difference: `Added` is declared only, `Removed` migrated only.
fn finding(change: &Change, declared: &[MigrationFile], migrations: &[MigrationFile]) -> Finding {
    let what = format!("{} {}", change.kind, change.object);
    let (message, at) = match change.change {
        ChangeKind::Added => (
            format!(
                "{what} is declared in the schema files but no migration makes it: a schema file was edited without generating its migration (`supabase db diff -f <name>`)"
            ),
            locate(&change.object, declared.iter()),
        ),
        ChangeKind::Removed => (
            format!(
                "{what} is made by the migrations but the schema files do not declare it: the next `supabase db diff` generates a migration that drops it"
            ),
            locate(&change.object, migrations.iter().rev()),
        ),
        ChangeKind::Changed => (
            format!(
                "{what} differs between the migrations and the schema files ({}): the next `supabase db diff` generates a migration that changes it",
                change.detail
            ),
            locate(&change.object, declared.iter()),
        ),
    };
    let at = at.or_else(|| {
        declared
            .first()
            .or(migrations.last())
            .map(|file| start_of(&file.path))
    });
    Finding {
        rule: registry::DECLARATIVE_DRIFT.id,
        severity: registry::DECLARATIVE_DRIFT.severity,
        location: at,
        message,
        help: Some(
            "keep the two together: generate the migration from the schema files (`supabase db diff -f <name>`) and commit both, or, for a migration written by hand, make the same change in the schema files".to_string(),
        ),
    }
}

/// The first statement of `files` that names `object`: its last part (a column, a
/// policy, a function without its arguments) and the relation it belongs to.
fn locate<'f>(object: &str, files: impl Iterator<Item = &'f MigrationFile>) -> Option<Location> {
    let name = object.split('(').next().unwrap_or(object).to_lowercase();
    let parts: Vec<&str> = name.split('.').collect();
    let wanted: Vec<&str> = match parts.as_slice() {
        [_, relation, rest @ ..] if !rest.is_empty() => vec![relation, parts[parts.len() - 1]],
        [.., last] => vec![last],
        [] => return None,
    };
    let mut files = files;
    files.find_map(|file| {
        file.code_statements().find_map(|(text, at)| {
            let text = text.to_lowercase().replace('"', "");
            wanted.iter().all(|part| text.contains(part)).then_some(at)
        })
    })
}

fn start_of(path: &std::path::Path) -> Location {
    Location {
        file: path.to_path_buf(),
        span: Span::new(0, 0),
    }
}

fn drift(at: Location, message: String) -> Finding {
    Finding {
        rule: registry::DECLARATIVE_DRIFT.id,
        severity: registry::DECLARATIVE_DRIFT.severity,
        location: Some(at),
        message,
        help: Some(
            "fix the schema file so that it applies in order on a fresh database, as `supabase db diff` applies it".to_string(),
        ),
    }
}
