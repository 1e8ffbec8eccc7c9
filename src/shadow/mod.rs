//! The shadow: a throwaway Postgres that every migration is applied to before it goes
//! anywhere real.
//!
//! A provider gives a server and a superuser connection; the shadow builds one template
//! database (with the Supabase emulation unless turned off), clones it for the run, and
//! applies the migrations on a session that logs in as a role that, like hosted
//! `postgres`, is no superuser and cannot become one: a pull request's SQL is untrusted
//! input. What hosted Supabase lets `postgres` do with more rights goes through the
//! [`gate`]. Whatever happens, the databases, the run's roles (or the whole cluster) are
//! removed afterwards.

pub mod docker;
pub mod extensions;
pub mod gate;
pub mod local;
pub mod server;
pub mod supautils;

use std::path::PathBuf;
use std::time::Instant;

use tokio_postgres::Config;

use crate::catalog::{self, Catalog, Scope};
use crate::checks::{advisors, pgtap, plpgsql, semantic, verify};
use crate::db::quote_literal;
use crate::db::{Database, PgError, quote_ident};
use crate::engine::{Applier, ApplyError, Reroute};
use crate::findings::registry;
use crate::migration::Discovery;
use crate::report::model::PostgresInfo;
use crate::report::{CommandName, Report};
use crate::supabase::project::SupabaseProject;

use docker::{DockerError, DockerOptions, DockerShadow};
use extensions::Extensions;
use gate::Gate;
use local::{LocalCluster, LocalError};
use server::UrlError;
use supautils::Supautils;

const COMPAT_ROLES: &str = include_str!("compat/roles.sql");
const COMPAT_SCHEMA: &str = include_str!("compat/schema.sql");
/// Bumped whenever the emulation changes, and shown in reports.
pub const COMPAT_VERSION: &str = "supabase-compat 3";
/// The role hosted Supabase runs migrations as.
const MIGRATION_ROLE: &str = "postgres";

/// Where the shadow Postgres comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ProviderChoice {
    /// `url` with --database-url; else Docker when the engine answers and the image is
    /// present or can be pulled; else local server binaries.
    Auto,
    /// A container started through the Docker API.
    Docker,
    /// A throwaway cluster from initdb / pg_ctl.
    Local,
    /// An existing server (`--database-url`); fresh databases there, dropped after.
    Url,
}

#[derive(Debug, Clone)]
pub struct ShadowOptions {
    pub provider: ProviderChoice,
    pub database_url: Option<String>,
    pub pg_bin: Option<PathBuf>,
    pub docker: DockerOptions,
    pub supabase_compat: bool,
    /// With the emulation: stand in for the extensions vanilla Postgres lacks.
    pub extension_stubs: bool,
    /// The verify scripts to run after the migrations, if any.
    pub verify_dir: Option<PathBuf>,
    /// The pgTAP tests to run after them (`supabase/tests`, as `supabase test db`).
    pub tests_dir: Option<PathBuf>,
    /// Snapshot the catalog after each migration and run each twice (the semantic
    /// checks); off, the migrations are only applied.
    pub catalog_checks: bool,
    /// Return the catalog the migrations built (for `drift`).
    pub snapshot_at_end: bool,
    /// The Supabase project the migrations belong to, when they do.
    pub supabase: Option<SupabaseProject>,
}

