//! What `findings` prints (the MCP `findings` tool too): the list, one finding in full, a claim
//! written, and the across-runs lines of the analysis summary.

use evaltriage_report::{AcrossReport, Finding, RunReference};

use crate::output::count;

/// `findings`: one line per finding, then the count.
pub fn list_text(findings: &[Finding]) -> String {
    if findings.is_empty() {
        return "No findings: no failure recurs in the window and no grader suspect.\n".to_owned();
    }
    let mut text = String::new();
    for f in findings {
        text.push_str(&format!(
            "{}  {:<6}  {:<11}  {}  {}/{} failed  {}\n    {}\n",
            f.id,
            f.kind.as_str(),
            f.state.as_str(),
            f.subject(),
            f.failed,
            f.had,
            f.pattern,
            f.why
        ));
    }
    text.push_str(&format!("\n{}\n", count(findings.len(), "finding", "findings")));
    text
}

fn run_line(r: &RunReference) -> String {
    let report = if r.report.is_empty() { String::new() } else { format!("  {}", r.report) };
    format!("{}  {}  {}{report}", r.ran_at.format("%Y-%m-%d %H:%M"), r.run_key, r.model)
}

/// `findings show`.
pub fn show_text(f: &Finding) -> String {
    let mut text = format!("{}  {}  {}\n", f.id, f.kind.as_str(), f.state.as_str());
    text.push_str(&format!("eval: {}\n", f.eval));
    if let Some(m) = &f.model {
        text.push_str(&format!("model: {m} ({})\n", f.experiment.as_deref().unwrap_or("default")));
    }
    if let Some(s) = &f.suspect {
        text.push_str(&format!("grader suspect: {}\n", s.describe()));
    }
    text.push_str(&format!("history (oldest first): {}  {}/{} failed\n", f.pattern, f.failed, f.had));
    text.push_str(&format!("why: {}\n", f.why));
    if let Some(c) = &f.claim {
        text.push_str(&format!("claim: {}\n  in {}\n", c.text, run_line(&c.run)));
    }
    text.push_str("deciding runs:\n");
    for r in &f.deciding {
        text.push_str(&format!("  {}\n", run_line(r)));
    }
    text
}

/// The summary's lines across runs: where the run stands against the baseline, its regressions,
/// grader suspects and open findings.
pub fn across_summary(across: &AcrossReport) -> String {
    let mut text = String::new();
    if let Some(b) = &across.baseline {
        match (b.describe_mean(), b.current) {
            (Some(mean), Some(now)) if b.enough() => text.push_str(&format!(
                "Baseline: {:.1}% now against {mean}: {}.\n",
                now * 100.0,
                b.standing.describe()
            )),
            _ => text.push_str(&format!("Baseline: {}.\n", b.standing.describe())),
        }
        if !b.regressions.is_empty() {
            text.push_str(&format!("Regressions ({}): evals that usually pass and failed now\n", b.regressions.len()));
            for r in &b.regressions {
                text.push_str(&format!("  {}  {}  passed {}/{} before\n", r.pattern, r.eval, r.passed, r.had));
            }
        }
    }
    for s in &across.suspects {
        text.push_str(&format!("Grader suspect: {} — {}\n", s.eval, s.describe()));
    }
    if !across.findings.is_empty() {
        text.push_str(&format!(
            "Open findings for this model: {} (evaltriage findings --model '{}')\n",
            across.findings.len(),
            across.baseline.as_ref().map_or("", |b| b.model.as_str())
        ));
    }
    text
}
