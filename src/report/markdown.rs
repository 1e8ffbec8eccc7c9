//! The report as GitHub-flavoured markdown: the pull-request comment body, the job
//! summary and `report.md`. Tables per section, long lists folded in `<details>`.

use std::fmt::Write;

use super::model::{
    MigrationEntry, MigrationStatus, Report, Severity, Status, VerifyCheck, seconds,
};
use super::text;
use crate::findings::registry;

/// Marks the comment as ours, so a later run updates it instead of adding another.
pub const COMMENT_MARKER: &str = "<!-- migration-guard -->";

/// How every marker of ours starts.
pub const MARKER_PREFIX: &str = "<!-- migration-guard";

/// The marker of the sticky comment for `command` run in `workdir`:
/// `<!-- migration-guard:COMMAND:WORKDIR -->` (WORKDIR `.` by default).
pub fn comment_marker(command: &str, workdir: &str) -> String {
    let workdir = workdir.trim_end_matches('/');
    let workdir = if workdir.is_empty() { "." } else { workdir };
    // Nothing in it may end the HTML comment early.
    let workdir = workdir.replace("--", "-").replace('>', "");
    format!("<!-- migration-guard:{command}:{workdir} -->")
}

/// `body` (a [`render`]) under `marker` in place of the generic one.
pub fn with_marker(body: &str, marker: &str) -> String {
    match body.strip_prefix(COMMENT_MARKER) {
        Some(rest) => format!("{marker}{rest}"),
        None => format!("{marker}\n{body}"),
    }
}
/// Lists longer than this are folded.
const FOLD_AFTER: usize = 10;

pub fn render(report: &Report) -> String {
    let mut out = String::new();
    let status = report.status();
    let icon = match status {
        Status::Passed => "✅",
        Status::Failed => "❌",
        Status::Error => "⚠️",
    };
    let _ = writeln!(out, "{COMMENT_MARKER}");
    let _ = writeln!(
        out,
        "### {icon} migration-guard {}: {}\n",
        report.command.as_str(),
        status.as_str()
    );
    if let Some(error) = &report.error {
        let _ = writeln!(out, "The tool could not finish:\n\n{}", fenced(error, ""));
        // What it knows so far still helps: the status of each file.
        if report.migrations.is_empty() {
            return out;
        }
    }
    summary_line(&mut out, report);
    // What stopped the run comes before the tables that say what else happened.
    failures(&mut out, report);
    migrations(&mut out, report);
    locks(&mut out, report);
    predictions(&mut out, report);
    findings(&mut out, report);
    verify(&mut out, report);
    drift(&mut out, report);
    notices(&mut out, report);
    for note in &report.notes {
        let _ = writeln!(out, "> {}\n", note);
    }
    out
}

fn summary_line(out: &mut String, report: &Report) {
    let mut parts = Vec::new();
    if let Some(pg) = &report.postgres {
        let compat = pg
            .supabase_compat
            .map(|c| format!(", {c}"))
            .unwrap_or_default();
        parts.push(format!(
            "PostgreSQL {} ({}{compat})",
            pg.server_version, pg.provider
        ));
    }
    parts.push(report.migrations_summary());
    parts.push(text::count(report.count(Severity::Error), "error"));
    parts.push(text::count(report.count(Severity::Warning), "warning"));
    if let Some(ms) = report.duration_ms {
        parts.push(format!("{:.1} s", ms as f64 / 1000.0));
    }
    if let Some(run) = &report.run {
        let commit: String = run.commit.chars().take(7).collect();
        parts.push(match &run.url {
            Some(url) => format!("`{commit}` · [the run]({url})"),
            None => format!("`{commit}`"),
        });
    }
    let _ = writeln!(out, "{}\n", parts.join(" · "));
}

