//! The linter: static rules over migration files, no database, no network.
//!
//! Every file is split by our splitter and each statement parsed on its own, so a
//! statement sqlparser cannot read (a `DO` block, `ALTER SEQUENCE`, …) never hides the
//! others: rules that can judge it from its tokens still do, and it is listed as
//! `unparsed` (info). Files are linted in version order with what earlier files built
//! ([`schema::Schema`]), so rules know which tables existed before a migration.
//! The policy (the configuration's severities and ignored paths, the suppression
//! comments) is applied once, by [`settle`], to every source's findings together.

pub mod embedded;
pub mod rule;
pub mod rules;
pub mod schema;
pub mod suppress;

#[cfg(test)]
pub mod test_utils;

use crate::config::Config;
use crate::findings::registry;
use crate::findings::{Finding, Location, Severity};
use crate::migration::{Discovery, MigrationFile};

use crate::findings::span::Span;

use crate::sql::statement::ParsedStatement;
use rule::{Diagnostic, FileContext, RuleDef};
use schema::Schema;

/// Parses every statement of a file that holds more than comments.
pub fn parse(migration: &MigrationFile) -> Vec<ParsedStatement> {
    migration
        .split
        .statements
        .iter()
        .enumerate()
        .filter(|(_, statement)| !statement.comment_only)
        .map(|(index, statement)| ParsedStatement::new(&migration.source, index, statement))
        .collect()
}

/// Lints every migration of `discovery` with every rule the configuration enables: the
/// findings as the rules give them, before the policy ([`settle`]).
pub fn findings(discovery: &Discovery, config: &Config) -> Vec<Finding> {
    use rayon::prelude::*;
    let mut findings = Vec::new();
    let mut schema = Schema::default();
    // Parsing is most of the work and each file parses on its own: a batch at a time in
    // parallel, then the rules in version order, each file seeing the schema facts the
    // earlier ones left; a batch's trees are dropped before the next is parsed, so
    // memory follows the batch, not the project. Small work stays on this thread.
    for batch in batches(&discovery.migrations) {
        let parsed: Vec<Vec<ParsedStatement>> = if batch.len() > 1 {
            batch.par_iter().map(parse).collect()
        } else {
            batch.iter().map(parse).collect()
        };
        for (migration, statements) in batch.iter().zip(parsed) {
            let mut context = FileContext::with_statements(migration, statements, &schema);
            context.supabase_cli = config.supabase_cli;
            if !config.ignores(&migration.path) {
                findings.extend(lint_file(&context, config));
            }
            for statement in context.statements {
                match &statement.ast {
                    Some(ast) => schema.apply(ast),
                    None => schema.apply_unparsed(&statement),
                }
            }
        }
    }
    findings.extend(rules::set_rules(discovery));
    findings
}

/// Source bytes parsed at once: enough to keep every core busy, small enough that the
/// trees of a large project are never all held together.
const BATCH_BYTES: usize = 512 << 10;

/// `migrations` in order, cut into runs of about [`BATCH_BYTES`] of source; work under
/// [`SMALL_WORK`] bytes is one run of one file at a time (no thread pool for it).
fn batches(migrations: &[MigrationFile]) -> Vec<&[MigrationFile]> {
    let total: usize = migrations.iter().map(|m| m.source.len()).sum();
    if total < SMALL_WORK {
        return migrations.chunks(1).collect();
    }
    let mut batches = Vec::new();
    let (mut start, mut bytes) = (0, 0);
    for (index, migration) in migrations.iter().enumerate() {
        bytes += migration.source.len();
        if bytes >= BATCH_BYTES {
            batches.push(&migrations[start..=index]);
            (start, bytes) = (index + 1, 0);
        }
    }
    if start < migrations.len() {
        batches.push(&migrations[start..]);
    }
    batches
}

/// Below this much source, starting threads costs more than it saves.
const SMALL_WORK: usize = 256 << 10;

/// The linter's findings as they count: [`findings`], settled by the policy.
pub fn lint(discovery: &Discovery, config: &Config) -> Vec<Finding> {
    settle(
        findings(discovery, config),
        discovery,
        config,
        Judged::Files,
    )
}

/// What a run could find, for judging whether a suppression comment allowed nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Judged {
    /// The files alone (lint): an allow of a catalog check or an advisor is not judged.
    Files,
    /// The files and the shadow: every id.
    Everything,
}

