//! What changed from one [`Catalog`] to another.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::Serialize;

use super::model::{
    Catalog, Column, Constraint, Extension, Function, Grant, Index, Policy, Sequence, Table,
    TableKind, Trigger, TypeDef, View,
};

/// The kind of object a [`Change`] is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    Schema,
    Table,
    Column,
    Constraint,
    Index,
    View,
    MaterializedView,
    Function,
    Trigger,
    Rls,
    Policy,
    Grant,
    Type,
    Extension,
    Sequence,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Schema => "schema",
            Kind::Table => "table",
            Kind::Column => "column",
            Kind::Constraint => "constraint",
            Kind::Index => "index",
            Kind::View => "view",
            Kind::MaterializedView => "materialized-view",
            Kind::Function => "function",
            Kind::Trigger => "trigger",
            Kind::Rls => "rls",
            Kind::Policy => "policy",
            Kind::Grant => "grant",
            Kind::Type => "type",
            Kind::Extension => "extension",
            Kind::Sequence => "sequence",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ChangeKind {
    Added,
    Removed,
    Changed,
}

impl ChangeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeKind::Added => "added",
            ChangeKind::Removed => "removed",
            ChangeKind::Changed => "changed",
        }
    }
}

impl fmt::Display for ChangeKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    pub kind: Kind,
    /// The object's full name: `public.users`, `public.users.email`,
    /// `public.users.users_email_key`, `public.f(integer, text)`, policy
    /// `public.users.policy name`, grant `public.users.anon`.
    pub object: String,
    pub change: ChangeKind,
    /// For Changed: what differs, e.g. `type text -> character varying(200)`,
    /// `nullable -> not null`, `rls on -> off`, several joined with `; `; for Added and
    /// Removed a short description.
    pub detail: String,
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} {}", self.change, self.kind, self.object)?;
        if !self.detail.is_empty() {
            write!(f, ": {}", self.detail)?;
        }
        Ok(())
    }
}

