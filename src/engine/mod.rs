//! The apply engine: runs migration files statement by statement, each file with its
//! history row, stopping at the first error like `psql -v ON_ERROR_STOP=1`.
//!
//! One algorithm for every target; only the [`Database`] it is given differs. A file runs
//! in one transaction together with its `schema_migrations` row, unless the file says
//! otherwise: a file wrapped in its own `BEGIN … COMMIT` keeps it (the row goes in before
//! its `COMMIT`), a file with other transaction control runs as written, and statements
//! Postgres refuses inside a transaction (`CREATE INDEX CONCURRENTLY`, `VACUUM`, …) run on
//! their own between transactions. The report says which way each file ran.

pub mod seed;

use std::collections::HashMap;
use std::fmt;
use std::sync::Mutex;
use std::time::Instant;

use tokio_postgres::error::ErrorPosition;

use crate::catalog::Touched;
use crate::db::{Database, PgError, pipelined};
use crate::findings::Location;
use crate::findings::span::Span;
use crate::migration::{MigrationFile, history};
use crate::report::model::{LockEvidence, LockMode, MigrationError, Size, TableEvidence};
use crate::report::{MigrationEntry, MigrationStatus};
use crate::sql::classify::{ClientCopy, TxRole, client_copy, locks_nothing, tx_role};
use crate::sql::one_relation::locks_only;

/// Why the engine could not go on: not the migration's fault, the tool's or the server's.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    #[error("lost the connection to Postgres while applying {file}: {source}")]
    Connection {
        file: String,
        #[source]
        source: PgError,
    },
    #[error("cannot create or prepare supabase_migrations.schema_migrations: {0}")]
    History(#[source] PgError),
    #[error("cannot prepare the looks at what a migration holds and touched: {0}")]
    Locks(#[source] PgError),
}

/// What a file's session was seen to do as it ran.
#[derive(Debug, Default)]
pub struct Observed {
    /// Its locks, after each statement when watching them, and before its last commit.
    pub looks: Vec<Observation>,
    /// What its last transaction touched in the catalog, read before that transaction's
    /// commit (when watching statements); for a file that ran as one transaction, all
    /// the file touched.
    pub touched: Option<Touched>,
}

/// How a file's statements were grouped into transactions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransactionMode {
    /// One transaction around the file and its history row.
    Wrapped,
    /// The file's own `BEGIN … COMMIT`; the history row went in before its `COMMIT`.
    FileOwned,
    /// The file controls transactions itself; it ran as written, the row after it.
    Authored,
    /// Statements that cannot run in a transaction ran on their own in between.
    Split { outside: usize, transactions: usize },
}

impl fmt::Display for TransactionMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TransactionMode::Wrapped => write!(f, "one transaction"),
            TransactionMode::FileOwned => write!(f, "the file's own BEGIN/COMMIT"),
            TransactionMode::Authored => {
                write!(
                    f,
                    "as written (the file controls its transactions; not atomic)"
                )
            }
            TransactionMode::Split {
                outside,
                transactions,
            } => write!(
                f,
                "{outside} statement(s) outside a transaction, the rest in {transactions} transaction(s) (not atomic)"
            ),
        }
    }
}

/// Applies `migrations` in order; after the first failure the rest are `skipped`.
pub async fn apply_all(
    db: &Database,
    migrations: &[MigrationFile],
) -> Result<Vec<MigrationEntry>, ApplyError> {
    Applier::new(db).await?.apply_all(migrations).await
}

/// What a file's session held at one moment: its locks on relations that existed before
/// the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observation {
    /// The statement just run; `None` for the look just before the file's last commit
    /// (taken when the statement before it had no look of its own).
    pub statement: Option<usize>,
    /// When that statement was sent, or when the look before it answered if that was
    /// later (statements sent together run one after another); for the last look, when
    /// the look was sent.
    pub started: Instant,
    /// When the look answered.
    pub seen: Instant,
    pub held: Vec<Held>,
    /// Whether `lock_timeout` was set (not 0) at the look: a statement before it waited
    /// for its locks only as long as that.
    pub lock_timeout: bool,
}

/// One lock the session held.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Held {
    /// Schema-qualified; empty for a relation this transaction dropped.
    pub relation: String,
    /// `table`, `index`, `sequence`, `view`, `materialized view`, …
    pub kind: &'static str,
    pub mode: LockMode,
    /// The relation's storage file in this session's view, which a rewrite replaces (0
    /// for a relation with none).
    pub relfilenode: u32,
    /// The relation's oid.
    pub oid: u32,
    /// The file created the relation: its locks block nobody.
    pub created: bool,
    /// Full scans of it this transaction so far (a validation, a backfill's).
    pub scans: i64,
}

impl Held {
    pub fn is_table(&self) -> bool {
        matches!(self.kind, "table" | "partitioned table")
    }
}

/// Says which statements the shadow runs otherwise than as written, because hosted
/// Supabase does (supautils). Only the shadow has one; a deploy runs every statement as
/// written.
pub trait Reroute: Send + Sync {
    /// The SQL to run in the statement's place, on the same session and so in its
    /// transaction; errors in it point at the statement's start.
    fn reroute(&self, statement: &str) -> Option<String>;
}

/// The reads a file's session makes besides its statements, prepared once: each costs
/// its execution, not a parse and a plan.
struct Looks {
    /// [`LOCKS`].
    locks: tokio_postgres::Statement,
    /// [`TOUCHED`].
    touched: tokio_postgres::Statement,
    /// [`NEWEST_RELATION`].
    newest: tokio_postgres::Statement,
    /// [`FLUSH_SCAN_COUNTS`]; none before Postgres 15, which lacks the function.
    flush: Option<tokio_postgres::Statement>,
}

/// Applies one file at a time to one database, recording each in its history.
pub struct Applier<'d> {
    db: &'d Database,
    insert: tokio_postgres::Statement,
    looks: Looks,
    /// What runs before each file: the reset, and the session defaults a connection
    /// could not take at startup.
    prelude: String,
    watch_statements: bool,
    read_sizes: bool,
    reroute: Option<&'d dyn Reroute>,
    /// The newest relation as the last file committed, read before its commit; 0 when
    /// it was not. What the next file's looks take as there before it (see [`LOCKS`]).
    newest: std::sync::atomic::AtomicU32,
}

