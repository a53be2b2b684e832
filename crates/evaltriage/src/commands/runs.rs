//! `runs show`: the run's shape, before any analysis.

use std::fmt::Write as _;
use std::io::Write;

use evaltriage_core::source::Source;
use evaltriage_core::{FailureKind, Run, Shape};
use serde_json::{Value, json};

use crate::commands::{emit, emit_json, format_duration, one_line};
use crate::config::Settings;
use crate::exit::CliError;
use crate::sources;

pub async fn show(target: &str, settings: &Settings, out: &mut dyn Write) -> Result<(), CliError> {
    let (source, run_ref) = sources::open(target, settings)?;
    let run = source.run(&run_ref).await?;
    let shape = Shape::of(&run);
    if settings.json { emit_json(out, &shape_json(&run, &shape)) } else { emit(out, &shape_text(&run, &shape)) }
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
