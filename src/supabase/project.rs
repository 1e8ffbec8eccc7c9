//! What a Supabase project's own files say about its database: `supabase/config.toml`
//! (`[db] major_version`, `[api] schemas`) and the exact Postgres version that
//! `supabase link` recorded in `supabase/.temp/postgres-version`.
//!
//! The shadow uses them to pick the image that runs what the project runs, and the
//! advisors to know which schemas the Data API exposes.

use std::fs;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// The `supabase/postgres` tag used for a major version when the project has not been
/// linked (no `.temp/postgres-version`): the images the Supabase CLI starts locally, as
/// read from its 2.115 release (the CLI the Dockerfile pins may be newer; update these
/// when its pins are read).
pub const DEFAULT_TAGS: [(u32, &str); 2] = [(15, "15.8.1.085"), (17, "17.6.1.132")];

/// The major version a project without `[db] major_version` runs: the CLI's default
/// before new projects were moved to 17, which writes the key explicitly.
const DEFAULT_MAJOR: u32 = 15;

/// The schemas the Data API exposes when `[api] schemas` does not say.
pub const DEFAULT_API_SCHEMAS: [&str; 2] = ["public", "graphql_public"];

#[derive(Debug, thiserror::Error)]
pub enum ProjectError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} is not valid TOML: {message}")]
    Toml { path: PathBuf, message: String },
    #[error("{path}: {key}: `{pattern}` is not a valid glob: {message}")]
    Glob {
        path: PathBuf,
        key: &'static str,
        pattern: String,
        message: String,
    },
}

/// A Supabase project, as its files describe it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SupabaseProject {
    pub config: PathBuf,
    pub major_version: u32,
    /// The exact version of the linked project, e.g. `17.4.1.054`.
    pub postgres_version: Option<String>,
    pub api_schemas: Vec<String>,
    /// The seed files `supabase db reset` and a preview branch run after the migrations,
    /// in their order (`[db.seed]`: `sql_paths`, default `seed.sql`; none when
    /// `enabled = false`).
    pub seed_files: Vec<PathBuf>,
    /// `[api] auto_expose_new_tables = true`: the project kept the platform's former
    /// default, where what migrations create in `public` is granted to the Data API's
    /// roles automatically. Unset (today's default): nothing is granted until a
    /// migration grants it.
    pub auto_expose_new_tables: bool,
    /// Where the project keeps its declarative schema, when it does.
    pub declarative: Option<DeclarativeSchema>,
}

/// A declarative schema: the files the CLI generates migrations from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeclarativeSchema {
    /// `supabase db diff`: the files of `[db.migrations] schema_paths` (default
    /// `schemas/**/*.sql`), built in this order.
    Ordered(Vec<PathBuf>),
    /// The pg-delta engine (`[experimental.pgdelta]`): every file of its folder (default
    /// `database/`), built whole files at a time in any order that works; the files of
    /// `_custom/` load too, and each names the migration that delivers it.
    PgDelta {
        files: Vec<PathBuf>,
        custom: Vec<PathBuf>,
    },
}

#[derive(Debug, Default, Deserialize)]
struct ConfigToml {
    #[serde(default)]
    db: DbSection,
    #[serde(default)]
    api: ApiSection,
    #[serde(default)]
    experimental: ExperimentalSection,
}

#[derive(Debug, Default, Deserialize)]
struct ExperimentalSection {
    pgdelta: Option<PgDeltaSection>,
}

#[derive(Debug, Default, Deserialize)]
struct PgDeltaSection {
    enabled: Option<bool>,
    declarative_schema_path: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct DbSection {
    major_version: Option<u32>,
    #[serde(default)]
    seed: SeedSection,
    #[serde(default)]
    migrations: MigrationsSection,
}

#[derive(Debug, Default, Deserialize)]
struct MigrationsSection {
    schema_paths: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize)]
