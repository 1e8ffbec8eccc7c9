//! The shadow: a throwaway Postgres that every migration is applied to before it goes
//! anywhere real. This module only provides it; `pipeline` runs the migrations and the
//! checks there.
//!
//! A provider gives a server and a superuser connection; the shadow creates a database
//! for the run and builds the Supabase emulation in it (unless turned off).
//! Migrations get a session that logs in as a role that, like hosted `postgres`, is no
//! superuser and cannot become one: a pull request's SQL is untrusted input. What hosted Supabase lets `postgres` do with more rights goes through the
//! [`gate`]. Whatever happens, the databases, the run's roles (or the whole cluster) are
//! removed afterwards.

pub mod docker;
pub mod extensions;
pub mod gate;
pub mod local;
pub mod supautils;

use std::path::PathBuf;

use tokio_postgres::Config;

use crate::db::quote_literal;
use crate::db::tls::Tls;
use crate::db::{Database, PgError, quote_ident};
use crate::findings::Finding;
use crate::migration::MigrationFile;
use crate::report::model::PostgresInfo;
use crate::supabase::project::SupabaseProject;

use crate::db::url::{self as server, UrlError};
use docker::{DockerError, DockerOptions, DockerShadow};
use extensions::Extensions;
use gate::Gate;
use local::{LocalCluster, LocalError};
use supautils::Supautils;

const COMPAT_ROLES: &str = include_str!("compat/roles.sql");
const COMPAT_SCHEMA: &str = include_str!("compat/schema.sql");
const API_EXPLICIT: &str = include_str!("compat/api-explicit.sql");
/// Bumped whenever the emulation changes, and shown in reports.
pub const COMPAT_VERSION: &str = "supabase-compat 4";
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
    /// The Supabase project the migrations belong to, when they do.
    pub supabase: Option<SupabaseProject>,
    /// What the migration role creates in `public` is granted to the Data API's roles
    /// (the platform's former default); otherwise nothing is until a migration grants it.
    pub automatic_api_grants: bool,
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
    /// How the server's certificate is checked (a `url` server's `sslmode`).
    tls: Tls,
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
                let endpoint = server::parse(url)?;
                Ok(Server {
                    admin: endpoint.config,
                    tls: endpoint.tls,
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
                    tls: Tls::EncryptOnly,
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
            tls: Tls::EncryptOnly,
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
        Database::connect_with(config, &self.tls)
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

/// A started shadow server with a superuser session on it, and what the run made there;
/// [`Shadow::stop`] removes it all.
pub struct Shadow {
    server: Server,
    admin: Database,
    id: String,
    created: Created,
}

/// The server made ready for migrations ([`Shadow::prepare`]): the role they log in as,
/// and with the emulation its roles, the gate, and the extensions it stands in for.
pub struct Prepared {
    /// What the report says of the server.
    pub postgres: PostgresInfo,
    /// What the reader should know (the project runs another Postgres).
    pub notes: Vec<String>,
    emulate: bool,
    /// The Data API's roles get nothing automatically (today's platform default).
    explicit_api_grants: bool,
    createrole: bool,
    role: MigrationRole,
    gate: Gate,
    extensions: Extensions,
}

/// The shadow database, twice: the migrations' session, logged in as the migration
/// role, and the tool's own superuser session (installing pgTAP, plpgsql_check), which
/// migrations never reach.
pub struct Databases {
    pub migrations: Database,
    pub privileged: Database,
}

impl Shadow {
    /// Starts a server of the provider `options` choose and opens its superuser session.
    pub async fn start(options: &ShadowOptions) -> Result<Shadow, ShadowError> {
        let id = format!("{:08x}", rand::random::<u32>());
        let server = Server::start(options, &id).await?;
        let admin = match server.connect(&server.admin).await {
            Ok(admin) => admin,
            Err(error) => {
                server.shutdown().await;
                return Err(error);
            }
        };
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
                Ok(rows) => {
                    created.roles_before = Some(rows.iter().map(|row| row.get(0)).collect())
                }
                Err(error) => tracing::warn!("cannot list the server's roles: {error}"),
            }
        }
        Ok(Shadow {
            server,
            admin,
            id,
            created,
        })
    }

    /// The migration role, and with the emulation Supabase's roles and the gate's.
    pub async fn prepare(&mut self, options: &ShadowOptions) -> Result<Prepared, ShadowError> {
        let setup = |step| move |source| ShadowError::Setup { step, source };
        let admin = &self.admin;
        let emulate = options.supabase_compat && !self.server.real_supabase;
        let server_version = admin
            .server_version()
            .await
            .map_err(setup("reading the server version"))?;
        let mut notes = Vec::new();
        if let Some(project) = &options.supabase {
            let major = server_version.split('.').next().unwrap_or_default();
            if major != project.major_version.to_string() {
                notes.push(format!(
                    "{} says the project runs Postgres {}, but this shadow ran {server_version}: run it on {} (Docker) to test what the project runs",
                    project.config.display(),
                    project.major_version,
                    project.image()
                ));
            }
        }
        let postgres = PostgresInfo {
            provider: self.server.provider.to_string(),
            server_version,
            supabase_compat: if self.server.real_supabase {
                Some("supabase/postgres image")
            } else {
                emulate.then_some(COMPAT_VERSION)
            },
            ready_ms: None,
        };
        let major: u32 = admin
            .client
            .query_one("SHOW server_version_num", &[])
            .await
            .map_err(setup("reading the server version"))?
            .get::<_, String>(0)
            .parse::<u32>()
            .unwrap_or_default()
            / 10000;
        // Before 16, CREATEROLE may grant any role that is no superuser, the server's
        // program and file roles among them; there role statements go through the gate.
        let createrole = major >= 16 || self.server.real_supabase;
        let role = migration_role(
            admin,
            &self.id,
            !matches!(self.server.backing, Backing::Url),
            createrole,
            &mut self.created,
        )
        .await
        .map_err(setup("creating the migration role"))?;
        let gate = Gate::new(&format!("migration_guard_roles_{}", self.id));
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
            self.created.roles.push(gate.role_admin().to_string());
        }
        let extensions = Extensions::read(admin, emulate && options.extension_stubs, &role.name)
            .await
            .map_err(setup("reading the available extensions"))?;
        Ok(Prepared {
            postgres,
            notes,
            emulate,
            explicit_api_grants: !options.automatic_api_grants,
            createrole,
            role,
            gate,
            extensions,
        })
    }

    /// A fresh database for the migrations, with the emulation (Supabase's schemas, the
    /// extension stand-ins and the gate).
    pub async fn databases(&mut self, prepared: &Prepared) -> Result<Databases, ShadowError> {
        self.database(prepared, "shadow").await
    }

    /// Another fresh database built the same way, for `purpose` (a word): what the
    /// declarative schema files build, beside what the migrations built.
    ///
    /// Each is built in place rather than cloned from a template built once: a run
    /// needs one database, rarely two, and a clone (`CREATE DATABASE … TEMPLATE`) costs
    /// more than building the emulation again.
    pub async fn database(
        &mut self,
        prepared: &Prepared,
        purpose: &str,
    ) -> Result<Databases, ShadowError> {
        let owner = &prepared.role.name;
        let name = format!("migration_guard_{purpose}_{}", self.id);
        create_database(&self.admin, &name, owner, &mut self.created).await?;
        let privileged = self.server.connect(&self.server.config_for(&name)).await?;
        if prepared.emulate {
            emulate(&privileged, prepared).await?;
        }
        // The migrations' session logs in as the migration role: nothing it runs can step
        // back to a superuser. With the emulation, hosted Supabase's search_path.
        let mut config = self.server.config_for(&name);
        config
            .user(owner)
            .password(prepared.role.password.as_bytes());
        if prepared.emulate {
            config.options("-c search_path=\"$user\",public,extensions");
        }
        Ok(Databases {
            migrations: self.server.connect(&config).await?,
            privileged,
        })
    }

    /// Drops what the run created, then stops the cluster or removes the container.
    pub async fn stop(self) {
        cleanup(&self.admin, &self.created).await;
        drop(self.admin);
        self.server.shutdown().await;
    }
}

