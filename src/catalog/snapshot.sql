-- The user's schema as one json document, in one round trip: it runs after every
-- migration of the shadow.
--
-- $2 is false for the tables alone (tables, columns, constraints, RLS, policies): the
-- other lists come back empty without being computed.
-- {classes} is `pg_class`, or the rows of `pg_class` of the oids `$3` (the tables a
-- migration locked): only those tables (and their columns, constraints and policies)
-- are read; $3 is unused otherwise.
-- $1 is a text[] of LIKE patterns naming the schemas left out; system schemas (pg_*,
-- information_schema) and the objects an extension owns are always left out. The caller
-- runs this with an empty search_path, so every name the deparse functions print outside
-- pg_catalog is schema-qualified and the text does not depend on the connection.
--
-- Each list holds json arrays, not objects: json_build_object costs about twice as much
-- per row, and rows are most of the time on a large schema. The values of each list are
-- in the order of the matching `*Row` type in src/catalog/snapshot.rs.
-- (scope.sql comes first: the ext and ns tables.)
,
rel AS MATERIALIZED (
  SELECT c.oid, c.relkind, c.relowner, c.relacl, c.relrowsecurity, c.relforcerowsecurity,
         c.reloptions, c.relispartition, c.relpartbound, c.relfilenode,
         n.nspname, c.relname::text AS relname, n.nspname || '.' || c.relname AS qname
  FROM {classes} c
  JOIN ns n ON n.oid = c.relnamespace
  WHERE c.relkind IN ('r', 'p', 'f', 'v', 'm', 'S')
    AND c.oid NOT IN (SELECT objid FROM ext WHERE classid = 'pg_class'::regclass)
),
-- Supabase lets users add policies and triggers to the tables of the schemas it manages
-- (storage.objects, auth.users): those count as the user's too.
managed AS MATERIALIZED (
  SELECT c.oid, n.nspname || '.' || c.relname AS qname
  FROM {classes} c
  JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE c.relkind IN ('r', 'p', 'f', 'v')
    AND left(n.nspname, 3) <> 'pg_'
    AND n.nspname <> 'information_schema'
    AND n.oid NOT IN (SELECT oid FROM ns)
    AND c.oid NOT IN (SELECT objid FROM ext WHERE classid = 'pg_class'::regclass)
),
fn AS MATERIALIZED (
  SELECT p.oid, p.prokind, p.prolang, p.prosqlbody IS NOT NULL AS atomic, p.prosrc, p.prosecdef,
         p.provolatile, p.proisstrict, p.proparallel, p.proconfig,
         n.nspname, p.proname::text AS proname,
         n.nspname || '.' || p.proname || '(' || oidvectortypes(p.proargtypes) || ')' AS qname
  FROM pg_proc p
  JOIN ns n ON n.oid = p.pronamespace
  WHERE p.oid NOT IN (SELECT objid FROM ext WHERE classid = 'pg_proc'::regclass)
    -- a range type's constructors come and go with the type
    AND NOT EXISTS (
      SELECT FROM pg_depend d
      WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'i'
    )
)
SELECT json_build_object(
  'schemas', (
    SELECT coalesce(json_agg(ns.nspname), '[]')
    FROM ns
    -- every database has it
    WHERE ns.nspname <> 'public'
  ),
  -- TableRow
  'tables', (
    SELECT coalesce(json_agg(json_build_array(
      r.nspname,
      r.relname,
      CASE r.relkind WHEN 'p' THEN 'partitioned' WHEN 'f' THEN 'foreign' ELSE 'table' END,
      r.relrowsecurity,
      r.relforcerowsecurity,
      r.reloptions,
      CASE WHEN r.relkind = 'p' THEN pg_get_partkeydef(r.oid) END,
      CASE WHEN r.relispartition THEN pg_get_expr(r.relpartbound, r.oid) END,
      (
        SELECT array_agg(pn.nspname || '.' || pc.relname ORDER BY i.inhseqno)
        FROM pg_inherits i
        JOIN pg_class pc ON pc.oid = i.inhparent
        JOIN pg_namespace pn ON pn.oid = pc.relnamespace
        WHERE i.inhrelid = r.oid
      ),
      r.relfilenode::bigint
    )), '[]')
    FROM rel r
    WHERE r.relkind IN ('r', 'p', 'f')
  ),
  -- ColumnRow
  'columns', (
    SELECT coalesce(json_agg(json_build_array(
      r.qname,
      a.attname::text,
      format_type(a.atttypid, a.atttypmod),
      a.attnotnull,
      CASE WHEN a.atthasdef AND a.attgenerated = '' THEN (
        SELECT pg_get_expr(d.adbin, d.adrelid)
        FROM pg_attrdef d WHERE d.adrelid = a.attrelid AND d.adnum = a.attnum
      ) END,
      CASE WHEN a.atthasdef AND a.attgenerated <> '' THEN (
        SELECT pg_get_expr(d.adbin, d.adrelid)
        FROM pg_attrdef d WHERE d.adrelid = a.attrelid AND d.adnum = a.attnum
      ) END,
      CASE a.attidentity WHEN 'a' THEN 'always' WHEN 'd' THEN 'by default' END,
      -- a collation other than the type's; the type is looked up only for a column with a
      -- collation of its own (an explicit COLLATE "default" goes unnoticed)
      CASE WHEN a.attcollation NOT IN (0, 100) THEN (
        SELECT CASE WHEN cn.nspname = 'pg_catalog' THEN co.collname::text
                    ELSE cn.nspname || '.' || co.collname END
        FROM pg_collation co
        JOIN pg_namespace cn ON cn.oid = co.collnamespace
        JOIN pg_type t ON t.oid = a.atttypid
        WHERE co.oid = a.attcollation AND t.typcollation <> a.attcollation
      ) END
    )), '[]')
    FROM rel r
    JOIN pg_attribute a ON a.attrelid = r.oid AND a.attnum > 0 AND NOT a.attisdropped
    WHERE r.relkind IN ('r', 'p', 'f')
  ),
  -- ConstraintRow
  'constraints', (
    SELECT coalesce(json_agg(json_build_array(
      r.qname,
      co.conname::text,
      CASE co.contype
        WHEN 'p' THEN 'primary-key' WHEN 'f' THEN 'foreign-key' WHEN 'u' THEN 'unique'
        WHEN 'c' THEN 'check' ELSE 'exclusion' END,
      pg_get_constraintdef(co.oid),
      co.convalidated
    )), '[]')
    FROM rel r
    -- not 'n' (NOT NULL is a column's property here) nor 't' (a constraint trigger is a trigger)
    JOIN pg_constraint co ON co.conrelid = r.oid AND co.contype IN ('p', 'f', 'u', 'c', 'x')
  ),
  -- IndexRow
  'indexes', CASE WHEN $2 THEN (
    SELECT coalesce(json_agg(json_build_array(
      r.qname,
      ic.relname::text,
      pg_get_indexdef(i.indexrelid),
      i.indisunique,
      i.indisvalid
    )), '[]')
    FROM rel r
    JOIN pg_index i ON i.indrelid = r.oid
    JOIN pg_class ic ON ic.oid = i.indexrelid
    -- the index behind a primary key, unique or exclusion constraint is that constraint
    WHERE NOT EXISTS (
      SELECT FROM pg_constraint co
      WHERE co.conrelid = r.oid AND co.conindid = i.indexrelid AND co.contype IN ('p', 'u', 'x')
    )
  ) ELSE '[]'::json END,
  -- ViewRow, for views and materialized views
  'views', CASE WHEN $2 THEN (
    SELECT coalesce(json_agg(json_build_array(
      r.nspname,
      r.relname,
      r.relkind = 'm',
      pg_get_viewdef(r.oid),
      r.reloptions
    )), '[]')
    FROM rel r
    WHERE r.relkind IN ('v', 'm')
  ) ELSE '[]'::json END,
  -- FunctionRow
  'functions', CASE WHEN $2 THEN (
    SELECT coalesce(json_agg(json_build_array(
      f.qname,
      f.nspname,
      f.proname,
      CASE f.prokind
        WHEN 'p' THEN 'procedure' WHEN 'a' THEN 'aggregate' WHEN 'w' THEN 'window' ELSE 'function' END,
      pg_get_function_arguments(f.oid),
      pg_get_function_identity_arguments(f.oid),
      pg_get_function_result(f.oid),
      l.lanname::text,
      md5(CASE WHEN f.atomic THEN pg_get_function_sqlbody(f.oid) ELSE f.prosrc END),
      f.prosecdef,
      CASE f.provolatile WHEN 'i' THEN 'immutable' WHEN 's' THEN 'stable' ELSE 'volatile' END,
      f.proisstrict,
      CASE f.proparallel WHEN 's' THEN 'safe' WHEN 'r' THEN 'restricted' ELSE 'unsafe' END,
      f.proconfig
    )), '[]')
    FROM fn f
    JOIN pg_language l ON l.oid = f.prolang
  ) ELSE '[]'::json END,
  -- TriggerRow
  'triggers', CASE WHEN $2 THEN (
    SELECT coalesce(json_agg(json_build_array(
      r.qname,
      t.tgname::text,
      pg_get_triggerdef(t.oid),
      CASE t.tgenabled
        WHEN 'D' THEN 'disabled' WHEN 'R' THEN 'replica' WHEN 'A' THEN 'always' ELSE 'origin' END
    )), '[]')
    FROM (
      SELECT oid, qname, false AS managed FROM rel WHERE relkind IN ('r', 'p', 'f', 'v')
      UNION ALL
      SELECT oid, qname, true FROM managed
    ) r
    JOIN pg_trigger t ON t.tgrelid = r.oid AND NOT t.tgisinternal
    -- on a managed table, only those that call the user's own function
    WHERE NOT r.managed OR t.tgfoid IN (SELECT oid FROM fn)
  ) ELSE '[]'::json END,
  -- PolicyRow
  'policies', (
    SELECT coalesce(json_agg(json_build_array(
      r.qname,
      po.polname::text,
      CASE po.polcmd
        WHEN 'r' THEN 'SELECT' WHEN 'a' THEN 'INSERT' WHEN 'w' THEN 'UPDATE' WHEN 'd' THEN 'DELETE' ELSE 'ALL' END,
      po.polpermissive,
      ARRAY(SELECT CASE WHEN pr = 0 THEN 'public' ELSE pg_get_userbyid(pr)::text END FROM unnest(po.polroles) pr),
      pg_get_expr(po.polqual, po.polrelid),
      pg_get_expr(po.polwithcheck, po.polrelid)
    )), '[]')
    FROM (
      SELECT oid, qname FROM rel WHERE relkind IN ('r', 'p', 'f')
      UNION ALL
      SELECT oid, qname FROM managed
    ) r
    JOIN pg_policy po ON po.polrelid = r.oid
  ),
  -- AclRow: the access control list as Postgres prints it (`grantee=privileges/grantor`);
  -- parsing it in Rust costs a fraction of aclexplode's rows.
  'acls', CASE WHEN $2 THEN (
    SELECT coalesce(json_agg(json_build_array(
      r.qname,
      pg_get_userbyid(r.relowner)::text,
      r.relacl::text[]
    )), '[]')
    FROM rel r
    WHERE r.relacl IS NOT NULL
  ) ELSE '[]'::json END,
  -- TypeRow: enum, domain, range or composite
  'types', CASE WHEN $2 THEN (
    SELECT coalesce(json_agg(json_build_array(
      n.nspname || '.' || t.typname,
      CASE t.typtype WHEN 'e' THEN 'enum' WHEN 'd' THEN 'domain' WHEN 'r' THEN 'range' ELSE 'composite' END,
      CASE t.typtype
        WHEN 'e' THEN ARRAY(SELECT e.enumlabel::text FROM pg_enum e WHERE e.enumtypid = t.oid ORDER BY e.enumsortorder)
        WHEN 'c' THEN ARRAY(
          SELECT a.attname || ' ' || format_type(a.atttypid, a.atttypmod)
          FROM pg_attribute a
          WHERE a.attrelid = t.typrelid AND a.attnum > 0 AND NOT a.attisdropped
          ORDER BY a.attnum
        )
        WHEN 'd' THEN ARRAY(
          SELECT co.conname || ' ' || pg_get_constraintdef(co.oid)
          FROM pg_constraint co
          WHERE co.contypid = t.oid AND co.contype = 'c'
          ORDER BY co.conname
        )
      END,
      CASE t.typtype
        WHEN 'd' THEN format_type(t.typbasetype, t.typtypmod)
        WHEN 'r' THEN (SELECT format_type(rg.rngsubtype, NULL) FROM pg_range rg WHERE rg.rngtypid = t.oid)
      END,
      t.typnotnull,
      pg_get_expr(t.typdefaultbin, 0)
    )), '[]')
    FROM pg_type t
    JOIN ns n ON n.oid = t.typnamespace
    WHERE (t.typtype IN ('e', 'd', 'r')
           OR (t.typtype = 'c' AND (SELECT c.relkind FROM pg_class c WHERE c.oid = t.typrelid) = 'c'))
      AND t.oid NOT IN (SELECT objid FROM ext WHERE classid = 'pg_type'::regclass)
  ) ELSE '[]'::json END,
  -- ExtensionRow
  'extensions', CASE WHEN $2 THEN (
    SELECT coalesce(json_agg(json_build_array(
      e.extname::text,
      e.extversion,
      n.nspname::text
    )), '[]')
    FROM pg_extension e
    JOIN pg_namespace n ON n.oid = e.extnamespace
    -- every database has it
    WHERE e.extname <> 'plpgsql'
  ) ELSE '[]'::json END,
  -- SequenceRow
  'sequences', CASE WHEN $2 THEN (
    SELECT coalesce(json_agg(json_build_array(
      r.nspname,
      r.relname,
      format_type(s.seqtypid, NULL),
      s.seqstart,
      s.seqincrement,
      s.seqmin,
      s.seqmax,
      s.seqcache,
      s.seqcycle,
      -- the owning column: 'a' for a serial's (OWNED BY), 'i' for an identity column's
      (
        SELECT json_build_array(tn.nspname || '.' || tc.relname || '.' || a.attname, d.deptype = 'i')
        FROM pg_depend d
        JOIN pg_class tc ON tc.oid = d.refobjid
        JOIN pg_namespace tn ON tn.oid = tc.relnamespace
        JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
        WHERE d.classid = 'pg_class'::regclass AND d.objid = r.oid
          AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')
      )
    )), '[]')
    FROM rel r
    JOIN pg_sequence s ON s.seqrelid = r.oid
    WHERE r.relkind = 'S'
  ) ELSE '[]'::json END
)
