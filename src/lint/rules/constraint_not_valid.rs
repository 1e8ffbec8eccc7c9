//! `constraint-not-valid`: `ALTER TABLE … ADD CONSTRAINT … CHECK` or `FOREIGN KEY`
//! without `NOT VALID` on a table that may hold data.
//!
//! Why, and what to write instead: docs/rules/constraint-not-valid.md.

use crate::findings::registry;
use crate::sql::names::{ident_key, name_at, table_key};
use sqlparser::ast::{AlterTableOperation, Statement, TableConstraint};

use crate::lint::rule::{Diagnostic, FileContext, RuleDef};
use crate::sql::statement::ParsedStatement;
use crate::sql::statement::Tok;

use crate::findings::span::Span;

use super::support::{action_through, added_constraint, alter_table, position};

pub const RULE: RuleDef = RuleDef::new(registry::CONSTRAINT_NOT_VALID, check);

/// The kind of constraint added.
enum Added {
    Check,
    ForeignKey { references: String },
}

fn check(context: &FileContext<'_>, statement: &ParsedStatement, out: &mut Vec<Diagnostic>) {
    let Some(alter) = alter_table(statement) else {
        return;
    };
    // (span, constraint kind, constraint name)
    let mut found: Vec<(Span, Added, Option<String>)> = Vec::new();
    let table = match statement.ast.as_deref() {
        Some(Statement::AlterTable(ast)) => {
            let count = ast.operations.len();
            for (index, operation) in ast.operations.iter().enumerate() {
                let AlterTableOperation::AddConstraint {
                    constraint,
                    not_valid: false,
                } = operation
                else {
                    continue;
                };
                let (added, name) = match constraint {
                    TableConstraint::Check(check) => (Added::Check, check.name.as_ref()),
                    TableConstraint::ForeignKey(key) => (
                        Added::ForeignKey {
                            references: table_key(&key.foreign_table),
                        },
                        key.name.as_ref(),
                    ),
                    _ => continue,
                };
                let span = alter
                    .action(index, count)
                    .and_then(|action| action_through(action, &["CHECK", "KEY"]))
                    .unwrap_or_else(|| statement.head());
                found.push((span, added, name.map(ident_key)));
            }
            table_key(&ast.name)
        }
        Some(_) => return,
        None => {
            for action in &alter.actions {
                if let Some((added, name)) = from_tokens(action)
                    && let Some(span) = action_through(action, &["CHECK", "KEY"])
                {
                    found.push((span, added, name));
                }
            }
            alter.table.clone()
        }
    };
    if !context.holds_data(&table, statement.index) {
        return;
    }
    for (span, added, name) in found {
        out.push(diagnostic(span, &table, added, name));
    }
}

/// `ADD [CONSTRAINT name] CHECK (…)` / `FOREIGN KEY (…) REFERENCES t` without `NOT VALID`.
fn from_tokens(action: &[Tok]) -> Option<(Added, Option<String>)> {
    let (name, kind) = added_constraint(action)?;
    if position(action, &["NOT", "VALID"]).is_some() {
        return None;
    }
    if kind.is_word("CHECK") {
        Some((Added::Check, name))
    } else if kind.is_word("FOREIGN") {
        let references = position(action, &["REFERENCES"])
            .and_then(|at| name_at(action, at + 1))
            .map_or_else(|| "the referenced table".to_string(), |(name, _)| name);
        Some((Added::ForeignKey { references }, name))
    } else {
        None
    }
}

fn diagnostic(span: Span, table: &str, added: Added, name: Option<String>) -> Diagnostic {
    let validate = match &name {
        Some(name) => format!("`ALTER TABLE {table} VALIDATE CONSTRAINT {name};`"),
        None => format!(
            "`ALTER TABLE {table} VALIDATE CONSTRAINT <name>;` (name the constraint: ADD CONSTRAINT <name> …)"
        ),
    };
    let help = format!(
        "add it with NOT VALID (only new rows are checked; instant), then {validate} in a later migration: validation takes a SHARE UPDATE EXCLUSIVE lock, so reads and writes go on"
    );
    let message = match added {
        Added::Check => format!(
            "adding this CHECK constraint scans every row of {table} while holding an ACCESS EXCLUSIVE lock: reads and writes wait until the scan is done"
        ),
        Added::ForeignKey { references } => format!(
            "adding this FOREIGN KEY scans every row of {table} while holding a SHARE ROW EXCLUSIVE lock on {table} and {references}: writes to both wait until the scan is done"
        ),
    };
    Diagnostic::new(span, message).help(help)
}

#[cfg(test)]
mod tests {
    use crate::lint::test_utils::{assert_ok, render_err};

    #[test]
    fn ok() {
        assert_ok(
            &super::RULE,
            include_str!("fixtures/constraint-not-valid/ok.sql"),
        );
    }

    #[test]
    fn err() {
        insta::assert_snapshot!(render_err(
            &super::RULE,
            include_str!("fixtures/constraint-not-valid/err.sql")
        ));
    }
}
