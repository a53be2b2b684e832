//! Known gaps recorded in reports: since the benchmark removed its `GAPS.txt` files (2026-02-27),
//! a KNOWN_GAP given to an eval in any model's report is what says the eval has a known gap, and
//! it applies to every model ("affects all models").
//!
//! The report crate finds them; the fan-out shows them as evidence and the rules classify by them.
//! This is the plain data the two exchange.

use std::collections::BTreeMap;

use crate::model::StepName;

/// One report's KNOWN_GAP for an eval.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct KnownGapRecord {
    /// The model the report is about (`anthropic/claude-opus-4.6`).
    pub model: String,
    /// The report, as a path relative to the reports folder (`anthropic/claude-opus-4-6/x.md`).
    pub report: String,
    /// The step the report says failed, when it says (`tsc`, `tests`).
    pub failed_step: Option<String>,
    /// The label as written (`KNOWN_GAP`, `KNOWN_GAP (repeat)`).
    pub label: String,
}

impl KnownGapRecord {
    /// `recorded as a known gap for <model> in <report>` (and the step, when known).
    pub fn describe(&self) -> String {
        let step = self.failed_step.as_deref().map(|s| format!(" (failed step: {s})")).unwrap_or_default();
        format!("recorded as a known gap for {} in {}{step}", self.model, self.report)
    }

    /// Whether the record is about a failure at `step`: `Some(true)` when it names that step,
    /// `Some(false)` when it names another, `None` when it names none.
    pub fn at_step(&self, step: Option<&StepName>) -> Option<bool> {
        let recorded = self.failed_step.as_deref()?;
        let step = step.map_or("none", StepName::as_str);
        Some(recorded.trim().eq_ignore_ascii_case(step))
    }
}

/// Known gaps by eval path.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KnownGaps {
    by_eval: BTreeMap<String, Vec<KnownGapRecord>>,
}

impl KnownGaps {
    /// Adds a record for an eval (a record already there is not added twice).
    pub fn add(&mut self, eval_path: &str, record: KnownGapRecord) {
        let records = self.by_eval.entry(eval_path.trim_matches('/').to_owned()).or_default();
        if !records.contains(&record) {
            records.push(record);
            records.sort();
        }
    }

    /// The records for an eval, in a stable order: those under its path, else those under its
    /// bare name (a hand-written report that gave no category).
    pub fn for_eval(&self, eval_path: &str) -> &[KnownGapRecord] {
        let path = eval_path.trim_matches('/');
        let name = path.rsplit('/').next().unwrap_or(path);
        self.by_eval.get(path).or_else(|| self.by_eval.get(name)).map_or(&[], Vec::as_slice)
    }

    pub fn is_empty(&self) -> bool {
        self.by_eval.is_empty()
    }

    /// Evals with at least one record.
    pub fn len(&self) -> usize {
        self.by_eval.len()
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &[KnownGapRecord])> {
        self.by_eval.iter().map(|(k, v)| (k.as_str(), v.as_slice()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_say_where_and_at_which_step() {
        let record = KnownGapRecord {
            model: "openai/gpt-5".into(),
            report: "openai/gpt-5/jn7ak4x9_2026-08-01.md".into(),
            failed_step: Some("tests".into()),
            label: "KNOWN_GAP".into(),
        };
        assert_eq!(
            record.describe(),
            "recorded as a known gap for openai/gpt-5 in openai/gpt-5/jn7ak4x9_2026-08-01.md (failed step: tests)"
        );
        assert_eq!(record.at_step(Some(&StepName::Tests)), Some(true));
        assert_eq!(record.at_step(Some(&StepName::Tsc)), Some(false));
        let mut gaps = KnownGaps::default();
        gaps.add("002-queries/015-pagination", record.clone());
        gaps.add("/002-queries/015-pagination/", record);
        assert_eq!(gaps.for_eval("002-queries/015-pagination").len(), 1);
        assert!(gaps.for_eval("002-queries/016-x").is_empty());
        gaps.add(
            "016-x",
            KnownGapRecord { failed_step: None, ..gaps.for_eval("002-queries/015-pagination")[0].clone() },
        );
        assert_eq!(gaps.for_eval("002-queries/016-x").len(), 1, "a bare name in a report matches the path");
    }
}
