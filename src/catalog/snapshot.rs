//! Taking a snapshot: the query, its json document, and the [`Catalog`] built from it.

use std::collections::{BTreeMap, BTreeSet};
use std::error::Error;

use serde::Deserialize;
use tokio_postgres::Statement;
use tokio_postgres::types::{FromSql, ToSql, Type};

use super::model::{
    Catalog, Column, Constraint, ConstraintKind, Extension, Function, FunctionKind, Grant,
    Identity, Index, Parallel, Policy, PolicyCommand, Schema, Scope, Sequence, Table, TableKind,
    Trigger, TriggerEnabled, TypeDef, View, Volatility,
};
use crate::db::{Database, PgError};

const SNAPSHOT: &str = concat!(include_str!("scope.sql"), include_str!("snapshot.sql"));

/// [`SNAPSHOT`] of every table.
fn every_table() -> String {
    SNAPSHOT.replace("{classes}", "pg_class")
}

/// [`SNAPSHOT`] of the tables `$3` (oids) alone (see [`by_oid`]), and of the tables'
/// lists alone (see [`tables_only`]).
fn some_tables() -> String {
    tables_only(&SNAPSHOT.replace("{classes}", &by_oid("pg_class", 3)))
}

/// The rows of `catalog` whose oids are in parameter `parameter`, each looked up by its
/// oid. As a filter (`oid = ANY (…)`), the plan made once for it (at its first run,
/// when the catalog is still small and a scan of it looks cheapest) scanned the whole
/// catalog after every file; a lookup kept apart from the rest (`OFFSET 0`) can only
/// use the index.
fn by_oid(catalog: &str, parameter: usize) -> String {
    format!(
        "(SELECT k.* FROM unnest(${parameter}::oid[]) AS o (oid), \
         LATERAL (SELECT * FROM {catalog} k WHERE k.oid = o.oid OFFSET 0) AS k)"
    )
}

/// `sql` (a [`SNAPSHOT`]) with the lists only a full snapshot reads (`CASE WHEN $2 THEN
/// (…) ELSE '[]'::json END`) left empty in the text: a plan with none of their nodes
/// costs less to start, at every run, than one that skips them.
fn tables_only(sql: &str) -> String {
    const OPEN: &str = "CASE WHEN $2 THEN (";
    const CLOSE: &str = ") ELSE '[]'::json END";
    let mut kept = String::with_capacity(sql.len());
    let mut rest = sql;
    while let Some(start) = rest.find(OPEN) {
        let end = rest[start..]
            .find(CLOSE)
            .map(|end| start + end + CLOSE.len())
            .expect("snapshot.sql closes every full-only list");
        kept.push_str(&rest[..start]);
        kept.push_str("'[]'::json");
        rest = &rest[end..];
    }
    kept.push_str(rest);
    kept
}
const ROUTINES: &str = concat!(include_str!("scope.sql"), include_str!("routines.sql"));

/// [`ROUTINES`], of all the views and functions.
fn all_routines() -> String {
    ROUTINES
        .replace("{relations}", "pg_class")
        .replace("{functions}", "pg_proc")
}

/// [`ROUTINES`], of the relations `$2` and the functions `$3` (oids) alone, each looked
/// up by its oid ([`by_oid`]).
fn some_routines() -> String {
    ROUTINES
        .replace("{relations}", &by_oid("pg_class", 2))
        .replace("{functions}", &by_oid("pg_proc", 3))
}

/// Deparse functions qualify every name not on the search_path: with an empty one, the
/// text is the same on every connection. And a prepared query's plan is made once
/// (`force_generic_plan`), not again at every run for its parameters, where making it
/// costs more than running it. The session's values are kept in placeholder settings
/// and put back after the query, even when the query fails.
const EMPTY_SEARCH_PATH: &str = concat!(
    "SELECT set_config('migration_guard.search_path', current_setting('search_path'), false), ",
    "set_config('migration_guard.plan_cache_mode', current_setting('plan_cache_mode'), false), ",
    "set_config('search_path', '', false), ",
    "set_config('plan_cache_mode', 'force_generic_plan', false)",
);
const RESTORE_SEARCH_PATH: &str = concat!(
    "SELECT set_config('search_path', current_setting('migration_guard.search_path'), false), ",
    "set_config('plan_cache_mode', current_setting('migration_guard.plan_cache_mode'), false)",
);

