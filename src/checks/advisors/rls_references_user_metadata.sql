-- advisor-rls-references-user-metadata: mirrors the Security Advisor's "RLS references
-- user metadata" on the Supabase dashboard.
--
-- Why it matters: `user_metadata` in the JWT (auth.users.raw_user_meta_data) is written by
-- the user: any signed-in user can call supabase.auth.updateUser({ data: { role: 'admin' }})
-- and get a token that says so. A policy that trusts it lets users grant themselves access.
-- `app_metadata` (raw_app_meta_data) is the server-side counterpart.
--
-- The policy's USING and WITH CHECK expressions are read as Postgres deparses them.
-- $1, $2: unused. Rows: (object, detail).
SELECT n.nspname || '.' || c.relname || '.' || p.polname AS object,
       'the policy reads '
         || string_agg(DISTINCT m.match[1], ' and ' ORDER BY m.match[1])
         || ', which every user can change about themselves' AS detail
FROM pg_policy p
JOIN pg_class c ON c.oid = p.polrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
CROSS JOIN LATERAL regexp_matches(
  concat_ws(' ', pg_get_expr(p.polqual, p.polrelid), pg_get_expr(p.polwithcheck, p.polrelid)),
  '\m(user_metadata|raw_user_meta_data)\M',
  'g'
) AS m(match)
WHERE n.nspname NOT LIKE 'pg\_%'
  AND n.nspname <> 'information_schema'
GROUP BY n.nspname, c.relname, p.polname
