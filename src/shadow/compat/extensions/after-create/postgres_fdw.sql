-- After `CREATE EXTENSION postgres_fdw` hosted Supabase lets `postgres` use the wrapper,
-- so that it can create servers and user mappings (supautils' after-create script).
GRANT USAGE ON FOREIGN DATA WRAPPER postgres_fdw TO "{role}";
