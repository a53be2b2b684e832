//! Grader suspects: an eval that fails for several distinct models in the window with the same
//! decisive error — the same failing step and the same normalised error or failing assertion
//! (core's `error_signature`) — is more likely the grader's fault than each model's. By default it
//! takes at least 3 models and half of the models that ran the eval, so two models that happen to
//! share a typo never make one. Only failures whose error is known count (our reports' verdicts,
//! and the run being analyzed); infrastructure failures never do.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Duration, Utc};
use evaltriage_core::shape::error_signature;
use serde_json::{Value, json};

use super::{AcrossOptions, EvalOutcome, RunRecord, RunReference, rfc3339};

/// An eval failing the same way for several models.
#[derive(Debug, Clone, PartialEq)]
pub struct GraderSuspect {
    pub eval: String,
    /// The failing step (`tests`), or `none`.
    pub step: String,
    /// The normalised error the failures share.
    pub signature: String,
    /// One of the errors as written (the newest).
    pub error: String,
    /// The models failing with it, by name.
    pub models: Vec<String>,
    /// The models that ran the eval in the window (failing or not).
    pub ran: usize,
    /// The first and last run failing with it in the window.
    pub since: DateTime<Utc>,
    pub last: DateTime<Utc>,
    /// The newest failing run of each affected model.
    pub runs: Vec<RunReference>,
    /// The window: the days it looked back.
    pub days: u32,
}

impl GraderSuspect {
    /// `the tests step failed the same way for 4 of 6 models that ran it in the last 7 days (a, b,
    /// c, d), since 2026-08-18: <error>` — the line shown in reports and given to the LLM.
    pub fn describe(&self) -> String {
        format!(
            "the {} step failed the same way for {} of {} models that ran it in the last {} days ({}), since {}: {}",
            self.step,
            self.models.len(),
            self.ran,
            self.days,
            self.models.join(", "),
            self.since.format("%Y-%m-%d"),
            self.error
        )
    }

    /// Whether a failure of `eval` at `step` with `error` is this suspect's.
    pub fn matches(&self, eval: &str, step: Option<&str>, error: &str) -> bool {
        self.eval == eval && self.step == step.unwrap_or("none") && self.signature == signature(error)
    }

    pub fn to_json(&self) -> Value {
        json!({
            "eval": self.eval,
            "failed_step": self.step,
            "signature": self.signature,
            "error": self.error,
            "models": self.models,
            "failing_models": self.models.len(),
            "models_that_ran": self.ran,
            "since": rfc3339(self.since),
            "last": rfc3339(self.last),
            "days": self.days,
            "runs": self.runs.iter().map(RunReference::json).collect::<Vec<_>>(),
        })
    }
}

/// The normalised error failures are compared on. A bare `tests failed (40%)` (no failing test
/// named) keeps its percentage: without it every tests failure of the eval would look alike.
pub(crate) fn signature(error: &str) -> String {
    let trimmed = error.trim();
    let bare_tests = trimmed
        .strip_prefix("tests failed (")
        .and_then(|r| r.strip_suffix("%)"))
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit() || b == b'.'));
    if bare_tests { trimmed.to_owned() } else { error_signature(trimmed) }
}

