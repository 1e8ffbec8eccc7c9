//! `no-secrets`: a credential written into a migration: a privileged JWT (the Supabase
//! `service_role` key, or any JWT whose role is not `anon`), a Supabase personal access
//! token (`sbp_…`) or secret API key (`sb_secret_…`), a Stripe secret key (`sk_live_…`,
//! `sk_test_…`, `rk_…`), an AWS access key id (`AKIA…`), or a role's password
//! (`CREATE ROLE/USER … PASSWORD '…'`, `ALTER ROLE/USER … [WITH] PASSWORD '…'`).
//!
//! Findings never repeat the value: they show its first four characters, and [`crate::sql::secrets::mask`]
//! hides it in printed source (`sql::secrets` finds them).
//!
//! Why, and what to write instead: docs/rules/no-secrets.md.

use crate::findings::Severity;
use crate::findings::registry;
use crate::findings::span::Span;
use crate::lint::rule::{Diagnostic, FileContext, RuleDef};
use crate::sql::secrets::{Kind, secrets};

pub const RULE: RuleDef = RuleDef::file(registry::NO_SECRETS, check);

fn check(context: &FileContext<'_>, out: &mut Vec<Diagnostic>) {
    // The whole file: statements, their comments, and comments after the last one.
    let source = context.source();
    for (span, kind) in secrets(source) {
        out.push(diagnostic(span, &kind, span.slice(source)));
    }
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
    fn base64url_decodes_jwt_payloads() {
        assert_eq!(
            super::base64url("eyJyb2xlIjoiYW5vbiJ9").as_deref(),
            Some(&b"{\"role\":\"anon\"}"[..])
        );
        assert_eq!(super::base64url("a+b"), None);
        assert_eq!(super::redact("sk_live_abc"), "sk_l…");
    }
}
