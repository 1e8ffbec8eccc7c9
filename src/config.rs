//! `migration-guard.yml`: rule severities, ignored paths, the migrations directory.
//!
//! ```yaml
//! migrations_dir: supabase/migrations
//! rules:
//!   require-upsert: off
//!   no-truncate: warning
//! ignore:
//!   - supabase/migrations/0001_baseline.sql
//! # Migrations up to this version are deployed history: their findings do not count.
//! baseline: "20240101000000"
//! # The Supabase CLI that deploys, when it is not the one the action pins.
//! supabase_cli_version: "2.116.0"
//! ```
//!
//! Unknown keys and unknown rule ids are errors that name them and list the valid ones.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

pub use crate::report::model::LockBudgets;

use crate::findings::Severity;
use crate::findings::registry;

pub const FILE_NAME: &str = "migration-guard.yml";

/// How deep `[` and `{` may nest in the configuration.
const MAX_NESTING: usize = 16;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Invalid { path: PathBuf, message: String },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Level {
    Error,
    Warning,
    Info,
    Off,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    migrations_dir: Option<PathBuf>,
    #[serde(default)]
    rules: BTreeMap<String, Level>,
    #[serde(default)]
    ignore: Vec<String>,
    baseline: Option<Version>,
    #[serde(default)]
    locks: LocksFile,
    supabase_cli_version: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct LocksFile {
    budget_ms: Option<BudgetFile>,
}

/// `locks.budget_ms`: one number for every lock, or one per kind of lock.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum BudgetFile {
    Both(u64),
    Each {
        #[serde(default)]
        reads_and_writes: Option<u64>,
        #[serde(default)]
        writes: Option<u64>,
    },
}

/// A version as YAML gives it: `baseline: 20240101000000` is a number there.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Version {
    Text(String),
    Number(u64),
}

/// Where the project's files are: the migrations directory and the configuration.
#[derive(Debug)]
pub struct Project {
    pub migrations: PathBuf,
    pub config: Config,
}

impl Project {
    /// `--dir` and `--config` as given, else the configuration found beside the
    /// migrations directory's parent (`supabase/`) or in the current directory, and its
    /// `migrations_dir` (relative to the file), else `supabase/migrations`.
    pub fn resolve(dir: Option<&Path>, config: Option<&Path>) -> Result<Project, ConfigError> {
        let parent = |dir: &Path| dir.parent().unwrap_or(Path::new("")).to_path_buf();
        let candidates = match dir {
            Some(dir) => vec![parent(dir).join(FILE_NAME), PathBuf::from(FILE_NAME)],
            None => vec![
                Path::new("supabase").join(FILE_NAME),
                PathBuf::from(FILE_NAME),
            ],
        };
        let config = Config::load(config, &candidates)?;
        let migrations = match (dir, &config.migrations_dir, &config.path) {
            (Some(dir), _, _) => dir.to_path_buf(),
            (None, Some(configured), Some(file)) => parent(file).join(configured),
            _ => Path::new("supabase").join("migrations"),
        };
        Ok(Project { migrations, config })
    }

    /// `explicit`, else `verify/` beside the migrations directory.
    pub fn verify_dir(&self, explicit: Option<&Path>) -> PathBuf {
        explicit.map_or_else(
            || {
                self.migrations
                    .parent()
                    .unwrap_or(Path::new(""))
                    .join("verify")
            },
            Path::to_path_buf,
        )
    }
}

/// The configuration in effect (the defaults when there is no file).
#[derive(Debug, Default, Clone)]
pub struct Config {
    /// Where it was read from.
    pub path: Option<PathBuf>,
    pub migrations_dir: Option<PathBuf>,
    levels: BTreeMap<String, Level>,
    ignore: Vec<glob::Pattern>,
    /// Migrations up to this version are deployed history (`baseline:`).
    pub baseline: Option<String>,
    pub lock_budgets: LockBudgets,
    /// The Supabase CLI that deploys: how it batches a file's statements decides what
    /// fails.
    pub supabase_cli: CliVersion,
}

/// The Supabase CLI release the action's image ships (the Dockerfile's
/// `SUPABASE_CLI_VERSION`; a test holds the two together).
pub const PINNED_SUPABASE_CLI: CliVersion = CliVersion(2, 120, 0);

/// A Supabase CLI release, `major.minor.patch`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct CliVersion(pub u32, pub u32, pub u32);

impl Default for CliVersion {
    fn default() -> Self {
        PINNED_SUPABASE_CLI
    }
}

