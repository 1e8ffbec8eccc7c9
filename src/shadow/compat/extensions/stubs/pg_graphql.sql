-- Stand-in for pg_graphql, which vanilla Postgres lacks and hosted Supabase has
-- installed in every project: the `graphql` and `graphql_public` schemas and the
-- entry points PostgREST calls. Every query answers with an error instead of data, so
-- what the GraphQL API returns is not tested; comments such as
-- `@graphql({"inflect_names": true})` work as they do anywhere.
CREATE SCHEMA IF NOT EXISTS graphql;
CREATE SCHEMA IF NOT EXISTS graphql_public;
CREATE OR REPLACE FUNCTION graphql.resolve(
  query text, variables jsonb DEFAULT '{}', "operationName" text DEFAULT NULL,
  extensions jsonb DEFAULT NULL
) RETURNS jsonb LANGUAGE sql AS $$
  SELECT jsonb_build_object('errors', jsonb_build_array(jsonb_build_object(
    'message', 'pg_graphql is a stand-in in this shadow database')))
$$;
CREATE OR REPLACE FUNCTION graphql_public.graphql(
  "operationName" text DEFAULT NULL, query text DEFAULT NULL,
  variables jsonb DEFAULT NULL, extensions jsonb DEFAULT NULL
) RETURNS jsonb LANGUAGE sql AS $$
  SELECT graphql.resolve(query, coalesce(variables, '{}'), "operationName", extensions)
$$;
GRANT USAGE ON SCHEMA graphql, graphql_public TO "{role}", anon, authenticated, service_role;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA graphql, graphql_public
  TO "{role}", anon, authenticated, service_role;
-- migration-guard: on drop
DROP SCHEMA IF EXISTS graphql_public CASCADE;
DROP SCHEMA IF EXISTS graphql CASCADE;