/// Every difference from `before` to `after`, ordered by kind then object.
///
/// What goes with a relation is not repeated when the relation itself is added or
/// removed: a dropped table is one Removed Table change, not one per column, constraint,
/// index, trigger, policy, grant or owned sequence of it. Objects of an added or removed
/// schema are reported one by one. [`Table::relfilenode`] is not compared.
pub fn diff(before: &Catalog, after: &Catalog) -> Vec<Change> {
    let mut changes = Vec::new();
    let mut push = |kind, object: &str, change, detail: String| {
        changes.push(Change {
            kind,
            object: object.to_string(),
            change,
            detail,
        })
    };

    compare(
        &before.schemas,
        &after.schemas,
        |_| true,
        |_| "schema".to_string(),
        |_, _| Vec::new(),
        |object, change, detail| push(Kind::Schema, object, change, detail),
    );

    // Relations that appear or disappear whole: what hangs off them goes unreported.
    let mut whole: BTreeSet<&str> = BTreeSet::new();
    for (b, a) in [
        (keys(&before.tables), keys(&after.tables)),
        (keys(&before.views), keys(&after.views)),
        (
            keys(&before.materialized_views),
            keys(&after.materialized_views),
        ),
        (keys(&before.sequences), keys(&after.sequences)),
    ] {
        whole.extend(b.symmetric_difference(&a).copied());
    }
    let part = |table: &str| !whole.contains(table);

    compare(
        &before.tables,
        &after.tables,
        |_| true,
        |table| describe_table(table, column_count(before, after, table)),
        table_changes,
        |object, change, detail| push(Kind::Table, object, change, detail),
    );
    compare(
        &before.columns,
        &after.columns,
        |c| part(&c.table),
        describe_column,
        column_changes,
        |object, change, detail| push(Kind::Column, object, change, detail),
    );
    compare(
        &before.constraints,
        &after.constraints,
        |c| part(&c.table),
        |c| c.definition.clone(),
        constraint_changes,
        |object, change, detail| push(Kind::Constraint, object, change, detail),
    );
    compare(
        &before.indexes,
        &after.indexes,
        |i| part(&i.table),
        |i| i.definition.clone(),
        index_changes,
        |object, change, detail| push(Kind::Index, object, change, detail),
    );
    compare(
        &before.views,
        &after.views,
        |_| true,
        |_| "view".to_string(),
        view_changes,
        |object, change, detail| push(Kind::View, object, change, detail),
    );
    compare(
        &before.materialized_views,
        &after.materialized_views,
        |_| true,
        |_| "materialized view".to_string(),
        view_changes,
        |object, change, detail| push(Kind::MaterializedView, object, change, detail),
    );
    compare(
        &before.functions,
        &after.functions,
        |_| true,
        describe_function,
        function_changes,
        |object, change, detail| push(Kind::Function, object, change, detail),
    );
    compare(
        &before.triggers,
        &after.triggers,
        |t| part(&t.table),
        |t| t.definition.clone(),
        trigger_changes,
        |object, change, detail| push(Kind::Trigger, object, change, detail),
    );
    for (object, b) in &before.tables {
        if let Some(a) = after.tables.get(object) {
            let detail = rls_changes(b, a);
            if !detail.is_empty() {
                push(Kind::Rls, object, ChangeKind::Changed, detail.join("; "));
            }
        }
    }
    compare(
        &before.policies,
        &after.policies,
        |p| part(&p.table),
        describe_policy,
        policy_changes,
        |object, change, detail| push(Kind::Policy, object, change, detail),
    );
    compare(
        &before.grants,
        &after.grants,
        |g| part(&g.table),
        |g| g.privileges.join(", "),
        grant_changes,
        |object, change, detail| push(Kind::Grant, object, change, detail),
    );
    compare(
        &before.types,
        &after.types,
        |_| true,
        describe_type,
        type_changes,
        |object, change, detail| push(Kind::Type, object, change, detail),
    );
    compare(
        &before.extensions,
        &after.extensions,
        |_| true,
        |e| format!("version {} in schema {}", e.version, e.schema),
        extension_changes,
        |object, change, detail| push(Kind::Extension, object, change, detail),
    );
    // A serial's sequence comes and goes with its table.
    let goes_with_table = |sequence: &Sequence| {
        let owner = sequence.owned_by.as_deref().and_then(|column| {
            before
                .columns
                .get(column)
                .or_else(|| after.columns.get(column))
        });
        owner.is_some_and(|column| whole.contains(column.table.as_str()))
    };
    compare(
        &before.sequences,
        &after.sequences,
        |sequence| !goes_with_table(sequence),
        describe_sequence,
        sequence_changes,
        |object, change, detail| push(Kind::Sequence, object, change, detail),
    );

    changes.sort_by(|a, b| (a.kind, &a.object).cmp(&(b.kind, &b.object)));
    changes
}

fn keys<T>(map: &BTreeMap<String, T>) -> BTreeSet<&str> {
    map.keys().map(String::as_str).collect()
}

/// Reports the objects only one side has (when `reported`) and those whose
/// `changes` are not empty.
fn compare<T>(
    before: &BTreeMap<String, T>,
    after: &BTreeMap<String, T>,
    reported: impl Fn(&T) -> bool,
    describe: impl Fn(&T) -> String,
    changes: impl Fn(&T, &T) -> Vec<String>,
    mut emit: impl FnMut(&str, ChangeKind, String),
) {
    for (object, b) in before {
        match after.get(object) {
            None if reported(b) => emit(object, ChangeKind::Removed, describe(b)),
            None => {}
            Some(a) => {
                let detail = changes(b, a);
                if !detail.is_empty() {
                    emit(object, ChangeKind::Changed, detail.join("; "));
                }
            }
        }
    }
    for (object, a) in after {
        if !before.contains_key(object) && reported(a) {
            emit(object, ChangeKind::Added, describe(a));
        }
    }
}

/// How many columns `table` has on the side that holds it.
fn column_count(before: &Catalog, after: &Catalog, table: &Table) -> usize {
    let key = format!("{}.{}", table.schema, table.name);
    let side = if before.tables.contains_key(&key) {
        before
    } else {
        after
    };
    side.columns_of(&key).count()
}

fn none_or(value: &Option<String>) -> &str {
    value.as_deref().unwrap_or("none")
}

fn list(values: &[String]) -> String {
    format!("({})", values.join(", "))
}

/// `what old -> new` when they differ.
fn change(details: &mut Vec<String>, what: &str, before: &str, after: &str) {
    if before != after {
        details.push(format!("{what} {before} -> {after}"));
    }
}

