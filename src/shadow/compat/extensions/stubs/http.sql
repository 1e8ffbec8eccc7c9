-- Stand-in for the `http` extension (pgsql-http), which vanilla Postgres lacks: its
-- types and functions, in the schema the migration names. Every request returns a
-- response with status 0 and no content without being sent: what the endpoint does
-- is not tested.
DO $types$
BEGIN
  IF to_regtype('"{schema}".http_method') IS NULL THEN
    CREATE DOMAIN "{schema}".http_method AS text;
  END IF;
  IF to_regtype('"{schema}".http_header') IS NULL THEN
    CREATE TYPE "{schema}".http_header AS (field varchar, value varchar);
  END IF;
  IF to_regtype('"{schema}".http_request') IS NULL THEN
    CREATE TYPE "{schema}".http_request AS (
      method "{schema}".http_method, uri varchar, headers "{schema}".http_header[],
      content_type varchar, content varchar
    );
  END IF;
  IF to_regtype('"{schema}".http_response') IS NULL THEN
    CREATE TYPE "{schema}".http_response AS (
      status integer, content_type varchar, headers "{schema}".http_header[], content varchar
    );
  END IF;
END
$types$;
CREATE OR REPLACE FUNCTION "{schema}".http(request "{schema}".http_request)
RETURNS "{schema}".http_response LANGUAGE sql AS $$
  SELECT ROW(0, NULL, ARRAY[]::"{schema}".http_header[], NULL)::"{schema}".http_response
$$;
CREATE OR REPLACE FUNCTION "{schema}".http_get(uri varchar)
RETURNS "{schema}".http_response LANGUAGE sql AS $$
  SELECT "{schema}".http(ROW('GET', uri, NULL, NULL, NULL)::"{schema}".http_request)
$$;
CREATE OR REPLACE FUNCTION "{schema}".http_get(uri varchar, data jsonb)
RETURNS "{schema}".http_response LANGUAGE sql AS $$
  SELECT "{schema}".http(ROW('GET', uri, NULL, NULL, NULL)::"{schema}".http_request)
$$;
CREATE OR REPLACE FUNCTION "{schema}".http_post(uri varchar, content varchar, content_type varchar)
RETURNS "{schema}".http_response LANGUAGE sql AS $$
  SELECT "{schema}".http(ROW('POST', uri, NULL, content_type, content)::"{schema}".http_request)
$$;
CREATE OR REPLACE FUNCTION "{schema}".http_post(uri varchar, data jsonb)
RETURNS "{schema}".http_response LANGUAGE sql AS $$
  SELECT "{schema}".http(ROW('POST', uri, NULL, 'application/json', data::text)::"{schema}".http_request)
$$;
CREATE OR REPLACE FUNCTION "{schema}".http_put(uri varchar, content varchar, content_type varchar)
RETURNS "{schema}".http_response LANGUAGE sql AS $$
  SELECT "{schema}".http(ROW('PUT', uri, NULL, content_type, content)::"{schema}".http_request)
$$;
CREATE OR REPLACE FUNCTION "{schema}".http_patch(uri varchar, content varchar, content_type varchar)
RETURNS "{schema}".http_response LANGUAGE sql AS $$
  SELECT "{schema}".http(ROW('PATCH', uri, NULL, content_type, content)::"{schema}".http_request)
$$;
CREATE OR REPLACE FUNCTION "{schema}".http_delete(uri varchar)
RETURNS "{schema}".http_response LANGUAGE sql AS $$
  SELECT "{schema}".http(ROW('DELETE', uri, NULL, NULL, NULL)::"{schema}".http_request)
$$;
CREATE OR REPLACE FUNCTION "{schema}".http_head(uri varchar)
RETURNS "{schema}".http_response LANGUAGE sql AS $$
  SELECT "{schema}".http(ROW('HEAD', uri, NULL, NULL, NULL)::"{schema}".http_request)
$$;
CREATE OR REPLACE FUNCTION "{schema}".http_header(field varchar, value varchar)
RETURNS "{schema}".http_header LANGUAGE sql IMMUTABLE AS $$
  SELECT ROW(field, value)::"{schema}".http_header
$$;
CREATE OR REPLACE FUNCTION "{schema}".urlencode(string varchar) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
  SELECT string_agg(
    CASE WHEN ch ~ '[A-Za-z0-9_.~-]' THEN ch
         ELSE upper(regexp_replace(encode(convert_to(ch, 'utf8'), 'hex'), '(..)', '%\1', 'g'))
    END, '' ORDER BY n)
  FROM regexp_split_to_table(string, '') WITH ORDINALITY AS chars(ch, n)
$$;
CREATE OR REPLACE FUNCTION "{schema}".urlencode(data jsonb) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
  SELECT string_agg("{schema}".urlencode(key) || '=' || "{schema}".urlencode(value), '&')
  FROM jsonb_each_text(data)
$$;
CREATE OR REPLACE FUNCTION "{schema}".http_set_curlopt(curlopt varchar, value varchar)
RETURNS boolean LANGUAGE sql AS $$ SELECT true $$;
CREATE OR REPLACE FUNCTION "{schema}".http_reset_curlopt()
RETURNS boolean LANGUAGE sql AS $$ SELECT true $$;
-- migration-guard: on drop
DROP FUNCTION IF EXISTS "{schema}".http("{schema}".http_request), "{schema}".http_get(varchar),
  "{schema}".http_get(varchar, jsonb), "{schema}".http_post(varchar, varchar, varchar),
  "{schema}".http_post(varchar, jsonb), "{schema}".http_put(varchar, varchar, varchar),
  "{schema}".http_patch(varchar, varchar, varchar), "{schema}".http_delete(varchar),
  "{schema}".http_head(varchar), "{schema}".http_header(varchar, varchar),
  "{schema}".urlencode(varchar), "{schema}".urlencode(jsonb),
  "{schema}".http_set_curlopt(varchar, varchar), "{schema}".http_reset_curlopt();
DROP TYPE IF EXISTS "{schema}".http_response, "{schema}".http_request, "{schema}".http_header;
DROP DOMAIN IF EXISTS "{schema}".http_method;
