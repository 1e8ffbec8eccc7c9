//! What each migration really did, from the catalog rather than the parser: a snapshot of
//! the user's schema after every file, the difference from the one before turned into
//! findings (a column dropped through `EXECUTE` in a `DO` block is still a dropped
//! column), and every file run a second time in a transaction that is rolled back, to
//! prove it can run twice as the runbook demands.
//!
//! Findings are errors by default, follow `migration-guard.yml`, and a file allows them
//! with `-- migration-guard: allow-file <id> -- reason` at its top (shown in the report).

use super::{api_grants, platform_hooks};
use crate::engine::seed::{self, Seed, Seeded};
use crate::engine::{self, Applier, ApplyError, Observation, Rehearsal, Reroute};
use crate::findings::registry;
use crate::findings::{Finding, Location};
use std::collections::HashMap;

use crate::catalog::{self, Catalog, ChangeKind, FunctionKind, Kind, Reread, Scope, revert};
use crate::db::Database;
use crate::findings::span::Span;
use crate::migration::MigrationFile;
use crate::report::model::{LockMode, TableEvidence};
use crate::report::{MigrationEntry, MigrationStatus};

/// The lint rules each catalog check confirms: one problem, one finding (the lint's).
pub const CONFIRMS: [crate::findings::policy::Twin; 8] = [
    (registry::NO_DROP_TABLE.id, registry::DROPPED_TABLE.id),
    (registry::NO_DROP_COLUMN.id, registry::DROPPED_COLUMN.id),
    (
        registry::NO_ALTER_COLUMN_TYPE.id,
        registry::CHANGED_COLUMN_TYPE.id,
    ),
    (registry::NO_DROP_VIEW.id, registry::DROPPED_VIEW.id),
    (registry::NO_DROP_FUNCTION.id, registry::DROPPED_FUNCTION.id),
    (
        registry::CONSTRAINT_NOT_VALID.id,
        registry::REWRITE_UNDER_LOCK.id,
    ),
    (
        registry::NOT_NULL_ON_EXISTING_COLUMN.id,
        registry::REWRITE_UNDER_LOCK.id,
    ),
    // A NOT NULL column with no default: the scan that checks it.
    (
        registry::ADD_COLUMN_REQUIRES_DEFAULT.id,
        registry::REWRITE_UNDER_LOCK.id,
    ),
];

/// The object a catalog finding names (its last part, without a function's arguments),
/// to pair it with a lint finding.
pub fn object_named(finding: &Finding) -> Option<String> {
    let object = finding
        .message
        .split_whitespace()
        .find(|word| word.contains('.'))?;
    let object = object.split('(').next()?;
    Some(object.rsplit('.').next()?.to_string())
}

