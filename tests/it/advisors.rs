//! Supabase's advisors against a real Postgres: one instance of each problem is found,
//! once, and nothing else; a schema written the way the advice says is clean; only what
//! changed between two runs is "introduced"; and the queries hold on a vanilla server
//! without the API roles or the auth schema.

use crate::common;

use std::str::FromStr;
use std::sync::Arc;

use common::PgServer;
use migration_guard::checks::advisors::{self, Advice};
use migration_guard::db::Database;
use migration_guard::findings::registry;
use migration_guard::report::Severity;

fn server() -> Arc<PgServer> {
    common::shared_server(module_path!(), |_| {})
}

async fn connect(url: &str) -> Database {
    let config = tokio_postgres::Config::from_str(url).unwrap();
    Database::connect(&config).await.unwrap()
}

/// A fresh database on `server`.
async fn fresh(server: &PgServer) -> Database {
    connect(&server.url_for(&server.fresh_database("advisors"))).await
}

async fn run(db: &Database, sql: &str) {
    db.client
        .batch_execute(sql)
        .await
        .unwrap_or_else(|error| panic!("{sql}: {error:?}"));
}

/// What hosted Supabase has that these tests rely on: the API roles (cluster-wide,
/// created by whichever test comes first), an auth schema with auth.users, auth.uid()
/// and auth.jwt(), and an extensions schema.
const SUPABASE: &str = r#"
DO $roles$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'anon') THEN
    CREATE ROLE anon NOLOGIN NOINHERIT;
  END IF;
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'authenticated') THEN
    CREATE ROLE authenticated NOLOGIN NOINHERIT;
  END IF;
EXCEPTION WHEN duplicate_object OR unique_violation THEN
  NULL; -- another test created them at the same moment
END
$roles$;
CREATE SCHEMA auth;
CREATE TABLE auth.users (
  id uuid PRIMARY KEY,
  email text,
  raw_user_meta_data jsonb,
  raw_app_meta_data jsonb
);
ALTER TABLE auth.users ENABLE ROW LEVEL SECURITY;
CREATE FUNCTION auth.uid() RETURNS uuid LANGUAGE sql STABLE AS $$
  SELECT nullif(current_setting('request.jwt.claim.sub', true), '')::uuid
$$;
CREATE FUNCTION auth.jwt() RETURNS jsonb LANGUAGE sql STABLE AS $$
  SELECT coalesce(nullif(current_setting('request.jwt.claims', true), ''), '{}')::jsonb
$$;
GRANT USAGE ON SCHEMA public, auth TO anon, authenticated;
CREATE SCHEMA extensions;
"#;

/// A database with [`SUPABASE`] in it.
async fn supabase() -> (Arc<PgServer>, Database) {
    let server = server();
    let db = fresh(&server).await;
    run(&db, SUPABASE).await;
    (server, db)
}

/// One instance of each problem, each on an object of its own (but the view over
/// auth.users, which is also a view without security_invoker), and the pairs expected.
const PROBLEMS: &str = r#"
-- rls-disabled-in-public
CREATE TABLE public.open_notes (id bigint PRIMARY KEY, body text);
GRANT SELECT ON public.open_notes TO anon;

-- policy-exists-rls-disabled (in a schema the API does not expose)
CREATE SCHEMA private;
CREATE TABLE private.drafts (id bigint PRIMARY KEY, owner uuid);
CREATE POLICY drafts_owner ON private.drafts USING (owner = (select auth.uid()));

-- security-definer-view
CREATE TABLE public.profiles (id uuid PRIMARY KEY, name text);
ALTER TABLE public.profiles ENABLE ROW LEVEL SECURITY;
CREATE POLICY profiles_self ON public.profiles FOR SELECT TO authenticated
  USING (id = (select auth.uid()));
CREATE VIEW public.profile_names AS SELECT name FROM public.profiles;

