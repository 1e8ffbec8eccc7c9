//! What hosted Supabase lets `postgres` do beyond its own rights (supautils), rebuilt
//! statement by statement for the shadow's gate.
//!
//! A statement is rebuilt from what was parsed, with every name and value quoted by the
//! shadow, and only then sent through the [`Gate`]: the gate runs exactly one statement
//! of a known kind, whatever the migration's text tried to smuggle beside it. What cannot
//! be rebuilt runs as written with the migration role's own rights, and fails as it would
//! for a plain non-superuser.

use sqlparser::ast::{ObjectType, Statement as Ast};
use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::parser::Parser;
use sqlparser::tokenizer::Token;

use crate::engine::Reroute;
use crate::sql::classify::leading_words;
use crate::sql::lexical;

use super::extensions::Extensions;
use super::gate::{Gate, Rights};

/// The shadow's reroute: stand-ins and privileged extensions, wrappers, PostgREST's
/// settings, and (before Postgres 16) role statements.
pub struct Supautils<'a> {
    pub extensions: &'a Extensions,
    pub gate: &'a Gate,
    /// Postgres before 16: the migration role has no CREATEROLE (there it could grant
    /// itself the server's program and file roles), so role statements go through the
    /// gate's CREATEROLE role, which refuses those grants.
    pub roles_through_gate: bool,
}

impl Reroute for Supautils<'_> {
    fn reroute(&self, statement: &str) -> Option<String> {
        // A backslash is where parsers disagree about strings; nothing privileged needs one.
        if statement.contains('\\') {
            return None;
        }
        if let Some(sql) = self.extensions.privileged_sql(statement) {
            return Some(self.gate.call(Rights::Superuser, &sql));
        }
        if let Some(sql) = wrapper_or_postgrest_setting(statement) {
            return Some(self.gate.call(Rights::Superuser, &sql));
        }
        if self.roles_through_gate
            && let Some(sql) = role_statement(statement)
        {
            return Some(self.gate.call(Rights::RoleAdmin, &sql));
        }
        None
    }
}

/// `CREATE FOREIGN DATA WRAPPER name [HANDLER fn] [VALIDATOR fn]` (Supabase Wrappers)
/// and `ALTER ROLE authenticator SET|RESET pgrst.*`, rebuilt from their tokens.
fn wrapper_or_postgrest_setting(text: &str) -> Option<String> {
    let words = leading_words(text, 4);
    let word = |i: usize| words.get(i).map(String::as_str).unwrap_or("");
    // Every statement of a migration comes here: the words first, the tokens only for
    // the two that may be rebuilt.
    match (word(0), word(1), word(2), word(3)) {
        ("CREATE", "FOREIGN", "DATA", "WRAPPER") => wrapper(&lexical::statement_tokens(text)?[4..]),
        ("ALTER", "ROLE", "AUTHENTICATOR", "SET" | "RESET") => {
            postgrest_setting(&lexical::statement_tokens(text)?[3..])
        }
        _ => None,
    }
}

fn wrapper(tokens: &[Token]) -> Option<String> {
    let (name, mut rest) = qualified_name(tokens)?;
    let mut sql = format!("CREATE FOREIGN DATA WRAPPER {name}");
    while let Some(Token::Word(clause)) = rest.first() {
        let keyword = clause.value.to_ascii_uppercase();
        if !matches!(keyword.as_str(), "HANDLER" | "VALIDATOR") {
            return None;
        }
        let (function, after) = qualified_name(&rest[1..])?;
        sql.push_str(&format!(" {keyword} {function}"));
        rest = after;
    }
    rest.is_empty().then_some(sql)
}

fn postgrest_setting(tokens: &[Token]) -> Option<String> {
    let Token::Word(verb) = tokens.first()? else {
        return None;
    };
    let (name, rest) = qualified_name(&tokens[1..])?;
    if !name.starts_with("\"pgrst\".") {
        return None;
    }
    let verb = verb.value.to_ascii_uppercase();
    if verb == "RESET" {
        return rest
            .is_empty()
            .then(|| format!("ALTER ROLE authenticator RESET {name}"));
    }
    let (assign, values) = rest.split_first()?;
    if !matches!(assign, Token::Eq) && !is_word(assign, "TO") {
        return None;
    }
    let mut rendered = Vec::new();
    for (i, token) in values.iter().enumerate() {
        match token {
            Token::Comma if i % 2 == 1 => continue,
            Token::SingleQuotedString(value) if i % 2 == 0 => {
                rendered.push(crate::db::quote_literal(value))
            }
            Token::Word(word) if i % 2 == 0 && word.quote_style.is_none() => {
                rendered.push(crate::db::quote_literal(&word.value))
            }
            Token::Number(number, _) if i % 2 == 0 => rendered.push(number.clone()),
            _ => return None,
        }
    }
    (!rendered.is_empty()).then(|| {
        format!(
            "ALTER ROLE authenticator SET {name} TO {}",
            rendered.join(", ")
        )
    })
}

