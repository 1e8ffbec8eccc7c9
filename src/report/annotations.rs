//! GitHub workflow commands: `::error file=…,line=…::message` per finding and per failed
//! migration or check, escaped as the runner unescapes them.

use std::fmt::Write;

use super::model::{Location, Report, Severity};

/// The run's own error first, then what failed to apply or verify, then the findings:
/// the runner shows only the first few of each kind.
pub fn render(report: &Report) -> String {
    let mut out = String::new();
    if let Some(error) = &report.error {
        let _ = writeln!(out, "::error title=migration-guard::{}", escape_data(error));
    }
    for entry in &report.migrations {
        if let Some(error) = &entry.error {
            let code = error.sqlstate.as_deref().unwrap_or("error");
            let location = error
                .location
                .clone()
                .unwrap_or(Location::start_of(&entry.file));
            let message = match &error.hint {
                Some(hint) => format!("{} [{code}]\nhint: {hint}", error.message),
                None => format!("{} [{code}]", error.message),
            };
            command(
                &mut out,
                report,
                Severity::Error,
                "migration failed",
                &message,
                Some(&location),
            );
        }
    }
    for check in report.verify.iter().filter(|check| !check.ok) {
        let location = check
            .location
            .clone()
            .unwrap_or(Location::start_of(&check.file));
        let message = format!("{}: {}", check.check, check.detail);
        command(
            &mut out,
            report,
            Severity::Error,
            "verify failed",
            &message,
            Some(&location),
        );
    }
    // The findings on deployed history are in `baseline_findings`: these are the change's.
    for finding in &report.findings {
        let mut message = finding.message.clone();
        if let Some(help) = &finding.help {
            message = format!("{message}\n{help}");
        }
        command(
            &mut out,
            report,
            finding.severity,
            finding.rule,
            &message,
            finding.location.as_ref(),
        );
    }
    out
}

fn command(
    out: &mut String,
    report: &Report,
    severity: Severity,
    title: &str,
    message: &str,
    location: Option<&Location>,
) {
    let name = match severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "notice",
    };
    let mut properties = Vec::new();
    if let Some(location) = location {
        properties.push(format!(
            "file={}",
            escape_property(&report.path(&location.file))
        ));
        if let Some(start) = report.locate(location) {
            properties.push(format!("line={}", start.line));
            properties.push(format!("col={}", start.column));
            if let Some(end) = report.position(&location.file, location.span.end)
                && end.line >= start.line
            {
                properties.push(format!("endLine={}", end.line));
                if end.line == start.line {
                    properties.push(format!("endColumn={}", end.column));
                }
            }
        }
    }
    properties.push(format!("title={}", escape_property(title)));
    let _ = writeln!(
        out,
        "::{name} {}::{}",
        properties.join(","),
        escape_data(message)
    );
}

/// The runner unescapes `%25` last, so `%` is escaped first.
pub fn escape_data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

fn escape_property(text: &str) -> String {
    escape_data(text).replace(':', "%3A").replace(',', "%2C")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_as_the_runner_unescapes() {
        assert_eq!(escape_data("50% done\r\nnext"), "50%25 done%0D%0Anext");
        assert_eq!(escape_property("a:b,c%"), "a%3Ab%2Cc%25");
    }
}
