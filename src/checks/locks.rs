//! What the shadow measured of a migration's locks, judged: a lock that blocks the
//! application's reads or writes, held while a later statement of its transaction does
//! work that grows with the data (`lock-held-across-statements`). A backfill, an index
//! build or a rewrite under it is minutes of downtime on a table with data, where the
//! same statement before the lock (or in a migration of its own) would block nothing.
//! Statements that only change the catalog (another policy, a comment, a grant) take
//! no time worth naming, so they are not counted.
//!
//! Work is read from what the shadow saw, not from the SQL: a statement that rewrote a
//! table, read every row of one (an index build under SHARE, a validation, a backfill's
//! scan: the transaction's scan counts), or first took ROW EXCLUSIVE on an existing
//! relation of the application's (it wrote rows there). A row written to what the
//! platform keeps in its own schemas (a storage bucket, a cron job, a vault secret) is
//! configuration, not a backfill.
//!
//! The same measures give each lock its time on a larger target ([`predict`]), the
//! budget it is held to (`lock-budget-exceeded`), a scan under the statement's own lock
//! (`rewrite-under-lock`), and the verdict on `require-lock-timeout`.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use crate::config::LockBudgets;

use crate::engine::Observation;
use crate::findings::registry;
use crate::findings::span::{LineIndex, Span};
use crate::findings::{Finding, Location};
use crate::lint::rules::require_lock_timeout;
use crate::migration::MigrationFile;
use crate::report::MigrationEntry;
use crate::report::model::{Blocks, LockEvidence, LockMode, Size, Work, WorkKind, seconds};

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

/// Every statement's work on an existing relation that grows with its size, in order:
/// the rewrites the catalog saw, and every full read of a table the transaction's
/// statistics counted: an index build's (under SHARE) or a scan's (a validation, a
/// backfill).
fn work(entry: &MigrationEntry, observed: &[Observation]) -> Vec<Work> {
    let elapsed = |statement: usize| {
        observed
            .iter()
            .find(|observation| observation.statement == Some(statement))
            .map(|observation| {
                observation
                    .seen
                    .saturating_duration_since(observation.started)
            })
            .unwrap_or_default()
    };
    let mut work: Vec<Work> = entry
        .rewrites
        .iter()
        .filter_map(|rewrite| {
            let statement = rewrite.statement_index?;
            Some(Work {
                statement_index: statement,
                relation: rewrite.table.clone(),
                kind: WorkKind::Rewrite,
                elapsed: elapsed(statement),
            })
        })
        .collect();
    let mut scans: HashMap<&str, i64> = HashMap::new();
    for observation in observed {
        let Some(statement) = observation.statement else {
            continue;
        };
        let strongest = |relation: &str| {
            observation
                .held
                .iter()
                .filter(|held| held.relation == relation)
                .map(|held| held.mode)
                .max()
        };
        for held in observation
            .held
            .iter()
            .filter(|held| !held.created && held.is_table())
        {
            // The counts restart with each transaction: any change is a new full read.
            let before = scans.insert(&held.relation, held.scans).unwrap_or(0);
            let read = held.scans != before && held.scans > 0;
            let counted = work
                .iter()
                .any(|work| work.statement_index == statement && work.relation == held.relation);
            if !read || counted {
                continue;
            }
            // A read under SHARE alone is an index build's; a rewrite reads the table
            // too, and is that.
            let kind = if strongest(&held.relation) == Some(LockMode::Share) {
                WorkKind::IndexBuild
            } else {
                WorkKind::Scan
            };
            work.push(Work {
                statement_index: statement,
                relation: held.relation.clone(),
                kind,
                elapsed: elapsed(statement),
            });
        }
    }
    work.sort_by_key(|work| work.statement_index);
    work
}

/// Gives each lock of `entry` the work done while it was held.
pub fn attribute(entry: &mut MigrationEntry, observed: &[Observation]) {
    let work = work(entry, observed);
    for lock in &mut entry.locks {
        let (Some(taken), Some(through)) = (lock.statement_index, lock.through) else {
            continue;
        };
        lock.work = work
            .iter()
            .filter(|work| (taken..=through).contains(&work.statement_index))
            .cloned()
            .collect();
    }
}

