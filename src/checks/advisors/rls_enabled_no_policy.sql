-- advisor-rls-enabled-no-policy: mirrors the Security Advisor's "RLS Enabled No Policy" on
-- the Supabase dashboard.
--
-- Why it matters: with row level security on and no policy, every row is hidden from every
-- role that does not bypass RLS: `anon` and `authenticated` get empty results and every
-- write fails. Sometimes that is the intent (a table only the service role touches); more
-- often the policies were forgotten, and the API silently returns nothing.
--
-- $1: the exposed schemas (text[]); $2: LIKE patterns of the system's and Supabase's own schemas (text[]).
-- Rows: (object, detail).
SELECT n.nspname || '.' || c.relname AS object,
       'row level security is on and no policy exists: no role but its owner and those '
         || 'that bypass RLS can read or write a row' AS detail
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p')
  AND c.relrowsecurity
  AND (
    n.nspname = ANY ($1::text[])
    OR n.nspname NOT LIKE ALL ($2::text[])
  )
  AND NOT EXISTS (SELECT FROM pg_policy p WHERE p.polrelid = c.oid)
  AND NOT EXISTS (
    SELECT FROM pg_depend d
    WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e'
  )
