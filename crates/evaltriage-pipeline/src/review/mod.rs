//! Reviewing the reports folder across models and over time: list, show, trend, export, review,
//! agreement, `diff` and the static site. The reading, trends, records and edits are the report
//! crate's; these functions pick reports and return what a face prints.

pub mod diff;
pub mod site;

use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use evaltriage_core::Classification;
use evaltriage_report::{
    Agreement, CatalogReport, ExportFilter, ExportRecord, HumanVerdict, Trend, TrendOptions, all_reports,
    model_matches, read_report_text,
};
use serde_json::{Value, json};

use crate::error::{Error, ErrorKind};

/// Every report in the reports folder, newest first; warnings about unreadable ones are logged.
/// A reports folder that does not exist is the caller's input to fix.
pub fn catalog(reports_dir: &Path) -> Result<Vec<CatalogReport>, Error> {
    if !reports_dir.is_dir() {
        return Err(Error::bad_input(format!("no reports folder at {}", reports_dir.display())));
    }
    let (reports, warnings) = all_reports(reports_dir);
    for w in &warnings {
        tracing::warn!("{}: {}", w.path.display(), w.reason);
    }
    Ok(reports)
}

/// Which reports a review operation looks at.
#[derive(Debug, Clone, Copy, Default)]
pub struct ReportFilter<'a> {
    /// A model glob (`*`, `?`).
    pub model: Option<&'a str>,
    /// Reports of runs made on or after this day (the analysis date for a report that does not
    /// say when its run ran).
    pub since: Option<NaiveDate>,
}

/// The reports of the folder that `filter` keeps, newest first.
pub fn reports(reports_dir: &Path, filter: ReportFilter<'_>) -> Result<Vec<CatalogReport>, Error> {
    Ok(catalog(reports_dir)?
        .into_iter()
        .filter(|r| filter.model.is_none_or(|g| model_matches(g, &r.model)))
        .filter(|r| filter.since.is_none_or(|d| r.report.run_date() >= d))
        .collect())
}

/// `LABEL n, LABEL m` (a reviewer's label where there is one).
pub fn label_counts(r: &CatalogReport) -> std::collections::BTreeMap<String, usize> {
    let mut counts = std::collections::BTreeMap::new();
    for e in &r.report.entries {
        let label = e.human.as_ref().map_or_else(|| e.label.clone(), |h| h.label.as_str().to_owned());
        *counts.entry(label).or_insert(0) += 1;
    }
    counts
}

/// `reports list --json`.
pub fn list_json(reports_dir: &Path, reports: &[CatalogReport]) -> Value {
    let items: Vec<Value> = reports
        .iter()
        .map(|r| {
            json!({
                "path": reports_dir.join(&r.relative).display().to_string(),
                "model": r.model,
                "date": r.report.run_date().format("%Y-%m-%d").to_string(),
                "ran_at": r.report.ran_at.map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)),
                "analysed_on": r.report.date.format("%Y-%m-%d").to_string(),
                "run_id": r.report.run_id,
                "run_id_prefix": r.report.run_id_prefix,
                "experiment": r.report.experiment,
                "scope": r.report.scope.as_ref().map(evaltriage_report::ReportScope::describe),
                "passed": r.report.pass_rate.map(|(p, _)| p),
                "total": r.report.pass_rate.map(|(_, t)| t),
                "failed": r.report.entries.len(),
                "labels": label_counts(r),
                "ours": r.report.ours,
                "human_verdicts": r.report.entries.iter().filter(|e| e.human.is_some()).count(),
            })
        })
        .collect();
    json!({ "reports": items })
}

/// A report named by path, run id or prefix, or model (its latest full report).
pub fn resolve(key: &str, reports_dir: &Path) -> Result<PathBuf, Error> {
    let as_path = Path::new(key);
    if std::fs::symlink_metadata(as_path).is_ok() {
        return Ok(as_path.to_owned());
    }
    let reports = catalog(reports_dir)?;
    let key = key.trim();
    let prefix: String = key.chars().take(8).collect();
    let by_run = |r: &&CatalogReport| {
        r.report.run_id.as_deref() == Some(key)
            || (key.len() <= 8 && r.report.run_id_prefix == key)
            || (key.len() > 8 && r.report.run_id.is_none() && r.report.run_id_prefix == prefix)
    };
    let full_first = |found: Vec<&CatalogReport>| {
        found.iter().find(|r| r.report.scope.is_none()).or(found.first()).map(|r| reports_dir.join(&r.relative))
    };
    if let Some(path) = full_first(reports.iter().filter(by_run).collect()) {
        return Ok(path);
    }
    if let Some(path) = full_first(reports.iter().filter(|r| model_matches(key, &r.model)).collect()) {
        return Ok(path);
    }
    Err(Error::new(
        ErrorKind::NotFound,
        format!(
            "no report for {key:?} in {} (give a report path, a run id or prefix, or a model)",
            reports_dir.display()
        ),
    ))
}

