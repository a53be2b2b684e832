//! Bounded concurrent dispatch: one analysis per failed eval, at most `concurrency` in flight,
//! pipelined with `buffer_unordered` so a slow call never holds the others back; cache, token
//! budget, overall timeout and progress events around it. Verdicts come back sorted by eval path.

use std::sync::Arc;

/// The fewest verification failures a cross-cutting synthesis is asked for: one failure (an
/// eval-level analysis, say) has no pattern to find, so no call is spent on it.
pub const MIN_SYNTHESIS_FAILURES: usize = 2;

use evaltriage_core::{Classification, EvalPath, FailureKind, TokenUsage, Verdict, VerdictOrigin, VerdictStatus};
use futures::StreamExt;
use tokio::sync::mpsc::UnboundedSender;
use tokio::time::Instant;

use crate::answer::keep_known_evals;
use crate::batch::{PendingCall, PendingKind};
use crate::budget::{Budget, SharedBudget, call_cost};
use crate::cache::{Cache, cache_key};
use crate::llm::{Ask, CallError, LlmClient, ResponseMode};
use crate::prompt::prior_line;
use crate::rules::{base_verdict, classify_by_rules, decisive_error, infrastructure_verdict};
use crate::selection::select_evidence;
use crate::{Backend, Case, FanoutConfig, FanoutError, LlmConfig};

/// Completion tokens assumed per analysis call by estimates.
const ESTIMATED_COMPLETION_TOKENS: u64 = 400;
/// Completion tokens assumed for the synthesis call by estimates (up to 8 bullets).
const ESTIMATED_SYNTHESIS_COMPLETION_TOKENS: u64 = 600;
/// Characters of one verdict's line in the synthesis prompt, assumed by estimates (path, step,
/// label and up to 600 characters of reasoning).
const ESTIMATED_SYNTHESIS_LINE_CHARS: usize = 500;

/// What happened to one eval, for the binary to draw progress.
#[derive(Debug, Clone, PartialEq)]
pub enum ProgressEvent {
    /// The analysis is about to start: this many failures in all.
    Planned { total: usize },
    /// An LLM call for this eval started.
    Started { eval_path: EvalPath },
    /// The previous answer was rejected; asking again (attempt 1 is the first retry).
    Retried { eval_path: EvalPath, attempt: u32, reason: String },
    /// The verdict came from the cache; no call was made.
    CacheHit { eval_path: EvalPath },
    /// A verdict is done (by LLM, rules or infrastructure rule).
    Done { eval_path: EvalPath, classification: Option<Classification> },
    /// The analysis ended in an error verdict.
    Failed { eval_path: EvalPath, reason: String },
    /// Not analyzed (token budget or overall timeout reached).
    Skipped { eval_path: EvalPath, reason: String },
}

/// Sends progress events, if anyone listens.
#[derive(Debug, Clone, Default)]
pub(crate) struct Reporter(Option<UnboundedSender<ProgressEvent>>);

impl Reporter {
    pub(crate) fn send(&self, event: ProgressEvent) {
        if let Some(tx) = &self.0 {
            // A receiver that went away only means nobody draws progress any more.
            let _ = tx.send(event);
        }
    }

    fn finished(&self, verdict: &Verdict) {
        let eval_path = verdict.eval_path.clone();
        self.send(match verdict.status {
            VerdictStatus::Done => ProgressEvent::Done { eval_path, classification: verdict.classification },
            VerdictStatus::Error => ProgressEvent::Failed { eval_path, reason: verdict.reasoning.clone() },
            VerdictStatus::Skipped => ProgressEvent::Skipped { eval_path, reason: verdict.reasoning.clone() },
        });
    }
}

/// The outcome of [`analyze`].
#[derive(Debug, Clone, PartialEq)]
pub struct Analysis {
    /// One verdict per case, sorted by eval path.
    pub verdicts: Vec<Verdict>,
    /// Tokens spent over all calls of this run (cache hits spend none).
    pub tokens: TokenUsage,
    /// HTTP requests sent to the LLM (including retries).
    pub requests: u64,
    /// The response format the endpoint ended up with (`None` with the rules classifier).
    pub response_mode: Option<ResponseMode>,
    /// The prompt version used (part of the cache key).
    pub prompt_version: String,
}

