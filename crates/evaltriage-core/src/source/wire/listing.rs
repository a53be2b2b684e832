//! What the listings say: a run's header (`runs:listRuns` elements, or a run document read without
//! its evals), a page of `models:listModels`, and `runs:leaderboardModelHistory`'s scored runs.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::{Num, WireStatus, path_error};
use crate::ids::RunId;
use crate::source::history::ScoredRun;
use crate::source::{EvalCounts, RunHeader, SourceError};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireRunHeader {
    #[serde(rename = "_id")]
    id: String,
    #[serde(default)]
    model: Option<String>,
    #[serde(default)]
    experiment: Option<String>,
    #[serde(default)]
    status: WireStatus,
    #[serde(rename = "_creationTime", default)]
    creation_time: Num,
    #[serde(default)]
    model_id: Option<String>,
    #[serde(default)]
    provider: Option<String>,
    #[serde(default)]
    eval_counts: Option<WireEvalCounts>,
    #[serde(default)]
    benchmark_version: Option<String>,
    /// A whole run document (a store's) has its evals instead of `evalCounts`: only their status
    /// kinds are kept, to count them.
    #[serde(default)]
    evals: Option<Vec<WireEvalKind>>,
}

#[derive(Debug, Deserialize)]
struct WireEvalKind {
    #[serde(default)]
    status: WireKindOnly,
}

/// A status union's `kind`, its other fields skipped unread.
#[derive(Debug, Deserialize, Default)]
struct WireKindOnly {
    #[serde(default)]
    kind: String,
}

/// `evalCounts` of a `runs:listRuns` element.
#[derive(Debug, Deserialize, Default)]
#[serde(default)]
struct WireEvalCounts {
    total: Num,
    passed: Num,
    failed: Num,
    pending: Num,
}

fn count(n: Num) -> u32 {
    if n.0.is_finite() && n.0 > 0.0 { n.0.min(f64::from(u32::MAX)) as u32 } else { 0 }
}

/// One model of a `models:listModels` page: its document id and slug.
#[derive(Debug, Deserialize)]
struct WireModel {
    #[serde(rename = "_id")]
    id: String,
    #[serde(default)]
    slug: Option<String>,
}

/// A page of `models:listModels`: `{page, isDone, continueCursor}`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireModelPage {
    page: Vec<WireModel>,
    #[serde(default)]
    is_done: bool,
    #[serde(default)]
    continue_cursor: Option<String>,
}

/// A model as listed: (document id, slug).
pub(crate) type ListedModel = (String, String);

/// Converts a page of `models:listModels` into the models it lists and the cursor of the next
/// page (`None` when this was the last).
pub(crate) fn model_page_from_value(
    value: serde_json::Value,
) -> Result<(Vec<ListedModel>, Option<String>), SourceError> {
    let w: WireModelPage =
        serde_json::from_value(value).map_err(|e| SourceError::Malformed(format!("models:listModels page: {e}")))?;
    let models = w
        .page
        .into_iter()
        .map(|m| {
            let slug = m.slug.filter(|s| !s.trim().is_empty()).unwrap_or_else(|| "unknown-model".to_owned());
            (m.id, slug)
        })
        .collect();
    let next = if w.is_done { None } else { w.continue_cursor.filter(|c| !c.is_empty()) };
    Ok((models, next))
}

/// One row of `runs:leaderboardModelHistory`: `{_creationTime, runId, totalScore, scores}`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireScoredRun {
    #[serde(rename = "_creationTime")]
    creation_time: Num,
    run_id: String,
    #[serde(default)]
    total_score: Option<Num>,
    #[serde(default)]
    scores: BTreeMap<String, Num>,
}

/// Converts an answer of `runs:leaderboardModelHistory` into its runs, as given (oldest first).
pub(crate) fn scored_runs_from_value(value: serde_json::Value) -> Result<Vec<ScoredRun>, String> {
    let rows: Vec<WireScoredRun> = serde_path_to_error::deserialize(value)
        .map_err(|e| format!("runs:leaderboardModelHistory: {}", path_error(&e)))?;
    rows.into_iter()
        .map(|w| {
            Ok(ScoredRun {
                run_id: RunId::new(&w.run_id).map_err(|e| format!("runs:leaderboardModelHistory: runId: {e}"))?,
                created_at_ms: w.creation_time.0,
                total_score: w.total_score.map(|n| n.0).filter(|s| s.is_finite()),
                scores: w.scores.into_iter().filter(|(_, n)| n.0.is_finite()).map(|(k, n)| (k, n.0)).collect(),
            })
        })
        .collect()
}

/// Converts one element of `runs:listRuns` (or a whole run document) into a [`RunHeader`].
pub(crate) fn header_from_value(value: &serde_json::Value) -> Result<RunHeader, String> {
    let w: WireRunHeader =
        serde_path_to_error::deserialize(value).map_err(|e| format!("run header: {}", path_error(&e)))?;
    header(w).map(|(h, _)| h)
}

/// The header of a run document read from its bytes, and its `modelId`; the evals are skipped.
pub(crate) fn header_from_slice(bytes: &[u8]) -> Result<(RunHeader, Option<String>), String> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let w: WireRunHeader =
        serde_path_to_error::deserialize(&mut de).map_err(|e| format!("run document: {}", path_error(&e)))?;
    de.end().map_err(|e| format!("run document: {e}"))?;
    header(w)
}

fn header(w: WireRunHeader) -> Result<(RunHeader, Option<String>), String> {
    let header = RunHeader {
        run_id: RunId::new(&w.id).map_err(|e| format!("run header: _id: {e}"))?,
        model: w.model.unwrap_or_else(|| "unknown-model".to_owned()),
        experiment: w.experiment.filter(|e| !e.is_empty()).unwrap_or_else(|| "default".to_owned()),
        status: w.status.kind,
        created_at_ms: w.creation_time.0,
        model_id: w.model_id.clone().filter(|m| !m.is_empty()),
        provider: w.provider.filter(|p| !p.is_empty()),
        benchmark_version: w.benchmark_version.filter(|v| !v.is_empty()),
        eval_counts: match (w.eval_counts, &w.evals) {
            (Some(c), _) => Some(EvalCounts {
                total: count(c.total),
                passed: count(c.passed),
                failed: count(c.failed),
                pending: count(c.pending),
                outcomes_counted: true,
            }),
            (None, Some(evals)) => {
                let of = |kind: &str| evals.iter().filter(|e| e.status.kind == kind).count() as u32;
                Some(EvalCounts {
                    total: evals.len() as u32,
                    passed: of("passed"),
                    failed: of("failed"),
                    pending: of("pending") + of("running"),
                    outcomes_counted: true,
                })
            }
            (None, None) => None,
        },
    };
    Ok((header, w.model_id))
}
