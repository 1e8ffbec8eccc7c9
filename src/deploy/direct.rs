//! A deploy target reached over a database URL: the apply engine the shadow uses, the
//! same history as `supabase db push`, and what a production database needs besides:
//! one deploy at a time (an advisory lock), lock and statement timeouts unless a file
//! sets its own, a bounded retry of a file that lost a lock race (it rolled back whole),
//! and no index left invalid by `CREATE INDEX CONCURRENTLY`.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use tokio_postgres::Config;

use crate::db::tls::Tls;
use crate::db::url::{self as server, UrlError};
use crate::db::{ConnectError, Database, PgError, quote_ident, quote_literal};
use crate::engine::{self, Applier, ApplyError};
use crate::findings::registry;
use crate::findings::span::Span;
use crate::findings::{Finding, Location, Severity};
use crate::migration::MigrationFile;
use crate::migration::history::{self, Recorded};
use crate::report::model::{LockMode, MigrationError};
use crate::report::{MigrationEntry, MigrationStatus};

/// One lock key for every deploy of migrations to a database ("mg-deploy" in ASCII).
const DEPLOY_LOCK: i64 = 0x6d67_2d64_6570_6c6f;

/// lock_timeout is SQLSTATE 55P03 (lock_not_available).
const LOCK_NOT_AVAILABLE: &str = "55P03";

/// How the target is handled.
#[derive(Debug, Clone)]
pub struct Settings {
    /// `lock_timeout` for files that set none, e.g. `5s`.
    pub lock_timeout: String,
    /// `statement_timeout` for files that set none, e.g. `10min`.
    pub statement_timeout: String,
    /// How long to wait for another deploy to finish.
    pub lock_wait: Duration,
    /// The `lock_timeout` of each retry in turn, longer each time (the last for the
    /// retries after); none: `lock_timeout` again.
    pub escalate: Vec<String>,
    /// How many times to run a file again after it failed on `lock_timeout`.
    pub retries: u32,
    /// The first wait before a retry; each next one is about twice as long.
    pub backoff: Duration,
    /// ANALYZE a table after a migration built an index on it (not CONCURRENTLY).
    pub analyze: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    #[error(transparent)]
    Url(#[from] UrlError),
    #[error("cannot connect to {target}: {reason}")]
    Connect {
        target: String,
        reason: crate::db::ConnectError,
    },
    #[error(
        "another deploy held the deploy lock on {target} for all of {waited}s (--lock-wait); it is {holder}. Wait for it to finish, or end it, then deploy again"
    )]
    LockTimeout {
        target: String,
        waited: u64,
        holder: String,
    },
    #[error("lost the connection to {target}: {source}")]
    Lost {
        target: String,
        #[source]
        source: PgError,
    },
    #[error(transparent)]
    Apply(#[from] ApplyError),
}

/// A connected deploy target.
pub struct Target {
    pub db: Database,
    /// How it was reached, password included: for pg_dump's environment.
    pub config: Config,
    /// How the target's certificate is checked (`sslmode=verify-full` and the like).
    pub tls: Tls,
    /// `user@host:port` for messages: never the password.
    pub described: String,
    settings: Settings,
    /// The timeouts as `SET` statements, when the connection could not take them at
    /// startup: run after the reset before each file.
    session_defaults: Option<String>,
}

