//! The report for people at a terminal: a verdict, the migrations, and each finding with
//! the offending line and a caret.
//!
//! The text carries ANSI styles; print it through `anstream`, which strips them when the
//! output is not a terminal (or `NO_COLOR` is set).

use std::fmt::Write;

use anstyle::{AnsiColor, Style};

use super::model::{
    CommandName, Finding, MigrationEntry, MigrationError, MigrationStatus, Report, Severity,
    Status, path, seconds,
};
use crate::findings::span::LineCol;

const BOLD: Style = Style::new().bold();
const DIM: Style = Style::new().dimmed();
const RED: Style = AnsiColor::Red.on_default().bold();
const YELLOW: Style = AnsiColor::Yellow.on_default().bold();
const BLUE: Style = AnsiColor::Blue.on_default().bold();
const GREEN: Style = AnsiColor::Green.on_default().bold();

/// How much of the findings the text shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verbosity {
    /// Errors only.
    Quiet,
    /// Errors, warnings and the infos that say something.
    Normal,
    /// Everything, the infos that ask nothing included.
    Verbose,
}

impl Verbosity {
    fn shows(self, finding: &Finding) -> bool {
        match self {
            Verbosity::Quiet => finding.severity == Severity::Error,
            Verbosity::Normal => !finding.asks_nothing(),
            Verbosity::Verbose => true,
        }
    }
}

pub fn render(report: &Report) -> String {
    render_with(report, Verbosity::Normal)
}

/// The report as text: the findings grouped by file, in file order, with a count per
/// rule at the end when there are many.
pub fn render_with(report: &Report, verbosity: Verbosity) -> String {
    let mut out = String::new();
    if let Some(error) = &report.error {
        let _ = writeln!(out, "{RED}error{RED:#}: {error}");
        // What it knows so far still helps: the status of each file.
        if report.migrations.is_empty() {
            return out;
        }
    }
    if let Some(pg) = &report.postgres {
        let compat = pg
            .supabase_compat
            .map(|c| format!(", {c}"))
            .unwrap_or_default();
        let role = match report.command {
            CommandName::Shadow => "Shadow",
            _ => "Database",
        };
        let _ = writeln!(
            out,
            "{BOLD}{role}{BOLD:#}: PostgreSQL {} ({}{compat})",
            pg.server_version, pg.provider
        );
    }
    migrations(&mut out, report);
    skipped(&mut out, report);
    for entry in &report.migrations {
        if let Some(error) = &entry.error {
            migration_error(&mut out, report, entry, error);
        }
    }
    verify(&mut out, report);
    drift(&mut out, report);
    for note in &report.notes {
        let _ = writeln!(out, "{DIM}note: {note}{DIM:#}");
    }
    for created in &report.created {
        let _ = writeln!(out, "Created new migration at {}", path(created));
    }
    let mut shown: Vec<&Finding> = report
        .findings
        .iter()
        .filter(|f| verbosity.shows(f))
        .collect();
    // By file, then by place: a reviewer reads a file top to bottom.
    fn place(f: &Finding) -> Option<(&std::path::PathBuf, usize)> {
        f.location.as_ref().map(|l| (&l.file, l.span.start))
    }
    fn file_of(f: &Finding) -> Option<&std::path::PathBuf> {
        f.location.as_ref().map(|l| &l.file)
    }
    shown.sort_by(|a, b| place(a).cmp(&place(b)));
    let mut files = shown.iter().filter_map(|f| file_of(f));
    let several_files = files.next().is_some_and(|first| files.any(|f| f != first));
    for (at, finding) in shown.iter().enumerate() {
        let file = file_of(finding);
        let first_of_file = at == 0 || file_of(shown[at - 1]) != file;
        if let Some(name) = file.filter(|_| several_files && first_of_file) {
            let count = shown[at..]
                .iter()
                .take_while(|f| file_of(f) == file)
                .count();
            let _ = writeln!(
                out,
                "\n{BOLD}{}{BOLD:#} {DIM}({count} finding{}){DIM:#}",
                path(name),
                if count == 1 { "" } else { "s" }
            );
        }
        render_finding(&mut out, report, finding);
    }
    by_rule(&mut out, &shown);
    if let Some(baseline) = report.baseline_summary() {
        let _ = writeln!(
            out,
            "{DIM}note: {baseline} (--format json lists them){DIM:#}"
        );
    }
    verdict(&mut out, report);
    out
}

