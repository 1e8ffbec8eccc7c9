//! The user's schema as the system catalogs describe it, and the difference between two
//! such snapshots.
//!
//! The shadow takes a [`snapshot`] after every migration; [`diff`] of two snapshots is
//! what a migration really did (dropped columns, disabled RLS, a replaced function body),
//! whatever its SQL looked like: dynamic SQL in a `DO` block cannot hide from it. The same
//! comparison between the shadow and a real database is drift.
//!
//! A snapshot is one query (one round trip, see `snapshot.sql`) returning a json document.
//! Every object is keyed by its qualified name in a [`BTreeMap`], so snapshots compare and
//! serialise deterministically: no OIDs, no catalog order. Definitions come from Postgres's
//! own deparse functions (`pg_get_indexdef`, `pg_get_constraintdef`, `format_type`...),
//! printed with an empty `search_path`, so every name outside `pg_catalog` is
//! schema-qualified whatever the connection's settings.
//!
//! Covered, in the schemas of a [`Scope`]: schemas, tables (plain, partitioned, foreign)
//! with their columns, constraints, indexes, triggers, RLS flags, policies and grants;
//! views and materialized views; functions, procedures and aggregates; enum, domain,
//! composite and range types; sequences. Extensions are database-wide: all of them are
//! covered but `plpgsql`. Hosted Supabase lets users add policies and triggers to the
//! tables of the schemas it manages (`storage.objects`, `auth.users`), so those are
//! covered too: every policy there, and the triggers that call a function of a covered
//! schema.
//!
//! Left out: objects owned by an extension (they come and go with it), the `public`
//! schema itself (every database has it), the indexes behind primary key, unique and
//! exclusion constraints (the constraint stands for them), sequences behind identity
//! columns (the column stands for them), column-level grants, schema and function
//! privileges, owners, comments, publications, event triggers, rules, statistics
//! objects and data. Needs Postgres 14 or later.

mod diff;
mod model;
pub mod revert;
mod snapshot;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

use crate::db::{Database, PgError};
use snapshot::Listed;

pub use diff::{Change, ChangeKind, Kind, diff};
pub use model::*;

/// The catalog of the schemas `scope` covers, in one round trip.
///
/// The query runs with an empty `search_path` (so definitions read the same on every
/// connection); the session's value is put back afterwards, and kept meanwhile in the
/// placeholder setting `migration_guard.search_path`.
pub async fn snapshot(db: &Database, scope: &Scope) -> Result<Catalog, PgError> {
    snapshot::whole(db, scope).await
}

/// The tables a migration locked: their names as it saw them (what an earlier read has
/// them under), and their oids (what is read again).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Locked {
    pub names: Vec<String>,
    pub oids: Vec<u32>,
}

/// What one transaction touched in the catalog, read before its commit: what
/// [`Reader::reread`] reads again of the views and functions after it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Touched {
    /// The functions it locked or created (by oid). Dropping, renaming, moving or
    /// altering a function locks it; creating one gives it an oid newer than any before.
    pub functions: Vec<u32>,
    /// The relations it locked, and the views it created (by oid). Dropping, renaming,
    /// moving or replacing a view locks it.
    pub relations: Vec<u32>,
    /// It changed a schema, a type or an extension: that renames or hides what lies in
    /// them (a function's key names its argument types) without locking it, so every
    /// view and function is read again.
    pub unlocked: bool,
}

/// The reads the shadow repeats on one connection after every migration, of the schemas
/// one [`Scope`] covers: their queries are prepared ([`Reader::new`]), so that each read
/// costs the query's execution alone, not a parse and a plan.
///
/// A prepared query's plan is made at its first run, for the catalog as it is then. A
/// plan made for the few rows a fresh database holds scans a catalog where, a hundred
/// migrations later, an index lookup costs a fraction (a column's default, read from
/// `pg_attrdef`, took a scan of every default). So the reads are prepared again, and
/// planned anew, each time the catalog they read has doubled.
pub struct Reader {
    scope: Scope,
    prepared: Mutex<Planned>,
    /// Where each view and function of the last [`Reader::reread`] is, by oid: what a
    /// later read by oid replaces.
    routines: Mutex<HashMap<(Listed, u32), String>>,
}

/// The prepared reads, and the size of the catalog (its objects) when they were
/// prepared.
struct Planned {
    reads: Arc<snapshot::Prepared>,
    for_objects: usize,
}

/// Below this many objects, a plan is not made again: the catalog is still mostly the
/// system's.
const REPLAN_FROM: usize = 64;

impl Reader {
    pub async fn new(db: &Database, scope: Scope) -> Result<Reader, PgError> {
        Ok(Reader {
            prepared: Mutex::new(Planned {
                reads: Arc::new(snapshot::Prepared::new(db).await?),
                for_objects: 0,
            }),
            scope,
            routines: Mutex::new(HashMap::new()),
        })
    }

    fn prepared(&self) -> Arc<snapshot::Prepared> {
        let planned = self
            .prepared
            .lock()
            .expect("plans are kept without panicking");
        Arc::clone(&planned.reads)
    }