impl<'d> Applier<'d> {
    /// Creates the history table if needed and prepares its insert and the [`Looks`].
    pub async fn new(db: &'d Database) -> Result<Applier<'d>, ApplyError> {
        history::ensure_table(db)
            .await
            .map_err(ApplyError::History)?;
        let (insert, locks, touched, newest, flush) = tokio::join!(
            history::prepare_insert(db),
            db.client.prepare_typed(
                LOCKS,
                &[
                    tokio_postgres::types::Type::TEXT,
                    tokio_postgres::types::Type::OID
                ]
            ),
            db.client.prepare(TOUCHED),
            db.client.prepare(NEWEST_RELATION),
            db.client.prepare(FLUSH_SCAN_COUNTS)
        );
        let insert = insert.map_err(ApplyError::History)?;
        let looks = Looks {
            locks: locks.map_err(ApplyError::Locks)?,
            touched: touched.map_err(ApplyError::Locks)?,
            newest: newest.map_err(ApplyError::Locks)?,
            flush: flush.ok(),
        };
        Ok(Applier {
            db,
            insert,
            looks,
            prelude: FILE_PRELUDE.to_string(),
            watch_statements: false,
            read_sizes: false,
            reroute: None,
            newest: std::sync::atomic::AtomicU32::new(0),
        })
    }

    /// Sets `settings` (`SET …` statements) after the reset before each file: the
    /// session defaults of a connection that could not take them at startup (a pooler
    /// that refuses the `options` parameter).
    pub fn session_defaults(mut self, settings: &str) -> Self {
        self.prelude = format!("{FILE_PRELUDE}; {settings}");
        self
    }

    /// Runs the statements `reroute` names its way.
    pub fn rerouting(mut self, reroute: Option<&'d dyn Reroute>) -> Self {
        self.reroute = reroute;
        self
    }

    /// Looks at the locks after every statement, not only before the commit, so each lock
    /// and rewrite is pinned to the statement that made it. The look is pipelined with the
    /// statement: no extra round trip.
    pub fn watching_statements(mut self) -> Self {
        self.watch_statements = true;
        self
    }

    /// With `on`, reads the tables' sizes as each file starts (each lock's `size`): worth
    /// it when they hold data (`--seed-rows`); on empty tables there is nothing to read.
    pub fn reading_sizes(mut self, on: bool) -> Self {
        self.read_sizes = on;
        self
    }

    /// Applies `migrations` in order; after the first failure the rest are `skipped`.
    pub async fn apply_all(
        &self,
        migrations: &[MigrationFile],
    ) -> Result<Vec<MigrationEntry>, ApplyError> {
        let mut entries = Vec::with_capacity(migrations.len());
        let mut failed = false;
        for (position, migration) in migrations.iter().enumerate() {
            if failed {
                entries.push(MigrationEntry::new(migration, MigrationStatus::Skipped));
                continue;
            }
            tracing::info!(
                "applying {} ({}/{})",
                migration.file_name,
                position + 1,
                migrations.len()
            );
            let entry = self.apply(migration).await?;
            failed = entry.status == MigrationStatus::Failed;
            entries.push(entry);
        }
        Ok(entries)
    }

    /// Applies `migration`: `applied`, or `failed` with the error where it happened.
    pub async fn apply(&self, migration: &MigrationFile) -> Result<MigrationEntry, ApplyError> {
        Ok(self.apply_observed(migration).await?.0)
    }

    /// [`Applier::apply`], and what the session was seen to hold as the file ran.
    pub async fn apply_observed(
        &self,
        migration: &MigrationFile,
    ) -> Result<(MigrationEntry, Observed), ApplyError> {
        let mut entry = MigrationEntry::new(migration, MigrationStatus::Skipped);
        let started = Instant::now();
        let session = Session {
            watch_statements: self.watch_statements,
            read_sizes: self.read_sizes,
            reroute: self.reroute,
            looks: Some(&self.looks),
            known_existing: self.newest.swap(0, std::sync::atomic::Ordering::Relaxed),
            ..Session::new(self.db, migration)
        };
        let file = File::new(session, &self.insert, &self.prelude);
        let outcome = file.apply().await;
        if outcome.is_ok() {
            self.newest.store(
                file.session
                    .newest_at_end
                    .load(std::sync::atomic::Ordering::Relaxed),
                std::sync::atomic::Ordering::Relaxed,
            );
        }
        let sizes = std::mem::take(
            &mut *file
                .session
                .sizes
                .lock()
                .expect("sizes are set without panicking"),
        );
        let touched = std::mem::take(
            &mut *file
                .session
                .touched_seen
                .lock()
                .expect("what was touched is set without panicking"),
        );
        let mut observed = file.session.observed.into_inner().unwrap_or_default();
        // The newest relation as the file started was read in the round trip of its first
        // statement: what is newer, the file created.
        let existing = file
            .session
            .existing
            .load(std::sync::atomic::Ordering::Relaxed);
        for held in observed.iter_mut().flat_map(|look| &mut look.held) {
            held.created = held.oid > existing;
        }
        entry.duration_ms = Some(started.elapsed().as_millis() as u64);
        entry.notices = self
            .db
            .take_notices()
            .iter()
            .map(ToString::to_string)
            .collect();
        match outcome {
            Ok(mode) => {
                entry.status = MigrationStatus::Applied;
                entry.transaction = Some(mode.to_string());
                entry.locks = locks(migration, &observed, &sizes);
            }
            Err(Step::Failed(mut error)) => {
                entry.status = MigrationStatus::Failed;
                if let Some(failed) = error.statement_index {
                    error.stayed = committed_before(migration, failed)
                        .into_iter()
                        .map(|index| {
                            let start =
                                migration.split.statements[index].code_start(&migration.source);
                            let at = Location {
                                file: migration.path.clone(),
                                span: Span::new(start, start),
                            };
                            (index, at)
                        })
                        .collect();
                }
                entry.error = Some(*error);
            }
            Err(Step::Connection(source)) => {
                return Err(ApplyError::Connection {
                    file: migration.file_name.clone(),
                    source,
                });
            }
        }
        Ok((
            entry,
            Observed {
                looks: observed,
                touched,
            },
        ))
    }
}

/// Each lock `observed` (a relation and a mode) on a relation that existed before the
/// file, at the first statement it was seen held after, held until the last look that
/// saw it; a weaker mode taken while a stronger one was held is left out (ALTER TABLE's
/// ACCESS EXCLUSIVE covers the SHARE its index rebuild also takes).
fn locks(
    migration: &MigrationFile,
    observed: &[Observation],
    sizes: &HashMap<String, Size>,
) -> Vec<LockEvidence> {
    let mut locks: Vec<(LockEvidence, Instant, Instant)> = Vec::new();
    for observation in observed {
        // The history row is the deploy's own write, not the migration's.
        let mine = observation.held.iter().filter(|held| {
            !held.created && !held.relation.is_empty() && held.relation != history::TABLE
        });
        for held in mine {
            match locks
                .iter_mut()
                .find(|(lock, _, _)| lock.relation == held.relation && lock.mode == held.mode)
            {
                Some((lock, _, last)) => {
                    *last = observation.seen;
                    if observation.statement.is_some() {
                        lock.through = observation.statement;
                    }
                }
                None => {
                    let at = evidence(migration, &held.relation, observation.statement);
                    locks.push((
                        LockEvidence {
                            relation: held.relation.clone(),
                            kind: held.kind,
                            mode: held.mode,
                            statement_index: at.statement_index,
                            at: at.at,
                            held: None,
                            through: observation.statement,
                            size: sizes.get(&held.relation).copied(),
                            work: Vec::new(),
                            predicted: None,
                        },
                        observation.started,
                        observation.seen,
                    ));
                }
            }
        }
    }
    // A weaker mode taken while a stronger one was already held (by the same statement
    // or an earlier one) blocks nothing more.
    let covered = |lock: &LockEvidence| {
        locks.iter().any(|(other, _, _)| {
            other.relation == lock.relation
                && other.mode > lock.mode
                && match (other.statement_index, lock.statement_index) {
                    (Some(other), Some(this)) => other <= this,
                    (other, this) => other == this,
                }
        })
    };
    locks
        .iter()
        .filter(|(lock, _, _)| !covered(lock))
        .map(|(lock, started, last)| LockEvidence {
            held: lock
                .statement_index
                .map(|_| last.saturating_duration_since(*started)),
            ..lock.clone()
        })
        .collect()
}

/// `table`, pinned to `migration`'s statement `statement` when known.
pub fn evidence(migration: &MigrationFile, table: &str, statement: Option<usize>) -> TableEvidence {
    TableEvidence {
        table: table.to_string(),
        statement_index: statement,
        at: statement.map(|index| {
            let start = migration.split.statements[index].code_start(&migration.source);
            Location {
                file: migration.path.clone(),
                span: Span::new(start, start),
            }
        }),
    }
}

/// A migration run a second time, inside a transaction the caller rolls back.
#[derive(Debug)]
pub enum Rehearsal {
    /// Every statement ran again; `outside` statements that cannot run in a transaction
    /// (`CREATE INDEX CONCURRENTLY`, …) were left out.
    Ran { outside: usize },
    /// A statement failed the second time (the transaction is aborted).
    Failed(Box<MigrationError>),
}

/// Runs a script (a seed, a declarative schema file) in one transaction of its own,
/// without a history row: committed when every statement ran, rolled back at the first
/// failure, which it returns.
pub async fn run_script(
    db: &Database,
    script: &MigrationFile,
    reroute: Option<&dyn Reroute>,
) -> Result<Option<Box<MigrationError>>, ApplyError> {
    let connection = |source| ApplyError::Connection {
        file: script.file_name.clone(),
        source,
    };
    let (end, failure) = match rehearse(db, script, reroute, "BEGIN").await? {
        Rehearsal::Ran { .. } => ("COMMIT", None),
        Rehearsal::Failed(error) => ("ROLLBACK", Some(error)),
    };
    db.client.batch_execute(end).await.map_err(connection)?;
    Ok(failure)
}

/// How many statements of a transaction are sent before their answers are awaited.
const PIPELINE: usize = 32;

/// Runs `migration`'s statements again in the caller's transaction, without its own
/// transaction control and without a history row: the caller looks at what the second
/// run changed, then rolls it back. `opening` is the caller's transaction control
/// (`BEGIN`, a savepoint), sent with the session's reset in the same round trip as the
/// first statements.
///
/// The statements are sent as [`Session::pipeline`] sends them.
pub async fn rehearse(
    db: &Database,
    migration: &MigrationFile,
    reroute: Option<&dyn Reroute>,
    opening: &str,
) -> Result<Rehearsal, ApplyError> {
    let connection = |source| ApplyError::Connection {
        file: migration.file_name.clone(),
        source,
    };
    let session = Session {
        reroute,
        ..Session::new(db, migration)
    };
    let (runnable, outside) = rehearsed(migration);
    // What opens the file is not the file's: its failure is no failure of the file.
    let opening = format!("{opening}; {FILE_PRELUDE}");
    let (opened, ran) = tokio::join!(session.send(&opening), session.pipeline(None, &runnable));
    opened.map_err(connection)?;
    match ran {
        Ok(()) => Ok(Rehearsal::Ran { outside }),
        Err(Step::Failed(error)) => Ok(Rehearsal::Failed(error)),
        Err(Step::Connection(source)) => Err(connection(source)),
    }
}

/// The statements of `migration` a rehearsal runs (those that can run in the caller's
/// transaction), and how many it leaves out (those that cannot run in one).
fn rehearsed(migration: &MigrationFile) -> (Vec<usize>, usize) {
    let roles = File::roles(migration);
    let outside = roles
        .iter()
        .filter(|(_, role)| *role == TxRole::NoTransaction)
        .count();
    let runnable = roles
        .iter()
        .filter(|(_, role)| matches!(role, TxRole::Plain | TxRole::CommitAfter))
        .map(|(index, _)| *index)
        .collect();
    (runnable, outside)
}

/// How many files [`rehearse_each`] sends at most before awaiting their answers.
const FILES_AT_ONCE: usize = 16;

const SAVEPOINT: &str = "SAVEPOINT migration_guard_second_run";
const RELEASE: &str = "RELEASE SAVEPOINT migration_guard_second_run";
const ROLLBACK_TO: &str = "ROLLBACK TO SAVEPOINT migration_guard_second_run";

/// Runs `migrations` (one at least) again in order, each as [`rehearse`] runs one, in
/// a transaction that `opening` (`BEGIN`) starts and the caller ends: each under a
/// savepoint, so a file that fails is named and the next ones still run on what the
/// files before it did. Returns what each did, and what ends the last one's savepoint
/// (released, or rolled back to when it failed), for the caller to send.
///
/// Files go out several at a time, each sent before the answers of those before it:
/// while they succeed, up to [`FILES_AT_ONCE`] share a round trip. After a file that
/// fails, those sent behind it ran in an aborted transaction: they are sent again, one
/// at a time at first, more as files succeed. Only the last file of a round trip may
/// have more statements than one pipelined batch.
pub async fn rehearse_each(
    db: &Database,
    migrations: &[MigrationFile],
    reroute: Option<&dyn Reroute>,
    opening: &str,
) -> Result<(Vec<Rehearsal>, &'static str), ApplyError> {
    let fits = |migration: &MigrationFile| rehearsed(migration).0.len() <= PIPELINE;
    let mut done: Vec<Rehearsal> = Vec::with_capacity(migrations.len());
    // What ended the last file sent, once one was.
    let mut ended = RELEASE;
    let mut at_once = 1;
    while done.len() < migrations.len() {
        let rest = &migrations[done.len()..];
        let mut count = 1;
        while count < rest.len().min(at_once) && fits(&rest[count - 1]) {
            count += 1;
        }
        let first = if done.is_empty() { opening } else { ended };
        let sent = pipelined(
            rest[..count]
                .iter()
                .enumerate()
                .map(|(index, migration)| {
                    let before = if index == 0 { first } else { RELEASE };
                    let opening = format!("{before}; {SAVEPOINT}");
                    async move { rehearse(db, migration, reroute, &opening).await }
                })
                .collect(),
        )
        .await;
        let mut failed = false;
        // In order: what came after a failure ran in an aborted transaction, and is not
        // the files'.
        for rehearsal in sent {
            let rehearsal = rehearsal?;
            failed = matches!(rehearsal, Rehearsal::Failed(_));
            done.push(rehearsal);
            if failed {
                break;
            }
        }
        (ended, at_once) = if failed {
            (ROLLBACK_TO, 1)
        } else {
            (RELEASE, (at_once * 2).min(FILES_AT_ONCE))
        };
    }
    Ok((done, ended))
}

/// The statements of `migration` committed before statement `failed` failed: those
/// before the transaction it ran in (a statement that cannot run in one, or ran after
/// a `COMMIT`, commits on its own). None for a file that runs as one transaction.
pub fn committed_before(migration: &MigrationFile, failed: usize) -> Vec<usize> {
    if is_atomic(migration) {
        return Vec::new();
    }
    let roles = File::roles(migration);
    let before: Vec<&(usize, TxRole)> = roles.iter().filter(|(index, _)| *index < failed).collect();
    // Where the failing statement's transaction began: after the last statement that
    // ended one (committed on its own, or a COMMIT).
    let start = match shape(&roles) {
        Shape::Authored => before.iter().rposition(|(_, role)| {
            matches!(role, TxRole::Commit | TxRole::Abort | TxRole::NoTransaction)
        }),
        _ => before
            .iter()
            .rposition(|(_, role)| matches!(role, TxRole::NoTransaction | TxRole::CommitAfter)),
    };
    let failing_alone = roles
        .iter()
        .any(|(index, role)| *index == failed && *role == TxRole::NoTransaction);
    let end = match (failing_alone, start) {
        (true, _) => before.len(),
        (false, Some(last)) => last + 1,
        (false, None) => 0,
    };
    before[..end]
        .iter()
        .filter(|(_, role)| !matches!(role, TxRole::Begin | TxRole::Commit | TxRole::Abort))
        .map(|(index, _)| *index)
        .collect()
}

/// Whether a failure of `migration` leaves nothing of it behind: it runs as one
/// transaction (ours or its own), so it can simply be run again.
pub fn is_atomic(migration: &MigrationFile) -> bool {
    let roles = File::roles(migration);
    match shape(&roles) {
        Shape::FileOwned => true,
        Shape::Authored => false,
        Shape::Statements => roles
            .iter()
            .all(|(_, role)| !matches!(role, TxRole::NoTransaction | TxRole::CommitAfter)),
    }
}

/// Whether `migration`'s statement `index` runs inside a transaction, where the locks it
/// takes are kept (and seen) until the commit, rather than on its own, letting go of
/// them as it ends.
pub fn runs_in_transaction(migration: &MigrationFile, index: usize) -> bool {
    let roles = File::roles(migration);
    match shape(&roles) {
        Shape::FileOwned => true,
        Shape::Statements => roles
            .iter()
            .any(|(at, role)| *at == index && *role != TxRole::NoTransaction),
        Shape::Authored => {
            let mut open = false;
            for (at, role) in roles {
                if at == index {
                    return open;
                }
                match role {
                    TxRole::Begin => open = true,
                    TxRole::Commit | TxRole::Abort => open = false,
                    _ => {}
                }
            }
            false
        }
    }
}

/// How a file's transaction control makes it run.
enum Shape {
    /// `BEGIN` first, `COMMIT` last, nothing else controls transactions.
    FileOwned,
    /// Other transaction control: run as written.
    Authored,
    /// No transaction control: the engine groups the statements.
    Statements,
}

fn shape(roles: &[(usize, TxRole)]) -> Shape {
    let controls = |role: TxRole| matches!(role, TxRole::Begin | TxRole::Commit | TxRole::Abort);
    let control_count = roles.iter().filter(|(_, role)| controls(*role)).count();
    let file_owned = control_count == 2
        && roles
            .first()
            .is_some_and(|(_, role)| *role == TxRole::Begin)
        && roles
            .last()
            .is_some_and(|(_, role)| *role == TxRole::Commit);
    if file_owned {
        Shape::FileOwned
    } else if control_count > 0 {
        Shape::Authored
    } else {
        Shape::Statements
    }
}

enum Step {
    Failed(Box<MigrationError>),
    Connection(PgError),
}

impl Step {
    /// The failure placed at the start of `statement`'s code.
    fn at_start(mut self, statement: &crate::sql::split::Statement) -> Step {
        if let Step::Failed(error) = &mut self
            && let Some(location) = &mut error.location
        {
            location.span = Span::new(statement.text.start, statement.text.start);
        }
        self
    }
}

type StepResult<T = ()> = Result<T, Step>;

/// The locks this session holds on relations outside the system schemas: qualified
/// name, kind, mode, storage file in this session's view, the relation's oid (newer
/// than the newest when the file started: the file created it), its full scans this
/// transaction, and whether the session has a `lock_timeout`. Catalog and statistics
/// reads only: the look takes no lock of its own on them. A relation this transaction
/// dropped has no name left: it comes back as `""`. No filter on the database: a session
/// locks relations of its own database only, besides the shared catalogs, which are
/// below 16384 (looking the database up took a third of each look).
///
/// Nothing at all, without reading the locks, when `$1` names a plain table (no
/// partitions, no children) newer than `$2`: a statement that locks only the relation
/// it names (`sql::one_relation`) gave it `$1`, and a table the file created is left
/// out of the evidence. `$2` is the newest relation as the file started, when known
/// before it was sent; without either, the look is made.
const LOCKS: &str = "SELECT coalesce(n.nspname || '.' || c.relname, ''), \
     coalesce(c.relkind::text, ''), l.mode, coalesce(c.relfilenode, 0::oid), \
     l.relation, pg_stat_get_xact_numscans(l.relation), \
     current_setting('lock_timeout') NOT IN ('0', '0ms', '0s') \
     FROM pg_locks l \
     LEFT JOIN pg_class c ON c.oid = l.relation \
     LEFT JOIN pg_namespace n ON n.oid = c.relnamespace \
     WHERE NOT coalesce((SELECT t.oid > $2 AND t.relkind = 'r' AND NOT t.relhassubclass \
       FROM pg_class t WHERE t.oid = to_regclass($1)), false) \
     AND l.pid = pg_backend_pid() AND l.locktype = 'relation' AND l.granted \
     AND l.relation >= 16384 \
     AND (n.nspname IS NULL OR (n.nspname NOT IN ('pg_catalog', 'information_schema') \
     AND n.nspname NOT LIKE 'pg\\_toast%')) ORDER BY 1, 3";

/// The newest relation when a file starts: every relation created after has a larger oid.
const NEWEST_RELATION: &str = "SELECT coalesce(max(oid), 0::oid) FROM pg_class";

/// What this transaction touched that the catalog reads after a file need to know
/// (`$1`: the newest relation's oid as the file started; one counter numbers every
/// object, so anything created since has a larger oid):
/// - the functions it locked (a function is locked to be dropped, renamed, moved,
///   altered, or added to or taken from an extension) or created;
/// - the relations it locked (a view is locked to be dropped, renamed, moved or
///   replaced), and the views and materialized views it created;
/// - whether it changed a schema, a type or an extension, which renames or hides what
///   lies in them without locking it: updated or deleted rows of `pg_namespace` or
///   `pg_type`, any row of `pg_extension`, in this transaction's statistics;
/// - the newest relation now: the next file starts with it (see [`LOCKS`]).
///
/// The oid ranges have an upper bound, the largest oid: bounded, a range reads as
/// narrow to the planner, so the plan made once for any `$1` uses the index.
const TOUCHED: &str = "WITH mine AS MATERIALIZED (\
       SELECT l.locktype, l.classid, l.objid, l.relation FROM pg_locks l \
       WHERE l.pid = pg_backend_pid() AND l.granted) \
     SELECT ARRAY(SELECT objid FROM mine \
         WHERE locktype = 'object' AND classid = 'pg_proc'::regclass \
         UNION SELECT p.oid FROM pg_proc p WHERE p.oid > $1::oid AND p.oid <= 4294967295::oid), \
       ARRAY(SELECT relation FROM mine \
         WHERE locktype = 'relation' AND relation >= 16384 \
         UNION SELECT c.oid FROM pg_class c \
         WHERE c.oid > $1::oid AND c.oid <= 4294967295::oid AND c.relkind IN ('v', 'm')), \
       pg_stat_get_xact_tuples_updated('pg_namespace'::regclass) \
       + pg_stat_get_xact_tuples_deleted('pg_namespace'::regclass) \
       + pg_stat_get_xact_tuples_updated('pg_type'::regclass) \
       + pg_stat_get_xact_tuples_deleted('pg_type'::regclass) \
       + pg_stat_get_xact_tuples_inserted('pg_extension'::regclass) \
       + pg_stat_get_xact_tuples_updated('pg_extension'::regclass) \
       + pg_stat_get_xact_tuples_deleted('pg_extension'::regclass) > 0, \
       (SELECT coalesce(max(oid), 0::oid) FROM pg_class)";

/// The scan counts a look reads are this session's not yet sent to the statistics: sent
/// when the session next waits for a query (at once, asked this way), every file starts
/// counting from nothing, not from what the last one left. Postgres 15 and later; before,
/// the function does not exist and nothing is sent.
const FLUSH_SCAN_COUNTS: &str = "SELECT pg_stat_force_next_flush()";

/// The size of every table (and materialized view) outside the system schemas, as the
/// statistics have it (a rewrite resets them, so the shadow reads them as a file
/// starts): rows, pages, and its indexes' pages together.
const SIZES: &str = "SELECT n.nspname || '.' || c.relname, c.reltuples::float8, \
     c.relpages::int8, coalesce(ix.pages, 0)::int8 \
     FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
     LEFT JOIN (SELECT x.indrelid, sum(i.relpages) AS pages FROM pg_index x \
       JOIN pg_class i ON i.oid = x.indexrelid GROUP BY x.indrelid) ix \
       ON ix.indrelid = c.oid \
     WHERE c.relkind IN ('r', 'p', 'm') AND left(n.nspname, 3) <> 'pg_' \
     AND n.nspname <> 'information_schema'";

/// The size of every table outside the system schemas, by qualified name.
pub async fn sizes(db: &Database) -> Result<HashMap<String, Size>, PgError> {
    Ok(db
        .client
        .query_typed(SIZES, &[])
        .await?
        .iter()
        .map(|row| (row.get(0), size(row)))
        .collect())
}

/// A row of [`SIZES`], after its name.
fn size(row: &tokio_postgres::Row) -> Size {
    let rows: f64 = row.get(1);
    Size {
        rows: (rows >= 0.0).then(|| rows.round() as u64),
        pages: row.get::<_, i64>(2).max(0) as u64,
        index_pages: row.get::<_, i64>(3).max(0) as u64,
    }
}

/// What `pg_class.relkind` stands for.
fn relation_kind(relkind: &str) -> &'static str {
    match relkind {
        "r" => "table",
        "p" => "partitioned table",
        "i" => "index",
        "I" => "partitioned index",
        "S" => "sequence",
        "v" => "view",
        "m" => "materialized view",
        "f" => "foreign table",
        "c" => "composite type",
        "t" => "toast table",
        _ => "relation",
    }
}

