//! Declarative schemas: a project that keeps its desired schema in `supabase/schemas`
//! (or the globs of `[db.migrations] schema_paths`) generates its migrations from them
//! with `supabase db diff`. The two drift apart when a schema file is edited without
//! generating the migration, or a migration is written by hand without the schema file:
//! the next generated diff then drops or rewrites what the other side has.
//!
//! The schema files run, each in one transaction, into a second database cloned from
//! the same template as the migrations' shadow, as the CLI builds them: in order for
//! `supabase db diff`, whole files in any order that works for pg-delta. The two
//! catalogs are compared, and every difference is `declarative-drift`, at the schema
//! file's line that declares the object (or, for what only the migrations make, the
//! migration's). pg-delta's `_custom/` files load too, and each must name the migration
//! that delivers it (`-- pgdelta-migration: <path>`, or `none`).

use std::path::PathBuf;

use crate::catalog::{self, Catalog, Change, ChangeKind, Scope};
use crate::db::{Database, PgError};
use crate::engine::{self, ApplyError, Reroute};
use crate::findings::registry;
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

/// How the CLI builds the schema files.
#[derive(Debug, Clone, Copy)]
pub enum Build<'f> {
    /// In this order, each file once (`supabase db diff`).
    InOrder(&'f [PathBuf]),
    /// Whole files in any order that works (pg-delta): each round runs the files still
    /// left, until a round applies none.
    Retrying(&'f [PathBuf]),
}

/// Runs the schema files into `db` (a fresh clone of the template) as `build` says and
/// compares what they build with `built`, what the migrations built.
pub async fn compare(
    db: &Database,
    build: Build<'_>,
    reroute: Option<&dyn Reroute>,
    migrations: &[MigrationFile],
    built: &Catalog,
    report: &mut Report,
) -> Result<(), DeclarativeError> {
    let (paths, retrying) = match build {
        Build::InOrder(paths) => (paths, false),
        Build::Retrying(paths) => (paths, true),
    };
    let mut declared_files = Vec::new();
    for path in paths {
        match MigrationFile::script(path) {
            Ok(file) => {
                report.add_source(&file.path, file.source.clone());
                declared_files.push(file);
            }
            Err(error) => {
                report.findings.push(drift(
                    Location::start_of(path),
                    format!("the schema file cannot be read: {error}"),
                ));
                return Ok(());
            }
        }
    }
    let mut left: Vec<&MigrationFile> = declared_files.iter().collect();
    let failures = loop {
        let tried = left.len();
        let mut failed = Vec::new();
        for file in std::mem::take(&mut left) {
            tracing::info!("running the schema file {}", file.path.display());
            if let Some(error) = engine::run_script(db, file, reroute).await? {
                failed.push((file, error));
                // `supabase db diff` stops at the first failure.
                if !retrying {
                    break;
                }
            }
        }
        // Retrying: again while a round applied something.
        if failed.is_empty() || !retrying || failed.len() == tried {
            break failed;
        }
        left = failed.into_iter().map(|(file, _)| file).collect();
    };
    if !failures.is_empty() {
        for (file, error) in failures {
            let code = error
                .sqlstate
                .as_deref()
                .map_or(String::new(), |code| format!(" [{code}]"));
            let stops = if retrying {
                "whatever order the other files run in"
            } else {
                "and `supabase db diff` stops there"
            };
            report.findings.push(drift(
                error
                    .location
                    .clone()
                    .unwrap_or_else(|| Location::start_of(&file.path)),
                format!(
                    "the schema file fails to apply, {stops}: {}{code}; nothing was compared",
                    error.message
                ),
            ));
        }
        return Ok(());
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
            .map(|file| Location::start_of(&file.path))
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

/// pg-delta's contract for its `_custom/` files: each names, at its head, the migration
/// that delivers it to the databases (`-- pgdelta-migration: <path>`, relative to the
/// file; `none` for one that deliberately has no twin), since the files themselves only
/// load into the shadow; and none holds what pg-delta models (tables, views, functions,
/// policies…), which the next export would write a second time.
pub fn custom_contract(custom: &[PathBuf]) -> Vec<Finding> {
    let mut findings = Vec::new();
    for path in custom {
        let Ok(file) = MigrationFile::script(path) else {
            continue;
        };
        let named: Vec<&str> = file
            .source
            .lines()
            .take_while(|line| line.trim().is_empty() || line.trim_start().starts_with("--"))
            .filter_map(|line| line.trim().strip_prefix("-- pgdelta-migration:"))
            .map(str::trim)
            .collect();
        let warn = |at: Location, message: String, help: &str| Finding {
            severity: crate::findings::Severity::Warning,
            help: Some(help.to_string()),
            ..drift(at, message)
        };
        let none = named.contains(&"none");
        if named.is_empty() {
            findings.push(warn(
                Location::start_of(path),
                "this _custom/ file names no migration that delivers it: pg-delta only loads it into its shadow, so without a migration the databases never get it".to_string(),
                "deliver the same SQL in a migration and record it at the head of the file: `-- pgdelta-migration: ../../migrations/<file>.sql` (or `-- pgdelta-migration: none`)",
            ));
        } else if none && named.len() > 1 {
            findings.push(warn(
                Location::start_of(path),
                "this _custom/ file says both `none` and a migration in its `-- pgdelta-migration:` lines".to_string(),
                "keep the migrations that deliver it, or `none` alone",
            ));
        }
        let folder = path.parent().unwrap_or(std::path::Path::new("."));
        for reference in named.iter().filter(|name| **name != "none") {
            if !folder.join(reference).is_file() {
                findings.push(warn(
                    Location::start_of(path),
                    format!(
                        "`-- pgdelta-migration: {reference}` names no migration file (the path is relative to this file)"
                    ),
                    "point it at the migration that delivers this file, from this file's folder",
                ));
            }
        }
        const MODELED: [&str; 7] = [
            "TABLE", "VIEW", "FUNCTION", "POLICY", "TRIGGER", "INDEX", "TYPE",
        ];
        for (text, at) in file.code_statements() {
            let words = crate::sql::classify::leading_words(text, 4);
            let creates = words.first().is_some_and(|word| word == "CREATE")
                && words.iter().any(|word| MODELED.contains(&word.as_str()));
            if creates {
                findings.push(warn(
                    at,
                    "pg-delta models this object: kept in _custom/, the next export writes it a second time".to_string(),
                    "move it to the managed files of the declarative schema",
                ));
            }
        }
    }
    findings
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
