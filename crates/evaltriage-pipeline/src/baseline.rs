//! The model's earlier runs that no report covers, read from the source for the baseline
//! (DESIGN §8): from a Convex deployment, `runs:leaderboardModelHistory` names the model's latest
//! complete runs of the current benchmark version in the run's experiment in one call, and each
//! one's document (`runs:getRunDetails`, a few at a time) gives its per-eval outcomes; from a store,
//! the model's finished runs of the experiment. Only runs created before the analyzed one count,
//! the last `baseline_runs` of them, and only those the reports folder does not already cover (a
//! report carries labels and Actions taken, so it wins). An Inspect log has no history to read.
//! Nothing here fails the analysis: what could not be read becomes the baseline's note.
//!
//! A finished run's document does not change, so the records read are kept for the process's
//! life (at most [`CACHE_MAX`], keyed by source and run id): a nightly or a backfill analysing a
//! model's repetitions one after another reads each earlier run once, not once per analysis. The
//! deployment's history of a model and experiment is kept for [`HISTORY_TTL`]: long enough that a
//! night asks it once per model, short enough that a long-lived MCP server sees the runs that
//! completed since.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Mutex, OnceLock};
use tokio::time::Instant;

use evaltriage_core::source::{ConvexSource, MODEL_HISTORY_MAX, RunFilter, Source};
use evaltriage_core::{Run, RunId, RunRef};
use evaltriage_report::{AcrossOptions, RunRecord};
use futures::StreamExt;

use crate::source::AnySource;

/// Run documents fetched at once.
const FETCH_CONCURRENCY: usize = 4;

/// Records kept for the process's life; past this the cache starts again empty.
pub const CACHE_MAX: usize = 4_096;

type Cache = Mutex<HashMap<(String, String), RunRecord>>;

fn cache() -> &'static Cache {
    static CACHE: OnceLock<Cache> = OnceLock::new();
    CACHE.get_or_init(Cache::default)
}

fn cached(source: &str, id: &RunId) -> Option<RunRecord> {
    cache().lock().ok()?.get(&(source.to_owned(), id.as_str().to_owned())).cloned()
}

/// How long a model's history is kept before it is asked again.
pub const HISTORY_TTL: std::time::Duration = std::time::Duration::from_secs(10 * 60);

type HistoryCache = Mutex<HashMap<(String, String, String), (Instant, Vec<(RunId, f64)>)>>;

/// The deployment's history of a model in an experiment (run ids and creation times, oldest
/// first), asked again once [`HISTORY_TTL`] has passed.
async fn history(convex: &ConvexSource, model: &str, experiment: &str) -> Result<Vec<(RunId, f64)>, String> {
    static HISTORY: OnceLock<HistoryCache> = OnceLock::new();
    let key = (convex.url().to_owned(), model.to_owned(), experiment.to_owned());
    let cache = HISTORY.get_or_init(HistoryCache::default);
    let fresh = |(at, runs): &(Instant, Vec<(RunId, f64)>)| (at.elapsed() < HISTORY_TTL).then(|| runs.clone());
    if let Some(runs) = cache.lock().ok().and_then(|c| c.get(&key).and_then(fresh)) {
        return Ok(runs);
    }
    let runs: Vec<(RunId, f64)> = convex
        .model_history(model, experiment, MODEL_HISTORY_MAX)
        .await
        .map_err(|e| e.to_string())?
        .into_iter()
        .map(|h| (h.run_id, h.created_at_ms))
        .collect();
    if let Ok(mut c) = cache.lock() {
        c.insert(key, (Instant::now(), runs.clone()));
    }
    Ok(runs)
}

fn keep(source: &str, id: &RunId, record: &RunRecord) {
    if let Ok(mut c) = cache().lock() {
        if c.len() >= CACHE_MAX {
            c.clear();
        }
        c.insert((source.to_owned(), id.as_str().to_owned()), record.clone());
    }
}

/// What was read from the source for a baseline.
#[derive(Debug, Default)]
pub struct SourceRuns {
    /// One record per run read (oldest first).
    pub records: Vec<RunRecord>,
    /// Where they came from and what could not be read; `None` when the source was not asked
    /// (an Inspect log) or had nothing to add.
    pub note: Option<String>,
}

