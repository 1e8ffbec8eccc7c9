//! SARIF 2.1.0, the format GitHub code scanning reads: one run, one result per finding
//! and per migration that failed to apply, every result's rule described from the
//! registry with its page as help.
//!
//! Code scanning keeps an alert across pushes by its fingerprint: ours hashes the rule,
//! the file and the text the finding points at (not its line), so an alert survives
//! lines added above it. A finding a suppression comment allowed is a result with a
//! suppression, which code scanning shows as dismissed, not as a note.

use std::collections::HashMap;

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::model::{Location, Report, Severity};
use crate::findings::registry::{self, Rule};

const SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";
/// The key of our fingerprints: a new version if how they are computed changes.
const FINGERPRINT: &str = "migrationGuard/v1";

/// One result before it is written.
struct Entry<'r> {
    rule: &'static str,
    severity: Severity,
    message: String,
    location: Option<Location>,
    /// The reason a suppression comment gave.
    allowed: Option<&'r str>,
}

pub fn render(report: &Report) -> String {
    let entries = entries(report);
    let mut ids: Vec<&str> = entries.iter().map(|entry| entry.rule).collect();
    ids.sort_unstable();
    ids.dedup();
    let rules: Vec<Value> = ids.iter().map(|id| descriptor(report, id)).collect();
    let mut seen: HashMap<String, usize> = HashMap::new();
    let results: Vec<Value> = entries
        .iter()
        .map(|entry| {
            let index = ids.binary_search(&entry.rule).unwrap_or_default();
            let mut result = result(report, entry, index);
            // Identical findings (one rule, one statement text) are told apart by order.
            let base = fingerprint(report, entry);
            let nth = seen.entry(base.clone()).or_default();
            *nth += 1;
            result["partialFingerprints"] = json!({FINGERPRINT: format!("{base}:{nth}")});
            result
        })
        .collect();
    let mut invocation = json!({"executionSuccessful": report.error.is_none()});
    if let Some(error) = &report.error {
        invocation["toolExecutionNotifications"] = json!([{
            "level": "error",
            "message": {"text": error},
        }]);
    }
    let mut driver = json!({
        "name": "migration-guard",
        "version": env!("CARGO_PKG_VERSION"),
        "rules": rules,
    });
    if registry::published_pages().is_some() {
        driver["informationUri"] = env!("CARGO_PKG_REPOSITORY").into();
    }
    let sarif = json!({
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": driver},
            // One category per command and project: code scanning keeps a lint step's
            // alerts apart from a shadow step's, and two projects' apart.
            "automationDetails": {"id": category(report)},
            "invocations": [invocation],
            "results": results,
        }],
    });
    let mut out = serde_json::to_string_pretty(&sarif).expect("SARIF serialises");
    out.push('\n');
    out
}

/// The findings, then a result per migration that failed to apply.
fn entries(report: &Report) -> Vec<Entry<'_>> {
    let mut entries: Vec<Entry> = report
        .findings
        .iter()
        // Code scanning's alerts are for people: a statement the parser could not read
        // asks nothing of them.
        .filter(|finding| !finding.asks_nothing())
        .map(|finding| {
            let (message, allowed) = match finding.allowance() {
                Some((message, reason)) => (message, Some(reason)),
                None => (finding.message.as_str(), None),
            };
            let mut message = message.to_string();
            if let Some(help) = &finding.help {
                message = format!("{message}\n{help}");
            }
            Entry {
                rule: finding.rule,
                severity: finding.severity,
                message,
                location: finding.location.clone(),
                allowed,
            }
        })
        .collect();
    for entry in &report.migrations {
        if let Some(error) = &entry.error {
            let code = error.sqlstate.as_deref().unwrap_or("error");
            entries.push(Entry {
                rule: registry::APPLY_ERROR.id,
                severity: Severity::Error,
                message: format!("migration failed: {} [{code}]", error.message),
                location: Some(
                    error
                        .location
                        .clone()
                        .unwrap_or_else(|| Location::start_of(&entry.file)),
                ),
                allowed: None,
            });
        }
    }
    entries
}

fn descriptor(report: &Report, id: &str) -> Value {
    let Some(rule) = registry::find(id) else {
        return json!({"id": id, "shortDescription": {"text": id}});
    };
    let mut descriptor = json!({
        "id": rule.id,
        "shortDescription": {"text": rule.summary},
        "help": {"text": rule.summary, "markdown": rule.page},
        "defaultConfiguration": {"level": level(rule.severity)},
    });
    // SARIF wants an absolute URI; a build that does not know where its pages are
    // published leaves the link out (the help carries the page).
    let url = report.rule_url(rule);
    if url.starts_with("https://") || url.starts_with("http://") {
        descriptor["helpUri"] = url.into();
    }
    descriptor
}

fn result(report: &Report, entry: &Entry, rule_index: usize) -> Value {
    // An allowed finding keeps its rule's level; the suppression says it was allowed.
    let severity = match entry.allowed {
        Some(_) => registry::find(entry.rule).map_or(entry.severity, |rule: &Rule| rule.severity),
        None => entry.severity,
    };
    let mut result = json!({
        "ruleId": entry.rule,
        "ruleIndex": rule_index,
        "level": level(severity),
        "message": {"text": entry.message},
    });
    if let Some(reason) = entry.allowed {
        result["suppressions"] = json!([{"kind": "inSource", "justification": reason}]);
    }
    if let Some(location) = &entry.location {
        let start = report.locate(location);
        let end = report.position(&location.file, location.span.end);
        let mut region = serde_json::Map::new();
        if let Some(start) = start {
            region.insert("startLine".into(), start.line.into());
            region.insert("startColumn".into(), start.column.into());
        }
        if let Some(end) = end.filter(|end| Some(end.line) >= start.map(|s| s.line)) {
            region.insert("endLine".into(), end.line.into());
            region.insert("endColumn".into(), end.column.into());
        }
        let mut physical = json!({"artifactLocation": {"uri": report.path(&location.file)}});
        if !region.is_empty() {
            physical["region"] = region.into();
        }
        result["locations"] = json!([{"physicalLocation": physical}]);
    }
    result
}

/// The rule, the file and the statement's text (whitespace folded), or the message
/// when the finding points at no text: what stays when lines move.
fn fingerprint(report: &Report, entry: &Entry) -> String {
    let mut hash = Sha256::new();
    hash.update(entry.rule);
    hash.update([0]);
    let spanned = entry.location.as_ref().and_then(|location| {
        hash.update(report.path(&location.file));
        hash.update([0]);
        report
            .spanned(location)
            .filter(|text| !text.trim().is_empty())
    });
    let text = spanned.unwrap_or(&entry.message);
    for word in text.split_whitespace() {
        hash.update(word);
        hash.update([b' ']);
    }
    hash.finalize()[..16]
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// `migration-guard/<command>/` and the project's folder when it has one: code
/// scanning's category is the id up to its last slash.
fn category(report: &Report) -> String {
    let mut id = format!("migration-guard/{}/", report.command.as_str());
    if let Some(prefix) = &report.path_prefix {
        for part in prefix.components() {
            id.push_str(&part.as_os_str().to_string_lossy());
            id.push('/');
        }
    }
    id
}

fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "note",
    }
}
