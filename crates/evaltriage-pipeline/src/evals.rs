//! A run's evals: listed with a status (`evals list`), or one found by id, path or URL, with its
//! files (`evals show`).

use evaltriage_core::source::Source;
use evaltriage_core::text::Condense;
use evaltriage_core::{Eval, FileContent, Run, RunRef, StepStatus};
use serde_json::{Value, json};

use crate::error::{Error, ErrorKind};
use crate::runs::kind_label;
use crate::settings::Settings;
use crate::source::{self, AnySource};

/// Which evals `evals list` shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusFilter {
    Failed,
    Passed,
    All,
}

impl StatusFilter {
    pub fn name(self) -> &'static str {
        match self {
            Self::Failed => "failed",
            Self::Passed => "passed",
            Self::All => "all",
        }
    }
}

/// The evals of a run `evals list` shows: what `--json` prints and the MCP tool returns.
#[derive(Debug)]
pub struct EvalsListed {
    pub run: Run,
    pub status: StatusFilter,
}

/// `evals list`'s query: the run a target names, to list its evals with a status.
pub async fn list_evals(target: &str, status: StatusFilter, settings: &Settings) -> Result<EvalsListed, Error> {
    let (source, run_ref) = source::open(target, settings)?;
    let run = source.run(&run_ref).await?;
    Ok(EvalsListed { run, status })
}

impl EvalsListed {
    /// The evals with the status asked for, by path.
    pub fn evals(&self) -> Vec<&Eval> {
        let mut evals: Vec<&Eval> = self
            .run
            .evals
            .iter()
            .filter(|e| match self.status {
                StatusFilter::Failed => e.status.is_failed(),
                StatusFilter::Passed => e.status.is_passed(),
                StatusFilter::All => true,
            })
            .collect();
        evals.sort_by(|a, b| a.path.cmp(&b.path));
        evals
    }

    pub fn json(&self) -> Value {
        let items: Vec<Value> = self.evals().into_iter().map(eval_summary_json).collect();
        json!({ "run_id": self.run.id.as_str(), "evals": items })
    }
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
pub fn pick_eval<'r>(run: &'r Run, run_ref: &RunRef, arg: Option<&str>) -> Result<&'r Eval, Error> {
    let wanted = match (arg, &run_ref.eval) {
        (Some(a), _) => a.to_owned(),
        (None, Some(e)) => e.clone(),
        (None, None) => {
            return Err(Error::bad_input("no eval named: name one by its id or path (`category/name`)"));
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
        _ => Err(Error::new(ErrorKind::NotFound, format!("no eval {wanted:?} in run {}", run.id))),
    }
}

/// How much of an error or file `evals show` prints without `--full` (the MCP tool too).
pub const SHOWN: Condense = Condense { max_lines: 200, max_repeats: 3 };

/// `evals show`'s query: the run a target names, its source (for the eval's files) and the index
/// of the eval in `run.evals`.
pub async fn find_eval(
    target: &str,
    eval_arg: Option<&str>,
    settings: &Settings,
) -> Result<(AnySource, Run, usize), Error> {
    let (source, run_ref) = source::open(target, settings)?;
    let run = source.run(&run_ref).await?;
    let picked = pick_eval(&run, &run_ref, eval_arg)?;
    let index = run.evals.iter().position(|e| std::ptr::eq(e, picked)).unwrap_or_default();
    Ok((source, run, index))
}

/// One eval as `evals show --json` prints it: its summary, task and steps.
pub fn eval_json(run: &Run, eval: &Eval) -> Value {
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
    v
}

/// One text file of the eval's output zip (or, failing that, its source zip), whole. A binary or
/// missing file is the caller's input error, naming the files there are.
pub async fn eval_file(source: &AnySource, run: &Run, eval: &Eval, wanted: &str) -> Result<String, Error> {
    let evidence = source.evidence(run, &eval.id).await?;
    let wanted = wanted.trim_start_matches("./");
    let found = evidence.output_files.get(wanted).or_else(|| evidence.source_files.get(wanted));
    match found {
        Some(FileContent::Text(text)) => Ok(text.clone()),
        Some(FileContent::Binary { len }) => Err(Error::bad_input(format!("{wanted} is a binary file ({len} bytes)"))),
        None => {
            let names = file_names(&evidence);
            let problems = if evidence.problems.is_empty() {
                String::new()
            } else {
                format!(" ({})", evidence.problems.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))
            };
            Err(Error::new(
                ErrorKind::NotFound,
                format!(
                    "no file {wanted:?} in eval {}'s output or source{problems}; files: {}",
                    eval.path,
                    if names.is_empty() { "none".to_owned() } else { names.join(", ") }
                ),
            ))
        }
    }
}

/// The names of the text and binary files of an eval's output and source zips, sorted, without
/// repeats.
pub fn file_names(evidence: &evaltriage_core::Evidence) -> Vec<&str> {
    let mut names: Vec<&str> =
        evidence.output_files.keys().chain(evidence.source_files.keys()).map(String::as_str).collect();
    names.sort_unstable();
    names.dedup();
    names
}

/// How long a step took, when it finished.
pub fn step_duration(status: &StepStatus) -> Option<f64> {
    match status {
        StepStatus::Passed { duration_ms } | StepStatus::Failed { duration_ms, .. } => *duration_ms,
        _ => None,
    }
}
