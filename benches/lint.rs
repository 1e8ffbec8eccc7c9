//! `migration-guard lint` against `squawk` (PyPI `squawk-cli`), each tool as a whole
//! process on the same files, their runs alternating: wall time and peak resident memory
//! (each child's own, from `wait4`), and the ratios, ours over squawk's.
//!
//! 1. 2,000 generated migration files (~25k statements) in one run.
//! 2. One migration of 20 MB of simple statements (upserts, inserts, updates): also the
//!    peak memory over the file's size.
//!
//! Run with `cargo bench --bench lint` (needs squawk: `SQUAWK`, pyenv's, or on PATH).
//! Under `cargo test` (no `--bench` argument) it is a quick smoke run over 20 files and a
//! 200 kB file, without squawk.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

#[path = "generate/mod.rs"]
mod generate;
#[path = "measure/mod.rs"]
mod measure;

use generate::{Lcg, big_migration, migration};
use measure::{Runs, measuring};

const FILES: usize = 2_000;
const BIG_BYTES: usize = 20_000_000;
const ROUNDS: usize = 5;
const BIG_ROUNDS: usize = 3;

fn main() {
    let measuring = measuring();
    let (files, big_bytes) = if measuring {
        (FILES, BIG_BYTES)
    } else {
        (20, 200_000)
    };

    let many = tempfile::tempdir().expect("temp dir");
    let mut rng = Lcg(0x11a7);
    let mut statements = 0;
    let mut paths = Vec::new();
    for index in 0..files {
        let (sql, n) = migration(&mut rng, index);
        statements += n;
        let path = many.path().join(format!(
            "{:014}_m{index}.sql",
            20250101000000u64 + index as u64
        ));
        std::fs::write(&path, sql).expect("write");
        paths.push(path);
    }
    println!("{files} files, {statements} statements");
    compare(many.path(), &paths, files, measuring, ROUNDS);

    let big = tempfile::tempdir().expect("temp dir");
    let (sql, statements) = big_migration(&mut Lcg(0xb16), big_bytes);
    let path = big.path().join("20250101000000_seed_products.sql");
    std::fs::write(&path, &sql).expect("write");
    println!(
        "one file of {:.1} MB, {statements} statements",
        sql.len() as f64 / 1e6
    );
    let (ours, squawk) = compare(big.path(), &[path], 1, measuring, BIG_ROUNDS);
    let per_byte = |runs: &Runs| runs.peak().unwrap_or_default() as f64 / sql.len() as f64;
    println!(
        "  peak memory over the file's size              migration-guard {:>6.1}x{}",
        per_byte(&ours),
        squawk
            .map(|squawk| format!("  squawk {:>6.1}x", per_byte(&squawk)))
            .unwrap_or_default()
    );
}

/// Lints the `files` files of `dir` (at `paths`) `rounds` times with each tool in turn
/// (once, ours only, in a smoke run), prints both and the ratios; returns the runs.
/// squawk's own executable: `SQUAWK`, else what pyenv's shim would run, else `squawk`
/// on PATH. A shim is a shell script that starts pyenv, which would add its own start-up
/// (about 85 ms here) to every run of squawk.
fn squawk_binary() -> PathBuf {
    if let Some(path) = std::env::var_os("SQUAWK") {
        return path.into();
    }
    Command::new("pyenv")
        .args(["which", "squawk"])
        .stderr(Stdio::null())
        .output()
        .ok()
        .filter(|output| output.status.success())
        .and_then(|output| String::from_utf8(output.stdout).ok())
        .map_or_else(|| "squawk".into(), |path| PathBuf::from(path.trim()))
}

fn compare(
    dir: &Path,
    paths: &[PathBuf],
    files: usize,
    measuring: bool,
    rounds: usize,
) -> (Runs, Option<Runs>) {
    let mut ours = Runs::default();
    let mut squawk = Runs::default();
    let squawk_binary = if measuring {
        squawk_binary()
    } else {
        PathBuf::new()
    };
    for _ in 0..if measuring { rounds } else { 1 } {
        let run = measure::run(
            Command::new(env!("CARGO_BIN_EXE_migration-guard"))
                .args(["lint", "--format", "json", "--dir"])
                .arg(dir)
                .stderr(Stdio::null()),
            None,
        );
        let report: serde_json::Value = serde_json::from_slice(&run.stdout).expect("JSON report");
        assert_eq!(report["migrations"].as_array().map(Vec::len), Some(files));
        ours.push(&run);
        if measuring {
            let run = measure::run(
                Command::new(&squawk_binary)
                    .args(paths)
                    .stderr(Stdio::null()),
                None,
            );
            assert!(run.status.code().is_some(), "squawk was killed");
            squawk.push(&run);
        }
    }
    println!("{}", ours.line("migration-guard lint"));
    if !measuring {
        return (ours, None);
    }
    println!("{}", squawk.line("squawk"));
    println!("{}", ours.ratio_line("migration-guard / squawk", &squawk));
    (ours, Some(squawk))
}