/// Resets the session before a file, as the Supabase CLI does.
const FILE_PRELUDE: &str = "RESET ALL";

/// One file being applied. Requests that cannot fail on their own (the session reset,
/// `BEGIN`) are pipelined with the statement after them, and the history row with the
/// `COMMIT` after it. The statements of a transaction are sent [`PIPELINE`] at a time,
/// each batch in one round trip (see [`Session::pipeline`]); a statement that runs on
/// its own, and every statement of a file that controls its transactions itself, waits
/// for the one before it.
struct File<'a> {
    session: Session<'a>,
    insert: &'a tokio_postgres::Statement,
    prelude: &'a str,
    roles: Vec<(usize, TxRole)>,
}

impl<'a> File<'a> {
    fn new(session: Session<'a>, insert: &'a tokio_postgres::Statement, prelude: &'a str) -> Self {
        let roles = File::roles(session.migration);
        File {
            session,
            insert,
            prelude,
            roles,
        }
    }

    /// The transaction role of each statement that holds code.
    fn roles(migration: &MigrationFile) -> Vec<(usize, TxRole)> {
        migration
            .split
            .statements
            .iter()
            .enumerate()
            .filter(|(_, statement)| !statement.comment_only)
            .map(|(index, statement)| (index, tx_role(statement.text(&migration.source))))
            .collect()
    }

