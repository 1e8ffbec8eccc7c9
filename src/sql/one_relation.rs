//! Statements that lock one relation, the one they name, and run none of the user's code:
//! `CREATE TABLE` of built-in types without a foreign key, `ALTER TABLE … ENABLE ROW
//! LEVEL SECURITY`, `CREATE INDEX` on plain columns, `CREATE TRIGGER`, `CREATE POLICY`
//! without a subquery, `DROP TRIGGER` / `DROP POLICY … ON`, `GRANT … ON` one table.
//!
//! When that relation was created by the file running them, the look at the locks after
//! such a statement can add nothing to the evidence: locks on relations a file created
//! are left out, and the statement touches nothing else. The apply engine asks the
//! server to skip that look (see `engine::LOCKS`). Read from the statement's tokens, so
//! that a name or a string that says `FROM` is not taken for the keyword; anything this
//! module does not recognise whole is `None`, and keeps its look.

use sqlparser::tokenizer::{Token, Word};

use super::classify::leading_words;
use super::lexical::statement_tokens;

/// The relation `text` locks, as SQL text (`public.t`, `"Mixed Case"`), when it is one of
/// the statements this module describes; `None` for any other.
pub fn locks_only(text: &str) -> Option<String> {
    let words = leading_words(text, 3);
    let word = |i: usize| words.get(i).map(String::as_str).unwrap_or("");
    let read: fn(&mut Cursor) -> Option<String> = match (word(0), word(1)) {
        ("CREATE", "TABLE" | "UNLOGGED") => create_table,
        ("ALTER", "TABLE") => row_level_security,
        ("DROP", "TRIGGER" | "POLICY") => drop_on,
        ("CREATE", "TRIGGER") => trigger,
        ("CREATE", "OR") if word(2) == "REPLACE" => trigger,
        ("CREATE", "POLICY") => policy,
        ("CREATE", "INDEX" | "UNIQUE") => index,
        ("GRANT", _) => grant,
        _ => return None,
    };
    let tokens = statement_tokens(text)?;
    let mut cursor = Cursor::new(&tokens);
    let relation = read(&mut cursor)?;
    cursor.done().then_some(relation)
}

/// `CREATE [UNLOGGED] TABLE [IF NOT EXISTS] t (…) [WITH (…)] [TABLESPACE s]` whose
/// columns are of built-in types, with no foreign key (`REFERENCES` locks the table it
/// names), no `LIKE` and no `EXCLUDE` (an operator class may be the user's). What it
/// locks besides the table it creates too (its sequences, indexes, TOAST table); a
/// column of a composite type would lock that type's relation, hence built-in types
/// only. Its defaults, checks and generated columns are not evaluated: it has no rows.
fn create_table(cursor: &mut Cursor) -> Option<String> {
    cursor.phrase(&["CREATE"]).then_some(())?;
    cursor.phrase(&["UNLOGGED"]);
    cursor.phrase(&["TABLE"]).then_some(())?;
    cursor.phrase(&["IF", "NOT", "EXISTS"]);
    let relation = cursor.name()?;
    cursor.list(table_element)?;
    if cursor.phrase(&["WITH"]) {
        cursor.list(|_| Some(()))?;
    }
    if cursor.phrase(&["TABLESPACE"]) {
        cursor.word()?;
    }
    Some(relation)
}

/// One column or table constraint of a `CREATE TABLE` that [`create_table`] accepts.
fn table_element(tokens: &[Token]) -> Option<()> {
    let mut cursor = Cursor::new(tokens);
    let never = ["REFERENCES", "FOREIGN", "EXCLUDE"];
    if cursor.at(&["LIKE"]) {
        return None;
    }
    if ["CONSTRAINT", "PRIMARY", "UNIQUE", "CHECK"]
        .iter()
        .any(|keyword| cursor.at(&[keyword]))
    {
        return cursor.rest_without(&never, 0).then_some(());
    }
    cursor.word()?;
    if cursor.phrase(&["pg_catalog"]) {
        matches!(cursor.next()?, Token::Period).then_some(())?;
    }
    let Token::Word(kind) = cursor.next()? else {
        return None;
    };
    (kind.quote_style.is_none()
        && BUILT_IN_TYPES.contains(&kind.value.to_ascii_lowercase().as_str()))
    .then_some(())?;
    // The rest (`varying`, `(10, 2)`, `[]`, the column's constraints) names no table.
    cursor.rest_without(&never, 0).then_some(())
}

