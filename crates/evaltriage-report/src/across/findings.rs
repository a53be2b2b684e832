//! Findings: failures promoted to tracked items, derived from the reports every time (the reports
//! stay the one source of truth; nothing is stored beside them). A **model** finding is a failure
//! of one model's eval that recurs (failed in two runs or more, or claimed fixed), **flaky** when it passed and
//! failed in turn; a **grader** finding is a grader suspect (one per eval, step and error). States:
//! `new` (its second failure is the latest run that had it) → `recurring` (failed again since)
//! → `fix-claimed` (an **Actions taken** entry names the eval: in the model's own reports for a
//! model finding, in any report for a grader finding) → `verified` (passed in the runs after the
//! claim, `verify_after` of them, and failed in none) or `reopened` (failed again after the
//! claim). Each finding says which runs decided its state.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Duration, Utc};
use evaltriage_core::EvalPath;
use serde_json::{Value, json};

use super::suspects::{GraderSuspect, grader_suspects, signature};
use super::{AcrossOptions, EvalOutcome, RunRecord, RunReference, rfc3339, series, stable_hash};
use crate::read::prior_report::ActionTaken;

/// What a finding is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FindingKind {
    /// One model's eval failing again and again.
    Model,
    /// One model's eval passing and failing in turn.
    Flaky,
    /// An eval failing the same way for several models.
    Grader,
}

impl FindingKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Model => "model",
            Self::Flaky => "flaky",
            Self::Grader => "grader",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "model" => Some(Self::Model),
            "flaky" => Some(Self::Flaky),
            "grader" => Some(Self::Grader),
            _ => None,
        }
    }
}

/// Where a finding is in its lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FindingState {
    New,
    Recurring,
    FixClaimed,
    Verified,
    Reopened,
}

impl FindingState {
    pub const ALL: [Self; 5] = [Self::New, Self::Recurring, Self::FixClaimed, Self::Verified, Self::Reopened];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::New => "new",
            Self::Recurring => "recurring",
            Self::FixClaimed => "fix-claimed",
            Self::Verified => "verified",
            Self::Reopened => "reopened",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim().to_ascii_lowercase().replace('_', "-");
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// Still asking for attention: every state but `verified`.
    pub fn is_open(self) -> bool {
        self != Self::Verified
    }
}

/// An **Actions taken** entry that claims a fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    pub text: String,
    /// The run whose report holds the entry.
    pub run: RunReference,
    /// From when runs count as after the claim: the run's time, or the time the entry starts
    /// with when that is later (`2026-08-21T10:03:00Z: ...`, as `findings claim` writes it).
    pub at: DateTime<Utc>,
}

/// One tracked failure.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    /// `m-` (a model's eval) or `g-` (a grader suspect) and 8 hex digits; stable across nights.
    pub id: String,
    pub kind: FindingKind,
    pub state: FindingState,
    /// The model; `None` for a grader finding.
    pub model: Option<String>,
    pub experiment: Option<String>,
    pub eval: String,
    /// Failures and runs that had the eval over the window (every affected model's, for a grader
    /// finding).
    pub failed: usize,
    pub had: usize,
    /// Outcomes over the window, oldest first (`✓✗✗·✓`).
    pub pattern: String,
    pub first_failed: Option<RunReference>,
    pub last_failed: Option<RunReference>,
    pub claim: Option<Claim>,
    /// The runs that decided the state: the failures (new, recurring), the claim's run and the
    /// runs after it (fix-claimed), the passing runs (verified), the failure after the claim
    /// (reopened).
    pub deciding: Vec<RunReference>,
    /// The state in one sentence.
    pub why: String,
    /// The suspect, for a grader finding.
    pub suspect: Option<GraderSuspect>,
}

impl Finding {
    /// The report a claim by command is written into: the newest failing run's.
    pub fn claim_report(&self) -> Option<&RunReference> {
        self.last_failed.as_ref().filter(|r| !r.report.is_empty())
    }

    /// `model eval` or `grader eval`, for one line.
    pub fn subject(&self) -> String {
        match &self.model {
            Some(m) => format!("{m} {}", self.eval),
            None => format!("{} models {}", self.suspect.as_ref().map_or(0, |s| s.models.len()), self.eval),
        }
    }

