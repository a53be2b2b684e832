//! Sources of runs: the [`Source`] trait and its implementations — the Convex HTTP API
//! ([`ConvexSource`]), a local store that mirrors it ([`StoreSource`]), and Inspect AI logs
//! ([`InspectSource`]).
//!
//! Both read the same run documents (the value of `runs:getRunDetails`) and the same blobs (zips
//! by storage id), so everything after the fetch goes through the same code.

mod convex;
mod history;
mod inspect;
mod limits;
mod listing;
mod snapshot;
mod store;
mod wire;
mod zipfiles;

use std::future::Future;
use std::path::PathBuf;

pub use convex::{ConvexConfig, ConvexSource, DEFAULT_CONVEX_URL};
pub use history::{MODEL_HISTORY_MAX, ScoredRun};
pub use inspect::{InspectLimits, InspectSource, LogFormat, inspect_log_format, logs_in};
pub use limits::{DEFAULT_MAX_BLOB_BYTES, MAX_RUN_DOCUMENT_BYTES};
pub use listing::{LIST_RUNS_MAX, ListQuery, Listing, glob_matches, list_convex, list_logs, list_store};
pub use snapshot::{SnapshotSummary, snapshot};
pub use store::{MAX_STORE_BLOB_BYTES, StoreSource};
pub use zipfiles::{ZipLimits, unzip_files};

use crate::evidence::{Evidence, EvidencePart, EvidenceProblem, FileSet};
use crate::ids::{EvalId, RunId, StorageId};
use crate::model::Run;
use crate::target::RunRef;

/// What a source could not do.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("run {0} was not found (check the id, and --convex-url or --store)")]
    RunNotFound(RunId),
    #[error(
        "run {0} could not be read: the server answered a bare \"Server Error\", which it does for runs that are not coding runs (decision runs); evaltriage analyses coding runs only"
    )]
    NotACodingRun(RunId),
    #[error("{path} failed: {message}")]
    Function { path: String, message: String },
    #[error("{url} answered HTTP {status}: {message}")]
    Http { url: String, status: u16, message: String },
    #[error("could not reach {url}: {message}")]
    Transport { url: String, message: String },
    /// A server answered something that is not what its API documents (its fault, not the user's).
    #[error("unexpected data from the source: {0}")]
    Malformed(String),
    /// A run document the user gave — a file, or one in a store they named — is not a valid run
    /// document (bad JSON, invalid UTF-8, a missing or mistyped field, named in the message).
    #[error("{path}: {message}")]
    BadRunFile { path: PathBuf, message: String },
    /// A file of a store that is not a regular file, is too large, leads outside the store, or
    /// could not be read.
    #[error(transparent)]
    File(#[from] crate::fsread::ReadError),
    /// A blob that could not be fetched (no download URL, a refused URL, over the size cap).
    #[error("blob {id}: {reason}")]
    Blob { id: StorageId, reason: String },
    #[error("eval {0} is not in this run")]
    NoSuchEval(String),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{0}")]
    Store(String),
    /// The source answered with another run's document: its data must never be analyzed or
    /// stored under the id that was asked for.
    #[error("asked {from} for run {asked} and got run {got}; refusing to use another run's data")]
    WrongRun { asked: RunId, got: RunId, from: String, local: bool },
}

/// The run, if it is the one asked for.
pub(crate) fn the_run_asked_for(asked: &RunId, run: Run, from: &str, local: bool) -> Result<Run, SourceError> {
    if &run.id == asked {
        Ok(run)
    } else {
        Err(SourceError::WrongRun { asked: asked.clone(), got: run.id, from: from.to_owned(), local })
    }
}

/// A filter for listing runs (nightly discovery).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunFilter {
    pub experiment: Option<String>,
    pub model_id: Option<String>,
    pub limit: Option<u32>,
}

/// A run's header, as listed.
#[derive(Debug, Clone, PartialEq)]
pub struct RunHeader {
    pub run_id: RunId,
    pub model: String,
    pub experiment: String,
    /// The status `kind` (`completed`, `running`, ...).
    pub status: String,
    pub created_at_ms: f64,
    /// The model's document id, when the source gives it.
    pub model_id: Option<String>,
    /// The endpoint provider (often `openrouter`), when the source gives it.
    pub provider: Option<String>,
    /// The eval counts `runs:listRuns` adds, when the source gives them.
    pub eval_counts: Option<EvalCounts>,
    /// The run's benchmark version (a document id), when the listing gives it; run details do
    /// not.
    pub benchmark_version: Option<String>,
}

