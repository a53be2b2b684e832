//! The analysis of one run: resolve, fetch, shape, history, evidence, classify, collate, write
//! (DESIGN §2). Per-eval problems are data in the report, never an abort; what the analysis made
//! comes back as [`Analyzed`], for a face to present.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use evaltriage_core::source::Source;
use evaltriage_core::{EvalPath, Evidence, Failure, Run, RunRef, Shape, TokenUsage, Verdict, VerdictStatus};
use evaltriage_fanout::{Backend, Case, FanoutConfig};
use evaltriage_report::ReportScope;
use futures::StreamExt;
use serde_json::json;

use crate::error::{Error, ErrorKind};
use crate::events::{Event, Events};
use crate::settings::{AnalysisSettings, Settings};
use crate::source::AnySource;

/// Why a verdict has no answer when the batch engine writes a run without calls.
pub(crate) const NO_BATCH_ANSWER: &str = "no valid answer came back from the batch within its rounds";

/// Whether the analysis is the batch engine's writing of a run (every answer came through the
/// Batch API, so its tokens are priced at the batch price).
fn at_batch_price(config: &FanoutConfig) -> bool {
    config.no_calls.as_deref() == Some(NO_BATCH_ANSWER)
}

/// Evidence downloads in flight at once.
const EVIDENCE_CONCURRENCY: usize = 4;

/// Why unfinished work ended: said the same way wherever it is recorded.
fn deadline_reason(limit: Duration) -> String {
    format!("the command's deadline ({} s) passed", limit.as_secs())
}

/// What is asked of one analysis besides the settings.
#[derive(Debug, Clone, Copy, Default)]
pub struct AnalyzeRequest {
    /// Only count the calls and tokens it would take: call nothing, write nothing.
    pub estimate: bool,
    /// Replace an existing report of the same run and scope.
    pub force: bool,
}

/// The part of the run a category- or eval-level target names, checked against the run: `None` for
/// a run-level target.
fn scope_of(run: &Run, run_ref: &RunRef) -> Result<Option<ReportScope>, Error> {
    if run_ref.eval.is_some() {
        let eval = crate::evals::pick_eval(run, run_ref, None)?;
        return Ok(Some(ReportScope {
            category: eval.path.category().to_owned(),
            eval: Some(eval.path.name().to_owned()),
        }));
    }
    let Some(category) = &run_ref.category else { return Ok(None) };
    if !run.evals.iter().any(|e| e.path.category() == category) {
        return Err(Error::new(ErrorKind::NotFound, format!("no category {category:?} in run {}", run.id)));
    }
    Ok(Some(ReportScope { category: category.clone(), eval: None }))
}

/// The failures this analysis covers: all of them, or those of the scope a target names.
fn failures_in_scope(shape: &Shape, scope: Option<&ReportScope>) -> Vec<Failure> {
    shape.failures.iter().filter(|f| scope.is_none_or(|s| s.covers(&f.eval_path))).cloned().collect()
}

/// The command's deadline: how long it may take, and when that is.
#[derive(Debug, Clone, Copy)]
struct Deadline {
    limit: Duration,
    at: Instant,
}

/// Fetches the evidence of every verification failure, a few downloads at a time.
async fn fetch_evidence(
    source: &AnySource,
    run: &Run,
    failures: &[Failure],
    events: &dyn Events,
    deadline: Deadline,
) -> Vec<Evidence> {
    events.send(Event::Bar { total: failures.len() as u64, message: "fetching evidence".to_owned() });
    // `buffered` keeps the failures' order while up to EVIDENCE_CONCURRENCY downloads run. The
    // futures are made first (no closure held across an await), so the whole analysis is `Send`
    // and can run as a spawned task (the MCP server's tool calls).
    let fetches: Vec<_> = failures.iter().map(|failure| evidence_of(source, run, failure, events, deadline)).collect();
    futures::stream::iter(fetches).buffered(EVIDENCE_CONCURRENCY).collect().await
}

