-- The names of the views, materialized views and functions of the covered schemas,
-- keyed as a full snapshot keys them (`schema.name(argument types)` for a function),
-- with their oids. {relations} and {functions} are the rows of `pg_class` and `pg_proc`
-- read: all of them, or those of some oids.
-- (scope.sql comes first: the ext and ns tables.)
SELECT CASE c.relkind WHEN 'm' THEN 'materialized' ELSE 'view' END, n.nspname,
       c.relname::text, NULL::text, c.oid
FROM {relations} c
JOIN ns n ON n.oid = c.relnamespace
WHERE c.relkind IN ('v', 'm')
  AND c.oid NOT IN (SELECT objid FROM ext WHERE classid = 'pg_class'::regclass)
UNION ALL
SELECT CASE p.prokind
         WHEN 'p' THEN 'procedure' WHEN 'a' THEN 'aggregate' WHEN 'w' THEN 'window'
         ELSE 'function' END,
       n.nspname, p.proname::text, oidvectortypes(p.proargtypes), p.oid
FROM {functions} p
JOIN ns n ON n.oid = p.pronamespace
WHERE p.oid NOT IN (SELECT objid FROM ext WHERE classid = 'pg_proc'::regclass)
  -- a range type's constructors come and go with the type
  AND NOT EXISTS (
    SELECT FROM pg_depend d
    WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'i'
  )