const SNAPSHOT_TYPES: [Type; 3] = [Type::TEXT_ARRAY, Type::BOOL, Type::OID_ARRAY];
const ROUTINES_TYPES: [Type; 1] = [Type::TEXT_ARRAY];
const SOME_ROUTINES_TYPES: [Type; 3] = [Type::TEXT_ARRAY, Type::OID_ARRAY, Type::OID_ARRAY];

/// [`SNAPSHOT`] and [`ROUTINES`] (of all, and of some) prepared on one connection, for
/// the reads repeated on it: each then costs its execution, not a parse and a plan of a
/// large query. Without them, a query's text is parsed and planned for its one run.
pub(super) struct Prepared {
    tables: Statement,
    some_tables: Statement,
    routines: Statement,
    some_routines: Statement,
    /// [`EMPTY_SEARCH_PATH`] and [`RESTORE_SEARCH_PATH`], each prepared under the
    /// search_path it runs in: sent as text, each was parsed and planned at every read.
    empty_path: Statement,
    restore_path: Statement,
}

impl Prepared {
    /// Prepared under the empty search_path they run in: a plan made under another
    /// would be made again at every run.
    pub(super) async fn new(db: &Database) -> Result<Prepared, PgError> {
        let (every, some) = (tables_only(&every_table()), some_tables());
        let (all, some_of) = (all_routines(), some_routines());
        let (empty_path, set, tables, some_tables, routines, some_routines, restore_path, restore) = tokio::join!(
            db.client.prepare(EMPTY_SEARCH_PATH),
            db.client.batch_execute(EMPTY_SEARCH_PATH),
            db.client.prepare_typed(&every, &SNAPSHOT_TYPES),
            db.client.prepare_typed(&some, &SNAPSHOT_TYPES),
            db.client.prepare_typed(&all, &ROUTINES_TYPES),
            db.client.prepare_typed(&some_of, &SOME_ROUTINES_TYPES),
            db.client.prepare(RESTORE_SEARCH_PATH),
            db.client.batch_execute(RESTORE_SEARCH_PATH),
        );
        set?;
        restore?;
        Ok(Prepared {
            tables: tables?,
            some_tables: some_tables?,
            routines: routines?,
            some_routines: some_routines?,
            empty_path: empty_path?,
            restore_path: restore_path?,
        })
    }
}

/// The whole catalog, planned afresh.
pub(super) async fn whole(db: &Database, scope: &Scope) -> Result<Catalog, PgError> {
    let text = every_table();
    let query = Query::Text(&text, &SNAPSHOT_TYPES);
    in_empty_search_path(db, None, read(db, query, scope, true, None)).await
}

/// The tables alone (tables, columns, constraints, RLS, policies), with a statement
/// prepared once: of every table, or `only` those (oids). Run within
/// [`in_empty_search_path`].
pub(super) async fn tables(
    db: &Database,
    prepared: &Prepared,
    scope: &Scope,
    only: Option<&[u32]>,
) -> Result<Catalog, PgError> {
    let statement = match only {
        Some(_) => &prepared.some_tables,
        None => &prepared.tables,
    };
    read(db, Query::Prepared(statement), scope, false, only).await
}

