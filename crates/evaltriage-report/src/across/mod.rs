//! Across runs and models (DESIGN §8): a model's baseline and this run's regressions against it
//! (`baseline.rs`), grader suspects — an eval failing the same way for several models
//! (`suspects.rs`) — and findings, failures promoted to tracked items with a lifecycle
//! (`findings.rs`), whose claims are **Actions taken** entries (`claim.rs` writes one). All pure,
//! over [`RunRecord`]s: one per run, made from the catalog's reports (and from the run being
//! analyzed, before its report exists). Time is run time; an eval a run did not have is absent,
//! never a pass; an infrastructure failure is absent too (it says nothing of the model or the
//! grader). No LLM is involved.

pub(crate) mod baseline;
pub(crate) mod claim;
pub(crate) mod findings;
pub(crate) mod suspects;

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use evaltriage_core::{Run, Shape, VerdictOrigin};

use crate::history::changes::DEFAULT_EXPERIMENT;
use crate::read::catalog::CatalogReport;
use crate::read::find::normalise;
use crate::read::prior_report::{ActionTaken, newest_run_first};

/// The thresholds of every computation here; the defaults are DESIGN §8's.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AcrossOptions {
    /// The baseline is the model's last n earlier runs in the same experiment.
    pub baseline_runs: usize,
    /// Fewer earlier runs than this: "too few runs for a baseline", and no regressions.
    pub min_baseline_runs: usize,
    /// An eval that passed in at least this share of the baseline runs that had it "usually
    /// passes": failing it now is a regression.
    pub usually_passes: f64,
    /// Persistent and flaky evals and findings look at each model's last n runs.
    pub window_runs: usize,
    /// Grader suspects look at the runs of the last n days (before the newest run).
    pub suspect_days: u32,
    /// A grader suspect fails the same way for at least this many distinct models...
    pub suspect_min_models: usize,
    /// ...and for at least this share of the models that ran the eval in the window.
    pub suspect_min_share: f64,
    /// A claimed fix is verified after this many passing runs (and no failure) after the claim.
    pub verify_after: usize,
}

impl Default for AcrossOptions {
    fn default() -> Self {
        Self {
            baseline_runs: 20,
            min_baseline_runs: 3,
            usually_passes: 0.8,
            window_runs: 20,
            suspect_days: 7,
            suspect_min_models: 3,
            suspect_min_share: 0.5,
            verify_after: 2,
        }
    }
}

/// What a report says across runs and models: computed by [`AcrossReport::for_run`], rendered by
/// [`crate::render_with`] and given as data to the faces.
#[derive(Debug, Clone, Default)]
pub struct AcrossReport {
    pub options: AcrossOptions,
    /// The model's baseline; `None` when not computed.
    pub baseline: Option<baseline::Baseline>,
    /// The grader suspects among this run's failures.
    pub suspects: Vec<suspects::GraderSuspect>,
    /// This model's open findings, and the grader findings that concern it.
    pub findings: Vec<findings::Finding>,
    /// Where the baseline's runs came from beyond the reports folder, and what could not be read
    /// (set by whoever read the source: `2 runs read from https://…; 1 could not be read: …`).
    pub baseline_note: Option<String>,
}

impl AcrossReport {
    /// Everything for `run` among `records` (the catalog's; `run` is added, replacing an earlier
    /// reading of the same run).
    pub fn for_run(records: &[RunRecord], run: &RunRecord, options: &AcrossOptions) -> Self {
        let mut all: Vec<RunRecord> = records
            .iter()
            .filter(|r| !(r.model_key == run.model_key && r.run_key == run.run_key))
            .filter(|r| r.ran_at <= run.ran_at)
            .cloned()
            .collect();
        all.push(run.clone());
        let baseline = baseline::baseline(&all, run, options);
        // Runs read from the source count for the baseline only: suspects and findings are the
        // reports' (their labels, their Actions taken).
        all.retain(|r| !r.from_source);
        let suspects: Vec<suspects::GraderSuspect> = suspects::grader_suspects(&all, options, Some(run.ran_at))
            .into_iter()
            .filter(|s| {
                run.failures.iter().any(|f| {
                    !f.infrastructure && f.error.as_deref().is_some_and(|e| s.matches(&f.eval, f.step.as_deref(), e))
                })
            })
            .collect();
        let findings = findings::findings(&all, options)
            .into_iter()
            .filter(|f| f.state.is_open())
            .filter(|f| match &f.model {
                Some(model) => {
                    normalise(model) == run.model_key && f.experiment.as_deref() == Some(run.experiment.as_str())
                }
                None => f.suspect.as_ref().is_some_and(|s| s.models.iter().any(|m| normalise(m) == run.model_key)),
            })
            .collect();
        Self { options: *options, baseline: Some(baseline), suspects, findings, baseline_note: None }
    }