#[derive(Debug, thiserror::Error)]
pub enum ShadowError {
    #[error(transparent)]
    Local(#[from] LocalError),
    #[error(transparent)]
    Docker(#[from] DockerError),
    #[error(transparent)]
    Url(#[from] UrlError),
    #[error("--provider url needs --database-url (or MIGRATION_GUARD_DATABASE_URL)")]
    UrlMissing,
    #[error("cannot connect to {server}: {reason}")]
    Connect {
        server: String,
        reason: crate::db::ConnectError,
    },
    #[error("cannot prepare the shadow database ({step}): {source}")]
    Setup {
        step: &'static str,
        #[source]
        source: PgError,
    },
    #[error(transparent)]
    Apply(#[from] ApplyError),
    #[error(transparent)]
    Verify(#[from] verify::VerifyError),
    #[error(transparent)]
    Semantic(#[from] semantic::SemanticError),
    #[error(transparent)]
    Advisors(#[from] advisors::AdvisorError),
    #[error(transparent)]
    Plpgsql(#[from] plpgsql::PlpgsqlError),
    #[error(transparent)]
    PgTap(#[from] pgtap::PgTapError),
    #[error("interrupted; the shadow was removed")]
    Interrupted,
}

/// What keeps the server alive.
enum Backing {
    /// Dropping it stops the cluster.
    Local(LocalCluster),
    Docker(Box<DockerShadow>),
    Url,
}

/// A server the shadow may create databases and roles on.
struct Server {
    admin: Config,
    provider: &'static str,
    /// The image is Supabase's own: nothing to emulate.
    real_supabase: bool,
    backing: Backing,
}

impl Server {
    async fn start(options: &ShadowOptions, run_id: &str) -> Result<Server, ShadowError> {
        let provider = match options.provider {
            ProviderChoice::Auto if options.database_url.is_some() => ProviderChoice::Url,
            ProviderChoice::Auto => match docker_engine(options).await {
                Ok(engine) => return Server::docker(engine, options, run_id).await,
                Err(reason) => {
                    tracing::info!("using local Postgres binaries: {reason}");
                    ProviderChoice::Local
                }
            },
            chosen => chosen,
        };
        match provider {
            ProviderChoice::Url => {
                let url = options
                    .database_url
                    .as_deref()
                    .ok_or(ShadowError::UrlMissing)?;
                Ok(Server {
                    admin: server::parse(url)?,
                    provider: "url",
                    real_supabase: false,
                    backing: Backing::Url,
                })
            }
            ProviderChoice::Docker => {
                let engine = docker_engine(options).await?;
                Server::docker(engine, options, run_id).await
            }
            ProviderChoice::Local | ProviderChoice::Auto => {
                let cluster = LocalCluster::start(options.pg_bin.as_deref()).await?;
                Ok(Server {
                    admin: cluster.admin_config(),
                    provider: "local",
                    real_supabase: false,
                    backing: Backing::Local(cluster),
                })
            }
        }
    }

    async fn docker(
        engine: bollard::Docker,
        options: &ShadowOptions,
        run_id: &str,
    ) -> Result<Server, ShadowError> {
        let container =
            DockerShadow::start(engine, &options.docker, local::SUPERUSER, run_id).await?;
        Ok(Server {
            admin: container.admin_config(),
            provider: "docker",
            real_supabase: options.docker.image.contains("supabase/postgres"),
            backing: Backing::Docker(Box::new(container)),
        })
    }

    /// Stops the cluster or removes the container.
    async fn shutdown(self) {
        match self.backing {
            Backing::Docker(container) => container.remove().await,
            Backing::Local(cluster) => drop(cluster),
            Backing::Url => {}
        }
    }

    fn config_for(&self, dbname: &str) -> Config {
        let mut config = self.admin.clone();
        config.dbname(dbname);
        config
    }

    async fn connect(&self, config: &Config) -> Result<Database, ShadowError> {
        Database::connect(config)
            .await
            .map_err(|reason| ShadowError::Connect {
                server: server::describe(config),
                reason,
            })
    }
}

/// The engine, once it answers and has the image (pulled if need be).
async fn docker_engine(options: &ShadowOptions) -> Result<bollard::Docker, DockerError> {
    let engine = DockerShadow::engine().await?;
    DockerShadow::ensure_image(&engine, &options.docker.image).await?;
    Ok(engine)
}

/// The databases and roles one run created, to be removed afterwards.
struct Created {
    databases: Vec<String>,
    roles: Vec<String>,
    /// On a server that is not the run's own: the roles it had before, so that every
    /// other one (the emulation's, the migrations') is dropped after.
    roles_before: Option<Vec<String>>,
}

/// Applies every migration of `discovery` to a fresh shadow, then runs the verify dir;
/// with `snapshot_at_end`, also returns the catalog the migrations built.
/// The findings are as the checks give them: the caller settles them with the policy.
pub async fn run(
    discovery: &Discovery,
    options: &ShadowOptions,
) -> Result<(Report, Option<Catalog>), ShadowError> {
    let started = Instant::now();
    let mut report = Report::of_files(CommandName::Shadow, discovery);
    let id = format!("{:08x}", rand::random::<u32>());
    let server = tokio::select! {
        server = Server::start(options, &id) => server?,
        () = interrupted() => return Err(ShadowError::Interrupted),
    };
    let admin = match server.connect(&server.admin).await {
        Ok(admin) => admin,
        Err(error) => {
            server.shutdown().await;
            return Err(error);
        }
    };
    tracing::info!(
        "Postgres is ready after {} ms",
        started.elapsed().as_millis()
    );
    let ready_ms = started.elapsed().as_millis() as u64;
    let mut created = Created {
        databases: Vec::new(),
        roles: Vec::new(),
        roles_before: None,
    };
    if matches!(server.backing, Backing::Url) {
        match admin
            .client
            .query("SELECT rolname::text FROM pg_roles", &[])
            .await
        {
            Ok(rows) => created.roles_before = Some(rows.iter().map(|row| row.get(0)).collect()),
            Err(error) => tracing::warn!("cannot list the server's roles: {error}"),
        }
    }
    let outcome = tokio::select! {
        outcome = shadow_run(&server, &admin, options, discovery, &id, &mut created, &mut report) => outcome,
        () = interrupted() => Err(ShadowError::Interrupted),
    };
    cleanup(&admin, &created).await;
    drop(admin);
    server.shutdown().await;
    let built = outcome?;
    if let Some(postgres) = &mut report.postgres {
        postgres.ready_ms = Some(ready_ms);
    }
    report.duration_ms = Some(started.elapsed().as_millis() as u64);
    Ok((report, built))
}

#[allow(clippy::too_many_arguments)]
async fn shadow_run(
    server: &Server,
    admin: &Database,
    options: &ShadowOptions,
    discovery: &Discovery,
    id: &str,
    created: &mut Created,
    report: &mut Report,
) -> Result<Option<Catalog>, ShadowError> {
    let setup = |step| move |source| ShadowError::Setup { step, source };
    let emulate = options.supabase_compat && !server.real_supabase;
    let server_version = admin
        .server_version()
        .await
        .map_err(setup("reading the server version"))?;
    if let Some(project) = &options.supabase {
        let major = server_version.split('.').next().unwrap_or_default();
        if major != project.major_version.to_string() {
            report.notes.push(format!(
                "{} says the project runs Postgres {}, but this shadow ran {server_version}: run it on {} (Docker) to test what the project runs",
                project.config.display(),
                project.major_version,
                project.image()
            ));
        }
    }
    report.postgres = Some(PostgresInfo {
        provider: server.provider.to_string(),
        server_version,
        supabase_compat: if server.real_supabase {
            Some("supabase/postgres image")
        } else {
            emulate.then_some(COMPAT_VERSION)
        },
        ready_ms: None,
    });

    let major: u32 = admin
        .client
        .query_one("SHOW server_version_num", &[])
        .await
        .map_err(setup("reading the server version"))?
        .get::<_, String>(0)
        .parse::<u32>()
        .unwrap_or_default()
        / 10000;
    // Before 16, CREATEROLE may grant any role that is no superuser, the server's program
    // and file roles among them; there role statements go through the gate instead.
    let createrole = major >= 16 || server.real_supabase;
    let role = migration_role(
        admin,
        id,
        !matches!(server.backing, Backing::Url),
        createrole,
        created,
    )
    .await
    .map_err(setup("creating the migration role"))?;
    let gate = Gate::new(&format!("migration_guard_roles_{id}"));
    if emulate {
        admin
            .client
            .batch_execute(&COMPAT_ROLES.replace("{role}", &role.name))
            .await
            .map_err(setup("creating the Supabase roles"))?;
        admin
            .client
            .batch_execute(&gate.role_sql())
            .await
            .map_err(setup("creating the gate's role"))?;
        created.roles.push(gate.role_admin().to_string());
    }

    let extensions = Extensions::read(admin, emulate && options.extension_stubs, &role.name)
        .await
        .map_err(setup("reading the available extensions"))?;
    let surveyed = extensions.survey(&discovery.migrations);
    let unavailable = surveyed
        .iter()
        .any(|f| f.rule == registry::EXTENSION_UNAVAILABLE.id);
    report.findings.extend(surveyed);
    if unavailable {
        report.error = Some(
            "the shadow cannot judge these migrations: they need an extension its Postgres does not have (extension-unavailable); nothing was applied"
                .to_string(),
        );
        return Ok(None);
    }

    // The template: built once per run, cloned wherever a fresh database is needed.
    let template = format!("migration_guard_template_{id}");
    create_database(admin, &template, None, &role.name, created).await?;
    if emulate {
        tracing::info!("building the Supabase emulation ({COMPAT_VERSION})");
        let template_db = server.connect(&server.config_for(&template)).await?;
        for (sql, step) in [
            (
                COMPAT_SCHEMA.replace("{role}", &role.name),
                "applying the Supabase emulation",
            ),
            (
                extensions.template_sql(),
                "installing the extension stand-ins",
            ),
            (gate.install_sql(&role.name), "installing the gate"),
        ] {
            template_db
                .client
                .batch_execute(&sql)
                .await
                .map_err(setup(step))?;
        }
    }
    let shadow = format!("migration_guard_shadow_{id}");
    create_database(admin, &shadow, Some(&template), &role.name, created).await?;

    // The migrations' session logs in as the migration role: nothing it runs can step
    // back to a superuser. With the emulation, hosted Supabase's search_path.
    let mut config = server.config_for(&shadow);
    config.user(&role.name).password(role.password.as_bytes());
    if emulate {
        config.options("-c search_path=\"$user\",public,extensions");
    }
    let db = server.connect(&config).await?;
    // The shadow's own superuser session on the same database, for what only the tool
    // runs there (installing pgTAP, plpgsql_check); migrations never reach it.
    let privileged = server.connect(&server.config_for(&shadow)).await?;
    let exposed = exposed_schemas(options);
    // What the advisors say of the platform alone: only what the migrations add counts.
    let advice_before = advisors::advise(&db, &exposed).await?;
    let supautils = Supautils {
        extensions: &extensions,
        gate: &gate,
        roles_through_gate: !createrole,
    };
    let reroute = emulate.then_some(&supautils as &dyn Reroute);
    if options.catalog_checks {
        let checked = semantic::apply(&db, &discovery.migrations, reroute).await?;
        report.migrations = checked.entries;
        report.findings.extend(checked.findings);
    } else {
        report.migrations = Applier::new(&db)
            .await?
            .rerouting(reroute)
            .apply_all(&discovery.migrations)
            .await?;
    }
    let failed = report.migrations.iter().any(|m| m.error.is_some());
    match &options.verify_dir {
        _ if failed => report
            .notes
            .push("verification skipped: a migration failed".to_string()),
        Some(dir) => verify::run(&db, dir, report).await?,
        None => {}
    }
    if let (false, Some(dir)) = (failed, &options.tests_dir) {
        pgtap::run(&db, &privileged, dir, report).await?;
    }
    if !failed && options.catalog_checks {
        after_checks(
            &db,
            &privileged,
            discovery,
            &exposed,
            &advice_before,
            report,
        )
        .await?;
    }
    if !options.snapshot_at_end || failed {
        return Ok(None);
    }
    let built = catalog::snapshot(&db, &Scope::user())
        .await
        .map_err(setup("reading the catalog the migrations built"))?;
    Ok(Some(built))
}

/// The schemas the Data API exposes: the project's `[api] schemas`, else Supabase's
/// defaults.
fn exposed_schemas(options: &ShadowOptions) -> Vec<String> {
    match &options.supabase {
        Some(project) => project.api_schemas.clone(),
        None => crate::supabase::project::DEFAULT_API_SCHEMAS
            .iter()
            .map(|schema| schema.to_string())
            .collect(),
    }
}

/// The checks of what the migrations built: Supabase's advisors (what the migrations
/// introduced, on the file that made each object) and plpgsql_check on every body.
async fn after_checks(
    db: &Database,
    privileged: &Database,
    discovery: &Discovery,
    exposed: &[String],
    advice_before: &[advisors::Advice],
    report: &mut Report,
) -> Result<(), ShadowError> {
    let migrations = &discovery.migrations;
    tracing::info!("running Supabase's advisors");
    let advice = advisors::advise(db, exposed).await?;
    let locator = advisors::Locator::new(migrations);
    report.findings.extend(
        advisors::introduced(advice_before, &advice)
            .iter()
            .map(|advice| advisors::finding(advice, locator.locate(&advice.object))),
    );
    tracing::info!("checking PL/pgSQL bodies");
    let checked = plpgsql::check(privileged, migrations).await?;
    report.findings.extend(checked.findings);
    report.notes.extend(checked.notes);
    Ok(())
}

/// The role migrations log in as, with its password for this run.
struct MigrationRole {
    name: String,
    password: String,
}

/// `postgres` with hosted Supabase's attributes (no superuser; CREATEROLE only where
/// it cannot grant the server's program and file roles) and a password of this run. On
/// a server that is not the run's own (`url`) and already has a `postgres`, or where
/// `postgres` is a superuser, a role of this run with the same attributes instead.
async fn migration_role(
    admin: &Database,
    id: &str,
    throwaway: bool,
    createrole: bool,
    created: &mut Created,
) -> Result<MigrationRole, PgError> {
    let existing = admin
        .client
        .query_opt(
            "SELECT rolsuper FROM pg_roles WHERE rolname = $1",
            &[&MIGRATION_ROLE],
        )
        .await?
        .map(|row| row.get::<_, bool>(0));
    let password = format!(
        "{:016x}{:016x}",
        rand::random::<u64>(),
        rand::random::<u64>()
    );
    let attributes = format!(
        "LOGIN NOSUPERUSER CREATEDB {} REPLICATION BYPASSRLS PASSWORD {}",
        if createrole {
            "CREATEROLE"
        } else {
            "NOCREATEROLE"
        },
        quote_literal(&password)
    );
    let name = match existing {
        Some(false) if throwaway => {
            admin
                .client
                .batch_execute(&format!("ALTER ROLE {MIGRATION_ROLE} WITH {attributes}"))
                .await?;
            return Ok(MigrationRole {
                name: MIGRATION_ROLE.to_string(),
                password,
            });
        }
        None => MIGRATION_ROLE.to_string(),
        Some(_) => format!("migration_guard_{id}"),
    };
    admin
        .client
        .batch_execute(&format!("CREATE ROLE {} {attributes}", quote_ident(&name)))
        .await?;
    if !throwaway || name != MIGRATION_ROLE {
        created.roles.push(name.clone());
    }
    Ok(MigrationRole { name, password })
}

async fn create_database(
    admin: &Database,
    name: &str,
    template: Option<&str>,
    owner: &str,
    created: &mut Created,
) -> Result<(), ShadowError> {
    let mut sql = format!("CREATE DATABASE {}", quote_ident(name));
    if let Some(template) = template {
        sql.push_str(&format!(" TEMPLATE {}", quote_ident(template)));
    }
    sql.push_str(&format!(" OWNER {}", quote_ident(owner)));
    admin
        .client
        .batch_execute(&sql)
        .await
        .map_err(|source| ShadowError::Setup {
            step: "creating a database (the user needs CREATEDB)",
            source,
        })?;
    created.databases.push(name.to_string());
    Ok(())
}

/// Drops what the run created; best effort, each failure logged.
async fn cleanup(admin: &Database, created: &Created) {
    for database in created.databases.iter().rev() {
        let sql = format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
            quote_ident(database)
        );
        if let Err(error) = admin.client.batch_execute(&sql).await {
            tracing::warn!("could not drop the shadow database {database}: {error}");
        }
    }
    let mut roles = created.roles.clone();
    if let Some(before) = &created.roles_before
        && let Ok(rows) = admin
            .client
            .query(
                "SELECT rolname::text FROM pg_roles WHERE rolname <> ALL($1)",
                &[before],
            )
            .await
    {
        roles.extend(rows.iter().map(|row| row.get::<_, String>(0)));
        roles.dedup();
    }
    for role in roles.iter().rev() {
        let sql = format!("DROP ROLE IF EXISTS {}", quote_ident(role));
        if let Err(error) = admin.client.batch_execute(&sql).await {
            tracing::warn!("could not drop the shadow role {role}: {error}");
        }
    }
}

/// Resolves on SIGINT or SIGTERM (the runner sends both when a job is cancelled).
pub async fn interrupted() {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut interrupt), Ok(mut terminate)) = (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
    ) else {
        return std::future::pending().await;
    };
    tokio::select! {
        _ = interrupt.recv() => {}
        _ = terminate.recv() => {}
    }
    tracing::warn!("interrupted: removing the shadow");
}
