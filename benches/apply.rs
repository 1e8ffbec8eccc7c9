//! The apply engine against psql on the same server and the same 200 generated
//! migrations: `cat *.sql | psql -v ON_ERROR_STOP=1` as one stream (the target is within
//! 1.3x of it), and one `psql -f` per file as shell scripts do.
//!
//! Run with `cargo bench --bench apply`. Each contender gets a fresh database. Under
//! `cargo test` (no `--bench` argument) it is a quick smoke run over 10 files.

#[path = "applicable/mod.rs"]
mod applicable;
#[path = "../tests/it/common.rs"]
mod common;

use std::fmt::Write as _;
use std::process::{Command, Stdio};
use std::str::FromStr;
use std::time::{Duration, Instant};

use applicable::migration;
use common::{PgServer, Project};
use migration_guard::db::Database;
use migration_guard::engine::apply_all;
use migration_guard::migration::discover;

const FILES: usize = 200;
const ROUNDS: usize = 3;
const SMOKE_FILES: usize = 10;
/// psql prints every NOTICE; keep the benchmark's output readable.
const QUIET: &str = "-c client_min_messages=warning";

fn main() {
    let measuring = std::env::args().any(|arg| arg == "--bench");
    let (file_count, rounds) = if measuring {
        (FILES, ROUNDS)
    } else {
        (SMOKE_FILES, 1)
    };
    let project = Project::new();
    let mut statements = 0;
    for index in 0..file_count {
        let (sql, count) = migration(index);
        statements += count;
        project.file(
            &format!("{:014}_step_{index}.sql", 20250101000000u64 + index as u64),
            sql,
        );
    }
    let server = PgServer::start();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let discovery = discover(&project.migrations()).unwrap();
    let mut files: Vec<_> = discovery
        .migrations
        .iter()
        .map(|m| project.path().join(&m.path))
        .collect();
    files.sort();

    let mut best = [Duration::MAX; 3];
    for round in 0..rounds {
        let db = |name: &str| {
            let name = format!("{name}_{round}");
            server.psql(&format!("CREATE DATABASE {name}"));
            server.url_for(&name)
        };
        // 1. one psql stream
        let url = db("stream");
        let started = Instant::now();
        let mut psql = Command::new("psql")
            .env("PGOPTIONS", QUIET)
            .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", &url])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        {
            use std::io::Write;
            let mut stdin = psql.stdin.take().unwrap();
            for file in &files {
                stdin.write_all(&std::fs::read(file).unwrap()).unwrap();
            }
        }
        assert!(psql.wait().unwrap().success());
        best[0] = best[0].min(started.elapsed());

        // 2. one psql -f per file
        let url = db("perfile");
        let started = Instant::now();
        for file in &files {
            let status = Command::new("psql")
                .env("PGOPTIONS", QUIET)
                .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", &url, "-f"])
                .arg(file)
                .stdout(Stdio::null())
                .status()
                .unwrap();
            assert!(status.success());
        }
        best[1] = best[1].min(started.elapsed());

        // 3. the apply engine, history rows included
        let url = db("engine");
        let started = Instant::now();
        runtime.block_on(async {
            let config = tokio_postgres::Config::from_str(&url).unwrap();
            let db = Database::connect(&config).await.unwrap();
            let entries = apply_all(&db, &discovery.migrations).await.unwrap();
            assert!(entries.iter().all(|entry| entry.error.is_none()));
        });
        best[2] = best[2].min(started.elapsed());
    }

    let [stream, per_file, engine] = best;
    let mut report = String::new();
    let _ = writeln!(
        report,
        "{file_count} migrations, {statements} statements, best of {rounds}"
    );
    for (name, time) in [
        ("psql, one stream (cat *.sql | psql)", stream),
        ("psql -f, one process per file", per_file),
        ("migration-guard apply engine", engine),
    ] {
        let _ = writeln!(
            report,
            "  {name:<40} {:>8.1} ms  {:>5.2}x the stream",
            time.as_secs_f64() * 1000.0,
            time.as_secs_f64() / stream.as_secs_f64()
        );
    }
    print!("{report}");
}
