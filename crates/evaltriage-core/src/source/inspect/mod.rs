//! Inspect AI logs as a source (DESIGN §5.3): a `.eval` log (a zip: `header.json`, written last,
//! `samples/<id>_epoch_<n>.json`, `_journal/start.json`) or a `.json` log (one object with the
//! samples inline), read bounded and streamed, one sample member at a time.
//!
//! A log is a run; a sample × epoch is an eval. A log from a killed process has no `header.json`:
//! its spec is read from the journal and the run says it is incomplete.

mod map;
mod read;
mod wire;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

pub use read::InspectLimits;

use crate::evidence::{Evidence, FileContent, FileSet};
use crate::fsread::read_prefix;
use crate::ids::EvalId;
use crate::model::Run;
use crate::source::{RunFilter, RunHeader, Source, SourceError};
use crate::target::RunRef;
use map::LogContext;
use read::EvalZip;
use wire::{WireLog, WireSample};

/// The two formats inspect_ai writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// A zip of JSON members.
    Eval,
    /// One JSON object.
    Json,
}

const HEADER: &str = "header.json";
const JOURNAL_START: &str = "_journal/start.json";

/// Reads one Inspect log.
#[derive(Debug)]
pub struct InspectSource {
    path: PathBuf,
    format: LogFormat,
    limits: InspectLimits,
    /// A `.json` log's context and samples, parsed once (without their events) for every
    /// evidence read.
    json_cache: Mutex<Option<JsonCache>>,
}

/// Whether a path is an Inspect log: a file named `*.eval`, or a `*.json` file whose object
/// starts with Inspect's `"version"` key (a convex-evals run document starts otherwise).
pub fn inspect_log_format(path: &Path) -> Option<LogFormat> {
    let ext = path.extension()?.to_str()?.to_ascii_lowercase();
    match ext.as_str() {
        "eval" => Some(LogFormat::Eval),
        "json" => {
            let (head, _) = read_prefix(path, 256).ok()?;
            let head = String::from_utf8_lossy(&head);
            let rest = head.trim_start().strip_prefix('{')?.trim_start();
            rest.starts_with("\"version\"").then_some(LogFormat::Json)
        }
        _ => None,
    }
}

/// The Inspect logs directly in a folder (`*.eval`, and `*.json` logs), sorted by name.
pub fn logs_in(dir: &Path) -> Result<Vec<PathBuf>, SourceError> {
    let io = |source| SourceError::Io { path: dir.to_path_buf(), source };
    let mut logs = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let path = entry.map_err(io)?.path();
        if path.is_file() && inspect_log_format(&path).is_some() {
            logs.push(path);
        }
    }
    logs.sort();
    Ok(logs)
}

impl InspectSource {
    /// Opens a log and reads its header; returns the run it is.
    pub fn open(path: &Path) -> Result<(Self, RunRef), SourceError> {
        Self::open_with(path, InspectLimits::default())
    }

