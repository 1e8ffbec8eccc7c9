//! `no-drop-view`: a migration drops a view or a materialized view that may exist
//! before it.
//!
//! Why, and what to write instead: docs/rules/no-drop-view.md.

use crate::findings::registry;
use crate::sql::names::{name_at, table_key};
use sqlparser::ast::{ObjectType, Statement};
use sqlparser::tokenizer::Token;

use crate::findings::span::Span;
use crate::lint::rule::{Diagnostic, FileContext, RuleDef, Sequence};
use crate::sql::statement::{ParsedStatement, Tok};

use super::support::{position, split_top_level};

pub const RULE: RuleDef = RuleDef::sequence(registry::NO_DROP_VIEW, || {
    Box::new(Removals::new(created_view, dropped_views, diagnostic))
});

fn diagnostic(span: Span, materialized: bool, name: &str) -> Diagnostic {
    let kind = if materialized {
        "materialized view"
    } else {
        "view"
    };
    let what = if name.is_empty() {
        format!("a {kind}")
    } else {
        format!("{kind} {name}")
    };
    let help = if materialized {
        "keep it and create the new materialized view beside it (there is no CREATE OR REPLACE for one); drop the old one later in a migration of its own, with `-- migration-guard: allow no-drop-view -- <why>`"
    } else {
        "keep it and create the new view beside it, or change it in place with CREATE OR REPLACE VIEW keeping its columns (new ones only at the end); drop it later in a migration of its own, with `-- migration-guard: allow no-drop-view -- <why>`"
    };
    Diagnostic::new(
        span,
        format!(
            "dropping {what} breaks every client still reading it: the Data API (PostgREST) serves views, and requests for it fail with 404 / PGRST errors the moment the migration runs"
        ),
    )
    .help(help)
}

/// `DROP VIEW` / `DROP MATERIALIZED VIEW`: whether materialized, and the names dropped
/// (keyed like [`table_key`]; empty when the tokens do not say).
fn dropped_views(statement: &ParsedStatement) -> Option<(bool, Vec<String>)> {
    match statement.ast.as_deref() {
        Some(Statement::Drop {
            object_type: object_type @ (ObjectType::View | ObjectType::MaterializedView),
            names,
            ..
        }) => Some((
            *object_type == ObjectType::MaterializedView,
            names.iter().map(table_key).collect(),
        )),
        Some(_) => None,
        None if statement.starts_with(&["DROP", "VIEW"]) => {
            Some((false, names_after(&statement.tokens, 2)))
        }
        None if statement.starts_with(&["DROP", "MATERIALIZED", "VIEW"]) => {
            Some((true, names_after(&statement.tokens, 3)))
        }
        None => None,
    }
}

/// `CREATE [OR REPLACE] [TEMP] [RECURSIVE] [MATERIALIZED] VIEW [IF NOT EXISTS] name`: the
/// view's name, keyed like [`table_key`].
fn created_view(statement: &ParsedStatement) -> Option<String> {
    match statement.ast.as_deref() {
        Some(Statement::CreateView(view)) => Some(table_key(&view.name)),
        Some(_) => None,
        None => {
            const MODIFIERS: &[&str] = &[
                "OR",
                "REPLACE",
                "TEMP",
                "TEMPORARY",
                "RECURSIVE",
                "MATERIALIZED",
            ];
            if !statement.starts_with(&["CREATE"]) {
                return None;
            }
            let tokens = &statement.tokens;
            let mut at = 1;
            while tokens
                .get(at)
                .is_some_and(|token| MODIFIERS.iter().any(|word| token.is_word(word)))
            {
                at += 1;
            }
            if !tokens.get(at)?.is_word("VIEW") {
                return None;
            }
            at += 1;
            if position(&tokens[at..], &["IF", "NOT", "EXISTS"]) == Some(0) {
                at += 3;
            }
            name_at(tokens, at).map(|(name, _)| name)
        }
    }
}

/// What a statement drops, if it drops something of the kind: what it is (`K`) and the
/// names (empty when the tokens do not say).
pub(super) type Dropping<K> = fn(&ParsedStatement) -> Option<(K, Vec<String>)>;

