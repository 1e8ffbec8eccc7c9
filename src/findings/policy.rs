//! What counts for the verdict, decided once, after every source of findings has run.
//!
//! A migration that is already deployed history (the base branch has it, or it is at or
//! before the configured `baseline:`) was judged when it was merged: whatever any source
//! says about it now (a lint rule, the catalog checks, the idempotency proof, the
//! advisors, plpgsql_check) is not the pull request's doing. Its findings move to the
//! report's baseline findings, which neither fail the run nor annotate the diff. Only
//! what the branch did to such a file (edited or deleted it) stays the branch's.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use super::Finding;

/// The migrations that are deployed history.
#[derive(Debug, Clone, Default)]
pub struct History {
    files: BTreeSet<PathBuf>,
    /// Where they are, for the report: "on `main`", "at or before the baseline 0042".
    pub described: String,
}

impl History {
    pub fn new(files: impl IntoIterator<Item = PathBuf>, described: String) -> History {
        History {
            files: files.into_iter().collect(),
            described,
        }
    }

    pub fn contains(&self, file: &Path) -> bool {
        self.files.contains(file)
    }

    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// Both histories: a file either one holds.
    pub fn union(mut self, other: History) -> History {
        if self.files.is_empty() {
            return other;
        }
        if other.files.is_empty() {
            return self;
        }
        self.files.extend(other.files);
        self.described = format!("{} or {}", self.described, other.described);
        self
    }
}

/// Splits `findings` into the branch's and history's. `branch_acts` are the rules about
/// what the branch did to a deployed file: those stay the branch's.
pub fn split(
    findings: Vec<Finding>,
    history: &History,
    branch_acts: &[&str],
) -> (Vec<Finding>, Vec<Finding>) {
    findings.into_iter().partition(|finding| {
        branch_acts.contains(&finding.rule)
            || !finding
                .location
                .as_ref()
                .is_some_and(|location| history.contains(&location.file))
    })
}

/// A lint rule and the shadow check that confirms it from the catalog.
pub type Twin = (&'static str, &'static str);

/// One problem is one finding: where a shadow check confirms a lint finding of the same
/// file (naming the same object: `object_of` gives its last name part), the lint
/// finding stays, with the shadow's evidence added, and the shadow's goes. An allowed
/// (info) lint finding takes its twin with it.
pub fn merge_confirmed(
    findings: Vec<Finding>,
    twins: &[Twin],
    object_of: impl Fn(&Finding) -> Option<String>,
) -> Vec<Finding> {
    let (confirming, mut kept): (Vec<Finding>, Vec<Finding>) = findings
        .into_iter()
        .partition(|f| twins.iter().any(|(_, shadow)| *shadow == f.rule));
    for shadow in confirming {
        let lint_rule = twins
            .iter()
            .find(|(_, s)| *s == shadow.rule)
            .map(|(l, _)| *l);
        let file = shadow.location.as_ref().map(|l| &l.file);
        let object = object_of(&shadow);
        let candidates: Vec<usize> = kept
            .iter()
            .enumerate()
            .filter(|(_, f)| {
                Some(f.rule) == lint_rule && f.location.as_ref().map(|l| &l.file) == file
            })
            .map(|(i, _)| i)
            .collect();
        let chosen = candidates
            .iter()
            .copied()
            .find(|&i| {
                object
                    .as_deref()
                    .is_some_and(|name| kept[i].message.contains(name))
            })
            .or(candidates.first().copied());
        match chosen {
            Some(i) => {
                let lint = &mut kept[i];
                // An allow for either id silences the one finding.
                if shadow.is_allowed() {
                    lint.severity = shadow.severity;
                }
                lint.message = format!(
                    "{} (the shadow confirms it: {})",
                    lint.message, shadow.message
                );
            }
            None => kept.push(shadow),
        }
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::findings::{Location, Severity};
    use crate::text::Span;

    fn at(rule: &'static str, file: &str) -> Finding {
        Finding {
            rule,
            severity: Severity::Error,
            location: Some(Location {
                file: PathBuf::from(file),
                span: Span { start: 0, end: 1 },
            }),
            message: String::new(),
            help: None,
        }
    }

    #[test]
    fn a_confirmed_lint_finding_is_one_finding_with_the_shadows_evidence() {
        let mut lint = at("no-drop-column", "m/0002.sql");
        lint.message = "dropping column public.notes.body deletes it".into();
        let mut other = at("no-drop-column", "m/0002.sql");
        other.message = "dropping column public.notes.title deletes it".into();
        let mut shadow = at("dropped-column", "m/0002.sql");
        shadow.message = "public.notes.title is gone".into();
        let mut elsewhere = at("dropped-column", "m/0003.sql");
        elsewhere.message = "public.x.y is gone".into();
        let merged = merge_confirmed(
            vec![lint.clone(), shadow, other, elsewhere.clone()],
            &[("no-drop-column", "dropped-column")],
            |f| Some(f.message.split(' ').next()?.rsplit('.').next()?.to_string()),
        );
        assert_eq!(merged.len(), 3, "{merged:#?}");
        assert_eq!(merged[0], lint);
        assert!(
            merged[1]
                .message
                .ends_with("(the shadow confirms it: public.notes.title is gone)"),
            "{}",
            merged[1].message
        );
        assert_eq!(merged[2], elsewhere);
    }

    #[test]
    fn history_keeps_only_what_the_branch_did_to_it() {
        let history = History::new([PathBuf::from("m/0001_old.sql")], "on `main`".into());
        let unlocated = Finding {
            location: None,
            ..at("drift", "")
        };
        let (branch, baseline) = split(
            vec![
                at("no-drop-table", "m/0001_old.sql"),
                at("migration-edited", "m/0001_old.sql"),
                at("no-drop-table", "m/0002_new.sql"),
                unlocated.clone(),
            ],
            &history,
            &["migration-edited"],
        );
        assert_eq!(
            branch,
            vec![
                at("migration-edited", "m/0001_old.sql"),
                at("no-drop-table", "m/0002_new.sql"),
                unlocated
            ]
        );
        assert_eq!(baseline, vec![at("no-drop-table", "m/0001_old.sql")]);
    }
}