impl RunHeader {
    /// Whether the run has finished (`completed` or `failed`): only finished runs are analyzed
    /// unattended.
    pub fn is_finished(&self) -> bool {
        matches!(self.status.as_str(), "completed" | "failed")
    }
}

/// How many of a run's evals passed, failed, or have not finished, as `runs:listRuns` counts them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct EvalCounts {
    pub total: u32,
    pub passed: u32,
    pub failed: u32,
    pub pending: u32,
    /// Whether `passed` and `failed` were counted: an Inspect log's header gives its sample count
    /// but not each sample's outcome (reading those means reading every sample).
    pub outcomes_counted: bool,
}

/// A backend that runs are read from.
pub trait Source: Sync {
    /// The run with all its evals and steps.
    fn run(&self, run: &RunRef) -> impl Future<Output = Result<Run, SourceError>> + Send;

    /// The files of one failed eval (output zip, eval source zip). What could not be fetched is
    /// recorded in [`Evidence::problems`], not returned as an error; an error means the eval
    /// itself is not in the run.
    fn evidence(&self, run: &Run, eval: &EvalId) -> impl Future<Output = Result<Evidence, SourceError>> + Send;

    /// Runs matching a filter, newest first.
    fn runs(&self, filter: &RunFilter) -> impl Future<Output = Result<Vec<RunHeader>, SourceError>> + Send;
}

/// Parses a run document — the value of `runs:getRunDetails`, as a store keeps it — into a [`Run`].
/// An error is [`SourceError::Malformed`] and names the field.
pub fn parse_run_document(value: &serde_json::Value) -> Result<Run, SourceError> {
    wire::run_from_value(value).map_err(SourceError::Malformed)
}

/// Parses a run document from its JSON bytes, with no intermediate JSON tree. An error is
/// [`SourceError::Malformed`] and names the field.
pub fn parse_run_document_bytes(bytes: &[u8]) -> Result<Run, SourceError> {
    wire::run_from_slice(bytes).map_err(SourceError::Malformed)
}

/// A blob as read: its files and the files of it that were left out (path, why), or why the
/// whole blob could not be read.
type BlobRead = Result<(FileSet, Vec<(String, String)>), String>;

/// Builds an [`Evidence`] from an eval and its two unzipped blobs.
fn assemble_evidence(
    run: &Run,
    eval_id: &EvalId,
    output: Option<BlobRead>,
    source: Option<BlobRead>,
) -> Result<Evidence, SourceError> {
    let eval =
        run.evals.iter().find(|e| &e.id == eval_id).ok_or_else(|| SourceError::NoSuchEval(eval_id.to_string()))?;
    let mut evidence = Evidence {
        eval_id: Some(eval.id.clone()),
        eval_path: Some(eval.path.clone()),
        task: eval.task.clone(),
        steps: eval.steps_that_ran().cloned().collect(),
        usage: eval.usage,
        max_output_tokens: (run.model != "unknown-model")
            .then(|| crate::usage::benchmark_max_output_tokens(&run.model)),
        ..Evidence::default()
    };
    let mut take = |part: EvidencePart, read: Option<BlobRead>| -> FileSet {
        match read {
            Some(Ok((files, refused))) => {
                evidence.problems.extend(refused.into_iter().map(|(file, why)| EvidenceProblem::file(part, file, why)));
                files
            }
            Some(Err(problem)) => {
                evidence.problems.push(EvidenceProblem::missing(part, problem));
                FileSet::new()
            }
            None if part == EvidencePart::Output && !eval.status.is_failed() => FileSet::new(),
            None => {
                let what = if part == EvidencePart::Output { "output" } else { "source" };
                evidence.problems.push(EvidenceProblem::missing(part, format!("the eval has no {what} zip")));
                FileSet::new()
            }
        }
    };
    let output_files = take(EvidencePart::Output, output);
    let source_files = take(EvidencePart::EvalSource, source);
    evidence.output_files = output_files;
    evidence.source_files = source_files;
    if evidence.task.is_none() {
        evidence.task = crate::evidence::text_file_named(&evidence.source_files, "TASK.txt").map(str::to_owned);
    }
    Ok(evidence)
}
