//! The analysis the sections are rendered from: verification failures paired with their verdicts
//! and histories, infrastructure failures and unanalysed failures, all in eval-path order.

use std::collections::{BTreeMap, BTreeSet};

use evaltriage_core::{Classification, EvalPath, Failure, Run, Shape, Verdict, VerdictOrigin, VerdictStatus};

use super::ReportInput;
use super::format::first_sentence;
use crate::history::EvalHistory;
use crate::read::prior_report::UNCLASSIFIED;

/// A verification failure with its verdict.
pub(super) struct Row<'a> {
    pub(super) number: usize,
    pub(super) path: &'a EvalPath,
    pub(super) step: String,
    pub(super) verdict: &'a Verdict,
    pub(super) failure: Option<&'a Failure>,
    pub(super) history: &'a EvalHistory,
}

impl Row<'_> {
    pub(super) fn classification(&self) -> Option<Classification> {
        if self.verdict.status == VerdictStatus::Done { self.verdict.classification } else { None }
    }

    /// `MODEL_FAULT`, or `UNCLASSIFIED (analysis error)` and the like.
    pub(super) fn label(&self) -> String {
        match (self.classification(), self.verdict.status) {
            (Some(c), _) => c.as_str().to_owned(),
            (None, VerdictStatus::Error) if !self.verdict.missing_evidence.is_empty() => {
                format!("{UNCLASSIFIED} (evidence missing)")
            }
            (None, VerdictStatus::Error) => format!("{UNCLASSIFIED} (analysis error)"),
            (None, VerdictStatus::Skipped) => format!("{UNCLASSIFIED} (skipped)"),
            (None, VerdictStatus::Done) => format!("{UNCLASSIFIED} (no label)"),
        }
    }

    /// The rules' default guess: unverified, never a genuine model fault.
    pub(super) fn is_unverified_guess(&self) -> bool {
        self.classification().is_some() && self.verdict.is_unverified_guess()
    }

    pub(super) fn label_with_repeat(&self) -> String {
        if self.history.is_repeat() { format!("{} (repeat)", self.label()) } else { self.label() }
    }

    pub(super) fn reasoning(&self) -> &str {
        &self.verdict.reasoning
    }

    pub(super) fn one_line_reasoning(&self) -> String {
        first_sentence(self.reasoning())
    }

    pub(super) fn error(&self) -> &str {
        if self.verdict.error.trim().is_empty() {
            self.failure.map_or("", Failure::error_text)
        } else {
            &self.verdict.error
        }
    }
}

pub(super) struct Analysis<'a> {
    pub(super) input: &'a ReportInput<'a>,
    pub(super) run: &'a Run,
    pub(super) shape: &'a Shape,
    /// Verdicts for verification failures, by eval path.
    pub(super) rows: Vec<Row<'a>>,
    /// Infrastructure failures, by eval path.
    pub(super) infra: Vec<&'a Failure>,
    /// Verification failures with no verdict (outside an eval-level analysis), by eval path.
    pub(super) not_analysed: Vec<&'a Failure>,
    /// Every verdict, by eval path.
    pub(super) verdicts: Vec<&'a Verdict>,
}

impl<'a> Analysis<'a> {
    pub(super) fn new(input: &'a ReportInput<'a>) -> Self {
        let shape = input.shape;
        let mut verdicts: Vec<&Verdict> = input.verdicts.iter().collect();
        verdicts.sort_by(|a, b| a.eval_path.cmp(&b.eval_path));
        let infra: Vec<&Failure> = shape.failures.iter().filter(|f| f.kind.is_infrastructure()).collect();
        let infra_paths: BTreeSet<&EvalPath> = infra.iter().map(|f| &f.eval_path).collect();
        let failures: BTreeMap<&EvalPath, &Failure> =
            shape.failures.iter().filter(|f| !f.kind.is_infrastructure()).map(|f| (&f.eval_path, f)).collect();
        let analyzed: Vec<&Verdict> = verdicts
            .iter()
            .copied()
            .filter(|v| !matches!(v.origin, VerdictOrigin::Infrastructure(_)) && !infra_paths.contains(&v.eval_path))
            .collect();
        let analysed_paths: BTreeSet<&EvalPath> = analyzed.iter().map(|v| &v.eval_path).collect();
        let not_analysed = failures.values().copied().filter(|f| !analysed_paths.contains(&f.eval_path)).collect();
        let rows = analyzed
            .into_iter()
            .enumerate()
            .map(|(i, verdict)| {
                let failure = failures.get(&verdict.eval_path).copied();
                Row {
                    number: i + 1,
                    path: &verdict.eval_path,
                    step: verdict
                        .failed_step
                        .as_ref()
                        .or_else(|| failure.and_then(|f| f.failed_step.as_ref()))
                        .map_or_else(|| "none".to_owned(), |s| s.as_str().to_owned()),
                    verdict,
                    failure,
                    history: input.history.for_eval(&verdict.eval_path),
                }
            })
            .collect();
        Self { input, run: input.run, shape, rows, infra, not_analysed, verdicts }
    }
}
