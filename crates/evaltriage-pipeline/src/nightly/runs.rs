//! One run of a night: refused, skipped, estimated against the budget, analyzed and summed up for
//! the digest; what runs handled at once share sits behind locks.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use chrono::Utc;
use evaltriage_core::source::{RunHeader, Source, SourceError};
use evaltriage_core::{Classification, RunRef, Shape, VerdictStatus};
use evaltriage_report::{AnalyzedRun, ChangesSince, Flagged, RunOutcome};

use super::NightOptions;
use super::plan::{Decision, Planner, WindowRun};
use crate::analyze::{AnalyzeRequest, Analyzed, Written, analyze};
use crate::error::Error;
use crate::events::{Event, Events, NoEvents};
use crate::settings::{AnalysisSettings, Settings};

/// The night's settings, and why no further LLM call may be sent tonight (the endpoint refused
/// the key). Runs may be handled at once (the backfill's runs in flight): what they share — the
/// plan, the refusal — sits behind locks never held across an await.
pub(crate) struct NightRuns<'a> {
    pub(crate) settings: &'a Settings,
    pub(crate) analysis: &'a AnalysisSettings,
    pub(crate) options: &'a NightOptions,
    stopped: Mutex<Option<String>>,
    /// Each run's analysis reports here: its warnings become lines of the night's log.
    pub(crate) events: Arc<dyn Events>,
    /// The token budget every run's calls draw on when runs are analyzed at once; `None`: each
    /// run's analysis may spend what the plan has left when it starts (runs one at a time).
    pub(crate) shared_budget: Option<evaltriage_fanout::SharedBudget>,
}

/// A lock whose holder never leaves its data half-changed (a counter, an `Option`): a panic
/// elsewhere does not make it unusable.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The events of one run's analysis during a night or a backfill: no progress is drawn, and a
/// warning is a line of the log like every other, never a raw log line among them.
#[derive(Debug)]
pub(crate) struct RunLog {
    /// The command whose log it is (`nightly`, `backfill`).
    command: &'static str,
    to: Arc<dyn Events>,
}

impl RunLog {
    pub(crate) fn new(command: &'static str, to: Arc<dyn Events>) -> Self {
        Self { command, to }
    }
}

impl Events for RunLog {
    fn send(&self, event: Event) {
        if let Event::Warning(message) = event {
            self.to.send(Event::Night(format!("{}: warning: {message}", self.command)));
        }
    }
}

impl<'a> NightRuns<'a> {
    pub(crate) fn new(
        settings: &'a Settings,
        analysis: &'a AnalysisSettings,
        options: &'a NightOptions,
        events: Arc<dyn Events>,
    ) -> Self {
        Self { settings, analysis, options, stopped: Mutex::new(None), events, shared_budget: None }
    }

    /// Why no further LLM call may be sent (the endpoint refused the key), once it did.
    pub(crate) fn stopped(&self) -> Option<String> {
        lock(&self.stopped).clone()
    }

    pub(crate) async fn handle(&self, run: &WindowRun, below_mark: bool, planner: &Mutex<Planner>) -> RunOutcome {
        let header = &run.header;
        let report = match existing_report(&self.settings.reports_dir, header) {
            Ok(report) => report,
            Err(e) => return RunOutcome::Failed { error: e.message },
        };
        let decision = lock(planner).decide(run, report, below_mark);
        if let Decision::AlreadyReported(report) = &decision {
            return RunOutcome::AlreadyReported { report: relative_to_digest(&self.settings.reports_dir, report) };
        }
        if let Decision::Wait(why) = decision {
            return RunOutcome::Left { why };
        }
        if let Some(why) = self.stopped() {
            return RunOutcome::Left { why };
        }
        // A fresh source per run: blobs are shared between a run's estimate and its analysis, and
        // dropped after it.
        let source = match crate::source::for_run(self.settings, &header.run_id).await {
            Ok(s) => s,
            Err(e) => return RunOutcome::Failed { error: e.message },
        };
        let run_ref = RunRef::run(header.run_id.clone());
        let fetched = match source.run(&run_ref).await {
            Ok(fetched) => fetched,
            Err(e @ SourceError::NotACodingRun(_)) => return RunOutcome::Skipped { why: e.to_string() },
            Err(e) => return RunOutcome::Failed { error: e.to_string() },
        };
        // The benchmark itself does not score it: no analysis, said in the digest, handled for good.
        if let Some(why) = fetched.unscored_reason() {
            return RunOutcome::Skipped { why: format!("not scored by the benchmark: {why}") };
        }
        if decision == Decision::Sampled {
            let shape = Shape::of(&fetched);
            return RunOutcome::Sampled {
                passed: shape.passed,
                total: shape.total,
                failed: shape.failed,
                infrastructure: shape.infrastructure,
            };
        }
        let budget = lock(planner).budget_left();
        let need = match estimate_tokens(self.settings, self.analysis, budget, &source, &run_ref).await {
            Ok(need) => need,
            Err(e) => return RunOutcome::Failed { error: e.message },
        };
        // Admitted against what is left now: another run may have been admitted meanwhile.
        if let Err(why) = lock(planner).admit(run, need, below_mark) {
            return RunOutcome::Left { why };
        }
        let mut analysis = self.analysis.clone();
        match &self.shared_budget {
            // Runs at once: each call reserves from the one budget, so together they never pass it.
            Some(shared) => analysis.fanout.shared_budget = Some(shared.clone()),
            // One run at a time: it may spend what was left when it started.
            None => analysis.fanout.token_budget = budget,
        }
        let request = AnalyzeRequest { estimate: false, force: false };
        match analyze(self.settings, &analysis, request, &source, &run_ref, Arc::clone(&self.events)).await {
            Ok(Analyzed::Written(written)) => {
                lock(planner).settle(need.unwrap_or(0), written.tokens_spent());
                RunOutcome::Analyzed(self.analyzed_run(&written))
            }
            Ok(Analyzed::Stopped(e)) => {
                let why = format!("the LLM endpoint refused the key tonight ({})", e.message);
                *lock(&self.stopped) = Some(why);
                RunOutcome::Failed { error: e.message }
            }
            Ok(other) => RunOutcome::Failed { error: format!("unexpected analysis outcome: {}", other.kind()) },
            Err(e) => RunOutcome::Failed { error: e.message },
        }
    }

