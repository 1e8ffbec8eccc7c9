-- advisor-security-definer-view: mirrors the Security Advisor's "Security Definer View" on
-- the Supabase dashboard.
--
-- Why it matters: a view reads its tables with the privileges of its owner unless it is
-- created WITH (security_invoker = true). Migrations on Supabase run as `postgres`, which
-- bypasses row level security (and table owners are not subject to their own tables'
-- policies), so a view in an exposed schema hands every row of the tables it reads to the
-- API roles, whatever the policies say.
--
-- $1: the exposed schemas (text[]); $2: unused. Rows: (object, detail).
SELECT n.nspname || '.' || c.relname AS object,
       'a view without security_invoker in the exposed schema ' || n.nspname
         || ': it reads its tables as its owner ' || o.rolname
         || CASE
              WHEN o.rolsuper THEN ' (a superuser: row level security does not apply)'
              WHEN o.rolbypassrls THEN ' (BYPASSRLS: row level security does not apply)'
              ELSE ' (policies do not apply to the tables it owns)'
            END
         || ', not as the user querying it' AS detail
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_roles o ON o.oid = c.relowner
WHERE c.relkind = 'v'
  AND n.nspname = ANY ($1::text[])
  AND NOT coalesce((
    SELECT o.option_value::boolean
    FROM pg_options_to_table(c.reloptions) o
    WHERE o.option_name = 'security_invoker'
  ), false)
  AND NOT EXISTS (
    SELECT FROM pg_depend d
    WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e'
  )
