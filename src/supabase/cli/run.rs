//! Runs the `supabase` executable without a terminal: `link` and `db push`.
//!
//! The executable is `$SUPABASE_CLI` when set, otherwise `supabase` on PATH. Every run
//! gets `--workdir` (so the CLI never climbs to a parent folder's `supabase/config.toml`),
//! a null stdin (the CLI's prompts then take their defaults; `db push` also gets `--yes`),
//! `NO_COLOR`, and a timeout after which the whole process group is killed.
//!
//! Secrets travel only in the child's environment: the access token as
//! `SUPABASE_ACCESS_TOKEN`, the database password as `SUPABASE_DB_PASSWORD`, and the
//! password of a `--db-url` as `PGPASSWORD` (the CLI's Postgres driver reads it), the URL
//! itself passed without it. The parent's own values of those variables are not inherited,
//! so every secret the child can see is one this module knows and masks: in the captured
//! output, in parsed fields and in error messages.

use std::ffi::OsString;
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, LazyLock, Mutex, PoisonError};
use std::time::Duration;

use regex::Regex;
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::process::Command;
use tokio::task::JoinHandle;

use super::output::{PushFailure, PushOutput, Refusal, clean_lines};

const PROGRAM_ENV: &str = "SUPABASE_CLI";
const DEFAULT_PROGRAM: &str = "supabase";
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30 * 60);
const INSTALL_HINT: &str =
    "install it (https://supabase.com/docs/guides/local-development/cli/getting-started)";
const MASK: &str = "***";
const ACCESS_TOKEN_ENV: &str = "SUPABASE_ACCESS_TOKEN";
const DB_PASSWORD_ENV: &str = "SUPABASE_DB_PASSWORD";
const PGPASSWORD_ENV: &str = "PGPASSWORD";
const SECRET_ENV: [&str; 3] = [ACCESS_TOKEN_ENV, DB_PASSWORD_ENV, PGPASSWORD_ENV];
/// How long the output pipes may stay open once the process group is gone.
const DRAIN_GRACE: Duration = Duration::from_secs(5);

/// Lines of the CLI's progress that say nothing about why it failed.
static NOISE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"^(?:Connecting to (?:remote|local) database\.\.\.|DRY RUN: .*|Skipping migration .*|Initialising login role\.\.\.|Using workdir .*|Try rerunning the command with --debug to troubleshoot the error\.)$",
    )
    .expect("valid regex")
});
/// The timestamp Go's `log.Fatal` puts before the CLI's token errors.
static LOG_TIMESTAMP: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^[0-9]{4}/[0-9]{2}/[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2} ").expect("valid regex")
});

/// A configured `supabase` executable for one project directory.
#[derive(Debug, Clone)]
pub struct SupabaseCli {
    program: PathBuf,
    workdir: PathBuf,
    access_token: Option<Secret>,
    db_password: Option<Secret>,
    env: Vec<(OsString, Secret)>,
    timeout: Duration,
}

/// A value that must never be shown.
#[derive(Clone)]
struct Secret(String);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(MASK)
    }
}

/// The database a push targets.
#[derive(Clone, Default)]
pub enum Target {
    /// The project recorded by `supabase link` (`--linked`), reached with the database
    /// password.
    #[default]
    Linked,
    /// A connection URL (`--db-url`); its password is moved to the environment.
    DbUrl(String),
}

impl fmt::Debug for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::Linked => f.write_str("Linked"),
            Target::DbUrl(url) => f
                .debug_tuple("DbUrl")
                .field(&split_password(url).0)
                .finish(),
        }
    }
}

/// The flags of one `supabase db push`.
#[derive(Debug, Clone, Default)]
pub struct PushOptions {
    pub target: Target,
    /// `--dry-run`: list the pending migrations, apply nothing.
    pub dry_run: bool,
    /// `--include-all`: also apply files older than the last applied version.
    pub include_all: bool,
}

/// What a run printed, secrets masked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Captured {
    pub stdout: String,
    pub stderr: String,
}

/// A push that exited successfully.
#[derive(Debug, Clone)]
pub struct PushRun {
    pub output: PushOutput,
    pub captured: Captured,
}

