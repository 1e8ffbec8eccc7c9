//! One function per command; each returns the `Report` that every format renders.

use std::path::Path;

use anyhow::Context;

use crate::app::cli::{Cli, Command};
use crate::config::Project;
use crate::report::{self, CommandName, Report};

pub mod baseline;
pub mod deploy;
pub mod drift;
pub mod lint;
pub mod new;
pub mod shadow;
pub mod status;

/// Runs the command `cli` names; a failure to run becomes a report with status `error`.
/// Every text that leaves the tool is scrubbed of secrets here, once.
pub fn run(cli: &Cli) -> Report {
    let mut report = run_command(cli)
        .unwrap_or_else(|error| Report::error(command_name(&cli.command), format!("{error:#}")));
    report.scrub();
    report
}

pub fn command_name(command: &Command) -> CommandName {
    match command {
        Command::Lint(_) => CommandName::Lint,
        Command::Status(_) => CommandName::Status,
        Command::Shadow(_) => CommandName::Shadow,
        Command::New(_) => CommandName::New,
        Command::Baseline(_) => CommandName::Baseline,
        Command::Deploy(_) => CommandName::Deploy,
        Command::Drift(_) => CommandName::Drift,
        Command::Action => CommandName::Action,
    }
}

fn run_command(cli: &Cli) -> anyhow::Result<Report> {
    let project = Project::resolve(cli.global.dir.as_deref(), cli.global.config.as_deref())?;
    let dir = &project.migrations;
    match &cli.command {
        Command::Lint(args) => runtime()?
            .block_on(lint::run(&project, &args.checks))
            .with_context(|| format!("cannot lint the migrations in {}", dir.display())),
        Command::Status(args) => match &args.db_url {
            None => status::run(dir)
                .with_context(|| format!("cannot list the migrations in {}", dir.display())),
            Some(db_url) => runtime()?.block_on(status::against(dir, db_url)),
        },
        Command::New(args) => match &args.revert {
            None => {
                new::run(dir, &args.name, chrono::Utc::now()).context("cannot create the migration")
            }
            Some(version) => runtime()?
                .block_on(new::revert(
                    &project,
                    &args.name,
                    version,
                    &args.shadow,
                    chrono::Utc::now(),
                ))
                .with_context(|| format!("cannot draft the revert of {version}")),
        },
        Command::Baseline(args) => {
            baseline::run(&project, args.version.as_deref()).context("cannot set the baseline")
        }
        Command::Action => anyhow::bail!("`action` runs only as the container entry point"),
        Command::Shadow(args) => runtime()?
            .block_on(shadow::run(&project, args))
            .context("the shadow could not run"),
        Command::Deploy(args) => runtime()?.block_on(deploy::run(&project, args)),
        Command::Drift(args) => runtime()?
            .block_on(drift::run(&project, args))
            .context("cannot compare the database with its migrations"),
    }
}

/// One thread: a command's work is round trips to a server, one after the other, and
/// a reply handed from the connection's thread to the command's costs more than a
/// second thread gains.
fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

/// `--report-dir`: report.json and report.md for the workflow to upload.
pub fn write_report_dir(cli: &Cli, report: &Report) -> anyhow::Result<()> {
    let dir = match &cli.command {
        Command::Shadow(args) => &args.report_dir,
        Command::Deploy(args) => &args.report_dir,
        Command::Drift(args) => &args.report_dir,
        _ => return Ok(()),
    };
    let Some(dir) = dir else {
        return Ok(());
    };
    std::fs::create_dir_all(dir)
        .with_context(|| format!("cannot create the report directory {}", dir.display()))?;
    let write = |name: &str, body: String| {
        let path = Path::new(dir).join(name);
        std::fs::write(&path, body).with_context(|| format!("cannot write {}", path.display()))
    };
    write("report.json", report::json::render(report))?;
    write("report.md", report::markdown::render(report))
}
