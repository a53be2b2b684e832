//! The domain model of a benchmark run: runs, evals, steps, their statuses, and failures.
//!
//! These are plain data, built by a source from its own wire format. Nothing here does I/O.

pub use crate::step::{StepName, is_step_header};

use crate::ids::{EvalId, EvalPath, RunId, StorageId};
use crate::run_failure::RunFailure;
use crate::usage::{RunUsage, Usage};

/// A benchmark run with all its evals.
#[derive(Debug, Clone, PartialEq)]
pub struct Run {
    pub id: RunId,
    /// The model's document id, when the source knows it.
    pub model_id: Option<String>,
    /// The model slug, such as `anthropic/claude-opus-4.6` (or `unknown-model`).
    pub model: String,
    /// A human name for the model, when the source has one.
    pub formatted_name: Option<String>,
    /// The endpoint provider that served the model (often `openrouter`); not the report folder.
    pub provider: Option<String>,
    /// The experiment name (`default` when the source did not say).
    pub experiment: String,
    pub status: RunStatus,
    /// Creation time in milliseconds since the Unix epoch.
    pub created_at_ms: f64,
    /// The eval paths the run planned to execute.
    pub planned_evals: Vec<String>,
    pub evals: Vec<Eval>,
}

/// The experiment of a run read from an Inspect AI log is `inspect:<task>`.
pub const INSPECT_EXPERIMENT_PREFIX: &str = "inspect:";

impl Run {
    /// Whether the run is an Inspect AI log's: its evals are scored samples, which have no steps.
    pub fn is_inspect(&self) -> bool {
        self.experiment.starts_with(INSPECT_EXPERIMENT_PREFIX)
    }

    /// Finds an eval by id or by path (`category/name`).
    pub fn find_eval(&self, id_or_path: &str) -> Option<&Eval> {
        let wanted = id_or_path.trim().trim_matches('/');
        self.evals
            .iter()
            .find(|e| e.id.as_str() == wanted)
            .or_else(|| self.evals.iter().find(|e| e.path.as_str() == wanted))
    }

    /// The evals that failed, in eval-path order.
    pub fn failed_evals(&self) -> Vec<&Eval> {
        let mut failed: Vec<&Eval> = self.evals.iter().filter(|e| e.status.is_failed()).collect();
        failed.sort_by(|a, b| a.path.cmp(&b.path));
        failed
    }

    /// Why the run failed, read (`None` unless its status is `failed`).
    pub fn failure(&self) -> Option<RunFailure> {
        match &self.status {
            RunStatus::Failed { failure_reason, .. } => Some(RunFailure::parse(failure_reason)),
            _ => None,
        }
    }

    /// Why the benchmark itself does not score this run (`[zero_tokens]`, `[preflight]`,
    /// `[answer_validation]`, stuck), in one line; `None` when it does. Analyzing such a run
    /// needs an explicit `--force`.
    pub fn unscored_reason(&self) -> Option<String> {
        self.failure().and_then(|f| f.unscored_reason())
    }

    /// Planned evals that never started: in `plannedEvals`, with no eval document.
    pub fn never_started(&self) -> Vec<&str> {
        let have: std::collections::BTreeSet<&str> = self.evals.iter().map(|e| e.path.as_str()).collect();
        let mut missing: Vec<&str> =
            self.planned_evals.iter().map(|p| p.trim_matches('/')).filter(|p| !have.contains(p)).collect();
        missing.sort_unstable();
        missing.dedup();
        missing
    }

    /// The evals that did not run to an end: planned evals that never started plus evals left
    /// `pending` or `running`.
    pub fn not_run(&self) -> usize {
        self.never_started().len()
            + self.evals.iter().filter(|e| matches!(e.status, EvalStatus::Pending | EvalStatus::Running)).count()
    }

    /// The run's usage, summed over its finished evals as the benchmark sums it.
    pub fn usage(&self) -> RunUsage {
        RunUsage::sum(
            self.evals.iter().filter(|e| e.status.is_passed() || e.status.is_failed()).filter_map(|e| e.usage.as_ref()),
        )
    }

