//! `require-transaction`: what breaks a file's atomicity where the deploy wraps each file
//! in a transaction, as the Supabase CLI does: a `COMMIT` (or `ROLLBACK`) before the
//! file's end, or a statement that cannot run in a transaction (`VACUUM`, `ALTER SYSTEM`,
//! …) beside statements that must be atomic.
//!
//! **Why.** The CLI runs each file as one transaction and records its version in the same
//! transaction. A `COMMIT` in the middle ends that transaction early: what follows runs
//! statement by statement, and a failure there leaves the file half applied with no
//! history row, so the next push fails on what already exists (supabase/cli#5047). A
//! statement that cannot run in a transaction is run on its own between two batches by
//! current CLIs (2.109 and later): the file works, but it is no longer all or nothing.
//!
//! **Instead.** Nothing, for a plain file: the CLI wraps it (a file without `BEGIN` /
//! `COMMIT` is fine, and one wrapped in its own `BEGIN … COMMIT` is too). Split a file
//! at its inner `COMMIT` into two migrations, and put a non-transactional statement in a
//! migration of its own. The `CONCURRENTLY` forms have their own rule,
//! `concurrently-in-transaction`.

use crate::findings::registry;
use crate::lint::rule::{Diagnostic, FileContext, RuleDef};
use crate::sql::classify::TxRole;

use super::concurrently_in_transaction::concurrently;

pub const RULE: RuleDef = RuleDef::new(registry::REQUIRE_TRANSACTION, check);

fn check(context: &FileContext<'_>, out: &mut Vec<Diagnostic>) {
    let count = context.statements.len();
    for (i, statement) in context.statements.iter().enumerate() {
        let last = i + 1 == count;
        match statement.tx_role {
            TxRole::Commit | TxRole::Abort if !last => out.push(
                Diagnostic::new(
                    statement.head(),
                    "this ends the transaction the Supabase CLI runs the file in, before the file's end: the statements after it run one by one, and if one fails the file is half applied and its version never recorded, so the next push fails on what already exists",
                )
                .help("split the file here into two migrations (each runs as one transaction), or remove the inner COMMIT"),
            ),
            TxRole::NoTransaction if count > 1 && concurrently(statement).is_none() => out.push(
                Diagnostic::new(
                    statement.head(),
                    "this cannot run inside a transaction: the Supabase CLI runs it on its own between the file's other statements, so the file is no longer all or nothing (older CLIs fail it with 25001)",
                )
                .help("put it in a migration file of its own"),
            ),
            _ => {}
        }
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