/// Runs a [`SNAPSHOT`] query, `full` or not, of `only` those tables when given.
async fn read(
    db: &Database,
    query: Query<'_>,
    scope: &Scope,
    full: bool,
    only: Option<&[u32]>,
) -> Result<Catalog, PgError> {
    let patterns = scope.like_patterns();
    let params: [&(dyn ToSql + Sync); 3] = [&patterns, &full, &only];
    let rows = run(db, query, &params).await?;
    // A decoding failure surfaces as the driver's own FromSql error.
    let document: Document = rows
        .first()
        .expect("an aggregate returns one row")
        .try_get(0)?;
    Ok(document.into_catalog())
}

/// A query: prepared, or its text and its parameters' types.
enum Query<'a> {
    Prepared(&'a Statement),
    Text(&'a str, &'a [Type]),
}

/// Runs `query`; one not prepared goes through `query_typed`, which parses, binds and
/// executes without a prepare of its own.
async fn run(
    db: &Database,
    query: Query<'_>,
    params: &[&(dyn ToSql + Sync)],
) -> Result<Vec<tokio_postgres::Row>, PgError> {
    match query {
        Query::Prepared(statement) => db.client.query(statement, params).await,
        Query::Text(sql, types) => {
            let typed: Vec<(&(dyn ToSql + Sync), Type)> = params
                .iter()
                .zip(types)
                .map(|(param, kind)| (*param, kind.clone()))
                .collect();
            db.client.query_typed(sql, &typed).await
        }
    }
}

/// Runs `reads` (queries of this module) with an empty search_path, the session's put
/// back after them: the setting, the reads and the restoring go in one round trip (the
/// client pipelines what is polled together, in the order it is polled). With
/// `prepared`, the setting and the restoring are its statements.
pub(super) async fn in_empty_search_path<T>(
    db: &Database,
    prepared: Option<&Prepared>,
    reads: impl Future<Output = Result<T, PgError>>,
) -> Result<T, PgError> {
    let (set, read, restore) = tokio::join!(
        setting(db, prepared.map(|p| &p.empty_path), EMPTY_SEARCH_PATH),
        reads,
        setting(db, prepared.map(|p| &p.restore_path), RESTORE_SEARCH_PATH),
    );
    set?;
    let read = read?;
    restore?;
    Ok(read)
}

/// Runs `statement`, the prepared `text`, or `text` itself without one.
async fn setting(
    db: &Database,
    statement: Option<&Statement>,
    text: &'static str,
) -> Result<(), PgError> {
    match statement {
        Some(statement) => db.client.execute(statement, &[]).await.map(drop),
        None => db.client.batch_execute(text).await,
    }
}

/// Which list of a [`Catalog`] a view or function is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) enum Listed {
    View,
    MaterializedView,
    Function,
}

/// A view or function by name alone, with its oid.
pub(super) struct Routine {
    pub oid: u32,
    pub listed: Listed,
    pub schema: String,
    pub name: String,
    pub kind: FunctionKind,
    pub arguments: String,
}

impl Routine {
    /// Its key in its list, as a full snapshot keys it (`schema.name(argument types)`
    /// for a function).
    pub fn key(&self) -> String {
        match self.listed {
            Listed::Function => format!("{}.{}({})", self.schema, self.name, self.arguments),
            Listed::View | Listed::MaterializedView => format!("{}.{}", self.schema, self.name),
        }
    }

    /// Puts it in its list of `catalog`. Its fields other than its name are left empty,
    /// the same on both sides of a diff, so no change of definition shows: enough to
    /// see one appear or go, at a fraction of the cost of their definitions.
    pub fn put(&self, catalog: &mut Catalog) {
        let view = || View {
            schema: self.schema.clone(),
            name: self.name.clone(),
            definition: String::new(),
            options: Vec::new(),
        };
        let key = self.key();
        match self.listed {
            Listed::View => {
                catalog.views.insert(key, view());
            }
            Listed::MaterializedView => {
                catalog.materialized_views.insert(key, view());
            }
            Listed::Function => {
                let function =
                    Function::named(&self.schema, &self.name, self.kind, &self.arguments);
                catalog.functions.insert(key, function);
            }
        }
    }
}