    async fn apply(&self) -> StepResult<TransactionMode> {
        if let Some(meta) = self.session.migration.split.meta_commands.first() {
            let (what, hint) = if meta.name == "\\." {
                (
                    "ends the rows of a `COPY … FROM STDIN` (psql's inline data), which a migration cannot send",
                    COPY_ROWS_HINT,
                )
            } else {
                (
                    "is a psql meta-command, not SQL",
                    "write the SQL itself in the migration",
                )
            };
            return Err(Step::Failed(Box::new(MigrationError {
                message: format!("`{}` {what}; the file was not run", meta.name),
                location: Some(Location {
                    file: self.session.migration.path.clone(),
                    span: meta.span,
                }),
                hint: Some(hint.to_string()),
                ..MigrationError::default()
            })));
        }
        // The look at what exists goes ahead of the first statement, in its round trip.
        let noted = async {
            match self.session.looks {
                Some(looks) => self.session.note_existing(looks).await,
                None => Ok(()),
            }
        };
        let (noted, result) = tokio::join!(noted, self.run());
        let result = noted.and(result);
        if result.is_err() {
            // Ends whatever transaction the failure left open; a no-op warning otherwise.
            self.session.control("ROLLBACK").await?;
            self.session.db.take_notices();
        }
        result
    }