/// One report's text, found by [`resolve`], and what it says as data when it could be read.
#[derive(Debug)]
pub struct ShownReport {
    pub path: PathBuf,
    pub markdown: String,
    /// The report as structured data (metadata, verdicts, reviews); `None` when its text is not
    /// understood as a report.
    pub report: Option<CatalogReport>,
}

impl ShownReport {
    /// `path`, `markdown`, and the structured report (`metadata`, `verdicts`, `human_reviews`,
    /// `actions_taken`; `null` when the text is not understood as a report).
    pub fn json(&self) -> Value {
        json!({
            "path": self.path.display().to_string(),
            "markdown": self.markdown,
            "report": self.report.as_ref().map(evaltriage_report::report_json),
        })
    }
}

/// `reports show`.
pub fn show(key: &str, reports_dir: &Path) -> Result<ShownReport, Error> {
    let path = resolve(key, reports_dir)?;
    let markdown = read_report_text(&path)?;
    let report = evaltriage_report::read_one(&path).ok();
    Ok(ShownReport { path, markdown, report })
}

/// `reports trend`.
pub fn trend(reports_dir: &Path, filter: ReportFilter<'_>, options: TrendOptions) -> Result<Trend, Error> {
    Ok(evaltriage_report::trend(&reports(reports_dir, filter)?, options))
}

/// Writes a trend's pass-rate chart as an SVG file.
pub fn write_trend_svg(trend: &Trend, file: &Path) -> Result<(), Error> {
    let svg = evaltriage_report::site::pass_rate_chart(&trend.models);
    std::fs::write(file, svg).map_err(|e| Error::bad_input(format!("cannot write {}: {e}", file.display())))
}

/// The records `reports export` writes.
pub fn export_records(reports_dir: &Path, filter: &ExportFilter<'_>) -> Result<Vec<ExportRecord>, Error> {
    Ok(evaltriage_report::export_records(&catalog(reports_dir)?, filter))
}

/// `reports agreement`.
pub fn agreement(reports_dir: &Path, filter: ReportFilter<'_>) -> Result<Agreement, Error> {
    let records = evaltriage_report::export_records(&reports(reports_dir, filter)?, &ExportFilter::default());
    Ok(evaltriage_report::agreement(&records))
}

/// A reviewer's verdict to record.
#[derive(Debug)]
pub struct ReviewRequest<'a> {
    /// The report: a path, a run id or prefix, or a model.
    pub report: &'a str,
    pub eval: &'a str,
    pub label: Classification,
    pub note: &'a str,
    pub by: Option<&'a str>,
    pub today: NaiveDate,
}

/// A recorded verdict.
#[derive(Debug)]
pub struct Reviewed {
    pub path: PathBuf,
    pub eval: String,
    pub human: HumanVerdict,
}

impl Reviewed {
    pub fn json(&self) -> Value {
        json!({
            "path": self.path.display().to_string(),
            "eval": self.eval,
            "label": self.human.label.as_str(),
            "note": self.human.note,
            "by": self.human.by,
            "date": self.human.date.format("%Y-%m-%d").to_string(),
        })
    }
}

/// `reports review`: records a human verdict in a report, under the report's lock.
pub fn review(reports_dir: &Path, request: &ReviewRequest<'_>) -> Result<Reviewed, Error> {
    let path = resolve(request.report, reports_dir)?;
    // The report's lock, as an analysis takes it: a review never races an analysis (or another
    // review) of the same report, so neither edit is lost. Inside is where the path resolves, not
    // how it is spelled (`..`, relative against an absolute folder).
    let inside = evaltriage_report::inside_reports_dir(reports_dir, &path);
    let _lock = if inside {
        match evaltriage_report::lock_report(reports_dir, &path) {
            Ok(lock) => Some(lock),
            Err(e @ evaltriage_report::ReportError::Busy { .. }) => {
                return Err(Error::new(
                    ErrorKind::Busy,
                    format!("{e}; the review was not recorded, try again when it is done"),
                ));
            }
            // A file not named like a report has no lock; the edit goes ahead.
            Err(_) => None,
        }
    } else {
        None
    };
    let text = read_report_text(&path)?;
    let human = HumanVerdict {
        label: request.label,
        note: request.note.to_owned(),
        by: request.by.map(str::to_owned).filter(|b| !b.trim().is_empty()),
        date: request.today,
    };
    let eval = request.eval.trim();
    let edited = evaltriage_report::add_review(&text, eval, &human).map_err(|problem| {
        Error::bad_input(format!(
            "cannot record the verdict for {eval} in {}: {problem}; nothing was written",
            path.display()
        ))
    })?;
    // A report named by a path outside the reports folder is written where it is, never through a
    // link out of its own folder.
    let root = if inside { reports_dir } else { path.parent().unwrap_or(reports_dir) };
    evaltriage_report::rewrite_report(root, &path, &edited)?;
    Ok(Reviewed { path, eval: eval.to_owned(), human })
}
