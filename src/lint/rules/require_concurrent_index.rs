//! `require-concurrent-index`: `CREATE INDEX` without `CONCURRENTLY` on a table that may
//! hold data.
//!
//! Why, and what to write instead: docs/rules/require-concurrent-index.md.

use crate::findings::registry;
use crate::sql::names::table_key;
use sqlparser::ast::Statement;

use crate::lint::rule::{Diagnostic, FileContext, RuleDef};
use crate::sql::statement::ParsedStatement;

pub const RULE: RuleDef = RuleDef::new(registry::REQUIRE_CONCURRENT_INDEX, check);

pub const STANDALONE_HELP: &str = "CONCURRENTLY cannot run in a transaction block: keep it out of BEGIN/COMMIT (the Supabase CLI runs it on its own, outside the file's transaction), last in its file or in a migration of its own";

fn check(context: &FileContext<'_>, statement: &ParsedStatement, out: &mut Vec<Diagnostic>) {
    let Some(Statement::CreateIndex(index)) = statement.ast.as_deref() else {
        return;
    };
    let table = table_key(&index.table_name);
    if index.concurrently || !context.holds_data(&table, statement.index) {
        return;
    }
    out.push(
        Diagnostic::new(
            statement.code_span(),
            format!(
                "building this index locks {table} against writes (SHARE lock) until it is done"
            ),
        )
        .help(format!(
            "use CREATE INDEX CONCURRENTLY IF NOT EXISTS; {STANDALONE_HELP}"
        )),
    );
}

#[cfg(test)]
mod tests {
    use crate::lint::test_utils::{assert_ok, render_err};

    #[test]
    fn ok() {
        assert_ok(
            &super::RULE,
            include_str!("fixtures/require-concurrent-index/ok.sql"),
        );
    }

    #[test]
    fn err() {
        insta::assert_snapshot!(render_err(
            &super::RULE,
            include_str!("fixtures/require-concurrent-index/err.sql")
        ));
    }
}
