//! `runs show`: the run's shape, before any analysis; `runs list`: runs across models.

use std::fmt::Write as _;
use std::io::Write;
use std::process::ExitCode;

use evaltriage_core::source::{LIST_RUNS_MAX, ListQuery, Listing, Source, StoreSource, list_convex, list_store};
use evaltriage_core::{FailureKind, Run, Shape};
use serde_json::{Value, json};

use crate::cli::{RunStatusFilter, RunsListArgs};
use crate::commands::{count, emit, emit_json, format_duration, one_line};
use crate::config::Settings;
use crate::exit::CliError;
use crate::sources;

pub async fn show(target: &str, settings: &Settings, out: &mut dyn Write) -> Result<(), CliError> {
    let (run, shape) = run_shape(target, settings).await?;
    if settings.json { emit_json(out, &shape_json(&run, &shape)) } else { emit(out, &shape_text(&run, &shape)) }
}

/// `runs show`'s query: the run a target names, and its shape.
pub async fn run_shape(target: &str, settings: &Settings) -> Result<(Run, Shape), CliError> {
    let (source, run_ref) = sources::open(target, settings)?;
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
        "total": shape.total,
        "passed": shape.passed,
        "failed": shape.failed,
        "other": shape.other,
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
            "reason": one_line(&f.reason, 300),
        })).collect::<Vec<_>>(),
    })
}

pub fn kind_label(kind: FailureKind) -> &'static str {
    match kind {
        FailureKind::Verification => "verification",
        FailureKind::Infrastructure(cause) => cause.as_str(),
    }
}

/// What stopped the failures that have no failed step: ` (generation 1, rate limit 1)`.
fn no_step_causes(shape: &Shape) -> String {
    let mut causes: std::collections::BTreeMap<&str, usize> = std::collections::BTreeMap::new();
    for f in shape.failures.iter().filter(|f| f.failed_step.is_none()) {
        let cause = match f.kind {
            FailureKind::Infrastructure(cause) => cause.as_str(),
            FailureKind::Verification => "no step recorded",
        };
        *causes.entry(cause).or_default() += 1;
    }
    let parts: Vec<String> = causes.iter().map(|(c, n)| format!("{} {n}", c.replace('_', " "))).collect();
    if parts.is_empty() { String::new() } else { format!(" ({})", parts.join(", ")) }
}

pub fn shape_text(run: &Run, shape: &Shape) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "run         {} (prefix {})", run.id, run.id.prefix());
    let provider = run.provider.as_deref().map(|p| format!(" via {p}")).unwrap_or_default();
    let _ = writeln!(s, "model       {}{provider}", run.model);
    let _ = writeln!(s, "experiment  {}", run.experiment);
    let duration = run.status.duration_ms().map(|d| format!(" in {}", format_duration(d))).unwrap_or_default();
    let _ = writeln!(s, "status      {}{duration}", run.status.kind());
    let _ = writeln!(
        s,
        "evals       {} total, {} passed ({:.1}%), {} failed{}",
        shape.total,
        shape.passed,
        shape.pass_rate_percent(),
        shape.failed,
        if shape.other > 0 { format!(", {} not finished", shape.other) } else { String::new() }
    );
    if shape.failed == 0 {
        s.push_str("\nNo failures.\n");
        return s;
    }
    s.push_str("\nfailed by step\n");
    let width = shape.failed_by_step.keys().map(String::len).max().unwrap_or(4);
    for (step, n) in &shape.failed_by_step {
        let causes = if step == evaltriage_core::shape::NO_STEP { no_step_causes(shape) } else { String::new() };
        let _ = writeln!(s, "  {step:<width$}  {n}{causes}");
    }
    let causes: Vec<String> = shape.infrastructure_by_cause.iter().map(|(c, n)| format!("{c} {n}")).collect();
    let _ = writeln!(
        s,
        "\ninfrastructure  {}{}  (excluded from scoring by the benchmark)",
        shape.infrastructure,
        if causes.is_empty() { String::new() } else { format!(" ({})", causes.join(", ")) }
    );
    let _ = writeln!(s, "verification    {}", shape.verification);
    if shape.mostly_infrastructure() {
        s.push_str("\nMost failures are infrastructure: fix the environment before blaming the model.\n");
    }
    if !shape.clusters.is_empty() {
        s.push_str("\nclusters (same normalised error)\n");
        for c in &shape.clusters {
            let _ = writeln!(s, "  {}× {}: {}", c.evals.len(), c.step, one_line(&c.signature, 100));
            for e in &c.evals {
                let _ = writeln!(s, "      {e}");
            }
        }
    }
    s
}

