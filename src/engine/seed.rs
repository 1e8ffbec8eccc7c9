//! `--seed-rows N`: fills every empty table that exists before the migrations under review
//! with N synthetic rows, so that what the shadow measures of their locks (how long a
//! rewrite, a validation or an index build holds them) is measured on data, not on empty
//! tables.
//!
//! One `INSERT … SELECT … FROM generate_series(1, N)` per table, parents before children.
//! Values follow each column's type; keys and unique columns are distinct; a foreign key
//! points at a row its parent was given (or, for a parent that already held rows, at one
//! of those); a column with a default keeps it; a column a one-column CHECK holds to a list
//! takes values from the list. A table no value fits (a column of a type with no synthetic
//! value, a CHECK the values break) is left empty and the report says which and why.
//!
//! Rows go in as the migrations' role, never a superuser's: the defaults, CHECKs and index
//! expressions evaluated on the way are the project's SQL. The table's own triggers are
//! off while it fills where that role owns it (an audit trigger would write N rows more).

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use crate::catalog::Scope;
use crate::db::{Database, PgError};

const TABLES: &str = include_str!("seed.sql");

/// The keys, foreign keys and CHECKs of the tables `$1`; a unique index that is no
/// constraint counts as a key over its plain columns.
const CONSTRAINTS: &str = "SELECT con.conrelid, con.contype::text, con.conkey, \
     con.confrelid, coalesce(con.confkey, '{}'::int2[]), pg_get_constraintdef(con.oid) \
     FROM pg_constraint con \
     WHERE con.conrelid = ANY ($1::oid[]) AND con.contype IN ('p', 'u', 'f', 'c') \
     UNION ALL \
     SELECT i.indrelid, 'u', array_remove(i.indkey::int2[], 0::int2), 0::oid, '{}'::int2[], '' \
     FROM pg_index i \
     WHERE i.indisunique AND i.indrelid = ANY ($1::oid[]) \
     AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)";

/// A seed to make: `rows` rows per table, before the migration at `before` (the first
/// under review).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Seed {
    pub rows: u64,
    pub before: usize,
}

/// What a seed did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Seeded {
    pub rows: u64,
    /// The tables filled, in the order they were.
    pub filled: Vec<String>,
    /// The tables left as they were, and why.
    pub left: Vec<(String, String)>,
    pub elapsed: Duration,
}

impl Seeded {
    /// One line for the report.
    pub fn note(&self) -> String {
        if self.filled.is_empty() && self.left.is_empty() {
            return "--seed-rows: no table existed before the migrations under review, so none was filled; with --base-ref (or a baseline), the tables the deployed migrations build are filled before the others run".to_string();
        }
        let mut note = format!(
            "Seeded {} table(s) with {} synthetic rows each in {:.1} s before the migrations under review",
            self.filled.len(),
            self.rows,
            self.elapsed.as_secs_f64()
        );
        if !self.left.is_empty() {
            let left: Vec<String> = self
                .left
                .iter()
                .map(|(table, why)| format!("{table} ({why})"))
                .collect();
            note.push_str(&format!(
                "; left {} as they were: {}",
                self.left.len(),
                left.join("; ")
            ));
        }
        note.push('.');
        note
    }
}

#[derive(Debug, Clone)]
struct Column {
    num: i16,
    name: String,
    type_name: String,
    base_type: String,
    category: char,
    not_null: bool,
    has_default: bool,
    identity: bool,
    sequenced: bool,
}

#[derive(Debug, Clone)]
struct ForeignKey {
    columns: Vec<i16>,
    parent: u32,
    parent_columns: Vec<i16>,
}

#[derive(Debug, Clone)]
struct Table {
    oid: u32,
    name: String,
    qualified: String,
    owned: bool,
    user_triggers: bool,
    columns: Vec<Column>,
    keys: HashSet<i16>,
    foreign_keys: Vec<ForeignKey>,
    /// One-column CHECKs: the column, and the constraint's text.
    checks: Vec<(i16, String)>,
}

