//! `require-transaction`: a migration file that is not wrapped in `BEGIN; … COMMIT;`.
//!
//! **Why.** The runbook asks every migration to be atomic. The Supabase CLI runs a file
//! in one transaction, but psql, the SQL editor and other tools do not: without the
//! wrapper a failure half way leaves a half-applied schema behind.
//!
//! **Instead.** Start the file with `BEGIN;` and end it with `COMMIT;`. A file whose
//! statements cannot run in a transaction (`CREATE INDEX CONCURRENTLY`, `VACUUM`, …) is
//! not reported: it must not be wrapped.

use crate::lint::{Diagnostic, FileContext};
use crate::migration::classify::TxRole;
use crate::report::Severity;

use super::RuleDef;

pub const RULE: RuleDef = RuleDef {
    id: "require-transaction",
    severity: Severity::Warning,
    summary: "a migration file not wrapped in BEGIN; … COMMIT;",
    check,
};

fn check(context: &FileContext<'_>, out: &mut Vec<Diagnostic>) {
    let Some(first) = context.statements.first() else {
        return;
    };
    let cannot = context
        .statements
        .iter()
        .any(|statement| statement.tx_role == TxRole::NoTransaction);
    if cannot || context.wrapped_in_transaction() {
        return;
    }
    out.push(
        Diagnostic::new(
            first.head(),
            "this migration is not wrapped in BEGIN; … COMMIT;: outside the Supabase CLI a failure half way leaves it half applied",
        )
        .help("start the file with BEGIN; and end it with COMMIT;"),
    );
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
