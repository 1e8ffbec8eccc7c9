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
    // Parsing is most of the work and each file parses on its own: in parallel. The
    // rules then run in version order, each file seeing what the earlier ones built.
    let parsed: Vec<Vec<ParsedStatement>> = discovery.migrations.par_iter().map(parse).collect();
    let mut findings = Vec::new();
    let mut schema = Schema::default();
    for (migration, statements) in discovery.migrations.iter().zip(parsed) {
        let context = FileContext::with_statements(migration, statements, &schema);
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
    findings.extend(rules::set_rules(discovery));
    findings
}

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
