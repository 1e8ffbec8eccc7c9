//! `require-transaction`: what breaks a file's atomicity where the deploy wraps each file
//! in a transaction, as the Supabase CLI does: a `COMMIT` (or `ROLLBACK`) before the
//! file's end, or a statement that cannot run in a transaction (`VACUUM`, `ALTER SYSTEM`,
//! …) beside statements that must be atomic.
//!
//! Why, and what to write instead: docs/rules/require-transaction.md.

use crate::findings::registry;
use crate::lint::rule::{Diagnostic, FileContext, RuleDef};
use crate::sql::classify::TxRole;
use crate::sql::statement::ParsedStatement;

use super::concurrently_in_transaction::concurrently;

pub const RULE: RuleDef = RuleDef::new(registry::REQUIRE_TRANSACTION, check);

fn check(context: &FileContext<'_>, statement: &ParsedStatement, out: &mut Vec<Diagnostic>) {
    match statement.tx_role {
        TxRole::Commit | TxRole::Abort if !context.is_last(statement) => out.push(
            Diagnostic::new(
                statement.head(),
                "this ends the transaction the Supabase CLI runs the file in, before the file's end: the statements after it run one by one, and if one fails the file is half applied and its version never recorded, so the next push fails on what already exists",
            )
            .help("split the file here into two migrations (each runs as one transaction), or remove the inner COMMIT"),
        ),
        TxRole::NoTransaction
            if context.statement_count() > 1 && concurrently(statement).is_none() =>
        {
            out.push(
                Diagnostic::new(
                    statement.head(),
                    "this cannot run inside a transaction: the Supabase CLI runs it on its own between the file's other statements, so the file is no longer all or nothing (older CLIs fail it with 25001)",
                )
                .help("put it in a migration file of its own"),
            )
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use crate::lint::test_utils::{assert_ok, render_err};

    #[test]
    fn ok() {
        assert_ok(
            &super::RULE,
            include_str!("fixtures/require-transaction/ok.sql"),
        );
    }

    #[test]
    fn err() {
        insta::assert_snapshot!(render_err(
            &super::RULE,
            include_str!("fixtures/require-transaction/err.sql")
        ));
    }
}
