//! The batch engine: every request of the window's runs sent to the provider's Batch API in
//! rounds. It collects what each run's estimate would call (failures whose signature an earlier
//! run of the window claimed wait for that run's report), uploads them, waits for the batch —
//! showing its request counts and the time waited — validates the answers exactly as the
//! synchronous conversation does and stores the valid ones in the verdict cache; invalid answers
//! and error-file lines go into the next round. A run whose verdicts and synthesis are all known is
//! written by the ordinary analysis with calls forbidden. The state (the runs, the batches in
//! flight, the rejected answers) is kept in `<reports-dir>/.evaltriage/backfill.json`, so a killed
//! backfill picks its batches up again.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use evaltriage_core::{RunRef, TokenUsage};
use evaltriage_fanout::Backend;
use evaltriage_fanout::batch::{self, BatchProvider, BatchState, PendingCall, PendingKind, Turn};
use evaltriage_report::{DigestRun, RunOutcome};
use serde::{Deserialize, Serialize};

use super::{BackfillOptions, Backfilled, Digest, list_window, reused_in};
use crate::analyze::{AnalyzeRequest, Analyzed, NO_BATCH_ANSWER, analyze};
use crate::error::Error;
use crate::events::{BatchWait, Event, Events, NoEvents};
use crate::nightly::state::state_dir;
use crate::nightly::{NightOptions, NightRuns};
use crate::settings::{AnalysisSettings, Settings};

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
    /// Each run's verdict requests by eval (run id → eval path → request key): an eval keeps its
    /// first request's identity in later rounds, though its prompt may have changed since (reports
    /// written in between give it more context), so it is asked once.
    #[serde(default)]
    pub asked: BTreeMap<String, BTreeMap<String, String>>,
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

