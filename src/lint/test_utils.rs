//! Helpers for rule tests: lint a fixture with one rule enabled, and render what it found
//! as the text report shows it.
//!
//! A fixture may hold several migration files: a line `-- file: NAME.sql` starts the next
//! one (the first file is `0001_fixture.sql` unless named).

use std::fs;
use std::sync::Arc;

use crate::config::Config;
use crate::findings::Finding;
use crate::migration::discover;
use crate::report::{CommandName, Report, text};

use super::lint;
use crate::findings::registry;
use crate::lint::rule::RuleDef;

/// Lints `fixture` with only `rule` enabled.
pub fn lint_fixture(rule: &RuleDef, fixture: &str) -> (Vec<Finding>, Report) {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut name = "0001_fixture.sql".to_string();
    let mut body = String::new();
    let mut files = Vec::new();
    // `-- config: KEY: VALUE` lines are migration-guard.yml's, not a file's.
    let mut settings = String::new();
    for line in fixture.split_inclusive('\n') {
        if let Some(setting) = line.trim().strip_prefix("-- config:") {
            settings.push_str(setting.trim());
            settings.push('\n');
        } else if let Some(next) = line.trim().strip_prefix("-- file:") {
            if !body.trim().is_empty() {
                files.push((name.clone(), std::mem::take(&mut body)));
            }
            name = next.trim().to_string();
            body.clear();
        } else {
            body.push_str(line);
        }
    }
    files.push((name, body));
    for (name, body) in &files {
        fs::write(dir.path().join(name), body).expect("write fixture");
    }
    let others: String = registry::configurable()
        .map(|other| other.id)
        .filter(|id| *id != rule.id)
        .map(|id| format!("  {id}: off\n"))
        .collect();
    let config =
        Config::parse(&format!("{settings}rules:\n{others}"), "test.yml".into()).expect("config");
    let discovery = discover(dir.path()).expect("fixture files");
    let findings = lint(&discovery, &config);
    let mut report = Report::new(CommandName::Lint);
    for migration in &discovery.migrations {
        report.add_source(&migration.path, Arc::clone(&migration.source));
    }
    // Paths in snapshots must not depend on the temp dir.
    let findings: Vec<Finding> = findings
        .into_iter()
        .map(|mut finding| {
            if let Some(location) = &mut finding.location {
                let relative = location
                    .file
                    .strip_prefix(dir.path())
                    .expect("in the fixture")
                    .to_path_buf();
                let source = discovery
                    .migrations
                    .iter()
                    .find(|m| m.path == location.file)
                    .map(|m| Arc::clone(&m.source))
                    .expect("a fixture file");
                report.add_source(&relative, source);
                location.file = relative;
            }
            finding
        })
        .collect();
    report.findings = findings.clone();
    (findings, report)
}

/// Asserts that `rule` finds nothing in `fixture`.
pub fn assert_ok(rule: &RuleDef, fixture: &str) {
    let (findings, report) = lint_fixture(rule, fixture);
    assert!(
        findings.is_empty(),
        "expected no findings from {}, got:\n{}",
        rule.id,
        plain(&text::render(&report))
    );
}

/// Asserts that `rule` finds something in `fixture`; returns the findings as the text
/// report shows them, for a snapshot.
pub fn render_err(rule: &RuleDef, fixture: &str) -> String {
    let (findings, report) = lint_fixture(rule, fixture);
    assert!(!findings.is_empty(), "expected findings from {}", rule.id);
    assert!(
        findings.iter().all(|f| f.rule == rule.id),
        "only {} runs",
        rule.id
    );
    plain(&text::render(&report))
}

fn plain(text: &str) -> String {
    anstream::adapter::strip_str(text).to_string()
}
