//! `no-hardcoded-environment`: an environment-specific host written into a string literal
//! or function body: a Supabase project (its URL, database or pooler host, or its ref in a
//! management URL), a host that only exists on a developer's machine (`localhost`,
//! `127.0.0.1`, `0.0.0.0`, `host.docker.internal`), or a host whose name says which
//! environment it is (`api.staging.example.com`, `myapp-dev.example.com`).
//!
//! Why, and what to write instead: docs/rules/no-hardcoded-environment.md.

use crate::findings::registry;
use std::borrow::Cow;
use std::collections::BTreeSet;
use std::ops::Range;
use std::sync::LazyLock;

use regex::Regex;
use sqlparser::tokenizer::Token;

use crate::lint::rule::{Diagnostic, FileContext, RuleDef};
use crate::sql::statement::ParsedStatement;

use crate::findings::span::Span;

pub const RULE: RuleDef = RuleDef::new(registry::NO_HARDCODED_ENVIRONMENT, check);

/// An `http(s)://` URL, with optional user info; group 1 is the host.
static URL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"(?i)\bhttps?://(?:[^\s/?#@'"]*@)?([a-z0-9._-]+|\[[0-9a-f:.]+\])(?::[0-9]+)?[^\s'"(),;]*"#,
    )
    .expect("URL pattern")
});
/// A Supabase project host without a scheme (`db.<ref>.supabase.co` in a connection
/// string, `<ref>.supabase.co` in a setting), or a Supavisor pooler host.
static BARE_HOST: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b(?:[a-z0-9-]+\.)+(?:supabase\.co|supabase\.in|pooler\.supabase\.com)\b")
        .expect("bare host pattern")
});
/// A project URL's host, `<ref>.supabase.co` (a project ref is 20 lower-case letters).
static PROJECT_HOST: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^[a-z]{20}\.supabase\.(?:co|in)$").expect("project host pattern")
});
/// A project's database host, `db.<ref>.supabase.co`.
static DB_HOST: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^db\.[a-z]{20}\.supabase\.(?:co|in)$").expect("database host pattern")
});
/// A project ref in the path of a Management API or dashboard URL
/// (`/v1/projects/<ref>/…`, `/dashboard/project/<ref>`).
static PROJECT_PATH: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"/projects?/([a-z]{20})(?:[/?#]|$)").expect("project path pattern")
});

/// Words that name an environment when they are a whole dot- or dash-separated part of a
/// host name.
const ENVIRONMENT_WORDS: &[&str] = &[
    "staging",
    "stage",
    "dev",
    "development",
    "prod",
    "production",
    "preview",
    "test",
    "qa",
    "uat",
    "local",
];

/// Public services whose host names happen to contain an environment word: the same
/// host for everyone, so not environment-specific.
const PUBLIC_HOSTS: &[&str] = &[
    "dev.azure.com",
    "dev.mysql.com",
    "test.pypi.org",
    "preview.redd.it",
];

/// Second-level names under which a country code domain registers names (`example.co.uk`).
const SECOND_LEVEL: &[&str] = &["ac", "co", "com", "edu", "gov", "net", "org"];

/// What a hardcoded value is, for the message.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Found {
    /// `https://<ref>.supabase.co` (the URL up to the host).
    ProjectUrl(String),
    /// Another `*.supabase.co` / `*.supabase.in` host.
    SupabaseHost(String),
    DatabaseHost(String),
    PoolerHost(String),
    /// A project ref in a Management API or dashboard URL.
    ProjectRef(String),
    /// A host only a developer's machine has.
    LocalHost(String),
    /// A host whose name says which environment it is; the word that says it.
    EnvironmentHost(String, String),
}

fn check(context: &FileContext<'_>, statement: &ParsedStatement, out: &mut Vec<Diagnostic>) {
    let source = context.source();
    if statement.starts_with(&["COMMENT", "ON"]) {
        return;
    }
    for token in &statement.tokens {
        // The literal as written, so that spans land on the URL inside it.
        let raw = token.span.slice(source);
        let text = match token.token {
            // A function or DO body: code, with comments of its own.
            Token::DollarQuotedString(_) => blank_comments(raw),
            Token::SingleQuotedString(_)
            | Token::EscapedStringLiteral(_)
            | Token::NationalStringLiteral(_)
            | Token::UnicodeStringLiteral(_) => Cow::Borrowed(raw),
            _ => continue,
        };
        let mut seen = BTreeSet::new();
        for (range, found) in scan(&text) {
            if !seen.insert(found.clone()) {
                continue;
            }
            let span = Span::new(token.span.start + range.start, token.span.start + range.end);
            out.push(diagnostic(span, &found));
        }
    }
}

