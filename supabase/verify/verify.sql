-- Post-migration checks. One statement; every row is ("check", ok, detail)
-- and a healthy database returns ok = true on every row. Schema checks read
-- the catalogs and report a missing object as ok = false; the seed checks read
-- public.bot_config itself, so the statement errors if that table is missing.

WITH expected_tables (table_name) AS (
  VALUES
    ('users'),
    ('bot_config'),
    ('conversations'),
    ('messages'),
    ('audit_log')
),
tables AS (
  SELECT
    e.table_name,
    c.oid AS relid,
    c.relrowsecurity
  FROM expected_tables AS e
  LEFT JOIN pg_catalog.pg_class AS c
    ON c.relname = e.table_name
    AND c.relnamespace = 'public'::regnamespace
    AND c.relkind IN ('r', 'p')
),
expected_seeds (env, key) AS (
  VALUES
    ('production', 'welcome_message'),
    ('production', 'max_reply_tokens'),
    ('production', 'default_user_preferences')
),
checks (ord, "check", ok, detail) AS (
  -- Every table the migrations create exists.
  SELECT
    1,
    'tables_exist',
    bool_and(relid IS NOT NULL),
    coalesce(
      'missing: ' || string_agg(table_name, ', ' ORDER BY table_name) FILTER (WHERE relid IS NULL),
      'all ' || count(*) || ' tables present'
    )
  FROM tables

  UNION ALL

  -- Every table has a primary key.
  SELECT
    2,
    'primary_keys',
    bool_and(has_pk),
    coalesce(
      'no primary key: ' || string_agg(table_name, ', ' ORDER BY table_name) FILTER (WHERE NOT has_pk),
      'all ' || count(*) || ' tables have a primary key'
    )
  FROM (
    SELECT
      t.table_name,
      EXISTS (
        SELECT 1
        FROM pg_catalog.pg_constraint AS con
        WHERE con.conrelid = t.relid
          AND con.contype = 'p'
      ) AS has_pk
    FROM tables AS t
  ) AS pk

  UNION ALL

  -- Row level security is enabled on every table.
  SELECT
    3,
    'rls_enabled',
    bool_and(coalesce(relrowsecurity, false)),
    coalesce(
      'rls off or table missing: '
        || string_agg(table_name, ', ' ORDER BY table_name) FILTER (WHERE NOT coalesce(relrowsecurity, false)),
      'rls enabled on all ' || count(*) || ' tables'
    )
  FROM tables

  UNION ALL

  -- Every table has at least one policy (RLS without a policy denies all).
  SELECT
    4,
    'policies_present',
    bool_and(n_policies > 0),
    coalesce(
      'no policy: ' || string_agg(table_name, ', ' ORDER BY table_name) FILTER (WHERE n_policies = 0),
      'every table has a policy (' || sum(n_policies) || ' in total)'
    )
  FROM (
    SELECT
      t.table_name,
      (
        SELECT count(*)
        FROM pg_catalog.pg_policy AS pol
        WHERE pol.polrelid = t.relid
      ) AS n_policies
    FROM tables AS t
  ) AS p

  UNION ALL

  -- users.preferences exists as jsonb NOT NULL with a default.
  SELECT
    5,
    'users_preferences_column',
    coalesce(
      bool_and(
        col.data_type = 'jsonb'
        AND col.is_nullable = 'NO'
        AND col.column_default IS NOT NULL
      ),
      false
    ),
    coalesce(
      max(
        'type=' || col.data_type
          || ', nullable=' || col.is_nullable
          || ', default=' || coalesce(col.column_default, '<none>')
      ),
      'column public.users.preferences is missing'
    )
  FROM information_schema.columns AS col
  WHERE col.table_schema = 'public'
    AND col.table_name = 'users'
    AND col.column_name = 'preferences'

  UNION ALL

  -- The GIN index on users.preferences exists and is valid.
  SELECT
    6,
    'users_preferences_gin_index',
    coalesce(bool_and(am.amname = 'gin' AND i.indisvalid), false),
    coalesce(
      max('access method=' || am.amname || ', valid=' || i.indisvalid),
      'index public.users_preferences_gin is missing'
    )
  FROM pg_catalog.pg_class AS ic
  JOIN pg_catalog.pg_index AS i ON i.indexrelid = ic.oid
  JOIN pg_catalog.pg_am AS am ON am.oid = ic.relam
  WHERE ic.relnamespace = 'public'::regnamespace
    AND ic.relname = 'users_preferences_gin'
    AND i.indrelid = to_regclass('public.users')

  UNION ALL

  -- bot_config_env_key_unique is a UNIQUE constraint on (env, key), which the
  -- seed upserts rely on.
  SELECT
    7,
    'bot_config_env_key_unique',
    coalesce(
      bool_and(
        con.contype = 'u'
        AND pg_catalog.pg_get_constraintdef(con.oid) = 'UNIQUE (env, key)'
      ),
      false
    ),
    coalesce(
      max(pg_catalog.pg_get_constraintdef(con.oid)),
      'constraint bot_config_env_key_unique is missing'
    )
  FROM pg_catalog.pg_constraint AS con
  WHERE con.conname = 'bot_config_env_key_unique'
    AND con.conrelid = to_regclass('public.bot_config')

  UNION ALL

  -- Every foreign key in public has an index whose leading columns are the
  -- foreign-key columns (keeps cascades and joins from scanning).
  SELECT
    8,
    'foreign_keys_indexed',
    coalesce(bool_and(indexed), true),
    coalesce(
      'unindexed: ' || string_agg(conname, ', ' ORDER BY conname) FILTER (WHERE NOT indexed),
      count(*) || ' foreign keys, all indexed'
    )
  FROM (
    SELECT
      con.conname::text AS conname,
      EXISTS (
        SELECT 1
        FROM pg_catalog.pg_index AS i
        WHERE i.indrelid = con.conrelid
          AND (i.indkey::int2[])[0:cardinality(con.conkey) - 1] @> con.conkey
          AND (i.indkey::int2[])[0:cardinality(con.conkey) - 1] <@ con.conkey
      ) AS indexed
    FROM pg_catalog.pg_constraint AS con
    WHERE con.contype = 'f'
      AND con.connamespace = 'public'::regnamespace
  ) AS fk

  UNION ALL

  -- public.set_updated_at() exists and is plpgsql.
  SELECT
    9,
    'set_updated_at_function',
    coalesce(bool_and(l.lanname = 'plpgsql'), false),
    coalesce(
      max('language=' || l.lanname || ', returns=' || p.prorettype::regtype),
      'function public.set_updated_at() is missing'
    )
  FROM pg_catalog.pg_proc AS p
  JOIN pg_catalog.pg_language AS l ON l.oid = p.prolang
  WHERE p.pronamespace = 'public'::regnamespace
    AND p.proname = 'set_updated_at'
    AND p.pronargs = 0

  UNION ALL

  -- Every table with an updated_at column has an enabled BEFORE UPDATE
  -- trigger that calls set_updated_at().
  SELECT
    10,
    'updated_at_triggers',
    coalesce(bool_and(has_trigger), false),
    coalesce(
      'no trigger: ' || string_agg(table_name, ', ' ORDER BY table_name) FILTER (WHERE NOT has_trigger),
      count(*) || ' tables with updated_at, all have the trigger'
    )
  FROM (
    SELECT
      c.relname::text AS table_name,
      EXISTS (
        SELECT 1
        FROM pg_catalog.pg_trigger AS tg
        WHERE tg.tgrelid = c.oid
          AND tg.tgfoid = to_regprocedure('public.set_updated_at()')
          AND tg.tgenabled <> 'D'
          AND NOT tg.tgisinternal
      ) AS has_trigger
    FROM pg_catalog.pg_class AS c
    JOIN pg_catalog.pg_attribute AS a
      ON a.attrelid = c.oid
      AND a.attname = 'updated_at'
      AND NOT a.attisdropped
    WHERE c.relnamespace = 'public'::regnamespace
      AND c.relkind IN ('r', 'p')
  ) AS trg

  UNION ALL

  -- The seeded bot_config rows exist (the unique constraint keeps them single).
  SELECT
    11,
    'bot_config_seed_rows',
    bool_and(b.id IS NOT NULL),
    coalesce(
      'missing: ' || string_agg(s.env || '/' || s.key, ', ' ORDER BY s.key) FILTER (WHERE b.id IS NULL),
      count(*) || ' seed rows present'
    )
  FROM expected_seeds AS s
  LEFT JOIN public.bot_config AS b
    ON b.env = s.env
    AND b.key = s.key

  UNION ALL

  -- The upsert left the current default preferences in place.
  SELECT
    12,
    'default_user_preferences_value',
    coalesce(bool_and(b.value ?& ARRAY['theme', 'language', 'notifications']), false),
    coalesce(max(b.value::text), 'row production/default_user_preferences is missing')
  FROM public.bot_config AS b
  WHERE b.env = 'production'
    AND b.key = 'default_user_preferences'
)
SELECT
  "check",
  ok,
  detail
FROM checks
ORDER BY ord;
