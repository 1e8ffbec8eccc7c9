//! What a deploy will do, from the target's history and the local files, exactly as
//! `supabase db push` decides it: versions compared as strings, a remote version with no
//! local file refused, an unapplied file older than the newest applied one refused unless
//! `--include-all`. And one check the CLI lacks: an applied file whose code no longer
//! matches the statements the target recorded was edited after it was applied there.

use crate::findings::registry;
use crate::findings::{Finding, Location, Severity};
use crate::migration::MigrationFile;
use crate::migration::compare::first_difference;
use crate::migration::history::Recorded;

use crate::findings::span::Span;

/// The deploy, decided.
#[derive(Debug, Default)]
pub struct Plan<'m> {
    /// Local files the target has applied.
    pub applied: Vec<&'m MigrationFile>,
    /// What the deploy applies, in order.
    pub pending: Vec<&'m MigrationFile>,
    /// Reasons not to deploy at all: remote-only versions, out-of-order files (without
    /// `--include-all`), edited applied files.
    pub refusals: Vec<Finding>,
}

/// Plans a deploy of `local` (in version order) to a target whose history is `remote`.
pub fn plan<'m>(local: &'m [MigrationFile], remote: &[Recorded], include_all: bool) -> Plan<'m> {
    let mut remote: Vec<&Recorded> = remote.iter().collect();
    remote.sort_by(|a, b| a.version.cmp(&b.version));
    let newest = remote.last().map(|recorded| recorded.version.as_str());

    let mut plan = Plan::default();
    let mut older = Vec::new();
    for migration in local {
        match remote.binary_search_by(|recorded| recorded.version.as_str().cmp(&migration.version))
        {
            Ok(position) => {
                plan.applied.push(migration);
                if let Some(finding) = edited(migration, remote[position]) {
                    plan.refusals.push(finding);
                }
            }
            Err(_) => {
                if newest.is_some_and(|newest| migration.version.as_str() < newest) {
                    older.push(migration);
                }
                plan.pending.push(migration);
            }
        }
    }

    let local_versions: std::collections::HashSet<&str> =
        local.iter().map(|m| m.version.as_str()).collect();
    let missing: Vec<&Recorded> = remote
        .iter()
        .copied()
        .filter(|recorded| !local_versions.contains(recorded.version.as_str()))
        .collect();
    if !missing.is_empty() {
        let versions: Vec<&str> = missing.iter().map(|r| r.version.as_str()).collect();
        let named: Vec<String> = missing
            .iter()
            .map(|r| {
                if r.name.is_empty() {
                    r.version.clone()
                } else {
                    format!("{}_{}", r.version, r.name)
                }
            })
            .collect();
        plan.refusals.push(remote_only(&named, &versions));
    }
    if !include_all {
        let newest = newest.unwrap_or_default();
        for migration in older {
            plan.refusals.push(out_of_order(
                Some(migration),
                format!(
                    "version {} is not applied on the target, and sorts before {newest}, the newest version it has applied",
                    migration.version
                ),
            ));
        }
    }
    plan
}

/// The refusal for versions the target applied that no local file has (`named`: as the
/// target names them), with the commands that fix it.
pub fn remote_only(named: &[String], versions: &[&str]) -> Finding {
    Finding {
        rule: registry::REMOTE_ONLY_VERSION.id,
        severity: Severity::Error,
        location: None,
        message: format!(
            "the target has applied {} that no local file has: {}. Remote migration versions not found in local migrations directory.",
            if named.len() == 1 {
                "a version"
            } else {
                "versions"
            },
            named.join(", ")
        ),
        help: Some(format!(
            "pull the branch that added them (`git pull`); if they were reverted on purpose, mark them so on the target: `supabase migration repair --status reverted {}`, and bring the schema into the files with `supabase db pull`",
            versions.join(" ")
        )),
    }
}

/// The refusal for an unapplied file older than the newest applied version; `why`
/// says which.
pub fn out_of_order(migration: Option<&MigrationFile>, why: String) -> Finding {
    Finding {
        rule: registry::OUT_OF_ORDER.id,
        severity: Severity::Error,
        location: migration.map(|migration| Location::start_of(&migration.path)),
        message: format!(
            "{why}: Found local migration files to be inserted before the last migration on remote database."
        ),
        help: Some(
            "rerun with --include-all to apply it now (after the newer ones), or give it a version after the newest: `migration-guard new NAME` and move the SQL there".to_string(),
        ),
    }
}

