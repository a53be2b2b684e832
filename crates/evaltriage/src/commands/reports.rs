//! `reports list | show | trend | export | review | agreement`: reviewing the reports folder
//! across models and over time. The reading, trends, records and edits are the report crate's;
//! this module picks reports, prints and writes.

use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use evaltriage_core::Classification;
use evaltriage_report::{
    CatalogReport, ExportFilter, ExportRecord, HumanVerdict, TrendOptions, all_reports, model_matches, read_report_text,
};
use serde_json::{Value, json};

use crate::cli::{ExportFormat, LabelArg};
use crate::commands::{count, emit, emit_json, markdown_terminal};
use crate::config::Settings;
use crate::exit::CliError;

/// Every report in the reports folder, newest first; warnings about unreadable ones are logged.
/// A reports folder that does not exist is the user's input to fix.
pub fn catalog(settings: &Settings) -> Result<Vec<CatalogReport>, CliError> {
    let dir = &settings.reports_dir;
    if !dir.is_dir() {
        return Err(CliError::usage(format!(
            "no reports folder at {} (set it with --reports-dir or EVALTRIAGE_REPORTS_DIR)",
            dir.display()
        )));
    }
    let (reports, warnings) = all_reports(dir);
    for w in &warnings {
        tracing::warn!("{}: {}", w.path.display(), w.reason);
    }
    Ok(reports)
}

/// The reports a `--model` glob and `--since` day keep.
fn filtered(reports: Vec<CatalogReport>, model: Option<&str>, since: Option<NaiveDate>) -> Vec<CatalogReport> {
    reports
        .into_iter()
        .filter(|r| model.is_none_or(|g| model_matches(g, &r.model)))
        .filter(|r| since.is_none_or(|d| r.report.date >= d))
        .collect()
}

/// `LABEL n, LABEL m` (a reviewer's label where there is one).
fn label_counts(r: &CatalogReport) -> std::collections::BTreeMap<String, usize> {
    let mut counts = std::collections::BTreeMap::new();
    for e in &r.report.entries {
        let label = e.human.as_ref().map_or_else(|| e.label.clone(), |h| h.label.as_str().to_owned());
        *counts.entry(label).or_insert(0) += 1;
    }
    counts
}

fn pass_rate_text(rate: Option<(u32, u32)>) -> String {
    match rate {
        Some((p, t)) if t > 0 => format!("{p}/{t} ({:.1}%)", f64::from(p) * 100.0 / f64::from(t)),
        Some((p, t)) => format!("{p}/{t}"),
        None => "—".to_owned(),
    }
}

/// What a command shows, in both forms, from one pass over the reports: the JSON `--json` prints
/// and the text. The MCP tools return both; the CLI prints one.
#[derive(Debug)]
pub struct Shown {
    pub json: Value,
    pub text: String,
}

impl Shown {
    fn emit(&self, settings: &Settings, out: &mut dyn Write) -> Result<(), CliError> {
        if settings.json { emit_json(out, &self.json) } else { emit(out, &self.text) }
    }
}

pub fn list(
    model: Option<&str>,
    since: Option<NaiveDate>,
    settings: &Settings,
    out: &mut dyn Write,
) -> Result<(), CliError> {
    listing(model, since, settings)?.emit(settings, out)
}

