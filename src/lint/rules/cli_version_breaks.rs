//! `cli-version-breaks`: a file that the Supabase CLI release that deploys it would fail
//! to apply, because of how that release batches a file's statements.
//!
//! - 2.115.0 to 2.116.x send the statements as one extended-protocol pipeline that is no
//!   transaction block (supabase/cli#6347): `LOCK TABLE` fails with 25P01, and `SET
//!   LOCAL` sets nothing (Postgres warns and drops it), so the `lock_timeout` it was
//!   meant to put in force is not. A file with its own `BEGIN … COMMIT` runs as written.
//! - Before 2.109 every statement of the file runs in that pipeline: `CREATE INDEX
//!   CONCURRENTLY` and the other statements Postgres refuses in a transaction fail with
//!   25001 unless they are the file's only statement (supabase/cli#2898).
//!
//! The release is the one the action pins, or `supabase_cli_version` in
//! migration-guard.yml for a team that deploys with its own CLI.
//!
//! Why, and what to write instead: docs/rules/cli-version-breaks.md.

use crate::config::{CliVersion, PINNED_SUPABASE_CLI};
use crate::findings::Severity;
use crate::findings::registry;
use crate::lint::rule::{Diagnostic, FileContext, RuleDef};
use crate::sql::statement::ParsedStatement;

use super::concurrently_in_transaction::concurrently;

pub const RULE: RuleDef = RuleDef::new(registry::CLI_VERSION_BREAKS, check);

/// The releases that run a file as a bare pipeline.
const BARE_PIPELINE: std::ops::Range<CliVersion> = CliVersion(2, 115, 0)..CliVersion(2, 117, 0);
/// The first release that runs `CONCURRENTLY` statements on their own.
const STANDALONE_CONCURRENTLY: CliVersion = CliVersion(2, 109, 0);

fn check(context: &FileContext<'_>, statement: &ParsedStatement, out: &mut Vec<Diagnostic>) {
    let version = context.supabase_cli;
    let release = |does: &str| {
        format!(
            "deploy with a CLI release that {does} (the action pins {PINNED_SUPABASE_CLI}) and set `supabase_cli_version` in migration-guard.yml to it"
        )
    };
    if BARE_PIPELINE.contains(&version) && !context.authors_transactions() {
        let breaking = if statement.starts_with(&["LOCK"]) {
            Some((
                &["LOCK"][..],
                "LOCK TABLE fails with 25P01 \"LOCK TABLE can only be used in transaction blocks\"",
                Severity::Error,
            ))
        } else if statement.starts_with(&["SET", "LOCAL"]) {
            Some((
                &["SET", "LOCAL"][..],
                "SET LOCAL sets nothing there (Postgres warns and drops it), so what it sets is not in force for the statements after it",
                Severity::Warning,
            ))
        } else {
            None
        };
        if let Some((keywords, breaks, severity)) = breaking {
            out.push(
                Diagnostic::new(
                    statement.find(keywords).unwrap_or(statement.head()),
                    format!(
                        "Supabase CLI {version} sends this file's statements as a pipeline that is no transaction block: {breaks} (supabase/cli#6347)"
                    ),
                )
                .severity(severity)
                .help(format!(
                    "{}; or wrap the file in BEGIN; … COMMIT;, which that release runs as written",
                    release("has the fix")
                )),
            );
        }
    }
    if version < STANDALONE_CONCURRENTLY
        && context.statement_count() > 1
        && let Some(what) = concurrently(statement)
    {
        out.push(
            Diagnostic::new(
                statement.head(),
                format!(
                    "Supabase CLI {version} runs every statement of a file in one pipeline: {what} fails there with 25001 \"cannot be executed within a pipeline\" unless it is the file's only statement (supabase/cli#2898); 2.109 and later run it on its own"
                ),
            )
            .help(format!(
                "move it to a migration of its own, or {}",
                release("runs it on its own")
            )),
        );
    }
}

#[cfg(test)]
mod tests {
    use crate::lint::test_utils::{assert_ok, lint_fixture, render_err};

    #[test]
    fn ok() {
        assert_ok(
            &super::RULE,
            include_str!("fixtures/cli-version-breaks/ok.sql"),
        );
    }

    #[test]
    fn concurrently_beside_others_fails_before_2_109_and_not_after() {
        let fixture = |version: &str| {
            format!(
                "-- config: supabase_cli_version: \"{version}\"\n\
                 CREATE TABLE IF NOT EXISTS orders (id bigint PRIMARY KEY, status text);\n\
                 CREATE INDEX CONCURRENTLY IF NOT EXISTS orders_status_idx ON orders (status);\n"
            )
        };
        let (old, _) = lint_fixture(&super::RULE, &fixture("2.108.2"));
        assert_eq!(old.len(), 1, "{old:?}");
        assert!(
            old[0].message.starts_with(
                "Supabase CLI 2.108.2 runs every statement of a file in one pipeline: CREATE INDEX CONCURRENTLY fails there with 25001"
            ),
            "{}",
            old[0].message
        );
        let (new, _) = lint_fixture(&super::RULE, &fixture("2.109.0"));
        assert!(new.is_empty(), "{new:?}");
    }

    #[test]
    fn err() {
        insta::assert_snapshot!(render_err(
            &super::RULE,
            include_str!("fixtures/cli-version-breaks/err.sql")
        ));
    }
}