-- auth-users-exposed (and, being a plain view, security-definer-view)
CREATE VIEW public.user_emails AS SELECT id, email FROM auth.users;
GRANT SELECT ON public.user_emails TO anon;

-- function-search-path-mutable
CREATE FUNCTION public.add_one(integer) RETURNS integer LANGUAGE sql IMMUTABLE
  AS 'SELECT $1 + 1';

-- extension-in-public (its own functions belong to the extension: not flagged)
CREATE EXTENSION pg_trgm WITH SCHEMA public;

-- rls-references-user-metadata
CREATE TABLE public.posts (id bigint PRIMARY KEY, author uuid);
ALTER TABLE public.posts ENABLE ROW LEVEL SECURITY;
CREATE POLICY posts_admins ON public.posts FOR UPDATE TO authenticated
  USING (((select auth.jwt()) -> 'user_metadata' ->> 'role') = 'admin');

-- materialized-view-in-api
CREATE MATERIALIZED VIEW public.post_counts AS SELECT count(*) AS posts FROM public.posts;
GRANT SELECT ON public.post_counts TO anon;

-- auth-rls-initplan
CREATE TABLE public.todos (id bigint PRIMARY KEY, owner uuid);
ALTER TABLE public.todos ENABLE ROW LEVEL SECURITY;
CREATE POLICY todos_owner ON public.todos FOR SELECT TO authenticated
  USING (owner = auth.uid());

-- multiple-permissive-policies
CREATE TABLE public.comments (id bigint PRIMARY KEY, author uuid, published boolean);
ALTER TABLE public.comments ENABLE ROW LEVEL SECURITY;
CREATE POLICY comments_published ON public.comments FOR SELECT TO anon, authenticated
  USING (published);
CREATE POLICY comments_own ON public.comments FOR SELECT TO authenticated
  USING (author = (select auth.uid()));

-- unindexed-foreign-keys
CREATE TABLE public.likes (id bigint PRIMARY KEY, post_id bigint REFERENCES public.posts (id));
ALTER TABLE public.likes ENABLE ROW LEVEL SECURITY;
CREATE POLICY likes_read ON public.likes FOR SELECT USING (true);

-- no-primary-key
CREATE TABLE public.events (at timestamptz, what text);
ALTER TABLE public.events ENABLE ROW LEVEL SECURITY;
CREATE POLICY events_read ON public.events FOR SELECT USING (true);

-- duplicate-index
CREATE INDEX posts_author_idx ON public.posts (author);
CREATE INDEX posts_author_idx2 ON public.posts (author);

-- rls-enabled-no-policy
CREATE TABLE public.secrets (id bigint PRIMARY KEY, value text);
ALTER TABLE public.secrets ENABLE ROW LEVEL SECURITY;
"#;

fn problems_expected() -> Vec<(&'static str, &'static str)> {
    vec![
        (
            registry::ADVISOR_RLS_DISABLED_IN_PUBLIC.id,
            "public.open_notes",
        ),
        (
            registry::ADVISOR_POLICY_EXISTS_RLS_DISABLED.id,
            "private.drafts",
        ),
        (
            registry::ADVISOR_SECURITY_DEFINER_VIEW.id,
            "public.profile_names",
        ),
        (
            registry::ADVISOR_SECURITY_DEFINER_VIEW.id,
            "public.user_emails",
        ),
        (
            registry::ADVISOR_AUTH_USERS_EXPOSED.id,
            "public.user_emails",
        ),
        (
            registry::ADVISOR_FUNCTION_SEARCH_PATH_MUTABLE.id,
            "public.add_one(integer)",
        ),
        (registry::ADVISOR_EXTENSION_IN_PUBLIC.id, "pg_trgm"),
        (
            registry::ADVISOR_RLS_REFERENCES_USER_METADATA.id,
            "public.posts.posts_admins",
        ),
        (
            registry::ADVISOR_MATERIALIZED_VIEW_IN_API.id,
            "public.post_counts",
        ),
        (
            registry::ADVISOR_AUTH_RLS_INITPLAN.id,
            "public.todos.todos_owner",
        ),
        (
            registry::ADVISOR_MULTIPLE_PERMISSIVE_POLICIES.id,
            "public.comments",
        ),
        (
            registry::ADVISOR_UNINDEXED_FOREIGN_KEYS.id,
            "public.likes.likes_post_id_fkey",
        ),
        (registry::ADVISOR_NO_PRIMARY_KEY.id, "public.events"),
        (
            registry::ADVISOR_DUPLICATE_INDEX.id,
            "public.posts_author_idx2",
        ),
        (registry::ADVISOR_RLS_ENABLED_NO_POLICY.id, "public.secrets"),
    ]
}

