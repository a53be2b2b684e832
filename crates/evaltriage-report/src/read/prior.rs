//! Prior reports for a model: found anywhere in the reports folder by the model's identity (see
//! `find.rs`), or read from one folder, newest first. Our own reports are read exactly from their
//! machine-readable block; hand-written ones heuristically. Only regular files are read, through a
//! size limit; a file that cannot be read or understood is skipped with a warning, never a crash.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use evaltriage_core::{Classification, EvalPath, Run, Verdict, VerdictOrigin, VerdictStatus};

use crate::error::ReportError;
use crate::lines::actions_taken_range;
use crate::path_scheme::{ReportFileName, ReportScope, model_dir, parse_report_file_name};
use crate::read::find::{self, Found, ModelIdentity};
use crate::read::legacy;
use crate::read::machine_block::{self, BlockProblem};
use crate::review::human::{HumanVerdict, heading_names, visible_reviews};
use evaltriage_core::fsread::read_regular;

/// One prior report, reduced to what history needs.
#[derive(Debug, Clone, PartialEq)]
pub struct PriorReport {
    pub path: PathBuf,
    /// The date in the file name (else the one written in the report).
    pub date: NaiveDate,
    pub run_id_prefix: String,
    /// The full run id, when the report gives it.
    pub run_id: Option<String>,
    /// Passed and total evals, when the report gives them.
    pub pass_rate: Option<(u32, u32)>,
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

/// Reads every report in a model's folder (that folder only), newest first by the date in the file
/// name (ties by file name, descending). Files that are not named `<prefix>_<YYYY-MM-DD>.md` are
/// ignored when they are not markdown, and warned about when they are; files that cannot be read
/// or understood are skipped with a warning: only regular files are read (never a FIFO, device or
/// socket, even through a link), through a size limit. A missing folder is no prior reports.
pub fn read_prior_reports(model_dir: &Path) -> (Vec<PriorReport>, Vec<PriorWarning>) {
    let mut warnings = Vec::new();
    let entries = match std::fs::read_dir(model_dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return (Vec::new(), warnings),
        Err(e) => {
            warnings.push(PriorWarning { path: model_dir.to_owned(), reason: format!("cannot list the folder: {e}") });
            return (Vec::new(), warnings);
        }
    };
    let mut files = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        // Our own temp files, hidden files and folders are not reports.
        if name.starts_with('.') || !name.ends_with(".md") || entry.file_type().is_ok_and(|t| t.is_dir()) {
            continue;
        }
        match parse_report_file_name(&name) {
            Some(parsed) => files.push(Found { path: entry.path(), name: parsed, file_name: name }),
            None => warnings.push(PriorWarning {
                path: entry.path(),
                reason: "not a report file name (expected PREFIX_YYYY-MM-DD.md); skipped".to_owned(),
            }),
        }
    }
    let reports = read_found(files, &mut warnings);
    (reports, warnings)
}

/// Reads the files found, newest first by the date in the file name (ties by file name, then
/// path, descending).
fn read_found(mut files: Vec<Found>, warnings: &mut Vec<PriorWarning>) -> Vec<PriorReport> {
    files.sort_by(|a, b| {
        b.name.date.cmp(&a.name.date).then_with(|| b.file_name.cmp(&a.file_name)).then_with(|| b.path.cmp(&a.path))
    });
    let mut reports = Vec::new();
    for Found { path, .. } in files {
        let text = match read_regular(&path, MAX_REPORT_BYTES) {
            Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
            Err(problem) => {
                warnings.push(PriorWarning { path, reason: format!("{}; skipped", problem.kind) });
                continue;
            }
        };
        match parse_report(&text, Some(&path)) {
            Ok(report) => {
                for note in &report.notes {
                    warnings.push(PriorWarning { path: path.clone(), reason: note.clone() });
                }
                reports.push(report);
            }
            Err(e) => warnings.push(PriorWarning { path, reason: format!("{e}; skipped") }),
        }
    }
    reports
}

/// The prior reports for a run's model, wherever they are in the reports folder, newest first,
/// leaving out every report of the run itself, scoped ones included (a re-analysis must not count
/// the run as its own history).
///
/// The tree is scanned once: a report is the model's when its folder is one people use for the
/// model (`<provider>/<model>` as we write it, the slug as is or with dots as dashes, in any case,
/// with or without the endpoint provider's folder in front, such as
/// `openrouter/arcee-ai/trinity-large-preview/`), or, elsewhere, when its `Model:` line (or our
/// block's model field) names the model. Links are not followed out of the reports folder; a report
/// filed under the same name in two of the model's folders is read once.
pub fn prior_reports_for_run(reports_dir: &Path, run: &Run) -> (Vec<PriorReport>, Vec<PriorWarning>) {
    let mut warnings = Vec::new();
    let mut files = find::model_reports(reports_dir, &ModelIdentity::of_run(run), &mut warnings);
    // The same file name in two of the model's folders is one report (the same run, day and
    // scope) filed twice: it is read once, from where we write when it is there.
    let own_folder = model_dir(reports_dir, run);
    files.sort_by_key(|f| (f.path.parent() != Some(own_folder.as_path()), f.path.clone()));
    let mut seen: BTreeMap<String, PathBuf> = BTreeMap::new();
    files.retain(|f| match seen.get(&f.file_name) {
        Some(kept) => {
            let reason = format!("the same report as {}; read once", kept.display());
            warnings.push(PriorWarning { path: f.path.clone(), reason });
            false
        }
        None => {
            seen.insert(f.file_name.clone(), f.path.clone());
            true
        }
    });
    let mut reports = read_found(files, &mut warnings);
    let own = run.id.prefix();
    reports.retain(|r| r.run_id_prefix != own && r.run_id.as_deref() != Some(run.id.as_str()));
    (reports, warnings)
}

