//! `require-lock-timeout`: a statement that takes a strong lock on a table that may hold
//! data, with no `SET lock_timeout` before it in the file.
//!
//! Why, and what to write instead: docs/rules/require-lock-timeout.md.

use crate::findings::registry;
use crate::sql::names::{name_at, table_key};
use std::collections::HashSet;

use sqlparser::ast::{AlterViewOperation, LockTableMode, ObjectType, Reset, Set, Statement};
use sqlparser::tokenizer::Token;

use crate::lint::rule::{Diagnostic, FileContext, RuleDef, Sequence};
use crate::report::model::with_article;
use crate::sql::statement::ParsedStatement;

use crate::findings::span::Span;

use super::support::{alter_table, head_through, position, table_after_on};

pub const RULE: RuleDef = RuleDef::sequence(registry::REQUIRE_LOCK_TIMEOUT, || {
    Box::new(FirstUnguarded::new("lock_timeout", locking, diagnostic))
});

/// What to write instead, for the lint's finding and the shadow's alike.
pub const HELP: &str = "put `SET lock_timeout = '5s';` at the top of the file (one SET covers every statement after it), and retry the migration when it times out";

fn diagnostic(lock: Locking) -> Diagnostic {
    let blocked = lock.blocked();
    Diagnostic::new(
        lock.span,
        format!(
            "{} takes {} lock on {}, and no lock_timeout is set before it in this file: while it waits for the lock behind a long-running query, {blocked} queue behind it",
            lock.what,
            with_article(lock.mode),
            lock.target
        ),
    )
    .help(HELP)
}

/// A statement that takes a strong table lock.
pub(super) struct Locking {
    /// The statement's leading keywords.
    pub span: Span,
    /// What the statement is (`ALTER TABLE`, `CREATE INDEX`, …).
    pub what: String,
    /// The table (or "a table" when unknown).
    pub target: String,
    /// The lock mode.
    pub mode: &'static str,
}

impl Locking {
    /// Which queries the lock blocks.
    pub fn blocked(&self) -> String {
        if self.what == "REINDEX" {
            format!("queries that use {}", self.target)
        } else if self.mode == "ACCESS EXCLUSIVE" {
            format!("all reads and writes of {}", self.target)
        } else {
            format!("all writes to {}", self.target)
        }
    }
}

const ACCESS_EXCLUSIVE: &str = "ACCESS EXCLUSIVE";
const SHARE: &str = "SHARE";
const SHARE_ROW_EXCLUSIVE: &str = "SHARE ROW EXCLUSIVE";

/// The first statement of the file that takes a strong lock on a table that may hold
/// data while `setting` is not set (to something other than zero) by an earlier
/// statement.
/// The first statement `judge` finds (a lock taken, work that runs long) while
/// `setting` is not in force: each file's first only, since one SET at the top covers
/// them all.
pub(super) struct FirstUnguarded<T> {
    setting: &'static str,
    judge: Judge<T>,
    report: fn(T) -> Diagnostic,
    /// Whether the setting is in force.
    set: bool,
    /// Indexes and materialized views this file built: locking them blocks no one.
    own: HashSet<String>,
    found: bool,
}

