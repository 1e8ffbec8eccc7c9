//! Credentials written into SQL: privileged JWTs, Supabase access tokens and secret keys,
//! Stripe secret keys, AWS access key ids, and role passwords. Found here once, for the
//! `no-secrets` rule that reports them and for every report that prints source, which
//! masks them.

use std::borrow::Cow;
use std::sync::LazyLock;

use regex::Regex;

use crate::findings::span::Span;

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
pub enum Kind {
    Jwt,
    AccessToken,
    SecretKey,
    Stripe,
    Aws,
    /// A role's password; the role as written.
    RolePassword(String),
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
pub fn secrets(source: &str) -> Vec<(Span, Kind)> {
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

#[cfg(test)]
mod tests {
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
}
