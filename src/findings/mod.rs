//! The bottom layer: what a finding is, wherever it comes from (a lint rule, a check in
//! the shadow, a deploy's refusal), and the policy that decides, once, which findings
//! count for the verdict.

pub mod policy;
pub mod registry;
pub mod span;

use std::path::PathBuf;

use crate::findings::span::Span;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Info,
    Warning,
    Error,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "info",
        }
    }
}

/// A place in a file the report holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    pub file: PathBuf,
    pub span: Span,
}

impl Location {
    /// The start of `file`: for what concerns the file as a whole.
    pub fn start_of(file: &std::path::Path) -> Location {
        Location {
            file: file.to_path_buf(),
            span: Span::new(0, 0),
        }
    }
}

/// Something a reviewer should act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// A stable rule id, e.g. `version-collision`.
    pub rule: &'static str,
    pub severity: Severity,
    pub location: Option<Location>,
    pub message: String,
    /// What to do instead.
    pub help: Option<String>,
}

/// How an allowed finding's message ends: `(allowed: <reason>)`.
const ALLOWED: &str = " (allowed: ";

impl Finding {
    /// The finding as a suppression comment allowed it: an info that gives the reason.
    pub fn allowed(self, reason: &str) -> Finding {
        Finding {
            severity: Severity::Info,
            message: format!("{}{ALLOWED}{reason})", self.message),
            ..self
        }
    }

    /// Whether a suppression comment allowed it.
    pub fn is_allowed(&self) -> bool {
        self.allowance().is_some()
    }

    /// The message as the rule gave it and the reason the suppression comment gave, when
    /// one allowed it.
    pub fn allowance(&self) -> Option<(&str, &str)> {
        if self.severity != Severity::Info {
            return None;
        }
        let (message, reason) = self.message.rsplit_once(ALLOWED)?;
        Some((message, reason.strip_suffix(')').unwrap_or(reason)))
    }

    /// Whether it asks nothing of anyone (a statement the parser could not read, which
    /// the shadow still applies): kept in JSON, left out of what people read.
    pub fn asks_nothing(&self) -> bool {
        self.rule == "unparsed"
    }
}
