//! Rendering the report: a pure function from the analysis (run, shape, verdicts, history, prior
//! reports) to markdown, with every section of DESIGN §7 in order, and the machine-readable block
//! at the end. Every piece of text that came from a run, an LLM or a prior report is escaped.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use chrono::{DateTime, NaiveDate};
use evaltriage_core::{
    Classification, EvalPath, Failure, FailureKind, Run, RunStatus, Shape, StepName, TokenUsage, Verdict,
    VerdictOrigin, VerdictStatus,
};

use crate::escape::{cell, code, fenced, hand_written, inline, one_line, prose, truncate_chars};
use crate::history::{EvalHistory, History, HistoryStatus};
use crate::machine_block::{self, OwnBlock};
use crate::path_scheme::report_folders;
use crate::prior::{PriorReport, PriorWarning, UNCLASSIFIED};

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
    /// One per failed eval that was analysed (infrastructure ones included, with an
    /// `Infrastructure` origin); any order, the report sorts them by eval path.
    pub verdicts: &'a [Verdict],
    pub history: &'a History,
    /// The prior reports consulted, newest first.
    pub prior_reports: &'a [PriorReport],
    /// Prior report files that were skipped or read only in part.
    pub prior_warnings: &'a [PriorWarning],
    /// The analysis date (UTC).
    pub date: NaiveDate,
    pub synthesis: Option<Synthesis<'a>>,
    /// The **Actions taken** text; `None` writes "None".
    pub actions_taken: Option<&'a str>,
}

/// Appends one formatted line; writing to a `String` cannot fail.
macro_rules! w {
    ($out:expr) => {
        $out.push('\n')
    };
    ($out:expr, $($arg:tt)*) => {{
        let _ = writeln!($out, $($arg)*);
    }};
}

/// A category is called harder when its failure rate is at least this many times the run's.
const HARDER_FACTOR: f64 = 1.5;

/// The most lines of a step's output shown under a failure.
const STEP_OUTPUT_LINES: usize = 25;

/// The longest one-line reasoning shown in tables and lists.
const ONE_LINE_MAX: usize = 180;

/// Renders the report.
pub fn render(input: &ReportInput<'_>) -> String {
    let report = Analysis::new(input);
    let mut out = String::with_capacity(4096 + input.verdicts.len() * 1500);
    report.title(&mut out);
    report.metadata(&mut out);
    report.prior_reports(&mut out);
    report.failure_summary(&mut out);
    report.infrastructure(&mut out);
    report.classification_table(&mut out);
    report.per_failure(&mut out);
    report.patterns(&mut out);
    report.recommendations(&mut out);
    report.net_impact(&mut out);
    report.actions_taken(&mut out);
    report.machine_block(&mut out);
    out
}

/// A verification failure with its verdict.
struct Row<'a> {
    number: usize,
    path: &'a EvalPath,
    step: String,
    verdict: &'a Verdict,
    failure: Option<&'a Failure>,
    history: &'a EvalHistory,
}

impl Row<'_> {
    fn classification(&self) -> Option<Classification> {
        if self.verdict.status == VerdictStatus::Done { self.verdict.classification } else { None }
    }

    /// `MODEL_FAULT`, or `UNCLASSIFIED (analysis error)` and the like.
    fn label(&self) -> String {
        match (self.classification(), self.verdict.status) {
            (Some(c), _) => c.as_str().to_owned(),
            (None, VerdictStatus::Error) => format!("{UNCLASSIFIED} (analysis error)"),
            (None, VerdictStatus::Skipped) => format!("{UNCLASSIFIED} (skipped)"),
            (None, VerdictStatus::Done) => format!("{UNCLASSIFIED} (no label)"),
        }
    }

    fn label_with_repeat(&self) -> String {
        if self.history.is_repeat() { format!("{} (repeat)", self.label()) } else { self.label() }
    }

    fn reasoning(&self) -> &str {
        &self.verdict.reasoning
    }

    fn one_line_reasoning(&self) -> String {
        first_sentence(self.reasoning())
    }

    fn error(&self) -> &str {
        if self.verdict.error.trim().is_empty() {
            self.failure.map_or("", Failure::error_text)
        } else {
            &self.verdict.error
        }
    }
}

