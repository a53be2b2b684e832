//! `diff <run A> <run B>`: per eval, what changed between two runs — fixed, new failure, still
//! failing (with the old and new label, and the failing step when it changed), and failing in one
//! run while missing from the other — from each run's report, or from the run's own data when it
//! has no report (then failures have no label). The older run is A, whatever order they were
//! given in ([`oldest_first`]); two runs of different models or experiments are said to differ
//! before anything else.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use evaltriage_core::{Run, Shape};
use serde_json::{Value, json};

use crate::read::catalog::CatalogReport;
use crate::read::find::normalise;
use crate::read::prior::run_time_of;
use crate::review::trend::counted_label;

/// One side of a diff: a run's failures, and the evals it had when that is known.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RunSide {
    /// How the run is shown (`jn72t14a (2026-02-06, anthropic/claude-opus-4.6)`).
    pub name: String,
    /// The run's model, when known.
    pub model: Option<String>,
    /// The run's experiment, when known.
    pub experiment: Option<String>,
    /// When the run ran, when known (a report that does not record it gives its date).
    pub ran_at: Option<DateTime<Utc>>,
    /// Failed eval -> (failing step, label).
    pub failures: BTreeMap<String, (Option<String>, Option<String>)>,
    /// Every eval of the run that finished (run data, or a report that lists its passed evals);
    /// `None` when not known (a report that lists only failures: an eval it does not name is
    /// taken to have passed, unless the runs differ in model or experiment).
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
        let name = format!("{} ({}, {})", r.report.run_id_prefix, r.report.run_date().format("%Y-%m-%d"), r.model);
        let evals = r
            .report
            .passed_evals
            .as_ref()
            .map(|passed| passed.iter().cloned().chain(r.report.entries.iter().map(|e| e.eval.clone())).collect());
        Self {
            name,
            model: Some(r.model.clone()),
            experiment: r.report.experiment.clone(),
            ran_at: Some(r.report.run_time()),
            failures,
            evals,
        }
    }

    /// A run as its own data tells it (no report: failures have no label).
    pub fn of_run(run: &Run) -> Self {
        let shape = Shape::of(run);
        let failures = shape
            .failures
            .iter()
            .map(|f| (f.eval_path.as_str().to_owned(), (f.failed_step.as_ref().map(|s| s.as_str().to_owned()), None)))
            .collect();
        let evals = run
            .evals
            .iter()
            .filter(|e| e.status.is_passed() || shape.failures.iter().any(|f| f.eval_path == e.path))
            .map(|e| e.path.as_str().to_owned())
            .collect();
        let ran_at = run_time_of(run);
        let date = ran_at.map(|t| format!("{}, ", t.format("%Y-%m-%d"))).unwrap_or_default();
        Self {
            name: format!("{} ({date}{}, run data, no report)", run.id.prefix(), run.model),
            model: Some(run.model.clone()),
            experiment: Some(run.experiment.clone()),
            ran_at,
            failures,
            evals: Some(evals),
        }
    }
}

/// The two sides with the run that ran first as A (the order given when either time is unknown),
/// and whether they were swapped.
pub fn oldest_first(a: RunSide, b: RunSide) -> (RunSide, RunSide, bool) {
    match (a.ran_at, b.ran_at) {
        (Some(ta), Some(tb)) if tb < ta => (b, a, true),
        _ => (a, b, false),
    }
}

