//! Runs a program as a child process and measures it: its wall time and its peak
//! resident memory, the kernel's `ru_maxrss` of that one child, read by `wait4` once its
//! output is read (so neither the bench nor any other child counts). Each contender's
//! runs are kept, and a table line gives the best and median wall time and the largest
//! peak seen.

// Each bench uses a part of it.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::os::unix::process::ExitStatusExt;
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use nix::libc;

/// One run of a child process.
pub struct Measured {
    pub wall: Duration,
    /// The child's peak resident set, in bytes.
    pub peak: u64,
    pub status: ExitStatus,
    pub stdout: Vec<u8>,
}

/// Runs `command` to its end, `input` written to its stdin (closed at once without),
/// its stdout read whole; stderr goes where the command says. Panics when it cannot
/// start or cannot be waited for.
#[expect(
    clippy::zombie_processes,
    reason = "the child is reaped by wait4, which std's Child does not know of"
)]
pub fn run(command: &mut Command, input: Option<Vec<u8>>) -> Measured {
    let started = Instant::now();
    let mut child = command
        .stdin(if input.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|error| panic!("cannot run {command:?}: {error}"));
    // Written from a thread of its own, so a child that answers as it reads never
    // blocks on a full stdout.
    let writer = input.map(|input| {
        let mut stdin = child.stdin.take().expect("piped stdin");
        std::thread::spawn(move || stdin.write_all(&input))
    });
    let mut stdout = Vec::new();
    child
        .stdout
        .take()
        .expect("piped stdout")
        .read_to_end(&mut stdout)
        .expect("read the child's stdout");
    if let Some(writer) = writer {
        writer
            .join()
            .expect("the writer thread")
            .expect("write the child's stdin");
    }
    let mut status = 0;
    // SAFETY: an all-zero rusage is a valid value, which wait4 fills in.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: the pid is this process's own child, not waited for yet (std's Child never
    // waits unless asked); both pointers are to live locals.
    let pid = unsafe { libc::wait4(child.id() as libc::pid_t, &mut status, 0, &mut usage) };
    assert_eq!(
        pid,
        child.id() as libc::pid_t,
        "wait4: {}",
        std::io::Error::last_os_error()
    );
    Measured {
        wall: started.elapsed(),
        // Linux counts ru_maxrss in KiB.
        peak: usage.ru_maxrss as u64 * 1024,
        status: ExitStatus::from_raw(status),
        stdout,
    }
}

/// The runs of one contender.
#[derive(Default)]
pub struct Runs {
    walls: Vec<Duration>,
    peaks: Vec<u64>,
}

impl Runs {
    pub fn push(&mut self, measured: &Measured) {
        self.push_wall(measured.wall);
        self.peaks.push(measured.peak);
    }

    /// A run timed here whose memory is not measured (it is not one process).
    pub fn push_wall(&mut self, wall: Duration) {
        self.walls.push(wall);
    }

    pub fn best(&self) -> Duration {
        *self.walls.iter().min().expect("at least one run")
    }

    pub fn median(&self) -> Duration {
        let mut walls = self.walls.clone();
        walls.sort();
        walls[walls.len() / 2]
    }

    /// The largest peak resident set of the runs, in bytes, when measured.
    pub fn peak(&self) -> Option<u64> {
        self.peaks.iter().max().copied()
    }

    /// `name`'s best and median wall time and its peak memory, on one line.
    pub fn line(&self, name: &str) -> String {
        let peak = self
            .peak()
            .map(|peak| format!("  peak {:>8.1} MiB", mib(peak)))
            .unwrap_or_default();
        format!(
            "  {name:<46} best {:>9.1} ms  median {:>9.1} ms{peak}",
            ms(self.best()),
            ms(self.median())
        )
    }

    /// How this contender compares with `other`: wall time (best, median, and the median
    /// of each run's ratio to the other's run of the same round) and, when both were
    /// measured, peak memory, as this one's over the other's. The runs of a round ran
    /// one after the other: on a machine whose speed drifts over minutes, their ratio
    /// is the steadiest figure.
    pub fn ratio_line(&self, name: &str, other: &Runs) -> String {
        let ratio = |a: Duration, b: Duration| a.as_secs_f64() / b.as_secs_f64();
        let memory = match (self.peak(), other.peak()) {
            (Some(mine), Some(theirs)) => {
                format!("  memory {:>5.2}x", mine as f64 / theirs as f64)
            }
            _ => String::new(),
        };
        let mut paired: Vec<f64> = self
            .walls
            .iter()
            .zip(&other.walls)
            .map(|(mine, theirs)| ratio(*mine, *theirs))
            .collect();
        paired.sort_by(f64::total_cmp);
        format!(
            "  {name:<46} time {:>5.2}x (best)  {:>5.2}x (median)  {:>5.2}x (paired){memory}",
            ratio(self.best(), other.best()),
            ratio(self.median(), other.median()),
            paired[paired.len() / 2]
        )
    }
}

pub fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

pub fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

/// Whether this is `cargo bench` (which passes `--bench`) rather than `cargo test`'s
/// quick smoke run.
pub fn measuring() -> bool {
    std::env::args().any(|arg| arg == "--bench")
}