#[derive(Debug, thiserror::Error)]
pub enum SemanticError {
    #[error(transparent)]
    Apply(#[from] ApplyError),
    #[error("cannot fill the shadow's tables with synthetic rows (--seed-rows): {0}")]
    Seed(#[source] crate::db::PgError),
    #[error("cannot read the catalog after {file}: {source}")]
    Snapshot {
        file: String,
        #[source]
        source: crate::db::PgError,
    },
}

/// What the checked run produced.
#[derive(Debug, Default)]
pub struct Checked {
    pub entries: Vec<MigrationEntry>,
    pub findings: Vec<Finding>,
    /// What the seed did, when one was asked for and made.
    pub seeded: Option<Seeded>,
    /// The whole catalog the applied migrations built (the second run leaves nothing).
    pub built: Option<Catalog>,
}

/// What other sessions read of the shadow while [`apply`]'s session reads it too: `start`
/// the database as the migrations find it, `end` what they built when every one applied.
/// Both only read (another session's commit would change what they see), and `end` is
/// done before the second run takes its locks.
pub struct Beside<S, E> {
    pub start: S,
    pub end: E,
}

/// Applies `migrations` like the apply engine, proving after each what it changed; stops
/// at the first failure (the rest `skipped`). Then the applied ones run a second time.
/// With `seed`, the tables are filled before the migration it names. `exposed` are the
/// schemas the Data API serves, whose grants are watched. What `beside` returns comes
/// back with the result (`end`'s only when it ran).
pub async fn apply<S: Future, E: Future>(
    db: &Database,
    migrations: &[MigrationFile],
    reroute: Option<&dyn Reroute>,
    seed: Option<Seed>,
    exposed: &[String],
    beside: Beside<S, E>,
) -> Result<(Checked, S::Output, Option<E::Output>), SemanticError> {
    let (ready, started) = tokio::join!(
        async {
            let applier = Applier::new(db)
                .await?
                .watching_statements()
                .reading_sizes(seed.is_some())
                .rerouting(reroute);
            let reader = catalog::Reader::new(db, Scope::user())
                .await
                .map_err(unreadable("the start"))?;
            // The catalog as the last read left it; each read after a file updates it
            // in place.
            let mut kept = Catalog::default();
            reader
                .reread(db, &mut kept, None, None)
                .await
                .map_err(unreadable("the start"))?;
            Ok::<_, SemanticError>((applier, reader, kept))
        },
        beside.start
    );
    let (applier, reader, mut kept) = ready?;
    let mut checked = Checked::default();
    let mut applied = 0;
    // The versions a later file says it reverts: the whole catalog before each, to hold
    // the revert to.
    let reverted: Vec<&str> = migrations
        .iter()
        .filter_map(|m| revert::reverts(&m.source))
        .collect();
    // For each reverted version, the catalog before it and what it changed.
    let mut before_reverted: HashMap<String, (Catalog, Vec<String>)> = HashMap::new();
    for (position, migration) in migrations.iter().enumerate() {
        if let Some(seed) = seed.filter(|seed| seed.before == position) {
            checked.seeded = Some(
                seed::fill(db, seed.rows)
                    .await
                    .map_err(SemanticError::Seed)?,
            );
        }
        let reverted_here = reverted.contains(&migration.version.as_str());
        if reverted_here {
            let whole = snapshot(db, &reader, &migration.file_name).await?;
            before_reverted.insert(migration.version.clone(), (whole, Vec::new()));
        }
        tracing::info!(
            "applying {} ({}/{})",
            migration.file_name,
            position + 1,
            migrations.len()
        );
        // The API's grants and the platform hooks are read around the files that can
        // take one away.
        let grants_before = if api_grants::may_revoke(migration) {
            Some(
                api_grants::read(db, exposed)
                    .await
                    .map_err(unreadable(&migration.file_name))?,
            )
        } else {
            None
        };
        let hooks_before = if platform_hooks::may_unhook(migration) {
            Some(
                platform_hooks::read(db)
                    .await
                    .map_err(unreadable(&migration.file_name))?,
            )
        } else {
            None
        };
        let (mut entry, observed) = applier.apply_observed(migration).await?;
        let failed = entry.status == MigrationStatus::Failed;
        if failed {
            checked.entries.push(entry);
            checked.entries.extend(
                migrations[position + 1..]
                    .iter()
                    .map(|m| MigrationEntry::new(m, MigrationStatus::Skipped)),
            );
            break;
        }
        applied += 1;
        // Whatever changes a table (a column, constraint or policy added or gone, a type,
        // RLS, a rewrite, the table itself) takes an ACCESS EXCLUSIVE lock on it, held
        // to the commit: for a file that ran as one transaction, reading the tables it
        // locked is reading all it changed. A relation it dropped has no name left to
        // read: then, and for files that commit as they go, every table is read.
        // The views and functions it locked or created are read again (a drop, a rename
        // or a move locks them). A schema, type or extension changed renames or hides
        // what lies in it without a lock: then everything is read.
        let touched = observed
            .touched
            .as_ref()
            .filter(|_| engine::is_atomic(migration));
        let locked = locked_tables(&observed.looks)
            .filter(|_| touched.is_some_and(|touched| !touched.unlocked));
        // What was read again, before and after the file: the rest is as it was.
        let Reread { before, after } = reader
            .reread(db, &mut kept, locked.as_ref(), touched)
            .await
            .map_err(unreadable(&migration.file_name))?;
        let observed = observed.looks;
        entry.rewrites = rewrites(migration, &before, &after, &observed);
        super::locks::attribute(&mut entry, &observed);
        entry.unguarded = Some(super::locks::unguarded(migration, &observed));
        let rewritten = entry.rewrites.iter().map(|rewrite| {
            finding(
                registry::TABLE_REWRITE,
                migration,
                format!(
                    "{} was rewritten by this {} (its storage replaced): it was locked ACCESS EXCLUSIVE, reads and writes waiting, for as long as copying every row took",
                    rewrite.table,
                    if rewrite.at.is_some() { "statement" } else { "migration" }
                ),
                rewrite.at.as_ref().map(|at| at.span),
            )
        });
        let found: Vec<Finding> = rewritten
            .chain(changes(migration, &before, &after))
            .chain(super::locks::held_across(migration, &entry, &observed))
            .chain(super::locks::scanned_under_lock(&entry))
            .collect();
        if let Some(hooks_before) = hooks_before {
            let hooks_after = platform_hooks::read(db)
                .await
                .map_err(unreadable(&migration.file_name))?;
            checked.findings.extend(platform_hooks::removed(
                migration,
                &hooks_before,
                &hooks_after,
            ));
        }
        if let Some(grants_before) = grants_before {
            let grants_after = api_grants::read(db, exposed)
                .await
                .map_err(unreadable(&migration.file_name))?;
            checked.findings.extend(api_grants::removed(
                migration,
                &grants_before,
                &grants_after,
            ));
        }
        checked.findings.extend(found);
        checked.entries.push(entry);
        if reverted_here && let Some((then, touched)) = before_reverted.get_mut(&migration.version)
        {
            // A revert is judged on what the reverted migration changed, not on what
            // later ones did.
            let whole = snapshot(db, &reader, &migration.file_name).await?;
            *touched = catalog::diff(then, &whole)
                .into_iter()
                .map(|change| change.object)
                .collect();
        }
        if let Some(original) = revert::reverts(&migration.source).and_then(|version| {
            let (then, touched) = before_reverted.get(version)?;
            Some((version, then, touched.as_slice()))
        }) {
            let now = snapshot(db, &reader, &migration.file_name).await?;
            if let Some(finding) = revert_left(migration, original, &now) {
                checked.findings.push(finding);
            }
        }
    }
    let (read, ended) = tokio::join!(
        async {
            let grants = api_grants::read(db, exposed)
                .await
                .map_err(unreadable("the last migration"))?;
            let end = snapshot(db, &reader, "the last migration").await?;
            Ok::<_, SemanticError>((grants, end))
        },
        async {
            if applied == migrations.len() {
                Some(beside.end.await)
            } else {
                None
            }
        }
    );
    let (grants, end) = read?;
    checked
        .findings
        .extend(api_grants::not_granted(&migrations[..applied], &grants));
    let second = second_run(db, &migrations[..applied], &end, &reader, reroute).await?;
    checked
        .findings
        .extend(second.into_iter().map(|(finding, _)| finding));
    checked.built = Some(end);
    Ok((checked, started, ended))
}

/// The error of a catalog read `after` a file (or "the start").
fn unreadable(after: &str) -> impl FnOnce(crate::db::PgError) -> SemanticError + '_ {
    move |source| SemanticError::Snapshot {
        file: after.to_string(),
        source,
    }
}

/// The whole catalog (before and after the second run, and around reverts).
async fn snapshot(
    db: &Database,
    reader: &catalog::Reader,
    file: &str,
) -> Result<Catalog, SemanticError> {
    reader.snapshot(db).await.map_err(unreadable(file))
}

/// The finding for a revert of `version` that does not bring back, of the objects
/// `version` changed (`touched`), what they were in `then` (before `version`).
fn revert_left(
    migration: &MigrationFile,
    (version, then, touched): (&str, &Catalog, &[String]),
    now: &Catalog,
) -> Option<Finding> {
    let left: Vec<catalog::Change> = catalog::diff(then, now)
        .into_iter()
        .filter(|change| touched.contains(&change.object))
        .collect();
    if left.is_empty() {
        return None;
    }
    Some(finding(
        registry::REVERT_INCOMPLETE,
        migration,
        format!(
            "it reverts {version}, but the schema after it is not the schema before {version}: {}",
            listed(&left)
        ),
        None,
    ))
}

/// The tables the observations saw locked in a mode that DDL takes (SHARE UPDATE
/// EXCLUSIVE and up: what may change a table's columns, constraints or policies); none
/// when one of the locked relations is gone (dropped by the file).
fn locked_tables(observed: &[Observation]) -> Option<catalog::Locked> {
    let mut tables = catalog::Locked::default();
    for held in observed.iter().flat_map(|observation| &observation.held) {
        if held.relation.is_empty() {
            return None;
        }
        if held.is_table() && held.mode >= LockMode::ShareUpdateExclusive {
            if !tables.names.contains(&held.relation) {
                tables.names.push(held.relation.clone());
            }
            if !tables.oids.contains(&held.oid) {
                tables.oids.push(held.oid);
            }
        }
    }
    Some(tables)
}

/// The tables of `before` whose storage file changed, each at the statement after which
/// it was first seen changed; a change no look saw (a `VACUUM FULL` outside a
/// transaction releases its lock at once) is the file's, with no statement.
fn rewrites(
    migration: &MigrationFile,
    before: &Catalog,
    after: &Catalog,
    observed: &[Observation],
) -> Vec<TableEvidence> {
    let mut current: HashMap<&str, u32> = before
        .tables
        .iter()
        .filter(|(_, table)| table.relfilenode != 0)
        .map(|(name, table)| (name.as_str(), table.relfilenode))
        .collect();
    let mut found = Vec::new();
    for observation in observed {
        for held in &observation.held {
            if let Some(seen) = current.get_mut(held.relation.as_str())
                && held.relfilenode != 0
                && *seen != held.relfilenode
            {
                *seen = held.relfilenode;
                found.push(engine::evidence(
                    migration,
                    &held.relation,
                    observation.statement,
                ));
            }
        }
    }
    for name in before.tables.keys() {
        let unseen = current.get(name.as_str()).is_some_and(|node| {
            after
                .tables
                .get(name)
                .is_some_and(|now| now.relfilenode != *node)
        }) && !found
            .iter()
            .any(|rewrite: &TableEvidence| &rewrite.table == name);
        if unseen {
            found.push(engine::evidence(migration, name, None));
        }
    }
    found
}

/// The findings in what `migration` changed from `before` to `after`.
fn changes(migration: &MigrationFile, before: &Catalog, after: &Catalog) -> Vec<Finding> {
    let changed = catalog::diff(before, after);
    changed
        .iter()
        .filter_map(|change| {
            let (rule, message) = match (change.kind, change.change) {
                (Kind::Table, ChangeKind::Removed) => (
                    registry::DROPPED_TABLE,
                    match moved_to(&change.object, before, after) {
                        Some(moved) => format!("the table {} is gone after this migration: {moved} was added with the same columns, so it reads as renamed or moved there (its rows with it), and clients still reading {} break", change.object, change.object),
                        None => format!("the table {} is gone after this migration, and its data with it", change.object),
                    },
                ),
                (Kind::Column, ChangeKind::Removed) => {
                    let added = rename_shaped(&change.object, before, after);
                    // A RENAME keeps the data: the lint's no-rename judges it.
                    if added.as_deref().is_some_and(|added| renamed(migration, &change.object, added)) {
                        return None;
                    }
                    (
                        registry::DROPPED_COLUMN,
                        format!(
                            "the column {} is gone after this migration, and its data with it; clients still reading it break{}",
                            change.object,
                            added
                                .map(|added| format!(". The column {added} of the same type was added beside it: if this was meant as a rename (a generated diff cannot see one, and writes DROP and ADD), write ALTER TABLE … RENAME COLUMN, which keeps the data"))
                                .unwrap_or_default()
                        ),
                    )
                }
                (Kind::Column, ChangeKind::Changed) if change.detail.starts_with("type ") => (
                    registry::CHANGED_COLUMN_TYPE,
                    format!("the column {} changed {}: a rewrite under an ACCESS EXCLUSIVE lock, and clients that expect the old type break", change.object, change.detail),
                ),
                (Kind::Constraint, ChangeKind::Removed) => (
                    registry::DROPPED_CONSTRAINT,
                    format!("the constraint {} is gone after this migration: the data is no longer held to it", change.object),
                ),
                (Kind::Rls, ChangeKind::Changed) if change.detail.ends_with("off") => (
                    registry::RLS_DISABLED,
                    format!("row level security is off on {} after this migration ({}): every row is visible to anyone the table is granted to", change.object, change.detail),
                ),
                (Kind::Policy, ChangeKind::Removed) => (
                    registry::DROPPED_POLICY,
                    format!("the policy {} is gone after this migration", change.object),
                ),
                (Kind::View | Kind::MaterializedView, ChangeKind::Removed) => (
                    registry::DROPPED_VIEW,
                    format!(
                        "the {} {} is gone after this migration: the Data API serves it, so clients reading it get errors the moment the migration runs",
                        if change.kind == Kind::View { "view" } else { "materialized view" },
                        change.object
                    ),
                ),
                (Kind::Function, ChangeKind::Removed) => (
                    registry::DROPPED_FUNCTION,
                    dropped_function(&change.object, before, &changed),
                ),
                _ => return None,
            };
            Some(finding(rule, migration, message, None))
        })
        .collect()
}

/// A table the migration added with the very columns (by name: a type that moved with
/// the table has another schema in its name) of the table `object` it took away: the
/// shape of a rename, or of a move to another schema, which keep the rows.
fn moved_to(object: &str, before: &Catalog, after: &Catalog) -> Option<String> {
    let columns = |catalog: &Catalog, table: &str| -> Vec<String> {
        let mut columns: Vec<String> = catalog
            .columns
            .values()
            .filter(|column| column.table == table)
            .map(|column| column.name.clone())
            .collect();
        columns.sort();
        columns
    };
    let gone = columns(before, object);
    if gone.is_empty() {
        return None;
    }
    after
        .tables
        .keys()
        .filter(|name| !before.tables.contains_key(*name))
        .find(|name| columns(after, name) == gone)
        .cloned()
}

/// A column of the same table and type that the migration added where it dropped the
/// column `object`: the shape of a rename that a generated diff wrote as DROP and ADD.
fn rename_shaped(object: &str, before: &Catalog, after: &Catalog) -> Option<String> {
    let dropped = before.columns.get(object)?;
    after
        .columns
        .iter()
        .find(|(name, column)| {
            column.table == dropped.table
                && column.type_name == dropped.type_name
                && !before.columns.contains_key(*name)
        })
        .map(|(name, _)| name.clone())
}

/// Whether `migration` renames the column `old` to `new` (qualified names): the catalog
/// sees a rename as one column gone and another added.
fn renamed(migration: &MigrationFile, old: &str, new: &str) -> bool {
    let name = |qualified: &str| {
        qualified
            .rsplit('.')
            .next()
            .unwrap_or(qualified)
            .to_lowercase()
    };
    let (old, new) = (name(old), name(new));
    let words: Vec<String> = migration
        .source
        .to_lowercase()
        .replace('"', "")
        .split_whitespace()
        .map(|word| word.trim_end_matches(';').to_string())
        .collect();
    words
        .windows(3)
        .any(|w| w[0] == old && w[1] == "to" && w[2] == new)
        && words.iter().any(|word| word == "rename")
}

/// The message for the function `object` that `before` had and is gone: a change of
/// signature when functions of its name were added (in `changed`).
fn dropped_function(object: &str, before: &Catalog, changed: &[catalog::Change]) -> String {
    let name = object.split('(').next().unwrap_or(object);
    let kind = before
        .functions
        .get(object)
        .map_or(FunctionKind::Function, |function| function.kind);
    let replacements: Vec<&str> = changed
        .iter()
        .filter(|change| {
            change.kind == Kind::Function
                && change.change == ChangeKind::Added
                && change.object.split('(').next() == Some(name)
        })
        .map(|change| change.object.as_str())
        .collect();
    let (gone, callers) = if replacements.is_empty() {
        (String::new(), "it")
    } else {
        (
            format!(
                ", replaced by {}: a change of signature, and a call is matched by its arguments",
                replacements.join(", ")
            ),
            "the old one",
        )
    };
    let why = if kind == FunctionKind::Function {
        format!(
            "the Data API serves it at /rpc/{}, so clients calling {callers} get errors the moment the migration runs",
            name.rsplit('.').next().unwrap_or(name)
        )
    } else {
        format!("whatever calls {callers} gets errors the moment the migration runs")
    };
    let separator = if replacements.is_empty() { ":" } else { ";" };
    format!(
        "the {} {object} is gone after this migration{gone}{separator} {why}",
        kind.as_str()
    )
}

/// Runs the applied migrations a second time, in order, in one transaction that is
/// rolled back: each file under a savepoint, so a file that fails is named and the next
/// ones still run; then the schema must be what the first run left (`end`). A set that
/// can run twice reproduces itself, also when a later file undoes an earlier one.
async fn second_run<'m>(
    db: &Database,
    migrations: &'m [MigrationFile],
    end: &Catalog,
    reader: &catalog::Reader,
    reroute: Option<&dyn Reroute>,
) -> Result<Vec<(Finding, &'m MigrationFile)>, SemanticError> {
    let Some(last) = migrations.last() else {
        return Ok(Vec::new());
    };
    tracing::info!(
        "running the {} migration(s) a second time",
        migrations.len()
    );
    let control = |sql: &'static str, file: &str| {
        let file = file.to_string();
        async move {
            db.client
                .batch_execute(sql)
                .await
                .map_err(|source| ApplyError::Connection { file, source })
        }
    };
    let mut findings = Vec::new();
    let (rehearsed, ended) = engine::rehearse_each(db, migrations, reroute, "BEGIN").await?;
    for (migration, rehearsal) in migrations.iter().zip(rehearsed) {
        if let Rehearsal::Failed(error) = rehearsal {
            findings.push((
                finding(
                    registry::NOT_IDEMPOTENT,
                    migration,
                    format!(
                        "running it a second time fails: {}{}",
                        error.message,
                        error
                            .sqlstate
                            .as_deref()
                            .map(|code| format!(" [{code}]"))
                            .unwrap_or_default()
                    ),
                    error.location.map(|location| location.span),
                ),
                migration,
            ));
        }
    }
    control(ended, &last.file_name).await?;
    let again = snapshot(db, reader, "the second run").await;
    control("ROLLBACK", &last.file_name).await?;
    let changed = catalog::diff(end, &again?);
    if changed.is_empty() {
        return Ok(findings);
    }
    // Each change goes to the file whose statement last made the object what it is
    // (the last file when no statement names it).
    let locator = super::advisors::Locator::new(migrations);
    let mut by_file: Vec<(&'m MigrationFile, Option<Span>, Vec<catalog::Change>)> = Vec::new();
    for change in changed {
        let unnamed_index = || {
            // An index without a name gets a new one each run: the statement that made it.
            let on = change
                .detail
                .split(" ON ")
                .nth(1)?
                .split_whitespace()
                .next()?;
            let table = on.rsplit('.').next()?.trim_matches('"');
            locator.unnamed_index(table)
        };
        let at = locator
            .locate_own(&change.object)
            .or_else(unnamed_index)
            .or_else(|| locator.locate(&change.object));
        let (migration, span) = at
            .as_ref()
            .and_then(|at| {
                let migration = migrations.iter().find(|m| m.path == at.file)?;
                Some((migration, Some(at.span)))
            })
            .unwrap_or((last, None));
        match by_file
            .iter_mut()
            .find(|(m, _, _)| m.path == migration.path)
        {
            Some((_, _, changes)) => changes.push(change),
            None => by_file.push((migration, span, vec![change])),
        }
    }
    for (migration, span, changes) in by_file {
        findings.push((
            finding(
                registry::NOT_IDEMPOTENT,
                migration,
                format!(
                    "running the migrations a second time changes the schema again: {}",
                    listed(&changes)
                ),
                span,
            ),
            migration,
        ));
    }
    Ok(findings)
}

