//! evaltriage's reports: reading prior reports (our own exactly, hand-written ones heuristically),
//! per-eval history, what changed since the last report, rendering the report as markdown, the
//! path scheme (scoped reports included), the nightly digest, and atomic writes; and reviewing
//! them: the catalog of every report, human verdicts, trends, run diffs, export records,
//! agreement and the static site.
//!
//! Only [`read_prior_reports`], [`prior_reports_for_run`], [`all_reports`], [`known_gaps`],
//! [`model_dir_in_tree`], [`report_path_in_tree`], [`read_one`],
//! [`read_report_text`], [`list_report_files`], [`read_report_file`], [`existing_report_for`],
//! [`write_report`], [`rewrite_report`], [`write_file_atomically`] and the locks touch the file
//! system; everything else is pure. Nothing here does network I/O or prints.

mod across;
mod error;
mod history;
mod lines;
mod llm_cost;
mod path_scheme;
mod read;
mod render;
mod review;
pub mod site;
mod write;

pub use across::baseline::{Baseline, CategoryStanding, EvalFrequency, Regression, Standing, WindowEval, baseline};
pub use across::claim::{add_action_taken, claim_entry};
pub use across::findings::{Claim, Finding, FindingChange, FindingKind, FindingState, finding_changes, findings};
pub use across::suspects::{GraderSuspect, grader_suspects};
pub use across::{AcrossOptions, AcrossReport, EvalOutcome, RecordFailure, RunRecord, RunReference, records_of};
pub use error::ReportError;
pub use history::changes::{Changes, ChangesSince, DEFAULT_EXPERIMENT, EvalChange, changes_since};
pub use history::{ClaimedFix, EvalHistory, History, HistoryStatus, PriorFailure, history};
pub use llm_cost::{LlmCost, approx_usd};
pub use path_scheme::{
    ReportFileName, ReportKey, ReportScope, UNKNOWN_MODEL, UNKNOWN_PROVIDER, model_dir, parse_report_file_name,
    report_file_name, report_folders, report_path, sanitise_component,
};
pub use read::catalog::{CatalogReport, all_reports, read_one, read_report_text};
pub use read::earlier::{EarlierVerdict, earlier_verdicts};
pub use read::find::{model_dir_in_tree, report_path_in_tree};
pub use read::human_verdict::{HumanVerdict, ReviewProblem};
pub use read::known_gaps::{known_gaps, known_gaps_for, known_gaps_in};
pub use read::prior::{parse_report, prior_reports_for_run, read_prior_reports};
pub use read::prior_report::{ActionTaken, PriorEntry, PriorReport, PriorWarning};
pub use read::report_files::{ReportFile, list_report_files, read_report_file};
pub use render::digest::{AnalyzedRun, DigestRun, Flagged, NightDigest, RunOutcome, digest_title};
pub use render::terminal::render as render_for_terminal;
pub use render::{ReportInput, Synthesis, render, render_with};
pub use review::agreement::{Agreement, Confusion, agreement};
pub use review::export::{ExportFilter, ExportRecord, export_records, model_matches, to_csv};
pub use review::human::add_review;
pub use review::run_diff::{EvalDiff, RunSide, diff_json, diff_text, differences, oldest_first, run_diff};
pub use review::structured::report_json;
pub use review::trend::{EvalRow, ModelTrend, Outcome, Trend, TrendOptions, TrendPoint, trend};
pub use write::lock::{HeldLock, LockAttempt, inside_reports_dir, lock_path, lock_report, try_lock_file};
pub use write::{WriteOutcome, existing_report_for, rewrite_report, write_file_atomically, write_report};

/// What the crate's unit tests share.
#[cfg(test)]
mod test_support {
    use evaltriage_core::{Run, RunId, RunStatus};

    /// A run with no evals, of `model` served by `provider`.
    pub(crate) fn run(model: &str, provider: Option<&str>) -> Run {
        Run {
            id: RunId::new("jn72t14a0tmje3jrj9wwng78gh80mdfw").unwrap(),
            model_id: None,
            model: model.to_owned(),
            formatted_name: None,
            provider: provider.map(str::to_owned),
            experiment: "default".to_owned(),
            status: RunStatus::Completed { duration_ms: None },
            created_at_ms: 0.0,
            planned_evals: Vec::new(),
            evals: Vec::new(),
        }
    }
}