    /// The suspect a failure of this run matches, for the LLM's context and the rules.
    pub fn suspect_for(&self, eval: &str) -> Option<&suspects::GraderSuspect> {
        self.suspects.iter().find(|s| s.eval == eval)
    }

    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "baseline": self.baseline.as_ref().map(|b| {
                let mut json = b.to_json();
                json["source_note"] = serde_json::json!(self.baseline_note);
                json
            }),
            "grader_suspects": self.suspects.iter().map(suspects::GraderSuspect::to_json).collect::<Vec<_>>(),
            "open_findings": self.findings.iter().map(findings::Finding::to_json).collect::<Vec<_>>(),
        })
    }
}

/// One failed eval of a run, as far as the comparisons need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordFailure {
    pub eval: String,
    /// The failed step, when known (`tests`, `tsc`).
    pub step: Option<String>,
    /// The decisive error, when known (our reports' verdicts; the run being analyzed).
    pub error: Option<String>,
    /// The label counted (a reviewer's where there is one), `UNCLASSIFIED` when none.
    pub label: String,
    /// The benchmark's machinery failed, not the model: counted as absent.
    pub infrastructure: bool,
}

/// One run of one model, as the comparisons see it.
#[derive(Debug, Clone, PartialEq)]
pub struct RunRecord {
    /// The model as named (`anthropic/claude-sonnet-4.6`).
    pub model: String,
    /// The key a model's reports share however they spell it (see [`CatalogReport::model_key`]).
    pub model_key: String,
    /// `default` when the report does not say.
    pub experiment: String,
    pub ran_at: DateTime<Utc>,
    /// The run id's prefix: what identifies the run.
    pub run_key: String,
    pub run_id: Option<String>,
    /// The report below the reports folder; empty for a run whose report is being written.
    pub report: String,
    /// Passed and total, when known.
    pub pass_rate: Option<(u32, u32)>,
    /// The evals that passed, when known; `None`: an eval not named as failed is taken to have
    /// passed (hand-written reports, as `reports trend` reads them).
    pub passed: Option<BTreeSet<String>>,
    pub failures: Vec<RecordFailure>,
    /// The report's **Actions taken** entries.
    pub actions: Vec<ActionTaken>,
    /// Read from the source (the deployment or the store) for a baseline: no report covers it, so
    /// it counts for the baseline only, never for grader suspects or findings.
    pub from_source: bool,
}

/// How one eval ended in one run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EvalOutcome {
    Passed,
    Failed,
    /// Not in the run, unfinished, or an infrastructure failure.
    Absent,
}

impl EvalOutcome {
    /// `✓`, `✗` or `·`.
    pub fn mark(self) -> char {
        match self {
            Self::Passed => '✓',
            Self::Failed => '✗',
            Self::Absent => '·',
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Passed => "pass",
            Self::Failed => "fail",
            Self::Absent => "absent",
        }
    }
}

impl RunRecord {
    /// The record of a full report of the catalog; `None` for a scoped report (part of a run).
    pub fn of_report(r: &CatalogReport) -> Option<Self> {
        if r.report.scope.is_some() {
            return None;
        }
        let errors: BTreeMap<&str, (&str, Option<&str>, bool)> = r
            .report
            .verdicts
            .iter()
            .map(|v| {
                (
                    v.eval_path.as_str(),
                    (
                        v.error.as_str(),
                        v.failed_step.as_ref().map(|s| s.as_str()),
                        matches!(v.origin, VerdictOrigin::Infrastructure(_)),
                    ),
                )
            })
            .collect();
        let failures = r
            .report
            .entries
            .iter()
            .map(|e| {
                let verdict = errors.get(e.eval.as_str());
                RecordFailure {
                    eval: e.eval.clone(),
                    step: e.failed_step.clone().or_else(|| verdict.and_then(|v| v.1).map(str::to_owned)),
                    error: verdict.map(|v| v.0.to_owned()).filter(|e| !e.trim().is_empty()),
                    label: crate::review::trend::counted_label(e),
                    infrastructure: e.is_infrastructure() || verdict.is_some_and(|v| v.2),
                }
            })
            .collect();
        Some(Self {
            model: r.model.clone(),
            model_key: r.model_key(),
            experiment: r.report.experiment.clone().unwrap_or_else(|| DEFAULT_EXPERIMENT.to_owned()),
            ran_at: r.report.run_time(),
            run_key: r.report.run_key().to_owned(),
            run_id: r.report.run_id.clone(),
            report: r.relative.clone(),
            pass_rate: r.report.pass_rate,
            passed: r.report.passed_evals.as_ref().map(|p| p.iter().cloned().collect()),
            failures,
            actions: r.report.actions_taken.clone(),
            from_source: false,
        })
    }

