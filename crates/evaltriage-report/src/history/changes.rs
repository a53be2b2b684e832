//! What changed since the last report: the newest prior report of the same experiment (our own or
//! hand-written) against the current run — pass rate then and now, evals fixed since, new failures,
//! still failing (old label beside the new one) and label changes. Pure: the report renders it, the
//! binary prints its one line and its JSON.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use evaltriage_core::{EvalPath, EvalStatus, Failure, Run, Shape, Verdict, VerdictStatus};
use serde_json::{Value, json};

use crate::path_scheme::{ReportScope, report_folders};
use crate::read::prior_report::{PriorEntry, PriorReport, UNCLASSIFIED};

/// The experiment a report that states none is taken to be (the benchmark's own default).
pub const DEFAULT_EXPERIMENT: &str = "default";

/// The label a current infrastructure failure is compared under.
const INFRASTRUCTURE: &str = "infrastructure";

/// What the current run is compared with, or why there is nothing to compare with.
#[derive(Debug, Clone, PartialEq, Eq)]
#[expect(clippy::large_enum_variant, reason = "one value per report, matched by callers: a Box would only add noise")]
pub enum ChangesSince {
    /// No prior report can serve as the baseline.
    NoPriorReport {
        /// The folder looked in, relative to the reports folder: `anthropic/claude-sonnet-4.5/`.
        looked_in: String,
        /// The experiment a baseline had to be of.
        experiment: String,
        /// Prior reports left out because they are of another experiment.
        other_experiments: usize,
        /// Prior reports left out because they cover only part of what this report covers.
        partial: usize,
    },
    /// Compared with a prior report.
    Since(Changes),
}

/// The current run against its baseline report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Changes {
    /// The baseline's full run id, when it gives one.
    pub run_id: Option<String>,
    pub run_id_prefix: String,
    /// The day the baseline's run ran (see [`PriorReport::run_time`]).
    pub date: NaiveDate,
    /// The baseline's file name.
    pub report: String,
    /// The baseline was written by evaltriage (else hand-written, read heuristically).
    pub ours: bool,
    /// The experiment compared (the current run's).
    pub experiment: String,
    /// The baseline states no experiment and was taken to be `default`.
    pub experiment_assumed: bool,
    /// The comparison is restricted to the evals of a scoped analysis.
    pub scope: Option<ReportScope>,
    /// The baseline's pass rate (passed, total), when it gives one.
    pub pass_rate_then: Option<(u32, u32)>,
    /// The current run's pass rate (passed, total).
    pub pass_rate_now: (u32, u32),
    /// Failed then (not for infrastructure), passed now: real fixes.
    pub fixed: Vec<EvalChange>,
    /// Failed then for infrastructure (the harness, a rate limit), passed now: a recovery, not a
    /// fix.
    pub recovered: Vec<EvalChange>,
    /// Failing now, not named as failed then (passed or absent then).
    pub new_failures: Vec<EvalChange>,
    /// Failed then and failing now, with both labels.
    pub still_failing: Vec<EvalChange>,
    /// The still-failing evals whose label changed (the base label, `(repeat)` ignored; an eval
    /// left without a label now is not a change).
    pub relabelled: Vec<EvalChange>,
    /// Failed then, and the current run did not run or did not finish them: neither fixed nor
    /// failing.
    pub not_run_now: Vec<EvalChange>,
}

/// One eval in a list of changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EvalChange {
    /// `category/name` as the current run spells it (as the baseline did for an eval the current
    /// run does not have).
    pub eval: String,
    /// The baseline's label (`MODEL_FAULT`, `HARNESS_FAILURE (infrastructure)`), when it failed then.
    pub label_then: Option<String>,
    /// The current label (`MODEL_FAULT`, `infrastructure`, `UNCLASSIFIED (skipped)`), when it fails
    /// now and has a verdict.
    pub label_now: Option<String>,
}

impl ChangesSince {
    /// One line for the terminal summary: [`Changes::one_line`], or `no prior report in <folder>`.
    pub fn one_line(&self) -> String {
        match self {
            Self::NoPriorReport { looked_in, experiment, .. } => {
                format!("no prior report for experiment {experiment} in {looked_in}")
            }
            Self::Since(changes) => changes.one_line(),
        }
    }

