//! `no-secrets`: a credential written into a migration: a privileged JWT (the Supabase
//! `service_role` key, or any JWT whose role is not `anon`), a Supabase personal access
//! token (`sbp_…`) or secret API key (`sb_secret_…`), a Stripe secret key (`sk_live_…`,
//! `sk_test_…`, `rk_…`), an AWS access key id (`AKIA…`), or a role's password
//! (`CREATE ROLE/USER … PASSWORD '…'`, `ALTER ROLE/USER … [WITH] PASSWORD '…'`).
//!
//! Findings never repeat the value: they show its first four characters, and [`mask`]
//! hides it in printed source.
//!
//! Why, and what to write instead: docs/rules/no-secrets.md.

use crate::findings::Severity;
use crate::findings::registry;
use std::borrow::Cow;
use std::sync::LazyLock;

use regex::Regex;

use crate::lint::rule::{Diagnostic, FileContext, RuleDef};

use crate::findings::span::Span;

pub const RULE: RuleDef = RuleDef::new(registry::NO_SECRETS, check);

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

/// A role's password in `CREATE ROLE|USER …` or `ALTER ROLE|USER …`: group 1 is the
/// role's name, group 2 the password's text between its quotes. The options before
/// `PASSWORD` stay within the statement (no `;` outside quotes).
static ROLE_PASSWORD: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"(?i)\b(?:CREATE|ALTER)\s+(?:ROLE|USER)\s+("(?:[^"]|"")+"|[a-z_][a-z0-9_$]*)(?:[^;'"]|'(?:[^']|'')*'|"(?:[^"]|"")*")*?\bPASSWORD\s+E?'((?:[^']|'')*)'"#,
    )
    .expect("role password pattern")
});

#[derive(Debug, Clone, PartialEq, Eq)]
enum Kind {
    Jwt,
    AccessToken,
    SecretKey,
    Stripe,
    Aws,
    /// A role's password; the role as written.
    RolePassword(String),
}

fn check(context: &FileContext<'_>, out: &mut Vec<Diagnostic>) {
    // The whole file: statements, their comments, and comments after the last one.
    let source = context.source();
    for (span, kind) in secrets(source) {
        out.push(diagnostic(span, &kind, span.slice(source)));
    }
}

/// `text` with every secret replaced by `*` (one per character, so positions keep
/// their columns): reports print source lines, and a secret must never reach a log or
/// a pull-request comment. A role's password is masked between its quotes.
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

/// The secrets in `source`, in order, none overlapping. Role passwords come first: a
/// password is masked whole even when part of it looks like a key.
fn secrets(source: &str) -> Vec<(Span, Kind)> {
    let mut found: Vec<(Span, Kind)> = role_passwords(source);
    for (kind, pattern) in PATTERNS.iter() {
        for m in pattern.find_iter(source) {
            if *kind == Kind::Aws && m.as_str().ends_with("EXAMPLE") {
                continue; // AWS's documented example key
            }
            let overlaps = found
                .iter()
                .any(|(span, _)| span.start < m.end() && m.start() < span.end);
            if !overlaps {
                found.push((Span::new(m.start(), m.end()), kind.clone()));
            }
        }
    }
    found.sort_by_key(|(span, _)| span.start);
    found
}

/// The literal passwords given to roles (`PASSWORD NULL`, `''` and placeholders are
/// none), each as the span of its text between the quotes.
fn role_passwords(source: &str) -> Vec<(Span, Kind)> {
    let mut found = Vec::new();
    for captures in ROLE_PASSWORD.captures_iter(source) {
        let (Some(role), Some(password)) = (captures.get(1), captures.get(2)) else {
            continue;
        };
        // `CREATE USER MAPPING … OPTIONS (password '…')` names no role.
        if role.as_str().eq_ignore_ascii_case("mapping") || placeholder(password.as_str()) {
            continue;
        }
        found.push((
            Span::new(password.start(), password.end()),
            Kind::RolePassword(role.as_str().to_string()),
        ));
    }
    found
}

/// An empty password (PostgreSQL clears it) or an obvious placeholder: `<password>`,
/// `${PASSWORD}`, `{{password}}`, `***`, `xxx`, `...`.
fn placeholder(password: &str) -> bool {
    let password = password.trim();
    password.is_empty()
        || (password.starts_with('<') && password.ends_with('>'))
        || (password.starts_with("${") && password.ends_with('}'))
        || (password.starts_with("{{") && password.ends_with("}}"))
        || password
            .chars()
            .all(|c| matches!(c, '*' | 'x' | 'X' | '.' | '…'))
}