/// The evidence of one failure (none for an infrastructure failure), within the deadline.
async fn evidence_of(
    source: &AnySource,
    run: &Run,
    failure: &Failure,
    events: &dyn Events,
    deadline: Deadline,
) -> Evidence {
    let evidence = if failure.kind.is_infrastructure() {
        Evidence::default()
    } else {
        match tokio::time::timeout_at(deadline.at, source.evidence(run, &failure.eval_id)).await {
            Ok(Ok(e)) => e,
            Ok(Err(e)) => Evidence::unavailable(&e.to_string()),
            Err(_) => Evidence::unavailable(&format!("not fetched: {}", deadline_reason(deadline.limit))),
        }
    };
    events.send(Event::Inc);
    evidence
}

/// Says of each claimed fix that failed again whether it reached the benchmark: the eval's source
/// compared between the run of the report that claimed it and this one. A repeat whose source did
/// not change is "the fix has not reached the benchmark yet", not "the fix failed". The earlier
/// runs are fetched once each; one that cannot be fetched leaves its notes unsaid.
async fn note_claimed_fixes(
    history: &mut evaltriage_report::History,
    source: &AnySource,
    run: &Run,
    deadline: Deadline,
) {
    let claimed: Vec<(EvalPath, String)> = history
        .iter()
        .filter_map(|(path, h)| Some((path.clone(), h.claimed_fix.as_ref()?.run_id.clone()?)))
        .filter(|(_, id)| id != run.id.as_str())
        .collect();
    let mut earlier: std::collections::BTreeMap<String, Option<Run>> = std::collections::BTreeMap::new();
    for (path, id) in claimed {
        if !earlier.contains_key(&id) {
            let fetched = match evaltriage_core::RunId::new(&id) {
                Ok(run_id) => {
                    let run_ref = RunRef::run(run_id);
                    tokio::time::timeout_at(deadline.at, source.run(&run_ref)).await.ok().and_then(Result::ok)
                }
                Err(_) => None,
            };
            earlier.insert(id.clone(), fetched);
        }
        let Some(Some(before)) = earlier.get(&id) else { continue };
        let change = evaltriage_core::SourceChange::between(
            before.eval_source_id(path.as_str()),
            run.eval_source_id(path.as_str()),
        );
        if change != evaltriage_core::SourceChange::Unknown {
            history.note_claimed_fix(&path, change.claimed_fix_note());
        }
    }
}

/// What one analysis produced, before anything is printed: a face presents it, the nightly
/// collects it into the digest.
#[derive(Debug)]
pub enum Analyzed {
    /// A scoped target whose scope has no failure: the message says so.
    NothingInScope(String),
    /// An estimate: what the analysis would take.
    Estimate(evaltriage_fanout::Estimate, Box<FanoutConfig>),
    /// The LLM endpoint refused the key: no further call may be sent, by this run or any other.
    Stopped(Error),
    /// The report was written.
    Written(Box<Written>),
}

impl Analyzed {
    /// What kind of outcome this is, for messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::NothingInScope(_) => "nothing in scope",
            Self::Estimate(..) => "an estimate",
            Self::Stopped(_) => "stopped",
            Self::Written(_) => "written",
        }
    }
}

/// A written report and what a face says about it.
#[derive(Debug)]
pub struct Written {
    pub run: Run,
    pub shape: Shape,
    pub scope: Option<ReportScope>,
    pub changes: evaltriage_report::ChangesSince,
    pub verdicts: Vec<Verdict>,
    pub history: evaltriage_report::History,
    /// How many prior reports were read, and the reports folder they were looked for under.
    pub prior_reports: usize,
    pub prior_folder: PathBuf,
    pub path: PathBuf,
    /// The failures whose output has a `run.log`, the only ones a hint may name it for.
    pub with_run_log: BTreeSet<EvalPath>,
    pub spend: Spend,
    /// The analysing model's price from the config, and whether the tokens went through the
    /// Batch API (priced at its discount).
    pub price: Option<crate::cost::Price>,
    pub at_batch_price: bool,
    pub synthesis_cached: bool,
    pub kept_actions_taken: bool,
    pub config: FanoutConfig,
    /// Things the caller should know about what was analyzed (a URL whose experiment is not the
    /// run's).
    pub notes: Vec<String>,
    /// For a scoped analysis, the run's own full report when it has one.
    pub own_full_report: Option<PathBuf>,
    /// The model's baseline, the grader suspects among the failures and the open findings.
    pub across: evaltriage_report::AcrossReport,
}