/// How much an analysis would cost, computed without calling anything.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Estimate {
    /// Failures in all.
    pub cases: usize,
    /// Infrastructure failures: classified by rule, never sent.
    pub infrastructure: usize,
    /// Failures whose verdict is already cached.
    pub cache_hits: usize,
    /// LLM calls if every first answer is valid, the synthesis included.
    pub calls: usize,
    /// LLM calls if every answer needs all its retries, the synthesis included.
    pub max_calls: usize,
    /// Whether one of the calls is the cross-cutting synthesis (it is not when its answer is
    /// cached, or when nothing would be sent to an LLM).
    pub synthesis_call: bool,
    /// Estimated prompt tokens of the first calls (the calibrated estimate of `estimate_tokens`).
    pub prompt_tokens: u64,
    /// Estimated completion tokens of the first calls.
    pub completion_tokens: u64,
    /// Failures whose verdict an earlier report made for the same failure signature: no call.
    pub reused: usize,
    /// Failures whose signature another run of the same batch will answer first: no call.
    pub waiting: usize,
}

impl Estimate {
    pub fn total_tokens(&self) -> u64 {
        self.prompt_tokens + self.completion_tokens
    }
}

/// The text that identifies an analysis for the cache: evidence plus what a prior report said.
fn case_block(case: &Case, evidence_text: &str) -> String {
    format!("{}{}", prior_line(case), evidence_text)
}

fn open_cache(config: &FanoutConfig) -> Option<Cache> {
    config.cache_dir.as_deref().filter(|_| !config.no_cache).map(Cache::new)
}

/// The cache key of a case's verdict: its prompt's hash, or the batch engine's earlier request
/// for the eval when there is one ([`FanoutConfig::batch_keys`]).
fn verdict_key(config: &FanoutConfig, llm: &LlmConfig, case: &Case, evidence: &str) -> String {
    match config.batch_keys.get(case.failure.eval_path.as_str()) {
        Some(key) => key.clone(),
        None => cache_key(config.prompts.version(), &llm.model, &case_block(case, evidence)),
    }
}

/// Estimates calls and tokens of [`analyze`] and [`synthesize`] over `cases`, without calling
/// the LLM: one call per verification failure whose verdict is not cached, and the synthesis
/// unless its answer is cached too.
pub fn estimate(cases: &[Case], config: &FanoutConfig, run_summary: &str) -> Estimate {
    let mut est = Estimate { cases: cases.len(), ..Estimate::default() };
    let llm = match &config.backend {
        Backend::Llm(llm) => llm,
        Backend::Rules(_) => {
            est.infrastructure = cases.iter().filter(|c| c.failure.kind.is_infrastructure()).count();
            return est;
        }
    };
    let cache = open_cache(config);
    let mut cached_verdicts = Vec::new();
    for case in cases {
        if case.failure.kind.is_infrastructure() {
            est.infrastructure += 1;
            continue;
        }
        let evidence = select_evidence(case, config.evidence_budget_tokens);
        let key = verdict_key(config, llm, case, &evidence.text);
        if let Some(hit) = cache.as_ref().and_then(|c| c.get_blocking(&key, case)) {
            est.cache_hits += 1;
            cached_verdicts.push(hit);
            continue;
        }
        let (system, user) = config.prompts.render_analysis(case, &evidence);
        if let Some(sink) = &config.batch_sink {
            sink.push(PendingCall {
                key: key.clone(),
                system: system.clone(),
                user: user.clone(),
                kind: PendingKind::Verdict {
                    eval_path: case.failure.eval_path.as_str().to_owned(),
                    evidence: evidence.text.clone(),
                },
            });
        }
        est.calls += 1;
        est.max_calls += 1 + usize::from(config.max_retries.get());
        est.prompt_tokens += (crate::estimate_tokens(&system) + crate::estimate_tokens(&user)) as u64;
        est.completion_tokens += ESTIMATED_COMPLETION_TOKENS;
    }
    let verification = cases.len() - est.infrastructure;
    if verification < MIN_SYNTHESIS_FAILURES {
        return est;
    }
    // With every verdict cached, the synthesis prompt is known exactly, and so is whether its
    // answer is cached; otherwise it is estimated from the number of verdicts.
    if est.calls == 0 {
        let (system, user) = config.prompts.render_synthesis(run_summary, &cached_verdicts);
        let key = synthesis_key(config, llm, &system, &user);
        if cache.as_ref().is_some_and(|c| c.get_synthesis_blocking(&key).is_some()) {
            return est;
        }
        est.prompt_tokens += (crate::estimate_tokens(&system) + crate::estimate_tokens(&user)) as u64;
    } else {
        let (system, user) = config.prompts.render_synthesis(run_summary, &[]);
        est.prompt_tokens += (crate::estimate_tokens(&system)
            + crate::estimate_tokens(&user)
            + verification * ESTIMATED_SYNTHESIS_LINE_CHARS / 4) as u64;
    }
    est.synthesis_call = true;
    est.calls += 1;
    est.max_calls += 1;
    est.completion_tokens += ESTIMATED_SYNTHESIS_COMPLETION_TOKENS;
    est
}

