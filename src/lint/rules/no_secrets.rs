//! `no-secrets`: a credential written into a migration: a JWT (Supabase `service_role`
//! and `anon` keys are JWTs), a Supabase personal access token (`sbp_…`) or secret API
//! key (`sb_secret_…`), a Stripe secret key (`sk_live_…`, `sk_test_…`, `rk_…`) or an AWS
//! access key id (`AKIA…`).
//!
//! **Why.** A migration is committed to git and stored again, statement by statement, in
//! `supabase_migrations.schema_migrations` on every database it runs on. Everyone who can
//! read the repository, its history, a fork or that table has the credential, for as long
//! as it is valid. Comments count: a key in a comment is just as leaked.
//!
//! **Instead.** Rotate the credential (it is in the history already), store the new one
//! in Supabase Vault once per project, outside the migrations
//! (`select vault.create_secret('…', 'stripe_key')`), and read it where it is needed from
//! `vault.decrypted_secrets`. Findings never repeat the value: they show its first four
//! characters.

use std::borrow::Cow;
use std::sync::LazyLock;

use regex::Regex;

use crate::lint::{Diagnostic, FileContext};
use crate::report::Severity;
use crate::text::Span;

use super::RuleDef;

pub const RULE: RuleDef = RuleDef {
    id: "no-secrets",
    severity: Severity::Error,
    summary: "a JWT, API key or access token written into SQL",
    check,
};

/// The credential patterns, each with what it is.
static PATTERNS: LazyLock<Vec<(Kind, Regex)>> = LazyLock::new(|| {
    [
        (
            Kind::Jwt,
            r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{16,}",
        ),
        (Kind::AccessToken, r"\bsbp_[0-9a-f]{40}\b"),
        (Kind::SecretKey, r"\bsb_secret_[A-Za-z0-9_-]{16,}"),
        (Kind::Stripe, r"\b[rs]k_(?:live|test)_[0-9A-Za-z]{16,}"),
        (Kind::Aws, r"\bAKIA[0-9A-Z]{16}\b"),
    ]
    .into_iter()
    .map(|(kind, pattern)| (kind, Regex::new(pattern).expect("secret pattern")))
    .collect()
});

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Jwt,
    AccessToken,
    SecretKey,
    Stripe,
    Aws,
}

fn check(context: &FileContext<'_>, out: &mut Vec<Diagnostic>) {
    // The whole file: statements, their comments, and comments after the last one.
    let source = context.source();
    for (span, kind) in secrets(source) {
        out.push(diagnostic(span, kind, span.slice(source)));
    }
}

/// `text` with every secret replaced by `*` (one per character, so positions keep
/// their columns): reports print source lines, and a secret must never reach a log or
/// a pull-request comment.
pub fn mask(text: &str) -> Cow<'_, str> {
    let found = secrets(text);
    if found.is_empty() {
        return Cow::Borrowed(text);
    }
    let mut masked = String::with_capacity(text.len());
    let mut at = 0;
    for (span, _) in found {
        masked.push_str(&text[at..span.start]);
        masked.extend(std::iter::repeat_n('*', span.slice(text).chars().count()));
        at = span.end;
    }
    masked.push_str(&text[at..]);
    Cow::Owned(masked)
}

/// The secrets in `source`, in order, none overlapping.
fn secrets(source: &str) -> Vec<(Span, Kind)> {
    let mut found: Vec<(Span, Kind)> = Vec::new();
    for (kind, pattern) in PATTERNS.iter() {
        for m in pattern.find_iter(source) {
            if *kind == Kind::Aws && m.as_str().ends_with("EXAMPLE") {
                continue; // AWS's documented example key
            }
            let overlaps = found
                .iter()
                .any(|(span, _)| span.start < m.end() && m.start() < span.end);
            if !overlaps {
                found.push((Span::new(m.start(), m.end()), *kind));
            }
        }
    }
    found.sort_by_key(|(span, _)| span.start);
    found
}