/// The types of Postgres itself, by the names a column may be declared with.
const BUILT_IN_TYPES: [&str; 45] = [
    "bigint",
    "bigserial",
    "bit",
    "bool",
    "boolean",
    "bytea",
    "char",
    "character",
    "cidr",
    "date",
    "decimal",
    "double",
    "float",
    "float4",
    "float8",
    "inet",
    "int",
    "int2",
    "int4",
    "int8",
    "integer",
    "interval",
    "json",
    "jsonb",
    "macaddr",
    "money",
    "numeric",
    "real",
    "serial",
    "serial2",
    "serial4",
    "serial8",
    "smallint",
    "smallserial",
    "text",
    "time",
    "timestamp",
    "timestamptz",
    "timetz",
    "tsquery",
    "tsvector",
    "uuid",
    "varchar",
    "varbit",
    "xml",
];

/// `ALTER TABLE [IF EXISTS] [ONLY] t {ENABLE | DISABLE | [NO] FORCE} ROW LEVEL SECURITY`.
fn row_level_security(cursor: &mut Cursor) -> Option<String> {
    cursor.phrase(&["ALTER", "TABLE"]).then_some(())?;
    cursor.phrase(&["IF", "EXISTS"]);
    cursor.phrase(&["ONLY"]);
    let relation = cursor.name()?;
    let switched = cursor.phrase(&["ENABLE"])
        || cursor.phrase(&["DISABLE"])
        || cursor.phrase(&["FORCE"])
        || cursor.phrase(&["NO", "FORCE"]);
    (switched && cursor.phrase(&["ROW", "LEVEL", "SECURITY"])).then_some(relation)
}

/// `DROP {TRIGGER | POLICY} [IF EXISTS] name ON t [RESTRICT]` (not `CASCADE`, which
/// drops what depends on it).
fn drop_on(cursor: &mut Cursor) -> Option<String> {
    let dropped = cursor.phrase(&["DROP", "TRIGGER"]) || cursor.phrase(&["DROP", "POLICY"]);
    dropped.then_some(())?;
    cursor.phrase(&["IF", "EXISTS"]);
    cursor.word()?;
    cursor.phrase(&["ON"]).then_some(())?;
    let relation = cursor.name()?;
    cursor.phrase(&["RESTRICT"]);
    Some(relation)
}

/// `CREATE [OR REPLACE] TRIGGER name … ON t …`: creating a trigger runs nothing, and
/// its `WHEN` cannot read a table. Not a constraint trigger (`CREATE CONSTRAINT
/// TRIGGER`, whose `FROM` names another table).
fn trigger(cursor: &mut Cursor) -> Option<String> {
    cursor.phrase(&["CREATE"]).then_some(())?;
    cursor.phrase(&["OR", "REPLACE"]);
    cursor.phrase(&["TRIGGER"]).then_some(())?;
    cursor.word()?;
    // The events (`INSERT OR UPDATE OF a, b`) up to `ON`.
    while !cursor.phrase(&["ON"]) {
        cursor.next()?;
    }
    let relation = cursor.name()?;
    cursor.rest_without(&["FROM"], 0).then_some(relation)
}

/// `CREATE POLICY name ON t …` whose expressions hold no query: analysing a subquery
/// locks the tables it reads (a function called is not looked into).
fn policy(cursor: &mut Cursor) -> Option<String> {
    cursor.phrase(&["CREATE", "POLICY"]).then_some(())?;
    cursor.word()?;
    cursor.phrase(&["ON"]).then_some(())?;
    let relation = cursor.name()?;
    cursor
        .rest_without(&["SELECT", "FROM", "TABLE", "VALUES"], 1)
        .then_some(relation)
}

