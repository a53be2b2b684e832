//! The `evaltriage` command: parses the command line, layers the configuration, builds the tokio
//! runtime, runs one command and turns its outcome into an exit code. Domain logic lives in the
//! library crates; this crate only wires them together and presents the results.

mod cli;
mod commands;
mod config;
mod exit;
mod progress;
mod sources;

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;

pub use cli::Cli;
use cli::{Command, EvalsCommand, RunsCommand};
use config::{FileConfig, Settings};
use exit::CliError;

/// Runs the command line of this process.
pub fn run() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // clap prints help/version to stdout (exit 0) and usage errors to stderr (exit 2).
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    init_logging();
    match run_cli(cli) {
        Ok(code) => code,
        Err(e) => {
            report_error(&e);
            e.exit_code()
        }
    }
}

fn report_error(e: &CliError) {
    use std::io::Write;
    let mut stderr = std::io::stderr().lock();
    let _ = writeln!(stderr, "error: {}", e.message);
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let ansi = std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()) && std::io::stderr().is_terminal();
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(ansi)
        .with_target(false)
        .try_init();
}

fn run_cli(cli: Cli) -> Result<ExitCode, CliError> {
    let file = FileConfig::load(cli.global.config.as_deref())?;
    let settings = Settings::resolve(&cli.global, &file);
    tracing::debug!(?settings, "settings");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::failed(format!("cannot start the async runtime: {e}")))?;
    let mut stdout = std::io::stdout().lock();
    runtime.block_on(async {
        match &cli.command {
            Command::AnalyzeRun(args) => commands::analyze::analyze_run(args, &file, &settings, &mut stdout).await,
            Command::Runs(RunsCommand::Show { target }) => {
                commands::runs::show(target, &settings, &mut stdout).await.map(|()| ExitCode::SUCCESS)
            }
            Command::Evals(EvalsCommand::List { target, status }) => {
                commands::evals::list(target, *status, &settings, &mut stdout).await.map(|()| ExitCode::SUCCESS)
            }
            Command::Evals(EvalsCommand::Show { target, eval, file }) => {
                commands::evals::show(target, eval.as_deref(), file.as_deref(), &settings, &mut stdout)
                    .await
                    .map(|()| ExitCode::SUCCESS)
            }
            Command::Snapshot { target, into } => {
                commands::snapshot::snapshot(target, into, &settings, &mut stdout).await.map(|()| ExitCode::SUCCESS)
            }
        }
    })
}