/// Why a run of the CLI did not succeed.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error("{}", not_found(program))]
    NotFound { program: PathBuf },
    #[error("cannot run the Supabase CLI `{}`: {source}", program.display())]
    Spawn {
        program: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error(
        "project directory {} does not exist; the Supabase CLI runs in the folder that holds `supabase/`",
        workdir.display()
    )]
    NoWorkdir { workdir: PathBuf },
    #[error(
        "`{command}` did not finish within {timeout:?} and was stopped{}; if a migration legitimately takes longer, raise the timeout",
        running.as_ref().map(|file| format!(" while applying {file}")).unwrap_or_default()
    )]
    Timeout {
        command: String,
        timeout: Duration,
        /// The migration that was being applied, if any: rolled back with its process.
        running: Option<String>,
        captured: Captured,
    },
    #[error("`{command}` refused to push: {refusal}{}", refusal_fix(refusal))]
    Refused {
        command: String,
        refusal: Refusal,
        captured: Captured,
    },
    #[error("{}", migration_failed(failure))]
    MigrationFailed {
        command: String,
        failure: Box<PushFailure>,
        /// The files committed before the failing one.
        applied: Vec<String>,
        captured: Captured,
    },
    #[error(
        "`{command}` failed{}: {message}",
        code.map(|code| format!(" with exit code {code}")).unwrap_or_else(|| " (killed by a signal)".into())
    )]
    Failed {
        command: String,
        code: Option<i32>,
        /// The CLI's error lines, without its progress lines.
        message: String,
        captured: Captured,
    },
}

impl CliError {
    /// What the CLI printed before it failed, if it ran at all.
    pub fn captured(&self) -> Option<&Captured> {
        match self {
            CliError::NotFound { .. } | CliError::Spawn { .. } | CliError::NoWorkdir { .. } => None,
            CliError::Timeout { captured, .. }
            | CliError::Refused { captured, .. }
            | CliError::MigrationFailed { captured, .. }
            | CliError::Failed { captured, .. } => Some(captured),
        }
    }
}

fn not_found(program: &Path) -> String {
    if program.components().count() > 1 {
        format!(
            "the Supabase CLI was not found at {}: point {PROGRAM_ENV} at the executable, or {INSTALL_HINT}",
            program.display()
        )
    } else {
        format!(
            "the Supabase CLI (`{}`) is not on PATH: {INSTALL_HINT}, or set {PROGRAM_ENV} to its path",
            program.display()
        )
    }
}

fn refusal_fix(refusal: &Refusal) -> &'static str {
    match refusal {
        Refusal::OutOfOrder { .. } => {
            "; rebase and re-timestamp those files, or pass --include-all to apply them out of order"
        }
        Refusal::RemoteOnly { .. } => {
            "; the target's history has versions no local file has: pull the missing files, or repair the history (`supabase migration repair --status reverted <version>`)"
        }
    }
}

fn migration_failed(failure: &PushFailure) -> String {
    let mut text = format!(
        "migration {} failed",
        failure.file.as_deref().unwrap_or("(unknown)")
    );
    if let Some(index) = failure.statement_index {
        if failure.in_history_insert() {
            text.push_str(" recording its version in supabase_migrations.schema_migrations (another file has the same version, or it is already recorded)");
        } else {
            text.push_str(&format!(" at statement {index} (0-based)"));
        }
    }
    text.push_str(&format!(": {}", failure.message));
    if let Some(sqlstate) = &failure.sqlstate {
        text.push_str(&format!(" (SQLSTATE {sqlstate})"));
    }
    text.push_str("; the file was rolled back, the ones before it stay applied");
    text
}

/// The executable named by `$SUPABASE_CLI`, or `supabase` to be found on PATH.
fn program_from(env: Option<OsString>) -> PathBuf {
    env.filter(|value| !value.is_empty())
        .map_or_else(|| PathBuf::from(DEFAULT_PROGRAM), PathBuf::from)
}

/// The process ended, with what it printed (not yet masked).
struct Finished {
    status: ExitStatus,
    stdout: String,
    stderr: String,
}

impl SupabaseCli {
    /// The CLI (`$SUPABASE_CLI` or `supabase` on PATH) for the project in `workdir`, the
    /// folder that holds `supabase/`.
    pub fn new(workdir: impl Into<PathBuf>) -> SupabaseCli {
        SupabaseCli {
            program: program_from(std::env::var_os(PROGRAM_ENV)),
            workdir: workdir.into(),
            access_token: None,
            db_password: None,
            env: Vec::new(),
            timeout: DEFAULT_TIMEOUT,
        }
    }

    /// Runs this executable instead.
    pub fn program(mut self, program: impl Into<PathBuf>) -> SupabaseCli {
        self.program = program.into();
        self
    }

