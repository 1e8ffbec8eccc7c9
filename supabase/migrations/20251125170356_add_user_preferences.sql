-- Add per-user preferences and the default preferences the bot falls back to.
-- Additive only: a new column with a constant default (no table rewrite on
-- Postgres 11+), a new index and a config upsert.

BEGIN;

SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = '60s';

ALTER TABLE public.users ADD COLUMN IF NOT EXISTS preferences jsonb NOT NULL DEFAULT '{}'::jsonb;

-- Plain (not CONCURRENTLY): the Supabase CLI runs each migration file in a
-- single transaction, where CREATE INDEX CONCURRENTLY is not allowed.
-- migration-guard: allow require-concurrent-index -- users has a few hundred rows; the build takes milliseconds
CREATE INDEX IF NOT EXISTS users_preferences_gin ON public.users USING gin (preferences);

INSERT INTO public.bot_config (env, key, value, description)
VALUES
  ('production', 'default_user_preferences',
   '{"theme": "system", "language": "en", "notifications": true}'::jsonb,
   'Preferences applied when a user has not set their own')
ON CONFLICT ON CONSTRAINT bot_config_env_key_unique DO UPDATE
SET
  value = EXCLUDED.value,
  description = EXCLUDED.description;

COMMIT;
