//! `analyze-run`: the main job, from the pipeline's `analyze`; prints the summary (or the
//! estimate) and turns the outcome into an exit code.

use std::io::Write;
use std::process::ExitCode;
use std::sync::Arc;

use evaltriage_pipeline::analyze::{AnalyzeRequest, Analyzed, analyze};
use evaltriage_pipeline::{AnalysisSettings, FileConfig, Settings};

use crate::cli::AnalyzeArgs;
use crate::exit::CliError;
use crate::hints::RunAddress;
use crate::output::{emit, emit_either};
use crate::present::analyze::{estimate_text, written_json, written_text};
use crate::progress::Progress;
use evaltriage_pipeline::analyze::estimate_json;

pub async fn analyze_run(
    args: &AnalyzeArgs,
    file: &FileConfig,
    settings: &Settings,
    json: bool,
    out: &mut dyn Write,
) -> Result<ExitCode, CliError> {
    let options = crate::config::analysis_options(&args.analysis, args.budget_tokens);
    let analysis = AnalysisSettings::resolve(&options, file, settings)?;
    let (source, run_ref) = evaltriage_pipeline::source::open(&args.target, settings)?;
    let request = AnalyzeRequest { estimate: args.estimate, force: args.force };
    match analyze(settings, &analysis, request, &source, &run_ref, Arc::new(Progress::new())).await? {
        Analyzed::NothingInScope(message) => emit(out, &message).map(|()| ExitCode::SUCCESS),
        Analyzed::Estimate(est, config) => {
            let price = analysis.price.as_ref();
            emit_either(
                out,
                json,
                || estimate_json(&est, &config, price),
                || estimate_text(&est, &config, price, file.path.as_deref()),
            )
            .map(|()| ExitCode::SUCCESS)
        }
        Analyzed::Stopped(e) => Err(e.into()),
        Analyzed::Written(written) => {
            let address = || RunAddress::new(&args.target, &written.run.id, settings);
            emit_either(out, json, || written_json(&written, address()), || written_text(&written, address()))?;
            Ok(if written.incomplete() { ExitCode::from(1) } else { ExitCode::SUCCESS })
        }
    }
}
