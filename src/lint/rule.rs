//! What a rule is and what it sees: a [`RuleDef`] (its registry entry and its check),
//! the [`FileContext`] of one file, and the [`Diagnostic`]s it gives back.

use crate::config::CliVersion;
use crate::findings::Severity;
use crate::findings::registry::Rule;
use crate::findings::span::Span;
use crate::lint::schema::Schema;
use crate::migration::MigrationFile;
use crate::sql::names::table_key;
use crate::sql::statement::ParsedStatement;

/// A rule: its id and default severity (from the registry), and its check.
pub struct RuleDef {
    pub id: &'static str,
    pub severity: Severity,
    pub check: fn(&FileContext<'_>, &mut Vec<Diagnostic>),
}

impl RuleDef {
    pub const fn new(rule: Rule, check: fn(&FileContext<'_>, &mut Vec<Diagnostic>)) -> Self {
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

/// One file as the rules see it, with what the migrations before it built.
pub struct FileContext<'a> {
    pub migration: &'a MigrationFile,
    pub statements: Vec<ParsedStatement>,
    /// The schema as the earlier files left it.
    pub before: &'a Schema,
    /// Tables this file creates, with the index of the statement that creates each.
    created: Vec<(usize, String)>,
    /// The Supabase CLI release that deploys the file.
    pub supabase_cli: CliVersion,
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
            supabase_cli: CliVersion::default(),
        }
    }

    /// The same file seen through other statements (those a `DO` block runs).
    pub fn nested(&self, statements: Vec<ParsedStatement>) -> FileContext<'a> {
        FileContext {
            migration: self.migration,
            statements,
            before: self.before,
            created: self.created.clone(),
            supabase_cli: self.supabase_cli,
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

    /// The text of `span` as a message quotes it: whitespace runs folded to one space.
    pub fn quoted(&self, span: Span) -> String {
        span.slice(self.source())
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    }
}
