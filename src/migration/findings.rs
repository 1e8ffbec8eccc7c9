//! Problems a migration set has before any SQL runs: version collisions, day-only
//! versions, psql meta-commands and unclosed literals.

use crate::report::{Finding, Location, Severity};
use crate::text::Span;

use super::{Discovery, MigrationFile};

/// The file-level findings of a discovered migration set.
pub fn file_findings(discovery: &Discovery) -> Vec<Finding> {
    let mut findings = Vec::new();
    collisions(discovery, &mut findings);
    for migration in &discovery.migrations {
        meta_commands(migration, &mut findings);
        unclosed(migration, &mut findings);
    }
    findings
}

fn at_start(migration: &MigrationFile) -> Option<Location> {
    Some(Location {
        file: migration.path.clone(),
        span: Span::new(0, 0),
    })
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
                rule: "version-collision",
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
                rule: "version-collision",
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

fn meta_commands(migration: &MigrationFile, findings: &mut Vec<Finding>) {
    for meta in &migration.split.meta_commands {
        findings.push(Finding {
            rule: "no-psql-meta",
            severity: Severity::Error,
            location: Some(Location {
                file: migration.path.clone(),
                span: meta.span,
            }),
            message: format!(
                "`{}` is a psql meta-command, not SQL: the Supabase CLI and the server reject it",
                meta.name
            ),
            help: Some(
                "write the SQL itself in the migration (no \\i includes, \\set variables or \\connect)"
                    .to_string(),
            ),
        });
    }
}

fn unclosed(migration: &MigrationFile, findings: &mut Vec<Finding>) {
    if let Some(open) = migration.split.unclosed {
        findings.push(Finding {
            rule: "syntax-error",
            severity: Severity::Error,
            location: Some(Location {
                file: migration.path.clone(),
                span: Span::new(open.start, open.start),
            }),
            message: format!(
                "this {} is never closed: everything after it up to the end of the file is one statement",
                open.token.describe()
            ),
            help: Some("close it (a missing quote, `$$` or `*/`, or `END` of a BEGIN ATOMIC body)".to_string()),
        });
    }
}
