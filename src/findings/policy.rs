//! What counts for the verdict, decided once, after every source of findings has run:
//! the configuration (ignored files, severities), the suppression comments, one finding
//! per file for the runbook's style rules, one finding for one problem, and the scope of
//! the change.
//!
//! A migration that is already deployed history (the base branch has it, or it is at or
//! before the configured `baseline:`) was judged when it was merged: whatever any source
//! says about it now (a lint rule, the catalog checks, the idempotency proof, the
//! advisors, plpgsql_check) is not the pull request's doing. Its findings move to the
//! report's baseline findings, which neither fail the run nor annotate the diff. Only
//! what the branch did to such a file (edited or deleted it) stays the branch's.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use super::{Finding, Location, Severity};
use crate::findings::span::Span;

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

/// A suppression comment: `allow` (the statement after it) or `allow-file` (the file).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Allowance {
    pub file: PathBuf,
    pub rules: Vec<String>,
    pub reason: String,
    /// The statement it covers; `None` for the whole file.
    pub covers: Option<Span>,
    /// Where the comment is.
    pub comment: Span,
}

impl Allowance {
    fn allows(&self, finding: &Finding) -> bool {
        let Some(location) = &finding.location else {
            return false;
        };
        location.file == self.file
            && self.rules.iter().any(|rule| rule == finding.rule)
            && self.covers.is_none_or(|span| {
                span.start <= location.span.start && location.span.start <= span.end
            })
    }
}

/// What the configuration decides about a finding.
pub trait Settings {
    /// The severity `rule` has (its `default` unless configured); `None`: off.
    fn severity(&self, rule: &str, default: Severity) -> Option<Severity>;
    /// Whether findings in `file` are ignored.
    fn ignores(&self, file: &Path) -> bool;
}

/// How to settle a run's findings.
pub struct Rules<'a> {
    pub settings: &'a dyn Settings,
    pub allowances: &'a [Allowance],
    /// Rules reported once per file: the first place, with the lines of the others.
    pub once_per_file: &'a [&'a str],
    /// The id of the finding for a suppression that allowed nothing.
    pub unused: &'static str,
    /// Whether this run could have found `rule` (a lint-only run cannot judge an allow
    /// of a catalog check).
    pub judged: &'a dyn Fn(&str) -> bool,
    /// The 1-based line of a byte offset of a file.
    pub line_of: &'a dyn Fn(&Path, usize) -> Option<usize>,
}

/// The findings as they count: in ignored files dropped; at their configured severity
/// (dropped when off); allowed ones as infos that give the reason; the once-per-file
/// rules folded; and a finding for each suppression that allowed nothing this run
/// could have found.
pub fn settle(findings: Vec<Finding>, rules: &Rules<'_>) -> Vec<Finding> {
    let mut used = vec![false; rules.allowances.len()];
    let mut settled: Vec<(Finding, bool)> = Vec::with_capacity(findings.len());
    for mut finding in findings {
        let file = finding.location.as_ref().map(|l| l.file.as_path());
        if file.is_some_and(|file| rules.settings.ignores(file)) {
            continue;
        }
        let Some(severity) = rules.settings.severity(finding.rule, finding.severity) else {
            continue;
        };
        finding.severity = severity;
        match rules.allowances.iter().position(|a| a.allows(&finding)) {
            Some(index) => {
                used[index] = true;
                let reason = match rules.allowances[index].reason.as_str() {
                    "" => "no reason given",
                    reason => reason,
                };
                settled.push((finding.allowed(reason), true));
            }
            None => settled.push((finding, false)),
        }
    }
    let mut findings = once_per_file(settled, rules);
    for (allowance, _) in rules
        .allowances
        .iter()
        .zip(&used)
        .filter(|(allowance, used)| !**used && allowance.rules.iter().any(|r| (rules.judged)(r)))
    {
        if rules.settings.ignores(&allowance.file) {
            continue;
        }
        let Some(severity) = rules.settings.severity(rules.unused, Severity::Warning) else {
            continue;
        };
        findings.push(Finding {
            rule: rules.unused,
            severity,
            location: Some(Location {
                file: allowance.file.clone(),
                span: allowance.comment,
            }),
            message: format!(
                "this suppression of {} allows nothing here",
                allowance.rules.join(", ")
            ),
            help: Some(
                "remove it, or check the rule id and that it sits right before the statement"
                    .to_string(),
            ),
        });
    }
    findings
}

/// The once-per-file rules folded into their first finding of each file (allowed and
/// not allowed apart), which lists the lines of the others.
fn once_per_file(findings: Vec<(Finding, bool)>, rules: &Rules<'_>) -> Vec<Finding> {
    let mut kept: Vec<(Finding, bool, Vec<usize>)> = Vec::with_capacity(findings.len());
    // The first finding of each (rule, file, allowed), by its place in `kept`.
    let mut firsts: std::collections::HashMap<(&'static str, PathBuf, bool), usize> =
        std::collections::HashMap::new();
    for (finding, allowed) in findings {
        let key = finding
            .location
            .as_ref()
            .filter(|_| rules.once_per_file.contains(&finding.rule))
            .map(|l| (finding.rule, l.file.clone(), allowed));
        let first = key.as_ref().and_then(|key| firsts.get(key).copied());
        if let (Some(key), None) = (key, first) {
            firsts.insert(key, kept.len());
        }
        let line = finding
            .location
            .as_ref()
            .and_then(|l| (rules.line_of)(&l.file, l.span.start));
        match (first, line) {
            (Some(first), Some(line)) => kept[first].2.push(line),
            _ => kept.push((finding, allowed, Vec::new())),
        }
    }
    kept.into_iter()
        .map(|(mut finding, _, others)| {
            if !others.is_empty() {
                let listed: Vec<String> = others.iter().map(usize::to_string).collect();
                finding.message = format!(
                    "{} (and {} more in this file: line{} {})",
                    finding.message,
                    others.len(),
                    if others.len() == 1 { "" } else { "s" },
                    listed.join(", ")
                );
            }
            finding
        })
        .collect()
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
        let lint_rules: Vec<&str> = twins
            .iter()
            .filter(|(_, s)| *s == shadow.rule)
            .map(|(l, _)| *l)
            .collect();
        let file = shadow.location.as_ref().map(|l| &l.file);
        let object = object_of(&shadow);
        let candidates: Vec<usize> = kept
            .iter()
            .enumerate()
            .filter(|(_, f)| {
                lint_rules.contains(&f.rule) && f.location.as_ref().map(|l| &l.file) == file
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
    use crate::findings::span::Span;
    use crate::findings::{Location, Severity};

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
