//! What a report is read into: [`PriorReport`] with its entries and **Actions taken**, the warning
//! for a file skipped or read in part, and the limits every reader of report files shares.

use std::cmp::Ordering;
use std::fmt;
use std::path::PathBuf;

use chrono::{DateTime, NaiveDate, Utc};
use evaltriage_core::{Classification, EvalPath, Verdict};

use crate::path_scheme::ReportScope;
use crate::read::human_verdict::HumanVerdict;

/// One prior report, reduced to what history needs.
#[derive(Debug, Clone, PartialEq)]
pub struct PriorReport {
    pub path: PathBuf,
    /// The date in the file name (else the one written in the report): when it was analyzed.
    pub date: NaiveDate,
    /// When its run was created, when the report records it (our block); see [`Self::run_time`].
    pub ran_at: Option<DateTime<Utc>>,
    pub run_id_prefix: String,
    /// The full run id, when the report gives it.
    pub run_id: Option<String>,
    /// Every run the report covers, when it lists several (a hand-written "Run IDs" list); it
    /// counts for each of them. Empty when it names one run or none.
    pub run_ids: Vec<String>,
    /// Passed and total evals, when the report gives them.
    pub pass_rate: Option<(u32, u32)>,
    /// The evals that passed, when the report lists them (our block): an eval neither named as
    /// failed nor listed here was not in the run (or did not finish). `None`: not known.
    pub passed_evals: Option<Vec<String>>,
    /// The experiment the run belonged to (`default`, `no_guidelines`, ...), when the report
    /// states it.
    pub experiment: Option<String>,
    /// The part of the run the report covers (from its block, else its file name); `None` for the
    /// whole run.
    pub scope: Option<ReportScope>,
    /// One per failed eval the report names, in the order it names them.
    pub entries: Vec<PriorEntry>,
    /// The report's "Actions taken" entries.
    pub actions_taken: Vec<ActionTaken>,
    /// Written by evaltriage (read exactly from the machine-readable block).
    pub ours: bool,
    /// Our own reports' verdicts, exactly as written; empty for hand-written reports.
    pub verdicts: Vec<Verdict>,
    /// Things worth knowing about how it was read (an unreadable block, a date mismatch).
    pub notes: Vec<String>,
}

impl PriorReport {
    /// When its run ran: the run's creation time when the report records it, else the report's
    /// date (the file name's, as a last resort) at midnight UTC. Reports are ordered by it, never
    /// by when they were analyzed.
    pub fn run_time(&self) -> DateTime<Utc> {
        self.ran_at.unwrap_or_else(|| self.date.and_time(chrono::NaiveTime::MIN).and_utc())
    }

    /// The day its run ran (see [`Self::run_time`]): the date every view shows for the run.
    pub fn run_date(&self) -> NaiveDate {
        self.run_time().date_naive()
    }

    /// What identifies its run: the run id's prefix (the one thing every report of a run gives,
    /// in its file name). Several reports of one run (a full one and scoped ones) share it.
    pub fn run_key(&self) -> &str {
        &self.run_id_prefix
    }

    /// The file name, for showing (never the full local path).
    pub fn file_name(&self) -> String {
        self.path.file_name().map_or_else(|| self.path.display().to_string(), |n| n.to_string_lossy().into_owned())
    }

    /// Whether this report speaks for an eval: a full report covers every eval, a scoped one only
    /// those in its scope.
    pub fn covers(&self, path: &EvalPath) -> bool {
        self.scope.as_ref().is_none_or(|s| s.covers(path))
    }

    /// The entry for an eval, if this report names it as failed.
    pub fn entry_for(&self, path: &EvalPath) -> Option<&PriorEntry> {
        self.entries.iter().find(|e| e.eval == path.as_str()).or_else(|| self.entries.iter().find(|e| e.matches(path)))
    }
}

/// Newest run first: by run time, then by analysis date and file name (a later analysis of the
/// same run first), then by path; all descending.
pub(crate) fn newest_run_first(a: &PriorReport, b: &PriorReport) -> Ordering {
    b.run_time()
        .cmp(&a.run_time())
        .then_with(|| b.date.cmp(&a.date))
        .then_with(|| b.file_name().cmp(&a.file_name()))
        .then_with(|| b.path.cmp(&a.path))
}

