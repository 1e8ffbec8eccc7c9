//! `require-statement-timeout`: a statement that can run for a long time while it holds a
//! lock on a table that may hold data (a rewrite or a full scan of an existing table),
//! with no `SET statement_timeout` before it in the file.
//!
//! Why, and what to write instead: docs/rules/require-statement-timeout.md.

use crate::findings::registry;
use crate::sql::names::{name_at, table_key, word_key};
use std::collections::HashSet;

use sqlparser::ast::Statement;
use sqlparser::tokenizer::Token;

use crate::lint::rule::{Diagnostic, FileContext, RuleDef};
use crate::sql::statement::{ParsedStatement, Tok};

use crate::findings::span::Span;

use super::no_unbounded_dml::{Rows, dml};
use super::require_lock_timeout::FirstUnguarded;
use super::support::{
    AlterTable, SERIAL, added_constraint, adds_constraint, alter_table, head_through, position,
    span_of, table_after_on,
};
use super::volatile_default::{NOT_VOLATILE, VOLATILE, default_end};

pub const RULE: RuleDef = RuleDef::sequence(registry::REQUIRE_STATEMENT_TIMEOUT, || {
    Box::new(FirstUnguarded::new(
        "statement_timeout",
        long_running,
        diagnostic,
    ))
});

fn diagnostic(long: LongRunning) -> Diagnostic {
    Diagnostic::new(
        long.span,
        format!(
            "{} {}, holding {}, and no statement_timeout is set before it in this file: nothing stops it if it runs for minutes on a large table",
            long.what, long.work, long.holding
        ),
    )
    .help("put `SET statement_timeout = '…';` at the top of the file, with a bound the application can live with (such as '60s'): one SET covers the whole file, and a statement that runs longer is cancelled, the migration rolls back and its locks are released")
}

/// A statement that can run long while it holds a lock on a table that holds data.
struct LongRunning {
    span: Span,
    /// The statement, and for an `ALTER TABLE` the action (`ALTER TABLE … ALTER COLUMN
    /// status TYPE`).
    what: String,
    /// Why it runs long (`rewrites every row of the table`).
    work: String,
    /// The lock it holds meanwhile, and who waits.
    holding: String,
}

/// Table lock modes, weakest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Lock {
    ShareUpdateExclusive,
    Share,
    ShareRowExclusive,
    AccessExclusive,
}

impl Lock {
    /// "an ACCESS EXCLUSIVE lock on t (all reads and writes of it wait)".
    fn on(self, target: &str) -> String {
        match self {
            Lock::AccessExclusive => {
                format!("an ACCESS EXCLUSIVE lock on {target} (all reads and writes of it wait)")
            }
            Lock::ShareRowExclusive => {
                format!("a SHARE ROW EXCLUSIVE lock on {target} (all writes to it wait)")
            }
            Lock::Share => format!("a SHARE lock on {target} (all writes to it wait)"),
            Lock::ShareUpdateExclusive => format!(
                "a SHARE UPDATE EXCLUSIVE lock on {target} (reads and writes of it go on, but every lock the migration took before it stays held while it runs)"
            ),
        }
    }
}

