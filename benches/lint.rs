//! `migration-guard lint` against `squawk` (PyPI `squawk-cli`) on the same 2,000
//! generated migration files, each tool as a whole process, best of three; prints the
//! ratio. Run with `cargo bench --bench lint` (needs `squawk` on PATH). Under
//! `cargo test` it is a quick smoke run over 20 files, without squawk.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[path = "generate/mod.rs"]
mod generate;

use generate::{Lcg, migration};

const FILES: usize = 2_000;
const ROUNDS: usize = 5;

fn main() {
    let measuring = std::env::args().any(|arg| arg == "--bench");
    let count = if measuring { FILES } else { 20 };
    let dir = tempfile::tempdir().expect("temp dir");
    let mut rng = Lcg(0x11a7);
    let mut statements = 0;
    let mut paths = Vec::new();
    for index in 0..count {
        let (sql, n) = migration(&mut rng, index);
        statements += n;
        let path = dir.path().join(format!(
            "{:014}_m{index}.sql",
            20250101000000u64 + index as u64
        ));
        std::fs::write(&path, sql).expect("write");
        paths.push(path);
    }

    let ours = best_of(if measuring { ROUNDS } else { 1 }, || {
        let output = Command::new(env!("CARGO_BIN_EXE_migration-guard"))
            .args(["lint", "--format", "json", "--dir"])
            .arg(dir.path())
            .stderr(Stdio::null())
            .output()
            .expect("run migration-guard");
        let report: serde_json::Value =
            serde_json::from_slice(&output.stdout).expect("JSON report");
        assert_eq!(report["migrations"].as_array().map(Vec::len), Some(count));
    });
    println!("{count} files, {statements} statements");
    println!("  migration-guard lint  {:>9.1} ms", ms(ours));
    if !measuring {
        return;
    }
    let squawk = best_of(ROUNDS, || {
        let status = Command::new("squawk")
            .args(&paths)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("run squawk (pip install squawk-cli)");
        assert!(status.code().is_some(), "squawk was killed");
    });
    println!("  squawk                {:>9.1} ms", ms(squawk));
    println!(
        "  migration-guard takes {:.2}x squawk's time",
        ours.as_secs_f64() / squawk.as_secs_f64()
    );
}

fn best_of(rounds: usize, mut run: impl FnMut()) -> Duration {
    (0..rounds)
        .map(|_| {
            let started = Instant::now();
            run();
            started.elapsed()
        })
        .min()
        .expect("at least one round")
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}
