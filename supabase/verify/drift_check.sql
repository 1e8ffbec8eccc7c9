-- Schema drift checks: catch objects created or changed outside the
-- migrations (e.g. by an edit in the dashboard). One statement; every row is
-- ("check", ok, detail) and a database that matches the migrations returns
-- ok = true on every row. Update the expected lists below together with every
-- migration that changes the schema.

WITH expected_columns (table_name, column_name, column_type) AS (
  VALUES
    ('users', 'id', 'uuid'),
    ('users', 'email', 'text'),
    ('users', 'display_name', 'text'),
    ('users', 'role', 'text'),
    ('users', 'created_at', 'timestamp with time zone'),
    ('users', 'updated_at', 'timestamp with time zone'),
    ('users', 'preferences', 'jsonb'),

    ('bot_config', 'id', 'bigint'),
    ('bot_config', 'env', 'text'),
    ('bot_config', 'key', 'text'),
    ('bot_config', 'value', 'jsonb'),
    ('bot_config', 'description', 'text'),
    ('bot_config', 'updated_by', 'uuid'),
    ('bot_config', 'created_at', 'timestamp with time zone'),
    ('bot_config', 'updated_at', 'timestamp with time zone'),

    ('conversations', 'id', 'uuid'),
    ('conversations', 'user_id', 'uuid'),
    ('conversations', 'channel', 'text'),
    ('conversations', 'status', 'text'),
    ('conversations', 'title', 'text'),
    ('conversations', 'metadata', 'jsonb'),
    ('conversations', 'created_at', 'timestamp with time zone'),
    ('conversations', 'updated_at', 'timestamp with time zone'),
    ('conversations', 'closed_at', 'timestamp with time zone'),

    ('messages', 'id', 'bigint'),
    ('messages', 'conversation_id', 'uuid'),
    ('messages', 'sender', 'text'),
    ('messages', 'content', 'text'),
    ('messages', 'token_count', 'integer'),
    ('messages', 'metadata', 'jsonb'),
    ('messages', 'created_at', 'timestamp with time zone'),

    ('audit_log', 'id', 'bigint'),
    ('audit_log', 'actor_id', 'uuid'),
    ('audit_log', 'action', 'text'),
    ('audit_log', 'entity', 'text'),
    ('audit_log', 'entity_id', 'text'),
    ('audit_log', 'payload', 'jsonb'),
    ('audit_log', 'created_at', 'timestamp with time zone')
),
expected_tables AS (
  SELECT DISTINCT table_name
  FROM expected_columns
),
expected_indexes (index_name) AS (
  VALUES
    ('users_pkey'),
    ('users_email_unique'),
    ('users_preferences_gin'),
    ('bot_config_pkey'),
    ('bot_config_env_key_unique'),
    ('bot_config_updated_by_idx'),
    ('conversations_pkey'),
    ('conversations_user_id_idx'),
    ('messages_pkey'),
    ('messages_conversation_id_created_at_idx'),
    ('audit_log_pkey'),
    ('audit_log_actor_id_idx'),
    ('audit_log_created_at_idx')
),
expected_policies (table_name, policy_name) AS (
  VALUES
    ('users', 'users_select_all'),
    ('bot_config', 'bot_config_select_all'),
    ('bot_config', 'bot_config_owner_write'),
    ('conversations', 'conversations_select_all'),
    ('messages', 'messages_select_all'),
    ('messages', 'messages_insert_all'),
    ('audit_log', 'audit_log_insert_all'),
    ('audit_log', 'audit_log_select_all')
),
expected_triggers (table_name, trigger_name) AS (
  VALUES
    ('users', 'users_set_updated_at'),
    ('bot_config', 'bot_config_set_updated_at'),
    ('conversations', 'conversations_set_updated_at')
),
expected_functions (function_name) AS (
  VALUES
    ('set_updated_at')
),
-- Tables in public, without those that belong to an extension.
public_tables AS (
  SELECT
    c.oid AS relid,
    c.relname::text AS table_name,
    c.relrowsecurity
  FROM pg_catalog.pg_class AS c
  WHERE c.relnamespace = 'public'::regnamespace
    AND c.relkind IN ('r', 'p')
    AND NOT EXISTS (
      SELECT 1
      FROM pg_catalog.pg_depend AS d
      WHERE d.classid = 'pg_catalog.pg_class'::regclass
        AND d.objid = c.oid
        AND d.deptype = 'e'
    )
),
actual_columns AS (
  SELECT
    t.table_name,
    a.attname::text AS column_name,
    pg_catalog.format_type(a.atttypid, a.atttypmod) AS column_type
  FROM public_tables AS t
  JOIN pg_catalog.pg_attribute AS a
    ON a.attrelid = t.relid
    AND a.attnum > 0
    AND NOT a.attisdropped
),
column_diff AS (
  SELECT
    coalesce(e.table_name, a.table_name) AS table_name,
    coalesce(e.column_name, a.column_name) AS column_name,
    e.column_type AS expected_type,
    a.column_type AS actual_type
  FROM expected_columns AS e
  FULL JOIN (
    SELECT *
    FROM actual_columns
    WHERE table_name IN (SELECT table_name FROM expected_tables)
  ) AS a
    ON a.table_name = e.table_name
    AND a.column_name = e.column_name
),
checks (ord, "check", ok, detail) AS (
  -- No tables in public that the migrations do not create.
  SELECT
    1,
    'no_unexpected_tables',
    count(*) = 0,
    coalesce(
      'unexpected: ' || string_agg(t.table_name, ', ' ORDER BY t.table_name),
      'only the expected tables exist in public'
    )
  FROM public_tables AS t
  WHERE t.table_name NOT IN (SELECT table_name FROM expected_tables)

  UNION ALL

  -- No views or materialized views in public (the migrations create none).
  SELECT
    2,
    'no_unexpected_views',
    count(*) = 0,
    coalesce(
      'unexpected: ' || string_agg(c.relname::text, ', ' ORDER BY c.relname),
      'no views in public'
    )
  FROM pg_catalog.pg_class AS c
  WHERE c.relnamespace = 'public'::regnamespace
    AND c.relkind IN ('v', 'm')

  UNION ALL

  -- No column in public uses json; jsonb is the rule.
  SELECT
    3,
    'no_json_columns',
    count(*) = 0,
    coalesce(
      'json columns: ' || string_agg(c.relname || '.' || a.attname, ', ' ORDER BY c.relname, a.attname),
      'no json columns in public'
    )
  FROM pg_catalog.pg_class AS c
  JOIN pg_catalog.pg_attribute AS a
    ON a.attrelid = c.oid
    AND a.attnum > 0
    AND NOT a.attisdropped
  WHERE c.relnamespace = 'public'::regnamespace
    AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
    AND a.atttypid = 'json'::regtype

  UNION ALL

  -- No table in public has row level security switched off.
  SELECT
    4,
    'no_table_without_rls',
    count(*) = 0,
    coalesce(
      'rls off: ' || string_agg(t.table_name, ', ' ORDER BY t.table_name),
      'rls enabled on every table in public'
    )
  FROM public_tables AS t
  WHERE NOT t.relrowsecurity

  UNION ALL

  -- For each known table: no extra or missing columns and no type changes.
  SELECT
    5,
    'columns_match:' || e.table_name,
    count(d.column_name) = 0,
    coalesce(
      string_agg(
        CASE
          WHEN d.expected_type IS NULL THEN 'unexpected column ' || d.column_name || ' ' || d.actual_type
          WHEN d.actual_type IS NULL THEN 'missing column ' || d.column_name
          ELSE 'column ' || d.column_name || ' is ' || d.actual_type || ', expected ' || d.expected_type
        END,
        '; ' ORDER BY d.column_name
      ),
      'columns match the migrations'
    )
  FROM expected_tables AS e
  LEFT JOIN column_diff AS d
    ON d.table_name = e.table_name
    AND d.expected_type IS DISTINCT FROM d.actual_type
  GROUP BY e.table_name

  UNION ALL

  -- No indexes in public that the migrations do not create.
  SELECT
    6,
    'no_unexpected_indexes',
    count(*) = 0,
    coalesce(
      'unexpected: ' || string_agg(c.relname::text, ', ' ORDER BY c.relname),
      'only the expected indexes exist in public'
    )
  FROM pg_catalog.pg_class AS c
  WHERE c.relnamespace = 'public'::regnamespace
    AND c.relkind IN ('i', 'I')
    AND c.relname::text NOT IN (SELECT index_name FROM expected_indexes)

  UNION ALL

  -- No policies in public that the migrations do not create.
  SELECT
    7,
    'no_unexpected_policies',
    count(*) = 0,
    coalesce(
      'unexpected: ' || string_agg(p.tablename || '.' || p.policyname, ', ' ORDER BY p.tablename, p.policyname),
      'only the expected policies exist in public'
    )
  FROM pg_catalog.pg_policies AS p
  WHERE p.schemaname = 'public'
    AND (p.tablename::text, p.policyname::text) NOT IN (
      SELECT table_name, policy_name
      FROM expected_policies
    )

  UNION ALL

  -- No user triggers in public that the migrations do not create.
  SELECT
    8,
    'no_unexpected_triggers',
    count(*) = 0,
    coalesce(
      'unexpected: ' || string_agg(t.table_name || '.' || tg.tgname, ', ' ORDER BY t.table_name, tg.tgname),
      'only the expected triggers exist in public'
    )
  FROM pg_catalog.pg_trigger AS tg
  JOIN public_tables AS t ON t.relid = tg.tgrelid
  WHERE NOT tg.tgisinternal
    AND (t.table_name, tg.tgname::text) NOT IN (
      SELECT table_name, trigger_name
      FROM expected_triggers
    )

  UNION ALL

  -- No functions in public that the migrations do not create (functions
  -- that belong to an extension are left out).
  SELECT
    9,
    'no_unexpected_functions',
    count(*) = 0,
    coalesce(
      'unexpected: ' || string_agg(p.oid::regprocedure::text, ', ' ORDER BY p.proname),
      'only the expected functions exist in public'
    )
  FROM pg_catalog.pg_proc AS p
  WHERE p.pronamespace = 'public'::regnamespace
    AND p.proname::text NOT IN (SELECT function_name FROM expected_functions)
    AND NOT EXISTS (
      SELECT 1
      FROM pg_catalog.pg_depend AS d
      WHERE d.classid = 'pg_catalog.pg_proc'::regclass
        AND d.objid = p.oid
        AND d.deptype = 'e'
    )
)
SELECT
  "check",
  ok,
  detail
FROM checks
ORDER BY ord, "check";
