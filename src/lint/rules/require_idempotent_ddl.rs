//! `require-idempotent-ddl`: DDL that fails when the migration runs a second time.
//!
//! Why, and what to write instead: docs/rules/require-idempotent-ddl.md.

use crate::findings::registry;
use crate::sql::names::name_at;
use std::collections::HashSet;

use sqlparser::ast::{AlterTableOperation, Statement};
use sqlparser::tokenizer::Token;

use crate::lint::rule::{Diagnostic, FileContext, RuleDef, Sequence};
use crate::sql::statement::{ParsedStatement, Tok};

use crate::findings::span::Span;

use super::support::{adds_constraint, alter_table, position, span_of};

pub const RULE: RuleDef = RuleDef::sequence(registry::REQUIRE_IDEMPOTENT_DDL, || {
    Box::<Idempotent>::default()
});

/// Words between `CREATE` and the object kind.
const CREATE_MODIFIERS: &[&str] = &[
    "TEMP",
    "TEMPORARY",
    "UNLOGGED",
    "UNIQUE",
    "CONSTRAINT",
    "GLOBAL",
    "LOCAL",
    "TRUSTED",
    "PROCEDURAL",
    "RECURSIVE",
];

/// Object kinds of more than one word.
const LONG_KINDS: &[&[&str]] = &[
    &["FOREIGN", "DATA", "WRAPPER"],
    &["TEXT", "SEARCH", "CONFIGURATION"],
    &["TEXT", "SEARCH", "DICTIONARY"],
    &["TEXT", "SEARCH", "PARSER"],
    &["TEXT", "SEARCH", "TEMPLATE"],
    &["MATERIALIZED", "VIEW"],
    &["FOREIGN", "TABLE"],
    &["EVENT", "TRIGGER"],
    &["USER", "MAPPING"],
    &["ACCESS", "METHOD"],
    &["OPERATOR", "CLASS"],
    &["OPERATOR", "FAMILY"],
];

/// Kinds that take `IF NOT EXISTS`.
const IF_NOT_EXISTS_KINDS: &[&str] = &[
    "TABLE",
    "INDEX",
    "SCHEMA",
    "EXTENSION",
    "SEQUENCE",
    "MATERIALIZED VIEW",
];
/// Kinds that take `OR REPLACE`.
const OR_REPLACE_KINDS: &[&str] = &["VIEW", "FUNCTION", "PROCEDURE", "TRIGGER"];

/// The head of a `CREATE` or `DROP`, read from its tokens.
struct Head {
    create: bool,
    or_replace: bool,
    temporary: bool,
    constraint_trigger: bool,
    /// The object kind, upper case (`TABLE`, `MATERIALIZED VIEW`, …).
    kind: String,
    /// From the first token through the kind (and `CONCURRENTLY`).
    keywords: Span,
    /// Those keywords, upper case (`CREATE UNIQUE INDEX`).
    phrase: String,
    /// `IF NOT EXISTS` (create) or `IF EXISTS` (drop) right after the kind.
    guarded: bool,
    name: Option<(String, Span)>,
    /// The table of a trigger or policy (`ON table`).
    on_table: Option<String>,
}

