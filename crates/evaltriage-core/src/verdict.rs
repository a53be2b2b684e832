//! Verdicts: the classification of one failed eval, however it was reached.

use std::fmt;
use std::str::FromStr;

use crate::ids::{EvalId, EvalPath};
use crate::model::{InfraCause, StepName};

/// The four labels a verification failure can get.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Classification {
    /// The model genuinely got it wrong.
    ModelFault,
    /// The eval, lint or test demands more than the task reasonably asked.
    OverlyStrict,
    /// The task is unclear and the model's reading was reasonable.
    AmbiguousTask,
    /// A documented, known limitation of this eval that affects all models.
    KnownGap,
}

impl Classification {
    pub const ALL: [Self; 4] = [Self::ModelFault, Self::OverlyStrict, Self::AmbiguousTask, Self::KnownGap];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::ModelFault => "MODEL_FAULT",
            Self::OverlyStrict => "OVERLY_STRICT",
            Self::AmbiguousTask => "AMBIGUOUS_TASK",
            Self::KnownGap => "KNOWN_GAP",
        }
    }

    /// Whether fixing this failure is on the benchmark's side (not the model's).
    pub fn is_actionable(self) -> bool {
        !matches!(self, Self::ModelFault)
    }
}

impl fmt::Display for Classification {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A label that is not one of the four.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown classification {0:?} (expected MODEL_FAULT, OVERLY_STRICT, AMBIGUOUS_TASK or KNOWN_GAP)")]
pub struct UnknownClassification(pub String);

impl FromStr for Classification {
    type Err = UnknownClassification;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "MODEL_FAULT" => Ok(Self::ModelFault),
            "OVERLY_STRICT" => Ok(Self::OverlyStrict),
            "AMBIGUOUS_TASK" => Ok(Self::AmbiguousTask),
            "KNOWN_GAP" => Ok(Self::KnownGap),
            other => Err(UnknownClassification(other.to_owned())),
        }
    }
}

/// How an analysis of one failure ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum VerdictStatus {
    /// A validated classification.
    Done,
    /// The analysis failed (no valid answer after the last retry, transport failure, ...).
    Error,
    /// Not analyzed (token budget reached, or an infrastructure failure kept out of the LLM).
    Skipped,
}

impl VerdictStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Done => "done",
            Self::Error => "error",
            Self::Skipped => "skipped",
        }
    }
}

/// Who produced a verdict.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum VerdictOrigin {
    /// An LLM answered; the model's name.
    Llm { model: String },
    /// The built-in deterministic rules (no LLM was used).
    Rules,
    /// The benchmark's infrastructure rules: never sent to an LLM.
    Infrastructure(InfraCause),
    /// A previous verdict for the same evidence, prompt and model, read from the cache.
    Cache { model: String },
    /// The verdict of an earlier run's failure with the same [`crate::FailureSignature`] (same
    /// model, eval, eval source, failed step and normalised error), reused without a call.
    Reused(Box<ReusedFrom>),
}

/// Where a reused verdict was first made.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ReusedFrom {
    /// The earlier run's id.
    pub run_id: String,
    /// The earlier report's date (`YYYY-MM-DD`).
    pub date: String,
    /// A link to the earlier report, relative to the new report's folder.
    pub report: String,
    /// The earlier verdict's label is a reviewer's, which wins over the machine's.
    pub human: bool,
}

impl ReusedFrom {
    /// `same failure as run `<prefix>` (`<date>`), verdict reused`, as reports and summaries say it.
    pub fn describe(&self) -> String {
        let prefix: String = self.run_id.chars().take(8).collect();
        let whose = if self.human { "reviewer's verdict reused" } else { "verdict reused" };
        format!("same failure as run `{prefix}` (`{}`), {whose}", self.date)
    }
}

