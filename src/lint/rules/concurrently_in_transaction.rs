//! `concurrently-in-transaction`: `CREATE INDEX CONCURRENTLY`, `DROP INDEX CONCURRENTLY`,
//! `REINDEX … CONCURRENTLY` or `ALTER TABLE … DETACH PARTITION … CONCURRENTLY` where it
//! fails or where a failure can leave it behind.
//!
//! Why, and what to write instead: docs/rules/concurrently-in-transaction.md.

use crate::findings::Severity;
use crate::findings::registry;
use sqlparser::ast::{AlterTableOperation, DetachPartitionMode, Statement};

use crate::lint::rule::{Diagnostic, FileContext, RuleDef, Sequence};
use crate::sql::classify::TxRole;
use crate::sql::statement::ParsedStatement;

use super::require_concurrent_index::STANDALONE_HELP;
use super::support::{head_through, position};

pub const RULE: RuleDef = RuleDef::sequence(registry::CONCURRENTLY_IN_TRANSACTION, || {
    Box::<Concurrently>::default()
});

#[derive(Default)]
struct Concurrently {
    /// Inside the file's own BEGIN … COMMIT.
    in_block: bool,
    /// Statements that run on their own, found before anything that can fail: they
    /// matter once a later statement can.
    left_behind: Vec<Diagnostic>,
}

impl Sequence for Concurrently {
    fn statement(
        &mut self,
        _context: &FileContext<'_>,
        statement: &ParsedStatement,
        out: &mut Vec<Diagnostic>,
    ) {
        if can_fail(statement) {
            out.append(&mut self.left_behind);
        }
        match statement.tx_role {
            TxRole::Begin => self.in_block = true,
            TxRole::Commit | TxRole::Abort => self.in_block = false,
            _ => {}
        }
        let Some(what) = concurrently(statement) else {
            return;
        };
        let span = head_through(statement, &["CONCURRENTLY"], statement.tokens.len());
        if self.in_block {
            out.push(
                Diagnostic::new(
                    span,
                    format!(
                        "{what} cannot run inside a transaction block (Postgres fails with 25001), and this file's own BEGIN opens one around it"
                    ),
                )
                .help(STANDALONE_HELP),
            );
        } else {
            self.left_behind.push(
                Diagnostic::new(
                    span,
                    format!(
                        "the Supabase CLI runs {what} on its own, outside the file's transaction: if a later statement of this file fails, the rest rolls back but this stays, the version is not recorded, and the next push fails on what it left"
                    ),
                )
                .severity(Severity::Warning)
                .help("put it last in the file, or in a migration of its own; with IF NOT EXISTS a retry skips an index that was built (drop an invalid one first)"),
            );
        }
    }
}

fn can_fail(statement: &ParsedStatement) -> bool {
    !matches!(statement.tx_role, TxRole::Begin | TxRole::Commit)
        && !statement.starts_with(&["SET"])
        && !statement.starts_with(&["RESET"])
}

/// What the statement is, when it is one of the `CONCURRENTLY` forms.
pub(super) fn concurrently(statement: &ParsedStatement) -> Option<&'static str> {
    match statement.ast.as_deref() {
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
