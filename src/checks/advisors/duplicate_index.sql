-- advisor-duplicate-index: mirrors the Performance Advisor's "Duplicate Index" on the
-- Supabase dashboard.
--
-- Why it matters: two indexes with the same definition answer the same queries, yet every
-- insert, update and delete writes both, vacuum walks both, and both take memory and disk.
-- One of them is pure cost.
--
-- Indexes are the same when they are on the same table with the same access method, key
-- and included columns, operator classes, collations, options, expressions and predicate
-- (node trees compared without their source positions); uniqueness may differ. In each
-- set the one to keep is the one a constraint uses, else a unique one, else the oldest:
-- every other is flagged. Indexes of partitions are judged on their parent's; exclusion
-- constraints' indexes are left alone.
-- $1: the exposed schemas (text[]); $2: LIKE patterns of the system's and Supabase's own schemas (text[]).
-- Rows: (object, detail); the object is `schema.index`.
WITH candidate AS (
  SELECT n.nspname, ci.relname::text AS name, ct.relname::text AS table_name,
         i.indexrelid, i.indrelid, i.indisunique, ci.relam, i.indnkeyatts,
         i.indkey::text AS columns, i.indclass::text AS classes,
         i.indcollation::text AS collations, i.indoption::text AS options,
         coalesce(regexp_replace(i.indexprs::text, ':location -?[0-9]+', '', 'g'), '') AS expressions,
         coalesce(regexp_replace(i.indpred::text, ':location -?[0-9]+', '', 'g'), '') AS predicate,
         EXISTS (SELECT FROM pg_constraint con WHERE con.conindid = i.indexrelid
                   AND con.conrelid = i.indrelid) AS constraint_index
  FROM pg_index i
  JOIN pg_class ci ON ci.oid = i.indexrelid
  JOIN pg_class ct ON ct.oid = i.indrelid
  JOIN pg_namespace n ON n.oid = ct.relnamespace
  WHERE NOT i.indisexclusion
    AND NOT ci.relispartition
    AND (
      n.nspname = ANY ($1::text[])
      OR n.nspname NOT LIKE ALL ($2::text[])
    )
    AND NOT EXISTS (
      SELECT FROM pg_depend d
      WHERE d.classid = 'pg_class'::regclass AND d.objid = ct.oid AND d.deptype = 'e'
    )
),
ranked AS (
  SELECT candidate.*,
         row_number() OVER same AS rank,
         first_value(name) OVER same AS kept
  FROM candidate
  WINDOW same AS (
    PARTITION BY indrelid, relam, indnkeyatts, columns, classes, collations, options,
                 expressions, predicate
    ORDER BY constraint_index DESC, indisunique DESC, indexrelid
  )
)
SELECT nspname || '.' || name AS object,
       CASE WHEN constraint_index THEN 'the index of a constraint, ' ELSE '' END
         || 'identical to ' || nspname || '.' || kept || ' on ' || nspname || '.' || table_name
         || ': every write maintains both' AS detail
FROM ranked
WHERE rank > 1
