//! Each distinct failure analyzed once: a failure whose signature (model, eval, eval source, failed
//! step, normalised decisive error) matches a verdict an earlier report of the model made in the
//! last N days reuses that verdict — shown as "same failure as run `<prefix>` (`<date>`), verdict
//! reused", never as a fresh analysis — and costs no call. A reviewer's verdict on the earlier
//! failure wins over the machine's. The earlier verdicts are read from the reports themselves.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
#[cfg(test)]
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::{Arc, Mutex};

use chrono::NaiveDate;
use evaltriage_core::{FailureSignature, ReusedFrom, Run, Verdict, VerdictOrigin, VerdictStatus};
use evaltriage_fanout::Case;
use evaltriage_report::EarlierVerdict;

use crate::error::Error;

/// How long a verdict may be reused, by default.
pub const DEFAULT_REUSE_DAYS: u32 = 14;

/// What an analysis may take from earlier work instead of calling.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReuseMode {
    /// Nothing: every failure is analyzed afresh (the verdict cache is off too).
    Never,
    /// The same evidence, prompt and model: the verdict cache (`analyze-run`'s default).
    SameOutput,
    /// The cache, and a verdict of an earlier failure with the same signature (the nightly's and
    /// the backfill's default).
    SameError,
}

impl FromStr for ReuseMode {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        match s {
            "never" => Ok(Self::Never),
            "same-output" => Ok(Self::SameOutput),
            "same-error" => Ok(Self::SameError),
            other => Err(Error::bad_input(format!("unknown reuse mode {other:?} (never, same-output, same-error)"))),
        }
    }
}

/// The reuse settings of an analysis.
#[derive(Debug, Clone)]
pub struct ReusePolicy {
    pub mode: ReuseMode,
    /// A verdict made longer ago than this is not reused.
    pub window_days: u32,
    /// Signatures some earlier run of this same backfill will answer (the batch engine's
    /// collection): a later run's failure with one of them waits for that verdict, instead of a
    /// second request.
    pub claims: Option<Claims>,
}

impl Default for ReusePolicy {
    fn default() -> Self {
        Self { mode: ReuseMode::SameOutput, window_days: DEFAULT_REUSE_DAYS, claims: None }
    }
}

/// Signature keys claimed by the first run that needs them, with that run's id; and, for each run
/// that found a key claimed, the runs it waits for.
#[derive(Debug, Clone, Default)]
pub struct Claims(Arc<Mutex<ClaimTable>>);

#[derive(Debug, Default)]
struct ClaimTable {
    holders: HashMap<String, String>,
    waits: HashMap<String, std::collections::BTreeSet<String>>,
}

impl Claims {
    /// Claims `key` for `run_id`; returns whether another run holds it already (and notes that
    /// `run_id` waits for that run).
    fn taken_by_other(&self, key: &str, run_id: &str) -> bool {
        let Ok(mut table) = self.0.lock() else { return false };
        let holder = table.holders.entry(key.to_owned()).or_insert_with(|| run_id.to_owned()).clone();
        if holder == run_id {
            return false;
        }
        table.waits.entry(run_id.to_owned()).or_default().insert(holder);
        true
    }

    /// The runs `run_id` found holding a key it needs (empty when it waits for none).
    pub fn waits_for(&self, run_id: &str) -> std::collections::BTreeSet<String> {
        self.0.lock().ok().and_then(|t| t.waits.get(run_id).cloned()).unwrap_or_default()
    }

    /// Forgets what `run_id` waited for, before it is looked at again.
    pub fn forget_waits(&self, run_id: &str) {
        if let Ok(mut table) = self.0.lock() {
            table.waits.remove(run_id);
        }
    }

    /// Releases the keys `run_id` held (its report is written: later runs find its verdicts there).
    pub fn release(&self, run_id: &str) {
        if let Ok(mut table) = self.0.lock() {
            table.holders.retain(|_, holder| holder != run_id);
            table.waits.remove(run_id);
        }
    }
}

/// The cases split into verdicts reused from earlier reports and the cases still to analyze, plus
/// how many cases wait for a verdict another run of the batch claimed.
#[derive(Debug, Default)]
pub(crate) struct Split {
    pub reused: Vec<Verdict>,
    pub to_analyse: Vec<Case>,
    pub claimed_elsewhere: usize,
}

