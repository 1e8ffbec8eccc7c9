//! The linter: static rules over migration files, no database, no network.
//!
//! Every file is split by our splitter and each statement parsed on its own, so a
//! statement sqlparser cannot read (a `DO` block, `ALTER SEQUENCE`, …) never hides the
//! others: rules that can judge it from its tokens still do, and it is listed as
//! `unparsed` (info). Files are linted in version order with what earlier files built
//! ([`schema::Schema`]), so rules know which tables existed before a migration.
//!
//! Statements stream: each is parsed, judged by every rule and dropped before the next
//! is looked at (a syntax tree is many times the size of its text), so memory follows
//! the largest statement, not the file or the project. Over many files, worker threads
//! parse whole files in turns, a bounded number of statements ahead of the rules, which
//! run in version order on this thread; one file, however large, is parsed as the rules
//! go (a thread beside them was measured 1.6x slower on a 20 MB file).
//! The policy (the configuration's severities and ignored paths, the suppression
//! comments) is applied once, by [`settle`], to every source's findings together.

pub mod embedded;
pub mod rule;
pub mod rules;
pub mod schema;
pub mod suppress;

#[cfg(test)]
pub mod test_utils;

use std::sync::mpsc;

use crate::config::Config;
use crate::findings::registry;
use crate::findings::{Finding, Location, Severity};
use crate::migration::{Discovery, MigrationFile};

use crate::sql::statement::ParsedStatement;
use rule::{Check, Diagnostic, FileContext, RuleDef, Sequence};
use schema::Schema;

/// The file's statements (comments aside), parsed one at a time as they are asked for.
pub fn parse(migration: &MigrationFile) -> impl Iterator<Item = ParsedStatement> + '_ {
    migration
        .split
        .code()
        .map(|(index, statement)| ParsedStatement::new(&migration.source, index, statement))
}

/// Lints every migration of `discovery` with every rule the configuration enables: the
/// findings as the rules give them, before the policy ([`settle`]).
pub fn findings(discovery: &Discovery, config: &Config) -> Vec<Finding> {
    findings_with(discovery, config, workers(&discovery.migrations))
}

/// [`findings`] with `workers` threads parsing ahead (see [`each_parsed`]).
fn findings_with(discovery: &Discovery, config: &Config, workers: usize) -> Vec<Finding> {
    let enabled = |rules: &'static [RuleDef]| -> Vec<&'static RuleDef> {
        rules
            .iter()
            .filter(|rule| config.severity(rule.id, rule.severity).is_some())
            .collect()
    };
    let (top, in_blocks) = (enabled(rules::RULES), enabled(rules::IN_BLOCKS));
    let mut findings = Vec::new();
    let mut schema = Schema::default();
    each_parsed(&discovery.migrations, workers, |migration, statements| {
        let ignored = config.ignores(&migration.path);
        let (top, in_blocks) = if ignored {
            (&[][..], &[][..])
        } else {
            (&top[..], &in_blocks[..])
        };
        let context = FileContext::new(migration, std::mem::take(&mut schema), config.supabase_cli);
        let (found, context) = lint_file(context, statements, top, in_blocks, config);
        if !ignored {
            findings.extend(found);
        }
        schema = context.schema;
    });
    findings.extend(rules::set_rules(discovery));
    findings
}

/// How many threads parse `migrations` ahead of the rules: none (`0`) for one file or
/// for small work, where starting threads costs more than it saves; else one a core
/// (2,000 files on 2 cores: 0.83-0.88x squawk's time with two, 0.88-0.99x with one,
/// 0.92-1.01x with none, side by side).
fn workers(migrations: &[MigrationFile]) -> usize {
    let total: usize = migrations.iter().map(|m| m.source.len()).sum();
    if migrations.len() < 2 || total < SMALL_WORK {
        return 0;
    }
    std::thread::available_parallelism()
        .map_or(1, usize::from)
        .min(migrations.len())
}

/// Below this much source, the rules parse as they go.
const SMALL_WORK: usize = 256 << 10;