fn diagnostic(span: Span, kind: &Kind, value: &str) -> Diagnostic {
    let shown = redact(value);
    const LEAK: &str = "everyone who can read the repository or the migration history has it";
    const HELP: &str = "rotate it now (it is in the git history), store the new value in Supabase Vault once per project outside the migrations (`select vault.create_secret(…)`), and read it from `vault.decrypted_secrets`";
    let (message, help) = match kind {
        Kind::Jwt => match jwt_claims(value) {
            Some(claims) if claims.role.as_deref() == Some("anon") => {
                let key = if claims.issuer.as_deref() == Some("supabase-demo") {
                    "the Supabase CLI's local demo anon key"
                } else {
                    "a Supabase anon key"
                };
                return Diagnostic::new(
                    span,
                    format!(
                        "{key} ({shown}) is written into the migration: this is the public anon key, shipped in client apps by design (RLS guards the data), so nothing leaks; the service_role key must never be written here"
                    ),
                )
                .help("nothing to rotate; to use each environment's own key, read it from Vault (`vault.decrypted_secrets`) or a setting. Never put the service_role key in a migration: it bypasses RLS")
                .severity(Severity::Info);
            }
            Some(claims) if claims.issuer.as_deref() == Some("supabase-demo") => (
                format!(
                    "the Supabase CLI's local demo {} key ({shown}) is written into the migration: it only works on the local stack",
                    claims.role.as_deref().unwrap_or("API")
                ),
                "read the key from Vault or a setting so every environment uses its own; the demo key itself needs no rotation".to_string(),
            ),
            Some(claims) if claims.role.as_deref() == Some("service_role") => (
                format!(
                    "a Supabase service_role key ({shown}) is written into the migration: it bypasses RLS, and {LEAK}"
                ),
                HELP.to_string(),
            ),
            Some(Claims {
                role: Some(role), ..
            }) => (
                format!("a JWT with role {role} ({shown}) is written into the migration: {LEAK}"),
                HELP.to_string(),
            ),
            _ => (
                format!("a JWT ({shown}) is written into the migration: {LEAK}"),
                HELP.to_string(),
            ),
        },
        Kind::AccessToken => (
            format!(
                "a Supabase personal access token ({shown}) is written into the migration: it acts as its owner on every project they can reach, and {LEAK}"
            ),
            "revoke it now in the dashboard (Account → Access Tokens); migrations never need one".to_string(),
        ),
        Kind::SecretKey => (
            format!(
                "a Supabase secret API key ({shown}) is written into the migration: it bypasses RLS, and {LEAK}"
            ),
            HELP.to_string(),
        ),
        Kind::Stripe => (
            format!("a Stripe secret key ({shown}) is written into the migration: {LEAK}"),
            HELP.to_string(),
        ),
        Kind::Aws => (
            format!("an AWS access key id ({shown}) is written into the migration: {LEAK}"),
            HELP.to_string(),
        ),
        Kind::RolePassword(role) => (
            format!(
                "the password of role {role} is written into the migration: it lands in the repository and on every environment the migration runs on, and {LEAK}"
            ),
            format!(
                "change it now (it is in the git history) and set it out of band: run `ALTER ROLE {role} PASSWORD …` by hand on each project, or from a Vault secret; or create the role with no password and grant LOGIN only where it is needed"
            ),
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
        // Messages name a key by its first characters only, and a password not at all;
        // source lines are masked.
        for line in rendered.lines() {
            assert!(
                !line.contains("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9"),
                "{line}"
            );
            assert!(!line.contains("sk_live_0000"), "{line}");
            assert!(!line.contains("fixture-pw"), "{line}");
        }
        insta::assert_snapshot!(rendered);
    }

    #[test]
    fn mask_hides_keys_and_role_passwords_in_place() {
        let text = "CREATE ROLE \"Report Bot\" WITH LOGIN PASSWORD 'fixture-pw-1';\n\
                    ALTER USER etl VALID UNTIL 'infinity' ENCRYPTED PASSWORD 'fixture''pw';\n\
                    -- key: sk_live_0000000000fakefakefake0000\n\
                    ALTER ROLE etl PASSWORD NULL; ALTER ROLE etl PASSWORD '<set by hand>';\n\
                    CREATE USER MAPPING FOR etl SERVER s OPTIONS (password 'fdw');";
        let masked = super::mask(text);
        assert_eq!(masked.len(), text.len());
        assert_eq!(
            masked,
            "CREATE ROLE \"Report Bot\" WITH LOGIN PASSWORD '************';\n\
             ALTER USER etl VALID UNTIL 'infinity' ENCRYPTED PASSWORD '***********';\n\
             -- key: **********************************\n\
             ALTER ROLE etl PASSWORD NULL; ALTER ROLE etl PASSWORD '<set by hand>';\n\
             CREATE USER MAPPING FOR etl SERVER s OPTIONS (password 'fdw');"
        );
        assert!(matches!(
            super::mask("ALTER TABLE t ADD COLUMN password text DEFAULT 'x';"),
            std::borrow::Cow::Borrowed(_)
        ));
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
