//! `no-drop-schema`: a migration drops a schema or a database.
//!
//! Why, and what to write instead: docs/rules/no-drop-schema.md.

use crate::findings::registry;
use crate::sql::names::{name_parts, object_name};
use sqlparser::ast::{ObjectName, ObjectType, SchemaName, Statement};

use crate::lint::rule::{Diagnostic, FileContext, RuleDef, Sequence};
use crate::sql::statement::ParsedStatement;

pub const RULE: RuleDef = RuleDef::sequence(registry::NO_DROP_SCHEMA, || {
    Box::<CreatedSchemas>::default()
});

#[derive(Default)]
struct CreatedSchemas {
    /// Schemas this file created so far: dropping them again loses nothing.
    created: Vec<String>,
}

impl Sequence for CreatedSchemas {
    fn statement(
        &mut self,
        _context: &FileContext<'_>,
        statement: &ParsedStatement,
        out: &mut Vec<Diagnostic>,
    ) {
        let (database, mut names, cascade): (bool, Vec<ObjectName>, bool) =
            match statement.ast.as_deref() {
                Some(Statement::CreateSchema {
                    schema_name: SchemaName::Simple(name) | SchemaName::NamedAuthorization(name, _),
                    ..
                }) => {
                    self.created.push(name_key(name));
                    return;
                }
                Some(Statement::Drop {
                    object_type: object_type @ (ObjectType::Schema | ObjectType::Database),
                    names,
                    cascade,
                    ..
                }) => (
                    *object_type == ObjectType::Database,
                    names.clone(),
                    *cascade,
                ),
                // Unparsed (`DROP DATABASE … WITH (FORCE)`): judge from the keywords.
                None if statement.starts_with(&["DROP", "SCHEMA"])
                    || statement.starts_with(&["DROP", "DATABASE"]) =>
                {
                    let mut at = 2;
                    if statement.starts_with(&["DROP", "SCHEMA", "IF", "EXISTS"])
                        || statement.starts_with(&["DROP", "DATABASE", "IF", "EXISTS"])
                    {
                        at += 2;
                    }
                    let names = object_name(&statement.tokens, at)
                        .map(|(name, _)| vec![name])
                        .unwrap_or_default();
                    (
                        statement.starts_with(&["DROP", "DATABASE"]),
                        names,
                        statement.has_word("CASCADE"),
                    )
                }
                _ => return,
            };
        if names.is_empty() {
            names.push(ObjectName(Vec::new()));
        }
        for name in names {
            let key = name_key(&name);
            let name = name.to_string();
            let message = if database {
                let what = if name.is_empty() {
                    "a database".to_string()
                } else {
                    format!("database {name}")
                };
                format!(
                    "dropping {what} deletes all of its data for good; a migration must never do this (and DROP DATABASE cannot run inside the migration's transaction)"
                )
            } else {
                if self.created.contains(&key) {
                    continue;
                }
                let what = if name.is_empty() {
                    "a schema".to_string()
                } else {
                    format!("schema {name}")
                };
                if cascade {
                    format!(
                        "dropping {what} with CASCADE drops every table in it with its rows, and every view, function and policy in it or depending on it"
                    )
                } else {
                    format!(
                        "dropping {what} breaks every client using it, and fails if it still holds any object"
                    )
                }
            };
            let help = if database {
                "remove this statement: databases are created and dropped outside migrations"
            } else {
                "drop the objects one by one once nothing uses them; if the schema must go, drop it in a migration of its own, with `-- migration-guard: allow no-drop-schema -- <why>`"
            };
            out.push(Diagnostic::new(statement.code_span(), message).help(help));
        }
    }
}

/// A name as Postgres resolves it: unquoted parts folded to lower case.
fn name_key(name: &ObjectName) -> String {
    name_parts(name).join(".")
}

#[cfg(test)]
mod tests {
    use crate::lint::test_utils::{assert_ok, render_err};

    #[test]
    fn ok() {
        assert_ok(&super::RULE, include_str!("fixtures/no-drop-schema/ok.sql"));
    }

    #[test]
    fn err() {
        insta::assert_snapshot!(render_err(
            &super::RULE,
            include_str!("fixtures/no-drop-schema/err.sql")
        ));
    }
}