/// The first changes, one phrase each, for a finding's message.
fn listed(changes: &[catalog::Change]) -> String {
    let mut what: Vec<String> = changes
        .iter()
        .take(5)
        .map(|c| format!("{} {} {}", c.kind.as_str(), c.object, c.change.as_str()))
        .collect();
    if changes.len() > 5 {
        what.push("…".to_string());
    }
    what.join("; ")
}

fn finding(
    rule: registry::Rule,
    migration: &MigrationFile,
    message: String,
    span: Option<Span>,
) -> Finding {
    let help = match rule {
        registry::NOT_IDEMPOTENT => {
            "make every statement safe to repeat: CREATE … IF NOT EXISTS, DROP … IF EXISTS, ADD COLUMN IF NOT EXISTS, CREATE OR REPLACE, INSERT … ON CONFLICT DO NOTHING"
        }
        registry::RLS_DISABLED => "keep row level security on; change the policies instead",
        registry::DROPPED_VIEW => {
            "keep the view: create the new one beside it, move the clients to it, and drop the old one in a later release, in a migration of its own with `-- migration-guard: allow-file dropped-view -- reason` at the top"
        }
        registry::DROPPED_FUNCTION => {
            "keep the function: a new signature is a new function, so create it beside the old one, move the callers to it, and drop the old one in a later release, in a migration of its own with `-- migration-guard: allow-file dropped-function -- reason` at the top"
        }
        registry::TABLE_REWRITE => {
            "avoid the rewrite: add a column with a constant default instead of changing a type, or create a new table and backfill it in batches; if it must happen, run it when the table is quiet, with a lock_timeout"
        }
        _ => {
            "the runbook is additive-only: keep what exists and add beside it; if it must go, do it in a migration of its own with `-- migration-guard: allow-file <id> -- reason` at the top"
        }
    };
    Finding {
        rule: rule.id,
        severity: rule.severity,
        location: Some(Location {
            file: migration.path.clone(),
            span: span.unwrap_or(Span::new(0, 0)),
        }),
        message,
        help: Some(help.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::{Function, View};
    use crate::sql::split::split;
    use std::path::PathBuf;
    use std::sync::Arc;

    fn file(sql: &str) -> MigrationFile {
        MigrationFile {
            path: PathBuf::from("m/20250102000000_x.sql"),
            file_name: "20250102000000_x.sql".to_string(),
            version: "20250102000000".to_string(),
            name: "x".to_string(),
            source: Arc::from(sql),
            split: split(sql),
        }
    }

    fn view(name: &str) -> View {
        View {
            schema: "public".to_string(),
            name: name.to_string(),
            definition: String::new(),
            options: Vec::new(),
        }
    }

    fn function(name: &str, kind: FunctionKind, arguments: &str) -> (String, Function) {
        (
            format!("public.{name}({arguments})"),
            Function::named("public", name, kind, arguments),
        )
    }

    #[test]
    fn views_and_functions_gone_are_dropped_and_a_new_signature_says_so() {
        let mut before = Catalog::default();
        before.views.insert("public.v".into(), view("v"));
        before
            .materialized_views
            .insert("public.mv".into(), view("mv"));
        before.functions.extend([
            function("f", FunctionKind::Function, "integer"),
            function("g", FunctionKind::Function, ""),
            function("p", FunctionKind::Procedure, "text"),
            function("kept", FunctionKind::Function, "integer"),
        ]);
        let mut after = Catalog::default();
        after.functions.extend([
            function("f", FunctionKind::Function, "text"),
            function("kept", FunctionKind::Function, "integer"),
            // Another overload beside the old one drops nothing.
            function("kept", FunctionKind::Function, "text"),
        ]);
        let found = changes(&file("SELECT 1;"), &before, &after);
        let found: Vec<(&str, &str)> = found.iter().map(|f| (f.rule, f.message.as_str())).collect();
        assert_eq!(
            found,
            [
                (
                    registry::DROPPED_VIEW.id,
                    "the view public.v is gone after this migration: the Data API serves it, so clients reading it get errors the moment the migration runs"
                ),
                (
                    registry::DROPPED_VIEW.id,
                    "the materialized view public.mv is gone after this migration: the Data API serves it, so clients reading it get errors the moment the migration runs"
                ),
                (
                    registry::DROPPED_FUNCTION.id,
                    "the function public.f(integer) is gone after this migration, replaced by public.f(text): a change of signature, and a call is matched by its arguments; the Data API serves it at /rpc/f, so clients calling the old one get errors the moment the migration runs"
                ),
                (
                    registry::DROPPED_FUNCTION.id,
                    "the function public.g() is gone after this migration: the Data API serves it at /rpc/g, so clients calling it get errors the moment the migration runs"
                ),
                (
                    registry::DROPPED_FUNCTION.id,
                    "the procedure public.p(text) is gone after this migration: whatever calls it gets errors the moment the migration runs"
                ),
            ]
        );
    }

    #[test]
    fn the_object_a_finding_names_is_its_last_part_without_arguments() {
        let named = |message: &str| {
            object_named(&Finding {
                rule: registry::DROPPED_FUNCTION.id,
                severity: crate::findings::Severity::Error,
                location: None,
                message: message.to_string(),
                help: None,
            })
        };
        assert_eq!(
            named("the function public.f(integer, public.t) is gone").as_deref(),
            Some("f")
        );
        assert_eq!(named("the view app.v is gone").as_deref(), Some("v"));
        assert_eq!(
            named("the column public.notes.body is gone").as_deref(),
            Some("body")
        );
    }
}