    /// A written report, as the digest shows it.
    pub(crate) fn analyzed_run(&self, w: &Written) -> AnalyzedRun {
        let (fixed, new_failures) = match &w.changes {
            ChangesSince::Since(c) => (
                c.fixed.iter().map(|e| e.eval.clone()).collect(),
                c.new_failures.iter().map(|e| e.eval.clone()).collect::<Vec<String>>(),
            ),
            ChangesSince::NoPriorReport { .. } => (Vec::new(), Vec::new()),
        };
        let mut labels = Vec::new();
        for class in Classification::ALL {
            let n = w.verdicts.iter().filter(|v| v.classification == Some(class)).count();
            if n > 0 {
                labels.push((class.as_str().to_owned(), n));
            }
        }
        let errors = w.verdicts.iter().filter(|v| v.status == VerdictStatus::Error).count();
        if errors > 0 {
            labels.push(("not classified (error)".to_owned(), errors));
        }
        let review_below = self.options.review_below;
        let flagged = w
            .verdicts
            .iter()
            .filter_map(|v| {
                let mut reasons = Vec::new();
                if v.status == VerdictStatus::Error {
                    reasons.push("error".to_owned());
                }
                if v.classification.is_some() && v.confidence.is_some_and(|c| c.is_finite() && c < review_below) {
                    reasons.push(format!("low confidence (below {review_below})"));
                }
                if new_failures.iter().any(|p| p == v.eval_path.as_str()) {
                    reasons.push("regression".to_owned());
                }
                (!reasons.is_empty()).then(|| Flagged {
                    eval_path: v.eval_path.to_string(),
                    classification: v.classification.map(|c| c.as_str().to_owned()),
                    confidence: v.confidence,
                    reasons,
                })
            })
            .collect();
        AnalyzedRun {
            passed: w.shape.passed,
            total: w.shape.finished(),
            changes: w.changes.one_line(),
            fixed,
            new_failures,
            labels,
            report: relative_to_digest(&self.settings.reports_dir, &w.path),
            flagged,
            tokens: w.tokens_spent(),
            llm_cost: w.llm_cost(),
            cost_usd: w.shape.cost_usd(),
        }
    }
}

/// The tokens a run's analysis would take when the night has a budget and an LLM classifies
/// (`None` otherwise: nothing to reserve).
async fn estimate_tokens(
    settings: &Settings,
    analysis: &AnalysisSettings,
    budget: Option<u64>,
    source: &crate::source::AnySource,
    run_ref: &RunRef,
) -> Result<Option<u64>, Error> {
    if budget.is_none() || !analysis.uses_llm() {
        return Ok(None);
    }
    let request = AnalyzeRequest { estimate: true, force: false };
    match analyze(settings, analysis, request, source, run_ref, Arc::new(NoEvents)).await? {
        Analyzed::Estimate(est, _) => Ok(Some(est.total_tokens())),
        other => Err(Error::failed(format!("cannot estimate: {}", other.kind()))),
    }
}

/// The report a run already has, found from its listed header alone (no fetch): the same folder
/// and file-name prefix an analysis would write.
pub(crate) fn existing_report(reports_dir: &Path, header: &RunHeader) -> Result<Option<PathBuf>, Error> {
    let key = evaltriage_report::ReportKey::of_header(header, Utc::now().date_naive(), None);
    let path = evaltriage_report::report_path_in_tree(reports_dir, &key);
    evaltriage_report::existing_report_for(&path).map_err(Error::failed)
}

/// A report's path relative to `<reports-dir>/nightly/`, for the digest's links.
fn relative_to_digest(reports_dir: &Path, report: &Path) -> String {
    match report.strip_prefix(reports_dir) {
        Ok(rel) => format!("../{}", rel.to_string_lossy().replace('\\', "/")),
        Err(_) => report.to_string_lossy().into_owned(),
    }
}
