//! `supabase_migrations.schema_migrations`, exactly as the Supabase CLI creates and
//! writes it, so that either tool can continue where the other stopped.

use tokio_postgres::Statement;

use crate::db::{Database, PgError};

/// The CLI's statements, in its order (pkg/migration/history.go).
const CREATE: &[&str] = &[
    "SET lock_timeout = '4s'",
    "CREATE SCHEMA IF NOT EXISTS supabase_migrations",
    "CREATE TABLE IF NOT EXISTS supabase_migrations.schema_migrations (version text NOT NULL PRIMARY KEY)",
    "ALTER TABLE supabase_migrations.schema_migrations ADD COLUMN IF NOT EXISTS statements text[]",
    "ALTER TABLE supabase_migrations.schema_migrations ADD COLUMN IF NOT EXISTS name text",
];

/// The history table, as locks and reports name it.
pub const TABLE: &str = "supabase_migrations.schema_migrations";

const INSERT: &str = "INSERT INTO supabase_migrations.schema_migrations(version, name, statements) VALUES($1, $2, $3)";

/// Creates the history table if it is missing, in one transaction, as the CLI does.
pub async fn ensure_table(db: &Database) -> Result<(), PgError> {
    let batch = format!(
        "BEGIN; {}; COMMIT",
        CREATE.join("; ").replacen("SET ", "SET LOCAL ", 1)
    );
    db.client.batch_execute(&batch).await
}

/// Prepares the history insert once per connection: `($1 version, $2 name, $3
/// statements)`, to run inside the transaction of the migration it records.
pub async fn prepare_insert(db: &Database) -> Result<Statement, PgError> {
    db.client.prepare(INSERT).await
}

/// A row of the history: what a database says it has applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recorded {
    pub version: String,
    pub name: String,
    /// `None` for rows written without statements (`supabase migration repair`).
    pub statements: Option<Vec<String>>,
}

/// Every row, by version; none when there is no history table yet (as the CLI reads
/// SQLSTATE 42P01). Columns an older CLI did not create read as missing. Read
/// defensively, whatever another tool wrote: every value as text (a `bigint` version
/// too), a NULL statement as an empty one, so nothing read from a server can panic.
pub async fn read(db: &Database) -> Result<Vec<Recorded>, PgError> {
    const SELECT: &str = "SELECT to_jsonb(m)->>'version', coalesce(to_jsonb(m)->>'name', ''), \
         CASE WHEN jsonb_typeof(to_jsonb(m)->'statements') = 'array' \
         THEN ARRAY(SELECT coalesce(s, '') FROM jsonb_array_elements_text(to_jsonb(m)->'statements') s) END \
         FROM supabase_migrations.schema_migrations m ORDER BY 1";
    let rows = match db.client.query(SELECT, &[]).await {
        Ok(rows) => rows,
        Err(error)
            if error.code() == Some(&tokio_postgres::error::SqlState::UNDEFINED_TABLE)
                || error.code() == Some(&tokio_postgres::error::SqlState::INVALID_SCHEMA_NAME) =>
        {
            return Ok(Vec::new());
        }
        Err(error) => return Err(error),
    };
    Ok(rows
        .iter()
        .map(|row| Recorded {
            version: row.get::<_, Option<String>>(0).unwrap_or_default(),
            name: row.get(1),
            statements: row.get(2),
        })
        .collect())
}
