//! Supabase fidelity: the migration sets in tests/fixtures/fidelity, each modelled on
//! something real projects need, apply in the shadow on vanilla Postgres, and each fails
//! without the piece of the emulation that makes it work.

use crate::common;

use std::path::PathBuf;

use common::{PgServer, output};
use serde_json::Value;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("tests/fixtures/fidelity/{name}"))
}

/// The shadow (local provider) on fixture `name`: exit code and JSON report.
fn shadow(name: &str, extra: &[&str]) -> (i32, Value) {
    let dir = fixture(name);
    let mut command = assert_cmd::Command::cargo_bin("migration-guard").unwrap();
    command
        .env_remove("RUST_LOG")
        .args(["shadow", "--format", "json", "--provider", "local", "--dir"])
        .arg(&dir)
        .args(extra);
    let (code, stdout, stderr) = output(&mut command);
    let report =
        serde_json::from_str(&stdout).unwrap_or_else(|error| panic!("{error}: {stdout}\n{stderr}"));
    (code, report)
}

/// Every migration applied, nothing at error level.
fn assert_applies(name: &str) -> Value {
    let (code, report) = shadow(name, &[]);
    let migrations = report["migrations"].as_array().unwrap();
    assert!(!migrations.is_empty());
    for migration in migrations {
        assert_eq!(migration["status"], "applied", "{name}: {report:#}");
    }
    let errors: Vec<_> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["severity"] == "error")
        .collect();
    assert!(errors.is_empty(), "{name}: {errors:#?}");
    assert_eq!(code, 0, "{name}: {report:#}");
    report
}

/// The message of the first failed migration.
fn failure(report: &Value) -> String {
    report["migrations"]
        .as_array()
        .unwrap()
        .iter()
        .find_map(|m| m["error"]["message"].as_str())
        .unwrap_or_else(|| panic!("no migration failed: {report:#}"))
        .to_string()
}

fn stubbed(report: &Value) -> Vec<String> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == "extension-stubbed")
        .map(|f| {
            f["message"]
                .as_str()
                .unwrap()
                .split(' ')
                .next()
                .unwrap()
                .to_string()
        })
        .collect()
}

#[test]
fn the_platform_objects_make_real_migrations_apply_and_plain_postgres_fails_them() {
    for (name, without) in [
        ("search_path", "function uuid_generate_v4() does not exist"),
        ("auth_storage", "schema \"auth\" does not exist"),
        ("realtime", "role \"authenticated\" does not exist"),
    ] {
        let report = assert_applies(name);
        assert!(stubbed(&report).is_empty(), "{name}: {report:#}");
        let (code, plain) = shadow(name, &["--no-supabase-compat"]);
        assert_eq!(code, 1, "{name}: {plain:#}");
        assert_eq!(failure(&plain), without, "{name}");
    }
}

#[test]
fn extension_stand_ins_make_migrations_apply_and_are_reported() {
    for (name, extension) in [
        ("pg_cron", "pg_cron"),
        ("pg_net_webhooks", "pg_net"),
        ("pgjwt", "pgjwt"),
        ("http", "http"),
        ("pg_jsonschema", "pg_jsonschema"),
        ("vault", "supabase_vault"),
        ("graphql", "pg_graphql"),
        ("pgsodium", "pgsodium"),
    ] {
        let report = assert_applies(name);
        assert_eq!(stubbed(&report), [extension], "{name}: {report:#}");
    }
}

#[test]
fn without_stand_ins_a_created_extension_is_unavailable_and_a_preinstalled_one_missing() {
    for name in [
        "pg_cron",
        "pg_net_webhooks",
        "pgjwt",
        "http",
        "pg_jsonschema",
    ] {
        let (code, report) = shadow(name, &["--no-extension-stubs"]);
        assert_eq!(code, 2, "{name}: {report:#}");
        let unavailable: Vec<_> = report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["rule"] == "extension-unavailable")
            .collect();
        assert_eq!(unavailable.len(), 1, "{name}: {report:#}");
        assert!(
            unavailable[0]["message"]
                .as_str()
                .unwrap()
                .contains("--no-extension-stubs")
        );
        assert!(
            report["migrations"]
                .as_array()
                .unwrap()
                .iter()
                .all(|m| m["status"] == "local"),
            "nothing ran: {report:#}"
        );
    }
    for (name, missing) in [
        ("vault", "schema \"vault\" does not exist"),
        ("graphql", "schema \"graphql_public\" does not exist"),
    ] {
        let (code, report) = shadow(name, &["--no-extension-stubs"]);
        assert_eq!(code, 1, "{name}: {report:#}");
        assert_eq!(failure(&report), missing);
    }
}

#[test]
fn an_extension_nothing_stands_in_for_stops_the_run_before_any_migration() {
    let (code, report) = shadow("unavailable", &[]);
    assert_eq!(code, 2, "{report:#}");
    assert_eq!(report["status"], "error");
    let finding = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == "extension-unavailable")
        .unwrap_or_else(|| panic!("{report:#}"));
    assert!(
        finding["file"]
            .as_str()
            .unwrap()
            .ends_with("20250102000000_embeddings.sql")
    );
    assert_eq!(finding["line"], 2);
    assert!(finding["message"].as_str().unwrap().contains("vector"));
    assert!(
        finding["help"]
            .as_str()
            .unwrap()
            .contains("supabase/postgres")
    );
    // The first file, which needs nothing, did not run either.
    assert_eq!(report["migrations"][0]["status"], "local", "{report:#}");
    // The headline every format shows names the extension and where it is created.
    assert!(
        report["error"]["message"]
            .as_str()
            .unwrap()
            .contains("vector (20250102000000_embeddings.sql:2)"),
        "{report:#}"
    );
}

