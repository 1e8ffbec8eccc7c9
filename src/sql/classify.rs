//! What a statement means for transactions, judged from its leading keywords.
//!
//! The apply engine needs to know which statements control transactions themselves and
//! which Postgres refuses to run inside one, before sending anything.

use super::lexical::block_comment_end;

/// How a statement interacts with the transaction the engine would wrap it in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TxRole {
    /// Ordinary SQL.
    Plain,
    /// `BEGIN`, `START TRANSACTION`.
    Begin,
    /// `COMMIT`, `END`.
    Commit,
    /// `ROLLBACK`, `ABORT`, `PREPARE TRANSACTION` (not `ROLLBACK TO SAVEPOINT`).
    Abort,
    /// Cannot run inside a transaction block (`CREATE INDEX CONCURRENTLY`, `VACUUM`, …).
    NoTransaction,
    /// Must be committed before later statements can use its effect
    /// (`ALTER TYPE … ADD VALUE`).
    CommitAfter,
}

/// Classifies a statement's text (comments allowed anywhere).
pub fn tx_role(text: &str) -> TxRole {
    let words = leading_words(text, 8);
    let word = |i: usize| words.get(i).map(String::as_str).unwrap_or("");
    let has = |w: &str| words.iter().any(|x| x == w);
    match (word(0), word(1)) {
        ("BEGIN", next) if next != "ATOMIC" => TxRole::Begin,
        ("START", "TRANSACTION") => TxRole::Begin,
        ("COMMIT", "PREPARED") | ("ROLLBACK", "PREPARED") => TxRole::NoTransaction,
        ("COMMIT" | "END", _) => TxRole::Commit,
        ("ROLLBACK", "TO") => TxRole::Plain,
        ("ROLLBACK", "WORK" | "TRANSACTION") if word(2) == "TO" => TxRole::Plain,
        ("ROLLBACK" | "ABORT", _) | ("PREPARE", "TRANSACTION") => TxRole::Abort,
        ("VACUUM", _) | ("ALTER", "SYSTEM") => TxRole::NoTransaction,
        ("CREATE" | "DROP", "DATABASE" | "TABLESPACE" | "SUBSCRIPTION") => TxRole::NoTransaction,
        ("CREATE" | "DROP" | "REINDEX", _) if has("INDEX") && has("CONCURRENTLY") => {
            TxRole::NoTransaction
        }
        ("REINDEX", _) if has("CONCURRENTLY") || matches!(word(1), "DATABASE" | "SYSTEM") => {
            TxRole::NoTransaction
        }
        ("ALTER", "TABLE") if has("DETACH") && (has("CONCURRENTLY") || has("FINALIZE")) => {
            TxRole::NoTransaction
        }
        ("DISCARD", "ALL") => TxRole::NoTransaction,
        ("ALTER", "TYPE") if has("ADD") && has("VALUE") => TxRole::CommitAfter,
        _ => TxRole::Plain,
    }
}

/// Whether a statement takes no lock on any relation whatever it says: a setting
/// (`SET`, `RESET`, `SHOW`; not `SET CONSTRAINTS`, which may run deferred checks), the
/// start of a transaction, or a PL/pgSQL function or procedure created or replaced
/// (its body is checked for syntax alone: the tables it names are not opened, while a
/// `LANGUAGE sql` body is analysed and locks them).
pub fn locks_nothing(text: &str) -> bool {
    let words = leading_words(text, 4);
    let word = |i: usize| words.get(i).map(String::as_str).unwrap_or("");
    match word(0) {
        "SET" => word(1) != "CONSTRAINTS",
        "RESET" | "SHOW" => true,
        "CREATE" => {
            let routine = match word(1) {
                "OR" => word(2) == "REPLACE" && matches!(word(3), "FUNCTION" | "PROCEDURE"),
                kind => matches!(kind, "FUNCTION" | "PROCEDURE"),
            };
            routine && language(text).is_some_and(|language| language == "plpgsql")
        }
        _ => tx_role(text) == TxRole::Begin,
    }
}

