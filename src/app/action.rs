//! The GitHub Action entry point: `INPUT_*` (as the runner writes them: upper case,
//! hyphens kept) become the same command line a developer types, and the report goes
//! to every place the runner reads: step outputs, the job summary, annotations, and one
//! sticky pull-request comment.
//!
//! Secrets are masked (`::add-mask::`) before anything else is printed.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use clap::Parser;

use crate::app::cli::{Cli, Command};
use crate::app::commands;
use crate::github::{self, ActionsContext, CommentOutcome, GitHub};
use crate::report::annotations::escape_data;
use crate::report::model::RunLink;
use crate::report::{Report, annotations, json, markdown, sarif};

/// The runner attaches at most this many annotations of one kind per step.
const ANNOTATIONS_PER_KIND: usize = 10;
/// Where the reports go, relative to the workspace: one folder per command and
/// workdir below it, so that a lint step and a shadow step, or two projects, keep
/// their own.
const REPORT_DIR: &str = ".migration-guard";
/// The runner refuses a step summary above 1 MiB.
const SUMMARY_LIMIT: usize = 1024 * 1024 - 4096;

/// The action's inputs, read from `INPUT_<NAME>` variables.
#[derive(Debug, Default)]
pub struct Inputs {
    pub command: String,
    pub workdir: PathBuf,
    pub migrations_dir: Option<String>,
    pub verify_dir: Option<String>,
    pub github_token: Option<String>,
    pub provider: Option<String>,
    pub image: Option<String>,
    pub fail_on: Option<String>,
    pub comment: bool,
    pub db_url: Option<String>,
    pub supabase_access_token: Option<String>,
    pub supabase_db_password: Option<String>,
    pub base_ref: Option<String>,
    pub target: Option<String>,
    pub project_ref: Option<String>,
    /// No schema backup before production (teams that rely on the platform's PITR).
    pub no_backup: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error("input `{name}` is {value:?}; expected one of: {expected}")]
    Invalid {
        name: &'static str,
        value: String,
        expected: &'static str,
    },
}

