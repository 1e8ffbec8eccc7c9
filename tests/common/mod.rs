//! Helpers shared by the integration tests: a project directory on disk and the binary.

#![allow(dead_code)]

use std::fs;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use tempfile::TempDir;

/// A throwaway project folder with a `migrations` directory.
pub struct Project {
    pub root: TempDir,
}

impl Project {
    pub fn new() -> Self {
        let root = tempfile::tempdir().expect("temp dir");
        fs::create_dir(root.path().join("migrations")).expect("migrations dir");
        Project { root }
    }

    pub fn path(&self) -> &Path {
        self.root.path()
    }

    pub fn migrations(&self) -> PathBuf {
        self.root.path().join("migrations")
    }

    /// Writes `migrations/<name>` and returns its path.
    pub fn file(&self, name: &str, contents: impl AsRef<[u8]>) -> PathBuf {
        let path = self.migrations().join(name);
        fs::write(&path, contents).expect("write migration");
        path
    }

    /// The binary, run in the project root with `--dir migrations`.
    pub fn command(&self, args: &[&str]) -> Command {
        self.command_in("migrations", args)
    }

    /// The binary, run in the project root with `--dir <dir>`.
    pub fn command_in(&self, dir: &str, args: &[&str]) -> Command {
        let mut command = Command::cargo_bin("migration-guard").expect("binary");
        command
            .current_dir(self.path())
            .env_remove("RUST_LOG")
            .env_remove("MIGRATION_GUARD_FORMAT")
            .env("NO_COLOR", "1")
            .args(args)
            .args(["--dir", dir]);
        command
    }
}

/// Runs the command and returns (exit code, stdout, stderr).
pub fn output(command: &mut Command) -> (i32, String, String) {
    let output = command.output().expect("run the binary");
    (
        output.status.code().expect("exit code"),
        String::from_utf8(output.stdout).expect("utf-8 stdout"),
        String::from_utf8(output.stderr).expect("utf-8 stderr"),
    )
}
