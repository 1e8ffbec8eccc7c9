//! What the migrations so far have built, as far as the rules need it: the tables, and
//! for each its unique keys (column sets and constraint or index names).

use std::collections::{BTreeMap, BTreeSet};

use super::rules::support::{alter_table, table_after_on};
use crate::sql::names::{ident_key, table_key};
use crate::sql::statement::ParsedStatement;
use sqlparser::ast::{
    AlterTableOperation, ColumnOption, CreateIndex, CreateTable, ObjectNamePart, ObjectType,
    Statement, TableConstraint,
};

/// A table's unique keys.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Table {
    /// Column sets with a unique constraint or unique index (primary key included).
    pub unique_columns: BTreeSet<BTreeSet<String>>,
    /// Names of unique and primary-key constraints and of unique indexes.
    pub unique_names: BTreeSet<String>,
    /// Keys were added in a way this record cannot follow (an exclusion constraint, a
    /// statement sqlparser cannot read): rules must not judge its keys.
    pub opaque: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Schema {
    pub tables: BTreeMap<String, Table>,
}

impl Schema {
    /// Records what a statement sqlparser cannot read may do to a table's keys
    /// (`CREATE UNIQUE INDEX … ON t`, `ALTER TABLE t … UNIQUE / PRIMARY KEY / EXCLUDE`).
    pub fn apply_unparsed(&mut self, statement: &ParsedStatement) {
        if let Some(table) = may_add_key(statement).and_then(|key| self.tables.get_mut(&key)) {
            table.opaque = true;
        }
    }

    /// Records what `statement` creates, changes or drops.
    pub fn apply(&mut self, statement: &Statement) {
        match statement {
            Statement::CreateTable(create) => self.create_table(create),
            Statement::CreateIndex(index) => self.create_index(index),
            Statement::AlterTable(alter) => {
                let key = table_key(&alter.name);
                for operation in &alter.operations {
                    match operation {
                        AlterTableOperation::AddConstraint { constraint, .. } => {
                            if let Some(table) = self.tables.get_mut(&key) {
                                add_constraint(table, constraint);
                            }
                        }
                        AlterTableOperation::RenameTable { table_name } => {
                            if let Some(table) = self.tables.remove(&key) {
                                let renamed = match table_name {
                                    sqlparser::ast::RenameTableNameKind::As(name)
                                    | sqlparser::ast::RenameTableNameKind::To(name) => name,
                                };
                                let schema = key.split_once('.').map_or("public", |(s, _)| s);
                                let last = renamed.0.last().map(|p| match p {
                                    ObjectNamePart::Identifier(ident) => ident_key(ident),
                                    other => other.to_string(),
                                });
                                if let Some(last) = last {
                                    self.tables.insert(format!("{schema}.{last}"), table);
                                }
                            }
                        }
                        _ => {}
                    }
                }
            }
            Statement::Drop {
                object_type: ObjectType::Table,
                names,
                ..
            } => {
                for name in names {
                    self.tables.remove(&table_key(name));
                }
            }
            _ => {}
        }
    }

    fn create_table(&mut self, create: &CreateTable) {
        let mut table = Table::default();
        for column in &create.columns {
            let name = ident_key(&column.name);
            for option in &column.options {
                let is_unique = matches!(
                    option.option,
                    ColumnOption::Unique { .. } | ColumnOption::PrimaryKey { .. }
                );
                if is_unique {
                    table.unique_columns.insert(BTreeSet::from([name.clone()]));
                    if let Some(constraint) = &option.name {
                        table.unique_names.insert(ident_key(constraint));
                    }
                }
            }
        }
        for constraint in &create.constraints {
            add_constraint(&mut table, constraint);
        }
        let key = table_key(&create.name);
        if create.if_not_exists && self.tables.contains_key(&key) {
            return;
        }
        self.tables.insert(key, table);
    }

    fn create_index(&mut self, index: &CreateIndex) {
        if !index.unique || index.predicate.is_some() {
            return;
        }
        let Some(table) = self.tables.get_mut(&table_key(&index.table_name)) else {
            return;
        };
        let columns: Option<BTreeSet<String>> = index
            .columns
            .iter()
            .map(|column| match &column.column.expr {
                sqlparser::ast::Expr::Identifier(ident) => Some(ident_key(ident)),
                _ => None,
            })
            .collect();
        if let Some(columns) = columns {
            table.unique_columns.insert(columns);
        }
        if let Some(name) = &index.name {
            table.unique_names.insert(
                table_key(name)
                    .rsplit('.')
                    .next()
                    .unwrap_or_default()
                    .to_string(),
            );
        }
    }
}

fn add_constraint(table: &mut Table, constraint: &TableConstraint) {
    let (name, columns) = match constraint {
        TableConstraint::UniqueUsingIndex(using) | TableConstraint::PrimaryKeyUsingIndex(using) => {
            // The index (and its columns) is already known; the constraint adds its name.
            let name = using.name.as_ref().unwrap_or(&using.index_name);
            table.unique_names.insert(ident_key(name));
            return;
        }
        TableConstraint::Exclude(_) => {
            table.opaque = true;
            return;
        }
        TableConstraint::Unique(unique) => (
            unique.name.as_ref(),
            unique
                .columns
                .iter()
                .map(|c| c.column.expr.to_string())
                .collect::<Vec<_>>(),
        ),
        TableConstraint::PrimaryKey(key) => (
            key.name.as_ref(),
            key.columns
                .iter()
                .map(|c| c.column.expr.to_string())
                .collect(),
        ),
        _ => return,
    };
    if let Some(name) = name {
        table.unique_names.insert(ident_key(name));
    }
    let columns: BTreeSet<String> = columns
        .into_iter()
        .map(|column| {
            if column.starts_with('"') {
                column.trim_matches('"').to_string()
            } else {
                column.to_lowercase()
            }
        })
        .collect();
    if !columns.is_empty() {
        table.unique_columns.insert(columns);
    }
}

/// The table an unparsed statement may give a unique key.
fn may_add_key(statement: &ParsedStatement) -> Option<String> {
    if statement.starts_with(&["CREATE", "UNIQUE", "INDEX"]) {
        return table_after_on(&statement.tokens);
    }
    let alter = alter_table(statement)?;
    let adds_key = ["UNIQUE", "PRIMARY", "EXCLUDE"]
        .iter()
        .any(|word| statement.has_word(word));
    adds_key.then_some(alter.table)
}