impl Written {
    /// The analysis as JSON (`analyze-run --json`, the MCP tool): `next` is the face's advice on
    /// what to do next (it names the face's own commands).
    pub fn to_json(&self, next: &str) -> serde_json::Value {
        let verdicts: Vec<serde_json::Value> = self
            .verdicts
            .iter()
            .map(|v| {
                let h = self.history.for_eval(&v.eval_path);
                json!({
                    "eval_id": v.eval_id.as_str(),
                    "eval_path": v.eval_path.as_str(),
                    "failed_step": v.failed_step.as_ref().map(|s| s.as_str()),
                    "classification": v.classification.map(evaltriage_core::Classification::as_str),
                    "status": v.status.as_str(),
                    "infrastructure": matches!(v.origin, evaltriage_core::VerdictOrigin::Infrastructure(_)),
                    "retry_count": v.retry_count,
                    "repeat": h.is_repeat(),
                    "history": h.summary(),
                    "confidence": confidence_json(v.confidence),
                    "reasoning": v.reasoning,
                    "missing_evidence": v.missing_evidence,
                    "tokens": {"prompt": v.tokens.prompt, "completion": v.tokens.completion},
                })
            })
            .collect();
        json!({
            "report_path": self.path,
            "run_id": self.run.id.as_str(),
            "model": self.run.model,
            "provider": self.run.provider,
            "experiment": self.run.experiment,
            "scope": self.scope.as_ref().map(ReportScope::describe),
            "changes": self.changes.to_json(),
            "run_failure": crate::runs::run_failure_json(&self.shape),
            "total": self.shape.total,
            "finished": self.shape.finished(),
            "passed": self.shape.passed,
            "failed": self.shape.failed,
            "not_run": self.shape.not_run,
            "never_started": self.shape.never_started,
            "cost_usd": self.shape.cost_usd(),
            "infrastructure": self.shape.infrastructure,
            "classifier": crate::settings::classifier_description(&self.config.backend),
            "tokens": self.spend.json(),
            "cost": self.cost_json(),
            "synthesis_cached": self.synthesis_cached,
            "prior_reports": self.prior_reports,
            "prior_reports_folder": self.prior_folder,
            "next": next,
            "across": self.across.to_json(),
            "notes": self.notes,
            "own_full_report": self.own_full_report,
            "verdicts": verdicts,
        })
    }

    /// Tokens the analysis spent, verdicts and synthesis.
    pub fn tokens_spent(&self) -> u64 {
        self.spend.total().total()
    }

    /// What the tokens cost at the config's price (or that it has none); `None` under the rules
    /// classifier. The same figure as the report's.
    pub fn llm_cost(&self) -> Option<crate::cost::LlmCost> {
        crate::cost::llm_cost(&self.config.backend, self.price.as_ref(), self.spend.total(), self.at_batch_price)
    }

    /// The tokens' cost as JSON: the tokens always, dollars synchronous and through the Batch API
    /// when priced, the model and which of the two this analysis paid.
    fn cost_json(&self) -> serde_json::Value {
        let mut cost = crate::cost::json(self.spend.total(), self.price.as_ref());
        if let Some(o) = cost.as_object_mut() {
            let model = match &self.config.backend {
                Backend::Llm(llm) => Some(llm.model.as_str()),
                Backend::Rules(_) => None,
            };
            o.insert("model".to_owned(), json!(model));
            o.insert("at_batch_price".to_owned(), json!(self.at_batch_price));
        }
        cost
    }

    /// Whether the analysis completed with errors: a verdict that is not done, or evidence that
    /// could not be fetched (the summary and the report say which).
    pub fn incomplete(&self) -> bool {
        self.verdicts.iter().any(|v| v.status != VerdictStatus::Done || !v.missing_evidence.is_empty())
    }
}