    /// [`InspectSource::open`] with other limits.
    pub fn open_with(path: &Path, limits: InspectLimits) -> Result<(Self, RunRef), SourceError> {
        let format = inspect_log_format(path).ok_or_else(|| SourceError::BadRunFile {
            path: path.to_path_buf(),
            message: "not an Inspect log (.eval or .json)".into(),
        })?;
        let source = Self { path: path.to_path_buf(), format, limits, json_cache: Mutex::new(None) };
        let header = source.header()?;
        let id = map::run_id(&header.log.eval).map_err(|m| source.bad(m))?;
        Ok((source, RunRef::run(id)))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn format(&self) -> LogFormat {
        self.format
    }

    fn bad(&self, message: impl Into<String>) -> SourceError {
        SourceError::BadRunFile { path: self.path.clone(), message: message.into() }
    }

    fn zip(&self) -> Result<EvalZip, SourceError> {
        EvalZip::open(&self.path, self.limits).map_err(|m| self.bad(m))
    }

    /// The log's header: `header.json`, else the journal's start record (an incomplete log), or
    /// the top of a `.json` log (whose samples are kept for the evidence reads).
    fn header(&self) -> Result<Header, SourceError> {
        match self.format {
            LogFormat::Eval => {
                let mut zip = self.zip()?;
                Header::of_zip(&mut zip).map_err(|m| self.bad(m))
            }
            LogFormat::Json => {
                if let Some(cache) = self.json_cache.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone() {
                    return Ok(Header { log: cache.log, incomplete: false });
                }
                let mut log: WireLog = read::json_log(&self.path, self.limits.max_json_log).map_err(|m| self.bad(m))?;
                let samples = Arc::new(log.samples.take().unwrap_or_default());
                let log = Arc::new(log);
                let cache = JsonCache { ctx: LogContext::new(&log), log: log.clone(), samples };
                *self.json_cache.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(cache);
                Ok(Header { log, incomplete: false })
            }
        }
    }

    /// A `.json` log's context and samples, parsed on first use.
    fn json_cache(&self) -> Result<JsonCache, SourceError> {
        let cached = || self.json_cache.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone();
        if let Some(cache) = cached() {
            return Ok(cache);
        }
        self.header()?;
        cached().ok_or_else(|| self.bad("the log has no samples"))
    }

    /// The run, read whole (every sample member once, streamed).
    fn read_run(&self) -> Result<Run, SourceError> {
        let header = self.header()?;
        let ctx = LogContext::new(&header.log);
        let (evals, written) = match self.format {
            LogFormat::Eval => {
                let mut zip = self.zip()?;
                let names: Vec<String> =
                    zip.names().filter(|n| sample_member(n).is_some()).map(str::to_owned).collect();
                let mut evals = Vec::with_capacity(names.len());
                for name in &names {
                    let sample: WireSample = zip.member(name).map_err(|m| self.bad(m))?;
                    evals.push(map::eval_of(&sample, &ctx));
                }
                (evals, names.len())
            }
            LogFormat::Json => {
                let samples = self.json_cache()?.samples;
                (samples.iter().map(|s| map::eval_of(s, &ctx)).collect(), samples.len())
            }
        };
        let incomplete = header.incomplete.then(|| {
            format!(
                "incomplete log: it has no header.json (the process that wrote it was killed, or is still \
                 running); read from _journal/start.json with the {written} sample{} written so far",
                if written == 1 { "" } else { "s" }
            )
        });
        map::run_of(&header.log, &ctx, evals, incomplete).map_err(|m| self.bad(m))
    }

    /// The sample of an eval of `run`.
    fn sample_of(&self, run: &Run, eval_id: &EvalId) -> Result<(SampleRef, LogContext), SourceError> {
        let eval =
            run.evals.iter().find(|e| &e.id == eval_id).ok_or_else(|| SourceError::NoSuchEval(eval_id.to_string()))?;
        let task = eval.path.category().to_owned();
        let matches = |key: &str, epoch: u32| &map::eval_id(&task, key, epoch) == eval_id;
        let missing = || SourceError::NoSuchEval(eval.path.to_string());
        match self.format {
            LogFormat::Eval => {
                let mut zip = self.zip()?;
                let ctx = LogContext::new(&Header::of_zip(&mut zip).map_err(|m| self.bad(m))?.log);
                let name = zip
                    .names()
                    .find(|n| sample_member(n).is_some_and(|(key, epoch)| matches(key, epoch)))
                    .map(str::to_owned)
                    .ok_or_else(missing)?;
                let sample = zip.member(&name).map_err(|m| self.bad(m))?;
                Ok((SampleRef::Owned(Box::new(sample)), ctx))
            }
            LogFormat::Json => {
                let JsonCache { ctx, samples, .. } = self.json_cache()?;
                let index =
                    samples.iter().position(|s| matches(&map::sample_key(&s.id), s.epoch)).ok_or_else(missing)?;
                Ok((SampleRef::Shared(samples, index), ctx))
            }
        }
    }
}

/// What a `.json` log's evidence reads share.
#[derive(Debug, Clone)]
struct JsonCache {
    log: Arc<WireLog>,
    ctx: LogContext,
    samples: Arc<Vec<WireSample>>,
}

/// A sample read for its evidence: its own member's, or one of a `.json` log's shared samples.
enum SampleRef {
    Owned(Box<WireSample>),
    Shared(Arc<Vec<WireSample>>, usize),
}

impl SampleRef {
    fn get(&self) -> &WireSample {
        match self {
            Self::Owned(sample) => sample,
            Self::Shared(samples, index) => &samples[*index],
        }
    }
}

/// `samples/<id>_epoch_<n>.json` → (`<id>`, n).
fn sample_member(name: &str) -> Option<(&str, u32)> {
    let stem = name.strip_prefix("samples/")?.strip_suffix(".json")?;
    let (key, epoch) = stem.rsplit_once("_epoch_")?;
    Some((key, epoch.parse().ok()?))
}

/// A log's header and whether it came from the journal.
struct Header {
    log: Arc<WireLog>,
    incomplete: bool,
}

impl Header {
    fn of_zip(zip: &mut EvalZip) -> Result<Self, String> {
        if zip.has(HEADER) {
            return Ok(Self { log: Arc::new(zip.member(HEADER)?), incomplete: false });
        }
        if zip.has(JOURNAL_START) {
            return Ok(Self { log: Arc::new(zip.member(JOURNAL_START)?), incomplete: true });
        }
        Err(format!("has neither {HEADER} nor {JOURNAL_START}: not an Inspect .eval log"))
    }
}

/// The evidence files `evals show --file` can print: the transcript, the scores, the input, the
/// target and the answer, as text.
fn sample_files(sample: &crate::sample::SampleEvidence) -> FileSet {
    let mut files = FileSet::new();
    let mut add = |name: &str, text: String| {
        files.insert(name.to_owned(), FileContent::Text(text));
    };
    add("transcript", sample.transcript());
    add("scores", sample.scores_text());
    add("input", sample.input.clone());
    add("target", sample.target.clone());
    if let Some(answer) = &sample.answer {
        add("answer", answer.clone());
    }
    files
}

impl Source for InspectSource {
    async fn run(&self, run: &RunRef) -> Result<Run, SourceError> {
        let parsed = self.read_run()?;
        super::the_run_asked_for(&run.run_id, parsed, &self.path.display().to_string(), true)
    }

