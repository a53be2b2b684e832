//! evaltriage's fan-out: evidence selection and budgeting, prompts, the LLM and rules
//! classifiers, bounded concurrent dispatch with validation and retry, the verdict cache, and
//! token accounting.
//!
//! Everything comes in through config structs from the binary: this crate neither prints nor
//! reads the environment or config files. Secrets never appear in `Debug` output, logs, errors or
//! verdicts.
//!
//! Entry points: [`analyze`] (one verdict per failed eval), [`estimate`] (calls and tokens,
//! without calling), [`synthesize`] (cross-cutting patterns over the verdicts).

mod answer;
pub mod batch;
mod budget;
mod cache;
mod diff;
mod dispatch;
mod llm;
mod prompt;
mod rules;
mod selection;

use std::num::NonZeroU8;
use std::path::PathBuf;
use std::time::Duration;

use evaltriage_core::{Evidence, Failure, KnownGapRecord};
use tokio::sync::mpsc::UnboundedSender;

pub use answer::answer_schema;
pub use budget::{SharedBudget, prompt_tokens_upper_bound};
pub use cache::cache_key;
pub use diff::unified_diff;
pub use dispatch::MIN_SYNTHESIS_FAILURES;
pub use dispatch::{Analysis, Estimate, ProgressEvent, Synthesis, analyze, estimate, queue_synthesis, synthesize};
pub use llm::{
    ApiKey, DEFAULT_ANSWER_TOKENS, DEFAULT_CALL_TIMEOUT, DEFAULT_GIVE_UP_AFTER_TIMEOUTS, LlmConfig, ResponseMode,
    answer_body_cap,
};
pub use prompt::{Prompts, TEMPLATE_FILES};
pub use rules::{DEFAULT_RELAXED_RULES, RulesConfig, classify_by_rules, infrastructure_verdict};
pub use selection::STATIC_PIPELINE;
pub use selection::{DEFAULT_EVIDENCE_TOKENS, SelectedEvidence, estimate_tokens, select_evidence};

/// One failed eval to analyze.
#[derive(Debug, Clone, PartialEq)]
pub struct Case {
    pub failure: Failure,
    pub evidence: Evidence,
    /// The label a prior report gave this eval (`KNOWN_GAP`, `MODEL_FAULT (repeat)`, ...), from
    /// the report history, when there is one.
    pub prior_label: Option<String>,
    /// KNOWN_GAP labels any model's report gave this eval (`evaltriage_report::known_gaps`): since
    /// the benchmark removed `GAPS.txt`, this is where known gaps live. Shown in the evidence; the
    /// rules give KNOWN_GAP for a failure at the step a record names.
    pub known_gaps: Vec<KnownGapRecord>,
    /// When other models fail this eval the same way (same step, same normalised error): the
    /// grader suspect in one line (`the tests step failed the same way for 4 of 6 models ...`).
    /// Shown in the evidence; the rules make it an OVERLY_STRICT or KNOWN_GAP candidate, never a
    /// confident MODEL_FAULT.
    pub grader_suspect: Option<String>,
}

impl Case {
    /// A case with no prior label, no known-gap records and no grader suspect.
    pub fn new(failure: Failure, evidence: Evidence) -> Self {
        Self { failure, evidence, prior_label: None, known_gaps: Vec::new(), grader_suspect: None }
    }

    /// The decisive error its verdict will carry, whichever classifier reaches it: the failed
    /// step's error line, with the first failing test and its assertion from `run.log` for a tests
    /// failure. What failures are compared on across models.
    pub fn decisive_error(&self) -> String {
        rules::decisive_error(self).unwrap_or_else(|| rules::short_error(self.failure.error_text()))
    }
}

/// Errors that stop an analysis before it starts; per-eval failures are verdicts instead.
#[derive(Debug, thiserror::Error)]
pub enum FanoutError {
    #[error("concurrency must be from 1 to 4, got {0}")]
    Concurrency(u64),
    #[error("max retries must be from 1 to 10, got {0}")]
    MaxRetries(u64),
    #[error("cannot read prompt templates at {path}")]
    PromptsDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("prompt template {path} has no {{{{{hole}}}}}")]
    PromptTemplate { path: PathBuf, hole: &'static str },
    #[error("cannot build the HTTP client: {0}")]
    HttpClient(String),
    #[error("synthesis failed: {0}")]
    Synthesis(String),
    #[error("synthesis skipped: {0}")]
    SynthesisSkipped(String),
    /// HTTP 401/403: the endpoint refused the key. The run stops at the first one.
    #[error("{0}")]
    AuthRefused(String),
}

/// LLM calls in flight at once: 1 to 4, default 4.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Concurrency(NonZeroU8);

impl Concurrency {
    pub const MAX: u8 = 4;