    /// The same data for `--json`: always an object with `prior_report` (the baseline's file name,
    /// or `null`) and `looked_in` or the changes.
    pub fn to_json(&self) -> Value {
        match self {
            Self::NoPriorReport { looked_in, experiment, other_experiments, partial } => json!({
                "prior_report": null,
                "looked_in": looked_in,
                "experiment": experiment,
                "other_experiments": other_experiments,
                "partial": partial,
            }),
            Self::Since(changes) => changes.to_json(),
        }
    }
}

impl Changes {
    /// `since jn75q2w8 (2026-11-08): 14/19 → 12/19 · 2 fixed · 1 new`, with `· 1 recovered`
    /// after the fixes when infrastructure failures passed this time, and `· 1 relabelled` when
    /// labels changed. The date is the day the baseline's run ran.
    pub fn one_line(&self) -> String {
        let then = self.pass_rate_then.map_or_else(|| "?".to_owned(), |(p, t)| format!("{p}/{t}"));
        let (passed, total) = self.pass_rate_now;
        let mut line = format!(
            "since {} ({}): {then} → {passed}/{total} · {} fixed",
            self.run_id_prefix,
            self.date.format("%Y-%m-%d"),
            self.fixed.len()
        );
        if !self.recovered.is_empty() {
            line.push_str(&format!(" · {} recovered", self.recovered.len()));
        }
        line.push_str(&format!(" · {} new", self.new_failures.len()));
        if !self.relabelled.is_empty() {
            line.push_str(&format!(" · {} relabelled", self.relabelled.len()));
        }
        line
    }

    /// The same data as JSON, for `--json`.
    pub fn to_json(&self) -> Value {
        let rate = |(passed, total): (u32, u32)| json!({ "passed": passed, "total": total });
        let list = |changes: &[EvalChange]| -> Value {
            changes
                .iter()
                .map(|c| json!({ "eval": c.eval, "label_then": c.label_then, "label_now": c.label_now }))
                .collect()
        };
        json!({
            "prior_report": self.report,
            "run_id": self.run_id,
            "run_id_prefix": self.run_id_prefix,
            "date": self.date.format("%Y-%m-%d").to_string(),
            "ours": self.ours,
            "experiment": self.experiment,
            "experiment_assumed": self.experiment_assumed,
            "scope": self.scope.as_ref().map(|s| json!({ "category": s.category, "eval": s.eval })),
            "pass_rate_then": self.pass_rate_then.map(rate),
            "pass_rate_now": rate(self.pass_rate_now),
            "fixed": list(&self.fixed),
            "recovered": list(&self.recovered),
            "new_failures": list(&self.new_failures),
            "still_failing": list(&self.still_failing),
            "relabelled": list(&self.relabelled),
            "not_run_now": list(&self.not_run_now),
            "summary": self.one_line(),
        })
    }
}

