//! What the `reports` commands print (the MCP review tools too): the list and the trend as text;
//! a report itself is printed as it is, or through the report crate's terminal renderer on a terminal.

use std::path::Path;

use evaltriage_pipeline::review::label_counts;
use evaltriage_report::{CatalogReport, Trend};

use crate::output::count;

/// What `reports list` prints.
pub fn list_text(reports_dir: &Path, reports: &[CatalogReport]) -> String {
    if reports.is_empty() {
        return format!("No reports in {}.\n", reports_dir.display());
    }
    let mut text = String::new();
    for r in reports {
        let labels: Vec<String> = label_counts(r).iter().map(|(l, n)| format!("{l} {n}")).collect();
        let scope = r.report.scope.as_ref().map(|s| format!(" [{}]", s.describe())).unwrap_or_default();
        text.push_str(&format!(
            "{}  {}  {}{}  {}  {}  {}{}{}\n    {}\n",
            r.report.run_date().format("%Y-%m-%d"),
            r.model,
            r.report.run_id_prefix,
            scope,
            r.report.experiment.as_deref().unwrap_or("—"),
            pass_rate_text(r.report.pass_rate),
            if labels.is_empty() { "no failures named".to_owned() } else { labels.join(", ") },
            if r.has_human_verdicts() { "  (reviewed)" } else { "" },
            if r.report.ours { "" } else { "  (hand-written)" },
            reports_dir.join(&r.relative).display(),
        ));
    }
    text.push_str(&format!("\n{}\n", count(reports.len(), "report", "reports")));
    text
}

fn pass_rate_text(rate: Option<(u32, u32)>) -> String {
    match rate {
        Some((p, t)) if t > 0 => format!("{p}/{t} ({:.1}%)", f64::from(p) * 100.0 / f64::from(t)),
        Some((p, t)) => format!("{p}/{t}"),
        None => "—".to_owned(),
    }
}

/// What `reports trend` prints.
pub fn trend_text(trend: &Trend, reports_dir: &Path) -> String {
    if trend.models.is_empty() {
        return format!("No full reports in {}.\n", reports_dir.display());
    }
    let mut text = String::new();
    for m in &trend.models {
        text.push_str(&format!("{} — {}\n", m.model, count(m.points.len(), "run", "runs")));
        for p in &m.points {
            let labels: Vec<String> = p.labels.iter().map(|(l, n)| format!("{l} {n}")).collect();
            text.push_str(&format!(
                "  {}  {}  {:<14}  {:<16}  {}\n",
                p.date.format("%Y-%m-%d"),
                p.run_id_prefix,
                p.experiment.as_deref().unwrap_or("—"),
                pass_rate_text(p.pass_rate),
                labels.join(", ")
            ));
        }
        let row = |r: &evaltriage_report::EvalRow| {
            // `F` failed, `.` passed, `-` absent: counted over the runs that had the eval.
            format!("{} ({}/{} runs, {})", r.eval, r.failed, r.had, r.pattern())
        };
        let persistent: Vec<String> = m.persistent().map(row).collect();
        let flaky: Vec<String> = m.flaky().map(row).collect();
        if !persistent.is_empty() {
            text.push_str(&format!(
                "  persistent (failed in ≥{} of the last {} runs, of those that had it):\n    {}\n",
                trend.options.persistent_min,
                trend.options.window,
                persistent.join("\n    ")
            ));
        }
        if !flaky.is_empty() {
            text.push_str(&format!("  flaky (passing and failing in turn):\n    {}\n", flaky.join("\n    ")));
        }
        text.push('\n');
    }
    if trend.models.len() > 1 {
        if trend.failing_everywhere.is_empty() {
            text.push_str("No eval failed in the latest run of every model.\n");
        } else {
            text.push_str(&format!(
                "Failing in the latest run of every model ({}): likely the eval's problem, not the models':\n  {}\n",
                trend.models.len(),
                trend.failing_everywhere.join("\n  ")
            ));
        }
    }
    text
}
