//! `validate-in-same-transaction`: `ALTER TABLE … ADD CONSTRAINT name … NOT VALID` and,
//! later in the same file, `VALIDATE CONSTRAINT name`.
//!
//! Why, and what to write instead: docs/rules/validate-in-same-transaction.md.

use crate::findings::registry;
use crate::sql::names::{ident_key, name_at, table_key, word_key};
use sqlparser::ast::{AlterTableOperation, Statement, TableConstraint};

use crate::lint::rule::{Diagnostic, FileContext, RuleDef, Sequence};
use crate::sql::classify::TxRole;
use crate::sql::statement::{ParsedStatement, Tok};

use crate::findings::span::Span;

use super::support::{AlterTable, alter_table, line_of, position, span_of};

pub const RULE: RuleDef = RuleDef::sequence(registry::VALIDATE_IN_SAME_TRANSACTION, || {
    Box::<NotValidAdded>::default()
});

/// A constraint named in an action: its key (like [`ident_key`]) and its name as written.
struct Named {
    key: String,
    shown: String,
}

/// What an action of an `ALTER TABLE` does to a constraint.
enum Step {
    /// `ADD CONSTRAINT name … NOT VALID`; for a foreign key, the referenced table.
    AddNotValid {
        name: Named,
        references: Option<String>,
        span: Span,
    },
    /// `VALIDATE CONSTRAINT name`.
    Validate { name: Named, span: Span },
}

/// A constraint added `NOT VALID` earlier in the transaction.
struct Pending {
    table: String,
    key: String,
    references: Option<String>,
    line: usize,
    holds_data: bool,
}

#[derive(Default)]
/// Constraints added NOT VALID in the transaction so far and not validated yet.
struct NotValidAdded {
    pending: Vec<Pending>,
}

impl Sequence for NotValidAdded {
    fn statement(
        &mut self,
        context: &FileContext<'_>,
        statement: &ParsedStatement,
        out: &mut Vec<Diagnostic>,
    ) {
        // The transaction ends here (the CLI also ends its batch before a statement it
        // runs on its own): the ADD's lock is released.
        if matches!(
            statement.tx_role,
            TxRole::Commit | TxRole::Abort | TxRole::NoTransaction
        ) {
            self.pending.clear();
            return;
        }
        let Some(alter) = alter_table(statement) else {
            return;
        };
        let Some((table, steps)) = steps(statement, &alter) else {
            return;
        };
        for step in steps {
            match step {
                Step::AddNotValid {
                    name,
                    references,
                    span,
                } => self.pending.push(Pending {
                    table: table.clone(),
                    key: name.key,
                    references,
                    line: line_of(context.source(), span.start),
                    holds_data: context.holds_data(&table, statement.index),
                }),
                Step::Validate { name, span } => {
                    let Some(at) = self
                        .pending
                        .iter()
                        .position(|added| added.table == table && added.key == name.key)
                    else {
                        continue;
                    };
                    let added = self.pending.remove(at);
                    if added.holds_data {
                        out.push(diagnostic(span, &table, &name.shown, &added));
                    }
                }
            }
        }
    }
}

fn diagnostic(span: Span, table: &str, name: &str, added: &Pending) -> Diagnostic {
    let line = added.line;
    let held = match &added.references {
        Some(references) => format!(
            "the ADD's SHARE ROW EXCLUSIVE locks on {table} and {references} are still held, so writes to both wait"
        ),
        None => format!(
            "the ADD's ACCESS EXCLUSIVE lock on {table} is still held, so reads and writes wait"
        ),
    };
    Diagnostic::new(
        span,
        format!(
            "{name} was added NOT VALID on line {line} of this file, which the Supabase CLI runs as one transaction: this validation scans every row of {table} while {held} until the scan is done, as if NOT VALID were not there"
        ),
    )
    .help(format!(
        "validate it in a later migration: `ALTER TABLE {table} VALIDATE CONSTRAINT {name};` in its own transaction takes only a SHARE UPDATE EXCLUSIVE lock, so reads and writes go on while it scans"
    ))
}

/// The table an `ALTER TABLE` changes, and what its actions do to constraints, in order.
fn steps(statement: &ParsedStatement, alter: &AlterTable<'_>) -> Option<(String, Vec<Step>)> {
    match statement.ast.as_deref() {
        Some(Statement::AlterTable(ast)) => {
            let count = ast.operations.len();
            let span = |index: usize| {
                alter
                    .action(index, count)
                    .and_then(span_of)
                    .unwrap_or_else(|| statement.head())
            };
            let steps = ast
                .operations
                .iter()
                .enumerate()
                .filter_map(|(index, operation)| match operation {
                    AlterTableOperation::AddConstraint {
                        constraint,
                        not_valid: true,
                    } => {
                        let (name, references) = match constraint {
                            TableConstraint::Check(check) => (check.name.as_ref()?, None),
                            TableConstraint::ForeignKey(key) => {
                                (key.name.as_ref()?, Some(table_key(&key.foreign_table)))
                            }
                            _ => return None,
                        };
                        Some(Step::AddNotValid {
                            name: Named {
                                key: ident_key(name),
                                shown: name.to_string(),
                            },
                            references,
                            span: span(index),
                        })
                    }
                    AlterTableOperation::ValidateConstraint { name } => Some(Step::Validate {
                        name: Named {
                            key: ident_key(name),
                            shown: name.to_string(),
                        },
                        span: span(index),
                    }),
                    _ => None,
                })
                .collect();
            Some((table_key(&ast.name), steps))
        }
        Some(_) => None,
        None => Some((
            alter.table.clone(),
            alter
                .actions
                .iter()
                .filter_map(|a| from_tokens(a))
                .collect(),
        )),
    }
}

/// `ADD CONSTRAINT name … NOT VALID` or `VALIDATE CONSTRAINT name` from the tokens.
fn from_tokens(action: &[Tok]) -> Option<Step> {
    let first = action.first()?;
    if !action.get(1)?.is_word("CONSTRAINT") {
        return None;
    }
    let named = action.get(2).and_then(|token| {
        Some(Named {
            key: word_key(token)?,
            shown: token.token.to_string(),
        })
    })?;
    let span = span_of(action)?;
    if first.is_word("VALIDATE") {
        return Some(Step::Validate { name: named, span });
    }
    if !first.is_word("ADD") || position(action, &["NOT", "VALID"]).is_none() {
        return None;
    }
    let references = action
        .get(3)
        .filter(|kind| kind.is_word("FOREIGN"))
        .map(|_| {
            position(action, &["REFERENCES"])
                .and_then(|at| name_at(action, at + 1))
                .map_or_else(|| "the referenced table".to_string(), |(name, _)| name)
        });
    Some(Step::AddNotValid {
        name: named,
        references,
        span,
    })
}

#[cfg(test)]
mod tests {
    use crate::lint::test_utils::{assert_ok, render_err};

    #[test]
    fn ok() {
        assert_ok(
            &super::RULE,
            include_str!("fixtures/validate-in-same-transaction/ok.sql"),
        );
    }

    #[test]
    fn err() {
        insta::assert_snapshot!(render_err(
            &super::RULE,
            include_str!("fixtures/validate-in-same-transaction/err.sql")
        ));
    }
}
