//! Prior reports for a model: found anywhere in the reports folder by the model's identity (see
//! `find.rs`), or read from one folder, newest first. Our own reports are read exactly from their
//! machine-readable block; hand-written ones heuristically. Only regular files are read, through a
//! size limit; a file that cannot be read or understood is skipped with a warning, never a crash.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use evaltriage_core::fsread::read_regular;
use evaltriage_core::{Run, Verdict, VerdictOrigin, VerdictStatus};

use crate::error::ReportError;
use crate::lines::actions_taken_range;
use crate::path_scheme::{ReportFileName, parse_report_file_name};
use crate::read::find::{self, Found, ModelIdentity};
use crate::read::human_verdict::{heading_names, visible_reviews};
use crate::read::legacy;
use crate::read::machine_block::{self, BlockProblem};
use crate::read::prior_report::{
    MAX_REPORT_BYTES, PriorEntry, PriorReport, PriorWarning, UNCLASSIFIED, newest_run_first,
};

/// Reads every report in a model's folder (that folder only), newest run first (by the run's time,
/// see [`PriorReport::run_time`]). Files that are not named `<prefix>_<YYYY-MM-DD>.md` are
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
            Some(_) => files.push(Found { path: entry.path(), file_name: name }),
            None => warnings.push(PriorWarning {
                path: entry.path(),
                reason: "not a report file name (expected PREFIX_YYYY-MM-DD.md); skipped".to_owned(),
            }),
        }
    }
    let reports = read_found(files, &mut warnings);
    (reports, warnings)
}

/// Reads the files found, newest run first (see [`newest_run_first`]).
fn read_found(files: Vec<Found>, warnings: &mut Vec<PriorWarning>) -> Vec<PriorReport> {
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
    reports.sort_by(newest_run_first);
    reports
}

/// The prior reports for a run's model, wherever they are in the reports folder, newest run first,
/// leaving out every report of the run itself, scoped ones included (a re-analysis must not count
/// the run as its own history), and every report of a run that ran after it: a run analyzed late
/// (a backfill, a re-analysis) is compared only with runs before it. A report that does not
/// record its run's time counts from its date (midnight UTC); a run without a creation time is
/// compared with every report.
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
    let own_folder = find::model_dir_in_tree(reports_dir, run);
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
    let ran_at = run_time_of(run);
    reports.retain(|r| {
        r.run_id_prefix != own
            && r.run_id.as_deref() != Some(run.id.as_str())
            && !r.run_ids.iter().any(|id| id == run.id.as_str())
            && ran_at.is_none_or(|t| r.run_time() < t)
    });
    (reports, warnings)
}

/// A run's creation time, when the source gave one.
pub(crate) fn run_time_of(run: &Run) -> Option<DateTime<Utc>> {
    #[expect(clippy::cast_possible_truncation, reason = "milliseconds since 1970 fit an i64 for any real time")]
    let ms = run.created_at_ms as i64;
    (run.created_at_ms.is_finite() && run.created_at_ms > 0.0).then(|| DateTime::from_timestamp_millis(ms)).flatten()
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
                ran_at: block.ran_at,
                run_id_prefix: prefix,
                run_id: Some(block.run_id),
                run_ids: Vec::new(),
                pass_rate: Some((block.passed, block.total)),
                passed_evals: block.passed_evals,
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
        ran_at: None,
        run_id_prefix: prefix,
        run_id: legacy.run_id.or_else(|| legacy.run_ids.first().cloned()),
        run_ids: legacy.run_ids,
        pass_rate: legacy.pass_rate,
        passed_evals: None,
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
    PriorEntry {
        eval: v.eval_path.as_str().to_owned(),
        label,
        qualifier,
        repeat,
        human: None,
        failed_step: v.failed_step.as_ref().map(|s| s.as_str().to_owned()),
    }
}