    async fn run(&self) -> StepResult<TransactionMode> {
        let mut prelude = Some(self.prelude.to_string());
        let shape = shape(&self.roles);

        if matches!(shape, Shape::FileOwned) {
            let (last, body) = self.roles.split_last().expect("two statements at least");
            let body: Vec<usize> = body.iter().map(|&(index, _)| index).collect();
            self.session.pipeline(prelude.take(), &body).await?;
            self.record_then(&Then::Statement(last.0)).await?;
            return Ok(TransactionMode::FileOwned);
        }
        if matches!(shape, Shape::Authored) {
            for &(index, _) in &self.roles {
                self.session.statement(prelude.take(), index).await?;
            }
            self.session.control(self.prelude).await?;
            self.record_then(&Then::Nothing).await?;
            return Ok(TransactionMode::Authored);
        }

        let mut in_transaction = false;
        let mut outside = 0;
        let mut transactions = 0;
        // The statements of the open transaction not sent yet, and what goes before them.
        let mut batch: Vec<usize> = Vec::new();
        let mut opening = None;
        for (position, &(index, role)) in self.roles.iter().enumerate() {
            if role == TxRole::NoTransaction {
                self.session
                    .pipeline(opening.take(), &std::mem::take(&mut batch))
                    .await?;
                if in_transaction {
                    self.session.control("COMMIT").await?;
                    in_transaction = false;
                }
                self.session.statement(prelude.take(), index).await?;
                outside += 1;
                continue;
            }
            if !in_transaction {
                let mut before = prelude.take().unwrap_or_default();
                before.push_str("; BEGIN");
                opening = Some(before);
                in_transaction = true;
                transactions += 1;
            }
            batch.push(index);
            // A new enum value cannot be used before it is committed.
            if role == TxRole::CommitAfter && position + 1 < self.roles.len() {
                self.session
                    .pipeline(opening.take(), &std::mem::take(&mut batch))
                    .await?;
                self.session.control("COMMIT").await?;
                in_transaction = false;
            }
        }
        self.session
            .pipeline(opening.take(), &std::mem::take(&mut batch))
            .await?;
        if !in_transaction {
            let mut before = prelude.take().unwrap_or_default();
            before.push_str("; BEGIN");
            self.session.control(&before).await?;
            transactions += 1;
        }
        self.record_then(&Then::Control("COMMIT")).await?;
        let mode = if outside == 0 && transactions == 1 {
            TransactionMode::Wrapped
        } else {
            TransactionMode::Split {
                outside,
                transactions,
            }
        };
        Ok(mode)
    }