struct SeedSection {
    enabled: Option<bool>,
    sql_paths: Option<Vec<String>>,
}

/// The seed files `[db.seed]` of `config` names, relative to the `supabase/` folder:
/// each glob's matches in name order, a file once, in the order of the globs, as the CLI
/// runs them.
fn seed_files(
    config: &Path,
    supabase: &Path,
    seed: &SeedSection,
) -> Result<Vec<PathBuf>, ProjectError> {
    if seed.enabled == Some(false) {
        return Ok(Vec::new());
    }
    let patterns = seed
        .sql_paths
        .clone()
        .unwrap_or_else(|| vec!["./seed.sql".to_string()]);
    globbed(config, supabase, "[db.seed] sql_paths", &patterns)
}

/// The declarative schema, when the project has one: pg-delta's folder when
/// `[experimental.pgdelta]` is enabled or names one; else the globs of `[db.migrations]
/// schema_paths` in their order, else every `.sql` file under `supabase/schemas`.
fn declarative(
    config: &Path,
    supabase: &Path,
    parsed: &ConfigToml,
) -> Result<Option<DeclarativeSchema>, ProjectError> {
    if let Some(pgdelta) = &parsed.experimental.pgdelta
        && (pgdelta.enabled == Some(true) || pgdelta.declarative_schema_path.is_some())
    {
        let folder = pgdelta
            .declarative_schema_path
            .as_deref()
            .unwrap_or("./database")
            .trim_start_matches("./")
            .trim_end_matches('/');
        let key = "[experimental.pgdelta] declarative_schema_path";
        let all = globbed(config, supabase, key, &[format!("{folder}/**/*.sql")])?;
        let root = supabase.join(folder);
        let (custom, files): (Vec<PathBuf>, Vec<PathBuf>) = all
            .into_iter()
            .partition(|path| path.starts_with(root.join("_custom")));
        return Ok((!files.is_empty() || !custom.is_empty())
            .then_some(DeclarativeSchema::PgDelta { files, custom }));
    }
    let key = "[db.migrations] schema_paths";
    let files = match &parsed.db.migrations.schema_paths {
        Some(patterns) if !patterns.is_empty() => globbed(config, supabase, key, patterns)?,
        _ => globbed(config, supabase, key, &["./schemas/**/*.sql".to_string()])?,
    };
    Ok((!files.is_empty()).then_some(DeclarativeSchema::Ordered(files)))
}

/// Each glob's matches (relative to the `supabase/` folder) in name order, a file once,
/// in the order of the globs, as the CLI takes them.
fn globbed(
    config: &Path,
    supabase: &Path,
    key: &'static str,
    patterns: &[String],
) -> Result<Vec<PathBuf>, ProjectError> {
    let mut files: Vec<PathBuf> = Vec::new();
    for pattern in patterns {
        let joined = supabase.join(pattern.trim_start_matches("./"));
        let matches =
            glob::glob(&joined.to_string_lossy()).map_err(|error| ProjectError::Glob {
                path: config.to_path_buf(),
                key,
                pattern: pattern.clone(),
                message: error.msg.to_string(),
            })?;
        let mut matched: Vec<PathBuf> = matches.flatten().filter(|path| path.is_file()).collect();
        matched.sort();
        for path in matched {
            if !files.contains(&path) {
                files.push(path);
            }
        }
    }
    Ok(files)
}

#[derive(Debug, Default, Deserialize)]
struct ApiSection {
    schemas: Option<Vec<String>>,
    auto_expose_new_tables: Option<bool>,
}

