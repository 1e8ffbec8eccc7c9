//! Supabase's Security and Performance Advisors (the database linter the dashboard runs,
//! known as splinter), as our own checks: run in the shadow after the migrations, so a
//! pull request learns what the dashboard would say once it is deployed.
//!
//! Each advisor is one query kept as a file under `advisors/` (`<name>.sql`, headed by
//! what it mirrors on the dashboard and why it matters) that returns a row
//! `(object text, detail text)` for everything it flags. Every query takes the same two
//! parameters: `$1`, the schemas the API exposes (PostgREST's `db-schemas`; supabase's
//! `config.toml` `[api] schemas`, by default `public` and `graphql_public`), and `$2`,
//! `LIKE` patterns of the system's and Supabase's own schemas (the catalog's
//! [`Scope::user`] exclusions), left out of the checks about the user's objects. The
//! roles `anon` and `authenticated`, the `auth` schema and `auth.users` may be missing (a
//! vanilla Postgres): the queries then find nothing about them, and fail on nothing.
//!
//! [`advise`] runs them all pipelined on one connection (one round trip's latency, not
//! one per advisor) with an empty `search_path` for the duration, so names and deparsed
//! expressions read the same on every connection. Objects are full names: `public.t`,
//! `public.t.policy_name` (a policy), `public.t.constraint_name` (a foreign key),
//! `public.index_name` (an index), `public.f(integer)` (a function), or an extension's
//! name. Run it before and after the migrations and keep what they [`introduced`]: the
//! base image's own advice is not the pull request's.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::task::Poll;

use sqlparser::tokenizer::Token;
use tokio_postgres::Row;
use tokio_postgres::types::{ToSql, Type};

use crate::catalog::Scope;
use crate::db::{Database, PgError};
use crate::findings::registry;
use crate::findings::{Finding, Location, Severity};
use crate::migration::MigrationFile;
use crate::sql::classify::leading_words;
use crate::sql::lexical::significant_tokens;

/// One advisor: its entry in the registry, its query, and what to write instead.
struct Advisor {
    rule: registry::Rule,
    sql: &'static str,
    help: &'static str,
}

