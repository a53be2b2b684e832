//! evaltriage's reports: reading prior reports (our own exactly, hand-written ones heuristically),
//! per-eval history, what changed since the last report, rendering the report as markdown, the
//! path scheme (scoped reports included), the nightly digest, and atomic writes; and reviewing
//! them: the catalog of every report, human verdicts, trends, run diffs, export records,
//! agreement and the static site.
//!
//! Only [`read_prior_reports`], [`prior_reports_for_run`], [`all_reports`], [`read_one`],
//! [`read_report_text`], [`list_report_files`], [`read_report_file`], [`existing_report_for`],
//! [`write_report`], [`rewrite_report`], [`write_file_atomically`] and the locks touch the file
//! system; everything else is pure. Nothing here does network I/O or prints.

mod agreement;
mod catalog;
mod changes;
mod digest;
mod error;
mod escape;
mod export;
mod find;
mod history;
mod legacy;
mod lines;
mod lock;
mod machine_block;
mod path_scheme;
mod prior;
mod render;
mod report_files;
mod review;
mod run_diff;
pub mod site;
mod trend;
mod write;

pub use agreement::{Agreement, Confusion, agreement};
pub use catalog::{CatalogReport, all_reports, read_one, read_report_text};
pub use changes::{Changes, ChangesSince, DEFAULT_EXPERIMENT, EvalChange, changes_since};
pub use digest::{AnalysedRun, DigestRun, Flagged, NightDigest, RunOutcome, digest_title};
pub use error::ReportError;
pub use export::{ExportFilter, ExportRecord, export_records, model_matches, to_csv};
pub use history::{ClaimedFix, EvalHistory, History, HistoryStatus, PriorFailure, history};
pub use lock::{HeldLock, LockAttempt, lock_path, lock_report, try_lock_file};
pub use path_scheme::{
    ReportFileName, ReportScope, UNKNOWN_MODEL, UNKNOWN_PROVIDER, model_dir, parse_report_file_name, report_file_name,
    report_folders, report_path, sanitise_component,
};
pub use prior::{
    ActionTaken, PriorEntry, PriorReport, PriorWarning, parse_report, prior_reports_for_run, read_prior_reports,
};
pub use render::{ReportInput, Synthesis, render};
pub use report_files::{ReportFile, list_report_files, read_report_file};
pub use review::{HumanVerdict, ReviewProblem, add_review};
pub use run_diff::{EvalDiff, RunSide, diff_json, diff_text, run_diff};
pub use trend::{EvalRow, ModelTrend, Trend, TrendOptions, TrendPoint, trend};
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