/// The environment-specific hosts in `text`, in order, overlapping matches dropped.
fn scan(text: &str) -> Vec<(Range<usize>, Found)> {
    let mut found: Vec<(Range<usize>, Found)> = Vec::new();
    let mut urls: Vec<Range<usize>> = Vec::new();
    for url in URL.captures_iter(text) {
        let (Some(whole), Some(host)) = (url.get(0), url.get(1)) else {
            continue;
        };
        urls.push(whole.range());
        let host_text = host.as_str().trim_end_matches('.').to_lowercase();
        let kind = if PROJECT_HOST.is_match(&host_text) {
            Some(Found::ProjectUrl(
                text[whole.start()..host.end()]
                    .trim_end_matches('.')
                    .to_lowercase(),
            ))
        } else if let Some(ref_) = project_ref(&host_text, whole.as_str()) {
            Some(Found::ProjectRef(ref_))
        } else {
            classify(&host_text)
        };
        if let Some(kind) = kind {
            found.push((whole.range(), kind));
        }
    }
    // Supabase hosts written without a scheme (connection strings, settings).
    for host in BARE_HOST.find_iter(text) {
        let in_url = urls
            .iter()
            .any(|range| range.start < host.end() && host.start() < range.end);
        if in_url {
            continue;
        }
        if let Some(kind) = classify(&host.as_str().to_lowercase()) {
            found.push((host.range(), kind));
        }
    }
    found.sort_by_key(|(range, _)| range.start);
    found
}

/// What makes `host` environment-specific, if anything does.
fn classify(host: &str) -> Option<Found> {
    if let Some(found) = supabase(host) {
        return Some(found);
    }
    if local_only(host) {
        return Some(Found::LocalHost(host.to_string()));
    }
    environment_word(host).map(|word| Found::EnvironmentHost(host.to_string(), word.to_string()))
}

/// The Supabase hosts that belong to one project: `<ref>.supabase.co` and every other
/// `*.supabase.co` / `*.supabase.in` host, and the pooler hosts (the connection names
/// the project). `supabase.co` itself and `supabase.com` are the public site.
fn supabase(host: &str) -> Option<Found> {
    if PROJECT_HOST.is_match(host) {
        Some(Found::ProjectUrl(host.to_string()))
    } else if DB_HOST.is_match(host) {
        Some(Found::DatabaseHost(host.to_string()))
    } else if host.ends_with(".pooler.supabase.com") {
        Some(Found::PoolerHost(host.to_string()))
    } else if host.ends_with(".supabase.co") || host.ends_with(".supabase.in") {
        Some(Found::SupabaseHost(host.to_string()))
    } else {
        None
    }
}

/// A project ref in the path of a Supabase Management API or dashboard URL.
fn project_ref(host: &str, url: &str) -> Option<String> {
    let supabase = matches!(
        host,
        "supabase.com" | "api.supabase.com" | "app.supabase.com"
    );
    if !supabase {
        return None;
    }
    let path = url.split("://").nth(1)?;
    let path = &path[path.find('/')?..];
    PROJECT_PATH
        .captures(path)
        .and_then(|captures| captures.get(1))
        .map(|ref_| ref_.as_str().to_string())
}

/// Hosts that exist on a developer's machine only.
fn local_only(host: &str) -> bool {
    let loopback_v4 = host
        .strip_prefix("127.")
        .is_some_and(|rest| rest.split('.').count() == 3 && rest.split('.').all(is_number));
    host == "localhost"
        || host.ends_with(".localhost")
        || host == "0.0.0.0"
        || loopback_v4
        || matches!(host, "[::1]" | "[::]" | "[0:0:0:0:0:0:0:1]")
        || host.ends_with(".docker.internal")
}

fn is_number(part: &str) -> bool {
    !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit())
}