/// How many findings each rule gave, most first, when there are enough to need it.
fn by_rule(out: &mut String, shown: &[&Finding]) {
    if shown.len() < 10 {
        return;
    }
    let mut counts: Vec<(&str, Severity, usize)> = Vec::new();
    for finding in shown {
        match counts.iter_mut().find(|(rule, _, _)| *rule == finding.rule) {
            Some((_, severity, count)) => {
                *count += 1;
                *severity = (*severity).max(finding.severity);
            }
            None => counts.push((finding.rule, finding.severity, 1)),
        }
    }
    counts.sort_by(|a, b| b.2.cmp(&a.2).then(a.0.cmp(b.0)));
    let _ = writeln!(out, "\n{BOLD}Findings by rule{BOLD:#}");
    for (rule, severity, count) in counts {
        let _ = writeln!(out, "  {count:>5}  {:<7}  {rule}", severity.as_str());
    }
}

fn migrations(out: &mut String, report: &Report) {
    if report.migrations.is_empty() {
        return;
    }
    let version_width = width(report.migrations.iter().map(|m| m.version.len()));
    let name_width = width(report.migrations.iter().map(|m| m.name.len()));
    let timed = report.migrations.iter().any(|m| m.duration_ms.is_some());
    let _ = writeln!(
        out,
        "{BOLD}Migrations{BOLD:#} ({})",
        report.migrations.len()
    );
    // One column as wide as the widest status (and one space), `applied` at least.
    let width = report
        .migrations
        .iter()
        .map(|m| m.status.as_str().len() + 1)
        .fold(9, usize::max);
    for entry in &report.migrations {
        let status = match entry.status {
            MigrationStatus::Local => String::new(),
            MigrationStatus::Applied => format!("{GREEN}{:<width$}{GREEN:#}", "applied"),
            MigrationStatus::Failed => format!("{RED}{:<width$}{RED:#}", "failed"),
            status => format!("{DIM}{:<width$}{DIM:#}", status.as_str()),
        };
        let timing = match entry.duration_ms {
            Some(ms) => format!("{ms:>6} ms  "),
            None if timed => " ".repeat(11),
            None => String::new(),
        };
        let _ = writeln!(
            out,
            "  {status}{:<version_width$}  {:<name_width$}  {:>4} statement{}  {timing}{DIM}{}{DIM:#}",
            entry.version,
            entry.name,
            entry.statements,
            if entry.statements == 1 { " " } else { "s" },
            report.path(&entry.file),
        );
        if let Some(mode) = entry
            .transaction
            .as_deref()
            .filter(|mode| *mode != "one transaction" && *mode != "the file's own BEGIN/COMMIT")
        {
            let _ = writeln!(out, "    {DIM}ran {mode}{DIM:#}");
        }
        let blocking: Vec<String> = entry
            .blocking_locks()
            .map(|lock| {
                let mut said = format!("{} on {}", lock.mode.sql_name(), lock.relation);
                let line = report
                    .line_of(lock.at.as_ref())
                    .map(|line| format!("line {line}"));
                let held = lock.held.map(|held| format!("{} ms", held.as_millis()));
                let rows = lock
                    .size
                    .and_then(|size| size.rows)
                    .filter(|rows| *rows > 0)
                    .map(|rows| format!("{rows} rows"));
                let predicted = lock
                    .predicted
                    .map(|predicted| format!("about {} on the target", seconds(predicted)));
                let about: Vec<String> = line
                    .into_iter()
                    .chain(held)
                    .chain(rows)
                    .chain(predicted)
                    .collect();
                if !about.is_empty() {
                    said.push_str(&format!(" ({})", about.join(", ")));
                }
                format!("{said}: blocks {}", lock.mode.blocks().as_str())
            })
            .collect();
        let rewrote: Vec<String> = entry
            .rewrites
            .iter()
            .map(|evidence| match report.line_of(evidence.at.as_ref()) {
                Some(line) => format!("rewrote {} (line {line})", evidence.table),
                None => format!("rewrote {}", evidence.table),
            })
            .collect();
        for said in blocking.iter().chain(&rewrote) {
            let _ = writeln!(out, "    {DIM}{said}{DIM:#}");
        }
    }
}