    pub fn new(n: u64) -> Result<Self, FanoutError> {
        u8::try_from(n)
            .ok()
            .filter(|n| *n <= Self::MAX)
            .and_then(NonZeroU8::new)
            .map(Self)
            .ok_or(FanoutError::Concurrency(n))
    }

    pub fn get(self) -> u8 {
        self.0.get()
    }
}

impl Default for Concurrency {
    fn default() -> Self {
        Self(NonZeroU8::new(Self::MAX).unwrap_or(NonZeroU8::MIN))
    }
}

/// Validation retries per eval: 1 to 10, default 3.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MaxRetries(u8);

impl MaxRetries {
    pub fn new(n: u64) -> Result<Self, FanoutError> {
        u8::try_from(n).ok().filter(|n| (1..=10).contains(n)).map(Self).ok_or(FanoutError::MaxRetries(n))
    }

    pub fn get(self) -> u8 {
        self.0
    }
}

impl Default for MaxRetries {
    fn default() -> Self {
        Self(3)
    }
}

/// Which classifier analyses verification failures.
#[derive(Debug, Clone)]
pub enum Backend {
    /// An OpenAI-compatible endpoint.
    Llm(LlmConfig),
    /// The built-in deterministic rules (no endpoint or key configured).
    Rules(RulesConfig),
}

/// Everything [`analyze`] and [`estimate`] need, filled by the binary.
#[derive(Debug, Clone)]
pub struct FanoutConfig {
    pub backend: Backend,
    /// Prompt templates: [`Prompts::builtin`], or [`Prompts::from_dir`] for `--prompts-dir`.
    pub prompts: Prompts,
    pub concurrency: Concurrency,
    pub max_retries: MaxRetries,
    /// Per-call evidence budget in estimated tokens (a calibrated estimate, see `estimate_tokens`). Default
    /// [`DEFAULT_EVIDENCE_TOKENS`].
    pub evidence_budget_tokens: usize,
    /// A hard cap on tokens: a call starts only if its worst case (prompt from above plus the
    /// answer cap) fits what is left; the rest are skipped. `None`: no limit.
    pub token_budget: Option<u64>,
    /// A budget shared with the other analyses running at once: when set, every call (the
    /// synthesis too) reserves from it and `token_budget` is not used.
    pub shared_budget: Option<SharedBudget>,
    /// Give up on what is still running or waiting after this long. `None`: no limit.
    pub overall_timeout: Option<Duration>,
    /// How the overall timeout is named in a verdict's reasoning (the command's `--deadline`, say)
    /// [default: "overall timeout reached"].
    pub overall_timeout_reason: Option<String>,
    /// Where verdicts are cached (the binary passes `<reports_dir>/.cache/`). `None`: no cache.
    pub cache_dir: Option<PathBuf>,
    /// Neither read nor write the cache.
    pub no_cache: bool,
    /// Progress events, for the binary to draw.
    pub progress: Option<UnboundedSender<ProgressEvent>>,
    /// The batch engine collects here, in [`estimate`], the calls that are not cached.
    pub batch_sink: Option<batch::BatchSink>,
    /// No LLM call may be sent (the batch engine's answers are all in the cache): a case that is
    /// not cached gets an `error` verdict with this reason, and the synthesis is skipped with it.
    pub no_calls: Option<String>,
    /// The batch engine's request for an eval of this run in an earlier round (eval path → cache
    /// key): the eval keeps that request's identity though its prompt has changed since (reports
    /// written in between give it more context), so it is asked once and its answer found.
    pub batch_keys: std::collections::BTreeMap<String, String>,
}

impl Default for FanoutConfig {
    /// The rules classifier with default settings, no cache, no limits.
    fn default() -> Self {
        Self {
            backend: Backend::Rules(RulesConfig::default()),
            prompts: Prompts::builtin(),
            concurrency: Concurrency::default(),
            max_retries: MaxRetries::default(),
            evidence_budget_tokens: DEFAULT_EVIDENCE_TOKENS,
            token_budget: None,
            shared_budget: None,
            overall_timeout: None,
            overall_timeout_reason: None,
            cache_dir: None,
            no_cache: false,
            progress: None,
            batch_sink: None,
            no_calls: None,
            batch_keys: std::collections::BTreeMap::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_newtypes() {
        assert!(Concurrency::new(0).is_err());
        assert!(Concurrency::new(5).is_err());
        assert_eq!(Concurrency::new(3).unwrap().get(), 3);
        assert_eq!(Concurrency::default().get(), 4);
        assert!(MaxRetries::new(0).is_err());
        assert!(MaxRetries::new(11).is_err());
        assert_eq!(MaxRetries::new(10).unwrap().get(), 10);
        assert_eq!(MaxRetries::default().get(), 3);
    }
}