/// The environment word a host name contains as a whole dot- or dash-separated part,
/// outside its registrable domain (`react.dev` and `test.com` are public sites; in
/// `api.staging.example.com` and `myapp-dev.example.com` the deployment is named). The
/// reserved top-level names `.local` and `.test` only resolve on one network.
fn environment_word(host: &str) -> Option<&'static str> {
    if host.starts_with('[') || host.split('.').all(is_number) {
        return None; // an IP address
    }
    if PUBLIC_HOSTS
        .iter()
        .any(|public| host == *public || host.ends_with(&format!(".{public}")))
    {
        return None;
    }
    let labels: Vec<&str> = host.split('.').filter(|label| !label.is_empty()).collect();
    let word = |part: &str| ENVIRONMENT_WORDS.iter().copied().find(|word| *word == part);
    let (&tld, _) = labels.split_last()?;
    if labels.len() > 1
        && let Some(reserved) = ["local", "test"].into_iter().find(|name| *name == tld)
    {
        return word(reserved);
    }
    let registrable = match labels.as_slice() {
        [.., second, tld] if tld.len() == 2 && SECOND_LEVEL.contains(second) => 3,
        [_] => 0, // a single-label host (a container name): all of it names the deployment
        _ => 2,
    };
    labels[..labels.len().saturating_sub(registrable)]
        .iter()
        .flat_map(|label| label.split('-'))
        .find_map(word)
}

/// `body` (a dollar-quoted literal, delimiters included) with its SQL comments (`--` to
/// the end of the line, nested `/* */`) blanked out byte for byte, so offsets keep their
/// place. Quoted strings and identifiers inside the body are skipped, so a `--` inside
/// one is no comment.
fn blank_comments(body: &str) -> Cow<'_, str> {
    let bytes = body.as_bytes();
    let tag = match dollar_tag(bytes, 0) {
        Some(len) if body.len() >= 2 * len && body.ends_with(&body[..len]) => len,
        _ => return Cow::Borrowed(body),
    };
    let end = body.len() - tag;
    let mut blank: Vec<Range<usize>> = Vec::new();
    let mut at = tag;
    while at < end {
        match bytes[at] {
            quote @ (b'\'' | b'"') => {
                let backslashes = quote == b'\''
                    && at > 0
                    && bytes[at - 1].eq_ignore_ascii_case(&b'e')
                    && (at < 2 || !is_ident_byte(bytes[at - 2]));
                at += 1;
                while at < end {
                    if backslashes && bytes[at] == b'\\' {
                        at += 2;
                    } else if bytes[at] == quote {
                        at += 1;
                        if at < end && bytes[at] == quote {
                            at += 1; // a doubled quote
                        } else {
                            break;
                        }
                    } else {
                        at += 1;
                    }
                }
            }
            b'-' if bytes.get(at + 1) == Some(&b'-') => {
                let stop = body[at..end].find('\n').map_or(end, |n| at + n);
                blank.push(at..stop);
                at = stop;
            }
            b'/' if bytes.get(at + 1) == Some(&b'*') => {
                let start = at;
                let mut depth = 0usize;
                while at < end {
                    if bytes[at] == b'/' && bytes.get(at + 1) == Some(&b'*') {
                        depth += 1;
                        at += 2;
                    } else if bytes[at] == b'*' && bytes.get(at + 1) == Some(&b'/') {
                        depth -= 1;
                        at += 2;
                        if depth == 0 {
                            break;
                        }
                    } else {
                        at += 1;
                    }
                }
                blank.push(start..at.min(end));
            }
            // A nested dollar quote's delimiter: its content is code too (dynamic SQL).
            b'$' if at == 0 || !is_ident_byte(bytes[at - 1]) => {
                at += dollar_tag(bytes, at).unwrap_or(1);
            }
            _ => at += 1,
        }
    }
    if blank.is_empty() {
        return Cow::Borrowed(body);
    }
    let mut text = bytes.to_vec();
    for range in blank {
        // Comments start and end on ASCII bytes, so blanking whole comments keeps UTF-8.
        text[range].fill(b' ');
    }
    Cow::Owned(String::from_utf8(text).expect("comments blanked whole"))
}

/// The length of the dollar-quote delimiter (`$$`, `$tag$`) at `bytes[at..]`, if any.
fn dollar_tag(bytes: &[u8], at: usize) -> Option<usize> {
    if bytes.get(at) != Some(&b'$') {
        return None;
    }
    let mut end = at + 1;
    while let Some(&byte) = bytes.get(end) {
        match byte {
            b'$' => return Some(end + 1 - at),
            b'a'..=b'z' | b'A'..=b'Z' | b'_' => {}
            b'0'..=b'9' if end > at + 1 => {}
            _ => return None,
        }
        end += 1;
    }
    None
}

fn is_ident_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || byte == b'_' || byte == b'$' || byte >= 0x80
}