/// Compares the current run with the newest prior report (given newest first, the run's own
/// reports left out) that is of the same experiment — a report that states none counts as
/// `default` — and is a full report, or for a scoped analysis one that covers the whole scope.
/// For a scoped analysis only the evals in scope are compared. Infrastructure failures count as
/// failures, labelled `infrastructure`.
pub fn changes_since(
    run: &Run,
    shape: &Shape,
    verdicts: &[Verdict],
    prior: &[PriorReport],
    scope: Option<&ReportScope>,
) -> ChangesSince {
    let same_experiment =
        |r: &PriorReport| r.experiment.as_deref().unwrap_or(DEFAULT_EXPERIMENT).eq_ignore_ascii_case(&run.experiment);
    let covers_all = |r: &PriorReport| match (&r.scope, scope) {
        (None, _) => true,
        (Some(_), None) => false,
        (Some(theirs), Some(ours)) => {
            theirs.category == ours.category && (theirs.eval.is_none() || theirs.eval == ours.eval)
        }
    };
    let Some(baseline) = prior.iter().find(|r| same_experiment(r) && covers_all(r)) else {
        let (provider, model) = report_folders(run);
        return ChangesSince::NoPriorReport {
            looked_in: format!("{provider}/{model}/"),
            experiment: run.experiment.clone(),
            other_experiments: prior.iter().filter(|r| !same_experiment(r)).count(),
            partial: prior.iter().filter(|r| same_experiment(r) && !covers_all(r)).count(),
        };
    };
    let in_scope = |path: &EvalPath| scope.is_none_or(|s| s.covers(path));
    let failures: BTreeMap<&EvalPath, &Failure> =
        shape.failures.iter().filter(|f| in_scope(&f.eval_path)).map(|f| (&f.eval_path, f)).collect();
    let verdicts: BTreeMap<&EvalPath, &Verdict> = verdicts.iter().map(|v| (&v.eval_path, v)).collect();
    let label_now = |f: &Failure| -> Option<String> {
        if f.kind.is_infrastructure() {
            return Some(INFRASTRUCTURE.to_owned());
        }
        verdicts.get(&f.eval_path).map(|v| verdict_label(v))
    };

    let mut changes = Changes {
        run_id: baseline.run_id.clone(),
        run_id_prefix: baseline.run_id_prefix.clone(),
        date: baseline.run_date(),
        report: baseline.file_name(),
        ours: baseline.ours,
        experiment: run.experiment.clone(),
        experiment_assumed: baseline.experiment.is_none(),
        scope: scope.cloned(),
        pass_rate_then: baseline.pass_rate,
        pass_rate_now: (count(shape.passed), count(shape.total)),
        fixed: Vec::new(),
        recovered: Vec::new(),
        new_failures: Vec::new(),
        still_failing: Vec::new(),
        relabelled: Vec::new(),
        not_run_now: Vec::new(),
    };

    // Every eval the baseline names as failed, once, matched to the current run's eval.
    let mut named: Vec<&EvalPath> = Vec::new();
    for entry in dedup_entries(&baseline.entries) {
        let eval = run.evals.iter().find(|e| e.path.as_str() == entry.eval).or_else(|| {
            let mut by_name = run.evals.iter().filter(|e| entry.matches(&e.path));
            // A bare name is an eval only when exactly one eval of the run has it.
            match (by_name.next(), by_name.next()) {
                (Some(e), None) => Some(e),
                _ => None,
            }
        });
        let then = Some(entry.label_text());
        let Some(eval) = eval else {
            let path = EvalPath::new(&entry.eval);
            // A name without its category cannot be placed in a scope; keep it only unscoped.
            if scope.is_none() || (entry.eval.contains('/') && in_scope(&path)) {
                changes.not_run_now.push(EvalChange { eval: entry.eval.clone(), label_then: then, label_now: None });
            }
            continue;
        };
        if !in_scope(&eval.path) || named.contains(&&eval.path) {
            continue;
        }
        named.push(&eval.path);
        let eval_name = eval.path.as_str().to_owned();
        match (&eval.status, failures.get(&eval.path)) {
            (EvalStatus::Passed { .. }, _) => {
                let change = EvalChange { eval: eval_name, label_then: then, label_now: None };
                if comparison_key(&entry.label, entry.qualifier.as_deref()) == INFRASTRUCTURE {
                    changes.recovered.push(change);
                } else {
                    changes.fixed.push(change);
                }
            }
            (_, Some(failure)) => {
                let now = label_now(failure);
                let change = EvalChange { eval: eval_name, label_then: then, label_now: now.clone() };
                if let Some(now) = &now
                    && comparison_key(&entry.label, entry.qualifier.as_deref()) != comparison_key(now, None)
                {
                    changes.relabelled.push(change.clone());
                }
                changes.still_failing.push(change);
            }
            _ => changes.not_run_now.push(EvalChange { eval: eval_name, label_then: then, label_now: None }),
        }
    }
    for (path, failure) in &failures {
        if !named.contains(path) {
            changes.new_failures.push(EvalChange {
                eval: path.as_str().to_owned(),
                label_then: None,
                label_now: label_now(failure),
            });
        }
    }
    for list in [
        &mut changes.fixed,
        &mut changes.recovered,
        &mut changes.new_failures,
        &mut changes.still_failing,
        &mut changes.relabelled,
        &mut changes.not_run_now,
    ] {
        list.sort_by(|a, b| a.eval.cmp(&b.eval));
    }
    ChangesSince::Since(changes)
}

