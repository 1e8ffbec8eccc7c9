-- advisor-auth-rls-initplan: mirrors the Performance Advisor's "Auth RLS Initialization
-- Plan" on the Supabase dashboard.
--
-- Why it matters: a policy's expression is evaluated for every row the query touches. A
-- bare `auth.uid()` (or auth.jwt(), auth.role(), auth.email(), current_setting()) is
-- called again for each of those rows; written as a scalar subquery, `(select auth.uid())`,
-- Postgres computes it once per statement (an InitPlan) and the policy compares against a
-- constant. On large tables that is the difference between milliseconds and seconds.
--
-- How: the policy's USING and WITH CHECK, as Postgres deparses them (the caller runs this
-- with an empty search_path, so the calls read `auth.uid()`), with string literals and
-- quoted identifiers blanked out and every call marked `<<name>>(`. Then, innermost
-- parentheses first, a scalar subquery without FROM (`( SELECT auth.uid() AS uid)`) is
-- removed with what it contains, and any other group is kept as brackets: a mark that
-- survives is a call outside a scalar subquery. A call inside a subquery that reads a
-- table (EXISTS ( SELECT … FROM … WHERE x = auth.uid())) survives too: it runs for every
-- row of that subquery.
--
-- $1, $2: unused. Rows: (object, detail).
WITH RECURSIVE policy AS (
  SELECT p.oid,
         n.nspname || '.' || c.relname || '.' || p.polname AS object,
         regexp_replace(regexp_replace(regexp_replace(regexp_replace(regexp_replace(
           concat_ws(' ', pg_get_expr(p.polqual, p.polrelid), pg_get_expr(p.polwithcheck, p.polrelid)),
           '''([^'']|'''')*''', '''''', 'g'),
           '"([^"]|"")*"', 'x', 'g'),
           '\m(auth\.(uid|jwt|role|email)|current_setting)\(', '<<\1>>(', 'g'),
           '\(\s*SELECT\M', '{', 'g'),
           '\s+', ' ', 'g') AS expression
  FROM pg_policy p
  JOIN pg_class c ON c.oid = p.polrelid
  JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE n.nspname NOT LIKE 'pg\_%'
    AND n.nspname <> 'information_schema'
),
reduced(oid, expression, step) AS (
  SELECT oid, expression, 0 FROM policy WHERE expression LIKE '%<<%>>(%'
  UNION ALL
  SELECT oid,
         regexp_replace(regexp_replace(regexp_replace(expression,
           -- a subquery that reads a table: kept, its calls run per row
           '\{([^(){}]*\mFROM\M[^(){}]*)\)', '[\1]', 'g'),
           -- a scalar subquery: evaluated once, gone with what it calls
           '\{[^(){}]*\)', '_', 'g'),
           -- any other innermost group: kept
           '\(([^(){}]*)\)', '[\1]', 'g'),
         step + 1
  FROM reduced
  WHERE expression ~ '[(){}]' AND step < 500
)
SELECT policy.object,
       'calls ' || string_agg(DISTINCT m.match[1] || '()', ', ' ORDER BY m.match[1] || '()')
         || ' for every row it checks, not once per statement' AS detail
FROM reduced r
JOIN policy ON policy.oid = r.oid
CROSS JOIN LATERAL regexp_matches(r.expression, '<<([a-z_.]+)>>', 'g') AS m(match)
WHERE r.expression !~ '[(){}]'
GROUP BY policy.object
