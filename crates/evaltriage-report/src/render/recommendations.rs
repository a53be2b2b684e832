//! The **Recommendations** section, grouped as DESIGN §7 lists them.

use evaltriage_core::{Classification, StepName};

use super::analysis::Analysis;
use super::failures::infra_causes;
use super::format::{file_name, plural};
use crate::render::escape::{code, inline};

impl Analysis<'_> {
    pub(super) fn recommendations(&self, out: &mut String) {
        w!(out, "## Recommendations");
        w!(out);
        let mut eval_improvements = Vec::new();
        let mut lint_config = Vec::new();
        let mut model_notes = Vec::new();
        let mut needs_verification = Vec::new();
        let mut no_action = Vec::new();
        let mut unrouted = Vec::new();
        for r in &self.rows {
            let Some(class) = r.classification() else {
                unrouted.push(code(r.path.as_str()));
                continue;
            };
            let claimed_fix = r.history.claimed_fix.as_ref().map_or_else(String::new, |fix| {
                format!(
                    " A prior action in {} ({}) claimed to fix this; check that it landed.",
                    code(&file_name(&fix.report)),
                    fix.date.format("%Y-%m-%d")
                )
            });
            let head = format!("{} ({}, {})", code(r.path.as_str()), class, inline(&r.step));
            if r.is_unverified_guess() {
                needs_verification.push(format!(
                    "{head}: unverified — no rule matched, so the built-in rules attributed it to the model by \
                     default. Verify it with an LLM analysis (`--classifier llm`) or by reading the failing step's \
                     output.{claimed_fix}"
                ));
                continue;
            }
            let item = format!("{head}: {}{claimed_fix}", inline(&r.one_line_reasoning()));
            let is_lint = r.verdict.failed_step.as_ref() == Some(&StepName::Eslint) || r.step == "eslint";
            // Every rule the step failed on: the step's full output when there is one.
            let mut rules = lint_rules(r.error());
            for rule in r.failure.map(|f| lint_rules(f.error_text())).unwrap_or_default() {
                if !rules.contains(&rule) {
                    rules.push(rule);
                }
            }
            let rules_text = rule_list(&rules.iter().collect::<Vec<_>>());
            let (relaxed, strict): (Vec<&String>, Vec<&String>) =
                rules.iter().partition(|rule| is_relaxed(rule, self.input.relaxed_lint_rules));
            let correctness: Vec<&String> =
                rules.iter().filter(|rule| evaltriage_core::lint::is_correctness_rule(rule)).collect();
            match class {
                // A rule that catches real bugs is never one to relax, whatever the label says.
                Classification::OverlyStrict if is_lint && !correctness.is_empty() => {
                    model_notes.push(format!(
                        "Keep {}: it catches real bugs, so this OVERLY_STRICT label needs a second look — {item}",
                        rule_list(&correctness)
                    ));
                }
                Classification::OverlyStrict if is_lint && !rules.is_empty() && strict.is_empty() => {
                    lint_config.push(format!(
                        "The configuration already relaxes {}: this run predates that change, or the change did not \
                         take effect (check the lint config the run used) — {item}",
                        rule_list(&relaxed)
                    ));
                }
                Classification::OverlyStrict if is_lint && !relaxed.is_empty() => {
                    lint_config.push(format!(
                        "Relax or scope {} ({} already relaxed in the configuration) — {item}",
                        rule_list(&strict),
                        rule_list(&relaxed)
                    ));
                }
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
            ("Needs verification", &needs_verification),
            ("No action needed", &no_action),
        ] {
            // Only the rules' default guesses need verifying; the group is there when they are.
            if title == "Needs verification" && items.is_empty() {
                continue;
            }
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
}

/// `a`, `b` as code, or "the failing lint rule" when none was found.
fn rule_list(rules: &[&String]) -> String {
    if rules.is_empty() {
        return "the failing lint rule".to_owned();
    }
    rules.iter().map(|rule| code(rule)).collect::<Vec<_>>().join(", ")
}

/// Whether the configuration relaxes `rule`: the same name, or the same name without its plugin
/// (`no-unsafe-return` and `@typescript-eslint/no-unsafe-return`), as the rules classifier matches.
fn is_relaxed(rule: &str, relaxed: &[String]) -> bool {
    let bare = |r: &str| r.rsplit('/').next().unwrap_or(r).to_owned();
    relaxed.iter().any(|r| r == rule || bare(r) == bare(rule))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lint_rules_are_found_in_eslint_output() {
        let text = "Error: Failed to lint code:\n/tmp/x/convex/a.ts\n  3:1  error  Unexpected any  @typescript-eslint/no-explicit-any\n  \
                    9:7  error  'x' is never reassigned. Use 'const' instead  prefer-const\n  1:1 error Parsing error: x\n";
        assert_eq!(lint_rules(text), ["@typescript-eslint/no-explicit-any", "prefer-const"]);
    }
}
