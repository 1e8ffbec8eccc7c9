//! What the project hooks into the platform, and a migration can unhook without a word:
//! a trigger on a table of Supabase's own schemas (`auth.users`, `storage.objects`)
//! that calls the project's function, such as the one that makes a profile at sign-up;
//! and a table's membership of the `supabase_realtime` publication, which is what its
//! subscribers listen to. A generated diff drops them when the schema files forget
//! them (`supabase db diff` sees neither as the project's), and nothing fails: sign-ups
//! just stop making profiles, and clients stop getting changes.
//!
//! Both are read around each migration that can remove them: one that drops a trigger
//! on a platform table, a function with CASCADE, a schema, or changes a publication.

use std::collections::BTreeSet;

use crate::db::{Database, PgError};
use crate::findings::Finding;
use crate::findings::registry;
use crate::migration::MigrationFile;
use crate::sql::classify::leading_words;

/// The hooks: `trigger <table>.<name>` and `realtime <table>`.
const READ: &str = "
SELECT 'trigger ' || n.nspname || '.' || c.relname || '.' || t.tgname
FROM pg_catalog.pg_trigger t
JOIN pg_catalog.pg_class c ON c.oid = t.tgrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
JOIN pg_catalog.pg_proc p ON p.oid = t.tgfoid
JOIN pg_catalog.pg_namespace pn ON pn.oid = p.pronamespace
WHERE NOT t.tgisinternal
  AND n.nspname IN ('auth', 'storage', 'realtime')
  AND pn.nspname NOT IN ('auth', 'storage', 'realtime', 'extensions', 'pg_catalog')
UNION ALL
SELECT 'realtime ' || schemaname || '.' || tablename
FROM pg_catalog.pg_publication_tables
WHERE pubname = 'supabase_realtime'";

/// The hooks a database has.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Hooks(BTreeSet<String>);

pub async fn read(db: &Database) -> Result<Hooks, PgError> {
    let rows = db.client.query(READ, &[]).await?;
    Ok(Hooks(
        rows.iter()
            .map(|row| row.try_get::<_, String>(0))
            .collect::<Result<_, _>>()?,
    ))
}

/// Whether `migration` can unhook something: the hooks are read around it only then.
pub fn may_unhook(migration: &MigrationFile) -> bool {
    migration.code_statements().any(|(text, _)| unhooks(text))
}

/// A statement that can remove a hook: a DROP TRIGGER on a platform table, a DROP
/// FUNCTION … CASCADE (which takes the triggers calling it along), a DROP SCHEMA, or a
/// change to a publication.
fn unhooks(text: &str) -> bool {
    let words = leading_words(text, 2);
    let platform = || {
        let text = text.to_lowercase().replace('"', "");
        ["auth.", "storage.", "realtime."]
            .iter()
            .any(|schema| text.contains(schema))
    };
    match (
        words.first().map(String::as_str),
        words.get(1).map(String::as_str),
    ) {
        (Some("DROP"), Some("TRIGGER")) => platform(),
        (Some("DROP"), Some("FUNCTION")) => text.to_uppercase().contains("CASCADE"),
        (Some("DROP"), Some("PUBLICATION" | "SCHEMA")) | (Some("ALTER"), Some("PUBLICATION")) => {
            true
        }
        _ => false,
    }
}

/// A finding for each hook `before` had that `after` has not, at the statement of
/// `migration` that names it (else its first that can unhook).
pub fn removed(migration: &MigrationFile, before: &Hooks, after: &Hooks) -> Vec<Finding> {
    before
        .0
        .difference(&after.0)
        .filter_map(|hook| {
            let (kind, object) = hook.split_once(' ')?;
            let (rule, message, help) = match kind {
                "trigger" => {
                    let (table, trigger) = object.rsplit_once('.')?;
                    (
                        registry::PLATFORM_TRIGGER_DROPPED,
                        format!(
                            "the trigger {trigger} on {table} is gone after this migration: what it did when the platform writes {table} (a profile made at sign-up, say) silently stops"
                        ),
                        "keep the trigger: if a generated diff dropped it, declare it in the schema files (the diff does not see triggers on the platform's tables) and remove the DROP; if it must go, allow it here with a reason",
                    )
                }
                _ => (
                    registry::REALTIME_PUBLICATION_REMOVED,
                    format!(
                        "{object} is no longer in the supabase_realtime publication after this migration: clients subscribed to its changes stop getting them, with no error"
                    ),
                    "keep it in the publication (ALTER PUBLICATION supabase_realtime ADD TABLE …); if a generated diff removed it, remove that statement; if it must go, allow it here with a reason",
                ),
            };
            Some(Finding {
                rule: rule.id,
                severity: rule.severity,
                location: Some(super::statement_naming(migration, unhooks, object)),
                message,
                help: Some(help.to_string()),
            })
        })
        .collect()
}