/// The views, materialized views and functions of the covered schemas: all of them, or
/// with `only` (relation oids, function oids) those of them that exist. Run within
/// [`in_empty_search_path`].
pub(super) async fn routines(
    db: &Database,
    prepared: &Prepared,
    scope: &Scope,
    only: Option<(&[u32], &[u32])>,
) -> Result<Vec<Routine>, PgError> {
    let patterns = scope.like_patterns();
    let rows = match only {
        None => {
            let params: [&(dyn ToSql + Sync); 1] = [&patterns];
            run(db, Query::Prepared(&prepared.routines), &params).await?
        }
        Some((relations, functions)) => {
            let params: [&(dyn ToSql + Sync); 3] = [&patterns, &relations, &functions];
            run(db, Query::Prepared(&prepared.some_routines), &params).await?
        }
    };
    Ok(rows
        .iter()
        .map(|row| {
            let kind: &str = row.get(0);
            let schema: String = row.get(1);
            let name: String = row.get(2);
            let arguments: String = row.get::<_, Option<String>>(3).unwrap_or_default();
            let oid: u32 = row.get(4);
            let (listed, kind) = match kind {
                "view" => (Listed::View, FunctionKind::Function),
                "materialized" => (Listed::MaterializedView, FunctionKind::Function),
                "procedure" => (Listed::Function, FunctionKind::Procedure),
                "aggregate" => (Listed::Function, FunctionKind::Aggregate),
                "window" => (Listed::Function, FunctionKind::Window),
                _ => (Listed::Function, FunctionKind::Function),
            };
            Routine {
                oid,
                listed,
                schema,
                name,
                kind,
                arguments,
            }
        })
        .collect())
}

/// The query's single value. Each list holds positional arrays; the rows below follow
/// the order of the values in `snapshot.sql`.
#[derive(Deserialize)]
struct Document {
    schemas: Vec<String>,
    tables: Vec<TableRow>,
    columns: Vec<ColumnRow>,
    constraints: Vec<ConstraintRow>,
    indexes: Vec<IndexRow>,
    views: Vec<ViewRow>,
    functions: Vec<FunctionRow>,
    triggers: Vec<TriggerRow>,
    policies: Vec<PolicyRow>,
    acls: Vec<AclRow>,
    types: Vec<TypeRow>,
    extensions: Vec<ExtensionRow>,
    sequences: Vec<SequenceRow>,
}

/// schema, name, kind, rls enabled, rls forced, options, partition key, partition bound,
/// parents, relfilenode
type TableRow = (
    String,
    String,
    TableKind,
    bool,
    bool,
    Option<Vec<String>>,
    Option<String>,
    Option<String>,
    Option<Vec<String>>,
    u32,
);
/// table, name, type, not null, default, generated, identity, collation
type ColumnRow = (
    String,
    String,
    String,
    bool,
    Option<String>,
    Option<String>,
    Option<Identity>,
    Option<String>,
);
/// table, name, kind, definition, validated
type ConstraintRow = (String, String, ConstraintKind, String, bool);
/// table, name, definition, unique, valid
type IndexRow = (String, String, String, bool, bool);
/// schema, name, materialized, definition, options
type ViewRow = (String, String, bool, String, Option<Vec<String>>);
/// key, schema, name, kind, arguments, identity arguments, result, language, body md5,
/// security definer, volatility, strict, parallel, config
type FunctionRow = (
    String,
    String,
    String,
    FunctionKind,
    String,
    String,
    Option<String>,
    String,
    String,
    bool,
    Volatility,
    bool,
    Parallel,
    Option<Vec<String>>,
);
/// table, name, definition, enabled
type TriggerRow = (String, String, String, TriggerEnabled);
/// table, name, command, permissive, roles, using, with check
type PolicyRow = (
    String,
    String,
    PolicyCommand,
    bool,
    Vec<String>,
    Option<String>,
    Option<String>,
);
/// relation, owner, aclitems
type AclRow = (String, String, Vec<String>);
/// key, kind, labels / attributes / checks, base type / subtype, not null, default
type TypeRow = (
    String,
    String,
    Option<Vec<String>>,
    Option<String>,
    bool,
    Option<String>,
);
/// name, version, schema
type ExtensionRow = (String, String, String);
/// schema, name, type, start, increment, min, max, cache, cycle, owner (the column, and
/// whether it is an identity column)
type SequenceRow = (
    String,
    String,
    String,
    i64,
    i64,
    i64,
    i64,
    i64,
    bool,
    Option<(String, bool)>,
);