fn diagnostic(span: Span, kind: Kind, value: &str) -> Diagnostic {
    let shown = redact(value);
    const LEAK: &str = "everyone who can read the repository or the migration history has it";
    const HELP: &str = "rotate it now (it is in the git history), store the new value in Supabase Vault once per project outside the migrations (`select vault.create_secret(…)`), and read it from `vault.decrypted_secrets`";
    let (message, help) = match kind {
        Kind::Jwt => match jwt_claims(value) {
            Some(claims) if claims.issuer.as_deref() == Some("supabase-demo") => (
                format!(
                    "the Supabase CLI's local demo {} key ({shown}) is written into the migration: it only works on the local stack",
                    claims.role.as_deref().unwrap_or("API")
                ),
                "read the key from Vault or a setting so every environment uses its own; the demo key itself needs no rotation",
            ),
            Some(claims) if claims.role.as_deref() == Some("service_role") => (
                format!(
                    "a Supabase service_role key ({shown}) is written into the migration: it bypasses RLS, and {LEAK}"
                ),
                HELP,
            ),
            Some(claims) if claims.role.as_deref() == Some("anon") => (
                format!(
                    "a Supabase anon key ({shown}) is written into the migration: it belongs to one project, so every other environment gets the wrong key"
                ),
                "read it from Vault (`vault.decrypted_secrets`) or a setting, so each environment uses its own key",
            ),
            Some(Claims {
                role: Some(role), ..
            }) => (
                format!("a JWT with role {role} ({shown}) is written into the migration: {LEAK}"),
                HELP,
            ),
            _ => (
                format!("a JWT ({shown}) is written into the migration: {LEAK}"),
                HELP,
            ),
        },
        Kind::AccessToken => (
            format!(
                "a Supabase personal access token ({shown}) is written into the migration: it acts as its owner on every project they can reach, and {LEAK}"
            ),
            "revoke it now in the dashboard (Account → Access Tokens); migrations never need one",
        ),
        Kind::SecretKey => (
            format!(
                "a Supabase secret API key ({shown}) is written into the migration: it bypasses RLS, and {LEAK}"
            ),
            HELP,
        ),
        Kind::Stripe => (
            format!("a Stripe secret key ({shown}) is written into the migration: {LEAK}"),
            HELP,
        ),
        Kind::Aws => (
            format!("an AWS access key id ({shown}) is written into the migration: {LEAK}"),
            HELP,
        ),
    };
    Diagnostic::new(span, message).help(help)
}

/// The first four characters and an ellipsis: enough to find it, not enough to use it.
fn redact(value: &str) -> String {
    let head: String = value.chars().take(4).collect();
    format!("{head}…")
}

/// What a JWT's payload says about it, when it can be read.
#[derive(Debug, Default, PartialEq, Eq)]
struct Claims {
    role: Option<String>,
    issuer: Option<String>,
}

fn jwt_claims(jwt: &str) -> Option<Claims> {
    let payload = base64url(jwt.split('.').nth(1)?)?;
    let json: serde_json::Value = serde_json::from_slice(&payload).ok()?;
    let text = |key: &str| json.get(key).and_then(|v| v.as_str()).map(str::to_string);
    Some(Claims {
        role: text("role"),
        issuer: text("iss"),
    })
}

/// Decodes unpadded base64url (RFC 4648 §5), as JWTs use it.
fn base64url(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let mut buffer = 0u32;
    let mut bits = 0;
    for byte in text.bytes() {
        let value = match byte {
            b'A'..=b'Z' => byte - b'A',
            b'a'..=b'z' => byte - b'a' + 26,
            b'0'..=b'9' => byte - b'0' + 52,
            b'-' => 62,
            b'_' => 63,
            _ => return None,
        };
        buffer = (buffer << 6) | u32::from(value);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((buffer >> bits) as u8);
            buffer &= (1 << bits) - 1;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use crate::lint::test_utils::{assert_ok, render_err};

    #[test]
    fn ok() {
        assert_ok(&super::RULE, include_str!("fixtures/no-secrets/ok.sql"));
    }

    #[test]
    fn err() {
        let rendered = render_err(&super::RULE, include_str!("fixtures/no-secrets/err.sql"));
        // Messages name the secret by its first characters only.
        for line in rendered
            .lines()
            .filter(|line| line.starts_with("error[") || line.trim_start().starts_with("help:"))
        {
            assert!(
                !line.contains("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9"),
                "{line}"
            );
            assert!(!line.contains("sk_live_0000"), "{line}");
        }
        insta::assert_snapshot!(rendered);
    }

    #[test]
    fn base64url_decodes_jwt_payloads() {
        assert_eq!(
            super::base64url("eyJyb2xlIjoiYW5vbiJ9").as_deref(),
            Some(&b"{\"role\":\"anon\"}"[..])
        );
        assert_eq!(super::base64url("a+b"), None);
        assert_eq!(super::redact("sk_live_abc"), "sk_l…");
    }
}