/// `CREATE [UNIQUE] INDEX [IF NOT EXISTS] [name] ON [ONLY] t [USING method] (columns)
/// [INCLUDE (columns)]` on plain columns: no expression, no predicate, no operator
/// class, which could call the user's functions. Not `CONCURRENTLY`, which commits as it
/// goes.
fn index(cursor: &mut Cursor) -> Option<String> {
    cursor.phrase(&["CREATE"]).then_some(())?;
    cursor.phrase(&["UNIQUE"]);
    cursor.phrase(&["INDEX"]).then_some(())?;
    if cursor.at(&["CONCURRENTLY"]) {
        return None;
    }
    // A name after `IF NOT EXISTS`, and otherwise unless `ON` comes at once.
    if cursor.phrase(&["IF", "NOT", "EXISTS"]) || !cursor.at(&["ON"]) {
        cursor.word()?;
    }
    cursor.phrase(&["ON"]).then_some(())?;
    cursor.phrase(&["ONLY"]);
    let relation = cursor.name()?;
    if cursor.phrase(&["USING"]) {
        cursor.word()?;
    }
    cursor.columns(true)?;
    if cursor.phrase(&["INCLUDE"]) {
        cursor.columns(false)?;
    }
    Some(relation)
}

/// `GRANT privileges ON [TABLE] t TO …`: one table (not `ALL TABLES IN SCHEMA`, a
/// sequence or a function, whose name would not be followed by `TO`).
fn grant(cursor: &mut Cursor) -> Option<String> {
    cursor.phrase(&["GRANT"]).then_some(())?;
    while !cursor.phrase(&["ON"]) {
        cursor.next()?;
    }
    cursor.phrase(&["TABLE"]);
    let relation = cursor.name()?;
    cursor.phrase(&["TO"]).then_some(())?;
    cursor.rest_without(&[], 0).then_some(relation)
}

/// The tokens of one statement ([`statement_tokens`]), read in order.
struct Cursor<'t> {
    tokens: &'t [Token],
    at: usize,
}

impl<'t> Cursor<'t> {
    fn new(tokens: &'t [Token]) -> Self {
        Cursor { tokens, at: 0 }
    }

    fn next(&mut self) -> Option<&'t Token> {
        let token = self.tokens.get(self.at)?;
        self.at += 1;
        Some(token)
    }

    fn done(&self) -> bool {
        self.at == self.tokens.len()
    }

    /// Whether the next tokens are the unquoted `keywords`.
    fn at(&self, keywords: &[&str]) -> bool {
        keywords.iter().enumerate().all(|(offset, keyword)| {
            matches!(
                self.tokens.get(self.at + offset),
                Some(Token::Word(word)) if keyword_is(word, keyword)
            )
        })
    }

    /// Steps over `keywords` when they come next; whether they did.
    fn phrase(&mut self, keywords: &[&str]) -> bool {
        let there = self.at(keywords);
        if there {
            self.at += keywords.len();
        }
        there
    }

    /// One name, quoted or not.
    fn word(&mut self) -> Option<&'t Word> {
        match self.tokens.get(self.at)? {
            Token::Word(word) => {
                self.at += 1;
                Some(word)
            }
            _ => None,
        }
    }

    /// A relation's name of one to three parts, as SQL text.
    fn name(&mut self) -> Option<String> {
        let mut parts = vec![sql_text(self.word()?)];
        while parts.len() < 3 && matches!(self.tokens.get(self.at), Some(Token::Period)) {
            self.at += 1;
            parts.push(sql_text(self.word()?));
        }
        Some(parts.join("."))
    }

    /// `(element, element, …)`, each element accepted by `each`.
    fn list(&mut self, each: impl Fn(&'t [Token]) -> Option<()>) -> Option<()> {
        matches!(self.next()?, Token::LParen).then_some(())?;
        loop {
            each(self.element()?)?;
            match self.next()? {
                Token::Comma => continue,
                Token::RParen => return Some(()),
                _ => return None,
            }
        }
    }

    /// The tokens up to the next `,` or `)` outside parentheses and brackets, stepped
    /// over; `None` when the statement ends first.
    fn element(&mut self) -> Option<&'t [Token]> {
        let start = self.at;
        let mut nested = 0usize;
        loop {
            match self.tokens.get(self.at)? {
                Token::LParen | Token::LBracket => nested += 1,
                Token::RParen | Token::RBracket if nested > 0 => nested -= 1,
                Token::Comma | Token::RParen if nested == 0 => {
                    return Some(&self.tokens[start..self.at]);
                }
                _ => {}
            }
            self.at += 1;
        }
    }

    /// `(a, b DESC NULLS LAST, …)`: plain columns, with an order when `ordered`.
    fn columns(&mut self, ordered: bool) -> Option<()> {
        matches!(self.next()?, Token::LParen).then_some(())?;
        loop {
            self.word()?;
            if ordered {
                let _ = self.phrase(&["ASC"]) || self.phrase(&["DESC"]);
                let _ = self.phrase(&["NULLS", "FIRST"]) || self.phrase(&["NULLS", "LAST"]);
            }
            match self.next()? {
                Token::Comma => continue,
                Token::RParen => return Some(()),
                _ => return None,
            }
        }
    }

    /// Steps to the end; whether none of the rest within `depth` parentheses or more is
    /// one of the unquoted `keywords` (`FOR SELECT` names a policy's command; a query in
    /// an expression is in parentheses).
    fn rest_without(&mut self, keywords: &[&str], depth: usize) -> bool {
        let rest = &self.tokens[self.at..];
        self.at = self.tokens.len();
        let mut nested = 0usize;
        !rest.iter().any(|token| match token {
            Token::LParen => {
                nested += 1;
                false
            }
            Token::RParen => {
                nested = nested.saturating_sub(1);
                false
            }
            Token::Word(word) => {
                nested >= depth && keywords.iter().any(|keyword| keyword_is(word, keyword))
            }
            _ => false,
        })
    }
}

