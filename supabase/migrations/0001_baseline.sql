-- Baseline schema: users, bot_config, conversations, messages, audit_log.
-- Idempotent: every object is created with IF NOT EXISTS / OR REPLACE, and
-- policies and triggers are dropped and re-created, so the file can be
-- applied again without error.

BEGIN;

SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = '60s';

-- gen_random_uuid() is built into Postgres 13+; no extension needed.

-- ---------------------------------------------------------------------------
-- Tables
-- ---------------------------------------------------------------------------

CREATE TABLE IF NOT EXISTS public.users (
  id uuid NOT NULL DEFAULT gen_random_uuid(),
  email text NOT NULL,
  display_name text,
  role text NOT NULL DEFAULT 'member',
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT users_pkey PRIMARY KEY (id),
  CONSTRAINT users_email_unique UNIQUE (email),
  CONSTRAINT users_email_format_check CHECK (position('@' IN email) > 1),
  CONSTRAINT users_email_lowercase_check CHECK (email = lower(email)),
  CONSTRAINT users_role_check CHECK (role IN ('owner', 'admin', 'member'))
);

CREATE TABLE IF NOT EXISTS public.bot_config (
  id bigint GENERATED ALWAYS AS IDENTITY,
  env text NOT NULL,
  key text NOT NULL,
  value jsonb NOT NULL DEFAULT '{}'::jsonb,
  description text,
  updated_by uuid,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT bot_config_pkey PRIMARY KEY (id),
  CONSTRAINT bot_config_env_key_unique UNIQUE (env, key),
  CONSTRAINT bot_config_env_check CHECK (env IN ('development', 'staging', 'production')),
  CONSTRAINT bot_config_key_check CHECK (key ~ '^[a-z][a-z0-9_]*$'),
  CONSTRAINT bot_config_updated_by_fkey FOREIGN KEY (updated_by)
    REFERENCES public.users (id) ON DELETE SET NULL
);

CREATE TABLE IF NOT EXISTS public.conversations (
  id uuid NOT NULL DEFAULT gen_random_uuid(),
  user_id uuid NOT NULL,
  channel text NOT NULL,
  status text NOT NULL DEFAULT 'open',
  title text,
  metadata jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  closed_at timestamptz,
  CONSTRAINT conversations_pkey PRIMARY KEY (id),
  CONSTRAINT conversations_user_id_fkey FOREIGN KEY (user_id)
    REFERENCES public.users (id) ON DELETE CASCADE,
  CONSTRAINT conversations_channel_check CHECK (channel IN ('web', 'slack', 'discord', 'telegram')),
  CONSTRAINT conversations_status_check CHECK (status IN ('open', 'closed', 'archived')),
  CONSTRAINT conversations_closed_at_check CHECK (closed_at IS NULL OR closed_at >= created_at)
);

CREATE TABLE IF NOT EXISTS public.messages (
  id bigint GENERATED ALWAYS AS IDENTITY,
  conversation_id uuid NOT NULL,
  sender text NOT NULL,
  content text NOT NULL,
  token_count integer,
  metadata jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT messages_pkey PRIMARY KEY (id),
  CONSTRAINT messages_conversation_id_fkey FOREIGN KEY (conversation_id)
    REFERENCES public.conversations (id) ON DELETE CASCADE,
  CONSTRAINT messages_sender_check CHECK (sender IN ('user', 'bot', 'system')),
  CONSTRAINT messages_token_count_check CHECK (token_count IS NULL OR token_count >= 0)
);

CREATE TABLE IF NOT EXISTS public.audit_log (
  id bigint GENERATED ALWAYS AS IDENTITY,
  actor_id uuid,
  action text NOT NULL,
  entity text NOT NULL,
  entity_id text,
  payload jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT audit_log_pkey PRIMARY KEY (id),
  CONSTRAINT audit_log_actor_id_fkey FOREIGN KEY (actor_id)
    REFERENCES public.users (id) ON DELETE SET NULL,
  CONSTRAINT audit_log_action_check CHECK (action <> ''),
  CONSTRAINT audit_log_entity_check CHECK (entity <> '')
);

-- ---------------------------------------------------------------------------
-- Indexes on foreign-key columns (Postgres does not create these itself)
-- ---------------------------------------------------------------------------