const ADVISORS: [Advisor; 14] = [
    Advisor {
        rule: registry::ADVISOR_RLS_DISABLED_IN_PUBLIC,
        sql: include_str!("advisors/rls_disabled_in_public.sql"),
        help: "enable it in the migration that creates the table: ALTER TABLE … ENABLE ROW LEVEL SECURITY; then CREATE POLICY … for each role and command the API needs (none: nobody but the service role gets in)",
    },
    Advisor {
        rule: registry::ADVISOR_POLICY_EXISTS_RLS_DISABLED,
        sql: include_str!("advisors/policy_exists_rls_disabled.sql"),
        help: "ALTER TABLE … ENABLE ROW LEVEL SECURITY, so that its policies apply",
    },
    Advisor {
        rule: registry::ADVISOR_SECURITY_DEFINER_VIEW,
        sql: include_str!("advisors/security_definer_view.sql"),
        help: "create the view WITH (security_invoker = true) (or ALTER VIEW … SET (security_invoker = true)), so that the tables' policies apply to whoever queries it; or move it to a schema the API does not expose",
    },
    Advisor {
        rule: registry::ADVISOR_AUTH_USERS_EXPOSED,
        sql: include_str!("advisors/auth_users_exposed.sql"),
        help: "do not expose auth.users: keep a public.profiles table (filled by a trigger on auth.users) with only what the app needs, under row level security; or REVOKE SELECT ON the view FROM anon, authenticated and move it out of the exposed schemas",
    },
    Advisor {
        rule: registry::ADVISOR_RLS_REFERENCES_USER_METADATA,
        sql: include_str!("advisors/rls_references_user_metadata.sql"),
        help: "base the policy on what users cannot change: app_metadata ((select auth.jwt()) -> 'app_metadata'), or a table of roles only the service role writes",
    },
    Advisor {
        rule: registry::ADVISOR_FUNCTION_SEARCH_PATH_MUTABLE,
        sql: include_str!("advisors/function_search_path_mutable.sql"),
        help: "give the function its own search path, SET search_path = '' in CREATE FUNCTION (or ALTER FUNCTION … SET search_path = ''), and qualify every name in its body (public.t, extensions.gen_random_bytes())",
    },
    Advisor {
        rule: registry::ADVISOR_EXTENSION_IN_PUBLIC,
        sql: include_str!("advisors/extension_in_public.sql"),
        help: "install extensions in the extensions schema: CREATE EXTENSION IF NOT EXISTS … WITH SCHEMA extensions (an existing one: ALTER EXTENSION … SET SCHEMA extensions, when it is relocatable)",
    },
    Advisor {
        rule: registry::ADVISOR_MATERIALIZED_VIEW_IN_API,
        sql: include_str!("advisors/materialized_view_in_api.sql"),
        help: "materialized views have no row level security: REVOKE SELECT ON it FROM anon, authenticated, or move it to a schema the API does not expose and serve it through a function or a security_invoker view",
    },
    Advisor {
        rule: registry::ADVISOR_AUTH_RLS_INITPLAN,
        sql: include_str!("advisors/auth_rls_initplan.sql"),
        help: "wrap the call in a scalar subquery, evaluated once per statement: (select auth.uid()) = user_id, not auth.uid() = user_id; the same for auth.jwt(), auth.role() and current_setting()",
    },
    Advisor {
        rule: registry::ADVISOR_MULTIPLE_PERMISSIVE_POLICIES,
        sql: include_str!("advisors/multiple_permissive_policies.sql"),
        help: "merge them into one policy per role and command (USING (a OR b)), or make the extra conditions AS RESTRICTIVE policies",
    },
    Advisor {
        rule: registry::ADVISOR_DUPLICATE_INDEX,
        sql: include_str!("advisors/duplicate_index.sql"),
        help: "drop the duplicate: DROP INDEX CONCURRENTLY IF EXISTS … in a migration of its own (an index a constraint uses goes with ALTER TABLE … DROP CONSTRAINT)",
    },
    Advisor {
        rule: registry::ADVISOR_RLS_ENABLED_NO_POLICY,
        sql: include_str!("advisors/rls_enabled_no_policy.sql"),
        help: "add the policies the API needs (CREATE POLICY … TO authenticated USING ((select auth.uid()) = user_id)); if only the service role may touch it, say so in a comment on the table",
    },
    Advisor {
        rule: registry::ADVISOR_UNINDEXED_FOREIGN_KEYS,
        sql: include_str!("advisors/unindexed_foreign_keys.sql"),
        help: "index the referencing columns: CREATE INDEX CONCURRENTLY IF NOT EXISTS … ON the table (the key's columns) (on a new table, a plain CREATE INDEX in the same migration)",
    },
    Advisor {
        rule: registry::ADVISOR_NO_PRIMARY_KEY,
        sql: include_str!("advisors/no_primary_key.sql"),
        help: "give every table a primary key: id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY (or uuid DEFAULT gen_random_uuid()) when it is created",
    },
];

/// One thing an advisor flags.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Advice {
    /// The advisor's id, one of [`ADVISORS`].
    pub id: &'static str,
    /// The object's full name, e.g. `public.t`, `public.t.policy_name`, `public.f(integer)`.
    pub object: String,
    /// What is wrong with it, in a phrase.
    pub detail: String,
}

