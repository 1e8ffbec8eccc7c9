//! `no-psql-meta`: a psql meta-command (`\i`, `\set`, `\connect`, …) in a migration.
//!
//! Why, and what to write instead: docs/rules/no-psql-meta.md.

use crate::findings::registry;
use crate::lint::rule::{Diagnostic, FileContext, RuleDef};

pub const RULE: RuleDef = RuleDef::file(registry::NO_PSQL_META, check);

fn check(context: &FileContext<'_>, out: &mut Vec<Diagnostic>) {
    for meta in &context.migration.split.meta_commands {
        out.push(
            Diagnostic::new(
                meta.span,
                format!(
                    "`{}` is a psql meta-command, not SQL: the Supabase CLI and the server reject it",
                    meta.name
                ),
            )
            .help("write the SQL itself in the migration (no \\i includes, \\set variables or \\connect)"),
        );
    }
}

#[cfg(test)]
mod tests {
    use crate::lint::test_utils::{assert_ok, render_err};

    #[test]
    fn ok() {
        assert_ok(&super::RULE, include_str!("fixtures/no-psql-meta/ok.sql"));
    }

    #[test]
    fn err() {
        insta::assert_snapshot!(render_err(
            &super::RULE,
            include_str!("fixtures/no-psql-meta/err.sql")
        ));
    }
}
