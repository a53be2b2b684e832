//! Why a run ended badly: the run's `failed {failureReason}` read into what it means — an abort
//! by the environment or by rate limits (its finished evals still say something about the model),
//! or a run the benchmark itself does not score (`[zero_tokens]`, `[preflight]`,
//! `[answer_validation]`, a run the maintenance cron found stuck).
//!
//! The reasons as the runner writes them (DESIGN §5.1): `[infrastructure] [preflight] ...`,
//! `[infrastructure] [install|deploy|tsc] <step error>`, `[infrastructure] <message>`,
//! `[infrastructure] [zero_tokens] Zero total token usage detected for <evalPath>`,
//! `[rate_limit] Aborted after N rate-limit errors`, `[answer_validation] ...`, and
//! `Run stuck in "pending" state for N minutes — auto-failed by maintenance cron`.

use crate::step::StepName;

/// What kind of bad end a run had.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunFailureKind {
    /// `[infrastructure] [install|deploy|tsc] ...`: an environment failure in that step aborted
    /// the run.
    StepAbort(StepName),
    /// `[infrastructure] <message>`: the backend, a health check or a download failed.
    Infrastructure,
    /// `[infrastructure] [preflight] ...`: the model's endpoint failed its check before any eval.
    Preflight,
    /// `[infrastructure] [zero_tokens] ...`: a generation reported no tokens; the run is invalid.
    ZeroTokens,
    /// `[rate_limit] ...`: the run was aborted after too many rate-limit errors.
    RateLimit,
    /// `[answer_validation] ...`: a check of the reference answers, not a model run.
    AnswerValidation,
    /// `Run stuck in "pending" state ... auto-failed by maintenance cron`.
    Stuck,
    /// Any other reason.
    Other,
}

/// A failed run's reason, read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunFailure {
    pub kind: RunFailureKind,
    /// The reason's first line without its tags (`Error: bun install timed out after 120s`).
    pub first_line: String,
    /// The reason as the source wrote it.
    pub reason: String,
}

impl RunFailure {
    /// Reads a run's failure reason.
    pub fn parse(reason: &str) -> Self {
        let mut rest = reason.trim_start();
        let mut tags: Vec<String> = Vec::new();
        while let Some(tail) = rest.strip_prefix('[') {
            let Some((tag, after)) = tail.split_once(']') else { break };
            if tag.is_empty() || tag.len() > 40 || tag.contains('\n') {
                break;
            }
            tags.push(tag.trim().to_ascii_lowercase());
            rest = after.trim_start();
        }
        let tag = |i: usize| tags.get(i).map(String::as_str);
        let kind = match (tag(0), tag(1)) {
            (Some("infrastructure"), Some("preflight")) => RunFailureKind::Preflight,
            (Some("infrastructure"), Some("zero_tokens")) => RunFailureKind::ZeroTokens,
            (Some("infrastructure"), Some(step @ ("install" | "deploy" | "tsc"))) => {
                RunFailureKind::StepAbort(StepName::parse(step))
            }
            (Some("infrastructure"), _) => RunFailureKind::Infrastructure,
            (Some("rate_limit"), _) => RunFailureKind::RateLimit,
            (Some("answer_validation"), _) => RunFailureKind::AnswerValidation,
            _ if is_stuck(reason) => RunFailureKind::Stuck,
            _ => RunFailureKind::Other,
        };
        let first = rest.lines().map(str::trim).find(|l| !l.is_empty() && !crate::step::is_step_header(l));
        let first_line = first.or_else(|| rest.lines().map(str::trim).find(|l| !l.is_empty())).unwrap_or("");
        Self { kind, first_line: first_line.to_owned(), reason: reason.to_owned() }
    }

    /// Whether the run was aborted part-way by the environment or rate limits: its finished
    /// evals are still analyzed, and the rest are "not run".
    pub fn is_abort(&self) -> bool {
        matches!(self.kind, RunFailureKind::StepAbort(_) | RunFailureKind::Infrastructure | RunFailureKind::RateLimit)
    }

