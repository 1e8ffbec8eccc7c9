-- advisor-auth-users-exposed: mirrors the Security Advisor's "Exposed Auth Users" on the
-- Supabase dashboard.
--
-- Why it matters: auth.users holds every user's email, phone and metadata. A view or
-- materialized view in an exposed schema that reads it, selectable by `anon` or
-- `authenticated`, publishes those rows through the API. (A view with security_invoker
-- exposes them only to a role that may read auth.users itself.)
--
-- Views that read auth.users through other views count too. Without an auth schema or
-- without the API roles there is nothing to find, and no error.
--
-- $1: the exposed schemas (text[]); $2: unused. Rows: (object, detail).
WITH RECURSIVE reads_users(oid) AS (
  SELECT r.ev_class
  FROM pg_depend d
  JOIN pg_rewrite r ON r.oid = d.objid
  WHERE d.classid = 'pg_rewrite'::regclass
    AND d.refclassid = 'pg_class'::regclass
    AND d.refobjid = to_regclass('auth.users')
  UNION
  SELECT r.ev_class
  FROM reads_users u
  JOIN pg_depend d ON d.refclassid = 'pg_class'::regclass AND d.refobjid = u.oid
  JOIN pg_rewrite r ON r.oid = d.objid
  WHERE d.classid = 'pg_rewrite'::regclass
    AND r.ev_class <> u.oid
)
SELECT n.nspname || '.' || c.relname AS object,
       CASE WHEN c.relkind = 'm' THEN 'materialized view' ELSE 'view' END
         || ' in the exposed schema ' || n.nspname || ' reads auth.users and '
         || string_agg(api.rolname, ' and ' ORDER BY api.rolname)
         || ' can select it: user emails and metadata are readable through the API' AS detail
FROM reads_users u
JOIN pg_class c ON c.oid = u.oid
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_roles api ON api.rolname IN ('anon', 'authenticated')
WHERE c.relkind IN ('v', 'm')
  AND n.nspname = ANY ($1::text[])
  AND has_any_column_privilege(api.oid, c.oid, 'SELECT')
  AND (
    c.relkind = 'm'
    OR NOT coalesce((
      SELECT o.option_value::boolean
      FROM pg_options_to_table(c.reloptions) o
      WHERE o.option_name = 'security_invoker'
    ), false)
    OR has_any_column_privilege(api.oid, to_regclass('auth.users'), 'SELECT')
  )
GROUP BY n.nspname, c.relname, c.relkind
