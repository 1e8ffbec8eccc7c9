//! Catalog snapshots and their diff against a real Postgres: what each kind of DDL looks
//! like in the diff, and what stays out of it.

use crate::common;

use std::str::FromStr;
use std::sync::Arc;

use common::PgServer;
use migration_guard::catalog::{self, Catalog, Change, ChangeKind, Kind, Scope, diff, snapshot};
use migration_guard::db::Database;

fn server() -> Arc<PgServer> {
    common::shared_server(module_path!(), |_| {})
}

/// A fresh database on the shared cluster.
struct Fresh {
    server: Arc<PgServer>,
    name: String,
    db: Database,
}

impl Fresh {
    async fn new() -> Fresh {
        let server = server();
        let name = server.fresh_database("catalog");
        let db = connect(&server.url_for(&name)).await;
        Fresh { server, name, db }
    }

    async fn run(&self, sql: &str) {
        self.db
            .client
            .batch_execute(sql)
            .await
            .unwrap_or_else(|error| panic!("{sql}: {error:?}"));
    }

    async fn snapshot(&self) -> Catalog {
        snapshot(&self.db, &Scope::user()).await.unwrap()
    }

    /// The changes `sql` makes.
    async fn changes(&self, sql: &str) -> Vec<Change> {
        let before = self.snapshot().await;
        self.run(sql).await;
        diff(&before, &self.snapshot().await)
    }
}

async fn search_path(db: &Database) -> String {
    let row = db.client.query_one("SHOW search_path", &[]).await.unwrap();
    row.get(0)
}

async fn connect(url: &str) -> Database {
    let config = tokio_postgres::Config::from_str(url).unwrap();
    Database::connect(&config).await.unwrap()
}

/// What `reader` reads after a file, read whole (no file's locks to narrow it).
async fn read_whole(reader: &catalog::Reader, db: &Database) -> Catalog {
    let mut catalog = Catalog::default();
    reader.reread(db, &mut catalog, None, None).await.unwrap();
    catalog
}

/// `kind change object` per change, to compare whole lists at a glance.
fn short(changes: &[Change]) -> Vec<String> {
    changes
        .iter()
        .map(|c| format!("{} {} {}", c.change, c.kind, c.object))
        .collect()
}