impl Table {
    fn column(&self, num: i16) -> Option<&Column> {
        self.columns.iter().find(|column| column.num == num)
    }
}

/// What became of a table: the rows its parents' keys were made from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Filled here: row `r`'s values are the expressions of `r`.
    Filled,
    /// It held rows already: a child picks among them.
    Held,
    /// Left empty.
    Empty,
}

/// Fills the empty tables of the user's schemas (and those they reference) with `rows`
/// rows each; see the module doc.
pub async fn fill(db: &Database, rows: u64) -> Result<Seeded, PgError> {
    let started = Instant::now();
    let tables = read_tables(db).await?;
    let mut seeded = Seeded {
        rows,
        ..Seeded::default()
    };
    let mut states: HashMap<u32, State> = HashMap::new();
    let order = parents_first(&tables);
    let count = order.len();
    for (position, oid) in order.into_iter().enumerate() {
        let table = &tables[&oid];
        let holds = db
            .client
            .query_typed(
                &format!("SELECT EXISTS (SELECT 1 FROM {})", table.qualified),
                &[],
            )
            .await;
        match holds.map(|rows| rows.first().is_some_and(|row| row.get::<_, bool>(0))) {
            Ok(true) => {
                states.insert(oid, State::Held);
                seeded
                    .left
                    .push((table.name.clone(), "it holds rows already".to_string()));
                continue;
            }
            Ok(false) => {}
            Err(error) => {
                states.insert(oid, State::Empty);
                seeded
                    .left
                    .push((table.name.clone(), crate::db::reason(&error)));
                continue;
            }
        }
        let insert = match insert(table, &tables, &states, rows) {
            Ok(insert) => insert,
            Err(why) => {
                states.insert(oid, State::Empty);
                seeded.left.push((table.name.clone(), why));
                continue;
            }
        };
        tracing::info!(
            "seeding {} with {rows} rows ({}/{count})",
            table.name,
            position + 1
        );
        match run_insert(db, table, &insert).await {
            Ok(()) => {
                states.insert(oid, State::Filled);
                seeded.filled.push(table.name.clone());
            }
            Err(error) if error.as_db_error().is_some() => {
                states.insert(oid, State::Empty);
                seeded
                    .left
                    .push((table.name.clone(), crate::db::reason(&error)));
            }
            Err(error) => return Err(error),
        }
    }
    seeded.elapsed = started.elapsed();
    Ok(seeded)
}

/// The insert, then what keeps the table usable after it: its sequences past the keys
/// given, its statistics read (sizes and row counts, as autovacuum would have them).
async fn run_insert(db: &Database, table: &Table, insert: &str) -> Result<(), PgError> {
    let triggers = table.user_triggers && table.owned;
    let mut sql = String::from("BEGIN;\n");
    if triggers {
        sql.push_str(&format!(
            "ALTER TABLE {} DISABLE TRIGGER USER;\n",
            table.qualified
        ));
    }
    sql.push_str(insert);
    sql.push_str(";\n");
    for column in table
        .columns
        .iter()
        .filter(|column| column.sequenced && table.keys.contains(&column.num))
    {
        sql.push_str(&format!(
            "SELECT setval(pg_get_serial_sequence({}, {}), greatest(max({}), 1)) FROM {};\n",
            crate::db::quote_literal(&table.qualified),
            crate::db::quote_literal(&column.name),
            crate::db::quote_ident(&column.name),
            table.qualified
        ));
    }
    if triggers {
        sql.push_str(&format!(
            "ALTER TABLE {} ENABLE TRIGGER USER;\n",
            table.qualified
        ));
    }
    sql.push_str("COMMIT;");
    if let Err(error) = db.client.batch_execute(&sql).await {
        // Ends the failed transaction; the table is as it was.
        db.client.batch_execute("ROLLBACK").await?;
        return Err(error);
    }
    db.client
        .batch_execute(&format!("ANALYZE {}", table.qualified))
        .await
}

