//! The **Per-failure analysis** section: one subsection per verification failure.

use std::fmt::Write as _;

use evaltriage_core::{Failure, Verdict, VerdictOrigin, VerdictStatus};

use super::analysis::Analysis;
use super::format::{file_name, plural, plural_u64, thousands};
use crate::history::{EvalHistory, HistoryStatus};
use crate::render::escape::{code, fenced, inline, one_line, prose, truncate_chars};

/// The most lines of a step's output shown under a failure.
const STEP_OUTPUT_LINES: usize = 25;

impl Analysis<'_> {
    pub(super) fn per_failure(&self, out: &mut String) {
        if self.rows.is_empty() {
            return;
        }
        w!(out, "## Per-failure analysis");
        w!(out);
        for r in &self.rows {
            w!(out, "### {}) {} — {}", r.number, inline(r.path.as_str()), inline(&r.label_with_repeat()));
            w!(out);
            w!(out, "- **Failed step**: {}", inline(&r.step));
            w!(out, "- **History**: {}", history_line(r.history));
            w!(out, "- **Classified by**: {}", origin_line(r.verdict));
            if !r.verdict.missing_evidence.is_empty() {
                let missing: Vec<String> =
                    r.verdict.missing_evidence.iter().map(|m| inline(&truncate_chars(&one_line(m), 300))).collect();
                w!(
                    out,
                    "- **Missing evidence**: {} — the verdict was reached without it, and says so",
                    missing.join("; ")
                );
            }
            w!(out);
            let error = r.error();
            w!(out, "**Error**");
            w!(out);
            if error.trim().is_empty() {
                w!(out, "*(no error text recorded)*");
            } else {
                out.push_str(&fenced(error, "text"));
            }
            w!(out);
            if let Some(excerpt) = r.failure.and_then(|f| step_output_excerpt(f, error)) {
                w!(out, "**Step output** (excerpt)");
                w!(out);
                out.push_str(&fenced(&excerpt, "text"));
                w!(out);
            }
            let reasoning_title = match r.verdict.status {
                VerdictStatus::Error => "Why the analysis failed",
                VerdictStatus::Skipped => "Why it was skipped",
                _ => "Reasoning",
            };
            w!(out, "**{reasoning_title}**");
            w!(out);
            let reasoning = prose(r.reasoning());
            out.push_str(if reasoning.is_empty() { "*(none given)*\n" } else { &reasoning });
            w!(out);
            for (title, snippet) in [
                ("Model snippet", r.verdict.model_snippet.as_deref()),
                ("Expected snippet", r.verdict.expected_snippet.as_deref()),
            ] {
                w!(out, "**{title}**");
                w!(out);
                match snippet {
                    Some(s) if !s.trim().is_empty() => out.push_str(&fenced(s, "")),
                    _ => w!(out, "*(none given)*"),
                }
                w!(out);
            }
        }
    }
}

fn history_line(h: &EvalHistory) -> String {
    let mut line = match &h.status {
        HistoryStatus::New => "new — no prior report names it".to_owned(),
        HistoryStatus::Repeat { label, report, date } => format!(
            "repeat — {} in the latest prior report, {} (run of {})",
            inline(label),
            code(&file_name(report)),
            date.format("%Y-%m-%d")
        ),
        HistoryStatus::BackAfterPassing { label, report, date } => format!(
            "back after passing — {} in {} (run of {}), absent from the latest prior report",
            inline(label),
            code(&file_name(report)),
            date.format("%Y-%m-%d")
        ),
    };
    if h.prior_failures.len() > 1 {
        let _ = write!(line, "; failed in {} prior runs", h.prior_failures.len());
    }
    if let Some(fix) = &h.claimed_fix {
        let _ = write!(
            line,
            "; **a prior action claimed to fix this** ({}, {}): “{}”",
            code(&file_name(&fix.report)),
            fix.date.format("%Y-%m-%d"),
            inline(&truncate_chars(&one_line(&fix.action), 200))
        );
        if let Some(note) = &fix.note {
            let _ = write!(line, " — {}", inline(note));
        }
    }
    line
}