/// Ends the face's progress however the analysis ends.
struct FinishOnDrop<'a>(&'a dyn Events);

impl Drop for FinishOnDrop<'_> {
    fn drop(&mut self) {
        self.0.send(Event::Finish);
    }
}

/// The analysis of one run from `source`, up to the written report. Progress goes to `events`.
/// Dropping the future stops the analysis at its next await; the report is written atomically
/// after the last one, so a dropped analysis leaves no report and no lock behind.
pub async fn analyze(
    settings: &Settings,
    analysis: &AnalysisSettings,
    request: AnalyzeRequest,
    source: &AnySource,
    run_ref: &RunRef,
    events: Arc<dyn Events>,
) -> Result<Analyzed, Error> {
    let _finish = FinishOnDrop(events.as_ref());
    let across_options = settings.across.options()?;
    let mut config = analysis.fanout.clone();
    let deadline = Deadline { limit: analysis.deadline, at: Instant::now() + analysis.deadline };
    events.send(Event::Step(format!("reading run {} from {}", run_ref.run_id, source.describe())));
    let run = match tokio::time::timeout_at(deadline.at, source.run(run_ref)).await {
        Ok(r) => r?,
        Err(_) => {
            return Err(Error::new(
                ErrorKind::Unavailable,
                format!(
                    "{} while reading run {}; no report was written",
                    deadline_reason(deadline.limit),
                    run_ref.run_id
                ),
            ));
        }
    };
    // A run still going gets no report: one now would hide it from the nightly once it finishes.
    if run.status.is_unfinished() {
        return Err(Error::new(
            ErrorKind::NotReady,
            format!(
                "run {} is still {}: it gets a report once it has finished; nothing was written",
                run.id,
                run.status.kind()
            ),
        ));
    }
    let mut notes = Vec::new();
    if let Some(asked) = run_ref.experiment.as_deref().filter(|e| *e != run.experiment) {
        // The run is what it is; the URL's experiment segment is only what was pasted.
        notes.push(format!(
            "the URL names experiment {asked:?} but run {} is in experiment {:?}: analyzed as {:?}",
            run.id, run.experiment, run.experiment
        ));
    }
    let shape = Shape::of(&run);
    if let Some(why) = shape.unscored_reason().filter(|_| !request.force) {
        return Err(Error::new(
            ErrorKind::Unscored,
            format!("the benchmark does not score run {}: {why}; nothing was written", run.id),
        ));
    }
    let scope = scope_of(&run, run_ref)?;
    let failures = failures_in_scope(&shape, scope.as_ref());
    if let Some(scope) = scope.as_ref().filter(|_| failures.is_empty()) {
        return Ok(Analyzed::NothingInScope(format!(
            "no failure in the {} of run {}: nothing to analyze\n",
            scope.describe(),
            run.id
        )));
    }

    // Refuse before spending anything: an existing report for this run is never replaced silently,
    // and a second analysis of the same run while one runs stops here, not after its LLM calls.
    let date = chrono::Utc::now().date_naive();
    let key = evaltriage_report::ReportKey::of_run(&run, date, scope.as_ref());
    // The folder the tree already has for the model, under whatever spelling (DESIGN §7).
    let path = evaltriage_report::report_path_in_tree(&settings.reports_dir, &key);
    let _lock = match request.estimate {
        true => None,
        false => {
            crate::nightly::state::keep_locks_out_of_git(&settings.reports_dir);
            Some(evaltriage_report::lock_report(&settings.reports_dir, &path)?)
        }
    };
    // A report folder that cannot be made (a file in its place) is found now, not after the calls.
    if let Some(folder) = path.parent().filter(|_| !request.estimate) {
        std::fs::create_dir_all(folder).map_err(|source| {
            Error::from(evaltriage_report::ReportError::Io {
                action: "create the report folder",
                path: folder.to_owned(),
                source,
            })
        })?;
    }
    if !request.force && !request.estimate {
        if let Some(existing) = evaltriage_report::existing_report_for(&path)? {
            return Err(Error::from(evaltriage_report::ReportError::Exists { path: existing }));
        }
    }

    // A scoped analysis's own run may have its full report already: not a prior report (it is the
    // same run), but the summary names it rather than saying there is none anywhere.
    let own_full_report = match &scope {
        Some(_) => {
            let full = evaltriage_report::ReportKey::of_run(&run, date, None);
            evaltriage_report::existing_report_for(&evaltriage_report::report_path_in_tree(
                &settings.reports_dir,
                &full,
            ))
            .ok()
            .flatten()
        }
        None => None,
    };
    let (prior, warnings) = evaltriage_report::prior_reports_for_run(&settings.reports_dir, &run);
    for w in &warnings {
        events.send(Event::Warning(format!("skipped prior report {}: {}", w.path.display(), w.reason)));
    }
    let paths: Vec<EvalPath> = failures.iter().map(|f| f.eval_path.clone()).collect();
    let mut history = evaltriage_report::history(&prior, &paths);
    note_claimed_fixes(&mut history, source, &run, deadline).await;
    // A KNOWN_GAP in any model's report is a known gap of the eval for every model (GAPS.txt
    // files left the benchmark on 2026-02-27; the reports are where gaps live now).
    // Every report, read once: the known gaps here, the across-runs view below.
    let (catalog, catalog_warnings) = if settings.reports_dir.is_dir() {
        evaltriage_report::all_reports(&settings.reports_dir)
    } else {
        Default::default()
    };
    let known_gaps = evaltriage_report::known_gaps_for(&catalog, &run.id);
    for w in catalog_warnings.iter().filter(|w| !warnings.iter().any(|p| p.path == w.path)) {
        let message = format!("skipped a report while looking for known gaps {}: {}", w.path.display(), w.reason);
        events.send(Event::Warning(message));
    }

    let evidence = fetch_evidence(source, &run, &failures, events.as_ref(), deadline).await;
    let with_run_log: BTreeSet<EvalPath> = failures
        .iter()
        .zip(&evidence)
        .filter(|(_, e)| e.output_files.contains_key("run.log"))
        .map(|(f, _)| f.eval_path.clone())
        .collect();
    let mut cases: Vec<Case> = failures
        .iter()
        .zip(evidence)
        .map(|(failure, evidence)| {
            let h = history.for_eval(&failure.eval_path);
            Case {
                failure: failure.clone(),
                evidence,
                prior_label: h.prior_failures.first().map(|p| p.label.clone()),
                known_gaps: known_gaps.for_eval(failure.eval_path.as_str()).to_vec(),
                grader_suspect: None,
            }
        })
        .collect();
    // Across runs and models: the baseline, grader suspects (given to the classifiers as context)
    // and open findings, from the reports folder; no LLM call.
    let across = {
        let errors = cases.iter().map(|c| (c.failure.eval_path.as_str().to_owned(), c.decisive_error())).collect();
        let this = evaltriage_report::RunRecord::of_run(&run, &shape, &errors);
        let mut records = evaltriage_report::records_of(&catalog);
        // The model's earlier runs no report covers, from the source: a baseline on the first
        // analysis of a model, before any report of it exists.
        let earlier = crate::baseline::earlier_runs(source, &run, &this, &records, &across_options, deadline.at).await;
        records.extend(earlier.records);
        let mut across = evaltriage_report::AcrossReport::for_run(&records, &this, &across_options);
        across.baseline_note = earlier.note;
        drop(catalog);
        across
    };
    for case in &mut cases {
        case.grader_suspect = across.suspect_for(case.failure.eval_path.as_str()).map(|s| s.describe());
    }
    let run_summary = format!("{} on {}: {}/{} passed", run.model, run.experiment, shape.passed, shape.total);
    // A failure an earlier report already judged reuses that verdict and costs no call.
    let split = crate::reuse::split(&analysis.reuse, &settings.reports_dir, &run, &path, date, cases);
    let (reused, cases) = (split.reused, split.to_analyse);

    if request.estimate {
        let mut est = evaltriage_fanout::estimate(&cases, &config, &run_summary);
        est.reused = reused.len();
        est.waiting = split.claimed_elsewhere;
        est.cases += reused.len() + split.claimed_elsewhere;
        if config.batch_sink.is_some() {
            settle_synthesis(&mut est, cases, reused, &config, &run_summary).await;
        }
        return Ok(Analyzed::Estimate(est, Box::new(config)));
    }

    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    config.progress = Some(tx);
    config.overall_timeout = Some(deadline.at.saturating_duration_since(Instant::now()));
    config.overall_timeout_reason = Some(deadline_reason(deadline.limit));
    let forwarded = Arc::clone(&events);
    let forwarder = tokio::spawn(async move {
        while let Some(event) = rx.recv().await {
            forwarded.send(Event::Fanout(event));
        }
    });
    let fanned = evaltriage_fanout::analyze(cases, &config).await;
    config.progress = None;
    let _ = forwarder.await;
    let mut fanned = match fanned {
        Ok(fanned) => fanned,
        Err(e) => return Ok(Analyzed::Stopped(Error::new(ErrorKind::Refused, e))),
    };
    crate::reuse::merge(&mut fanned.verdicts, reused);

    let mut synthesis = None;
    if let Backend::Llm(_) = &config.backend {
        let verification = fanned
            .verdicts
            .iter()
            .filter(|v| !matches!(v.origin, evaltriage_core::VerdictOrigin::Infrastructure(_)))
            .count();
        if verification >= evaltriage_fanout::MIN_SYNTHESIS_FAILURES
            && fanned.verdicts.iter().any(|v| v.classification.is_some())
        {
            events.send(Event::Step("looking for cross-cutting patterns".to_owned()));
            let budget_left = config.token_budget.map(|b| b.saturating_sub(fanned.tokens.total()));
            let call = evaltriage_fanout::synthesize(&fanned.verdicts, &run_summary, &config, budget_left);
            synthesis = Some(match tokio::time::timeout_at(deadline.at, call).await {
                Ok(result) => result,
                Err(_) => Err(evaltriage_fanout::FanoutError::SynthesisSkipped(deadline_reason(deadline.limit))),
            });
            if let Some(Err(e @ evaltriage_fanout::FanoutError::AuthRefused(_))) = &synthesis {
                return Ok(Analyzed::Stopped(Error::new(ErrorKind::Refused, e)));
            }
        }
    }
    events.send(Event::Finish);

    // One accounting of tokens, used by the terminal, the report and the JSON alike.
    let spend = Spend {
        verdicts: fanned.tokens,
        synthesis: synthesis.as_ref().and_then(|s| s.as_ref().ok()).map(|s| s.tokens).unwrap_or_default(),
    };
    let synthesis_text = synthesis.as_ref().map(|r| match r {
        Ok(s) => s.text.clone(),
        Err(evaltriage_fanout::FanoutError::SynthesisSkipped(why)) => format!(
            "_The LLM synthesis of cross-cutting patterns was skipped: {why}. The deterministic patterns above stand._"
        ),
        Err(e) => format!(
            "_The LLM synthesis of cross-cutting patterns failed: {e}. The deterministic patterns above stand._"
        ),
    });
    let llm_model = match &config.backend {
        Backend::Llm(llm) => llm.model.clone(),
        Backend::Rules(_) => String::new(),
    };
    let at_batch_price = at_batch_price(&config);
    let llm_cost = crate::cost::llm_cost(&config.backend, analysis.price.as_ref(), spend.total(), at_batch_price);
    let changes = evaltriage_report::changes_since(&run, &shape, &fanned.verdicts, &prior, scope.as_ref());
    let markdown = evaltriage_report::render_with(
        &evaltriage_report::ReportInput {
            run: &run,
            shape: &shape,
            verdicts: &fanned.verdicts,
            history: &history,
            changes: &changes,
            prior_reports: &prior,
            prior_warnings: &warnings,
            date,
            synthesis: synthesis_text.as_deref().map(|text| evaltriage_report::Synthesis {
                text,
                model: &llm_model,
                tokens: spend.synthesis,
            }),
            llm_cost: llm_cost.as_ref(),
            actions_taken: None,
            relaxed_lint_rules: &analysis.relaxed_lint_rules,
            scope: scope.as_ref(),
        },
        &across,
    );
    let outcome = evaltriage_report::write_report(&settings.reports_dir, &path, &markdown, request.force)?;

    Ok(Analyzed::Written(Box::new(Written {
        prior_reports: prior.len(),
        prior_folder: settings.reports_dir.clone(),
        run,
        shape,
        scope,
        changes,
        verdicts: fanned.verdicts,
        history,
        path: outcome.path,
        with_run_log,
        spend,
        price: analysis.price,
        at_batch_price,
        synthesis_cached: synthesis.as_ref().is_some_and(|s| s.as_ref().is_ok_and(|s| s.cached)),
        kept_actions_taken: outcome.kept_actions_taken,
        config,
        notes,
        own_full_report,
        across,
    })))
}