fn migrations(out: &mut String, report: &Report) {
    // Files listed without a database (lint, status): the findings say it all.
    if report
        .migrations
        .iter()
        .all(|m| m.status == MigrationStatus::Local)
    {
        return;
    }
    const HEAD: &str =
        "| | Migration | Statements | Time | Transaction |\n|---|---|---:|---:|---|\n";
    let (deployed, changed): (Vec<&MigrationEntry>, Vec<&MigrationEntry>) =
        report.migrations.iter().partition(|entry| entry.deployed);
    if deployed.is_empty() {
        let rows: String = changed.iter().map(|entry| row(report, entry, "")).collect();
        fold(out, changed.len(), "migrations", &format!("{HEAD}{rows}"));
        return;
    }
    // With a history, the change's own files lead; the deployed ones are folded below.
    let edited: std::collections::BTreeSet<&std::path::Path> = report
        .findings
        .iter()
        .filter(|finding| finding.rule == registry::MIGRATION_EDITED.id)
        .filter_map(|finding| Some(finding.location.as_ref()?.file.as_path()))
        .collect();
    if changed.is_empty() {
        let _ = writeln!(out, "This change adds or edits no migration.\n");
    } else {
        let rows: String = changed
            .iter()
            .map(|entry| {
                let mark = if edited.contains(entry.file.as_path()) {
                    "edited: "
                } else {
                    "new: "
                };
                row(report, entry, mark)
            })
            .collect();
        let _ = writeln!(out, "#### This change\n\n{HEAD}{rows}");
    }
    let rows: String = deployed
        .iter()
        .map(|entry| row(report, entry, ""))
        .collect();
    let _ = writeln!(
        out,
        "<details><summary>{} already deployed ({})</summary>\n\n{HEAD}{rows}\n</details>\n",
        text::count(deployed.len(), "migration"),
        report.history.as_deref().unwrap_or("history")
    );
}

/// A migration's row: its status, `mark` and file, statements, time and transaction.
fn row(report: &Report, entry: &MigrationEntry, mark: &str) -> String {
    let icon = match entry.status {
        MigrationStatus::Applied => "✅",
        MigrationStatus::AlreadyApplied => "☑️",
        MigrationStatus::Failed => "❌",
        MigrationStatus::Skipped => "⏭️",
        MigrationStatus::Pending | MigrationStatus::Local => "•",
    };
    format!(
        "| {icon} | {mark}`{}` | {} | {} | {} |\n",
        cell(&report.path(&entry.file)),
        entry.statements,
        entry
            .duration_ms
            .map(|ms| format!("{ms} ms"))
            .unwrap_or_default(),
        cell(
            entry
                .transaction
                .as_deref()
                .unwrap_or(entry.status.as_str())
        ),
    )
}

/// What each migration blocked: the locks it took on existing relations that stop reads
/// or writes, how long each was held in the shadow, and the tables it rewrote.
fn locks(out: &mut String, report: &Report) {
    let mut rows = Vec::new();
    for entry in &report.migrations {
        let file = cell(&report.path(&entry.file));
        let line = |at: Option<&crate::findings::Location>| {
            report
                .line_of(at)
                .map_or(String::new(), |line| line.to_string())
        };
        for lock in entry.blocking_locks() {
            let rewritten = entry
                .rewrites
                .iter()
                .any(|rewrite| rewrite.table == lock.relation);
            rows.push(format!(
                "| `{file}` | {} | `{}`{} | {} | {} | {} |",
                lock.mode.sql_name(),
                lock.relation,
                if rewritten { " (rewritten)" } else { "" },
                line(lock.at.as_ref()),
                lock.mode.blocks().as_str(),
                lock.held
                    .map_or(String::new(), |held| format!("{} ms", held.as_millis()))
            ));
        }
        for rewrite in entry.rewrites.iter().filter(|rewrite| {
            !entry
                .locks
                .iter()
                .any(|lock| lock.relation == rewrite.table)
        }) {
            rows.push(format!(
                "| `{file}` | | `{}` (rewritten) | {} | | |",
                rewrite.table,
                line(rewrite.at.as_ref())
            ));
        }
    }
    table_section(
        out,
        "🔒 Locks on existing relations",
        &["Migration", "Lock", "On", "Line", "Blocks", "Held"],
        &rows,
        "locks",
    );
}