/// Written the way the advice says: RLS with policies that call `(select auth.uid())`,
/// functions with their own search_path, security_invoker views, indexed foreign keys,
/// primary keys, extensions in `extensions`, one permissive policy per role and command.
const CLEAN: &str = r#"
CREATE EXTENSION pg_trgm WITH SCHEMA extensions;

CREATE TABLE public.teams (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, name text NOT NULL);
CREATE TABLE public.members (
  team_id bigint NOT NULL REFERENCES public.teams (id),
  user_id uuid NOT NULL,
  PRIMARY KEY (team_id, user_id)
);
CREATE TABLE public.notes (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  team_id bigint NOT NULL REFERENCES public.teams (id),
  owner uuid NOT NULL,
  body text
);
CREATE INDEX notes_team_id_idx ON public.notes (team_id);
CREATE INDEX notes_owner_idx ON public.notes (owner);
ALTER TABLE public.teams ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.members ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.notes ENABLE ROW LEVEL SECURITY;

CREATE POLICY teams_read ON public.teams FOR SELECT TO authenticated
  USING (id IN (SELECT m.team_id FROM public.members m WHERE m.user_id = (select auth.uid())));
CREATE POLICY members_self ON public.members FOR SELECT TO authenticated
  USING (user_id = (select auth.uid()));
CREATE POLICY notes_owner ON public.notes FOR ALL TO authenticated
  USING ((select auth.uid()) = owner) WITH CHECK ((select auth.uid()) = owner);
CREATE POLICY notes_admin_delete ON public.notes AS RESTRICTIVE FOR DELETE TO authenticated
  USING (((select auth.jwt()) -> 'app_metadata' ->> 'role') = 'admin');
CREATE POLICY notes_claims ON public.notes FOR SELECT TO anon
  USING (team_id = (select (current_setting('request.jwt.claims', true)::jsonb ->> 'team')::bigint));

CREATE FUNCTION public.note_count(team bigint) RETURNS bigint
LANGUAGE sql STABLE SET search_path = '' AS $$
  SELECT count(*) FROM public.notes WHERE team_id = team
$$;
CREATE FUNCTION public.touch() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
BEGIN
  RETURN NEW;
END
$$;

CREATE VIEW public.note_titles WITH (security_invoker = true) AS
  SELECT id, left(body, 40) AS title FROM public.notes;
CREATE VIEW public.my_email WITH (security_invoker = on) AS
  SELECT email FROM auth.users WHERE id = (select auth.uid());

CREATE SCHEMA private;
CREATE MATERIALIZED VIEW private.note_stats AS
  SELECT team_id, count(*) AS notes FROM public.notes GROUP BY team_id;

GRANT SELECT ON ALL TABLES IN SCHEMA public TO anon, authenticated;
"#;

fn exposed() -> Vec<String> {
    migration_guard::supabase::project::DEFAULT_API_SCHEMAS
        .iter()
        .map(|schema| schema.to_string())
        .collect()
}

