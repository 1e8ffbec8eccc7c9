//! The linter: static rules over migration files, no database, no network.
//!
//! Every file is split by our splitter and each statement parsed on its own, so a
//! statement sqlparser cannot read (a `DO` block, `ALTER SEQUENCE`, …) never hides the
//! others: rules that can judge it from its tokens still do, and it is listed as
//! `unparsed` (info). Files are linted in version order with what earlier files built
//! ([`schema::Schema`]), so rules know which tables existed before a migration.
//! Findings go through the configuration (severities, ignored paths) and the
//! suppression comments before they reach the report.

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
use crate::text::Span;

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
        use crate::migration::classify::TxRole;
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

/// Lints every migration of `discovery` with every rule the configuration enables.
pub fn lint(discovery: &Discovery, config: &Config) -> Vec<Finding> {
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
    for finding in rules::set_rules(discovery) {
        let ignored = finding
            .location
            .as_ref()
            .is_some_and(|location| config.ignores(&location.file));
        if let Some(severity) = config.severity(finding.rule, finding.severity)
            && !ignored
        {
            findings.push(Finding {
                severity,
                ..finding
            });
        }
    }
    findings
}

/// Lints one file: every enabled rule, then its suppression comments.
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

    let mut suppressions = suppress::Suppressions::of(context);
    let location = |span| {
        Some(Location {
            file: context.migration.path.clone(),
            span,
        })
    };
    // Each finding, and whether a suppression allowed it.
    let findings: Vec<(Finding, bool)> = found
        .into_iter()
        .filter_map(|(rule, diagnostic)| {
            let severity =
                config.severity(rule.id, diagnostic.severity.unwrap_or(rule.severity))?;
            let finding = Finding {
                rule: rule.id,
                severity,
                location: location(diagnostic.span),
                message: diagnostic.message,
                help: diagnostic.help,
            };
            Some(match suppressions.allow(rule.id, diagnostic.span.start) {
                Some(reason) => (finding.allowed(&reason), true),
                None => (finding, false),
            })
        })
        .collect();
    let mut findings = once_per_file(findings, context.source());
    findings.extend(suppressions.unused(location));
    findings.extend(unparsed(context, config, location));
    findings
}

/// The runbook's style rules report once per file: the first statement, with the lines of
/// the others, so a file that ignores the runbook costs one finding, not forty.
fn once_per_file(findings: Vec<(Finding, bool)>, source: &str) -> Vec<Finding> {
    let lines = crate::text::LineIndex::new(source);
    // Each kept finding, whether it was allowed, and the lines of those folded into it.
    let mut kept: Vec<(Finding, bool, Vec<usize>)> = Vec::with_capacity(findings.len());
    for (finding, allowed) in findings {
        let first = kept.iter().position(|(k, k_allowed, _)| {
            rules::ONCE_PER_FILE.contains(&finding.rule)
                && k.rule == finding.rule
                && *k_allowed == allowed
        });
        match (first, &finding.location) {
            (Some(first), Some(location)) => kept[first]
                .2
                .push(lines.line_col(source, location.span.start).line),
            _ => kept.push((finding, allowed, Vec::new())),
        }
    }
    kept.into_iter()
        .map(|(mut finding, _, others)| {
            if !others.is_empty() {
                let listed: Vec<String> = others.iter().map(usize::to_string).collect();
                finding.message = format!(
                    "{} (and {} more in this file: line{} {})",
                    finding.message,
                    others.len(),
                    if others.len() == 1 { "" } else { "s" },
                    listed.join(", ")
                );
            }
            finding
        })
        .collect()
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