    /// Why the benchmark itself does not score this run, in one line, or `None` when it does
    /// (an aborted run's finished evals are still worth reading).
    pub fn unscored_reason(&self) -> Option<String> {
        let why = match self.kind {
            RunFailureKind::ZeroTokens => "the benchmark invalidated it: a generation reported zero tokens",
            RunFailureKind::Preflight => "the model's endpoint failed the benchmark's preflight check before any eval",
            RunFailureKind::AnswerValidation => "it checks the reference answers, it is not a model run",
            RunFailureKind::Stuck => "it was stuck and auto-failed by the benchmark's maintenance cron",
            _ => return None,
        };
        Some(if self.first_line.is_empty() { why.to_owned() } else { format!("{why} ({})", self.first_line) })
    }

    /// One line for a summary: `aborted by infrastructure (install): Error: bun install timed out
    /// after 120s`, `aborted after rate-limit errors: Aborted after 5 rate-limit errors`.
    pub fn summary(&self) -> String {
        let what = match &self.kind {
            RunFailureKind::StepAbort(step) => format!("aborted by infrastructure ({step})"),
            RunFailureKind::Infrastructure => "aborted by infrastructure".to_owned(),
            RunFailureKind::Preflight => "failed the preflight check (not scored)".to_owned(),
            RunFailureKind::ZeroTokens => "invalidated for zero token usage (not scored)".to_owned(),
            RunFailureKind::RateLimit => "aborted after rate-limit errors".to_owned(),
            RunFailureKind::AnswerValidation => "an answer validation run (not scored)".to_owned(),
            RunFailureKind::Stuck => "stuck and auto-failed (not scored)".to_owned(),
            RunFailureKind::Other => "failed".to_owned(),
        };
        if self.first_line.is_empty() { what } else { format!("{what}: {}", self.first_line) }
    }
}

fn is_stuck(reason: &str) -> bool {
    let lower = reason.to_ascii_lowercase();
    lower.contains("stuck") && lower.contains("maintenance cron")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check(reason: &str, kind: RunFailureKind, first_line: &str, abort: bool, unscored: bool) {
        let f = RunFailure::parse(reason);
        assert_eq!(f.kind, kind, "{reason}");
        assert_eq!(f.first_line, first_line, "{reason}");
        assert_eq!(f.is_abort(), abort, "{reason}");
        assert_eq!(f.unscored_reason().is_some(), unscored, "{reason}");
    }

    #[test]
    fn run_failure_reasons_are_read_as_the_runner_writes_them() {
        use RunFailureKind::*;
        check(
            "[infrastructure] [install] Error: bun install timed out after 120s",
            StepAbort(StepName::Install),
            "Error: bun install timed out after 120s",
            true,
            false,
        );
        check(
            "[infrastructure] [deploy] Error: Failed to deploy:\nconnect ECONNREFUSED 127.0.0.1:3210",
            StepAbort(StepName::Deploy),
            "connect ECONNREFUSED 127.0.0.1:3210",
            true,
            false,
        );
        check(
            "[infrastructure] backend health check failed",
            Infrastructure,
            "backend health check failed",
            true,
            false,
        );
        check(
            "[infrastructure] [zero_tokens] Zero total token usage detected for 000-fundamentals/001-empty",
            ZeroTokens,
            "Zero total token usage detected for 000-fundamentals/001-empty",
            false,
            true,
        );
        check("[infrastructure] [preflight] 404 No endpoints found", Preflight, "404 No endpoints found", false, true);
        check(
            "[rate_limit] Aborted after 5 rate-limit errors",
            RateLimit,
            "Aborted after 5 rate-limit errors",
            true,
            false,
        );
        check("[answer_validation] 2 answers failed", AnswerValidation, "2 answers failed", false, true);
        check(
            "Run stuck in \"pending\" state for 240 minutes — auto-failed by maintenance cron",
            Stuck,
            "Run stuck in \"pending\" state for 240 minutes — auto-failed by maintenance cron",
            false,
            true,
        );
        check("something broke", Other, "something broke", false, false);
        // A reason that only mentions a tag later is not tagged.
        check("model said [infrastructure]", Other, "model said [infrastructure]", false, false);
        assert!(
            RunFailure::parse("[infrastructure] [install] Error: x timed out after 1s")
                .summary()
                .starts_with("aborted by infrastructure (install): Error: x timed out")
        );
    }
}
