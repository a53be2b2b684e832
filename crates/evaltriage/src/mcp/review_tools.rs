//! The review operations as tools: `reports_list`, `reports_show`, `reports_trend`, `diff`,
//! `reports_export`, `reports_review`, `reports_agreement`, `findings`. Each calls the pipeline's review
//! operation the CLI command calls, and returns its JSON with the text the command prints (from
//! `present`), so the tool and the command cannot drift apart.

use std::path::Path;

use chrono::NaiveDate;
use clap::ValueEnum as _;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::json;

use evaltriage_pipeline::Settings;
use evaltriage_pipeline::review::{self, ReportFilter, ReviewRequest};

use super::Shared;
use super::output::ToolOutput;
use crate::cli::LabelArg;
use crate::exit::CliError;
use crate::present::reports::{list_text, trend_text};

fn day(field: &str, text: Option<&str>) -> Result<Option<NaiveDate>, CliError> {
    text.map(|t| {
        NaiveDate::parse_from_str(t.trim(), "%Y-%m-%d")
            .map_err(|_| CliError::usage(format!("{field}: {t:?} is not a date (YYYY-MM-DD)")))
    })
    .transpose()
}

/// Arguments of `reports_list` and `reports_agreement`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReportsListInput {
    /// Only models matching this glob (`*`, `?`), e.g. `anthropic/*`
    model: Option<String>,
    /// Only reports of runs made on or after this day (YYYY-MM-DD)
    since: Option<String>,
}

pub async fn reports_list(shared: &Shared, input: ReportsListInput) -> Result<ToolOutput, CliError> {
    let since = day("since", input.since.as_deref())?;
    let dir = &shared.settings.reports_dir;
    let reports = review::reports(dir, ReportFilter { model: input.model.as_deref(), since })?;
    Ok(ToolOutput { json: review::list_json(dir, &reports), text: list_text(dir, &reports) })
}

pub async fn reports_agreement(shared: &Shared, input: ReportsListInput) -> Result<ToolOutput, CliError> {
    let since = day("since", input.since.as_deref())?;
    let filter = ReportFilter { model: input.model.as_deref(), since };
    let agreement = review::agreement(&shared.settings.reports_dir, filter)?;
    Ok(ToolOutput { json: agreement.to_json(), text: agreement.to_text() })
}

/// Arguments of `reports_show`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReportsShowInput {
    /// A report: its path in the reports folder, a run id or prefix, or a model (its latest report)
    report: String,
}

pub async fn reports_show(shared: &Shared, input: ReportsShowInput) -> Result<ToolOutput, CliError> {
    let dir = &shared.settings.reports_dir;
    let path = inside_reports(&shared.settings, &review::resolve(&input.report, dir)?)?;
    let shown = review::show(&path.display().to_string(), dir)?;
    Ok(ToolOutput { json: shown.json(), text: shown.markdown })
}

/// Arguments of `reports_trend`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReportsTrendInput {
    /// Only models matching this glob
    model: Option<String>,
    /// Only reports of runs made on or after this day (YYYY-MM-DD)
    since: Option<String>,
    /// How many of each model's latest runs the persistent and flaky evals are judged on [default: 10]
    runs: Option<u16>,
    /// An eval failing in at least this many of those runs is persistent [default: 3]
    min_failed: Option<u16>,
}

pub async fn reports_trend(shared: &Shared, input: ReportsTrendInput) -> Result<ToolOutput, CliError> {
    let filter = ReportFilter { model: input.model.as_deref(), since: day("since", input.since.as_deref())? };
    let options = evaltriage_report::TrendOptions {
        window: usize::from(input.runs.unwrap_or(10).clamp(1, 500)),
        persistent_min: usize::from(input.min_failed.unwrap_or(3).clamp(1, 500)),
    };
    let dir = &shared.settings.reports_dir;
    let trend = review::trend(dir, filter, options)?;
    Ok(ToolOutput { json: trend.to_json(), text: trend_text(&trend, dir) })
}

/// Arguments of `reports_export`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReportsExportInput {
    /// Only models matching this glob
    model: Option<String>,
    /// Only verdicts with this status (`done`, `error`, `skipped`)
    status: Option<String>,
    /// Only verdicts with this label (the tool's or a reviewer's), e.g. `KNOWN_GAP`
    classification: Option<String>,
    /// Only failures at this step (`tsc`, `eslint`, `tests`, ...)
    step: Option<String>,
    /// Only reports of runs made on or after this day (YYYY-MM-DD)
    since: Option<String>,
    /// Only reports dated on or before this day (YYYY-MM-DD)
    until: Option<String>,
}