/// The earlier runs of `run`'s model in its experiment that `known` (the reports folder's records)
/// does not cover, read from `source` before `deadline`; `this` is the run's own record.
pub async fn earlier_runs(
    source: &AnySource,
    run: &Run,
    this: &RunRecord,
    known: &[RunRecord],
    options: &AcrossOptions,
    deadline: Instant,
) -> SourceRuns {
    let wanted = options.baseline_runs.max(1);
    let candidates = match tokio::time::timeout_at(deadline, candidates(source, run)).await {
        Ok(Ok(Some(ids))) => ids,
        Ok(Ok(None)) => return SourceRuns::default(),
        Ok(Err(why)) => {
            return SourceRuns {
                records: Vec::new(),
                note: Some(format!("the model's runs could not be listed: {why}")),
            };
        }
        Err(_) => {
            return SourceRuns {
                records: Vec::new(),
                note: Some("the model's runs could not be listed before the command's deadline".to_owned()),
            };
        }
    };
    let covered: BTreeSet<&str> = known
        .iter()
        .filter(|r| r.model_key == this.model_key && r.experiment == this.experiment)
        .map(|r| r.run_key.as_str())
        .collect();
    let earlier: Vec<RunId> = candidates.into_iter().filter(|id| id != &run.id).collect();
    let skip = earlier.len().saturating_sub(wanted);
    let to_read: Vec<RunId> = earlier
        .into_iter()
        .skip(skip)
        .filter(|id| !covered.contains(id.as_str().chars().take(8).collect::<String>().as_str()))
        .collect();
    if to_read.is_empty() {
        return SourceRuns::default();
    }
    let asked = to_read.len();
    let from = source.describe();
    let from = from.as_str();
    let read: Vec<Result<RunRecord, String>> = futures::stream::iter(to_read)
        .map(|id| async move {
            if let Some(record) = cached(from, &id) {
                return Ok(record);
            }
            let reference = RunRef { run_id: id.clone(), experiment: None, model: None, category: None, eval: None };
            match tokio::time::timeout_at(deadline, source.run(&reference)).await {
                // A document of another model or experiment is not this baseline's (a store may
                // hold anything; the deployment's history should not, but a report would be
                // wrong if it did).
                Ok(Ok(doc)) if doc.model == run.model && doc.experiment == run.experiment => {
                    let record = RunRecord::of_source_run(&doc);
                    keep(from, &id, &record);
                    Ok(record)
                }
                Ok(Ok(_)) => Err(format!("{}: another model's or experiment's run", short(&id))),
                Ok(Err(e)) => Err(format!("{}: {e}", short(&id))),
                Err(_) => Err(format!("{}: not read before the command's deadline", short(&id))),
            }
        })
        .buffered(FETCH_CONCURRENCY)
        .collect()
        .await;
    let mut records = Vec::new();
    let mut failed = Vec::new();
    for r in read {
        match r {
            Ok(record) => records.push(record),
            Err(why) => failed.push(why),
        }
    }
    let mut note = format!("{} of {asked} earlier run{} read from {}", records.len(), plural(asked), source.describe());
    if let Some(first) = failed.first() {
        note.push_str(&format!("; {} could not be read ({first})", failed.len()));
    }
    SourceRuns { records, note: Some(note) }
}

/// The ids of the model's earlier runs in the run's experiment, oldest first; `None` when the
/// source has no history to read.
async fn candidates(source: &AnySource, run: &Run) -> Result<Option<Vec<RunId>>, String> {
    match source {
        AnySource::Convex(convex) => {
            let runs = history(convex, &run.model, &run.experiment).await?;
            Ok(Some(runs.into_iter().filter(|(_, at)| *at < run.created_at_ms).map(|(id, _)| id).collect()))
        }
        AnySource::Store(store) => {
            let filter = RunFilter { experiment: Some(run.experiment.clone()), ..RunFilter::default() };
            let mut headers = store.runs(&filter).await.map_err(|e| e.to_string())?;
            headers.retain(|h| h.model == run.model && h.is_finished() && h.created_at_ms < run.created_at_ms);
            headers.sort_by(|a, b| a.created_at_ms.total_cmp(&b.created_at_ms));
            Ok(Some(headers.into_iter().map(|h| h.run_id).collect()))
        }
        AnySource::Inspect(_) => Ok(None),
    }
}

fn short(id: &RunId) -> String {
    id.as_str().chars().take(8).collect()
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}