/// The `LANGUAGE` a routine's definition names (lower-cased), read from its tokens: a
/// body (a string) that says `LANGUAGE` is not taken for the clause.
fn language(text: &str) -> Option<String> {
    use sqlparser::tokenizer::Token;
    let tokens = super::lexical::significant_tokens(text)?;
    let mut words = tokens.iter();
    while let Some(token) = words.next() {
        if let Token::Word(word) = token
            && word.quote_style.is_none()
            && word.value.eq_ignore_ascii_case("LANGUAGE")
        {
            return match words.next()? {
                Token::Word(name) if name.quote_style.is_none() => Some(name.value.to_lowercase()),
                Token::Word(name) => Some(name.value.clone()),
                Token::SingleQuotedString(name) => Some(name.to_lowercase()),
                _ => None,
            };
        }
    }
    None
}

/// A `COPY` that exchanges its rows with the client running it, not with a file on the
/// server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientCopy {
    /// `COPY … FROM STDIN`: the client sends the rows (psql's inline data).
    FromStdin,
    /// `COPY … TO STDOUT`: the server sends them to the client.
    ToStdout,
}

/// Whether `text` is a `COPY` from or to the client (`STDIN`, `STDOUT`), read from its
/// tokens outside the parentheses of a query or a column list.
pub fn client_copy(text: &str) -> Option<ClientCopy> {
    use sqlparser::tokenizer::Token;
    if leading_words(text, 1).first().map(String::as_str) != Some("COPY") {
        return None;
    }
    let tokens = super::lexical::significant_tokens(text)?;
    let mut depth = 0usize;
    let mut previous: Option<String> = None;
    for token in &tokens {
        match token {
            Token::LParen => depth += 1,
            Token::RParen => depth = depth.saturating_sub(1),
            Token::Word(word) if depth == 0 && word.quote_style.is_none() => {
                let word = word.value.to_ascii_uppercase();
                match (previous.as_deref(), word.as_str()) {
                    (Some("FROM"), "STDIN") => return Some(ClientCopy::FromStdin),
                    (Some("TO"), "STDOUT") => return Some(ClientCopy::ToStdout),
                    _ => {}
                }
                previous = Some(word);
                continue;
            }
            _ => {}
        }
        previous = None;
    }
    None
}