    /// The eval source's storage id of an eval, by path: the same id as in an earlier run means
    /// the eval's task, grader and answer have not changed since.
    pub fn eval_source_id(&self, eval_path: &str) -> Option<&StorageId> {
        self.evals.iter().find(|e| e.path.as_str() == eval_path).and_then(|e| e.eval_source_storage_id.as_ref())
    }
}

/// Whether an eval's source changed between an earlier run and this one: a repeat failure after a
/// claimed fix of an eval whose source did not change means the fix has not reached the benchmark
/// yet, not that it failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceChange {
    /// The same eval source id in both runs: nothing about the eval changed.
    Unchanged,
    /// Different ids: the task, grader or answer changed.
    Changed,
    /// One of the runs does not record the id.
    Unknown,
}

impl SourceChange {
    pub fn between(before: Option<&StorageId>, now: Option<&StorageId>) -> Self {
        match (before, now) {
            (Some(a), Some(b)) if a == b => Self::Unchanged,
            (Some(_), Some(_)) => Self::Changed,
            _ => Self::Unknown,
        }
    }

    /// What a repeat failure after a claimed fix means, in one line.
    pub fn claimed_fix_note(self) -> &'static str {
        match self {
            Self::Unchanged => "the fix has not reached the benchmark yet (the eval's source is unchanged)",
            Self::Changed => "the eval's source changed since, and it still fails: the fix did not take",
            Self::Unknown => "whether the fix reached the benchmark is unknown (no eval source id to compare)",
        }
    }
}

/// The status of a run (tagged by `kind` on the wire).
#[derive(Debug, Clone, PartialEq)]
pub enum RunStatus {
    Pending,
    Running,
    Completed {
        duration_ms: Option<f64>,
    },
    Failed {
        failure_reason: String,
        duration_ms: Option<f64>,
    },
    /// A `kind` this version does not know; kept so that parsing never breaks.
    Unknown(String),
}

impl RunStatus {
    /// The `kind` as the source writes it.
    pub fn kind(&self) -> &str {
        match self {
            Self::Pending => "pending",
            Self::Running => "running",
            Self::Completed { .. } => "completed",
            Self::Failed { .. } => "failed",
            Self::Unknown(kind) => kind,
        }
    }

    /// Whether the run is still going (`pending`, `running`): it is not ready for a report.
    pub fn is_unfinished(&self) -> bool {
        matches!(self, Self::Pending | Self::Running)
    }

    /// The run's duration, when it has ended.
    pub fn duration_ms(&self) -> Option<f64> {
        match self {
            Self::Completed { duration_ms } | Self::Failed { duration_ms, .. } => *duration_ms,
            _ => None,
        }
    }
}

/// One eval of a run.
#[derive(Debug, Clone, PartialEq)]
pub struct Eval {
    pub id: EvalId,
    pub path: EvalPath,
    pub category: String,
    pub name: String,
    pub status: EvalStatus,
    /// The task text (TASK.txt), when the source has it.
    pub task: Option<String>,
    /// The zip of the eval's directory (TASK.txt, grader, answer, GAPS.txt).
    pub eval_source_storage_id: Option<StorageId>,
    pub created_at_ms: f64,
    /// Steps in creation order. Today's runner records only the steps that ran (a step that did
    /// not run is absent); February's runs may hold `skipped` steps.
    pub steps: Vec<Step>,
    /// The generation's usage (`status.usage` of a passed or failed eval), when recorded.
    pub usage: Option<Usage>,
}

impl Eval {
    /// The failed step: the first step, in creation order, whose status is `failed`. Absent when
    /// generation itself failed.
    pub fn failed_step(&self) -> Option<&Step> {
        self.steps.iter().find(|s| matches!(s.status, StepStatus::Failed { .. }))
    }

    /// The zip of the model's generated project, when the eval failed and it was kept.
    pub fn output_storage_id(&self) -> Option<&StorageId> {
        match &self.status {
            EvalStatus::Failed { output_storage_id, .. } => output_storage_id.as_ref(),
            _ => None,
        }
    }