/// A report may name an eval twice (a table and a section); the first naming wins.
fn dedup_entries(entries: &[PriorEntry]) -> Vec<&PriorEntry> {
    let mut seen: Vec<&str> = Vec::new();
    let mut out = Vec::new();
    for e in entries {
        if !seen.contains(&e.eval.as_str()) {
            seen.push(&e.eval);
            out.push(e);
        }
    }
    out
}

/// The label a current verdict gives: the classification, or `UNCLASSIFIED (<why>)`.
fn verdict_label(v: &Verdict) -> String {
    match (v.status, v.classification) {
        (VerdictStatus::Done, Some(c)) => c.as_str().to_owned(),
        (VerdictStatus::Error, _) => format!("{UNCLASSIFIED} (analysis error)"),
        (VerdictStatus::Skipped, _) => format!("{UNCLASSIFIED} (skipped)"),
        (VerdictStatus::Done, None) => format!("{UNCLASSIFIED} (no label)"),
    }
}

/// What two labels are compared by: every way of writing an infrastructure failure
/// (`INFRASTRUCTURE (rate_limit)`, `HARNESS_FAILURE (infrastructure)`, `infrastructure`) is one;
/// otherwise the base label, upper-cased, without qualifier.
fn comparison_key(label: &str, qualifier: Option<&str>) -> String {
    let base = label.split(" (").next().unwrap_or(label).trim().to_ascii_uppercase();
    let infra_qualifier =
        qualifier.is_some_and(|q| ["infrastructure", "rate_limit", "rate limit", "generation"].contains(&q.trim()));
    if matches!(base.as_str(), "INFRASTRUCTURE" | "HARNESS_FAILURE") || infra_qualifier {
        INFRASTRUCTURE.to_owned()
    } else {
        base
    }
}