/// Tokens spent by one analysis, exactly as the server's `usage` reported them: the verdicts'
/// calls and the synthesis. Cached answers spend none.
#[derive(Debug, Clone, Copy, Default)]
pub struct Spend {
    pub verdicts: TokenUsage,
    pub synthesis: TokenUsage,
}

impl Spend {
    pub fn total(self) -> TokenUsage {
        let mut total = self.verdicts;
        total += self.synthesis;
        total
    }

    pub fn json(self) -> serde_json::Value {
        let usage = |u: TokenUsage| json!({"prompt": u.prompt, "completion": u.completion, "total": u.total()});
        let total = self.total();
        json!({
            "prompt": total.prompt,
            "completion": total.completion,
            "total": total.total(),
            "verdicts": usage(self.verdicts),
            "synthesis": usage(self.synthesis),
        })
    }
}

/// For the batch engine's collection (an estimate with a batch sink): when every verdict of the
/// run is known without a call, the synthesis is the one call left — queued with the exact prompt
/// the analysis will send, or not at all when its answer is cached. Corrects the estimate to say so.
pub(crate) async fn settle_synthesis(
    est: &mut evaltriage_fanout::Estimate,
    cases: Vec<Case>,
    reused: Vec<Verdict>,
    config: &FanoutConfig,
    run_summary: &str,
) {
    let verdict_calls = est.calls - usize::from(est.synthesis_call);
    if verdict_calls > 0 || est.waiting > 0 {
        return;
    }
    let mut quiet = config.clone();
    quiet.no_calls = Some(NO_BATCH_ANSWER.to_owned());
    quiet.progress = None;
    let Ok(mut fanned) = evaltriage_fanout::analyze(cases, &quiet).await else { return };
    crate::reuse::merge(&mut fanned.verdicts, reused);
    let queued = evaltriage_fanout::queue_synthesis(&fanned.verdicts, run_summary, config);
    est.synthesis_call = queued;
    est.calls = usize::from(queued);
}

