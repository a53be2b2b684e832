//! The backfill: every finished run of a window that has no report, analyzed like the nightly (the
//! same per-run handling, rules and digest) with one of two engines. The window is what
//! `runs:listRuns` lists, reaching past its 40 runs a model through the model's history
//! ([`window`]). The synchronous engine ([`sync`]) analyzes a few runs at once, a model's runs in
//! order, so a failure repeated by a later run reuses the verdict of the earlier one's report. The
//! batch engine ([`batch`]) sends every request to the provider's Batch API in rounds, with its
//! state kept in `<reports-dir>/.evaltriage/backfill.json`, so a killed backfill picks its batches
//! up again. Both write the digest, `<reports-dir>/backfill/<date>.md`, after every run, its rows in
//! the window's order.

mod batch;
mod sync;
mod window;

use std::num::NonZeroU8;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use evaltriage_core::TokenUsage;
use evaltriage_fanout::batch::BatchProvider;
use evaltriage_report::{NightDigest, RunOutcome};

use crate::error::Error;
use crate::events::{Event, Events};
use crate::nightly::read_digest;
use crate::nightly::state::NightLock;
use crate::settings::{AnalysisSettings, Settings};
use crate::since::Since;

pub use batch::{BackfillState, StateBatch, StateRun};

/// What a backfill is asked to do.
#[derive(Debug, Clone)]
pub struct BackfillOptions {
    pub models: Vec<String>,
    pub experiment: Option<String>,
    pub since: Option<Since>,
    pub until: Option<Since>,
    pub max_runs: Option<usize>,
    /// Send the requests through the provider's Batch API instead of synchronous calls.
    pub batch: bool,
    /// How often a batch in flight is asked how it stands.
    pub poll_interval: Duration,
    pub review_below: f32,
    /// A night-wide token budget for the synchronous engine.
    pub budget_tokens: Option<u64>,
    /// Runs the synchronous engine analyzes at once.
    pub concurrent_runs: ConcurrentRuns,
}

impl Default for BackfillOptions {
    fn default() -> Self {
        Self {
            models: Vec::new(),
            experiment: None,
            since: None,
            until: None,
            max_runs: None,
            batch: false,
            poll_interval: Duration::from_secs(30),
            review_below: 0.5,
            budget_tokens: None,
            concurrent_runs: ConcurrentRuns::default(),
        }
    }
}

/// How many runs the synchronous engine analyzes at once: 1 to [`ConcurrentRuns::MAX`], 2 by
/// default. Each run has up to the fan-out's own concurrency of calls in flight.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConcurrentRuns(NonZeroU8);

impl ConcurrentRuns {
    pub const MAX: u8 = 8;

    pub fn new(n: u8) -> Result<Self, Error> {
        NonZeroU8::new(n)
            .filter(|n| n.get() <= Self::MAX)
            .map(Self)
            .ok_or_else(|| Error::bad_input(format!("runs at once must be from 1 to {}, got {n}", Self::MAX)))
    }

    pub fn get(self) -> usize {
        usize::from(self.0.get())
    }
}

impl Default for ConcurrentRuns {
    fn default() -> Self {
        Self(NonZeroU8::new(2).unwrap_or(NonZeroU8::MIN))
    }
}

/// What a backfill did.
#[derive(Debug)]
pub struct Backfilled {
    pub digest: NightDigest,
    pub digest_path: PathBuf,
    pub failed_any: bool,
    /// Requests sent to the Batch API (all rounds), and the tokens its answers took.
    pub batch_requests: u64,
    pub batch_tokens: TokenUsage,
    /// Failures that reused an earlier verdict instead of a request.
    pub reused: usize,
    /// Runs of the window found through the models' histories, past what `runs:listRuns` lists.
    pub reached_past_listing: usize,
}

/// Where a backfill's digest goes.
fn digest_path(reports_dir: &Path, digest: &NightDigest) -> PathBuf {
    reports_dir.join("backfill").join(format!("{}.md", digest.date.format("%Y-%m-%d")))
}

