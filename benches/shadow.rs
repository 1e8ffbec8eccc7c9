//! The full shadow against psql, on the same 200 generated migrations and the same
//! already-running Postgres server (started once, so neither side pays for a server
//! starting):
//!
//! - `migration-guard shadow --provider url`, the whole command as it runs by default:
//!   the lint, a fresh database with the Supabase emulation built in it, applying
//!   each file with its history row, the catalog checks after each file, the second
//!   run of every file, the advisors and plpgsql_check, and removing it all;
//! - the same with `--no-catalog-checks` (only applying): what the checks cost;
//! - `cat *.sql | psql -v ON_ERROR_STOP=1` into a fresh database that already holds the
//!   same emulation (built by the shadow's own code, untimed, and cloned untimed): the
//!   SQL alone.
//!
//! Each prints its best and median wall time and its peak memory; then the ratios. The
//! runs alternate. Run with `cargo bench --bench shadow`. Under `cargo test` (no
//! `--bench` argument) it is a quick smoke run over 10 files.

#[path = "applicable/mod.rs"]
mod applicable;
#[path = "../tests/it/common.rs"]
mod common;
#[path = "measure/mod.rs"]
mod measure;

use std::process::{Command, Stdio};
use std::time::Duration;

use applicable::migration;
use common::{PgServer, Project};
use measure::{Runs, measuring};
use migration_guard::db::quote_ident;
use migration_guard::shadow::docker::{DEFAULT_IMAGE, DockerOptions, Reach};
use migration_guard::shadow::{ProviderChoice, Shadow, ShadowOptions};

const FILES: usize = 200;
const ROUNDS: usize = 5;
const SMOKE_FILES: usize = 10;

fn main() {
    let measuring = measuring();
    let (file_count, rounds) = if measuring {
        (FILES, ROUNDS)
    } else {
        (SMOKE_FILES, 1)
    };
    let project = Project::new();
    let mut sql = Vec::new();
    for index in 0..file_count {
        let (text, _) = migration(index);
        sql.extend_from_slice(text.as_bytes());
        project.file(
            &format!("{:014}_step_{index}.sql", 20250101000000u64 + index as u64),
            text,
        );
    }
    let server = PgServer::start();
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");

    let mut checked = Runs::default();
    let mut plain = Runs::default();
    let mut psql = Runs::default();
    for round in 0..rounds {
        let database = format!("psql_{round}");
        let shadow = runtime.block_on(emulated(&server, &database));
        let run = measure::run(
            Command::new("psql")
                // The search_path the shadow gives the migrations' session.
                .env(
                    "PGOPTIONS",
                    "-c client_min_messages=warning -c search_path=public,extensions",
                )
                .args([
                    "-X",
                    "-q",
                    "-v",
                    "ON_ERROR_STOP=1",
                    &server.url_for(&database),
                ]),
            Some(sql.clone()),
        );
        assert!(run.status.success(), "psql failed");
        psql.push(&run);
        server.psql(&format!(
            "DROP DATABASE {} WITH (FORCE)",
            quote_ident(&database)
        ));
        runtime.block_on(shadow.stop());

        checked.push(&shadow_command(&project, &server, file_count, &[]));
        plain.push(&shadow_command(
            &project,
            &server,
            file_count,
            &["--no-catalog-checks"],
        ));
    }

    println!("{file_count} migrations on one running server (the url provider), best of {rounds}");
    println!("{}", checked.line("migration-guard shadow"));
    println!(
        "{}",
        plain.line("migration-guard shadow --no-catalog-checks")
    );
    println!("{}", psql.line("psql, one stream, emulation already there"));
    println!("{}", checked.ratio_line("shadow / psql", &psql));
    println!(
        "{}",
        plain.ratio_line("shadow --no-catalog-checks / psql", &psql)
    );
    println!(
        "{}",
        checked.ratio_line("catalog checks: shadow / --no-catalog-checks", &plain)
    );
}

/// The whole `shadow` command on `server`, with `extra` arguments; asserts that every
/// file applied and none failed its second run.
fn shadow_command(
    project: &Project,
    server: &PgServer,
    file_count: usize,
    extra: &[&str],
) -> measure::Measured {
    let run = measure::run(
        Command::new(env!("CARGO_BIN_EXE_migration-guard"))
            .current_dir(project.path())
            .env("RUST_LOG", "warn")
            .args([
                "shadow",
                "--provider",
                "url",
                "--database-url",
                &server.url(),
            ])
            .args(["--dir", "migrations", "--format", "json"])
            .args(extra)
            .stderr(Stdio::inherit()),
        None,
    );
    let report: serde_json::Value = serde_json::from_slice(&run.stdout).expect("JSON report");
    let applied = report["migrations"]
        .as_array()
        .expect("migrations")
        .iter()
        .filter(|m| m["status"] == "applied")
        .count();
    assert_eq!(applied, file_count, "{report:#}");
    let not_idempotent = report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| f["rule"] == "not-idempotent")
        .count();
    assert_eq!(not_idempotent, 0, "the generated migrations can run twice");
    run
}

/// A fresh database `name` on `server` holding the shadow's Supabase emulation (the
/// roles, the schemas, the extension stand-ins, the gate), built by the shadow's own
/// code; the returned shadow owns the roles it needs, and is stopped once psql is done.
async fn emulated(server: &PgServer, name: &str) -> Shadow {
    let options = ShadowOptions {
        provider: ProviderChoice::Url,
        database_url: Some(server.url()),
        pg_bin: None,
        docker: DockerOptions {
            image: DEFAULT_IMAGE.to_string(),
            reach: Reach::Auto,
            ready_timeout: Duration::from_secs(60),
        },
        supabase_compat: true,
        extension_stubs: true,
        supabase: None,
        automatic_api_grants: false,
    };
    let mut shadow = Shadow::start(&options).await.expect("the shadow starts");
    let prepared = shadow.prepare(&options).await.expect("the shadow is ready");
    let databases = shadow.databases(&prepared).await.expect("its database");
    let row = databases
        .privileged
        .client
        .query_one("SELECT current_database()", &[])
        .await
        .expect("its name");
    // Its database holds the emulation: psql's database is cloned from it.
    let template: String = row.get(0);
    drop(databases);
    // A database is cloned only once nobody is connected to it.
    server.psql(&format!(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{template}'"
    ));
    while server.psql(&format!(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = '{template}'"
    )) != "0"
    {
        std::thread::sleep(Duration::from_millis(20));
    }
    server.psql(&format!(
        "CREATE DATABASE {} TEMPLATE {}",
        quote_ident(name),
        quote_ident(&template)
    ));
    shadow
}
