-- advisor-no-primary-key: mirrors the Performance Advisor's "No Primary Key" on the
-- Supabase dashboard.
--
-- Why it matters: without a primary key a row has no identity. PostgREST cannot target
-- one row for update or delete, the table editor cannot edit it, logical replication
-- (Realtime, read replicas) cannot replicate UPDATE and DELETE, and nothing stops
-- duplicate rows. At scale, tables without one are also slower to keep and query.
--
-- Ordinary and partitioned tables in the user's schemas; partitions are judged by their
-- parent.
-- $1: the exposed schemas (text[]); $2: LIKE patterns of the system's and Supabase's own schemas (text[]).
-- Rows: (object, detail).
SELECT n.nspname || '.' || c.relname AS object,
       CASE WHEN c.relkind = 'p' THEN 'partitioned table' ELSE 'table' END
         || ' without a primary key: its rows cannot be told apart for updates, deletes and replication' AS detail
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p')
  AND NOT c.relispartition
  AND (
    n.nspname = ANY ($1::text[])
    OR n.nspname NOT LIKE ALL ($2::text[])
  )
  AND NOT EXISTS (
    SELECT FROM pg_constraint con WHERE con.conrelid = c.oid AND con.contype = 'p'
  )
  AND NOT EXISTS (
    SELECT FROM pg_depend d
    WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e'
  )