/// The advisors' entries in the registry, in the order they run.
fn advisor_rules() -> impl Iterator<Item = &'static registry::Rule> {
    registry::ALL
        .iter()
        .filter(|rule| rule.id.starts_with("advisor-"))
}

async fn advise(db: &Database) -> Vec<Advice> {
    advisors::advise(db, &exposed()).await.unwrap()
}

/// The (id, object) pairs, sorted.
fn pairs(advice: &[Advice]) -> Vec<(String, String)> {
    let mut pairs: Vec<(String, String)> = advice
        .iter()
        .map(|a| (a.id.to_string(), a.object.clone()))
        .collect();
    pairs.sort();
    pairs
}

fn expected(list: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut pairs: Vec<(String, String)> = list
        .iter()
        .map(|(id, object)| (id.to_string(), object.to_string()))
        .collect();
    pairs.sort();
    pairs
}

#[tokio::test]
async fn each_problem_is_found_once_and_nothing_else() {
    let (_server, db) = supabase().await;
    run(&db, PROBLEMS).await;
    let advice = advise(&db).await;
    assert_eq!(
        pairs(&advice),
        expected(&problems_expected()),
        "{advice:#?}"
    );
    // Every advisor has its instance.
    for rule in advisor_rules() {
        let id = rule.id;
        assert!(advice.iter().any(|a| a.id == id), "{id} found nothing");
    }
    // In the registry's order, and each detail says something.
    let order: Vec<usize> = advice
        .iter()
        .map(|a| advisor_rules().position(|rule| rule.id == a.id).unwrap())
        .collect();
    assert!(order.is_sorted(), "{advice:#?}");
    assert!(advice.iter().all(|a| !a.detail.is_empty()));
    let detail = |id: &str| {
        advice
            .iter()
            .find(|a| a.id == id)
            .map(|a| a.detail.as_str())
            .unwrap()
    };
    assert!(
        detail(registry::ADVISOR_RLS_DISABLED_IN_PUBLIC.id).contains("anon"),
        "{advice:#?}"
    );
    assert!(
        detail(registry::ADVISOR_AUTH_RLS_INITPLAN.id).contains("auth.uid()"),
        "{advice:#?}"
    );
    assert!(
        detail(registry::ADVISOR_MULTIPLE_PERMISSIVE_POLICIES.id).contains(
            "comments_own, comments_published are all permissive for SELECT to authenticated"
        ),
        "{advice:#?}"
    );
    assert!(
        detail(registry::ADVISOR_DUPLICATE_INDEX.id).contains("public.posts_author_idx "),
        "{advice:#?}"
    );
    assert!(
        detail(registry::ADVISOR_RLS_REFERENCES_USER_METADATA.id).contains("user_metadata"),
        "{advice:#?}"
    );
}

#[tokio::test]
async fn a_schema_written_as_advised_is_clean() {
    let (_server, db) = supabase().await;
    run(&db, CLEAN).await;
    let advice = advise(&db).await;
    assert!(advice.is_empty(), "{advice:#?}");
}

#[tokio::test]
async fn introduced_is_what_the_migrations_added() {
    let (_server, db) = supabase().await;
    run(&db, CLEAN).await;
    // A problem the database already had: not the migrations'.
    run(&db, "CREATE TABLE private.legacy (what text)").await;
    let before = advise(&db).await;
    assert_eq!(
        pairs(&before),
        expected(&[(registry::ADVISOR_NO_PRIMARY_KEY.id, "private.legacy")])
    );

    run(
        &db,
        r#"
        ALTER TABLE public.teams DISABLE ROW LEVEL SECURITY;
        CREATE POLICY notes_editors ON public.notes FOR UPDATE TO authenticated
          USING (owner = auth.uid());
        INSERT INTO private.legacy VALUES ('still no key');
        "#,
    )
    .await;
    let after = advise(&db).await;
    let new = advisors::introduced(&before, &after);
    assert_eq!(
        pairs(&new),
        expected(&[
            (registry::ADVISOR_RLS_DISABLED_IN_PUBLIC.id, "public.teams"),
            (
                registry::ADVISOR_POLICY_EXISTS_RLS_DISABLED.id,
                "public.teams"
            ),
            (
                registry::ADVISOR_AUTH_RLS_INITPLAN.id,
                "public.notes.notes_editors"
            ),
            // notes_owner (FOR ALL) and notes_editors both allow UPDATE
            (
                registry::ADVISOR_MULTIPLE_PERMISSIVE_POLICIES.id,
                "public.notes"
            ),
        ]),
        "{after:#?}"
    );
    assert!(after.iter().any(|a| a.object == "private.legacy"));
    assert!(advisors::introduced(&after, &after).is_empty());
    assert!(advisors::introduced(&after, &before).is_empty());
}

