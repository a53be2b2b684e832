//! Trends across reports (`reports trend`, the site): per model, pass rate and label counts run by
//! run; an eval × run grid of outcomes; **persistent** failures (failing in at least k of the
//! model's last n runs), **flaky** evals (passing and failing in turn), and evals failing for
//! **every** model (a sign the eval, not the models, is at fault — which no single report can see).
//!
//! Runs are ordered by when they ran (the run's creation time, else the report's date), never by
//! when they were analyzed. Only full reports count as runs (a scoped report covers part of a
//! run); one report per run, the newest. An eval a report names as failed failed; one it lists as
//! passed passed; one it does neither for was **absent** from the run (never a pass) — except in a
//! report that does not list its passed evals (hand-written, or written before evaltriage
//! recorded them), where an eval not named is taken to have passed. Persistence and flakiness are
//! over the runs that had the eval. A reviewer's label, where there is one, is the label counted.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::{Value, json};

use crate::read::catalog::CatalogReport;
use crate::read::prior_report::{PriorEntry, newest_run_first};

/// How far back trends look.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TrendOptions {
    /// The last n runs of each model (`--runs`).
    pub window: usize,
    /// An eval is a persistent failure when it failed in at least this many of them (`--min-failed`).
    pub persistent_min: usize,
}

impl Default for TrendOptions {
    fn default() -> Self {
        Self { window: 10, persistent_min: 3 }
    }
}

/// One run of a model, as its report tells it.
#[derive(Debug, Clone, PartialEq)]
pub struct TrendPoint {
    /// When the run ran (see [`crate::PriorReport::run_time`]): runs are in this order.
    pub ran_at: DateTime<Utc>,
    /// The day the run ran.
    pub date: NaiveDate,
    pub run_id_prefix: String,
    pub experiment: Option<String>,
    /// Passed and total, when the report gives them.
    pub pass_rate: Option<(u32, u32)>,
    /// Failures per label (a reviewer's label where there is one).
    pub labels: BTreeMap<String, usize>,
    /// The report, below the reports folder.
    pub report: String,
}

impl TrendPoint {
    /// The pass rate as a fraction from 0 to 1.
    pub fn rate(&self) -> Option<f64> {
        self.pass_rate.filter(|(_, t)| *t > 0).map(|(p, t)| f64::from(p) / f64::from(t))
    }
}

/// How one eval ended in one run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Passed,
    /// Failed, with this label.
    Failed(String),
    /// The run did not have it (or did not finish it): neither a pass nor a failure.
    Absent,
}

impl Outcome {
    /// `pass`, the label, or `absent` (the JSON form).
    pub fn as_str(&self) -> &str {
        match self {
            Self::Passed => "pass",
            Self::Failed(label) => label,
            Self::Absent => "absent",
        }
    }

    pub fn is_failed(&self) -> bool {
        matches!(self, Self::Failed(_))
    }
}

/// One eval's outcomes across a model's runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EvalRow {
    pub eval: String,
    /// One per run, oldest first.
    pub cells: Vec<Outcome>,
    pub failed: usize,
    /// The runs that had it (passed or failed): what `failed` is out of.
    pub had: usize,
    /// Failed in at least k of the runs that had it.
    pub persistent: bool,
    /// Changed between passing and failing at least twice over the runs that had it (so it
    /// passed at least once).
    pub flaky: bool,
}

impl EvalRow {
    /// One character per run, oldest first: `F` failed, `.` passed, `-` absent.
    pub fn pattern(&self) -> String {
        self.cells
            .iter()
            .map(|c| match c {
                Outcome::Passed => '.',
                Outcome::Failed(_) => 'F',
                Outcome::Absent => '-',
            })
            .collect()
    }
}

/// One model's trend.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelTrend {
    pub model: String,
    /// Its runs in the window, oldest first.
    pub points: Vec<TrendPoint>,
    /// Every eval that failed in the window: most failures first, then by path.
    pub evals: Vec<EvalRow>,
}

impl ModelTrend {
    pub fn persistent(&self) -> impl Iterator<Item = &EvalRow> {
        self.evals.iter().filter(|r| r.persistent)
    }

    pub fn flaky(&self) -> impl Iterator<Item = &EvalRow> {
        self.evals.iter().filter(|r| r.flaky)
    }

    pub fn latest(&self) -> Option<&TrendPoint> {
        self.points.last()
    }
}