/// `old -> new` when they differ, for states that name themselves.
fn state(details: &mut Vec<String>, before: &str, after: &str) {
    if before != after {
        details.push(format!("{before} -> {after}"));
    }
}

fn table_kind(kind: TableKind) -> &'static str {
    match kind {
        TableKind::Table => "table",
        TableKind::Partitioned => "partitioned table",
        TableKind::Foreign => "foreign table",
    }
}

fn describe_table(table: &Table, columns: usize) -> String {
    let mut detail = format!(
        "{}, {columns} column{}",
        table_kind(table.kind),
        if columns == 1 { "" } else { "s" }
    );
    if table.rls_enabled {
        detail.push_str(", rls on");
    }
    if let Some(parent) = table
        .inherits
        .first()
        .filter(|_| table.partition_bound.is_some())
    {
        detail.push_str(&format!(", partition of {parent}"));
    }
    detail
}

fn table_changes(b: &Table, a: &Table) -> Vec<String> {
    let mut details = Vec::new();
    state(&mut details, table_kind(b.kind), table_kind(a.kind));
    change(
        &mut details,
        "options",
        &list(&b.options),
        &list(&a.options),
    );
    change(
        &mut details,
        "partition key",
        none_or(&b.partition_key),
        none_or(&a.partition_key),
    );
    change(
        &mut details,
        "partition bound",
        none_or(&b.partition_bound),
        none_or(&a.partition_bound),
    );
    change(
        &mut details,
        "inherits",
        &list(&b.inherits),
        &list(&a.inherits),
    );
    details
}

fn rls_changes(b: &Table, a: &Table) -> Vec<String> {
    let on = |on: bool| if on { "on" } else { "off" };
    let mut details = Vec::new();
    change(&mut details, "rls", on(b.rls_enabled), on(a.rls_enabled));
    change(
        &mut details,
        "force rls",
        on(b.rls_forced),
        on(a.rls_forced),
    );
    details
}

fn describe_column(column: &Column) -> String {
    let mut detail = column.type_name.clone();
    if column.not_null {
        detail.push_str(" not null");
    }
    if let Some(default) = &column.default {
        detail.push_str(&format!(" default {default}"));
    }
    if let Some(expression) = &column.generated {
        detail.push_str(&format!(" generated always as ({expression})"));
    }
    if let Some(identity) = column.identity {
        detail.push_str(&format!(" generated {} as identity", identity.as_str()));
    }
    detail
}

fn column_changes(b: &Column, a: &Column) -> Vec<String> {
    let nullable = |not_null: bool| if not_null { "not null" } else { "nullable" };
    let identity = |c: &Column| c.identity.map_or("none", |i| i.as_str());
    let mut details = Vec::new();
    change(&mut details, "type", &b.type_name, &a.type_name);
    state(&mut details, nullable(b.not_null), nullable(a.not_null));
    change(
        &mut details,
        "default",
        none_or(&b.default),
        none_or(&a.default),
    );
    change(
        &mut details,
        "generated",
        none_or(&b.generated),
        none_or(&a.generated),
    );
    change(&mut details, "identity", identity(b), identity(a));
    change(
        &mut details,
        "collation",
        none_or(&b.collation),
        none_or(&a.collation),
    );
    details
}

fn constraint_changes(b: &Constraint, a: &Constraint) -> Vec<String> {
    let valid = |validated: bool| if validated { "valid" } else { "not valid" };
    let mut details = Vec::new();
    state(&mut details, b.kind.as_str(), a.kind.as_str());
    // pg_get_constraintdef ends in NOT VALID until the constraint is validated.
    let unmarked = |c: &Constraint| c.definition.trim_end_matches(" NOT VALID").to_string();
    change(&mut details, "definition", &unmarked(b), &unmarked(a));
    state(&mut details, valid(b.validated), valid(a.validated));
    details
}

fn index_changes(b: &Index, a: &Index) -> Vec<String> {
    let valid = |valid: bool| if valid { "valid" } else { "invalid" };
    let mut details = Vec::new();
    change(&mut details, "definition", &b.definition, &a.definition);
    state(&mut details, valid(b.valid), valid(a.valid));
    details
}

fn view_changes(b: &View, a: &View) -> Vec<String> {
    let mut details = Vec::new();
    if b.definition != a.definition {
        details.push("definition changed".to_string());
    }
    change(
        &mut details,
        "options",
        &list(&b.options),
        &list(&a.options),
    );
    details
}