/// Runs `sql` on `server` as a plain non-superuser with the rights hosted `postgres`
/// has: what the shadow would do without supautils' emulation.
fn as_plain_postgres_role(server: &PgServer, sql: &str) -> (bool, String) {
    server.psql(
        "CREATE ROLE hosted_like LOGIN NOSUPERUSER CREATEDB CREATEROLE REPLICATION BYPASSRLS",
    );
    server.psql("CREATE ROLE authenticator LOGIN NOINHERIT");
    server.psql("CREATE ROLE anon NOLOGIN");
    server.psql("CREATE ROLE authenticated NOLOGIN");
    server.psql("CREATE DATABASE plain OWNER hosted_like");
    server.psql_in(
        "plain",
        "CREATE SCHEMA extensions AUTHORIZATION hosted_like",
    );
    let output = std::process::Command::new("psql")
        .args([
            "-X",
            "-v",
            "ON_ERROR_STOP=1",
            &server.url_for("plain"),
            "-c",
        ])
        .arg(format!("SET ROLE hosted_like; {sql}"))
        .output()
        .expect("psql");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stderr).to_string(),
    )
}

#[test]
fn supautils_lets_postgres_create_privileged_extensions_and_set_postgrest_settings() {
    for (name, refused) in [
        (
            "privileged_extensions",
            "permission denied to create extension \"moddatetime\"",
        ),
        (
            "postgrest_settings",
            "permission denied to set parameter \"pgrst.db_schemas\"",
        ),
    ] {
        assert_applies(name);
        let server = PgServer::start();
        let sql = std::fs::read_dir(fixture(name))
            .unwrap()
            .map(|entry| std::fs::read_to_string(entry.unwrap().path()).unwrap())
            .collect::<String>();
        let (ok, stderr) = as_plain_postgres_role(&server, &sql);
        assert!(!ok, "{name} ran as a plain role");
        assert!(stderr.contains(refused), "{name}: {stderr}");
    }
}

#[test]
fn advisors_plpgsql_check_and_pgtap_run_after_the_migrations() {
    let dir =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/checks/supabase/migrations");
    let mut command = assert_cmd::Command::cargo_bin("migration-guard").unwrap();
    command
        .env_remove("RUST_LOG")
        .args(["shadow", "--format", "json", "--provider", "local", "--dir"])
        .arg(&dir);
    let (code, stdout, stderr) = output(&mut command);
    let report: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stderr}"));
    assert_eq!(code, 1, "{report:#}");
    let found: Vec<(String, u64)> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| {
            let rule = f["rule"].as_str().unwrap();
            rule.starts_with("advisor-") || rule.starts_with("plpgsql-")
        })
        .map(|f| {
            (
                f["rule"].as_str().unwrap().to_string(),
                f["line"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        found,
        [
            ("advisor-rls-disabled-in-public".to_string(), 13),
            ("advisor-auth-rls-initplan".to_string(), 9),
            // The UPDATE naming the column that does not exist.
            ("plpgsql-error".to_string(), 19),
        ],
        "{report:#}"
    );
    let tests: Vec<(String, bool, u64)> = report["verify"]
        .as_array()
        .unwrap()
        .iter()
        .map(|check| {
            (
                check["check"].as_str().unwrap().to_string(),
                check["ok"].as_bool().unwrap(),
                check["line"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        tests,
        [
            ("1 - the todos table exists".to_string(), true, 3),
            ("2 - there is one todo".to_string(), false, 4),
        ]
    );
    assert!(
        report["verify"][1]["detail"]
            .as_str()
            .unwrap()
            .contains("have: 0")
    );
}

/// Today's Vault grants `postgres` only SELECT and DELETE on `vault.secrets`: a foreign
/// key to it fails as on a new project, and the failure says why older projects differ.
#[test]
fn a_foreign_key_to_vault_secrets_fails_and_says_older_projects_allowed_it() {
    let (code, report) = shadow("vault_foreign_key", &[]);
    assert_eq!(code, 1, "{report:#}");
    assert_eq!(failure(&report), "permission denied for table secrets");
    let hint = report["migrations"][0]["error"]["hint"]
        .as_str()
        .unwrap_or_default();
    assert!(
        hint.contains("Vault 0.3") && hint.contains("Projects created before had more rights"),
        "{report:#}"
    );
}

/// Hosted Postgres 15 projects have pgjwt pre-installed in `extensions` (17 has it no
/// more): on 15 a migration may call `extensions.sign` without creating it, on 17 it
/// fails as it would there.
#[test]
fn pgjwt_is_preinstalled_on_15_and_not_on_17() {
    let report = assert_applies("pgjwt_preinstalled");
    assert_eq!(stubbed(&report), ["pgjwt"], "{report:#}");

    let Some(_engine) = crate::docker::engine_with(crate::docker::IMAGE_17) else {
        return;
    };
    let mut command = assert_cmd::Command::cargo_bin("migration-guard").unwrap();
    command
        .env_remove("RUST_LOG")
        .args([
            "shadow",
            "--format",
            "json",
            "--provider",
            "docker",
            "--image",
            crate::docker::IMAGE_17,
            "--dir",
        ])
        .arg(fixture("pgjwt_preinstalled"));
    let (code, stdout, stderr) = output(&mut command);
    let report: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stderr}"));
    assert_eq!(code, 1, "{report:#}");
    assert_eq!(
        failure(&report),
        "function extensions.sign(json, text) does not exist"
    );
}