/// Trends of every model.
#[derive(Debug, Clone, PartialEq)]
pub struct Trend {
    /// By model name.
    pub models: Vec<ModelTrend>,
    /// Evals that failed in the latest run of every model (two models or more).
    pub failing_everywhere: Vec<String>,
    pub options: TrendOptions,
}

/// The label a trend counts for an entry: the reviewer's, else the report's (without qualifier).
pub(crate) fn counted_label(e: &PriorEntry) -> String {
    e.human.as_ref().map_or_else(|| e.label.clone(), |h| h.label.as_str().to_owned())
}

/// Computes the trends of the reports given (any order).
pub fn trend(reports: &[CatalogReport], options: TrendOptions) -> Trend {
    let window = options.window.max(1);
    let mut by_model: BTreeMap<String, Vec<&CatalogReport>> = BTreeMap::new();
    for r in reports.iter().filter(|r| r.report.scope.is_none()) {
        by_model.entry(r.model_key()).or_default().push(r);
    }
    let mut models = Vec::new();
    for group in by_model.into_values() {
        // Newest run first, one report per run (the newest analysis of it).
        let mut group = group;
        group.sort_by(|a, b| newest_run_first(&a.report, &b.report).then_with(|| b.relative.cmp(&a.relative)));
        let mut seen = BTreeSet::new();
        group.retain(|r| seen.insert(r.report.run_key().to_owned()));
        group.truncate(window);
        group.reverse();
        let model = group.last().map(|r| r.model.clone()).unwrap_or_default();
        let points: Vec<TrendPoint> = group
            .iter()
            .map(|r| {
                let mut labels = BTreeMap::new();
                for e in &r.report.entries {
                    *labels.entry(counted_label(e)).or_insert(0) += 1;
                }
                TrendPoint {
                    ran_at: r.report.run_time(),
                    date: r.report.run_date(),
                    run_id_prefix: r.report.run_id_prefix.clone(),
                    experiment: r.report.experiment.clone(),
                    pass_rate: r.report.pass_rate,
                    labels,
                    report: r.relative.clone(),
                }
            })
            .collect();
        let mut failures: BTreeMap<String, Vec<Option<String>>> = BTreeMap::new();
        for (i, r) in group.iter().enumerate() {
            for e in &r.report.entries {
                let row = failures.entry(e.eval.clone()).or_insert_with(|| vec![None; group.len()]);
                row[i] = Some(counted_label(e));
            }
        }
        let mut evals: Vec<EvalRow> = failures
            .into_iter()
            .map(|(eval, failed_with)| {
                let cells: Vec<Outcome> = failed_with
                    .into_iter()
                    .zip(&group)
                    .map(|(label, r)| match (label, &r.report.passed_evals) {
                        (Some(label), _) => Outcome::Failed(label),
                        (None, Some(passed)) if !passed.contains(&eval) => Outcome::Absent,
                        (None, _) => Outcome::Passed,
                    })
                    .collect();
                let present: Vec<bool> =
                    cells.iter().filter(|c| **c != Outcome::Absent).map(Outcome::is_failed).collect();
                let failed = present.iter().filter(|f| **f).count();
                let changes = present.windows(2).filter(|w| w[0] != w[1]).count();
                EvalRow {
                    eval,
                    failed,
                    had: present.len(),
                    persistent: failed >= options.persistent_min.max(1),
                    flaky: changes >= 2,
                    cells,
                }
            })
            .collect();
        evals.sort_by(|a, b| b.failed.cmp(&a.failed).then_with(|| a.eval.cmp(&b.eval)));
        models.push(ModelTrend { model, points, evals });
    }
    models.sort_by(|a, b| a.model.cmp(&b.model));
    let failing_everywhere = if models.len() < 2 {
        Vec::new()
    } else {
        let latest_failures = |m: &ModelTrend| -> BTreeSet<String> {
            m.evals.iter().filter(|r| r.cells.last().is_some_and(Outcome::is_failed)).map(|r| r.eval.clone()).collect()
        };
        let mut all = latest_failures(&models[0]);
        for m in &models[1..] {
            let other = latest_failures(m);
            all.retain(|e| other.contains(e));
        }
        all.into_iter().collect()
    };
    Trend { models, failing_everywhere, options }
}

