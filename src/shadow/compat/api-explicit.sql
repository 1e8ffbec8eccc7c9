-- The Data API's grants as a hosted project has them today: since 2026 a new project no
-- longer grants anon, authenticated and service_role what {role} creates in public, so a
-- table is reachable through the API only once a migration grants it. The Supabase CLI
-- does the same locally unless config.toml says `[api] auto_expose_new_tables = true`.
ALTER DEFAULT PRIVILEGES FOR ROLE "{role}" IN SCHEMA public
  REVOKE SELECT, INSERT, UPDATE, DELETE ON TABLES FROM anon, authenticated, service_role;
ALTER DEFAULT PRIVILEGES FOR ROLE "{role}" IN SCHEMA public
  REVOKE USAGE, SELECT ON SEQUENCES FROM anon, authenticated, service_role;
ALTER DEFAULT PRIVILEGES FOR ROLE "{role}" IN SCHEMA public
  REVOKE EXECUTE ON FUNCTIONS FROM anon, authenticated, service_role;
