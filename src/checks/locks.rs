//! What the shadow measured of a migration's locks, judged: a lock that blocks the
//! application's reads or writes, held while later statements of its transaction run
//! (`lock-held-across-statements`). Every statement run under it adds to how long the
//! table stays blocked; on a table with data, a backfill or an index build there is
//! minutes of downtime, where the same statements before the lock (or in a migration
//! of their own) would block nothing.

use crate::findings::registry;
use crate::findings::span::{LineIndex, Span};
use crate::findings::{Finding, Location};
use crate::migration::MigrationFile;
use crate::report::MigrationEntry;
use crate::report::model::Blocks;

/// The findings for the locks `entry` records of `migration`.
pub fn held_across(migration: &MigrationFile, entry: &MigrationEntry) -> Vec<Finding> {
    let lines = LineIndex::new(&migration.source);
    let line = |index: usize| {
        let start = migration.split.statements[index].code_start(&migration.source);
        lines.line_col(&migration.source, start).line
    };
    entry
        .locks
        .iter()
        .filter(|lock| lock.mode.blocks() >= Blocks::Writes)
        .filter_map(|lock| {
            let (taken, through) = (lock.statement_index?, lock.through?);
            if through <= taken {
                return None;
            }
            let start = migration.split.statements[taken].code_start(&migration.source);
            Some(Finding {
                rule: registry::LOCK_HELD_ACROSS_STATEMENTS.id,
                severity: registry::LOCK_HELD_ACROSS_STATEMENTS.severity,
                location: Some(Location {
                    file: migration.path.clone(),
                    span: Span::new(start, start),
                }),
                message: format!(
                    "the {} lock this statement takes on {} stays held while the statements after it run, through line {}: {} of {} wait for all of them, not only for this one",
                    lock.mode.sql_name(),
                    lock.relation,
                    line(through),
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