#[derive(Debug, thiserror::Error)]
pub enum AdvisorError {
    #[error("the {advisor} advisor's query failed: {source}")]
    Query {
        advisor: &'static str,
        #[source]
        source: PgError,
    },
    #[error("cannot set an empty search_path for the advisors' queries: {0}")]
    SearchPath(#[source] PgError),
}

/// The session's search_path is kept in a placeholder setting while the queries run
/// with an empty one (deparsed expressions and type names are then qualified the same
/// way on every connection), and put back after them, also when one fails.
const EMPTY_SEARCH_PATH: &str = concat!(
    "SELECT set_config('migration_guard.advisors_search_path', current_setting('search_path'), false), ",
    "set_config('search_path', '', false)",
);
const RESTORE_SEARCH_PATH: &str = "SELECT set_config('search_path', current_setting('migration_guard.advisors_search_path'), false)";

/// Runs every advisor against `db`, with `exposed` as the schemas the API serves, and
/// returns what they flag in [`ADVISORS`] order, then by object and detail.
///
/// The queries are pipelined on the one connection: all are sent before the first
/// answer is awaited, between the statements that empty and restore the search_path.
pub async fn advise(db: &Database, exposed: &[String]) -> Result<Vec<Advice>, AdvisorError> {
    let internal = Scope::user().like_patterns();
    let params: [(&(dyn ToSql + Sync), Type); 2] =
        [(&exposed, Type::TEXT_ARRAY), (&internal, Type::TEXT_ARRAY)];
    let queries = ADVISORS
        .iter()
        .map(|advisor| db.client.query_typed(advisor.sql, &params));
    // The client sends a request when its future is first polled: a biased `join!` and
    // `in_order` poll in the order written, so the requests go out set, queries, restore.
    let (set, answers, restore) = tokio::join!(
        biased;
        db.client.batch_execute(EMPTY_SEARCH_PATH),
        in_order(queries.collect()),
        db.client.batch_execute(RESTORE_SEARCH_PATH),
    );
    set.map_err(AdvisorError::SearchPath)?;
    let mut advice = Vec::new();
    for (advisor, rows) in ADVISORS.iter().zip(answers) {
        let failed = |source| AdvisorError::Query {
            advisor: advisor.rule.id,
            source,
        };
        for row in rows.map_err(failed)? {
            advice.push(read(advisor.rule.id, &row).map_err(failed)?);
        }
    }
    restore.map_err(AdvisorError::SearchPath)?;
    advice.sort_by(|a, b| {
        (position(a.id), &a.object, &a.detail).cmp(&(position(b.id), &b.object, &b.detail))
    });
    advice.dedup();
    Ok(advice)
}

fn read(id: &'static str, row: &Row) -> Result<Advice, PgError> {
    Ok(Advice {
        id,
        object: row.try_get(0)?,
        detail: row.try_get(1)?,
    })
}

/// Awaits every future, polling all pending ones in the order given each time: the
/// first poll reaches every one of them before any answer is awaited.
async fn in_order<F: Future>(futures: Vec<F>) -> Vec<F::Output> {
    let mut pending: Vec<Pin<Box<F>>> = futures.into_iter().map(Box::pin).collect();
    let mut done: Vec<Option<F::Output>> = pending.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut waiting = false;
        for (future, output) in pending.iter_mut().zip(done.iter_mut()) {
            if output.is_none() {
                match future.as_mut().poll(cx) {
                    Poll::Ready(value) => *output = Some(value),
                    Poll::Pending => waiting = true,
                }
            }
        }
        if waiting {
            Poll::Pending
        } else {
            Poll::Ready(())
        }
    })
    .await;
    done.into_iter()
        .map(|output| output.expect("every future finished"))
        .collect()
}

fn position(id: &str) -> usize {
    ADVISORS
        .iter()
        .position(|advisor| advisor.rule.id == id)
        .unwrap_or(ADVISORS.len())
}

/// What `after` flags that `before` did not (the same advisor on the same object), in
/// `after`'s order: what the migrations between the two introduced.
pub fn introduced(before: &[Advice], after: &[Advice]) -> Vec<Advice> {
    let known: std::collections::HashSet<(&str, &str)> = before
        .iter()
        .map(|advice| (advice.id, advice.object.as_str()))
        .collect();
    after
        .iter()
        .filter(|advice| !known.contains(&(advice.id, advice.object.as_str())))
        .cloned()
        .collect()
}

/// The finding for `advice`: its advisor's default severity, a message naming the
/// object, and what to write instead.
pub fn finding(advice: &Advice, location: Option<Location>) -> Finding {
    let advisor = ADVISORS.iter().find(|advisor| advisor.rule.id == advice.id);
    Finding {
        rule: advice.id,
        severity: advisor.map_or(Severity::Warning, |advisor| advisor.rule.severity),
        location,
        message: format!(
            "{}: {} (Supabase's {} advisor)",
            advice.object,
            advice.detail,
            advice.id.trim_start_matches("advisor-")
        ),
        help: advisor.map(|advisor| advisor.help.to_string()),
    }
}

/// Where the migrations made each object what it is: for every name, the last
/// statement that creates or alters something of that name. Built once, in one pass.
pub struct Locator {
    last: HashMap<String, Location>,
    /// For each table, the last `CREATE INDEX ON table` that gives the index no name.
    unnamed_indexes: HashMap<String, Location>,
}

impl Locator {
    pub fn new(migrations: &[MigrationFile]) -> Self {
        let mut last = HashMap::new();
        let mut unnamed_indexes = HashMap::new();
        for (text, at) in migrations.iter().flat_map(MigrationFile::code_statements) {
            match changed_name(text) {
                // `CREATE INDEX ON t (…)`: the name after INDEX is the ON of the table.
                Some(name) if name == "on" => {
                    if let Some(table) = unnamed_index_table(text) {
                        unnamed_indexes.insert(table, at);
                    }
                }
                Some(name) => {
                    last.insert(name.to_lowercase(), at);
                }
                None => {}
            }
        }
        Locator {
            last,
            unnamed_indexes,
        }
    }

    /// The statement of `object`'s own name (its last part), if any.
    pub fn locate_own(&self, object: &str) -> Option<Location> {
        let bare = object.split('(').next().unwrap_or(object);
        let own = bare.rsplit('.').next()?.trim_matches('"').to_lowercase();
        self.last.get(&own).cloned()
    }

