//! A model's baseline for one run: its earlier runs in the same experiment (mean and spread of the
//! pass rate, per eval how often it passed), where this run stands, and this run's
//! **regressions** — evals that usually pass and failed now — per eval and per category; and the
//! model's persistent and flaky evals over the window (over the runs that had them).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};

use super::{AcrossOptions, EvalOutcome, RunRecord, RunReference, category_of, pattern};

/// Where the run's pass rate stands against the baseline.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Standing {
    /// Fewer earlier runs than the minimum (how many there were).
    TooFewRuns(usize),
    /// The run's pass rate is not known.
    Unknown,
    /// Within one standard deviation of the mean (or equal to a baseline with no spread).
    Within { sds: f64 },
    /// More than one standard deviation below (negative) or above; `None` when the baseline has
    /// no spread.
    Outside { sds: Option<f64>, below: bool },
}

impl Standing {
    /// One phrase: `within the usual spread (-0.4 sd)`, `2.3 sd below the mean`.
    pub fn describe(&self) -> String {
        match *self {
            Self::TooFewRuns(n) => format!("too few runs for a baseline ({n} earlier run{})", plural(n)),
            Self::Unknown => "the run's pass rate is not known".to_owned(),
            Self::Within { sds } => format!("within the usual spread ({sds:+.1} sd)"),
            Self::Outside { sds: Some(s), below } => {
                format!("{:.1} sd {} the mean", s.abs(), if below { "below" } else { "above" })
            }
            Self::Outside { sds: None, below } => {
                format!(
                    "{} every earlier run (which all had the same pass rate)",
                    if below { "below" } else { "above" }
                )
            }
        }
    }

    fn kind(&self) -> &'static str {
        match self {
            Self::TooFewRuns(_) => "too_few_runs",
            Self::Unknown => "unknown",
            Self::Within { .. } => "within",
            Self::Outside { below: true, .. } => "below",
            Self::Outside { below: false, .. } => "above",
        }
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// How often one eval passed in the baseline runs that had it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EvalFrequency {
    pub eval: String,
    pub passed: usize,
    /// The baseline runs that had it.
    pub had: usize,
    /// Its outcomes in the baseline runs then this one, oldest first (`✓✓✓✓✗`).
    pub pattern: String,
}

/// An eval that usually passes and failed now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Regression {
    pub eval: String,
    pub category: String,
    pub passed: usize,
    pub had: usize,
    /// Outcomes in the baseline runs then this one (`✓✓✓✓✗`).
    pub pattern: String,
    /// The step it failed at now, when known.
    pub step: Option<String>,
}

/// One category's share of passes: baseline mean against now.
#[derive(Debug, Clone, PartialEq)]
pub struct CategoryStanding {
    pub category: String,
    /// Mean share of the category's evals passed over the baseline runs that list their passes.
    pub baseline: Option<f64>,
    pub now: Option<f64>,
    pub regressions: usize,
}

/// An eval's record over the window (the baseline runs and this one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WindowEval {
    pub eval: String,
    pub failed: usize,
    pub had: usize,
    pub pattern: String,
}

/// The model's baseline for one run.
#[derive(Debug, Clone, PartialEq)]
pub struct Baseline {
    pub model: String,
    pub experiment: String,
    /// The earlier runs it is made of, oldest first.
    pub runs: Vec<RunReference>,
    /// Mean and sample standard deviation of their pass rates (0 to 1), over those that give one.
    pub mean: Option<f64>,
    pub sd: Option<f64>,
    /// How many runs gave a pass rate.
    pub n: usize,
    pub current: Option<f64>,
    pub standing: Standing,
    /// Every eval the baseline or the run names, by path.
    pub evals: Vec<EvalFrequency>,
    pub regressions: Vec<Regression>,
    /// Categories with a regression or a drop, largest drop first.
    pub categories: Vec<CategoryStanding>,
    /// Failed in every run of the window that had it (at least two).
    pub persistent: Vec<WindowEval>,
    /// Passed and failed in turn in the window (changed at least twice).
    pub flaky: Vec<WindowEval>,
    pub min_runs: usize,
}

impl Baseline {
    /// Whether there were enough runs for a baseline.
    pub fn enough(&self) -> bool {
        !matches!(self.standing, Standing::TooFewRuns(_))
    }