impl std::fmt::Display for CliVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}.{}", self.0, self.1, self.2)
    }
}

impl std::str::FromStr for CliVersion {
    type Err = ();

    /// `2.115.0` or `v2.115.0`; a missing patch is 0.
    fn from_str(text: &str) -> Result<Self, ()> {
        let text = text.trim().trim_start_matches('v');
        let mut parts = text
            .split('.')
            .map(|part| part.parse::<u32>().map_err(|_| ()));
        let major = parts.next().ok_or(())??;
        let minor = parts.next().ok_or(())??;
        let patch = parts.next().transpose()?.unwrap_or(0);
        if parts.next().is_some() {
            return Err(());
        }
        Ok(CliVersion(major, minor, patch))
    }
}

impl Config {
    /// Reads `explicit`, else the first `migration-guard.yml` of `candidates` that exists.
    pub fn load(explicit: Option<&Path>, candidates: &[PathBuf]) -> Result<Config, ConfigError> {
        let path = match explicit {
            Some(path) => path.to_path_buf(),
            None => match candidates.iter().find(|path| path.is_file()) {
                Some(path) => path.clone(),
                None => return Ok(Config::default()),
            },
        };
        let text = std::fs::read_to_string(&path).map_err(|source| ConfigError::Read {
            path: path.clone(),
            source,
        })?;
        Config::parse(&text, path)
    }

    pub fn parse(text: &str, path: PathBuf) -> Result<Config, ConfigError> {
        let invalid = |message: String| ConfigError::Invalid {
            path: path.clone(),
            message,
        };
        // The file is a handful of keys: anything this deep is not one, and the YAML
        // parser's time grows with the square of the nesting.
        let depth = text
            .chars()
            .scan(0usize, |depth, c| {
                match c {
                    '[' | '{' => *depth += 1,
                    ']' | '}' => *depth = depth.saturating_sub(1),
                    _ => {}
                }
                Some(*depth)
            })
            .max()
            .unwrap_or(0);
        if depth > MAX_NESTING {
            return Err(invalid(format!(
                "brackets nested {depth} deep: a configuration has at most {MAX_NESTING}; see the example in docs/configuration.md"
            )));
        }
        let file: File = if text.trim().is_empty() {
            File::default()
        } else {
            serde_yaml::from_str(text).map_err(|error| invalid(error.to_string()))?
        };
        let mut known: Vec<&str> = registry::configurable().map(|rule| rule.id).collect();
        known.sort_unstable();
        for id in file.rules.keys() {
            if !known.contains(&id.as_str()) {
                return Err(invalid(format!(
                    "rules: unknown rule id `{id}`; the rule ids are: {}",
                    known.join(", ")
                )));
            }
        }
        let ignore = file
            .ignore
            .iter()
            .map(|pattern| {
                glob::Pattern::new(pattern).map_err(|error| {
                    invalid(format!("ignore: `{pattern}` is not a valid glob: {error}"))
                })
            })
            .collect::<Result<_, _>>()?;
        let supabase_cli = match &file.supabase_cli_version {
            None => PINNED_SUPABASE_CLI,
            Some(text) => text.parse().map_err(|()| {
                invalid(format!(
                    "supabase_cli_version: `{text}` is not a CLI release; write it as `supabase --version` prints it, e.g. \"{PINNED_SUPABASE_CLI}\""
                ))
            })?,
        };
        Ok(Config {
            path: Some(path),
            migrations_dir: file.migrations_dir,
            levels: file.rules,
            ignore,
            baseline: file.baseline.map(|version| match version {
                Version::Text(text) => text,
                Version::Number(number) => number.to_string(),
            }),
            supabase_cli,
            lock_budgets: {
                let default = LockBudgets::default();
                let ms = |value: Option<u64>, default: Duration| {
                    value.map_or(default, Duration::from_millis)
                };
                match file.locks.budget_ms {
                    None => default,
                    Some(BudgetFile::Both(ms)) => LockBudgets {
                        reads_and_writes: Duration::from_millis(ms),
                        writes: Duration::from_millis(ms),
                    },
                    Some(BudgetFile::Each {
                        reads_and_writes,
                        writes,
                    }) => LockBudgets {
                        reads_and_writes: ms(reads_and_writes, default.reads_and_writes),
                        writes: ms(writes, default.writes),
                    },
                }
            },
        })
    }