    /// The personal access token (`sbp_…`) that `link` needs.
    pub fn access_token(mut self, token: impl Into<String>) -> SupabaseCli {
        self.access_token = Some(Secret(token.into())).filter(|token| !token.0.is_empty());
        self
    }

    /// The password of the linked project's database.
    pub fn db_password(mut self, password: impl Into<String>) -> SupabaseCli {
        self.db_password = Some(Secret(password.into())).filter(|password| !password.0.is_empty());
        self
    }

    /// Sets a variable in the child's environment (masked too if it is one of the
    /// secret variables).
    pub fn env(mut self, key: impl Into<OsString>, value: impl Into<String>) -> SupabaseCli {
        self.env.push((key.into(), Secret(value.into())));
        self
    }

    /// Stops the CLI after this long (30 minutes by default).
    pub fn timeout(mut self, timeout: Duration) -> SupabaseCli {
        self.timeout = timeout;
        self
    }

    /// `supabase link --project-ref REF`: records the project in `supabase/.temp`.
    pub async fn link(&self, project_ref: &str) -> Result<Captured, CliError> {
        let args = vec![
            "link".to_string(),
            "--project-ref".into(),
            project_ref.into(),
        ];
        let (command, finished, secrets) = self.run(args, Vec::new()).await?;
        let captured = masked(&finished, &secrets);
        if finished.status.success() {
            return Ok(captured);
        }
        Err(failed(command, finished.status, captured))
    }

    /// `supabase db push`, and what it said about each migration.
    pub async fn push(&self, options: &PushOptions) -> Result<PushRun, CliError> {
        let mut args = vec!["db".to_string(), "push".into()];
        let mut env = Vec::new();
        match &options.target {
            Target::Linked => args.push("--linked".into()),
            Target::DbUrl(url) => {
                let (url, password) = split_password(url);
                args.extend(["--db-url".into(), url]);
                if let Some(password) = password {
                    env.push((PGPASSWORD_ENV, password));
                }
            }
        }
        if options.dry_run {
            args.push("--dry-run".into());
        }
        if options.include_all {
            args.push("--include-all".into());
        }
        args.push("--yes".into());
        let (command, finished, secrets) = self.run(args, env).await?;
        let captured = masked(&finished, &secrets);
        let output = parse(&captured);
        if finished.status.success() {
            return Ok(PushRun { output, captured });
        }
        if let Some(failure) = output
            .failure
            .as_ref()
            .filter(|failure| failure.file.is_some() && failure.statement_index.is_some())
        {
            return Err(CliError::MigrationFailed {
                command,
                failure: Box::new(failure.clone()),
                applied: output.applied().to_vec(),
                captured,
            });
        }
        if let Some(refusal) = output.refusal {
            return Err(CliError::Refused {
                command,
                refusal,
                captured,
            });
        }
        Err(failed(command, finished.status, captured))
    }