impl Inputs {
    /// Reads the inputs through `env` (the process environment in the container).
    pub fn from_env(env: &dyn Fn(&str) -> Option<String>) -> Result<Inputs, InputError> {
        let input = |name: &str| {
            env(&format!("INPUT_{}", name.to_uppercase()))
                .map(|value| value.trim().to_string())
                .filter(|value| !value.is_empty())
        };
        let command = input("command").unwrap_or_else(|| "shadow".to_string());
        if !["shadow", "lint", "status", "deploy", "drift"].contains(&command.as_str()) {
            return Err(InputError::Invalid {
                name: "command",
                value: command,
                expected: "shadow, lint, status, deploy, drift",
            });
        }
        if command == "drift" && input("db-url").is_none() {
            return Err(InputError::Invalid {
                name: "db-url",
                value: String::new(),
                expected: "the database to compare (required by drift)",
            });
        }
        let target = input("target");
        if command == "deploy" && !matches!(target.as_deref(), Some("staging" | "production")) {
            return Err(InputError::Invalid {
                name: "target",
                value: target.unwrap_or_default(),
                expected: "staging, production (required by deploy)",
            });
        }
        let flag = |name: &'static str| match input(name).as_deref() {
            None | Some("false") => Ok(false),
            Some("true") => Ok(true),
            Some(other) => Err(InputError::Invalid {
                name,
                value: other.to_string(),
                expected: "true, false",
            }),
        };
        // `comment` is on unless turned off.
        let comment = input("comment").is_none() || flag("comment")?;
        let no_backup = flag("no-backup")?;
        Ok(Inputs {
            command,
            workdir: input("workdir").map_or_else(|| PathBuf::from("."), PathBuf::from),
            migrations_dir: input("migrations-dir"),
            verify_dir: input("verify-dir"),
            github_token: input("github-token"),
            provider: input("provider"),
            image: input("image"),
            fail_on: input("fail-on"),
            comment,
            db_url: input("db-url"),
            supabase_access_token: input("supabase-access-token"),
            supabase_db_password: input("supabase-db-password"),
            base_ref: input("base-ref"),
            target,
            project_ref: input("project-ref"),
            no_backup,
        })
    }

    /// Every secret value the inputs carry, for `::add-mask::` ([`mask_commands`]).
    fn secrets(&self) -> Vec<String> {
        let mut secrets: Vec<String> = [
            &self.github_token,
            &self.db_url,
            &self.supabase_access_token,
            &self.supabase_db_password,
        ]
        .into_iter()
        .flatten()
        .cloned()
        .collect();
        // The password inside a URL too, should it ever be printed on its own.
        if let Some(password) = self
            .db_url
            .as_deref()
            .and_then(|url| url.parse::<tokio_postgres::Config>().ok())
            .and_then(|config| config.get_password().map(<[u8]>::to_vec))
        {
            secrets.push(String::from_utf8_lossy(&password).into_owned());
        }
        secrets
    }

    /// The command line these inputs stand for.
    fn arguments(&self) -> Vec<String> {
        let mut args = vec!["migration-guard".to_string(), self.command.clone()];
        let mut flag = |name: &str, value: &Option<String>| {
            if let Some(value) = value {
                args.push(format!("--{name}"));
                args.push(value.clone());
            }
        };
        flag("dir", &self.migrations_dir);
        match self.command.as_str() {
            "shadow" if self.provider.as_deref() == Some("url") => {
                flag("verify-dir", &self.verify_dir);
                flag("provider", &self.provider);
                flag("database-url", &self.db_url);
            }
            // Otherwise a db-url is a target to preview (read only), e.g. staging.
            "shadow" => {
                flag("verify-dir", &self.verify_dir);
                flag("provider", &self.provider);
                flag("image", &self.image);
                flag("preview-db-url", &self.db_url);
            }
            "lint" => flag("preview-db-url", &self.db_url),
            "drift" => {
                flag("db-url", &self.db_url);
                flag("provider", &self.provider);
                flag("image", &self.image);
            }
            "status" => flag("db-url", &self.db_url),
            "deploy" => {
                flag("target", &self.target);
                flag("verify-dir", &self.verify_dir);
                flag("db-url", &self.db_url);
                flag("project-ref", &self.project_ref);
                flag("access-token", &self.supabase_access_token);
                flag("db-password", &self.supabase_db_password);
            }
            _ => {}
        }
        if matches!(self.command.as_str(), "shadow" | "lint") {
            flag("fail-on", &self.fail_on);
            flag("base-ref", &self.base_ref);
        }
        if self.command == "deploy" && self.no_backup {
            args.push("--no-backup".to_string());
        }
        // A job reaches production only once its environment's reviewers approved it.
        if self.command == "deploy" && self.target.as_deref() == Some("production") {
            args.push("--yes".to_string());
        }
        args
    }
}