    /// The severity of `rule` (its `default` unless configured); `None` when it is off.
    pub fn severity(&self, rule: &str, default: Severity) -> Option<Severity> {
        match self.levels.get(rule) {
            None => Some(default),
            Some(Level::Error) => Some(Severity::Error),
            Some(Level::Warning) => Some(Severity::Warning),
            Some(Level::Info) => Some(Severity::Info),
            Some(Level::Off) => None,
        }
    }

    /// Whether `version` is at or before the configured baseline.
    pub fn before_baseline(&self, version: &str) -> bool {
        self.baseline
            .as_deref()
            .is_some_and(|baseline| version_order(version) <= version_order(baseline))
    }

    /// Whether findings in `path` are ignored.
    pub fn ignores(&self, path: &Path) -> bool {
        self.ignore.iter().any(|pattern| pattern.matches_path(path))
    }
}

impl crate::findings::policy::Settings for Config {
    fn severity(&self, rule: &str, default: Severity) -> Option<Severity> {
        Config::severity(self, rule, default)
    }

    fn ignores(&self, file: &Path) -> bool {
        Config::ignores(self, file)
    }
}

/// Versions compare as numbers (`9` before `10`), the way the Supabase CLI orders them.
fn version_order(version: &str) -> (usize, &str) {
    let digits = version.trim_start_matches('0');
    (digits.len(), digits)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn severities_and_ignores() {
        let config = Config::parse(
            "rules:\n  no-drop-table: warning\n  require-transaction: off\nignore:\n  - supabase/migrations/0001_*.sql\n",
            PathBuf::from("migration-guard.yml"),
        )
        .unwrap();
        assert_eq!(
            config.severity("no-drop-table", Severity::Error),
            Some(Severity::Warning)
        );
        assert_eq!(
            config.severity("require-transaction", Severity::Warning),
            None
        );
        assert_eq!(
            config.severity("no-psql-meta", Severity::Error),
            Some(Severity::Error)
        );
        assert!(config.ignores(Path::new("supabase/migrations/0001_baseline.sql")));
        assert!(!config.ignores(Path::new("supabase/migrations/0002_x.sql")));
    }

    #[test]
    fn deep_nesting_is_refused_at_once() {
        let text = format!("rules: {}{}\n", "[".repeat(50_000), "]".repeat(50_000));
        let error = Config::parse(&text, PathBuf::from("m.yml")).unwrap_err();
        assert!(error.to_string().contains("nested 50000 deep"), "{error}");
    }

    #[test]
    fn the_baseline_is_a_version_written_either_way() {
        for text in [
            "baseline: 20240101000000\n",
            "baseline: \"20240101000000\"\n",
        ] {
            let config = Config::parse(text, PathBuf::from("m.yml")).unwrap();
            assert!(config.before_baseline("20240101000000"));
            assert!(config.before_baseline("20231231235959"));
            assert!(config.before_baseline("0001"));
            assert!(!config.before_baseline("20240101000001"));
        }
        assert!(!Config::default().before_baseline("0001"));
    }

    #[test]
    fn the_supabase_cli_version_is_read_or_named_when_wrong() {
        assert_eq!(Config::default().supabase_cli, PINNED_SUPABASE_CLI);
        let config =
            Config::parse("supabase_cli_version: v2.116.1\n", PathBuf::from("m.yml")).unwrap();
        assert_eq!(config.supabase_cli, CliVersion(2, 116, 1));
        let error =
            Config::parse("supabase_cli_version: latest\n", PathBuf::from("m.yml")).unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with("m.yml: supabase_cli_version: `latest` is not a CLI release"),
            "{error}"
        );
    }

    #[test]
    fn unknown_keys_and_rules_are_named() {
        let error = Config::parse("rulez: {}\n", PathBuf::from("m.yml")).unwrap_err();
        assert!(
            error.to_string().contains(
                "unknown field `rulez`, expected one of `migrations_dir`, `rules`, `ignore`, `baseline`"
            ),
            "{error}"
        );
        let error =
            Config::parse("rules:\n  no-drop-tabel: off\n", PathBuf::from("m.yml")).unwrap_err();
        let message = error.to_string();
        assert!(
            message.contains("unknown rule id `no-drop-tabel`"),
            "{message}"
        );
        assert!(message.contains("no-drop-table"), "{message}");
        let error =
            Config::parse("rules:\n  no-drop-table: maybe\n", PathBuf::from("m.yml")).unwrap_err();
        assert!(
            error.to_string().contains("unknown variant `maybe`"),
            "{error}"
        );
    }
}