    /// The last statement that made an index without a name on `table` (its last part).
    pub fn unnamed_index(&self, table: &str) -> Option<Location> {
        self.unnamed_indexes.get(&table.to_lowercase()).cloned()
    }

    /// The statement for `object` (as the advisors name it: `public.t`,
    /// `public.t.policy`, `public.f(integer)`, `pg_trgm`): of its own name, else of the
    /// table it belongs to.
    pub fn locate(&self, object: &str) -> Option<Location> {
        let bare = object.split('(').next().unwrap_or(object);
        let parts: Vec<&str> = bare.split('.').collect();
        let own_then_table = parts
            .iter()
            .rev()
            .take(if parts.len() >= 3 { 2 } else { 1 });
        own_then_table
            .map(|name| name.trim_matches('"').to_lowercase())
            .find_map(|name| self.last.get(&name).cloned())
    }
}

/// The table (its last part) of `CREATE [UNIQUE] INDEX [CONCURRENTLY] ON [ONLY] table`.
fn unnamed_index_table(text: &str) -> Option<String> {
    let mut last = None;
    let mut after_on = false;
    for token in significant_tokens(text)? {
        match token {
            Token::Word(word) if !after_on => {
                after_on = word.quote_style.is_none() && word.value.eq_ignore_ascii_case("on");
            }
            Token::Word(word)
                if word.quote_style.is_none() && word.value.eq_ignore_ascii_case("only") => {}
            Token::Word(word) => {
                last = Some(match word.quote_style {
                    Some(_) => word.value,
                    None => word.value.to_lowercase(),
                });
            }
            Token::Period => {}
            _ if after_on => break,
            _ => return None,
        }
    }
    last
}

/// The name (its last part, lower-cased unless quoted) of what a `CREATE` or `ALTER`
/// statement makes or changes: the name after the object kind (`IF NOT EXISTS` and the
/// like skipped).
fn changed_name(text: &str) -> Option<String> {
    const KINDS: &[&str] = &[
        "TABLE",
        "VIEW",
        "FUNCTION",
        "PROCEDURE",
        "POLICY",
        "INDEX",
        "EXTENSION",
        "TRIGGER",
        "TYPE",
        "SEQUENCE",
    ];
    const SKIPPED: &[&str] = &["IF", "NOT", "EXISTS", "CONCURRENTLY", "ONLY"];
    if !matches!(
        leading_words(text, 1).first().map(String::as_str),
        Some("CREATE" | "ALTER")
    ) {
        return None;
    }
    let mut tokens = significant_tokens(text)?.into_iter();
    let keyword = |word: &sqlparser::tokenizer::Word, list: &[&str]| {
        word.quote_style.is_none() && list.contains(&word.value.to_uppercase().as_str())
    };
    tokens.find(|token| matches!(token, Token::Word(word) if keyword(word, KINDS)))?;
    let mut name = None;
    let mut part_expected = true;
    for token in tokens {
        match token {
            Token::Word(word) if name.is_none() && keyword(&word, SKIPPED) => {}
            Token::Word(word) if part_expected => {
                part_expected = false;
                name = Some(match word.quote_style {
                    Some(_) => word.value,
                    None => word.value.to_lowercase(),
                });
            }
            Token::Period if !part_expected => part_expected = true,
            _ => break,
        }
    }
    name
}

#[cfg(test)]
mod tests {
    use super::changed_name;

    #[test]
    fn the_name_a_create_or_alter_statement_gives() {
        for (text, name) in [
            (
                "CREATE TABLE IF NOT EXISTS public.Notes (id int)",
                Some("notes"),
            ),
            (
                "-- own rows\ncreate policy \"Own rows\" on public.t for select using (true)",
                Some("Own rows"),
            ),
            (
                "CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS idx ON t (a)",
                Some("idx"),
            ),
            (
                "CREATE OR REPLACE FUNCTION public.f(a int) RETURNS int",
                Some("f"),
            ),
            (
                "CREATE EXTENSION IF NOT EXISTS \"uuid-ossp\" WITH SCHEMA extensions",
                Some("uuid-ossp"),
            ),
            (
                "ALTER TABLE IF EXISTS ONLY public.t DISABLE ROW LEVEL SECURITY",
                Some("t"),
            ),
            ("COMMENT ON TABLE public.t IS 'x'", None),
        ] {
            assert_eq!(changed_name(text).as_deref(), name, "{text}");
        }
    }
}