    pub fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "kind": self.kind.as_str(),
            "state": self.state.as_str(),
            "open": self.state.is_open(),
            "model": self.model,
            "experiment": self.experiment,
            "eval": self.eval,
            "failed": self.failed,
            "runs": self.had,
            "pattern": self.pattern,
            "first_failed": self.first_failed.as_ref().map(RunReference::json),
            "last_failed": self.last_failed.as_ref().map(RunReference::json),
            "claim": self.claim.as_ref().map(|c| json!({
                "text": c.text,
                "at": rfc3339(c.at),
                "run": c.run.json(),
            })),
            "deciding_runs": self.deciding.iter().map(RunReference::json).collect::<Vec<_>>(),
            "why": self.why,
            "suspect": self.suspect.as_ref().map(GraderSuspect::to_json),
        })
    }
}

/// A finding whose state changed between two computations (a night: before and after).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FindingChange {
    pub id: String,
    pub kind: FindingKind,
    pub subject: String,
    /// `None`: it was not a finding before.
    pub from: Option<FindingState>,
    /// `None`: it is no longer a finding (its failures left the window).
    pub to: Option<FindingState>,
}

impl FindingChange {
    /// `m-1a2b3c4d p/m c/x: recurring → verified`.
    pub fn line(&self) -> String {
        let state = |s: Option<FindingState>| s.map_or("(none)", FindingState::as_str);
        format!("{} {}: {} → {}", self.id, self.subject, state(self.from), state(self.to))
    }

    pub fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "kind": self.kind.as_str(),
            "subject": self.subject,
            "from": self.from.map(FindingState::as_str),
            "to": self.to.map(FindingState::as_str),
        })
    }
}

/// The findings that are new, changed state or went away between `before` and `after`.
pub fn finding_changes(before: &[Finding], after: &[Finding]) -> Vec<FindingChange> {
    let old: BTreeMap<&str, &Finding> = before.iter().map(|f| (f.id.as_str(), f)).collect();
    let new_ids: BTreeSet<&str> = after.iter().map(|f| f.id.as_str()).collect();
    let mut out: Vec<FindingChange> = after
        .iter()
        .filter(|f| old.get(f.id.as_str()).is_none_or(|o| o.state != f.state))
        .map(|f| FindingChange {
            id: f.id.clone(),
            kind: f.kind,
            subject: f.subject(),
            from: old.get(f.id.as_str()).map(|o| o.state),
            to: Some(f.state),
        })
        .collect();
    out.extend(before.iter().filter(|f| !new_ids.contains(f.id.as_str())).map(|f| FindingChange {
        id: f.id.clone(),
        kind: f.kind,
        subject: f.subject(),
        from: Some(f.state),
        to: None,
    }));
    out
}

/// Every finding among `records` (any order): grader findings first, then by model and eval.
pub fn findings(records: &[RunRecord], options: &AcrossOptions) -> Vec<Finding> {
    let mut out = grader_findings(records, options);
    for s in series(records) {
        let skip = s.runs.len().saturating_sub(options.window_runs.max(1));
        let window = &s.runs[skip..];
        let failed: BTreeSet<&str> = window
            .iter()
            .flat_map(|r| r.failures.iter().filter(|f| !f.infrastructure).map(|f| f.eval.as_str()))
            .collect();
        for eval in failed {
            if let Some(f) = model_finding(s.model(), &s.experiment, &s.model_key, window, eval, options) {
                out.push(f);
            }
        }
    }
    out
}

/// The time an entry says it was written (`2026-08-21T10:03:00Z: ...` or `2026-08-21: ...`),
/// when it starts with one.
fn written_at(text: &str) -> Option<DateTime<Utc>> {
    let first = text.trim_start().trim_start_matches("- ").split_whitespace().next()?.trim_end_matches([':', ',']);
    if let Ok(t) = DateTime::parse_from_rfc3339(first) {
        return Some(t.with_timezone(&Utc));
    }
    chrono::NaiveDate::parse_from_str(first, "%Y-%m-%d").ok().map(|d| d.and_time(chrono::NaiveTime::MIN).and_utc())
}

/// The newest claim among `runs`' Actions taken that concerns `eval`.
fn latest_claim<'a>(runs: impl IntoIterator<Item = &'a RunRecord>, eval: &str) -> Option<Claim> {
    let path = EvalPath::new(eval);
    runs.into_iter()
        .flat_map(|r| r.actions.iter().filter(|a: &&ActionTaken| a.concerns(&path)).map(move |a| (r, a)))
        .map(|(r, a)| Claim {
            text: a.text.clone(),
            run: r.reference(),
            at: written_at(&a.text).map_or(r.ran_at, |t| t.max(r.ran_at)),
        })
        .max_by(|a, b| a.at.cmp(&b.at).then_with(|| a.run.run_key.cmp(&b.run.run_key)))
}

