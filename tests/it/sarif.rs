//! The SARIF report as GitHub code scanning reads it: valid against the SARIF 2.1.0
//! schema, a rule entry with help for every result (a migration that fails to apply
//! too), fingerprints that survive lines moving, allowed findings as suppressions, and a
//! category per command.

use crate::common;

use std::sync::OnceLock;

use common::{Project, output};
use serde_json::Value;

/// Validates `sarif` against the OASIS schema (tests/fixtures/sarif) and returns it.
pub fn assert_schema_valid(sarif: &str) -> Value {
    static SCHEMA: OnceLock<jsonschema::Validator> = OnceLock::new();
    let validator = SCHEMA.get_or_init(|| {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/sarif/sarif-schema-2.1.0.json"
        );
        let schema: Value =
            serde_json::from_str(&std::fs::read_to_string(path).expect("the schema")).unwrap();
        // Draft 7 validators check formats (a relative `helpUri` is not a `uri`).
        jsonschema::draft7::new(&schema).expect("the SARIF schema compiles")
    });
    let document: Value = serde_json::from_str(sarif).expect("SARIF is JSON");
    let errors: Vec<String> = validator
        .iter_errors(&document)
        .map(|error| format!("{error} at {}", error.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "not valid SARIF 2.1.0:\n{}",
        errors.join("\n")
    );
    document
}

/// A set with a finding a comment allowed, one that fails the run, and a migration that
/// does not apply.
fn project(header: &str) -> Project {
    let project = Project::new();
    project.file(
        "20250101000000_profiles.sql",
        "CREATE TABLE public.profiles (id bigint PRIMARY KEY, nickname text, bio text);\n",
    );
    project.file(
        "20250102000000_tidy.sql",
        format!(
            "{header}-- migration-guard: allow no-drop-column -- nobody has read it since the 2024 redesign\n\
             ALTER TABLE public.profiles DROP COLUMN bio;\n\
             DROP TABLE public.profiles;\n"
        ),
    );
    project.file(
        "20250103000000_broken.sql",
        format!("{header}SELECT missing_column FROM pg_class;\n"),
    );
    project
}

fn shadow_sarif(project: &Project) -> Value {
    let (code, stdout, stderr) =
        output(&mut project.command(&["shadow", "--provider", "local", "--format", "sarif"]));
    assert_eq!(code, 1, "the set fails: {stderr}");
    assert_schema_valid(&stdout)
}

fn results(sarif: &Value) -> &Vec<Value> {
    sarif["runs"][0]["results"].as_array().unwrap()
}

fn result<'s>(sarif: &'s Value, rule: &str) -> &'s Value {
    results(sarif)
        .iter()
        .find(|result| result["ruleId"] == rule)
        .unwrap_or_else(|| panic!("no {rule} result in {sarif:#}"))
}

#[test]
fn every_result_has_its_rule_with_help_and_a_fingerprint() {
    let sarif = shadow_sarif(&project(""));
    let run = &sarif["runs"][0];
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    for result in results(&sarif) {
        let index = result["ruleIndex"].as_u64().unwrap() as usize;
        let rule = &rules[index];
        assert_eq!(rule["id"], result["ruleId"], "ruleIndex points at its rule");
        assert!(
            rule["help"]["markdown"]
                .as_str()
                .unwrap()
                .starts_with(&format!("# {}", rule["id"].as_str().unwrap())),
            "the rule's page is its help: {rule:#}"
        );
        assert!(!rule["help"]["text"].as_str().unwrap().is_empty());
        assert!(
            result["partialFingerprints"]["migrationGuard/v1"]
                .as_str()
                .is_some_and(|print| print.len() > 32),
            "{result:#}"
        );
    }
    let failed = result(&sarif, "apply-error");
    assert_eq!(failed["level"], "error");
    assert!(
        failed["message"]["text"]
            .as_str()
            .unwrap()
            .contains("missing_column"),
        "{failed:#}"
    );
    assert_eq!(
        failed["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "migrations/20250103000000_broken.sql"
    );
    assert_eq!(
        failed["locations"][0]["physicalLocation"]["region"]["startLine"],
        1
    );
    assert_eq!(result(&sarif, "no-drop-table")["level"], "error");
    assert_eq!(
        run["automationDetails"]["id"], "migration-guard/shadow/",
        "one category per command"
    );
    assert_eq!(run["invocations"][0]["executionSuccessful"], true);
}

#[test]
fn an_allowed_finding_is_a_suppression_not_a_note() {
    let sarif = shadow_sarif(&project(""));
    let allowed = result(&sarif, "no-drop-column");
    assert_eq!(allowed["level"], "error", "the rule's own level");
    assert_eq!(
        allowed["suppressions"],
        serde_json::json!([{
            "kind": "inSource",
            "justification": "nobody has read it since the 2024 redesign",
        }])
    );
    assert!(
        !allowed["message"]["text"]
            .as_str()
            .unwrap()
            .contains("allowed:"),
        "the reason is the suppression's: {allowed:#}"
    );
    assert!(
        result(&sarif, "no-drop-table")
            .get("suppressions")
            .is_none(),
        "the statement after it is not allowed"
    );
}

#[test]
fn fingerprints_survive_lines_added_above() {
    let prints = |sarif: &Value| -> Vec<(String, String, u64)> {
        let mut prints: Vec<_> = results(sarif)
            .iter()
            .map(|result| {
                (
                    result["ruleId"].as_str().unwrap().to_string(),
                    result["partialFingerprints"]["migrationGuard/v1"]
                        .as_str()
                        .unwrap()
                        .to_string(),
                    result["locations"][0]["physicalLocation"]["region"]["startLine"]
                        .as_u64()
                        .unwrap_or(0),
                )
            })
            .collect();
        prints.sort();
        prints
    };
    let before = prints(&shadow_sarif(&project("")));
    let after = prints(&shadow_sarif(&project(
        "-- Reviewed in the March audit.\n\n",
    )));
    assert_eq!(before.len(), after.len());
    for ((rule, print, line), (rule_after, print_after, line_after)) in before.iter().zip(&after) {
        assert_eq!(rule, rule_after);
        assert_eq!(
            print, print_after,
            "{rule}'s fingerprint moved with its line"
        );
        // The statements' findings move down with them (a file's once-per-file finding
        // stays at its first line).
        if ["no-drop-table", "no-drop-column", "apply-error"].contains(&rule.as_str()) {
            assert_eq!(*line + 2, *line_after, "{rule} is now two lines lower");
        }
    }
    let mut unique: Vec<_> = before.iter().map(|(_, print, _)| print).collect();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), before.len(), "no two results share one");
}

#[test]
fn a_lint_report_with_nothing_found_is_valid_too() {
    let project = Project::new();
    project.file(
        "20250101000000_profiles.sql",
        "CREATE TABLE IF NOT EXISTS public.profiles (id bigint PRIMARY KEY);\n",
    );
    let (code, stdout, _) = output(&mut project.command(&["lint", "--format", "sarif"]));
    assert_eq!(code, 0);
    let sarif = assert_schema_valid(&stdout);
    assert_eq!(results(&sarif).len(), 0);
    assert_eq!(
        sarif["runs"][0]["automationDetails"]["id"],
        "migration-guard/lint/"
    );
}