/// A failed eval as a prior report labelled it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PriorEntry {
    /// `category/name`, or just `name` when the report did not give the category.
    pub eval: String,
    /// The label as written: one of the four, or another (`HARNESS_FAILURE`, `INFRASTRUCTURE`).
    pub label: String,
    /// A parenthetical after the label, such as `infrastructure`.
    pub qualifier: Option<String>,
    /// The report marked it `(repeat)`.
    pub repeat: bool,
    /// A reviewer's verdict recorded in the report (`reports review`): authoritative.
    pub human: Option<HumanVerdict>,
    /// The step the report says failed (`tsc`, `tests`), when it says.
    pub failed_step: Option<String>,
}

impl PriorEntry {
    /// Whether this entry is about `path`: the same path, or the same name when the report gave
    /// only the name.
    pub fn matches(&self, path: &EvalPath) -> bool {
        self.eval == path.as_str() || (!self.eval.contains('/') && self.eval == path.name())
    }

    /// `LABEL` or `LABEL (qualifier)`.
    pub fn label_text(&self) -> String {
        match &self.qualifier {
            Some(q) => format!("{} ({q})", self.label),
            None => self.label.clone(),
        }
    }

    /// The label as one of the four, when it is one.
    pub fn classification(&self) -> Option<Classification> {
        self.label.parse().ok()
    }

    /// What a label outside the four means, for the labels the benchmark's own reports use:
    /// `HARNESS_FAILURE` is infrastructure (the harness failed, not the model), `TEST_FAILURE` a
    /// grader that rejects a right answer. The label itself is always shown as written.
    pub fn meaning(&self) -> Option<&'static str> {
        match self.label.to_ascii_uppercase().as_str() {
            "HARNESS_FAILURE" | "INFRASTRUCTURE" => Some("infrastructure: the harness failed, not the model"),
            "TEST_FAILURE" => Some("the grader rejects a right answer: an eval defect, not the model's"),
            _ => None,
        }
    }

    /// Whether the label says the benchmark's machinery failed (`INFRASTRUCTURE`,
    /// `HARNESS_FAILURE`, or an `(infrastructure)` qualifier).
    pub fn is_infrastructure(&self) -> bool {
        self.meaning().is_some_and(|m| m.starts_with("infrastructure"))
            || self.qualifier.as_deref().is_some_and(|q| q.trim().eq_ignore_ascii_case("infrastructure"))
    }

    /// The label later analyses start from: a reviewer's, when there is one (`LABEL (human
    /// review)`), else the report's [`Self::label_text`].
    pub fn authoritative_label(&self) -> String {
        match &self.human {
            Some(h) => format!("{} (human review)", h.label.as_str()),
            None => self.label_text(),
        }
    }
}

/// One entry of a report's "Actions taken".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionTaken {
    pub text: String,
    /// The eval whose section the entry was written in, when it was written inside one.
    pub eval: Option<String>,
}

impl ActionTaken {
    /// Whether this action is about `path`: written in its section, or mentioning its path or
    /// name as a whole word.
    pub fn concerns(&self, path: &EvalPath) -> bool {
        if let Some(eval) = &self.eval
            && (eval == path.as_str() || (!eval.contains('/') && eval == path.name()))
        {
            return true;
        }
        mentions(&self.text, path.as_str()) || mentions(&self.text, path.name())
    }
}

fn mentions(text: &str, word: &str) -> bool {
    if word.is_empty() {
        return false;
    }
    let is_word_char = |c: char| c.is_alphanumeric() || c == '-' || c == '_';
    text.match_indices(word).any(|(i, _)| {
        let before = text[..i].chars().next_back();
        let after = text[i + word.len()..].chars().next();
        !before.is_some_and(is_word_char) && !after.is_some_and(is_word_char)
    })
}

/// A prior report file that was skipped or read only in part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PriorWarning {
    pub path: PathBuf,
    pub reason: String,
}

impl fmt::Display for PriorWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path.display(), self.reason)
    }
}

/// Files larger than this are not reports (a report for 1,000 failures is about 3 MB); a larger
/// one, or one that never ends (a link to `/dev/zero`), is read no further than this.
pub(crate) const MAX_REPORT_BYTES: u64 = 32 * 1024 * 1024;

/// How much of a report is looked at for its `Model:` line (or a short report's block).
pub(crate) const HEADER_BYTES: u64 = 16 * 1024;

/// The label shown for a failure that has no classification.
pub(crate) const UNCLASSIFIED: &str = "UNCLASSIFIED";
