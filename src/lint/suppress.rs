//! Suppression comments: `-- migration-guard: allow <rule>[, <rule>] -- reason` right
//! before a statement allows those rules on it; `-- migration-guard: allow-file <rule>`
//! before the first statement allows them in the whole file. An allowed finding stays
//! in the report as `info`, with the reason; a suppression that allowed nothing is
//! reported itself (`unused-suppression`).

use crate::report::{Finding, Location, Severity};
use crate::text::Span;

use super::FileContext;
use super::rules::UNUSED_SUPPRESSION;

const PREFIX: &str = "migration-guard:";

#[derive(Debug)]
struct Suppression {
    rules: Vec<String>,
    reason: String,
    /// The statement it covers; `None` for the whole file.
    statement: Option<Span>,
    comment: Span,
    used: bool,
}

#[derive(Debug)]
pub struct Suppressions {
    entries: Vec<Suppression>,
}

impl Suppressions {
    pub fn of(context: &FileContext<'_>) -> Suppressions {
        let mut entries = Vec::new();
        for (position, statement) in context.statements.iter().enumerate() {
            for comment in &statement.leading_comments {
                let Some(rest) = comment.text.trim().strip_prefix(PREFIX) else {
                    continue;
                };
                let rest = rest.trim_start();
                let (whole_file, list) = if let Some(list) = rest.strip_prefix("allow-file") {
                    (true, list)
                } else if let Some(list) = rest.strip_prefix("allow") {
                    (false, list)
                } else {
                    continue;
                };
                let (list, reason) = list.split_once("--").unwrap_or((list, ""));
                entries.push(Suppression {
                    rules: list
                        .split(',')
                        .map(|rule| rule.trim().to_string())
                        .filter(|rule| !rule.is_empty())
                        .collect(),
                    reason: reason.trim().to_string(),
                    statement: (!(whole_file && position == 0)).then_some(statement.span),
                    comment: comment.span,
                    used: false,
                });
            }
        }
        Suppressions { entries }
    }

    /// The reason, if a suppression allows `rule` at `offset`.
    pub fn allow(&mut self, rule: &str, offset: usize) -> Option<String> {
        let entry = self.entries.iter_mut().find(|entry| {
            entry.rules.iter().any(|r| r == rule)
                && entry
                    .statement
                    .is_none_or(|span| span.start <= offset && offset <= span.end)
        })?;
        entry.used = true;
        Some(if entry.reason.is_empty() {
            "no reason given".to_string()
        } else {
            entry.reason.clone()
        })
    }

    /// Findings for suppressions that allowed nothing. Those naming only the shadow's
    /// catalog checks and Supabase's advisors are not the linter's to judge.
    pub fn unused(&self, location: impl Fn(Span) -> Option<Location>) -> Vec<Finding> {
        let shadow_only =
            |rule: &String| crate::lint::rules::shadow_checks().any(|(id, _, _)| id == rule);
        self.entries
            .iter()
            .filter(|entry| !entry.used && !entry.rules.iter().all(shadow_only))
            .map(|entry| Finding {
                rule: UNUSED_SUPPRESSION,
                severity: Severity::Warning,
                location: location(entry.comment),
                message: format!(
                    "this suppression of {} allows nothing here",
                    entry.rules.join(", ")
                ),
                help: Some(
                    "remove it, or check the rule id and that it sits right before the statement"
                        .to_string(),
                ),
            })
            .collect()
    }
}
