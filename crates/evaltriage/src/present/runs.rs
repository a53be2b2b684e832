//! What `runs show` and `runs list` print (the MCP `runs_show` and `runs_list` tools too).

use std::fmt::Write as _;

use evaltriage_core::source::LIST_RUNS_MAX;
use evaltriage_core::{FailureKind, Run, Shape};
use evaltriage_pipeline::one_line;
use evaltriage_pipeline::runs::{RunsListed, timestamp};

use crate::output::{count, format_duration};

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
    if let Some(line) = shape.ended_badly_line() {
        let _ = writeln!(s, "{line}\n");
    }
    let _ = writeln!(s, "run         {} (prefix {})", run.id, run.id.prefix());
    let provider = run.provider.as_deref().map(|p| format!(" via {p}")).unwrap_or_default();
    let _ = writeln!(s, "model       {}{provider}", run.model);
    let _ = writeln!(s, "experiment  {}", run.experiment);
    let duration = run.status.duration_ms().map(|d| format!(" in {}", format_duration(d))).unwrap_or_default();
    let _ = writeln!(s, "status      {}{duration}", run.status.kind());
    let _ = writeln!(
        s,
        "evals       {} finished: {} passed ({:.1}%), {} failed{}",
        shape.finished(),
        shape.passed,
        shape.pass_rate_percent(),
        shape.failed,
        if shape.not_run > 0 { format!("; {} did not run", shape.not_run) } else { String::new() }
    );
    if let Some(cost) = shape.cost_usd() {
        let u = &shape.usage;
        let _ = writeln!(
            s,
            "cost        {} ({} input, {} output, {} reasoning tokens over {} evals)",
            evaltriage_core::usage::format_usd(cost),
            u.input_tokens,
            u.output_tokens,
            u.reasoning_tokens,
            u.evals_with_usage
        );
    }
    // Of the scored evals too, as Inspect reports accuracy: an infrastructure failure (an
    // errored sample) is not scored.
    let scored = shape.finished().saturating_sub(shape.infrastructure);
    if shape.infrastructure > 0 && scored > 0 {
        let _ = writeln!(
            s,
            "scored      {}/{scored} passed ({:.1}%), not counting {} infrastructure failure{}",
            shape.passed,
            100.0 * shape.passed as f64 / scored as f64,
            shape.infrastructure,
            if shape.infrastructure == 1 { "" } else { "s" }
        );
    }
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

/// What `runs list` prints.
pub fn runs_listed_text(listed: &RunsListed) -> String {
    let listing = &listed.listing;
    let rows: Vec<[String; 6]> = listing
        .runs
        .iter()
        .map(|r| {
            let evals = r
                .eval_counts
                .map(|c| {
                    if c.outcomes_counted {
                        format!("{}/{} passed", c.passed, c.total)
                    } else {
                        format!("{} sample{}", c.total, if c.total == 1 { "" } else { "s" })
                    }
                })
                .unwrap_or_else(|| "-".to_owned());
            [
                timestamp(r.created_at_ms),
                r.run_id.to_string(),
                r.status.clone(),
                evals,
                r.experiment.clone(),
                r.model.clone(),
            ]
        })
        .collect();
    // Columns as wide as their widest cell: a long experiment name never shifts the model column.
    let mut s = if rows.is_empty() {
        String::new()
    } else {
        super::table(&["CREATED", "RUN", "STATUS", "EVALS", "EXPERIMENT", "MODEL"], &rows)
    };
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
    for model in &listed.hidden {
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
