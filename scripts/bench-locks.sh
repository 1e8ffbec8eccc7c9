#!/usr/bin/env bash
# Lock predictions at production scale, side by side on this machine:
#  1. the seed: `shadow --seed-rows 100000` on a project of 10 typical tables, its time;
#  2. a target holding 1M rows in public.orders: the hold `shadow --seed-rows N
#     --preview-db-url` predicts for a rewrite of it, and the time the same statement
#     then takes on that target (in a transaction rolled back), with their ratio.
#
# Usage: scripts/bench-locks.sh [BINARY] [SHADOW_ROWS]
#   BINARY defaults to target/release/migration-guard; SHADOW_ROWS to 50000.
# Needs Postgres 15's server binaries (initdb, pg_ctl) and psql; runs as root or not.
set -euo pipefail
cd "$(dirname "$0")/.."
binary="$(realpath "${1:-target/release/migration-guard}")"
shadow_rows="${2:-50000}"
target_rows=1000000
pg_bin="$(dirname "$(ls /usr/lib/postgresql/*/bin/initdb | sort -V | tail -1)")"

work="$(mktemp -d)"
port=$((20000 + RANDOM % 20000))
as_postgres() { if [[ $EUID -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi; }
[[ $EUID -eq 0 ]] && chown postgres "$work"
cleanup() {
  as_postgres "$pg_bin/pg_ctl" -D "$work/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

as_postgres "$pg_bin/initdb" -D "$work/data" -A trust -U postgres >/dev/null
as_postgres "$pg_bin/pg_ctl" -D "$work/data" -l "$work/log" \
  -o "-p $port -k $work -c listen_addresses=127.0.0.1 -c fsync=off" -w start >/dev/null
url="postgresql://postgres@127.0.0.1:$port/postgres"
psql_target() { psql -X -q -v ON_ERROR_STOP=1 -d "$url" "$@"; }

project="$work/project"
mkdir -p "$project/supabase/migrations"
cd "$project"
git init -q -b main
cat > supabase/migrations/20240101000000_shop.sql <<'SQL'
CREATE TYPE order_status AS ENUM ('new', 'paid', 'shipped', 'cancelled');
CREATE TABLE public.customers (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  email text NOT NULL UNIQUE, name text NOT NULL, created_at timestamptz NOT NULL DEFAULT now());
CREATE TABLE public.addresses (id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  customer_id bigint NOT NULL REFERENCES public.customers (id), line1 text NOT NULL,
  city text NOT NULL, postcode varchar(12));
CREATE TABLE public.categories (id serial PRIMARY KEY, name text NOT NULL UNIQUE);
CREATE TABLE public.products (id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  category_id int REFERENCES public.categories (id), sku text NOT NULL UNIQUE,
  title text NOT NULL, price numeric(10,2) NOT NULL CHECK (price >= 0), tags text[] DEFAULT '{}');
CREATE TABLE public.orders (id bigserial PRIMARY KEY,
  customer_id bigint NOT NULL REFERENCES public.customers (id),
  status order_status NOT NULL DEFAULT 'new',
  kind text NOT NULL CHECK (kind IN ('retail', 'wholesale')),
  total numeric NOT NULL, meta jsonb, created_at timestamptz NOT NULL DEFAULT now());
CREATE INDEX orders_customer ON public.orders (customer_id);
CREATE TABLE public.order_items (order_id bigint NOT NULL REFERENCES public.orders (id),
  product_id uuid NOT NULL REFERENCES public.products (id), quantity int NOT NULL CHECK (quantity > 0),
  PRIMARY KEY (order_id, product_id));
CREATE TABLE public.payments (id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  order_id bigint NOT NULL REFERENCES public.orders (id), amount numeric NOT NULL,
  paid_at timestamptz);
CREATE TABLE public.reviews (id bigserial PRIMARY KEY, product_id uuid NOT NULL REFERENCES public.products (id),
  customer_id bigint REFERENCES public.customers (id), rating smallint NOT NULL CHECK (rating BETWEEN 1 AND 5),
  body text);
CREATE TABLE public.events (id bigserial PRIMARY KEY, name text NOT NULL, payload jsonb,
  at timestamptz NOT NULL DEFAULT now());
CREATE TABLE public.sessions (id uuid PRIMARY KEY, customer_id bigint REFERENCES public.customers (id),
  ip inet, expires_at timestamptz NOT NULL);
SQL
git add -A && git commit -qm shop

# The target: the shop deployed, then 1M orders.
"$binary" deploy --target staging --dir supabase/migrations --db-url "$url" --yes >/dev/null 2>&1
psql_target -c "INSERT INTO customers (email, name) SELECT 'u' || g || '@example.com', 'name ' || g FROM generate_series(1, 100000) g" \
  -c "INSERT INTO orders (customer_id, kind, total, meta) SELECT 1 + g % 100000, 'retail', g, jsonb_build_object('n', g) FROM generate_series(1, $target_rows) g"
psql_target -c "VACUUM ANALYZE"

git checkout -q -b change
printf 'ALTER TABLE public.orders ALTER COLUMN total TYPE numeric(14,2);\n' \
  > supabase/migrations/20240201000000_widen_total.sql
git add -A && git commit -qm change

echo "== the seed: 100000 rows into each of 10 tables"
start=$(date +%s.%N)
"$binary" shadow --provider local --dir supabase/migrations --base-ref main --seed-rows 100000 \
  --no-catalog-checks --format json 2>/dev/null > "$work/seed.json" || true
end=$(date +%s.%N)
python3 - "$work/seed.json" "$start" "$end" <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))
note = next((n for n in report["notes"] if n.startswith("Seeded")), "no seed note: " + str(report.get("error")))
print(note)
print(f"whole shadow run: {float(sys.argv[3]) - float(sys.argv[2]):.1f} s")
PY

echo "== the prediction: shadow seeded with $shadow_rows rows, target with $target_rows"
"$binary" shadow --provider local --dir supabase/migrations --base-ref main --seed-rows "$shadow_rows" \
  --preview-db-url "$url" --format json 2>/dev/null > "$work/predict.json" || true
measured=$(psql_target -At -c "BEGIN" -c '\timing on' \
  -f supabase/migrations/20240201000000_widen_total.sql -c "ROLLBACK" \
  | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p' | head -1)
python3 - "$work/predict.json" "$measured" <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))
measured = float(sys.argv[2])
lock = next(l for m in report["migrations"] for l in m["locks"]
            if l["relation"] == "public.orders" and l["mode"] == "AccessExclusiveLock"
            and l["predicted_ms"] is not None)
print(f"{'':28}{'shadow':>12}{'predicted':>12}{'measured':>12}{'ratio':>8}")
print(f"{'ALTER … TYPE numeric(14,2)':28}{lock['held_ms']:>10.0f}ms{lock['predicted_ms']:>10.0f}ms"
      f"{measured:>10.0f}ms{lock['predicted_ms'] / measured:>8.2f}")
print(f"(shadow rows: {lock['rows']}; predicted/measured within 2x: {0.5 <= lock['predicted_ms'] / measured <= 2})")
PY