    /// `72.5% ± 3.1 over 4 runs`, when there is a mean.
    pub fn describe_mean(&self) -> Option<String> {
        let mean = self.mean?;
        Some(format!(
            "{:.1}% ± {:.1} over {} run{}",
            mean * 100.0,
            self.sd.unwrap_or(0.0) * 100.0,
            self.n,
            plural(self.n)
        ))
    }

    pub fn to_json(&self) -> Value {
        let window = |w: &WindowEval| json!({"eval": w.eval, "failed": w.failed, "runs": w.had, "pattern": w.pattern});
        json!({
            "model": self.model,
            "experiment": self.experiment,
            "runs": self.runs.iter().map(RunReference::json).collect::<Vec<_>>(),
            "n": self.n,
            "min_runs": self.min_runs,
            "enough_runs": self.enough(),
            "mean": self.mean,
            "sd": self.sd,
            "current": self.current,
            "standing": self.standing.kind(),
            "standing_text": self.standing.describe(),
            "sds": match self.standing {
                Standing::Within { sds } | Standing::Outside { sds: Some(sds), .. } => Some(sds),
                _ => None,
            },
            "regressions": self.regressions.iter().map(|r| json!({
                "eval": r.eval,
                "category": r.category,
                "passed": r.passed,
                "runs": r.had,
                "pattern": r.pattern,
                "failed_step": r.step,
            })).collect::<Vec<_>>(),
            "categories": self.categories.iter().map(|c| json!({
                "category": c.category,
                "baseline": c.baseline,
                "now": c.now,
                "regressions": c.regressions,
            })).collect::<Vec<_>>(),
            "evals": self.evals.iter().map(|e| json!({
                "eval": e.eval, "passed": e.passed, "runs": e.had, "pattern": e.pattern,
            })).collect::<Vec<_>>(),
            "persistent": self.persistent.iter().map(window).collect::<Vec<_>>(),
            "flaky": self.flaky.iter().map(window).collect::<Vec<_>>(),
        })
    }
}

