//! `evals list` and `evals show`: one line per eval, or one eval in full.

use std::fmt::Write as _;
use std::io::Write;

use evaltriage_core::source::Source;
use evaltriage_core::text::{Condense, condense};
use evaltriage_core::{Eval, FileContent, Run, RunRef, StepStatus};
use serde_json::{Value, json};

use crate::cli::StatusFilter;
use crate::commands::{emit, emit_json, format_duration, one_line, runs::kind_label};
use crate::config::Settings;
use crate::exit::CliError;
use crate::hints::RunAddress;
use crate::sources;

pub async fn list(
    target: &str,
    status: StatusFilter,
    settings: &Settings,
    out: &mut dyn Write,
) -> Result<(), CliError> {
    let listed = list_evals(target, status, settings).await?;
    if settings.json { emit_json(out, &listed.json()) } else { emit(out, &listed.text()) }
}

/// The evals of a run `evals list` shows: what `--json` prints and the MCP tool returns.
#[derive(Debug)]
pub struct EvalsListed {
    run: Run,
    status: StatusFilter,
}

/// `evals list`'s query: the run a target names, to list its evals with a status.
pub async fn list_evals(target: &str, status: StatusFilter, settings: &Settings) -> Result<EvalsListed, CliError> {
    let (source, run_ref) = sources::open(target, settings)?;
    let run = source.run(&run_ref).await?;
    Ok(EvalsListed { run, status })
}

impl EvalsListed {
    /// The evals with the status asked for, by path.
    fn evals(&self) -> Vec<&Eval> {
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

    pub fn text(&self) -> String {
        let evals = self.evals();
        if evals.is_empty() {
            return format!("no evals match --status {}\n", status_name(self.status));
        }
        let rows: Vec<[String; 5]> = evals
            .iter()
            .map(|e| {
                let failure = e.failure();
                [
                    e.id.as_str().to_owned(),
                    e.path.as_str().to_owned(),
                    e.status.kind().to_owned(),
                    failure.as_ref().map_or("-", |f| f.step_label()).to_owned(),
                    failure
                        .as_ref()
                        .map(|f| one_line(&evaltriage_core::text::decisive_error(f.error_text()), 90))
                        .unwrap_or_default(),
                ]
            })
            .collect();
        table(&["EVAL ID", "PATH", "STATUS", "STEP", "REASON"], &rows)
    }
}

fn status_name(status: StatusFilter) -> &'static str {
    match status {
        StatusFilter::Failed => "failed",
        StatusFilter::Passed => "passed",
        StatusFilter::All => "all",
    }
}

/// A plain text table: a header, then one line per row, every column but the last padded to its
/// widest cell (counted in characters, after the terminal sanitizer).
fn table<const N: usize>(header: &[&str; N], rows: &[[String; N]]) -> String {
    let clean = |c: &str| evaltriage_core::text::strip_controls(c).replace(['\n', '\t'], " ");
    let rows: Vec<Vec<String>> = rows.iter().map(|r| r.iter().map(|c| clean(c)).collect()).collect();
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut s = String::new();
    let header: Vec<String> = header.iter().map(|h| (*h).to_owned()).collect();
    for row in std::iter::once(&header).chain(rows.iter()) {
        let mut line = String::new();
        for (i, cell) in row.iter().enumerate() {
            if i + 1 == row.len() {
                line.push_str(cell);
            } else {
                let pad = widths[i] - cell.chars().count();
                line.push_str(cell);
                line.push_str(&" ".repeat(pad + 2));
            }
        }
        s.push_str(line.trim_end());
        s.push('\n');
    }
    s
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

/// How `evals show` prints.
#[derive(Debug, Clone, Copy)]
pub struct ShowOptions<'a> {
    /// Print this file of the eval's output or source zip instead.
    pub file: Option<&'a str>,
    /// No cut of long or repeated output.
    pub full: bool,
}

/// How much of an error or file `evals show` prints without `--full` (the MCP tool too).
pub const SHOWN: Condense = Condense { max_lines: 200, max_repeats: 3 };