fn diagnostic(span: Span, found: &Found) -> Diagnostic {
    const EVERY: &str = "every environment (local, preview branches, staging, production)";
    let message = match found {
        Found::ProjectUrl(url) => {
            format!("the Supabase project URL {url} is hardcoded: {EVERY} calls that one project")
        }
        Found::SupabaseHost(host) => format!(
            "the Supabase host {host} belongs to one project and is hardcoded: {EVERY} uses that one project"
        ),
        Found::DatabaseHost(host) => format!(
            "the database host {host} of one Supabase project is hardcoded: {EVERY} connects to that one database"
        ),
        Found::PoolerHost(host) => format!(
            "the connection pooler host {host} is hardcoded: {EVERY} connects to the one project this connection names"
        ),
        Found::ProjectRef(ref_) => format!(
            "the Supabase project ref {ref_} is hardcoded in a URL: {EVERY} acts on that one project"
        ),
        Found::LocalHost(host) => format!(
            "the local-only host {host} is hardcoded: it works on a developer's machine (the local stack) only; on a hosted project it reaches nothing, or the database server itself"
        ),
        Found::EnvironmentHost(host, word) => format!(
            "the host {host} names one environment ({word}) and is hardcoded: {EVERY} uses that one"
        ),
    };
    Diagnostic::new(span, message).help(
        "read the host from a setting each environment sets for itself, so the same migration runs everywhere: a Vault secret set once per project (`select decrypted_secret from vault.decrypted_secrets where name = 'project_url'`), a row of a config table, or `current_setting('app.settings.api_url')`",
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

    fn scanned(text: &str) -> Vec<String> {
        super::scan(text)
            .into_iter()
            .map(|(_, found)| format!("{found:?}"))
            .collect()
    }

    #[test]
    fn scan_classifies_hosts() {
        assert_eq!(
            scanned(
                "https://abcdefghijklmnopqrst.supabase.co/rest/v1 postgresql://postgres.abcdefghijklmnopqrst:pw@aws-0-eu-central-1.pooler.supabase.com:6543/postgres db.abcdefghijklmnopqrst.supabase.co http://localhost:54321 https://api.example.com/x https://api.supabase.com/v1/projects/abcdefghijklmnopqrst/functions https://supabase.com/docs/guides/database"
            ),
            [
                "ProjectUrl(\"https://abcdefghijklmnopqrst.supabase.co\")",
                "PoolerHost(\"aws-0-eu-central-1.pooler.supabase.com\")",
                "DatabaseHost(\"db.abcdefghijklmnopqrst.supabase.co\")",
                "LocalHost(\"localhost\")",
                "ProjectRef(\"abcdefghijklmnopqrst\")",
            ]
        );
    }

    #[test]
    fn environment_words_are_whole_parts_before_the_registrable_domain() {
        let word = super::environment_word;
        assert_eq!(word("api.staging.example.com"), Some("staging"));
        assert_eq!(word("myapp-dev.example.com"), Some("dev"));
        assert_eq!(word("qa.shop.example.co.uk"), Some("qa"));
        assert_eq!(word("printer.local"), Some("local"));
        assert_eq!(word("api-preview"), Some("preview"));
        // Public sites: the word is the site's own name, or only part of a label.
        assert_eq!(word("react.dev"), None);
        assert_eq!(word("dev.to"), None);
        assert_eq!(word("test.com"), None);
        assert_eq!(word("test.co.uk"), None);
        assert_eq!(word("developer.mozilla.org"), None);
        assert_eq!(word("products.example.com"), None);
        assert_eq!(word("latest.example.com"), None);
        assert_eq!(word("dev.azure.com"), None);
        assert_eq!(word("10.0.0.1"), None);
    }

    #[test]
    fn comments_in_bodies_are_blanked_in_place() {
        let body = "$fn$\nBEGIN -- see https://x.staging.example.com\n  /* outer /* inner */ still */ PERFORM 'a--b', E'it\\'s -- no', \"x--y\";\nEND $fn$";
        let blanked = super::blank_comments(body);
        assert_eq!(blanked.len(), body.len());
        assert!(!blanked.contains("staging"));
        assert!(!blanked.contains("still"));
        assert!(blanked.contains("'a--b'"));
        assert!(blanked.contains("E'it\\'s -- no'"));
        assert!(blanked.contains("\"x--y\""));
        assert!(blanked.ends_with("END $fn$"));
        assert_eq!(super::blank_comments("'-- not a body'"), "'-- not a body'");
    }
}