pub(super) async fn engine<P: BatchProvider>(
    settings: &Settings,
    analysis: &AnalysisSettings,
    options: &BackfillOptions,
    provider: &P,
    events: &dyn Events,
    mut digest: Digest,
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
    let mut reached_past_listing = 0;
    let mut state = match BackfillState::load(reports_dir)? {
        Some(s) if !s.finished => {
            say(format!("backfill: resuming the backfill started {} ({})", s.started_at, s.summary()));
            s
        }
        _ => {
            let window = list_window(settings, options, events, &mut digest).await?;
            reached_past_listing = window.reached_past_listing;
            let s = BackfillState {
                started_at: digest.digest.started_at.clone(),
                runs: window
                    .runs
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
    events.send(Event::Bar { total: state.runs.len() as u64, message: "backfill: runs written".to_owned() });
    for _ in state.runs.iter().filter(|r| r.done) {
        events.send(Event::Inc);
    }
    let max_attempts = u32::from(analysis.fanout.max_retries.get()) + 1;
    let review = NightOptions { review_below: options.review_below, ..NightOptions::default() };
    let night = NightRuns::new(settings, analysis, &review, Arc::new(NoEvents));
    let mut rows = Rows::default();
    let mut failed_any = false;
    let mut reused = 0;
    // Signature claims hold from round to round until the claiming run is written; a run that
    // waits for runs not written yet cannot be ready, so it is not read again (its documents and
    // blobs) until one of them is: its calls as last collected stand for it, less those answered.
    let claims = crate::reuse::Claims::default();
    let mut calls_of: HashMap<String, Vec<PendingCall>> = HashMap::new();
    let mut accepted: HashSet<String> = HashSet::new();
    loop {
        // Collect: write every run that needs no call, gather the calls of the others.
        let sink = batch::BatchSink::default();
        let mut pending: BTreeMap<String, PendingCall> = BTreeMap::new();
        let waiting = state.runs.iter().filter(|r| !r.done).count();
        for i in 0..state.runs.len() {
            if state.runs[i].done {
                continue;
            }
            let id = state.runs[i].run_id.clone();
            let waits = claims.waits_for(&id);
            let still_waiting =
                !waits.is_empty() && waits.iter().all(|w| state.runs.iter().any(|r| &r.run_id == w && !r.done));
            if still_waiting {
                for call in calls_of.get(&id).into_iter().flatten().filter(|c| !accepted.contains(&c.key)) {
                    pending.entry(call.key.clone()).or_insert_with(|| call.clone());
                }
                continue;
            }
            claims.forget_waits(&id);
            events.send(Event::Step(format!("backfill: reading run {} ({waiting} to write)", state.runs[i].run_id)));
            let run_ref = RunRef::run(parse_run_id(&state.runs[i].run_id)?);
            let source = crate::source::configured(settings)?;
            let keys = state.asked.get(&state.runs[i].run_id).cloned().unwrap_or_default();
            let mut collecting = analysis.clone();
            collecting.fanout.batch_sink = Some(sink.clone());
            collecting.fanout.batch_keys = keys.clone();
            collecting.reuse.claims = Some(claims.clone());
            let request = AnalyzeRequest { estimate: true, force: false };
            let outcome = analyze(settings, &collecting, request, &source, &run_ref, Arc::new(NoEvents)).await;
            let calls = sink.drain();
            let ready = match &outcome {
                Ok(Analyzed::Estimate(est, _)) => est.calls == 0 && est.waiting == 0,
                Ok(_) | Err(_) => true,
            };
            if ready {
                let written = write_run(&night, &source, &run_ref, keys).await;
                failed_any |= matches!(written, RunOutcome::Failed { .. });
                reused += reused_in(reports_dir, &written);
                rows.put(&mut digest, i, &state.runs[i], written);
                state.runs[i].done = true;
                state.save(reports_dir)?;
                digest.write(reports_dir)?;
                events.send(Event::Inc);
                claims.release(&id);
                calls_of.remove(&id);
            } else {
                let asked = state.asked.entry(id.clone()).or_default();
                for call in &calls {
                    if let PendingKind::Verdict { eval_path, .. } = &call.kind {
                        asked.entry(eval_path.clone()).or_insert_with(|| call.key.clone());
                    }
                    pending.entry(call.key.clone()).or_insert_with(|| call.clone());
                }
                calls_of.insert(id, calls);
            }
        }
        let done = state.runs.iter().filter(|r| r.done).count();
        say(format!("backfill: {done}/{} runs written", state.runs.len()));
        if state.in_flight().next().is_some() {
            let answered =
                collect_batches(&mut state, provider, llm, &cache_dir, &pending, reports_dir, options, events);
            accepted.extend(answered.await?);
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
                let keys = state.asked.get(&state.runs[i].run_id).cloned().unwrap_or_default();
                let written = write_run(&night, &source, &run_ref, keys).await;
                failed_any = true;
                rows.put(&mut digest, i, &state.runs[i], written);
                state.runs[i].done = true;
                state.save(reports_dir)?;
                events.send(Event::Inc);
            }
            break;
        }
        state.round += 1;
        submit(&mut state, provider, llm, &to_send, reports_dir, events).await?;
        // Wait for the round's batches with the calls just collected: reading the runs again
        // before their answers are in would find nothing new.
        let answered = collect_batches(&mut state, provider, llm, &cache_dir, &pending, reports_dir, options, events);
        accepted.extend(answered.await?);
    }
    events.send(Event::Finish);
    let tokens = TokenUsage { prompt: state.prompt_tokens, completion: state.completion_tokens };
    // The night's tokens are the batches' (every round's, rejected answers too), at the batch
    // price; each run's report says what its own accepted answers took.
    digest.digest.tokens_spent = tokens.total();
    digest.digest.llm_cost = analysis.llm_cost(tokens, true);
    digest.digest.notes.push(format!(
        "batch API: {} requests in {} rounds, {}; {reused} failures reused an earlier verdict",
        state.requests_sent,
        state.round,
        crate::cost::describe(tokens, digest.digest.llm_cost.as_ref())
    ));
    digest.digest.finished = true;
    digest.write(reports_dir)?;
    state.finished = true;
    state.save(reports_dir)?;
    Ok(Backfilled {
        digest: digest.digest,
        digest_path: digest.path,
        failed_any,
        batch_requests: state.requests_sent,
        batch_tokens: tokens,
        reused,
        reached_past_listing,
    })
}

/// The digest's rows in the window's order, whichever round wrote each run.
#[derive(Debug, Default)]
struct Rows(Vec<usize>);

impl Rows {
    fn put(&mut self, digest: &mut Digest, i: usize, run: &StateRun, outcome: RunOutcome) {
        let at = self.0.partition_point(|&j| j < i);
        self.0.insert(at, i);
        let row = DigestRun {
            run_id: run.run_id.clone(),
            model: run.model.clone(),
            experiment: run.experiment.clone(),
            outcome,
        };
        digest.digest.runs.insert(at, row);
    }
}

fn unavailable(message: String) -> Error {
    Error::new(crate::ErrorKind::Unavailable, message)
}

fn parse_run_id(id: &str) -> Result<evaltriage_core::RunId, Error> {
    evaltriage_core::RunId::new(id).map_err(|e| Error::failed(format!("the backfill state holds a bad run id: {e}")))
}

/// Writes one run's report by the ordinary analysis with calls forbidden: every answer is in the
/// cache or an earlier report by now.
async fn write_run(
    night: &NightRuns<'_>,
    source: &crate::AnySource,
    run_ref: &RunRef,
    keys: BTreeMap<String, String>,
) -> RunOutcome {
    let mut writing = night.analysis.clone();
    writing.fanout.no_calls = Some(NO_BATCH_ANSWER.to_owned());
    writing.fanout.batch_keys = keys;
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

/// Sleeps until the next poll, telling the time waited every second meanwhile.
async fn until_next_poll(interval: Duration, waited_from: tokio::time::Instant, last: &BatchWait, events: &dyn Events) {
    let next_poll = tokio::time::Instant::now() + interval;
    loop {
        let now = tokio::time::Instant::now();
        if now >= next_poll {
            return;
        }
        tokio::time::sleep((next_poll - now).min(Duration::from_secs(1))).await;
        events.send(Event::BatchWait(BatchWait { waited: waited_from.elapsed(), ..last.clone() }));
    }
}

/// Waits for the batches in flight, then reads their output and error files: valid answers go to
/// the cache (their keys are returned), the others (and requests that came back in no file) to the
/// next round.
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
) -> Result<Vec<String>, Error> {
    let waited_from = tokio::time::Instant::now();
    let mut stored = Vec::new();
    let flying: Vec<usize> = (0..state.batches.len()).filter(|&b| !state.batches[b].collected).collect();
    let batches = flying.len();
    for (n, b) in flying.into_iter().enumerate() {
        let id = state.batches[b].id.clone();
        let status = loop {
            let status = provider.status(&id).await.map_err(unavailable)?;
            let wait = BatchWait {
                batch_id: id.clone(),
                state: status.state.as_str().to_owned(),
                counts: status.counts,
                nth: n + 1,
                batches,
                waited: waited_from.elapsed(),
            };
            events.send(Event::Night(format!("backfill: {}", wait.line())));
            events.send(Event::BatchWait(wait.clone()));
            if state.batches[b].status != status.state.as_str() {
                state.batches[b].status = status.state.as_str().to_owned();
                state.save(reports_dir)?;
            }
            if status.state.is_final() {
                break status;
            }
            until_next_poll(options.poll_interval, waited_from, &wait, events).await;
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
                                stored.push(call.key.clone());
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
    Ok(stored)
}