#[tokio::test]
async fn a_policy_call_is_fine_only_inside_a_scalar_subquery() {
    let (_server, db) = supabase().await;
    run(
        &db,
        r#"
        CREATE TABLE public.docs (id bigint PRIMARY KEY, owner uuid, team bigint, tag text);
        CREATE TABLE public.memberships (team bigint, user_id uuid, PRIMARY KEY (team, user_id));
        ALTER TABLE public.docs ENABLE ROW LEVEL SECURITY;
        ALTER TABLE public.memberships ENABLE ROW LEVEL SECURITY;
        CREATE POLICY m ON public.memberships AS RESTRICTIVE USING (true);
        -- per row:
        CREATE POLICY bare ON public.docs AS RESTRICTIVE FOR SELECT USING (auth.uid() = owner);
        CREATE POLICY jwt_bare ON public.docs AS RESTRICTIVE FOR SELECT
          USING ((auth.jwt() ->> 'role') = 'editor');
        CREATE POLICY setting ON public.docs AS RESTRICTIVE FOR SELECT
          USING (tag = current_setting('app.tag', true));
        CREATE POLICY correlated ON public.docs AS RESTRICTIVE FOR SELECT
          USING (EXISTS (SELECT 1 FROM public.memberships m
                         WHERE m.team = docs.team AND m.user_id = auth.uid()));
        CREATE POLICY in_check ON public.docs AS RESTRICTIVE FOR INSERT
          WITH CHECK (owner = auth.uid());
        CREATE POLICY literal_then_bare ON public.docs AS RESTRICTIVE FOR SELECT
          USING (tag <> '(select auth.uid())' AND owner = auth.uid());
        -- once per statement:
        CREATE POLICY wrapped ON public.docs AS RESTRICTIVE FOR SELECT
          USING ((select auth.uid()) = owner);
        CREATE POLICY wrapped_expression ON public.docs AS RESTRICTIVE FOR SELECT
          USING ((select auth.jwt() ->> 'role') = 'editor');
        CREATE POLICY wrapped_in_subquery ON public.docs AS RESTRICTIVE FOR SELECT
          USING (team IN (SELECT m.team FROM public.memberships m
                          WHERE m.user_id = (select auth.uid())));
        CREATE POLICY wrapped_setting ON public.docs AS RESTRICTIVE FOR SELECT
          USING (tag = (select current_setting('app.tag', true)));
        CREATE POLICY only_a_literal ON public.docs AS RESTRICTIVE FOR SELECT
          USING (tag <> 'auth.uid()');
        CREATE POLICY everyone ON public.docs FOR ALL USING (true);
        "#,
    )
    .await;
    let flagged: Vec<String> = advise(&db)
        .await
        .into_iter()
        .filter(|a| a.id == registry::ADVISOR_AUTH_RLS_INITPLAN.id)
        .map(|a| a.object)
        .collect();
    assert_eq!(
        flagged,
        [
            "public.docs.bare",
            "public.docs.correlated",
            "public.docs.in_check",
            "public.docs.jwt_bare",
            "public.docs.literal_then_bare",
            "public.docs.setting",
        ]
    );
}