fn describe_function(function: &Function) -> String {
    match &function.result {
        Some(result) => format!(
            "{} returning {result}, language {}",
            function.kind.as_str(),
            function.language
        ),
        None => format!("{}, language {}", function.kind.as_str(), function.language),
    }
}

fn function_changes(b: &Function, a: &Function) -> Vec<String> {
    let security = |definer: bool| {
        if definer {
            "security definer"
        } else {
            "security invoker"
        }
    };
    let strict = |strict: bool| {
        if strict {
            "strict"
        } else {
            "called on null input"
        }
    };
    let mut details = Vec::new();
    state(&mut details, b.kind.as_str(), a.kind.as_str());
    if b.body_md5 != a.body_md5 {
        details.push("body changed".to_string());
    }
    change(&mut details, "arguments", &b.arguments, &a.arguments);
    change(
        &mut details,
        "returns",
        none_or(&b.result),
        none_or(&a.result),
    );
    change(&mut details, "language", &b.language, &a.language);
    state(
        &mut details,
        security(b.security_definer),
        security(a.security_definer),
    );
    change(
        &mut details,
        "volatility",
        b.volatility.as_str(),
        a.volatility.as_str(),
    );
    state(&mut details, strict(b.strict), strict(a.strict));
    change(
        &mut details,
        "parallel",
        b.parallel.as_str(),
        a.parallel.as_str(),
    );
    change(&mut details, "config", &list(&b.config), &list(&a.config));
    details
}

fn trigger_changes(b: &Trigger, a: &Trigger) -> Vec<String> {
    let mut details = Vec::new();
    change(&mut details, "definition", &b.definition, &a.definition);
    state(&mut details, b.enabled.as_str(), a.enabled.as_str());
    details
}

fn describe_policy(policy: &Policy) -> String {
    format!(
        "{}{} to {}",
        if policy.permissive {
            ""
        } else {
            "restrictive "
        },
        policy.command.as_str(),
        policy.roles.join(", ")
    )
}

fn policy_changes(b: &Policy, a: &Policy) -> Vec<String> {
    let permissive = |p: bool| if p { "permissive" } else { "restrictive" };
    let mut details = Vec::new();
    change(
        &mut details,
        "command",
        b.command.as_str(),
        a.command.as_str(),
    );
    state(
        &mut details,
        permissive(b.permissive),
        permissive(a.permissive),
    );
    change(&mut details, "roles", &list(&b.roles), &list(&a.roles));
    change(&mut details, "using", none_or(&b.using), none_or(&a.using));
    change(
        &mut details,
        "with check",
        none_or(&b.with_check),
        none_or(&a.with_check),
    );
    details
}

fn grant_changes(b: &Grant, a: &Grant) -> Vec<String> {
    let mut details = Vec::new();
    change(
        &mut details,
        "privileges",
        &list(&b.privileges),
        &list(&a.privileges),
    );
    details
}

fn describe_type(def: &TypeDef) -> String {
    match def {
        TypeDef::Enum { labels } => format!("enum {}", list(labels)),
        TypeDef::Domain { base, .. } => format!("domain over {base}"),
        TypeDef::Composite { attributes } => format!("composite {}", list(attributes)),
        TypeDef::Range { subtype } => format!("range over {subtype}"),
    }
}

fn type_changes(b: &TypeDef, a: &TypeDef) -> Vec<String> {
    let mut details = Vec::new();
    match (b, a) {
        (TypeDef::Enum { labels: b }, TypeDef::Enum { labels: a }) => {
            change(&mut details, "values", &list(b), &list(a));
        }
        (
            TypeDef::Domain {
                base: b_base,
                not_null: b_not_null,
                default: b_default,
                checks: b_checks,
            },
            TypeDef::Domain {
                base: a_base,
                not_null: a_not_null,
                default: a_default,
                checks: a_checks,
            },
        ) => {
            let nullable = |not_null: bool| if not_null { "not null" } else { "nullable" };
            change(&mut details, "base", b_base, a_base);
            state(&mut details, nullable(*b_not_null), nullable(*a_not_null));
            change(
                &mut details,
                "default",
                none_or(b_default),
                none_or(a_default),
            );
            change(&mut details, "checks", &list(b_checks), &list(a_checks));
        }
        (TypeDef::Composite { attributes: b }, TypeDef::Composite { attributes: a }) => {
            change(&mut details, "attributes", &list(b), &list(a));
        }
        (TypeDef::Range { subtype: b }, TypeDef::Range { subtype: a }) => {
            change(&mut details, "subtype", b, a);
        }
        _ => state(&mut details, &describe_type(b), &describe_type(a)),
    }
    details
}

