//! Per-eval history from the prior reports: new, a repeat of the latest prior report (with its
//! label), back after passing (failed in an older report, absent from the latest), and whether a
//! prior **Actions taken** entry claimed to fix it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use chrono::NaiveDate;
use evaltriage_core::EvalPath;

use crate::read::prior_report::PriorReport;

pub(crate) mod changes;

/// Where an eval stands against the prior reports. Every `date` here is the day the prior run
/// ran (see [`PriorReport::run_time`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HistoryStatus {
    /// No prior report names it as failed.
    New,
    /// The latest prior report names it as failed, with this label.
    Repeat { label: String, report: PathBuf, date: NaiveDate },
    /// An older report names it as failed (the newest such is given); the latest prior report
    /// does not, so it passed (or was not run) in between.
    BackAfterPassing { label: String, report: PathBuf, date: NaiveDate },
}

/// A prior **Actions taken** entry that concerns the eval: it claimed to fix it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimedFix {
    pub report: PathBuf,
    pub date: NaiveDate,
    pub action: String,
    /// The run of the report that claimed it, when the report names it.
    pub run_id: Option<String>,
    /// Whether the fix reached the benchmark, when that is known (the eval's source compared
    /// between that run and this one): set by the caller, who can fetch the earlier run.
    pub note: Option<String>,
}

/// One earlier failure of the eval.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PriorFailure {
    pub report: PathBuf,
    pub date: NaiveDate,
    /// `LABEL` or `LABEL (qualifier)`.
    pub label: String,
}

/// The history of one eval.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EvalHistory {
    pub status: HistoryStatus,
    /// The newest prior action that concerns this eval, if any.
    pub claimed_fix: Option<ClaimedFix>,
    /// One per prior run that failed it, newest run first: the newest of that run's reports that
    /// names it (a full report and scoped reports of one run are one run).
    pub prior_failures: Vec<PriorFailure>,
    /// How many prior runs have a report that speaks for this eval (failed or not).
    pub prior_runs: usize,
}

impl EvalHistory {
    const NEW: Self = Self { status: HistoryStatus::New, claimed_fix: None, prior_failures: Vec::new(), prior_runs: 0 };

    /// Failed in the latest prior report too.
    pub fn is_repeat(&self) -> bool {
        matches!(self.status, HistoryStatus::Repeat { .. })
    }

    /// A short phrase: `new`, `repeat (MODEL_FAULT in x.md)`, `back after passing (...)`.
    pub fn summary(&self) -> String {
        let file = |p: &PathBuf| p.file_name().map_or_else(String::new, |n| n.to_string_lossy().into_owned());
        match &self.status {
            HistoryStatus::New => "new".to_owned(),
            HistoryStatus::Repeat { label, report, .. } => format!("repeat ({label} in {})", file(report)),
            HistoryStatus::BackAfterPassing { label, report, .. } => {
                format!("back after passing ({label} in {})", file(report))
            }
        }
    }
}

/// The history of every failed eval of the current run.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct History {
    evals: BTreeMap<EvalPath, EvalHistory>,
    /// The newest prior report, if any. (Per eval, repeats are measured against the newest report
    /// that covers the eval; see [`history`].)
    pub latest: Option<PathBuf>,
}

impl History {
    /// The history of one eval (`new` for an eval this history was not computed for).
    pub fn for_eval(&self, path: &EvalPath) -> &EvalHistory {
        static NEW: EvalHistory = EvalHistory::NEW;
        self.evals.get(path).unwrap_or(&NEW)
    }

    /// Every eval with its history, in eval-path order.
    pub fn iter(&self) -> impl Iterator<Item = (&EvalPath, &EvalHistory)> {
        self.evals.iter()
    }

    /// Says of an eval's claimed fix whether it reached the benchmark.
    pub fn note_claimed_fix(&mut self, path: &EvalPath, note: &str) {
        if let Some(fix) = self.evals.get_mut(path).and_then(|h| h.claimed_fix.as_mut()) {
            fix.note = Some(note.to_owned());
        }
    }
}

