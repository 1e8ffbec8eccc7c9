-- advisor-materialized-view-in-api: mirrors the Security Advisor's "Materialized View in
-- API" on the Supabase dashboard.
--
-- Why it matters: a materialized view has no row level security. In an exposed schema,
-- selectable by `anon` or `authenticated`, every row it holds is readable through the API,
-- whatever the policies of the tables it was computed from say.
--
-- Without the API roles there is nothing to find, and no error.
-- $1: the exposed schemas (text[]); $2: unused. Rows: (object, detail).
SELECT n.nspname || '.' || c.relname AS object,
       'materialized view in the exposed schema ' || n.nspname || ', selectable by '
         || string_agg(api.rolname, ' and ' ORDER BY api.rolname)
         || ': it has no row level security, so every row is readable through the API' AS detail
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_roles api ON api.rolname IN ('anon', 'authenticated')
WHERE c.relkind = 'm'
  AND n.nspname = ANY ($1::text[])
  AND has_any_column_privilege(api.oid, c.oid, 'SELECT')
  AND NOT EXISTS (
    SELECT FROM pg_depend d
    WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e'
  )
GROUP BY n.nspname, c.relname