CREATE INDEX IF NOT EXISTS bot_config_updated_by_idx ON public.bot_config (updated_by);
CREATE INDEX IF NOT EXISTS conversations_user_id_idx ON public.conversations (user_id);
CREATE INDEX IF NOT EXISTS messages_conversation_id_created_at_idx
  ON public.messages (conversation_id, created_at);
CREATE INDEX IF NOT EXISTS audit_log_actor_id_idx ON public.audit_log (actor_id);
CREATE INDEX IF NOT EXISTS audit_log_created_at_idx ON public.audit_log (created_at);

-- ---------------------------------------------------------------------------
-- updated_at maintenance
-- ---------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION public.set_updated_at()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = ''
AS $$
BEGIN
  -- Only touch the row when something actually changed.
  IF NEW IS DISTINCT FROM OLD THEN
    NEW.updated_at := now();
  END IF;
  RETURN NEW;
END;
$$;

DROP TRIGGER IF EXISTS users_set_updated_at ON public.users;
CREATE TRIGGER users_set_updated_at
  BEFORE UPDATE ON public.users
  FOR EACH ROW EXECUTE FUNCTION public.set_updated_at();

DROP TRIGGER IF EXISTS bot_config_set_updated_at ON public.bot_config;
CREATE TRIGGER bot_config_set_updated_at
  BEFORE UPDATE ON public.bot_config
  FOR EACH ROW EXECUTE FUNCTION public.set_updated_at();

DROP TRIGGER IF EXISTS conversations_set_updated_at ON public.conversations;
CREATE TRIGGER conversations_set_updated_at
  BEFORE UPDATE ON public.conversations
  FOR EACH ROW EXECUTE FUNCTION public.set_updated_at();

-- ---------------------------------------------------------------------------
-- Row level security
-- Policies are deliberately role-agnostic so the baseline runs on plain
-- Postgres; table owners bypass RLS unless it is forced.
-- ---------------------------------------------------------------------------

ALTER TABLE public.users ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.bot_config ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.conversations ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.messages ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.audit_log ENABLE ROW LEVEL SECURITY;

DROP POLICY IF EXISTS users_select_all ON public.users;
CREATE POLICY users_select_all ON public.users
  FOR SELECT
  USING (true);

DROP POLICY IF EXISTS bot_config_select_all ON public.bot_config;
CREATE POLICY bot_config_select_all ON public.bot_config
  FOR SELECT
  USING (true);

DROP POLICY IF EXISTS bot_config_owner_write ON public.bot_config;
CREATE POLICY bot_config_owner_write ON public.bot_config
  FOR ALL
  USING (current_user = 'postgres')
  WITH CHECK (current_user = 'postgres');

DROP POLICY IF EXISTS conversations_select_all ON public.conversations;
CREATE POLICY conversations_select_all ON public.conversations
  FOR SELECT
  USING (true);

DROP POLICY IF EXISTS messages_select_all ON public.messages;
CREATE POLICY messages_select_all ON public.messages
  FOR SELECT
  USING (true);

DROP POLICY IF EXISTS messages_insert_all ON public.messages;
CREATE POLICY messages_insert_all ON public.messages
  FOR INSERT
  WITH CHECK (true);

-- The audit log is append-only: inserts are allowed, there is no
-- UPDATE or DELETE policy.
DROP POLICY IF EXISTS audit_log_insert_all ON public.audit_log;
CREATE POLICY audit_log_insert_all ON public.audit_log
  FOR INSERT
  WITH CHECK (true);

DROP POLICY IF EXISTS audit_log_select_all ON public.audit_log;
CREATE POLICY audit_log_select_all ON public.audit_log
  FOR SELECT
  USING (true);

-- ---------------------------------------------------------------------------
-- Seed configuration
-- ---------------------------------------------------------------------------

INSERT INTO public.bot_config (env, key, value, description)
VALUES
  ('production', 'welcome_message',
   '{"text": "Hi! How can I help you today?"}'::jsonb,
   'First message the bot sends in a new conversation'),
  ('production', 'max_reply_tokens',
   '{"value": 1024}'::jsonb,
   'Upper bound on tokens per bot reply')
ON CONFLICT ON CONSTRAINT bot_config_env_key_unique DO NOTHING;

COMMIT;