    /// The steps that ran, in order: a `skipped` step (February's runs) is left out, as today's
    /// runner leaves it out.
    pub fn steps_that_ran(&self) -> impl Iterator<Item = &Step> {
        self.steps.iter().filter(|s| !matches!(s.status, StepStatus::Skipped))
    }

    /// The failure of this eval, or `None` when it did not fail. Its kind follows the benchmark's
    /// rules: the reason's tags, and the environment rule on the failed step's error
    /// ([`crate::environment`]), whatever the reason says.
    pub fn failure(&self) -> Option<Failure> {
        let EvalStatus::Failed { failure_reason, .. } = &self.status else {
            return None;
        };
        let step = self.failed_step();
        let step_error = step.and_then(|s| match &s.status {
            StepStatus::Failed { failure_reason, .. } => Some(failure_reason.clone()),
            _ => None,
        });
        Some(Failure {
            eval_id: self.id.clone(),
            eval_path: self.path.clone(),
            failed_step: step.map(|s| s.name.clone()),
            kind: FailureKind::of_failure(failure_reason, step.map(|s| &s.name), step_error.as_deref()),
            reason: failure_reason.clone(),
            step_error,
        })
    }
}

/// The status of an eval.
#[derive(Debug, Clone, PartialEq)]
pub enum EvalStatus {
    Pending,
    Running,
    Passed {
        duration_ms: Option<f64>,
    },
    Failed {
        failure_reason: String,
        duration_ms: Option<f64>,
        output_storage_id: Option<StorageId>,
        generation_duration_ms: Option<f64>,
    },
    Unknown(String),
}

impl EvalStatus {
    /// The `kind` as the source writes it.
    pub fn kind(&self) -> &str {
        match self {
            Self::Pending => "pending",
            Self::Running => "running",
            Self::Passed { .. } => "passed",
            Self::Failed { .. } => "failed",
            Self::Unknown(kind) => kind,
        }
    }

    pub fn is_failed(&self) -> bool {
        matches!(self, Self::Failed { .. })
    }

    pub fn is_passed(&self) -> bool {
        matches!(self, Self::Passed { .. })
    }
}

/// One pipeline step of an eval.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    pub id: String,
    pub name: StepName,
    pub status: StepStatus,
    pub created_at_ms: f64,
}

/// The status of a step.
#[derive(Debug, Clone, PartialEq)]
pub enum StepStatus {
    Running,
    Passed { duration_ms: Option<f64> },
    Failed { failure_reason: String, duration_ms: Option<f64> },
    Skipped,
    Unknown(String),
}

impl StepStatus {
    pub fn kind(&self) -> &str {
        match self {
            Self::Running => "running",
            Self::Passed { .. } => "passed",
            Self::Failed { .. } => "failed",
            Self::Skipped => "skipped",
            Self::Unknown(kind) => kind,
        }
    }
}

/// Why an infrastructure failure is one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum InfraCause {
    /// `[infrastructure] ...`
    Infrastructure,
    /// `[rate_limit] ...`
    RateLimit,
    /// The model's API failed while generating (`error: ...`, `AI_APICallError`, no endpoints).
    Generation,
    /// An install, deploy or tsc step failed on the environment (a timeout, a refused connection,
    /// throttling): the benchmark's environment rule, [`crate::environment`].
    Environment,
}

impl InfraCause {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Infrastructure => "infrastructure",
            Self::RateLimit => "rate_limit",
            Self::Generation => "generation",
            Self::Environment => "environment",
        }
    }
}

/// Whether a failure is the model's output failing verification, or the benchmark's machinery.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FailureKind {
    Verification,
    Infrastructure(InfraCause),
}

impl FailureKind {
    /// Classifies an eval's failure reason by the benchmark's own rules: reasons starting with
    /// `[infrastructure]` or `[rate_limit]`, and generation errors, are excluded from scoring.
    pub fn of_reason(reason: &str) -> Self {
        let r = reason.trim_start();
        if r.starts_with("[infrastructure]") {
            Self::Infrastructure(InfraCause::Infrastructure)
        } else if r.starts_with("[rate_limit]") {
            Self::Infrastructure(InfraCause::RateLimit)
        } else if r.starts_with("error:") || r.contains("AI_APICallError") || r.contains("No endpoints found") {
            Self::Infrastructure(InfraCause::Generation)
        } else {
            Self::Verification
        }
    }

