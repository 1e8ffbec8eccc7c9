//! `--seed-rows`: the synthetic rows hold to the schema's keys, foreign keys, CHECK lists
//! and sequences, a table no value fits is left with its reason; and with
//! `--preview-db-url`, each lock's hold is predicted from a larger target's sizes, and a
//! prediction past `locks.budget_ms` is `lock-budget-exceeded`.

use std::str::FromStr;
use std::sync::Arc;

use migration_guard::db::Database;
use migration_guard::engine::seed;
use serde_json::Value;

use crate::common::{self, PgServer, Project};

/// A shop: identity and uuid keys, a unique email under a regex CHECK, an enum with a
/// default, a CHECK list, a range CHECK, a composite key of two foreign keys, a lookup
/// table that holds rows, an audit trigger, and a column of a type with no synthetic
/// value.
const SHOP: &str = r#"
CREATE TYPE order_status AS ENUM ('new', 'paid', 'shipped');
CREATE TABLE public.customers (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  email text NOT NULL UNIQUE CHECK (email ~* '^[^@]+@[^@]+$'),
  name varchar(80) NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE public.products (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  sku text NOT NULL UNIQUE,
  rating smallint CHECK (rating BETWEEN 1 AND 5),
  tags text[] NOT NULL DEFAULT '{}'
);
CREATE TABLE public.countries (code text PRIMARY KEY, name text NOT NULL);
INSERT INTO public.countries VALUES ('fr', 'France'), ('de', 'Germany');
CREATE TABLE public.orders (
  id bigserial PRIMARY KEY,
  customer_id bigint NOT NULL REFERENCES public.customers (id),
  country text NOT NULL REFERENCES public.countries (code),
  status order_status NOT NULL DEFAULT 'new',
  kind text NOT NULL CHECK (kind IN ('retail', 'wholesale')),
  total numeric NOT NULL,
  meta jsonb
);
CREATE TABLE public.order_items (
  order_id bigint NOT NULL REFERENCES public.orders (id),
  product_id uuid NOT NULL REFERENCES public.products (id),
  quantity int NOT NULL CHECK (quantity > 0),
  PRIMARY KEY (order_id, product_id)
);
CREATE TABLE public.audit (id bigserial PRIMARY KEY, what text);
CREATE FUNCTION public.audit_it() RETURNS trigger LANGUAGE plpgsql
  AS $$ BEGIN INSERT INTO public.audit (what) VALUES (tg_table_name); RETURN NEW; END $$;
CREATE TRIGGER customers_audit AFTER INSERT ON public.customers
  FOR EACH ROW EXECUTE FUNCTION public.audit_it();
CREATE TABLE public.shapes (id int PRIMARY KEY, at point NOT NULL);
"#;

fn server() -> Arc<PgServer> {
    common::shared_server(module_path!(), |_| {})
}

async fn connect(url: &str) -> Database {
    let config = tokio_postgres::Config::from_str(url).unwrap();
    Database::connect(&config).await.unwrap()
}

#[tokio::test]
async fn synthetic_rows_hold_to_the_schema() {
    let server = server();
    let database = server.fresh_database("seed");
    server.psql_in(&database, SHOP);
    let db = connect(&server.url_for(&database)).await;

    let seeded = seed::fill(&db, 2_000).await.unwrap();

    let mut filled = seeded.filled.clone();
    filled.sort();
    assert_eq!(
        filled,
        [
            "public.audit",
            "public.customers",
            "public.order_items",
            "public.orders",
            "public.products"
        ],
        "{seeded:?}"
    );
    let why = |table: &str| {
        seeded
            .left
            .iter()
            .find(|(name, _)| name == table)
            .map(|(_, why)| why.clone())
            .unwrap_or_else(|| panic!("{table} is not among those left: {seeded:?}"))
    };
    assert!(why("public.countries").contains("holds rows"));
    assert!(
        why("public.shapes").contains("point"),
        "{}",
        why("public.shapes")
    );
    let counts = server.psql_in(
        &database,
        "SELECT (SELECT count(*) FROM customers), (SELECT count(*) FROM orders), \
         (SELECT count(*) FROM order_items), (SELECT count(*) FROM countries), \
         (SELECT count(DISTINCT kind) FROM orders), (SELECT count(DISTINCT country) FROM orders), \
         (SELECT count(*) FROM shapes)",
    );
    // The audit trigger was off while customers filled: audit holds its own rows only.
    assert_eq!(counts.trim(), "2000|2000|2000|2|2|2|0");
    let audit = server.psql_in(&database, "SELECT count(*) FROM audit");
    assert_eq!(audit.trim(), "2000");
    // The trigger is back on, and the identity and the serial go on past the keys given.
    server.psql_in(
        &database,
        "INSERT INTO customers (email, name) VALUES ('new@example.com', 'n'); \
         INSERT INTO orders (customer_id, country, kind, total) VALUES (1, 'fr', 'retail', 1)",
    );
    let after = server.psql_in(
        &database,
        "SELECT (SELECT count(*) FROM audit), (SELECT max(id) FROM customers), (SELECT max(id) FROM orders)",
    );
    assert_eq!(after.trim(), "2001|2001|2001");
    // The foreign keys hold: validating them again finds every parent row.
    server.psql_in(
        &database,
        "ALTER TABLE order_items ADD CONSTRAINT again FOREIGN KEY (order_id) REFERENCES orders (id)",
    );
    // The statistics were read: sizes for the predictions.
    let stats = server.psql_in(
        &database,
        "SELECT reltuples::int, relpages > 0 FROM pg_class WHERE relname = 'orders'",
    );
    assert_eq!(stats.trim(), "2000|t");
}

#[test]
fn predictions_scale_the_shadow_to_the_target_and_hold_them_to_the_budget() {
    let server = server();
    let target = server.fresh_database("seed_target");
    let project = Project::new();
    project.file("20240101000000_shop.sql", SHOP);
    std::fs::write(
        project.path().join("migration-guard.yml"),
        "baseline: 20240101000000\nlocks:\n  budget_ms:\n    reads_and_writes: 1\n",
    )
    .unwrap();
    let url = server.url_for(&target);
    let (code, _, stderr) = common::output(
        &mut project.command(&["deploy", "--target", "staging", "--db-url", &url, "--yes"]),
    );
    assert_eq!(code, 0, "{stderr}");
    // The target holds ten times what the shadow will.
    server.psql_in(
        &target,
        "INSERT INTO customers (email, name) SELECT 'u' || g || '@x.io', 'n' || g FROM generate_series(1, 20000) g; \
         INSERT INTO orders (customer_id, country, kind, total) \
           SELECT 1 + g % 20000, 'fr', 'retail', g FROM generate_series(1, 20000) g",
    );
    server.psql_in(&target, "VACUUM ANALYZE");
    project.file(
        "20240201000000_widen_total.sql",
        "ALTER TABLE public.orders ALTER COLUMN total TYPE numeric(14,2);\n",
    );

    // The shadow, seeded with a tenth of the target's rows, previewing the target.
    let shadow = |format: &str| {
        common::output(&mut project.command(&[
            "shadow",
            "--provider",
            "local",
            "--seed-rows",
            "2000",
            "--preview-db-url",
            &url,
            "--format",
            format,
        ]))
    };
    let (_, stdout, stderr) = shadow("json");
    let report: Value = serde_json::from_str(&stdout).unwrap_or_else(|_| panic!("{stderr}"));
    let notes = report["notes"].to_string();
    assert!(
        notes.contains("Seeded 5 table(s) with 2000 synthetic rows"),
        "{notes}"
    );
    let widened = &report["migrations"][1];
    let lock = widened["locks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|lock| lock["relation"] == "public.orders" && lock["mode"] == "AccessExclusiveLock")
        .unwrap_or_else(|| panic!("{widened}"));
    assert_eq!(lock["rows"], 2000, "{lock}");
    let (held, predicted) = (
        lock["held_ms"].as_f64().unwrap(),
        lock["predicted_ms"].as_f64().unwrap(),
    );
    // The rewrite went through ten times the pages on the target.
    assert!(predicted > held, "{lock}");
    let base_locks = report["migrations"][0]["locks"].as_array().unwrap();
    assert!(
        base_locks.iter().all(|lock| lock["predicted_ms"].is_null()),
        "what the target has already is not predicted: {base_locks:?}"
    );
    let over: Vec<&Value> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|finding| finding["rule"] == "lock-budget-exceeded")
        .collect();
    assert_eq!(over.len(), 1, "{over:?}");
    assert_eq!(over[0]["line"], 1);
    assert!(
        over[0]["message"]
            .as_str()
            .unwrap()
            .contains("past the 1 ms budget for locks that block reads and writes"),
        "{}",
        over[0]["message"]
    );

    let (_, markdown, _) = shadow("markdown");
    assert!(
        markdown.contains("Lock times predicted on the target")
            && markdown.contains("| `public.orders` | ACCESS EXCLUSIVE |"),
        "{markdown}"
    );
}

#[test]
fn without_migrations_under_review_the_seed_says_how_to_get_one() {
    let project = Project::new();
    project.file("20240101000000_shop.sql", SHOP);
    let (_, stdout, stderr) = common::output(&mut project.command(&[
        "shadow",
        "--provider",
        "local",
        "--seed-rows",
        "10",
        "--format",
        "json",
    ]));
    let report: Value = serde_json::from_str(&stdout).unwrap_or_else(|_| panic!("{stderr}"));
    let notes = report["notes"].to_string();
    assert!(
        notes.contains("no table existed before the migrations under review")
            && notes.contains("--base-ref"),
        "{notes}"
    );
}
