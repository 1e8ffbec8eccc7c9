//! The binary's edge: logging, argument parsing, dispatch, output and exit codes
//! (0 passed, 1 the migrations failed a check, 2 the tool could not do its job).

use std::io::{self, IsTerminal, Write};
use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;
use tracing_subscriber::EnvFilter;

use migration_guard::cli::{Cli, Command, Format};
use migration_guard::commands;
use migration_guard::report::{self, CommandName, Report};

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing();
    let report = run(&cli)
        .unwrap_or_else(|error| Report::error(command_name(&cli.command), format!("{error:#}")));
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
        Command::Status => CommandName::Status,
        Command::New(_) => CommandName::New,
    }
}

fn run(cli: &Cli) -> anyhow::Result<Report> {
    let dir = &cli.global.dir;
    match &cli.command {
        Command::Status => commands::status::run(dir)
            .with_context(|| format!("cannot list the migrations in {}", dir.display())),
        Command::New(args) => commands::new::run(dir, &args.name, chrono::Utc::now())
            .context("cannot create the migration"),
    }
}

fn print(report: &Report, format: Format) {
    let (text, to_stderr) = match format {
        Format::Json => (report::json::render(report), false),
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