struct Analysis<'a> {
    input: &'a ReportInput<'a>,
    run: &'a Run,
    shape: &'a Shape,
    /// Verdicts for verification failures, by eval path.
    rows: Vec<Row<'a>>,
    /// Infrastructure failures, by eval path.
    infra: Vec<&'a Failure>,
    /// Verification failures with no verdict (outside an eval-level analysis), by eval path.
    not_analysed: Vec<&'a Failure>,
    /// Every verdict, by eval path.
    verdicts: Vec<&'a Verdict>,
}

impl<'a> Analysis<'a> {
    fn new(input: &'a ReportInput<'a>) -> Self {
        let shape = input.shape;
        let mut verdicts: Vec<&Verdict> = input.verdicts.iter().collect();
        verdicts.sort_by(|a, b| a.eval_path.cmp(&b.eval_path));
        let infra: Vec<&Failure> = shape.failures.iter().filter(|f| f.kind.is_infrastructure()).collect();
        let infra_paths: BTreeSet<&EvalPath> = infra.iter().map(|f| &f.eval_path).collect();
        let failures: BTreeMap<&EvalPath, &Failure> =
            shape.failures.iter().filter(|f| !f.kind.is_infrastructure()).map(|f| (&f.eval_path, f)).collect();
        let analysed: Vec<&Verdict> = verdicts
            .iter()
            .copied()
            .filter(|v| !matches!(v.origin, VerdictOrigin::Infrastructure(_)) && !infra_paths.contains(&v.eval_path))
            .collect();
        let analysed_paths: BTreeSet<&EvalPath> = analysed.iter().map(|v| &v.eval_path).collect();
        let not_analysed = failures.values().copied().filter(|f| !analysed_paths.contains(&f.eval_path)).collect();
        let rows = analysed
            .into_iter()
            .enumerate()
            .map(|(i, verdict)| {
                let failure = failures.get(&verdict.eval_path).copied();
                Row {
                    number: i + 1,
                    path: &verdict.eval_path,
                    step: verdict
                        .failed_step
                        .as_ref()
                        .or_else(|| failure.and_then(|f| f.failed_step.as_ref()))
                        .map_or_else(|| "none".to_owned(), |s| s.as_str().to_owned()),
                    verdict,
                    failure,
                    history: input.history.for_eval(&verdict.eval_path),
                }
            })
            .collect();
        Self { input, run: input.run, shape, rows, infra, not_analysed, verdicts }
    }

    fn title(&self, out: &mut String) {
        w!(
            out,
            "# Run analysis: {} — run {} ({})",
            inline(&self.run.model),
            self.run.id.prefix(),
            self.input.date.format("%Y-%m-%d")
        );
        w!(out);
        if self.shape.mostly_infrastructure() {
            w!(
                out,
                "> **This run is mostly infrastructure failures**: {} of its {} failures ({}) come from the \
                 benchmark's machinery, not from the model's code. Fix the environment before blaming the model; \
                 this run says little about the model itself.",
                self.shape.infrastructure,
                self.shape.failed,
                infra_causes(self.shape)
            );
            w!(out);
        }
    }

