-- advisor-rls-disabled-in-public: mirrors the Security Advisor's "RLS Disabled in Public"
-- on the Supabase dashboard.
--
-- Why it matters: PostgREST serves every table of an exposed schema to the `anon` and
-- `authenticated` roles (the anon key ships in every browser bundle). Without row level
-- security nothing but grants stands between the public internet and every row.
--
-- $1: the exposed schemas (text[]); $2: Supabase's own schemas (text[], unused here).
-- Rows: (object, detail). Partitions count too: PostgREST reaches them directly.
SELECT n.nspname || '.' || c.relname AS object,
       CASE WHEN c.relkind = 'p' THEN 'partitioned table' ELSE 'table' END
         || ' in the exposed schema ' || n.nspname || ' with row level security off'
         || coalesce(
              '; through the API every row is open to ' || (
                SELECT string_agg(r.rolname || ' (' || granted.privileges || ')', ', '
                                  ORDER BY r.rolname)
                FROM pg_roles r
                CROSS JOIN LATERAL (
                  SELECT string_agg(p.privilege, ', ' ORDER BY p.position) AS privileges
                  FROM (VALUES ('SELECT', 1), ('INSERT', 2), ('UPDATE', 3), ('DELETE', 4))
                    AS p(privilege, position)
                  WHERE has_table_privilege(r.oid, c.oid, p.privilege)
                ) granted
                WHERE r.rolname IN ('anon', 'authenticated')
                  AND granted.privileges IS NOT NULL
              ),
              '') AS detail
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p')
  AND NOT c.relrowsecurity
  AND n.nspname = ANY ($1::text[])
  AND NOT EXISTS (
    SELECT FROM pg_depend d
    WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e'
  )
