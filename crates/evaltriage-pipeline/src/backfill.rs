//! The backfill: every finished run of a window that has no report, analyzed like the nightly (the
//! same per-run handling, rules and digest) with one of two engines. The synchronous engine steps
//! through the runs oldest first with the night's handler, so a failure repeated by a later run
//! reuses the verdict of the earlier one's report. The batch engine sends every request to the
//! provider's Batch API in rounds: it collects what each run's estimate would call (failures whose
//! signature an earlier run of the window claimed wait for that run's report), uploads them, waits
//! for the batch, validates the answers exactly as the synchronous conversation does and stores the
//! valid ones in the verdict cache; invalid answers and error-file lines go into the next round.
//! A run whose verdicts and synthesis are all known is written by the ordinary analysis with calls
//! forbidden. The state (the runs, the batches in flight, the rejected answers) is kept in
//! `<reports-dir>/.evaltriage/backfill.json`, so a killed backfill picks its batches up again.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use evaltriage_core::source::{ListQuery, RunHeader};
use evaltriage_core::{RunRef, TokenUsage};
use evaltriage_fanout::Backend;
use evaltriage_fanout::batch::{self, BatchProvider, BatchState, PendingCall, Turn};
use evaltriage_report::{DigestRun, NightDigest, RunOutcome};
use serde::{Deserialize, Serialize};

use crate::analyze::{AnalyzeRequest, Analyzed, analyze};
use crate::error::Error;
use crate::events::{Event, Events, NoEvents};
use crate::nightly::plan::{PlanLimits, Planner, WindowRun};
use crate::nightly::state::{NightLock, NightlyState, state_dir};
use crate::nightly::{NightOptions, NightRuns, existing_report, read_digest, write_digest};
use crate::settings::{AnalysisSettings, Settings};
use crate::since::Since;

/// The reason a verdict is an error when the batch rounds gave no valid answer.
use crate::analyze::NO_BATCH_ANSWER;

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
        }
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
}

/// The resumable state of a batch backfill.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct BackfillState {
    pub started_at: String,
    /// The window's runs, oldest first, and whether each was handled.
    pub runs: Vec<StateRun>,
    pub round: u32,
    pub batches: Vec<StateBatch>,
    /// Answers rejected so far, by request key: the next round asks again with them.
    #[serde(default)]
    pub turns: BTreeMap<String, Vec<Turn>>,
    /// Requests that came back in the error file or not at all, by key.
    #[serde(default)]
    pub failures: BTreeMap<String, u32>,
    #[serde(default)]
    pub requests_sent: u64,
    #[serde(default)]
    pub prompt_tokens: u64,
    #[serde(default)]
    pub completion_tokens: u64,
    #[serde(default)]
    pub finished: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StateRun {
    pub run_id: String,
    pub model: String,
    pub experiment: String,
    pub created_at_ms: f64,
    pub done: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StateBatch {
    pub id: String,
    pub input_file_id: String,
    pub round: u32,
    /// The request keys (the `custom_id`s) in it.
    pub keys: Vec<String>,
    pub collected: bool,
    #[serde(default)]
    pub status: String,
}

impl BackfillState {
    pub fn path(reports_dir: &Path) -> PathBuf {
        state_dir(reports_dir).join("backfill.json")
    }

    /// The saved state, if there is one.
    pub fn load(reports_dir: &Path) -> Result<Option<Self>, Error> {
        let path = Self::path(reports_dir);
        match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|e| Error::failed(format!("the backfill state {} is not readable: {e}", path.display()))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::failed(format!("cannot read {}: {e}", path.display()))),
        }
    }

    /// Written atomically (temp file, fsync, rename).
    pub fn save(&self, reports_dir: &Path) -> Result<(), Error> {
        let text = serde_json::to_vec_pretty(self).map_err(|e| Error::failed(e.to_string()))?;
        evaltriage_report::write_file_atomically(reports_dir, &Self::path(reports_dir), &text).map_err(Error::failed)
    }

    fn in_flight(&self) -> impl Iterator<Item = &StateBatch> {
        self.batches.iter().filter(|b| !b.collected)
    }

    fn attempts(&self, key: &str) -> u32 {
        self.turns.get(key).map_or(0, |t| t.len() as u32) + self.failures.get(key).copied().unwrap_or(0)
    }

    /// One line for `backfill status`.
    pub fn summary(&self) -> String {
        let done = self.runs.iter().filter(|r| r.done).count();
        let flying: Vec<String> = self.in_flight().map(|b| format!("{} ({})", b.id, b.status)).collect();
        format!(
            "{}: {done}/{} runs written, round {}, {} requests sent, {} batch(es) in flight{}",
            if self.finished { "finished" } else { "in progress" },
            self.runs.len(),
            self.round,
            self.requests_sent,
            flying.len(),
            if flying.is_empty() { String::new() } else { format!(": {}", flying.join(", ")) }
        )
    }
}