/// A heading and a table of `rows` under `columns`, folded when long; nothing for no
/// rows.
fn table_section(out: &mut String, heading: &str, columns: &[&str], rows: &[String], what: &str) {
    if rows.is_empty() {
        return;
    }
    let table = format!(
        "| {} |\n|{}\n{}\n",
        columns.join(" | "),
        "---|".repeat(columns.len()),
        rows.join("\n")
    );
    let _ = writeln!(out, "#### {heading}\n");
    fold(out, rows.len(), what, &table);
}

/// The locks' predicted hold times on the `--preview-db-url` target, against the budget.
fn predictions(out: &mut String, report: &Report) {
    let Some(budgets) = &report.lock_budgets else {
        return;
    };
    let mut rows = Vec::new();
    for entry in &report.migrations {
        for lock in entry.blocking_locks() {
            let Some(predicted) = lock.predicted else {
                continue;
            };
            let budget = budgets.for_blocks(lock.mode.blocks());
            let over = budget.is_some_and(|budget| predicted > budget);
            rows.push(format!(
                "| `{}` | {} | {} | {}{} | {} |",
                lock.relation,
                lock.mode.sql_name(),
                report
                    .line_of(lock.at.as_ref())
                    .map_or(String::new(), |line| format!(
                        "`{}:{line}`",
                        cell(&report.path(&entry.file))
                    )),
                if over { "⚠️ " } else { "" },
                seconds(predicted),
                budget.map_or(String::new(), seconds),
            ));
        }
    }
    table_section(
        out,
        "⏱️ Lock times predicted on the target",
        &["Relation", "Lock", "Line", "Predicted", "Budget"],
        &rows,
        "predictions",
    );
}

fn failures(out: &mut String, report: &Report) {
    for entry in &report.migrations {
        let Some(error) = &entry.error else { continue };
        let at = error.location.as_ref().and_then(|l| report.locate(l));
        let place = at
            .map(|at| format!(" at line {}, column {}", at.line, at.column))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "#### ❌ `{}` failed{place}\n",
            report.path(&entry.file)
        );
        let code = error
            .sqlstate
            .as_deref()
            .map(|c| format!(" {c}"))
            .unwrap_or_default();
        let _ = writeln!(out, "**ERROR{code}**: {}\n", error.message);
        if let Some(at) = at {
            let first = error
                .statement
                .and_then(|span| report.position(&entry.file, span.start))
                .map_or(at.line, |start| start.line);
            let mut snippet = String::new();
            text::snippet(&mut snippet, report, &entry.file, first, at, 1);
            let _ = writeln!(
                out,
                "{}",
                fenced(&anstream::adapter::strip_str(&snippet).to_string(), "sql")
            );
        }
        for (label, text) in report.failure_details(entry, error) {
            let _ = writeln!(out, "> **{label}**: {text}\n");
        }
    }
}