/// The cache key of a synthesis: the prompt version, the model, and the rendered prompt (which
/// holds the run line and every verdict's path, step, label and reasoning).
fn synthesis_key(config: &FanoutConfig, llm: &LlmConfig, system: &str, user: &str) -> String {
    cache_key(config.prompts.version(), &llm.model, &format!("synthesis\n{system}\n{user}"))
}

/// Everything the per-case futures share.
struct Shared {
    config: FanoutConfig,
    client: Option<LlmClient>,
    cache: Option<Cache>,
    budget: Arc<Budget>,
    deadline: Option<Instant>,
    reporter: Reporter,
}

/// Analyses every case: infrastructure failures by rule, the others by the configured backend,
/// at most `concurrency` LLM calls in flight. Per-eval failures are verdicts, never an `Err`; the
/// error is only for a setup that cannot work: the HTTP client could not be built, or the
/// endpoint refused the key (HTTP 401/403), after which no further call is made.
pub async fn analyze(cases: Vec<Case>, config: &FanoutConfig) -> Result<Analysis, FanoutError> {
    let deadline = config.overall_timeout.and_then(|t| Instant::now().checked_add(t));
    let client = match &config.backend {
        Backend::Llm(llm) => Some(LlmClient::new(llm, deadline)?),
        Backend::Rules(_) => None,
    };
    let shared = Arc::new(Shared {
        cache: if client.is_some() { open_cache(config) } else { None },
        client,
        budget: the_budget(config, config.token_budget),
        deadline,
        reporter: Reporter(config.progress.clone()),
        config: config.clone(),
    });
    shared.reporter.send(ProgressEvent::Planned { total: cases.len() });
    let limit = usize::from(config.concurrency.get());
    let mut verdicts = analyse_all(&cases, &shared, limit).await;
    // An eval skipped because the calls in flight had reserved their worst case may fit now that
    // they settled to what they spent: ask again, as long as a pass gets something done.
    loop {
        let waiting: Vec<usize> = (0..verdicts.len()).filter(|&i| skipped_for_budget(&verdicts[i])).collect();
        if waiting.is_empty() || shared.client.as_ref().is_some_and(|c| c.auth_refused().is_some()) {
            break;
        }
        let again: Vec<Case> = waiting.iter().map(|&i| cases[i].clone()).collect();
        let retried = analyse_all(&again, &shared, limit).await;
        let progress = retried.iter().any(|v| !skipped_for_budget(v));
        for (i, verdict) in waiting.into_iter().zip(retried) {
            verdicts[i] = verdict;
        }
        if !progress {
            break;
        }
    }
    for verdict in &verdicts {
        // After a refused key the run stops with one error; no per-eval failure is told.
        if shared.client.as_ref().is_none_or(|c| c.auth_refused().is_none()) {
            shared.reporter.finished(verdict);
        }
    }
    if let Some(client) = &shared.client {
        if let Some(message) = client.auth_refused() {
            return Err(FanoutError::AuthRefused(message.to_owned()));
        }
        tracing::debug!(
            requests = client.requests(),
            max_in_flight = client.max_in_flight(),
            "LLM requests sent, and the most in flight at once"
        );
    }
    verdicts.sort_by(|a, b| a.eval_path.cmp(&b.eval_path).then_with(|| a.eval_id.cmp(&b.eval_id)));
    let tokens = verdicts.iter().fold(TokenUsage::default(), |mut acc, v| {
        acc += v.tokens;
        acc
    });
    Ok(Analysis {
        verdicts,
        tokens,
        requests: shared.client.as_ref().map_or(0, LlmClient::requests),
        response_mode: shared.client.as_ref().map(LlmClient::mode),
        prompt_version: config.prompts.version().to_owned(),
    })
}

/// Every case analyzed, at most `limit` LLM calls in flight (pipelined: a slow call never holds
/// back the next), the verdicts in the cases' order.
async fn analyse_all(cases: &[Case], shared: &Arc<Shared>, limit: usize) -> Vec<Verdict> {
    // The futures are made first (no closure held across an await), so the whole analysis stays
    // `Send` and can run as a spawned task (the MCP server's tool calls).
    let futures: Vec<_> =
        cases.iter().enumerate().map(|(i, case)| analyse_indexed(i, case, Arc::clone(shared))).collect();
    let mut verdicts: Vec<(usize, Verdict)> = futures::stream::iter(futures).buffer_unordered(limit).collect().await;
    verdicts.sort_by_key(|(i, _)| *i);
    verdicts.into_iter().map(|(_, v)| v).collect()
}