impl<'a> FromSql<'a> for Document {
    fn from_sql(_: &Type, raw: &'a [u8]) -> Result<Self, Box<dyn Error + Sync + Send>> {
        Ok(serde_json::from_slice(raw)?)
    }

    fn accepts(ty: &Type) -> bool {
        matches!(*ty, Type::JSON | Type::TEXT)
    }
}

fn qualified(schema: &str, name: &str) -> String {
    format!("{schema}.{name}")
}

impl Document {
    fn into_catalog(self) -> Catalog {
        let mut catalog = Catalog::default();
        for name in self.schemas {
            catalog.schemas.insert(name.clone(), Schema { name });
        }
        for (schema, name, kind, rls_enabled, rls_forced, options, key, bound, parents, node) in
            self.tables
        {
            let table = Table {
                schema,
                name,
                kind,
                rls_enabled,
                rls_forced,
                options: options.unwrap_or_default(),
                partition_key: key,
                partition_bound: bound,
                inherits: parents.unwrap_or_default(),
                relfilenode: node,
            };
            catalog
                .tables
                .insert(qualified(&table.schema, &table.name), table);
        }
        for (table, name, type_name, not_null, default, generated, identity, collation) in
            self.columns
        {
            catalog.columns.insert(
                qualified(&table, &name),
                Column {
                    table,
                    name,
                    type_name,
                    not_null,
                    default,
                    generated,
                    identity,
                    collation,
                },
            );
        }
        for (table, name, kind, definition, validated) in self.constraints {
            catalog.constraints.insert(
                qualified(&table, &name),
                Constraint {
                    table,
                    name,
                    kind,
                    definition,
                    validated,
                },
            );
        }
        for (table, name, definition, unique, valid) in self.indexes {
            catalog.indexes.insert(
                qualified(&table, &name),
                Index {
                    table,
                    name,
                    definition,
                    unique,
                    valid,
                },
            );
        }
        for (schema, name, materialized, definition, options) in self.views {
            let key = qualified(&schema, &name);
            let view = View {
                schema,
                name,
                definition,
                options: options.unwrap_or_default(),
            };
            if materialized {
                catalog.materialized_views.insert(key, view);
            } else {
                catalog.views.insert(key, view);
            }
        }
        for (
            key,
            schema,
            name,
            kind,
            arguments,
            identity_arguments,
            result,
            language,
            body_md5,
            security_definer,
            volatility,
            strict,
            parallel,
            config,
        ) in self.functions
        {
            catalog.functions.insert(
                key,
                Function {
                    schema,
                    name,
                    kind,
                    arguments,
                    identity_arguments,
                    result,
                    language,
                    body_md5,
                    security_definer,
                    volatility,
                    strict,
                    parallel,
                    config: config.unwrap_or_default(),
                },
            );
        }
        for (table, name, definition, enabled) in self.triggers {
            catalog.triggers.insert(
                qualified(&table, &name),
                Trigger {
                    table,
                    name,
                    definition,
                    enabled,
                },
            );
        }
        for (table, name, command, permissive, mut roles, using, with_check) in self.policies {
            roles.sort();
            catalog.policies.insert(
                qualified(&table, &name),
                Policy {
                    table,
                    name,
                    command,
                    permissive,
                    roles,
                    using,
                    with_check,
                },
            );
        }
        // An identity column's sequence is part of the column, grants and all.
        let mut identities = BTreeSet::new();
        for (schema, name, data_type, start, increment, min, max, cache, cycle, owner) in
            self.sequences
        {
            let key = qualified(&schema, &name);
            let owned_by = match owner {
                Some((_, true)) => {
                    identities.insert(key);
                    continue;
                }
                Some((column, false)) => Some(column),
                None => None,
            };
            catalog.sequences.insert(
                key,
                Sequence {
                    schema,
                    name,
                    data_type,
                    start,
                    increment,
                    min,
                    max,
                    cache,
                    cycle,
                    owned_by,
                },
            );
        }
        for (table, owner, items) in self.acls {
            if identities.contains(&table) {
                continue;
            }
            for (grantee, mut privileges) in grants(&items, &owner) {
                privileges.sort();
                privileges.dedup();
                catalog.grants.insert(
                    qualified(&table, &grantee),
                    Grant {
                        table: table.clone(),
                        grantee,
                        privileges,
                    },
                );
            }
        }
        for (key, kind, list, base, not_null, default) in self.types {
            let list = list.unwrap_or_default();
            let def = match kind.as_str() {
                "enum" => TypeDef::Enum { labels: list },
                "domain" => TypeDef::Domain {
                    base: base.unwrap_or_default(),
                    not_null,
                    default,
                    checks: list,
                },
                "range" => TypeDef::Range {
                    subtype: base.unwrap_or_default(),
                },
                _ => TypeDef::Composite { attributes: list },
            };
            catalog.types.insert(key, def);
        }
        for (name, version, schema) in self.extensions {
            catalog.extensions.insert(
                name.clone(),
                Extension {
                    name,
                    version,
                    schema,
                },
            );
        }
        catalog
    }
}