    fn metadata(&self, out: &mut String) {
        let run = self.run;
        let shape = self.shape;
        w!(out, "## Run metadata");
        w!(out);
        w!(out, "- **Run ID**: `{}` (prefix `{}`)", run.id, run.id.prefix());
        match &run.formatted_name {
            Some(name) if !name.trim().is_empty() => w!(out, "- **Model**: {} ({})", code(&run.model), inline(name)),
            _ => w!(out, "- **Model**: {}", code(&run.model)),
        }
        let (folder_provider, folder_model) = report_folders(run);
        let provider = run.provider.as_deref().map_or_else(|| "not recorded".to_owned(), code);
        w!(out, "- **Provider**: {provider} (report folder `{folder_provider}/{folder_model}/`)");
        w!(out, "- **Experiment**: {}", code(&run.experiment));
        let started = DateTime::from_timestamp_millis(run.created_at_ms as i64)
            .filter(|_| run.created_at_ms > 0.0)
            .map(|t| format!("; run started {}", t.format("%Y-%m-%d %H:%M UTC")))
            .unwrap_or_default();
        w!(out, "- **Date**: {} (analysis, UTC){started}", self.input.date.format("%Y-%m-%d"));
        match &run.status {
            RunStatus::Failed { failure_reason, .. } => {
                w!(out, "- **Status**: failed — {}", inline(&truncate_chars(&one_line(failure_reason), 300)));
            }
            status => w!(out, "- **Status**: {}", inline(status.kind())),
        }
        let duration = run.status.duration_ms().map_or_else(|| "not recorded".to_owned(), format_duration);
        w!(out, "- **Duration**: {duration}");
        let mut pass = format!("{}/{} ({})", shape.passed, shape.total, percent(shape.passed, shape.total));
        if shape.infrastructure > 0 {
            let scored = shape.total - shape.infrastructure;
            let _ = write!(
                pass,
                "; {}/{scored} ({}) not counting the {} infrastructure failure{}",
                shape.passed,
                percent(shape.passed, scored),
                shape.infrastructure,
                plural(shape.infrastructure)
            );
        }
        if shape.other > 0 {
            let _ = write!(pass, "; {} eval{} did not finish", shape.other, plural(shape.other));
        }
        w!(out, "- **Pass rate**: {pass}");
        w!(
            out,
            "- **Failures**: {} ({} verification, {} infrastructure)",
            shape.failed,
            shape.verification,
            shape.infrastructure
        );
        w!(out, "- **Classifier**: {}", self.classifier_description());
        w!(out, "- **Token usage**: {}", self.token_usage());
        let unclassified: Vec<&Row<'_>> = self.rows.iter().filter(|r| r.classification().is_none()).collect();
        if !unclassified.is_empty() {
            let mut by_kind: BTreeMap<String, usize> = BTreeMap::new();
            for r in &unclassified {
                let label = r.label();
                let kind = label.trim_start_matches(UNCLASSIFIED).trim().trim_matches(['(', ')']).to_owned();
                *by_kind.entry(kind).or_default() += 1;
            }
            let kinds: Vec<String> = by_kind.iter().map(|(k, n)| format!("{n} {k}")).collect();
            w!(
                out,
                "- **Unclassified**: {} ({}); each is listed with its reason below, never guessed",
                unclassified.len(),
                kinds.join(", ")
            );
        }
        w!(out);
    }

    fn classifier_description(&self) -> String {
        let mut origins: BTreeMap<String, usize> = BTreeMap::new();
        for r in &self.rows {
            let what = match &r.verdict.origin {
                VerdictOrigin::Llm { model } => format!("LLM {}", code(model)),
                VerdictOrigin::Cache { model } => format!("LLM {} (cached verdicts)", code(model)),
                VerdictOrigin::Rules => "rules — no LLM was used".to_owned(),
                VerdictOrigin::Infrastructure(_) => continue,
            };
            *origins.entry(what).or_default() += 1;
        }
        let mut parts: Vec<String> = if origins.len() == 1 {
            origins.into_keys().collect()
        } else {
            origins.into_iter().map(|(what, n)| format!("{what} for {n} verdict{}", plural(n))).collect()
        };
        if parts.is_empty() {
            parts.push("none needed (no verification failure was analysed)".to_owned());
        }
        if let Some(s) = &self.input.synthesis {
            parts.push(format!("patterns synthesised by LLM {}", code(s.model)));
        }
        if !self.infra.is_empty() {
            parts.push("infrastructure failures by the benchmark's rules, never sent to an LLM".to_owned());
        }
        parts.join("; ")
    }

    fn token_usage(&self) -> String {
        let mut total = TokenUsage::default();
        for v in &self.verdicts {
            total += v.tokens;
        }
        if let Some(s) = &self.input.synthesis {
            total += s.tokens;
        }
        if total.total() == 0 {
            return "none".to_owned();
        }
        format!(
            "{} prompt + {} completion = {} tokens",
            thousands(total.prompt),
            thousands(total.completion),
            thousands(total.total())
        )
    }

    fn prior_reports(&self, out: &mut String) {
        w!(out, "## Prior reports consulted");
        w!(out);
        let (provider, model) = report_folders(self.run);
        if self.input.prior_reports.is_empty() {
            w!(out, "None: no earlier report in `{provider}/{model}/`, so every failure below is new.");
        }
        for r in self.input.prior_reports {
            let kind = if r.ours { "evaltriage report" } else { "hand-written, read heuristically" };
            let pass = r
                .pass_rate
                .map_or_else(String::new, |(p, t)| format!(", {p}/{t} passed ({})", percent(p as usize, t as usize)));
            let actions = match r.actions_taken.len() {
                0 => String::new(),
                n => format!(", {n} action{} taken", plural(n)),
            };
            w!(
                out,
                "- {} — {}, {kind}{pass}, {} failure{} named{actions}",
                code(&r.file_name()),
                r.date.format("%Y-%m-%d"),
                r.entries.len(),
                plural(r.entries.len())
            );
        }
        for warning in self.input.prior_warnings {
            let name = warning.path.file_name().map_or_else(String::new, |n| n.to_string_lossy().into_owned());
            w!(out, "- Skipped or partly read: {} — {}", code(&name), inline(&warning.reason));
        }
        w!(out);
    }