/// Reads one report. `path`, when given, supplies the run id prefix and date from the file name.
/// Our own reports come back exactly (their verdicts included); hand-written ones as well as the
/// heuristics can. A report with neither eval labels nor a pass rate is not understood.
pub fn parse_report(text: &str, path: Option<&Path>) -> Result<PriorReport, ReportError> {
    let shown_path = path.map_or_else(|| PathBuf::from("<report>"), Path::to_owned);
    let from_name = path.and_then(|p| p.file_name()).and_then(|n| n.to_str()).and_then(parse_report_file_name);
    let not_understood = |reason: String| ReportError::NotUnderstood { path: shown_path.clone(), reason };
    let mut notes = Vec::new();
    match machine_block::decode(text) {
        Some(Ok(block)) => {
            let (prefix, date, name_scope) = match &from_name {
                Some(ReportFileName { prefix, date, scope }) => (prefix.clone(), *date, scope.clone()),
                None => (block.run_id.chars().take(8).collect(), block.date, None),
            };
            let actions_taken = actions_taken_range(text).map_or_else(Vec::new, |r| legacy::parse_actions(&text[r]));
            let entries = block
                .verdicts
                .iter()
                .map(|(v, repeat)| {
                    let mut e = entry_of_verdict(v, *repeat);
                    e.human = block.humans.get(v.eval_path.as_str()).cloned();
                    e
                })
                .collect();
            return Ok(PriorReport {
                path: shown_path,
                date,
                run_id_prefix: prefix,
                run_id: Some(block.run_id),
                pass_rate: Some((block.passed, block.total)),
                experiment: Some(block.experiment).filter(|e| !e.trim().is_empty()),
                scope: block.scope.or(name_scope),
                entries,
                actions_taken,
                ours: true,
                verdicts: block.verdicts.into_iter().map(|(v, _)| v).collect(),
                notes,
            });
        }
        Some(Err(BlockProblem::UnknownVersion(v))) => notes.push(format!(
            "its evaltriage block is version {v}, newer than this evaltriage reads (version {}); read as a hand-written report",
            machine_block::VERSION
        )),
        Some(Err(BlockProblem::Invalid(reason))) => {
            notes.push(format!("its evaltriage block is invalid ({reason}); read as a hand-written report"));
        }
        None => {}
    }
    let mut legacy = legacy::parse(text);
    // Reviewers' verdicts in a hand-written report: the visible line in the eval's section.
    for (heading, human) in visible_reviews(text) {
        if let Some(entry) = legacy.entries.iter_mut().find(|e| heading_names(&heading, &e.eval)) {
            entry.human = Some(human);
        }
    }
    if legacy.entries.is_empty() && legacy.pass_rate.is_none() {
        return Err(not_understood("found no eval labels and no pass rate".to_owned()));
    }
    let (prefix, date, scope) = match from_name {
        Some(ReportFileName { prefix, date, scope }) => (prefix, date, scope),
        None => {
            let prefix = legacy
                .run_id_prefix
                .clone()
                .or_else(|| legacy.run_id.as_ref().map(|id| id.chars().take(8).collect()))
                .ok_or_else(|| not_understood("no run id in the file name or the text".to_owned()))?;
            let date = legacy.date.ok_or_else(|| not_understood("no date in the file name or the text".to_owned()))?;
            (prefix, date, None)
        }
    };
    Ok(PriorReport {
        path: shown_path,
        date,
        run_id_prefix: prefix,
        run_id: legacy.run_id,
        pass_rate: legacy.pass_rate,
        experiment: legacy.experiment,
        scope,
        entries: legacy.entries,
        actions_taken: legacy.actions_taken,
        ours: false,
        verdicts: Vec::new(),
        notes,
    })
}

/// The entry our own report's verdict stands for: its label, `INFRASTRUCTURE (<cause>)` for an
/// infrastructure failure, `UNCLASSIFIED (<why>)` when the analysis ended without a label.
fn entry_of_verdict(v: &Verdict, repeat: bool) -> PriorEntry {
    let (label, qualifier) = match (&v.origin, v.classification, v.status) {
        (VerdictOrigin::Infrastructure(cause), _, _) => ("INFRASTRUCTURE".to_owned(), Some(cause.as_str().to_owned())),
        (_, Some(c), _) => (c.as_str().to_owned(), None),
        (_, None, VerdictStatus::Error) => (UNCLASSIFIED.to_owned(), Some("analysis error".to_owned())),
        (_, None, VerdictStatus::Skipped) => (UNCLASSIFIED.to_owned(), Some("skipped".to_owned())),
        (_, None, VerdictStatus::Done) => (UNCLASSIFIED.to_owned(), None),
    };
    PriorEntry { eval: v.eval_path.as_str().to_owned(), label, qualifier, repeat, human: None }
}

/// The label shown for a failure that has no classification.
pub(crate) const UNCLASSIFIED: &str = "UNCLASSIFIED";