/// One case's verdict, with its index among the cases.
async fn analyse_indexed(i: usize, case: &Case, shared: Arc<Shared>) -> (usize, Verdict) {
    let mut verdict = analyse_one(case, &shared).await;
    // What could not be fetched travels with the verdict, whoever reached it, so the report and
    // the summary can name it.
    if !case.failure.kind.is_infrastructure() {
        verdict.missing_evidence = case.evidence.problems.iter().map(ToString::to_string).collect();
        // The decisive error (a tests failure's failing test and its assertion) is the evidence's,
        // whichever classifier reached the verdict.
        if let Some(error) = decisive_error(case) {
            verdict.error = error;
        }
    }
    (i, verdict)
}

/// A verdict skipped because the token budget could not hold its call's worst case.
fn skipped_for_budget(v: &Verdict) -> bool {
    v.status == VerdictStatus::Skipped && v.reasoning.starts_with(crate::budget::OVER_BUDGET_PREFIX)
}

async fn analyse_one(case: &Case, shared: &Shared) -> Verdict {
    let failure = &case.failure;
    if let FailureKind::Infrastructure(cause) = failure.kind {
        return infrastructure_verdict(failure, cause);
    }
    let config = &shared.config;
    let (client, llm) = match (&shared.client, &config.backend) {
        (Some(client), Backend::Llm(llm)) => (client, llm),
        (_, Backend::Rules(rules)) => return classify_by_rules(case, rules),
        (None, Backend::Llm(_)) => return classify_by_rules(case, &crate::RulesConfig::default()),
    };
    let skipped = |reason: &str| {
        let mut v = base_verdict(failure, VerdictStatus::Skipped, VerdictOrigin::Llm { model: llm.model.clone() });
        v.reasoning = reason.to_owned();
        v
    };
    if shared.deadline.is_some_and(|d| Instant::now() >= d) {
        return skipped(config.overall_timeout_reason.as_deref().unwrap_or("overall timeout reached"));
    }
    if client.auth_refused().is_some() {
        // The run stops with that error; this verdict is never shown.
        return skipped("the endpoint refused the API key");
    }
    let evidence = select_evidence(case, config.evidence_budget_tokens);
    let key = verdict_key(config, llm, case, &evidence.text);
    if let Some(cache) = &shared.cache {
        if let Some(mut hit) = cache.get(&key, case).await {
            shared.reporter.send(ProgressEvent::CacheHit { eval_path: failure.eval_path.clone() });
            // A hit spends nothing now; only the batch engine's writing of a run (which makes no
            // calls) reports the tokens its answers took in the batch.
            if config.no_calls.is_none() {
                hit.tokens = TokenUsage::default();
            }
            return hit;
        }
    }
    if let Some(reason) = &config.no_calls {
        let mut v = base_verdict(failure, VerdictStatus::Error, VerdictOrigin::Llm { model: llm.model.clone() });
        v.reasoning = reason.clone();
        return v;
    }
    shared.reporter.send(ProgressEvent::Started { eval_path: failure.eval_path.clone() });
    let analysis =
        client.analyze(case, &evidence, &config.prompts, config.max_retries, &shared.reporter, &shared.budget);
    let verdict = match shared.deadline {
        Some(deadline) => match tokio::time::timeout_at(deadline, analysis).await {
            Ok(v) => v,
            Err(_) => {
                let mut v =
                    base_verdict(failure, VerdictStatus::Skipped, VerdictOrigin::Llm { model: llm.model.clone() });
                v.reasoning = format!(
                    "{} while the analysis was running",
                    config.overall_timeout_reason.as_deref().unwrap_or("overall timeout reached")
                );
                v
            }
        },
        None => analysis.await,
    };
    if let Some(cache) = &shared.cache {
        cache.put(&key, client.model(), &verdict, false).await;
    }
    verdict
}

/// The cross-cutting patterns over all verdicts, in markdown, from the LLM.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Synthesis {
    /// The bullets that name only evals of the run, and a note when some were dropped.
    pub text: String,
    /// Tokens this analysis spent on it (none when it came from the cache).
    pub tokens: TokenUsage,
    /// It came from the cache: the same verdicts, prompt and model were synthesised before.
    pub cached: bool,
    /// Bullets dropped because they named an eval path that is not among the verdicts.
    pub dropped_bullets: usize,
}

