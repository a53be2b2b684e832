//! The tables of failures: **Failure summary by step**, **Infrastructure failures** and the
//! **Classification table**.

use std::collections::BTreeMap;

use evaltriage_core::shape::NO_STEP;
use evaltriage_core::{EvalPath, FailureKind, InfraCause, Shape};

use super::analysis::Analysis;
use super::format::plural;
use crate::render::escape::{cell, code, one_line, truncate_chars};

impl Analysis<'_> {
    pub(super) fn failure_summary(&self, out: &mut String) {
        w!(out, "## Failure summary by step");
        w!(out);
        if self.shape.failed == 0 {
            w!(out, "No eval failed.");
            w!(out);
            return;
        }
        let mut infra_by_step: BTreeMap<&str, usize> = BTreeMap::new();
        for f in &self.infra {
            *infra_by_step.entry(f.step_label()).or_default() += 1;
        }
        let mut steps: Vec<(&String, &usize)> = self.shape.failed_by_step.iter().collect();
        steps.sort_by_key(|(step, _)| (step_order(step), step.as_str()));
        w!(out, "| Failed step | Failures | Of which infrastructure |");
        w!(out, "| --- | ---: | ---: |");
        for (step, count) in steps {
            let shown = if step == NO_STEP { format!("{NO_STEP} ({})", self.no_step_causes()) } else { cell(step) };
            w!(out, "| {shown} | {count} | {} |", infra_by_step.get(step.as_str()).copied().unwrap_or(0));
        }
        w!(out, "| **Total** | **{}** | **{}** |", self.shape.failed, self.shape.infrastructure);
        w!(out);
    }

    /// What the failures without a step come from, with counts: `generation 1, rate limit 1`.
    fn no_step_causes(&self) -> String {
        let mut causes: BTreeMap<&str, usize> = BTreeMap::new();
        for f in self.shape.failures.iter().filter(|f| f.failed_step.is_none()) {
            let cause = match f.kind {
                FailureKind::Infrastructure(InfraCause::Generation) => "generation",
                FailureKind::Infrastructure(InfraCause::RateLimit) => "rate limit",
                FailureKind::Infrastructure(InfraCause::Infrastructure) => "infrastructure",
                FailureKind::Infrastructure(InfraCause::Environment) => "environment",
                FailureKind::Verification => "no step recorded",
            };
            *causes.entry(cause).or_default() += 1;
        }
        causes.iter().map(|(cause, n)| format!("{cause} {n}")).collect::<Vec<_>>().join(", ")
    }

    pub(super) fn infrastructure(&self, out: &mut String) {
        if self.infra.is_empty() {
            return;
        }
        w!(out, "## Infrastructure failures");
        w!(out);
        w!(
            out,
            "Fix the environment before blaming the model: {} failure{} ({}) came from the benchmark's machinery. \
             The benchmark excludes them from scoring, and they were classified by rules, never sent to an LLM.",
            self.infra.len(),
            plural(self.infra.len()),
            infra_causes(self.shape)
        );
        w!(out);
        // One row per distinct (cause, reason), so a run where everything failed the same way
        // stays one readable row, with every eval still listed.
        let mut groups: BTreeMap<(&str, String), Vec<&EvalPath>> = BTreeMap::new();
        for f in &self.infra {
            let cause = match f.kind {
                FailureKind::Infrastructure(c) => c.as_str(),
                FailureKind::Verification => "verification",
            };
            let reason = truncate_chars(&one_line(f.error_text()), 240);
            groups.entry((cause, reason)).or_default().push(&f.eval_path);
        }
        w!(out, "| Cause | Error | Evals |");
        w!(out, "| --- | --- | --- |");
        for ((cause, reason), evals) in &groups {
            let list: Vec<String> = evals.iter().map(|p| code(p.as_str())).collect();
            let evals_cell =
                if evals.len() > 1 { format!("{}: {}", evals.len(), list.join(", ")) } else { list.join("") };
            w!(out, "| {cause} | {} | {} |", cell(reason), evals_cell.replace('|', "\\|"));
        }
        w!(out);
    }

    pub(super) fn classification_table(&self, out: &mut String) {
        w!(out, "## Classification table");
        w!(out);
        if !self.not_analysed.is_empty() {
            let list: Vec<String> = self.not_analysed.iter().map(|f| code(f.eval_path.as_str())).collect();
            w!(
                out,
                "Not analyzed in this report: {} other verification failure{} of the run ({}).",
                list.len(),
                plural(list.len()),
                list.join(", ")
            );
            w!(out);
        }
        if self.rows.is_empty() {
            if self.not_analysed.is_empty() {
                if self.infra.is_empty() {
                    w!(out, "No failures to classify.");
                } else {
                    w!(out, "No verification failures to classify: every failure is infrastructure.");
                }
                w!(out);
            }
            return;
        }
        w!(out, "| # | Eval | Failed step | Classification | One-line reasoning |");
        w!(out, "| ---: | --- | --- | --- | --- |");
        for r in &self.rows {
            w!(
                out,
                "| {} | {} | {} | {} | {} |",
                r.number,
                code(r.path.as_str()).replace('|', "\\|"),
                cell(&r.step),
                cell(&r.label_with_repeat()),
                cell(&r.one_line_reasoning())
            );
        }
        w!(out);
    }
}

pub(super) fn infra_causes(shape: &Shape) -> String {
    shape.infrastructure_by_cause.iter().map(|(cause, n)| format!("{cause}: {n}")).collect::<Vec<_>>().join(", ")
}

fn step_order(step: &str) -> usize {
    ["filesystem", "install", "deploy", "tsc", "eslint", "tests"]
        .iter()
        .position(|s| *s == step)
        .unwrap_or(if step == "none" { 7 } else { 6 })
}