fn head(statement: &ParsedStatement) -> Option<Head> {
    let tokens = &statement.tokens;
    let create = statement.starts_with(&["CREATE"]);
    if !create && !statement.starts_with(&["DROP"]) {
        return None;
    }
    let mut at = 1;
    let or_replace = create && statement.starts_with(&["CREATE", "OR", "REPLACE"]);
    if or_replace {
        at += 2;
    }
    let mut temporary = false;
    let mut constraint_trigger = false;
    while let Some(token) = tokens.get(at) {
        if !CREATE_MODIFIERS.iter().any(|word| token.is_word(word)) {
            break;
        }
        temporary |= token.is_word("TEMP") || token.is_word("TEMPORARY");
        constraint_trigger |= token.is_word("CONSTRAINT");
        at += 1;
    }
    let rest = &tokens[at.min(tokens.len())..];
    let words = LONG_KINDS
        .iter()
        .find(|kind| position(rest, kind) == Some(0))
        .map_or(1, |kind| kind.len());
    let kind_tokens = rest.get(..words)?;
    let kind: Vec<String> = kind_tokens.iter().filter_map(Tok::word).collect();
    if kind.len() != words || kind[0] == "OWNED" {
        return None;
    }
    at += words;
    if kind[0] == "INDEX" && tokens.get(at).is_some_and(|t| t.is_word("CONCURRENTLY")) {
        at += 1;
    }
    let keywords = span_of(&tokens[..at])?;
    let phrase = tokens[..at]
        .iter()
        .filter_map(Tok::word)
        .collect::<Vec<_>>()
        .join(" ");
    let guard: &[&str] = if create {
        &["IF", "NOT", "EXISTS"]
    } else {
        &["IF", "EXISTS"]
    };
    let guarded = position(&tokens[at.min(tokens.len())..], guard) == Some(0);
    if guarded {
        at += guard.len();
    }
    let name = name_at(tokens, at).map(|(name, end)| {
        let span = span_of(&tokens[at..end]).unwrap_or(keywords);
        (name, span)
    });
    let kind = kind.join(" ");
    let on_table = if kind == "TRIGGER" || kind == "POLICY" {
        tokens
            .iter()
            .skip(at)
            .position(|token| token.is_word("ON"))
            .and_then(|on| name_at(tokens, at + on + 1))
            .map(|(table, _)| table)
    } else {
        None
    };
    Some(Head {
        create,
        or_replace,
        temporary,
        constraint_trigger,
        kind,
        keywords,
        phrase,
        guarded,
        name,
        on_table,
    })
}

/// The guard as the syntax tree has it, for the statements sqlparser reads.
fn ast_guard(ast: &Statement) -> Option<bool> {
    Some(match ast {
        Statement::CreateTable(create) => create.if_not_exists,
        Statement::CreateIndex(index) => index.if_not_exists,
        Statement::CreateSchema { if_not_exists, .. }
        | Statement::CreateSequence { if_not_exists, .. } => *if_not_exists,
        Statement::CreateExtension(extension) => extension.if_not_exists,
        Statement::CreateView(view) if view.materialized => view.if_not_exists,
        Statement::CreateView(view) => view.or_replace,
        Statement::CreateFunction(function) => function.or_replace,
        Statement::CreateTrigger(trigger) => trigger.or_replace,
        Statement::CreatePolicy(_) | Statement::CreateType { .. } => false,
        Statement::Drop { if_exists, .. } | Statement::DropProcedure { if_exists, .. } => {
            *if_exists
        }
        Statement::DropFunction(drop) => drop.if_exists,
        Statement::DropTrigger(drop) => drop.if_exists,
        Statement::DropPolicy(drop) => drop.if_exists,
        Statement::DropExtension(drop) => drop.if_exists,
        Statement::DropDomain(drop) => drop.if_exists,
        _ => return None,
    })
}

/// The keys of the objects a `CREATE` or `DROP` names: kind, name and, for triggers and
/// policies, the table.
fn keys(statement: &ParsedStatement, head: &Head) -> Vec<String> {
    let names: Vec<String> = match statement.ast.as_deref() {
        Some(Statement::Drop { names, .. }) => {
            names.iter().map(crate::sql::names::table_key).collect()
        }
        _ => head.name.iter().map(|(name, _)| name.clone()).collect(),
    };
    names
        .into_iter()
        .map(|name| match &head.on_table {
            Some(table) => format!("{} {name} ON {table}", head.kind),
            None => format!("{} {name}", head.kind),
        })
        .collect()
}

#[derive(Default)]
/// Objects this file created or dropped so far.
struct Idempotent {
    created: HashSet<String>,
    dropped: HashSet<String>,
}

impl Sequence for Idempotent {
    fn statement(
        &mut self,
        context: &FileContext<'_>,
        statement: &ParsedStatement,
        out: &mut Vec<Diagnostic>,
    ) {
        if statement.starts_with(&["ALTER", "TABLE"]) {
            alter_table_actions(statement, out);
            return;
        }
        let Some(head) = head(statement) else {
            return;
        };
        let keys = keys(statement, &head);
        let guarded = match statement.ast.as_deref().and_then(ast_guard) {
            Some(guarded) => guarded,
            None if head.create && OR_REPLACE_KINDS.contains(&head.kind.as_str()) => {
                head.or_replace
            }
            None => head.guarded,
        };
        if head.create {
            let after_drop = !keys.is_empty() && keys.iter().all(|key| self.dropped.contains(key));
            self.created.extend(keys);
            if guarded || after_drop || head.temporary {
                return;
            }
            if let Some(diagnostic) = create_diagnostic(context.source(), statement, &head) {
                out.push(diagnostic);
            }
        } else {
            let own = !keys.is_empty() && keys.iter().all(|key| self.created.contains(key));
            self.dropped.extend(keys);
            if guarded || own {
                return;
            }
            out.push(drop_diagnostic(context.source(), &head));
        }
    }
}