/// Why `statement` can run long on a table that may hold data, if it can.
fn long_running(
    context: &FileContext<'_>,
    statement: &ParsedStatement,
    own: &HashSet<String>,
) -> Option<LongRunning> {
    if let Some(table) = alter_table(statement) {
        return alter(context, statement, &table);
    }
    let holds = |table: &str| !own.contains(table) && context.holds_data(table, statement.index);
    if statement.starts_with(&["CREATE"])
        && position(
            &statement.tokens[..3.min(statement.tokens.len())],
            &["INDEX"],
        )
        .is_some()
    {
        return create_index(statement, holds);
    }
    if statement.starts_with(&["REINDEX"]) {
        return reindex(statement, holds);
    }
    if statement.starts_with(&["CLUSTER"]) {
        return cluster(statement, holds);
    }
    if statement.starts_with(&["VACUUM"]) {
        return vacuum(statement, holds);
    }
    if statement.starts_with(&["REFRESH", "MATERIALIZED", "VIEW"]) {
        return refresh(statement, holds);
    }
    dml(context, statement)
        .into_iter()
        .find(|dml| context.holds_data(&dml.table, statement.index))
        .map(|dml| {
            let (what, verb) = if dml.delete {
                ("DELETE", "deletes")
            } else {
                ("UPDATE", "writes a new version of")
            };
            let rows = match dml.rows {
                Rows::Some => " that its WHERE matches",
                Rows::All | Rows::AlwaysTrue(_) => "",
            };
            LongRunning {
                span: dml.span,
                what: what.to_string(),
                work: format!("{verb} every row of {}{rows}", dml.table),
                holding: "a lock on each row it changes until the migration commits (other writes to those rows wait)".to_string(),
            }
        })
}

/// `ALTER TABLE`: the first action that rewrites or scans the table.
fn alter(
    context: &FileContext<'_>,
    statement: &ParsedStatement,
    alter: &AlterTable<'_>,
) -> Option<LongRunning> {
    if !context.holds_data(&alter.table, statement.index) {
        return None;
    }
    let (span, work, references) = alter
        .actions
        .iter()
        .find_map(|action| slow_action(context, &alter.table, action))?;
    let lock = alter
        .actions
        .iter()
        .map(|action| action_lock(action))
        .max()?;
    let holding = match references {
        Some(references) if lock == Lock::ShareRowExclusive => format!(
            "a SHARE ROW EXCLUSIVE lock on {} and on {references} (all writes to both wait)",
            alter.table
        ),
        Some(references) => format!(
            "{} and a SHARE ROW EXCLUSIVE lock on {references} (all writes to it wait)",
            lock.on(&alter.table)
        ),
        None => lock.on(&alter.table),
    };
    Some(LongRunning {
        span,
        what: format!("ALTER TABLE … {}", context.quoted(span)),
        work,
        holding,
    })
}

/// The lock an `ALTER TABLE` action takes.
fn action_lock(action: &[Tok]) -> Lock {
    let word = |at: usize| action.get(at).and_then(Tok::word).unwrap_or_default();
    match word(0).as_str() {
        "VALIDATE" => Lock::ShareUpdateExclusive,
        "ADD" if added_constraint(action).is_some_and(|(_, kind)| kind.is_word("FOREIGN")) => {
            Lock::ShareRowExclusive
        }
        "ENABLE" | "DISABLE" if action.iter().any(|t| t.is_word("TRIGGER")) => {
            Lock::ShareRowExclusive
        }
        "CLUSTER" => Lock::ShareUpdateExclusive,
        "SET" if word(1) == "WITHOUT" && word(2) == "CLUSTER" => Lock::ShareUpdateExclusive,
        "ALTER" if position(action, &["SET", "STATISTICS"]).is_some() => Lock::ShareUpdateExclusive,
        _ => Lock::AccessExclusive,
    }
}

