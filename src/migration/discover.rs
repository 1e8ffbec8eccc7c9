//! Finds migration files exactly as the Supabase CLI does, and reads them safely.
//!
//! A migration is a file named `^([0-9]+)_(.*)\.sql$` directly in the migrations
//! directory; the digits are its version, compared as a string. Other files are skipped
//! with the CLI's warning, sub-directories are ignored. Files are ordered by version (as
//! the CLI's newer releases do, so that `20260420_a.sql` and `20260420010000_b.sql`
//! keep one order everywhere).

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock};

use regex::Regex;

use crate::findings::Location;
use crate::sql::split::{Split, split};

use crate::findings::span::Span;

static MIGRATION_FILE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^([0-9]+)_(.*)\.sql$").expect("valid regex"));
static LEGACY_INIT: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^([0-9]{14})_init\.sql$").expect("valid regex"));
static TIME_OF_DAY_PREFIX: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^([0-9]{6})_(.+)$").expect("valid regex"));

/// One migration file, read and split.
#[derive(Debug, Clone)]
pub struct MigrationFile {
    /// The migrations directory joined with the file name.
    pub path: PathBuf,
    pub file_name: String,
    pub version: String,
    pub name: String,
    pub source: Arc<str>,
    pub split: Split,
}

impl MigrationFile {
    /// A SQL file that is not a migration (a seed): read and split, with no version.
    pub fn script(path: &Path) -> Result<MigrationFile, FileError> {
        let source = read_source(path)?;
        let file_name = path
            .file_name()
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_default();
        Ok(MigrationFile {
            split: split(&source),
            source: source.into(),
            path: path.to_path_buf(),
            name: file_name.trim_end_matches(".sql").to_string(),
            file_name,
            version: String::new(),
        })
    }

    /// Each statement that holds code: its text, and the place its code starts.
    pub fn code_statements(&self) -> impl Iterator<Item = (&str, Location)> + '_ {
        self.split
            .statements
            .iter()
            .filter(|statement| !statement.comment_only)
            .map(|statement| {
                let start = statement.code_start(&self.source);
                let at = Location {
                    file: self.path.clone(),
                    span: Span::new(start, start),
                };
                (statement.text(&self.source), at)
            })
    }

    /// The rename that gives a `YYYYMMDD_HHMMSS_name.sql` file a version of its own.
    pub fn day_version_rename(&self) -> Option<String> {
        if self.version.len() != 8 {
            return None;
        }
        let parts = TIME_OF_DAY_PREFIX.captures(&self.name)?;
        Some(format!("{}{}_{}.sql", self.version, &parts[1], &parts[2]))
    }
}

/// Why a file in the migrations directory is not a migration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SkipReason {
    /// The name does not match `<timestamp>_name.sql`.
    Pattern,
    /// An `_init.sql` file older than 2021-12-09, which the CLI never applies.
    LegacyInit,
}

impl SkipReason {
    /// The CLI's own explanation, so users recognise it.
    pub fn explain(self) -> &'static str {
        match self {
            SkipReason::Pattern => r#"file name must match pattern "<timestamp>_name.sql""#,
            SkipReason::LegacyInit => {
                r#"replace "init" with a different file name to apply this migration"#
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    pub path: PathBuf,
    pub reason: SkipReason,
}

/// Two or more files with one version: the CLI would apply the first and fail on the
/// second's history row forever.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Collision {
    pub version: String,
    /// Indexes into [`Discovery::migrations`], in order.
    pub files: Vec<usize>,
}

/// The migrations of a directory, in the order they apply.
#[derive(Debug, Clone)]
pub struct Discovery {
    pub dir: PathBuf,
    pub migrations: Vec<MigrationFile>,
    pub skipped: Vec<Skipped>,
    pub collisions: Vec<Collision>,
}

/// A file that cannot be used as a migration at all.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error("{path}: cannot read it: {source}")]
    Unreadable { path: PathBuf, source: io::Error },
    #[error("{path}: looks like a binary file (a NUL byte at byte {offset}); {hint}")]
    Binary {
        path: PathBuf,
        offset: usize,
        hint: &'static str,
    },
    #[error(
        "{path}:{line}: is not valid UTF-8 (first bad byte at byte {offset}); re-save the file as UTF-8"
    )]
    NotUtf8 {
        path: PathBuf,
        line: usize,
        offset: usize,
    },
}

/// Why a directory yields no usable migrations.
#[derive(Debug, thiserror::Error)]
pub enum DiscoverError {
    #[error(
        "migrations directory {0} does not exist; pass --dir to point at your supabase/migrations folder"
    )]
    Missing(PathBuf),
    #[error("{0} is not a directory; --dir takes the folder that holds the migration files")]
    NotADirectory(PathBuf),
    #[error("cannot list migrations directory {path}: {source}")]
    Unlistable { path: PathBuf, source: io::Error },
    #[error(
        "no migration files in {dir}{}; a migration is named <timestamp>_name.sql (create one with `migration-guard new NAME`)",
        if *skipped > 0 { format!(" ({skipped} other file(s) skipped)") } else { String::new() }
    )]
    Empty { dir: PathBuf, skipped: usize },
    #[error("{} migration file(s) cannot be read:\n{}", .0.len(), list(.0))]
    Files(Vec<FileError>),
}