pub(crate) async fn show(
    target: &str,
    eval_arg: Option<&str>,
    how: ShowOptions<'_>,
    settings: &Settings,
    out: &mut dyn Write,
) -> Result<(), CliError> {
    let (source, run, index) = find_eval(target, eval_arg, settings).await?;
    let eval = &run.evals[index];
    let address = RunAddress::new(target, &run.id, settings);
    if let Some(wanted) = how.file {
        let text = eval_file(&source, &run, eval, wanted).await?;
        let mut text = shown(&text, how.full, &address, eval, Some(wanted.trim_start_matches("./")));
        if !text.ends_with('\n') {
            text.push('\n');
        }
        return emit(out, &text);
    }
    if settings.json {
        return emit_json(out, &eval_json(&run, eval));
    }
    let mut text = eval_text(&run, eval, how.full, &address);
    // Name only files that exist: the zips are read for a failed eval (one download each).
    if eval.status.is_failed() {
        match source.evidence(&run, &eval.id).await {
            Ok(evidence) => {
                let names = file_names(&evidence);
                if names.is_empty() {
                    text.push_str("\nfiles: none (the eval left no output or source zip)\n");
                } else {
                    let _ = writeln!(text, "\nfiles: {}", names.join(", "));
                    let pick =
                        ["run.log", "TASK.txt"].into_iter().find(|n| names.iter().any(|m| m == n)).unwrap_or(names[0]);
                    let _ = writeln!(
                        text,
                        "print one: {}",
                        address.command(&["evals", "show"], &[eval.path.as_str(), "--file", pick])
                    );
                }
                for problem in &evidence.problems {
                    let _ = writeln!(text, "could not read: {problem}");
                }
            }
            Err(e) => {
                let _ = writeln!(text, "\nfiles: could not be read: {e}");
            }
        }
    }
    emit(out, &text)
}

/// `evals show`'s query: the run a target names, its source (for the eval's files) and the index
/// of the eval in `run.evals`.
pub async fn find_eval(
    target: &str,
    eval_arg: Option<&str>,
    settings: &Settings,
) -> Result<(sources::AnySource, Run, usize), CliError> {
    let (source, run_ref) = sources::open(target, settings)?;
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
pub async fn eval_file(source: &sources::AnySource, run: &Run, eval: &Eval, wanted: &str) -> Result<String, CliError> {
    let evidence = source.evidence(run, &eval.id).await?;
    let wanted = wanted.trim_start_matches("./");
    let found = evidence.output_files.get(wanted).or_else(|| evidence.source_files.get(wanted));
    match found {
        Some(FileContent::Text(text)) => Ok(text.clone()),
        Some(FileContent::Binary { len }) => Err(CliError::usage(format!("{wanted} is a binary file ({len} bytes)"))),
        None => {
            let names = file_names(&evidence);
            let problems = if evidence.problems.is_empty() {
                String::new()
            } else {
                format!(" ({})", evidence.problems.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))
            };
            Err(CliError::usage(format!(
                "no file {wanted:?} in eval {}'s output or source{problems}; files: {}",
                eval.path,
                if names.is_empty() { "none".to_owned() } else { names.join(", ") }
            )))
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

/// Long or repetitive text cut as the report cuts it, with a line saying how to see it all.
fn shown(text: &str, full: bool, address: &RunAddress, eval: &Eval, file: Option<&str>) -> String {
    if full {
        return text.to_owned();
    }
    let (cut_text, cut) = condense(text, SHOWN);
    if cut == 0 {
        return text.to_owned();
    }
    let mut args = vec![eval.path.as_str()];
    if let Some(f) = file {
        args.extend(["--file", f]);
    }
    args.push("--full");
    format!(
        "{cut_text}\n({} cut; all of it: {})\n",
        crate::commands::count(cut, "line", "lines"),
        address.command(&["evals", "show"], &args)
    )
}

fn step_duration(status: &StepStatus) -> Option<f64> {
    match status {
        StepStatus::Passed { duration_ms } | StepStatus::Failed { duration_ms, .. } => *duration_ms,
        _ => None,
    }
}

pub fn eval_text(run: &Run, eval: &Eval, full: bool, address: &RunAddress) -> String {
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
        for line in shown(f.error_text(), full, address, eval, None).lines() {
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
    s
}