/// The name as the author wrote it, or a placeholder.
fn written_name<'s>(source: &'s str, head: &Head) -> &'s str {
    head.name
        .as_ref()
        .map_or("<name>", |(_, span)| span.slice(source))
}

fn drop_diagnostic(source: &str, head: &Head) -> Diagnostic {
    let name = written_name(source, head);
    let on = head
        .on_table
        .as_ref()
        .map(|table| format!(" ON {table}"))
        .unwrap_or_default();
    Diagnostic::new(
        head.keywords,
        format!(
            "{} without IF EXISTS fails when the migration runs a second time: the {} is already gone",
            head.phrase,
            head.kind.to_lowercase()
        ),
    )
    .help(format!("write {} IF EXISTS {name}{on} …", head.phrase))
}

fn create_diagnostic(source: &str, statement: &ParsedStatement, head: &Head) -> Option<Diagnostic> {
    let kind = head.kind.as_str();
    let phrase = head.phrase.as_str();
    let lower = kind.to_lowercase();
    let name = written_name(source, head);
    let table = head.on_table.as_deref().unwrap_or("<table>");
    let fails = format!("fails when the migration runs a second time: the {lower} already exists");
    let unnamed_index = matches!(statement.ast.as_deref(), Some(Statement::CreateIndex(index)) if index.name.is_none());
    let (message, help) = if kind == "INDEX" && unnamed_index {
        (
            format!(
                "{phrase} without a name builds one more, duplicate index each time the migration runs"
            ),
            format!("name the index: {phrase} IF NOT EXISTS <name> ON …"),
        )
    } else if IF_NOT_EXISTS_KINDS.contains(&kind) {
        (
            format!("{phrase} without IF NOT EXISTS {fails}"),
            format!("write {phrase} IF NOT EXISTS {name} …"),
        )
    } else if kind == "TRIGGER" {
        let drop = format!("put `DROP TRIGGER IF EXISTS {name} ON {table};` before it");
        let help = if head.constraint_trigger {
            format!("{drop} (a constraint trigger cannot be replaced)")
        } else {
            format!("write CREATE OR REPLACE TRIGGER (Postgres 14+), or {drop}")
        };
        (format!("{phrase} without OR REPLACE {fails}"), help)
    } else if OR_REPLACE_KINDS.contains(&kind) {
        (
            format!("{phrase} without OR REPLACE {fails}"),
            format!("write CREATE OR REPLACE {kind} {name} …"),
        )
    } else if kind == "POLICY" {
        (
            format!("{phrase} {fails}, and Postgres has no CREATE POLICY IF NOT EXISTS"),
            format!("put `DROP POLICY IF EXISTS {name} ON {table};` right before it"),
        )
    } else if kind == "TYPE" {
        let key = head
            .name
            .as_ref()
            .map_or("public.<name>", |(key, _)| key.as_str());
        let (schema, bare) = key.split_once('.').unwrap_or(("public", key));
        (
            format!("{phrase} {fails}, and Postgres has no CREATE TYPE IF NOT EXISTS"),
            format!(
                "guard it: `DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_type WHERE typname = '{bare}' AND typnamespace = '{schema}'::regnamespace) THEN CREATE TYPE …; END IF; END $$;`, or put `DROP TYPE IF EXISTS {name};` before it while nothing uses the type yet"
            ),
        )
    } else {
        return None;
    };
    Some(Diagnostic::new(head.keywords, message).help(help))
}

