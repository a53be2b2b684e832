//! What `analyze-run` (and the MCP `analyze_run` tool) shows: the summary of a written report
//! (text and JSON) and the estimate's figures, with what the tokens cost at the config's price.
//! Pure presentation of what the pipeline produced.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use evaltriage_core::{Classification, EvalPath, Run, Shape, TokenUsage, Verdict, VerdictOrigin, VerdictStatus};
use evaltriage_fanout::{Backend, FanoutConfig};
use evaltriage_report::ReportScope;

use evaltriage_pipeline::analyze::{Spend, Written, estimated_tokens};
use evaltriage_pipeline::cost::{LlmCost, Price};
use evaltriage_pipeline::settings::{DEFAULT_CONFIG_FILE, classifier_description};

use crate::hints::RunAddress;
use crate::output::count;

/// What estimated tokens would cost, synchronously and through the Batch API side by side, with
/// where the price came from; or which price to add, and where. `None` under the rules classifier.
/// `config_file` is the file the settings were read from (`None`: none was).
pub fn estimate_cost(
    tokens: TokenUsage,
    backend: &Backend,
    price: Option<&Price>,
    config_file: Option<&Path>,
) -> Option<String> {
    let Backend::Llm(llm) = backend else { return None };
    let file = config_file.map_or_else(|| DEFAULT_CONFIG_FILE.to_owned(), |p| p.display().to_string());
    Some(match price {
        Some(p) => format!(
            "{} synchronous, {} through the Batch API (prices for {} from {file})",
            evaltriage_report::approx_usd(p.sync_cost(tokens)),
            evaltriage_report::approx_usd(p.batch_cost(tokens)),
            llm.model
        ),
        None => format!("no price configured for {0}: add [prices.\"{0}\"] to {file}", llm.model),
    })
}

/// What `analyze-run --estimate` prints; `price` is the analysing model's from the config, read
/// from `config_file`.
pub fn estimate_text(
    est: &evaltriage_fanout::Estimate,
    config: &FanoutConfig,
    price: Option<&Price>,
    config_file: Option<&Path>,
) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "classifier  {}", classifier_description(&config.backend));
    let _ = writeln!(
        s,
        "failures    {} ({} infrastructure, classified by rule and never sent; {} cached)",
        est.cases, est.infrastructure, est.cache_hits
    );
    let synthesis = if est.synthesis_call { ", the cross-cutting synthesis included" } else { "" };
    let _ = writeln!(
        s,
        "calls       {}{synthesis} (up to {} if every answer needs all its retries)",
        est.calls, est.max_calls
    );
    let _ = writeln!(
        s,
        "tokens      ~{} ({} prompt + {} completion), estimated at 4 characters a token",
        est.total_tokens(),
        est.prompt_tokens,
        est.completion_tokens
    );
    if let Some(cost) = estimate_cost(estimated_tokens(est), &config.backend, price, config_file) {
        let _ = writeln!(s, "cost        {cost}");
    }
    if let Backend::Rules(_) = config.backend {
        s.push_str("The rules classifier makes no LLM calls; set OPENAI_API_KEY or --llm-base-url to use one.\n");
    }
    s
}

/// What a written analysis shows: JSON and text.
pub fn written_json(written: &Written, address: RunAddress) -> serde_json::Value {
    written.to_json(&Summary::of(written, address).next_step())
}

/// What `analyze-run` prints when the report is written.
pub fn written_text(written: &Written, address: RunAddress) -> String {
    let text = Summary::of(written, address)
        .text(&classifier_description(&written.config.backend), written.kept_actions_taken);
    // The lines across runs go just before the report's path.
    let across = super::findings::across_summary(&written.across);
    match text.find("\nreport: ") {
        Some(at) if !across.is_empty() => format!("{}\n{}{}", &text[..at], across, &text[at + 1..]),
        _ => text,
    }
}