/// An `ALTER TABLE` action that rewrites or scans the table: what to point at, why it
/// runs long, and the table a foreign key references.
fn slow_action(
    context: &FileContext<'_>,
    table: &str,
    action: &[Tok],
) -> Option<(Span, String, Option<String>)> {
    let through = |end: usize| span_of(&action[..=end.min(action.len() - 1)]);
    let rewrite = "rewrites every row of the table".to_string();
    let first = action.first()?;
    if first.is_word("ADD") && adds_constraint(action) {
        if position(action, &["NOT", "VALID"]).is_some()
            || position(action, &["USING", "INDEX"]).is_some()
        {
            return None;
        }
        let (_, kind) = added_constraint(action)?;
        let at = action.iter().position(|t| std::ptr::eq(t, kind))?;
        let end = if kind.is_word("PRIMARY") || kind.is_word("FOREIGN") {
            at + 1
        } else {
            at
        };
        let (work, references) = match kind.word().as_deref() {
            Some("CHECK") => ("scans every row of the table to check it".to_string(), None),
            Some("FOREIGN") => (
                "scans every row of the table to check the foreign key".to_string(),
                references(action),
            ),
            _ => (
                "reads every row of the table to build the constraint's index".to_string(),
                None,
            ),
        };
        return Some((through(end)?, work, references));
    }
    if first.is_word("ADD") {
        return added_column(action)
            .map(|(end, work, references)| (through(end).unwrap_or(first.span), work, references));
    }
    if first.is_word("ALTER") {
        if action.get(1)?.is_word("CONSTRAINT") {
            return None;
        }
        let at = if action.get(1)?.is_word("COLUMN") {
            2
        } else {
            1
        };
        let column = word_key(action.get(at)?)?;
        let rest = &action[at + 1..];
        let word = |index: usize| rest.get(index).and_then(Tok::word).unwrap_or_default();
        let (end, work) = match (word(0).as_str(), word(1).as_str(), word(2).as_str()) {
            ("TYPE", _, _) => (
                at + 1,
                "rewrites every row of the table and rebuilds its indexes".to_string(),
            ),
            ("SET", "DATA", "TYPE") => (
                at + 3,
                "rewrites every row of the table and rebuilds its indexes".to_string(),
            ),
            ("SET", "EXPRESSION", _) => (
                at + 2,
                format!("rewrites every row of the table to recompute {column}"),
            ),
            ("SET", "NOT", "NULL") => {
                if drops_not_null_check(context, table, &column) {
                    return None;
                }
                (
                    at + 3,
                    format!("scans every row of the table for NULLs in {column}"),
                )
            }
            _ => return None,
        };
        return Some((through(end)?, work, None));
    }
    let word = |index: usize| action.get(index).and_then(Tok::word).unwrap_or_default();
    let (end, work) = match (word(0).as_str(), word(1).as_str(), word(2).as_str()) {
        ("VALIDATE", "CONSTRAINT", _) => {
            (2, "scans every row of the table to check it".to_string())
        }
        ("SET", "LOGGED" | "UNLOGGED", _) => (1, rewrite),
        ("SET", "ACCESS", "METHOD") => (2, rewrite),
        ("SET", "TABLESPACE", _) => (
            1,
            "copies all of the table to the new tablespace".to_string(),
        ),
        _ => return None,
    };
    Some((through(end)?, work, None))
}