    /// Prepares the reads again when `catalog` has twice the objects it had when they
    /// were: their next run plans them for the catalog as it is now.
    async fn replan_if_grown(&self, db: &Database, catalog: &Catalog) -> Result<(), PgError> {
        let objects = catalog.object_count();
        let planned_for = self
            .prepared
            .lock()
            .expect("plans are kept without panicking")
            .for_objects;
        if objects < (2 * planned_for).max(REPLAN_FROM) {
            return Ok(());
        }
        let reads = Arc::new(snapshot::Prepared::new(db).await?);
        *self
            .prepared
            .lock()
            .expect("plans are kept without panicking") = Planned {
            reads,
            for_objects: objects,
        };
        Ok(())
    }

    /// The whole catalog, as [`snapshot`] reads it. Planned again at each read: it runs
    /// a few times a run, and a plan made once, on the catalog the run started with,
    /// took three times as long on the one its migrations built.
    pub async fn snapshot(&self, db: &Database) -> Result<Catalog, PgError> {
        snapshot::whole(db, &self.scope).await
    }

    /// The tables alone: tables (with RLS), columns, constraints and policies, the rest
    /// of the catalog left empty. What the shadow compares after every migration, for a
    /// fraction of a full snapshot's cost (the definitions of indexes, functions and
    /// triggers are most of it).
    pub async fn tables(&self, db: &Database) -> Result<Catalog, PgError> {
        let prepared = self.prepared();
        let read = snapshot::tables(db, &prepared, &self.scope, None);
        snapshot::in_empty_search_path(db, Some(&prepared), read).await
    }

    /// What the shadow reads after every migration, in one round trip, into `catalog`
    /// (the last read, or an empty catalog for a first one): the tables (with RLS,
    /// columns, constraints and policies), and the names of the views, materialized
    /// views and functions, enough to see one appear or go, cheaply.
    ///
    /// With `only` (the tables a migration locked), those alone are read again: they
    /// replace or join theirs. For a migration that changed only tables it locked, that
    /// is what reading every table gives, at the cost of reading those (looked up by
    /// oid). With `touched` (what it touched), the views and functions it touched alone
    /// are read again. Without them, everything is.
    ///
    /// Returns what was read again, as it was and as it is now: the rest of `catalog`
    /// is as it was, so the diff of the two is the diff of the whole catalogs, at the
    /// cost of what the migration touched.
    pub async fn reread(
        &self,
        db: &Database,
        catalog: &mut Catalog,
        only: Option<&Locked>,
        touched: Option<&Touched>,
    ) -> Result<Reread, PgError> {
        let touched = touched.filter(|touched| !touched.unlocked);
        let prepared = self.prepared();
        // No table locked: none to read again (nor the schemas, which are read with them).
        let tables = match only {
            Some(locked) if locked.oids.is_empty() => None,
            Some(locked) => Some(Some(&locked.oids[..])),
            None => Some(None),
        };
        let (tables, routines) = snapshot::in_empty_search_path(db, Some(&prepared), async {
            let (tables, routines) = tokio::join!(
                async {
                    match tables {
                        Some(only) => snapshot::tables(db, &prepared, &self.scope, only)
                            .await
                            .map(Some),
                        None => Ok(None),
                    }
                },
                snapshot::routines(
                    db,
                    &prepared,
                    &self.scope,
                    touched.map(|touched| (&touched.relations[..], &touched.functions[..]))
                )
            );
            Ok((tables?, routines?))
        })
        .await?;
        let mut reread = Reread::default();
        if let Some(fresh) = tables {
            reread.put_tables(catalog, fresh, only.map(|locked| &locked.names[..]));
        }
        self.reread_routines(catalog, &mut reread, touched, routines);
        self.replan_if_grown(db, catalog).await?;
        Ok(reread)
    }

    /// Puts `routines`, the views and functions read now, in `catalog`: in place of
    /// those `touched` (of every one, without it), which go to `reread.before`.
    fn reread_routines(
        &self,
        catalog: &mut Catalog,
        reread: &mut Reread,
        touched: Option<&Touched>,
        routines: Vec<snapshot::Routine>,
    ) {
        let mut index = self
            .routines
            .lock()
            .expect("the routines' index is kept without panicking");
        let before = &mut reread.before;
        match touched {
            Some(touched) => {
                let relations = touched
                    .relations
                    .iter()
                    .flat_map(|oid| [(Listed::View, *oid), (Listed::MaterializedView, *oid)]);
                let functions = touched.functions.iter().map(|oid| (Listed::Function, *oid));
                for (listed, oid) in relations.chain(functions) {
                    if let Some(key) = index.remove(&(listed, oid)) {
                        move_routine(catalog, before, listed, &key);
                    }
                }
            }
            None => {
                index.clear();
                before.views = std::mem::take(&mut catalog.views);
                before.materialized_views = std::mem::take(&mut catalog.materialized_views);
                before.functions = std::mem::take(&mut catalog.functions);
            }
        }
        for routine in routines {
            let key = routine.key();
            // One not touched under the same key, were there one, is replaced too.
            move_routine(catalog, before, routine.listed, &key);
            index.insert((routine.listed, routine.oid), key);
            routine.put(&mut reread.after);
            routine.put(catalog);
        }
    }
}

