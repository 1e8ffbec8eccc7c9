-- Stand-in for pgjwt, which vanilla Postgres lacks (hosted Supabase ships it, deprecated
-- on Postgres 17): sign and verify HS256/384/512 JSON Web Tokens with pgcrypto's hmac, in
-- the schema the migration names. It works, but it is not the extension's own code.
CREATE OR REPLACE FUNCTION "{schema}".url_encode(data bytea) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
  SELECT translate(encode(data, 'base64'), E'+/=\n', '-_')
$$;
CREATE OR REPLACE FUNCTION "{schema}".url_decode(data text) RETURNS bytea
LANGUAGE sql IMMUTABLE AS $$
  SELECT decode(
    translate(data, '-_', '+/') || repeat('=', (4 - length(data) % 4) % 4),
    'base64')
$$;
CREATE OR REPLACE FUNCTION "{schema}".algorithm_sign(signables text, secret text, algorithm text)
RETURNS text LANGUAGE sql IMMUTABLE AS $$
  SELECT "{schema}".url_encode(extensions.hmac(
    signables, secret,
    CASE algorithm WHEN 'HS256' THEN 'sha256' WHEN 'HS384' THEN 'sha384' WHEN 'HS512' THEN 'sha512' END))
$$;
CREATE OR REPLACE FUNCTION "{schema}".sign(payload json, secret text, algorithm text DEFAULT 'HS256')
RETURNS text LANGUAGE sql IMMUTABLE AS $$
  SELECT signables || '.' || "{schema}".algorithm_sign(signables, secret, algorithm)
  FROM (
    SELECT "{schema}".url_encode(convert_to(json_build_object('alg', algorithm, 'typ', 'JWT')::text, 'utf8'))
      || '.' || "{schema}".url_encode(convert_to(payload::text, 'utf8')) AS signables
  ) parts
$$;
CREATE OR REPLACE FUNCTION "{schema}".try_cast_double(inp text) RETURNS double precision
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
  RETURN inp::double precision;
EXCEPTION WHEN others THEN
  RETURN NULL;
END
$$;
CREATE OR REPLACE FUNCTION "{schema}".verify(token text, secret text, algorithm text DEFAULT 'HS256')
RETURNS TABLE (header json, payload json, valid boolean) LANGUAGE sql IMMUTABLE AS $$
  SELECT convert_from("{schema}".url_decode(part[1]), 'utf8')::json,
         convert_from("{schema}".url_decode(part[2]), 'utf8')::json,
         part[3] = "{schema}".algorithm_sign(part[1] || '.' || part[2], secret, algorithm)
  FROM regexp_split_to_array(token, '\.') AS part
$$;
-- migration-guard: on drop
DROP FUNCTION IF EXISTS "{schema}".verify(text, text, text), "{schema}".sign(json, text, text),
  "{schema}".try_cast_double(text), "{schema}".algorithm_sign(text, text, text),
  "{schema}".url_decode(text), "{schema}".url_encode(bytea);