/// Runs a backfill with the engine `options` names. `provider` is the Batch API (only used with
/// `options.batch`).
pub async fn backfill<P: BatchProvider>(
    settings: &Settings,
    analysis: &AnalysisSettings,
    options: &BackfillOptions,
    provider: Option<&P>,
    events: Arc<dyn Events>,
) -> Result<Backfilled, Error> {
    let started = Utc::now();
    let started_at = started.format("%Y-%m-%dT%H:%M:%SZ").to_string();
    let _lock = NightLock::acquire(&settings.reports_dir, &started_at)?;
    let digest = NightDigest {
        date: started.date_naive(),
        started_at: started_at.clone(),
        finished: false,
        source: settings.describe_source(),
        runs: Vec::new(),
        notes: Vec::new(),
        tokens_spent: 0,
        llm_cost: analysis.llm_cost(TokenUsage::default(), options.batch),
        budget_tokens: options.budget_tokens,
        // A backfill fills in history: what its findings were before it is nobody's question.
        finding_changes: Vec::new(),
    };
    let path = digest_path(&settings.reports_dir, &digest);
    let before = read_digest(&settings.reports_dir, &path, digest.date)?;
    let digest = Digest { digest, path, before };
    if options.batch {
        let provider = provider.ok_or_else(|| Error::bad_input("--batch needs an LLM endpoint with a batch API"))?;
        return batch::engine(settings, analysis, options, provider, events.as_ref(), digest).await;
    }
    sync::engine(settings, analysis, options, events, digest).await
}

/// The backfill's digest, what its file held before, and where it goes.
struct Digest {
    digest: NightDigest,
    path: PathBuf,
    before: String,
}

impl Digest {
    fn write(&self, reports_dir: &Path) -> Result<(), Error> {
        crate::nightly::write_digest(reports_dir, &self.path, &self.before, &self.digest)
    }
}

/// Says the window's listing on the log and returns its runs, with its notes in the digest.
async fn list_window(
    settings: &Settings,
    options: &BackfillOptions,
    events: &dyn Events,
    digest: &mut Digest,
) -> Result<window::Window, Error> {
    events.send(Event::Night(format!("backfill: listing runs from {}", settings.describe_source())));
    let window = window::window(settings, options).await?;
    digest.digest.notes.extend(window.notes.iter().cloned());
    let reached = match window.reached_past_listing {
        0 => String::new(),
        n => format!(" ({n} found through the models' histories)"),
    };
    events.send(Event::Night(format!("backfill: {} finished runs without a report{reached}", window.runs.len())));
    Ok(window)
}

/// Reused verdicts in a written report (counted from its block: the digest holds no verdicts).
fn reused_in(reports_dir: &Path, outcome: &RunOutcome) -> usize {
    let RunOutcome::Analyzed(a) = outcome else { return 0 };
    let path = reports_dir.join(a.report.strip_prefix("../").unwrap_or(&a.report));
    let Ok(text) = std::fs::read_to_string(path) else { return 0 };
    evaltriage_report::parse_report(&text, None).map_or(0, |r| {
        r.verdicts.iter().filter(|v| matches!(v.origin, evaltriage_core::VerdictOrigin::Reused(_))).count()
    })
}

/// A run's outcome in a few words, for the log.
fn said(outcome: &RunOutcome) -> String {
    let first_line = |text: &str| crate::one_line(text, 120);
    match outcome {
        RunOutcome::Analyzed(a) => format!("analyzed, {}/{} passed", a.passed, a.total),
        RunOutcome::AlreadyReported { .. } => "already reported".to_owned(),
        RunOutcome::Sampled { .. } => "shape only".to_owned(),
        RunOutcome::Skipped { why } => format!("skipped: {}", first_line(why)),
        RunOutcome::Left { why } => format!("left: {}", first_line(why)),
        RunOutcome::Failed { error } => format!("failed: {}", first_line(error)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_at_once_are_one_to_eight_and_two_by_default() {
        assert_eq!(ConcurrentRuns::default().get(), 2);
        assert_eq!(ConcurrentRuns::new(8).unwrap().get(), 8);
        for bad in [0, 9] {
            assert_eq!(ConcurrentRuns::new(bad).unwrap_err().kind, crate::ErrorKind::BadInput);
        }
    }
}
