//! `evals list` and `evals show`: one line per eval, or one eval in full.

use std::fmt::Write as _;
use std::io::Write;

use evaltriage_core::source::Source;
use evaltriage_core::{Eval, FileContent, Run, RunRef, StepStatus};
use serde_json::{Value, json};

use crate::cli::StatusFilter;
use crate::commands::{emit, emit_json, format_duration, one_line, runs::kind_label};
use crate::config::Settings;
use crate::exit::CliError;
use crate::sources;

pub async fn list(
    target: &str,
    status: StatusFilter,
    settings: &Settings,
    out: &mut dyn Write,
) -> Result<(), CliError> {
    let (source, run_ref) = sources::open(target, settings)?;
    let run = source.run(&run_ref).await?;
    let mut evals: Vec<&Eval> = run
        .evals
        .iter()
        .filter(|e| match status {
            StatusFilter::Failed => e.status.is_failed(),
            StatusFilter::Passed => e.status.is_passed(),
            StatusFilter::All => true,
        })
        .collect();
    evals.sort_by(|a, b| a.path.cmp(&b.path));
    if settings.json {
        let items: Vec<Value> = evals.iter().map(|e| eval_summary_json(e)).collect();
        return emit_json(out, &json!({ "run_id": run.id.as_str(), "evals": items }));
    }
    let mut s = String::new();
    let width = evals.iter().map(|e| e.path.as_str().len()).max().unwrap_or(10);
    for e in &evals {
        let failure = e.failure();
        let step = failure.as_ref().map_or("-", |f| f.step_label());
        let reason = failure.as_ref().map(|f| one_line(&f.reason, 90)).unwrap_or_default();
        let _ = writeln!(s, "{}  {:<width$}  {:<7}  {:<10}  {}", e.id, e.path, e.status.kind(), step, reason);
    }
    if evals.is_empty() {
        let _ = writeln!(s, "no evals match --status {status:?}");
    }
    emit(out, &s)
}

fn eval_summary_json(e: &Eval) -> Value {
    let failure = e.failure();
    json!({
        "eval_id": e.id.as_str(),
        "eval_path": e.path.as_str(),
        "status": e.status.kind(),
        "failed_step": failure.as_ref().map(|f| f.step_label()),
        "kind": failure.as_ref().map(|f| kind_label(f.kind)),
        "reason": failure.as_ref().map(|f| f.reason.clone()),
    })
}

/// Finds the eval named by the argument, or by the URL's category/eval segments.
pub(crate) fn pick_eval<'r>(run: &'r Run, run_ref: &RunRef, arg: Option<&str>) -> Result<&'r Eval, CliError> {
    let wanted = match (arg, &run_ref.eval) {
        (Some(a), _) => a.to_owned(),
        (None, Some(e)) => e.clone(),
        (None, None) => {
            return Err(CliError::usage(
                "name an eval: evaltriage evals show <TARGET> <EVAL_ID_OR_PATH> (see `evals list`)",
            ));
        }
    };
    if let Some(e) = run.find_eval(&wanted) {
        return Ok(e);
    }
    if let Some(category) = &run_ref.category {
        if let Some(e) = run.find_eval(&format!("{category}/{wanted}")) {
            return Ok(e);
        }
    }
    let by_name: Vec<&Eval> = run.evals.iter().filter(|e| e.name == wanted || e.path.name() == wanted).collect();
    match by_name.as_slice() {
        [one] => Ok(one),
        _ => Err(CliError::usage(format!("no eval {wanted:?} in run {} (see `evaltriage evals list`)", run.id))),
    }
}

pub(crate) async fn show(
    target: &str,
    eval_arg: Option<&str>,
    file: Option<&str>,
    settings: &Settings,
    out: &mut dyn Write,
) -> Result<(), CliError> {
    let (source, run_ref) = sources::open(target, settings)?;
    let run = source.run(&run_ref).await?;
    let eval = pick_eval(&run, &run_ref, eval_arg)?;
    if let Some(wanted) = file {
        let evidence = source.evidence(&run, &eval.id).await?;
        let wanted = wanted.trim_start_matches("./");
        let found = evidence.output_files.get(wanted).or_else(|| evidence.source_files.get(wanted));
        return match found {
            Some(FileContent::Text(text)) => emit(out, text),
            Some(FileContent::Binary { len }) => {
                Err(CliError::usage(format!("{wanted} is a binary file ({len} bytes)")))
            }
            None => {
                let mut names: Vec<&str> =
                    evidence.output_files.keys().chain(evidence.source_files.keys()).map(String::as_str).collect();
                names.sort_unstable();
                names.dedup();
                let problems = if evidence.problems.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", evidence.problems.join("; "))
                };
                Err(CliError::usage(format!(
                    "no file {wanted:?} in eval {}'s output or source{problems}; files: {}",
                    eval.path,
                    if names.is_empty() { "none".to_owned() } else { names.join(", ") }
                )))
            }
        };
    }
    if settings.json {
        let mut v = eval_summary_json(eval);
        v["run_id"] = json!(run.id.as_str());
        v["task"] = json!(eval.task);
        v["steps"] = eval
            .steps
            .iter()
            .map(|s| {
                json!({
                    "name": s.name.as_str(),
                    "status": s.status.kind(),
                    "duration_ms": step_duration(&s.status),
                    "failure_reason": match &s.status { StepStatus::Failed { failure_reason, .. } => Some(failure_reason), _ => None },
                })
            })
            .collect();
        return emit_json(out, &v);
    }
    emit(out, &eval_text(&run, eval))
}

fn step_duration(status: &StepStatus) -> Option<f64> {
    match status {
        StepStatus::Passed { duration_ms } | StepStatus::Failed { duration_ms, .. } => *duration_ms,
        _ => None,
    }
}

fn eval_text(run: &Run, eval: &Eval) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "eval    {} ({})", eval.path, eval.id);
    let _ = writeln!(s, "run     {} · {} · {}", run.id, run.model, run.experiment);
    let _ = writeln!(s, "status  {}", eval.status.kind());
    s.push_str("\nsteps\n");
    if eval.steps.is_empty() {
        s.push_str("  (none: the eval stopped before its first step)\n");
    }
    for step in &eval.steps {
        let d = step_duration(&step.status).map(format_duration).unwrap_or_default();
        let _ = writeln!(s, "  {:<10} {:<8} {d}", step.name.as_str(), step.status.kind());
    }
    if let Some(f) = eval.failure() {
        let _ = writeln!(s, "\nfailure ({}, step {})", kind_label(f.kind), f.step_label());
        for line in f.error_text().lines() {
            let _ = writeln!(s, "  {line}");
        }
        if f.step_error.as_deref().is_some_and(|e| e.trim() != f.reason.trim()) {
            let _ = writeln!(s, "eval reason: {}", one_line(&f.reason, 200));
        }
    }
    if let Some(task) = &eval.task {
        s.push_str("\ntask\n");
        for line in task.lines() {
            let _ = writeln!(s, "  {line}");
        }
    }
    if eval.status.is_failed() {
        let _ = writeln!(s, "\nfiles: evaltriage evals show {} {} --file run.log", run.id, eval.path);
    }
    s
}