/// The statements that first wrote to each of the application's existing tables, in
/// order: with the work [`attribute`] gave each lock, what a lock can be held across.
fn writes(observed: &[Observation]) -> Vec<usize> {
    let mut seen: HashSet<&str> = HashSet::new();
    let mut statements = Vec::new();
    for observation in observed {
        let Some(statement) = observation.statement else {
            continue;
        };
        for held in observation
            .held
            .iter()
            .filter(|held| !held.created && !held.relation.is_empty())
        {
            let schema = held.relation.split('.').next().unwrap_or_default();
            if held.mode == LockMode::RowExclusive
                && !PLATFORM_SCHEMAS.contains(&schema)
                && seen.insert(held.relation.as_str())
            {
                statements.push(statement);
            }
        }
    }
    statements
}

/// How long `lock` would be held on a target of `target` sizes: its hold in the shadow,
/// each statement's work scaled by how much more the target holds of what it went
/// through (pages: a wide row costs more than a narrow one). `None` when a relation
/// worked on is empty in the shadow (nothing to scale from) or missing on the target.
pub fn predict(
    lock: &LockEvidence,
    shadow: &HashMap<&str, Size>,
    target: &HashMap<String, Size>,
) -> Option<Duration> {
    let held = lock.held?.as_secs_f64();
    let mut statements: Vec<(usize, Duration, f64)> = Vec::new();
    for work in &lock.work {
        let shadow_pages = work.kind.pages(shadow.get(work.relation.as_str())?);
        let target_pages = work.kind.pages(target.get(&work.relation)?);
        if shadow_pages == 0 {
            return None;
        }
        let ratio = target_pages as f64 / shadow_pages as f64;
        match statements
            .iter_mut()
            .find(|(statement, _, _)| *statement == work.statement_index)
        {
            // A statement that went through two relations (a foreign key's validation
            // reads both) takes as long as the larger says.
            Some((_, _, most)) => *most = most.max(ratio),
            None => statements.push((work.statement_index, work.elapsed, ratio)),
        }
    }
    let predicted = statements.iter().fold(held, |total, (_, elapsed, ratio)| {
        total + elapsed.as_secs_f64() * (ratio - 1.0)
    });
    Some(Duration::from_secs_f64(predicted.max(0.0)))
}

/// Predicts every lock of `entries` on a target of `target` sizes (see [`predict`]).
pub fn predict_all<'e>(
    entries: impl Iterator<Item = &'e mut MigrationEntry>,
    target: &HashMap<String, Size>,
) {
    for entry in entries {
        let shadow: HashMap<&str, Size> = entry
            .locks
            .iter()
            .filter_map(|lock| Some((lock.relation.as_str(), lock.size?)))
            .collect();
        let predictions: Vec<Option<Duration>> = entry
            .locks
            .iter()
            .map(|lock| predict(lock, &shadow, target))
            .collect();
        for (lock, predicted) in entry.locks.iter_mut().zip(predictions) {
            lock.predicted = predicted;
        }
    }
}

/// `lock-budget-exceeded`: each lock of `entry` predicted to be held on the target past
/// its budget.
pub fn over_budget(entry: &MigrationEntry, budgets: &LockBudgets) -> Vec<Finding> {
    entry
        .blocking_locks()
        .filter_map(|lock| {
            let predicted = lock.predicted?;
            let budget = budgets.for_blocks(lock.mode.blocks())?;
            if predicted <= budget {
                return None;
            }
            let at = lock.at.clone()?;
            let measured = match (lock.held, lock.size.and_then(|size| size.rows)) {
                (Some(held), Some(rows)) => format!(
                    "; {} in the shadow, on {rows} rows",
                    seconds(held)
                ),
                (Some(held), None) => format!("; {} in the shadow", seconds(held)),
                _ => String::new(),
            };
            Some(Finding {
                rule: registry::LOCK_BUDGET_EXCEEDED.id,
                severity: registry::LOCK_BUDGET_EXCEEDED.severity,
                location: Some(at),
                message: format!(
                    "the {} lock this statement takes on {} would be held for about {} on the target, past the {} budget for locks that block {}{measured}",
                    lock.mode.sql_name(),
                    lock.relation,
                    seconds(predicted),
                    seconds(budget),
                    lock.mode.blocks().as_str(),
                ),
                help: Some(
                    "hold it for less: build indexes CONCURRENTLY, add constraints NOT VALID and VALIDATE them in a later migration, backfill in batches outside the lock; or, if the wait is acceptable, raise locks.budget_ms in migration-guard.yml".to_string(),
                ),
            })
        })
        .collect()
}