/// Lists runs from the store (`--store`) or the Convex deployment.
pub async fn listing(settings: &Settings, query: &ListQuery) -> Result<Listing, CliError> {
    Ok(match &settings.store {
        Some(dir) => list_store(&StoreSource::open(dir)?, query).await?,
        None => list_convex(&sources::convex(settings)?, query).await?,
    })
}

/// The runs `runs list` found, after its filters: what `--json` prints and the MCP tool returns.
#[derive(Debug)]
pub struct RunsListed {
    listing: Listing,
    /// Models whose answer was full and whose older runs could fall in the window asked for.
    hidden: Vec<String>,
}

/// `runs list`'s query: runs across models, newest first, filtered and cut to `--limit`.
pub async fn list_runs(args: &RunsListArgs, settings: &Settings) -> Result<RunsListed, CliError> {
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
                "evals": r.eval_counts.map(|c| json!({
                    "total": c.total, "passed": c.passed, "failed": c.failed, "pending": c.pending,
                })),
            })).collect::<Vec<_>>(),
            "models": listing.models,
            "requests": listing.requests,
            "models_with_older_runs_unseen": self.hidden,
            "models_not_listed": listing.failed.iter().map(|(m, e)| json!({"model": m, "error": e})).collect::<Vec<_>>(),
        })
    }

    pub fn text(&self) -> String {
        let listing = &self.listing;
        let mut s = String::new();
        for r in &listing.runs {
            let evals =
                r.eval_counts.map(|c| format!("{}/{} passed", c.passed, c.total)).unwrap_or_else(|| "-".to_owned());
            let _ = writeln!(
                s,
                "{}  {}  {:<9}  {:<15}  {}  {}",
                timestamp(r.created_at_ms),
                r.run_id,
                r.status,
                evals,
                r.experiment,
                r.model
            );
        }
        if listing.runs.is_empty() {
            s.push_str("no runs\n");
        }
        let requests = match listing.requests {
            0 => String::new(),
            1 => " (1 request)".to_owned(),
            n => format!(" ({n} requests)"),
        };
        let _ = writeln!(
            s,
            "{} from {}{requests}",
            count(listing.runs.len(), "run", "runs"),
            count(listing.models, "model", "models"),
        );
        for model in &self.hidden {
            let _ = writeln!(
                s,
                "note: {model} has more runs than runs:listRuns returns ({LIST_RUNS_MAX}); older ones are not listed"
            );
        }
        for (model, error) in &listing.failed {
            let _ = writeln!(s, "error: the runs of {model} could not be listed: {error}");
        }
        s
    }
}

/// `runs list`: runs across models, newest first.
pub async fn list(args: &RunsListArgs, settings: &Settings, out: &mut dyn Write) -> Result<ExitCode, CliError> {
    let listed = list_runs(args, settings).await?;
    if settings.json {
        emit_json(out, &listed.json())?
    } else {
        emit(out, &listed.text())?
    }
    Ok(if listed.complete() { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

/// `2026-11-30 02:00:03Z` for a time in milliseconds.
pub fn timestamp(ms: f64) -> String {
    chrono::DateTime::<chrono::Utc>::from_timestamp_millis(ms as i64)
        .map_or_else(|| "?".to_owned(), |t| t.format("%Y-%m-%d %H:%M:%SZ").to_string())
}
