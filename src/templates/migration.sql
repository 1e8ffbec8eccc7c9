-- Migration: {name}
-- Created by `migration-guard new`. The Supabase CLI runs this file in one transaction;
-- keep it additive and safe to run twice.

BEGIN;

-- Fail fast instead of queueing behind a long query (and blocking everyone behind us).
SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = '60s';

-- Examples of statements that can run twice:
--
-- CREATE TABLE IF NOT EXISTS public.example (
--   id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
--   settings jsonb NOT NULL DEFAULT '{}'::jsonb,
--   created_at timestamptz NOT NULL DEFAULT now()
-- );
-- ALTER TABLE public.example ENABLE ROW LEVEL SECURITY;
--
-- ALTER TABLE public.example ADD COLUMN IF NOT EXISTS note text NOT NULL DEFAULT '';
-- CREATE INDEX IF NOT EXISTS example_created_at_idx ON public.example (created_at);
--
-- CREATE OR REPLACE FUNCTION public.example_touch() RETURNS trigger
--   LANGUAGE plpgsql AS $$ BEGIN NEW.created_at := now(); RETURN NEW; END $$;
--
-- INSERT INTO public.example (id) VALUES ('00000000-0000-0000-0000-000000000001')
--   ON CONFLICT (id) DO NOTHING;
--
-- An index on a table that already holds data should be built CONCURRENTLY, which cannot
-- run in a transaction: put that one statement alone in its own migration file, without
-- BEGIN/COMMIT.

COMMIT;