/// Runs the action and returns the exit code.
pub fn run() -> u8 {
    let env = |name: &str| std::env::var(name).ok();
    let inputs = match Inputs::from_env(&env) {
        Ok(inputs) => inputs,
        Err(error) => {
            say("error", &error.to_string());
            return 2;
        }
    };
    for line in mask_commands(&inputs.secrets()) {
        println!("{line}");
    }
    let workspace = env("GITHUB_WORKSPACE").map_or_else(|| PathBuf::from("."), PathBuf::from);
    let root = workspace.join(&inputs.workdir);
    if let Err(error) = std::env::set_current_dir(&root) {
        say(
            "error",
            &format!("cannot enter the workdir {}: {error}", root.display()),
        );
        return 2;
    }
    // Reports go under the workspace: the outputs name them relative to it, which is
    // where the next step (actions/upload-artifact) resolves them on the host.
    let workdir = within_workspace(&inputs.workdir);
    let reports = Path::new(REPORT_DIR).join(&workdir).join(&inputs.command);
    let reports_absolute = workspace.join(&reports);
    let mut cli = match Cli::try_parse_from(inputs.arguments()) {
        Ok(cli) => cli,
        Err(error) => {
            say("error", error.to_string().trim());
            return 2;
        }
    };
    if let Command::Deploy(args) = &mut cli.command {
        // The backup taken before production belongs with the reports.
        args.report_dir = Some(reports_absolute.clone());
    }
    println!("::group::migration-guard {}", inputs.command);
    let mut report = commands::run(&cli);
    println!("::endgroup::");
    // Annotations, SARIF and the comment name files from the repository's root, where
    // GitHub attaches them to the diff.
    if !workdir.as_os_str().is_empty() {
        report.path_prefix = Some(workdir);
    }
    if let Some(pages) = action_rule_pages(&env) {
        report.rule_pages = Some(pages);
    }
    report.run = run_link(&env);
    print!("{}", annotations_within_limits(&report));
    let written = write_reports(&report, &reports_absolute);
    write_outputs(&report, written.then_some(reports.as_path()), &env);
    write_summary(&report, &env);
    if inputs.comment {
        comment(&report, &inputs, &env);
    }
    report.status().exit_code()
}

/// `workdir` as a path inside the workspace: `.` parts dropped, so that `.` is empty.
fn within_workspace(workdir: &Path) -> PathBuf {
    workdir
        .components()
        .filter(|part| !matches!(part, std::path::Component::CurDir))
        .collect()
}

/// The rule pages of the version of the action that runs (`uses: owner/repo@ref`):
/// links that match the rules this binary knows.
fn action_rule_pages(env: &dyn Fn(&str) -> Option<String>) -> Option<String> {
    let server = env("GITHUB_SERVER_URL").filter(|url| url.starts_with("https://"))?;
    let repository = env("GITHUB_ACTION_REPOSITORY").filter(|name| !name.is_empty())?;
    let reference = env("GITHUB_ACTION_REF").filter(|name| !name.is_empty())?;
    Some(format!(
        "{}/{repository}/blob/{reference}/docs/rules",
        server.trim_end_matches('/')
    ))
}

/// A workflow command with its message escaped: a message of several lines stays one
/// annotation.
fn say(kind: &str, message: &str) {
    println!("::{kind} title=migration-guard::{}", escape_data(message));
}

/// The commit the run judged (a pull request's head, not the merge commit the runner
/// checks out) and the run's page.
fn run_link(env: &dyn Fn(&str) -> Option<String>) -> Option<RunLink> {
    let head = ActionsContext::from_env(env)
        .ok()
        .and_then(|context| context.pull_request)
        .map(|pull_request| pull_request.head_sha);
    let commit = head.or_else(|| env("GITHUB_SHA"))?;
    let url = match (
        env("GITHUB_SERVER_URL"),
        env("GITHUB_REPOSITORY"),
        env("GITHUB_RUN_ID"),
    ) {
        (Some(server), Some(repository), Some(run)) => Some(format!(
            "{}/{repository}/actions/runs/{run}",
            server.trim_end_matches('/')
        )),
        _ => None,
    };
    Some(RunLink { commit, url })
}

