//! The domain model of a benchmark run: runs, evals, steps, their statuses, and failures.
//!
//! These are plain data, built by a source from its own wire format. Nothing here does I/O.

use std::fmt;

use crate::ids::{EvalId, EvalPath, RunId, StorageId};

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

impl Run {
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
    /// Steps in creation order.
    pub steps: Vec<Step>,
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

    /// The failure of this eval, or `None` when it did not fail.
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
            kind: FailureKind::of_reason(failure_reason),
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

/// The benchmark's pipeline steps; unknown names are kept as written.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum StepName {
    Filesystem,
    Install,
    Deploy,
    Tsc,
    Eslint,
    Tests,
    Other(String),
}

impl StepName {
    pub fn parse(s: &str) -> Self {
        match s {
            "filesystem" => Self::Filesystem,
            "install" => Self::Install,
            "deploy" => Self::Deploy,
            "tsc" => Self::Tsc,
            "eslint" => Self::Eslint,
            "tests" => Self::Tests,
            other => Self::Other(other.to_owned()),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            Self::Filesystem => "filesystem",
            Self::Install => "install",
            Self::Deploy => "deploy",
            Self::Tsc => "tsc",
            Self::Eslint => "eslint",
            Self::Tests => "tests",
            Self::Other(s) => s,
        }
    }
}

impl fmt::Display for StepName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
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

/// Whether a line is a step's generic first line, such as `Error: Failed to typecheck code:`,
/// which names the step and says nothing about the error itself.
pub fn is_step_header(line: &str) -> bool {
    let line = line.trim();
    line.starts_with("Error: Failed to") && line.ends_with(':')
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
}

impl InfraCause {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Infrastructure => "infrastructure",
            Self::RateLimit => "rate_limit",
            Self::Generation => "generation",
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
}
