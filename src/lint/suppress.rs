//! Suppression comments: `-- migration-guard: allow <rule>[, <rule>] -- reason` right
//! before a statement allows those rules on it; `-- migration-guard: allow-file <rule>`
//! before the first statement allows them in the whole file. Any finding id can be
//! named: a lint rule, a catalog check, an advisor. The policy (`findings::policy`)
//! applies them to every source's findings at once, and reports the ones that allowed
//! nothing (`unused-suppression`).

use crate::findings::policy::Allowance;
use crate::findings::span::Span;
use crate::migration::MigrationFile;

const PREFIX: &str = "migration-guard:";

/// The suppression comments of `migration`, each with the statement it covers.
pub fn allowances(migration: &MigrationFile) -> Vec<Allowance> {
    let source = &migration.source;
    let mut found = Vec::new();
    let statements = migration
        .split
        .statements
        .iter()
        .filter(|statement| !statement.comment_only);
    for (position, statement) in statements.enumerate() {
        let code = statement.code_start(source);
        let head = Span::new(statement.text.start, code.max(statement.text.start));
        let mut at = head.start;
        for line in head.slice(source).split_inclusive('\n') {
            let start = at;
            at += line.len();
            let trimmed = line.trim();
            let Some(rest) = trimmed
                .strip_prefix("--")
                .map(str::trim_start)
                .and_then(|comment| comment.strip_prefix(PREFIX))
            else {
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
            let offset = start + (line.len() - line.trim_start().len());
            found.push(Allowance {
                file: migration.path.clone(),
                rules: list
                    .split(',')
                    .map(|rule| rule.trim().to_string())
                    .filter(|rule| !rule.is_empty())
                    .collect(),
                reason: reason.trim().to_string(),
                covers: (!(whole_file && position == 0))
                    .then_some(Span::new(statement.text.start, statement.text.end)),
                comment: Span::new(offset, offset + trimmed.len()),
            });
        }
    }
    found
}