async fn read_tables(db: &Database) -> Result<HashMap<u32, Table>, PgError> {
    let exclude = Scope::user().like_patterns();
    let mut tables: HashMap<u32, Table> = HashMap::new();
    for row in db.client.query(TABLES, &[&exclude]).await? {
        let oid: u32 = row.get("oid");
        let table = tables.entry(oid).or_insert_with(|| Table {
            oid,
            name: row.get("name"),
            qualified: row.get("qualified"),
            owned: row.get("owned"),
            user_triggers: row.get("user_triggers"),
            columns: Vec::new(),
            keys: HashSet::new(),
            foreign_keys: Vec::new(),
            checks: Vec::new(),
        });
        let category: String = row.get("category");
        table.columns.push(Column {
            num: row.get("attnum"),
            name: row.get("column_name"),
            type_name: row.get("type_name"),
            base_type: row.get("base_type"),
            category: category.chars().next().unwrap_or('X'),
            not_null: row.get("attnotnull"),
            has_default: row.get("atthasdef"),
            identity: row.get("identity"),
            sequenced: row.get("sequenced"),
        });
    }
    let oids: Vec<u32> = tables.keys().copied().collect();
    for row in db.client.query(CONSTRAINTS, &[&oids]).await? {
        let Some(table) = tables.get_mut(&row.get::<_, u32>(0)) else {
            continue;
        };
        let kind: String = row.get(1);
        let columns: Vec<i16> = row.get(2);
        match kind.as_str() {
            "p" | "u" => table.keys.extend(columns),
            "f" => table.foreign_keys.push(ForeignKey {
                columns,
                parent: row.get(3),
                parent_columns: row.get(4),
            }),
            "c" if columns.len() == 1 => table.checks.push((columns[0], row.get(5))),
            _ => {}
        }
    }
    Ok(tables)
}

/// The tables, each after those it references (a cycle is broken in oid order).
fn parents_first(tables: &HashMap<u32, Table>) -> Vec<u32> {
    let mut oids: Vec<u32> = tables.keys().copied().collect();
    oids.sort_unstable();
    let mut order: Vec<u32> = Vec::with_capacity(oids.len());
    let mut placed: HashSet<u32> = HashSet::new();
    while order.len() < oids.len() {
        let ready = oids.iter().copied().find(|oid| {
            !placed.contains(oid)
                && tables[oid].foreign_keys.iter().all(|fk| {
                    fk.parent == *oid
                        || placed.contains(&fk.parent)
                        || !tables.contains_key(&fk.parent)
                })
        });
        // In a cycle, the first not yet placed goes next.
        let next = ready.unwrap_or_else(|| {
            *oids
                .iter()
                .find(|oid| !placed.contains(oid))
                .expect("a table is left to place")
        });
        placed.insert(next);
        order.push(next);
    }
    order
}

/// The placeholder for the row number in a value's expression.
const ROW: &str = "g.i";

/// The `INSERT` that fills `table` with `rows` rows, or why none can.
fn insert(
    table: &Table,
    tables: &HashMap<u32, Table>,
    states: &HashMap<u32, State>,
    rows: u64,
) -> Result<String, String> {
    let mut columns: Vec<&str> = Vec::new();
    let mut values: Vec<String> = Vec::new();
    let mut joins: Vec<String> = Vec::new();
    let mut overriding = false;
    for column in &table.columns {
        let value = match table
            .foreign_keys
            .iter()
            .find(|fk| fk.columns.contains(&column.num))
        {
            Some(fk) => referencing(table, column, fk, tables, states, rows, &mut joins)?,
            None => own_value(table, column, ROW, tables, 0)?,
        };
        if let Some(value) = value {
            overriding |= column.identity;
            columns.push(&column.name);
            values.push(value);
        }
    }
    let columns: Vec<String> = columns.iter().map(|c| crate::db::quote_ident(c)).collect();
    let target = if columns.is_empty() {
        table.qualified.clone()
    } else {
        format!("{} ({})", table.qualified, columns.join(", "))
    };
    let joins: String = joins
        .iter()
        .map(|join| format!(" CROSS JOIN {join}"))
        .collect();
    Ok(format!(
        "INSERT INTO {target}{} SELECT {} FROM generate_series(1, {rows}) AS g(i){joins}",
        if overriding {
            " OVERRIDING SYSTEM VALUE"
        } else {
            ""
        },
        values.join(", ")
    ))
}