/// `reports list`, both forms.
pub fn listing(model: Option<&str>, since: Option<NaiveDate>, settings: &Settings) -> Result<Shown, CliError> {
    let reports = filtered(catalog(settings)?, model, since);
    let json = {
        let items: Vec<Value> = reports
            .iter()
            .map(|r| {
                json!({
                    "path": settings.reports_dir.join(&r.relative).display().to_string(),
                    "model": r.model,
                    "date": r.report.date.format("%Y-%m-%d").to_string(),
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
    };
    if reports.is_empty() {
        return Ok(Shown { json, text: format!("No reports in {}.\n", settings.reports_dir.display()) });
    }
    let mut text = String::new();
    for r in &reports {
        let labels: Vec<String> = label_counts(r).iter().map(|(l, n)| format!("{l} {n}")).collect();
        let scope = r.report.scope.as_ref().map(|s| format!(" [{}]", s.describe())).unwrap_or_default();
        text.push_str(&format!(
            "{}  {}  {}{}  {}  {}  {}{}{}\n    {}\n",
            r.report.date.format("%Y-%m-%d"),
            r.model,
            r.report.run_id_prefix,
            scope,
            r.report.experiment.as_deref().unwrap_or("—"),
            pass_rate_text(r.report.pass_rate),
            if labels.is_empty() { "no failures named".to_owned() } else { labels.join(", ") },
            if r.has_human_verdicts() { "  (reviewed)" } else { "" },
            if r.report.ours { "" } else { "  (hand-written)" },
            settings.reports_dir.join(&r.relative).display(),
        ));
    }
    text.push_str(&format!("\n{}\n", count(reports.len(), "report", "reports")));
    Ok(Shown { json, text })
}

/// A report named by path, run id or prefix, or model (its latest full report).
pub fn resolve(key: &str, settings: &Settings) -> Result<PathBuf, CliError> {
    let as_path = Path::new(key);
    if std::fs::symlink_metadata(as_path).is_ok() {
        return Ok(as_path.to_owned());
    }
    let reports = catalog(settings)?;
    let key = key.trim();
    let prefix: String = key.chars().take(8).collect();
    let by_run = |r: &&CatalogReport| {
        r.report.run_id.as_deref() == Some(key)
            || (key.len() <= 8 && r.report.run_id_prefix == key)
            || (key.len() > 8 && r.report.run_id.is_none() && r.report.run_id_prefix == prefix)
    };
    let full_first = |found: Vec<&CatalogReport>| {
        found
            .iter()
            .find(|r| r.report.scope.is_none())
            .or(found.first())
            .map(|r| settings.reports_dir.join(&r.relative))
    };
    if let Some(path) = full_first(reports.iter().filter(by_run).collect()) {
        return Ok(path);
    }
    if let Some(path) = full_first(reports.iter().filter(|r| model_matches(key, &r.model)).collect()) {
        return Ok(path);
    }
    Err(CliError::usage(format!(
        "no report for {key:?} in {} (give a report path, a run id or prefix, or a model)",
        settings.reports_dir.display()
    )))
}

pub fn show(key: &str, raw: bool, settings: &Settings, out: &mut dyn Write) -> Result<(), CliError> {
    let shown = showing(key, settings)?;
    let terminal = std::io::IsTerminal::is_terminal(&std::io::stdout());
    if settings.json || raw || !terminal {
        shown.emit(settings, out)
    } else {
        emit(out, &markdown_terminal::render(&shown.text))
    }
}

/// `reports show`, both forms (the text is the raw markdown).
pub fn showing(key: &str, settings: &Settings) -> Result<Shown, CliError> {
    let path = resolve(key, settings)?;
    let text = read_report_text(&path)?;
    Ok(Shown { json: json!({ "path": path.display().to_string(), "markdown": text }), text })
}

/// The options of `reports trend`.
#[derive(Debug)]
pub struct TrendArgs<'a> {
    pub model: Option<&'a str>,
    pub since: Option<NaiveDate>,
    pub options: TrendOptions,
    pub svg: Option<&'a Path>,
}

pub fn trend(args: &TrendArgs<'_>, settings: &Settings, out: &mut dyn Write) -> Result<(), CliError> {
    let reports = filtered(catalog(settings)?, args.model, args.since);
    let trend = evaltriage_report::trend(&reports, args.options);
    if let Some(file) = args.svg {
        let svg = evaltriage_report::site::pass_rate_chart(&trend.models);
        std::fs::write(file, svg).map_err(|e| CliError::usage(format!("cannot write {}: {e}", file.display())))?;
    }
    trend_shown(&trend, settings).emit(settings, out)
}

/// `reports trend` without `--svg`, both forms.
pub fn trending(args: &TrendArgs<'_>, settings: &Settings) -> Result<Shown, CliError> {
    let reports = filtered(catalog(settings)?, args.model, args.since);
    Ok(trend_shown(&evaltriage_report::trend(&reports, args.options), settings))
}

fn trend_shown(trend: &evaltriage_report::Trend, settings: &Settings) -> Shown {
    let json = trend.to_json();
    if trend.models.is_empty() {
        return Shown { json, text: format!("No full reports in {}.\n", settings.reports_dir.display()) };
    }
    let mut text = String::new();
    for m in &trend.models {
        text.push_str(&format!("{} — {}\n", m.model, count(m.points.len(), "run", "runs")));
        for p in &m.points {
            let labels: Vec<String> = p.labels.iter().map(|(l, n)| format!("{l} {n}")).collect();
            text.push_str(&format!(
                "  {}  {}  {:<14}  {:<16}  {}\n",
                p.date.format("%Y-%m-%d"),
                p.run_id_prefix,
                p.experiment.as_deref().unwrap_or("—"),
                pass_rate_text(p.pass_rate),
                labels.join(", ")
            ));
        }
        let row = |r: &evaltriage_report::EvalRow| {
            let pattern: String = r.cells.iter().map(|c| if c.is_some() { 'F' } else { '.' }).collect();
            format!("{} ({}/{} runs, {pattern})", r.eval, r.failed, r.cells.len())
        };
        let persistent: Vec<String> = m.persistent().map(row).collect();
        let flaky: Vec<String> = m.flaky().map(row).collect();
        if !persistent.is_empty() {
            text.push_str(&format!(
                "  persistent (failed in ≥{} of the last {} runs):\n    {}\n",
                trend.options.persistent_min,
                trend.options.window,
                persistent.join("\n    ")
            ));
        }
        if !flaky.is_empty() {
            text.push_str(&format!("  flaky (passing and failing in turn):\n    {}\n", flaky.join("\n    ")));
        }
        text.push('\n');
    }
    if trend.models.len() > 1 {
        if trend.failing_everywhere.is_empty() {
            text.push_str("No eval failed in the latest run of every model.\n");
        } else {
            text.push_str(&format!(
                "Failing in the latest run of every model ({}): likely the eval's problem, not the models':\n  {}\n",
                trend.models.len(),
                trend.failing_everywhere.join("\n  ")
            ));
        }
    }
    Shown { json, text }
}

pub fn export(
    format: ExportFormat,
    filter: &ExportFilter<'_>,
    settings: &Settings,
    out: &mut dyn Write,
) -> Result<(), CliError> {
    let records = export_records(filter, settings)?;
    match format {
        ExportFormat::Json => emit_json(out, &Value::Array(records.iter().map(|r| r.to_json()).collect())),
        ExportFormat::Jsonl => {
            let mut text = String::new();
            for r in &records {
                text.push_str(&r.to_json().to_string());
                text.push('\n');
            }
            emit(out, &text)
        }
        ExportFormat::Csv => emit(out, &evaltriage_report::to_csv(&records)),
    }
}

/// The records `reports export` writes.
pub fn export_records(filter: &ExportFilter<'_>, settings: &Settings) -> Result<Vec<ExportRecord>, CliError> {
    Ok(evaltriage_report::export_records(&catalog(settings)?, filter))
}

/// The options of `reports review`.
#[derive(Debug)]
pub struct ReviewArgs<'a> {
    pub report: &'a str,
    pub eval: &'a str,
    pub label: LabelArg,
    pub note: &'a str,
    pub by: Option<&'a str>,
    pub today: NaiveDate,
}

pub fn review(args: &ReviewArgs<'_>, settings: &Settings, out: &mut dyn Write) -> Result<(), CliError> {
    let path = resolve(args.report, settings)?;
    // The report's lock, as an analysis takes it: a review never races an analysis (or another
    // review) of the same report, so neither edit is lost.
    let _lock = if path.starts_with(&settings.reports_dir) {
        match evaltriage_report::lock_report(&settings.reports_dir, &path) {
            Ok(lock) => Some(lock),
            Err(e @ evaltriage_report::ReportError::Busy { .. }) => {
                return Err(CliError::failed(format!("{e}; the review was not recorded, try again when it is done")));
            }
            // A file not named like a report has no lock; the edit goes ahead.
            Err(_) => None,
        }
    } else {
        None
    };
    let text = read_report_text(&path)?;
    let label = match args.label {
        LabelArg::ModelFault => Classification::ModelFault,
        LabelArg::OverlyStrict => Classification::OverlyStrict,
        LabelArg::AmbiguousTask => Classification::AmbiguousTask,
        LabelArg::KnownGap => Classification::KnownGap,
    };
    let human = HumanVerdict {
        label,
        note: args.note.to_owned(),
        by: args.by.map(str::to_owned).filter(|b| !b.trim().is_empty()),
        date: args.today,
    };
    let eval = args.eval.trim();
    let edited = evaltriage_report::add_review(&text, eval, &human).map_err(|problem| {
        CliError::usage(format!(
            "cannot record the verdict for {eval} in {}: {problem}; nothing was written",
            path.display()
        ))
    })?;
    evaltriage_report::rewrite_report(&settings.reports_dir, &path, &edited)?;
    if settings.json {
        return emit_json(
            out,
            &json!({
                "path": path.display().to_string(),
                "eval": eval,
                "label": label.as_str(),
                "note": human.note,
                "by": human.by,
                "date": human.date.format("%Y-%m-%d").to_string(),
            }),
        );
    }
    emit(out, &format!("Recorded in {}:\n  {eval}: {}\n", path.display(), human.line()))
}

pub fn agreement(
    model: Option<&str>,
    since: Option<NaiveDate>,
    settings: &Settings,
    out: &mut dyn Write,
) -> Result<(), CliError> {
    agreeing(model, since, settings)?.emit(settings, out)
}

/// `reports agreement`, both forms.
pub fn agreeing(model: Option<&str>, since: Option<NaiveDate>, settings: &Settings) -> Result<Shown, CliError> {
    let reports = filtered(catalog(settings)?, model, since);
    let records = evaltriage_report::export_records(&reports, &ExportFilter::default());
    let agreement = evaltriage_report::agreement(&records);
    Ok(Shown { json: agreement.to_json(), text: agreement.to_text() })
}