/// The drops of a kind of object that may exist before the file: the file neither made
/// it earlier nor makes it again later (see [`removes_existing`]), so each is judged at
/// the file's end. A statement whose names cannot be read is one drop with an empty
/// name: judged from its keywords, naming nothing.
pub(super) struct Removals<K> {
    created: fn(&ParsedStatement) -> Option<String>,
    dropping: Dropping<K>,
    report: fn(Span, K, &str) -> Diagnostic,
    /// The names the file creates and drops, with the index of each statement.
    creations: Vec<(usize, String)>,
    drops: Vec<(usize, String)>,
    /// Each name dropped: the statement's index and code, what it is, the name.
    candidates: Vec<(usize, Span, K, String)>,
}

impl<K: Copy> Removals<K> {
    pub fn new(
        created: fn(&ParsedStatement) -> Option<String>,
        dropping: Dropping<K>,
        report: fn(Span, K, &str) -> Diagnostic,
    ) -> Self {
        Removals {
            created,
            dropping,
            report,
            creations: Vec::new(),
            drops: Vec::new(),
            candidates: Vec::new(),
        }
    }
}

impl<K: Copy> Sequence for Removals<K> {
    fn statement(
        &mut self,
        _context: &FileContext<'_>,
        statement: &ParsedStatement,
        _out: &mut Vec<Diagnostic>,
    ) {
        let at = statement.index;
        if let Some(name) = (self.created)(statement) {
            self.creations.push((at, name));
        }
        let Some((kind, mut names)) = (self.dropping)(statement) else {
            return;
        };
        self.drops
            .extend(names.iter().map(|name| (at, name.clone())));
        if names.is_empty() {
            names.push(String::new());
        }
        let span = statement.code_span();
        self.candidates
            .extend(names.into_iter().map(|name| (at, span, kind, name)));
    }

    fn finish(&mut self, _context: &FileContext<'_>, out: &mut Vec<Diagnostic>) {
        for (at, span, kind, name) in &self.candidates {
            if name.is_empty() || removes_existing(&self.creations, &self.drops, name, *at) {
                out.push((self.report)(*span, *kind, name));
            }
        }
    }
}

/// The names of `DROP <kind> [IF EXISTS] name [(…)] [, …] [CASCADE | RESTRICT]` from
/// `tokens[at..]` (after the kind), keyed like [`table_key`].
pub(super) fn names_after(tokens: &[Tok], at: usize) -> Vec<String> {
    let Some(mut rest) = tokens.get(at..) else {
        return Vec::new();
    };
    if position(rest, &["IF", "EXISTS"]) == Some(0) {
        rest = &rest[2..];
    }
    while let [init @ .., last] = rest
        && last.token == Token::SemiColon
    {
        rest = init;
    }
    split_top_level(rest)
        .into_iter()
        .filter_map(|part| name_at(part, 0).map(|(name, _)| name))
        .collect()
}

/// Whether dropping `name` at statement `at` removes an object that may exist before
/// the file: the file does not create it again later, and did not make it itself (a
/// creation before `at`, with no drop of the name before that creation).
fn removes_existing(
    created: &[(usize, String)],
    dropped: &[(usize, String)],
    name: &str,
    at: usize,
) -> bool {
    let creations = || {
        created
            .iter()
            .filter(move |(_, created)| created == name)
            .map(|(index, _)| *index)
    };
    if creations().any(|index| index > at) {
        return false;
    }
    match creations().filter(|index| *index < at).min() {
        None => true,
        Some(first) => dropped
            .iter()
            .any(|(index, dropped)| *index < first && dropped == name),
    }
}

#[cfg(test)]
mod tests {
    use crate::lint::test_utils::{assert_ok, render_err};

    #[test]
    fn ok() {
        assert_ok(&super::RULE, include_str!("fixtures/no-drop-view/ok.sql"));
    }

    #[test]
    fn err() {
        insta::assert_snapshot!(render_err(
            &super::RULE,
            include_str!("fixtures/no-drop-view/err.sql")
        ));
    }
}