/// Whether a statement locks or runs long, given what the file built so far.
pub(super) type Judge<T> = fn(&FileContext<'_>, &ParsedStatement, &HashSet<String>) -> Option<T>;

impl<T> FirstUnguarded<T> {
    pub fn new(setting: &'static str, judge: Judge<T>, report: fn(T) -> Diagnostic) -> Self {
        FirstUnguarded {
            setting,
            judge,
            report,
            set: false,
            own: HashSet::new(),
            found: false,
        }
    }
}

impl<T> Sequence for FirstUnguarded<T> {
    fn statement(
        &mut self,
        context: &FileContext<'_>,
        statement: &ParsedStatement,
        out: &mut Vec<Diagnostic>,
    ) {
        if self.found {
            return;
        }
        if let Some(now) = sets(statement, self.setting) {
            self.set = now;
            return;
        }
        if !self.set
            && let Some(found) = (self.judge)(context, statement, &self.own)
        {
            out.push((self.report)(found));
            self.found = true;
            return;
        }
        match statement.ast.as_deref() {
            Some(Statement::CreateIndex(index)) => {
                self.own.extend(index.name.as_ref().map(table_key));
            }
            Some(Statement::CreateView(view)) if view.materialized => {
                self.own.insert(table_key(&view.name));
            }
            _ => {}
        }
    }
}

fn sets(statement: &ParsedStatement, setting: &str) -> Option<bool> {
    match statement.ast.as_deref() {
        Some(Statement::Set(Set::SingleAssignment {
            variable, values, ..
        })) => {
            if !variable.to_string().eq_ignore_ascii_case(setting) {
                return None;
            }
            let value = values.first().map(ToString::to_string).unwrap_or_default();
            Some(!is_zero(&value))
        }
        Some(Statement::Reset(reset)) => match &reset.reset {
            Reset::ALL => Some(false),
            Reset::ConfigurationParameter(name)
                if name.to_string().eq_ignore_ascii_case(setting) =>
            {
                Some(false)
            }
            _ => None,
        },
        _ => sets_from_tokens(statement, setting),
    }
}

/// `SET [LOCAL|SESSION] name {=|TO} value`, `RESET name`, and
/// `set_config('name', 'value', …)` anywhere in the statement (a `SELECT`).
fn sets_from_tokens(statement: &ParsedStatement, setting: &str) -> Option<bool> {
    let tokens = &statement.tokens;
    if statement.ast.is_none() && statement.starts_with(&["SET"]) {
        let mut at = 1;
        if tokens
            .get(at)
            .is_some_and(|t| t.is_word("LOCAL") || t.is_word("SESSION"))
        {
            at += 1;
        }
        if tokens.get(at).is_some_and(|t| t.is_word(setting)) {
            let value = tokens.get(at + 2).map(|t| t.token.to_string());
            return Some(!is_zero(&value.unwrap_or_default()));
        }
        return None;
    }
    if statement.ast.is_none() && statement.starts_with(&["RESET"]) {
        let name = tokens.get(1)?;
        return (name.is_word("ALL") || name.is_word(setting)).then_some(false);
    }
    tokens.windows(5).find_map(|window| {
        let [function, open, name, comma, value] = window else {
            return None;
        };
        let is_call = function.is_word("set_config")
            && open.token == Token::LParen
            && comma.token == Token::Comma
            && matches!(&name.token, Token::SingleQuotedString(s) if s.eq_ignore_ascii_case(setting));
        if !is_call {
            return None;
        }
        match &value.token {
            Token::SingleQuotedString(value) => Some(!is_zero(value)),
            _ => Some(true),
        }
    })
}

/// `0`, `'0'`, `'0s'`, `DEFAULT`: no timeout.
fn is_zero(value: &str) -> bool {
    let value = value.trim().trim_matches('\'').trim();
    if value.eq_ignore_ascii_case("default") || value.is_empty() {
        return true;
    }
    let number = value.trim_end_matches(|c: char| c.is_ascii_alphabetic() || c == ' ');
    number.parse::<f64>().is_ok_and(|n| n == 0.0)
}

/// The strong lock `statement` takes on a table that may hold data, if any.
pub(super) fn locking(
    context: &FileContext<'_>,
    statement: &ParsedStatement,
    own: &HashSet<String>,
) -> Option<Locking> {
    let holds = |table: &str| context.holds_data(table, statement.index);
    let lock = |what: &str, words: &[&str], target: String, mode| {
        Some(Locking {
            span: head_through(statement, words, 6),
            what: what.to_string(),
            target,
            mode,
        })
    };
    let Some(ast) = statement.ast.as_deref() else {
        return locking_from_tokens(context, statement, own);
    };
    match ast {
        Statement::AlterTable(_) => {
            let alter = alter_table(statement)?;
            let mode = alter_table_mode(&alter.actions)?;
            if !holds(&alter.table) {
                return None;
            }
            lock("ALTER TABLE", &["TABLE"], alter.table, mode)
        }
        Statement::AlterView(view) => {
            let renames = matches!(
                view.operation,
                AlterViewOperation::RenameTo { .. } | AlterViewOperation::RenameColumn { .. }
            );
            let name = table_key(&view.name);
            if !renames || own.contains(&name) || !holds(&name) {
                return None;
            }
            let what = if view.materialized {
                "ALTER MATERIALIZED VIEW … RENAME"
            } else {
                "ALTER VIEW … RENAME"
            };
            lock(what, &["VIEW"], name, ACCESS_EXCLUSIVE)
        }
        Statement::CreateIndex(index) => {
            let table = table_key(&index.table_name);
            if index.concurrently || !holds(&table) {
                return None;
            }
            lock("CREATE INDEX", &["INDEX"], table, SHARE)
        }
        Statement::Drop {
            object_type: ObjectType::Table,
            names,
            ..
        } => {
            let table = names.iter().map(table_key).find(|table| holds(table))?;
            lock("DROP TABLE", &["TABLE"], table, ACCESS_EXCLUSIVE)
        }
        Statement::Drop {
            object_type: ObjectType::Index,
            names,
            ..
        } => {
            let index = names
                .iter()
                .map(table_key)
                .find(|index| !own.contains(index))?;
            let target = format!("the table of index {index}");
            lock("DROP INDEX", &["INDEX"], target, ACCESS_EXCLUSIVE)
        }
        Statement::Truncate(truncate) => {
            let table = truncate
                .table_names
                .iter()
                .map(|target| table_key(&target.name))
                .find(|table| holds(table))?;
            lock("TRUNCATE", &["TRUNCATE"], table, ACCESS_EXCLUSIVE)
        }
        Statement::CreateTrigger(trigger) => {
            let table = table_key(&trigger.table_name);
            if !holds(&table) {
                return None;
            }
            lock("CREATE TRIGGER", &["TRIGGER"], table, SHARE_ROW_EXCLUSIVE)
        }
        // Measured in a real Postgres: policy DDL takes ACCESS EXCLUSIVE on its table.
        Statement::CreatePolicy(policy) => {
            let table = table_key(&policy.table_name);
            holds(&table).then_some(())?;
            lock("CREATE POLICY", &["POLICY"], table, ACCESS_EXCLUSIVE)
        }
        Statement::AlterPolicy(policy) => {
            let table = table_key(&policy.table_name);
            holds(&table).then_some(())?;
            lock("ALTER POLICY", &["POLICY"], table, ACCESS_EXCLUSIVE)
        }
        Statement::DropPolicy(policy) => {
            let table = table_key(&policy.table_name);
            holds(&table).then_some(())?;
            lock("DROP POLICY", &["POLICY"], table, ACCESS_EXCLUSIVE)
        }
        Statement::Vacuum(vacuum) if vacuum.full => {
            let target = match &vacuum.table_name {
                Some(name) => table_key(name),
                None => "every table of the database".to_string(),
            };
            if vacuum.table_name.is_some() && !holds(&target) {
                return None;
            }
            lock("VACUUM FULL", &["FULL"], target, ACCESS_EXCLUSIVE)
        }
        Statement::RefreshMaterializedView(refresh) => {
            let name = table_key(&refresh.name);
            if refresh.concurrently || own.contains(&name) || !holds(&name) {
                return None;
            }
            lock(
                "REFRESH MATERIALIZED VIEW",
                &["VIEW"],
                name,
                ACCESS_EXCLUSIVE,
            )
        }
        Statement::Lock(locks) => {
            let strong = match locks.lock_mode {
                None => Some(ACCESS_EXCLUSIVE),
                Some(LockTableMode::AccessExclusive) => Some(ACCESS_EXCLUSIVE),
                Some(LockTableMode::Exclusive) => Some("EXCLUSIVE"),
                Some(LockTableMode::ShareRowExclusive) => Some(SHARE_ROW_EXCLUSIVE),
                Some(LockTableMode::Share) => Some(SHARE),
                Some(_) => None,
            }?;
            let table = locks
                .tables
                .iter()
                .map(|target| table_key(&target.name))
                .find(|table| holds(table))?;
            lock("LOCK TABLE", &["TABLE"], table, strong)
        }
        _ => None,
    }
}

/// The same judgement from the tokens of a statement sqlparser cannot read.
/// The strongest lock an `ALTER TABLE` with `actions` takes, when it blocks writes or
/// more (as the Postgres page lists each action's, and the lock matrix measures):
/// VALIDATE, DETACH … CONCURRENTLY, SET/RESET of storage parameters, SET STATISTICS
/// and CLUSTER ON take SHARE UPDATE EXCLUSIVE, which blocks neither; a new foreign key
/// and ENABLE/DISABLE TRIGGER take SHARE ROW EXCLUSIVE; the rest ACCESS EXCLUSIVE.
fn alter_table_mode(actions: &[&[crate::sql::statement::Tok]]) -> Option<&'static str> {
    let mut strongest = None;
    for action in actions {
        let first = |word: &str| action.first().is_some_and(|t| t.is_word(word));
        let has = |word: &str| action.iter().any(|t| t.is_word(word));
        let weak = first("VALIDATE")
            || (first("DETACH") && has("CONCURRENTLY"))
            || ((first("SET") || first("RESET"))
                && action.get(1).is_some_and(|t| t.token == Token::LParen))
            || (first("ALTER") && has("STATISTICS"))
            || (first("CLUSTER") && has("ON"))
            || (first("SET") && has("WITHOUT") && has("CLUSTER"));
        if weak {
            continue;
        }
        let share_row = ((first("ENABLE") || first("DISABLE")) && has("TRIGGER"))
            || (first("ADD") && has("FOREIGN"));
        if !share_row {
            return Some(ACCESS_EXCLUSIVE);
        }
        strongest = Some(SHARE_ROW_EXCLUSIVE);
    }
    strongest
}