/// The findings for the locks `entry` records of `migration` (their work given by
/// [`attribute`]), with what the shadow `observed` after each statement.
pub fn held_across(
    migration: &MigrationFile,
    entry: &MigrationEntry,
    observed: &[Observation],
) -> Vec<Finding> {
    let writes = writes(observed);
    let lines = LineIndex::new(&migration.source);
    let line = |index: usize| {
        let start = migration.split.statements[index].code_start(&migration.source);
        lines.line_col(&migration.source, start).line
    };
    entry
        .blocking_locks()
        .filter_map(|lock| {
            let (taken, through) = (lock.statement_index?, lock.through?);
            let later = |statement: &usize| *statement > taken && *statement <= through;
            let under = lock
                .work
                .iter()
                .map(|work| work.statement_index)
                .chain(writes.iter().copied())
                .filter(later)
                .min()?;
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

/// The locks `migration`'s statements took that block writes or more on relations that
/// existed before it, while the session had no `lock_timeout`, each at the statement
/// that took it, in order (see [`MigrationEntry::unguarded`]). A relation the statement
/// dropped has no name left: its relation is empty.
pub fn unguarded(migration: &MigrationFile, observed: &[Observation]) -> Vec<LockEvidence> {
    let mut seen: HashSet<(&str, LockMode)> = HashSet::new();
    let mut found = Vec::new();
    for observation in observed {
        let Some(statement) = observation.statement else {
            continue;
        };
        for held in &observation.held {
            let first = seen.insert((held.relation.as_str(), held.mode));
            if first
                && !observation.lock_timeout
                && !held.created
                && held.relation != crate::migration::history::TABLE
                && held.mode.blocks() >= Blocks::Writes
            {
                let at = crate::engine::evidence(migration, &held.relation, Some(statement));
                found.push(LockEvidence {
                    relation: held.relation.clone(),
                    kind: held.kind,
                    mode: held.mode,
                    statement_index: Some(statement),
                    at: at.at,
                    held: None,
                    through: None,
                    size: None,
                    work: Vec::new(),
                    predicted: None,
                });
            }
        }
    }
    found
}

/// `require-lock-timeout`, as the shadow saw it: one finding per file, never two. For a
/// file the shadow watched, the lint's guess is kept where the statement it names took
/// a lock that blocks writes with no `lock_timeout` set; moved to the first statement
/// that did, where another did; dropped where none did (a table the file created
/// through dynamic SQL, a timeout set in a way the lint cannot read). A strong lock the
/// lint could not see (ACCESS EXCLUSIVE or SHARE on the application's own table, taken
/// inside a `DO` block) is added. A statement that runs outside a transaction (a file
/// that controls its transactions, `VACUUM FULL`) lets go of its locks before any look:
/// the lint's word stands there.
pub fn judge_lock_timeout(
    findings: Vec<Finding>,
    entries: &[MigrationEntry],
    migrations: &[MigrationFile],
) -> Vec<Finding> {
    let rule = registry::REQUIRE_LOCK_TIMEOUT;
    let mut judged: Vec<Finding> = Vec::with_capacity(findings.len());
    let mut guessed: HashMap<&std::path::Path, Finding> = HashMap::new();
    for finding in findings {
        match &finding.location {
            Some(location)
                if finding.rule == rule.id && !guessed.contains_key(location.file.as_path()) =>
            {
                let file = entries
                    .iter()
                    .find(|entry| entry.file == location.file && entry.unguarded.is_some());
                match file {
                    Some(entry) => {
                        guessed.insert(entry.file.as_path(), finding);
                    }
                    None => judged.push(finding),
                }
            }
            _ => judged.push(finding),
        }
    }
    for entry in entries {
        let (Some(unguarded), Some(migration)) = (
            &entry.unguarded,
            migrations.iter().find(|m| m.path == entry.file),
        ) else {
            continue;
        };
        let lint = guessed.remove(entry.file.as_path());
        let statement_of = |finding: &Finding| {
            let at = finding.location.as_ref()?.span.start;
            migration
                .split
                .statements
                .iter()
                .position(|statement| statement.text.start <= at && at <= statement.text.end)
        };
        // At each statement, a named table first: a relation the statement dropped has
        // nothing to show.
        let mut locks: Vec<&LockEvidence> = unguarded.iter().collect();
        locks.sort_by_key(|lock| {
            (
                lock.statement_index,
                lock.relation.is_empty(),
                lock.kind != "table",
            )
        });
        match lint {
            Some(finding) => {
                let statement = statement_of(&finding);
                let outside = statement
                    .is_some_and(|index| !crate::engine::runs_in_transaction(migration, index));
                if outside || locks.iter().any(|lock| lock.statement_index == statement) {
                    judged.push(finding);
                } else if let Some(lock) = locks.first() {
                    judged.extend(measured(lock, finding.severity));
                }
            }
            None => {
                let missed = locks.iter().find(|lock| {
                    let schema = lock.relation.split('.').next().unwrap_or_default();
                    matches!(lock.mode, LockMode::AccessExclusive | LockMode::Share)
                        && lock.kind != "index"
                        && !lock.relation.is_empty()
                        && !PLATFORM_SCHEMAS.contains(&schema)
                });
                judged.extend(missed.and_then(|lock| measured(lock, rule.severity)));
            }
        }
    }
    judged.extend(guessed.into_values());
    judged
}

/// The finding for `lock`, taken with no `lock_timeout`, as measured.
fn measured(lock: &LockEvidence, severity: crate::findings::Severity) -> Option<Finding> {
    Some(Finding {
        rule: registry::REQUIRE_LOCK_TIMEOUT.id,
        severity,
        location: Some(lock.at.clone()?),
        message: format!(
            "this statement took {} lock on {} in the shadow, and no lock_timeout was set: while it waits for the lock behind a long-running query, {} of it queue behind it",
            lock.mode.sql_name_with_article(),
            if lock.relation.is_empty() {
                "a relation it dropped"
            } else {
                &lock.relation
            },
            lock.mode.blocks().as_str(),
        ),
        help: Some(require_lock_timeout::HELP.to_string()),
    })
}

/// `rewrite-under-lock`: each statement of `entry` that read every row of an existing
/// table (a CHECK or foreign key validated, a NOT NULL checked) while holding a lock on
/// it that blocks its writes or more, as measured. A rewrite is `table-rewrite`; work
/// under a lock an earlier statement took is `lock-held-across-statements`.
pub fn scanned_under_lock(entry: &MigrationEntry) -> Vec<Finding> {
    entry
        .blocking_locks()
        .filter_map(|lock| {
            let taken = lock.statement_index?;
            let scan = lock.work.iter().find(|work| {
                work.statement_index == taken
                    && work.kind == WorkKind::Scan
                    && work.relation == lock.relation
            })?;
            let rows = lock
                .size
                .and_then(|size| size.rows)
                .map_or(String::new(), |rows| format!(" ({rows} rows in the shadow)"));
            Some(Finding {
                rule: registry::REWRITE_UNDER_LOCK.id,
                severity: registry::REWRITE_UNDER_LOCK.severity,
                location: Some(lock.at.clone()?),
                message: format!(
                    "this statement read every row of {}{rows} while holding {} lock on it: {} waited for the whole scan, {} in the shadow",
                    lock.relation,
                    lock.mode.sql_name_with_article(),
                    lock.mode.blocks().as_str(),
                    seconds(scan.elapsed),
                ),
                help: Some(
                    "add the constraint NOT VALID (instant), then VALIDATE CONSTRAINT in a later migration: it scans under SHARE UPDATE EXCLUSIVE, which blocks neither reads nor writes; for NOT NULL, validate a CHECK (col IS NOT NULL) that way first, and SET NOT NULL skips the scan".to_string(),
                ),
            })
        })
        .collect()
}