/// The baseline of `run` among `records` (any order; `run` itself may be among them): the same
/// model's earlier runs in the same experiment, the last `options.baseline_runs` of them.
pub fn baseline(records: &[RunRecord], run: &RunRecord, options: &AcrossOptions) -> Baseline {
    let mut earlier: Vec<&RunRecord> = records
        .iter()
        .filter(|r| r.model_key == run.model_key && r.experiment == run.experiment)
        .filter(|r| r.run_key != run.run_key && r.ran_at < run.ran_at)
        .collect();
    earlier.sort_by(|a, b| a.ran_at.cmp(&b.ran_at).then_with(|| a.run_key.cmp(&b.run_key)));
    let mut seen = BTreeSet::new();
    earlier.retain(|r| seen.insert(r.run_key.clone()));
    let skip = earlier.len().saturating_sub(options.baseline_runs.max(1));
    let earlier: Vec<&RunRecord> = earlier.into_iter().skip(skip).collect();

    let rates: Vec<f64> = earlier.iter().filter_map(|r| r.rate()).collect();
    let n = rates.len();
    let mean = (n > 0).then(|| rates.iter().sum::<f64>() / n as f64);
    let sd =
        mean.filter(|_| n > 1).map(|m| (rates.iter().map(|r| (r - m).powi(2)).sum::<f64>() / (n - 1) as f64).sqrt());
    let current = run.rate();
    let min_runs = options.min_baseline_runs.max(1);
    let standing = match (mean, current) {
        _ if earlier.len() < min_runs || n < min_runs => Standing::TooFewRuns(earlier.len().min(n)),
        (Some(m), Some(c)) => {
            let sd = sd.unwrap_or(0.0);
            if sd <= f64::EPSILON {
                if (c - m).abs() <= 1e-9 {
                    Standing::Within { sds: 0.0 }
                } else {
                    Standing::Outside { sds: None, below: c < m }
                }
            } else {
                let z = (c - m) / sd;
                if z.abs() <= 1.0 {
                    Standing::Within { sds: z }
                } else {
                    Standing::Outside { sds: Some(z), below: z < 0.0 }
                }
            }
        }
        _ => Standing::Unknown,
    };

    let mut names: BTreeSet<&str> = earlier.iter().flat_map(|r| r.evals()).collect();
    names.extend(run.evals());
    let with_run = |eval: &str| pattern(earlier.iter().copied().chain(std::iter::once(run)), eval);
    let evals: Vec<EvalFrequency> = names
        .iter()
        .map(|eval| {
            let outcomes: Vec<EvalOutcome> = earlier.iter().map(|r| r.outcome(eval)).collect();
            EvalFrequency {
                eval: (*eval).to_owned(),
                passed: outcomes.iter().filter(|o| **o == EvalOutcome::Passed).count(),
                had: outcomes.iter().filter(|o| **o != EvalOutcome::Absent).count(),
                pattern: with_run(eval),
            }
        })
        .collect();
    let enough = !matches!(standing, Standing::TooFewRuns(_));
    let regressions: Vec<Regression> = run
        .failures
        .iter()
        .filter(|f| !f.infrastructure && enough)
        .filter_map(|f| {
            let freq = evals.iter().find(|e| e.eval == f.eval)?;
            let usual = freq.had >= min_runs && freq.passed as f64 >= options.usually_passes * freq.had as f64;
            usual.then(|| Regression {
                eval: f.eval.clone(),
                category: category_of(&f.eval).to_owned(),
                passed: freq.passed,
                had: freq.had,
                pattern: freq.pattern.clone(),
                step: f.step.clone(),
            })
        })
        .collect();
    let categories = if enough { category_standings(&earlier, run, &regressions) } else { Vec::new() };

    // The window: the baseline runs and this one.
    let window: Vec<&RunRecord> = earlier.iter().copied().chain(std::iter::once(run)).collect();
    let skip = window.len().saturating_sub(options.window_runs.max(1));
    let window = &window[skip..];
    let mut persistent = Vec::new();
    let mut flaky = Vec::new();
    let failed_somewhere: BTreeSet<&str> =
        window.iter().flat_map(|r| r.failures.iter().filter(|f| !f.infrastructure).map(|f| f.eval.as_str())).collect();
    for eval in failed_somewhere {
        let outcomes: Vec<EvalOutcome> = window.iter().map(|r| r.outcome(eval)).collect();
        let failed = outcomes.iter().filter(|o| **o == EvalOutcome::Failed).count();
        let had = outcomes.iter().filter(|o| **o != EvalOutcome::Absent).count();
        let w = WindowEval { eval: eval.to_owned(), failed, had, pattern: outcomes.iter().map(|o| o.mark()).collect() };
        let present: Vec<bool> =
            outcomes.iter().filter(|o| **o != EvalOutcome::Absent).map(|o| *o == EvalOutcome::Failed).collect();
        if failed == had && had >= 2 {
            persistent.push(w);
        } else if present.windows(2).filter(|p| p[0] != p[1]).count() >= 2 {
            // Passed and failed in turn (a pass then a failure is a regression, not flakiness).
            flaky.push(w);
        }
    }
    flaky.sort_by(|a, b| b.failed.cmp(&a.failed).then_with(|| a.eval.cmp(&b.eval)));

    Baseline {
        model: run.model.clone(),
        experiment: run.experiment.clone(),
        runs: earlier.iter().map(|r| r.reference()).collect(),
        mean,
        sd,
        n,
        current,
        standing,
        evals,
        regressions,
        categories,
        persistent,
        flaky,
        min_runs,
    }
}

/// Per category: the mean share passed over the baseline runs that list their passes, against
/// now; kept when it fell by 5 points or more or has a regression.
fn category_standings(earlier: &[&RunRecord], run: &RunRecord, regressions: &[Regression]) -> Vec<CategoryStanding> {
    let share = |r: &RunRecord| -> BTreeMap<String, (usize, usize)> {
        let mut by: BTreeMap<String, (usize, usize)> = BTreeMap::new();
        if r.passed.is_none() {
            return by;
        }
        for eval in r.evals() {
            let entry = by.entry(category_of(eval).to_owned()).or_default();
            match r.outcome(eval) {
                EvalOutcome::Passed => {
                    entry.0 += 1;
                    entry.1 += 1;
                }
                EvalOutcome::Failed => entry.1 += 1,
                EvalOutcome::Absent => {}
            }
        }
        by
    };
    let now = share(run);
    let mut sums: BTreeMap<String, (f64, usize)> = BTreeMap::new();
    for r in earlier {
        for (cat, (p, t)) in share(r) {
            if t > 0 {
                let e = sums.entry(cat).or_default();
                e.0 += p as f64 / t as f64;
                e.1 += 1;
            }
        }
    }
    let mut cats: BTreeSet<String> = now.keys().cloned().collect();
    cats.extend(regressions.iter().map(|r| r.category.clone()));
    let mut out: Vec<CategoryStanding> = cats
        .into_iter()
        .map(|category| CategoryStanding {
            baseline: sums.get(&category).filter(|(_, k)| *k > 0).map(|(s, k)| s / *k as f64),
            now: now.get(&category).filter(|(_, t)| *t > 0).map(|(p, t)| *p as f64 / *t as f64),
            regressions: regressions.iter().filter(|r| r.category == category).count(),
            category,
        })
        .filter(|c| c.regressions > 0 || matches!((c.baseline, c.now), (Some(b), Some(n)) if b - n >= 0.05))
        .collect();
    let drop = |c: &CategoryStanding| c.baseline.zip(c.now).map_or(0.0, |(b, n)| b - n);
    out.sort_by(|a, b| drop(b).total_cmp(&drop(a)).then_with(|| a.category.cmp(&b.category)));
    out
}

