//! `nightly`: every new finished run analyzed exactly once, unattended, by the pipeline's night;
//! its log lines go to stderr, its summary (or the dry run's plan) to stdout.

use std::io::Write;
use std::process::ExitCode;
use std::sync::Arc;

use evaltriage_pipeline::nightly::plan::PlanLimits;
use evaltriage_pipeline::nightly::{NightOptions, NightOutcome, nightly as run_night};
use evaltriage_pipeline::{AnalysisSettings, FileConfig, Settings};

use crate::cli::NightlyArgs;
use crate::exit::CliError;
use crate::output::{emit, emit_either};
use crate::present::analyze::estimate_cost;
use crate::progress::NightLog;

pub async fn nightly(
    args: &NightlyArgs,
    file: &FileConfig,
    settings: &Settings,
    json: bool,
    out: &mut dyn Write,
) -> Result<ExitCode, CliError> {
    // Usage errors (a bad endpoint, a bad config value) before anything is locked or listed. The
    // night's budget is the night's, not each run's.
    let mut options = crate::config::analysis_options(&args.analysis, None);
    options.reuse.get_or_insert(evaltriage_pipeline::reuse::ReuseMode::SameError);
    let analysis = AnalysisSettings::resolve(&options, file, settings)?;
    let webhook = args.notify_webhook.as_deref().map(str::trim).filter(|u| !u.is_empty());
    // A webhook URL carries its own token: it is a secret for the redaction layer.
    if let Some(url) = webhook {
        evaltriage_core::redact::register_secret(url);
    }
    let options = NightOptions {
        models: args.models.clone(),
        experiment: args.experiment.clone(),
        since: args.since,
        limits: PlanLimits {
            sample_every: args.sample_every,
            max_runs: args.max_runs,
            budget_tokens: args.budget_tokens,
        },
        dry_run: args.dry_run,
        review_below: args.review_below,
        notify_webhook: webhook.map(str::to_owned),
        site_url: args.site_url.clone().filter(|u| !u.trim().is_empty()),
    };
    let outcome = run_night(settings, &analysis, &options, Arc::new(NightLog)).await.map_err(|e| {
        let mut e = CliError::from(e);
        if e.message.starts_with("the webhook is not") {
            e.message = e.message.replacen("the webhook", "--notify-webhook", 1);
        }
        e
    })?;
    match outcome {
        NightOutcome::DryRun(dry) => {
            emit_either(
                out,
                json,
                || dry.json(),
                || {
                    let mut s = String::new();
                    for r in &dry.rows {
                        let tokens = r.tokens.map(|t| format!(" (~{t} tokens)")).unwrap_or_default();
                        s.push_str(&format!(
                            "{}  {}  {}  {}{tokens}\n",
                            r.header.run_id, r.header.model, r.header.experiment, r.action
                        ));
                    }
                    s.push_str(&format!(
                        "dry run: {} of {} runs would be analyzed, about {} LLM tokens; nothing was written\n",
                        dry.analyses,
                        dry.rows.len(),
                        dry.tokens.total()
                    ));
                    let (backend, price) = (&analysis.fanout.backend, analysis.price.as_ref());
                    if let Some(cost) = estimate_cost(dry.tokens, backend, price, file.path.as_deref()) {
                        s.push_str(&format!("cost: {cost}\n"));
                    }
                    s
                },
            )?;
            Ok(ExitCode::SUCCESS)
        }
        NightOutcome::Night(night) => {
            if json {
                emit_either(out, true, || night.json(), String::new)?;
            } else {
                emit(out, &format!("{}\ndigest: {}\n", night.digest.summary(), night.digest_path.display()))?;
            }
            Ok(if night.failed_any { ExitCode::from(1) } else { ExitCode::SUCCESS })
        }
    }
}
