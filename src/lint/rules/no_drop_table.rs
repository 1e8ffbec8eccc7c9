//! `no-drop-table`: a migration drops a table that may hold data.
//!
//! Why, and what to write instead: docs/rules/no-drop-table.md.

use crate::findings::registry;
use crate::sql::names::table_key;
use sqlparser::ast::{ObjectType, Statement};

use crate::lint::rule::{Diagnostic, FileContext, RuleDef};
use crate::sql::statement::ParsedStatement;

pub const RULE: RuleDef = RuleDef::new(registry::NO_DROP_TABLE, check);

fn check(context: &FileContext<'_>, statement: &ParsedStatement, out: &mut Vec<Diagnostic>) {
    let tables: Vec<String> = match statement.ast.as_deref() {
        Some(Statement::Drop {
            object_type: ObjectType::Table,
            names,
            ..
        }) => names.iter().map(table_key).collect(),
        // Unparsed: judge from the keywords, naming no table.
        None if statement.starts_with(&["DROP", "TABLE"]) => vec![String::new()],
        _ => return,
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
