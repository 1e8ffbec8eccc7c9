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

use std::collections::HashMap;
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
/// [`Reader::compared`] reads again of the views and functions after it.
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
    /// Where each view and function of the last [`Reader::compared`] is, by oid: what a
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
        let objects = catalog.tables.len()
            + catalog.columns.len()
            + catalog.constraints.len()
            + catalog.policies.len()
            + catalog.views.len()
            + catalog.materialized_views.len()
            + catalog.functions.len();
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
        snapshot::in_empty_search_path(db, self.all_tables(db)).await
    }

    async fn all_tables(&self, db: &Database) -> Result<Catalog, PgError> {
        snapshot::tables(db, &self.prepared(), &self.scope, None).await
    }

    /// `previous` (a [`Reader::tables`]) with `tables` read again: those that exist now
    /// replace or join theirs, with their columns, constraints and policies. For a
    /// migration that changed only tables it locked, what a whole [`Reader::tables`]
    /// would give, at the cost of reading those alone (looked up by oid).
    pub async fn refresh_tables(
        &self,
        db: &Database,
        previous: &Catalog,
        tables: &Locked,
    ) -> Result<Catalog, PgError> {
        snapshot::in_empty_search_path(db, self.refreshed(db, previous, tables)).await
    }

    async fn refreshed(
        &self,
        db: &Database,
        previous: &Catalog,
        tables: &Locked,
    ) -> Result<Catalog, PgError> {
        if tables.oids.is_empty() {
            return Ok(previous.clone());
        }
        let only = Some(&tables.oids[..]);
        let fresh = snapshot::tables(db, &self.prepared(), &self.scope, only).await?;
        let mut merged = previous.clone();
        let stale =
            |table: &String| tables.names.contains(table) || fresh.tables.contains_key(table);
        merged.tables.retain(|name, _| !stale(name));
        merged.columns.retain(|_, column| !stale(&column.table));
        merged
            .constraints
            .retain(|_, constraint| !stale(&constraint.table));
        merged.policies.retain(|_, policy| !stale(&policy.table));
        merged.schemas = fresh.schemas;
        merged.tables.extend(fresh.tables);
        merged.columns.extend(fresh.columns);
        merged.constraints.extend(fresh.constraints);
        merged.policies.extend(fresh.policies);
        Ok(merged)
    }

    /// What the shadow compares after every migration, in one round trip: the tables
    /// ([`Reader::tables`], or with `only`, `previous` with those read again as
    /// [`Reader::refresh_tables`] does), and the names of the views, materialized views
    /// and functions that exist now: enough to see one appear or go, cheaply. With
    /// `touched` (what the migration touched, `previous` being the last read), those of
    /// `previous` with the ones it touched read again by oid; otherwise all of them.
    pub async fn compared(
        &self,
        db: &Database,
        previous: &Catalog,
        only: Option<&Locked>,
        touched: Option<&Touched>,
    ) -> Result<Catalog, PgError> {
        let touched = touched.filter(|touched| !touched.unlocked);
        let prepared = self.prepared();
        let reads = async {
            tokio::join!(
                async {
                    match only {
                        Some(tables) => self.refreshed(db, previous, tables).await,
                        None => self.all_tables(db).await,
                    }
                },
                snapshot::routines(
                    db,
                    &prepared,
                    &self.scope,
                    touched.map(|touched| (&touched.relations[..], &touched.functions[..]))
                )
            )
        };
        let (tables, routines) = snapshot::in_empty_search_path(db, async {
            let (tables, routines) = reads.await;
            Ok((tables?, routines?))
        })
        .await?;
        let mut catalog = tables;
        self.merge_routines(&mut catalog, previous, touched, routines);
        self.replan_if_grown(db, &catalog).await?;
        Ok(catalog)
    }

    /// Puts the views and functions of `previous` in `catalog`, those `touched` (all,
    /// without it) replaced by `routines`, the ones read now.
    fn merge_routines(
        &self,
        catalog: &mut Catalog,
        previous: &Catalog,
        touched: Option<&Touched>,
        routines: Vec<snapshot::Routine>,
    ) {
        let mut index = self
            .routines
            .lock()
            .expect("the routines' index is kept without panicking");
        if let Some(touched) = touched {
            catalog.views = previous.views.clone();
            catalog.materialized_views = previous.materialized_views.clone();
            catalog.functions = previous.functions.clone();
            let relations = touched
                .relations
                .iter()
                .flat_map(|oid| [(Listed::View, *oid), (Listed::MaterializedView, *oid)]);
            let functions = touched.functions.iter().map(|oid| (Listed::Function, *oid));
            for (listed, oid) in relations.chain(functions) {
                if let Some(key) = index.remove(&(listed, oid)) {
                    remove(catalog, listed, &key);
                }
            }
        } else {
            index.clear();
            catalog.views.clear();
            catalog.materialized_views.clear();
            catalog.functions.clear();
        }
        for routine in routines {
            index.insert((routine.listed, routine.oid), routine.key());
            routine.put(catalog);
        }
    }
}

/// Takes the view or function `key` out of its list of `catalog`.
fn remove(catalog: &mut Catalog, listed: Listed, key: &str) {
    match listed {
        Listed::View => catalog.views.remove(key).map(drop),
        Listed::MaterializedView => catalog.materialized_views.remove(key).map(drop),
        Listed::Function => catalog.functions.remove(key).map(drop),
    };
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
