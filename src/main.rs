//! The binary's edge: logging, argument parsing, dispatch, output and exit codes
//! (0 passed, 1 the migrations failed a check, 2 the tool could not do its job).

use std::io::{self, IsTerminal, Write};
use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;
use tracing_subscriber::EnvFilter;

use migration_guard::cli::{Cli, Command, Format};
use migration_guard::commands;
use migration_guard::config::Project;
use migration_guard::report::{self, CommandName, Report};

// Linting thousands of statements is allocation-heavy; mimalloc does it faster.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing();
    let report = run(&cli)
        .unwrap_or_else(|error| Report::error(command_name(&cli.command), format!("{error:#}")));
    if let Err(error) = write_report_dir(&cli, &report) {
        eprintln!("error: {error:#}");
        return ExitCode::from(2);
    }
    print(&report, cli.global.format);
    ExitCode::from(report.status().exit_code())
}

fn init_tracing() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(io::stderr)
        .with_ansi(io::stderr().is_terminal())
        .with_target(false)
        .without_time()
        .init();
}

fn command_name(command: &Command) -> CommandName {
    match command {
        Command::Lint(_) => CommandName::Lint,
        Command::Status => CommandName::Status,
        Command::Shadow(_) => CommandName::Shadow,
        Command::New(_) => CommandName::New,
    }
}

fn run(cli: &Cli) -> anyhow::Result<Report> {
    let project = Project::resolve(cli.global.dir.as_deref(), cli.global.config.as_deref())?;
    let dir = &project.migrations;
    match &cli.command {
        Command::Lint(args) => commands::lint::run(&project, args.fail_on.into())
            .with_context(|| format!("cannot lint the migrations in {}", dir.display())),
        Command::Status => commands::status::run(dir)
            .with_context(|| format!("cannot list the migrations in {}", dir.display())),
        Command::New(args) => commands::new::run(dir, &args.name, chrono::Utc::now())
            .context("cannot create the migration"),
        Command::Shadow(args) => tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .context("cannot start the async runtime")?
            .block_on(commands::shadow::run(&project, args))
            .context("the shadow could not run"),
    }
}

/// `--report-dir`: report.json and report.md for the workflow to upload.
fn write_report_dir(cli: &Cli, report: &Report) -> anyhow::Result<()> {
    let Command::Shadow(args) = &cli.command else {
        return Ok(());
    };
    let Some(dir) = &args.report_dir else {
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

fn print(report: &Report, format: Format) {
    let (text, to_stderr) = match format {
        Format::Json => (report::json::render(report), false),
        Format::Markdown => (report::markdown::render(report), false),
        Format::Sarif => (report::sarif::render(report), false),
        Format::Github => (report::annotations::render(report), false),
        Format::Text => (report::text::render(report), report.error.is_some()),
    };
    let result = if to_stderr {
        anstream::stderr().write_all(text.as_bytes())
    } else {
        anstream::stdout().write_all(text.as_bytes())
    };
    // A closed pipe (`| head`) is the reader's choice, not an error.
    if let Err(error) = result
        && error.kind() != io::ErrorKind::BrokenPipe
    {
        eprintln!("cannot write the report: {error}");
    }
}