/// What happened after a claim: reopened at the first failure, verified after enough passes,
/// else still claimed.
fn after_claim<'a>(
    claim: &Claim,
    after: impl Iterator<Item = (&'a RunRecord, bool)>,
    verify_after: usize,
) -> (FindingState, Vec<RunReference>, String) {
    let after: Vec<(&RunRecord, bool)> = after.collect();
    // A failure after the claim reopens it, even after runs that verified it.
    if let Some((run, _)) = after.iter().find(|(_, failed)| *failed) {
        let why = format!(
            "a fix was claimed in run {} ({}); it failed again in run {} ({})",
            claim.run.run_key,
            claim.at.format("%Y-%m-%d"),
            run.run_key,
            run.ran_at.format("%Y-%m-%d")
        );
        return (FindingState::Reopened, vec![claim.run.clone(), run.reference()], why);
    }
    let passes: Vec<RunReference> = after.iter().map(|(r, _)| r.reference()).collect();
    if passes.len() >= verify_after.max(1) {
        let passes = &passes[..verify_after.max(1)];
        let why = format!(
            "a fix was claimed in run {}; it passed in the {} runs after it ({}) and failed in none",
            claim.run.run_key,
            passes.len(),
            passes.iter().map(|p| p.run_key.as_str()).collect::<Vec<_>>().join(", ")
        );
        let mut deciding = vec![claim.run.clone()];
        deciding.extend_from_slice(passes);
        return (FindingState::Verified, deciding, why);
    }
    let why = format!(
        "a fix was claimed in run {}; {} passing run{} since, {} needed to verify it",
        claim.run.run_key,
        passes.len(),
        if passes.len() == 1 { "" } else { "s" },
        verify_after.max(1)
    );
    let mut deciding = vec![claim.run.clone()];
    deciding.extend(passes);
    (FindingState::FixClaimed, deciding, why)
}

/// Changed between passing and failing at least twice over the runs that had it.
fn is_flaky(outcomes: &[EvalOutcome]) -> bool {
    let present: Vec<bool> =
        outcomes.iter().filter(|o| **o != EvalOutcome::Absent).map(|o| *o == EvalOutcome::Failed).collect();
    present.windows(2).filter(|w| w[0] != w[1]).count() >= 2
}

fn model_finding(
    model: &str,
    experiment: &str,
    model_key: &str,
    window: &[&RunRecord],
    eval: &str,
    options: &AcrossOptions,
) -> Option<Finding> {
    let outcomes: Vec<EvalOutcome> = window.iter().map(|r| r.outcome(eval)).collect();
    let failing: Vec<&RunRecord> =
        window.iter().zip(&outcomes).filter(|(_, o)| **o == EvalOutcome::Failed).map(|(r, _)| *r).collect();
    let claim = latest_claim(window.iter().copied(), eval);
    let latest_had = window.iter().zip(&outcomes).rev().find(|(_, o)| **o != EvalOutcome::Absent).map(|(r, _)| *r);
    let before_claim: Vec<EvalOutcome> = window
        .iter()
        .zip(&outcomes)
        .filter(|(r, _)| claim.as_ref().is_none_or(|c| r.ran_at <= c.at))
        .map(|(_, o)| *o)
        .collect();
    let kind = if is_flaky(&before_claim) { FindingKind::Flaky } else { FindingKind::Model };
    let (state, deciding, why) = match &claim {
        Some(c) => after_claim(
            c,
            window
                .iter()
                .zip(&outcomes)
                .filter(|(r, o)| r.ran_at > c.at && **o != EvalOutcome::Absent)
                .map(|(r, o)| (*r, *o == EvalOutcome::Failed)),
            options.verify_after,
        ),
        None if failing.len() == 2 && latest_had.is_some_and(|r| std::ptr::eq(r, failing[1])) => (
            FindingState::New,
            failing.iter().map(|r| r.reference()).collect(),
            format!("failed again in its latest run ({}): a failure that recurs, tracked from now", failing[1].run_key),
        ),
        None if failing.len() >= 2 => (
            FindingState::Recurring,
            failing.iter().map(|r| r.reference()).collect(),
            format!(
                "failed in {} of the {} runs that had it",
                failing.len(),
                outcomes.iter().filter(|o| **o != EvalOutcome::Absent).count()
            ),
        ),
        None => return None,
    };
    Some(Finding {
        id: format!("m-{:08x}", stable_hash(&["model", model_key, experiment, eval]) >> 32),
        kind,
        state,
        model: Some(model.to_owned()),
        experiment: Some(experiment.to_owned()),
        eval: eval.to_owned(),
        failed: failing.len(),
        had: outcomes.iter().filter(|o| **o != EvalOutcome::Absent).count(),
        pattern: outcomes.iter().map(|o| o.mark()).collect(),
        first_failed: failing.first().map(|r| r.reference()),
        last_failed: failing.last().map(|r| r.reference()),
        claim,
        deciding,
        why,
        suspect: None,
    })
}

