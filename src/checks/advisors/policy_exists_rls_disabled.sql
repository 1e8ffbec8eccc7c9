-- advisor-policy-exists-rls-disabled: mirrors the Security Advisor's "Policy Exists RLS
-- Disabled" on the Supabase dashboard.
--
-- Why it matters: policies do nothing until row level security is enabled on their table.
-- Someone wrote them meaning to restrict access; as it stands every row is open to whoever
-- the table is granted to, and the policies give a false sense of safety.
--
-- $1: the exposed schemas (text[]); $2: Supabase's own schemas (text[], unused: users add
-- policies to storage.objects too). Rows: (object, detail).
SELECT n.nspname || '.' || c.relname AS object,
       'row level security is off, so its '
         || CASE WHEN count(*) = 1 THEN 'policy ' ELSE 'policies ' END
         || string_agg(p.polname, ', ' ORDER BY p.polname)
         || CASE WHEN count(*) = 1 THEN ' is' ELSE ' are' END
         || ' not applied' AS detail
FROM pg_policy p
JOIN pg_class c ON c.oid = p.polrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE NOT c.relrowsecurity
  AND n.nspname NOT LIKE 'pg\_%'
  AND n.nspname <> 'information_schema'
GROUP BY n.nspname, c.relname
