//! The JSON report: a stable interface (`schema_version` 1) that scripts depend on.
//!
//! Keys are only ever added, never renamed; DESIGN.md lists the minimum set.

use serde::Serialize;

use super::model::{Finding, MigrationEntry, Report, Severity, TableEvidence, path};

const SCHEMA_VERSION: u32 = 1;

#[derive(Serialize)]
struct JsonReport<'r> {
    schema_version: u32,
    command: &'static str,
    status: &'static str,
    postgres: Option<JsonPostgres<'r>>,
    migrations: Vec<JsonMigration<'r>>,
    findings: Vec<JsonFinding<'r>>,
    baseline_findings: Vec<JsonFinding<'r>>,
    /// Where the deployed history is ("on `main`"), when the run had one.
    history: Option<&'r str>,
    verify: Vec<JsonVerify<'r>>,
    drift: Vec<JsonDrift<'r>>,
    skipped: Vec<JsonSkipped<'r>>,
    created: Vec<String>,
    notes: &'r [String],
    duration_ms: Option<u64>,
    summary: JsonSummary,
    error: Option<JsonToolError<'r>>,
}

#[derive(Serialize)]
struct JsonPostgres<'r> {
    provider: &'r str,
    server_version: &'r str,
    supabase_compat: Option<&'static str>,
    ready_ms: Option<u64>,
}

#[derive(Serialize)]
struct JsonMigration<'r> {
    file: String,
    version: &'r str,
    name: &'r str,
    status: &'static str,
    statements: usize,
    duration_ms: Option<u64>,
    transaction: Option<&'r str>,
    notices: &'r [String],
    locks: Vec<JsonLock<'r>>,
    rewrites: Vec<JsonTableEvidence<'r>>,
    error: Option<JsonMigrationError<'r>>,
}

/// A lock a migration took on a relation that existed before it.
#[derive(Serialize)]
struct JsonLock<'r> {
    /// The relation again, under the key the first reports used.
    table: &'r str,
    relation: &'r str,
    kind: &'static str,
    /// As `pg_locks` names it (`ShareRowExclusiveLock`).
    mode: &'static str,
    blocks: &'static str,
    statement_index: Option<usize>,
    line: Option<usize>,
    held_ms: Option<f64>,
    /// The relation's rows in the shadow as the file started.
    rows: Option<u64>,
    /// The hold expected on the `--preview-db-url` target.
    predicted_ms: Option<f64>,
}

/// A table a migration rewrote, at the statement that did it when known.
#[derive(Serialize)]
struct JsonTableEvidence<'r> {
    table: &'r str,
    statement_index: Option<usize>,
    line: Option<usize>,
}

#[derive(Serialize)]
struct JsonMigrationError<'r> {
    message: &'r str,
    sqlstate: Option<&'r str>,
    line: Option<usize>,
    column: Option<usize>,
    statement_index: Option<usize>,
    detail: Option<&'r str>,
    hint: Option<&'r str>,
    context: Option<&'r str>,
    /// What was committed before the failure and stays applied.
    stayed: Vec<JsonStatement>,
}

#[derive(Serialize)]
struct JsonStatement {
    statement_index: usize,
    line: Option<usize>,
}

#[derive(Serialize)]
struct JsonFinding<'r> {
    rule: &'static str,
    severity: &'static str,
    file: Option<String>,
    line: Option<usize>,
    column: Option<usize>,
    end_line: Option<usize>,
    end_column: Option<usize>,
    message: &'r str,
    help: Option<&'r str>,
    /// The rule's page.
    help_uri: Option<String>,
}

#[derive(Serialize)]
struct JsonVerify<'r> {
    file: String,
    check: &'r str,
    ok: bool,
    detail: &'r str,
    line: Option<usize>,
}

#[derive(Serialize)]
struct JsonDrift<'r> {
    kind: &'r str,
    object: &'r str,
    change: &'r str,
    detail: &'r str,
}

#[derive(Serialize)]
struct JsonSkipped<'r> {
    file: String,
    reason: &'r str,
}

#[derive(Serialize)]
struct JsonSummary {
    migrations: usize,
    errors: usize,
    warnings: usize,
    infos: usize,
}

#[derive(Serialize)]
struct JsonToolError<'r> {
    message: &'r str,
}