/// Splits `cases` by what earlier reports already answered. `report_path` is where this run's
/// report will be written (the links are relative to its folder).
pub(crate) fn split(
    policy: &ReusePolicy,
    reports_dir: &Path,
    run: &Run,
    report_path: &Path,
    today: NaiveDate,
    cases: Vec<Case>,
) -> Split {
    if policy.mode != ReuseMode::SameError || cases.is_empty() {
        return Split { to_analyse: cases, ..Split::default() };
    }
    let (earlier, warnings) = evaltriage_report::earlier_verdicts(reports_dir, run);
    for w in &warnings {
        tracing::warn!("skipped a report while looking for verdicts to reuse {}: {}", w.path.display(), w.reason);
    }
    split_with(policy, &earlier, reports_dir, run, report_path, today, cases)
}

/// [`split`] over the earlier verdicts already read (newest first).
fn split_with(
    policy: &ReusePolicy,
    earlier: &[EarlierVerdict],
    reports_dir: &Path,
    run: &Run,
    report_path: &Path,
    today: NaiveDate,
    cases: Vec<Case>,
) -> Split {
    if policy.mode != ReuseMode::SameError {
        return Split { to_analyse: cases, ..Split::default() };
    }
    let oldest = today - chrono::Duration::days(i64::from(policy.window_days));
    let mut by_signature: BTreeMap<&str, Vec<&EarlierVerdict>> = BTreeMap::new();
    for e in earlier.iter().filter(|e| e.date >= oldest) {
        by_signature.entry(e.signature.as_str()).or_default().push(e);
    }
    let mut out = Split::default();
    for case in cases {
        if case.failure.kind.is_infrastructure() {
            out.to_analyse.push(case);
            continue;
        }
        let key = FailureSignature::of(run, &case.failure).key();
        let found = by_signature.get(key.as_str()).and_then(|matches| pick(matches));
        match found {
            Some(earlier) => out.reused.push(reused_verdict(&case, earlier, reports_dir, report_path)),
            None if policy.claims.as_ref().is_some_and(|c| c.taken_by_other(&key, run.id.as_str())) => {
                out.claimed_elsewhere += 1;
            }
            None => out.to_analyse.push(case),
        }
    }
    out
}

/// The earlier verdict to reuse among those with the signature (newest first): the newest a
/// reviewer judged, else the newest classified one.
fn pick<'a>(matches: &[&'a EarlierVerdict]) -> Option<&'a EarlierVerdict> {
    matches.iter().copied().find(|e| e.human.is_some()).or_else(|| {
        matches.iter().copied().find(|e| e.verdict.status == VerdictStatus::Done && e.verdict.classification.is_some())
    })
}

fn reused_verdict(case: &Case, earlier: &EarlierVerdict, reports_dir: &Path, report_path: &Path) -> Verdict {
    let mut v = earlier.verdict.clone();
    v.eval_id = case.failure.eval_id.clone();
    v.eval_path = case.failure.eval_path.clone();
    v.failed_step = case.failure.failed_step.clone();
    v.status = VerdictStatus::Done;
    v.retry_count = 0;
    v.tokens = Default::default();
    v.missing_evidence = case.evidence.problems.iter().map(ToString::to_string).collect();
    if let Some(h) = &earlier.human {
        v.classification = Some(h.label);
        v.confidence = None;
        let note = if h.note.trim().is_empty() { String::new() } else { format!(": {}", h.note.trim()) };
        v.reasoning = format!("A reviewer labelled the earlier failure {}{note}. {}", h.label.as_str(), v.reasoning);
    }
    v.origin = VerdictOrigin::Reused(Box::new(ReusedFrom {
        run_id: earlier.run_id.clone(),
        date: earlier.date.format("%Y-%m-%d").to_string(),
        report: relative_link(reports_dir, report_path, &earlier.report),
        human: earlier.human.is_some(),
    }));
    v
}