fn findings(out: &mut String, report: &Report) {
    if let Some(baseline) = report.baseline_summary() {
        let _ = writeln!(out, "> {baseline}.\n");
    }
    let mut findings: Vec<_> = report
        .findings
        .iter()
        .filter(|f| !f.asks_nothing())
        .collect();
    if findings.is_empty() {
        return;
    }
    const HEAD: &str = "| Severity | Rule | Location | Message |\n|---|---|---|---|\n";
    // Errors first: they are what a reviewer must act on, and are never folded.
    findings.sort_by_key(|finding| std::cmp::Reverse(finding.severity));
    let rows: Vec<String> = findings
        .iter()
        .map(|finding| {
            let location = finding
                .location
                .as_ref()
                .map(|l| match report.locate(l) {
                    Some(at) => format!("`{}:{}`", report.path(&l.file), at.line),
                    None => format!("`{}`", report.path(&l.file)),
                })
                .unwrap_or_default();
            let help = finding
                .help
                .as_deref()
                .map(|help| format!("<br>_{}_", cell(help)))
                .unwrap_or_default();
            format!(
                "| {} | `{}` | {location} | {}{help} |\n",
                finding.severity.as_str(),
                finding.rule,
                cell(&finding.message),
            )
        })
        .collect();
    let _ = writeln!(out, "#### Findings\n");
    if rows.len() <= FOLD_AFTER {
        let _ = writeln!(out, "{HEAD}{}", rows.concat());
        return;
    }
    let errors = findings
        .iter()
        .take_while(|finding| finding.severity == Severity::Error)
        .count();
    if errors > 0 {
        let _ = writeln!(out, "{HEAD}{}", rows[..errors].concat());
    }
    let rest = &rows[errors..];
    if !rest.is_empty() {
        let what = if errors > 0 {
            "more findings"
        } else {
            "findings"
        };
        fold(out, rest.len(), what, &format!("{HEAD}{}", rest.concat()));
    }
}

fn verify(out: &mut String, report: &Report) {
    if report.verify.is_empty() {
        return;
    }
    let (passed, failed): (Vec<&VerifyCheck>, Vec<&VerifyCheck>) =
        report.verify.iter().partition(|check| check.ok);
    let table = |checks: &[&VerifyCheck]| {
        let mut table = String::from("| | Check | Detail |\n|---|---|---|\n");
        for check in checks {
            let _ = writeln!(
                table,
                "| {} | {} | {} |",
                if check.ok { "✅" } else { "❌" },
                cell(&check.check),
                cell(&check.detail)
            );
        }
        table
    };
    let _ = writeln!(
        out,
        "#### Verify: {}/{} passed\n",
        passed.len(),
        report.verify.len()
    );
    // A failed check is what the reader came for: never folded.
    if !failed.is_empty() {
        let _ = writeln!(out, "{}", table(&failed));
    }
    if !passed.is_empty() {
        fold(out, passed.len(), "passed checks", &table(&passed));
    }
}

fn drift(out: &mut String, report: &Report) {
    if report.drift.is_empty() {
        return;
    }
    let mut table = String::from("| Change | Kind | Object | Detail |\n|---|---|---|---|\n");
    for item in &report.drift {
        let _ = writeln!(
            table,
            "| {} | {} | `{}` | {} |",
            item.change,
            item.kind,
            cell(&item.object),
            cell(&item.detail)
        );
    }
    let _ = writeln!(
        out,
        "#### Drift: {}\n",
        text::count(report.drift.len(), "difference")
    );
    fold(out, report.drift.len(), "differences", &table);
}

fn notices(out: &mut String, report: &Report) {
    let with_notices: Vec<_> = report
        .migrations
        .iter()
        .filter(|m| !m.notices.is_empty())
        .collect();
    if with_notices.is_empty() {
        return;
    }
    let mut body = String::new();
    for entry in with_notices {
        let _ = writeln!(
            body,
            "`{}`\n{}",
            report.path(&entry.file),
            fenced(&entry.notices.join("\n"), "")
        );
    }
    let _ = writeln!(
        out,
        "<details><summary>Server notices</summary>\n\n{body}</details>\n"
    );
}

/// `body` as is when short, else inside a collapsed `<details>`.
fn fold(out: &mut String, count: usize, what: &str, body: &str) {
    if count > FOLD_AFTER {
        let _ = writeln!(
            out,
            "<details><summary>{count} {what}</summary>\n\n{body}\n</details>\n"
        );
    } else {
        let _ = writeln!(out, "{body}");
    }
}

/// A table cell: no line breaks or unescaped pipes.
fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', "<br>")
}

/// A fenced code block whose fence is longer than any backtick run inside.
fn fenced(body: &str, language: &str) -> String {
    let longest = body.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest.max(2) + 1);
    format!("{fence}{language}\n{}\n{fence}\n", body.trim_end())
}