impl Trend {
    /// The trend as JSON (`reports trend --json`).
    pub fn to_json(&self) -> Value {
        let row = |r: &EvalRow| {
            json!({
                "eval": r.eval,
                "failed": r.failed,
                "runs": r.had,
                "outcomes": r.cells.iter().map(Outcome::as_str).collect::<Vec<_>>(),
            })
        };
        json!({
            "window": self.options.window,
            "persistent_min": self.options.persistent_min,
            "models": self.models.iter().map(|m| json!({
                "model": m.model,
                "runs": m.points.iter().map(|p| json!({
                    "date": p.date.format("%Y-%m-%d").to_string(),
                    "ran_at": p.ran_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                    "run_id_prefix": p.run_id_prefix,
                    "experiment": p.experiment,
                    "passed": p.pass_rate.map(|(p, _)| p),
                    "total": p.pass_rate.map(|(_, t)| t),
                    "pass_rate": p.rate(),
                    "labels": p.labels,
                    "report": p.report,
                })).collect::<Vec<_>>(),
                "persistent": m.persistent().map(row).collect::<Vec<_>>(),
                "flaky": m.flaky().map(row).collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
            "failing_for_every_model": self.failing_everywhere,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::read::prior_report::PriorReport;

    fn report(model: &str, prefix: &str, day: u32, passed: u32, failed: &[(&str, &str)]) -> CatalogReport {
        CatalogReport {
            report: PriorReport {
                path: PathBuf::from(format!("{prefix}_2026-02-{day:02}.md")),
                date: NaiveDate::from_ymd_opt(2026, 2, day).unwrap(),
                run_id_prefix: prefix.to_owned(),
                run_id: None,
                run_ids: Vec::new(),
                ran_at: None,
                passed_evals: None,
                pass_rate: Some((passed, 10)),
                experiment: None,
                scope: None,
                entries: failed
                    .iter()
                    .map(|(eval, label)| PriorEntry {
                        eval: (*eval).to_owned(),
                        label: (*label).to_owned(),
                        qualifier: None,
                        repeat: false,
                        human: None,
                        failed_step: None,
                    })
                    .collect(),
                actions_taken: Vec::new(),
                ours: true,
                verdicts: Vec::new(),
                notes: Vec::new(),
            },
            model: model.to_owned(),
            relative: format!("{model}/{prefix}_2026-02-{day:02}.md"),
        }
    }

    #[test]
    fn persistent_flaky_and_failing_for_every_model() {
        let a = "p/a";
        let b = "p/b";
        let reports = vec![
            report(a, "a1", 1, 8, &[("c/x", "MODEL_FAULT"), ("c/y", "MODEL_FAULT"), ("c/g", "KNOWN_GAP")]),
            report(a, "a2", 2, 9, &[("c/x", "MODEL_FAULT"), ("c/g", "KNOWN_GAP")]),
            report(a, "a3", 3, 8, &[("c/x", "OVERLY_STRICT"), ("c/y", "MODEL_FAULT"), ("c/g", "KNOWN_GAP")]),
            report(b, "b1", 2, 9, &[("c/g", "KNOWN_GAP")]),
            // A scoped report is not a run.
            {
                let mut r = report(b, "b2", 3, 0, &[("c/z", "MODEL_FAULT")]);
                r.report.scope = Some(crate::ReportScope { category: "c".into(), eval: None });
                r
            },
        ];
        let t = trend(&reports, TrendOptions { window: 10, persistent_min: 3 });
        assert_eq!(t.models.len(), 2);
        let ma = &t.models[0];
        assert_eq!(ma.points.iter().map(|p| p.run_id_prefix.as_str()).collect::<Vec<_>>(), ["a1", "a2", "a3"]);
        assert_eq!(ma.points[2].labels.get("MODEL_FAULT"), Some(&1));
        assert_eq!(ma.persistent().map(|r| r.eval.as_str()).collect::<Vec<_>>(), ["c/g", "c/x"]);
        assert_eq!(ma.flaky().map(|r| r.eval.as_str()).collect::<Vec<_>>(), ["c/y"]);
        assert_eq!(ma.evals.iter().find(|r| r.eval == "c/y").unwrap().cells[1], Outcome::Passed);
        assert_eq!(t.models[1].points.len(), 1);
        assert_eq!(t.failing_everywhere, ["c/g"]);
        // A smaller window.
        let t = trend(&reports, TrendOptions { window: 2, persistent_min: 2 });
        assert_eq!(t.models[0].points[0].run_id_prefix, "a2");
        assert!(t.models[0].flaky().next().is_none());
        let json = t.to_json();
        assert_eq!(json["failing_for_every_model"][0], "c/g");
        assert_eq!(json["models"][0]["runs"][1]["pass_rate"], 0.8);
    }
}
