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