impl Prepared {
    /// What the migrations need of extensions: those the server lacks and cannot stand
    /// in for (`extension-unavailable`), and those stood in for.
    pub fn survey(&self, migrations: &[MigrationFile]) -> Vec<Finding> {
        self.extensions.survey(migrations)
    }

    /// What supautils lets hosted `postgres` do, run through the gate: with the
    /// emulation only.
    pub fn supautils(&self) -> Option<Supautils<'_>> {
        self.emulate.then_some(Supautils {
            extensions: &self.extensions,
            gate: &self.gate,
            roles_through_gate: !self.createrole,
        })
    }
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

/// Builds, as the superuser, what hosted Supabase has in every database: the
/// emulation, the extension stand-ins, the Data API's grants and the gate.
async fn emulate(db: &Database, prepared: &Prepared) -> Result<(), ShadowError> {
    let owner = &prepared.role.name;
    tracing::info!("building the Supabase emulation ({COMPAT_VERSION})");
    for (sql, step) in [
        (
            COMPAT_SCHEMA.replace("{role}", owner),
            "applying the Supabase emulation",
        ),
        (
            prepared.extensions.database_sql(),
            "installing the extension stand-ins",
        ),
        (
            if prepared.explicit_api_grants {
                API_EXPLICIT.replace("{role}", owner)
            } else {
                String::new()
            },
            "revoking the Data API's automatic grants",
        ),
        (prepared.gate.install_sql(owner), "installing the gate"),
    ] {
        db.client
            .batch_execute(&sql)
            .await
            .map_err(|source| ShadowError::Setup { step, source })?;
    }
    Ok(())
}

async fn create_database(
    admin: &Database,
    name: &str,
    owner: &str,
    created: &mut Created,
) -> Result<(), ShadowError> {
    let sql = format!(
        "CREATE DATABASE {} OWNER {}",
        quote_ident(name),
        quote_ident(owner)
    );
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
        sessions_gone(admin, database).await;
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

/// Waits, briefly, for the sessions of `database` to end: the run's own connections are
/// closed as it ends, but their server processes take a moment to exit, and a `DROP
/// DATABASE … WITH (FORCE)` that finds one still there waits 100 ms before it looks
/// again.
async fn sessions_gone(admin: &Database, database: &str) {
    const POLL: std::time::Duration = std::time::Duration::from_millis(2);
    const PATIENCE: std::time::Duration = std::time::Duration::from_millis(500);
    let started = std::time::Instant::now();
    while started.elapsed() < PATIENCE {
        let sessions = admin
            .client
            .query_one(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = $1",
                &[&database],
            )
            .await;
        match sessions {
            Ok(row) if row.get::<_, i64>(0) > 0 => tokio::time::sleep(POLL).await,
            _ => return,
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
