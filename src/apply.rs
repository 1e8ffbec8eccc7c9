//! The apply engine: runs migration files statement by statement, each file with its
//! history row, stopping at the first error like `psql -v ON_ERROR_STOP=1`.
//!
//! One algorithm for every target; only the [`Database`] it is given differs. A file runs
//! in one transaction together with its `schema_migrations` row, unless the file says
//! otherwise: a file wrapped in its own `BEGIN … COMMIT` keeps it (the row goes in before
//! its `COMMIT`), a file with other transaction control runs as written, and statements
//! Postgres refuses inside a transaction (`CREATE INDEX CONCURRENTLY`, `VACUUM`, …) run on
//! their own between transactions. The report says which way each file ran.

use std::fmt;
use std::time::Instant;

use tokio_postgres::error::ErrorPosition;

use crate::db::{Database, PgError};
use crate::migration::classify::{TxRole, tx_role};
use crate::migration::{MigrationFile, history};
use crate::report::{Location, MigrationEntry, MigrationStatus, model::MigrationError};
use crate::text::Span;

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
    let applier = Applier::new(db).await?;
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
        let entry = applier.apply(migration).await?;
        failed = entry.status == MigrationStatus::Failed;
        entries.push(entry);
    }
    Ok(entries)
}

/// Applies one file at a time to one database, recording each in its history.
pub struct Applier<'d> {
    db: &'d Database,
    insert: tokio_postgres::Statement,
}

