-- Stand-in for pg_net, which vanilla Postgres lacks. Its functions queue the request in
-- net.http_request_queue as pg_net does and return its id, but no request is ever sent:
-- what the endpoint does is not tested. Grants as Supabase gives them (the API roles
-- may call the functions, as dashboard webhooks do from triggers).
CREATE SCHEMA IF NOT EXISTS net;
CREATE TABLE IF NOT EXISTS net.http_request_queue (
  id bigserial NOT NULL,
  method text NOT NULL,
  url text NOT NULL,
  headers jsonb NOT NULL,
  body bytea,
  timeout_milliseconds integer NOT NULL
);
CREATE TABLE IF NOT EXISTS net._http_response (
  id bigint,
  status_code integer,
  content_type text,
  headers jsonb,
  content text,
  timed_out boolean,
  error_msg text,
  created timestamptz NOT NULL DEFAULT now()
);
CREATE OR REPLACE FUNCTION net.http_get(
  url text, params jsonb DEFAULT '{}', headers jsonb DEFAULT '{}',
  timeout_milliseconds integer DEFAULT 5000
) RETURNS bigint LANGUAGE sql SECURITY DEFINER SET search_path = '' AS $$
  INSERT INTO net.http_request_queue (method, url, headers, timeout_milliseconds)
  VALUES ('GET', url, headers, timeout_milliseconds)
  RETURNING id
$$;
CREATE OR REPLACE FUNCTION net.http_post(
  url text, body jsonb DEFAULT '{}', params jsonb DEFAULT '{}',
  headers jsonb DEFAULT '{"Content-Type": "application/json"}',
  timeout_milliseconds integer DEFAULT 5000
) RETURNS bigint LANGUAGE sql SECURITY DEFINER SET search_path = '' AS $$
  INSERT INTO net.http_request_queue (method, url, headers, body, timeout_milliseconds)
  VALUES ('POST', url, headers, convert_to(body::text, 'utf8'), timeout_milliseconds)
  RETURNING id
$$;
CREATE OR REPLACE FUNCTION net.http_delete(
  url text, params jsonb DEFAULT '{}', headers jsonb DEFAULT '{}',
  timeout_milliseconds integer DEFAULT 5000
) RETURNS bigint LANGUAGE sql SECURITY DEFINER SET search_path = '' AS $$
  INSERT INTO net.http_request_queue (method, url, headers, timeout_milliseconds)
  VALUES ('DELETE', url, headers, timeout_milliseconds)
  RETURNING id
$$;
GRANT USAGE ON SCHEMA net TO "{role}", anon, authenticated, service_role;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA net TO "{role}", anon, authenticated, service_role;
GRANT SELECT ON ALL TABLES IN SCHEMA net TO "{role}";
-- migration-guard: on drop
DROP SCHEMA IF EXISTS net CASCADE;
