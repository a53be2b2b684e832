//! The options of the unattended commands: `nightly` (a night's finished runs) and `backfill` (a
//! window of history, synchronous or through the Batch API).

use std::path::PathBuf;

use clap::{Args, Subcommand};

use super::{AnalysisArgs, SourceArgs};

pub(super) const BACKFILL_HELP: &str = include_str!("../../help/backfill.txt").trim_ascii_end();

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct BackfillArgs {
    #[command(subcommand)]
    pub action: Option<BackfillAction>,
    #[command(flatten)]
    pub source: SourceArgs,
    /// Where reports are read and written, the digest and the backfill state too [default: reports]
    #[arg(long, env = "EVALTRIAGE_REPORTS_DIR", value_name = "DIR")]
    pub reports_dir: Option<PathBuf>,
    /// Only models whose slug matches this glob (`*`, `?`); repeatable
    #[arg(long = "model", value_name = "GLOB")]
    pub models: Vec<String>,
    /// Only runs of this experiment
    #[arg(long, value_name = "NAME")]
    pub experiment: Option<String>,
    /// Runs created from here: a date (2026-11-30) or a duration ago (24h, 7d)
    #[arg(long, value_name = "DATE|DURATION", value_parser = evaltriage_pipeline::since::parse_since)]
    pub since: Option<evaltriage_pipeline::since::Since>,
    /// Runs created before this: a date or a duration ago
    #[arg(long, value_name = "DATE|DURATION", value_parser = evaltriage_pipeline::since::parse_since)]
    pub until: Option<evaltriage_pipeline::since::Since>,
    /// At most this many runs, oldest first
    #[arg(long, value_name = "N")]
    pub max_runs: Option<usize>,
    /// Send every request through the provider's Batch API (OpenAI's) instead of synchronous calls
    #[arg(long)]
    pub batch: bool,
    /// Seconds between two polls of a batch in flight
    #[arg(long, value_name = "SECS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=3_600))]
    pub poll_secs: u64,
    /// A hard cap on LLM tokens for the synchronous engine, over all its runs at once
    #[arg(long, value_name = "N")]
    pub budget_tokens: Option<u64>,
    /// Runs the synchronous engine analyzes at once, 1 to 8 (a model's runs one at a time, in
    /// order, so a repeated failure reuses the earlier run's verdict)
    #[arg(long, value_name = "N", default_value_t = 2, value_parser = clap::value_parser!(u8).range(1..=8))]
    pub concurrent_runs: u8,
    /// Flag verdicts below this confidence for human review
    #[arg(long, value_name = "CONFIDENCE", default_value_t = 0.6, value_parser = parse_confidence)]
    pub review_below: f32,
    #[command(flatten)]
    pub analysis: AnalysisArgs,
}

#[derive(Debug, Subcommand)]
pub enum BackfillAction {
    /// Where the batch backfill stands (runs written, round, batches in flight)
    Status {
        /// Where reports are read and written [default: reports]
        #[arg(long, env = "EVALTRIAGE_REPORTS_DIR", value_name = "DIR")]
        reports_dir: Option<PathBuf>,
    },
}

pub(super) const NIGHTLY_HELP: &str = include_str!("../../help/nightly.txt").trim_ascii_end();

#[derive(Debug, Args)]
pub struct NightlyArgs {
    #[command(flatten)]
    pub source: SourceArgs,
    /// Read the runs from this folder of Inspect AI logs (.eval, .json): every finished log without a report is analyzed
    #[arg(long, value_name = "DIR", conflicts_with_all = ["store", "convex_url"])]
    pub logs: Option<PathBuf>,
    /// Where reports are read and written, the digest and the nightly state too [default: reports]
    #[arg(long, env = "EVALTRIAGE_REPORTS_DIR", value_name = "DIR")]
    pub reports_dir: Option<PathBuf>,
    /// Only models whose slug matches this glob (`*`, `?`); repeatable
    #[arg(long = "model", value_name = "GLOB")]
    pub models: Vec<String>,
    /// Only runs of this experiment (its high-water marks are kept apart from the other schedules')
    #[arg(long, value_name = "NAME")]
    pub experiment: Option<String>,
    /// The window starts here instead of at the high-water mark: a date (2026-11-30) or a duration (24h, 7d)
    #[arg(long, value_name = "DATE|DURATION", value_parser = evaltriage_pipeline::since::parse_since)]
    pub since: Option<evaltriage_pipeline::since::Since>,
    /// Analyze at most this many runs tonight; the rest wait for the next night
    #[arg(long, value_name = "N")]
    pub max_runs: Option<usize>,
    /// Print what would be analyzed and its estimated cost; no LLM call, nothing written
    #[arg(long)]
    pub dry_run: bool,
    /// A hard cap on LLM tokens for the whole night; runs that do not fit wait for the next night
    #[arg(long, value_name = "N")]
    pub budget_tokens: Option<u64>,
    /// Analyze every Nth finished run per model; the others get a one-line shape entry in the digest
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub sample_every: Option<u32>,
    /// Flag verdicts below this confidence for human review (with those that ended in error, and regressions)
    #[arg(long, value_name = "CONFIDENCE", default_value_t = 0.6, value_parser = parse_confidence)]
    pub review_below: f32,
    /// POST the night's summary as {"text": ...} to this incoming-webhook URL (a failure is only
    /// logged; the URL is never printed)
    #[arg(long, env = "EVALTRIAGE_NOTIFY_WEBHOOK", hide_env_values = true, value_name = "URL")]
    pub notify_webhook: Option<String>,
    /// Where the static site (`evaltriage site`) is published: the webhook links each report to
    /// its page there instead of naming its path
    #[arg(long, env = "EVALTRIAGE_SITE_URL", value_name = "URL")]
    pub site_url: Option<String>,
    #[command(flatten)]
    pub analysis: AnalysisArgs,
}

fn parse_confidence(text: &str) -> Result<f32, String> {
    match text.trim().parse::<f32>() {
        Ok(c) if (0.0..=1.0).contains(&c) => Ok(c),
        _ => Err(format!("{text:?} is not a confidence from 0 to 1")),
    }
}
