//! What the shadow's catalog checks cost: the whole `shadow` command on the same 200
//! generated migrations, once only applying (`--no-catalog-checks`) and once with a
//! catalog snapshot after each file and each file run a second time. The target is
//! under 2x the plain run.
//!
//! Run with `cargo bench --bench shadow`. Under `cargo test` (no `--bench` argument) it
//! is a quick smoke run over 10 files.

#[path = "applicable/mod.rs"]
mod applicable;
#[path = "../tests/it/common.rs"]
mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use applicable::migration;
use common::Project;

const FILES: usize = 200;
const ROUNDS: usize = 3;
const SMOKE_FILES: usize = 10;

fn main() {
    let measuring = std::env::args().any(|arg| arg == "--bench");
    let (file_count, rounds) = if measuring {
        (FILES, ROUNDS)
    } else {
        (SMOKE_FILES, 1)
    };
    let project = Project::new();
    for index in 0..file_count {
        project.file(
            &format!("{:014}_step_{index}.sql", 20250101000000u64 + index as u64),
            migration(index).0,
        );
    }
    let run = |extra: &[&str]| {
        let started = Instant::now();
        let output = Command::new(env!("CARGO_BIN_EXE_migration-guard"))
            .current_dir(project.path())
            .env("RUST_LOG", "warn")
            .args([
                "shadow",
                "--provider",
                "local",
                "--dir",
                "migrations",
                "--format",
                "json",
            ])
            .args(extra)
            .output()
            .unwrap();
        let elapsed = started.elapsed();
        let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
        let applied = report["migrations"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m["status"] == "applied")
            .count();
        assert_eq!(applied, file_count, "{report:#}");
        let semantic = report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["rule"] == "not-idempotent")
            .count();
        assert_eq!(semantic, 0, "the generated migrations can run twice");
        elapsed
    };
    let mut plain = Duration::MAX;
    let mut checked = Duration::MAX;
    for _ in 0..rounds {
        plain = plain.min(run(&["--no-catalog-checks"]));
        checked = checked.min(run(&[]));
    }
    println!(
        "{file_count} migrations, the whole shadow command (local provider), best of {rounds}"
    );
    println!(
        "  {:<44} {:>8.1} ms",
        "apply only (--no-catalog-checks)",
        plain.as_secs_f64() * 1000.0
    );
    println!(
        "  {:<44} {:>8.1} ms  {:>5.2}x",
        "snapshot after each file + second run of each",
        checked.as_secs_f64() * 1000.0,
        checked.as_secs_f64() / plain.as_secs_f64()
    );
}