fn origin_line(v: &Verdict) -> String {
    let mut line = match &v.origin {
        VerdictOrigin::Llm { model } => format!("LLM {}", code(model)),
        VerdictOrigin::Cache { model } => format!("LLM {} (cached verdict)", code(model)),
        VerdictOrigin::Rules => "rules — no LLM was used".to_owned(),
        VerdictOrigin::Infrastructure(cause) => format!("infrastructure rules ({})", cause.as_str()),
        VerdictOrigin::Reused(from) => format!(
            "same failure as run {} ({}), {} ([report]({}))",
            code(&from.run_id.chars().take(8).collect::<String>()),
            code(&from.date),
            if from.human { "reviewer's verdict reused" } else { "verdict reused" },
            link_target(&from.report)
        ),
    };
    let _ = write!(line, "; status {}", v.status.as_str());
    if let Some(c) = v.confidence.filter(|c| c.is_finite()) {
        let _ = write!(line, "; confidence {c:.2}");
    }
    if v.status == VerdictStatus::Done && v.classification.is_some() && v.is_unverified_guess() {
        line.push_str("; **an unverified guess** (no rule matched; see Needs verification)");
    }
    if v.retry_count > 0 {
        let _ = write!(line, "; {} retr{}", v.retry_count, if v.retry_count == 1 { "y" } else { "ies" });
    }
    if v.tokens.total() > 0 {
        let _ = write!(line, "; {} token{}", thousands(v.tokens.total()), plural_u64(v.tokens.total()));
    }
    line
}

/// The failed step's own output, when it has more than one line: the step's generic
/// first line dropped, centred on the first line that looks like an error, at most
/// [`STEP_OUTPUT_LINES`] lines, with what was cut marked as cut.
fn step_output_excerpt(failure: &Failure, shown: &str) -> Option<String> {
    let text = failure.step_error.as_deref()?;
    let lines: Vec<&str> = text
        .lines()
        .enumerate()
        .filter(|(i, l)| !(*i == 0 && evaltriage_core::model::is_step_header(l)))
        .map(|(_, l)| l)
        .collect();
    // One line of output says no more than the verdict's error (the classifier saw it).
    if lines.len() < 2 || lines.iter().map(|l| l.trim()).collect::<Vec<_>>().join("\n") == shown.trim() {
        return None;
    }
    let first_error = lines.iter().position(|l| evaltriage_core::text::reads_like_error(l.trim())).unwrap_or(0);
    let start = first_error.saturating_sub(3).min(lines.len().saturating_sub(STEP_OUTPUT_LINES));
    let end = (start + STEP_OUTPUT_LINES).min(lines.len());
    let mut excerpt = String::new();
    if start > 0 {
        let _ = writeln!(excerpt, "… ({start} line{} cut)", plural(start));
    }
    excerpt.push_str(&lines[start..end].join("\n"));
    if end < lines.len() {
        let _ = write!(excerpt, "\n… ({} more line{} cut)", lines.len() - end, plural(lines.len() - end));
    }
    Some(excerpt)
}

/// A link target as markdown accepts it: spaces and parentheses percent-encoded.
fn link_target(path: &str) -> String {
    path.replace('%', "%25").replace(' ', "%20").replace('(', "%28").replace(')', "%29")
}

#[cfg(test)]
mod tests {
    use evaltriage_core::{EvalId, EvalPath, FailureKind, StepName};

    use super::*;

    #[test]
    fn step_output_is_shown_when_it_says_more_than_the_verdict() {
        let failure = |step_error: &str| Failure {
            eval_id: EvalId::new("e1").unwrap(),
            eval_path: EvalPath::new("a/b"),
            failed_step: Some(StepName::Eslint),
            kind: FailureKind::Verification,
            reason: "failed".to_owned(),
            step_error: Some(step_error.to_owned()),
        };
        let lint = "Error: Failed to lint code:\n/tmp/x/convex/a.ts\n  3:1  error  Unexpected any  no-explicit-any";
        assert_eq!(
            step_output_excerpt(&failure(lint), "/tmp/x/convex/a.ts").as_deref(),
            Some("/tmp/x/convex/a.ts\n  3:1  error  Unexpected any  no-explicit-any")
        );
        assert_eq!(step_output_excerpt(&failure("tests failed (40%)"), "tests failed (40%)"), None);
        let long: String = (0..100).map(|i| format!("line {i}\n")).collect::<String>() + "error here\n" + "tail\n";
        let excerpt = step_output_excerpt(&failure(&long), "error here").unwrap();
        assert!(excerpt.starts_with("… (77 lines cut)\nline 77\n"), "{excerpt}");
        assert!(excerpt.ends_with("tail"), "{excerpt}");
    }
}
