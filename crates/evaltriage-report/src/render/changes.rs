//! The **Changes since the last report** section: the baseline report, the pass rate then and now,
//! and the evals fixed since, newly failing, still failing and relabelled.

use super::analysis::Analysis;
use super::format::{percent, plural};
use crate::history::changes::{Changes, ChangesSince, DEFAULT_EXPERIMENT, EvalChange};
use crate::render::escape::{code, inline};

impl Analysis<'_> {
    pub(super) fn changes(&self, out: &mut String) {
        w!(out, "## Changes since the last report");
        w!(out);
        match self.input.changes {
            ChangesSince::NoPriorReport { looked_in, experiment, other_experiments, partial } => {
                w!(
                    out,
                    "No earlier report to compare with: none for experiment {} in {}.",
                    code(experiment),
                    code(looked_in)
                );
                let mut left_out = Vec::new();
                if *other_experiments > 0 {
                    left_out.push(format!(
                        "{other_experiments} report{} of another experiment",
                        plural(*other_experiments)
                    ));
                }
                if *partial > 0 {
                    left_out
                        .push(format!("{partial} report{} covering only part of this one's evals", plural(*partial)));
                }
                if !left_out.is_empty() {
                    w!(out, "Left out: {}.", left_out.join(", "));
                }
                w!(out);
            }
            ChangesSince::Since(changes) => since(changes, out),
        }
    }
}

fn since(c: &Changes, out: &mut String) {
    let kind = if c.ours { "an evaltriage report" } else { "hand-written, read heuristically" };
    let run = c
        .run_id
        .as_deref()
        .map_or_else(|| format!("run prefix {}", code(&c.run_id_prefix)), |id| format!("run {}", code(id)));
    w!(out, "Compared with {} ({run}, which ran {}; {kind}).", code(&c.report), c.date.format("%Y-%m-%d"));
    if c.experiment_assumed {
        w!(out, "That report states no experiment, so it is taken to be {}, like this run.", code(DEFAULT_EXPERIMENT));
    }
    if let Some(scope) = &c.scope {
        w!(out, "Only the evals of {} are compared.", inline(&scope.describe()));
    }
    w!(out);
    let (passed, total) = c.pass_rate_now;
    let now = format!("{passed}/{total} ({})", percent(passed as usize, total as usize));
    let then = c
        .pass_rate_then
        .map_or_else(|| "not stated".to_owned(), |(p, t)| format!("{p}/{t} ({})", percent(p as usize, t as usize)));
    w!(out, "- **Pass rate then → now**: {then} → {now}");
    list(out, "Fixed since", "failed then, pass now", &c.fixed, |e| {
        format!("{} — was {}", code(&e.eval), label(e.label_then.as_deref()))
    });
    if !c.recovered.is_empty() {
        list(out, "Recovered", "an infrastructure failure then, pass now: not a fix", &c.recovered, |e| {
            format!("{} — was {}", code(&e.eval), label(e.label_then.as_deref()))
        });
    }
    list(out, "New failures", "not named as failed then", &c.new_failures, |e| {
        format!("{} — {}", code(&e.eval), label(e.label_now.as_deref()))
    });
    list(out, "Still failing", "then → now", &c.still_failing, transition);
    list(out, "Label changes", "still failing, another label", &c.relabelled, transition);
    if !c.not_run_now.is_empty() {
        list(
            out,
            "Not run to the end now",
            "failed then; this run did not run or finish them, so not fixed",
            &c.not_run_now,
            |e| format!("{} — was {}", code(&e.eval), label(e.label_then.as_deref())),
        );
    }
    w!(out);
}

fn transition(e: &EvalChange) -> String {
    format!("{} — {} → {}", code(&e.eval), label(e.label_then.as_deref()), label(e.label_now.as_deref()))
}

fn label(label: Option<&str>) -> String {
    label.map_or_else(|| "not analyzed".to_owned(), inline)
}

fn list(out: &mut String, title: &str, meaning: &str, items: &[EvalChange], line: impl Fn(&EvalChange) -> String) {
    if items.is_empty() {
        w!(out, "- **{title}** ({meaning}): none");
        return;
    }
    w!(out, "- **{title}** ({meaning}): {}", items.len());
    for item in items {
        w!(out, "  - {}", line(item));
    }
}
