//! What `evals list` and `evals show` print (the MCP `evals_list` and `evals_show` tools too).

use std::fmt::Write as _;

use evaltriage_core::text::condense;
use evaltriage_core::{Eval, Evidence, Run};
use evaltriage_pipeline::evals::{EvalsListed, SHOWN, file_names, step_duration};
use evaltriage_pipeline::one_line;
use evaltriage_pipeline::runs::kind_label;

use super::table;
use crate::hints::RunAddress;
use crate::output::{count, format_duration};

/// What `evals list` prints.
pub fn evals_listed_text(listed: &EvalsListed) -> String {
    let evals = listed.evals();
    if evals.is_empty() {
        return format!("no evals match --status {}\n", listed.status.name());
    }
    let reason = |e: &Eval| {
        e.failure().map(|f| one_line(&evaltriage_core::text::decisive_error(f.error_text()), 90)).unwrap_or_default()
    };
    // A scored sample of an Inspect log has no steps: no STEP column.
    if listed.run.is_inspect() {
        let rows: Vec<[String; 4]> = evals
            .iter()
            .map(|e| [e.id.as_str().to_owned(), e.path.as_str().to_owned(), e.status.kind().to_owned(), reason(e)])
            .collect();
        return table(&["SAMPLE ID", "PATH", "STATUS", "REASON"], &rows);
    }
    let rows: Vec<[String; 5]> = evals
        .iter()
        .map(|e| {
            [
                e.id.as_str().to_owned(),
                e.path.as_str().to_owned(),
                e.status.kind().to_owned(),
                e.failure().as_ref().map_or("-", |f| f.step_label()).to_owned(),
                reason(e),
            ]
        })
        .collect();
    table(&["EVAL ID", "PATH", "STATUS", "STEP", "REASON"], &rows)
}

/// Long or repetitive text cut as the report cuts it, with a line saying how to see it all.
pub fn shown(text: &str, full: bool, address: &RunAddress, eval: &Eval, file: Option<&str>) -> String {
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
        count(cut, "line", "lines"),
        address.command(&["evals", "show"], &args)
    )
}

/// What the eval's files say about how it was graded: a static pipeline (graded on the files
/// alone), and the harness's own edits before tsc (`[setup]` lines of `run.log`), which are not
/// the model's.
pub fn grading_text(evidence: &Evidence, eval: &Eval) -> String {
    let mut text = String::new();
    if evidence.is_static_pipeline() {
        let _ = writeln!(text, "\npipeline: {}", evaltriage_fanout::STATIC_PIPELINE);
    }
    let setup = evidence.setup_lines();
    let tsc_failed = eval.failure().is_some_and(|f| f.step_label() == "tsc");
    if !setup.is_empty() && tsc_failed {
        text.push_str("\nthe harness's edits before tsc (run.log; not the model's):\n");
        for line in setup {
            let _ = writeln!(text, "  {line}");
        }
    }
    text
}

/// The files of a failed eval and how to print one, or why they could not be read.
pub fn files_text(evidence: Result<&Evidence, String>, eval: &Eval, address: &RunAddress) -> String {
    let mut text = String::new();
    match evidence {
        Ok(evidence) => {
            let names = file_names(evidence);
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
    text
}

pub fn eval_text(run: &Run, eval: &Eval, full: bool, address: &RunAddress) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "eval    {} ({})", eval.path, eval.id);
    let _ = writeln!(s, "run     {} · {} · {}", run.id, run.model, run.experiment);
    let _ = writeln!(s, "status  {}", eval.status.kind());
    // The steps that ran: today's runner records no step that did not run. A scored sample of an
    // Inspect log has none to show.
    if !run.is_inspect() {
        s.push_str("\nsteps\n");
        if eval.steps_that_ran().next().is_none() {
            s.push_str("  (none: the eval stopped before its first step)\n");
        }
        for step in eval.steps_that_ran() {
            let d = step_duration(&step.status).map(format_duration).unwrap_or_default();
            let _ = writeln!(s, "  {:<10} {:<8} {d}", step.name.as_str(), step.status.kind());
        }
    }
    if let Some(f) = eval.failure() {
        if run.is_inspect() {
            let _ = writeln!(s, "\nfailure ({})", kind_label(f.kind));
        } else {
            let _ = writeln!(s, "\nfailure ({}, step {})", kind_label(f.kind), f.step_label());
        }
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
