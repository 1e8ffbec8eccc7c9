//! A revert migration drafted from what a migration added: the catalog before and after
//! it, compared, turned into `DROP … IF EXISTS` statements in the reverse order of
//! dependence (policies and triggers before the tables they are on, columns before
//! tables, functions and types last), one comment per statement. What the migration
//! changed or removed cannot be undone by a drop: the draft lists it for a person to
//! revert by hand.

use std::fmt::Write as _;

use super::{Catalog, ChangeKind, Kind, diff};
use crate::db::quote_ident;

/// The comment that marks a migration as the revert of `version`; the shadow proves it.
pub const MARKER: &str = "-- migration-guard: reverts";

/// The draft's SQL, for the migration `version` that turned `before` into `after`.
pub fn draft(version: &str, before: &Catalog, after: &Catalog) -> String {
    let changes = diff(before, after);
    let mut drops: Vec<(usize, String)> = Vec::new();
    let mut by_hand = Vec::new();
    for change in &changes {
        if change.change != ChangeKind::Added {
            by_hand.push(format!(
                "-- {} {} {}: {}",
                change.kind.as_str(),
                change.object,
                change.change.as_str(),
                change.detail
            ));
            continue;
        }
        let key = change.object.as_str();
        let statement = match change.kind {
            Kind::Policy => after.policies.get(key).map(|p| {
                (
                    0,
                    format!(
                        "DROP POLICY IF EXISTS {} ON {};",
                        quote_ident(&p.name),
                        qualified(&p.table)
                    ),
                )
            }),
            Kind::Trigger => after.triggers.get(key).map(|t| {
                (
                    0,
                    format!(
                        "DROP TRIGGER IF EXISTS {} ON {};",
                        quote_ident(&t.name),
                        qualified(&t.table)
                    ),
                )
            }),
            Kind::View => after.views.get(key).map(|v| {
                (
                    1,
                    format!("DROP VIEW IF EXISTS {};", name(&v.schema, &v.name)),
                )
            }),
            Kind::MaterializedView => after.materialized_views.get(key).map(|v| {
                (
                    1,
                    format!(
                        "DROP MATERIALIZED VIEW IF EXISTS {};",
                        name(&v.schema, &v.name)
                    ),
                )
            }),
            Kind::Index => after.indexes.get(key).map(|i| {
                let schema = i
                    .table
                    .split_once('.')
                    .map_or("public", |(schema, _)| schema);
                (
                    2,
                    format!("DROP INDEX IF EXISTS {};", name(schema, &i.name)),
                )
            }),
            Kind::Constraint => after.constraints.get(key).map(|c| {
                (
                    3,
                    format!(
                        "ALTER TABLE IF EXISTS {} DROP CONSTRAINT IF EXISTS {};",
                        qualified(&c.table),
                        quote_ident(&c.name)
                    ),
                )
            }),
            Kind::Column => after.columns.get(key).map(|c| {
                (
                    4,
                    format!(
                        "ALTER TABLE IF EXISTS {} DROP COLUMN IF EXISTS {};",
                        qualified(&c.table),
                        quote_ident(&c.name)
                    ),
                )
            }),
            Kind::Table => after.tables.get(key).map(|t| {
                (
                    5,
                    format!("DROP TABLE IF EXISTS {};", name(&t.schema, &t.name)),
                )
            }),
            Kind::Sequence => after.sequences.get(key).map(|s| {
                (
                    6,
                    format!("DROP SEQUENCE IF EXISTS {};", name(&s.schema, &s.name)),
                )
            }),
            Kind::Function => after.functions.get(key).map(|f| {
                (
                    7,
                    format!(
                        "DROP FUNCTION IF EXISTS {}({});",
                        name(&f.schema, &f.name),
                        f.identity_arguments
                    ),
                )
            }),
            Kind::Type => Some((8, format!("DROP TYPE IF EXISTS {};", qualified(key)))),
            Kind::Extension => after.extensions.get(key).map(|e| {
                (
                    9,
                    format!("DROP EXTENSION IF EXISTS {};", quote_ident(&e.name)),
                )
            }),
            Kind::Schema => Some((10, format!("DROP SCHEMA IF EXISTS {};", quote_ident(key)))),
            Kind::Rls | Kind::Grant => None,
        };
        match statement {
            Some((rank, sql)) => drops.push((
                rank,
                format!(
                    "-- {} {} was added by {version}\n{sql}\n",
                    change.kind.as_str(),
                    change.object
                ),
            )),
            None => by_hand.push(format!(
                "-- {} {} was added by {version}: revert it by hand",
                change.kind.as_str(),
                change.object
            )),
        }
    }
    drops.sort_by_key(|(rank, _)| *rank);

    let mut sql = format!(
        "{MARKER} {version}\n\
         -- migration-guard: allow-file no-drop-table, no-drop-column, no-drop-view, no-drop-function, dropped-table, dropped-column, dropped-view, dropped-function, dropped-constraint, dropped-policy -- reverts {version}\n\
         -- Drafted from what {version} added, in the shadow. Read it before you apply it:\n\
         -- the shadow checks that the schema after this file is the schema before {version}.\n"
    );
    for line in &by_hand {
        let _ = writeln!(sql, "{line}");
    }
    sql.push_str(
        "\nBEGIN;\nSET LOCAL lock_timeout = '5s';\nSET LOCAL statement_timeout = '60s';\n\n",
    );
    for (_, drop) in drops {
        let _ = writeln!(sql, "{drop}");
    }
    sql.push_str("COMMIT;\n");
    sql
}

/// `schema.name` quoted part by part, from a qualified name as the catalog writes it.
fn qualified(object: &str) -> String {
    match object.split_once('.') {
        Some((schema, rest)) => name(schema, rest),
        None => quote_ident(object),
    }
}

fn name(schema: &str, name: &str) -> String {
    format!("{}.{}", quote_ident(schema), quote_ident(name))
}

/// The version a migration says it reverts (`-- migration-guard: reverts VERSION` among
/// its first lines).
pub fn reverts(source: &str) -> Option<&str> {
    source
        .lines()
        .map(str::trim)
        .take_while(|line| line.is_empty() || line.starts_with("--"))
        .find_map(|line| line.strip_prefix(MARKER))
        .map(str::trim)
        .filter(|version| !version.is_empty())
}
