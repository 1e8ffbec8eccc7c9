//! Generated migrations that apply cleanly and can run twice, for the benchmarks that
//! run them on a real server.

/// A realistic migration: a wrapped file with a table, an index, a function, a policy
/// and an upsert. Returns the SQL and its statement count.
pub fn migration(index: usize) -> (String, usize) {
    let sql = format!(
        "-- step {index}\nBEGIN;\nSET LOCAL lock_timeout = '5s';\nSET LOCAL statement_timeout = '60s';\n\
CREATE TABLE IF NOT EXISTS t_{index} (\n  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,\n  name text NOT NULL DEFAULT '',\n  data jsonb NOT NULL DEFAULT '{{}}'::jsonb,\n  created_at timestamptz NOT NULL DEFAULT now()\n);\n\
CREATE INDEX IF NOT EXISTS t_{index}_created ON t_{index} (created_at);\n\
ALTER TABLE t_{index} ADD COLUMN IF NOT EXISTS note text NOT NULL DEFAULT 'a; b';\n\
CREATE OR REPLACE FUNCTION f_{index}() RETURNS trigger LANGUAGE plpgsql AS $$\nBEGIN\n  NEW.name := lower(NEW.name);\n  RETURN NEW;\nEND\n$$;\n\
DROP TRIGGER IF EXISTS t_{index}_lower ON t_{index};\n\
CREATE TRIGGER t_{index}_lower BEFORE INSERT ON t_{index} FOR EACH ROW EXECUTE FUNCTION f_{index}();\n\
ALTER TABLE t_{index} ENABLE ROW LEVEL SECURITY;\n\
INSERT INTO t_{index} (name) VALUES ('It''s; fine'), ('second');\n\
COMMIT;\n"
    );
    (sql, 12)
}
