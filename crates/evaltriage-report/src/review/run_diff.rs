//! `diff <run A> <run B>`: per eval, what changed between two runs — fixed, new failure, still
//! failing (with the old and new label, and the failing step when it changed) — from each run's
//! report, or from the run's own data when it has no report (then failures have no label).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};

use crate::read::catalog::CatalogReport;
use crate::review::trend::counted_label;

/// One side of a diff: a run's failures, and the evals it ran when that is known.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RunSide {
    /// How the run is shown (`jn72t14a (2026-02-06, anthropic/claude-opus-4.6)`).
    pub name: String,
    /// Failed eval -> (failing step, label).
    pub failures: BTreeMap<String, (Option<String>, Option<String>)>,
    /// Every eval of the run (run data); `None` from a report, where an eval not named passed.
    pub evals: Option<BTreeSet<String>>,
}

impl RunSide {
    /// A run as its report tells it (a reviewer's label where there is one).
    pub fn of_report(r: &CatalogReport) -> Self {
        let failures = r
            .report
            .entries
            .iter()
            .map(|e| {
                let step = r
                    .report
                    .verdicts
                    .iter()
                    .find(|v| v.eval_path.as_str() == e.eval)
                    .and_then(|v| v.failed_step.as_ref().map(|s| s.as_str().to_owned()));
                (e.eval.clone(), (step, Some(counted_label(e))))
            })
            .collect();
        let name = format!("{} ({}, {})", r.report.run_id_prefix, r.report.date.format("%Y-%m-%d"), r.model);
        Self { name, failures, evals: None }
    }
}

/// What happened to one eval.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EvalDiff {
    /// Failed in A, passed in B.
    Fixed { eval: String, label: Option<String> },
    /// Passed (or was not failing) in A, failed in B.
    NewFailure { eval: String, step: Option<String>, label: Option<String> },
    /// Failed in both.
    StillFailing {
        eval: String,
        old_label: Option<String>,
        new_label: Option<String>,
        old_step: Option<String>,
        new_step: Option<String>,
    },
    /// Failed in one run and was not run in the other (known from run data only).
    NotRun { eval: String, in_a: bool },
}

impl EvalDiff {
    pub fn eval(&self) -> &str {
        match self {
            Self::Fixed { eval, .. }
            | Self::NewFailure { eval, .. }
            | Self::StillFailing { eval, .. }
            | Self::NotRun { eval, .. } => eval,
        }
    }
}

/// Compares two runs, A the older.
pub fn run_diff(a: &RunSide, b: &RunSide) -> Vec<EvalDiff> {
    let all: BTreeSet<&String> = a.failures.keys().chain(b.failures.keys()).collect();
    let ran = |side: &RunSide, eval: &str| side.evals.as_ref().is_none_or(|e| e.contains(eval));
    let mut out = Vec::new();
    for eval in all {
        let e = eval.clone();
        out.push(match (a.failures.get(eval), b.failures.get(eval)) {
            (Some((old_step, old_label)), Some((new_step, new_label))) => EvalDiff::StillFailing {
                eval: e,
                old_label: old_label.clone(),
                new_label: new_label.clone(),
                old_step: old_step.clone(),
                new_step: new_step.clone(),
            },
            (Some(_), None) if !ran(b, eval) => EvalDiff::NotRun { eval: e, in_a: false },
            (Some((_, label)), None) => EvalDiff::Fixed { eval: e, label: label.clone() },
            (None, Some(_)) if !ran(a, eval) => EvalDiff::NotRun { eval: e, in_a: true },
            (None, Some((step, label))) => EvalDiff::NewFailure { eval: e, step: step.clone(), label: label.clone() },
            (None, None) => continue,
        });
    }
    out
}

fn or_none(s: Option<&String>) -> &str {
    s.map_or("—", String::as_str)
}