/// The first `limit` words of `text`, upper-cased, skipping comments; parenthesised
/// option lists (`VACUUM (ANALYZE)`, `REINDEX (VERBOSE)`) are skipped whole.
pub fn leading_words(text: &str, limit: usize) -> Vec<String> {
    let bytes = text.as_bytes();
    let mut words = Vec::new();
    let mut at = 0;
    while at < bytes.len() && words.len() < limit {
        let rest = &text[at..];
        if rest.starts_with("--") {
            at += rest.find('\n').unwrap_or(rest.len());
        } else if rest.starts_with("/*") {
            at += block_comment_end(rest.as_bytes()).unwrap_or(rest.len());
        } else if bytes[at] == b'(' {
            at += rest.find(')').map_or(rest.len(), |end| end + 1);
        } else if bytes[at].is_ascii_alphabetic() || bytes[at] == b'_' {
            let len = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(rest.len());
            words.push(rest[..len].to_ascii_uppercase());
            at += len;
        } else if bytes[at].is_ascii_whitespace() {
            at += 1;
        } else if bytes[at] == b'"' {
            // A quoted name is a word that is never a keyword.
            let len = rest[1..].find('"').map_or(rest.len(), |end| end + 2);
            words.push(String::new());
            at += len;
        } else {
            break;
        }
    }
    words
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transaction_control() {
        for (text, role) in [
            ("BEGIN", TxRole::Begin),
            ("begin isolation level serializable", TxRole::Begin),
            ("-- start\nSTART TRANSACTION", TxRole::Begin),
            ("COMMIT", TxRole::Commit),
            ("end", TxRole::Commit),
            ("ROLLBACK", TxRole::Abort),
            ("ROLLBACK TO SAVEPOINT a", TxRole::Plain),
            ("rollback work to a", TxRole::Plain),
            ("SAVEPOINT a", TxRole::Plain),
            ("PREPARE TRANSACTION 'x'", TxRole::Abort),
        ] {
            assert_eq!(tx_role(text), role, "{text}");
        }
    }

    #[test]
    fn settings_and_a_transactions_start_lock_nothing() {
        for text in [
            "SET LOCAL lock_timeout = '5s'",
            "-- guard\nset statement_timeout to '1min'",
            "RESET ALL",
            "SHOW search_path",
            "BEGIN",
            "SET ROLE authenticated",
            "CREATE FUNCTION f() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$",
            "create or replace function public.f(r public.t) returns setof public.t\nas $body$\ndeclare x public.t.id%type;\nbegin return; end\n$body$ language 'plpgsql'",
            "CREATE PROCEDURE p() LANGUAGE PLPGSQL AS $$ BEGIN NULL; END $$",
        ] {
            assert!(locks_nothing(text), "{text}");
        }
        for text in [
            "SET CONSTRAINTS ALL IMMEDIATE",
            "ALTER TABLE t SET NOT NULL",
            "UPDATE t SET a = 1",
            "SELECT set_config('a.b', 'c', true)",
            "BEGIN ATOMIC SELECT 1; END",
            // A SQL body is analysed: the tables it reads are locked.
            "CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $$ SELECT count(*)::int FROM t $$",
            "CREATE FUNCTION f() RETURNS int AS $$ SELECT 1 $$ LANGUAGE sql",
            "CREATE FUNCTION f() RETURNS int BEGIN ATOMIC SELECT count(*)::int FROM t; END",
            // The word in a body is not the clause.
            "CREATE FUNCTION f() RETURNS text AS $$ SELECT 'LANGUAGE plpgsql' $$ LANGUAGE sql",
            "DO $$ BEGIN PERFORM 1 FROM t; END $$ LANGUAGE plpgsql",
            "CREATE TRIGGER t_touch BEFORE UPDATE ON t FOR EACH ROW EXECUTE FUNCTION f()",
        ] {
            assert!(!locks_nothing(text), "{text}");
        }
    }

    #[test]
    fn a_copy_with_the_client_is_told_from_one_with_a_file() {
        for (text, copy) in [
            (
                "COPY public.t (id, name) FROM stdin;",
                Some(ClientCopy::FromStdin),
            ),
            (
                "copy t from STDIN with (format csv)",
                Some(ClientCopy::FromStdin),
            ),
            (
                "COPY (SELECT * FROM t) TO STDOUT",
                Some(ClientCopy::ToStdout),
            ),
            ("COPY t FROM '/tmp/t.csv'", None),
            ("COPY t TO '/tmp/stdout'", None),
            // A table named stdin inside the query is no client.
            ("COPY (SELECT * FROM stdin) TO '/tmp/x'", None),
            ("COPY t FROM \"stdin\"", None),
            ("SELECT 1 FROM stdin", None),
        ] {
            assert_eq!(client_copy(text), copy, "{text}");
        }
    }

    #[test]
    fn statements_that_refuse_a_transaction() {
        for text in [
            "CREATE INDEX CONCURRENTLY i ON t (c)",
            "create unique index concurrently if not exists i on t (c)",
            "/* x */ DROP INDEX CONCURRENTLY IF EXISTS i",
            "REINDEX (VERBOSE) INDEX CONCURRENTLY i",
            "VACUUM (ANALYZE) t",
            "ALTER SYSTEM SET work_mem = '8MB'",
            "CREATE DATABASE x",
            "ALTER TABLE p DETACH PARTITION c CONCURRENTLY",
        ] {
            assert_eq!(tx_role(text), TxRole::NoTransaction, "{text}");
        }
        assert_eq!(tx_role("CREATE INDEX i ON t (c)"), TxRole::Plain);
        assert_eq!(
            tx_role("ALTER TYPE mood ADD VALUE IF NOT EXISTS 'meh'"),
            TxRole::CommitAfter
        );
    }

    #[test]
    fn function_bodies_are_not_transaction_control() {
        assert_eq!(
            tx_role("CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; END"),
            TxRole::Plain
        );
        assert_eq!(tx_role("DO $$ BEGIN COMMIT; END $$"), TxRole::Plain);
    }
}
