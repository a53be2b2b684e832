//! The `evaltriage` command: parses the command line, layers the configuration, builds the tokio
//! runtime, runs one command and turns its outcome into an exit code. Domain logic lives in the
//! library crates; this crate only wires them together and presents the results.

mod cli;
mod commands;
mod config;
mod exit;
mod hints;
mod mcp;
mod output;
mod present;
mod progress;

use std::process::ExitCode;

use clap::Parser;

pub use cli::Cli;
use cli::{Command, EvalsCommand, ReportsCommand, RunsCommand, SourceArgs};
use evaltriage_pipeline::review::ReportFilter;
use evaltriage_pipeline::{FileConfig, Settings};
use exit::CliError;

/// Runs the command line of this process.
pub fn run() -> ExitCode {
    config::register_env_secrets();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // clap writes help/version to stdout (exit 0) and usage errors to stderr (exit 2); both
            // echo argv and the environment, so both pass through the redaction layer and the
            // terminal sanitizer like every other output.
            use std::io::Write;
            let text = evaltriage_core::redact::for_terminal(&e.render().to_string());
            if !e.use_stderr() {
                let _ = std::io::stdout().lock().write_all(text.as_bytes());
                return ExitCode::SUCCESS;
            }
            let _ = std::io::stderr().lock().write_all(text.as_bytes());
            if std::env::args_os().any(|a| a == "--json") {
                let first =
                    e.to_string().lines().next().unwrap_or("invalid usage").trim_start_matches("error: ").to_owned();
                print_json_error(&CliError::usage(first));
            }
            return ExitCode::from(2);
        }
    };
    init_logging();
    let json = cli.global.json;
    match run_cli(cli) {
        Ok(code) => code,
        Err(e) => {
            report_error(&e);
            if json {
                print_json_error(&e);
            }
            e.exit_code()
        }
    }
}

fn report_error(e: &CliError) {
    use std::io::Write;
    let mut stderr = std::io::stderr().lock();
    let _ = writeln!(stderr, "error: {}", evaltriage_core::redact::for_terminal(&e.message));
}

/// With `--json`, an error is also a JSON object on stdout, so a script reading stdout sees it.
fn print_json_error(e: &CliError) {
    let value = serde_json::json!({ "error": e.message, "exit_code": e.code });
    let _ = output::emit_json(&mut std::io::stdout().lock(), &value);
}

/// Logs go to stderr through [`SafeStderr`]: redacted and sanitized like every other output, so
/// they carry no colour codes of their own either.
fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(|| SafeStderr)
        .with_ansi(false)
        .with_target(false)
        .try_init();
}

/// stderr for log lines: each write (one formatted event) passes through the redaction layer and
/// the terminal sanitizer, since events carry foreign text (paths, server messages, reasons).
struct SafeStderr;