const USERS: &str = "
CREATE TABLE public.users (
  id bigserial PRIMARY KEY,
  email text NOT NULL UNIQUE,
  name text DEFAULT 'anonymous',
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX users_created_at_idx ON public.users (created_at);
ALTER TABLE public.users ENABLE ROW LEVEL SECURITY;
CREATE POLICY \"users read own\" ON public.users FOR SELECT USING (id = 1);
GRANT SELECT ON public.users TO PUBLIC;
CREATE FUNCTION public.touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
CREATE TRIGGER users_touch BEFORE UPDATE ON public.users FOR EACH ROW EXECUTE FUNCTION public.touch();
";

#[tokio::test]
async fn an_empty_database_has_an_empty_catalog() {
    let fresh = Fresh::new().await;
    let catalog = fresh.snapshot().await;
    assert!(catalog.is_empty(), "{catalog:#?}");
    assert_eq!(catalog, Catalog::default());
}

#[tokio::test]
async fn every_kind_of_object_shows_up_as_added_under_its_qualified_name() {
    let fresh = Fresh::new().await;
    fresh.run(USERS).await;
    let changes = fresh
        .changes(
            "
            CREATE SCHEMA app;
            CREATE TABLE app.posts (id int);
            ALTER TABLE public.users ADD COLUMN bio text;
            ALTER TABLE public.users ADD CONSTRAINT users_name_check CHECK (name <> '');
            CREATE INDEX users_name_idx ON public.users (lower(name));
            CREATE VIEW public.active_users AS SELECT id, email FROM public.users;
            CREATE MATERIALIZED VIEW public.user_counts AS SELECT count(*) FROM public.users;
            CREATE FUNCTION public.f(a integer, b text) RETURNS integer LANGUAGE sql AS $$ SELECT a $$;
            CREATE TRIGGER users_touch_insert BEFORE INSERT ON public.users
              FOR EACH ROW EXECUTE FUNCTION public.touch();
            CREATE POLICY \"users insert own\" ON public.users FOR INSERT WITH CHECK (id = 1);
            CREATE ROLE catalog_reader;
            GRANT SELECT, INSERT ON public.users TO catalog_reader;
            CREATE TYPE public.mood AS ENUM ('sad', 'ok');
            CREATE EXTENSION pg_trgm;
            CREATE SEQUENCE public.counter;
            ",
        )
        .await;
    assert_eq!(
        short(&changes),
        [
            "added schema app",
            "added table app.posts",
            "added column public.users.bio",
            "added constraint public.users.users_name_check",
            "added index public.users.users_name_idx",
            "added view public.active_users",
            "added materialized-view public.user_counts",
            "added function public.f(integer, text)",
            "added trigger public.users.users_touch_insert",
            "added policy public.users.users insert own",
            "added grant public.users.catalog_reader",
            "added type public.mood",
            "added extension pg_trgm",
            "added sequence public.counter",
        ]
    );
    let detail = |object: &str| {
        changes
            .iter()
            .find(|c| c.object == object)
            .map(|c| c.detail.as_str())
            .unwrap()
    };
    assert_eq!(detail("public.users.bio"), "text");
    assert_eq!(
        detail("public.users.users_name_idx"),
        "CREATE INDEX users_name_idx ON public.users USING btree (lower(name))"
    );
    assert_eq!(detail("public.users.catalog_reader"), "INSERT, SELECT");
    assert_eq!(detail("public.mood"), "enum (sad, ok)");
}

#[tokio::test]
async fn a_snapshot_holds_what_the_catalogs_say() {
    let fresh = Fresh::new().await;
    fresh.run(USERS).await;
    let catalog = fresh.snapshot().await;
    let email = &catalog.columns["public.users.email"];
    assert_eq!((email.type_name.as_str(), email.not_null), ("text", true));
    assert_eq!(
        catalog.columns["public.users.id"].default.as_deref(),
        Some("nextval('public.users_id_seq'::regclass)")
    );
    assert_eq!(
        catalog.constraints["public.users.users_email_key"].definition,
        "UNIQUE (email)"
    );
    // The index behind a constraint is the constraint.
    assert!(!catalog.indexes.contains_key("public.users.users_email_key"));
    assert!(catalog.indexes["public.users.users_created_at_idx"].valid);
    assert_eq!(
        catalog.triggers["public.users.users_touch"].definition,
        "CREATE TRIGGER users_touch BEFORE UPDATE ON public.users FOR EACH ROW EXECUTE FUNCTION public.touch()"
    );
    let policy = &catalog.policies["public.users.users read own"];
    assert_eq!(
        (policy.roles.as_slice(), policy.using.as_deref()),
        (["public".to_string()].as_slice(), Some("(id = 1)"))
    );
    assert_eq!(catalog.grants["public.users.public"].privileges, ["SELECT"]);
    assert!(catalog.tables["public.users"].rls_enabled);
    assert_eq!(
        catalog.sequences["public.users_id_seq"].owned_by.as_deref(),
        Some("public.users.id")
    );
    assert!(catalog.functions.contains_key("public.touch()"));
}

#[tokio::test]
async fn a_dropped_column_is_removed_even_through_dynamic_sql() {
    let fresh = Fresh::new().await;
    fresh
        .run("CREATE TABLE t (id int, c text, d text); CREATE INDEX t_c_idx ON t (c);")
        .await;
    let changes = fresh.changes("ALTER TABLE t DROP COLUMN d").await;
    assert_eq!(short(&changes), ["removed column public.t.d"]);
    let changes = fresh
        .changes("DO $$ BEGIN EXECUTE 'ALTER TABLE t DROP COLUMN c'; END $$")
        .await;
    // The column's index goes with it: both are reported.
    assert_eq!(
        short(&changes),
        [
            "removed column public.t.c",
            "removed index public.t.t_c_idx"
        ]
    );
    assert_eq!(changes[0].detail, "text");
}

#[tokio::test]
async fn a_changed_column_type_says_from_what_to_what() {
    let fresh = Fresh::new().await;
    fresh.run("CREATE TABLE t (id int, c text)").await;
    let changes = fresh
        .changes("ALTER TABLE t ALTER COLUMN c TYPE varchar(200), ALTER COLUMN c SET NOT NULL")
        .await;
    assert_eq!(
        changes,
        [Change {
            kind: Kind::Column,
            object: "public.t.c".into(),
            change: ChangeKind::Changed,
            detail: "type text -> character varying(200); nullable -> not null".into(),
        }]
    );
}

#[tokio::test]
async fn disabling_rls_is_a_changed_rls() {
    let fresh = Fresh::new().await;
    fresh
        .run("CREATE TABLE t (id int); ALTER TABLE t ENABLE ROW LEVEL SECURITY")
        .await;
    let changes = fresh
        .changes("ALTER TABLE t DISABLE ROW LEVEL SECURITY")
        .await;
    assert_eq!(
        changes,
        [Change {
            kind: Kind::Rls,
            object: "public.t".into(),
            change: ChangeKind::Changed,
            detail: "rls on -> off".into(),
        }]
    );
    let changes = fresh
        .changes("ALTER TABLE t FORCE ROW LEVEL SECURITY")
        .await;
    assert_eq!(changes[0].detail, "force rls off -> on");
}

#[tokio::test]
async fn a_dropped_policy_is_removed() {
    let fresh = Fresh::new().await;
    fresh.run(USERS).await;
    let changes = fresh
        .changes("DROP POLICY \"users read own\" ON public.users")
        .await;
    assert_eq!(
        changes,
        [Change {
            kind: Kind::Policy,
            object: "public.users.users read own".into(),
            change: ChangeKind::Removed,
            detail: "SELECT to public".into(),
        }]
    );
}

#[tokio::test]
async fn a_dropped_table_is_exactly_one_removed_table() {
    let fresh = Fresh::new().await;
    fresh.run(USERS).await;
    let changes = fresh.changes("DROP TABLE public.users").await;
    assert_eq!(
        changes,
        [Change {
            kind: Kind::Table,
            object: "public.users".into(),
            change: ChangeKind::Removed,
            detail: "table, 4 columns, rls on".into(),
        }]
    );
}

#[tokio::test]
async fn a_new_enum_value_changes_the_type() {
    let fresh = Fresh::new().await;
    fresh.run("CREATE TYPE mood AS ENUM ('sad', 'ok')").await;
    let changes = fresh
        .changes("ALTER TYPE mood ADD VALUE 'happy'; ALTER TYPE mood ADD VALUE 'meh' BEFORE 'ok'")
        .await;
    assert_eq!(
        changes,
        [Change {
            kind: Kind::Type,
            object: "public.mood".into(),
            change: ChangeKind::Changed,
            detail: "values (sad, ok) -> (sad, meh, ok, happy)".into(),
        }]
    );
}

#[tokio::test]
async fn a_replaced_function_body_changes_the_function() {
    let fresh = Fresh::new().await;
    fresh
        .run("CREATE FUNCTION f(a integer, b text) RETURNS integer LANGUAGE sql AS $$ SELECT a $$")
        .await;
    let changes = fresh
        .changes(
            "CREATE OR REPLACE FUNCTION f(a integer, b text) RETURNS integer LANGUAGE sql AS $$ SELECT a + 1 $$",
        )
        .await;
    assert_eq!(
        changes,
        [Change {
            kind: Kind::Function,
            object: "public.f(integer, text)".into(),
            change: ChangeKind::Changed,
            detail: "body changed".into(),
        }]
    );
    let changes = fresh
        .changes(
            "ALTER FUNCTION f(integer, text) SECURITY DEFINER SET search_path = ''; \
             CREATE FUNCTION g() RETURNS integer LANGUAGE sql BEGIN ATOMIC SELECT 1; END",
        )
        .await;
    assert_eq!(
        short(&changes),
        [
            "changed function public.f(integer, text)",
            "added function public.g()"
        ]
    );
    assert_eq!(
        changes[0].detail,
        "security invoker -> security definer; config () -> (search_path=\"\")"
    );
    let changes = fresh
        .changes("CREATE OR REPLACE FUNCTION g() RETURNS integer LANGUAGE sql BEGIN ATOMIC SELECT 2; END")
        .await;
    assert_eq!(short(&changes), ["changed function public.g()"]);
}

/// Everything the snapshot reads, at once: the same database must give the same catalog
/// whatever the connection's search_path, and nothing may depend on OIDs or scan order.
const RICH: &str = "
CREATE SCHEMA app;
CREATE EXTENSION citext WITH SCHEMA app;
CREATE TYPE app.status AS ENUM ('new', 'done');
CREATE DOMAIN app.positive AS integer NOT NULL DEFAULT 1 CHECK (VALUE > 0);
CREATE TYPE app.pair AS (a integer, b text);
CREATE TABLE app.accounts (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  email app.citext UNIQUE,
  status app.status NOT NULL DEFAULT 'new',
  amount app.positive,
  label text COLLATE \"C\",
  doubled integer GENERATED ALWAYS AS (amount * 2) STORED
) WITH (fillfactor = 70);
CREATE TABLE app.events (id int, at date NOT NULL, account bigint REFERENCES app.accounts (id))
  PARTITION BY RANGE (at);
CREATE TABLE app.events_2025 PARTITION OF app.events FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
CREATE INDEX events_at ON app.events (at);
CREATE VIEW app.open_accounts WITH (security_invoker = true) AS
  SELECT id, email FROM app.accounts WHERE status = 'new';
CREATE MATERIALIZED VIEW app.totals AS SELECT status, sum(amount) AS total FROM app.accounts GROUP BY status;
CREATE UNIQUE INDEX totals_status ON app.totals (status);
CREATE FUNCTION app.total(s app.status DEFAULT 'new') RETURNS SETOF bigint LANGUAGE sql STABLE
  AS $$ SELECT total FROM app.totals WHERE status = s $$;
CREATE PROCEDURE app.reset() LANGUAGE sql AS $$ DELETE FROM app.accounts $$;
CREATE AGGREGATE app.total_of(integer) (sfunc = int4pl, stype = integer);
CREATE FUNCTION app.stamp() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path = ''
  AS $$ BEGIN RETURN NEW; END $$;
CREATE TRIGGER accounts_stamp BEFORE INSERT OR UPDATE OF status ON app.accounts
  FOR EACH ROW WHEN (NEW.status IS NOT NULL) EXECUTE FUNCTION app.stamp();
ALTER TABLE app.accounts ADD CONSTRAINT accounts_label_check CHECK (label <> '') NOT VALID;
ALTER TABLE app.events DISABLE TRIGGER ALL;
ALTER TABLE app.accounts ENABLE ROW LEVEL SECURITY;
ALTER TABLE app.accounts FORCE ROW LEVEL SECURITY;
CREATE ROLE \"Catalog Reader\";
CREATE POLICY \"accounts: own\" ON app.accounts AS RESTRICTIVE FOR UPDATE TO \"Catalog Reader\", pg_monitor
  USING (status = 'new') WITH CHECK (amount > 0);
GRANT SELECT, UPDATE (label) ON app.accounts TO \"Catalog Reader\" WITH GRANT OPTION;
GRANT USAGE ON SEQUENCE app.accounts_id_seq TO \"Catalog Reader\";
CREATE SEQUENCE app.ticket AS integer INCREMENT 5 MINVALUE -10 MAXVALUE 1000 START 3 CACHE 2 CYCLE;
CREATE TYPE app.floats AS RANGE (subtype = float8);
";

#[tokio::test]
async fn snapshots_are_stable_and_ignore_the_connections_search_path() {
    let fresh = Fresh::new().await;
    fresh.run(RICH).await;
    let first = fresh.snapshot().await;
    assert_eq!(first, fresh.snapshot().await);
    assert_eq!(diff(&first, &fresh.snapshot().await), []);

    let other = connect(&fresh.server.url_for(&fresh.name)).await;
    other
        .client
        .batch_execute("SET search_path = app, public")
        .await
        .unwrap();
    assert_eq!(snapshot(&other, &Scope::user()).await.unwrap(), first);
    // ... and the session's search_path is put back, in or out of a transaction.
    assert_eq!(search_path(&other).await, "app, public");
    other
        .client
        .batch_execute("BEGIN; SET LOCAL search_path = public")
        .await
        .unwrap();
    assert_eq!(snapshot(&other, &Scope::user()).await.unwrap(), first);
    assert_eq!(search_path(&other).await, "public");
    other.client.batch_execute("ROLLBACK").await.unwrap();
    assert_eq!(search_path(&other).await, "app, public");

    // What the deparse functions print is qualified.
    assert_eq!(first.columns["app.accounts.email"].type_name, "app.citext");
    assert_eq!(
        first.columns["app.accounts.status"].default.as_deref(),
        Some("'new'::app.status")
    );
    assert_eq!(
        first.columns["app.accounts.label"].collation.as_deref(),
        Some("C")
    );
    assert_eq!(
        first.columns["app.accounts.id"].identity,
        Some(catalog::Identity::Always)
    );
    assert_eq!(
        first.columns["app.accounts.doubled"].generated.as_deref(),
        Some("((amount)::integer * 2)")
    );
    // The identity column's sequence is part of the column, the extension's objects part
    // of the extension.
    assert!(!first.sequences.contains_key("app.accounts_id_seq"));
    assert!(
        !first
            .grants
            .contains_key("app.accounts_id_seq.Catalog Reader")
    );
    assert!(!first.types.contains_key("app.citext"));
    assert!(first.functions.keys().all(|f| !f.contains("citext")));
    assert_eq!(first.extensions["citext"].schema, "app");
    assert_eq!(
        first.grants["app.accounts.Catalog Reader"].privileges,
        ["SELECT WITH GRANT OPTION"]
    );
    assert_eq!(
        first.policies["app.accounts.accounts: own"].roles,
        ["Catalog Reader", "pg_monitor"]
    );
    assert_eq!(
        first.tables["app.events_2025"].partition_bound.as_deref(),
        Some("FOR VALUES FROM ('2025-01-01') TO ('2026-01-01')")
    );
    assert_eq!(first.tables["app.accounts"].options, ["fillfactor=70"]);
    let check = &first.constraints["app.accounts.accounts_label_check"];
    assert_eq!(
        (check.definition.as_str(), check.validated),
        ("CHECK ((label <> ''::text)) NOT VALID", false)
    );
    assert!(
        first
            .constraints
            .contains_key("app.events.events_account_fkey")
    );
    assert_eq!(
        first.views["app.open_accounts"].options,
        ["security_invoker=true"]
    );
    assert!(first.indexes.contains_key("app.totals.totals_status"));
    assert_eq!(
        first
            .functions
            .keys()
            .map(String::as_str)
            .collect::<Vec<_>>(),
        [
            "app.reset()",
            "app.stamp()",
            "app.total(app.status)",
            "app.total_of(integer)"
        ]
    );
    assert_eq!(
        first.types.keys().map(String::as_str).collect::<Vec<_>>(),
        ["app.floats", "app.pair", "app.positive", "app.status"]
    );
    // A dropped-and-recreated object with the same definition is no change at all.
    let changes = fresh
        .changes(
            "DROP VIEW app.open_accounts; \
             CREATE VIEW app.open_accounts WITH (security_invoker = true) AS \
               SELECT id, email FROM app.accounts WHERE status = 'new';",
        )
        .await;
    assert_eq!(changes, []);
}

/// The prepared reads switch to the empty search_path and back with statements prepared
/// once: a session whose path changed since (a migration's `SET search_path`) reads the
/// same catalog, and gets its own path back, in or out of a transaction.
#[tokio::test]
async fn prepared_reads_follow_a_search_path_changed_since_and_put_it_back() {
    let fresh = Fresh::new().await;
    fresh
        .run(
            "CREATE SCHEMA sp; CREATE TYPE sp.mood AS ENUM ('calm', 'glad'); \
             CREATE TABLE sp.t (m sp.mood NOT NULL DEFAULT 'calm');",
        )
        .await;
    let reader = catalog::Reader::new(&fresh.db, Scope::user())
        .await
        .unwrap();
    let first = read_whole(&reader, &fresh.db).await;
    // Qualified as with an empty search_path, which would print `mood` under `sp`'s.
    assert_eq!(first.columns["sp.t.m"].type_name, "sp.mood");
    assert_eq!(
        first.columns["sp.t.m"].default.as_deref(),
        Some("'calm'::sp.mood")
    );
    fresh.run("SET search_path = sp, public").await;
    assert_eq!(read_whole(&reader, &fresh.db).await, first);
    assert_eq!(search_path(&fresh.db).await, "sp, public");
    fresh.run("BEGIN; SET LOCAL search_path = public").await;
    assert_eq!(read_whole(&reader, &fresh.db).await, first);
    assert_eq!(search_path(&fresh.db).await, "public");
    fresh.run("ROLLBACK").await;
    assert_eq!(search_path(&fresh.db).await, "sp, public");
    assert_eq!(read_whole(&reader, &fresh.db).await, first);
}

#[tokio::test]
async fn supabase_managed_schemas_are_out_of_scope_but_user_policies_on_them_are_not() {
    let fresh = Fresh::new().await;
    fresh
        .run(
            "CREATE SCHEMA auth; CREATE TABLE auth.users (id uuid PRIMARY KEY); \
             CREATE FUNCTION auth.uid() RETURNS uuid LANGUAGE sql AS $$ SELECT NULL::uuid $$; \
             CREATE SCHEMA storage; CREATE TABLE storage.objects (id uuid, owner uuid); \
             CREATE SCHEMA supabase_migrations; CREATE TABLE supabase_migrations.schema_migrations (version text);",
        )
        .await;
    assert!(fresh.snapshot().await.is_empty());
    let everything = snapshot(&fresh.db, &Scope::default()).await.unwrap();
    assert!(everything.tables.contains_key("auth.users"));
    assert!(everything.functions.contains_key("auth.uid()"));

    let changes = fresh
        .changes(
            "ALTER TABLE storage.objects ENABLE ROW LEVEL SECURITY; \
             CREATE POLICY \"own files\" ON storage.objects FOR SELECT USING (owner = auth.uid()); \
             CREATE FUNCTION public.on_signup() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$; \
             CREATE TRIGGER on_signup AFTER INSERT ON auth.users FOR EACH ROW EXECUTE FUNCTION public.on_signup(); \
             CREATE FUNCTION auth.internal() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$; \
             CREATE TRIGGER internal AFTER INSERT ON auth.users FOR EACH ROW EXECUTE FUNCTION auth.internal();",
        )
        .await;
    assert_eq!(
        short(&changes),
        [
            "added function public.on_signup()",
            "added trigger auth.users.on_signup",
            "added policy storage.objects.own files",
        ]
    );
}

#[tokio::test]
async fn a_role_that_is_not_a_superuser_sees_the_same_catalog() {
    let fresh = Fresh::new().await;
    fresh.run(USERS).await;
    fresh
        .run(&format!(
            "CREATE ROLE catalog_migrator LOGIN PASSWORD 'pw'; \
             GRANT CONNECT ON DATABASE {} TO catalog_migrator",
            fresh.name
        ))
        .await;
    let url = format!(
        "postgresql://catalog_migrator:pw@127.0.0.1:{}/{}",
        fresh.server.port, fresh.name
    );
    let migrator = connect(&url).await;
    let seen = snapshot(&migrator, &Scope::user()).await.unwrap();
    assert_eq!(seen, fresh.snapshot().await);
}

/// The snapshot runs after every migration: on ~200 tables with columns, indexes,
/// constraints, policies, grants and triggers it must stay fast.
#[tokio::test]
async fn a_snapshot_of_two_hundred_tables_is_fast() {
    let fresh = Fresh::new().await;
    fresh
        .run(
            "
            CREATE ROLE catalog_anon; CREATE ROLE catalog_authenticated;
            CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql
              AS $$ BEGIN NEW.updated_at = now(); RETURN NEW; END $$;
            DO $$
            BEGIN
              FOR i IN 1..200 LOOP
                EXECUTE format($t$
                  CREATE TABLE t%1$s (
                    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                    owner uuid NOT NULL,
                    name text NOT NULL DEFAULT 'x',
                    email varchar(200) UNIQUE,
                    amount numeric(10, 2) CHECK (amount >= 0),
                    data jsonb,
                    created_at timestamptz NOT NULL DEFAULT now(),
                    updated_at timestamptz,
                    parent_id bigint %2$s
                  );
                  CREATE INDEX t%1$s_owner ON t%1$s (owner);
                  CREATE INDEX t%1$s_created ON t%1$s (created_at DESC) WHERE data IS NOT NULL;
                  ALTER TABLE t%1$s ENABLE ROW LEVEL SECURITY;
                  CREATE POLICY \"read own\" ON t%1$s FOR SELECT TO catalog_authenticated
                    USING (owner = gen_random_uuid());
                  CREATE POLICY \"write own\" ON t%1$s FOR INSERT TO catalog_authenticated
                    WITH CHECK (owner = gen_random_uuid());
                  GRANT SELECT, INSERT, UPDATE, DELETE ON t%1$s TO catalog_anon, catalog_authenticated;
                  CREATE TRIGGER touch BEFORE UPDATE ON t%1$s FOR EACH ROW EXECUTE FUNCTION touch();
                $t$, i, CASE WHEN i > 1 THEN format('REFERENCES t%s (id)', i - 1) ELSE '' END);
              END LOOP;
              FOR i IN 1..50 LOOP
                EXECUTE format('CREATE FUNCTION f%s(a int, b text) RETURNS int LANGUAGE plpgsql
                  AS $f$ BEGIN RETURN a + %s; END $f$', i, i);
              END LOOP;
              FOR i IN 1..20 LOOP
                EXECUTE format('CREATE VIEW v%s AS SELECT id, name FROM t%s WHERE amount > 0', i, i);
              END LOOP;
            END $$;
            ",
        )
        .await;
    let first = fresh.snapshot().await;
    assert_eq!(first.tables.len(), 200);
    assert_eq!(first.columns.len(), 1800);
    assert_eq!(first.indexes.len(), 400);
    assert_eq!(first.constraints.len(), 200 * 4 - 1);
    assert_eq!(first.policies.len(), 400);
    assert_eq!(first.grants.len(), 400);
    assert_eq!(first.triggers.len(), 200);
    // Taken again, it is the same (the time it takes is the shadow benchmark's business).
    assert_eq!(fresh.snapshot().await, first);
    let dropped = fresh.changes("DROP TABLE t200").await;
    assert_eq!(short(&dropped), ["removed table public.t200"]);
}

#[tokio::test]
async fn the_tables_alone_are_the_full_snapshots_tables_and_nothing_else() {
    let fresh = Fresh::new().await;
    fresh.run(USERS).await;
    let full = fresh.snapshot().await;
    let reader = catalog::Reader::new(&fresh.db, Scope::user())
        .await
        .unwrap();
    // Prepared, with a plan made once, the reads are what a single query reads.
    assert_eq!(reader.snapshot(&fresh.db).await.unwrap(), full);
    let tables = reader.tables(&fresh.db).await.unwrap();
    assert_eq!(tables.tables, full.tables);
    assert_eq!(tables.columns, full.columns);
    assert_eq!(tables.constraints, full.constraints);
    assert_eq!(tables.policies, full.policies);
    assert!(!full.functions.is_empty() && !full.triggers.is_empty() && !full.grants.is_empty());
    assert!(tables.functions.is_empty() && tables.triggers.is_empty() && tables.grants.is_empty());
    assert!(tables.indexes.is_empty());
}

#[tokio::test]
async fn refreshing_the_tables_a_migration_locked_gives_what_a_whole_read_gives() {
    let fresh = Fresh::new().await;
    fresh
        .run(
            "CREATE TABLE a (id int PRIMARY KEY, x int); CREATE TABLE b (id int PRIMARY KEY, a_id int REFERENCES a); \
             ALTER TABLE b ENABLE ROW LEVEL SECURITY; CREATE POLICY p ON b USING (true);",
        )
        .await;
    let reader = catalog::Reader::new(&fresh.db, Scope::user())
        .await
        .unwrap();
    let mut catalog = read_whole(&reader, &fresh.db).await;
    let before = catalog.clone();
    fresh
        .run(
            "ALTER TABLE b DROP COLUMN a_id; DROP POLICY p ON b; ALTER TABLE b DISABLE ROW LEVEL SECURITY; \
             CREATE TABLE c (id int);",
        )
        .await;
    let names = ["public.b".to_string(), "public.c".to_string()];
    let mut oids = Vec::new();
    for name in &names {
        let row = fresh
            .db
            .client
            .query_one("SELECT $1::text::regclass::oid", &[name])
            .await
            .unwrap();
        oids.push(row.get(0));
    }
    let tables = catalog::Locked {
        names: names.to_vec(),
        oids,
    };
    let reread = reader
        .reread(&fresh.db, &mut catalog, Some(&tables), None)
        .await
        .unwrap();
    let whole = read_whole(&reader, &fresh.db).await;
    assert_eq!(catalog, whole);
    // What was read again, before and after, differs as the whole catalogs do.
    let changed = diff(&before, &catalog);
    assert_eq!(diff(&reread.before, &reread.after), changed);
    assert_eq!(
        short(&changed),
        [
            "added table public.c",
            "removed column public.b.a_id",
            "removed constraint public.b.b_a_id_fkey",
            "changed rls public.b",
            "removed policy public.b.p",
        ]
    );
    // Tables not locked were not read again.
    assert!(!reread.before.tables.contains_key("public.a"));
    assert!(!reread.after.tables.contains_key("public.a"));
}

/// The reads after each file are prepared again as the catalog grows (their plans made
/// for its size): across those, reading what each step touched keeps giving what a
/// whole read gives, and the statements replaced are let go on the server.
#[tokio::test]
async fn reads_prepared_again_as_the_catalog_grows_give_what_a_whole_read_gives() {
    let fresh = Fresh::new().await;
    let reader = catalog::Reader::new(&fresh.db, Scope::user())
        .await
        .unwrap();
    let prepared_statements = || async {
        let row = fresh
            .db
            .client
            .query_one("SELECT count(*) FROM pg_prepared_statements", &[])
            .await
            .unwrap();
        row.get::<_, i64>(0)
    };
    let oids = |sql: String| {
        let db = &fresh.db;
        async move {
            let rows = db.client.query(&sql, &[]).await.unwrap();
            rows.iter().map(|row| row.get(0)).collect::<Vec<u32>>()
        }
    };
    let mut catalog = read_whole(&reader, &fresh.db).await;
    let statements = prepared_statements().await;
    for step in 0..12 {
        let mut sql = String::new();
        for table in 0..8 {
            sql.push_str(&format!(
                "CREATE TABLE g{step}_{table} (id int PRIMARY KEY, name text NOT NULL DEFAULT 'x', \
                 at timestamptz DEFAULT now() CHECK (at > '2000-01-01'));"
            ));
        }
        sql.push_str(&format!(
            "CREATE FUNCTION g{step}_f(a int) RETURNS int LANGUAGE sql AS 'SELECT a'; \
             CREATE VIEW g{step}_v AS SELECT id FROM g{step}_0;"
        ));
        // And a column of a table of the step before dropped.
        let mut names: Vec<String> = (0..8)
            .map(|table| format!("public.g{step}_{table}"))
            .collect();
        let mut pattern = format!("^g{step}_[0-9]+$");
        if step > 0 {
            sql.push_str(&format!("ALTER TABLE g{}_1 DROP COLUMN name;", step - 1));
            names.push(format!("public.g{}_1", step - 1));
            pattern = format!("^(g{step}_[0-9]+|g{}_1)$", step - 1);
        }
        fresh.run(&sql).await;
        let tables = oids(format!(
            "SELECT oid FROM pg_class WHERE relname ~ '{pattern}'"
        ))
        .await;
        let touched = catalog::Touched {
            functions: oids(format!(
                "SELECT oid FROM pg_proc WHERE proname = 'g{step}_f'"
            ))
            .await,
            relations: oids(format!(
                "SELECT oid FROM pg_class WHERE relname = 'g{step}_v'"
            ))
            .await,
            unlocked: false,
        };
        let locked = catalog::Locked {
            names,
            oids: tables,
        };
        let before = catalog.clone();
        let reread = reader
            .reread(&fresh.db, &mut catalog, Some(&locked), Some(&touched))
            .await
            .unwrap();
        assert_eq!(
            diff(&reread.before, &reread.after),
            diff(&before, &catalog),
            "step {step}"
        );
    }
    // 96 tables of 3 columns and 2 constraints each: past 64, 128 and 256 objects, the
    // reads were prepared again three times at least.
    assert!(catalog.columns.len() + catalog.constraints.len() > 4 * 64);
    let whole = read_whole(&reader, &fresh.db).await;
    assert_eq!(catalog, whole);
    assert_eq!(catalog.functions.len(), 12);
    assert_eq!(catalog.views.len(), 12);
    assert_eq!(prepared_statements().await, statements);
}
