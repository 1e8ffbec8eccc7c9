-- The schemas a catalog query covers (`$1`: LIKE patterns of those left out) and the
-- objects extensions own: the start of snapshot.sql and routines.sql.
WITH
ext AS MATERIALIZED (
  SELECT d.classid, d.objid
  FROM pg_depend d
  WHERE d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e'
),
ns AS MATERIALIZED (
  SELECT n.oid, n.nspname::text AS nspname
  FROM pg_namespace n
  WHERE left(n.nspname, 3) <> 'pg_'
    AND n.nspname <> 'information_schema'
    AND n.nspname NOT LIKE ALL ($1::text[])
    AND n.oid NOT IN (SELECT objid FROM ext WHERE classid = 'pg_namespace'::regclass)
)