/// Computes the history of the current failures against prior reports given newest run first (the
/// run's own earlier report and later runs already left out, see [`crate::prior_reports_for_run`]).
/// Runs are counted, not files: a full report and scoped reports of one run are one run.
///
/// A scoped prior report (a category- or eval-level analysis) speaks only for the evals it covers:
/// per eval, "the latest prior report" is the newest one that covers it, so a newer report about
/// another eval does not turn a repeat into "back after passing".
pub fn history(prior: &[PriorReport], current_failures: &[EvalPath]) -> History {
    let mut evals = BTreeMap::new();
    for path in current_failures {
        let mut runs_failed: BTreeSet<&str> = BTreeSet::new();
        let mut prior_failures: Vec<PriorFailure> = Vec::new();
        for r in prior.iter().filter(|r| r.covers(path)) {
            // The newest report of each run that names it speaks for that run. A reviewer's label
            // is authoritative: it is the one the next analysis starts from.
            if let Some(e) = r.entry_for(path)
                && runs_failed.insert(r.run_key())
            {
                prior_failures.push(PriorFailure {
                    report: r.path.clone(),
                    date: r.run_date(),
                    label: e.authoritative_label(),
                });
            }
        }
        let latest = prior.iter().find(|r| r.covers(path));
        let status = match (latest, prior_failures.first()) {
            (Some(latest), Some(f)) if f.report == latest.path => {
                HistoryStatus::Repeat { label: f.label.clone(), report: f.report.clone(), date: f.date }
            }
            (_, Some(f)) => {
                HistoryStatus::BackAfterPassing { label: f.label.clone(), report: f.report.clone(), date: f.date }
            }
            (_, None) => HistoryStatus::New,
        };
        let claimed_fix = prior.iter().find_map(|r| {
            r.actions_taken.iter().find(|a| a.concerns(path)).map(|a| ClaimedFix {
                report: r.path.clone(),
                date: r.run_date(),
                action: a.text.clone(),
                run_id: r.run_id.clone(),
                note: None,
            })
        });
        let prior_runs =
            prior.iter().filter(|r| r.covers(path)).map(PriorReport::run_key).collect::<BTreeSet<_>>().len();
        evals.insert(path.clone(), EvalHistory { status, claimed_fix, prior_failures, prior_runs });
    }
    History { evals, latest: prior.first().map(|r| r.path.clone()) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::path_scheme::ReportScope;
    use crate::read::prior_report::{ActionTaken, PriorEntry};

    fn report(name: &str, day: u32, entries: &[(&str, &str)], actions: &[&str]) -> PriorReport {
        PriorReport {
            path: PathBuf::from(name),
            date: NaiveDate::from_ymd_opt(2026, 2, day).unwrap(),
            run_id_prefix: name.split('_').next().unwrap().to_owned(),
            run_id: None,
            run_ids: Vec::new(),
            ran_at: None,
            passed_evals: None,
            pass_rate: None,
            experiment: None,
            scope: None,
            entries: entries
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
            actions_taken: actions.iter().map(|a| ActionTaken { text: (*a).to_owned(), eval: None }).collect(),
            ours: false,
            verdicts: Vec::new(),
            notes: Vec::new(),
        }
    }

    fn check(prior: &[PriorReport], eval: &str, expected_summary: &str, expected_fix: Option<&str>) {
        let path = EvalPath::new(eval);
        let h = history(prior, std::slice::from_ref(&path));
        let e = h.for_eval(&path);
        assert_eq!(e.summary(), expected_summary, "{eval}");
        assert_eq!(e.claimed_fix.as_ref().map(|f| f.action.as_str()), expected_fix, "{eval}");
    }

    #[test]
    fn new_repeat_and_back_after_passing() {
        let prior = [
            report("bbbbbbbb_2026-02-10.md", 10, &[("000-fundamentals/003-crons", "MODEL_FAULT")], &[]),
            report(
                "aaaaaaaa_2026-02-01.md",
                1,
                &[("003-crons", "KNOWN_GAP"), ("014-select_distinct", "OVERLY_STRICT")],
                &["Downgraded prefer-const — addresses `014-select_distinct`", "touched 003-cronsx only"],
            ),
        ];
        check(&prior, "000-fundamentals/003-crons", "repeat (MODEL_FAULT in bbbbbbbb_2026-02-10.md)", None);
        check(
            &prior,
            "002-queries/014-select_distinct",
            "back after passing (OVERLY_STRICT in aaaaaaaa_2026-02-01.md)",
            Some("Downgraded prefer-const — addresses `014-select_distinct`"),
        );
        check(&prior, "004-actions/001-run_mutation", "new", None);
        check(&[], "004-actions/001-run_mutation", "new", None);
        let h = history(&prior, &[EvalPath::new("000-fundamentals/003-crons")]);
        assert_eq!(h.for_eval(&EvalPath::new("000-fundamentals/003-crons")).prior_failures.len(), 2);
        assert_eq!(h.for_eval(&EvalPath::new("unknown/x")).status, HistoryStatus::New);
    }

    #[test]
    fn a_scoped_prior_report_does_not_mask_the_history_of_other_evals() {
        let scoped = |name: &str, day: u32, category: &str, eval: Option<&str>, entries: &[(&str, &str)]| {
            let mut r = report(name, day, entries, &[]);
            r.scope = Some(ReportScope { category: category.to_owned(), eval: eval.map(str::to_owned) });
            r
        };
        let prior = [
            // Newest: an eval-level analysis of another eval, and a category-level one.
            scoped(
                "cccccccc_2026-02-12.000-fundamentals.004-other.md",
                12,
                "000-fundamentals",
                Some("004-other"),
                &[("000-fundamentals/004-other", "MODEL_FAULT")],
            ),
            scoped(
                "cccccccc_2026-02-11.002-queries.md",
                11,
                "002-queries",
                None,
                &[("002-queries/014-select_distinct", "OVERLY_STRICT")],
            ),
            report(
                "bbbbbbbb_2026-02-10.md",
                10,
                &[("000-fundamentals/003-crons", "MODEL_FAULT"), ("002-queries/014-select_distinct", "KNOWN_GAP")],
                &[],
            ),
        ];
        // The eval-level report about 004-other does not speak for 003-crons: still a repeat of
        // the full report.
        check(&prior, "000-fundamentals/003-crons", "repeat (MODEL_FAULT in bbbbbbbb_2026-02-10.md)", None);
        // The category report covers 014 and is newer than the full report.
        check(
            &prior,
            "002-queries/014-select_distinct",
            "repeat (OVERLY_STRICT in cccccccc_2026-02-11.002-queries.md)",
            None,
        );
        check(
            &prior,
            "000-fundamentals/004-other",
            "repeat (MODEL_FAULT in cccccccc_2026-02-12.000-fundamentals.004-other.md)",
            None,
        );
        // A category report that covers an eval and does not name it: the eval passed there.
        check(
            &[scoped("dddddddd_2026-02-13.000-fundamentals.md", 13, "000-fundamentals", None, &[]), prior[2].clone()],
            "000-fundamentals/003-crons",
            "back after passing (MODEL_FAULT in bbbbbbbb_2026-02-10.md)",
            None,
        );
    }
}
