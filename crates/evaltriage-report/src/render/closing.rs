//! The end of the report: **Actions taken** and the machine-readable block.

use evaltriage_core::FailureSignature;

use super::analysis::Analysis;
use crate::read::machine_block::{self, OwnBlock};
use crate::render::escape::hand_written;

impl Analysis<'_> {
    pub(super) fn actions_taken(&self, out: &mut String) {
        w!(out, "## Actions taken");
        w!(out);
        match self.input.actions_taken.map(str::trim).filter(|t| !t.is_empty()) {
            Some(text) => w!(out, "{}", hand_written(text).trim_end()),
            None => w!(out, "None"),
        }
        w!(out);
    }

    pub(super) fn machine_block(&self, out: &mut String) {
        let block = OwnBlock {
            run_id: self.run.id.as_str().to_owned(),
            model: self.run.model.clone(),
            provider: self.run.provider.clone(),
            experiment: self.run.experiment.clone(),
            date: self.input.date,
            ran_at: crate::read::prior::run_time_of(self.run),
            scope: self.input.scope.cloned(),
            passed: u32::try_from(self.shape.passed).unwrap_or(u32::MAX),
            total: u32::try_from(self.shape.total).unwrap_or(u32::MAX),
            passed_evals: Some(
                self.run
                    .evals
                    .iter()
                    .filter(|e| e.status.is_passed() && self.input.scope.is_none_or(|s| s.covers(&e.path)))
                    .map(|e| e.path.as_str().to_owned())
                    .collect(),
            ),
            verdicts: self
                .verdicts
                .iter()
                .map(|v| ((*v).clone(), self.input.history.for_eval(&v.eval_path).is_repeat()))
                .collect(),
            humans: std::collections::BTreeMap::new(),
            signatures: self
                .shape
                .failures
                .iter()
                .filter(|f| !f.kind.is_infrastructure())
                .map(|f| (f.eval_path.as_str().to_owned(), FailureSignature::of(self.run, f).key()))
                .collect(),
            llm_cost: self.input.llm_cost.cloned(),
        };
        w!(out, "{}", machine_block::encode(&block));
    }
}