/// A foreign key column's value: the key of a row its parent was given, of one it held,
/// NULL where the parent is empty; `Err` where it must hold a value and cannot.
fn referencing(
    table: &Table,
    column: &Column,
    fk: &ForeignKey,
    tables: &HashMap<u32, Table>,
    states: &HashMap<u32, State>,
    rows: u64,
    joins: &mut Vec<String>,
) -> Result<Option<String>, String> {
    let position = fk
        .columns
        .iter()
        .position(|num| *num == column.num)
        .expect("the column is one of the key's");
    let parent = tables.get(&fk.parent);
    let parent_column = parent.and_then(|parent| parent.column(fk.parent_columns[position]));
    let empty = |why: String| {
        if column.not_null {
            Err(why)
        } else {
            Ok(Some("NULL".to_string()))
        }
    };
    let (Some(parent), Some(parent_column)) = (parent, parent_column) else {
        return empty(format!(
            "the column {} references a table the seed cannot read",
            column.name
        ));
    };
    let state = if parent.oid == table.oid {
        State::Filled
    } else {
        states.get(&parent.oid).copied().unwrap_or(State::Empty)
    };
    match state {
        State::Filled => {
            // Row r points at the parent's row 1 + (r - 1) % rows.
            let row = format!("(1 + ({ROW} - 1) % {rows})");
            own_value(parent, parent_column, &row, tables, 1).and_then(|value| match value {
                Some(value) => Ok(Some(value)),
                None => empty(format!(
                    "the column {} references {}.{}, which keeps its default",
                    column.name, parent.name, parent_column.name
                )),
            })
        }
        State::Held if fk.columns.len() == 1 => {
            let alias = format!("parent{}", joins.len());
            joins.push(format!(
                "(SELECT array_agg({key}) AS keys FROM {} WHERE {key} IS NOT NULL) AS {alias}",
                parent.qualified,
                key = crate::db::quote_ident(&parent_column.name),
            ));
            Ok(Some(format!(
                "{alias}.keys[1 + {ROW} % cardinality({alias}.keys)]"
            )))
        }
        State::Held => empty(format!(
            "the columns of {} reference rows of {} the seed did not make",
            column.name, parent.name
        )),
        State::Empty => empty(format!(
            "the column {} references {}, which the seed could not fill",
            column.name, parent.name
        )),
    }
}

/// A value for `column` of `table` at row `row` when nothing references another table:
/// `None` keeps the column's default; `Err` says why no value fits.
fn own_value(
    table: &Table,
    column: &Column,
    row: &str,
    tables: &HashMap<u32, Table>,
    depth: usize,
) -> Result<Option<String>, String> {
    // A parent's key that is itself a foreign key is its own parent's value.
    if depth > 0
        && depth < 8
        && let Some(fk) = table
            .foreign_keys
            .iter()
            .find(|fk| fk.columns.contains(&column.num))
        && let Some(parent) = tables.get(&fk.parent)
        && let Some(position) = fk.columns.iter().position(|num| *num == column.num)
        && let Some(parent_column) = parent.column(fk.parent_columns[position])
        && parent.oid != table.oid
    {
        return own_value(parent, parent_column, row, tables, depth + 1);
    }
    let key = table.keys.contains(&column.num);
    if !key && column.has_default {
        return Ok(None);
    }
    if !key && let Some(listed) = checked_list(table, column) {
        return Ok(Some(format!(
            "({listed})[1 + {row} % cardinality({listed})]::{}",
            column.type_name
        )));
    }
    let checked = table.checks.iter().any(|(num, _)| *num == column.num);
    let row = if !key && checked && column.category == 'N' {
        // A range CHECK (a rating from 1 to 5, a positive amount) takes small numbers.
        format!("(1 + {row} % 2)")
    } else {
        row.to_string()
    };
    match synthetic(column, &row) {
        Some(value) => Ok(Some(value)),
        None if !column.not_null => Ok(Some("NULL".to_string())),
        None => Err(format!(
            "the column {} of type {} takes no synthetic value",
            column.name, column.type_name
        )),
    }
}