/// Calls `visit` with each migration, in order, and its statements as they are parsed:
/// on this thread as the rules ask for them, or with `workers` threads parsing the
/// files in turns, each at most [`AHEAD`] batches of [`BATCH`] statements ahead of the
/// rules.
fn each_parsed(
    migrations: &[MigrationFile],
    workers: usize,
    mut visit: impl FnMut(&MigrationFile, &mut dyn Iterator<Item = ParsedStatement>),
) {
    if workers == 0 {
        for migration in migrations {
            visit(migration, &mut parse(migration));
        }
        return;
    }
    std::thread::scope(|scope| {
        let receivers: Vec<mpsc::Receiver<Vec<ParsedStatement>>> = (0..workers)
            .map(|worker| {
                let (sender, receiver) = mpsc::sync_channel(AHEAD);
                scope.spawn(move || {
                    for migration in migrations.iter().skip(worker).step_by(workers) {
                        let mut statements = parse(migration).peekable();
                        while statements.peek().is_some() {
                            let batch: Vec<_> = statements.by_ref().take(BATCH).collect();
                            if sender.send(batch).is_err() {
                                return;
                            }
                        }
                        // An empty batch ends the file.
                        if sender.send(Vec::new()).is_err() {
                            return;
                        }
                    }
                });
                receiver
            })
            .collect();
        for (index, migration) in migrations.iter().enumerate() {
            let receiver = &receivers[index % workers];
            let mut statements = std::iter::from_fn(|| receiver.recv().ok())
                .take_while(|batch| !batch.is_empty())
                .flatten();
            visit(migration, &mut statements);
            // What the visit left unread belongs to this file, not the next.
            statements.for_each(drop);
        }
    });
}

/// Statements sent from a worker to the rules at once.
const BATCH: usize = 64;
/// Batches a worker may parse ahead of the rules.
const AHEAD: usize = 4;

