-- advisor-function-search-path-mutable: mirrors the Security Advisor's "Function Search
-- Path Mutable" on the Supabase dashboard.
--
-- Why it matters: a function without its own `search_path` resolves every unqualified
-- name with the caller's. A caller who can create objects in a schema earlier on the path
-- can make it run their table or function instead, with the function's privileges when it
-- is SECURITY DEFINER; and the same function behaves differently from different clients.
--
-- Functions and procedures in the user's schemas (not Supabase's own, not an extension's);
-- C and internal functions resolve no names. Objects read `schema.name(argument types)`;
-- the caller runs this with an empty search_path, so every type outside pg_catalog is
-- schema-qualified.
--
-- $1: the exposed schemas (text[]); $2: LIKE patterns of the system's and Supabase's own schemas (text[]).
-- Rows: (object, detail).
SELECT n.nspname || '.' || p.proname || '(' || coalesce((
         SELECT string_agg(format_type(a.type, NULL), ', ' ORDER BY a.position)
         FROM unnest(p.proargtypes::oid[]) WITH ORDINALITY a(type, position)
       ), '') || ')' AS object,
       CASE p.prokind WHEN 'p' THEN 'procedure' ELSE 'function' END
         || ' in ' || l.lanname || ' with no search_path of its own'
         || CASE
              WHEN p.prosecdef THEN ', and SECURITY DEFINER: whoever calls it chooses what its unqualified names mean, and they run with its owner''s privileges'
              ELSE ': its unqualified names resolve with each caller''s search_path'
            END AS detail
FROM pg_proc p
JOIN pg_namespace n ON n.oid = p.pronamespace
JOIN pg_language l ON l.oid = p.prolang
WHERE p.prokind IN ('f', 'p')
  AND l.lanname NOT IN ('c', 'internal')
  AND (
    n.nspname = ANY ($1::text[])
    OR n.nspname NOT LIKE ALL ($2::text[])
  )
  AND NOT EXISTS (
    SELECT FROM unnest(p.proconfig) setting WHERE setting LIKE 'search\_path=%'
  )
  AND NOT EXISTS (
    SELECT FROM pg_depend d
    WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
  )
