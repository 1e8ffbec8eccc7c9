//! `concurrently-in-transaction`: `CREATE INDEX CONCURRENTLY`, `DROP INDEX CONCURRENTLY`,
//! `REINDEX … CONCURRENTLY` or `ALTER TABLE … DETACH PARTITION … CONCURRENTLY` in a file
//! that also has other statements or wraps itself in `BEGIN … COMMIT`.
//!
//! **Why.** Postgres refuses these inside a transaction block (SQLSTATE 25001, "… cannot
//! run inside a transaction block"), and the Supabase CLI runs each migration file as one
//! transaction: the migration fails, on every environment, as soon as it is pushed.
//!
//! **Instead.** Put the statement alone in its own migration file, without
//! `BEGIN`/`COMMIT` (and without a `SET` before it: that is another statement of the
//! same transaction). A file holding nothing else is not reported.

use sqlparser::ast::{AlterTableOperation, DetachPartitionMode, Statement};

use crate::lint::statement::ParsedStatement;
use crate::lint::{Diagnostic, FileContext};
use crate::report::Severity;

use super::RuleDef;
use super::require_concurrent_index::STANDALONE_HELP;
use super::support::{head_through, position};

pub const RULE: RuleDef = RuleDef {
    id: "concurrently-in-transaction",
    severity: Severity::Error,
    summary: "CONCURRENTLY in a file that runs as one transaction with other statements",
    check,
};

fn check(context: &FileContext<'_>, out: &mut Vec<Diagnostic>) {
    let count = context.statements.len();
    let wrapped = context.wrapped_in_transaction();
    if count < 2 && !wrapped {
        return;
    }
    for statement in &context.statements {
        let Some(what) = concurrently(statement) else {
            continue;
        };
        let reason = if wrapped {
            "this file wraps it in BEGIN … COMMIT".to_string()
        } else {
            let others = count - 1;
            let plural = if others == 1 { "" } else { "s" };
            format!(
                "the Supabase CLI runs this file, with its {others} other statement{plural}, as one transaction"
            )
        };
        out.push(
            Diagnostic::new(
                head_through(statement, &["CONCURRENTLY"], statement.tokens.len()),
                format!(
                    "{what} cannot run inside a transaction block (Postgres fails with 25001): {reason}"
                ),
            )
            .help(STANDALONE_HELP),
        );
    }
}

/// What the statement is, when it is one of the `CONCURRENTLY` forms.
fn concurrently(statement: &ParsedStatement) -> Option<&'static str> {
    match &statement.ast {
        Some(Statement::CreateIndex(index)) => {
            index.concurrently.then_some("CREATE INDEX CONCURRENTLY")
        }
        Some(Statement::AlterTable(alter)) => alter
            .operations
            .iter()
            .any(|operation| {
                matches!(
                    operation,
                    AlterTableOperation::DetachPartitionOf {
                        mode: Some(DetachPartitionMode::Concurrently),
                        ..
                    }
                )
            })
            .then_some("ALTER TABLE … DETACH PARTITION … CONCURRENTLY"),
        Some(_) => None,
        None => {
            let head = &statement.tokens[..statement.tokens.len().min(6)];
            let index_concurrently = position(head, &["INDEX", "CONCURRENTLY"]).is_some();
            if statement.starts_with(&["CREATE"]) && index_concurrently {
                Some("CREATE INDEX CONCURRENTLY")
            } else if statement.starts_with(&["DROP", "INDEX"]) && index_concurrently {
                Some("DROP INDEX CONCURRENTLY")
            } else if statement.starts_with(&["REINDEX"]) && statement.has_word("CONCURRENTLY") {
                Some("REINDEX CONCURRENTLY")
            } else if statement.starts_with(&["ALTER", "TABLE"])
                && statement.find(&["DETACH", "PARTITION"]).is_some()
                && statement.has_word("CONCURRENTLY")
            {
                Some("ALTER TABLE … DETACH PARTITION … CONCURRENTLY")
            } else {
                None
            }
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
            include_str!("fixtures/concurrently-in-transaction/ok.sql"),
        );
    }

    #[test]
    fn err() {
        insta::assert_snapshot!(render_err(
            &super::RULE,
            include_str!("fixtures/concurrently-in-transaction/err.sql")
        ));
    }
}