/// The rules a file runs, each with its state for this file.
struct Running {
    rules: Vec<(&'static RuleDef, Option<Box<dyn Sequence>>)>,
}

impl Running {
    fn start(rules: &[&'static RuleDef]) -> Self {
        Running {
            rules: rules
                .iter()
                .map(|rule| match rule.check {
                    Check::Sequence(start) => (*rule, Some(start())),
                    _ => (*rule, None),
                })
                .collect(),
        }
    }

    fn statement(
        &mut self,
        context: &FileContext<'_>,
        statement: &ParsedStatement,
        found: &mut Vec<(&'static RuleDef, Diagnostic)>,
    ) {
        for (rule, state) in &mut self.rules {
            let mut diagnostics = Vec::new();
            match (rule.check, state) {
                (Check::Statement(check), _) => check(context, statement, &mut diagnostics),
                (Check::Sequence(_), Some(state)) => {
                    state.statement(context, statement, &mut diagnostics)
                }
                _ => {}
            }
            found.extend(
                diagnostics
                    .into_iter()
                    .map(|diagnostic| (*rule, diagnostic)),
            );
        }
    }

    fn finish(
        &mut self,
        context: &FileContext<'_>,
        found: &mut Vec<(&'static RuleDef, Diagnostic)>,
    ) {
        for (rule, state) in &mut self.rules {
            let mut diagnostics = Vec::new();
            match (rule.check, state) {
                (Check::File(check), _) => check(context, &mut diagnostics),
                (Check::Sequence(_), Some(state)) => state.finish(context, &mut diagnostics),
                _ => {}
            }
            found.extend(
                diagnostics
                    .into_iter()
                    .map(|diagnostic| (*rule, diagnostic)),
            );
        }
    }
}

/// Lints one file, statement by statement, with `rules` at the top level and
/// `in_blocks` on what its `DO` blocks run: the findings before the policy, and the
/// context at the file's end (its schema is what the next file starts from).
fn lint_file<'a>(
    mut context: FileContext<'a>,
    statements: &mut dyn Iterator<Item = ParsedStatement>,
    rules: &[&'static RuleDef],
    in_blocks: &[&'static RuleDef],
    config: &Config,
) -> (Vec<Finding>, FileContext<'a>) {
    let unparsed_severity = config.severity(registry::UNPARSED.id, Severity::Info);
    let mut top = Running::start(rules);
    let mut blocks = Running::start(in_blocks);
    let mut found = Vec::new();
    let mut unparsed = Vec::new();
    for statement in statements {
        top.statement(&context, &statement, &mut found);
        if !in_blocks.is_empty() {
            // What the file's DO blocks run: the destructive rules judge it at its own
            // lines.
            for inner in embedded::statements(context.source(), &statement) {
                blocks.statement(&context, &inner, &mut found);
            }
        }
        if let (Some(severity), Some(error)) = (unparsed_severity, &statement.parse_error) {
            unparsed.push(unparsed_finding(&context, &statement, error, severity));
        }
        context.advance(&statement);
    }
    top.finish(&context, &mut found);
    blocks.finish(&context, &mut found);
    found.sort_by_key(|(rule, diagnostic)| (diagnostic.span.start, rule.id));
    let mut findings: Vec<Finding> = found
        .into_iter()
        .map(|(rule, diagnostic)| Finding {
            rule: rule.id,
            severity: diagnostic.severity.unwrap_or(rule.severity),
            location: Some(Location {
                file: context.migration.path.clone(),
                span: diagnostic.span,
            }),
            message: diagnostic.message,
            help: diagnostic.help,
        })
        .collect();
    findings.extend(unparsed);
    (findings, context)
}

fn unparsed_finding(
    context: &FileContext<'_>,
    statement: &ParsedStatement,
    error: &str,
    severity: Severity,
) -> Finding {
    Finding {
        rule: registry::UNPARSED.id,
        severity,
        location: Some(Location {
            file: context.migration.path.clone(),
            span: statement.head(),
        }),
        message: format!(
            "sqlparser cannot read this statement ({error}); only the rules that work from its keywords checked it"
        ),
        help: Some("nothing to do: the shadow run still applies and checks it".to_string()),
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Files whose findings depend on the earlier files and on earlier statements of the
    /// same file.
    fn project() -> (tempfile::TempDir, Discovery) {
        let dir = tempfile::tempdir().expect("temp dir");
        for index in 0..40 {
            let mut sql = format!(
                "CREATE TABLE t{index} (id bigint PRIMARY KEY, code text);\n\
                 INSERT INTO t{index} (id) VALUES (1) ON CONFLICT (code) DO NOTHING;\n"
            );
            if index > 0 {
                let earlier = index - 1;
                sql.push_str(&format!(
                    "ALTER TABLE t{earlier} DROP COLUMN code;\n\
                     CREATE INDEX CONCURRENTLY i{index} ON t{earlier} (id);\n\
                     UPDATE t{earlier} SET id = id + 1;\n\
                     INSERT INTO t{earlier} (id) VALUES (2) ON CONFLICT (id) DO NOTHING;\n"
                ));
            }
            sql.push_str(&"SELECT 1;\n".repeat(100));
            std::fs::write(dir.path().join(format!("{:04}_m.sql", index + 1)), sql).expect("write");
        }
        let discovery = crate::migration::discover(dir.path()).expect("discover");
        (dir, discovery)
    }

    #[test]
    fn parsing_threads_change_nothing_in_the_findings() {
        let (_dir, discovery) = project();
        let config = Config::default();
        let alone = findings_with(&discovery, &config, 0);
        assert!(
            alone
                .iter()
                .any(|f| f.rule == registry::ON_CONFLICT_NEEDS_UNIQUE.id),
            "the keys of earlier statements are known"
        );
        assert!(alone.iter().any(|f| f.rule == registry::NO_DROP_COLUMN.id));
        for workers in [1, 2, 5] {
            assert_eq!(
                findings_with(&discovery, &config, workers),
                alone,
                "{workers} workers"
            );
        }
        assert_eq!(
            workers(&discovery.migrations[..1]),
            0,
            "one file: no thread"
        );
    }
}