/// The policy, once, over the findings of every source of a run: the configuration,
/// the suppression comments of `discovery`'s files, one finding per file for the
/// runbook's style rules, and the suppressions that allowed nothing.
pub fn settle(
    findings: Vec<Finding>,
    discovery: &Discovery,
    config: &Config,
    judged: Judged,
) -> Vec<Finding> {
    let allowances: Vec<_> = discovery
        .migrations
        .iter()
        .flat_map(suppress::allowances)
        .collect();
    let lines: std::collections::HashMap<
        &std::path::Path,
        (crate::findings::span::LineIndex, &str),
    > = discovery
        .migrations
        .iter()
        .map(|m| {
            (
                m.path.as_path(),
                (crate::findings::span::LineIndex::new(&m.source), &*m.source),
            )
        })
        .collect();
    let line_of = |file: &std::path::Path, offset: usize| {
        let (index, text) = lines.get(file)?;
        Some(index.line_col(text, offset).line)
    };
    let judged = |rule: &str| match judged {
        Judged::Everything => true,
        Judged::Files => !registry::is_shadow_only(rule),
    };
    crate::findings::policy::settle(
        findings,
        &crate::findings::policy::Rules {
            settings: config,
            allowances: &allowances,
            once_per_file: &rules::ONCE_PER_FILE,
            unused: registry::UNUSED_SUPPRESSION.id,
            judged: &judged,
            line_of: &line_of,
        },
    )
}

/// Lints one file with every enabled rule: the findings before the policy.
pub fn lint_file(context: &FileContext<'_>, config: &Config) -> Vec<Finding> {
    let mut found: Vec<(&RuleDef, Diagnostic)> = Vec::new();
    for rule in rules::RULES {
        if config.severity(rule.id, rule.severity).is_none() {
            continue;
        }
        let mut diagnostics = Vec::new();
        (rule.check)(context, &mut diagnostics);
        found.extend(diagnostics.into_iter().map(|diagnostic| (rule, diagnostic)));
    }
    // What the file's DO blocks run: the destructive rules judge it at its own lines.
    let embedded: Vec<ParsedStatement> = context
        .statements
        .iter()
        .flat_map(|statement| embedded::statements(context.source(), statement))
        .collect();
    if !embedded.is_empty() {
        let inner = context.nested(embedded);
        for rule in rules::IN_BLOCKS {
            if config.severity(rule.id, rule.severity).is_none() {
                continue;
            }
            let mut diagnostics = Vec::new();
            (rule.check)(&inner, &mut diagnostics);
            found.extend(diagnostics.into_iter().map(|diagnostic| (rule, diagnostic)));
        }
    }
    found.sort_by_key(|(rule, diagnostic)| (diagnostic.span.start, rule.id));

    let location = |span| {
        Some(Location {
            file: context.migration.path.clone(),
            span,
        })
    };
    let mut findings: Vec<Finding> = found
        .into_iter()
        .map(|(rule, diagnostic)| Finding {
            rule: rule.id,
            severity: diagnostic.severity.unwrap_or(rule.severity),
            location: location(diagnostic.span),
            message: diagnostic.message,
            help: diagnostic.help,
        })
        .collect();
    findings.extend(unparsed(context, config, location));
    findings
}

fn unparsed(
    context: &FileContext<'_>,
    config: &Config,
    location: impl Fn(Span) -> Option<Location>,
) -> Vec<Finding> {
    let Some(severity) = config.severity(registry::UNPARSED.id, Severity::Info) else {
        return Vec::new();
    };
    context
        .statements
        .iter()
        .filter_map(|statement| {
            let error = statement.parse_error.as_ref()?;
            Some(Finding {
                rule: registry::UNPARSED.id,
                severity,
                location: location(statement.head()),
                message: format!(
                    "sqlparser cannot read this statement ({error}); only the rules that work from its keywords checked it"
                ),
                help: Some("nothing to do: the shadow run still applies and checks it".to_string()),
            })
        })
        .collect()
}

#[cfg(test)]
mod batch_tests {
    use super::*;

    fn files(sizes: &[usize]) -> Vec<MigrationFile> {
        let dir = tempfile::tempdir().expect("temp dir");
        for (index, size) in sizes.iter().enumerate() {
            let statement = "SELECT 1;\n";
            std::fs::write(
                dir.path().join(format!("{:04}_f.sql", index + 1)),
                statement.repeat(size / statement.len()),
            )
            .expect("write");
        }
        crate::migration::discover(dir.path())
            .expect("discover")
            .migrations
    }

    #[test]
    fn batches_keep_the_order_and_cover_every_file() {
        let big = files(&[300 << 10, 300 << 10, 10, 600 << 10, 10]);
        let cut: Vec<usize> = batches(&big).iter().map(|batch| batch.len()).collect();
        // A batch ends once it holds the budget (512 KiB) or more; the rest is the last.
        assert_eq!(cut, [2, 2, 1]);
        let small = files(&[100, 200, 300]);
        let cut: Vec<usize> = batches(&small).iter().map(|batch| batch.len()).collect();
        assert_eq!(
            cut,
            [1, 1, 1],
            "small work: one file at a time, on this thread"
        );
    }
}
