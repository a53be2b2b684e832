//! `reports list | show | trend | export | review | agreement`: reviewing the reports folder
//! across models and over time, through the pipeline's review operations.

use std::io::Write;
use std::path::Path;

use evaltriage_pipeline::review::{self, ReportFilter, ReviewRequest};
use evaltriage_report::{ExportFilter, TrendOptions};
use serde_json::Value;

use crate::cli::{ExportFormat, LabelArg};
use crate::exit::CliError;
use crate::output::{emit, emit_either, emit_json};
use crate::present::reports::{list_text, trend_text};

/// The hint for a reports folder that does not exist.
fn with_folder_hint(e: evaltriage_pipeline::Error) -> CliError {
    let mut e = CliError::from(e);
    if e.message.starts_with("no reports folder at ") {
        e.message.push_str(" (set it with --reports-dir or EVALTRIAGE_REPORTS_DIR)");
    }
    e
}

pub fn list(reports_dir: &Path, filter: ReportFilter<'_>, json: bool, out: &mut dyn Write) -> Result<(), CliError> {
    let reports = review::reports(reports_dir, filter).map_err(with_folder_hint)?;
    emit_either(out, json, || review::list_json(reports_dir, &reports), || list_text(reports_dir, &reports))
}

pub fn show(key: &str, raw: bool, reports_dir: &Path, json: bool, out: &mut dyn Write) -> Result<(), CliError> {
    let shown = review::show(key, reports_dir).map_err(with_folder_hint)?;
    let terminal = std::io::IsTerminal::is_terminal(&std::io::stdout());
    if json {
        emit_json(out, &shown.json())
    } else if raw || !terminal {
        emit(out, &shown.markdown)
    } else {
        emit(out, &evaltriage_report::render_for_terminal(&shown.markdown))
    }
}

pub fn trend(
    reports_dir: &Path,
    filter: ReportFilter<'_>,
    options: TrendOptions,
    svg: Option<&Path>,
    json: bool,
    out: &mut dyn Write,
) -> Result<(), CliError> {
    let trend = review::trend(reports_dir, filter, options).map_err(with_folder_hint)?;
    if let Some(file) = svg {
        review::write_trend_svg(&trend, file)?;
    }
    emit_either(out, json, || trend.to_json(), || trend_text(&trend, reports_dir))
}

pub fn export(
    format: ExportFormat,
    filter: &ExportFilter<'_>,
    reports_dir: &Path,
    out: &mut dyn Write,
) -> Result<(), CliError> {
    let records = review::export_records(reports_dir, filter).map_err(with_folder_hint)?;
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

/// The options of `reports review`.
#[derive(Debug)]
pub struct ReviewArgs<'a> {
    pub report: &'a str,
    pub eval: &'a str,
    pub label: LabelArg,
    pub note: &'a str,
    pub by: Option<&'a str>,
}

pub fn review(args: &ReviewArgs<'_>, reports_dir: &Path, json: bool, out: &mut dyn Write) -> Result<(), CliError> {
    let request = ReviewRequest {
        report: args.report,
        eval: args.eval,
        label: args.label.into(),
        note: args.note,
        by: args.by,
        today: chrono::Utc::now().date_naive(),
    };
    let reviewed = review::review(reports_dir, &request).map_err(with_folder_hint)?;
    emit_either(
        out,
        json,
        || reviewed.json(),
        || format!("Recorded in {}:\n  {}: {}\n", reviewed.path.display(), reviewed.eval, reviewed.human.line()),
    )
}

pub fn agreement(
    reports_dir: &Path,
    filter: ReportFilter<'_>,
    json: bool,
    out: &mut dyn Write,
) -> Result<(), CliError> {
    let agreement = review::agreement(reports_dir, filter).map_err(with_folder_hint)?;
    emit_either(out, json, || agreement.to_json(), || agreement.to_text())
}
