//! The **Cross-cutting patterns** section: shared root causes, harder categories, recurring
//! failures and what a prior fix should have resolved.

use std::collections::BTreeMap;

use super::analysis::{Analysis, Row};
use super::format::{file_name, percent, plural};
use crate::history::HistoryStatus;
use crate::render::escape::{code, inline, one_line, prose_with_lists, truncate_chars};

/// A category is called harder when its failure rate is at least this many times the run's.
const HARDER_FACTOR: f64 = 1.5;

impl Analysis<'_> {
    pub(super) fn patterns(&self, out: &mut String) {
        w!(out, "## Cross-cutting patterns");
        w!(out);
        w!(out, "### Shared root causes");
        w!(out);
        // A signature that is only placeholders (`<path>`: the first line of an eslint report is
        // the file name) says nothing about a shared cause.
        let clusters: Vec<_> = self.shape.clusters.iter().filter(|c| informative_signature(&c.signature)).collect();
        if clusters.is_empty() {
            w!(out, "No two failures share an error signature.");
        }
        for c in clusters {
            let evals: Vec<String> = c.evals.iter().map(|p| code(p.as_str())).collect();
            let mut labels: BTreeMap<String, usize> = BTreeMap::new();
            for p in &c.evals {
                let label =
                    self.rows.iter().find(|r| r.path == p).map_or_else(|| "infrastructure".to_owned(), Row::label);
                *labels.entry(label).or_default() += 1;
            }
            let labels = if labels.len() == 1 {
                format!("all {}", labels.keys().next().map_or("", String::as_str))
            } else {
                labels.iter().map(|(l, n)| format!("{l} ×{n}")).collect::<Vec<_>>().join(", ")
            };
            let step = if c.step == "none" { "no step (generation)".to_owned() } else { code(&c.step) };
            w!(
                out,
                "- **{} failures** at {step} share one error, probably one cause ({}): {} — {}",
                c.evals.len(),
                inline(&labels),
                format!("“{}”", inline(&c.signature)),
                evals.join(", ")
            );
        }
        w!(out);
        w!(out, "### Harder categories");
        w!(out);
        self.harder_categories(out);
        w!(out);
        w!(out, "### Recurring from prior reports");
        w!(out);
        self.recurring(out);
        w!(out);
        w!(out, "### What a prior fix should have resolved");
        w!(out);
        let claimed: Vec<&Row<'_>> = self.rows.iter().filter(|r| r.history.claimed_fix.is_some()).collect();
        if claimed.is_empty() {
            w!(out, "No prior **Actions taken** entry concerns these failures.");
        }
        for r in claimed {
            if let Some(fix) = &r.history.claimed_fix {
                w!(
                    out,
                    "- {} still fails ({}), although {} ({}) recorded: “{}”",
                    code(r.path.as_str()),
                    inline(&r.label()),
                    code(&file_name(&fix.report)),
                    fix.date.format("%Y-%m-%d"),
                    inline(&truncate_chars(&one_line(&fix.action), 300))
                );
            }
        }
        w!(out);
        if let Some(s) = &self.input.synthesis {
            w!(out, "### Synthesis by LLM {}", code(s.model));
            w!(out);
            let text = prose_with_lists(s.text);
            out.push_str(if text.is_empty() { "*(empty)*\n" } else { &text });
            w!(out);
        }
    }

    fn harder_categories(&self, out: &mut String) {
        let mut totals: BTreeMap<&str, usize> = BTreeMap::new();
        for e in &self.run.evals {
            *totals.entry(e.path.category()).or_default() += 1;
        }
        let mut failed: BTreeMap<&str, usize> = BTreeMap::new();
        for r in &self.rows {
            *failed.entry(r.path.category()).or_default() += 1;
        }
        let run_total = self.shape.total.max(1);
        let run_rate = self.rows.len() as f64 / run_total as f64;
        let mut harder: Vec<(&str, usize, usize)> = failed
            .iter()
            .filter_map(|(cat, &n)| {
                let total = totals.get(cat).copied().unwrap_or(n).max(n);
                (n >= 2 && n as f64 / total as f64 >= HARDER_FACTOR * run_rate).then_some((*cat, n, total))
            })
            .collect();
        harder.sort_by(|a, b| (b.1 * a.2).cmp(&(a.1 * b.2)).then_with(|| a.0.cmp(b.0)));
        if harder.is_empty() {
            w!(out, "No category fails clearly more often than the run as a whole.");
        }
        for (cat, n, total) in harder {
            w!(
                out,
                "- {}: {n} of {total} evals failed verification ({}), against {} for the whole run",
                code(cat),
                percent(n, total),
                percent(self.rows.len(), run_total)
            );
        }
    }

    fn recurring(&self, out: &mut String) {
        if self.input.prior_reports.is_empty() {
            w!(out, "No prior reports for this model.");
            return;
        }
        let mut any = false;
        for r in &self.rows {
            let times = r.history.prior_failures.len();
            let runs = r.history.prior_runs;
            let seen = format!("failed in {times} of {runs} prior run{}", plural(runs));
            match &r.history.status {
                HistoryStatus::New => continue,
                HistoryStatus::Repeat { label, report, .. } => {
                    let change = label_change(label, &r.label());
                    w!(
                        out,
                        "- {} — repeat: {} in {}{change}; {seen}",
                        code(r.path.as_str()),
                        inline(label),
                        code(&file_name(report))
                    );
                }
                HistoryStatus::BackAfterPassing { label, report, date } => {
                    w!(
                        out,
                        "- {} — back after passing: {} in {} ({}), absent from the latest report; {seen}",
                        code(r.path.as_str()),
                        inline(label),
                        code(&file_name(report)),
                        date.format("%Y-%m-%d")
                    );
                }
            }
            any = true;
        }
        if !any {
            w!(out, "None of these failures appears in the prior reports.");
        }
    }
}

fn informative_signature(signature: &str) -> bool {
    signature
        .split_whitespace()
        .filter(|w| !(w.starts_with('<') && w.ends_with('>')))
        .any(|w| w.chars().filter(|c| c.is_alphabetic()).count() >= 3)
}

fn label_change(before: &str, now: &str) -> String {
    let base = before.split(" (").next().unwrap_or(before);
    if base == now { String::new() } else { format!(", now {}", inline(now)) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholder_only_signatures_are_not_causes() {
        assert!(!informative_signature("<path>"));
        assert!(!informative_signature("<path> #:# <name>"));
        assert!(informative_signature("<name> defined in <path> is a Mutation function."));
    }
}