/// `to` as a link from the folder of `from` (both below `root`).
fn relative_link(root: &Path, from: &Path, to: &Path) -> String {
    let (Ok(from), Ok(to)) = (from.strip_prefix(root), to.strip_prefix(root)) else {
        return to.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    };
    let from_dirs: Vec<_> = from.parent().map(|p| p.components().collect()).unwrap_or_default();
    let to_parts: Vec<_> = to.components().collect();
    let common = from_dirs.iter().zip(&to_parts).take_while(|(a, b)| a == b).count();
    let mut parts: Vec<String> = vec!["..".to_owned(); from_dirs.len() - common];
    parts.extend(to_parts[common..].iter().map(|c| c.as_os_str().to_string_lossy().into_owned()));
    parts.join("/")
}

/// Puts reused verdicts among the analyzed ones, in the fan-out's order (eval path, then id).
pub(crate) fn merge(verdicts: &mut Vec<Verdict>, reused: Vec<Verdict>) {
    verdicts.extend(reused);
    verdicts.sort_by(|a, b| a.eval_path.cmp(&b.eval_path).then_with(|| a.eval_id.cmp(&b.eval_id)));
}

#[cfg(test)]
mod tests {
    use evaltriage_core::{
        Classification, EvalId, EvalPath, Evidence, Failure, FailureKind, RunId, RunStatus, StepName, TokenUsage,
    };
    use evaltriage_report::HumanVerdict;

    use super::*;

    fn run(id: &str) -> Run {
        Run {
            id: RunId::new(id).unwrap(),
            model_id: None,
            model: "prov/m".to_owned(),
            formatted_name: None,
            provider: None,
            experiment: "default".to_owned(),
            status: RunStatus::Completed { duration_ms: None },
            created_at_ms: 0.0,
            planned_evals: Vec::new(),
            evals: Vec::new(),
        }
    }

    fn case(error: &str) -> Case {
        Case::new(
            Failure {
                eval_id: EvalId::new("e9").unwrap(),
                eval_path: EvalPath::new("a/b"),
                failed_step: Some(StepName::parse("tsc")),
                kind: FailureKind::of_reason("tsc failed"),
                reason: "tsc failed".to_owned(),
                step_error: Some(error.to_owned()),
            },
            Evidence::default(),
        )
    }

    fn earlier(run_id: &str, day: u32, error: &str, label: Option<Classification>, human: bool) -> EarlierVerdict {
        let date = NaiveDate::from_ymd_opt(2026, 3, day).unwrap();
        let c = case(error);
        EarlierVerdict {
            run_id: run_id.to_owned(),
            date,
            report: PathBuf::from(format!("/r/prov/m/{}_{date}.md", &run_id[..8])),
            signature: FailureSignature::of(&run(run_id), &c.failure).key(),
            verdict: Verdict {
                eval_id: EvalId::new("e1").unwrap(),
                eval_path: EvalPath::new("a/b"),
                failed_step: Some(StepName::parse("tsc")),
                status: if label.is_some() { VerdictStatus::Done } else { VerdictStatus::Error },
                classification: label,
                error: "x".to_owned(),
                reasoning: "because".to_owned(),
                model_snippet: None,
                expected_snippet: None,
                confidence: Some(0.9),
                retry_count: 1,
                origin: VerdictOrigin::Llm { model: "gpt".to_owned() },
                tokens: TokenUsage { prompt: 10, completion: 2 },
                missing_evidence: Vec::new(),
            },
            human: human.then(|| HumanVerdict {
                label: Classification::KnownGap,
                note: "documented".to_owned(),
                by: None,
                date,
            }),
        }
    }

    const A: &str = "aaaaaaaa0000000000000000000000aa";
    const B: &str = "bbbbbbbb0000000000000000000000bb";
    const NOW: &str = "cccccccc0000000000000000000000cc";

    fn check(earlier: &[EarlierVerdict], error: &str, mode: ReuseMode) -> Split {
        let policy = ReusePolicy { mode, window_days: 14, claims: None };
        let today = NaiveDate::from_ymd_opt(2026, 3, 20).unwrap();
        split_with(
            &policy,
            earlier,
            Path::new("/r"),
            &run(NOW),
            Path::new("/r/prov/m/cccccccc_x.md"),
            today,
            vec![case(error)],
        )
    }

