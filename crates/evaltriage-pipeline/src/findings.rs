//! Across runs and models (DESIGN §8): the `findings` operations — list, show, and claim, which
//! writes the claim into the right report's **Actions taken** (the reports stay the one store).
//! The computation is the report crate's; these read the reports folder and pick. What an
//! analysis adds to its report (baseline, grader suspects, open findings) is computed in
//! `analyze.rs`, with `baseline.rs` for the runs no report covers.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use evaltriage_report::{
    AcrossOptions, Finding, FindingKind, FindingState, RunRecord, model_matches, read_report_text,
};
use serde_json::{Value, json};

use crate::error::{Error, ErrorKind};

/// One record per run of every full report in the folder; a folder that does not exist has none.
/// Unreadable reports are logged and left out.
pub fn records(reports_dir: &Path) -> Vec<RunRecord> {
    if !reports_dir.is_dir() {
        return Vec::new();
    }
    let (reports, warnings) = evaltriage_report::all_reports(reports_dir);
    for w in &warnings {
        tracing::debug!("{}: {}", w.path.display(), w.reason);
    }
    evaltriage_report::records_of(&reports)
}

/// Which findings `findings` lists.
#[derive(Debug, Clone, Copy, Default)]
pub struct FindingsFilter<'a> {
    /// A model glob (`*`, `?`); a grader finding is kept when one of its models matches.
    pub model: Option<&'a str>,
    pub state: Option<FindingState>,
    pub kind: Option<FindingKind>,
    /// Open ones only (every state but verified).
    pub open: bool,
}

impl FindingsFilter<'_> {
    fn keeps(&self, f: &Finding) -> bool {
        let model = self.model.is_none_or(|g| match (&f.model, &f.suspect) {
            (Some(m), _) => model_matches(g, m),
            (None, Some(s)) => s.models.iter().any(|m| model_matches(g, m)),
            (None, None) => false,
        });
        model
            && self.state.is_none_or(|s| f.state == s)
            && self.kind.is_none_or(|k| f.kind == k)
            && (!self.open || f.state.is_open())
    }
}

/// `findings`: every finding the filter keeps.
pub fn list(reports_dir: &Path, filter: FindingsFilter<'_>, options: &AcrossOptions) -> Result<Vec<Finding>, Error> {
    if !reports_dir.is_dir() {
        return Err(Error::bad_input(format!("no reports folder at {}", reports_dir.display())));
    }
    let all = evaltriage_report::findings(&records(reports_dir), options);
    Ok(all.into_iter().filter(|f| filter.keeps(f)).collect())
}

/// `findings --json`.
pub fn list_json(findings: &[Finding], options: &AcrossOptions) -> Value {
    json!({
        "options": options_json(options),
        "findings": findings.iter().map(Finding::to_json).collect::<Vec<_>>(),
    })
}

fn options_json(o: &AcrossOptions) -> Value {
    json!({
        "window_runs": o.window_runs,
        "verify_after": o.verify_after,
        "suspect_days": o.suspect_days,
        "suspect_min_models": o.suspect_min_models,
        "suspect_min_share": o.suspect_min_share,
    })
}

/// `findings show <id>`.
pub fn show(reports_dir: &Path, id: &str, options: &AcrossOptions) -> Result<Finding, Error> {
    let id = id.trim();
    list(reports_dir, FindingsFilter::default(), options)?.into_iter().find(|f| f.id == id).ok_or_else(|| {
        Error::new(
            ErrorKind::NotFound,
            format!("no finding {id:?} in {} (`evaltriage findings` lists them)", reports_dir.display()),
        )
    })
}

/// A claim written.
#[derive(Debug)]
pub struct Claimed {
    /// The report whose Actions taken got the entry.
    pub path: PathBuf,
    pub entry: String,
    /// The finding as the reports now make it (`fix-claimed`).
    pub finding: Finding,
}

impl Claimed {
    pub fn json(&self) -> Value {
        json!({
            "path": self.path.display().to_string(),
            "entry": self.entry,
            "finding": self.finding.to_json(),
        })
    }
}

/// `findings claim <id> --note ...`: the entry goes into the Actions taken of the report of the
/// finding's newest failing run, under that report's lock.
pub fn claim(
    reports_dir: &Path,
    id: &str,
    note: &str,
    now: DateTime<Utc>,
    options: &AcrossOptions,
) -> Result<Claimed, Error> {
    if note.trim().is_empty() {
        return Err(Error::bad_input("the note is empty: say what was done (--note \"...\")"));
    }
    let finding = show(reports_dir, id, options)?;
    let Some(target) = finding.claim_report() else {
        return Err(Error::bad_input(format!("finding {id} names no report to write the claim into")));
    };
    let path = reports_dir.join(&target.report);
    let _lock = match evaltriage_report::lock_report(reports_dir, &path) {
        Ok(lock) => Some(lock),
        Err(e @ evaltriage_report::ReportError::Busy { .. }) => {
            return Err(Error::new(
                ErrorKind::Busy,
                format!("{e}; the claim was not written, try again when it is done"),
            ));
        }
        Err(_) => None,
    };
    let text = read_report_text(&path)?;
    let entry = evaltriage_report::claim_entry(now, &finding.eval, note, &finding.id);
    let edited = evaltriage_report::add_action_taken(&text, &entry);
    evaltriage_report::rewrite_report(reports_dir, &path, &edited)?;
    let finding = show(reports_dir, &finding.id, options)?;
    Ok(Claimed { path, entry, finding })
}