/// `ADD [COLUMN] [IF NOT EXISTS] name type …` that rewrites or scans the table: the index
/// of the last token to point at, why, and the table an inline `REFERENCES` names.
fn added_column(action: &[Tok]) -> Option<(usize, String, Option<String>)> {
    let mut at = if action.get(1)?.is_word("COLUMN") {
        2
    } else {
        1
    };
    if action.get(at)?.is_word("IF") {
        at += 3;
    }
    let column = word_key(action.get(at)?)?;
    let start = at + 1;
    // The clauses after the type, outside parentheses: (index, upper-cased word).
    let mut words: Vec<(usize, String)> = Vec::new();
    let mut depth = 0usize;
    for (index, token) in action.iter().enumerate().skip(start) {
        match token.token {
            Token::LParen | Token::LBracket => depth += 1,
            Token::RParen | Token::RBracket => depth = depth.saturating_sub(1),
            _ if depth == 0 => words.extend(token.word().map(|word| (index, word))),
            _ => {}
        }
    }
    let find = |word: &str| {
        words
            .iter()
            .find(|(_, w)| w == word)
            .map(|(index, _)| *index)
    };
    let fill = format!("rewrites every row of the table to fill {column}");
    if let Some(kind) = action.get(start).and_then(Tok::word)
        && SERIAL.contains(&kind.to_lowercase().as_str())
    {
        return Some((start, format!("{fill} from a sequence"), None));
    }
    if let Some(identity) = find("IDENTITY") {
        return Some((identity, format!("{fill} from a sequence"), None));
    }
    if let Some(stored) = find("STORED") {
        return Some((
            stored,
            format!("rewrites every row of the table to compute the generated column {column}"),
            None,
        ));
    }
    let default = words
        .iter()
        .find(|(index, word)| word == "DEFAULT" && !action[index - 1].is_word("BY"))
        .map(|(index, _)| *index);
    if let Some(default) = default {
        let end = default_end(action, default);
        match volatility(&action[default + 1..end]) {
            Some(Volatility::Volatile(function)) => {
                return Some((
                    end - 1,
                    format!(
                        "rewrites every row of the table (the volatile default {function}() is computed for each row)"
                    ),
                    None,
                ));
            }
            Some(Volatility::Unknown(function)) => {
                return Some((
                    end - 1,
                    format!(
                        "may rewrite every row of the table ({function}() is not known to be stable, and a volatile default is computed for each row)"
                    ),
                    None,
                ));
            }
            None => {}
        }
    }
    if let Some(at) = find("REFERENCES") {
        let references = name_at(action, at + 1).map(|(name, _)| name);
        return Some((
            at,
            "scans every row of the table to check the foreign key".to_string(),
            references,
        ));
    }
    if let Some(at) = find("CHECK") {
        return Some((
            at,
            "scans every row of the table to check it".to_string(),
            None,
        ));
    }
    if let Some(at) = find("UNIQUE").or_else(|| find("PRIMARY").map(|at| at + 1)) {
        return Some((
            at.min(action.len() - 1),
            format!("reads every row of the table to build the index for {column}"),
            None,
        ));
    }
    None
}

/// The table after `REFERENCES` in a constraint.
fn references(action: &[Tok]) -> Option<String> {
    let at = action.iter().position(|t| t.is_word("REFERENCES"))?;
    name_at(action, at + 1).map(|(name, _)| name)
}

/// Why a default expression is (or may be) computed per row.
enum Volatility {
    Volatile(String),
    Unknown(String),
}

/// The first volatile function a default expression calls, else the first it calls that
/// is not known to be stable; type names after `::` or `AS` (`numeric(10, 2)`) are not
/// calls.
fn volatility(expr: &[Tok]) -> Option<Volatility> {
    let mut unknown = None;
    let mut index = 0;
    while index < expr.len() {
        let token = &expr[index];
        index += 1;
        if token.token == Token::DoubleColon || token.is_word("AS") {
            while expr
                .get(index)
                .is_some_and(|t| matches!(t.token, Token::Word(_)))
            {
                index += 1;
            }
            if expr.get(index).is_some_and(|t| t.token == Token::LParen) {
                let mut depth = 0usize;
                while let Some(t) = expr.get(index) {
                    index += 1;
                    match t.token {
                        Token::LParen => depth += 1,
                        Token::RParen => {
                            depth -= 1;
                            if depth == 0 {
                                break;
                            }
                        }
                        _ => {}
                    }
                }
            }
            continue;
        }
        let Token::Word(word) = &token.token else {
            continue;
        };
        if expr.get(index).is_none_or(|t| t.token != Token::LParen) {
            continue;
        }
        let name = word.value.to_lowercase();
        if VOLATILE.contains(&name.as_str()) {
            return Some(Volatility::Volatile(word.value.clone()));
        }
        if !NOT_VOLATILE.contains(&name.as_str()) && unknown.is_none() {
            unknown = Some(Volatility::Unknown(word.value.clone()));
        }
    }
    unknown
}

