-- Stand-in for pg_jsonschema, which vanilla Postgres lacks: its functions, in the schema
-- the migration names, so CHECK constraints and functions that call them are created and
-- run. A schema is checked to be a JSON object or boolean; a document is not validated
-- against it: every document matches.
CREATE OR REPLACE FUNCTION "{schema}".jsonschema_is_valid(schema json) RETURNS boolean
LANGUAGE sql IMMUTABLE STRICT AS $$
  SELECT json_typeof(schema) IN ('object', 'boolean')
$$;
CREATE OR REPLACE FUNCTION "{schema}".json_matches_schema(schema json, instance json)
RETURNS boolean LANGUAGE sql IMMUTABLE STRICT AS $$
  SELECT "{schema}".jsonschema_is_valid(schema)
$$;
CREATE OR REPLACE FUNCTION "{schema}".jsonb_matches_schema(schema json, instance jsonb)
RETURNS boolean LANGUAGE sql IMMUTABLE STRICT AS $$
  SELECT "{schema}".jsonschema_is_valid(schema)
$$;
CREATE OR REPLACE FUNCTION "{schema}".jsonschema_validation_errors(schema json, instance json)
RETURNS text[] LANGUAGE sql IMMUTABLE STRICT AS $$
  SELECT CASE WHEN "{schema}".jsonschema_is_valid(schema) THEN '{}'::text[]
              ELSE ARRAY['the schema is not a JSON object or boolean'] END
$$;
-- migration-guard: on drop
DROP FUNCTION IF EXISTS "{schema}".jsonschema_validation_errors(json, json),
  "{schema}".jsonb_matches_schema(json, jsonb), "{schema}".json_matches_schema(json, json),
  "{schema}".jsonschema_is_valid(json);
