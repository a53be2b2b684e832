//! The report's sections across runs and models (DESIGN §8): **Baseline** (the model's earlier
//! runs, where this run stands, the regressions and the categories that fell, persistent and flaky
//! evals), **Grader suspects** (this run's failures that other models fail the same way) and
//! **Open findings for this model**. Each is left out when there is nothing to compute it from
//! (a report rendered without [`AcrossReport`] has none of them).

use crate::across::AcrossReport;
use crate::across::baseline::Baseline;
use crate::render::escape::{cell, code, inline};

fn pct(x: f64) -> String {
    format!("{:.1}%", x * 100.0)
}

/// The **Baseline** section.
pub(super) fn baseline(out: &mut String, across: &AcrossReport) {
    let Some(b) = &across.baseline else { return };
    w!(out, "## Baseline: this model's earlier runs");
    w!(out);
    w!(
        out,
        "Earlier finished runs of {} in experiment {} (the last {} at most), by run time.",
        code(&b.model),
        code(&b.experiment),
        across.options.baseline_runs
    );
    w!(out);
    let from_source = b.runs.iter().filter(|r| r.from_source).count();
    if from_source > 0 || across.baseline_note.is_some() {
        let counted = format!(
            "{} from the reports folder, {from_source} read from the source (no report covers them)",
            b.runs.len() - from_source
        );
        match &across.baseline_note {
            Some(note) => w!(out, "Runs: {counted}; {}.", inline(note)),
            None => w!(out, "Runs: {counted}."),
        }
        w!(out);
    }
    if !b.enough() {
        w!(
            out,
            "**Too few runs for a baseline**: {} earlier run{} with a pass rate, {} needed. No regressions are named.",
            b.n,
            if b.n == 1 { "" } else { "s" },
            b.min_runs
        );
        w!(out);
        window_lists(out, b);
        return;
    }
    let mean = b.describe_mean().unwrap_or_default();
    match b.current {
        Some(now) => w!(out, "- **Pass rate**: {} now against {mean}: {}.", pct(now), b.standing.describe()),
        None => w!(out, "- **Pass rate**: baseline {mean}; {}.", b.standing.describe()),
    }
    if b.regressions.is_empty() {
        w!(out, "- **Regressions**: none (no eval that usually passes failed now).");
        w!(out);
    } else {
        w!(
            out,
            "- **Regressions**: {} eval{} that passed in at least {:.0}% of the baseline runs failed now; they drive the drop.",
            b.regressions.len(),
            if b.regressions.len() == 1 { "" } else { "s" },
            across.options.usually_passes * 100.0
        );
        w!(out);
        w!(out, "| Eval | Failed step | Passed before | History (oldest first, now last) |");
        w!(out, "| --- | --- | --- | --- |");
        for r in &b.regressions {
            w!(
                out,
                "| {} | {} | {}/{} | `{}` |",
                code(&r.eval),
                cell(r.step.as_deref().unwrap_or("none")),
                r.passed,
                r.had,
                r.pattern
            );
        }
        w!(out);
    }
    if !b.categories.is_empty() {
        w!(out, "Categories that fell:");
        w!(out);
        for c in &b.categories {
            let rates = match (c.baseline, c.now) {
                (Some(before), Some(now)) => format!("{} → {}", pct(before), pct(now)),
                _ => "pass rate not known".to_owned(),
            };
            w!(
                out,
                "- {}: {rates}, {} regression{}",
                code(&c.category),
                c.regressions,
                if c.regressions == 1 { "" } else { "s" }
            );
        }
        w!(out);
    }
    window_lists(out, b);
}

fn window_lists(out: &mut String, b: &Baseline) {
    let list = |evals: &[crate::across::baseline::WindowEval]| {
        evals.iter().map(|w| format!("{} ({}/{} `{}`)", code(&w.eval), w.failed, w.had, w.pattern)).collect::<Vec<_>>()
    };
    if !b.persistent.is_empty() {
        w!(out, "- **Persistent** (failed in every run that had it): {}", list(&b.persistent).join(", "));
    }
    if !b.flaky.is_empty() {
        w!(out, "- **Flaky** (passed and failed): {}", list(&b.flaky).join(", "));
    }
    if !b.persistent.is_empty() || !b.flaky.is_empty() {
        w!(out);
    }
}

/// The **Grader suspects** section: this run's failures that fail the same way for other models.
pub(super) fn suspects(out: &mut String, across: &AcrossReport) {
    if across.suspects.is_empty() {
        return;
    }
    w!(out, "## Grader suspects");
    w!(out);
    w!(
        out,
        "These evals fail the same way (same step, same normalised error) for several models: the grader or the task \
         is the likelier cause. No single model's report can see this."
    );
    w!(out);
    for s in &across.suspects {
        w!(
            out,
            "- {}: the {} step, for {} of {} models that ran it in the last {} days ({}), since {}: {}",
            code(&s.eval),
            inline(&s.step),
            s.models.len(),
            s.ran,
            s.days,
            s.models.iter().map(|m| code(m)).collect::<Vec<_>>().join(", "),
            s.since.format("%Y-%m-%d"),
            code(&s.error)
        );
    }
    w!(out);
}

/// The **Open findings for this model** section.
pub(super) fn open_findings(out: &mut String, across: &AcrossReport) {
    if across.baseline.is_none() && across.findings.is_empty() {
        return;
    }
    w!(out, "## Open findings for this model");
    w!(out);
    if across.findings.is_empty() {
        w!(out, "None: no failure of this model recurs, and no grader suspect concerns it.");
        w!(out);
        return;
    }
    w!(out, "| Finding | Kind | State | Eval | History | Why |");
    w!(out, "| --- | --- | --- | --- | --- | --- |");
    for f in &across.findings {
        w!(
            out,
            "| `{}` | {} | {} | {} | `{}` | {} |",
            f.id,
            f.kind.as_str(),
            f.state.as_str(),
            code(&f.eval),
            f.pattern,
            cell(&f.why)
        );
    }
    w!(out);
    w!(
        out,
        "Claim a fix with `evaltriage findings claim <id> --note \"...\"` or an **Actions taken** entry naming the eval."
    );
    w!(out);
}
