-- advisor-extension-in-public: mirrors the Security Advisor's "Extension in Public" on the
-- Supabase dashboard.
--
-- Why it matters: an extension installed in `public` (or another exposed schema) puts its
-- functions, types and tables in the API: PostgREST offers its functions as RPC endpoints
-- to `anon` and `authenticated`, they crowd the schema, and they resolve ahead of the
-- user's own names. Supabase installs extensions in the `extensions` schema.
--
-- $1: the exposed schemas (text[]); $2: unused. Rows: (object, detail); the object is the
-- extension's name.
SELECT e.extname::text AS object,
       'extension installed in the schema ' || n.nspname
         || ', which the API exposes: its functions become API endpoints' AS detail
FROM pg_extension e
JOIN pg_namespace n ON n.oid = e.extnamespace
WHERE n.nspname = 'public' OR n.nspname = ANY ($1::text[])
