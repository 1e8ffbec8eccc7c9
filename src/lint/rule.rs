//! What a rule is and what it sees: a [`RuleDef`] (its registry entry and its [`Check`]),
//! the [`FileContext`] of the file being linted, and the [`Diagnostic`]s it gives back.
//!
//! Rules see a file one statement at a time, in order, and never the statements after
//! the one in hand: the linter parses, judges and drops each statement in turn, so a
//! file of any size is linted in memory that follows its largest statement, not the
//! file. A rule that needs what comes later keeps what it is waiting for (a
//! [`Sequence`]) and settles it when a later statement or the file's end says.

use std::cell::OnceCell;

use crate::config::CliVersion;
use crate::findings::Severity;
use crate::findings::registry::Rule;
use crate::findings::span::Span;
use crate::lint::schema::Schema;
use crate::migration::MigrationFile;
use crate::sql::classify::{TxRole, leading_words, tx_role};
use crate::sql::names::table_key;
use crate::sql::statement::ParsedStatement;

/// A rule: its id and default severity (from the registry), and its check.
pub struct RuleDef {
    pub id: &'static str,
    pub severity: Severity,
    pub check: Check,
}

/// How a rule judges a file.
#[derive(Clone, Copy)]
pub enum Check {
    /// Each statement on its own, with what the statements before it built.
    Statement(fn(&FileContext<'_>, &ParsedStatement, &mut Vec<Diagnostic>)),
    /// The file's text and what the splitter found in it, no statement.
    File(fn(&FileContext<'_>, &mut Vec<Diagnostic>)),
    /// The statements in order, with a state of the rule's own for each file.
    Sequence(fn() -> Box<dyn Sequence>),
}

/// A rule that follows a file statement by statement.
pub trait Sequence {
    fn statement(
        &mut self,
        context: &FileContext<'_>,
        statement: &ParsedStatement,
        out: &mut Vec<Diagnostic>,
    );

    /// After the file's last statement: what was waiting for a later one.
    fn finish(&mut self, _context: &FileContext<'_>, _out: &mut Vec<Diagnostic>) {}
}

impl RuleDef {
    /// A rule that judges each statement on its own.
    pub const fn new(
        rule: Rule,
        check: fn(&FileContext<'_>, &ParsedStatement, &mut Vec<Diagnostic>),
    ) -> Self {
        Self::with(rule, Check::Statement(check))
    }

    /// A rule that judges the file's text.
    pub const fn file(rule: Rule, check: fn(&FileContext<'_>, &mut Vec<Diagnostic>)) -> Self {
        Self::with(rule, Check::File(check))
    }

    /// A rule that follows the statements with a state of its own (`start` makes a fresh
    /// one for each file).
    pub const fn sequence(rule: Rule, start: fn() -> Box<dyn Sequence>) -> Self {
        Self::with(rule, Check::Sequence(start))
    }

    const fn with(rule: Rule, check: Check) -> Self {
        RuleDef {
            id: rule.id,
            severity: rule.severity,
            check,
        }
    }
}

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

/// One file as the rules see it, at the statement in hand: what the migrations before
/// it and the file's earlier statements built.
pub struct FileContext<'a> {
    pub migration: &'a MigrationFile,
    /// The tables and their keys before the statement in hand.
    pub schema: Schema,
    /// Tables this file created so far, with the index of the statement that creates each.
    created: Vec<(usize, String)>,
    /// How many statements the file holds (comments aside), and the index of its last.
    count: usize,
    last: Option<usize>,
    /// Whether the file opens or ends a transaction block anywhere: read from the text
    /// when a rule first asks (one rule does, for a few CLI releases).
    authors_transactions: OnceCell<bool>,
    /// The Supabase CLI release that deploys the file.
    pub supabase_cli: CliVersion,
}

impl<'a> FileContext<'a> {
    /// The context at the file's first statement, with `schema` as the earlier files
    /// left it.
    pub fn new(migration: &'a MigrationFile, schema: Schema, supabase_cli: CliVersion) -> Self {
        FileContext {
            migration,
            schema,
            created: Vec::new(),
            count: migration.split.code().count(),
            last: migration.split.code().next_back().map(|(index, _)| index),
            authors_transactions: OnceCell::new(),
            supabase_cli,
        }
    }

    /// Moves past `statement`: what it creates is known to the statements after it.
    pub fn advance(&mut self, statement: &ParsedStatement) {
        match statement.ast.as_deref() {
            Some(ast) => {
                if let sqlparser::ast::Statement::CreateTable(create) = ast {
                    self.created
                        .push((statement.index, table_key(&create.name)));
                }
                self.schema.apply(ast);
            }
            None => self.schema.apply_unparsed(statement),
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

    /// How many statements the file holds (comments aside).
    pub fn statement_count(&self) -> usize {
        self.count
    }

    /// Whether `statement` is the file's last.
    pub fn is_last(&self, statement: &ParsedStatement) -> bool {
        self.last == Some(statement.index)
    }

    /// Whether the file opens or ends a transaction block of its own anywhere.
    pub fn authors_transactions(&self) -> bool {
        *self.authors_transactions.get_or_init(|| {
            self.migration.split.code().any(|(_, statement)| {
                matches!(
                    tx_role(statement.text(self.source())),
                    TxRole::Begin | TxRole::Commit | TxRole::Abort
                )
            })
        })
    }

    /// The file's statements led by `keywords`, parsed again: for the rare judgment
    /// that turns on a statement after the one in hand.
    pub fn statements_led_by<'k>(
        &'k self,
        keywords: &'k [&str],
    ) -> impl Iterator<Item = ParsedStatement> + 'k {
        let source = self.source();
        self.migration
            .split
            .code()
            .filter(move |(_, statement)| {
                leading_words(statement.text(source), keywords.len()) == keywords
            })
            .map(move |(index, statement)| ParsedStatement::new(source, index, statement))
    }

    pub fn source(&self) -> &str {
        &self.migration.source
    }

    /// The text of `span` as a message quotes it: whitespace runs folded to one space.
    pub fn quoted(&self, span: Span) -> String {
        span.slice(self.source())
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    }
}
