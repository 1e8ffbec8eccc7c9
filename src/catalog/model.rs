//! What a snapshot holds: the objects of the covered schemas, each keyed by its qualified
//! name, and the [`Scope`] that says which schemas those are.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Which schemas a snapshot covers.
///
/// System schemas (`pg_catalog`, `information_schema`, `pg_toast*`, `pg_temp*`) and
/// schemas an extension created are never covered. An entry ending in `*` excludes every
/// schema that starts with the rest.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scope {
    pub exclude: Vec<String>,
}

/// The schemas Supabase (its services and the extensions it ships) creates and manages:
/// the Supabase CLI's list for `db dump`, plus `vault`.
const SUPABASE_SCHEMAS: &[&str] = &[
    "information_schema",
    "pg_*",
    "_analytics",
    "_realtime",
    "_supavisor",
    "auth",
    "cron",
    "dbdev",
    "etl",
    "extensions",
    "graphql",
    "graphql_public",
    "net",
    "pgbouncer",
    "pgmq",
    "pgsodium",
    "pgsodium_masks",
    "pgtle",
    "realtime",
    "repack",
    "storage",
    "supabase_functions",
    "supabase_migrations",
    "tiger",
    "tiger_data",
    "timescaledb_*",
    "_timescaledb_*",
    "topology",
    "vault",
];

impl Scope {
    /// The user's schemas: everything but the system schemas and those Supabase manages
    /// (auth, storage, realtime, extensions, graphql, vault, supabase_migrations...).
    pub fn user() -> Scope {
        Scope {
            // The shadow's own schemas (its gate, plpgsql_check's) are not the user's.
            exclude: SUPABASE_SCHEMAS
                .iter()
                .chain(&["migration_guard_*"])
                .map(|s| s.to_string())
                .collect(),
        }
    }

    /// Whether `schema` is covered.
    pub fn includes(&self, schema: &str) -> bool {
        !(schema.starts_with("pg_")
            || schema == "information_schema"
            || self
                .exclude
                .iter()
                .any(|pattern| match pattern.strip_suffix('*') {
                    Some(prefix) => schema.starts_with(prefix),
                    None => schema == pattern,
                }))
    }

    /// The exclusions as `LIKE` patterns.
    pub fn like_patterns(&self) -> Vec<String> {
        self.exclude
            .iter()
            .map(|pattern| {
                let (exact, prefix) = match pattern.strip_suffix('*') {
                    Some(prefix) => (prefix, true),
                    None => (pattern.as_str(), false),
                };
                let mut like = String::with_capacity(exact.len() + 2);
                for c in exact.chars() {
                    if matches!(c, '\\' | '%' | '_') {
                        like.push('\\');
                    }
                    like.push(c);
                }
                if prefix {
                    like.push('%');
                }
                like
            })
            .collect()
    }
}

/// Every object of the covered schemas, keyed by qualified name: `schema.table` for
/// tables, views, sequences and types; `schema.table.name` for what belongs to a table
/// (columns, constraints, indexes, triggers, policies, and grants by grantee);
/// `schema.name(argument types)` for functions; the bare name for schemas and extensions.
///
/// Compare two catalogs with [`diff`]: `==` also compares [`Table::relfilenode`], which
/// differs between databases.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct Catalog {
    pub schemas: BTreeMap<String, Schema>,
    pub tables: BTreeMap<String, Table>,
    pub columns: BTreeMap<String, Column>,
    pub constraints: BTreeMap<String, Constraint>,
    pub indexes: BTreeMap<String, Index>,
    pub views: BTreeMap<String, View>,
    pub materialized_views: BTreeMap<String, View>,
    pub functions: BTreeMap<String, Function>,
    pub triggers: BTreeMap<String, Trigger>,
    pub policies: BTreeMap<String, Policy>,
    pub grants: BTreeMap<String, Grant>,
    pub types: BTreeMap<String, TypeDef>,
    pub extensions: BTreeMap<String, Extension>,
    pub sequences: BTreeMap<String, Sequence>,
}

impl Catalog {
    /// No object at all.
    pub fn is_empty(&self) -> bool {
        self.object_count() == 0
    }