/// The verdict for one failed eval.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    pub eval_id: EvalId,
    pub eval_path: EvalPath,
    pub failed_step: Option<StepName>,
    pub status: VerdictStatus,
    /// The label; `None` unless `status` is `Done` and the failure is a verification failure.
    pub classification: Option<Classification>,
    /// The error this verdict is about, one line or a short excerpt.
    pub error: String,
    /// Why: the classifier's reasoning, or the reason the analysis failed or was skipped.
    pub reasoning: String,
    pub model_snippet: Option<String>,
    pub expected_snippet: Option<String>,
    /// 0.0 to 1.0, when the classifier gave one.
    pub confidence: Option<f32>,
    /// Validation retries it took (0 when the first answer was valid).
    pub retry_count: u32,
    pub origin: VerdictOrigin,
    /// Tokens spent on this verdict (prompt, completion).
    pub tokens: TokenUsage,
    /// Evidence that could not be fetched for this failure (a blob that would not download, a
    /// missing zip), one entry each, as the source said it. A verdict with missing evidence was
    /// reached knowing it: the rules say they could not decide, the LLM was told what is missing.
    pub missing_evidence: Vec<String>,
}

/// Below this confidence a rules verdict is the rules classifier's default guess (it gives 0.3),
/// not one of its real rules (a GAPS.txt entry, a prior label, a relaxed lint rule: 0.5 and up).
const RULES_GUESS_BELOW: f32 = 0.5;

impl Verdict {
    /// Whether this verdict is only the built-in rules' default guess: no rule matched, so the
    /// failure was attributed to the model with a low confidence (origin [`VerdictOrigin::Rules`]
    /// and confidence below 0.5). Such a verdict is unverified: it is not a finding that the model
    /// is at fault, and needs an LLM analysis or a person reading the failing step's output.
    pub fn is_unverified_guess(&self) -> bool {
        matches!(self.origin, VerdictOrigin::Rules) && self.confidence.is_some_and(|c| c < RULES_GUESS_BELOW)
    }
}

/// Tokens spent, as reported by the endpoint.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct TokenUsage {
    pub prompt: u64,
    pub completion: u64,
}

impl TokenUsage {
    pub fn total(self) -> u64 {
        self.prompt + self.completion
    }
}

impl std::ops::AddAssign for TokenUsage {
    fn add_assign(&mut self, rhs: Self) {
        self.prompt += rhs.prompt;
        self.completion += rhs.completion;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_round_trip() {
        for c in Classification::ALL {
            assert_eq!(c.as_str().parse::<Classification>().unwrap(), c);
        }
        assert!("HARNESS_FAILURE".parse::<Classification>().is_err());
        assert!(!Classification::ModelFault.is_actionable());
        assert!(Classification::KnownGap.is_actionable());
    }

    #[test]
    fn only_a_low_confidence_rules_verdict_is_an_unverified_guess() {
        let verdict = |origin: VerdictOrigin, confidence: Option<f32>| Verdict {
            eval_id: EvalId::new("e1").unwrap(),
            eval_path: EvalPath::new("a/b"),
            failed_step: None,
            status: VerdictStatus::Done,
            classification: Some(Classification::ModelFault),
            error: String::new(),
            reasoning: String::new(),
            model_snippet: None,
            expected_snippet: None,
            missing_evidence: Vec::new(),
            confidence,
            retry_count: 0,
            origin,
            tokens: TokenUsage::default(),
        };
        assert!(verdict(VerdictOrigin::Rules, Some(0.3)).is_unverified_guess());
        assert!(!verdict(VerdictOrigin::Rules, Some(0.5)).is_unverified_guess(), "a real rule");
        assert!(!verdict(VerdictOrigin::Rules, None).is_unverified_guess());
        assert!(!verdict(VerdictOrigin::Llm { model: "m".to_owned() }, Some(0.2)).is_unverified_guess());
        assert!(!verdict(VerdictOrigin::Cache { model: "m".to_owned() }, Some(0.2)).is_unverified_guess());
    }
}