fn grader_findings(records: &[RunRecord], options: &AcrossOptions) -> Vec<Finding> {
    let until = records.iter().map(|r| r.ran_at).max();
    let suspects = grader_suspects(records, options, until);
    let Some(until) = until else { return Vec::new() };
    let from = until - Duration::days(i64::from(options.suspect_days.max(1)));
    let mut out = Vec::new();
    for suspect in suspects {
        let affected: BTreeSet<&str> = suspect.models.iter().map(String::as_str).collect();
        // The affected models' runs of the eval in the window, oldest first.
        let mut runs: Vec<&RunRecord> = records
            .iter()
            .filter(|r| r.ran_at >= from && affected.contains(r.model.as_str()))
            .filter(|r| r.outcome(&suspect.eval) != EvalOutcome::Absent)
            .collect();
        runs.sort_by(|a, b| a.ran_at.cmp(&b.ran_at).then_with(|| a.run_key.cmp(&b.run_key)));
        let same_failure = |r: &RunRecord| {
            r.failure(&suspect.eval).is_some_and(|f| {
                f.step.as_deref().unwrap_or("none") == suspect.step
                    && f.error.as_deref().is_some_and(|e| signature(e) == suspect.signature)
            })
        };
        let failing: Vec<&RunRecord> = runs.iter().copied().filter(|r| same_failure(r)).collect();
        let claim = latest_claim(records.iter().filter(|r| r.ran_at >= suspect.since), &suspect.eval);
        let (state, deciding, why) = match &claim {
            Some(c) => after_claim(
                c,
                runs.iter().filter(|r| r.ran_at > c.at).map(|r| (*r, same_failure(r))),
                options.verify_after,
            ),
            None => {
                let state = if suspect.since >= until - Duration::days(1) {
                    FindingState::New
                } else {
                    FindingState::Recurring
                };
                (state, suspect.runs.clone(), suspect.describe())
            }
        };
        out.push(Finding {
            id: format!("g-{:08x}", stable_hash(&["grader", &suspect.eval, &suspect.step, &suspect.signature]) >> 32),
            kind: FindingKind::Grader,
            state,
            model: None,
            experiment: None,
            eval: suspect.eval.clone(),
            failed: failing.len(),
            had: runs.len(),
            pattern: runs.iter().map(|r| if same_failure(r) { '✗' } else { r.outcome(&suspect.eval).mark() }).collect(),
            first_failed: failing.first().map(|r| r.reference()),
            last_failed: failing.last().map(|r| r.reference()),
            claim,
            deciding,
            why,
            suspect: Some(suspect),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::test_support::record;
    use super::*;

    fn claim_in(r: &mut RunRecord, text: &str) {
        r.actions.push(ActionTaken { text: text.to_owned(), eval: None });
    }

    fn one<'a>(all: &'a [Finding], eval: &str) -> &'a Finding {
        all.iter()
            .find(|f| f.eval == eval && f.kind != FindingKind::Grader)
            .unwrap_or_else(|| panic!("{eval}: {all:#?}"))
    }

    #[test]
    fn new_recurring_and_noise() {
        let records = vec![
            record("p/m", "r0", 0, &["c/x", "c/new", "c/last"], &[("c/y", "e"), ("c/once", "e")]),
            record("p/m", "r1", 1, &["c/x", "c/once", "c/last"], &[("c/y", "e"), ("c/new", "e")]),
            record("p/m", "r2", 2, &["c/x", "c/once"], &[("c/y", "e"), ("c/new", "e"), ("c/last", "e")]),
        ];
        let all = findings(&records, &AcrossOptions::default());
        assert_eq!(one(&all, "c/y").state, FindingState::Recurring);
        assert_eq!(one(&all, "c/y").deciding.len(), 3);
        assert_eq!(one(&all, "c/new").state, FindingState::New);
        assert!(all.iter().all(|f| f.eval != "c/once" && f.eval != "c/last"), "one failure does not recur");
        assert!(all.iter().all(|f| f.kind != FindingKind::Grader));
        assert!(one(&all, "c/y").id.starts_with("m-"));
    }

    #[test]
    fn a_claimed_fix_is_verified_after_two_passes_and_reopened_after_a_failure() {
        let mut runs = vec![record("p/m", "r0", 0, &[], &[("c/x", "e")]), record("p/m", "r1", 1, &[], &[("c/x", "e")])];
        claim_in(&mut runs[1], "relaxed the grader of `c/x`");
        let all = findings(&runs, &AcrossOptions::default());
        assert_eq!(one(&all, "c/x").state, FindingState::FixClaimed);
        runs.push(record("p/m", "r2", 2, &["c/x"], &[]));
        assert_eq!(one(&findings(&runs, &AcrossOptions::default()), "c/x").state, FindingState::FixClaimed);
        runs.push(record("p/m", "r3", 3, &["c/x"], &[]));
        let verified = findings(&runs, &AcrossOptions::default());
        let f = one(&verified, "c/x");
        assert_eq!(f.state, FindingState::Verified);
        assert_eq!(f.deciding.iter().map(|r| r.run_key.as_str()).collect::<Vec<_>>(), ["r1", "r2", "r3"]);
        assert_eq!(f.kind, FindingKind::Model);
        runs.push(record("p/m", "r4", 4, &[], &[("c/x", "e")]));
        let reopened = findings(&runs, &AcrossOptions::default());
        let f = one(&reopened, "c/x");
        assert_eq!(f.state, FindingState::Reopened);
        assert_eq!(f.deciding.iter().map(|r| r.run_key.as_str()).collect::<Vec<_>>(), ["r1", "r4"]);
        let changes = finding_changes(&verified, &reopened);
        assert_eq!(changes.len(), 1);
        assert_eq!(changes[0].from, Some(FindingState::Verified));
        assert!(changes[0].line().ends_with("verified → reopened"), "{}", changes[0].line());
        assert_eq!(f.to_json()["deciding_runs"][1]["run_id_prefix"], "r4");
    }

    #[test]
    fn a_claim_written_later_counts_from_its_time() {
        let mut runs = vec![
            record("p/m", "r0", 0, &[], &[("c/x", "e")]),
            record("p/m", "r1", 1, &[], &[("c/x", "e")]),
            record("p/m", "r2", 30, &[], &[("c/x", "e")]),
        ];
        // Claimed in r1's report, but written after r2 ran: r2's failure is not after it.
        claim_in(&mut runs[1], "2026-08-03T00:00:00Z: c/x — fixed the task");
        assert_eq!(one(&findings(&runs, &AcrossOptions::default()), "c/x").state, FindingState::FixClaimed);
        assert_eq!(written_at("2026-08-03: x"), Some("2026-08-03T00:00:00Z".parse().unwrap()));
        assert_eq!(written_at("fixed it"), None);
    }

    #[test]
    fn flaky_and_the_grader_finding() {
        let runs = vec![
            record("p/m", "r0", 0, &[], &[("c/f", "e")]),
            record("p/m", "r1", 1, &["c/f"], &[]),
            record("p/m", "r2", 2, &[], &[("c/f", "e")]),
        ];
        assert_eq!(one(&findings(&runs, &AcrossOptions::default()), "c/f").kind, FindingKind::Flaky);
        let mut runs: Vec<RunRecord> = ["p/a", "p/b", "p/c", "p/d"]
            .iter()
            .enumerate()
            .map(|(i, m)| record(m, &format!("{i}"), i as i64, &[], &[("c/g", "tests failed (10%): × t — boom")]))
            .collect();
        let grader = |runs: &[RunRecord]| {
            findings(runs, &AcrossOptions::default()).into_iter().find(|f| f.kind == FindingKind::Grader).unwrap()
        };
        let g = grader(&runs);
        assert_eq!(g.state, FindingState::New);
        assert!(g.id.starts_with("g-"));
        claim_in(&mut runs[3], "fixed the grader of c/g");
        runs.push(record("p/a", "a5", 5, &["c/g"], &[]));
        runs.push(record("p/b", "b6", 6, &["c/g"], &[]));
        assert_eq!(grader(&runs).state, FindingState::Verified);
    }
}
