//! `syntax-error`: a string, quoted identifier, dollar quote, comment or `BEGIN ATOMIC`
//! body that the end of the file leaves open.
//!
//! Why, and what to write instead: docs/rules/syntax-error.md.

use crate::findings::registry;
use crate::lint::rule::{Diagnostic, FileContext, RuleDef};

use crate::findings::span::Span;

pub const RULE: RuleDef = RuleDef::file(registry::SYNTAX_ERROR, check);

fn check(context: &FileContext<'_>, out: &mut Vec<Diagnostic>) {
    if let Some(open) = context.migration.split.unclosed {
        out.push(
            Diagnostic::new(
                Span::new(open.start, open.start),
                format!(
                    "this {} is never closed: everything after it up to the end of the file is one statement",
                    open.token.describe()
                ),
            )
            .help("close it (a missing quote, `$$` or `*/`, or `END` of a BEGIN ATOMIC body)"),
        );
    }
}

#[cfg(test)]
mod tests {
    use crate::lint::test_utils::{assert_ok, render_err};

    #[test]
    fn ok() {
        assert_ok(
            &super::RULE,
            "SELECT 'closed';\nCREATE FUNCTION f() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$;\n",
        );
    }

    #[test]
    fn err() {
        insta::assert_snapshot!(render_err(
            &super::RULE,
            "SELECT 1;\nCREATE FUNCTION f() RETURNS int LANGUAGE plpgsql AS $body$\nBEGIN\n  RETURN 1;\nEND\n$$;\n"
        ));
    }
}
