//! Splits 2,000 generated migration files and reports statements and megabytes per second.
//!
//! The files are made in memory from a fixed seed, so every run splits the same text: tables,
//! indexes, plpgsql functions whose `$$` bodies hold `;`, triggers, row level security
//! policies, and inserts whose string literals hold `;` and doubled quotes, with comments.

use std::hint::black_box;
use std::time::{Duration, Instant};

use migration_guard::sql::split::split;

#[path = "generate/mod.rs"]
mod generate;

use generate::{Lcg, migration};

const FILES: usize = 2_000;
const ITERATIONS: usize = 11;

fn main() {
    let mut rng = Lcg(0x5eed);
    let (files, counts): (Vec<String>, Vec<usize>) =
        (0..FILES).map(|index| migration(&mut rng, index)).unzip();
    let expected: usize = counts.iter().sum();
    let bytes: usize = files.iter().map(String::len).sum();

    let mut times: Vec<Duration> = Vec::with_capacity(ITERATIONS);
    for _ in 0..ITERATIONS {
        let started = Instant::now();
        let mut statements = 0;
        for file in &files {
            statements += black_box(split(black_box(file))).statements.len();
        }
        times.push(started.elapsed());
        assert_eq!(statements, expected, "the generated files split as written");
    }
    times.sort();
    let best = times[0];
    let median = times[ITERATIONS / 2];

    let megabytes = bytes as f64 / 1_000_000.0;
    println!("files:          {FILES}");
    println!("statements:     {expected}");
    println!("size:           {megabytes:.2} MB");
    for (label, time) in [("best", best), ("median", median)] {
        let seconds = time.as_secs_f64();
        println!(
            "{label:<7} {:>8.2} ms  {:>12.0} statements/s  {:>8.1} MB/s",
            seconds * 1000.0,
            expected as f64 / seconds,
            megabytes / seconds
        );
    }
}
