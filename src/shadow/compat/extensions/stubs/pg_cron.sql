-- Stand-in for pg_cron, which vanilla Postgres lacks (hosted Supabase ships 1.6).
-- The schema, tables and functions migrations call: jobs are recorded in cron.job and
-- their schedules checked as pg_cron checks them (five cron fields, `@daily` and the
-- like, or pg_cron 1.5+'s `[1-59] seconds`), but nothing ever runs, so what a job does
-- is not tested. Grants as Supabase's after-create script gives them to `postgres`.
CREATE SCHEMA IF NOT EXISTS cron;
CREATE TABLE IF NOT EXISTS cron.job (
  jobid bigserial PRIMARY KEY,
  schedule text NOT NULL,
  command text NOT NULL,
  nodename text NOT NULL DEFAULT 'localhost',
  nodeport integer NOT NULL DEFAULT 5432,
  database text NOT NULL DEFAULT current_database(),
  username text NOT NULL DEFAULT current_user,
  active boolean NOT NULL DEFAULT true,
  jobname text
);
CREATE UNIQUE INDEX IF NOT EXISTS jobname_username_uniq ON cron.job (jobname, username);
CREATE TABLE IF NOT EXISTS cron.job_run_details (
  jobid bigint,
  runid bigserial PRIMARY KEY,
  job_pid integer,
  database text,
  username text,
  command text,
  status text,
  return_message text,
  start_time timestamptz,
  end_time timestamptz
);

CREATE OR REPLACE FUNCTION cron.migration_guard_checked(schedule text) RETURNS text
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
  IF schedule IS NULL
     OR schedule ~* '^\s*([1-9]|[1-5][0-9])\s+seconds?\s*$'
     OR schedule ~* '^\s*@(yearly|annually|monthly|weekly|daily|midnight|hourly|reboot)\s*$'
     OR schedule ~* '^\s*[0-9a-z*/,$-]+(\s+[0-9a-z*/,$-]+){4}\s*$'
  THEN
    RETURN schedule;
  END IF;
  RAISE EXCEPTION 'invalid schedule: %', schedule
    USING ERRCODE = '22023',
          HINT = 'Use cron format (e.g. 5 4 * * *), or interval format ''[1-59] seconds''';
END
$$;

CREATE OR REPLACE FUNCTION cron.schedule(job_name text, schedule text, command text)
RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
  id bigint;
BEGIN
  UPDATE cron.job SET schedule = cron.migration_guard_checked($2), command = $3
    WHERE jobname = job_name AND username = current_user
    RETURNING jobid INTO id;
  IF id IS NULL THEN
    INSERT INTO cron.job (schedule, command, jobname)
      VALUES (cron.migration_guard_checked($2), $3, job_name)
      RETURNING jobid INTO id;
  END IF;
  RETURN id;
END
$$;
CREATE OR REPLACE FUNCTION cron.schedule(schedule text, command text)
RETURNS bigint LANGUAGE sql AS $$
  INSERT INTO cron.job (schedule, command) VALUES (cron.migration_guard_checked($1), $2)
  RETURNING jobid
$$;
CREATE OR REPLACE FUNCTION cron.schedule_in_database(
  job_name text, schedule text, command text, database text,
  username text DEFAULT NULL, active boolean DEFAULT true
) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
  id bigint := cron.schedule(job_name, schedule, command);
BEGIN
  UPDATE cron.job SET database = $4, username = coalesce($5, current_user), active = $6
    WHERE jobid = id;
  RETURN id;
END
$$;
CREATE OR REPLACE FUNCTION cron.unschedule(job_id bigint) RETURNS boolean
LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM cron.job WHERE jobid = job_id;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'could not find valid entry for job %', job_id;
  END IF;
  RETURN true;
END
$$;
CREATE OR REPLACE FUNCTION cron.unschedule(job_name text) RETURNS boolean
LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM cron.job WHERE jobname = job_name AND username = current_user;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'could not find valid entry for job ''%''', job_name;
  END IF;
  RETURN true;
END
$$;
CREATE OR REPLACE FUNCTION cron.alter_job(
  job_id bigint, schedule text DEFAULT NULL, command text DEFAULT NULL,
  database text DEFAULT NULL, username text DEFAULT NULL, active boolean DEFAULT NULL
) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  UPDATE cron.job SET
    schedule = coalesce(cron.migration_guard_checked($2), job.schedule),
    command = coalesce($3, job.command),
    database = coalesce($4, job.database),
    username = coalesce($5, job.username),
    active = coalesce($6, job.active)
  WHERE jobid = job_id;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'could not find valid entry for job %', job_id;
  END IF;
END
$$;

GRANT USAGE ON SCHEMA cron TO "{role}" WITH GRANT OPTION;
GRANT ALL ON ALL TABLES IN SCHEMA cron TO "{role}" WITH GRANT OPTION;
GRANT ALL ON ALL SEQUENCES IN SCHEMA cron TO "{role}" WITH GRANT OPTION;
GRANT ALL ON ALL FUNCTIONS IN SCHEMA cron TO "{role}" WITH GRANT OPTION;
-- migration-guard: on drop
DROP SCHEMA IF EXISTS cron CASCADE;