/// The diff as text.
pub fn diff_text(a: &RunSide, b: &RunSide, diff: &[EvalDiff]) -> String {
    let mut out = format!("A: {}\nB: {}\n", a.name, b.name);
    let section = |title: &str, lines: Vec<String>, out: &mut String| {
        out.push_str(&format!("\n{title} ({}):\n", lines.len()));
        if lines.is_empty() {
            out.push_str("  none\n");
        }
        for l in lines {
            out.push_str(&format!("  {l}\n"));
        }
    };
    let fixed = diff
        .iter()
        .filter_map(|d| match d {
            EvalDiff::Fixed { eval, label } => Some(format!("{eval} (was {})", or_none(label.as_ref()))),
            _ => None,
        })
        .collect();
    let new = diff
        .iter()
        .filter_map(|d| match d {
            EvalDiff::NewFailure { eval, step, label } => {
                Some(format!("{eval} — {} at {}", or_none(label.as_ref()), step.as_deref().unwrap_or("none")))
            }
            _ => None,
        })
        .collect();
    let still = diff
        .iter()
        .filter_map(|d| match d {
            EvalDiff::StillFailing { eval, old_label, new_label, old_step, new_step } => {
                let mut line = if old_label == new_label {
                    format!("{eval} — {}", or_none(new_label.as_ref()))
                } else {
                    format!("{eval} — {} → {}", or_none(old_label.as_ref()), or_none(new_label.as_ref()))
                };
                if old_step != new_step && old_step.is_some() && new_step.is_some() {
                    line.push_str(&format!(
                        " (failing step {} → {})",
                        old_step.as_deref().unwrap_or("none"),
                        new_step.as_deref().unwrap_or("none")
                    ));
                }
                Some(line)
            }
            _ => None,
        })
        .collect();
    let not_run = diff
        .iter()
        .filter_map(|d| match d {
            EvalDiff::NotRun { eval, in_a } => Some(format!("{eval} (not run in {})", if *in_a { "A" } else { "B" })),
            _ => None,
        })
        .collect::<Vec<_>>();
    section("Fixed", fixed, &mut out);
    section("New failures", new, &mut out);
    section("Still failing", still, &mut out);
    if !not_run.is_empty() {
        section("Failing in one run, not run in the other", not_run, &mut out);
    }
    out
}

/// The diff as JSON.
pub fn diff_json(a: &RunSide, b: &RunSide, diff: &[EvalDiff]) -> Value {
    let evals: Vec<Value> = diff
        .iter()
        .map(|d| match d {
            EvalDiff::Fixed { eval, label } => json!({"eval": eval, "change": "fixed", "old_label": label}),
            EvalDiff::NewFailure { eval, step, label } => {
                json!({"eval": eval, "change": "new_failure", "new_label": label, "new_step": step})
            }
            EvalDiff::StillFailing { eval, old_label, new_label, old_step, new_step } => json!({
                "eval": eval,
                "change": "still_failing",
                "old_label": old_label,
                "new_label": new_label,
                "label_changed": old_label != new_label,
                "old_step": old_step,
                "new_step": new_step,
                "step_changed": old_step != new_step,
            }),
            EvalDiff::NotRun { eval, in_a } => {
                json!({"eval": eval, "change": "not_run", "not_run_in": if *in_a { "a" } else { "b" }})
            }
        })
        .collect();
    json!({ "a": a.name, "b": b.name, "evals": evals })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn side(failures: &[(&str, &str, &str)], evals: Option<&[&str]>) -> RunSide {
        RunSide {
            name: "x".into(),
            failures: failures
                .iter()
                .map(|(e, s, l)| ((*e).to_owned(), (Some((*s).to_owned()), Some((*l).to_owned()))))
                .collect(),
            evals: evals.map(|e| e.iter().map(|s| (*s).to_owned()).collect()),
        }
    }

    #[test]
    fn fixed_new_still_failing_and_not_run() {
        let a =
            side(&[("c/fixed", "tsc", "MODEL_FAULT"), ("c/still", "tsc", "MODEL_FAULT"), ("c/gone", "tsc", "X")], None);
        let b = side(
            &[("c/still", "tests", "KNOWN_GAP"), ("c/new", "eslint", "OVERLY_STRICT")],
            Some(&["c/fixed", "c/still", "c/new"]),
        );
        let d = run_diff(&a, &b);
        assert_eq!(d.iter().map(EvalDiff::eval).collect::<Vec<_>>(), ["c/fixed", "c/gone", "c/new", "c/still"]);
        assert!(matches!(&d[0], EvalDiff::Fixed { .. }));
        assert!(matches!(&d[1], EvalDiff::NotRun { in_a: false, .. }));
        assert!(matches!(&d[2], EvalDiff::NewFailure { .. }));
        let text = diff_text(&a, &b, &d);
        assert!(text.contains("c/still — MODEL_FAULT → KNOWN_GAP (failing step tsc → tests)"), "{text}");
        assert!(text.contains("Fixed (1):\n  c/fixed (was MODEL_FAULT)"), "{text}");
        let json = diff_json(&a, &b, &d);
        assert_eq!(json["evals"][3]["label_changed"], true);
        assert_eq!(json["evals"][2]["change"], "new_failure");
    }
}