/// The grader suspects among `records` over the `options.suspect_days` days up to `until` (by
/// default the newest run), by eval then step.
pub fn grader_suspects(
    records: &[RunRecord],
    options: &AcrossOptions,
    until: Option<DateTime<Utc>>,
) -> Vec<GraderSuspect> {
    let Some(until) = until.or_else(|| records.iter().map(|r| r.ran_at).max()) else { return Vec::new() };
    let from = until - Duration::days(i64::from(options.suspect_days.max(1)));
    let window: Vec<&RunRecord> = records.iter().filter(|r| r.ran_at >= from && r.ran_at <= until).collect();

    struct Group<'a> {
        models: BTreeMap<String, &'a RunRecord>,
        error: (DateTime<Utc>, String),
        since: DateTime<Utc>,
    }
    let mut groups: BTreeMap<(String, String, String), Group<'_>> = BTreeMap::new();
    for r in &window {
        for f in r.failures.iter().filter(|f| !f.infrastructure) {
            let Some(error) = f.error.as_deref() else { continue };
            let key = (f.eval.clone(), f.step.clone().unwrap_or_else(|| "none".to_owned()), signature(error));
            let g = groups.entry(key).or_insert_with(|| Group {
                models: BTreeMap::new(),
                error: (r.ran_at, error.to_owned()),
                since: r.ran_at,
            });
            let newest = g.models.entry(r.model_key.clone()).or_insert(r);
            if r.ran_at > newest.ran_at {
                *newest = r;
            }
            if r.ran_at >= g.error.0 {
                g.error = (r.ran_at, error.to_owned());
            }
            g.since = g.since.min(r.ran_at);
        }
    }
    // Models that ran each candidate eval: a report that lists no passes had every eval.
    let candidates: BTreeSet<&str> = groups
        .iter()
        .filter(|(_, g)| g.models.len() >= options.suspect_min_models.max(2))
        .map(|((eval, _, _), _)| eval.as_str())
        .collect();
    let mut ran: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for r in &window {
        for eval in &candidates {
            if r.outcome(eval) != EvalOutcome::Absent {
                ran.entry(eval).or_default().insert(r.model_key.as_str());
            }
        }
    }
    let mut out = Vec::new();
    for ((eval, step, signature), g) in &groups {
        let failing = g.models.len();
        let ran = ran.get(eval.as_str()).map_or(failing, BTreeSet::len).max(failing);
        if failing < options.suspect_min_models.max(2) || (failing as f64) < options.suspect_min_share * ran as f64 {
            continue;
        }
        let mut runs: Vec<&RunRecord> = g.models.values().copied().collect();
        runs.sort_by(|a, b| a.model.cmp(&b.model));
        out.push(GraderSuspect {
            eval: eval.clone(),
            step: step.clone(),
            signature: signature.clone(),
            error: g.error.1.clone(),
            models: runs.iter().map(|r| r.model.clone()).collect(),
            ran,
            since: g.since,
            last: runs.iter().map(|r| r.ran_at).max().unwrap_or(g.since),
            runs: runs.iter().map(|r| r.reference()).collect(),
            days: options.suspect_days.max(1),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::test_support::record;
    use super::*;

    const ASSERT: &str = "tests failed (50%): × lists messages — expected 4 to be 5";

    #[test]
    fn four_models_failing_alike_make_a_suspect_one_does_not() {
        let mut records = Vec::new();
        for (m, model) in ["p/a", "p/b", "p/c", "p/d"].iter().enumerate() {
            // The same assertion, with other numbers: the same signature.
            let error = ASSERT.replace('4', &m.to_string());
            records.push(record(model, &format!("{m}x"), m as i64, &["c/ok"], &[("c/shared", &error)]));
        }
        records.push(record("p/e", "ex", 5, &["c/shared"], &[("c/alone", "tsc: 'x' is missing")]));
        records.push(record("p/f", "fx", 6, &["c/shared"], &[]));
        let s = grader_suspects(&records, &AcrossOptions::default(), None);
        assert_eq!(s.len(), 1, "{s:#?}");
        assert_eq!(s[0].eval, "c/shared");
        assert_eq!(s[0].models, ["p/a", "p/b", "p/c", "p/d"]);
        assert_eq!(s[0].ran, 6);
        assert!(
            s[0].describe().starts_with("the tests step failed the same way for 4 of 6 models"),
            "{}",
            s[0].describe()
        );
        assert!(s[0].matches("c/shared", Some("tests"), &ASSERT.replace('4', "9")));
        assert!(!s[0].matches("c/shared", Some("tsc"), ASSERT));
    }

    #[test]
    fn two_models_sharing_a_typo_or_a_minority_are_not_suspects() {
        let typo = "tsc: Cannot find name 'recieve'";
        let mut records =
            vec![record("p/a", "a", 0, &[], &[("c/t", typo)]), record("p/b", "b", 1, &[], &[("c/t", typo)])];
        assert!(grader_suspects(&records, &AcrossOptions::default(), None).is_empty());
        // Three of seven models: under half.
        records.push(record("p/c", "c", 2, &[], &[("c/t", typo)]));
        for m in ["p/d", "p/e", "p/f", "p/g"] {
            records.push(record(m, m, 3, &["c/t"], &[]));
        }
        assert!(grader_suspects(&records, &AcrossOptions::default(), None).is_empty());
        // Outside the window: not counted.
        let until = records[0].ran_at + Duration::days(30);
        assert!(
            grader_suspects(&records, &AcrossOptions { suspect_min_share: 0.1, ..Default::default() }, Some(until))
                .is_empty()
        );
        assert_eq!(
            grader_suspects(&records, &AcrossOptions { suspect_min_share: 0.1, ..Default::default() }, None).len(),
            1
        );
    }

    #[test]
    fn a_bare_tests_failure_keeps_its_percentage() {
        assert_ne!(signature("tests failed (40%)"), signature("tests failed (60%)"));
        assert_eq!(
            signature("tests failed (40%): × a — expected 1"),
            signature("tests failed (60%): × a — expected 2")
        );
    }
}