impl<'d> Applier<'d> {
    /// Creates the history table if needed and prepares its insert.
    pub async fn new(db: &'d Database) -> Result<Applier<'d>, ApplyError> {
        history::ensure_table(db)
            .await
            .map_err(ApplyError::History)?;
        let insert = history::prepare_insert(db)
            .await
            .map_err(ApplyError::History)?;
        Ok(Applier { db, insert })
    }

    /// Applies `migration`: `applied`, or `failed` with the error where it happened.
    pub async fn apply(&self, migration: &MigrationFile) -> Result<MigrationEntry, ApplyError> {
        let mut entry = MigrationEntry::new(migration, MigrationStatus::Skipped);
        let started = Instant::now();
        let outcome = File::new(self.db, &self.insert, migration).apply().await;
        entry.duration_ms = Some(started.elapsed().as_millis() as u64);
        entry.notices = self
            .db
            .take_notices()
            .iter()
            .map(ToString::to_string)
            .collect();
        match outcome {
            Ok((mode, locks)) => {
                entry.status = MigrationStatus::Applied;
                entry.transaction = Some(mode.to_string());
                entry.locks = locks;
            }
            Err(Step::Failed(error)) => {
                entry.status = MigrationStatus::Failed;
                entry.error = Some(*error);
            }
            Err(Step::Connection(source)) => {
                return Err(ApplyError::Connection {
                    file: migration.file_name.clone(),
                    source,
                });
            }
        }
        Ok(entry)
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

/// Runs `migration`'s statements again in the caller's open transaction, without its own
/// transaction control and without a history row: the caller looks at what the second
/// run changed, then rolls it back.
pub async fn rehearse(db: &Database, migration: &MigrationFile) -> Result<Rehearsal, ApplyError> {
    let connection = |source| ApplyError::Connection {
        file: migration.file_name.clone(),
        source,
    };
    db.client
        .batch_execute(FILE_PRELUDE)
        .await
        .map_err(connection)?;
    let mut outside = 0;
    for (index, role) in File::roles(migration) {
        match role {
            TxRole::Begin | TxRole::Commit | TxRole::Abort => continue,
            TxRole::NoTransaction => {
                outside += 1;
                continue;
            }
            TxRole::Plain | TxRole::CommitAfter => {}
        }
        let text = migration.split.statements[index].text(&migration.source);
        if let Err(error) = db.client.batch_execute(text).await {
            return match failure(error, migration, Some(index)) {
                Step::Failed(error) => Ok(Rehearsal::Failed(error)),
                Step::Connection(source) => Err(connection(source)),
            };
        }
    }
    Ok(Rehearsal::Ran { outside })
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

type StepResult<T = ()> = Result<T, Step>;

/// The tables this session holds ACCESS EXCLUSIVE locks on, by qualified name.
const EXCLUSIVE_LOCKS: &str = "SELECT DISTINCT n.nspname || '.' || c.relname FROM pg_locks l \
     JOIN pg_class c ON c.oid = l.relation JOIN pg_namespace n ON n.oid = c.relnamespace \
     WHERE l.pid = pg_backend_pid() AND l.locktype = 'relation' \
     AND l.mode = 'AccessExclusiveLock' AND c.relkind IN ('r', 'p') ORDER BY 1";

/// Resets the session before a file, as the Supabase CLI does.
const FILE_PRELUDE: &str = "RESET ALL";

/// One file being applied. Requests that cannot fail on their own (the session reset,
/// `BEGIN`) are pipelined with the statement after them, and the history row with the
/// `COMMIT` after it, so a file costs about one round trip per statement, like psql.
struct File<'a> {
    db: &'a Database,
    insert: &'a tokio_postgres::Statement,
    migration: &'a MigrationFile,
    roles: Vec<(usize, TxRole)>,
}

impl<'a> File<'a> {
    fn new(
        db: &'a Database,
        insert: &'a tokio_postgres::Statement,
        migration: &'a MigrationFile,
    ) -> Self {
        File {
            db,
            insert,
            migration,
            roles: File::roles(migration),
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

    async fn apply(&self) -> StepResult<(TransactionMode, Vec<String>)> {
        if let Some(meta) = self.migration.split.meta_commands.first() {
            return Err(Step::Failed(Box::new(MigrationError {
                message: format!(
                    "`{}` is a psql meta-command, not SQL; the file was not run",
                    meta.name
                ),
                location: Some(Location {
                    file: self.migration.path.clone(),
                    span: meta.span,
                }),
                hint: Some("write the SQL itself in the migration".to_string()),
                ..MigrationError::default()
            })));
        }
        let result = self.run().await;
        if result.is_err() {
            // Ends whatever transaction the failure left open; a no-op warning otherwise.
            self.control("ROLLBACK").await?;
            self.db.take_notices();
        }
        result
    }

    async fn run(&self) -> StepResult<(TransactionMode, Vec<String>)> {
        let mut prelude = Some(FILE_PRELUDE.to_string());
        let shape = shape(&self.roles);

        if matches!(shape, Shape::FileOwned) {
            let (last, body) = self.roles.split_last().expect("two statements at least");
            for &(index, _) in body {
                self.statement(prelude.take(), index).await?;
            }
            let locks = self.record_then(&Then::Statement(last.0)).await?;
            return Ok((TransactionMode::FileOwned, locks));
        }
        if matches!(shape, Shape::Authored) {
            for &(index, _) in &self.roles {
                self.statement(prelude.take(), index).await?;
            }
            self.control(FILE_PRELUDE).await?;
            let locks = self.record_then(&Then::Nothing).await?;
            return Ok((TransactionMode::Authored, locks));
        }

        let mut in_transaction = false;
        let mut outside = 0;
        let mut transactions = 0;
        for (position, &(index, role)) in self.roles.iter().enumerate() {
            if role == TxRole::NoTransaction {
                if in_transaction {
                    self.control("COMMIT").await?;
                    in_transaction = false;
                }
                self.statement(prelude.take(), index).await?;
                outside += 1;
                continue;
            }
            let mut before = prelude.take().unwrap_or_default();
            if !in_transaction {
                before.push_str("; BEGIN");
                in_transaction = true;
                transactions += 1;
            }
            self.statement(Some(before), index).await?;
            // A new enum value cannot be used before it is committed.
            if role == TxRole::CommitAfter && position + 1 < self.roles.len() {
                self.control("COMMIT").await?;
                in_transaction = false;
            }
        }
        if !in_transaction {
            let mut before = prelude.take().unwrap_or_default();
            before.push_str("; BEGIN");
            self.control(&before).await?;
            transactions += 1;
        }
        let locks = self.record_then(&Then::Control("COMMIT")).await?;
        let mode = if outside == 0 && transactions == 1 {
            TransactionMode::Wrapped
        } else {
            TransactionMode::Split {
                outside,
                transactions,
            }
        };
        Ok((mode, locks))
    }

    /// Runs statement `index`, with `before` (if any) pipelined ahead of it.
    async fn statement(&self, before: Option<String>, index: usize) -> StepResult {
        let text = self.migration.split.statements[index].text(&self.migration.source);
        let before = before.filter(|sql| !sql.trim_start_matches(';').trim().is_empty());
        let (prelude, result) = tokio::join!(
            async {
                match &before {
                    Some(sql) => self.db.client.batch_execute(sql).await,
                    None => Ok(()),
                }
            },
            self.db.client.batch_execute(text)
        );
        prelude.map_err(|error| self.failure(error, None))?;
        result.map_err(|error| self.failure(error, Some(index)))
    }

    async fn control(&self, sql: &str) -> StepResult {
        let sql = sql.trim_start_matches(';').trim();
        self.db
            .client
            .batch_execute(sql)
            .await
            .map_err(|error| self.failure(error, None))
    }

    /// Writes the history row, pipelined with what ends the file and, when that ends a
    /// transaction, a look at the ACCESS EXCLUSIVE locks it holds (all it took, as locks
    /// are kept until the commit): the evidence of what the file blocked.
    async fn record_then(&self, then: &Then) -> StepResult<Vec<String>> {
        let statements = self.migration.split.texts(&self.migration.source);
        let params: [&(dyn tokio_postgres::types::ToSql + Sync); 3] =
            [&self.migration.version, &self.migration.name, &statements];
        let in_transaction = !matches!(then, Then::Nothing);
        let (recorded, locks, after) = tokio::join!(
            self.db.client.execute(self.insert, &params),
            async {
                if in_transaction {
                    // query_typed: parsed and run in one go, so it stays before the COMMIT.
                    self.db.client.query_typed(EXCLUSIVE_LOCKS, &[]).await
                } else {
                    Ok(Vec::new())
                }
            },
            async {
                match then {
                    Then::Statement(index) => self
                        .db
                        .client
                        .batch_execute(
                            self.migration.split.statements[*index].text(&self.migration.source),
                        )
                        .await
                        .map_err(|error| self.failure(error, Some(*index))),
                    Then::Control(sql) => self.control(sql).await,
                    Then::Nothing => Ok(()),
                }
            }
        );
        recorded.map_err(|error| {
            let mut step = self.failure(error, None);
            if let Step::Failed(failed) = &mut step {
                failed.message = format!(
                    "{} (while recording version {} in supabase_migrations.schema_migrations)",
                    failed.message, self.migration.version
                );
            }
            step
        })?;
        let locks = locks.map_err(|error| self.failure(error, None))?;
        after?;
        Ok(locks.iter().map(|row| row.get(0)).collect())
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
    }))
}