/// `ADD COLUMN` without `IF NOT EXISTS`, `DROP COLUMN` / `DROP CONSTRAINT` without `IF
/// EXISTS`: one finding per action.
fn alter_table_actions(statement: &ParsedStatement, out: &mut Vec<Diagnostic>) {
    let Some(alter) = alter_table(statement) else {
        return;
    };
    // (action index, what, guard, fix)
    let mut found: Vec<(usize, &str, &str)> = Vec::new();
    match statement.ast.as_deref() {
        Some(Statement::AlterTable(ast)) => {
            for (index, operation) in ast.operations.iter().enumerate() {
                match operation {
                    AlterTableOperation::AddColumn {
                        if_not_exists: false,
                        ..
                    } => found.push((index, "ADD COLUMN", "IF NOT EXISTS")),
                    AlterTableOperation::DropColumn {
                        if_exists: false, ..
                    } => found.push((index, "DROP COLUMN", "IF EXISTS")),
                    AlterTableOperation::DropConstraint {
                        if_exists: false, ..
                    } => found.push((index, "DROP CONSTRAINT", "IF EXISTS")),
                    _ => {}
                }
            }
            if alter.actions.len() != ast.operations.len() {
                // Cannot point at the action: point at the statement, once per finding.
                for (_, what, guard) in found {
                    out.push(action_diagnostic(statement.head(), what, guard, None));
                }
                return;
            }
        }
        _ => {
            for (index, action) in alter.actions.iter().enumerate() {
                if let Some((what, guard)) = token_action(action) {
                    found.push((index, what, guard));
                }
            }
        }
    }
    for (index, what, guard) in found {
        let action = alter.actions[index];
        let (span, name) = action_span(action, what);
        out.push(action_diagnostic(span, what, guard, name));
    }
}

/// An unparsed action's problem, from its tokens.
fn token_action(action: &[Tok]) -> Option<(&'static str, &'static str)> {
    let first = action.first()?;
    let second = action.get(1)?;
    let after = |skip: usize, guard: &[&str]| position(action.get(skip..)?, guard).map(|p| p == 0);
    if first.is_word("ADD") && !adds_constraint(action) {
        let skip = if second.is_word("COLUMN") { 2 } else { 1 };
        if after(skip, &["IF", "NOT", "EXISTS"]) != Some(true) {
            return Some(("ADD COLUMN", "IF NOT EXISTS"));
        }
    } else if first.is_word("DROP") {
        let (what, skip) = if second.is_word("CONSTRAINT") {
            ("DROP CONSTRAINT", 2)
        } else if second.is_word("COLUMN") {
            ("DROP COLUMN", 2)
        } else if matches!(second.token, Token::Word(_))
            && !["DEFAULT", "NOT", "EXPRESSION", "IDENTITY"]
                .iter()
                .any(|word| second.is_word(word))
        {
            ("DROP COLUMN", 1)
        } else {
            return None;
        };
        if after(skip, &["IF", "EXISTS"]) != Some(true) {
            return Some((what, "IF EXISTS"));
        }
    }
    None
}

/// The span of `ADD COLUMN name` / `DROP CONSTRAINT name` in an action, and the name.
fn action_span(action: &[Tok], what: &str) -> (Span, Option<String>) {
    let keyword_count = what.split(' ').count();
    let has_keyword = action
        .get(1)
        .is_some_and(|token| token.is_word(what.split(' ').nth(1).unwrap_or("")));
    let name_at = if has_keyword { keyword_count } else { 1 };
    let name = action.get(name_at).and_then(|token| match &token.token {
        Token::Word(word) => Some(word.to_string()),
        _ => None,
    });
    let end = name_at.min(action.len() - 1);
    (span_of(&action[..=end]).unwrap_or(action[0].span), name)
}

fn action_diagnostic(span: Span, what: &str, guard: &str, name: Option<String>) -> Diagnostic {
    let object = what.split(' ').nth(1).unwrap_or("column").to_lowercase();
    let state = if guard == "IF EXISTS" {
        "is already gone"
    } else {
        "already exists"
    };
    let named = name.map(|name| format!(" {name}")).unwrap_or_default();
    Diagnostic::new(
        span,
        format!(
            "{what}{named} without {guard} fails when the migration runs a second time: the {object} {state}"
        ),
    )
    .help(format!("write {what} {guard}{named} …"))
}

#[cfg(test)]
mod tests {
    use crate::lint::test_utils::{assert_ok, render_err};

    #[test]
    fn ok() {
        assert_ok(
            &super::RULE,
            include_str!("fixtures/require-idempotent-ddl/ok.sql"),
        );
    }

    #[test]
    fn err() {
        insta::assert_snapshot!(render_err(
            &super::RULE,
            include_str!("fixtures/require-idempotent-ddl/err.sql")
        ));
    }
}