#[tokio::test]
async fn names_do_not_depend_on_the_session_search_path_which_is_restored() {
    let (_server, db) = supabase().await;
    run(&db, PROBLEMS).await;
    let plain = advise(&db).await;
    run(&db, "SET search_path = auth, public, private").await;
    let odd = advise(&db).await;
    assert_eq!(plain, odd);
    let row = db.client.query_one("SHOW search_path", &[]).await.unwrap();
    assert_eq!(row.get::<_, String>(0), "auth, public, private");
}

#[tokio::test]
async fn the_exposed_schemas_are_a_parameter() {
    let (_server, db) = supabase().await;
    run(
        &db,
        r#"
        CREATE SCHEMA api;
        GRANT USAGE ON SCHEMA api TO anon, authenticated;
        CREATE TABLE api.orders (id bigint PRIMARY KEY);
        GRANT SELECT ON api.orders TO anon;
        CREATE VIEW api.order_ids AS SELECT id FROM api.orders;
        "#,
    )
    .await;
    assert!(advise(&db).await.is_empty());
    let api = advisors::advise(&db, &["api".to_string()]).await.unwrap();
    assert_eq!(
        pairs(&api),
        expected(&[
            (registry::ADVISOR_RLS_DISABLED_IN_PUBLIC.id, "api.orders"),
            (registry::ADVISOR_SECURITY_DEFINER_VIEW.id, "api.order_ids"),
        ])
    );
}