/// Whether `word` is `keyword`, unquoted.
fn keyword_is(word: &Word, keyword: &str) -> bool {
    word.quote_style.is_none() && word.value.eq_ignore_ascii_case(keyword)
}

/// A name part as SQL writes it: quoted as it was, or bare (folded to lower case by the
/// server, as in the statement).
fn sql_text(word: &Word) -> String {
    match word.quote_style {
        Some(_) => format!("\"{}\"", word.value.replace('"', "\"\"")),
        None => word.value.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_one_relation_of_statements_that_lock_nothing_else() {
        for (text, relation) in [
            ("ALTER TABLE t ENABLE ROW LEVEL SECURITY;", "t"),
            (
                "alter table if exists only public.t force row level security",
                "public.t",
            ),
            (
                "ALTER TABLE \"My \"\"T\"\"\" NO FORCE ROW LEVEL SECURITY",
                "\"My \"\"T\"\"\"",
            ),
            ("DROP TRIGGER IF EXISTS t_lower ON t;", "t"),
            (
                "DROP POLICY \"Users read\" ON app.notes RESTRICT",
                "app.notes",
            ),
            (
                "CREATE TRIGGER t_lower BEFORE INSERT OR UPDATE OF name, note ON t \
                 FOR EACH ROW WHEN (NEW.name IS NOT NULL) EXECUTE FUNCTION f_lower()",
                "t",
            ),
            (
                "CREATE OR REPLACE TRIGGER x AFTER DELETE ON s.t REFERENCING OLD TABLE AS gone \
                 FOR EACH STATEMENT EXECUTE PROCEDURE s.audit('from')",
                "s.t",
            ),
            (
                "CREATE POLICY \"own rows\" ON public.notes FOR SELECT TO authenticated \
                 USING (auth.uid() = user_id)",
                "public.notes",
            ),
            (
                "CREATE POLICY p ON t AS PERMISSIVE FOR INSERT WITH CHECK (owner = auth.uid())",
                "t",
            ),
            ("CREATE INDEX ON t (a)", "t"),
            (
                "CREATE UNIQUE INDEX IF NOT EXISTS t_a ON ONLY t USING btree (a DESC NULLS LAST, b) INCLUDE (c);",
                "t",
            ),
            ("create index t_created on t (created_at)", "t"),
            (
                "GRANT SELECT, UPDATE (name) ON TABLE public.t TO anon, authenticated WITH GRANT OPTION",
                "public.t",
            ),
            ("GRANT ALL ON t TO service_role", "t"),
            (
                "CREATE TABLE IF NOT EXISTS t_1 (\n  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,\n  \
                 name text NOT NULL DEFAULT '',\n  data jsonb NOT NULL DEFAULT '{}'::jsonb,\n  \
                 created_at timestamptz NOT NULL DEFAULT now()\n);",
                "t_1",
            ),
            (
                "create unlogged table app.\"Prices\" (id uuid primary key default gen_random_uuid(), \
                 amount numeric(12, 2) check (amount >= 0), tags text[] default '{}', \
                 at timestamp with time zone, ratio double precision, code character varying(8) collate \"C\", \
                 total numeric generated always as (amount * 2) stored, \
                 constraint prices_code unique (code), check (ratio > 0)) \
                 with (fillfactor = 90, autovacuum_enabled = false) tablespace fast",
                "app.\"Prices\"",
            ),
            ("CREATE TABLE s.t (n pg_catalog.int4 ARRAY)", "s.t"),
        ] {
            assert_eq!(locks_only(text).as_deref(), Some(relation), "{text}");
        }
    }

    #[test]
    fn statements_that_may_lock_another_relation_or_run_code_have_none() {
        for text in [
            "ALTER TABLE t ADD COLUMN a int",
            "ALTER TABLE t ENABLE ROW LEVEL SECURITY, ADD COLUMN a int",
            "ALTER TABLE t ENABLE TRIGGER ALL",
            "DROP TRIGGER x ON t CASCADE",
            "DROP TABLE t",
            "CREATE CONSTRAINT TRIGGER x AFTER INSERT ON t FROM u FOR EACH ROW EXECUTE FUNCTION f()",
            "CREATE POLICY p ON t USING (EXISTS (SELECT 1 FROM members m WHERE m.id = t.owner))",
            "CREATE POLICY p ON t USING (owner IN (TABLE admins))",
            "CREATE INDEX ON t (lower(name))",
            "CREATE INDEX ON t (a) WHERE a > 0",
            "CREATE INDEX ON t (a text_pattern_ops)",
            "CREATE INDEX CONCURRENTLY ON t (a)",
            "CREATE INDEX ON t USING gin ((data -> 'k'))",
            "GRANT SELECT ON ALL TABLES IN SCHEMA public TO anon",
            "GRANT SELECT ON t, u TO anon",
            "GRANT USAGE ON SEQUENCE s TO anon",
            "GRANT EXECUTE ON FUNCTION f() TO anon",
            "GRANT app_role TO someone",
            "INSERT INTO t VALUES (1)",
            "CREATE TABLE t (a int REFERENCES u)",
            "CREATE TABLE t (a int, CONSTRAINT t_a FOREIGN KEY (a) REFERENCES u (id))",
            "CREATE TABLE t (a int, FOREIGN KEY (a) REFERENCES u)",
            "CREATE TABLE t (LIKE u INCLUDING ALL)",
            "CREATE TABLE t (a address)",
            "CREATE TABLE t (a public.mood)",
            "CREATE TABLE t (a \"text\")",
            "CREATE TABLE t (r int, EXCLUDE USING gist (r WITH =))",
            "CREATE TABLE t (a int) INHERITS (u)",
            "CREATE TABLE t (a int) PARTITION BY RANGE (a)",
            "CREATE TABLE t PARTITION OF u FOR VALUES IN (1)",
            "CREATE TABLE t OF some_type",
            "CREATE TABLE t AS SELECT * FROM u",
            "CREATE TEMP TABLE t (a int)",
            "CREATE TABLE t (a int) USING heap2",
            "ALTER TABLE t ENABLE ROW LEVEL SECURITY 'unterminated",
            "ALTER TABLE t ENABLE ROW LEVEL SECURITY; DROP TABLE u",
        ] {
            assert_eq!(locks_only(text), None, "{text}");
        }
    }
}
