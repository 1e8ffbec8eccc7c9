//! Realistic generated migration files for the benchmarks: tables, indexes, plpgsql
//! functions whose `$$` bodies hold `;`, triggers, row level security policies, and
//! inserts whose string literals hold `;` and doubled quotes, with comments. The same
//! seed gives the same files.

/// A linear congruential generator (Knuth's MMIX constants): enough to vary the files.
pub struct Lcg(pub u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    pub fn pick<'a>(&mut self, options: &[&'a str]) -> &'a str {
        options[self.below(options.len())]
    }
}

const TABLES: &[&str] = &[
    "profiles",
    "orders",
    "order_items",
    "invoices",
    "teams",
    "memberships",
    "projects",
    "tasks",
    "comments",
    "audit_log",
    "subscriptions",
    "webhooks",
    "api_keys",
    "documents",
];
const COLUMNS: &[(&str, &str)] = &[
    ("name", "text not null"),
    ("email", "text unique"),
    ("status", "text not null default 'pending'"),
    ("amount_cents", "bigint not null default 0"),
    ("metadata", "jsonb not null default '{}'::jsonb"),
    ("created_at", "timestamptz not null default now()"),
    ("updated_at", "timestamptz"),
    ("is_archived", "boolean not null default false"),
    (
        "owner_id",
        "uuid references auth.users (id) on delete cascade",
    ),
    ("position", "integer check (position >= 0)"),
    ("notes", "text"),
];
const WORDS: &[&str] = &[
    "it''s",
    "O''Brien",
    "a; b",
    "semi;colon",
    "don''t",
    "say \"hi\"",
    "x -- y",
    "50%",
    "/* not a comment */",
    "$$ not a quote $$",
    "naïve",
    "über",
    "ok",
];

/// One migration file and the number of statements in it.
pub fn migration(rng: &mut Lcg, index: usize) -> (String, usize) {
    let mut sql = format!(
        "-- Migration {index}: generated for the split benchmark.\n\
         set statement_timeout = '30s';\nset lock_timeout = '5s';\n\n"
    );
    let mut statements = 2;
    let target = 10 + rng.below(6);
    while statements < target {
        let table = format!("{}_{}", rng.pick(TABLES), rng.below(100));
        match rng.below(6) {
            0 => {
                sql += &format!(
                    "/* {table}: one row per record. */\ncreate table if not exists public.{table} (\n  id uuid primary key default gen_random_uuid()"
                );
                for _ in 0..3 + rng.below(6) {
                    let (column, kind) = COLUMNS[rng.below(COLUMNS.len())];
                    sql += &format!(",\n  {column}_{} {kind}", rng.below(10));
                }
                sql += "\n);\n\n";
                statements += 1;
            }
            1 => {
                sql += &format!(
                    "create index concurrently if not exists {table}_created_idx\n  on public.{table} (created_at desc) where status <> 'deleted';\n\n"
                );
                statements += 1;
            }
            2 => {
                sql += &format!(
                    "create or replace function public.touch_{table}()\nreturns trigger\nlanguage plpgsql\nsecurity definer set search_path = ''\nas $$\nbegin\n  -- keep updated_at current; never trust the client\n  new.updated_at := now();\n  if new.status = 'archived' then\n    raise notice 'archiving %; done', new.id;\n  end if;\n  return new;\nend;\n$$;\n\ncreate trigger touch_{table}\n  before update on public.{table}\n  for each row execute function public.touch_{table}();\n\n"
                );
                statements += 2;
            }
            3 => {
                sql += &format!("insert into public.{table} (name, notes) values\n");
                let rows = 2 + rng.below(5);
                for row in 0..rows {
                    let separator = if row + 1 == rows { ";" } else { "," };
                    sql += &format!(
                        "  ('{}', '{} {}'){separator}\n",
                        rng.pick(WORDS),
                        rng.pick(WORDS),
                        rng.pick(WORDS)
                    );
                }
                sql += "\n";
                statements += 1;
            }
            4 => {
                sql += &format!(
                    "alter table public.{table} enable row level security;\n\ncreate policy \"Owners can read their {table}; nobody else\"\n  on public.{table} for select\n  to authenticated\n  using ((select auth.uid()) = owner_id);\n\n"
                );
                statements += 2;
            }
            _ => {
                sql += &format!(
                    "comment on table public.{table} is 'Rows of {table}; see the runbook''s section 4.';\n\n"
                );
                statements += 1;
            }
        }
    }
    sql += "-- end of migration\n";
    // The trailing comment is a statement of its own, as the Supabase CLI keeps it.
    (sql, statements + 1)
}

/// One migration of at least `bytes` bytes of simple statements, as a large seed or
/// backfill is written: mostly upserts (`INSERT … ON CONFLICT (id) DO NOTHING`), some
/// plain inserts and some single-row updates. Returns the SQL and its statement count.
#[allow(dead_code)] // not every bench that generates files needs a large one
pub fn big_migration(rng: &mut Lcg, bytes: usize) -> (String, usize) {
    const CATEGORIES: &[&str] = &["books", "garden", "kitchen", "toys", "tools", "music"];
    let mut sql = String::with_capacity(bytes + 256);
    sql += "-- A generated seed of products, for the large-file benchmark.\n";
    let mut statements = 0;
    let mut id = 0;
    while sql.len() < bytes {
        id += 1;
        let price = format!("{}.{:02}", 1 + rng.below(500), rng.below(100));
        let name = format!("{} {id}", rng.pick(WORDS));
        let category = rng.pick(CATEGORIES);
        sql += &match rng.below(10) {
            0 => format!(
                "UPDATE public.products SET price = {price}, name = '{name}' WHERE id = {};\n",
                1 + rng.below(id)
            ),
            1 | 2 => format!(
                "INSERT INTO public.products (id, name, price, category, created_at) VALUES ({id}, '{name}', {price}, '{category}', now());\n"
            ),
            _ => format!(
                "INSERT INTO public.products (id, name, price, category, created_at) VALUES ({id}, '{name}', {price}, '{category}', '2025-01-{:02} 12:00:00+00') ON CONFLICT (id) DO NOTHING;\n",
                1 + rng.below(28)
            ),
        };
        statements += 1;
    }
    (sql, statements)
}