/// Whether the file drops a constraint of `table` whose name has `column` as a
/// `_`-separated part: the last step of the `CHECK (column IS NOT NULL) NOT VALID`,
/// `VALIDATE`, `SET NOT NULL` recipe, where a valid check spares the scan.
fn drops_not_null_check(context: &FileContext<'_>, table: &str, column: &str) -> bool {
    let part = format!("_{column}_");
    context
        .statements_led_by(&["ALTER", "TABLE"])
        .any(|statement| {
            let Some(alter) = alter_table(&statement) else {
                return false;
            };
            alter.table == table
                && alter.actions.iter().any(|action| {
                    if !action.first().is_some_and(|t| t.is_word("DROP"))
                        || !action.get(1).is_some_and(|t| t.is_word("CONSTRAINT"))
                    {
                        return false;
                    }
                    let at = if position(action, &["IF", "EXISTS"]) == Some(2) {
                        4
                    } else {
                        2
                    };
                    action
                        .get(at)
                        .and_then(word_key)
                        .is_some_and(|name| format!("_{name}_").contains(&part))
                })
        })
}

/// `CREATE [UNIQUE] INDEX` without `CONCURRENTLY` (and not `ON ONLY` a partitioned
/// table, which builds nothing).
fn create_index(statement: &ParsedStatement, holds: impl Fn(&str) -> bool) -> Option<LongRunning> {
    let (table, concurrently, unique) = match statement.ast.as_deref() {
        Some(Statement::CreateIndex(index)) => (
            table_key(&index.table_name),
            index.concurrently,
            index.unique,
        ),
        _ => (
            table_after_on(&statement.tokens)?,
            statement.has_word("CONCURRENTLY"),
            statement.starts_with(&["CREATE", "UNIQUE"]),
        ),
    };
    if concurrently || statement.find(&["ON", "ONLY"]).is_some() || !holds(&table) {
        return None;
    }
    Some(LongRunning {
        span: head_through(statement, &["INDEX"], 3),
        what: if unique {
            "CREATE UNIQUE INDEX"
        } else {
            "CREATE INDEX"
        }
        .to_string(),
        work: "reads every row of the table to build the index".to_string(),
        holding: Lock::Share.on(&table),
    })
}

/// `REINDEX [(…)] {INDEX | TABLE | SCHEMA | DATABASE | SYSTEM} name` without
/// `CONCURRENTLY`.
fn reindex(statement: &ParsedStatement, holds: impl Fn(&str) -> bool) -> Option<LongRunning> {
    if statement.has_word("CONCURRENTLY") {
        return None;
    }
    let tokens = &statement.tokens;
    let at = skip_parens(tokens, 1);
    let kind = tokens.get(at)?.word()?;
    let name = name_at(tokens, at + 1).map(|(name, _)| name);
    let (work, holding) = match kind.as_str() {
        "INDEX" => {
            let index = name?;
            if !holds(&index) {
                return None;
            }
            (
                "rebuilds the index from every row of its table".to_string(),
                format!(
                    "an ACCESS EXCLUSIVE lock on {index} (queries that would use it wait) and a SHARE lock on its table (all writes to it wait)"
                ),
            )
        }
        "TABLE" => {
            let table = name?;
            if !holds(&table) {
                return None;
            }
            (
                "rebuilds every index of the table from every row".to_string(),
                format!(
                    "{} and an ACCESS EXCLUSIVE lock on each index being rebuilt",
                    Lock::Share.on(&table)
                ),
            )
        }
        _ => (
            "rebuilds every index of every table it names from every row".to_string(),
            "a SHARE lock on each table in turn (all writes to it wait)".to_string(),
        ),
    };
    Some(LongRunning {
        span: head_through(statement, &[kind.as_str()], at + 1),
        what: format!("REINDEX {kind}"),
        work,
        holding,
    })
}