/// At most [`ANNOTATIONS_PER_KIND`] of each kind as annotations (the runner drops the
/// rest); the others go to the log, with one notice that says how many, which takes a
/// notice's place so that it is shown itself.
fn annotations_within_limits(report: &Report) -> String {
    let rendered = annotations::render(report);
    let lines: Vec<(&str, &str)> = rendered
        .lines()
        .map(|line| {
            let kind = line.split([' ', ':']).nth(2).unwrap_or_default();
            (kind, line)
        })
        .collect();
    let count = |kind: &str| lines.iter().filter(|(k, _)| *k == kind).count();
    let overflows = ["error", "warning", "notice"]
        .iter()
        .any(|kind| count(kind) > ANNOTATIONS_PER_KIND);
    let limit = |kind: &str| match kind {
        "notice" if overflows => ANNOTATIONS_PER_KIND - 1,
        _ => ANNOTATIONS_PER_KIND,
    };
    let mut out = String::new();
    let mut shown = std::collections::BTreeMap::new();
    let mut held_back = 0;
    for (kind, line) in lines {
        let shown = shown.entry(kind).or_insert(0);
        *shown += 1;
        if *shown <= limit(kind) {
            let _ = writeln!(out, "{line}");
        } else {
            held_back += 1;
            // The same text without the workflow command, so it stays in the log.
            let plain = line.split_once("::").map_or(line, |(_, rest)| rest);
            let _ = writeln!(out, "{plain}");
        }
    }
    if held_back > 0 {
        let _ = writeln!(
            out,
            "::notice title=migration-guard::{held_back} more findings than GitHub shows as annotations; the job summary lists them all"
        );
    }
    out
}

/// report.json, report.md and report.sarif in `dir`; whether they were written.
fn write_reports(report: &Report, dir: &Path) -> bool {
    let written = std::fs::create_dir_all(dir)
        .and_then(|()| std::fs::write(dir.join("report.json"), json::render(report)))
        .and_then(|()| std::fs::write(dir.join("report.md"), markdown::render(report)))
        .and_then(|()| std::fs::write(dir.join("report.sarif"), sarif::render(report)));
    if let Err(error) = &written {
        say(
            "warning",
            &format!("cannot write the report to {}: {error}", dir.display()),
        );
    }
    written.is_ok()
}

fn write_outputs(report: &Report, report_dir: Option<&Path>, env: &dyn Fn(&str) -> Option<String>) {
    use crate::report::MigrationStatus;
    let Some(file) = env("GITHUB_OUTPUT") else {
        return;
    };
    let count = |status| {
        report
            .migrations
            .iter()
            .filter(|m| m.status == status)
            .count()
    };
    let mut outputs = format!(
        "status={}\napplied={}\npending={}\nfindings={}\n",
        report.status().as_str(),
        count(MigrationStatus::Applied),
        count(MigrationStatus::Pending),
        report.findings.len()
    );
    if let Some(dir) = report_dir {
        let _ = writeln!(outputs, "report-dir={}", dir.display());
        let _ = writeln!(outputs, "report-path={}", dir.join("report.json").display());
        let _ = writeln!(outputs, "sarif-path={}", dir.join("report.sarif").display());
    }
    append(&file, &outputs, "GITHUB_OUTPUT");
}

fn write_summary(report: &Report, env: &dyn Fn(&str) -> Option<String>) {
    let Some(file) = env("GITHUB_STEP_SUMMARY") else {
        return;
    };
    let body = markdown::render(report);
    append(
        &file,
        &github::fit_body(&body, SUMMARY_LIMIT),
        "GITHUB_STEP_SUMMARY",
    );
}

fn append(file: &str, text: &str, what: &str) {
    let written = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(file)
        .and_then(|mut handle| handle.write_all(text.as_bytes()));
    if let Err(error) = written {
        say("warning", &format!("cannot write {what}: {error}"));
    }
}