fn skipped(out: &mut String, report: &Report) {
    for skipped in &report.skipped {
        let _ = writeln!(
            out,
            "{YELLOW}skipped{YELLOW:#} {} ({})",
            report.path(&skipped.file),
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
                    report.path(&location.file),
                    at.line,
                    at.column
                );
                let end = report
                    .position(&location.file, location.span.end)
                    .filter(|end| end.line == at.line && end.column > at.column)
                    .map_or(1, |end| end.column - at.column);
                snippet(out, report, &location.file, at.line, at, end);
            }
            None => {
                let _ = writeln!(out, "  {BLUE}-->{BLUE:#} {}", report.path(&location.file));
            }
        }
    }
    if let Some(help) = &finding.help {
        for (index, line) in help.lines().enumerate() {
            let prefix = if index == 0 { "help:" } else { "     " };
            let _ = writeln!(out, "  {BOLD}{prefix}{BOLD:#} {line}");
        }
    }
    if let Some(rule) = crate::findings::registry::find(finding.rule) {
        let _ = writeln!(out, "  {DIM}see {}{DIM:#}", report.rule_url(rule));
    }
}

/// How many characters of a source line a snippet shows: output stays linear in the
/// findings, whatever the file's line lengths.
const WINDOW: usize = 160;

/// At most [`WINDOW`] characters of `line` around 1-based `column` (`…` where cut), and
/// how many characters were cut before them.
fn window(line: &str, column: usize) -> (String, usize) {
    let length = line.chars().count();
    if length <= WINDOW {
        return (line.to_string(), 0);
    }
    let start = column
        .saturating_sub(1)
        .saturating_sub(WINDOW / 3)
        .min(length - WINDOW);
    let mut shown: String = line.chars().skip(start).take(WINDOW).collect();
    if start + WINDOW < length {
        shown.push('…');
    }
    if start > 0 {
        shown.insert(0, '…');
    }
    (shown, start)
}

/// Lines `first..=at.line` of `file` (long ranges elided, long lines cut around the
/// place) with `width` carets under `at`.
pub(crate) fn snippet(
    out: &mut String,
    report: &Report,
    file: &std::path::Path,
    first: usize,
    at: LineCol,
    width: usize,
) {
    const KEEP: usize = 6;
    let gutter = at.line.to_string().len();
    let _ = writeln!(out, "  {:gutter$} {BLUE}|{BLUE:#}", "");
    let first = first.min(at.line);
    for number in first..=at.line {
        if at.line - first >= KEEP && number > first && number + KEEP - 1 <= at.line {
            if number == first + 1 {
                let _ = writeln!(out, "  {BLUE}{:>gutter$} |{BLUE:#} …", "");
            }
            continue;
        }
        if let Some(line) = report.source_line(file, number) {
            let shown = if number == at.line {
                window(line, at.column).0
            } else {
                window(line, 1).0
            };
            let _ = writeln!(out, "  {BLUE}{number:>gutter$} |{BLUE:#} {shown}");
        }
    }
    let Some(line) = report.source_line(file, at.line) else {
        return;
    };
    let (_, skipped) = window(line, at.column);
    // Tabs keep their width so the caret lands under the right character.
    let pad: String = line
        .chars()
        .skip(skipped)
        .take(at.column - 1 - skipped)
        .map(|c| if c == '\t' { '\t' } else { ' ' })
        .collect();
    let pad = if skipped > 0 { format!(" {pad}") } else { pad };
    // No further than the window shows.
    let room = WINDOW.saturating_sub(at.column - 1 - skipped).max(1);
    let carets = "^".repeat(width.clamp(1, room));
    let _ = writeln!(
        out,
        "  {:gutter$} {BLUE}|{BLUE:#} {pad}{RED}{carets}{RED:#}",
        ""
    );
}

