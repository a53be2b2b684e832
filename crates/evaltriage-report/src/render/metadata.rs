//! The title and the **Run metadata** section: what was run, how it went, who classified it.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use chrono::DateTime;
use evaltriage_core::usage::format_usd;
use evaltriage_core::{RunStatus, TokenUsage, VerdictOrigin};

use super::analysis::{Analysis, Row};
use super::failures::infra_causes;
use super::format::{percent, plural, thousands};
use crate::llm_cost::LlmCost;
use crate::path_scheme::report_folders;
use crate::read::prior_report::UNCLASSIFIED;
use crate::render::escape::{code, inline, one_line, truncate_chars};

impl Analysis<'_> {
    pub(super) fn title(&self, out: &mut String) {
        let scope = self.input.scope.map_or_else(String::new, |s| format!(" — covers only {}", inline(&s.describe())));
        w!(
            out,
            "# Run analysis: {} — run {} ({}){scope}",
            inline(&self.run.model),
            self.run.id.prefix(),
            self.input.date.format("%Y-%m-%d")
        );
        w!(out);
        // A run that ended badly says so before anything else: what aborted it, and how many of
        // its evals never ran (they are not failures).
        if let Some(line) = self.shape.ended_badly_line() {
            w!(out, "> **{}**", inline(&truncate_chars(&one_line(&line), 400)));
            w!(out);
        }
        if self.shape.mostly_infrastructure() {
            w!(
                out,
                "> **This run is mostly infrastructure failures**: {} of its {} failure{} ({}) come from the \
                 benchmark's machinery, not from the model's code. Fix the environment before blaming the model; \
                 this run says little about the model itself.",
                self.shape.infrastructure,
                self.shape.failed,
                plural(self.shape.failed),
                infra_causes(self.shape)
            );
            w!(out);
        }
    }

    pub(super) fn metadata(&self, out: &mut String) {
        let run = self.run;
        let shape = self.shape;
        w!(out, "## Run metadata");
        w!(out);
        w!(out, "- **Run ID**: `{}` (prefix `{}`)", run.id, run.id.prefix());
        if let Some(scope) = self.input.scope {
            let what = match &scope.eval {
                Some(eval) => format!("eval {}", code(&format!("{}/{eval}", scope.category))),
                None => format!("category {}", code(&scope.category)),
            };
            let in_scope = run.evals.iter().filter(|e| scope.covers(&e.path)).count();
            w!(
                out,
                "- **Scope**: covers only {what} ({in_scope} of the run's {} eval{}); this is not the run's full report \
                 and never replaces it",
                run.evals.len(),
                plural(run.evals.len())
            );
        }
        match &run.formatted_name {
            Some(name) if !name.trim().is_empty() => w!(out, "- **Model**: {} ({})", code(&run.model), inline(name)),
            _ => w!(out, "- **Model**: {}", code(&run.model)),
        }
        // The provider is the one the report's folder uses (the model slug's); the endpoint that
        // served the run (often `openrouter`) is said beside it.
        let (folder_provider, folder_model) = report_folders(run);
        let served = match run.provider.as_deref().map(str::trim).filter(|p| !p.is_empty()) {
            Some(endpoint) if endpoint != folder_provider => format!(" (served through {})", code(endpoint)),
            _ => String::new(),
        };
        w!(
            out,
            "- **Provider**: {}{served}; report folder {}",
            code(&folder_provider),
            code(&format!("{folder_provider}/{folder_model}/"))
        );
        w!(out, "- **Experiment**: {}", code(&run.experiment));
        let started = DateTime::from_timestamp_millis(run.created_at_ms as i64)
            .filter(|_| run.created_at_ms > 0.0)
            .map(|t| format!("; run started {}", t.format("%Y-%m-%d %H:%M UTC")))
            .unwrap_or_default();
        w!(out, "- **Date**: {} (analysis, UTC){started}", self.input.date.format("%Y-%m-%d"));
        match &run.status {
            RunStatus::Failed { failure_reason, .. } => {
                let summary = shape.run_failure.as_ref().map_or_else(|| failure_reason.clone(), |f| f.summary());
                w!(out, "- **Status**: failed — {}", inline(&truncate_chars(&one_line(&summary), 300)));
                if let Some(why) = shape.unscored_reason() {
                    w!(out, "- **Not scored by the benchmark**: {}", inline(&truncate_chars(&one_line(&why), 300)));
                }
            }
            status => w!(out, "- **Status**: {}", inline(status.kind())),
        }
        let duration = run.status.duration_ms().map_or_else(|| "not recorded".to_owned(), format_duration);
        w!(out, "- **Duration**: {duration}");
        // Over the evals that finished: an eval that never ran is not a failure.
        let finished = shape.finished();
        let mut pass = format!("{}/{finished} ({})", shape.passed, percent(shape.passed, finished));
        if shape.infrastructure > 0 {
            let scored = finished - shape.infrastructure;
            let _ = write!(
                pass,
                "; {}/{scored} ({}) not counting the {} infrastructure failure{}",
                shape.passed,
                percent(shape.passed, scored),
                shape.infrastructure,
                plural(shape.infrastructure)
            );
        }
        if shape.not_run > 0 {
            let never = match shape.never_started {
                0 => String::new(),
                n => format!(", {n} of them never started"),
            };
            let _ = write!(pass, "; {} eval{} did not run{never}", shape.not_run, plural(shape.not_run));
        }
        let unknown = shape.other.saturating_sub(shape.not_run - shape.never_started);
        if unknown > 0 {
            let _ = write!(pass, "; {unknown} eval{} in a status this version does not know", plural(unknown));
        }
        w!(out, "- **Pass rate**: {pass}");
        w!(out, "- **Generation cost**: {}", generation_cost(shape));
        w!(
            out,
            "- **Failures**: {} ({} verification, {} infrastructure)",
            shape.failed,
            shape.verification,
            shape.infrastructure
        );
        w!(out, "- **Classifier**: {}", self.classifier_description());
        w!(out, "- **Token usage**: {}", self.token_usage());
        let missing: Vec<String> = self
            .rows
            .iter()
            .filter(|r| !r.verdict.missing_evidence.is_empty())
            .map(|r| code(r.path.as_str()))
            .collect();
        if !missing.is_empty() {
            w!(
                out,
                "- **Missing evidence**: {} failure{} could not be fetched whole ({}); each section below names what \
                 is missing, and no verdict was computed as if it were complete",
                missing.len(),
                plural(missing.len()),
                missing.join(", ")
            );
        }
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
                VerdictOrigin::Reused(_) => "reused from earlier runs' reports (same failure, no call)".to_owned(),
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
            parts.push("none needed (no verification failure was analyzed)".to_owned());
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
        // What they cost at the config's price, or that it has none (the model is the config's
        // word, escaped like any other).
        let cost = match self.input.llm_cost {
            Some(LlmCost { usd: None, model, .. }) => format!(" (no price configured for {})", code(model)),
            Some(cost) => format!(" ({})", cost.describe()),
            None => String::new(),
        };
        format!(
            "{} prompt + {} completion = {} tokens{cost}",
            thousands(total.prompt),
            thousands(total.completion),
            thousands(total.total())
        )
    }
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

/// The run's generation cost as the benchmark sums it (`usage.raw.cost` of its finished evals),
/// with the tokens beside it: `$1.44 (12 evals with usage; 24,000 input, 9,000 output, 1,200
/// reasoning tokens)`.
pub(super) fn generation_cost(shape: &evaltriage_core::Shape) -> String {
    let usage = &shape.usage;
    if usage.evals_with_usage == 0 {
        return "not recorded".to_owned();
    }
    let cost = usage.cost_usd.map_or_else(|| "no cost recorded".to_owned(), |c| format!("{} (USD)", format_usd(c)));
    let reasoning = if usage.reasoning_tokens > 0 {
        format!(", {} reasoning", thousands(usage.reasoning_tokens))
    } else {
        String::new()
    };
    format!(
        "{cost}; {} eval{} with usage: {} input, {} output{reasoning} tokens",
        usage.evals_with_usage,
        plural(usage.evals_with_usage),
        thousands(usage.input_tokens),
        thousands(usage.output_tokens)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(format_duration(11_700.0), "11.7 s");
        assert_eq!(format_duration(455_000.0), "7 min 35 s");
        assert_eq!(format_duration(3_720_000.0), "1 h 02 min");
    }
}
