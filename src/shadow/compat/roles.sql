-- Supabase emulation, part 1 (cluster-wide): the platform's roles.
-- Runs as a superuser; {role} is the role that applies migrations, which, like the
-- `postgres` role of hosted Supabase, is not a superuser (the shadow creates it first,
-- with a password of the run: migrations log in as it).
-- Source of truth: supabase/postgres migrations/db/init-scripts and the CLI's globals.sql.

DO $roles$
BEGIN
  -- A server that has them already (a `url` server) keeps its own settings.
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'anon') THEN
    CREATE ROLE anon NOLOGIN NOINHERIT;
    ALTER ROLE anon SET statement_timeout = '3s';
  END IF;
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'authenticated') THEN
    CREATE ROLE authenticated NOLOGIN NOINHERIT;
    ALTER ROLE authenticated SET statement_timeout = '8s';
  END IF;
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'service_role') THEN
    CREATE ROLE service_role NOLOGIN NOINHERIT BYPASSRLS;
  END IF;
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'authenticator') THEN
    CREATE ROLE authenticator LOGIN NOINHERIT;
  END IF;
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'supabase_admin') THEN
    CREATE ROLE supabase_admin NOLOGIN;
  END IF;
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'supabase_auth_admin') THEN
    CREATE ROLE supabase_auth_admin NOLOGIN NOINHERIT CREATEROLE;
  END IF;
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'supabase_storage_admin') THEN
    CREATE ROLE supabase_storage_admin NOLOGIN NOINHERIT CREATEROLE;
  END IF;
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'supabase_functions_admin') THEN
    CREATE ROLE supabase_functions_admin NOLOGIN NOINHERIT CREATEROLE;
  END IF;
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'supabase_realtime_admin') THEN
    CREATE ROLE supabase_realtime_admin NOLOGIN NOINHERIT;
  END IF;
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'dashboard_user') THEN
    CREATE ROLE dashboard_user NOLOGIN CREATEDB CREATEROLE REPLICATION;
  END IF;
END
$roles$;

GRANT anon, authenticated, service_role TO authenticator;
GRANT anon, authenticated, service_role TO "{role}";
-- Hosted Supabase lets `postgres` create policies and triggers on auth.users and
-- storage.objects without owning them (supautils); membership in the owners gives the
-- same, and the managed-schema guard (schema.sql) refuses everything else there.
GRANT supabase_auth_admin, supabase_storage_admin, supabase_realtime_admin TO "{role}";