fn locking_from_tokens(
    context: &FileContext<'_>,
    statement: &ParsedStatement,
    own: &HashSet<String>,
) -> Option<Locking> {
    let tokens = &statement.tokens;
    let holds = |table: &str| context.holds_data(table, statement.index);
    // A name after the leading keywords and an optional `IF EXISTS` / `ONLY`.
    let name_after = |at: usize| {
        let mut at = at;
        if position(&tokens[at.min(tokens.len())..], &["IF", "EXISTS"]) == Some(0) {
            at += 2;
        }
        if tokens.get(at).is_some_and(|t| t.is_word("ONLY")) {
            at += 1;
        }
        name_at(tokens, at).map(|(name, _)| name)
    };
    let unknown = || "a table".to_string();
    let (what, words, target, mode): (&str, &[&str], String, &'static str) =
        if let Some(alter) = alter_table(statement) {
            let mode = alter_table_mode(&alter.actions)?;
            if !holds(&alter.table) {
                return None;
            }
            ("ALTER TABLE", &["TABLE"], alter.table, mode)
        } else if statement.starts_with(&["CREATE"])
            && position(&tokens[..tokens.len().min(4)], &["INDEX"]).is_some()
        {
            if statement.has_word("CONCURRENTLY") {
                return None;
            }
            let table = table_after_on(tokens).unwrap_or_else(unknown);
            if !holds(&table) {
                return None;
            }
            ("CREATE INDEX", &["INDEX"], table, SHARE)
        } else if statement.starts_with(&["CREATE"])
            && position(&tokens[..tokens.len().min(5)], &["TRIGGER"]).is_some()
        {
            let table = table_after_on(tokens).unwrap_or_else(unknown);
            if !holds(&table) {
                return None;
            }
            ("CREATE TRIGGER", &["TRIGGER"], table, SHARE_ROW_EXCLUSIVE)
        } else if let Some(what) = ["CREATE", "ALTER", "DROP"]
            .into_iter()
            .find(|verb| statement.starts_with(&[verb, "POLICY"]))
        {
            let table = table_after_on(tokens).unwrap_or_else(unknown);
            if !holds(&table) {
                return None;
            }
            let what = match what {
                "CREATE" => "CREATE POLICY",
                "ALTER" => "ALTER POLICY",
                _ => "DROP POLICY",
            };
            (what, &["POLICY"], table, ACCESS_EXCLUSIVE)
        } else if statement.starts_with(&["DROP", "TABLE"]) {
            let table = name_after(2).unwrap_or_else(unknown);
            if !holds(&table) {
                return None;
            }
            ("DROP TABLE", &["TABLE"], table, ACCESS_EXCLUSIVE)
        } else if statement.starts_with(&["DROP", "INDEX"]) {
            if statement.has_word("CONCURRENTLY") {
                return None;
            }
            let index = name_after(2);
            if index.as_ref().is_some_and(|index| own.contains(index)) {
                return None;
            }
            let target = index.map_or_else(
                || "the index's table".to_string(),
                |index| format!("the table of index {index}"),
            );
            ("DROP INDEX", &["INDEX"], target, ACCESS_EXCLUSIVE)
        } else if statement.starts_with(&["TRUNCATE"]) {
            let at = if statement.starts_with(&["TRUNCATE", "TABLE"]) {
                2
            } else {
                1
            };
            let table = name_after(at).unwrap_or_else(unknown);
            if !holds(&table) {
                return None;
            }
            ("TRUNCATE", &["TRUNCATE"], table, ACCESS_EXCLUSIVE)
        } else if statement.starts_with(&["VACUUM"]) && statement.has_word("FULL") {
            let table = tokens
                .iter()
                .rposition(|t| matches!(t.token, Token::RParen) || t.is_word("FULL"))
                .and_then(|at| name_at(tokens, at + 1))
                .map(|(name, _)| name);
            if table.as_ref().is_some_and(|table| !holds(table)) {
                return None;
            }
            let target = table.unwrap_or_else(|| "every table of the database".to_string());
            ("VACUUM FULL", &["FULL"], target, ACCESS_EXCLUSIVE)
        } else if statement.starts_with(&["REINDEX"]) {
            // REINDEX [ ( options ) ] { INDEX | TABLE } [ CONCURRENTLY ] name: ACCESS
            // EXCLUSIVE on each index it rebuilds (queries that would use it wait), SHARE
            // on the table.
            if statement.has_word("CONCURRENTLY") {
                return None;
            }
            let kind = tokens
                .iter()
                .position(|t| t.is_word("INDEX") || t.is_word("TABLE"))?;
            let name = name_at(tokens, kind + 1).map(|(name, _)| name)?;
            let target = if tokens[kind].is_word("INDEX") {
                if own.contains(&name) {
                    return None;
                }
                format!("the index {name}")
            } else {
                if !holds(&name) {
                    return None;
                }
                format!("the indexes of {name}")
            };
            ("REINDEX", &["REINDEX"], target, ACCESS_EXCLUSIVE)
        } else if statement.starts_with(&["CLUSTER"]) {
            let at = if statement.starts_with(&["CLUSTER", "VERBOSE"]) {
                2
            } else {
                1
            };
            let table = name_at(tokens, at).map(|(name, _)| name);
            if table.as_ref().is_some_and(|table| !holds(table)) {
                return None;
            }
            let target = table.unwrap_or_else(|| "every clustered table".to_string());
            ("CLUSTER", &["CLUSTER"], target, ACCESS_EXCLUSIVE)
        } else if statement.starts_with(&["REFRESH", "MATERIALIZED", "VIEW"]) {
            if statement.has_word("CONCURRENTLY") {
                return None;
            }
            let view = name_after(3).unwrap_or_else(|| "a materialized view".to_string());
            if own.contains(&view) || !holds(&view) {
                return None;
            }
            (
                "REFRESH MATERIALIZED VIEW",
                &["VIEW"],
                view,
                ACCESS_EXCLUSIVE,
            )
        } else if statement.starts_with(&["LOCK"]) {
            let weak = [
                "ACCESS SHARE",
                "ROW SHARE",
                "ROW EXCLUSIVE",
                "SHARE UPDATE EXCLUSIVE",
            ]
            .iter()
            .any(|mode| {
                let words: Vec<&str> = mode.split(' ').collect();
                let mut run = vec!["IN"];
                run.extend(words);
                run.push("MODE");
                statement.find(&run).is_some()
            });
            if weak {
                return None;
            }
            let at = if statement.starts_with(&["LOCK", "TABLE"]) {
                2
            } else {
                1
            };
            let table = name_after(at).unwrap_or_else(unknown);
            if !holds(&table) {
                return None;
            }
            ("LOCK TABLE", &["TABLE"], table, ACCESS_EXCLUSIVE)
        } else {
            return None;
        };
    Some(Locking {
        span: head_through(statement, words, 6),
        what: what.to_string(),
        target,
        mode,
    })
}

#[cfg(test)]
mod tests {
    use crate::lint::test_utils::{assert_ok, render_err};

    #[test]
    fn ok() {
        assert_ok(
            &super::RULE,
            include_str!("fixtures/require-lock-timeout/ok.sql"),
        );
    }

    #[test]
    fn err() {
        insta::assert_snapshot!(render_err(
            &super::RULE,
            include_str!("fixtures/require-lock-timeout/err.sql")
        ));
    }
}
