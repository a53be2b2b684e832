//! `backfill`: every finished run of a window without a report, by the pipeline's backfill
//! (synchronous, or through OpenAI's Batch API with `--batch`); `backfill status` says where a
//! batch backfill stands. Log lines and the progress bar go to stderr, the summary to stdout.

use std::io::Write;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use evaltriage_fanout::Backend;
use evaltriage_fanout::batch::OpenAiBatches;
use evaltriage_pipeline::backfill::{BackfillOptions, BackfillState, ConcurrentRuns, backfill as run_backfill};
use evaltriage_pipeline::{AnalysisSettings, FileConfig, Settings};
use serde_json::json;

use crate::cli::{BackfillAction, BackfillArgs};
use crate::exit::CliError;
use crate::output::{emit, emit_either};
use crate::progress::Progress;

pub async fn backfill(
    args: &BackfillArgs,
    file: &FileConfig,
    settings: &Settings,
    json: bool,
    out: &mut dyn Write,
) -> Result<ExitCode, CliError> {
    if let Some(BackfillAction::Status { .. }) = &args.action {
        let state = BackfillState::load(&settings.reports_dir)?;
        let line =
            state.as_ref().map_or_else(|| "no backfill state in this reports folder".to_owned(), |s| s.summary());
        emit_either(
            out,
            json,
            || json!({ "state": state.as_ref().map(|s| serde_json::to_value(s).ok()), "summary": line }),
            || format!("{line}\n"),
        )?;
        return Ok(ExitCode::SUCCESS);
    }
    let mut options = crate::config::analysis_options(&args.analysis, None);
    options.reuse.get_or_insert(evaltriage_pipeline::reuse::ReuseMode::SameError);
    let analysis = AnalysisSettings::resolve(&options, file, settings)?;
    let provider = match (&analysis.fanout.backend, args.batch) {
        (Backend::Llm(llm), true) => Some(OpenAiBatches::new(llm).map_err(|e| CliError::failed(e.to_string()))?),
        (Backend::Rules(_), true) => {
            return Err(CliError::from(evaltriage_pipeline::Error::bad_input(
                "--batch needs an LLM endpoint: set OPENAI_API_KEY or --llm-base-url",
            )));
        }
        (_, false) => None,
    };
    let backfill_options = BackfillOptions {
        models: args.models.clone(),
        experiment: args.experiment.clone(),
        since: args.since,
        until: args.until,
        max_runs: args.max_runs,
        batch: args.batch,
        poll_interval: Duration::from_secs(args.poll_secs),
        review_below: args.review_below,
        budget_tokens: args.budget_tokens,
        concurrent_runs: ConcurrentRuns::new(args.concurrent_runs)?,
    };
    // The bar (runs done; a batch's request counts while it is waited for) over the log's lines.
    let progress = Arc::new(Progress::new());
    let done = run_backfill(settings, &analysis, &backfill_options, provider.as_ref(), progress.clone()).await;
    progress.finish();
    let done = done?;
    let cost =
        evaltriage_pipeline::cost::describe(done.batch_tokens, analysis.llm_cost(done.batch_tokens, true).as_ref());
    if json {
        emit_either(
            out,
            true,
            || {
                let mut v = done.digest.to_json();
                if let Some(o) = v.as_object_mut() {
                    o.insert("digest_path".into(), json!(done.digest_path));
                    o.insert("batch_requests".into(), json!(done.batch_requests));
                    o.insert("reused".into(), json!(done.reused));
                    o.insert("reached_past_listing".into(), json!(done.reached_past_listing));
                    o.insert(
                        "batch_cost".into(),
                        evaltriage_pipeline::cost::json(done.batch_tokens, analysis.price.as_ref()),
                    );
                }
                v
            },
            String::new,
        )?;
    } else {
        let batch =
            if args.batch { format!("; batch API: {} requests, {cost}", done.batch_requests) } else { String::new() };
        emit(
            out,
            &format!(
                "{}; {} failures reused an earlier verdict{batch}\ndigest: {}\n",
                done.digest.summary(),
                done.reused,
                done.digest_path.display()
            ),
        )?;
    }
    Ok(if done.failed_any { ExitCode::from(1) } else { ExitCode::SUCCESS })
}
