//! What the shadow measured of a migration's locks, judged: a lock that blocks the
//! application's reads or writes, held while a later statement of its transaction does
//! work that grows with the data (`lock-held-across-statements`). A backfill, an index
//! build or a rewrite under it is minutes of downtime on a table with data, where the
//! same statement before the lock (or in a migration of its own) would block nothing.
//! Statements that only change the catalog (another policy, a comment, a grant) take
//! no time worth naming, so they are not counted.
//!
//! Work is read from what the shadow saw, not from the SQL: a statement that first took
//! ROW EXCLUSIVE on an existing relation of the application's (it wrote rows there),
//! SHARE (it built an index on an existing table), or rewrote a table. A row written to
//! what the platform keeps in its own schemas (a storage bucket, a cron job, a vault
//! secret) is configuration, not a backfill.

use std::collections::HashSet;

use crate::engine::Observation;
use crate::findings::registry;
use crate::findings::span::{LineIndex, Span};
use crate::findings::{Finding, Location};
use crate::migration::MigrationFile;
use crate::report::MigrationEntry;
use crate::report::model::LockMode;

/// The schemas where hosted Supabase keeps its own configuration rows.
const PLATFORM_SCHEMAS: [&str; 10] = [
    "auth",
    "storage",
    "cron",
    "vault",
    "realtime",
    "supabase_functions",
    "net",
    "pgsodium",
    "extensions",
    "graphql",
];

/// The statements that did work growing with the data, in order (see the module doc).
fn working(entry: &MigrationEntry, observed: &[Observation]) -> Vec<usize> {
    let mut seen: HashSet<(&str, LockMode)> = HashSet::new();
    let mut work: Vec<usize> = entry
        .rewrites
        .iter()
        .filter_map(|rewrite| rewrite.statement_index)
        .collect();
    for observation in observed {
        for held in observation
            .held
            .iter()
            .filter(|held| !held.created && !held.relation.is_empty())
        {
            let first = seen.insert((held.relation.as_str(), held.mode));
            let schema = held.relation.split('.').next().unwrap_or_default();
            let grows = match held.mode {
                LockMode::RowExclusive => !PLATFORM_SCHEMAS.contains(&schema),
                LockMode::Share => true,
                _ => false,
            };
            if let Some(statement) = observation.statement
                && first
                && grows
            {
                work.push(statement);
            }
        }
    }
    work.sort_unstable();
    work.dedup();
    work
}

/// The findings for the locks `entry` records of `migration`, with what the shadow
/// `observed` after each statement.
pub fn held_across(
    migration: &MigrationFile,
    entry: &MigrationEntry,
    observed: &[Observation],
) -> Vec<Finding> {
    let work = working(entry, observed);
    let lines = LineIndex::new(&migration.source);
    let line = |index: usize| {
        let start = migration.split.statements[index].code_start(&migration.source);
        lines.line_col(&migration.source, start).line
    };
    entry
        .blocking_locks()
        .filter_map(|lock| {
            let (taken, through) = (lock.statement_index?, lock.through?);
            let under = *work
                .iter()
                .find(|&&statement| statement > taken && statement <= through)?;
            let start = migration.split.statements[taken].code_start(&migration.source);
            Some(Finding {
                rule: registry::LOCK_HELD_ACROSS_STATEMENTS.id,
                severity: registry::LOCK_HELD_ACROSS_STATEMENTS.severity,
                location: Some(Location {
                    file: migration.path.clone(),
                    span: Span::new(start, start),
                }),
                message: format!(
                    "the {} lock this statement takes on {} stays held while the statement at line {} writes rows, builds an index or rewrites a table: {} of {} wait for that work too, not only for this statement",
                    lock.mode.sql_name(),
                    lock.relation,
                    line(under),
                    lock.mode.blocks().as_str(),
                    lock.relation
                ),
                help: Some(format!(
                    "take the lock last: move what follows (backfills, index builds, other tables' changes) before this statement or into a migration of its own, so that {} is blocked only while this statement runs",
                    lock.relation
                )),
            })
        })
        .collect()
}
