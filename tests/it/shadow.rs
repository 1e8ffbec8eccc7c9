//! `migration-guard shadow` against real throwaway clusters: passes, failures at exact
//! positions, Supabase fidelity, transaction handling, bad input and teardown.

use crate::common;

use std::fs;
use std::time::{Duration, Instant};

use common::{PgServer, Project, output};
use serde_json::Value;

fn shadow_json(project: &Project, extra: &[&str]) -> (i32, Value, String) {
    let mut args = vec!["shadow", "--format", "json", "--provider", "local"];
    args.extend_from_slice(extra);
    let (code, stdout, stderr) = output(&mut project.command(&args));
    let report =
        serde_json::from_str(&stdout).unwrap_or_else(|error| panic!("{error}: {stdout}\n{stderr}"));
    (code, report, stderr)
}

fn statuses(report: &Value) -> Vec<String> {
    report["migrations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["status"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn example_project_passes_and_writes_the_report_dir() {
    let reports = tempfile::tempdir().unwrap();
    let mut command = assert_cmd::Command::cargo_bin("migration-guard").unwrap();
    command
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("NO_COLOR", "1")
        .args(["shadow", "--provider", "local", "--report-dir"])
        .arg(reports.path());
    let (code, stdout, stderr) = output(&mut command);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(
        stdout.contains("passed: 2/2 migrations applied"),
        "{stdout}"
    );
    assert!(stdout.contains("Verify (25/25 passed)"), "{stdout}");
    let json: Value =
        serde_json::from_str(&fs::read_to_string(reports.path().join("report.json")).unwrap())
            .unwrap();
    assert_eq!(json["command"], "shadow");
    assert_eq!(json["status"], "passed");
    assert_eq!(json["postgres"]["provider"], "local");
    assert!(
        json["postgres"]["server_version"]
            .as_str()
            .unwrap()
            .starts_with("15.")
    );
    assert_eq!(statuses(&json), ["applied", "applied"]);
    assert_eq!(json["verify"].as_array().unwrap().len(), 25);
    let markdown = fs::read_to_string(reports.path().join("report.md")).unwrap();
    assert!(
        markdown.starts_with("<!-- migration-guard -->\n### ✅ migration-guard shadow: passed"),
        "{markdown}"
    );
}

#[test]
fn failure_points_at_the_exact_line_and_column() {
    let project = Project::new();
    project.file(
        "0001_ok.sql",
        "CREATE TABLE IF NOT EXISTS a (id int PRIMARY KEY);\n",
    );
    // CRLF, a comment, a multi-line dollar-quoted body with a `;`, then the bad token.
    project.file(
        "0002_bad.sql",
        "-- adds b\r\nCREATE FUNCTION f() RETURNS int LANGUAGE sql AS $fn$\r\n  SELECT 1; -- é\r\n$fn$;\r\n\r\nCREATE TABLE b (\r\n  id int,\r\n  a_id int REFERENCES a (id),\r\n  kind nosuchtype\r\n);\r\n",
    );
    project.file("0003_later.sql", "SELECT 1;\n");
    let (code, report, _) = shadow_json(&project, &[]);
    assert_eq!(code, 1, "{report:#}");
    assert_eq!(report["status"], "failed");
    assert_eq!(statuses(&report), ["applied", "failed", "skipped"]);
    let error = &report["migrations"][1]["error"];
    assert_eq!(error["sqlstate"], "42704");
    assert_eq!(error["message"], "type \"nosuchtype\" does not exist");
    assert_eq!(
        (error["line"].as_u64(), error["column"].as_u64()),
        (Some(9), Some(8))
    );
    assert_eq!(error["statement_index"], 1);
    // The function from the failed file was rolled back with it.
    assert_eq!(report["migrations"][2]["duration_ms"], Value::Null);
}

#[test]
fn failure_text_shows_the_statement_and_a_caret() {
    let project = Project::new();
    project.file(
        "0001_bad.sql",
        "CREATE TABLE t (\n  id int,\n  v text DEFAULT nope()\n);\n",
    );
    let (code, stdout, _) = output(&mut project.command(&["shadow", "--provider", "local"]));
    assert_eq!(code, 1);
    let error_block: String = stdout
        .lines()
        .skip_while(|line| !line.starts_with("error:"))
        .take_while(|line| !line.is_empty())
        .collect::<Vec<_>>()
        .join("\n");
    insta::assert_snapshot!(error_block);
}

#[test]
fn supabase_roles_auth_and_storage_are_there() {
    let project = Project::new();
    project.file(
        "20250101000000_profiles.sql",
        r#"
CREATE TABLE IF NOT EXISTS public.profiles (
  id uuid PRIMARY KEY REFERENCES auth.users (id) ON DELETE CASCADE,
  username text,
  avatar_path text
);
ALTER TABLE public.profiles ENABLE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS "own profile" ON public.profiles;
CREATE POLICY "own profile" ON public.profiles FOR ALL TO authenticated
  USING (auth.uid() = id) WITH CHECK (auth.uid() = id);
GRANT SELECT ON public.profiles TO anon;

CREATE OR REPLACE FUNCTION public.handle_new_user() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = '' AS $$
BEGIN
  INSERT INTO public.profiles (id) VALUES (NEW.id);
  RETURN NEW;
END
$$;
DROP TRIGGER IF EXISTS on_auth_user_created ON auth.users;
CREATE TRIGGER on_auth_user_created AFTER INSERT ON auth.users
  FOR EACH ROW EXECUTE FUNCTION public.handle_new_user();

INSERT INTO storage.buckets (id, name, public) VALUES ('avatars', 'avatars', true)
  ON CONFLICT (id) DO NOTHING;
DROP POLICY IF EXISTS "avatar upload" ON storage.objects;
CREATE POLICY "avatar upload" ON storage.objects FOR INSERT TO authenticated
  WITH CHECK (bucket_id = 'avatars' AND (storage.foldername(name))[1] = auth.uid()::text);

-- Like hosted `postgres`, the migration role is not a superuser.
DO $$
BEGIN
  IF (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
    RAISE EXCEPTION 'migrations must not run as a superuser (%)', current_user;
  END IF;
END
$$;
SELECT extensions.uuid_generate_v4(), gen_random_bytes(4), uuid_generate_v4();
"#,
    );
    let (code, report, stderr) = shadow_json(&project, &[]);
    assert_eq!(code, 0, "{report:#}\n{stderr}");
    assert_eq!(
        report["postgres"]["supabase_compat"],
        migration_guard::shadow::COMPAT_VERSION
    );
}

#[test]
fn supabase_permissions_refuse_what_hosted_refuses() {
    for (sql, expected) in [
        (
            "CREATE TABLE auth.sessions_copy (id int);",
            "permission denied for schema auth",
        ),
        (
            "CREATE TABLE storage.extra (id int);",
            "permission denied for schema storage",
        ),
        (
            "ALTER TABLE auth.users ADD COLUMN nickname text;",
            "managed by Supabase",
        ),
        ("DROP TABLE storage.objects;", "managed by Supabase"),
    ] {
        let project = Project::new();
        project.file("0001_bad.sql", sql);
        let (code, report, _) = shadow_json(&project, &[]);
        assert_eq!(code, 1, "{sql}: {report:#}");
        let error = &report["migrations"][0]["error"];
        assert_eq!(error["sqlstate"], "42501", "{sql}: {error:#}");
        assert!(
            error["message"].as_str().unwrap().contains(expected),
            "{sql}: {error:#}"
        );
    }
}

#[test]
fn plain_postgres_without_the_emulation() {
    let project = Project::new();
    project.file("0001_t.sql", "CREATE TABLE t (id int);\n");
    project.file(
        "0002_auth.sql",
        "CREATE TABLE x (id uuid REFERENCES auth.users (id));\n",
    );
    let (code, report, _) = shadow_json(&project, &["--no-supabase-compat"]);
    assert_eq!(code, 1);
    assert_eq!(report["postgres"]["supabase_compat"], Value::Null);
    assert_eq!(
        report["migrations"][1]["error"]["sqlstate"], "3F000",
        "no auth schema"
    );
}

#[test]
fn concurrently_runs_outside_a_transaction() {
    let project = Project::new();
    project.file(
        "0001_t.sql",
        "BEGIN;\nCREATE TABLE IF NOT EXISTS t (id int, v int);\nCOMMIT;\n",
    );
    project.file(
        "0002_index.sql",
        "CREATE INDEX CONCURRENTLY IF NOT EXISTS t_v ON t (v);\n",
    );
    project.file(
        "0003_mixed.sql",
        "CREATE TABLE IF NOT EXISTS u (id int);\nCREATE INDEX CONCURRENTLY IF NOT EXISTS u_id ON u (id);\nALTER TABLE u ADD COLUMN IF NOT EXISTS w int;\n",
    );
    let (_, report, _) = shadow_json(&project, &[]);
    // Every file applies, as with the Supabase CLI, which runs CONCURRENTLY on its own
    // between the file's other statements: the mixed file is not atomic, and the linter
    // says so as a warning (the ALTER after it could fail and leave the index behind).
    let concurrently: Vec<(&str, &str)> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == "concurrently-in-transaction")
        .map(|f| {
            (
                f["severity"].as_str().unwrap(),
                f["file"].as_str().unwrap().rsplit('/').next().unwrap(),
            )
        })
        .collect();
    assert_eq!(concurrently, [("warning", "0003_mixed.sql")], "{report:#}");
    assert_eq!(statuses(&report), ["applied", "applied", "applied"]);
    let modes: Vec<&str> = report["migrations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["transaction"].as_str().unwrap())
        .collect();
    assert_eq!(
        modes,
        [
            "the file's own BEGIN/COMMIT",
            "1 statement(s) outside a transaction, the rest in 1 transaction(s) (not atomic)",
            "1 statement(s) outside a transaction, the rest in 2 transaction(s) (not atomic)",
        ]
    );
}

#[test]
fn verify_failures_and_errors_fail_the_run() {
    let project = Project::new();
    project.file("0001_t.sql", "CREATE TABLE t (id int);\n");
    let verify = project.path().join("verify");
    fs::create_dir(&verify).unwrap();
    fs::write(
        verify.join("a_checks.sql"),
        "SELECT 'has_t' AS check, to_regclass('public.t') IS NOT NULL AS ok, '' AS detail\nUNION ALL\nSELECT 'has_u', to_regclass('public.u') IS NOT NULL, 'table u is missing';\n",
    )
    .unwrap();
    fs::write(
        verify.join("b_raise.sql"),
        "INSERT INTO t VALUES (1);\n\nDO $$ BEGIN\n  RAISE EXCEPTION 'no rows allowed';\nEND $$;\n",
    )
    .unwrap();
    fs::write(verify.join("c_quiet.sql"), "SELECT count(*) FROM t;\n").unwrap();
    let (code, report, _) = shadow_json(&project, &[]);
    assert_eq!(code, 1, "{report:#}");
    let checks: Vec<(String, bool)> = report["verify"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["check"].as_str().unwrap().to_string(),
                c["ok"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        checks,
        [
            ("has_t".to_string(), true),
            ("has_u".to_string(), false),
            ("b_raise.sql (statement 2)".to_string(), false),
            ("c_quiet.sql".to_string(), true),
        ]
    );
    assert_eq!(report["verify"][2]["line"], 3);
    assert!(
        report["verify"][2]["detail"]
            .as_str()
            .unwrap()
            .contains("no rows allowed")
    );
    // Verification is rolled back: c_quiet saw no row from b_raise's INSERT.
}

#[test]
fn missing_verify_dir_is_fine_and_said() {
    let project = Project::new();
    project.file("0001_t.sql", "SELECT 1;\n");
    let (code, report, _) = shadow_json(&project, &[]);
    assert_eq!(code, 0);
    assert!(
        report["notes"][0]
            .as_str()
            .unwrap()
            .starts_with("no verify directory at verify"),
        "{report:#}"
    );
}

#[test]
fn missing_initdb_is_a_clear_error() {
    let project = Project::new();
    project.file("0001_t.sql", "SELECT 1;\n");
    let empty = tempfile::tempdir().unwrap();
    let pg_bin = empty.path().to_str().unwrap();
    let mut command = project.command(&["shadow", "--provider", "local", "--pg-bin", pg_bin]);
    let (code, _, stderr) = output(&mut command);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("has no initdb; --pg-bin must be the directory holding initdb and pg_ctl"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"));
}

#[test]
fn unreachable_database_url_is_a_clear_error_without_the_password() {
    let project = Project::new();
    project.file("0001_t.sql", "SELECT 1;\n");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("postgresql://app:hunter2secret@127.0.0.1:{port}/postgres");
    let (code, stdout, stderr) = output(&mut project.command(&["shadow", "--database-url", &url]));
    assert_eq!(code, 2, "{stdout}{stderr}");
    assert!(
        stderr.contains(&format!("cannot connect to app@127.0.0.1:{port}")),
        "{stderr}"
    );
    assert!(!stderr.contains("hunter2secret") && !stdout.contains("hunter2secret"));

    let (code, _, stderr) = output(&mut project.command(&[
        "shadow",
        "--database-url",
        "postgresql://a:hunter2secret@host:notaport/x",
    ]));
    assert_eq!(code, 2);
    assert!(stderr.contains("not a valid connection string"), "{stderr}");
    assert!(!stderr.contains("hunter2secret"), "{stderr}");
}

#[test]
fn url_provider_uses_fresh_databases_and_drops_them() {
    let server = PgServer::start();
    let project = Project::new();
    project.file(
        "0001_t.sql",
        "CREATE TABLE IF NOT EXISTS t (id uuid REFERENCES auth.users (id));\n\
         ALTER TABLE t ENABLE ROW LEVEL SECURITY;\n",
    );
    // A role a migration creates is the run's too.
    project.file(
        "0002_role.sql",
        "CREATE ROLE reporting NOLOGIN;\nGRANT SELECT ON t TO reporting;\n",
    );
    let roles = || server.psql("SELECT string_agg(rolname, ',' ORDER BY rolname) FROM pg_roles");
    let before = roles();
    let url = server.url();
    let (code, stdout, stderr) = output(&mut project.command(&[
        "shadow",
        "--format",
        "json",
        "--database-url",
        &url,
        "--no-catalog-checks",
    ]));
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let report: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["postgres"]["provider"], "url");
    // The server is left as it was found: the emulation's roles and the migration's gone.
    assert_eq!(roles(), before);
    assert!(!stdout.contains(&server.password) && !stderr.contains(&server.password));
    assert_eq!(
        server.psql("SELECT count(*) FROM pg_database WHERE datname LIKE 'migration_guard%'"),
        "0"
    );
    assert_eq!(
        server.psql("SELECT count(*) FROM pg_roles WHERE rolname LIKE 'migration_guard%'"),
        "0"
    );
    // The server's `postgres` is a superuser, so the run used a role of its own.
    assert_eq!(
        server.psql("SELECT rolsuper FROM pg_roles WHERE rolname = 'postgres'"),
        "t"
    );
}

#[test]
fn ctrl_c_tears_the_cluster_down() {
    let project = Project::new();
    project.file("0001_slow.sql", "SELECT pg_sleep(60);\n");
    // A temp dir of this test's own, so other tests' clusters are not mistaken for ours;
    // open to the unprivileged user Postgres runs as.
    let tmp = project.path().join("tmp");
    fs::create_dir(&tmp).unwrap();
    for dir in [project.path(), tmp.as_path()] {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(dir, fs::Permissions::from_mode(0o755)).unwrap();
    }
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("migration-guard"))
        .current_dir(project.path())
        .env("TMPDIR", &tmp)
        .args(["shadow", "--provider", "local", "--dir", "migrations"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let mut lines = std::io::BufRead::lines(std::io::BufReader::new(stderr));
    let mut seen = Vec::new();
    for line in lines.by_ref() {
        let line = line.unwrap();
        seen.push(line.clone());
        if line.contains("applying 0001_slow.sql") {
            break;
        }
    }
    assert_eq!(
        cluster_dirs(&tmp).len(),
        1,
        "a cluster is running: {seen:?}"
    );
    std::thread::sleep(Duration::from_millis(300));
    let started = Instant::now();
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGINT,
    )
    .unwrap();
    let status = child.wait().unwrap();
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    assert_eq!(status.code(), Some(2), "{rest:?}");
    assert!(started.elapsed() < Duration::from_secs(10));
    assert!(
        rest.iter().any(|line| line.contains("interrupted")),
        "{rest:?}"
    );
    assert_eq!(
        cluster_dirs(&tmp),
        Vec::<std::path::PathBuf>::new(),
        "no server left"
    );
    assert_eq!(
        fs::read_dir(&tmp).unwrap().count(),
        0,
        "the cluster directory was removed"
    );
}

/// A signal while the server is still starting (initdb, pg_ctl): at every moment of it,
/// the run leaves neither a directory nor a process behind.
#[test]
fn sigterm_while_the_server_starts_leaves_nothing_behind() {
    let project = Project::new();
    project.file("0001_t.sql", "CREATE TABLE t (id int);\n");
    let tmp = project.path().join("tmp");
    fs::create_dir(&tmp).unwrap();
    for dir in [project.path(), tmp.as_path()] {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(dir, fs::Permissions::from_mode(0o755)).unwrap();
    }
    for delay_ms in [50, 150, 250, 350, 500, 700, 900] {
        let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("migration-guard"))
            .current_dir(project.path())
            .env("TMPDIR", &tmp)
            .args(["shadow", "--provider", "local", "--dir", "migrations"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(delay_ms));
        nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(child.id() as i32),
            nix::sys::signal::Signal::SIGTERM,
        )
        .unwrap();
        let status = child.wait().unwrap();
        // A run that finished before the signal exits 0 or 1 (the file cannot run
        // twice); an interrupted one, 2; one signalled before it set its handlers had
        // made nothing yet, and dies of it.
        use std::os::unix::process::ExitStatusExt;
        assert!(
            matches!(status.code(), Some(0..=2)) || status.signal() == Some(15),
            "after {delay_ms} ms: {status:?}"
        );
        std::thread::sleep(Duration::from_millis(300));
        assert_eq!(
            cluster_dirs(&tmp),
            Vec::<std::path::PathBuf>::new(),
            "after {delay_ms} ms"
        );
        let left: Vec<_> = fs::read_dir(&tmp)
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .collect();
        assert!(left.is_empty(), "after {delay_ms} ms: {left:?}");
    }
}

/// Data directories under `root` of running Postgres servers, from the process list.
fn cluster_dirs(root: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut dirs = Vec::new();
    for entry in fs::read_dir("/proc").unwrap().flatten() {
        let Ok(cmdline) = fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        let args: Vec<String> = cmdline
            .split(|&b| b == 0)
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect();
        if !args.first().is_some_and(|a| a.ends_with("postgres")) {
            continue;
        }
        if let Some(pos) = args.iter().position(|a| a == "-D") {
            let dir = std::path::PathBuf::from(&args[pos + 1]);
            if dir.starts_with(root) {
                dirs.push(dir);
            }
        }
    }
    dirs
}

/// A pull request's SQL is untrusted: whatever it says, it gets no more power than
/// hosted Supabase gives `postgres`. Each of these ran a program on the machine when the
/// session was a superuser acting as `postgres`.
#[test]
fn a_migration_cannot_become_superuser_or_run_programs() {
    const PROGRAM: &str = "CREATE TEMP TABLE out (line text);\nCOPY out FROM PROGRAM 'id';\n";
    for (escape, compat) in [
        ("SET ROLE NONE;", true),
        ("RESET ROLE;", true),
        ("SET ROLE supabase_admin;", true),
        ("SET SESSION AUTHORIZATION supabase_admin;", true),
        ("SET ROLE NONE;", false),
        // CREATEROLE on Postgres 15 may grant any role that is no superuser.
        ("GRANT pg_execute_server_program TO postgres;", true),
        (
            "CREATE ROLE helper IN ROLE pg_execute_server_program;\nGRANT helper TO postgres;",
            true,
        ),
        (
            "DO $$ BEGIN EXECUTE 'GRANT pg_execute_server_program TO postgres'; END $$;",
            true,
        ),
        // The gate runs only what the shadow itself built and signed.
        (
            "SELECT migration_guard_gate.as_superuser('ALTER ROLE postgres SUPERUSER', '00');",
            true,
        ),
        ("SELECT key FROM migration_guard_gate.key;", true),
        // A statement the gate would run is rebuilt, so nothing rides along with it.
        (
            "CREATE EXTENSION IF NOT EXISTS moddatetime VERSION '1.0'';ALTER ROLE postgres SUPERUSER;--';",
            true,
        ),
    ] {
        let project = Project::new();
        project.file("0001_escape.sql", format!("{escape}\n{PROGRAM}"));
        let extra: &[&str] = if compat {
            &[]
        } else {
            &["--no-supabase-compat"]
        };
        let (code, report, stderr) = shadow_json(&project, extra);
        let error = &report["migrations"][0]["error"];
        assert_eq!(code, 1, "{escape}: {report:#}\n{stderr}");
        assert_eq!(report["migrations"][0]["status"], "failed", "{escape}");
        assert!(
            matches!(
                error["sqlstate"].as_str(),
                Some("42501" | "42704" | "22023")
            ),
            "{escape}: {error:#}"
        );
        assert!(!stderr.contains("uid="), "{escape}: {stderr}");
    }
}

/// On Postgres 15 the migration role has no CREATEROLE (there it could grant itself the
/// server's program role), yet role statements work as on hosted Supabase.
#[test]
fn role_statements_work_as_on_hosted_supabase() {
    let project = Project::new();
    project.file(
        "0001_roles.sql",
        "CREATE ROLE reader NOLOGIN;\n\
         GRANT reader TO authenticator;\n\
         GRANT reader TO postgres;\n\
         ALTER ROLE authenticated SET statement_timeout = '9s';\n\
         ALTER ROLE authenticator SET pgrst.db_schemas = 'public, api';\n\
         CREATE TABLE IF NOT EXISTS readings (id int);\n\
         GRANT SELECT ON readings TO reader;\n\
         SET ROLE reader;\n\
         SELECT count(*) FROM readings;\n\
         RESET ROLE;\n",
    );
    project.file(
        "0002_more.sql",
        "ALTER ROLE reader RENAME TO analyst;\nREVOKE analyst FROM authenticator;\n",
    );
    let (code, report, stderr) = shadow_json(&project, &["--no-catalog-checks"]);
    assert_eq!(code, 0, "{report:#}\n{stderr}");
    assert_eq!(statuses(&report), ["applied", "applied"]);
}

/// One scrubber covers every text that leaves the tool: the server's error echoes the
/// literal a statement carried, and the report still shows no secret.
#[test]
fn a_secret_in_a_failing_statement_never_reaches_the_report() {
    // A fabricated service_role JWT (its signature is not real).
    const KEY: &str = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJpc3MiOiJzdXBhYmFzZSIsInJlZiI6ImFiY2RlZmdoaWprbG1ub3BxcnN0Iiwicm9sZSI6InNlcnZpY2Vfcm9sZSIsImlhdCI6MTcwMDAwMDAwMCwiZXhwIjoyMDAwMDAwMDAwfQ.Qk9HVVNfc2lnbmF0dXJlX25vdF9yZWFsX2F0X2FsbF8xMjM0";
    let project = Project::new();
    project.file(
        "0001_key.sql",
        format!("SELECT '{KEY}'::uuid;\nDO $$ BEGIN RAISE NOTICE 'using {KEY}'; END $$;\n"),
    );
    for format in ["json", "text", "markdown"] {
        let (code, stdout, stderr) =
            output(&mut project.command(&["shadow", "--provider", "local", "--format", format]));
        assert_eq!(code, 1, "{stdout}{stderr}");
        assert!(
            stdout.contains("invalid input syntax for type uuid")
                || stderr.contains("invalid input syntax for type uuid"),
            "{stdout}{stderr}"
        );
        assert!(
            !stdout.contains(KEY) && !stderr.contains(KEY),
            "{format}: {stdout}{stderr}"
        );
    }
}