/// The privileges each grantee holds in an access control list, as `aclitem` prints
/// (`anon=arwd/postgres`, `=r/postgres` for PUBLIC, `"a role"=r*/postgres` with the
/// grant option), leaving out the owner's: implicit until the first GRANT spells them out.
fn grants(items: &[String], owner: &str) -> BTreeMap<String, Vec<String>> {
    let mut grants: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for item in items {
        let Some((grantee, rest)) = split_role(item) else {
            continue;
        };
        let grantee = if grantee.is_empty() {
            "public".to_string()
        } else {
            grantee
        };
        if grantee == owner {
            continue;
        }
        let Some(letters) = rest.strip_prefix('=') else {
            continue;
        };
        let letters = letters.split('/').next().unwrap_or_default();
        let privileges = grants.entry(grantee).or_default();
        let mut chars = letters.chars().peekable();
        while let Some(letter) = chars.next() {
            let mut privilege = privilege_name(letter);
            if chars.next_if_eq(&'*').is_some() {
                privilege.push_str(" WITH GRANT OPTION");
            }
            privileges.push(privilege);
        }
    }
    grants
}

/// The leading role name of an aclitem (unquoted) and what follows it.
fn split_role(item: &str) -> Option<(String, &str)> {
    let Some(quoted) = item.strip_prefix('"') else {
        let end = item.find('=')?;
        return Some((item[..end].to_string(), &item[end..]));
    };
    let mut name = String::new();
    let mut chars = quoted.char_indices().peekable();
    while let Some((at, c)) = chars.next() {
        if c == '"' {
            if chars.next_if(|&(_, c)| c == '"').is_some() {
                name.push('"');
            } else {
                return Some((name, &quoted[at + 1..]));
            }
        } else {
            name.push(c);
        }
    }
    None
}