    /// Writes the history row, pipelined with what ends the file and, when that ends a
    /// transaction, a look at the locks it holds (all it took, as locks are kept until
    /// the commit): the evidence of what the file blocked.
    async fn record_then(&self, then: &Then) -> StepResult {
        let session = &self.session;
        let migration = session.migration;
        let statements = migration.split.texts(&migration.source);
        let params: [&(dyn tokio_postgres::types::ToSql + Sync); 3] =
            [&migration.version, &migration.name, &statements];
        let in_transaction = !matches!(then, Then::Nothing);
        let started = Instant::now();
        let (recorded, held, touched, after) = tokio::join!(
            session.db.client.execute(self.insert, &params),
            // Its locks are all the last statement's look saw, when it had one.
            session.held(
                in_transaction
                    && !session
                        .last_looked
                        .load(std::sync::atomic::Ordering::Relaxed),
                None
            ),
            session.touched(in_transaction),
            async {
                match then {
                    Then::Statement(index) => session
                        .db
                        .client
                        .batch_execute(migration.split.statements[*index].text(&migration.source))
                        .await
                        .map_err(|error| session.failure(error, Some(*index))),
                    Then::Control(sql) => session.control(sql).await,
                    Then::Nothing => Ok(()),
                }
            }
        );
        recorded.map_err(|error| {
            let mut step = session.failure(error, None);
            if let Step::Failed(failed) = &mut step {
                failed.message = format!(
                    "{} (while recording version {} in supabase_migrations.schema_migrations)",
                    failed.message, migration.version
                );
            }
            step
        })?;
        session.observe(None, started, held)?;
        if let Some(touched) = touched {
            let touched = touched.map_err(|error| session.failure(error, None))?;
            *session
                .touched_seen
                .lock()
                .expect("what was touched is set without panicking") = Some(touched);
        }
        after
    }
}