/// The finished runs of the window that have no report, oldest first, at most `max_runs`.
async fn window(settings: &Settings, options: &BackfillOptions) -> Result<(Vec<RunHeader>, Vec<String>), Error> {
    let query = ListQuery { models: options.models.clone(), experiment: options.experiment.clone(), since_ms: None };
    let listing = crate::runs::listing(settings, &query).await?;
    let now = crate::since::now_ms();
    let since = options.since.map(|s| s.ms(now));
    let until = options.until.map(|s| s.ms(now));
    let mut notes: Vec<String> =
        listing.failed.iter().map(|(m, e)| format!("the runs of {m} could not be listed: {e}")).collect();
    for (model, oldest) in &listing.full {
        if since.is_none_or(|s| *oldest > s) {
            notes.push(format!(
                "{model} has more runs than runs:listRuns returns ({}); runs before {} were not seen",
                evaltriage_core::source::LIST_RUNS_MAX,
                crate::runs::timestamp(*oldest)
            ));
        }
    }
    let mut runs = Vec::new();
    for h in listing.runs {
        let in_window =
            since.is_none_or(|s| h.created_at_ms >= s) && until.is_none_or(|u| h.created_at_ms < u) && h.is_finished();
        if in_window && existing_report(&settings.reports_dir, &h)?.is_none() {
            runs.push(h);
        }
    }
    runs.sort_by(|a, b| a.created_at_ms.total_cmp(&b.created_at_ms).then_with(|| a.run_id.cmp(&b.run_id)));
    if let Some(max) = options.max_runs {
        runs.truncate(max);
    }
    Ok((runs, notes))
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
    let say = |line: String| events.send(Event::Night(line));
    let started = Utc::now();
    let started_at = started.format("%Y-%m-%dT%H:%M:%SZ").to_string();
    let _lock = NightLock::acquire(&settings.reports_dir, &started_at)?;
    let mut digest = NightDigest {
        date: started.date_naive(),
        started_at: started_at.clone(),
        finished: false,
        source: settings.describe_source(),
        runs: Vec::new(),
        notes: Vec::new(),
        tokens_spent: 0,
        budget_tokens: options.budget_tokens,
        // A backfill fills in history: what its findings were before it is nobody's question.
        finding_changes: Vec::new(),
    };
    let path = digest_path(&settings.reports_dir, &digest);
    let before = read_digest(&settings.reports_dir, &path, digest.date)?;
    if options.batch {
        let provider = provider.ok_or_else(|| Error::bad_input("--batch needs an LLM endpoint with a batch API"))?;
        return batch_engine(settings, analysis, options, provider, events.as_ref(), digest, &path, &before).await;
    }
    say(format!("backfill: listing runs from {}", settings.describe_source()));
    let (headers, notes) = window(settings, options).await?;
    digest.notes = notes;
    say(format!("backfill: {} finished runs without a report", headers.len()));
    let night_options = NightOptions {
        review_below: options.review_below,
        limits: PlanLimits { budget_tokens: options.budget_tokens, ..PlanLimits::default() },
        ..NightOptions::default()
    };
    let planner = std::sync::Mutex::new(Planner::new(night_options.limits, &NightlyState::default()));
    let night = NightRuns::new(settings, analysis, &night_options, Arc::clone(&events));
    let mut failed_any = false;
    let mut reused = 0;
    events.send(Event::Bar { total: headers.len() as u64, message: "backfill: runs".to_owned() });
    for header in headers {
        let key = header.model.clone();
        let run = WindowRun { header: header.clone(), key, handled: false };
        let outcome = night.handle(&run, false, &planner).await;
        events.send(Event::Inc);
        failed_any |= matches!(outcome, RunOutcome::Failed { .. });
        if let RunOutcome::Analyzed(a) = &outcome {
            digest.tokens_spent += a.tokens;
        }
        reused += reused_in(&settings.reports_dir, &outcome);
        digest.runs.push(DigestRun {
            run_id: header.run_id.to_string(),
            model: header.model.clone(),
            experiment: header.experiment.clone(),
            outcome,
        });
        write_digest(&settings.reports_dir, &path, &before, &digest)?;
    }
    events.send(Event::Finish);
    failed_any |= night.stopped().is_some();
    digest.finished = true;
    write_digest(&settings.reports_dir, &path, &before, &digest)?;
    Ok(Backfilled {
        digest,
        digest_path: path,
        failed_any,
        batch_requests: 0,
        batch_tokens: TokenUsage::default(),
        reused,
    })
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

#[expect(clippy::too_many_arguments, reason = "the engine's one entry, called from one place")]
async fn batch_engine<P: BatchProvider>(
    settings: &Settings,
    analysis: &AnalysisSettings,
    options: &BackfillOptions,
    provider: &P,
    events: &dyn Events,
    mut digest: NightDigest,
    path: &Path,
    before: &str,
) -> Result<Backfilled, Error> {
    let say = |line: String| events.send(Event::Night(line));
    let Backend::Llm(llm) = &analysis.fanout.backend else {
        return Err(Error::bad_input("--batch needs the llm classifier (an endpoint and a key)"));
    };
    let Some(cache_dir) = analysis.fanout.cache_dir.clone().filter(|_| !analysis.fanout.no_cache) else {
        return Err(Error::bad_input(
            "--batch keeps its answers in the verdict cache: drop --no-cache and --reuse never",
        ));
    };
    let reports_dir = &settings.reports_dir;
    let mut state = match BackfillState::load(reports_dir)? {
        Some(s) if !s.finished => {
            say(format!("backfill: resuming the backfill started {} ({})", s.started_at, s.summary()));
            s
        }
        _ => {
            say(format!("backfill: listing runs from {}", settings.describe_source()));
            let (headers, notes) = window(settings, options).await?;
            digest.notes = notes;
            let s = BackfillState {
                started_at: digest.started_at.clone(),
                runs: headers
                    .iter()
                    .map(|h| StateRun {
                        run_id: h.run_id.to_string(),
                        model: h.model.clone(),
                        experiment: h.experiment.clone(),
                        created_at_ms: h.created_at_ms,
                        done: false,
                    })
                    .collect(),
                ..BackfillState::default()
            };
            s.save(reports_dir)?;
            s
        }
    };
    say(format!("backfill: {} runs through the batch API", state.runs.len()));
    let max_attempts = u32::from(analysis.fanout.max_retries.get()) + 1;
    let review = NightOptions { review_below: options.review_below, ..NightOptions::default() };
    let night = NightRuns::new(settings, analysis, &review, Arc::new(NoEvents));
    let mut failed_any = false;
    let mut reused = 0;
    loop {
        // Collect: write every run that needs no call, gather the calls of the others.
        let sink = batch::BatchSink::default();
        let claims = crate::reuse::Claims::default();
        let mut pending: BTreeMap<String, PendingCall> = BTreeMap::new();
        for i in 0..state.runs.len() {
            if state.runs[i].done {
                continue;
            }
            let run_ref = RunRef::run(parse_run_id(&state.runs[i].run_id)?);
            let source = crate::source::configured(settings)?;
            let mut collecting = analysis.clone();
            collecting.fanout.batch_sink = Some(sink.clone());
            collecting.reuse.claims = Some(claims.clone());
            let request = AnalyzeRequest { estimate: true, force: false };
            let outcome = analyze(settings, &collecting, request, &source, &run_ref, Arc::new(NoEvents)).await;
            let calls = sink.drain();
            let ready = match &outcome {
                Ok(Analyzed::Estimate(est, _)) => est.calls == 0 && est.waiting == 0,
                Ok(_) | Err(_) => true,
            };
            if ready {
                let written = write_run(&night, &source, &run_ref, outcome.is_err()).await;
                failed_any |= matches!(written, RunOutcome::Failed { .. });
                reused += reused_in(reports_dir, &written);
                digest.runs.push(DigestRun {
                    run_id: state.runs[i].run_id.clone(),
                    model: state.runs[i].model.clone(),
                    experiment: state.runs[i].experiment.clone(),
                    outcome: written,
                });
                state.runs[i].done = true;
                state.save(reports_dir)?;
                write_digest(reports_dir, path, before, &digest)?;
            } else {
                for call in calls {
                    pending.entry(call.key.clone()).or_insert(call);
                }
            }
        }
        let done = state.runs.iter().filter(|r| r.done).count();
        events.send(Event::Night(format!("backfill: {done}/{} runs written", state.runs.len())));
        if state.in_flight().next().is_some() {
            collect_batches(&mut state, provider, llm, &cache_dir, &pending, reports_dir, options, events).await?;
            continue;
        }
        let to_send: Vec<&PendingCall> = pending.values().filter(|c| state.attempts(&c.key) < max_attempts).collect();
        if to_send.is_empty() {
            // What is left has used its rounds: written with errors, never called synchronously.
            for i in 0..state.runs.len() {
                if state.runs[i].done {
                    continue;
                }
                let run_ref = RunRef::run(parse_run_id(&state.runs[i].run_id)?);
                let source = crate::source::configured(settings)?;
                let written = write_run(&night, &source, &run_ref, true).await;
                failed_any = true;
                digest.runs.push(DigestRun {
                    run_id: state.runs[i].run_id.clone(),
                    model: state.runs[i].model.clone(),
                    experiment: state.runs[i].experiment.clone(),
                    outcome: written,
                });
                state.runs[i].done = true;
                state.save(reports_dir)?;
            }
            break;
        }
        state.round += 1;
        submit(&mut state, provider, llm, &to_send, reports_dir, events).await?;
    }
    let tokens = TokenUsage { prompt: state.prompt_tokens, completion: state.completion_tokens };
    digest.tokens_spent = tokens.total();
    digest.notes.push(format!(
        "batch API: {} requests in {} rounds, {}; {reused} failures reused an earlier verdict",
        state.requests_sent,
        state.round,
        crate::cost::describe(tokens, analysis.price.as_ref(), true)
    ));
    digest.finished = true;
    write_digest(reports_dir, path, before, &digest)?;
    state.finished = true;
    state.save(reports_dir)?;
    Ok(Backfilled {
        digest,
        digest_path: path.to_owned(),
        failed_any,
        batch_requests: state.requests_sent,
        batch_tokens: tokens,
        reused,
    })
}

fn unavailable(message: String) -> Error {
    Error::new(crate::ErrorKind::Unavailable, message)
}

fn parse_run_id(id: &str) -> Result<evaltriage_core::RunId, Error> {
    evaltriage_core::RunId::new(id).map_err(|e| Error::failed(format!("the backfill state holds a bad run id: {e}")))
}

/// Writes one run's report by the ordinary analysis with calls forbidden: every answer is in the
/// cache or an earlier report by now. `failed` says the collection could not read the run.
async fn write_run(night: &NightRuns<'_>, source: &crate::AnySource, run_ref: &RunRef, _failed: bool) -> RunOutcome {
    let mut writing = night.analysis.clone();
    writing.fanout.no_calls = Some(NO_BATCH_ANSWER.to_owned());
    let request = AnalyzeRequest { estimate: false, force: false };
    match analyze(night.settings, &writing, request, source, run_ref, Arc::new(NoEvents)).await {
        Ok(Analyzed::Written(w)) => RunOutcome::Analyzed(night.analyzed_run(&w)),
        Ok(Analyzed::NothingInScope(why)) => RunOutcome::Skipped { why },
        Ok(other) => RunOutcome::Failed { error: format!("unexpected analysis outcome: {}", other.kind()) },
        Err(e) if e.kind == crate::ErrorKind::BadInput => RunOutcome::Skipped { why: e.message },
        Err(e) => RunOutcome::Failed { error: e.message },
    }
}

/// Uploads the round's requests (split at the provider's limits) and starts a batch per file; the
/// state is saved after each, so a kill never uploads a file twice once its batch is recorded.
async fn submit<P: BatchProvider>(
    state: &mut BackfillState,
    provider: &P,
    llm: &evaltriage_fanout::LlmConfig,
    calls: &[&PendingCall],
    reports_dir: &Path,
    events: &dyn Events,
) -> Result<(), Error> {
    let mut lines = Vec::with_capacity(calls.len());
    for call in calls {
        let turns = state.turns.get(&call.key).map_or(&[][..], Vec::as_slice);
        lines.push(batch::request_line(llm, &call.key, call, turns).map_err(|e| Error::failed(e.to_string()))?);
    }
    for file in batch::split_files(&lines, batch::MAX_REQUESTS_PER_FILE, batch::MAX_BYTES_PER_FILE) {
        let mut jsonl = Vec::new();
        for &i in &file {
            jsonl.extend_from_slice(lines[i].as_bytes());
            jsonl.push(b'\n');
        }
        let input_file_id = provider.upload(jsonl).await.map_err(unavailable)?;
        let id = provider.create(&input_file_id).await.map_err(unavailable)?;
        events.send(Event::Night(format!("backfill: round {}: batch {id} with {} requests", state.round, file.len())));
        state.requests_sent += file.len() as u64;
        state.batches.push(StateBatch {
            id,
            input_file_id,
            round: state.round,
            keys: file.iter().map(|&i| calls[i].key.clone()).collect(),
            collected: false,
            status: "validating".to_owned(),
        });
        state.save(reports_dir)?;
    }
    Ok(())
}

/// Waits for the batches in flight, then reads their output and error files: valid answers go to
/// the cache, the others (and requests that came back in no file) to the next round.
#[expect(clippy::too_many_arguments, reason = "one caller; the state and what the answers are checked with")]
async fn collect_batches<P: BatchProvider>(
    state: &mut BackfillState,
    provider: &P,
    llm: &evaltriage_fanout::LlmConfig,
    cache_dir: &Path,
    pending: &BTreeMap<String, PendingCall>,
    reports_dir: &Path,
    options: &BackfillOptions,
    events: &dyn Events,
) -> Result<(), Error> {
    let waited_from = tokio::time::Instant::now();
    for b in 0..state.batches.len() {
        if state.batches[b].collected {
            continue;
        }
        let id = state.batches[b].id.clone();
        let status = loop {
            let status = provider.status(&id).await.map_err(unavailable)?;
            events.send(Event::Night(format!(
                "backfill: batch {id} {}: {}/{} done, {} failed; waited {} s",
                status.state.as_str(),
                status.counts.completed,
                status.counts.total,
                status.counts.failed,
                waited_from.elapsed().as_secs()
            )));
            if state.batches[b].status != status.state.as_str() {
                state.batches[b].status = status.state.as_str().to_owned();
                state.save(reports_dir)?;
            }
            if status.state.is_final() {
                break status;
            }
            tokio::time::sleep(options.poll_interval).await;
        };
        let mut answered = std::collections::BTreeSet::new();
        for file in [&status.output_file_id, &status.error_file_id].into_iter().flatten() {
            let bytes = provider.download(file).await.map_err(unavailable)?;
            for line in batch::read_results(&bytes) {
                let Some(call) = pending.get(&line.custom_id) else { continue };
                answered.insert(line.custom_id.clone());
                match line.outcome {
                    Ok(body) => {
                        let retry_count = state.attempts(&call.key);
                        match batch::accept(llm, cache_dir, call, &body, retry_count).await {
                            batch::Accepted::Stored { tokens } => {
                                state.prompt_tokens += tokens.prompt;
                                state.completion_tokens += tokens.completion;
                            }
                            batch::Accepted::Again { turn, tokens } => {
                                state.prompt_tokens += tokens.prompt;
                                state.completion_tokens += tokens.completion;
                                state.turns.entry(call.key.clone()).or_default().push(turn);
                            }
                        }
                    }
                    Err(_) => *state.failures.entry(call.key.clone()).or_default() += 1,
                }
            }
        }
        // Requests in no file (an expired or failed batch): asked again next round.
        for key in &state.batches[b].keys {
            if !answered.contains(key) && pending.contains_key(key) {
                *state.failures.entry(key.clone()).or_default() += 1;
            }
        }
        if status.state != BatchState::Completed {
            events.send(Event::Night(format!(
                "backfill: batch {id} ended {}; {} of its requests go into the next round",
                status.state.as_str(),
                state.batches[b].keys.len() - answered.len()
            )));
        }
        state.batches[b].collected = true;
        state.save(reports_dir)?;
    }
    Ok(())
}