impl SupabaseProject {
    /// The project whose `supabase/` folder holds `migrations`: none when there is no
    /// `config.toml` beside the migrations folder (not a Supabase CLI project).
    pub fn beside(migrations: &Path) -> Result<Option<SupabaseProject>, ProjectError> {
        let Some(supabase) = migrations.parent() else {
            return Ok(None);
        };
        let config = supabase.join("config.toml");
        if !config.is_file() {
            return Ok(None);
        }
        let text = fs::read_to_string(&config).map_err(|source| ProjectError::Read {
            path: config.clone(),
            source,
        })?;
        let parsed: ConfigToml = toml::from_str(&text).map_err(|error| ProjectError::Toml {
            path: config.clone(),
            message: error.to_string(),
        })?;
        let version_file = supabase.join(".temp").join("postgres-version");
        let postgres_version = fs::read_to_string(version_file)
            .ok()
            .map(|text| text.trim().to_string())
            .filter(|version| !version.is_empty());
        let seed_files = seed_files(&config, supabase, &parsed.db.seed)?;
        let declarative = declarative(&config, supabase, &parsed)?;
        Ok(Some(SupabaseProject {
            config,
            major_version: parsed.db.major_version.unwrap_or(DEFAULT_MAJOR),
            postgres_version,
            api_schemas: parsed
                .api
                .schemas
                .unwrap_or_else(|| DEFAULT_API_SCHEMAS.iter().map(|s| s.to_string()).collect()),
            seed_files,
            auto_expose_new_tables: parsed.api.auto_expose_new_tables.unwrap_or(false),
            declarative,
        }))
    }