/// A file's statements on one connection: how each is sent, and what is seen after it.
struct Session<'a> {
    db: &'a Database,
    migration: &'a MigrationFile,
    watch_statements: bool,
    read_sizes: bool,
    reroute: Option<&'a dyn Reroute>,
    /// The reads it makes besides its statements (a session that never looks, the
    /// second run's, has none).
    looks: Option<&'a Looks>,
    /// What [`TOUCHED`] read, before the last commit when watching statements.
    touched_seen: Mutex<Option<Touched>>,
    /// When the last look answered.
    answered: Mutex<Option<Instant>>,
    /// Whether the last statement sent has a look behind it.
    last_looked: std::sync::atomic::AtomicBool,
    observed: Mutex<Vec<Observation>>,
    /// The newest relation's oid when the file started (see [`NEWEST_RELATION`]).
    existing: std::sync::atomic::AtomicU32,
    /// The same, known before the file was sent (the last file's [`TOUCHED`]), and then
    /// not read again; 0 when not. Only then may a look be skipped (see [`LOCKS`]).
    known_existing: u32,
    /// The newest relation before the commit, as [`TOUCHED`] read it; 0 when it did not.
    newest_at_end: std::sync::atomic::AtomicU32,
    /// The tables' sizes when the file started, when reading them.
    sizes: Mutex<HashMap<String, Size>>,
}

impl<'a> Session<'a> {
    fn new(db: &'a Database, migration: &'a MigrationFile) -> Self {
        Session {
            db,
            migration,
            watch_statements: false,
            read_sizes: false,
            reroute: None,
            looks: None,
            touched_seen: Mutex::new(None),
            answered: Mutex::new(None),
            last_looked: std::sync::atomic::AtomicBool::new(false),
            observed: Mutex::new(Vec::new()),
            existing: std::sync::atomic::AtomicU32::new(0),
            known_existing: 0,
            newest_at_end: std::sync::atomic::AtomicU32::new(0),
            sizes: Mutex::new(HashMap::new()),
        }
    }

    /// Notes which relations exist as the file starts: its locks on those are evidence.
    /// Read, unless the last file's commit gave it already.
    async fn note_existing(&self, looks: &Looks) -> StepResult {
        let (newest, sizes, flushed) = tokio::join!(
            async {
                match self.known_existing {
                    0 => Some(self.db.client.query(&looks.newest, &[]).await),
                    _ => None,
                }
            },
            async {
                if self.read_sizes {
                    Some(self.db.client.query_typed(SIZES, &[]).await)
                } else {
                    None
                }
            },
            async {
                match looks.flush.as_ref().filter(|_| self.watch_statements) {
                    Some(flush) => self.db.client.query(flush, &[]).await.map(drop),
                    None => Ok(()),
                }
            }
        );
        flushed.map_err(|error| self.failure(error, None))?;
        let newest: u32 = match newest {
            Some(rows) => rows
                .map_err(|error| self.failure(error, None))?
                .first()
                .map_or(0, |row| row.get(0)),
            None => self.known_existing,
        };
        self.existing
            .store(newest, std::sync::atomic::Ordering::Relaxed);
        if let Some(sizes) = sizes {
            let sizes = sizes.map_err(|error| self.failure(error, None))?;
            *self.sizes.lock().expect("sizes are set without panicking") =
                sizes.iter().map(|row| (row.get(0), size(row))).collect();
        }
        Ok(())
    }