    #[test]
    fn a_recent_verdict_for_the_same_signature_is_reused_and_says_so() {
        let e =
            [earlier(A, 18, "a.ts:3:1 error TS2304: Cannot find name 'x'.", Some(Classification::ModelFault), false)];
        let s = check(&e, "a.ts:9:4 error TS2304: Cannot find name 'x'.", ReuseMode::SameError);
        assert_eq!((s.reused.len(), s.to_analyse.len()), (1, 0));
        let v = &s.reused[0];
        assert_eq!(v.classification, Some(Classification::ModelFault));
        assert_eq!(v.eval_id.as_str(), "e9", "the verdict is about this run's eval");
        assert_eq!(v.tokens, TokenUsage::default(), "it cost nothing");
        let VerdictOrigin::Reused(from) = &v.origin else { panic!("{:?}", v.origin) };
        assert_eq!(from.report, "aaaaaaaa_2026-03-18.md");
        assert_eq!(from.describe(), "same failure as run `aaaaaaaa` (`2026-03-18`), verdict reused");
    }

    #[test]
    fn another_error_an_old_verdict_an_error_verdict_or_another_mode_is_not_reused() {
        let e = [earlier(A, 18, "error TS2304: Cannot find name 'x'.", Some(Classification::ModelFault), false)];
        assert_eq!(check(&e, "error TS2304: Cannot find name 'y'.", ReuseMode::SameError).to_analyse.len(), 1);
        assert_eq!(check(&e, "error TS2304: Cannot find name 'x'.", ReuseMode::SameOutput).to_analyse.len(), 1);
        assert_eq!(check(&e, "error TS2304: Cannot find name 'x'.", ReuseMode::Never).to_analyse.len(), 1);
        let old = [earlier(A, 5, "error TS2304: Cannot find name 'x'.", Some(Classification::ModelFault), false)];
        assert_eq!(check(&old, "error TS2304: Cannot find name 'x'.", ReuseMode::SameError).to_analyse.len(), 1);
        let failed = [earlier(A, 18, "error TS2304: Cannot find name 'x'.", None, false)];
        assert_eq!(check(&failed, "error TS2304: Cannot find name 'x'.", ReuseMode::SameError).to_analyse.len(), 1);
    }

    #[test]
    fn a_reviewers_verdict_on_the_earlier_failure_wins() {
        let err = "error TS2304: Cannot find name 'x'.";
        let e = [
            earlier(B, 19, err, Some(Classification::ModelFault), false),
            earlier(A, 18, err, Some(Classification::ModelFault), true),
        ];
        let s = check(&e, err, ReuseMode::SameError);
        let v = &s.reused[0];
        assert_eq!(v.classification, Some(Classification::KnownGap));
        assert!(
            v.reasoning.starts_with("A reviewer labelled the earlier failure KNOWN_GAP: documented."),
            "{}",
            v.reasoning
        );
        let VerdictOrigin::Reused(from) = &v.origin else { panic!() };
        assert!(from.human && from.run_id == A);
    }

    #[test]
    fn links_are_relative_to_the_new_report() {
        let root = Path::new("/r");
        let check = |from: &str, to: &str, expected: &str| {
            assert_eq!(relative_link(root, Path::new(from), Path::new(to)), expected);
        };
        check("/r/a/m/x_2026-01-02.md", "/r/a/m/y_2026-01-01.md", "y_2026-01-01.md");
        check("/r/a/m/x.md", "/r/o/a/m/y.md", "../../o/a/m/y.md");
        check("/elsewhere/x.md", "/r/a/m/y.md", "y.md");
    }

    #[test]
    fn reuse_modes_parse_and_bad_ones_are_bad_input() {
        assert_eq!("same-error".parse::<ReuseMode>().unwrap(), ReuseMode::SameError);
        assert_eq!("never".parse::<ReuseMode>().unwrap(), ReuseMode::Never);
        let e = "always".parse::<ReuseMode>().unwrap_err();
        assert_eq!(e.kind, crate::ErrorKind::BadInput);
    }

    #[test]
    fn a_claim_holds_for_the_first_run_only() {
        let claims = Claims::default();
        assert!(!claims.taken_by_other("k", "run1"));
        assert!(!claims.taken_by_other("k", "run1"), "the same run again");
        assert!(claims.taken_by_other("k", "run2"));
        assert!(!claims.taken_by_other("j", "run2"));
        assert_eq!(claims.waits_for("run2").into_iter().collect::<Vec<_>>(), ["run1"]);
        claims.release("run1");
        assert!(!claims.taken_by_other("k", "run3"), "a written run's keys are free");
    }
}