/// What makes the two runs different things to compare: their models, their experiments. Empty
/// when both are the same (or not known).
pub fn differences(a: &RunSide, b: &RunSide) -> Vec<String> {
    let mut out = Vec::new();
    if let (Some(ma), Some(mb)) = (&a.model, &b.model)
        && normalise(ma) != normalise(mb)
    {
        out.push(format!("different models: A is {ma}, B is {mb}"));
    }
    let experiment = |s: &RunSide| s.experiment.clone().unwrap_or_else(|| crate::DEFAULT_EXPERIMENT.to_owned());
    if (a.experiment.is_some() || b.experiment.is_some()) && !experiment(a).eq_ignore_ascii_case(&experiment(b)) {
        out.push(format!("different experiments: A is {}, B is {}", experiment(a), experiment(b)));
    }
    out
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
    /// Failed in one run and missing from the other (`in_a`: missing from A): the other run did
    /// not have it or did not finish it, or — when the runs differ and the other's evals are not
    /// listed — is not known to have had it. Neither fixed nor new.
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

/// Compares two runs, A the older. An eval failing in one run is fixed or new only when the other
/// run had it: known from its eval list, or assumed for a side without one when both runs are of
/// the same model and experiment.
pub fn run_diff(a: &RunSide, b: &RunSide) -> Vec<EvalDiff> {
    let all: BTreeSet<&String> = a.failures.keys().chain(b.failures.keys()).collect();
    let same = differences(a, b).is_empty();
    let ran = |side: &RunSide, eval: &str| side.evals.as_ref().map_or(same, |e| e.contains(eval));
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

/// The diff as text: first what makes the runs different things to compare, if anything.
pub fn diff_text(a: &RunSide, b: &RunSide, diff: &[EvalDiff]) -> String {
    let mut out = String::new();
    let differs = differences(a, b);
    if !differs.is_empty() {
        out.push_str(&format!(
            "warning: these runs are not two runs of one model in one experiment ({}); evals one of them does not have are listed apart, never as fixed\n\n",
            differs.join("; ")
        ));
    }
    out.push_str(&format!("A: {}\nB: {}\n", a.name, b.name));
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
            EvalDiff::NotRun { eval, in_a } => Some(format!(
                "{eval} (failing in {}, missing from {})",
                if *in_a { "B" } else { "A" },
                if *in_a { "A" } else { "B" }
            )),
            _ => None,
        })
        .collect::<Vec<_>>();
    section("Fixed", fixed, &mut out);
    section("New failures", new, &mut out);
    section("Still failing", still, &mut out);
    if !not_run.is_empty() {
        section("Failing in one run, missing from the other (neither fixed nor new)", not_run, &mut out);
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
    json!({
        "a": a.name,
        "b": b.name,
        "a_model": a.model,
        "b_model": b.model,
        "a_experiment": a.experiment,
        "b_experiment": b.experiment,
        "differences": differences(a, b),
        "evals": evals,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn side(failures: &[(&str, &str, &str)], evals: Option<&[&str]>) -> RunSide {
        RunSide {
            name: "x".into(),
            model: Some("p/m".into()),
            experiment: None,
            ran_at: None,
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

    #[test]
    fn runs_of_different_models_or_experiments_are_said_to_differ_and_missing_evals_are_never_fixed() {
        let mut a = side(&[("c/only-in-a", "tsc", "MODEL_FAULT"), ("c/both", "tsc", "MODEL_FAULT")], None);
        let mut b = side(&[("c/both", "tsc", "MODEL_FAULT")], None);
        a.experiment = Some("no_guidelines".into());
        b.model = Some("q/other".into());
        let d = run_diff(&a, &b);
        assert!(matches!(&d[1], EvalDiff::NotRun { in_a: false, .. }), "{d:?}");
        assert!(!d.iter().any(|e| matches!(e, EvalDiff::Fixed { .. })), "{d:?}");
        let text = diff_text(&a, &b, &d);
        assert!(
            text.starts_with("warning: these runs are not two runs of one model in one experiment (different models: A is p/m, B is q/other; different experiments: A is no_guidelines, B is default)"),
            "{text}"
        );
        assert!(text.contains("Fixed (0):") && text.contains("c/only-in-a (failing in A, missing from B)"), "{text}");
        assert_eq!(diff_json(&a, &b, &d)["differences"].as_array().map(Vec::len), Some(2));
        // An eval list says what a run had, whatever the models.
        b.evals = Some(["c/both".to_owned(), "c/only-in-a".to_owned()].into());
        assert!(matches!(&run_diff(&a, &b)[1], EvalDiff::Fixed { .. }));
        // The same model and experiment, no eval list: an eval not named passed.
        let same = side(&[], None);
        assert!(differences(&same, &same.clone()).is_empty());
        assert!(matches!(&run_diff(&side(&[("c/x", "tsc", "MODEL_FAULT")], None), &same)[0], EvalDiff::Fixed { .. }));
    }

    #[test]
    fn the_run_that_ran_first_is_a() {
        let mut older = side(&[], None);
        older.name = "older".into();
        older.ran_at = DateTime::from_timestamp(1_000, 0);
        let mut newer = older.clone();
        newer.name = "newer".into();
        newer.ran_at = DateTime::from_timestamp(2_000, 0);
        let (a, b, swapped) = oldest_first(newer.clone(), older.clone());
        assert_eq!((a.name.as_str(), b.name.as_str(), swapped), ("older", "newer", true));
        let (a, _, swapped) = oldest_first(older, newer);
        assert_eq!((a.name.as_str(), swapped), ("older", false));
    }
}
