//! `not-null-on-existing-column`: `ALTER TABLE … ALTER COLUMN … SET NOT NULL` on a table
//! that may hold data.
//!
//! Why, and what to write instead: docs/rules/not-null-on-existing-column.md.

use crate::findings::registry;
use crate::sql::names::{ident_key, last_part, table_key, word_key};
use sqlparser::ast::{AlterColumnOperation, AlterTableOperation, Statement};

use crate::findings::span::Span;
use crate::lint::rule::{Diagnostic, FileContext, RuleDef, Sequence};
use crate::sql::statement::{ParsedStatement, Tok};

use super::support::{alter_table, altered_columns, position, span_of};

pub const RULE: RuleDef = RuleDef::sequence(registry::NOT_NULL_ON_EXISTING_COLUMN, || {
    Box::<NotNull>::default()
});

/// A SET NOT NULL on a table that may hold data, judged at the file's end: a later
/// statement may drop the check that spares its scan.
struct SetNotNull {
    span: Span,
    table: String,
    column: String,
    at: usize,
}

#[derive(Default)]
struct NotNull {
    found: Vec<SetNotNull>,
    steps: Vec<Step>,
}

impl Sequence for NotNull {
    fn statement(
        &mut self,
        context: &FileContext<'_>,
        statement: &ParsedStatement,
        _out: &mut Vec<Diagnostic>,
    ) {
        self.steps.extend(recipe_steps(statement));
        let Some((table, found)) = altered_columns(
            statement,
            |operation| match operation {
                AlterTableOperation::AlterColumn {
                    column_name,
                    op: AlterColumnOperation::SetNotNull,
                } => Some(ident_key(column_name)),
                _ => None,
            },
            span_of,
            from_tokens,
        ) else {
            return;
        };
        if !context.holds_data(&table, statement.index) {
            return;
        }
        self.found
            .extend(found.into_iter().map(|(span, column)| SetNotNull {
                span,
                table: table.clone(),
                column,
                at: statement.index,
            }));
    }

    fn finish(&mut self, _context: &FileContext<'_>, out: &mut Vec<Diagnostic>) {
        for SetNotNull {
            span,
            table,
            column,
            at,
        } in &self.found
        {
            let last_step = self.steps.iter().any(|step| {
                step.table == *table
                    && format!("_{}_", step.name).contains(&format!("_{column}_"))
                    && (step.drop || step.at <= *at)
            });
            if last_step {
                continue;
            }
            out.push(
                Diagnostic::new(
                    *span,
                    format!(
                        "SET NOT NULL scans every row of {table} for NULLs in {column} while holding an ACCESS EXCLUSIVE lock: reads and writes wait until the scan is done"
                    ),
                )
                .help(format!(
                    "`ALTER TABLE {table} ADD CONSTRAINT {check} CHECK ({column} IS NOT NULL) NOT VALID;` in one migration, `ALTER TABLE {table} VALIDATE CONSTRAINT {check};` in the next (reads and writes go on), then SET NOT NULL (Postgres 12+ uses the valid check and skips the scan) and drop the check",
                    check = format!("{}_{column}_not_null", last_part(table))
                )),
            );
        }
    }
}

/// `ALTER [COLUMN] col SET NOT NULL`.
fn from_tokens(action: &[Tok]) -> Option<String> {
    if !action.first()?.is_word("ALTER") || position(action, &["SET", "NOT", "NULL"]).is_none() {
        return None;
    }
    let at = if action.get(1)?.is_word("COLUMN") {
        2
    } else {
        1
    };
    word_key(action.get(at)?)
}

/// A constraint the file validates or drops: one of the recipe's later steps.
struct Step {
    table: String,
    name: String,
    /// Dropped (the recipe's last step) rather than validated.
    drop: bool,
    /// The statement's index.
    at: usize,
}

/// The constraints `statement` validates or drops.
fn recipe_steps(statement: &ParsedStatement) -> Vec<Step> {
    match statement.ast.as_deref() {
        Some(Statement::AlterTable(ast)) => {
            let table = table_key(&ast.name);
            ast.operations
                .iter()
                .filter_map(|operation| {
                    let (name, drop) = match operation {
                        AlterTableOperation::ValidateConstraint { name } => (name, false),
                        AlterTableOperation::DropConstraint { name, .. } => (name, true),
                        _ => return None,
                    };
                    Some(Step {
                        table: table.clone(),
                        name: ident_key(name),
                        drop,
                        at: statement.index,
                    })
                })
                .collect()
        }
        None => token_steps(statement),
        Some(_) => Vec::new(),
    }
}

fn token_steps(statement: &ParsedStatement) -> Vec<Step> {
    let Some(alter) = alter_table(statement) else {
        return Vec::new();
    };
    alter
        .actions
        .iter()
        .filter_map(|action| {
            let first = action.first()?;
            if !(first.is_word("VALIDATE") || first.is_word("DROP"))
                || !action.get(1)?.is_word("CONSTRAINT")
            {
                return None;
            }
            let at = if position(action, &["IF", "EXISTS"]) == Some(2) {
                4
            } else {
                2
            };
            let name = word_key(action.get(at)?)?;
            Some(Step {
                table: alter.table.clone(),
                name,
                drop: first.is_word("DROP"),
                at: statement.index,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use crate::lint::test_utils::{assert_ok, render_err};

    #[test]
    fn ok() {
        assert_ok(
            &super::RULE,
            include_str!("fixtures/not-null-on-existing-column/ok.sql"),
        );
    }

    #[test]
    fn err() {
        insta::assert_snapshot!(render_err(
            &super::RULE,
            include_str!("fixtures/not-null-on-existing-column/err.sql")
        ));
    }
}