/// Role statements (CREATE / ALTER / DROP ROLE, USER or GROUP; GRANT and REVOKE of
/// roles), re-rendered from the parsed statement.
fn role_statement(text: &str) -> Option<String> {
    let words = leading_words(text, 2);
    let word = |i: usize| words.get(i).map(String::as_str).unwrap_or("");
    let candidate = match word(0) {
        "CREATE" | "ALTER" | "DROP" => matches!(word(1), "ROLE" | "USER" | "GROUP"),
        "GRANT" | "REVOKE" => true,
        _ => false,
    };
    if !candidate {
        return None;
    }
    let mut parsed = Parser::parse_sql(&PostgreSqlDialect {}, text).ok()?;
    if parsed.len() != 1 {
        return None;
    }
    let statement = parsed.pop()?;
    let roles = match &statement {
        Ast::CreateRole(_) | Ast::AlterRole { .. } | Ast::GrantRole(_) | Ast::RevokeRole(_) => true,
        Ast::Drop { object_type, .. } => {
            matches!(object_type, ObjectType::Role | ObjectType::User)
        }
        _ => false,
    };
    roles.then(|| statement.to_string())
}

/// `a` or `a.b` at the start of `tokens`, each part quoted by the shadow.
fn qualified_name(tokens: &[Token]) -> Option<(String, &[Token])> {
    let mut parts = Vec::new();
    let mut rest = tokens;
    loop {
        let Some(Token::Word(word)) = rest.first() else {
            return None;
        };
        let value = if word.quote_style.is_some() {
            word.value.clone()
        } else {
            word.value.to_ascii_lowercase()
        };
        parts.push(crate::db::quote_ident(&value));
        rest = &rest[1..];
        if rest.first() != Some(&Token::Period) {
            return Some((parts.join("."), rest));
        }
        rest = &rest[1..];
    }
}

fn is_word(token: &Token, keyword: &str) -> bool {
    matches!(token, Token::Word(word) if word.quote_style.is_none() && word.value.eq_ignore_ascii_case(keyword))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrappers_and_postgrest_settings_are_rebuilt_with_every_name_quoted() {
        assert_eq!(
            wrapper_or_postgrest_setting(
                "create foreign data wrapper stripe_wrapper handler stripe_fdw_handler validator extensions.stripe_fdw_validator;"
            )
            .as_deref(),
            Some(
                "CREATE FOREIGN DATA WRAPPER \"stripe_wrapper\" HANDLER \"stripe_fdw_handler\" VALIDATOR \"extensions\".\"stripe_fdw_validator\""
            )
        );
        assert_eq!(
            wrapper_or_postgrest_setting(
                "ALTER ROLE authenticator SET pgrst.db_schemas = 'public, api'"
            )
            .as_deref(),
            Some("ALTER ROLE authenticator SET \"pgrst\".\"db_schemas\" TO 'public, api'")
        );
        assert_eq!(
            wrapper_or_postgrest_setting("alter role authenticator reset pgrst.db_schemas")
                .as_deref(),
            Some("ALTER ROLE authenticator RESET \"pgrst\".\"db_schemas\"")
        );
    }

    #[test]
    fn anything_beside_the_one_statement_is_not_rebuilt() {
        for smuggled in [
            "ALTER ROLE authenticator SET search_path = x",
            "ALTER ROLE anon SET pgrst.x = 1",
            "ALTER ROLE authenticator SET pgrst.x = 'a'; COPY t FROM PROGRAM 'id'",
            "ALTER ROLE authenticator SET pgrst.x = 'a' COPY",
            "create foreign data wrapper w handler h; select 1",
            "create foreign data wrapper w options (a 'b')",
        ] {
            assert_eq!(wrapper_or_postgrest_setting(smuggled), None, "{smuggled}");
        }
        assert_eq!(
            role_statement("CREATE ROLE a; COPY t FROM PROGRAM 'id'"),
            None
        );
        assert_eq!(role_statement("GRANT SELECT ON t TO anon"), None);
    }

    #[test]
    fn role_statements_are_rendered_from_what_was_parsed() {
        assert_eq!(
            role_statement("create role reader nologin").as_deref(),
            Some("CREATE ROLE reader NOLOGIN")
        );
        assert_eq!(
            role_statement("grant reader to authenticator").as_deref(),
            Some("GRANT reader TO authenticator")
        );
        assert_eq!(
            role_statement("ALTER ROLE authenticated SET statement_timeout = '8s'").as_deref(),
            Some("ALTER ROLE authenticated SET statement_timeout TO '8s'")
        );
        assert_eq!(
            role_statement("drop role if exists reader").as_deref(),
            Some("DROP ROLE IF EXISTS reader")
        );
    }
}