    fn failure_summary(&self, out: &mut String) {
        w!(out, "## Failure summary by step");
        w!(out);
        if self.shape.failed == 0 {
            w!(out, "No eval failed.");
            w!(out);
            return;
        }
        let mut infra_by_step: BTreeMap<&str, usize> = BTreeMap::new();
        for f in &self.infra {
            *infra_by_step.entry(f.step_label()).or_default() += 1;
        }
        let mut steps: Vec<(&String, &usize)> = self.shape.failed_by_step.iter().collect();
        steps.sort_by_key(|(step, _)| (step_order(step), step.as_str()));
        w!(out, "| Failed step | Failures | Of which infrastructure |");
        w!(out, "| --- | ---: | ---: |");
        for (step, count) in steps {
            let shown = if step == "none" { "none (generation)".to_owned() } else { cell(step) };
            w!(out, "| {shown} | {count} | {} |", infra_by_step.get(step.as_str()).copied().unwrap_or(0));
        }
        w!(out, "| **Total** | **{}** | **{}** |", self.shape.failed, self.shape.infrastructure);
        w!(out);
    }

    fn infrastructure(&self, out: &mut String) {
        if self.infra.is_empty() {
            return;
        }
        w!(out, "## Infrastructure failures");
        w!(out);
        w!(
            out,
            "Fix the environment before blaming the model: {} failure{} ({}) came from the benchmark's machinery. \
             The benchmark excludes them from scoring, and they were classified by rules, never sent to an LLM.",
            self.infra.len(),
            plural(self.infra.len()),
            infra_causes(self.shape)
        );
        w!(out);
        // One row per distinct (cause, reason), so a run where everything failed the same way
        // stays one readable row, with every eval still listed.
        let mut groups: BTreeMap<(&str, String), Vec<&EvalPath>> = BTreeMap::new();
        for f in &self.infra {
            let cause = match f.kind {
                FailureKind::Infrastructure(c) => c.as_str(),
                FailureKind::Verification => "verification",
            };
            let reason = truncate_chars(&one_line(f.error_text()), 240);
            groups.entry((cause, reason)).or_default().push(&f.eval_path);
        }
        w!(out, "| Cause | Error | Evals |");
        w!(out, "| --- | --- | --- |");
        for ((cause, reason), evals) in &groups {
            let list: Vec<String> = evals.iter().map(|p| code(p.as_str())).collect();
            let evals_cell =
                if evals.len() > 1 { format!("{}: {}", evals.len(), list.join(", ")) } else { list.join("") };
            w!(out, "| {cause} | {} | {} |", cell(reason), evals_cell.replace('|', "\\|"));
        }
        w!(out);
    }

    fn classification_table(&self, out: &mut String) {
        w!(out, "## Classification table");
        w!(out);
        if !self.not_analysed.is_empty() {
            let list: Vec<String> = self.not_analysed.iter().map(|f| code(f.eval_path.as_str())).collect();
            w!(
                out,
                "Not analysed in this report: {} other verification failure{} of the run ({}).",
                list.len(),
                plural(list.len()),
                list.join(", ")
            );
            w!(out);
        }
        if self.rows.is_empty() {
            if self.not_analysed.is_empty() {
                if self.infra.is_empty() {
                    w!(out, "No failures to classify.");
                } else {
                    w!(out, "No verification failures to classify: every failure is infrastructure.");
                }
                w!(out);
            }
            return;
        }
        w!(out, "| # | Eval | Failed step | Classification | One-line reasoning |");
        w!(out, "| ---: | --- | --- | --- | --- |");
        for r in &self.rows {
            w!(
                out,
                "| {} | {} | {} | {} | {} |",
                r.number,
                code(r.path.as_str()).replace('|', "\\|"),
                cell(&r.step),
                cell(&r.label_with_repeat()),
                cell(&r.one_line_reasoning())
            );
        }
        w!(out);
    }