/// The part of the catalog a [`Reader::reread`] read again: as it was (`before`) and
/// as it is (`after`).
#[derive(Debug, Default)]
pub struct Reread {
    pub before: Catalog,
    pub after: Catalog,
}

impl Reread {
    /// Puts `fresh` (tables read now) in `catalog`. With `names` (the tables read again
    /// by oid, by the names an earlier read has them under), those and the ones `fresh`
    /// holds are replaced; without, every table is. What is replaced goes to `before`,
    /// `fresh` to `after`.
    fn put_tables(&mut self, catalog: &mut Catalog, fresh: Catalog, names: Option<&[String]>) {
        // The schemas are read whole with any table.
        self.before.schemas = std::mem::replace(&mut catalog.schemas, fresh.schemas.clone());
        match names {
            Some(names) => {
                let stale: BTreeSet<&String> = names.iter().chain(fresh.tables.keys()).collect();
                for table in stale {
                    if let Some(old) = catalog.tables.remove(table) {
                        self.before.tables.insert(table.clone(), old);
                    }
                    move_of_table(&mut catalog.columns, &mut self.before.columns, table, |c| {
                        &c.table
                    });
                    move_of_table(
                        &mut catalog.constraints,
                        &mut self.before.constraints,
                        table,
                        |c| &c.table,
                    );
                    move_of_table(
                        &mut catalog.policies,
                        &mut self.before.policies,
                        table,
                        |p| &p.table,
                    );
                }
                catalog.tables.extend(fresh.tables.clone());
                catalog.columns.extend(fresh.columns.clone());
                catalog.constraints.extend(fresh.constraints.clone());
                catalog.policies.extend(fresh.policies.clone());
            }
            None => {
                self.before.tables = std::mem::replace(&mut catalog.tables, fresh.tables.clone());
                self.before.columns =
                    std::mem::replace(&mut catalog.columns, fresh.columns.clone());
                self.before.constraints =
                    std::mem::replace(&mut catalog.constraints, fresh.constraints.clone());
                self.before.policies =
                    std::mem::replace(&mut catalog.policies, fresh.policies.clone());
            }
        }
        self.after.schemas = fresh.schemas;
        self.after.tables = fresh.tables;
        self.after.columns = fresh.columns;
        self.after.constraints = fresh.constraints;
        self.after.policies = fresh.policies;
    }
}

/// Moves the entries of `table` (keyed `table.name`, and whose `table_of` is `table`)
/// from `from` to `to`: a lookup of their keys, not a scan of every entry.
fn move_of_table<T>(
    from: &mut BTreeMap<String, T>,
    to: &mut BTreeMap<String, T>,
    table: &str,
    table_of: impl Fn(&T) -> &String,
) {
    let start = format!("{table}.");
    let keys: Vec<String> = from
        .range(start.clone()..)
        .take_while(|(key, _)| key.starts_with(&start))
        .filter(|(_, entry)| table_of(entry) == table)
        .map(|(key, _)| key.clone())
        .collect();
    for key in keys {
        if let Some(entry) = from.remove(&key) {
            to.insert(key, entry);
        }
    }
}

/// Moves the view or function `key` out of its list of `catalog` into `to`'s.
fn move_routine(catalog: &mut Catalog, to: &mut Catalog, listed: Listed, key: &str) {
    let key = key.to_string();
    match listed {
        Listed::View => {
            if let Some(view) = catalog.views.remove(&key) {
                to.views.insert(key, view);
            }
        }
        Listed::MaterializedView => {
            if let Some(view) = catalog.materialized_views.remove(&key) {
                to.materialized_views.insert(key, view);
            }
        }
        Listed::Function => {
            if let Some(function) = catalog.functions.remove(&key) {
                to.functions.insert(key, function);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_scope_leaves_out_system_and_supabase_schemas() {
        let scope = Scope::user();
        for schema in [
            "pg_catalog",
            "pg_toast",
            "pg_temp_3",
            "information_schema",
            "auth",
            "storage",
            "realtime",
            "extensions",
            "vault",
            "supabase_migrations",
            "_realtime",
            "timescaledb_information",
        ] {
            assert!(!scope.includes(schema), "{schema}");
        }
        for schema in ["public", "app", "authx", "x_realtime", "private"] {
            assert!(scope.includes(schema), "{schema}");
        }
    }

    #[test]
    fn like_patterns_escape_wildcards() {
        let scope = Scope {
            exclude: vec!["_realtime".into(), "timescaledb_*".into(), "a%b\\".into()],
        };
        assert_eq!(
            scope.like_patterns(),
            ["\\_realtime", "timescaledb\\_%", "a\\%b\\\\"]
        );
    }
}
