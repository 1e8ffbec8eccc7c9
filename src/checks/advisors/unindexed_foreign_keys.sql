-- advisor-unindexed-foreign-keys: mirrors the Performance Advisor's "Unindexed foreign
-- keys" on the Supabase dashboard.
--
-- Why it matters: Postgres indexes the referenced side of a foreign key, never the
-- referencing one. Every DELETE or key UPDATE on the referenced table then scans the
-- referencing table for rows that point at it, and joins along the key (what PostgREST's
-- embedded resources do) scan it too.
--
-- A key counts as covered by a valid, non-partial index whose leading key columns are the
-- foreign key's columns, in any order. Constraints cloned onto partitions are judged on
-- their parent.
-- $1: the exposed schemas (text[]); $2: LIKE patterns of the system's and Supabase's own schemas (text[]).
-- Rows: (object, detail); the object is `schema.table.constraint`.
SELECT n.nspname || '.' || c.relname || '.' || con.conname AS object,
       'foreign key (' || (
         SELECT string_agg(a.attname, ', ' ORDER BY k.position)
         FROM unnest(con.conkey) WITH ORDINALITY k(attnum, position)
         JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum
       ) || ') to ' || rn.nspname || '.' || rc.relname
         || ' has no index starting with its columns' AS detail
FROM pg_constraint con
JOIN pg_class c ON c.oid = con.conrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_class rc ON rc.oid = con.confrelid
JOIN pg_namespace rn ON rn.oid = rc.relnamespace
WHERE con.contype = 'f'
  AND con.conparentid = 0
  AND (
    n.nspname = ANY ($1::text[])
    OR n.nspname NOT LIKE ALL ($2::text[])
  )
  AND NOT EXISTS (
    SELECT FROM pg_depend d
    WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e'
  )
  AND NOT EXISTS (
    SELECT FROM pg_index i
    WHERE i.indrelid = con.conrelid
      AND i.indisvalid
      AND i.indpred IS NULL
      AND i.indnkeyatts >= cardinality(con.conkey)
      AND (
        SELECT array_agg(k.attnum ORDER BY k.attnum)
        FROM unnest(i.indkey::int2[]) WITH ORDINALITY k(attnum, position)
        WHERE k.position <= cardinality(con.conkey)
      ) = (
        SELECT array_agg(k.attnum ORDER BY k.attnum) FROM unnest(con.conkey) k(attnum)
      )
  )