/// The sticky comment on a pull request; a failure is a warning, never the verdict.
fn comment(report: &Report, inputs: &Inputs, env: &dyn Fn(&str) -> Option<String>) {
    let context = match ActionsContext::from_env(env) {
        Ok(context) => context,
        Err(error) => {
            say("warning", &format!("no pull-request comment: {error}"));
            return;
        }
    };
    let Some(pull_request) = &context.pull_request else {
        return; // not a pull request: the summary is the report
    };
    let Some(token) = inputs.github_token.clone() else {
        say(
            "warning",
            "no pull-request comment: the github-token input is empty",
        );
        return;
    };
    let marker =
        markdown::comment_marker(report.command.as_str(), &inputs.workdir.to_string_lossy());
    let body = markdown::with_marker(&markdown::render(report), &marker);
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            say("warning", &format!("no pull-request comment: {error}"));
            return;
        }
    };
    let outcome = runtime.block_on(async {
        let client = GitHub::new(&context.api_url, token)?;
        github::upsert_sticky_comment(&client, &context.repository, pull_request.number, &body)
            .await
    });
    match outcome {
        Ok(CommentOutcome::Created { url, .. }) => println!("commented on the pull request: {url}"),
        Ok(CommentOutcome::Updated { url, .. }) => {
            println!("updated the pull-request comment: {url}")
        }
        Ok(CommentOutcome::NoPermission(reason)) => say(
            "warning",
            &format!(
                "no pull-request comment ({reason}); on a pull request from a fork the token is read-only: the job summary has the report"
            ),
        ),
        Err(error) => say("warning", &format!("no pull-request comment: {error}")),
    }
}

/// The `::add-mask::` commands for `secrets`: each value escaped as the runner unescapes
/// a command's data, and each of its lines on its own as well (the runner masks what it
/// prints line by line, so a value with a newline would otherwise show its second half).
fn mask_commands(secrets: &[String]) -> Vec<String> {
    let mut commands = Vec::new();
    for secret in secrets.iter().filter(|secret| !secret.is_empty()) {
        commands.push(format!("::add-mask::{}", escape_data(secret)));
        if secret.contains(['\n', '\r']) {
            for line in secret
                .lines()
                .map(str::trim)
                .filter(|line| !line.is_empty())
            {
                commands.push(format!("::add-mask::{}", escape_data(line)));
            }
        }
    }
    commands
}

#[cfg(test)]
mod tests {

    #[test]
    fn a_secret_with_a_newline_is_masked_whole_and_line_by_line() {
        let commands = super::mask_commands(&[
            "first-half\nsecond-half".to_string(),
            "100%".to_string(),
            String::new(),
        ]);
        assert_eq!(
            commands,
            [
                "::add-mask::first-half%0Asecond-half",
                "::add-mask::first-half",
                "::add-mask::second-half",
                "::add-mask::100%25",
            ]
        );
    }
    use super::*;

    fn inputs(pairs: &[(&str, &str)]) -> Result<Inputs, InputError> {
        let map: std::collections::HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Inputs::from_env(&|name| map.get(name).cloned())
    }

    #[test]
    fn inputs_keep_their_hyphens_and_become_flags() {
        let inputs = inputs(&[
            ("INPUT_COMMAND", "shadow"),
            ("INPUT_MIGRATIONS-DIR", "db/migrations"),
            ("INPUT_PROVIDER", "docker"),
            ("INPUT_FAIL-ON", "warning"),
            ("INPUT_DB-URL", "postgresql://u:p4ss@h/db"),
            ("INPUT_COMMENT", "false"),
            ("INPUT_BASE-REF", "main"),
        ])
        .unwrap();
        assert!(!inputs.comment);
        assert_eq!(
            inputs.arguments(),
            [
                "migration-guard",
                "shadow",
                "--dir",
                "db/migrations",
                "--provider",
                "docker",
                "--preview-db-url",
                "postgresql://u:p4ss@h/db",
                "--fail-on",
                "warning",
                "--base-ref",
                "main"
            ]
        );
        assert!(inputs.secrets().contains(&"p4ss".to_string()));
    }

    #[test]
    fn a_production_deploy_is_confirmed_by_its_environment_and_needs_a_target() {
        let inputs = inputs(&[
            ("INPUT_COMMAND", "deploy"),
            ("INPUT_TARGET", "production"),
            ("INPUT_PROJECT-REF", "abcdefghijklmnopqrst"),
            ("INPUT_SUPABASE-ACCESS-TOKEN", "sbp_token"),
            ("INPUT_FAIL-ON", "warning"),
        ])
        .unwrap();
        assert_eq!(
            inputs.arguments(),
            [
                "migration-guard",
                "deploy",
                "--target",
                "production",
                "--project-ref",
                "abcdefghijklmnopqrst",
                "--access-token",
                "sbp_token",
                "--yes"
            ]
        );
        let error = super::tests::inputs(&[("INPUT_COMMAND", "deploy")]).unwrap_err();
        assert!(error.to_string().contains("required by deploy"), "{error}");
    }