    /// The record of a run being analyzed (its report not written yet): `errors` gives each
    /// failure's decisive error by eval path, as its verdict will carry it.
    pub fn of_run(run: &Run, shape: &Shape, errors: &BTreeMap<String, String>) -> Self {
        let id = run.id.as_str();
        Self {
            model: run.model.clone(),
            model_key: normalise(&run.model),
            experiment: run.experiment.clone(),
            ran_at: crate::read::prior::run_time_of(run).unwrap_or_else(Utc::now),
            run_key: id.chars().take(8).collect(),
            run_id: Some(id.to_owned()),
            report: String::new(),
            pass_rate: Some((
                u32::try_from(shape.passed).unwrap_or(u32::MAX),
                u32::try_from(shape.total).unwrap_or(u32::MAX),
            )),
            passed: Some(
                run.evals.iter().filter(|e| e.status.is_passed()).map(|e| e.path.as_str().to_owned()).collect(),
            ),
            failures: shape
                .failures
                .iter()
                .map(|f| RecordFailure {
                    eval: f.eval_path.as_str().to_owned(),
                    step: f.failed_step.as_ref().map(|s| s.as_str().to_owned()),
                    error: Some(
                        errors
                            .get(f.eval_path.as_str())
                            .cloned()
                            .unwrap_or_else(|| evaltriage_core::text::decisive_error(f.error_text())),
                    ),
                    label: crate::read::prior_report::UNCLASSIFIED.to_owned(),
                    infrastructure: f.kind.is_infrastructure(),
                })
                .collect(),
            actions: Vec::new(),
            from_source: false,
        }
    }

    /// The record of an earlier run read from the source for a baseline (no report covers it).
    pub fn of_source_run(run: &Run) -> Self {
        let shape = Shape::of(run);
        Self { from_source: true, ..Self::of_run(run, &shape, &BTreeMap::new()) }
    }

    /// How `eval` ended in this run.
    pub fn outcome(&self, eval: &str) -> EvalOutcome {
        match self.failures.iter().find(|f| f.eval == eval) {
            Some(f) if f.infrastructure => EvalOutcome::Absent,
            Some(_) => EvalOutcome::Failed,
            None => match &self.passed {
                Some(passed) if passed.contains(eval) => EvalOutcome::Passed,
                Some(_) => EvalOutcome::Absent,
                None => EvalOutcome::Passed,
            },
        }
    }

    /// The failure of `eval` that counts (not an infrastructure one).
    pub fn failure(&self, eval: &str) -> Option<&RecordFailure> {
        self.failures.iter().find(|f| f.eval == eval && !f.infrastructure)
    }

    /// The pass rate from 0 to 1, when known.
    pub fn rate(&self) -> Option<f64> {
        self.pass_rate.filter(|(_, t)| *t > 0).map(|(p, t)| f64::from(p) / f64::from(t))
    }

    /// Every eval the record names (failed or passed).
    fn evals(&self) -> impl Iterator<Item = &str> {
        self.failures.iter().map(|f| f.eval.as_str()).chain(self.passed.iter().flatten().map(String::as_str))
    }

    /// A short reference to the run, for JSON and text.
    pub fn reference(&self) -> RunReference {
        RunReference {
            run_key: self.run_key.clone(),
            run_id: self.run_id.clone(),
            ran_at: self.ran_at,
            report: self.report.clone(),
            model: self.model.clone(),
            from_source: self.from_source,
        }
    }
}

/// A run named in a result: which, when, and its report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunReference {
    pub run_key: String,
    pub run_id: Option<String>,
    pub ran_at: DateTime<Utc>,
    /// Below the reports folder; empty for the run being analyzed.
    pub report: String,
    pub model: String,
    /// Read from the source, not from a report.
    pub from_source: bool,
}

impl RunReference {
    pub fn json(&self) -> serde_json::Value {
        serde_json::json!({
            "run_id_prefix": self.run_key,
            "run_id": self.run_id,
            "ran_at": rfc3339(self.ran_at),
            "report": self.report,
            "model": self.model,
            "from": if self.from_source { "source" } else { "report" },
        })
    }
}

pub(crate) fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// The records of every full report, one per run (the newest analysis of it), in the catalog's
/// order.
pub fn records_of(reports: &[CatalogReport]) -> Vec<RunRecord> {
    let mut seen = BTreeSet::new();
    let mut sorted: Vec<&CatalogReport> = reports.iter().filter(|r| r.report.scope.is_none()).collect();
    sorted.sort_by(|a, b| newest_run_first(&a.report, &b.report).then_with(|| b.relative.cmp(&a.relative)));
    sorted
        .into_iter()
        .filter(|r| seen.insert((r.model_key(), r.report.run_key().to_owned())))
        .filter_map(RunRecord::of_report)
        .collect()
}