/// Renders `report` as pretty-printed JSON.
pub fn render(report: &Report) -> String {
    let json = JsonReport {
        schema_version: SCHEMA_VERSION,
        command: report.command.as_str(),
        status: report.status().as_str(),
        postgres: report.postgres.as_ref().map(|pg| JsonPostgres {
            provider: &pg.provider,
            server_version: &pg.server_version,
            supabase_compat: pg.supabase_compat,
            ready_ms: pg.ready_ms,
        }),
        migrations: report
            .migrations
            .iter()
            .map(|m| migration(report, m))
            .collect(),
        findings: report.findings.iter().map(|f| finding(report, f)).collect(),
        baseline_findings: report
            .baseline_findings
            .iter()
            .map(|f| finding(report, f))
            .collect(),
        history: report.history.as_deref(),
        verify: report
            .verify
            .iter()
            .map(|v| JsonVerify {
                file: report.path(&v.file),
                check: &v.check,
                ok: v.ok,
                detail: &v.detail,
                line: v
                    .location
                    .as_ref()
                    .and_then(|l| report.locate(l))
                    .map(|at| at.line),
            })
            .collect(),
        drift: report
            .drift
            .iter()
            .map(|d| JsonDrift {
                kind: &d.kind,
                object: &d.object,
                change: &d.change,
                detail: &d.detail,
            })
            .collect(),
        skipped: report
            .skipped
            .iter()
            .map(|s| JsonSkipped {
                file: report.path(&s.file),
                reason: &s.reason,
            })
            .collect(),
        created: report.created.iter().map(|p| path(p)).collect(),
        notes: &report.notes,
        duration_ms: report.duration_ms,
        summary: JsonSummary {
            migrations: report.migrations.len(),
            errors: report.count(Severity::Error),
            warnings: report.count(Severity::Warning),
            infos: report.count(Severity::Info),
        },
        error: report
            .error
            .as_deref()
            .map(|message| JsonToolError { message }),
    };
    let mut out = serde_json::to_string_pretty(&json).expect("the report serialises");
    out.push('\n');
    out
}

fn migration<'r>(report: &Report, entry: &'r MigrationEntry) -> JsonMigration<'r> {
    JsonMigration {
        file: report.path(&entry.file),
        version: &entry.version,
        name: &entry.name,
        status: entry.status.as_str(),
        statements: entry.statements,
        duration_ms: entry.duration_ms,
        transaction: entry.transaction.as_deref(),
        notices: &entry.notices,
        locks: entry
            .locks
            .iter()
            .map(|lock| JsonLock {
                table: &lock.relation,
                relation: &lock.relation,
                kind: lock.kind,
                mode: lock.mode.pg_name(),
                blocks: lock.mode.blocks().as_str(),
                statement_index: lock.statement_index,
                line: report.line_of(lock.at.as_ref()),
                held_ms: lock.held.map(milliseconds),
                rows: lock.size.and_then(|size| size.rows),
                predicted_ms: lock.predicted.map(milliseconds),
            })
            .collect(),
        rewrites: table_evidence(report, &entry.rewrites),
        error: entry.error.as_ref().map(|error| {
            let at = error.location.as_ref().and_then(|l| report.locate(l));
            JsonMigrationError {
                message: &error.message,
                sqlstate: error.sqlstate.as_deref(),
                line: at.map(|at| at.line),
                column: at.map(|at| at.column),
                statement_index: error.statement_index,
                detail: error.detail.as_deref(),
                hint: error.hint.as_deref(),
                context: error.context.as_deref(),
                stayed: error
                    .stayed
                    .iter()
                    .map(|(statement_index, at)| JsonStatement {
                        statement_index: *statement_index,
                        line: report.locate(at).map(|at| at.line),
                    })
                    .collect(),
            }
        }),
    }
}

fn table_evidence<'r>(report: &Report, tables: &'r [TableEvidence]) -> Vec<JsonTableEvidence<'r>> {
    tables
        .iter()
        .map(|evidence| JsonTableEvidence {
            table: &evidence.table,
            statement_index: evidence.statement_index,
            line: report.line_of(evidence.at.as_ref()),
        })
        .collect()
}

fn finding<'r>(report: &Report, finding: &'r Finding) -> JsonFinding<'r> {
    let (start, end) = finding
        .location
        .as_ref()
        .map(|l| (report.locate(l), report.position(&l.file, l.span.end)))
        .unwrap_or_default();
    JsonFinding {
        rule: finding.rule,
        severity: finding.severity.as_str(),
        file: finding.location.as_ref().map(|l| report.path(&l.file)),
        line: start.map(|at| at.line),
        column: start.map(|at| at.column),
        end_line: end.map(|at| at.line),
        end_column: end.map(|at| at.column),
        message: &finding.message,
        help: finding.help.as_deref(),
        help_uri: crate::findings::registry::find(finding.rule).map(|rule| report.rule_url(rule)),
    }
}

/// A duration in milliseconds, to a tenth.
fn milliseconds(duration: std::time::Duration) -> f64 {
    (duration.as_secs_f64() * 10_000.0).round() / 10.0
}