/// `aclitem`'s letters (src/include/utils/acl.h).
fn privilege_name(letter: char) -> String {
    match letter {
        'r' => "SELECT",
        'w' => "UPDATE",
        'a' => "INSERT",
        'd' => "DELETE",
        'D' => "TRUNCATE",
        'x' => "REFERENCES",
        't' => "TRIGGER",
        'X' => "EXECUTE",
        'U' => "USAGE",
        'C' => "CREATE",
        'T' => "TEMPORARY",
        'c' => "CONNECT",
        's' => "SET",
        'A' => "ALTER SYSTEM",
        'm' => "MAINTAIN",
        other => return other.to_string(),
    }
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn acl(items: &[&str], owner: &str) -> Vec<(String, Vec<String>)> {
        let items: Vec<String> = items.iter().map(|s| s.to_string()).collect();
        grants(&items, owner).into_iter().collect()
    }

    #[test]
    fn a_tables_only_read_has_none_of_the_full_lists() {
        let full = every_table();
        let tables = tables_only(&full);
        assert_eq!(full.matches("CASE WHEN $2 THEN (").count(), 8);
        let mut code = tables
            .lines()
            .filter(|line| !line.trim_start().starts_with("--"));
        assert!(code.all(|line| !line.contains("$2")), "{tables}");
        assert_eq!(tables.matches("'[]'::json,").count(), 7);
        for list in [
            "'tables'",
            "'columns'",
            "'constraints'",
            "'policies'",
            "'schemas'",
        ] {
            assert!(tables.contains(list), "{list}");
        }
        assert!(some_tables().contains("unnest($3::oid[])"));
    }

    #[test]
    fn acl_items_become_privileges_per_grantee() {
        assert_eq!(
            acl(
                &[
                    "postgres=arwdDxt/postgres",
                    "anon=arwd/postgres",
                    "=r/postgres",
                    "\"a \"\"b\"\"=c\"=r*w/postgres",
                ],
                "postgres"
            ),
            [
                (
                    "a \"b\"=c".to_string(),
                    vec!["SELECT WITH GRANT OPTION".to_string(), "UPDATE".to_string()]
                ),
                (
                    "anon".to_string(),
                    ["INSERT", "SELECT", "UPDATE", "DELETE"]
                        .map(String::from)
                        .to_vec()
                ),
                ("public".to_string(), vec!["SELECT".to_string()]),
            ]
        );
    }

    #[test]
    fn a_quoted_owner_is_left_out_too() {
        assert_eq!(acl(&["\"My Owner\"=r/\"My Owner\""], "My Owner"), []);
    }

    #[test]
    fn the_document_decodes_positional_rows() {
        let json = r#"{"schemas":["app"],
            "tables":[["public","t","table",true,false,null,null,null,null,16410]],
            "columns":[["public.t","id","bigint",true,null,null,"by default",null]],
            "constraints":[["public.t","t_pkey","primary-key","PRIMARY KEY (id)",true]],
            "indexes":[], "views":[["public","v",true,"SELECT 1",null]],
            "functions":[["public.f(integer)","public","f","function","a integer","a integer","integer","sql","abc",false,"stable",false,"unsafe",null]],
            "triggers":[], "policies":[["public.t","p","SELECT",true,["b","a"],"true",null]],
            "acls":[["public.t","postgres",["anon=r/postgres"]]],
            "types":[["public.mood","enum",["a","b"],null,false,null]],
            "extensions":[["pg_trgm","1.6","extensions"]], "sequences":[]}"#;
        let catalog = serde_json::from_str::<Document>(json)
            .unwrap()
            .into_catalog();
        assert_eq!(catalog.tables["public.t"].relfilenode, 16410);
        assert_eq!(
            catalog.columns["public.t.id"].identity,
            Some(Identity::ByDefault)
        );
        assert!(catalog.materialized_views.contains_key("public.v"));
        assert_eq!(catalog.policies["public.t.p"].roles, ["a", "b"]);
        assert_eq!(catalog.grants["public.t.anon"].privileges, ["SELECT"]);
        assert_eq!(
            catalog.types["public.mood"],
            TypeDef::Enum {
                labels: vec!["a".into(), "b".into()]
            }
        );
        assert_eq!(catalog.object_count(), 10);
    }
}
