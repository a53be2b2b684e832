//! `runs show` (the run's shape, before any analysis) and `runs list` (runs across models).

use std::io::Write;
use std::process::ExitCode;

use evaltriage_pipeline::Settings;
use evaltriage_pipeline::runs::{RunsQuery, list_runs, run_shape, shape_json};

use crate::cli::RunsListArgs;
use crate::exit::CliError;
use crate::output::emit_either;
use crate::present::runs::{runs_listed_text, shape_text};

pub async fn show(target: &str, settings: &Settings, json: bool, out: &mut dyn Write) -> Result<(), CliError> {
    let (run, shape) = run_shape(target, settings).await?;
    emit_either(out, json, || shape_json(&run, &shape), || shape_text(&run, &shape))
}

/// `runs list`: runs across models, newest first; exit 1 when a model's runs could not be listed.
pub async fn list(
    args: &RunsListArgs,
    settings: &Settings,
    json: bool,
    out: &mut dyn Write,
) -> Result<ExitCode, CliError> {
    let query = RunsQuery {
        models: args.models.clone(),
        experiment: args.experiment.clone(),
        status: args.status.map(Into::into),
        since: args.since,
        limit: args.limit,
    };
    let listed = list_runs(&query, settings).await?;
    emit_either(out, json, || listed.json(), || runs_listed_text(&listed))?;
    Ok(if listed.complete() { ExitCode::SUCCESS } else { ExitCode::from(1) })
}
