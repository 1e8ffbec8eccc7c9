//! `no-hardcoded-environment`: a project URL, a database or pooler host, or any other
//! `http(s)://` host written into a string literal or function body.
//!
//! **Why.** The same migrations run on every environment: local, preview branches,
//! staging, production. A literal `https://<ref>.supabase.co/functions/v1/…` in a trigger
//! function (the classic `net.http_post` webhook) makes every environment call that one
//! project: preview branches send production webhooks, production calls a dev project,
//! and the local stack calls the cloud.
//!
//! **Instead.** Read the value from the environment's own configuration: a Vault secret
//! set once per project (`select decrypted_secret from vault.decrypted_secrets where name
//! = 'project_url'`) or a setting (`current_setting('app.settings.api_url')`). URLs on
//! `localhost`, `127.0.0.1` and `example.com` are not reported, nor are `COMMENT ON` texts
//! (documentation, not behaviour).

use std::collections::BTreeSet;
use std::sync::LazyLock;

use regex::Regex;
use sqlparser::tokenizer::Token;

use crate::lint::{Diagnostic, FileContext};
use crate::report::Severity;
use crate::text::Span;

use super::RuleDef;

pub const RULE: RuleDef = RuleDef {
    id: "no-hardcoded-environment",
    severity: Severity::Warning,
    summary: "a project URL or host name hardcoded in SQL",
    check,
};

/// An `http(s)://` URL; group 1 is the host.
static URL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?i)\bhttps?://([a-z0-9.-]+|\[[0-9a-f:]+\])(?::[0-9]+)?[^\s'"(),;]*"#)
        .expect("URL pattern")
});
/// A project's database host, `db.<ref>.supabase.co`, in any string (connection URIs).
static DB_HOST: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\bdb\.[a-z]{20}\.supabase\.co\b").expect("database host pattern")
});
/// A Supavisor pooler host, `<region>.pooler.supabase.com`.
static POOLER_HOST: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b[a-z0-9-]+(?:\.[a-z0-9-]+)*\.pooler\.supabase\.com\b")
        .expect("pooler host pattern")
});
/// A project URL's host, `<ref>.supabase.co` (a project ref is 20 lower-case letters).
static PROJECT_HOST: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[a-z]{20}\.supabase\.co$").expect("project host pattern"));

/// What a hardcoded value is, for the message.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Found {
    ProjectUrl(String),
    DatabaseHost(String),
    PoolerHost(String),
    Host(String),
}

fn check(context: &FileContext<'_>, out: &mut Vec<Diagnostic>) {
    let source = context.source();
    for statement in &context.statements {
        if statement.starts_with(&["COMMENT", "ON"]) {
            continue;
        }
        for token in &statement.tokens {
            let is_string = matches!(
                token.token,
                Token::SingleQuotedString(_)
                    | Token::EscapedStringLiteral(_)
                    | Token::DollarQuotedString(_)
                    | Token::NationalStringLiteral(_)
                    | Token::UnicodeStringLiteral(_)
            );
            if !is_string {
                continue;
            }
            // The literal as written, so that spans land on the URL inside it.
            let raw = token.span.slice(source);
            let mut seen = BTreeSet::new();
            for (range, found) in scan(raw) {
                if !seen.insert(found.clone()) {
                    continue;
                }
                let span = Span::new(token.span.start + range.start, token.span.start + range.end);
                out.push(diagnostic(span, &found));
            }
        }
    }
}

/// The hardcoded values in `text`, in order, overlapping matches dropped.
fn scan(text: &str) -> Vec<(std::ops::Range<usize>, Found)> {
    let mut found: Vec<(std::ops::Range<usize>, Found)> = Vec::new();
    for url in URL.captures_iter(text) {
        let (Some(whole), Some(host)) = (url.get(0), url.get(1)) else {
            continue;
        };
        let host = host.as_str().to_lowercase();
        if local(&host) {
            continue;
        }
        let kind = if PROJECT_HOST.is_match(&host) {
            Found::ProjectUrl(text[whole.start()..url.get(1).map_or(0, |h| h.end())].to_lowercase())
        } else if DB_HOST.is_match(&host) {
            Found::DatabaseHost(host)
        } else if POOLER_HOST.is_match(&host) {
            Found::PoolerHost(host)
        } else {
            Found::Host(host)
        };
        found.push((whole.range(), kind));
    }
    for (pattern, make) in [
        (&*DB_HOST, Found::DatabaseHost as fn(String) -> Found),
        (&*POOLER_HOST, Found::PoolerHost),
    ] {
        for host in pattern.find_iter(text) {
            let overlaps = found
                .iter()
                .any(|(range, _)| range.start < host.end() && host.start() < range.end);
            if !overlaps {
                found.push((host.range(), make(host.as_str().to_lowercase())));
            }
        }
    }
    found.sort_by_key(|(range, _)| range.start);
    found
}

/// Hosts that are the same on every machine, or reserved for examples.
fn local(host: &str) -> bool {
    matches!(host, "localhost" | "127.0.0.1" | "[::1]" | "example.com")
        || host.ends_with(".example.com")
}

fn diagnostic(span: Span, found: &Found) -> Diagnostic {
    let message = match found {
        Found::ProjectUrl(url) => format!(
            "the Supabase project URL {url} is hardcoded: every environment (local, preview branches, production) calls that one project"
        ),
        Found::DatabaseHost(host) => format!(
            "the database host {host} of one Supabase project is hardcoded: every environment connects to that one database"
        ),
        Found::PoolerHost(host) => format!(
            "the connection pooler host {host} is hardcoded: every environment connects to the one project this connection names"
        ),
        Found::Host(host) => format!(
            "the host {host} is hardcoded: every environment (local, preview branches, production) uses that one endpoint"
        ),
    };
    Diagnostic::new(span, message).help(
        "read it from the environment's configuration so the same migration runs everywhere: a Vault secret (`select decrypted_secret from vault.decrypted_secrets where name = 'project_url'`) or a setting (`current_setting('app.settings.api_url')`)",
    )
}

#[cfg(test)]
mod tests {
    use crate::lint::test_utils::{assert_ok, render_err};

    #[test]
    fn ok() {
        assert_ok(
            &super::RULE,
            include_str!("fixtures/no-hardcoded-environment/ok.sql"),
        );
    }

    #[test]
    fn err() {
        insta::assert_snapshot!(render_err(
            &super::RULE,
            include_str!("fixtures/no-hardcoded-environment/err.sql")
        ));
    }

    #[test]
    fn scan_classifies_hosts() {
        let found: Vec<String> = super::scan(
            "https://abcdefghijklmnopqrst.supabase.co/rest/v1 postgresql://postgres.abcdefghijklmnopqrst:pw@aws-0-eu-central-1.pooler.supabase.com:6543/postgres db.abcdefghijklmnopqrst.supabase.co http://localhost:54321 https://api.example.com/x",
        )
        .into_iter()
        .map(|(_, found)| format!("{found:?}"))
        .collect();
        assert_eq!(
            found,
            [
                "ProjectUrl(\"https://abcdefghijklmnopqrst.supabase.co\")",
                "PoolerHost(\"aws-0-eu-central-1.pooler.supabase.com\")",
                "DatabaseHost(\"db.abcdefghijklmnopqrst.supabase.co\")",
            ]
        );
    }
}