/// `CLUSTER [VERBOSE | (…)] [table [USING index]]`, or `CLUSTER index ON table`.
fn cluster(statement: &ParsedStatement, holds: impl Fn(&str) -> bool) -> Option<LongRunning> {
    let tokens = &statement.tokens;
    let mut at = skip_parens(tokens, 1);
    if tokens.get(at).is_some_and(|t| t.is_word("VERBOSE")) {
        at += 1;
    }
    let table = if statement.has_word("ON") {
        table_after_on(tokens)
    } else {
        name_at(tokens, at).map(|(name, _)| name)
    };
    let holding = match &table {
        Some(table) if !holds(table) => return None,
        Some(table) => Lock::AccessExclusive.on(table),
        None => "an ACCESS EXCLUSIVE lock on every table clustered before, in turn (all reads and writes of it wait)".to_string(),
    };
    Some(LongRunning {
        span: head_through(statement, &["CLUSTER"], 1),
        what: "CLUSTER".to_string(),
        work: "rewrites every row of the table in index order".to_string(),
        holding,
    })
}

/// `VACUUM FULL [table]` or `VACUUM (FULL …) [table]`.
fn vacuum(statement: &ParsedStatement, holds: impl Fn(&str) -> bool) -> Option<LongRunning> {
    let tokens = &statement.tokens;
    let full = tokens.iter().enumerate().any(|(index, token)| {
        token.is_word("FULL")
            && !tokens
                .get(index + 1)
                .is_some_and(|next| next.is_word("FALSE") || next.is_word("OFF"))
    });
    if !full {
        return None;
    }
    let mut at = skip_parens(tokens, 1);
    while tokens.get(at).is_some_and(|t| {
        ["FULL", "FREEZE", "VERBOSE", "ANALYZE", "ANALYSE"]
            .iter()
            .any(|word| t.is_word(word))
    }) {
        at += 1;
    }
    let table = name_at(tokens, at).map(|(name, _)| name);
    let holding = match &table {
        Some(table) if !holds(table) => return None,
        Some(table) => Lock::AccessExclusive.on(table),
        None => "an ACCESS EXCLUSIVE lock on every table of the database, in turn (all reads and writes of it wait)".to_string(),
    };
    Some(LongRunning {
        span: head_through(statement, &["FULL"], 4),
        what: "VACUUM FULL".to_string(),
        work: "rewrites every row of the table".to_string(),
        holding,
    })
}

/// `REFRESH MATERIALIZED VIEW name` without `CONCURRENTLY` or `WITH NO DATA`.
fn refresh(statement: &ParsedStatement, holds: impl Fn(&str) -> bool) -> Option<LongRunning> {
    let tokens = &statement.tokens;
    if statement.has_word("CONCURRENTLY") || statement.find(&["WITH", "NO", "DATA"]).is_some() {
        return None;
    }
    let (view, _) = name_at(tokens, 3)?;
    if !holds(&view) {
        return None;
    }
    Some(LongRunning {
        span: head_through(statement, &["VIEW"], 3),
        what: "REFRESH MATERIALIZED VIEW".to_string(),
        work: "runs the view's query again and rewrites every row of the view".to_string(),
        holding: Lock::AccessExclusive.on(&view),
    })
}

/// The index after a parenthesized option list at `tokens[at]`, if there is one.
fn skip_parens(tokens: &[Tok], at: usize) -> usize {
    if tokens.get(at).is_none_or(|t| t.token != Token::LParen) {
        return at;
    }
    let mut depth = 0usize;
    for (index, token) in tokens.iter().enumerate().skip(at) {
        match token.token {
            Token::LParen => depth += 1,
            Token::RParen => {
                depth -= 1;
                if depth == 0 {
                    return index + 1;
                }
            }
            _ => {}
        }
    }
    tokens.len()
}

#[cfg(test)]
mod tests {
    use crate::lint::test_utils::{assert_ok, render_err};

    #[test]
    fn ok() {
        assert_ok(
            &super::RULE,
            include_str!("fixtures/require-statement-timeout/ok.sql"),
        );
    }

    #[test]
    fn err() {
        insta::assert_snapshot!(render_err(
            &super::RULE,
            include_str!("fixtures/require-statement-timeout/err.sql")
        ));
    }
}