    /// How many objects the catalog holds, of every kind.
    pub fn object_count(&self) -> usize {
        self.schemas.len()
            + self.tables.len()
            + self.columns.len()
            + self.constraints.len()
            + self.indexes.len()
            + self.views.len()
            + self.materialized_views.len()
            + self.functions.len()
            + self.triggers.len()
            + self.policies.len()
            + self.grants.len()
            + self.types.len()
            + self.extensions.len()
            + self.sequences.len()
    }

    /// The columns of `table` (a qualified name), by name.
    pub fn columns_of<'a>(&'a self, table: &'a str) -> impl Iterator<Item = &'a Column> + 'a {
        let prefix = format!("{table}.");
        self.columns
            .range(prefix.clone()..)
            .take_while(move |(key, _)| key.starts_with(&prefix))
            .map(|(_, column)| column)
            .filter(move |column| column.table == table)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Schema {
    pub name: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TableKind {
    Table,
    Partitioned,
    Foreign,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Table {
    pub schema: String,
    pub name: String,
    pub kind: TableKind,
    pub rls_enabled: bool,
    pub rls_forced: bool,
    /// Storage parameters (`fillfactor=70`), as `reloptions` holds them.
    pub options: Vec<String>,
    /// `RANGE (created_at)` for a partitioned table.
    pub partition_key: Option<String>,
    /// `FOR VALUES FROM ... TO ...` for a partition.
    pub partition_bound: Option<String>,
    /// Parent tables (the partitioned table of a partition), qualified.
    pub inherits: Vec<String>,
    /// The table's storage file: it changes when a migration rewrites the table
    /// (`table-rewrite`); [`diff`] ignores it. 0 for a partitioned table.
    #[serde(default)]
    pub relfilenode: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Identity {
    Always,
    #[serde(rename = "by default")]
    ByDefault,
}

impl Identity {
    pub fn as_str(self) -> &'static str {
        match self {
            Identity::Always => "always",
            Identity::ByDefault => "by default",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Column {
    /// The table's qualified name.
    pub table: String,
    pub name: String,
    /// As `format_type` prints it: `character varying(200)`, `public.mood`.
    #[serde(rename = "type")]
    pub type_name: String,
    pub not_null: bool,
    pub default: Option<String>,
    /// The expression of a `GENERATED ALWAYS AS (...) STORED` column.
    pub generated: Option<String>,
    pub identity: Option<Identity>,
    /// Set when it differs from the type's collation.
    pub collation: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ConstraintKind {
    PrimaryKey,
    ForeignKey,
    Unique,
    Check,
    Exclusion,
}

impl ConstraintKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ConstraintKind::PrimaryKey => "primary key",
            ConstraintKind::ForeignKey => "foreign key",
            ConstraintKind::Unique => "unique",
            ConstraintKind::Check => "check",
            ConstraintKind::Exclusion => "exclusion",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Constraint {
    pub table: String,
    pub name: String,
    #[serde(rename = "type")]
    pub kind: ConstraintKind,
    /// `pg_get_constraintdef`: `FOREIGN KEY (user_id) REFERENCES public.users(id) NOT VALID`.
    pub definition: String,
    pub validated: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Index {
    /// The table's (or materialized view's) qualified name.
    pub table: String,
    pub name: String,
    /// `pg_get_indexdef`: `CREATE INDEX users_name ON public.users USING btree (name)`.
    pub definition: String,
    pub unique: bool,
    /// False after a failed `CREATE INDEX CONCURRENTLY`.
    pub valid: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct View {
    pub schema: String,
    pub name: String,
    /// `pg_get_viewdef`.
    pub definition: String,
    /// `security_invoker=true`, `check_option=local`...
    pub options: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FunctionKind {
    Function,
    Procedure,
    Aggregate,
    Window,
}

impl FunctionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            FunctionKind::Function => "function",
            FunctionKind::Procedure => "procedure",
            FunctionKind::Aggregate => "aggregate",
            FunctionKind::Window => "window function",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Volatility {
    Immutable,
    Stable,
    Volatile,
}

impl Volatility {
    pub fn as_str(self) -> &'static str {
        match self {
            Volatility::Immutable => "immutable",
            Volatility::Stable => "stable",
            Volatility::Volatile => "volatile",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Parallel {
    Safe,
    Restricted,
    Unsafe,
}

impl Parallel {
    pub fn as_str(self) -> &'static str {
        match self {
            Parallel::Safe => "safe",
            Parallel::Restricted => "restricted",
            Parallel::Unsafe => "unsafe",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Function {
    pub schema: String,
    pub name: String,
    pub kind: FunctionKind,
    /// `pg_get_function_arguments`: names, modes and defaults (`a integer, b text DEFAULT 'x'::text`).
    pub arguments: String,
    /// `pg_get_function_identity_arguments`: what identifies it (`a integer, b text`).
    pub identity_arguments: String,
    /// `pg_get_function_result`: `integer`, `SETOF public.users`, `TABLE(id bigint)`;
    /// none for a procedure.
    pub result: Option<String>,
    pub language: String,
    /// md5 of the body (`prosrc`, or the deparsed `BEGIN ATOMIC` body).
    pub body_md5: String,
    pub security_definer: bool,
    pub volatility: Volatility,
    pub strict: bool,
    pub parallel: Parallel,
    /// `SET` clauses: `search_path=""`.
    pub config: Vec<String>,
}

impl Function {
    /// A function known by name alone (what a cheap read of names gives): every other
    /// field empty, the same wherever it is made, so no change of definition shows.
    pub fn named(schema: &str, name: &str, kind: FunctionKind, arguments: &str) -> Function {
        Function {
            schema: schema.to_string(),
            name: name.to_string(),
            kind,
            arguments: arguments.to_string(),
            identity_arguments: arguments.to_string(),
            result: None,
            language: String::new(),
            body_md5: String::new(),
            security_definer: false,
            volatility: Volatility::Volatile,
            strict: false,
            parallel: Parallel::Unsafe,
            config: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TriggerEnabled {
    Origin,
    Disabled,
    Replica,
    Always,
}

impl TriggerEnabled {
    pub fn as_str(self) -> &'static str {
        match self {
            TriggerEnabled::Origin => "enabled",
            TriggerEnabled::Disabled => "disabled",
            TriggerEnabled::Replica => "enabled on replica",
            TriggerEnabled::Always => "enabled always",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Trigger {
    /// The table's (or view's) qualified name.
    pub table: String,
    pub name: String,
    /// `pg_get_triggerdef`: `CREATE TRIGGER t BEFORE INSERT ON public.users FOR EACH ROW EXECUTE FUNCTION public.f()`.
    pub definition: String,
    pub enabled: TriggerEnabled,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum PolicyCommand {
    All,
    Select,
    Insert,
    Update,
    Delete,
}

impl PolicyCommand {
    pub fn as_str(self) -> &'static str {
        match self {
            PolicyCommand::All => "ALL",
            PolicyCommand::Select => "SELECT",
            PolicyCommand::Insert => "INSERT",
            PolicyCommand::Update => "UPDATE",
            PolicyCommand::Delete => "DELETE",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Policy {
    pub table: String,
    pub name: String,
    pub command: PolicyCommand,
    /// False for `AS RESTRICTIVE`.
    pub permissive: bool,
    /// Sorted; `public` for PUBLIC.
    pub roles: Vec<String>,
    pub using: Option<String>,
    pub with_check: Option<String>,
}

/// What one role (or `public`) may do on a table, view, materialized view or sequence,
/// beyond its owner.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grant {
    /// The relation's qualified name.
    pub table: String,
    pub grantee: String,
    /// Sorted: `DELETE`, `INSERT`, `SELECT WITH GRANT OPTION`...
    pub privileges: Vec<String>,
}

/// A type the user created.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum TypeDef {
    Enum {
        /// In their sort order.
        labels: Vec<String>,
    },
    Domain {
        base: String,
        not_null: bool,
        default: Option<String>,
        /// `name CHECK (...)`, by name.
        checks: Vec<String>,
    },
    Composite {
        /// `name type`, in order.
        attributes: Vec<String>,
    },
    Range {
        subtype: String,
    },
}

impl TypeDef {
    pub fn kind_str(&self) -> &'static str {
        match self {
            TypeDef::Enum { .. } => "enum",
            TypeDef::Domain { .. } => "domain",
            TypeDef::Composite { .. } => "composite",
            TypeDef::Range { .. } => "range",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Extension {
    pub name: String,
    pub version: String,
    pub schema: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sequence {
    pub schema: String,
    pub name: String,
    #[serde(rename = "type")]
    pub data_type: String,
    pub start: i64,
    pub increment: i64,
    pub min: i64,
    pub max: i64,
    pub cache: i64,
    pub cycle: bool,
    /// The column (`public.users.id`) whose table takes the sequence with it when dropped.
    pub owned_by: Option<String>,
}