    #[test]
    fn the_more_notice_takes_a_notice_place_and_the_run_error_leads() {
        use crate::findings::{Finding, Severity};
        use crate::report::CommandName;
        let finding = |severity, message: &str| Finding {
            rule: "no-drop-column",
            severity,
            location: None,
            message: message.to_string(),
            help: Some("what to do\non two lines".to_string()),
        };
        let mut report = Report::new(CommandName::Lint);
        report.error = Some("the tool stopped:\nat the extension vector".to_string());
        for n in 0..12 {
            report
                .findings
                .push(finding(Severity::Warning, &format!("warning {n}")));
        }
        for n in 0..10 {
            report
                .findings
                .push(finding(Severity::Info, &format!("note {n}")));
        }
        let out = annotations_within_limits(&report);
        let commands: Vec<&str> = out.lines().filter(|line| line.starts_with("::")).collect();
        assert_eq!(
            commands[0],
            "::error title=migration-guard::the tool stopped:%0Aat the extension vector"
        );
        let of = |kind: &str| {
            commands
                .iter()
                .filter(|line| line.starts_with(&format!("::{kind} ")))
                .count()
        };
        assert_eq!((of("warning"), of("notice")), (10, 10));
        assert_eq!(
            *commands.last().unwrap(),
            "::notice title=migration-guard::3 more findings than GitHub shows as annotations; the job summary lists them all"
        );
        assert!(
            out.lines().all(|line| !line.starts_with("what to do")),
            "every message is one line: {out}"
        );
    }

    #[test]
    fn no_backup_is_a_flag_of_the_deploy() {
        let deploy = |no_backup: &str| {
            inputs(&[
                ("INPUT_COMMAND", "deploy"),
                ("INPUT_TARGET", "production"),
                ("INPUT_DB-URL", "postgresql://u:p4ss@h/db"),
                ("INPUT_NO-BACKUP", no_backup),
            ])
            .map(|inputs| inputs.arguments())
        };
        assert!(deploy("true").unwrap().contains(&"--no-backup".to_string()));
        assert!(
            !deploy("false")
                .unwrap()
                .contains(&"--no-backup".to_string())
        );
        let error = deploy("skip").unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with("input `no-backup` is \"skip\""),
            "{error}"
        );
    }

    #[test]
    fn rule_pages_are_those_of_the_action_version_that_runs() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(key, _)| *key == name)
                    .map(|(_, value)| value.to_string())
            }
        };
        assert_eq!(
            action_rule_pages(&env(&[
                ("GITHUB_SERVER_URL", "https://github.com"),
                ("GITHUB_ACTION_REPOSITORY", "acme/migration-guard"),
                ("GITHUB_ACTION_REF", "v1.4.0"),
            ]))
            .as_deref(),
            Some("https://github.com/acme/migration-guard/blob/v1.4.0/docs/rules")
        );
        // `uses: ./`: no repository of the action, the build's own pages.
        assert_eq!(
            action_rule_pages(&env(&[("GITHUB_SERVER_URL", "https://github.com")])),
            None
        );
    }

    #[test]
    fn bad_inputs_are_named() {
        let error = inputs(&[("INPUT_COMMAND", "deploi")]).unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with("input `command` is \"deploi\""),
            "{error}"
        );
        let error = inputs(&[("INPUT_COMMENT", "yes")]).unwrap_err();
        assert!(
            error.to_string().contains("expected one of: true, false"),
            "{error}"
        );
    }
}