    /// The text of statement `index`, as written.
    fn text(&self, index: usize) -> &'a str {
        self.migration.split.statements[index].text(&self.migration.source)
    }

    /// Runs statement `index` (or what the reroute runs in its place), with `before` (if
    /// any) pipelined ahead of it.
    async fn statement(&self, before: Option<String>, index: usize) -> StepResult {
        let statement = &self.migration.split.statements[index];
        let written = self.text(index);
        if let Some(copy) = client_copy(written) {
            // Sent, it would leave the session waiting for rows no one sends.
            return Err(refused_copy(self.migration, index, copy));
        }
        let rerouted = self.reroute.and_then(|reroute| reroute.reroute(written));
        let started = Instant::now();
        // What a setting holds, the statement before it was seen holding.
        let look = self.watch_statements && !locks_nothing(written);
        // A look the server may skip does not stand for the commit's.
        let only = (look && rerouted.is_none())
            .then(|| locks_only(written))
            .flatten();
        self.last_looked
            .store(look && only.is_none(), std::sync::atomic::Ordering::Relaxed);
        let (prelude, result, held) = tokio::join!(
            self.send(before.as_deref().unwrap_or_default()),
            self.db
                .client
                .batch_execute(rerouted.as_deref().unwrap_or(written)),
            self.held(look, only.as_deref())
        );
        prelude.map_err(|error| self.failure(error, None))?;
        result.map_err(|error| match &rerouted {
            // What ran in its place has positions of its own: point at the statement.
            Some(_) => self.failure(error, Some(index)).at_start(statement),
            None => self.failure(error, Some(index)),
        })?;
        self.observe(Some(index), started, held)
    }

    /// Runs statements `indexes` of one open transaction (with `before`, if any, ahead of
    /// the first), [`PIPELINE`] at a time, each batch in one round trip: the server runs
    /// them in order, and in one transaction a statement after one that failed fails too
    /// (the transaction is aborted), so nothing runs that would not have, and the first
    /// failure is the file's. Each statement's look at the locks goes right after it.
    async fn pipeline(&self, mut before: Option<String>, indexes: &[usize]) -> StepResult {
        for batch in indexes.chunks(PIPELINE) {
            // A statement the engine refuses is not sent, nor anything after it: what
            // follows would run in a transaction that nothing aborted.
            let end = batch
                .iter()
                .position(|&index| client_copy(self.text(index)).is_some())
                .map_or(batch.len(), |refused| refused + 1);
            let steps = pipelined(
                batch[..end]
                    .iter()
                    .map(|&index| self.statement(before.take(), index))
                    .collect(),
            )
            .await;
            steps.into_iter().collect::<StepResult<Vec<()>>>()?;
        }
        Ok(())
    }

    /// Sends `sql` unless it holds nothing.
    async fn send(&self, sql: &str) -> Result<(), PgError> {
        let sql = sql.trim_matches(|c: char| c == ';' || c.is_whitespace());
        if sql.is_empty() {
            return Ok(());
        }
        self.db.client.batch_execute(sql).await
    }

    /// The locks held now, when `look`; sent when first polled, so it runs right after
    /// what was sent before it. With `only` (the one relation the statement before it
    /// locks), none when the file created that table (see [`LOCKS`]).
    async fn held(
        &self,
        look: bool,
        only: Option<&str>,
    ) -> Option<Result<Vec<tokio_postgres::Row>, PgError>> {
        let looks = self.looks.filter(|_| look)?;
        let existing = (self.known_existing != 0).then_some(self.known_existing);
        // Prepared already: sent as it is first polled, it stays where it was sent.
        Some(
            self.db
                .client
                .query(&looks.locks, &[&only, &existing])
                .await,
        )
    }

    /// What this transaction touched in the catalog, when `look` and watching statements;
    /// sent when first polled, like [`Session::held`].
    async fn touched(&self, look: bool) -> Option<Result<Touched, PgError>> {
        let statement = &self
            .looks
            .filter(|_| look && self.watch_statements)?
            .touched;
        // Read in the round trip of the file's first statement; were its answer not in
        // yet, 0 reads every view and function again: more than needed, never less.
        let newest = self.existing.load(std::sync::atomic::Ordering::Relaxed);
        let row = match self.db.client.query_one(statement, &[&newest]).await {
            Ok(row) => row,
            Err(error) => return Some(Err(error)),
        };
        self.newest_at_end
            .store(row.get(3), std::sync::atomic::Ordering::Relaxed);
        Some(Ok(Touched {
            functions: row.get(0),
            relations: row.get(1),
            unlocked: row.get(2),
        }))
    }

    fn observe(
        &self,
        statement: Option<usize>,
        started: Instant,
        held: Option<Result<Vec<tokio_postgres::Row>, PgError>>,
    ) -> StepResult {
        let Some(rows) = held else { return Ok(()) };
        let seen = Instant::now();
        // Sent in a batch, a statement started when the look before it answered.
        let started = {
            let mut answered = self
                .answered
                .lock()
                .expect("answers are noted without panicking");
            let started = answered.map_or(started, |last| last.max(started));
            *answered = Some(seen);
            started
        };
        let rows = rows.map_err(|error| self.failure(error, None))?;
        if rows.is_empty() {
            return Ok(());
        }
        let lock_timeout = rows.first().is_some_and(|row| row.get(6));
        let held = rows
            .iter()
            .filter_map(|row| {
                Some(Held {
                    relation: row.get(0),
                    kind: relation_kind(row.get(1)),
                    mode: LockMode::from_pg_name(row.get(2))?,
                    relfilenode: row.get(3),
                    oid: row.get(4),
                    // Known once the file has run (see `apply_observed`).
                    created: false,
                    scans: row.get(5),
                })
            })
            .collect();
        self.observed
            .lock()
            .expect("observations are pushed without panicking")
            .push(Observation {
                statement,
                started,
                seen,
                held,
                lock_timeout,
            });
        Ok(())
    }

    async fn control(&self, sql: &str) -> StepResult {
        let sql = sql.trim_start_matches(';').trim();
        self.db
            .client
            .batch_execute(sql)
            .await
            .map_err(|error| self.failure(error, None))
    }

    fn failure(&self, error: PgError, index: Option<usize>) -> Step {
        failure(error, self.migration, index)
    }
}

/// What follows the history row in the same round trip.
enum Then {
    Statement(usize),
    Control(&'static str),
    Nothing,
}

/// What to write instead of rows sent with `COPY … FROM STDIN`.
const COPY_ROWS_HINT: &str = "write the rows as INSERT … VALUES (pg_dump --inserts writes them so), or load them from a file on the server";

/// The failure of a `COPY` from or to the client, at statement `index`: a migration
/// has no rows to send and reads none (the Supabase CLI fails on psql's inline rows
/// too, with a syntax error at the first).
fn refused_copy(migration: &MigrationFile, index: usize, copy: ClientCopy) -> Step {
    let statement = &migration.split.statements[index];
    let start = statement.code_start(&migration.source);
    let (message, hint) = match copy {
        ClientCopy::FromStdin => (
            "`COPY … FROM STDIN` reads its rows from the client running the file (psql's inline data), and a migration has none to send: the Supabase CLI cannot run it either; the statement was not run",
            COPY_ROWS_HINT,
        ),
        ClientCopy::ToStdout => (
            "`COPY … TO STDOUT` sends its rows to the client running the file, and a migration reads none; the statement was not run",
            "take it out of the migration",
        ),
    };
    Step::Failed(Box::new(MigrationError {
        message: message.to_string(),
        location: Some(Location {
            file: migration.path.clone(),
            span: Span::new(start, start),
        }),
        statement: Some(statement.text),
        statement_index: Some(index),
        hint: Some(hint.to_string()),
        ..MigrationError::default()
    }))
}

/// Turns a server error into a failure at the file position Postgres points to (the
/// statement's start when it gives none); any other error means the connection is gone.
fn failure(error: PgError, migration: &MigrationFile, index: Option<usize>) -> Step {
    let Some(db_error) = error.as_db_error() else {
        return Step::Connection(error);
    };
    let statement = index.map(|index| &migration.split.statements[index]);
    let offset = statement.map(|statement| match db_error.position() {
        Some(ErrorPosition::Original(position)) => {
            statement.offset_of_position(&migration.source, *position as usize)
        }
        _ => statement.text.start,
    });
    Step::Failed(Box::new(MigrationError {
        message: db_error.message().to_string(),
        sqlstate: Some(db_error.code().code().to_string()),
        location: offset.map(|offset| Location {
            file: migration.path.clone(),
            span: Span::new(offset, offset),
        }),
        statement: statement.map(|statement| statement.text),
        statement_index: index,
        detail: db_error.detail().map(str::to_string),
        hint: db_error.hint().map(str::to_string),
        context: db_error.where_().map(str::to_string),
        stayed: Vec::new(),
    }))
}