fn count(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use evaltriage_core::{Classification, Eval, EvalId, RunId, RunStatus, TokenUsage, VerdictOrigin};

    use super::*;

    /// How an eval of the test run ended: `pass`, `run` (still running), or a failure reason
    /// (`[rate_limit] ...` is infrastructure).
    fn run(evals: &[(&str, &str)]) -> Run {
        let evals = evals
            .iter()
            .enumerate()
            .map(|(i, (path, end))| {
                let path = EvalPath::new(path);
                let status = match *end {
                    "pass" => EvalStatus::Passed { duration_ms: None },
                    "run" => EvalStatus::Running,
                    reason => EvalStatus::Failed {
                        failure_reason: reason.to_owned(),
                        duration_ms: None,
                        output_storage_id: None,
                        generation_duration_ms: None,
                    },
                };
                Eval {
                    id: EvalId::new(&format!("ev{i}")).unwrap(),
                    category: path.category().to_owned(),
                    name: path.name().to_owned(),
                    path,
                    status,
                    task: None,
                    eval_source_storage_id: None,
                    usage: None,
                    created_at_ms: 0.0,
                    steps: Vec::new(),
                }
            })
            .collect();
        Run {
            id: RunId::new("jn7ak4x9m2qw8hd5tz3vc6pe1r0bfs7g").unwrap(),
            model_id: None,
            model: "anthropic/claude-sonnet-4.5".to_owned(),
            formatted_name: None,
            provider: Some("openrouter".to_owned()),
            experiment: "default".to_owned(),
            status: RunStatus::Completed { duration_ms: None },
            created_at_ms: 0.0,
            planned_evals: Vec::new(),
            evals,
        }
    }

    fn verdicts(run: &Run, labels: &[(&str, Classification)]) -> Vec<Verdict> {
        labels
            .iter()
            .map(|(path, c)| Verdict {
                eval_id: run.find_eval(path).unwrap().id.clone(),
                eval_path: EvalPath::new(path),
                failed_step: None,
                status: VerdictStatus::Done,
                classification: Some(*c),
                error: String::new(),
                reasoning: String::new(),
                model_snippet: None,
                expected_snippet: None,
                confidence: Some(0.9),
                retry_count: 0,
                origin: VerdictOrigin::Rules,
                tokens: TokenUsage::default(),
                missing_evidence: Vec::new(),
            })
            .collect()
    }

    fn prior(name: &str, experiment: Option<&str>, entries: &[(&str, &str, Option<&str>)]) -> PriorReport {
        let date = name.split(['_', '.']).nth(1).unwrap();
        PriorReport {
            path: PathBuf::from(name),
            date: NaiveDate::parse_from_str(date, "%Y-%m-%d").unwrap(),
            run_id_prefix: name.split('_').next().unwrap().to_owned(),
            run_id: None,
            run_ids: Vec::new(),
            ran_at: None,
            passed_evals: None,
            pass_rate: Some((3, 5)),
            experiment: experiment.map(str::to_owned),
            scope: crate::path_scheme::parse_report_file_name(name).unwrap().scope,
            entries: entries
                .iter()
                .map(|(eval, label, qualifier)| PriorEntry {
                    eval: (*eval).to_owned(),
                    label: (*label).to_owned(),
                    qualifier: qualifier.map(str::to_owned),
                    repeat: false,
                    human: None,
                    failed_step: None,
                })
                .collect(),
            actions_taken: Vec::new(),
            ours: false,
            verdicts: Vec::new(),
            notes: Vec::new(),
        }
    }

    fn evals(list: &[EvalChange]) -> Vec<String> {
        list.iter()
            .map(|c| {
                format!(
                    "{} {}→{}",
                    c.eval,
                    c.label_then.as_deref().unwrap_or("-"),
                    c.label_now.as_deref().unwrap_or("-")
                )
            })
            .collect()
    }

    fn since(changes: ChangesSince) -> Changes {
        match changes {
            ChangesSince::Since(c) => c,
            other => panic!("expected changes, got {other:?}"),
        }
    }

    fn current() -> (Run, Vec<Verdict>) {
        let run = run(&[
            ("a/1-fixed", "pass"),
            ("a/2-same", "failed"),
            ("a/3-relabelled", "failed"),
            ("b/1-new", "failed"),
            ("b/2-infra", "[rate_limit] 429"),
            ("b/3-running", "run"),
            ("b/4-pass", "pass"),
        ]);
        let v = verdicts(
            &run,
            &[
                ("a/2-same", Classification::ModelFault),
                ("a/3-relabelled", Classification::KnownGap),
                ("b/1-new", Classification::OverlyStrict),
            ],
        );
        (run, v)
    }

    #[test]
    fn fixed_new_still_failing_relabelled_and_not_run() {
        let (run, verdicts) = current();
        let shape = Shape::of(&run);
        let baseline = prior(
            "jn70aaaa_2026-02-01.md",
            Some("default"),
            &[
                ("a/1-fixed", "MODEL_FAULT", None),
                ("2-same", "MODEL_FAULT", None),
                ("a/3-relabelled", "OVERLY_STRICT", None),
                ("b/2-infra", "HARNESS_FAILURE", Some("infrastructure")),
                ("b/3-running", "MODEL_FAULT", None),
                ("c/9-gone", "KNOWN_GAP", None),
            ],
        );
        let c = since(changes_since(&run, &shape, &verdicts, &[baseline], None));
        assert_eq!(evals(&c.fixed), ["a/1-fixed MODEL_FAULT→-"]);
        assert_eq!(evals(&c.new_failures), ["b/1-new -→OVERLY_STRICT"]);
        assert_eq!(
            evals(&c.still_failing),
            [
                "a/2-same MODEL_FAULT→MODEL_FAULT",
                "a/3-relabelled OVERLY_STRICT→KNOWN_GAP",
                "b/2-infra HARNESS_FAILURE (infrastructure)→infrastructure"
            ]
        );
        assert_eq!(
            evals(&c.relabelled),
            ["a/3-relabelled OVERLY_STRICT→KNOWN_GAP"],
            "infrastructure in any spelling is one label"
        );
        assert_eq!(
            evals(&c.not_run_now),
            ["b/3-running MODEL_FAULT→-", "c/9-gone KNOWN_GAP→-"],
            "never counted as fixed"
        );
        assert_eq!((c.pass_rate_then, c.pass_rate_now), (Some((3, 5)), (2, 7)));
        assert!(!c.experiment_assumed);
        assert_eq!(c.one_line(), "since jn70aaaa (2026-02-01): 3/5 → 2/7 · 1 fixed · 1 new · 1 relabelled");
        let json = c.to_json();
        assert_eq!(json["prior_report"], "jn70aaaa_2026-02-01.md");
        assert_eq!(json["fixed"][0]["eval"], "a/1-fixed");
        assert_eq!(json["still_failing"][1]["label_then"], "OVERLY_STRICT");
        assert_eq!(json["still_failing"][1]["label_now"], "KNOWN_GAP");
        assert_eq!(json["pass_rate_now"]["passed"], 2);
        assert_eq!(json["summary"], c.one_line());
    }

    #[test]
    fn the_baseline_is_the_newest_full_report_of_the_same_experiment() {
        let (run, verdicts) = current();
        let shape = Shape::of(&run);
        let reports = [
            prior("jn79zzzz_2026-02-09.md", Some("no_guidelines"), &[("a/2-same", "MODEL_FAULT", None)]),
            prior("jn78yyyy_2026-02-08.a.md", Some("default"), &[("a/2-same", "MODEL_FAULT", None)]),
            prior("jn77xxxx_2026-02-07.md", None, &[("b/4-pass", "MODEL_FAULT", None)]),
            prior("jn76wwww_2026-02-06.md", Some("default"), &[]),
        ];
        // Another experiment and a partial report are passed over; a report that states no
        // experiment counts as `default`, and says so.
        let c = since(changes_since(&run, &shape, &verdicts, &reports, None));
        assert_eq!(c.report, "jn77xxxx_2026-02-07.md");
        assert!(c.experiment_assumed);
        assert_eq!(evals(&c.fixed), ["b/4-pass MODEL_FAULT→-"]);
        // For a category-level analysis, a report of that category is a baseline.
        let scope = ReportScope { category: "a".to_owned(), eval: None };
        let c = since(changes_since(&run, &shape, &verdicts, &reports, Some(&scope)));
        assert_eq!(c.report, "jn78yyyy_2026-02-08.a.md");
        assert_eq!(evals(&c.still_failing), ["a/2-same MODEL_FAULT→MODEL_FAULT"]);
        assert_eq!(evals(&c.new_failures), ["a/3-relabelled -→KNOWN_GAP"], "only evals in scope");
        // A run of another experiment finds nothing, and says where it looked.
        let mut other = run.clone();
        other.experiment = "no_guidelines_v2".to_owned();
        assert_eq!(
            changes_since(&other, &shape, &verdicts, &reports[1..], None),
            ChangesSince::NoPriorReport {
                looked_in: "anthropic/claude-sonnet-4.5/".to_owned(),
                experiment: "no_guidelines_v2".to_owned(),
                other_experiments: 3,
                partial: 0,
            }
        );
        let none = changes_since(&run, &shape, &verdicts, &[], None);
        assert_eq!(none.one_line(), "no prior report for experiment default in anthropic/claude-sonnet-4.5/");
        assert_eq!(none.to_json()["prior_report"], Value::Null);
        assert_eq!(none.to_json()["looked_in"], "anthropic/claude-sonnet-4.5/");
    }

    #[test]
    fn an_eval_level_analysis_compares_only_its_eval() {
        let (run, verdicts) = current();
        let shape = Shape::of(&run);
        let scope = ReportScope { category: "a".to_owned(), eval: Some("3-relabelled".to_owned()) };
        let reports = [
            prior("jn79zzzz_2026-02-09.a.2-same.md", Some("default"), &[("a/2-same", "MODEL_FAULT", None)]),
            prior(
                "jn78yyyy_2026-02-08.md",
                Some("default"),
                &[("a/3-relabelled", "MODEL_FAULT", None), ("a/1-fixed", "MODEL_FAULT", None)],
            ),
        ];
        let c = since(changes_since(&run, &shape, &verdicts, &reports, Some(&scope)));
        assert_eq!(c.report, "jn78yyyy_2026-02-08.md", "a report about another eval is no baseline");
        assert_eq!(evals(&c.still_failing), ["a/3-relabelled MODEL_FAULT→KNOWN_GAP"]);
        assert!(c.fixed.is_empty() && c.new_failures.is_empty() && c.not_run_now.is_empty());
    }
}