    async fn evidence(&self, run: &Run, eval_id: &EvalId) -> Result<Evidence, SourceError> {
        let (sample, ctx) = self.sample_of(run, eval_id)?;
        let eval = run.evals.iter().find(|e| &e.id == eval_id);
        let detail = map::evidence_of(sample.get(), &ctx);
        Ok(Evidence {
            eval_id: Some(eval_id.clone()),
            eval_path: eval.map(|e| e.path.clone()),
            task: Some(detail.input.clone()).filter(|t| !t.is_empty()),
            output_files: sample_files(&detail),
            usage: eval.and_then(|e| e.usage),
            sample: Some(detail),
            ..Evidence::default()
        })
    }

    async fn runs(&self, filter: &RunFilter) -> Result<Vec<RunHeader>, SourceError> {
        let header = self.header()?;
        let log = &header.log;
        let run_id = map::run_id(&log.eval).map_err(|m| self.bad(m))?;
        if filter.model_id.as_ref().is_some_and(|m| m != &log.eval.model) {
            return Ok(Vec::new());
        }
        let status = match (header.incomplete, log.status.as_deref()) {
            (true, _) => "incomplete".to_owned(),
            (false, Some("success")) => "completed".to_owned(),
            (false, Some("error" | "cancelled")) => "failed".to_owned(),
            (false, Some("started")) => "running".to_owned(),
            (false, other) => other.unwrap_or("unknown").to_owned(),
        };
        let counts = log.results.as_ref().map(|r| crate::source::EvalCounts {
            total: r.total_samples.unwrap_or(0) as u32,
            passed: 0,
            failed: 0,
            pending: r.total_samples.unwrap_or(0).saturating_sub(r.completed_samples.unwrap_or(0)) as u32,
            outcomes_counted: false,
        });
        Ok(vec![RunHeader {
            run_id,
            model: log.eval.model.clone(),
            experiment: format!("{}{}", crate::model::INSPECT_EXPERIMENT_PREFIX, log.eval.task),
            status,
            created_at_ms: map::millis(&log.eval.created).unwrap_or(0.0),
            model_id: None,
            provider: None,
            eval_counts: counts,
            benchmark_version: None,
        }])
    }
}