/// The finding for an applied file whose code differs from what the target recorded.
fn edited(migration: &MigrationFile, recorded: &Recorded) -> Option<Finding> {
    let statements = recorded.statements.as_ref()?;
    let recorded_texts: Vec<&str> = statements.iter().map(String::as_str).collect();
    let difference = first_difference(&recorded_texts, &migration.split.texts(&migration.source))?;
    let span = difference.index.map_or(
        Span::new(migration.source.len(), migration.source.len()),
        |index| migration.split.statements[index].text,
    );
    Some(Finding {
        rule: registry::MIGRATION_EDITED.id,
        severity: Severity::Error,
        location: Some(Location {
            file: migration.path.clone(),
            span,
        }),
        message: format!(
            "version {} was applied on the target with different code: statement {} differs from what it recorded. The file was edited after it was applied, and the change will never run there",
            migration.version, difference.ordinal
        ),
        help: Some(
            "restore the file as it was applied (see the target's supabase_migrations.schema_migrations) and put the change in a new migration (`migration-guard new NAME`)".to_string(),
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sql::split::split;
    use std::path::PathBuf;
    use std::sync::Arc;

    fn file(version: &str, sql: &str) -> MigrationFile {
        MigrationFile {
            path: PathBuf::from(format!("m/{version}_x.sql")),
            file_name: format!("{version}_x.sql"),
            version: version.to_string(),
            name: "x".to_string(),
            source: Arc::from(sql),
            split: split(sql),
        }
    }

    fn recorded(version: &str, statements: Option<&[&str]>) -> Recorded {
        Recorded {
            version: version.to_string(),
            name: "x".to_string(),
            statements: statements.map(|s| s.iter().map(|s| s.to_string()).collect()),
        }
    }

    fn versions(files: &[&MigrationFile]) -> Vec<String> {
        files.iter().map(|m| m.version.clone()).collect()
    }

    #[test]
    fn pending_is_what_the_target_lacks() {
        let local = [
            file("1", "SELECT 1;"),
            file("2", "SELECT 2;"),
            file("3", "SELECT 3;"),
        ];
        let plan = plan(&local, &[recorded("1", Some(&["SELECT 1;"]))], false);
        assert_eq!(versions(&plan.applied), ["1"]);
        assert_eq!(versions(&plan.pending), ["2", "3"]);
        assert!(plan.refusals.is_empty());

        let plan = super::plan(&local, &[], false);
        assert_eq!(versions(&plan.pending), ["1", "2", "3"]);
    }

    #[test]
    fn out_of_order_is_refused_unless_include_all() {
        let local = [
            file("1", "SELECT 1;"),
            file("2", "SELECT 2;"),
            file("3", "SELECT 3;"),
        ];
        let remote = [recorded("1", None), recorded("3", None)];
        let refused = plan(&local, &remote, false);
        assert_eq!(
            refused.refusals.iter().map(|f| f.rule).collect::<Vec<_>>(),
            ["out-of-order"]
        );
        let included = plan(&local, &remote, true);
        assert!(included.refusals.is_empty());
        assert_eq!(versions(&included.pending), ["2"]);
    }

    #[test]
    fn versions_compare_as_strings_like_the_cli() {
        // "20240101" < "202401010000" as strings: the 8-digit file sorts before the
        // 12-digit version it prefixes, so it is out of order.
        let local = [
            file("20240101", "SELECT 1;"),
            file("202401010000", "SELECT 2;"),
        ];
        let plan = plan(&local, &[recorded("202401010000", None)], false);
        assert_eq!(versions(&plan.pending), ["20240101"]);
        assert_eq!(plan.refusals.len(), 1);
    }

    #[test]
    fn remote_versions_missing_locally_are_refused_with_the_repair_command() {
        let local = [file("1", "SELECT 1;")];
        let plan = plan(&local, &[recorded("1", None), recorded("0", None)], false);
        assert_eq!(plan.refusals.len(), 1);
        let refusal = &plan.refusals[0];
        assert_eq!(refusal.rule, registry::REMOTE_ONLY_VERSION.id);
        assert!(
            refusal
                .help
                .as_deref()
                .unwrap()
                .contains("migration repair --status reverted 0"),
            "{refusal:?}"
        );
    }

    #[test]
    fn an_applied_file_edited_since_is_refused_at_the_changed_statement() {
        let sql = "SELECT 1;\n-- tuned\nSELECT 22;\n";
        let local = [file("1", sql)];
        let plan = plan(
            &local,
            &[recorded("1", Some(&["SELECT 1;", "SELECT 2;"]))],
            false,
        );
        assert_eq!(plan.refusals.len(), 1, "{:?}", plan.refusals);
        let refusal = &plan.refusals[0];
        assert_eq!(refusal.rule, "migration-edited");
        let span = refusal.location.as_ref().unwrap().span;
        assert!(sql[span.start..span.end].ends_with("SELECT 22"), "{span:?}");
        // The same code with other comments is no edit; no recorded statements, no check.
        let local = [file("1", "-- why\nSELECT 1;\n")];
        assert!(plan_of(&local, Some(&["SELECT 1;"])).refusals.is_empty());
        assert!(plan_of(&local, None).refusals.is_empty());
    }

    fn plan_of<'m>(local: &'m [MigrationFile], statements: Option<&[&str]>) -> Plan<'m> {
        plan(local, &[recorded("1", statements)], false)
    }
}
