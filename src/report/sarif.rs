//! SARIF 2.1.0, the format GitHub code scanning reads: one run, one result per finding
//! (and per migration error), rules described from the linter's registry.

use serde_json::{Value, json};

use super::model::{Location, Report, Severity};
use crate::findings::registry;

const SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";

pub fn render(report: &Report) -> String {
    let mut ids: Vec<&str> = report.findings.iter().map(|f| f.rule).collect();
    ids.sort_unstable();
    ids.dedup();
    let descriptors: Vec<Value> = ids
        .iter()
        .map(|id| {
            let rule = registry::find(id);
            json!({
                "id": id,
                "shortDescription": {"text": rule.map_or("", |rule| rule.summary)},
                "helpUri": rule.map(|rule| rule.url()),
                "defaultConfiguration": {"level": level(rule.map_or(Severity::Warning, |rule| rule.severity))},
            })
        })
        .collect();
    let mut results: Vec<Value> = report
        .findings
        .iter()
        .map(|finding| {
            let mut text = finding.message.clone();
            if let Some(help) = &finding.help {
                text = format!("{text}\n{help}");
            }
            result(
                report,
                finding.rule,
                finding.severity,
                &text,
                finding.location.as_ref(),
            )
        })
        .collect();
    for entry in &report.migrations {
        if let Some(error) = &entry.error {
            let code = error.sqlstate.as_deref().unwrap_or("error");
            let text = format!("migration failed: {} [{code}]", error.message);
            let location = error.location.clone().or_else(|| {
                Some(Location {
                    file: entry.file.clone(),
                    span: crate::findings::span::Span::new(0, 0),
                })
            });
            results.push(result(
                report,
                "apply-error",
                Severity::Error,
                &text,
                location.as_ref(),
            ));
        }
    }
    let sarif = json!({
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "migration-guard",
                "version": env!("CARGO_PKG_VERSION"),
                "rules": descriptors,
            }},
            "results": results,
        }],
    });
    let mut out = serde_json::to_string_pretty(&sarif).expect("SARIF serialises");
    out.push('\n');
    out
}

fn result(
    report: &Report,
    rule: &str,
    severity: Severity,
    text: &str,
    location: Option<&Location>,
) -> Value {
    let mut result = json!({
        "ruleId": rule,
        "level": level(severity),
        "message": {"text": text},
    });
    if let Some(location) = location {
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
        result["locations"] = json!([{
            "physicalLocation": {
                "artifactLocation": {"uri": report.path(&location.file)},
                "region": region,
            }
        }]);
    }
    result
}

fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "note",
    }
}