/// A confidence rounded to two decimals (f32 values such as 0.3 would otherwise print as
/// 0.30000001192092896).
fn confidence_json(c: Option<f32>) -> serde_json::Value {
    c.filter(|c| c.is_finite()).map_or(serde_json::Value::Null, |c| json!((f64::from(c) * 100.0).round() / 100.0))
}

/// The tokens an estimate counts.
pub fn estimated_tokens(est: &evaltriage_fanout::Estimate) -> TokenUsage {
    TokenUsage { prompt: est.prompt_tokens, completion: est.completion_tokens }
}

/// What `analyze-run --estimate --json` prints; `price` is the analysing model's from the config.
pub fn estimate_json(
    est: &evaltriage_fanout::Estimate,
    config: &FanoutConfig,
    price: Option<&crate::cost::Price>,
) -> serde_json::Value {
    json!({
        "classifier": crate::settings::classifier_description(&config.backend),
        "failures": est.cases,
        "infrastructure": est.infrastructure,
        "cache_hits": est.cache_hits,
        "calls": est.calls,
        "max_calls": est.max_calls,
        "synthesis_call": est.synthesis_call,
        "prompt_tokens": est.prompt_tokens,
        "completion_tokens": est.completion_tokens,
        "total_tokens": est.total_tokens(),
        "cost": crate::cost::json(estimated_tokens(est), price),
    })
}
