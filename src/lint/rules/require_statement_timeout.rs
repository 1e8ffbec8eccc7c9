//! `require-statement-timeout`: a statement that takes a strong lock on a table that may
//! hold data, with no `SET statement_timeout` before it in the file.
//!
//! **Why.** The statements [`require-lock-timeout`](super::require_lock_timeout) lists
//! hold their ACCESS EXCLUSIVE, SHARE or SHARE ROW EXCLUSIVE lock for as long as they
//! run: a table rewrite, an index build or a validation scan on a large table blocks the
//! application for minutes, and nothing stops it. (The timeout counts the wait for the
//! lock too.)
//!
//! **Instead.** Put `SET statement_timeout = '…';` (a bound the application can live
//! with) at the top of the file: a statement that runs longer is cancelled, the
//! transaction rolls back and the lock is released. One `SET` covers every statement
//! after it, so the rule reports only the first statement of a file. Tables the same file
//! creates are empty and nobody uses them yet: not reported.

use crate::lint::{Diagnostic, FileContext};
use crate::report::Severity;

use super::RuleDef;
use super::require_lock_timeout::first_unguarded;

pub const RULE: RuleDef = RuleDef {
    id: "require-statement-timeout",
    severity: Severity::Warning,
    summary: "a strong lock on a table that holds data, with no SET statement_timeout before it",
    check,
};

fn check(context: &FileContext<'_>, out: &mut Vec<Diagnostic>) {
    let Some(lock) = first_unguarded(context, "statement_timeout") else {
        return;
    };
    out.push(
        Diagnostic::new(
            lock.span,
            format!(
                "{} takes {} lock on {}, and no statement_timeout is set before it in this file: nothing bounds how long it waits for the lock and then runs holding it, blocking {}",
                lock.what,
                lock.mode_phrase(),
                lock.target,
                lock.blocked()
            ),
        )
        .help("put `SET statement_timeout = '60s';` (a bound the application can live with) at the top of the file: one SET covers every statement after it, and a statement that waits or runs longer is cancelled and releases its lock"),
    );
}

#[cfg(test)]
mod tests {
    use crate::lint::test_utils::{assert_ok, render_err};

    #[test]
    fn ok() {
        assert_ok(
            &super::RULE,
            include_str!("fixtures/require-statement-timeout/ok.sql"),
        );
    }

    #[test]
    fn err() {
        insta::assert_snapshot!(render_err(
            &super::RULE,
            include_str!("fixtures/require-statement-timeout/err.sql")
        ));
    }
}