impl Target {
    /// Connects to `url`, with the timeouts as session defaults: the CLI's `RESET ALL`
    /// before each file returns to them, and a file's own `SET` wins while it runs.
    pub async fn connect(url: &str, settings: &Settings) -> Result<Target, TargetError> {
        let server::Endpoint {
            config: mut plain,
            tls,
        } = server::parse(url)?;
        plain.application_name("migration-guard deploy");
        let mut config = plain.clone();
        config.options(format!(
            "-c lock_timeout={} -c statement_timeout={}",
            settings.lock_timeout, settings.statement_timeout
        ));
        let described = server::describe(&config);
        let connect_error = |reason| TargetError::Connect {
            target: described.clone(),
            reason,
        };
        let mut session_defaults = None;
        let db = match Database::connect_with(&config, &tls).await {
            // pgbouncer refuses the `options` startup parameter: the defaults are set
            // on the session now, and again after the reset before each file.
            Err(ConnectError::Postgres(error)) if refuses_options(&error) => {
                config = plain;
                let db = Database::connect_with(&config, &tls)
                    .await
                    .map_err(connect_error)?;
                let defaults = format!(
                    "SET lock_timeout = {}; SET statement_timeout = {}",
                    quote_literal(&settings.lock_timeout),
                    quote_literal(&settings.statement_timeout)
                );
                db.client
                    .batch_execute(&defaults)
                    .await
                    .map_err(|source| TargetError::Lost {
                        target: described.clone(),
                        source,
                    })?;
                session_defaults = Some(defaults);
                db
            }
            connected => connected.map_err(connect_error)?,
        };
        // Port 6543 was refused with the URL; a pooler on another port is found by how
        // its sessions share backends.
        if db
            .behind_transaction_pooler(&config, &tls)
            .await
            .map_err(connect_error)?
        {
            return Err(TargetError::Url(UrlError::TransactionPooler {
                described: described.clone(),
            }));
        }
        Ok(Target {
            db,
            config,
            tls,
            described,
            settings: settings.clone(),
            session_defaults,
        })
    }

    fn lost(&self, source: PgError) -> TargetError {
        TargetError::Lost {
            target: self.described.clone(),
            source,
        }
    }