fn migration_error(
    out: &mut String,
    report: &Report,
    entry: &MigrationEntry,
    error: &MigrationError,
) {
    let at = error.location.as_ref().and_then(|l| report.locate(l));
    let sqlstate = error
        .sqlstate
        .as_deref()
        .map(|code| format!(" [{code}]"))
        .unwrap_or_default();
    let _ = writeln!(
        out,
        "\n{RED}error{RED:#}: {BOLD}{}{BOLD:#}{sqlstate}",
        error.message
    );
    match at {
        Some(at) => {
            let statement = error
                .statement_index
                .map(|i| format!(" (statement {})", i + 1))
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "  {BLUE}-->{BLUE:#} {}:{}:{}{statement}",
                report.path(&entry.file),
                at.line,
                at.column
            );
            let first = error
                .statement
                .and_then(|span| report.position(&entry.file, span.start))
                .map_or(at.line, |start| start.line);
            snippet(out, report, &entry.file, first, at, 1);
        }
        None => {
            let _ = writeln!(out, "  {BLUE}-->{BLUE:#} {}", report.path(&entry.file));
        }
    }
    for (label, text) in report.failure_details(entry, error) {
        let _ = writeln!(out, "  {BOLD}{label}:{BOLD:#} {text}");
    }
}

fn verify(out: &mut String, report: &Report) {
    if report.verify.is_empty() {
        return;
    }
    let passed = report.verify.iter().filter(|check| check.ok).count();
    let _ = writeln!(
        out,
        "\n{BOLD}Verify{BOLD:#} ({passed}/{} passed)",
        report.verify.len()
    );
    for check in &report.verify {
        let (mark, style) = if check.ok {
            ("ok  ", GREEN)
        } else {
            ("FAIL", RED)
        };
        let at = check
            .location
            .as_ref()
            .and_then(|l| report.locate(l))
            .map(|at| format!(" ({}:{})", report.path(&check.file), at.line))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "  {style}{mark}{style:#} {}{at}  {DIM}{}{DIM:#}",
            check.check, check.detail
        );
    }
}

/// `1 error`, `2 errors`.
pub(crate) fn count(n: usize, what: &str) -> String {
    format!("{n} {what}{}", if n == 1 { "" } else { "s" })
}

fn drift(out: &mut String, report: &Report) {
    if report.drift.is_empty() {
        return;
    }
    let _ = writeln!(out, "\n{BOLD}Drift{BOLD:#} ({})", report.drift.len());
    let change_width = width(report.drift.iter().map(|item| item.change.len()));
    let kind_width = width(report.drift.iter().map(|item| item.kind.len()));
    for item in &report.drift {
        let _ = writeln!(
            out,
            "  {RED}{:<change_width$}{RED:#}  {:<kind_width$}  {}  {DIM}{}{DIM:#}",
            item.change, item.kind, item.object, item.detail
        );
    }
}

fn verdict(out: &mut String, report: &Report) {
    let status = report.status();
    let style = match status {
        Status::Passed => GREEN,
        Status::Failed | Status::Error => RED,
    };
    let migrations = report.migrations_summary();
    let failed_checks = report.verify.iter().filter(|check| !check.ok).count();
    let checks = if report.verify.is_empty() {
        String::new()
    } else {
        format!(", {}", count(failed_checks, "failed check"))
    };
    let checks = if report.drift.is_empty() {
        checks
    } else {
        format!("{checks}, {}", count(report.drift.len(), "difference"))
    };
    let took = report
        .duration_ms
        .map(|ms| format!(" in {:.1} s", ms as f64 / 1000.0))
        .unwrap_or_default();
    let _ = writeln!(
        out,
        "\n{style}{}{style:#}: {migrations}, {}, {}{checks}{took}",
        status.as_str(),
        count(report.count(Severity::Error), "error"),
        count(report.count(Severity::Warning), "warning"),
    );
}