impl std::io::Write for SafeStderr {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let text = evaltriage_core::redact::for_terminal(&String::from_utf8_lossy(buf));
        std::io::stderr().lock().write_all(text.as_bytes())?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

/// The settings of a command: its source and reports-folder options over the config file. A
/// `--convex-key` flag is registered with the redaction layer here.
fn settings_for(
    source: &SourceArgs,
    reports_dir: Option<&std::path::Path>,
    file: &FileConfig,
    config_file: Option<&std::path::Path>,
) -> Settings {
    if let Some(key) = &source.convex_key {
        evaltriage_core::redact::register_secret(key);
    }
    let settings = Settings::resolve(&config::source_options(source), reports_dir, file, config_file);
    tracing::debug!(?settings, "settings");
    settings
}

fn run_cli(cli: Cli) -> Result<ExitCode, CliError> {
    let file = config::load(cli.global.config.as_deref())?;
    config::register_file_secrets(&file);
    let config_file = cli.global.config.as_deref();
    let json = cli.global.json;
    let settings_for = |source: &SourceArgs, reports_dir: Option<&std::path::Path>| {
        settings_for(source, reports_dir, &file, config_file)
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::failed(format!("cannot start the async runtime: {e}")))?;
    if let Command::Mcp(args) = &cli.command {
        // stdout is the protocol channel: nothing here may lock or write it but the transport.
        let settings = settings_for(&args.source, args.reports_dir.as_deref());
        return runtime.block_on(mcp::serve(args, &file, settings));
    }
    let mut stdout = std::io::stdout().lock();
    let out = &mut stdout;
    let done = |r: Result<(), CliError>| r.map(|()| ExitCode::SUCCESS);
    runtime.block_on(async {
        match &cli.command {
            Command::AnalyzeRun(args) => {
                let settings = settings_for(&args.source, args.reports_dir.as_deref());
                commands::analyze::analyze_run(args, &file, &settings, json, out).await
            }
            Command::Runs(RunsCommand::Show { target, source }) => {
                done(commands::runs::show(target, &settings_for(source, None), json, out).await)
            }
            Command::Runs(RunsCommand::List(args)) => {
                let settings = settings_for(&args.source, None).with_logs(args.logs.as_deref());
                commands::runs::list(args, &settings, json, out).await
            }
            Command::Nightly(args) => {
                let settings = settings_for(&args.source, args.reports_dir.as_deref()).with_logs(args.logs.as_deref());
                commands::nightly::nightly(args, &file, &settings, json, out).await
            }
            Command::Backfill(args) => {
                let reports_dir = match &args.action {
                    Some(cli::BackfillAction::Status { reports_dir }) => reports_dir.as_deref(),
                    None => args.reports_dir.as_deref(),
                };
                let settings = settings_for(&args.source, reports_dir);
                commands::backfill::backfill(args, &file, &settings, json, out).await
            }
            Command::Evals(EvalsCommand::List { target, status, source }) => {
                done(commands::evals::list(target, (*status).into(), &settings_for(source, None), json, out).await)
            }
            Command::Evals(EvalsCommand::Show { target, eval, file: wanted, full, source }) => {
                let how = commands::evals::ShowOptions { file: wanted.as_deref(), full: *full };
                let settings = settings_for(source, None);
                done(commands::evals::show(target, eval.as_deref(), how, &settings, json, out).await)
            }
            Command::Mcp(_) => Err(CliError::failed("mcp is served without the stdout lock")),
            Command::Snapshot { target, into, convex } => {
                let source = SourceArgs {
                    convex_url: convex.convex_url.clone(),
                    convex_key: convex.convex_key.clone(),
                    store: None,
                };
                done(commands::snapshot::snapshot(target, into, &settings_for(&source, None), json, out).await)
            }
            Command::Reports(command) => {
                done(run_reports(command, &|dir| settings_for(&SourceArgs::default(), dir).reports_dir, json, out))
            }
            Command::Diff { run_a, run_b, reports, source } => {
                let settings = settings_for(source, reports.reports_dir.as_deref());
                done(commands::diff::diff(run_a, run_b, &settings, json, out).await)
            }
            Command::Findings(args) => done(commands::findings::findings(
                args,
                file.across,
                &|dir| settings_for(&SourceArgs::default(), dir).reports_dir,
                json,
                out,
            )),
            Command::Site { out: out_dir, runs, reports } => {
                let settings = settings_for(&SourceArgs::default(), reports.reports_dir.as_deref());
                done(commands::site::site(&settings, out_dir, usize::from(*runs), json, out))
            }
        }
    })
}

/// The `reports` subcommands: they read the reports folder only, never a run.
fn run_reports(
    command: &ReportsCommand,
    reports_dir: &dyn Fn(Option<&std::path::Path>) -> std::path::PathBuf,
    json: bool,
    out: &mut dyn std::io::Write,
) -> Result<(), CliError> {
    use commands::reports;
    match command {
        ReportsCommand::List { model, since, reports: dir } => {
            let filter = ReportFilter { model: model.as_deref(), since: *since };
            reports::list(&reports_dir(dir.reports_dir.as_deref()), filter, json, out)
        }
        ReportsCommand::Show { report, raw, reports: dir } => {
            reports::show(report, *raw, &reports_dir(dir.reports_dir.as_deref()), json, out)
        }
        ReportsCommand::Trend { model, since, runs, min_failed, svg, reports: dir } => {
            let filter = ReportFilter { model: model.as_deref(), since: *since };
            let options = evaltriage_report::TrendOptions {
                window: usize::from(*runs),
                persistent_min: usize::from(*min_failed),
            };
            reports::trend(&reports_dir(dir.reports_dir.as_deref()), filter, options, svg.as_deref(), json, out)
        }
        ReportsCommand::Export { format, model, status, classification, step, since, until, reports: dir } => {
            let filter = evaltriage_report::ExportFilter {
                model: model.as_deref(),
                status: status.as_deref(),
                classification: classification.as_deref(),
                step: step.as_deref(),
                since: *since,
                until: *until,
            };
            reports::export(*format, &filter, &reports_dir(dir.reports_dir.as_deref()), out)
        }
        ReportsCommand::Review { report, eval, label, note, by, reports: dir } => {
            let args = reports::ReviewArgs { report, eval, label: *label, note, by: by.as_deref() };
            reports::review(&args, &reports_dir(dir.reports_dir.as_deref()), json, out)
        }
        ReportsCommand::Agreement { model, since, reports: dir } => {
            let filter = ReportFilter { model: model.as_deref(), since: *since };
            reports::agreement(&reports_dir(dir.reports_dir.as_deref()), filter, json, out)
        }
    }
}