    /// Takes the deploy lock, waiting for another deploy up to `lock_wait`; returns how
    /// long it waited. The lock is the session's: it goes with the connection.
    pub async fn lock(&self) -> Result<Duration, TargetError> {
        let started = Instant::now();
        let mut told = false;
        loop {
            let row = self
                .db
                .client
                .query_one("SELECT pg_try_advisory_lock($1)", &[&DEPLOY_LOCK])
                .await
                .map_err(|error| self.lost(error))?;
            if row.get::<_, bool>(0) {
                return Ok(started.elapsed());
            }
            let holder = self.lock_holder().await?;
            if started.elapsed() >= self.settings.lock_wait {
                return Err(TargetError::LockTimeout {
                    target: self.described.clone(),
                    waited: self.settings.lock_wait.as_secs(),
                    holder,
                });
            }
            if !told {
                tracing::warn!(
                    "another deploy is running on {} ({holder}); waiting up to {}s for it to finish",
                    self.described,
                    self.settings.lock_wait.as_secs()
                );
                told = true;
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }

    /// Who holds the deploy lock of this database (an advisory lock is per database: a
    /// deploy to another database of the cluster holds its own), for the waiting message.
    async fn lock_holder(&self) -> Result<String, TargetError> {
        let row = self
            .db
            .client
            .query_opt(
                "SELECT a.pid, coalesce(a.application_name, ''), \
                 coalesce(a.client_addr::text, 'local'), \
                 extract(epoch FROM now() - a.backend_start)::bigint \
                 FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid \
                 WHERE l.locktype = 'advisory' AND l.granted \
                 AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) \
                 AND ((l.classid::bigint << 32) | l.objid::bigint) = $1 \
                 ORDER BY a.backend_start LIMIT 1",
                &[&DEPLOY_LOCK],
            )
            .await
            .map_err(|error| self.lost(error))?;
        Ok(match row {
            Some(row) => format!(
                "pid {} ({}) from {}, connected {}s ago",
                row.get::<_, i32>(0),
                row.get::<_, String>(1),
                row.get::<_, String>(2),
                row.get::<_, i64>(3)
            ),
            None => "a session that has just let go".to_string(),
        })
    }

    /// What the target has applied.
    pub async fn history(&self) -> Result<Vec<Recorded>, TargetError> {
        history::read(&self.db)
            .await
            .map_err(|error| self.lost(error))
    }

    /// The server's version, e.g. `15.18`.
    pub async fn server_version(&self) -> Result<String, TargetError> {
        self.db
            .server_version()
            .await
            .map_err(|error| self.lost(error))
    }

    /// Applies `pending` in order into `applied`, stopping at the first failure (the
    /// rest `skipped`), with the findings the deploy itself raises (invalid indexes) and
    /// notes (retries). When the connection is lost, `applied` still says what happened.
    pub async fn apply(
        &self,
        pending: &[&MigrationFile],
        applied: &mut Applied,
    ) -> Result<(), TargetError> {
        let skip_rest = |applied: &mut Applied, from: usize| {
            applied.entries.extend(
                pending[from..]
                    .iter()
                    .map(|migration| MigrationEntry::new(migration, MigrationStatus::Skipped)),
            );
        };
        let mut applier = Applier::new(&self.db).await?;
        if let Some(defaults) = &self.session_defaults {
            applier = applier.session_defaults(defaults);
        }
        if !pending.is_empty() {
            applied.notes.extend(self.blockers().await?);
        }
        let mut invalid_before = self.invalid_indexes().await?;
        for (position, migration) in pending.iter().enumerate() {
            let concurrently = migration
                .source
                .to_ascii_uppercase()
                .contains("CONCURRENTLY");
            // An invalid index an earlier run of this file left: `IF NOT EXISTS` would
            // skip it, and the version would be recorded with no usable index.
            let stale: Vec<&String> = invalid_before
                .iter()
                .filter(|index| concurrently && mentions(&migration.source, last_part(index)))
                .collect();
            if !stale.is_empty() {
                applied
                    .findings
                    .push(invalid_index(migration, &stale, Left::ByAnEarlierRun));
                skip_rest(applied, position);
                break;
            }
            tracing::info!(
                "applying {} ({}/{})",
                migration.file_name,
                position + 1,
                pending.len()
            );
            let entry = match self
                .apply_with_retries(&applier, migration, &mut applied.notes)
                .await
            {
                Ok(entry) => entry,
                Err(error) => {
                    let mut entry = MigrationEntry::new(migration, MigrationStatus::Failed);
                    entry.error = Some(MigrationError {
                        message: format!(
                            "{error}; {}",
                            if engine::is_atomic(migration) {
                                "its transaction was rolled back: nothing of it was applied"
                            } else {
                                "it does not run as one transaction: check what of it was applied"
                            }
                        ),
                        ..MigrationError::default()
                    });
                    applied.entries.push(entry);
                    skip_rest(applied, position + 1);
                    return Err(error);
                }
            };
            let mut stop = entry.status == MigrationStatus::Failed;
            if !stop && self.settings.analyze {
                self.analyze_indexed(&entry).await?;
            }
            applied.entries.push(entry);
            if concurrently {
                let invalid = self.invalid_indexes().await?;
                let left: Vec<&String> = invalid
                    .iter()
                    .filter(|index| !invalid_before.contains(*index))
                    .collect();
                if !left.is_empty() {
                    applied
                        .findings
                        .push(invalid_index(migration, &left, Left::ByThisRun));
                    stop = true;
                }
                invalid_before = invalid;
            }
            if stop {
                skip_rest(applied, position + 1);
                break;
            }
        }
        Ok(())
    }

    async fn apply_with_retries(
        &self,
        applier: &Applier<'_>,
        migration: &MigrationFile,
        notes: &mut Vec<String>,
    ) -> Result<MigrationEntry, TargetError> {
        let mut wait = self.settings.backoff;
        let mut attempt = 0;
        let mut escalated: Option<Applier<'_>> = None;
        loop {
            let entry = escalated
                .as_ref()
                .unwrap_or(applier)
                .apply(migration)
                .await?;
            let lost_lock_race = entry
                .error
                .as_ref()
                .is_some_and(|error| error.sqlstate.as_deref() == Some(LOCK_NOT_AVAILABLE));
            if !lost_lock_race || attempt >= self.settings.retries || !engine::is_atomic(migration)
            {
                if attempt > 0 {
                    notes.push(format!(
                        "{}: ran {} times; the earlier runs hit lock_timeout and rolled back whole",
                        migration.file_name,
                        attempt + 1
                    ));
                }
                return Ok(entry);
            }
            attempt += 1;
            let timeout = self
                .settings
                .escalate
                .get(attempt as usize - 1)
                .or(self.settings.escalate.last());
            // A little jitter: two deploys that lost to the same lock do not retry in step.
            let jittered = wait.mul_f64(rand::random_range(0.75..1.25));
            tracing::warn!(
                "{} waited longer than lock_timeout for a lock and rolled back whole; running it again in {:.1}s{} ({attempt} of {})",
                migration.file_name,
                jittered.as_secs_f32(),
                timeout.map_or(String::new(), |timeout| format!(
                    " with lock_timeout {timeout}"
                )),
                self.settings.retries
            );
            // Who holds it up, said each time.
            if let Some(blockers) = self.blockers().await? {
                tracing::warn!("{blockers}");
            }
            if let Some(timeout) = timeout {
                // After the connection's own defaults, so that this one wins.
                let set = format!("SET lock_timeout = {}", quote_literal(timeout));
                let defaults = match &self.session_defaults {
                    Some(defaults) => format!("{defaults}; {set}"),
                    None => set,
                };
                escalated = Some(Applier::new(&self.db).await?.session_defaults(&defaults));
            }
            tokio::time::sleep(jittered).await;
            wait *= 2;
        }
    }

    /// ANALYZE each existing table `entry` built an index on without CONCURRENTLY (a
    /// SHARE lock on it): the planner learns the statistics of the index's expressions
    /// now, not whenever autovacuum comes by. ANALYZE blocks neither reads nor writes.
    async fn analyze_indexed(&self, entry: &MigrationEntry) -> Result<(), TargetError> {
        let indexed = entry.locks.iter().filter(|lock| {
            lock.mode == LockMode::Share && matches!(lock.kind, "table" | "partitioned table")
        });
        for lock in indexed {
            let Some((schema, table)) = lock.relation.split_once('.') else {
                continue;
            };
            let sql = format!("ANALYZE {}.{}", quote_ident(schema), quote_ident(table));
            tracing::info!("{sql} (after its index build)");
            self.db
                .client
                .batch_execute(&sql)
                .await
                .map_err(|error| self.lost(error))?;
        }
        Ok(())
    }

    /// The target's sessions that would hold up the migrations' locks, said before the
    /// first is taken: open transactions idle for more than 5 s (they keep every lock
    /// they took, and a DDL lock queued behind them blocks everyone after it) and
    /// queries running for more than 30 s.
    async fn blockers(&self) -> Result<Option<String>, TargetError> {
        let rows = self
            .db
            .client
            .query(BLOCKERS, &[])
            .await
            .map_err(|error| self.lost(error))?;
        if rows.is_empty() {
            return Ok(None);
        }
        let sessions: Vec<String> = rows
            .iter()
            .map(|row| {
                let (pid, user, application): (i32, String, String) =
                    (row.get(0), row.get(1), row.get(2));
                let (state, seconds, since, query): (String, f64, String, String) =
                    (row.get(3), row.get(4), row.get(5), row.get(6));
                let who = match application.as_str() {
                    "" => user,
                    _ => format!("{user}, {application}"),
                };
                let query = query.split_whitespace().collect::<Vec<_>>().join(" ");
                format!(
                    "pid {pid} ({who}) {state} for {} since {since}: `{query}`",
                    age(seconds)
                )
            })
            .collect();
        tracing::warn!(
            "{} session(s) on {} may hold up the migrations' locks",
            sessions.len(),
            self.described
        );
        Ok(Some(format!(
            "Sessions on {} that may hold up the migrations' locks (each file waits for them up to lock_timeout, then retries): {}.",
            self.described,
            sessions.join("; ")
        )))
    }

    /// Every invalid index, as `schema.name`.
    async fn invalid_indexes(&self) -> Result<BTreeSet<String>, TargetError> {
        let rows = self
            .db
            .client
            .query(
                "SELECT quote_ident(n.nspname) || '.' || quote_ident(c.relname) \
                 FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid \
                 JOIN pg_namespace n ON n.oid = c.relnamespace WHERE NOT i.indisvalid",
                &[],
            )
            .await
            .map_err(|error| self.lost(error))?;
        Ok(rows.iter().map(|row| row.get(0)).collect())
    }
}

/// What [`Target::apply`] did.
#[derive(Debug, Default)]
pub struct Applied {
    pub entries: Vec<MigrationEntry>,
    pub findings: Vec<Finding>,
    pub notes: Vec<String>,
}

/// The sessions a deploy's locks would wait for (see [`Target::blockers`]).
const BLOCKERS: &str = "SELECT pid, coalesce(usename::text, ''), coalesce(application_name, ''), state, \
     extract(epoch FROM now() - coalesce(xact_start, query_start))::float8, \
     to_char(coalesce(xact_start, query_start) AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS \"UTC\"'), \
     left(coalesce(query, ''), 160) \
     FROM pg_stat_activity \
     WHERE datname = current_database() AND pid <> pg_backend_pid() \
     AND backend_type = 'client backend' \
     AND ((state LIKE 'idle in transaction%' AND xact_start < now() - interval '5 seconds') \
       OR (state = 'active' AND query_start < now() - interval '30 seconds')) \
     ORDER BY 5 DESC LIMIT 10";

/// `seconds` as a person says it: `42 s`, `12 min`, `3 h`.
fn age(seconds: f64) -> String {
    match seconds {
        s if s < 120.0 => format!("{} s", s.round()),
        s if s < 7200.0 => format!("{} min", (s / 60.0).round()),
        s => format!("{} h", (s / 3600.0).round()),
    }
}

/// Whether the server (a pooler) refused the `options` startup parameter.
fn refuses_options(error: &PgError) -> bool {
    error
        .as_db_error()
        .is_some_and(|error| error.message().contains("unsupported startup parameter"))
}

/// An index name without its schema.
fn last_part(index: &str) -> &str {
    index.rsplit('.').next().unwrap_or(index)
}

/// Who left an invalid index.
enum Left {
    /// The file just applied.
    ByThisRun,
    /// An earlier run of the file about to be applied.
    ByAnEarlierRun,
}

fn mentions(source: &str, index: &str) -> bool {
    source
        .to_ascii_lowercase()
        .contains(&index.trim_matches('"').to_ascii_lowercase())
}

fn invalid_index(migration: &MigrationFile, indexes: &[&String], left: Left) -> Finding {
    let names = indexes
        .iter()
        .map(|index| index.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    let at = migration
        .source
        .to_ascii_uppercase()
        .find("CONCURRENTLY")
        .unwrap_or(0);
    Finding {
        rule: registry::INVALID_INDEX.id,
        severity: Severity::Error,
        location: Some(Location {
            file: migration.path.clone(),
            span: Span::new(at, at),
        }),
        message: match left {
            Left::ByThisRun => format!(
                "{names} is INVALID after {}: a CREATE INDEX CONCURRENTLY failed or was cancelled part way. The index is not used for reads but slows every write, and `CREATE INDEX CONCURRENTLY IF NOT EXISTS` skips it forever",
                migration.file_name
            ),
            Left::ByAnEarlierRun => format!(
                "{names} is INVALID, left by an earlier run of {}: run now, its `IF NOT EXISTS` would skip the index and record the version as applied with no usable index, so the file was not run",
                migration.file_name
            ),
        },
        help: Some(format!(
            "drop it (`DROP INDEX CONCURRENTLY {names};`), fix the cause (duplicate values for a unique index, a deadlock, a timeout), then build it again in a new migration"
        )),
    }
}