/// One model's runs in one experiment, oldest first.
#[derive(Debug, Clone)]
pub(crate) struct Series<'a> {
    pub model_key: String,
    pub experiment: String,
    pub runs: Vec<&'a RunRecord>,
}

impl Series<'_> {
    /// The name shown: the newest run's spelling.
    pub fn model(&self) -> &str {
        self.runs.last().map_or("", |r| r.model.as_str())
    }
}

/// The records grouped by model and experiment, each oldest run first (by run time, then run key).
pub(crate) fn series(records: &[RunRecord]) -> Vec<Series<'_>> {
    let mut by: BTreeMap<(String, String), Vec<&RunRecord>> = BTreeMap::new();
    for r in records {
        by.entry((r.model_key.clone(), r.experiment.clone())).or_default().push(r);
    }
    by.into_iter()
        .map(|((model_key, experiment), mut runs)| {
            runs.sort_by(|a, b| a.ran_at.cmp(&b.ran_at).then_with(|| a.run_key.cmp(&b.run_key)));
            let mut seen = BTreeSet::new();
            runs.retain(|r| seen.insert(r.run_key.clone()));
            Series { model_key, experiment, runs }
        })
        .collect()
}

/// The marks of an eval's outcomes over runs, oldest first (`✓✓·✗`).
pub(crate) fn pattern<'a>(runs: impl IntoIterator<Item = &'a RunRecord>, eval: &str) -> String {
    runs.into_iter().map(|r| r.outcome(eval).mark()).collect()
}

/// A small stable hash (FNV-1a, 64 bits) for finding ids: the same finding keeps its id from one
/// night to the next and on every machine.
pub(crate) fn stable_hash(parts: &[&str]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for b in part.bytes().chain(std::iter::once(0xff)) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    h
}

/// The category of an eval path (`000-fundamentals` of `000-fundamentals/003-crons`).
pub(crate) fn category_of(eval: &str) -> &str {
    eval.split_once('/').map_or("", |(c, _)| c)
}

#[cfg(test)]
pub(crate) mod test_support {
    use super::*;

    /// A record of `model`'s run `key` at hour `hour` of 2026-08-01 (+ days), with `failed`
    /// failures (eval, error) and `passed` passes; pass rate from them.
    pub(crate) fn record(model: &str, key: &str, hour: i64, passed: &[&str], failed: &[(&str, &str)]) -> RunRecord {
        let base = DateTime::parse_from_rfc3339("2026-08-01T00:00:00Z").unwrap().with_timezone(&Utc);
        RunRecord {
            model: model.to_owned(),
            model_key: normalise(model),
            experiment: DEFAULT_EXPERIMENT.to_owned(),
            ran_at: base + chrono::Duration::hours(hour),
            run_key: key.to_owned(),
            run_id: None,
            report: format!("{model}/{key}.md"),
            pass_rate: Some((
                u32::try_from(passed.len()).unwrap(),
                u32::try_from(passed.len() + failed.len()).unwrap(),
            )),
            passed: Some(passed.iter().map(|p| (*p).to_owned()).collect()),
            failures: failed
                .iter()
                .map(|(eval, error)| RecordFailure {
                    eval: (*eval).to_owned(),
                    step: Some("tests".to_owned()),
                    error: Some((*error).to_owned()),
                    label: "MODEL_FAULT".to_owned(),
                    infrastructure: false,
                })
                .collect(),
            actions: Vec::new(),
            from_source: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::test_support::record;
    use super::*;

    #[test]
    fn outcomes_tell_absent_from_passed() {
        let mut r = record("p/m", "r1", 0, &["c/a"], &[("c/b", "boom")]);
        assert_eq!(r.outcome("c/a"), EvalOutcome::Passed);
        assert_eq!(r.outcome("c/b"), EvalOutcome::Failed);
        assert_eq!(r.outcome("c/z"), EvalOutcome::Absent);
        r.failures[0].infrastructure = true;
        assert_eq!(r.outcome("c/b"), EvalOutcome::Absent);
        r.passed = None;
        assert_eq!(r.outcome("c/z"), EvalOutcome::Passed);
    }

    #[test]
    fn series_group_by_model_and_experiment_oldest_first() {
        let mut other = record("p/m", "x1", 1, &[], &[]);
        other.experiment = "no_guidelines".into();
        let records = vec![
            record("p/m", "r2", 5, &[], &[]),
            record("P/M", "r1", 1, &[], &[]),
            other,
            record("p/n", "n1", 0, &[], &[]),
        ];
        let s = series(&records);
        assert_eq!(s.len(), 3);
        assert_eq!(s[0].runs.iter().map(|r| r.run_key.as_str()).collect::<Vec<_>>(), ["r1", "r2"]);
        assert_eq!(s[1].experiment, "no_guidelines");
        assert_ne!(stable_hash(&["a", "bc"]), stable_hash(&["ab", "c"]));
    }
}
