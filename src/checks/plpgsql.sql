-- The PL/pgSQL routines to give plpgsql_check, one row per check to make: a function or
-- procedure once, a trigger function once per table (or view) whose triggers call it
-- (plpgsql_check needs that relation to know the type of NEW and OLD), and a trigger
-- function no trigger calls once, without a relation, for the caller to skip and name.
--
-- Left out: system schemas, the schemas an extension created and the routines an
-- extension owns; the caller keeps the schemas of the user's scope (Scope::user()).
-- The caller runs this with an empty search_path, so the types in a signature are
-- schema-qualified unless they are pg_catalog's: the name reads the same everywhere.
--
-- Columns: oid, schema, name, signature, body (prosrc), trigger (a trigger function),
-- relid (0 when there is none), relation, triggers (their names on that relation),
-- oldtable and newtable (the transition tables' names, REFERENCING OLD/NEW TABLE AS).
WITH
ext AS MATERIALIZED (
  SELECT d.classid, d.objid
  FROM pg_catalog.pg_depend d
  WHERE d.refclassid = 'pg_catalog.pg_extension'::pg_catalog.regclass AND d.deptype = 'e'
),
routine AS (
  SELECT p.oid, n.nspname::text AS schema, p.proname::text AS name,
         n.nspname || '.' || p.proname || '(' || pg_catalog.oidvectortypes(p.proargtypes) || ')'
           AS signature,
         p.prosrc AS body,
         p.prorettype = 'pg_catalog.trigger'::pg_catalog.regtype AS trigger
  FROM pg_catalog.pg_proc p
  JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
  JOIN pg_catalog.pg_language l ON l.oid = p.prolang
  WHERE l.lanname = 'plpgsql'
    AND left(n.nspname, 3) <> 'pg_'
    AND n.nspname <> 'information_schema'
    AND n.oid NOT IN (SELECT objid FROM ext WHERE classid = 'pg_catalog.pg_namespace'::pg_catalog.regclass)
    AND p.oid NOT IN (SELECT objid FROM ext WHERE classid = 'pg_catalog.pg_proc'::pg_catalog.regclass)
),
-- The relations whose triggers call each trigger function. A trigger on a partitioned
-- table is cloned onto every partition (tgparentid set, Postgres 13 and later, read
-- through jsonb so that older servers run this too): the parent's check covers them.
called AS (
  SELECT t.tgfoid, t.tgrelid,
         pg_catalog.format('%I.%I', rn.nspname, c.relname) AS relation,
         pg_catalog.array_agg(t.tgname::text ORDER BY t.tgname) AS triggers,
         t.tgoldtable::text AS oldtable, t.tgnewtable::text AS newtable
  FROM pg_catalog.pg_trigger t
  JOIN pg_catalog.pg_class c ON c.oid = t.tgrelid
  JOIN pg_catalog.pg_namespace rn ON rn.oid = c.relnamespace
  WHERE coalesce((pg_catalog.to_jsonb(t) ->> 'tgparentid')::oid, 0) = 0
  GROUP BY t.tgfoid, t.tgrelid, rn.nspname, c.relname, t.tgoldtable, t.tgnewtable
)
SELECT r.oid, r.schema, r.name, r.signature, r.body, r.trigger,
       coalesce(c.tgrelid, 0::oid) AS relid, c.relation, c.triggers, c.oldtable, c.newtable
FROM routine r
LEFT JOIN called c ON r.trigger AND c.tgfoid = r.oid
ORDER BY r.schema, r.name, r.signature, c.relation, c.oldtable, c.newtable