pub async fn reports_export(shared: &Shared, input: ReportsExportInput) -> Result<ToolOutput, CliError> {
    let filter = evaltriage_report::ExportFilter {
        model: input.model.as_deref(),
        status: input.status.as_deref(),
        classification: input.classification.as_deref(),
        step: input.step.as_deref(),
        since: day("since", input.since.as_deref())?,
        until: day("until", input.until.as_deref())?,
    };
    let records = review::export_records(&shared.settings.reports_dir, &filter)?;
    let json = json!({ "records": records.iter().map(evaltriage_report::ExportRecord::to_json).collect::<Vec<_>>() });
    Ok(ToolOutput { json, text: evaltriage_report::to_csv(&records) })
}

/// Arguments of `diff`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DiffInput {
    /// The earlier run: a run id or prefix with a report, a report path, or a run id, URL or store
    /// path read from the run's data
    a: String,
    /// The later run, the same way
    b: String,
}

pub async fn run_diff(shared: &Shared, input: DiffInput) -> Result<ToolOutput, CliError> {
    let compared = review::diff::compare(&input.a, &input.b, &shared.settings).await?;
    Ok(ToolOutput { json: compared.json(), text: compared.text() })
}

/// Arguments of `reports_review`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReportsReviewInput {
    /// The report: its path in the reports folder, a run id or prefix, or a model (its latest report)
    report: String,
    /// The eval, by path (`category/name`) or name
    eval: String,
    /// The reviewer's label: MODEL_FAULT, OVERLY_STRICT, AMBIGUOUS_TASK or KNOWN_GAP
    label: String,
    /// Why, in a sentence
    note: String,
    /// Who reviewed (a name or handle)
    by: Option<String>,
}

pub async fn reports_review(shared: &Shared, input: ReportsReviewInput) -> Result<ToolOutput, CliError> {
    let label = LabelArg::from_str(input.label.trim(), true).map_err(|_| {
        CliError::usage(format!(
            "label: {:?} is not MODEL_FAULT, OVERLY_STRICT, AMBIGUOUS_TASK or KNOWN_GAP",
            input.label
        ))
    })?;
    // A tool writes inside the reports folder only.
    let dir = &shared.settings.reports_dir;
    let path = inside_reports(&shared.settings, &review::resolve(&input.report, dir)?)?;
    let report = path.display().to_string();
    let request = ReviewRequest {
        report: &report,
        eval: &input.eval,
        label: label.into(),
        note: &input.note,
        by: input.by.as_deref(),
        today: chrono::Utc::now().date_naive(),
    };
    let json = review::review(dir, &request)?.json();
    let text = serde_json::to_string_pretty(&json).unwrap_or_default();
    Ok(ToolOutput { json, text })
}

/// The report path, if it is inside the reports folder (links resolved); else bad input.
fn inside_reports(settings: &Settings, path: &Path) -> Result<std::path::PathBuf, CliError> {
    let outside = || {
        CliError::usage(format!(
            "{} is not a report inside the reports folder {}",
            path.display(),
            settings.reports_dir.display()
        ))
    };
    let root = std::fs::canonicalize(&settings.reports_dir).map_err(|_| outside())?;
    let real = std::fs::canonicalize(path).map_err(|_| outside())?;
    // The path as resolved (not its canonical form), so the review takes the report's lock as an
    // analysis would.
    if real.starts_with(&root) { Ok(path.to_owned()) } else { Err(outside()) }
}

/// Arguments of `findings`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FindingsInput {
    /// One finding by id (`m-...`, `g-...`): its history, claim and deciding runs; else the list
    id: Option<String>,
    /// Only findings of models matching this glob (a grader finding: one of its models)
    model: Option<String>,
    /// Only findings in this state: new, recurring, fix-claimed, verified, reopened
    state: Option<String>,
    /// Only findings of this kind: model, flaky, grader
    kind: Option<String>,
    /// Only open findings (every state but verified)
    open: Option<bool>,
}

pub async fn findings(shared: &Shared, input: FindingsInput) -> Result<ToolOutput, CliError> {
    use crate::present::findings::{list_text, show_text};
    use evaltriage_pipeline::findings::{self, FindingsFilter};
    let options = shared.settings.across.options()?;
    let dir = &shared.settings.reports_dir;
    if let Some(id) = &input.id {
        let finding = findings::show(dir, id, &options)?;
        return Ok(ToolOutput { json: finding.to_json(), text: show_text(&finding) });
    }
    let state = input
        .state
        .as_deref()
        .map(|s| {
            evaltriage_report::FindingState::parse(s).ok_or_else(|| {
                CliError::usage(format!("state: {s:?} is not new, recurring, fix-claimed, verified or reopened"))
            })
        })
        .transpose()?;
    let kind = input
        .kind
        .as_deref()
        .map(|k| {
            evaltriage_report::FindingKind::parse(k)
                .ok_or_else(|| CliError::usage(format!("kind: {k:?} is not model, flaky or grader")))
        })
        .transpose()?;
    let filter = FindingsFilter { model: input.model.as_deref(), state, kind, open: input.open.unwrap_or(false) };
    let list = findings::list(dir, filter, &options)?;
    Ok(ToolOutput { json: findings::list_json(&list, &options), text: list_text(&list) })
}