/// What the terminal shows at the end.
struct Summary<'a> {
    run: &'a Run,
    shape: &'a Shape,
    scope: Option<&'a ReportScope>,
    changes: &'a evaltriage_report::ChangesSince,
    verdicts: &'a [Verdict],
    history: &'a evaltriage_report::History,
    /// How many prior reports were read, and the reports folder they were looked for under.
    prior_reports: usize,
    prior_folder: &'a PathBuf,
    path: &'a PathBuf,
    address: RunAddress,
    /// The failures whose output has a `run.log`, the only ones a hint may name it for.
    with_run_log: &'a BTreeSet<EvalPath>,
    spend: Spend,
    /// What the tokens cost, or that no price is configured; `None` under the rules.
    llm_cost: Option<LlmCost>,
    synthesis_cached: bool,
    notes: &'a [String],
    own_full_report: Option<&'a PathBuf>,
}

impl<'a> Summary<'a> {
    fn of(w: &'a Written, address: RunAddress) -> Self {
        Self {
            run: &w.run,
            shape: &w.shape,
            scope: w.scope.as_ref(),
            changes: &w.changes,
            verdicts: &w.verdicts,
            history: &w.history,
            prior_reports: w.prior_reports,
            prior_folder: &w.prior_folder,
            path: &w.path,
            address,
            with_run_log: &w.with_run_log,
            spend: w.spend,
            llm_cost: w.llm_cost(),
            synthesis_cached: w.synthesis_cached,
            notes: &w.notes,
            own_full_report: w.own_full_report.as_ref(),
        }
    }

    fn text(&self, classifier: &str, kept_actions: bool) -> String {
        let (run, shape) = (self.run, self.shape);
        let mut s = String::new();
        // A run that ended badly says so before anything else.
        if let Some(line) = shape.ended_badly_line() {
            let _ = writeln!(s, "{line}");
        }
        let not_run = match shape.not_run {
            0 => String::new(),
            n => format!(" · {n} did not run"),
        };
        let cost =
            shape.cost_usd().map(|c| format!(" · {}", evaltriage_core::usage::format_usd(c))).unwrap_or_default();
        let _ = writeln!(
            s,
            "{} · run {} · {} · {}/{} passed ({:.1}%){not_run}{cost}",
            run.model,
            run.id,
            run.experiment,
            shape.passed,
            shape.finished(),
            shape.pass_rate_percent()
        );
        for note in self.notes {
            let _ = writeln!(s, "warning: {note}");
        }
        if let Some(scope) = self.scope {
            let _ = writeln!(
                s,
                "scope: the {} only (a report of its own; the run's full report is untouched)",
                scope.describe()
            );
        }
        let infra = self.verdicts.iter().filter(|v| matches!(v.origin, VerdictOrigin::Infrastructure(_))).count();
        let verification = self.verdicts.len() - infra;
        let _ = writeln!(
            s,
            "{} analyzed: {} infrastructure, {} verification by {classifier}",
            count(self.verdicts.len(), "failure", "failures"),
            infra,
            verification
        );
        let mut counts: Vec<String> = Vec::new();
        for class in Classification::ALL {
            let n = self.verdicts.iter().filter(|v| v.classification == Some(class)).count();
            if n > 0 {
                counts.push(format!("{class} {n}"));
            }
        }
        let errors = self.verdicts.iter().filter(|v| v.status == VerdictStatus::Error).count();
        let skipped = self.verdicts.iter().filter(|v| v.status == VerdictStatus::Skipped).count();
        if errors > 0 {
            counts.push(format!("not classified (error) {errors}"));
        }
        if skipped > 0 {
            counts.push(format!("skipped {skipped}"));
        }
        if !counts.is_empty() {
            let _ = writeln!(s, "  {}", counts.join(" · "));
        }
        // What was not analyzed, and why (a budget or a deadline): named, not only counted.
        let mut skipped_by: std::collections::BTreeMap<&str, Vec<&str>> = std::collections::BTreeMap::new();
        for v in self.verdicts.iter().filter(|v| v.status == VerdictStatus::Skipped) {
            let why = v.reasoning.split(':').next().unwrap_or("skipped").trim();
            skipped_by.entry(why).or_default().push(v.eval_path.as_str());
        }
        for (why, evals) in skipped_by {
            let _ = writeln!(s, "  not analyzed ({why}): {}", evals.join(", "));
        }
        let missing: Vec<&Verdict> = self.verdicts.iter().filter(|v| !v.missing_evidence.is_empty()).collect();
        if let Some(first) = missing.first() {
            let _ = writeln!(
                s,
                "  evidence missing for {} (named in the report; exit code 1): {}: {}",
                count(missing.len(), "failure", "failures"),
                first.eval_path,
                evaltriage_pipeline::one_line(&first.missing_evidence.join("; "), 160)
            );
        }
        let guesses = self.verdicts.iter().filter(|v| v.is_unverified_guess()).count();
        if guesses > 0 {
            let _ = writeln!(
                s,
                "  {} only the rules' default guess (unverified): an LLM analysis or a person decides",
                count(guesses, "label is", "labels are")
            );
        }
        match self.changes {
            evaltriage_report::ChangesSince::NoPriorReport { .. }
                if self.prior_reports == 0 && self.own_full_report.is_some() =>
            {
                let full = self.own_full_report.map(|p| p.display().to_string()).unwrap_or_default();
                let _ = writeln!(s, "  no earlier run of this model has a report (this run's full report: {full})");
            }
            evaltriage_report::ChangesSince::NoPriorReport { .. } if self.prior_reports == 0 => {
                let _ = writeln!(
                    s,
                    "  no prior report for this model anywhere under {} (any folder naming it, or a Model: line): every failure is new",
                    self.prior_folder.display()
                );
            }
            changes => {
                let _ = writeln!(s, "  {}", changes.one_line());
            }
        }
        for v in self.verdicts.iter() {
            let Some(fix) = &self.history.for_eval(&v.eval_path).claimed_fix else { continue };
            let note = fix.note.as_deref().map(|n| format!(": {n}")).unwrap_or_default();
            let _ =
                writeln!(s, "  a prior Actions taken entry claimed to fix {}, and it failed again{note}", v.eval_path);
        }
        let total = self.spend.total();
        if total.total() > 0 || self.synthesis_cached {
            let mut line = format!(
                "  tokens: {} ({} prompt + {} completion; verdicts {}, synthesis {})",
                total.total(),
                total.prompt,
                total.completion,
                self.spend.verdicts.total(),
                self.spend.synthesis.total()
            );
            if self.synthesis_cached {
                line.push_str("; synthesis from the cache");
            }
            if let Some(cost) = &self.llm_cost {
                let _ = write!(line, " · {}", cost.describe());
            }
            let _ = writeln!(s, "{line}");
        }
        let _ = writeln!(
            s,
            "report: {}{}",
            self.path.display(),
            if kept_actions { " (replaced; Actions taken kept)" } else { "" }
        );
        let _ = writeln!(s, "next: {}", self.next_step());
        s
    }