    fn per_failure(&self, out: &mut String) {
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

    fn patterns(&self, out: &mut String) {
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
            let text = prose(s.text);
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
            let seen = format!("named as failed in {times} of {} prior reports", self.input.prior_reports.len());
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

    fn recommendations(&self, out: &mut String) {
        w!(out, "## Recommendations");
        w!(out);
        let mut eval_improvements = Vec::new();
        let mut lint_config = Vec::new();
        let mut model_notes = Vec::new();
        let mut no_action = Vec::new();
        let mut unrouted = Vec::new();
        for r in &self.rows {
            let Some(class) = r.classification() else {
                unrouted.push(code(r.path.as_str()));
                continue;
            };
            let mut item = format!(
                "{} ({}, {}): {}",
                code(r.path.as_str()),
                class,
                inline(&r.step),
                inline(&r.one_line_reasoning())
            );
            if let Some(fix) = &r.history.claimed_fix {
                let _ = write!(
                    item,
                    " A prior action in {} ({}) claimed to fix this; check that it landed.",
                    code(&file_name(&fix.report)),
                    fix.date.format("%Y-%m-%d")
                );
            }
            let is_lint = r.verdict.failed_step.as_ref() == Some(&StepName::Eslint) || r.step == "eslint";
            let rules = lint_rules(r.error());
            let rules_text = if rules.is_empty() {
                "the failing lint rule".to_owned()
            } else {
                rules.iter().map(|rule| code(rule)).collect::<Vec<_>>().join(", ")
            };
            match class {
                Classification::OverlyStrict if is_lint => {
                    lint_config.push(format!("Relax or scope {rules_text} — {item}"));
                }
                Classification::OverlyStrict => {
                    eval_improvements.push(format!("Loosen the grader or test to what the task asks — {item}"));
                }
                Classification::AmbiguousTask => {
                    eval_improvements.push(format!("Make the task say what the grader checks — {item}"));
                }
                Classification::KnownGap if is_lint => {
                    lint_config.push(format!("Known gap in the lint setup ({rules_text}) — {item}"));
                }
                Classification::KnownGap => {
                    eval_improvements.push(format!(
                        "Known gap: fix the eval or its guidance so it stops costing every model — {item}"
                    ));
                }
                Classification::ModelFault
                    if !r.history.prior_failures.is_empty() || r.history.claimed_fix.is_some() =>
                {
                    model_notes.push(format!("Recurring model fault, a regression to track — {item}"));
                }
                Classification::ModelFault => no_action.push(format!("Genuine model fault — {item}")),
            }
        }
        if !self.infra.is_empty() {
            lint_config.insert(
                0,
                format!(
                    "**Environment**: fix the cause of the {} infrastructure failure{} ({}) and re-run those evals before judging the model on them.",
                    self.infra.len(),
                    plural(self.infra.len()),
                    infra_causes(self.shape)
                ),
            );
        }
        for (title, items) in [
            ("Eval improvements", &eval_improvements),
            ("Lint/config changes", &lint_config),
            ("Model-specific notes", &model_notes),
            ("No action needed", &no_action),
        ] {
            w!(out, "### {title}");
            w!(out);
            if items.is_empty() {
                w!(out, "None.");
            }
            for item in items {
                w!(out, "- {item}");
            }
            w!(out);
        }
        if !unrouted.is_empty() {
            w!(
                out,
                "Not routed: {} failure{} without a classification ({}); re-run the analysis for {} before acting.",
                unrouted.len(),
                plural(unrouted.len()),
                unrouted.join(", "),
                if unrouted.len() == 1 { "it" } else { "them" }
            );
            w!(out);
        }
    }

    fn net_impact(&self, out: &mut String) {
        w!(out, "## Net impact");
        w!(out);
        let mut counts: BTreeMap<Classification, usize> = BTreeMap::new();
        for r in &self.rows {
            if let Some(c) = r.classification() {
                *counts.entry(c).or_default() += 1;
            }
        }
        let actionable: usize = counts.iter().filter(|(c, _)| c.is_actionable()).map(|(_, n)| n).sum();
        let faults = counts.get(&Classification::ModelFault).copied().unwrap_or(0);
        let unclassified = self.rows.iter().filter(|r| r.classification().is_none()).count();
        let breakdown: Vec<String> =
            counts.iter().filter(|(c, _)| c.is_actionable()).map(|(c, n)| format!("{c} {n}")).collect();
        let breakdown = if breakdown.is_empty() { String::new() } else { format!(" ({})", breakdown.join(", ")) };
        let verification = self.rows.len();
        w!(
            out,
            "- **Actionable on the benchmark's side**: {actionable} of {verification} verification failures{breakdown}"
        );
        w!(out, "- **Genuine model faults**: {faults} of {verification}");
        if !self.infra.is_empty() {
            w!(out, "- **Infrastructure**: {} (fix the environment; not the model's doing)", self.infra.len());
        }
        if unclassified > 0 {
            w!(out, "- **Unclassified**: {unclassified} (no verdict; see above)");
        }
        w!(out);
        let (passed, total) = (self.shape.passed, self.shape.total);
        if actionable > 0 {
            w!(
                out,
                "If the {actionable} actionable failure{} were fixed (and then passed), the pass rate would be **{}/{total} ({})** instead of {passed}/{total} ({}).",
                plural(actionable),
                passed + actionable,
                percent(passed + actionable, total),
                percent(passed, total)
            );
        } else {
            w!(
                out,
                "Nothing is actionable on the benchmark's side: the pass rate stays {passed}/{total} ({}).",
                percent(passed, total)
            );
        }
        w!(out);
    }

    fn actions_taken(&self, out: &mut String) {
        w!(out, "## Actions taken");
        w!(out);
        match self.input.actions_taken.map(str::trim).filter(|t| !t.is_empty()) {
            Some(text) => w!(out, "{}", hand_written(text).trim_end()),
            None => w!(out, "None"),
        }
        w!(out);
    }

    fn machine_block(&self, out: &mut String) {
        let block = OwnBlock {
            run_id: self.run.id.as_str().to_owned(),
            model: self.run.model.clone(),
            provider: self.run.provider.clone(),
            experiment: self.run.experiment.clone(),
            date: self.input.date,
            passed: u32::try_from(self.shape.passed).unwrap_or(u32::MAX),
            total: u32::try_from(self.shape.total).unwrap_or(u32::MAX),
            verdicts: self
                .verdicts
                .iter()
                .map(|v| ((*v).clone(), self.input.history.for_eval(&v.eval_path).is_repeat()))
                .collect(),
        };
        w!(out, "{}", machine_block::encode(&block));
    }
}

fn history_line(h: &EvalHistory) -> String {
    let mut line = match &h.status {
        HistoryStatus::New => "new — no prior report names it".to_owned(),
        HistoryStatus::Repeat { label, report, date } => format!(
            "repeat — {} in the latest prior report, {} ({})",
            inline(label),
            code(&file_name(report)),
            date.format("%Y-%m-%d")
        ),
        HistoryStatus::BackAfterPassing { label, report, date } => format!(
            "back after passing — {} in {} ({}), absent from the latest prior report",
            inline(label),
            code(&file_name(report)),
            date.format("%Y-%m-%d")
        ),
    };
    if h.prior_failures.len() > 1 {
        let _ = write!(line, "; failed in {} prior reports", h.prior_failures.len());
    }
    if let Some(fix) = &h.claimed_fix {
        let _ = write!(
            line,
            "; **a prior action claimed to fix this** ({}, {}): “{}”",
            code(&file_name(&fix.report)),
            fix.date.format("%Y-%m-%d"),
            inline(&truncate_chars(&one_line(&fix.action), 200))
        );
    }
    line
}

fn origin_line(v: &Verdict) -> String {
    let mut line = match &v.origin {
        VerdictOrigin::Llm { model } => format!("LLM {}", code(model)),
        VerdictOrigin::Cache { model } => format!("LLM {} (cached verdict)", code(model)),
        VerdictOrigin::Rules => "rules — no LLM was used".to_owned(),
        VerdictOrigin::Infrastructure(cause) => format!("infrastructure rules ({})", cause.as_str()),
    };
    let _ = write!(line, "; status {}", v.status.as_str());
    if let Some(c) = v.confidence.filter(|c| c.is_finite()) {
        let _ = write!(line, "; confidence {c:.2}");
    }
    if v.retry_count > 0 {
        let _ = write!(line, "; {} retr{}", v.retry_count, if v.retry_count == 1 { "y" } else { "ies" });
    }
    if v.tokens.total() > 0 {
        let _ = write!(line, "; {} tokens", thousands(v.tokens.total()));
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
    let first_error = lines
        .iter()
        .position(|l| {
            let lower = l.to_lowercase();
            lower.contains("error") || lower.contains("fail") || l.contains('✖')
        })
        .unwrap_or(0);
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

/// Lint rule names in an eslint output: the last word of an `error`/`warning` line when it looks
/// like a rule (`prefer-const`, `@typescript-eslint/no-explicit-any`).
fn lint_rules(text: &str) -> Vec<String> {
    let mut rules: Vec<String> = Vec::new();
    for line in text.lines() {
        if !(line.contains("error") || line.contains("warning")) {
            continue;
        }
        let Some(word) = line.split_whitespace().last() else { continue };
        let word = word.trim_matches(|c: char| matches!(c, '(' | ')' | '`' | '\'' | '.' | ','));
        let body = word.strip_prefix('@').unwrap_or(word);
        let parts: Vec<&str> = body.split('/').collect();
        let looks_like_rule = word.contains('-')
            && parts.len() <= 2
            && parts
                .iter()
                .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'))
            && (word.starts_with('@') == (parts.len() == 2));
        if looks_like_rule && !rules.iter().any(|r| r == word) {
            rules.push(word.to_owned());
        }
    }
    rules
}

fn first_sentence(text: &str) -> String {
    let line = one_line(text);
    let end = line.match_indices(". ").map(|(i, _)| i + 1).find(|&i| i >= 20).unwrap_or(line.len());
    truncate_chars(&line[..end], ONE_LINE_MAX)
}

fn infra_causes(shape: &Shape) -> String {
    shape.infrastructure_by_cause.iter().map(|(cause, n)| format!("{cause}: {n}")).collect::<Vec<_>>().join(", ")
}

fn step_order(step: &str) -> usize {
    ["filesystem", "install", "deploy", "tsc", "eslint", "tests"]
        .iter()
        .position(|s| *s == step)
        .unwrap_or(if step == "none" { 7 } else { 6 })
}

fn file_name(path: &std::path::Path) -> String {
    path.file_name().map_or_else(|| path.display().to_string(), |n| n.to_string_lossy().into_owned())
}

fn percent(part: usize, whole: usize) -> String {
    if whole == 0 { "n/a".to_owned() } else { format!("{:.1}%", part as f64 * 100.0 / whole as f64) }
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn format_duration(ms: f64) -> String {
    if !ms.is_finite() || ms < 0.0 {
        return "not recorded".to_owned();
    }
    let secs = ms / 1000.0;
    if secs < 60.0 {
        return format!("{secs:.1} s");
    }
    let total = secs.round() as u64;
    let (h, m, s) = (total / 3600, (total % 3600) / 60, total % 60);
    if h > 0 { format!("{h} h {m:02} min") } else { format!("{m} min {s:02} s") }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_formatters() {
        assert_eq!(thousands(1234567), "1,234,567");
        assert_eq!(thousands(999), "999");
        assert_eq!(format_duration(11_700.0), "11.7 s");
        assert_eq!(format_duration(455_000.0), "7 min 35 s");
        assert_eq!(format_duration(3_720_000.0), "1 h 02 min");
        assert_eq!(percent(55, 66), "83.3%");
        assert_eq!(percent(0, 0), "n/a");
    }

    #[test]
    fn lint_rules_are_found_in_eslint_output() {
        let text = "Error: Failed to lint code:\n/tmp/x/convex/a.ts\n  3:1  error  Unexpected any  @typescript-eslint/no-explicit-any\n  \
                    9:7  error  'x' is never reassigned. Use 'const' instead  prefer-const\n  1:1 error Parsing error: x\n";
        assert_eq!(lint_rules(text), ["@typescript-eslint/no-explicit-any", "prefer-const"]);
    }

    #[test]
    fn step_output_is_shown_when_it_says_more_than_the_verdict() {
        let failure = |step_error: &str| Failure {
            eval_id: evaltriage_core::EvalId::new("e1").unwrap(),
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

    #[test]
    fn placeholder_only_signatures_are_not_causes() {
        assert!(!informative_signature("<path>"));
        assert!(!informative_signature("<path> #:# <name>"));
        assert!(informative_signature("<name> defined in <path> is a Mutation function."));
    }

    #[test]
    fn one_line_reasoning_is_the_first_sentence() {
        assert_eq!(
            first_sentence("The model omitted the args object. It then retried.\nMore."),
            "The model omitted the args object."
        );
        assert_eq!(first_sentence("e.g. this. And that."), "e.g. this. And that.");
    }
}