fn list(errors: &[FileError]) -> String {
    errors
        .iter()
        .map(|error| format!("  {error}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Splits a migration file name into its version and name, as the CLI does.
pub fn parse_file_name(file_name: &str) -> Option<(String, String)> {
    let parts = MIGRATION_FILE.captures(file_name)?;
    Some((parts[1].to_string(), parts[2].to_string()))
}

/// The names of the files (not directories) in `dir`, sorted.
pub fn file_names(dir: &Path) -> Result<Vec<String>, DiscoverError> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(error) if error.kind() == io::ErrorKind::NotFound => {
            return Err(DiscoverError::Missing(dir.to_path_buf()));
        }
        Err(_) if dir.is_file() => return Err(DiscoverError::NotADirectory(dir.to_path_buf())),
        Err(source) => {
            return Err(DiscoverError::Unlistable {
                path: dir.to_path_buf(),
                source,
            });
        }
    };
    let mut names = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|source| DiscoverError::Unlistable {
            path: dir.to_path_buf(),
            source,
        })?;
        // Follow symlinks: a linked file is a file, a linked directory is ignored.
        if fs::metadata(entry.path()).is_ok_and(|meta| meta.is_dir()) {
            continue;
        }
        names.push(entry.file_name().to_string_lossy().into_owned());
    }
    names.sort();
    Ok(names)
}

/// Reads every migration in `dir`.
pub fn discover(dir: &Path) -> Result<Discovery, DiscoverError> {
    let names = file_names(dir)?;
    let mut skipped = Vec::new();
    let mut migrations = Vec::new();
    let mut errors = Vec::new();
    for (position, file_name) in names.into_iter().enumerate() {
        let path = dir.join(&file_name);
        if position == 0 && is_legacy_init(&file_name) {
            skip_warning(&path, SkipReason::LegacyInit);
            skipped.push(Skipped {
                path,
                reason: SkipReason::LegacyInit,
            });
            continue;
        }
        let Some((version, name)) = parse_file_name(&file_name) else {
            skip_warning(&path, SkipReason::Pattern);
            skipped.push(Skipped {
                path,
                reason: SkipReason::Pattern,
            });
            continue;
        };
        match read_source(&path) {
            Ok(source) => migrations.push(MigrationFile {
                split: split(&source),
                source: source.into(),
                path,
                file_name,
                version,
                name,
            }),
            Err(error) => errors.push(error),
        }
    }
    if !errors.is_empty() {
        return Err(DiscoverError::Files(errors));
    }
    if migrations.is_empty() {
        return Err(DiscoverError::Empty {
            dir: dir.to_path_buf(),
            skipped: skipped.len(),
        });
    }
    // Stable: files sharing a version keep their file-name order.
    migrations.sort_by(|a, b| a.version.cmp(&b.version));
    let collisions = collisions(&migrations);
    Ok(Discovery {
        dir: dir.to_path_buf(),
        migrations,
        skipped,
        collisions,
    })
}

fn skip_warning(path: &Path, reason: SkipReason) {
    tracing::warn!(
        "Skipping migration {}... ({})",
        path.display(),
        reason.explain()
    );
}

fn is_legacy_init(file_name: &str) -> bool {
    LEGACY_INIT
        .captures(file_name)
        .is_some_and(|parts| &parts[1] < "20211209000000")
}

fn collisions(migrations: &[MigrationFile]) -> Vec<Collision> {
    let mut by_version: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (index, migration) in migrations.iter().enumerate() {
        by_version
            .entry(&migration.version)
            .or_default()
            .push(index);
    }
    by_version
        .into_iter()
        .filter(|(_, files)| files.len() > 1)
        .map(|(version, files)| Collision {
            version: version.to_string(),
            files,
        })
        .collect()
}

pub fn read_source(path: &Path) -> Result<String, FileError> {
    let bytes = fs::read(path).map_err(|source| FileError::Unreadable {
        path: path.to_path_buf(),
        source,
    })?;
    if let Some(offset) = bytes.iter().position(|&b| b == 0) {
        let utf16 = bytes.starts_with(&[0xff, 0xfe]) || bytes.starts_with(&[0xfe, 0xff]);
        return Err(FileError::Binary {
            path: path.to_path_buf(),
            offset,
            hint: if utf16 {
                "it is saved as UTF-16: re-save it as UTF-8"
            } else {
                "a migration must be a UTF-8 text file"
            },
        });
    }
    String::from_utf8(bytes).map_err(|error| {
        let offset = error.utf8_error().valid_up_to();
        let line = 1 + error.as_bytes()[..offset]
            .iter()
            .filter(|&&b| b == b'\n')
            .count();
        FileError::NotUtf8 {
            path: path.to_path_buf(),
            line,
            offset,
        }
    })
}
