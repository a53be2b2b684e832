//! Rendering the report: a pure function from the analysis (run, shape, verdicts, history, prior
//! reports) to markdown, with every section of DESIGN §7 in order, and the machine-readable block
//! at the end. Every piece of text that came from a run, an LLM or a prior report is escaped.
//!
//! This module holds the input and the order of the sections; each section (or group of
//! sections) lives in its own file as a method of [`analysis::Analysis`].

use chrono::NaiveDate;
use evaltriage_core::{Run, Shape, TokenUsage, Verdict};

use crate::history::History;
use crate::history::changes::ChangesSince;
use crate::llm_cost::LlmCost;
use crate::path_scheme::ReportScope;
use crate::read::prior_report::{PriorReport, PriorWarning};

/// Appends one formatted line; writing to a `String` cannot fail.
macro_rules! w {
    ($out:expr) => {
        $out.push('\n')
    };
    ($out:expr, $($arg:tt)*) => {{
        let _ = ::std::fmt::Write::write_fmt($out, format_args!($($arg)*));
        $out.push('\n');
    }};
}

mod across;
mod analysis;
mod changes;
mod closing;
pub(crate) mod digest;
pub(crate) mod escape;
mod failures;
mod format;
mod metadata;
mod net_impact;
mod patterns;
mod per_failure;
mod prior_reports;
mod recommendations;
pub mod terminal;

use analysis::Analysis;

/// An optional LLM synthesis of the cross-cutting patterns, when one ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Synthesis<'a> {
    pub text: &'a str,
    /// The LLM that wrote it.
    pub model: &'a str,
    pub tokens: TokenUsage,
}

/// Everything the report is rendered from.
#[derive(Debug, Clone, Copy)]
pub struct ReportInput<'a> {
    pub run: &'a Run,
    pub shape: &'a Shape,
    /// One per failed eval that was analyzed (infrastructure ones included, with an
    /// `Infrastructure` origin); any order, the report sorts them by eval path.
    pub verdicts: &'a [Verdict],
    pub history: &'a History,
    /// What changed since the last report (see [`crate::changes_since`]).
    pub changes: &'a ChangesSince,
    /// The prior reports consulted, newest first.
    pub prior_reports: &'a [PriorReport],
    /// Prior report files that were skipped or read only in part.
    pub prior_warnings: &'a [PriorWarning],
    /// The analysis date (UTC).
    pub date: NaiveDate,
    pub synthesis: Option<Synthesis<'a>>,
    /// What the LLM tokens (the verdicts' and the synthesis's) cost at the config's price for the
    /// analysing model, or that it has none; `None` when no LLM classified (nothing to price).
    pub llm_cost: Option<&'a LlmCost>,
    /// The **Actions taken** text; `None` writes "None".
    pub actions_taken: Option<&'a str>,
    /// The lint rules the configuration already relaxes (the rules classifier's list): an
    /// OVERLY_STRICT lint failure on these alone is not met with "relax the rule" again.
    pub relaxed_lint_rules: &'a [String],
    /// The part of the run this report covers (a category- or eval-level analysis); `None` for
    /// the whole run. Said in the title and the metadata, and recorded in the block.
    pub scope: Option<&'a ReportScope>,
}

/// Renders the report.
pub fn render(input: &ReportInput<'_>) -> String {
    render_with(input, &crate::AcrossReport::default())
}

/// Renders the report with its sections across runs and models (the baseline after the changes,
/// grader suspects and open findings after the cross-cutting patterns).
pub fn render_with(input: &ReportInput<'_>, across_runs: &crate::AcrossReport) -> String {
    let report = Analysis::new(input);
    let mut out = String::with_capacity(4096 + input.verdicts.len() * 1500);
    report.title(&mut out);
    report.metadata(&mut out);
    report.changes(&mut out);
    across::baseline(&mut out, across_runs);
    report.prior_reports(&mut out);
    report.failure_summary(&mut out);
    report.infrastructure(&mut out);
    report.classification_table(&mut out);
    report.per_failure(&mut out);
    report.patterns(&mut out);
    across::suspects(&mut out, across_runs);
    across::open_findings(&mut out, across_runs);
    report.recommendations(&mut out);
    report.net_impact(&mut out);
    report.actions_taken(&mut out);
    report.machine_block(&mut out);
    out
}
