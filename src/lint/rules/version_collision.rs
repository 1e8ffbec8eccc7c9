//! `version-collision`: two migration files with one version, or a file whose version is
//! only a date (`YYYYMMDD_HHMMSS_name.sql`).
//!
//! Why, and what to write instead: docs/rules/version-collision.md.

use crate::findings::{Finding, Location, Severity};
use crate::migration::{Discovery, MigrationFile};

pub const ID: &str = "version-collision";
pub const SUMMARY: &str = "two migration files with one version, or a date-only version";

/// The findings for a whole migration set.
pub fn check_set(discovery: &Discovery) -> Vec<Finding> {
    let mut findings = Vec::new();
    collisions(discovery, &mut findings);
    findings
}

fn at_start(migration: &MigrationFile) -> Option<Location> {
    Some(Location::start_of(&migration.path))
}

fn collisions(discovery: &Discovery, findings: &mut Vec<Finding>) {
    let mut colliding = vec![false; discovery.migrations.len()];
    for collision in &discovery.collisions {
        let files: Vec<&MigrationFile> = collision
            .files
            .iter()
            .map(|&index| &discovery.migrations[index])
            .collect();
        let names: Vec<&str> = files.iter().map(|m| m.file_name.as_str()).collect();
        let renames: Vec<String> = files
            .iter()
            .filter_map(|m| {
                m.day_version_rename()
                    .map(|to| format!("rename {} to {to}", m.file_name))
            })
            .collect();
        let help = if renames.is_empty() {
            "give each file a version of its own: create it with `migration-guard new NAME` and move the SQL there".to_string()
        } else {
            renames.join("\n")
        };
        for &index in &collision.files {
            colliding[index] = true;
        }
        for migration in files.iter().skip(1) {
            findings.push(Finding {
                rule: ID,
                severity: Severity::Error,
                location: at_start(migration),
                message: format!(
                    "version {} is used by {} files ({}): the Supabase CLI applies the first and then fails on this one's history row (duplicate key schema_migrations_pkey) on every push",
                    collision.version,
                    names.len(),
                    names.join(", ")
                ),
                help: Some(help.clone()),
            });
        }
    }
    for (migration, _) in discovery
        .migrations
        .iter()
        .zip(colliding)
        .filter(|(_, colliding)| !colliding)
    {
        if let Some(rename) = migration.day_version_rename() {
            findings.push(Finding {
                rule: ID,
                severity: Severity::Warning,
                location: at_start(migration),
                message: format!(
                    "{} has version {} (the date only): the next migration written that day will collide with it",
                    migration.file_name, migration.version
                ),
                help: Some(format!("rename {} to {rename}", migration.file_name)),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use std::fs;

    use super::*;
    use crate::migration::discover;

    fn findings(files: &[&str]) -> Vec<(String, Severity, String)> {
        let dir = tempfile::tempdir().unwrap();
        for file in files {
            fs::write(dir.path().join(file), "SELECT 1;\n").unwrap();
        }
        check_set(&discover(dir.path()).unwrap())
            .into_iter()
            .map(|f| {
                let file = f
                    .location
                    .unwrap()
                    .file
                    .file_name()
                    .unwrap()
                    .to_string_lossy()
                    .into_owned();
                (file, f.severity, f.help.unwrap())
            })
            .collect()
    }

    #[test]
    fn ok() {
        assert_eq!(
            findings(&["0001_a.sql", "20251125170356_b.sql", "20251125180000_c.sql"]),
            []
        );
    }

    #[test]
    fn two_files_with_one_version() {
        let found = findings(&[
            "20251125_170356_a.sql",
            "20251125_180000_b.sql",
            "0001_x.sql",
            "0001_y.sql",
        ]);
        assert_eq!(
            found,
            [
                ("0001_y.sql".to_string(), Severity::Error, "give each file a version of its own: create it with `migration-guard new NAME` and move the SQL there".to_string()),
                (
                    "20251125_180000_b.sql".to_string(),
                    Severity::Error,
                    "rename 20251125_170356_a.sql to 20251125170356_a.sql\nrename 20251125_180000_b.sql to 20251125180000_b.sql".to_string()
                ),
            ]
        );
    }

    #[test]
    fn a_date_only_version_alone_is_a_warning() {
        assert_eq!(
            findings(&["20251124_090000_solo.sql"]),
            [(
                "20251124_090000_solo.sql".to_string(),
                Severity::Warning,
                "rename 20251124_090000_solo.sql to 20251124090000_solo.sql".to_string()
            )]
        );
    }
}