#[cfg(test)]
mod tests {
    use super::super::test_support::record;
    use super::*;

    const EVALS: [&str; 8] = ["a/1", "a/2", "a/3", "b/1", "b/2", "b/3", "c/1", "c/2"];

    fn passing_except<'a>(failed: &[&'a str]) -> (Vec<&'a str>, Vec<(&'a str, &'a str)>) {
        let passed = EVALS.iter().copied().filter(|e| !failed.contains(e)).collect();
        (passed, failed.iter().map(|f| (*f, "tests failed (50%)")).collect())
    }

    #[test]
    fn five_repetitions_name_the_three_regressions() {
        let mut records = Vec::new();
        for (k, failing) in [&["c/2"][..], &["c/1", "c/2"], &["c/2"], &["c/2"]].iter().enumerate() {
            let (p, f) = passing_except(failing);
            records.push(record("p/m", &format!("r{k}"), k as i64, &p, &f));
        }
        let (p, f) = passing_except(&["a/1", "a/2", "b/3", "c/2"]);
        let run = record("p/m", "r4", 10, &p, &f);
        records.push(run.clone());
        let b = baseline(&records, &run, &AcrossOptions::default());
        assert_eq!(b.n, 4);
        assert!(b.enough());
        assert_eq!(b.describe_mean().unwrap(), "84.4% ± 6.2 over 4 runs");
        assert!(matches!(b.standing, Standing::Outside { below: true, .. }), "{:?}", b.standing);
        assert_eq!(b.regressions.iter().map(|r| r.eval.as_str()).collect::<Vec<_>>(), ["a/1", "a/2", "b/3"]);
        assert_eq!(b.regressions[0].pattern, "✓✓✓✓✗");
        // c/1 passed in 3 of 4 (75%): not "usually passes"; c/2 always fails: persistent.
        assert_eq!(b.persistent.iter().map(|w| w.eval.as_str()).collect::<Vec<_>>(), ["c/2"]);
        assert_eq!(b.flaky.iter().map(|w| w.eval.as_str()).collect::<Vec<_>>(), ["c/1"]);
        assert_eq!(b.categories[0].category, "a");
        assert_eq!(b.categories[0].regressions, 2);
        let json = b.to_json();
        assert_eq!(json["regressions"][2]["pattern"], "✓✓✓✓✗");
        assert_eq!(json["n"], 4);
    }

    #[test]
    fn too_few_runs_and_absent_runs() {
        let (p, f) = passing_except(&[]);
        let mut records = vec![record("p/m", "r0", 0, &p, &f), record("p/m", "r1", 1, &p, &f)];
        // Another model and a later run are not the baseline.
        records.push(record("p/other", "o0", 0, &p, &f));
        records.push(record("p/m", "r9", 99, &p, &f));
        let (p2, f2) = passing_except(&["a/1"]);
        let run = record("p/m", "r2", 2, &p2, &f2);
        let b = baseline(&records, &run, &AcrossOptions::default());
        assert_eq!(b.standing, Standing::TooFewRuns(2));
        assert!(b.regressions.is_empty());
        assert!(b.standing.describe().starts_with("too few runs"));
        // An eval absent from earlier runs is not counted as passing there.
        let (p3, _) = passing_except(&["a/1"]);
        let mut records: Vec<RunRecord> = (0..4).map(|k| record("p/m", &format!("s{k}"), k, &p3, &[])).collect();
        records[0].passed.as_mut().unwrap().insert("a/1".into());
        let b = baseline(&records, &run, &AcrossOptions::default());
        let a1 = b.evals.iter().find(|e| e.eval == "a/1").unwrap();
        assert_eq!((a1.passed, a1.had), (1, 1));
        assert!(b.regressions.is_empty(), "one run that had it is too few to say it usually passes");
    }
}