    /// Runs the CLI with `args`; returns the command line as shown to users (masked), the
    /// finished process and the secrets to mask in its output.
    async fn run(
        &self,
        args: Vec<String>,
        extra_env: Vec<(&'static str, String)>,
    ) -> Result<(String, Finished, Vec<String>), CliError> {
        if !self.workdir.is_dir() {
            return Err(CliError::NoWorkdir {
                workdir: self.workdir.clone(),
            });
        }
        let mut secrets: Vec<String> = [&self.access_token, &self.db_password]
            .into_iter()
            .flatten()
            .map(|secret| secret.0.clone())
            .collect();
        secrets.extend(
            self.env
                .iter()
                .filter(|(key, _)| SECRET_ENV.iter().any(|name| key == name))
                .map(|(_, value)| value.0.clone()),
        );
        secrets.extend(extra_env.iter().map(|(_, value)| value.clone()));
        let command_line = mask(&format!("supabase {}", args.join(" ")), &secrets);
        tracing::info!(command = %command_line, "running the Supabase CLI");

        let mut command = Command::new(&self.program);
        command
            .arg("--workdir")
            .arg(&self.workdir)
            .args(&args)
            .current_dir(&self.workdir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            // Its own process group, so that a timeout stops whatever the CLI started too.
            .process_group(0)
            .env("NO_COLOR", "1");
        for key in SECRET_ENV {
            command.env_remove(key);
        }
        for (key, value) in &self.env {
            command.env(key, &value.0);
        }
        if let Some(token) = &self.access_token {
            command.env(ACCESS_TOKEN_ENV, &token.0);
        }
        if let Some(password) = &self.db_password {
            command.env(DB_PASSWORD_ENV, &password.0);
        }
        for (key, value) in &extra_env {
            command.env(key, value);
        }
        let mut child = command.spawn().map_err(|source| match source.kind() {
            io::ErrorKind::NotFound => CliError::NotFound {
                program: self.program.clone(),
            },
            _ => CliError::Spawn {
                program: self.program.clone(),
                source,
            },
        })?;
        let pid = child.id();
        let stdout = drain(child.stdout.take());
        let stderr = drain(child.stderr.take());
        let status = match tokio::time::timeout(self.timeout, child.wait()).await {
            Ok(status) => status.map_err(|source| CliError::Spawn {
                program: self.program.clone(),
                source,
            })?,
            Err(_) => {
                // Not yet reaped, so the pid (and group id) is still this child's.
                if let Some(pid) = pid.and_then(|pid| i32::try_from(pid).ok()) {
                    let _ = nix::sys::signal::killpg(
                        nix::unistd::Pid::from_raw(pid),
                        nix::sys::signal::Signal::SIGKILL,
                    );
                }
                let _ = child.kill().await;
                let captured = Captured {
                    stdout: mask(&collect(stdout).await, &secrets),
                    stderr: mask(&collect(stderr).await, &secrets),
                };
                let output = parse(&captured);
                return Err(CliError::Timeout {
                    command: command_line,
                    timeout: self.timeout,
                    running: (!output.finished)
                        .then(|| output.applying.last().cloned())
                        .flatten(),
                    captured,
                });
            }
        };
        let finished = Finished {
            status,
            stdout: collect(stdout).await,
            stderr: collect(stderr).await,
        };
        Ok((command_line, finished, secrets))
    }
}

/// A pipe read to its end in the background, so that neither pipe can fill and block
/// the child while it is waited on.
struct Drain {
    buffer: Arc<Mutex<Vec<u8>>>,
    task: JoinHandle<()>,
}

fn drain(pipe: Option<impl AsyncRead + Unpin + Send + 'static>) -> Drain {
    let buffer = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&buffer);
    let task = tokio::spawn(async move {
        let Some(mut pipe) = pipe else { return };
        let mut chunk = [0; 8192];
        while let Ok(read @ 1..) = pipe.read(&mut chunk).await {
            sink.lock()
                .unwrap_or_else(PoisonError::into_inner)
                .extend_from_slice(&chunk[..read]);
        }
    });
    Drain { buffer, task }
}

/// What the pipe gave; a process that outlived the CLI and keeps the pipe open costs a
/// short wait, not the output.
async fn collect(drain: Drain) -> String {
    let Drain { buffer, mut task } = drain;
    if tokio::time::timeout(DRAIN_GRACE, &mut task).await.is_err() {
        task.abort();
    }
    let bytes = std::mem::take(&mut *buffer.lock().unwrap_or_else(PoisonError::into_inner));
    String::from_utf8_lossy(&bytes).into_owned()
}

/// The CLI writes its progress to stderr and its results to stdout.
fn parse(captured: &Captured) -> PushOutput {
    PushOutput::parse(&format!("{}\n{}", captured.stderr, captured.stdout))
}

fn masked(finished: &Finished, secrets: &[String]) -> Captured {
    Captured {
        stdout: mask(&finished.stdout, secrets),
        stderr: mask(&finished.stderr, secrets),
    }
}

fn failed(command: String, status: ExitStatus, captured: Captured) -> CliError {
    CliError::Failed {
        command,
        code: status.code(),
        message: error_message(&captured),
        captured,
    }
}

/// The CLI's error: its output without the progress lines and Go's log timestamps.
fn error_message(captured: &Captured) -> String {
    let relevant = |text: &str| {
        clean_lines(text)
            .into_iter()
            .map(|line| LOG_TIMESTAMP.replace(line.trim(), "").into_owned())
            .filter(|line| !line.is_empty() && !NOISE.is_match(line))
            .collect::<Vec<_>>()
    };
    let mut lines = relevant(&captured.stderr);
    if lines.is_empty() {
        lines = relevant(&captured.stdout);
    }
    if lines.is_empty() {
        return "it printed nothing".to_string();
    }
    lines.join("\n")
}

/// Replaces every secret, as given and percent-encoded, with `***`.
fn mask(text: &str, secrets: &[String]) -> String {
    let mut forms: Vec<String> = secrets
        .iter()
        .filter(|secret| !secret.is_empty())
        .flat_map(|secret| [secret.clone(), percent_encode(secret)])
        .collect();
    // Longest first, so that a secret containing another is masked whole.
    forms.sort_by_key(|form| std::cmp::Reverse(form.len()));
    forms.dedup();
    let mut text = text.to_string();
    for form in &forms {
        if text.contains(form.as_str()) {
            text = text.replace(form.as_str(), MASK);
        }
    }
    text
}

fn percent_encode(text: &str) -> String {
    let mut encoded = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut at = 0;
    while at < bytes.len() {
        let hex = bytes
            .get(at + 1..at + 3)
            .and_then(|hex| std::str::from_utf8(hex).ok())
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match (bytes[at], hex) {
            (b'%', Some(byte)) => {
                decoded.push(byte);
                at += 3;
            }
            (byte, _) => {
                decoded.push(byte);
                at += 1;
            }
        }
    }
    String::from_utf8_lossy(&decoded).into_owned()
}

/// A connection URL without its password, and the password (percent-decoded).
fn split_password(url: &str) -> (String, Option<String>) {
    let Some(scheme_end) = url.find("://") else {
        return (url.to_string(), None);
    };
    let authority_start = scheme_end + 3;
    let authority_end = url[authority_start..]
        .find(['/', '?', '#'])
        .map_or(url.len(), |at| authority_start + at);
    let authority = &url[authority_start..authority_end];
    let Some(at) = authority.rfind('@') else {
        return (url.to_string(), None);
    };
    let Some(colon) = authority[..at].find(':') else {
        return (url.to_string(), None);
    };
    let password = percent_decode(&authority[colon + 1..at]);
    let stripped = format!(
        "{}{}{}",
        &url[..authority_start + colon],
        &authority[at..],
        &url[authority_end..]
    );
    (
        stripped,
        Some(password).filter(|password| !password.is_empty()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_program_comes_from_supabase_cli_or_path() {
        assert_eq!(program_from(None), PathBuf::from("supabase"));
        assert_eq!(program_from(Some("".into())), PathBuf::from("supabase"));
        assert_eq!(
            program_from(Some("/opt/supabase/bin/supabase".into())),
            PathBuf::from("/opt/supabase/bin/supabase")
        );
    }

    #[test]
    fn the_password_leaves_the_url() {
        assert_eq!(
            split_password(
                "postgresql://postgres:p%40ss%3Aw0rd@db.example.com:5432/postgres?sslmode=require"
            ),
            (
                "postgresql://postgres@db.example.com:5432/postgres?sslmode=require".to_string(),
                Some("p@ss:w0rd".to_string())
            )
        );
        assert_eq!(
            split_password("postgres://u@h/d"),
            ("postgres://u@h/d".to_string(), None)
        );
        assert_eq!(
            split_password("postgres://u:@h"),
            ("postgres://u@h".to_string(), None)
        );
        assert_eq!(split_password("host=h user=u").1, None);
        assert_eq!(
            format!("{:?}", Target::DbUrl("postgres://u:secret@h/d".into())),
            "DbUrl(\"postgres://u@h/d\")"
        );
    }

    #[test]
    fn secrets_are_masked_raw_and_percent_encoded() {
        let secrets = vec!["p@ss w0rd".to_string(), "sbp_abc".to_string()];
        assert_eq!(
            mask(
                "token sbp_abc, url postgres://u:p%40ss%20w0rd@h, raw p@ss w0rd",
                &secrets
            ),
            "token ***, url postgres://u:***@h, raw ***"
        );
        let cli = SupabaseCli::new("/tmp")
            .access_token("sbp_abc")
            .db_password("p@ss w0rd");
        let debug = format!("{cli:?}");
        assert!(
            !debug.contains("sbp_abc") && !debug.contains("p@ss"),
            "{debug}"
        );
    }

    #[test]
    fn the_error_message_keeps_the_error_lines() {
        let captured = Captured {
            stdout: String::new(),
            stderr: "Connecting to remote database...\n\
                     2026/01/02 03:04:05 Access token not provided. Supply an access token by running supabase login or setting the SUPABASE_ACCESS_TOKEN environment variable.\n"
                .into(),
        };
        assert_eq!(
            error_message(&captured),
            "Access token not provided. Supply an access token by running supabase login or setting the SUPABASE_ACCESS_TOKEN environment variable."
        );
        assert_eq!(error_message(&Captured::default()), "it printed nothing");
    }
}