/// The budget an analysis's calls reserve from: the one it shares with other analyses, else its
/// own with `limit`.
fn the_budget(config: &FanoutConfig, limit: Option<u64>) -> Arc<Budget> {
    config.shared_budget.as_ref().map_or_else(|| Arc::new(Budget::new(limit)), SharedBudget::budget)
}

/// Asks the LLM for cross-cutting patterns over the verdicts of a run. `run_summary` is one line
/// about the run (model, pass rate, ...). The answer is validated like a verdict: a bullet that
/// names an eval path not among `verdicts` is dropped and counted. The validated answer is
/// cached, keyed by the prompt version, the model and the verdicts, so an unchanged run costs no
/// call. `budget_left` is what the token budget leaves after the analyses (`None`: no budget; the
/// config's shared budget, when it has one, instead); the call is not made when its worst case
/// does not fit. Errors are for the report to show, not to
/// abort on, except [`FanoutError::AuthRefused`], which stops the run.
pub async fn synthesize(
    verdicts: &[Verdict],
    run_summary: &str,
    config: &FanoutConfig,
    budget_left: Option<u64>,
) -> Result<Synthesis, FanoutError> {
    use async_openai::types::chat::{ChatCompletionRequestSystemMessage, ChatCompletionRequestUserMessage};

    let Backend::Llm(llm) = &config.backend else {
        return Err(FanoutError::Synthesis("no LLM is configured".to_owned()));
    };
    let (system, user) = config.prompts.render_synthesis(run_summary, verdicts);
    let key = synthesis_key(config, llm, &system, &user);
    let cache = open_cache(config);
    if let Some((text, dropped_bullets, batch)) = cache.as_ref().and_then(|c| c.get_synthesis_blocking(&key)) {
        // As for a verdict: a hit spends nothing, but the batch engine's writing reports the batch.
        let tokens = if config.no_calls.is_some() { batch } else { TokenUsage::default() };
        return Ok(Synthesis { text, tokens, cached: true, dropped_bullets });
    }
    if let Some(reason) = &config.no_calls {
        return Err(FanoutError::SynthesisSkipped(reason.clone()));
    }
    let client = LlmClient::new(llm, None)?;
    let messages = vec![
        ChatCompletionRequestSystemMessage::from(system).into(),
        ChatCompletionRequestUserMessage::from(user).into(),
    ];
    let budget = the_budget(config, budget_left);
    let cost = call_cost(&messages, llm.max_completion_tokens);
    budget.reserve(cost).map_err(|over| FanoutError::SynthesisSkipped(over.to_string()))?;
    let answered = client.chat(&messages, Ask::Text).await;
    budget.settle(cost, answered.as_ref().map_or(0, |c| c.usage.total()));
    let completion = answered.map_err(|e| match e {
        CallError::AuthRefused(message) => FanoutError::AuthRefused(message),
        other => FanoutError::Synthesis(other.to_string()),
    })?;
    let (text, tokens) = completion.into_text().map_err(FanoutError::Synthesis)?;
    let known: Vec<&str> = verdicts.iter().map(|v| v.eval_path.as_str()).collect();
    let (text, dropped_bullets) = keep_known_evals(&text, &known);
    if dropped_bullets > 0 {
        tracing::warn!(
            dropped_bullets,
            "the synthesis named evals that are not in this run; those bullets were dropped"
        );
    }
    if let Some(cache) = &cache {
        cache.put_synthesis(&key, &llm.model, &text, dropped_bullets, None).await;
    }
    Ok(Synthesis { text, tokens, cached: false, dropped_bullets })
}

/// For the batch engine: puts the synthesis of `verdicts` in the config's batch sink unless its
/// answer is cached (the same prompt and key [`synthesize`] uses). Returns whether it was queued.
pub fn queue_synthesis(verdicts: &[Verdict], run_summary: &str, config: &FanoutConfig) -> bool {
    let (Backend::Llm(llm), Some(sink)) = (&config.backend, &config.batch_sink) else { return false };
    if !verdicts.iter().any(|v| v.classification.is_some()) {
        return false;
    }
    let (system, user) = config.prompts.render_synthesis(run_summary, verdicts);
    let key = synthesis_key(config, llm, &system, &user);
    if open_cache(config).is_some_and(|c| c.get_synthesis_blocking(&key).is_some()) {
        return false;
    }
    let known = verdicts.iter().map(|v| v.eval_path.as_str().to_owned()).collect();
    sink.push(PendingCall { key, system, user, kind: PendingKind::Synthesis { known } });
    true
}
