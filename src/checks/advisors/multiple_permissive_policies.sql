-- advisor-multiple-permissive-policies: mirrors the Performance Advisor's "Multiple
-- Permissive Policies" on the Supabase dashboard.
--
-- Why it matters: permissive policies are OR-ed together, and Postgres evaluates each of
-- them for every row. Two permissive policies for the same role and command cost two
-- checks per row where one policy with both conditions (or one restrictive and one
-- permissive) would do, and they are easy to get wrong: either one alone opens the row.
--
-- A policy applies to the roles it names; one `TO public` (the default) applies to every
-- role, counted here for `anon` and `authenticated` (or, where those roles do not exist,
-- as PUBLIC). FOR ALL counts for SELECT, INSERT, UPDATE and DELETE.
-- $1, $2: unused. Rows: (object, detail), one per table.
WITH policy AS (
  SELECT p.polrelid, p.polname::text AS polname, p.polroles, p.polcmd
  FROM pg_policy p
  JOIN pg_class c ON c.oid = p.polrelid
  JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE p.polpermissive
    AND n.nspname NOT LIKE 'pg\_%'
    AND n.nspname <> 'information_schema'
),
api_role AS (
  SELECT DISTINCT p.polrelid, r.oid, r.rolname::text AS rolname
  FROM policy p
  JOIN pg_roles r
    ON r.oid = ANY (p.polroles)
    OR (0 = ANY (p.polroles) AND r.rolname IN ('anon', 'authenticated'))
  UNION
  SELECT p.polrelid, 0, 'PUBLIC'
  FROM policy p
  WHERE 0 = ANY (p.polroles)
    AND NOT EXISTS (SELECT FROM pg_roles r WHERE r.rolname IN ('anon', 'authenticated'))
),
command_kind(code, name, position) AS (
  VALUES ('r'::"char", 'SELECT', 1), ('a', 'INSERT', 2), ('w', 'UPDATE', 3), ('d', 'DELETE', 4)
),
overlap AS (
  SELECT ro.polrelid, ro.rolname, cm.name AS command, cm.position,
         string_agg(p.polname, ', ' ORDER BY p.polname) AS policies
  FROM api_role ro
  CROSS JOIN command_kind cm
  JOIN policy p
    ON p.polrelid = ro.polrelid
   AND (p.polcmd = '*' OR p.polcmd = cm.code)
   AND (0 = ANY (p.polroles) OR ro.oid = ANY (p.polroles))
  GROUP BY ro.polrelid, ro.rolname, cm.name, cm.position
  HAVING count(*) > 1
),
per_command AS (
  SELECT polrelid, policies, command, position,
         string_agg(rolname, ', ' ORDER BY rolname) AS roles
  FROM overlap
  GROUP BY polrelid, policies, command, position
),
per_set AS (
  SELECT polrelid, policies, roles, min(position) AS position,
         string_agg(command, ', ' ORDER BY position) AS commands
  FROM per_command
  GROUP BY polrelid, policies, roles
)
SELECT n.nspname || '.' || c.relname AS object,
       string_agg('policies ' || s.policies || ' are all permissive for ' || s.commands
                    || ' to ' || s.roles,
                  '; ' ORDER BY s.position, s.policies, s.roles)
         || ': each is evaluated for every row' AS detail
FROM per_set s
JOIN pg_class c ON c.oid = s.polrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
GROUP BY n.nspname, c.relname