fn extension_changes(b: &Extension, a: &Extension) -> Vec<String> {
    let mut details = Vec::new();
    change(&mut details, "version", &b.version, &a.version);
    change(&mut details, "schema", &b.schema, &a.schema);
    details
}

fn describe_sequence(sequence: &Sequence) -> String {
    match &sequence.owned_by {
        Some(column) => format!("{}, owned by {column}", sequence.data_type),
        None => sequence.data_type.clone(),
    }
}

fn sequence_changes(b: &Sequence, a: &Sequence) -> Vec<String> {
    let cycle = |cycle: bool| if cycle { "cycle" } else { "no cycle" };
    let mut details = Vec::new();
    change(&mut details, "type", &b.data_type, &a.data_type);
    for (what, before, after) in [
        ("start", b.start, a.start),
        ("increment", b.increment, a.increment),
        ("min", b.min, a.min),
        ("max", b.max, a.max),
        ("cache", b.cache, a.cache),
    ] {
        change(&mut details, what, &before.to_string(), &after.to_string());
    }
    state(&mut details, cycle(b.cycle), cycle(a.cycle));
    change(
        &mut details,
        "owned by",
        none_or(&b.owned_by),
        none_or(&a.owned_by),
    );
    details
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::{ConstraintKind, Schema};

    fn table(schema: &str, name: &str) -> Table {
        Table {
            schema: schema.into(),
            name: name.into(),
            kind: TableKind::Table,
            rls_enabled: true,
            rls_forced: false,
            options: vec![],
            partition_key: None,
            partition_bound: None,
            inherits: vec![],
            relfilenode: 1,
        }
    }

    fn column(table: &str, name: &str, type_name: &str) -> Column {
        Column {
            table: table.into(),
            name: name.into(),
            type_name: type_name.into(),
            not_null: false,
            default: None,
            generated: None,
            identity: None,
            collation: None,
        }
    }

    /// public.users (id, email) with a primary key, a policy and a grant; public.s owned
    /// by public.users.id.
    fn users() -> Catalog {
        let mut catalog = Catalog::default();
        catalog
            .tables
            .insert("public.users".into(), table("public", "users"));
        for (name, type_name) in [("id", "bigint"), ("email", "text")] {
            catalog.columns.insert(
                format!("public.users.{name}"),
                column("public.users", name, type_name),
            );
        }
        catalog.constraints.insert(
            "public.users.users_pkey".into(),
            Constraint {
                table: "public.users".into(),
                name: "users_pkey".into(),
                kind: ConstraintKind::PrimaryKey,
                definition: "PRIMARY KEY (id)".into(),
                validated: true,
            },
        );
        catalog.policies.insert(
            "public.users.own rows".into(),
            Policy {
                table: "public.users".into(),
                name: "own rows".into(),
                command: super::super::PolicyCommand::Select,
                permissive: true,
                roles: vec!["authenticated".into()],
                using: Some("(id = 1)".into()),
                with_check: None,
            },
        );
        catalog.grants.insert(
            "public.users.anon".into(),
            Grant {
                table: "public.users".into(),
                grantee: "anon".into(),
                privileges: vec!["SELECT".into()],
            },
        );
        catalog.sequences.insert(
            "public.users_id_seq".into(),
            Sequence {
                schema: "public".into(),
                name: "users_id_seq".into(),
                data_type: "bigint".into(),
                start: 1,
                increment: 1,
                min: 1,
                max: i64::MAX,
                cache: 1,
                cycle: false,
                owned_by: Some("public.users.id".into()),
            },
        );
        catalog
    }

    fn summary(changes: &[Change]) -> Vec<String> {
        changes.iter().map(Change::to_string).collect()
    }

    #[test]
    fn identical_catalogs_have_no_changes() {
        assert_eq!(diff(&users(), &users()), []);
        assert_eq!(diff(&Catalog::default(), &Catalog::default()), []);
    }

    #[test]
    fn a_dropped_table_is_one_change() {
        assert_eq!(
            summary(&diff(&users(), &Catalog::default())),
            ["removed table public.users: table, 2 columns, rls on"]
        );
    }

    #[test]
    fn a_created_table_is_one_change() {
        assert_eq!(
            summary(&diff(&Catalog::default(), &users())),
            ["added table public.users: table, 2 columns, rls on"]
        );
    }

    #[test]
    fn a_rewritten_table_is_not_a_schema_change() {
        let mut after = users();
        after.tables.get_mut("public.users").unwrap().relfilenode = 2;
        assert_eq!(diff(&users(), &after), []);
    }

    #[test]
    fn column_changes_name_each_difference() {
        let mut after = users();
        let email = after.columns.get_mut("public.users.email").unwrap();
        email.type_name = "character varying(200)".into();
        email.not_null = true;
        email.default = Some("''::text".into());
        after.columns.remove("public.users.id");
        assert_eq!(
            summary(&diff(&users(), &after)),
            [
                "changed column public.users.email: type text -> character varying(200); nullable -> not null; default none -> ''::text",
                "removed column public.users.id: bigint",
            ]
        );
    }

    #[test]
    fn rls_policy_and_grant_changes() {
        let mut after = users();
        after.tables.get_mut("public.users").unwrap().rls_enabled = false;
        after.policies.clear();
        after
            .grants
            .get_mut("public.users.anon")
            .unwrap()
            .privileges
            .push("UPDATE".into());
        assert_eq!(
            summary(&diff(&users(), &after)),
            [
                "changed rls public.users: rls on -> off",
                "removed policy public.users.own rows: SELECT to authenticated",
                "changed grant public.users.anon: privileges (SELECT) -> (SELECT, UPDATE)",
            ]
        );
    }

    #[test]
    fn validating_a_constraint_reads_as_such() {
        let mut before = users();
        let pkey = before
            .constraints
            .get_mut("public.users.users_pkey")
            .unwrap();
        pkey.kind = ConstraintKind::Check;
        pkey.definition = "CHECK ((id > 0)) NOT VALID".into();
        pkey.validated = false;
        let mut after = before.clone();
        let pkey = after
            .constraints
            .get_mut("public.users.users_pkey")
            .unwrap();
        pkey.definition = "CHECK ((id > 0))".into();
        pkey.validated = true;
        assert_eq!(
            summary(&diff(&before, &after)),
            ["changed constraint public.users.users_pkey: not valid -> valid"]
        );
    }

    #[test]
    fn changes_are_ordered_by_kind_then_object() {
        let mut after = users();
        after
            .schemas
            .insert("b".into(), Schema { name: "b".into() });
        after
            .schemas
            .insert("a".into(), Schema { name: "a".into() });
        after.types.insert(
            "public.mood".into(),
            TypeDef::Enum {
                labels: vec!["sad".into()],
            },
        );
        after.tables.insert("public.a".into(), table("public", "a"));
        let changes = diff(&users(), &after);
        let order: Vec<(Kind, &str)> = changes
            .iter()
            .map(|c| (c.kind, c.object.as_str()))
            .collect();
        assert_eq!(
            order,
            [
                (Kind::Schema, "a"),
                (Kind::Schema, "b"),
                (Kind::Table, "public.a"),
                (Kind::Type, "public.mood"),
            ]
        );
    }

    #[test]
    fn enum_values_and_kinds_serialise_as_the_report_spells_them() {
        let change = Change {
            kind: Kind::MaterializedView,
            object: "public.mv".into(),
            change: ChangeKind::Removed,
            detail: String::new(),
        };
        assert_eq!(
            serde_json::to_string(&change).unwrap(),
            r#"{"kind":"materialized-view","object":"public.mv","change":"removed","detail":""}"#
        );
        assert_eq!(Kind::Rls.as_str(), "rls");
        let mut before = Catalog::default();
        before.types.insert(
            "public.mood".into(),
            TypeDef::Enum {
                labels: vec!["sad".into(), "ok".into()],
            },
        );
        let mut after = before.clone();
        after.types.insert(
            "public.mood".into(),
            TypeDef::Enum {
                labels: vec!["sad".into(), "ok".into(), "happy".into()],
            },
        );
        assert_eq!(
            summary(&diff(&before, &after)),
            ["changed type public.mood: values (sad, ok) -> (sad, ok, happy)"]
        );
    }
}