/// A vanilla Postgres: no anon or authenticated role, no auth schema. The queries run,
/// find what does not need them, and nothing about the roles.
#[tokio::test]
async fn vanilla_postgres_without_supabase_roles_or_auth() {
    // A cluster of its own: the shared one has the API roles.
    let server = PgServer::start();
    let db = fresh(&server).await;
    let roles = db
        .client
        .query_one(
            "SELECT count(*) FROM pg_roles WHERE rolname IN ('anon', 'authenticated')",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(roles.get::<_, i64>(0), 0);
    run(
        &db,
        r#"
        CREATE TABLE public.open (id int PRIMARY KEY);
        CREATE TABLE public.items (id int PRIMARY KEY, owner text);
        ALTER TABLE public.items ENABLE ROW LEVEL SECURITY;
        CREATE POLICY items_mine ON public.items USING (owner = current_setting('app.user', true));
        CREATE POLICY items_all ON public.items FOR SELECT USING (true);
        CREATE VIEW public.item_owners AS SELECT owner FROM public.items;
        CREATE MATERIALIZED VIEW public.item_count AS SELECT count(*) AS n FROM public.items;
        CREATE FUNCTION public.twice(n integer, label text DEFAULT '') RETURNS integer
          LANGUAGE sql IMMUTABLE AS 'SELECT n * 2';
        "#,
    )
    .await;
    let advice = advisors::advise(&db, &exposed()).await.unwrap();
    assert_eq!(
        pairs(&advice),
        expected(&[
            (registry::ADVISOR_RLS_DISABLED_IN_PUBLIC.id, "public.open"),
            (
                registry::ADVISOR_SECURITY_DEFINER_VIEW.id,
                "public.item_owners"
            ),
            (
                registry::ADVISOR_FUNCTION_SEARCH_PATH_MUTABLE.id,
                "public.twice(integer, text)"
            ),
            (
                registry::ADVISOR_AUTH_RLS_INITPLAN.id,
                "public.items.items_mine"
            ),
            (
                registry::ADVISOR_MULTIPLE_PERMISSIVE_POLICIES.id,
                "public.items"
            ),
        ]),
        "{advice:#?}"
    );
    let multiple = advice
        .iter()
        .find(|a| a.id == registry::ADVISOR_MULTIPLE_PERMISSIVE_POLICIES.id)
        .unwrap();
    assert!(
        multiple
            .detail
            .contains("items_all, items_mine are all permissive for SELECT to PUBLIC"),
        "{multiple:#?}"
    );
}

#[tokio::test]
async fn findings_name_the_object_and_say_what_to_write_instead() {
    let (_server, db) = supabase().await;
    run(&db, PROBLEMS).await;
    let advice = advise(&db).await;
    for item in &advice {
        let finding = advisors::finding(item, None);
        assert_eq!(finding.rule, item.id);
        assert_eq!(finding.severity, registry::find(item.id).unwrap().severity);
        assert!(finding.message.contains(&item.object), "{finding:#?}");
        assert!(finding.location.is_none());
    }
    let help = |id: &str| {
        let item = advice.iter().find(|a| a.id == id).unwrap();
        advisors::finding(item, None).help.unwrap()
    };
    assert!(
        help(registry::ADVISOR_RLS_DISABLED_IN_PUBLIC.id).contains("ENABLE ROW LEVEL SECURITY")
    );
    assert!(help(registry::ADVISOR_RLS_DISABLED_IN_PUBLIC.id).contains("CREATE POLICY"));
    assert!(
        help(registry::ADVISOR_FUNCTION_SEARCH_PATH_MUTABLE.id).contains("SET search_path = ''")
    );
    assert!(
        help(registry::ADVISOR_SECURITY_DEFINER_VIEW.id).contains("WITH (security_invoker = true)")
    );
    assert!(help(registry::ADVISOR_AUTH_RLS_INITPLAN.id).contains("(select auth.uid())"));
    let severity = |id: &str| registry::find(id).unwrap().severity;
    assert_eq!(
        severity(registry::ADVISOR_RLS_DISABLED_IN_PUBLIC.id),
        Severity::Error
    );
    assert_eq!(
        severity(registry::ADVISOR_FUNCTION_SEARCH_PATH_MUTABLE.id),
        Severity::Warning
    );
    assert_eq!(
        severity(registry::ADVISOR_NO_PRIMARY_KEY.id),
        Severity::Info
    );
}

#[test]
fn every_advisor_has_a_query_file_that_says_what_it_mirrors() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/checks/advisors");
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .collect();
    files.sort();
    let mut ids: Vec<&str> = advisor_rules().map(|rule| rule.id).collect();
    ids.sort_unstable();
    let mut wanted: Vec<String> = ids
        .iter()
        .map(|id| {
            format!(
                "{}.sql",
                id.trim_start_matches("advisor-").replace('-', "_")
            )
        })
        .collect();
    wanted.sort();
    assert_eq!(files, wanted);
    for id in ids {
        let file = format!(
            "{}.sql",
            id.trim_start_matches("advisor-").replace('-', "_")
        );
        let sql = std::fs::read_to_string(dir.join(&file)).unwrap();
        assert!(
            sql.starts_with(&format!("-- {id}: mirrors ")),
            "{file}: starts with its id and what it mirrors on the dashboard"
        );
        assert!(sql.contains("Why it matters"), "{file}");
    }
}

#[test]
fn introduced_keeps_what_is_new_by_advisor_and_object() {
    let advice = |id, object: &str, detail: &str| Advice {
        id,
        object: object.to_string(),
        detail: detail.to_string(),
    };
    let before = [advice(registry::ADVISOR_NO_PRIMARY_KEY.id, "public.a", "x")];
    let after = [
        advice(
            registry::ADVISOR_NO_PRIMARY_KEY.id,
            "public.a",
            "other wording, same problem",
        ),
        advice(registry::ADVISOR_NO_PRIMARY_KEY.id, "public.b", "x"),
        advice(registry::ADVISOR_RLS_ENABLED_NO_POLICY.id, "public.a", "x"),
    ];
    assert_eq!(advisors::introduced(&before, &after), after[1..].to_vec());
    assert!(advisors::introduced(&after, &before).is_empty());
}