    /// `evaltriage evals show <run> <eval>`, with `--file run.log` only when that file exists.
    fn show_command(&self, v: &Verdict, with_log: bool) -> String {
        let mut args = vec![v.eval_path.as_str()];
        if with_log && self.with_run_log.contains(&v.eval_path) {
            args.extend(["--file", "run.log"]);
        }
        self.address.command(&["evals", "show"], &args)
    }

    /// The one thing to do next.
    pub(crate) fn next_step(&self) -> String {
        if self.shape.mostly_infrastructure() {
            return format!(
                "fix the environment first: {} of {} failures are infrastructure (see the report's infrastructure section)",
                self.shape.infrastructure, self.shape.failed
            );
        }
        let actionable = self
            .verdicts
            .iter()
            .find(|v| matches!(v.classification, Some(Classification::OverlyStrict | Classification::AmbiguousTask)));
        if let Some(v) = actionable {
            return format!(
                "{} looks like the eval's problem ({}): see the report's recommendations, or `{}`",
                v.eval_path,
                v.classification.map_or("", Classification::as_str),
                self.show_command(v, false)
            );
        }
        if let Some(v) = self.verdicts.iter().find(|v| v.status == VerdictStatus::Error) {
            return format!("{} could not be classified: `{}`", v.eval_path, self.show_command(v, false));
        }
        if let Some(v) = self.verdicts.iter().find(|v| v.classification == Some(Classification::ModelFault)) {
            return format!("look at one model fault first: `{}`", self.show_command(v, true));
        }
        "nothing to act on".to_owned()
    }
}
