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
pub mod rules;
pub mod schema;
pub mod statement;
pub mod suppress;

#[cfg(test)]
pub mod test_utils;

use crate::config::Config;
use crate::migration::{Discovery, MigrationFile};
use crate::report::{Finding, Location, Severity};
use crate::findings::span::Span;

use rules::RuleDef;
use schema::{Schema, table_key};
use statement::ParsedStatement;

/// What a rule reports: a span of the file, the problem, and what to do instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub span: Span,
    pub message: String,
    pub help: Option<String>,
    /// A severity other than the rule's default, for a milder case of the same rule;
    /// the configuration still overrides it.
    pub severity: Option<Severity>,
}

impl Diagnostic {
    pub fn new(span: Span, message: impl Into<String>) -> Self {
        Diagnostic {
            span,
            message: message.into(),
            help: None,
            severity: None,
        }
    }

    pub fn severity(mut self, severity: Severity) -> Self {
        self.severity = Some(severity);
        self
    }

    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }
}

/// One file as the rules see it, with what the migrations before it built.
pub struct FileContext<'a> {
    pub migration: &'a MigrationFile,
    pub statements: Vec<ParsedStatement>,
    /// The schema as the earlier files left it.
    pub before: &'a Schema,
    /// Tables this file creates, with the index of the statement that creates each.
    created: Vec<(usize, String)>,
}

impl<'a> FileContext<'a> {
    /// A context for statements parsed beforehand (see [`parse`]).
    pub fn with_statements(
        migration: &'a MigrationFile,
        statements: Vec<ParsedStatement>,
        before: &'a Schema,
    ) -> Self {
        let created = statements
            .iter()
            .filter_map(|statement| match &statement.ast {
                Some(sqlparser::ast::Statement::CreateTable(create)) => {
                    Some((statement.index, table_key(&create.name)))
                }
                _ => None,
            })
            .collect();
        FileContext {
            migration,
            statements,
            before,
            created,
        }
    }

    /// Whether `table` (a [`table_key`]) may hold data when statement `at` runs: it
    /// existed before this migration (an earlier file created it, or no file did), so
    /// it was not created by this file before `at`.
    pub fn holds_data(&self, table: &str, at: usize) -> bool {
        !self
            .created
            .iter()
            .any(|(index, created)| *index < at && created == table)
    }

    /// Whether the file wraps its statements in its own `BEGIN … COMMIT`.
    pub fn wrapped_in_transaction(&self) -> bool {
        use crate::sql::classify::TxRole;
        let first = self.statements.first().map(|s| s.tx_role);
        let last = self.statements.last().map(|s| s.tx_role);
        first == Some(TxRole::Begin) && last == Some(TxRole::Commit)
    }

    pub fn source(&self) -> &str {
        &self.migration.source
    }
}

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
    let lines: std::collections::HashMap<&std::path::Path, (crate::findings::span::LineIndex, &str)> =
        discovery
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
        Judged::Files => !rules::shadow_checks().any(|(id, _, _)| *id == rule),
    };
    crate::findings::policy::settle(
        findings,
        &crate::findings::policy::Rules {
            settings: config,
            allowances: &allowances,
            once_per_file: &rules::ONCE_PER_FILE,
            unused: rules::UNUSED_SUPPRESSION,
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
        let inner = FileContext {
            migration: context.migration,
            statements: embedded,
            before: context.before,
            created: context.created.clone(),
        };
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
    let Some(severity) = config.severity(rules::UNPARSED, Severity::Info) else {
        return Vec::new();
    };
    context
        .statements
        .iter()
        .filter_map(|statement| {
            let error = statement.parse_error.as_ref()?;
            Some(Finding {
                rule: rules::UNPARSED,
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
