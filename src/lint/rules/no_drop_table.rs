//! `no-drop-table`: a migration drops a table that may hold data.
//!
//! **Why.** The runbook's policy is additive only: a dropped table's rows are gone for
//! good (a restore is the only way back), and every client, view, function or policy
//! still using it breaks the moment the migration runs.
//!
//! **Instead.** Stop reading and writing the table first and deploy that; keep the table
//! (renamed or not) until you are sure; when it must go, drop it in a migration of its
//! own, reviewed as such, with `-- migration-guard: allow no-drop-table -- <why>` above
//! the statement. Dropping a table the same file created is not reported.

use crate::findings::registry;
use crate::sql::names::table_key;
use sqlparser::ast::{ObjectType, Statement};

use crate::lint::rule::{Diagnostic, FileContext, RuleDef};

pub const RULE: RuleDef = RuleDef::new(registry::NO_DROP_TABLE, check);

fn check(context: &FileContext<'_>, out: &mut Vec<Diagnostic>) {
    for statement in &context.statements {
        let tables: Vec<String> = match &statement.ast {
            Some(Statement::Drop {
                object_type: ObjectType::Table,
                names,
                ..
            }) => names.iter().map(table_key).collect(),
            // Unparsed: judge from the keywords, naming no table.
            None if statement.starts_with(&["DROP", "TABLE"]) => vec![String::new()],
            _ => continue,
        };
        for table in tables {
            if !table.is_empty() && !context.holds_data(&table, statement.index) {
                continue;
            }
            let what = if table.is_empty() {
                "a table".to_string()
            } else {
                format!("table {table}")
            };
            out.push(
                Diagnostic::new(
                    statement.code_span(),
                    format!("dropping {what} deletes its rows for good and breaks every client still using it"),
                )
                .help("stop using the table and deploy that first; drop it later in a migration of its own, with `-- migration-guard: allow no-drop-table -- <why>`"),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::lint::test_utils::{assert_ok, render_err};

    #[test]
    fn ok() {
        assert_ok(&super::RULE, include_str!("fixtures/no-drop-table/ok.sql"));
    }

    #[test]
    fn err() {
        insta::assert_snapshot!(render_err(
            &super::RULE,
            include_str!("fixtures/no-drop-table/err.sql")
        ));
    }
}