/// The list a one-column CHECK holds `column` to (`col = ANY (ARRAY['a'::text, …])`, as
/// Postgres prints `col IN ('a', …)`), when it is a list of plain literals.
fn checked_list(table: &Table, column: &Column) -> Option<String> {
    table
        .checks
        .iter()
        .filter(|(num, _)| *num == column.num)
        .find_map(|(_, definition)| {
            let start = definition.find("ARRAY[")?;
            // `col IN (…)`, never `col NOT IN (…)` (`<> ALL`).
            let before = definition[..start].trim_end_matches(['(', ' ']);
            if !before.ends_with("= ANY") {
                return None;
            }
            let end = start + definition[start..].find(']')?;
            let list = &definition[start..=end];
            // Only literals: the seed evaluates nothing the project wrote.
            literals_only(&list["ARRAY[".len()..list.len() - 1]).then(|| list.to_string())
        })
}

/// Whether `items` is a comma-separated list of quoted literals, each with casts.
fn literals_only(items: &str) -> bool {
    let mut rest = items.trim();
    if rest.is_empty() {
        return false;
    }
    loop {
        let Some(after_quote) = rest.strip_prefix('\'') else {
            return false;
        };
        // The literal's end: a quote not doubled.
        let mut chars = after_quote.char_indices().peekable();
        let mut end = None;
        while let Some((index, c)) = chars.next() {
            if c == '\'' {
                if chars.peek().is_some_and(|(_, next)| *next == '\'') {
                    chars.next();
                } else {
                    end = Some(index);
                    break;
                }
            }
        }
        let Some(end) = end else { return false };
        rest = after_quote[end + 1..].trim_start();
        while let Some(cast) = rest.strip_prefix("::") {
            let name_end = cast
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ' ' || c == '"'))
                .unwrap_or(cast.len());
            rest = cast[name_end..].trim_start();
        }
        match rest.strip_prefix(',') {
            Some(next) => rest = next.trim_start(),
            None => return rest.is_empty(),
        }
    }
}

/// A value of `column`'s type for row `row`, distinct for distinct rows where the type
/// allows; `None` for a type with no synthetic value.
fn synthetic(column: &Column, row: &str) -> Option<String> {
    let base = column.base_type.as_str();
    let value = match column.category {
        'N' if base == "smallint" => format!("{row} % 32767"),
        'N' => row.to_string(),
        'S' if column.name.to_lowercase().contains("email") => {
            format!("'user' || {row} || '@example.com'")
        }
        'S' => format!("'row ' || {row}"),
        'B' => format!("{row} % 2 = 0"),
        'D' => format!("timestamp '2024-01-01' + {row} * interval '1 second'"),
        'T' => format!("{row} * interval '1 second'"),
        'E' => {
            format!("(enum_range(NULL::{base}))[1 + {row} % cardinality(enum_range(NULL::{base}))]")
        }
        'A' => "'{}'".to_string(),
        'I' if base == "inet" => format!("'10.0.0.0'::inet + {row}"),
        'U' => match base {
            "uuid" => format!("md5({row}::text)::uuid"),
            "json" | "jsonb" => format!("json_build_object('n', {row})"),
            "bytea" => format!("decode(md5({row}::text), 'hex')"),
            "tsvector" => format!("to_tsvector('simple', 'row ' || {row})"),
            _ => return None,
        },
        _ => return None,
    };
    Some(format!("({value})::{}", column.type_name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_lists_of_literals_are_taken_from_a_check() {
        assert!(literals_only("'a'::text, 'b''c'::text"));
        assert!(literals_only("'draft'::character varying"));
        assert!(!literals_only("'a'::text, now()::text"));
        assert!(!literals_only("f()"));
        assert!(!literals_only("'a', 'b' || pg_sleep(1)"));
        assert!(!literals_only(""));
    }
}
