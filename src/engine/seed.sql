-- The tables a seed may fill (`$1`: LIKE patterns of the schemas left out): the ordinary
-- and partitioned tables of the user's schemas (a partition fills through its parent), not
-- an extension's, and every table one of them references. One row per column that takes
-- a value (not generated, not dropped), tables in oid order, columns in their order.
WITH RECURSIVE
user_tables AS (
  SELECT c.oid
  FROM pg_class c
  JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition
    AND left(n.nspname, 3) <> 'pg_'
    AND n.nspname <> 'information_schema'
    AND n.nspname NOT LIKE ALL ($1::text[])
    AND NOT EXISTS (
      SELECT 1 FROM pg_depend d
      WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e'
    )
),
tables(oid) AS (
  SELECT oid FROM user_tables
  UNION
  SELECT con.confrelid
  FROM pg_constraint con
  JOIN tables t ON t.oid = con.conrelid
  WHERE con.contype = 'f'
)
SELECT c.oid,
       n.nspname || '.' || c.relname AS name,
       format('%I.%I', n.nspname, c.relname) AS qualified,
       pg_has_role(c.relowner, 'MEMBER') AS owned,
       EXISTS (SELECT 1 FROM pg_trigger tg WHERE tg.tgrelid = c.oid AND NOT tg.tgisinternal)
         AS user_triggers,
       a.attnum,
       a.attname::text AS column_name,
       format_type(a.atttypid, a.atttypmod) AS type_name,
       -- a domain is made as its base type, then cast
       CASE WHEN t.typtype = 'd' THEN format_type(t.typbasetype, t.typtypmod)
            ELSE format_type(a.atttypid, a.atttypmod) END AS base_type,
       coalesce(b.typcategory, t.typcategory)::text AS category,
       a.attnotnull,
       a.atthasdef,
       a.attidentity <> '' AS identity,
       pg_get_serial_sequence(format('%I.%I', n.nspname, c.relname), a.attname) IS NOT NULL
         AS sequenced
FROM tables tb
JOIN pg_class c ON c.oid = tb.oid
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
  AND a.attgenerated = ''
JOIN pg_type t ON t.oid = a.atttypid
LEFT JOIN pg_type b ON t.typtype = 'd' AND b.oid = t.typbasetype
ORDER BY c.oid, a.attnum
