//! The report for people at a terminal: a verdict, the migrations, and each finding with
//! the offending line and a caret.
//!
//! The text carries ANSI styles; print it through `anstream`, which strips them when the
//! output is not a terminal (or `NO_COLOR` is set).

use std::fmt::Write;

use anstyle::{AnsiColor, Style};

use super::json::path;
use super::model::{Finding, MigrationStatus, Report, Severity, Status};
use crate::text::LineCol;

const BOLD: Style = Style::new().bold();
const DIM: Style = Style::new().dimmed();
const RED: Style = AnsiColor::Red.on_default().bold();
const YELLOW: Style = AnsiColor::Yellow.on_default().bold();
const BLUE: Style = AnsiColor::Blue.on_default().bold();
const GREEN: Style = AnsiColor::Green.on_default().bold();

pub fn render(report: &Report) -> String {
    let mut out = String::new();
    if let Some(error) = &report.error {
        let _ = writeln!(out, "{RED}error{RED:#}: {error}");
        return out;
    }
    migrations(&mut out, report);
    skipped(&mut out, report);
    for created in &report.created {
        let _ = writeln!(out, "Created new migration at {}", path(created));
    }
    for finding in &report.findings {
        render_finding(&mut out, report, finding);
    }
    verdict(&mut out, report);
    out
}

fn migrations(out: &mut String, report: &Report) {
    if report.migrations.is_empty() {
        return;
    }
    let version_width = width(report.migrations.iter().map(|m| m.version.len()));
    let name_width = width(report.migrations.iter().map(|m| m.name.len()));
    let _ = writeln!(
        out,
        "{BOLD}Migrations{BOLD:#} ({})",
        report.migrations.len()
    );
    for entry in &report.migrations {
        let status = match entry.status {
            MigrationStatus::Local => String::new(),
            status => format!("{:<16}", status.as_str()),
        };
        let _ = writeln!(
            out,
            "  {status}{:<version_width$}  {:<name_width$}  {:>4} statement{}  {DIM}{}{DIM:#}",
            entry.version,
            entry.name,
            entry.statements,
            if entry.statements == 1 { " " } else { "s" },
            path(&entry.file),
        );
    }
}

fn skipped(out: &mut String, report: &Report) {
    for skipped in &report.skipped {
        let _ = writeln!(
            out,
            "{YELLOW}skipped{YELLOW:#} {} ({})",
            path(&skipped.file),
            skipped.reason
        );
    }
}

fn width(lengths: impl Iterator<Item = usize>) -> usize {
    lengths.max().unwrap_or(0)
}

fn render_finding(out: &mut String, report: &Report, finding: &Finding) {
    let (label, style) = match finding.severity {
        Severity::Error => ("error", RED),
        Severity::Warning => ("warning", YELLOW),
        Severity::Info => ("info", BLUE),
    };
    let _ = writeln!(
        out,
        "\n{style}{label}[{}]{style:#}: {BOLD}{}{BOLD:#}",
        finding.rule, finding.message
    );
    if let Some(location) = &finding.location {
        match report.locate(location) {
            Some(at) => {
                let _ = writeln!(
                    out,
                    "  {BLUE}-->{BLUE:#} {}:{}:{}",
                    path(&location.file),
                    at.line,
                    at.column
                );
                snippet(out, report, &location.file, at);
            }
            None => {
                let _ = writeln!(out, "  {BLUE}-->{BLUE:#} {}", path(&location.file));
            }
        }
    }
    if let Some(help) = &finding.help {
        for (index, line) in help.lines().enumerate() {
            let prefix = if index == 0 { "help:" } else { "     " };
            let _ = writeln!(out, "  {BOLD}{prefix}{BOLD:#} {line}");
        }
    }
}

/// The line at `at` with a caret under its column.
pub(crate) fn snippet(out: &mut String, report: &Report, file: &std::path::Path, at: LineCol) {
    let Some(line) = report.source_line(file, at.line) else {
        return;
    };
    let gutter = at.line.to_string().len();
    let _ = writeln!(out, "  {:gutter$} {BLUE}|{BLUE:#}", "");
    let _ = writeln!(out, "  {BLUE}{:>gutter$} |{BLUE:#} {line}", at.line);
    // Tabs keep their width so the caret lands under the right character.
    let pad: String = line
        .chars()
        .take(at.column - 1)
        .map(|c| if c == '\t' { '\t' } else { ' ' })
        .collect();
    let _ = writeln!(out, "  {:gutter$} {BLUE}|{BLUE:#} {pad}{RED}^{RED:#}", "");
}

fn verdict(out: &mut String, report: &Report) {
    let status = report.status();
    let style = match status {
        Status::Passed => GREEN,
        Status::Failed | Status::Error => RED,
    };
    let count = |n: usize, what: &str| format!("{n} {what}{}", if n == 1 { "" } else { "s" });
    let _ = writeln!(
        out,
        "\n{style}{}{style:#}: {}, {}, {}",
        status.as_str(),
        count(report.migrations.len(), "migration"),
        count(report.count(Severity::Error), "error"),
        count(report.count(Severity::Warning), "warning"),
    );
}