    /// Supabase's own image of the version this project runs: the linked version when
    /// known, else the pinned tag of its major version.
    pub fn image(&self) -> String {
        let tag = self.postgres_version.clone().unwrap_or_else(|| {
            DEFAULT_TAGS
                .iter()
                .find(|(major, _)| *major == self.major_version)
                .map_or_else(
                    || format!("{}", self.major_version),
                    |(_, tag)| tag.to_string(),
                )
        });
        format!("supabase/postgres:{tag}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn project(config: &str, version: Option<&str>) -> (tempfile::TempDir, PathBuf) {
        let root = tempfile::tempdir().unwrap();
        let supabase = root.path().join("supabase");
        fs::create_dir_all(supabase.join("migrations")).unwrap();
        fs::write(supabase.join("config.toml"), config).unwrap();
        if let Some(version) = version {
            fs::create_dir_all(supabase.join(".temp")).unwrap();
            fs::write(supabase.join(".temp/postgres-version"), version).unwrap();
        }
        let migrations = supabase.join("migrations");
        (root, migrations)
    }

    #[test]
    fn the_linked_version_wins_then_the_major_versions_pinned_tag() {
        let (_root, dir) = project("[db]\nmajor_version = 17\n", Some("17.4.1.054\n"));
        let linked = SupabaseProject::beside(&dir).unwrap().unwrap();
        assert_eq!(linked.image(), "supabase/postgres:17.4.1.054");

        let (_root, dir) = project("project_id = \"x\"\n[db]\nmajor_version = 17\n", None);
        let unlinked = SupabaseProject::beside(&dir).unwrap().unwrap();
        assert_eq!(unlinked.image(), "supabase/postgres:17.6.1.132");
        assert_eq!(unlinked.api_schemas, ["public", "graphql_public"]);

        let (_root, dir) = project("[api]\nschemas = [\"public\", \"api\"]\n", None);
        let old = SupabaseProject::beside(&dir).unwrap().unwrap();
        assert_eq!(old.image(), "supabase/postgres:15.8.1.085");
        assert_eq!(old.api_schemas, ["public", "api"]);
    }

    #[test]
    fn no_config_is_no_supabase_project_and_bad_toml_names_the_file_and_line() {
        let root = tempfile::tempdir().unwrap();
        assert_eq!(SupabaseProject::beside(root.path()).unwrap(), None);

        let (_root, dir) = project("[db]\nmajor_version = \n", None);
        let error = SupabaseProject::beside(&dir).unwrap_err().to_string();
        assert!(error.contains("config.toml is not valid TOML"), "{error}");
        assert!(error.contains("line 2"), "{error}");
    }

    #[test]
    fn schema_files_are_the_schemas_folder_or_the_configured_globs_in_order() {
        let (root, dir) = project("[db]\nmajor_version = 15\n", None);
        let supabase = root.path().join("supabase");
        fs::create_dir_all(supabase.join("schemas/app")).unwrap();
        for name in [
            "schemas/b.sql",
            "schemas/a.sql",
            "schemas/app/c.sql",
            "types.sql",
        ] {
            fs::write(supabase.join(name), "SELECT 1;\n").unwrap();
        }
        let names = |files: Vec<PathBuf>| -> Vec<String> {
            files
                .iter()
                .map(|f| f.strip_prefix(&supabase).unwrap().display().to_string())
                .collect()
        };
        let files = |project: SupabaseProject| match project.declarative {
            Some(DeclarativeSchema::Ordered(files)) => files,
            other => panic!("{other:?}"),
        };
        let default = files(SupabaseProject::beside(&dir).unwrap().unwrap());
        assert_eq!(
            names(default),
            ["schemas/a.sql", "schemas/app/c.sql", "schemas/b.sql"]
        );
        fs::write(
            supabase.join("config.toml"),
            "[db.migrations]\nschema_paths = ['./types.sql', './schemas/*.sql']\n",
        )
        .unwrap();
        let configured = files(SupabaseProject::beside(&dir).unwrap().unwrap());
        assert_eq!(
            names(configured),
            ["types.sql", "schemas/a.sql", "schemas/b.sql"]
        );
        // pg-delta: its folder, _custom/ apart.
        fs::create_dir_all(supabase.join("database/_custom")).unwrap();
        for name in ["database/t.sql", "database/_custom/casts.sql"] {
            fs::write(supabase.join(name), "SELECT 1;\n").unwrap();
        }
        fs::write(
            supabase.join("config.toml"),
            "[experimental.pgdelta]\nenabled = true\n",
        )
        .unwrap();
        match SupabaseProject::beside(&dir).unwrap().unwrap().declarative {
            Some(DeclarativeSchema::PgDelta { files, custom, .. }) => {
                assert_eq!(names(files), ["database/t.sql"]);
                assert_eq!(names(custom), ["database/_custom/casts.sql"]);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn seed_files_follow_the_globs_in_order_and_a_bad_glob_is_named() {
        let (root, dir) = project(
            "[db.seed]\nsql_paths = ['./seeds/*.sql', './seed.sql', './seeds/01.sql']\n",
            None,
        );
        let supabase = root.path().join("supabase");
        fs::create_dir_all(supabase.join("seeds")).unwrap();
        for name in ["seeds/02.sql", "seeds/01.sql", "seed.sql"] {
            fs::write(supabase.join(name), "SELECT 1;\n").unwrap();
        }
        let seeds = SupabaseProject::beside(&dir).unwrap().unwrap().seed_files;
        let names: Vec<_> = seeds
            .iter()
            .map(|path| path.strip_prefix(&supabase).unwrap().to_path_buf())
            .collect();
        assert_eq!(
            names,
            ["seeds/01.sql", "seeds/02.sql", "seed.sql"].map(PathBuf::from)
        );

        fs::write(
            supabase.join("config.toml"),
            "[db.seed]\nenabled = false\nsql_paths = ['./seed.sql']\n",
        )
        .unwrap();
        assert!(
            SupabaseProject::beside(&dir)
                .unwrap()
                .unwrap()
                .seed_files
                .is_empty()
        );

        fs::write(
            supabase.join("config.toml"),
            "[db.seed]\nsql_paths = ['./seeds/[.sql']\n",
        )
        .unwrap();
        let error = SupabaseProject::beside(&dir).unwrap_err().to_string();
        assert!(
            error.contains("[db.seed] sql_paths: `./seeds/[.sql` is not a valid glob"),
            "{error}"
        );
    }
}
