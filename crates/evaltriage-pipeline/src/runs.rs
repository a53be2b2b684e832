//! Runs before any analysis: one run's shape (`runs show`), and runs across models (`runs list`).

use evaltriage_core::source::{
    ListQuery, Listing, Source, SourceError, StoreSource, list_convex, list_logs, list_store,
};
use evaltriage_core::{FailureKind, Run, Shape};
use serde_json::{Value, json};

use crate::error::Error;
use crate::settings::Settings;
use crate::since::Since;
use crate::source;

/// `runs show`'s query: the run a target names, and its shape.
pub async fn run_shape(target: &str, settings: &Settings) -> Result<(Run, Shape), Error> {
    let (source, run_ref) = source::open(target, settings)?;
    let run = source.run(&run_ref).await?;
    let shape = Shape::of(&run);
    Ok((run, shape))
}

/// The shape as JSON (DESIGN §9: `run_id, model, experiment, total, passed, failed, failed_by_step,
/// infrastructure`, and more).
pub fn shape_json(run: &Run, shape: &Shape) -> Value {
    json!({
        "run_id": run.id.as_str(),
        "model": run.model,
        "model_id": run.model_id,
        "provider": run.provider,
        "experiment": run.experiment,
        "status": run.status.kind(),
        "duration_ms": run.status.duration_ms(),
        "run_failure": run_failure_json(shape),
        "total": shape.total,
        "finished": shape.finished(),
        "passed": shape.passed,
        "failed": shape.failed,
        "other": shape.other,
        "not_run": shape.not_run,
        "never_started": shape.never_started,
        "cost_usd": shape.cost_usd(),
        "usage": {
            "input_tokens": shape.usage.input_tokens,
            "output_tokens": shape.usage.output_tokens,
            "reasoning_tokens": shape.usage.reasoning_tokens,
            "evals_with_usage": shape.usage.evals_with_usage,
        },
        "pass_rate": (shape.pass_rate_percent() * 10.0).round() / 10.0,
        "failed_by_step": shape.failed_by_step,
        "infrastructure": shape.infrastructure,
        "infrastructure_by_cause": shape.infrastructure_by_cause,
        "verification": shape.verification,
        "mostly_infrastructure": shape.mostly_infrastructure(),
        "clusters": shape.clusters.iter().map(|c| json!({
            "signature": c.signature,
            "step": c.step,
            "evals": c.evals.iter().map(|e| e.as_str()).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
        "failures": shape.failures.iter().map(|f| json!({
            "eval_id": f.eval_id.as_str(),
            "eval_path": f.eval_path.as_str(),
            "failed_step": f.failed_step.as_ref().map(|s| s.as_str()),
            "kind": kind_label(f.kind),
            "reason": crate::one_line(&f.reason, 300),
        })).collect::<Vec<_>>(),
    })
}

pub fn kind_label(kind: FailureKind) -> &'static str {
    match kind {
        FailureKind::Verification => "verification",
        FailureKind::Infrastructure(cause) => cause.as_str(),
    }
}

/// Lists runs from a folder of Inspect logs (`--logs`), the store (`--store`) or the Convex
/// deployment.
pub async fn listing(settings: &Settings, query: &ListQuery) -> Result<Listing, Error> {
    if let Some(dir) = &settings.logs {
        return list_logs(dir, query).await.map_err(|e| match e {
            SourceError::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound => {
                Error::bad_input(format!("no folder of Inspect logs at {}", dir.display()))
            }
            e => Error::from(e),
        });
    }
    Ok(match &settings.store {
        Some(dir) => list_store(&StoreSource::open(dir)?, query).await?,
        None => list_convex(&source::convex(settings)?, query).await?,
    })
}

/// The runs `runs list` found, after its filters: what `--json` prints and the MCP tool returns.
#[derive(Debug)]
pub struct RunsListed {
    pub listing: Listing,
    /// Models whose answer was full and whose older runs could fall in the window asked for.
    pub hidden: Vec<String>,
}

/// Which runs `runs list` shows, by status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunStatusFilter {
    Pending,
    Running,
    Completed,
    Failed,
    /// Completed or failed.
    Finished,
}

/// What `runs list` asks for.
#[derive(Debug, Clone, Default)]
pub struct RunsQuery {
    /// Model globs (`*`, `?`); none: every model.
    pub models: Vec<String>,
    pub experiment: Option<String>,
    pub status: Option<RunStatusFilter>,
    pub since: Option<Since>,
    pub limit: Option<usize>,
}

/// `runs list`'s query: runs across models, newest first, filtered and cut to `--limit`.
pub async fn list_runs(args: &RunsQuery, settings: &Settings) -> Result<RunsListed, Error> {
    let now = crate::since::now_ms();
    let query = ListQuery {
        models: args.models.clone(),
        experiment: args.experiment.clone(),
        since_ms: args.since.map(|s| s.ms(now)),
    };
    let mut listing = listing(settings, &query).await?;
    listing.runs.retain(|r| match args.status {
        None => true,
        Some(RunStatusFilter::Finished) => r.is_finished(),
        Some(RunStatusFilter::Pending) => r.status == "pending",
        Some(RunStatusFilter::Running) => r.status == "running",
        Some(RunStatusFilter::Completed) => r.status == "completed",
        Some(RunStatusFilter::Failed) => r.status == "failed",
    });
    if let Some(limit) = args.limit {
        listing.runs.truncate(limit);
    }
    // A full answer hides older runs only when they could fall in the window asked for.
    let hidden = listing
        .full
        .iter()
        .filter(|(_, oldest)| query.since_ms.is_none_or(|since| *oldest > since))
        .map(|(m, _)| m.clone())
        .collect();
    Ok(RunsListed { listing, hidden })
}

impl RunsListed {
    /// Whether every matching model's runs were listed.
    pub fn complete(&self) -> bool {
        self.listing.failed.is_empty()
    }

    pub fn json(&self) -> Value {
        let listing = &self.listing;
        json!({
            "runs": listing.runs.iter().map(|r| json!({
                "run_id": r.run_id.as_str(),
                "model": r.model,
                "model_id": r.model_id,
                "provider": r.provider,
                "experiment": r.experiment,
                "status": r.status,
                "created_at": timestamp(r.created_at_ms),
                "created_at_ms": r.created_at_ms,
                // An Inspect log's header counts its samples, not their outcomes: null, not 0.
                "evals": r.eval_counts.map(|c| json!({
                    "total": c.total,
                    "passed": c.outcomes_counted.then_some(c.passed),
                    "failed": c.outcomes_counted.then_some(c.failed),
                    "pending": c.pending,
                })),
            })).collect::<Vec<_>>(),
            "models": listing.models,
            "requests": listing.requests,
            "models_with_older_runs_unseen": self.hidden,
            "models_not_listed": listing.failed.iter().map(|(m, e)| json!({"model": m, "error": e})).collect::<Vec<_>>(),
        })
    }
}

/// `2026-11-30 02:00:03Z` for a time in milliseconds.
pub fn timestamp(ms: f64) -> String {
    chrono::DateTime::<chrono::Utc>::from_timestamp_millis(ms as i64)
        .map_or_else(|| "?".to_owned(), |t| t.format("%Y-%m-%d %H:%M:%SZ").to_string())
}

/// How a run ended badly, as JSON (`null` when it did not).
pub fn run_failure_json(shape: &Shape) -> Value {
    shape.run_failure.as_ref().map_or(
        Value::Null,
        |f| json!({ "summary": f.summary(), "reason": f.first_line, "not_scored": f.unscored_reason() }),
    )
}