    /// Classifies a failure by its reason and, when the reason alone says verification, by the
    /// environment rule on the failed step's error: an install, deploy or tsc step that timed out
    /// or lost its connection is infrastructure though the reason only says `install fail`.
    pub fn of_failure(reason: &str, failed_step: Option<&StepName>, step_error: Option<&str>) -> Self {
        match Self::of_reason(reason) {
            Self::Verification => match (failed_step, step_error) {
                (Some(step), Some(error)) if crate::environment::is_environment_failure(step, error) => {
                    Self::Infrastructure(InfraCause::Environment)
                }
                _ => Self::Verification,
            },
            kind => kind,
        }
    }

    pub fn is_infrastructure(self) -> bool {
        matches!(self, Self::Infrastructure(_))
    }
}

/// A failed eval, reduced to what triage needs.
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    pub eval_id: EvalId,
    pub eval_path: EvalPath,
    /// The failed step, absent when generation itself failed.
    pub failed_step: Option<StepName>,
    pub kind: FailureKind,
    /// The eval's failure reason.
    pub reason: String,
    /// The failed step's own failure text (the full compiler or linter output), when present.
    pub step_error: Option<String>,
}

impl Failure {
    /// The most specific error text: the step's when there is one, else the eval's reason.
    pub fn error_text(&self) -> &str {
        self.step_error.as_deref().unwrap_or(&self.reason)
    }

    /// The failed step's name, or `none`.
    pub fn step_label(&self) -> &str {
        self.failed_step.as_ref().map_or("none", StepName::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_kind(reason: &str, expected: FailureKind) {
        assert_eq!(FailureKind::of_reason(reason), expected, "reason: {reason}");
    }

    #[test]
    fn failure_kinds_follow_the_benchmark_rules() {
        use FailureKind::*;
        check_kind("[infrastructure] deploy server unreachable", Infrastructure(InfraCause::Infrastructure));
        check_kind("[rate_limit] 429 from provider", Infrastructure(InfraCause::RateLimit));
        check_kind("error: model returned nothing", Infrastructure(InfraCause::Generation));
        check_kind("AI_APICallError: Bad Gateway", Infrastructure(InfraCause::Generation));
        check_kind("No endpoints found for x/y", Infrastructure(InfraCause::Generation));
        check_kind("Failed to typecheck code", Verification);
        check_kind("tests failed (40%)", Verification);
    }

    #[test]
    fn environment_failures_are_infrastructure_whatever_the_reason_says() {
        use FailureKind::*;
        let env = Infrastructure(InfraCause::Environment);
        let of = |reason: &str, step: StepName, error: &str| FailureKind::of_failure(reason, Some(&step), Some(error));
        assert_eq!(of("install fail", StepName::Install, "Error: bun install timed out after 120s"), env);
        assert_eq!(of("convex dev fail", StepName::Deploy, "Error: Failed to deploy:\nconnect ECONNREFUSED"), env);
        assert_eq!(of("convex dev fail", StepName::Deploy, "Error: convex dev timed out"), env);
        assert_eq!(of("tsc fail", StepName::Tsc, "npm error status code 429"), env);
        // The model's own errors, and steps the rule does not judge.
        assert_eq!(
            of("tsc fail", StepName::Tsc, "007-components/001-rate_limit/convex/a.ts(1,1): error TS2304: x"),
            Verification
        );
        assert_eq!(of("tests fail (50%)", StepName::Tests, "test child timed out after 5s"), Verification);
        assert_eq!(of("eslint fail", StepName::Eslint, "ECONNREFUSED"), Verification);
        // A tagged reason keeps its own cause.
        assert_eq!(
            of("[rate_limit] error: 429", StepName::Install, "timed out after 1s"),
            Infrastructure(InfraCause::RateLimit)
        );
        assert_eq!(FailureKind::of_failure("tsc fail", None, None), Verification);
    }
}
