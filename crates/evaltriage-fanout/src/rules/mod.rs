//! The built-in rules classifier, used when no LLM is configured, and the infrastructure rule
//! that keeps benchmark-side failures away from any LLM.
//!
//! Deterministic and explainable: every verdict says that it came from a rule, that no LLM was
//! used, and which rule fired. `evidence.rs` reads what a rule needs from the evidence (the first
//! failing test, the model's line at an error, ESLint's rule ids); `gaps.rs` decides whether a
//! GAPS.txt bullet is about this failure.

use evaltriage_core::{
    Classification, Failure, InfraCause, StepName, TokenUsage, Verdict, VerdictOrigin, VerdictStatus,
};

mod evidence;
mod gaps;

use crate::Case;
use crate::selection::read_test_report;

use evidence::eslint_error_rules;
use evidence::{first_failing_test, snippet_at_error};
use gaps::matching_gap;

/// ESLint rules that convex-evals has since relaxed (turned off or down to warnings), so a
/// failure on them alone says more about the lint config than about the model. Gathered from
/// the benchmark's own reports and GAPS.txt files: `prefer-const` and
/// `explicit-function-return-type` were downgraded to warnings, `no-unsafe-assignment`,
/// `no-unsafe-return` and `promise-function-async` were removed.
pub const DEFAULT_RELAXED_RULES: &[&str] = &[
    "prefer-const",
    "@typescript-eslint/explicit-function-return-type",
    "@typescript-eslint/no-unsafe-assignment",
    "@typescript-eslint/no-unsafe-return",
    "@typescript-eslint/promise-function-async",
];

pub use evaltriage_core::lint::is_correctness_rule;

/// Settings of the rules classifier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RulesConfig {
    /// ESLint rule ids (with or without their plugin prefix) whose failures alone make a failure
    /// OVERLY_STRICT. Default: [`DEFAULT_RELAXED_RULES`].
    pub relaxed_rules: Vec<String>,
}

impl Default for RulesConfig {
    fn default() -> Self {
        Self { relaxed_rules: DEFAULT_RELAXED_RULES.iter().map(|r| (*r).to_owned()).collect() }
    }
}

/// A verdict with the fields every verdict of `failure` shares.
pub(crate) fn base_verdict(failure: &Failure, status: VerdictStatus, origin: VerdictOrigin) -> Verdict {
    Verdict {
        eval_id: failure.eval_id.clone(),
        eval_path: failure.eval_path.clone(),
        failed_step: failure.failed_step.clone(),
        status,
        classification: None,
        error: short_error(failure.error_text()),
        reasoning: String::new(),
        model_snippet: None,
        expected_snippet: None,
        confidence: None,
        retry_count: 0,
        origin,
        tokens: TokenUsage::default(),
        missing_evidence: Vec::new(),
    }
}

/// The error in one line, at most 300 characters: the decisive error line of the step's output
/// (see [`evaltriage_core::text::decisive_error`]).
pub(crate) fn short_error(text: &str) -> String {
    evaltriage_core::text::decisive_error(text)
}

/// The decisive error of a tests failure, from the evidence: the step's error with the first
/// failing test and its assertion from `run.log` (`tests failed (75%): × orders by sentAt —
/// AssertionError: ...`). `None` for other failures, or when the log names no failing test. Every
/// verdict of a verification failure carries it, whichever classifier reached it.
pub(crate) fn decisive_error(case: &Case) -> Option<String> {
    let failure = &case.failure;
    if failure.failed_step != Some(StepName::Tests) {
        return None;
    }
    let test = case.evidence.run_log().and_then(first_failing_test)?;
    Some(format!("{}: {test}", short_error(failure.error_text())))
}

/// The verdict of an infrastructure failure: done, no label, never sent to an LLM.
pub fn infrastructure_verdict(failure: &Failure, cause: InfraCause) -> Verdict {
    let mut v = base_verdict(failure, VerdictStatus::Done, VerdictOrigin::Infrastructure(cause));
    let environment = failure.failed_step.as_ref().and_then(|step| {
        evaltriage_core::environment::environment_pattern(step, failure.error_text()).map(|p| (step, p))
    });
    if let (InfraCause::Environment, Some((step, pattern))) = (cause, environment) {
        v.reasoning = format!(
            "Environment failure: the {step} step's error says `{pattern}`, which the benchmark's own rule makes \
             infrastructure (its reason only says `{}`; the runner aborts the run on it). Classified by rule and not \
             sent to an LLM. Fix the environment before blaming the model.",
            evaltriage_core::text::decisive_error(&failure.reason)
        );
        return v;
    }
    v.reasoning = format!(
        "Infrastructure failure ({}): the benchmark excludes it from scoring, so it was classified by rule and not \
         sent to an LLM. Fix the environment before blaming the model.",
        cause.as_str()
    );
    v
}

/// Classifies a verification failure by the built-in rules.
pub fn classify_by_rules(case: &Case, config: &RulesConfig) -> Verdict {
    let failure = &case.failure;
    let mut v = base_verdict(failure, VerdictStatus::Done, VerdictOrigin::Rules);
    if let Some(error) = decisive_error(case) {
        v.error = error;
    }
    v.model_snippet = snippet_at_error(failure.error_text(), &case.evidence.output_files);
    let (classification, confidence, rule, why) = decide(case, config);
    // Only a GAPS.txt match, a known gap recorded in a report, and an answer that parsed to no
    // files stand on evidence that was there; every other rule (a prior label, a lint rule, the
    // default guess) would be decided as if the missing files said nothing — the GAPS.txt or the
    // run.log that is missing could overturn it.
    if !case.evidence.problems.is_empty() && !matches!(rule, "gaps-txt" | "reported-known-gap" | "no-files") {
        v.status = VerdictStatus::Error;
        v.reasoning = format!(
            "The rules could not decide: evidence is missing ({}). Without it a documented gap (GAPS.txt) or the \
             tests' outcome (run.log) cannot be checked, so no label is given. With complete evidence the rules \
             would have tried {classification} ({rule}); fetch the evidence again or read the failing step's \
             output. (Rule-based verdict, no LLM was used.)",
            case.evidence.problems.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")
        );
        return v;
    }
    v.classification = Some(classification);
    v.confidence = Some(confidence);
    v.reasoning = format!("{why} (Rule-based verdict, no LLM was used; rule fired: {rule}.)");
    // Other models failing the same way weigh against the model's fault: never a confident one.
    if let (Some(suspect), Classification::ModelFault) = (&case.grader_suspect, classification) {
        v.confidence = Some(confidence.min(GRADER_SUSPECT_MODEL_FAULT_CAP));
        v.reasoning = format!(
            "{} Grader suspect: {suspect}, so the fault may be the grader's; confidence capped at {}.",
            v.reasoning, GRADER_SUSPECT_MODEL_FAULT_CAP
        );
    }
    v
}

/// The highest confidence a MODEL_FAULT gets when the failure is a grader suspect.
const GRADER_SUSPECT_MODEL_FAULT_CAP: f32 = 0.3;

fn decide(case: &Case, config: &RulesConfig) -> (Classification, f32, &'static str, String) {
    let failure = &case.failure;
    let report = case.evidence.run_log().map(read_test_report).unwrap_or_default();
    if let Some(gaps) = case.evidence.gaps() {
        let mut text = failure.error_text().to_owned();
        // The failing tests' names and messages (not their code or diffs, which quote whatever the
        // grader touches), and the model's code where the error points: the construct.
        for test in report.distinct_failures() {
            text.push('\n');
            text.push_str(&test.full_name);
            for line in &test.message {
                text.push('\n');
                text.push_str(line);
            }
        }
        if let Some(snippet) = snippet_at_error(failure.error_text(), &case.evidence.output_files) {
            text.push('\n');
            text.push_str(&snippet);
        }
        if let Some(bullet) = matching_gap(gaps, failure.eval_path.as_str(), &text) {
            let prior = case.prior_label.as_deref().filter(|l| l.contains(Classification::KnownGap.as_str()));
            let also = prior.map(|l| format!(" A prior report on this model also labelled it {}.", l.trim()));
            return (
                Classification::KnownGap,
                if prior.is_some() { 0.8 } else { 0.6 },
                "gaps-txt",
                format!(
                    "The eval's GAPS.txt documents an unresolved gap that matches this failure: \"{bullet}\"{}",
                    also.unwrap_or_default()
                ),
            );
        }
    }
    if let Some((record, confidence)) = reported_known_gap(case) {
        let step = match &record.failed_step {
            Some(_) => format!(" at the same step ({})", failure.step_label()),
            None => " (the report names no step)".to_owned(),
        };
        return (
            Classification::KnownGap,
            confidence,
            "reported-known-gap",
            format!(
                "This eval is {}{step}: a known gap of the eval affects every model (GAPS.txt files were removed \
                 from the benchmark; known gaps now live in the reports).",
                record.describe()
            ),
        );
    }
    if case.evidence.raw_answer_without_files().is_some() {
        return (
            Classification::ModelFault,
            0.8,
            "no-files",
            "The model's answer did not follow the file format: it parsed to no files, so the output holds only \
             run.log and raw_model_response.md (the raw answer)."
                .to_owned(),
        );
    }
    if let Some(label) = case.prior_label.as_deref().filter(|l| l.contains(Classification::KnownGap.as_str())) {
        return (
            Classification::KnownGap,
            0.7,
            "prior-known-gap",
            format!("A prior report on this model labelled this eval {}.", label.trim()),
        );
    }
    if let Some(suspect) = &case.grader_suspect {
        return (
            Classification::OverlyStrict,
            0.5,
            "grader-suspect",
            format!(
                "Grader suspect: {suspect}. A failure shared this way by several models points at the grader or the \
                 task rather than this model: an OVERLY_STRICT candidate (KNOWN_GAP once the benchmark records it) \
                 for a person to confirm."
            ),
        );
    }
    if let Some((label, class)) = case.prior_label.as_deref().and_then(|l| {
        [Classification::OverlyStrict, Classification::AmbiguousTask]
            .into_iter()
            .find(|c| l.contains(c.as_str()))
            .map(|c| (l, c))
    }) {
        return (
            class,
            0.5,
            "prior-label",
            format!(
                "A prior report on this model labelled this eval {}; the rules carry that label forward. If a prior \
                 action claimed to fix it, the fix did not take.",
                label.trim()
            ),
        );
    }
    if failure.failed_step == Some(StepName::Eslint) {
        let rules = eslint_error_rules(failure.error_text());
        let named = rules.iter().map(String::as_str).collect::<Vec<_>>().join(", ");
        if !rules.is_empty() && rules.iter().all(|r| is_relaxed(r, &config.relaxed_rules)) {
            return (
                Classification::OverlyStrict,
                0.6,
                "relaxed-lint-rule",
                format!("ESLint failed only on rules the benchmark has since relaxed: {named}."),
            );
        }
        let correctness: Vec<&str> = rules.iter().map(String::as_str).filter(|r| is_correctness_rule(r)).collect();
        if !correctness.is_empty() {
            return (
                Classification::ModelFault,
                0.55,
                "correctness-lint-rule",
                format!(
                    "ESLint failed on {}, a rule that catches real bugs (a floating or misused promise, an unused \
                     or undefined name): the model's code is at fault even when the tests passed, and the rule is \
                     not one to relax.",
                    correctness.join(", ")
                ),
            );
        }
        if report.all_passed() {
            let on = if named.is_empty() { String::new() } else { format!(" on {named}") };
            return (
                Classification::OverlyStrict,
                0.5,
                "lint-only-tests-pass",
                format!(
                    "ESLint failed{on}, but every test, which the runner still ran, passed ({}, run.log): the code \
                     does what the grader checks, so the rule may demand more than the task asked. An \
                     OVERLY_STRICT candidate for a person to confirm.",
                    report.outcome()
                ),
            );
        }
    }
    (
        Classification::ModelFault,
        0.3,
        "default",
        "Attributed to the model by default: no known gap, prior label or lint rule matched. A low-confidence \
         guess, to be checked by a person or an LLM analysis."
            .to_owned(),
    )
}

/// The known-gap record of a report that applies to this failure, with the confidence it gives:
/// a record at the failure's step, else one that names no step (less sure). A record at another
/// step is evidence for the reader, not a label.
fn reported_known_gap(case: &Case) -> Option<(&evaltriage_core::KnownGapRecord, f32)> {
    let step = case.failure.failed_step.as_ref();
    let same = case.known_gaps.iter().find(|r| r.at_step(step) == Some(true)).map(|r| (r, 0.7));
    same.or_else(|| case.known_gaps.iter().find(|r| r.at_step(step).is_none()).map(|r| (r, 0.5)))
}

fn is_relaxed(rule: &str, relaxed: &[String]) -> bool {
    let bare = |r: &str| r.rsplit('/').next().unwrap_or(r).to_owned();
    relaxed.iter().any(|r| r == rule || bare(r) == bare(rule))
}

#[cfg(test)]
mod tests {
    use evaltriage_core::{EvalId, EvalPath, Evidence, FailureKind, FileContent};

    use super::gaps::unresolved_gaps;
    use super::*;

    fn case(step: StepName, error: &str, gaps: Option<&str>, prior: Option<&str>) -> Case {
        let mut evidence = Evidence::default();
        if let Some(g) = gaps {
            evidence.source_files.insert("GAPS.txt".into(), FileContent::Text(g.into()));
        }
        Case {
            failure: Failure {
                eval_id: EvalId::new("abc123").unwrap(),
                eval_path: EvalPath::new("003-mutations/003-patch_nested"),
                failed_step: Some(step),
                kind: FailureKind::Verification,
                reason: "failed".into(),
                step_error: Some(error.into()),
            },
            evidence,
            prior_label: prior.map(str::to_owned),
            known_gaps: Vec::new(),
            grader_suspect: None,
        }
    }

    fn check(case: &Case, label: Classification, rule: &str) {
        let v = classify_by_rules(case, &RulesConfig::default());
        assert_eq!(v.classification, Some(label), "{}", v.reasoning);
        assert_eq!(v.status, VerdictStatus::Done);
        assert_eq!(v.origin, VerdictOrigin::Rules);
        assert!(v.reasoning.contains("no LLM was used"), "{}", v.reasoning);
        assert!(v.reasoning.contains(&format!("rule fired: {rule}")), "{}", v.reasoning);
    }

    const LINT_RELAXED: &str = "Error: Failed to lint code:\n/tmp/p/convex/index.ts\n  4:7  error  'x' is never reassigned. Use 'const' instead  prefer-const\n  9:1  error  Missing return type on function  @typescript-eslint/explicit-function-return-type\n\n✖ 2 problems (2 errors, 0 warnings)\n";
    const LINT_STRICT: &str = "Error: Failed to lint code:\n/tmp/p/convex/index.ts\n  4:7  error  'x' is never reassigned  prefer-const\n  5:1  error  Unexpected any. Specify a different type  @typescript-eslint/no-explicit-any\n";

    const PATCH_GAP: &str =
        "mutations, patch_nested:\n\n- It thinks patch takes in a string path, but it takes in an object\n";
    const PATCH_ERROR: &str = "Error: Failed to typecheck code:\nconvex/index.ts(2,38): error TS2345: Argument of type 'string' is not assignable to parameter of type 'Partial<{ profile: { name: string; }; }>'.\n";

    fn patch_case(gaps: Option<&str>) -> Case {
        let mut c = case(StepName::Tsc, PATCH_ERROR, gaps, None);
        c.evidence.output_files.insert(
            "convex/index.ts".into(),
            FileContent::Text(
                "  handler: async (ctx, args) => {\n    await ctx.db.patch(args.id, \"profile.name\", args.name);\n"
                    .into(),
            ),
        );
        c
    }

    #[test]
    fn a_known_gap_in_another_models_report_is_a_known_gap_at_the_same_step() {
        let record = |step: Option<&str>| evaltriage_core::KnownGapRecord {
            model: "openai/gpt-5".into(),
            report: "openai/gpt-5/jn7ak4x9_2026-08-01.md".into(),
            failed_step: step.map(str::to_owned),
            label: "KNOWN_GAP".into(),
        };
        let mut c = case(StepName::Tests, "tests failed (50%)", None, None);
        c.known_gaps = vec![record(Some("tests"))];
        check(&c, Classification::KnownGap, "reported-known-gap");
        let v = classify_by_rules(&c, &RulesConfig::default());
        assert!(
            v.reasoning.contains("recorded as a known gap for openai/gpt-5 in openai/gpt-5/jn7ak4x9"),
            "{}",
            v.reasoning
        );
        // Recorded at another step: not this failure's gap.
        c.known_gaps = vec![record(Some("tsc"))];
        check(&c, Classification::ModelFault, "default");
        // Missing evidence does not undo a gap recorded in a report.
        c.known_gaps = vec![record(None)];
        c.evidence.problems.push(evaltriage_core::EvidenceProblem::missing(
            evaltriage_core::EvidencePart::EvalSource,
            "blob answered HTTP 500",
        ));
        check(&c, Classification::KnownGap, "reported-known-gap");
    }

    #[test]
    fn an_environment_failure_says_which_pattern_made_it_infrastructure() {
        let mut c = case(StepName::Install, "Error: bun install timed out after 120s", None, None);
        c.failure.reason = "install fail".into();
        c.failure.kind =
            FailureKind::of_failure(&c.failure.reason, Some(&StepName::Install), c.failure.step_error.as_deref());
        let FailureKind::Infrastructure(cause) = c.failure.kind else { panic!("{:?}", c.failure.kind) };
        let v = infrastructure_verdict(&c.failure, cause);
        assert_eq!(v.origin, VerdictOrigin::Infrastructure(InfraCause::Environment));
        assert_eq!(v.classification, None);
        assert!(v.reasoning.contains("`timed out after`") && v.reasoning.contains("`install fail`"), "{}", v.reasoning);
        assert_eq!(v.error, "Error: bun install timed out after 120s");
    }

    #[test]
    fn an_answer_with_no_files_is_the_models_fault() {
        let mut c = case(StepName::Filesystem, "empty parsed model output", None, None);
        c.evidence.output_files.insert("run.log".into(), FileContent::Text("=== Eval: a/b ===\n".into()));
        c.evidence
            .output_files
            .insert("raw_model_response.md".into(), FileContent::Text("Here is the code:\nexport const x = 1;".into()));
        check(&c, Classification::ModelFault, "no-files");
        let v = classify_by_rules(&c, &RulesConfig::default());
        assert!(v.reasoning.contains("did not follow the file format"), "{}", v.reasoning);
        // With a file of the model's beside it, the answer did parse.
        c.evidence.output_files.insert("convex/index.ts".into(), FileContent::Text("export {};".into()));
        check(&c, Classification::ModelFault, "default");
    }

    #[test]
    fn known_gaps_from_gaps_txt_or_prior_reports() {
        check(&patch_case(Some(PATCH_GAP)), Classification::KnownGap, "gaps-txt");
        check(
            &case(StepName::Tests, "tests failed (50%)", None, Some("KNOWN_GAP (repeat)")),
            Classification::KnownGap,
            "prior-known-gap",
        );
    }

    #[test]
    fn resolved_empty_or_foreign_gaps_do_not_count() {
        let resolved = "mutations, patch_nested:\n\n- (resolved) It thinks patch takes in a string path.\n";
        let empty = "mutations, patch_nested:\n";
        let other = "queries, pagination:\n- It thinks patch takes in a string path\n";
        for g in [resolved, empty, other] {
            check(&patch_case(Some(g)), Classification::ModelFault, "default");
        }
        assert_eq!(unresolved_gaps("- no header, applies\n", "a/b"), ["no header, applies"]);
        assert_eq!(
            unresolved_gaps(
                "q, p:\n- Models order by time\n  instead of the index.\n  - a nested note\n- second\n",
                "1-q/2-p"
            ),
            ["Models order by time instead of the index.", "second"]
        );
        assert_eq!(
            unresolved_gaps(
                "actions, run_mutation:\n- (resolved) x\n- real one\n  - detail\n",
                "004-actions/001-run_mutation"
            ),
            ["real one"]
        );
    }

    #[test]
    fn a_gap_counts_only_when_it_matches_the_failure() {
        let gaps = "queries, pagination_join:\n\n- PaginationOpts are still a custom object, and have cursor as optional vs. nullable\n- Returning custom object, w/o pageStatus, splitCursor\n- covered by guideline: use `paginationOptsValidator` and paginated return shape with `page`, `isDone`, and `continueCursor`.\n";
        let eval = "002-queries/017-pagination_join";
        // A distinctive term of the bullet in the error: that bullet, not the first one.
        assert_eq!(
            matching_gap(gaps, eval, "Path: .paginationOpts.cursor\nValidator: v.optional(v.string())").as_deref(),
            Some("PaginationOpts are still a custom object, and have cursor as optional vs. nullable")
        );
        assert_eq!(
            matching_gap(gaps, eval, "expected { page } to have property splitCursor").as_deref(),
            Some("Returning custom object, w/o pageStatus, splitCursor")
        );
        // An unrelated failure that shares one ordinary word (`page`) matches none.
        assert_eq!(
            matching_gap(
                gaps,
                eval,
                "throws error for missing author\npromise resolved \"{ page: [] }\" instead of rejecting"
            ),
            None
        );
    }

    #[test]
    fn a_lint_rule_that_catches_bugs_is_never_overly_strict_even_when_the_tests_pass() {
        let error =
            "convex/crons.ts\n  12:5  error  Promises must be awaited  @typescript-eslint/no-floating-promises\n";
        let mut c = case(StepName::Eslint, error, None, None);
        c.evidence.output_files.insert(
            "run.log".into(),
            FileContent::Text(" Test Files  1 passed (1)\n      Tests  4 passed (4)\n".into()),
        );
        check(&c, Classification::ModelFault, "correctness-lint-rule");
    }

    #[test]
    fn lint_failures_on_relaxed_rules_only_are_overly_strict() {
        check(&case(StepName::Eslint, LINT_RELAXED, None, None), Classification::OverlyStrict, "relaxed-lint-rule");
        check(&case(StepName::Eslint, LINT_STRICT, None, None), Classification::ModelFault, "default");
        let custom = RulesConfig { relaxed_rules: vec!["no-explicit-any".into(), "prefer-const".into()] };
        assert_eq!(
            classify_by_rules(&case(StepName::Eslint, LINT_STRICT, None, None), &custom).classification,
            Some(Classification::OverlyStrict)
        );
    }

    #[test]
    fn the_default_is_a_low_confidence_model_fault() {
        let v = classify_by_rules(
            &case(StepName::Deploy, "Error: Failed to deploy:\nbad", None, None),
            &RulesConfig::default(),
        );
        assert_eq!(v.classification, Some(Classification::ModelFault));
        assert!(v.confidence.unwrap() < 0.5);
        assert_eq!(v.error, "bad");
    }

    #[test]
    fn prior_overly_strict_or_ambiguous_labels_carry_forward() {
        check(
            &case(StepName::Eslint, LINT_STRICT, None, Some("OVERLY_STRICT")),
            Classification::OverlyStrict,
            "prior-label",
        );
        check(
            &case(StepName::Tests, "tests failed", None, Some("AMBIGUOUS_TASK (repeat)")),
            Classification::AmbiguousTask,
            "prior-label",
        );
        check(&case(StepName::Tsc, "error TS2345", None, Some("MODEL_FAULT")), Classification::ModelFault, "default");
    }

    #[test]
    fn a_grader_suspect_is_an_overly_strict_candidate_never_a_confident_model_fault() {
        let suspect = "the tests step failed the same way for 4 of 6 models that ran it in the last 7 days".to_owned();
        let mut c = case(StepName::Tests, "tests failed (50%)", None, None);
        c.grader_suspect = Some(suspect.clone());
        check(&c, Classification::OverlyStrict, "grader-suspect");
        // A known gap still wins; an answer with no files stays the model's, but not confidently.
        let mut gap = case(StepName::Tests, "tests failed (50%)", None, Some("KNOWN_GAP"));
        gap.grader_suspect = Some(suspect.clone());
        check(&gap, Classification::KnownGap, "prior-known-gap");
        let mut empty = case(StepName::Filesystem, "empty parsed model output", None, None);
        empty.evidence.output_files.insert("raw_model_response.md".into(), FileContent::Text("no files".into()));
        empty.evidence.output_files.insert("run.log".into(), FileContent::Text("x".into()));
        check(&empty, Classification::ModelFault, "no-files");
        assert_eq!(classify_by_rules(&empty, &RulesConfig::default()).confidence, Some(0.8));
        empty.grader_suspect = Some(suspect);
        check(&empty, Classification::ModelFault, "no-files");
        let v = classify_by_rules(&empty, &RulesConfig::default());
        assert_eq!(v.confidence, Some(GRADER_SUSPECT_MODEL_FAULT_CAP));
        assert!(v.reasoning.contains("Grader suspect: the tests step"), "{}", v.reasoning);
        assert_eq!(c.decisive_error(), "tests failed (50%)");
    }

    #[test]
    fn short_errors_pick_the_error_line() {
        let deploy = "Error: Failed to deploy:\n- Preparing Convex functions...\n✔ Schema validation complete.\n✖ Error: Unable to push deployment config to http://127.0.0.1:3210\n400 Bad Request: IndexFieldsContainCreationTime: remove it\n";
        assert_eq!(
            short_error(deploy),
            "✖ Error: Unable to push deployment config to http://127.0.0.1:3210 400 Bad Request: IndexFieldsContainCreationTime: remove it"
        );
        assert_eq!(short_error(LINT_STRICT), "4:7  error  'x' is never reassigned  prefer-const");
        assert_eq!(short_error("tests failed (40%)"), "tests failed (40%)");
    }

    #[test]
    fn a_failing_test_comes_with_its_assertion() {
        let log = " ✓ g.test.ts > fine 3ms\n × g.test.ts > counts deleted documents 79ms\n   → expected 4 to be 5 // Object.is equality\n × g.test.ts > other 2ms\n   → nope\n";
        assert_eq!(
            first_failing_test(log).as_deref(),
            Some("× counts deleted documents — expected 4 to be 5 // Object.is equality")
        );
        let fail_section =
            " FAIL  g.test.ts > orders by sentAt\nAssertionError: expected [ 'b', 'a' ] to deeply equal [ 'a', 'b' ]\n";
        assert_eq!(
            first_failing_test(fail_section).as_deref(),
            Some("× orders by sentAt — AssertionError: expected [ 'b', 'a' ] to deeply equal [ 'a', 'b' ]")
        );
        assert_eq!(first_failing_test(" × g.test.ts > x 1ms\n").as_deref(), Some("× x"));
    }

    #[test]
    fn snippets_and_failing_tests_come_from_the_evidence() {
        let mut c =
            case(StepName::Tsc, "Error: Failed to typecheck code:\nconvex/a.ts(3,5): error TS2322: nope", None, None);
        c.evidence.output_files.insert("convex/a.ts".into(), FileContent::Text("one\ntwo\nthree\nfour\n".into()));
        assert_eq!(classify_by_rules(&c, &RulesConfig::default()).model_snippet.as_deref(), Some("two\nthree"));
        let mut c = case(
            StepName::Eslint,
            "Error: Failed to lint code:\n/tmp/x/convex/a.ts\n  1:1  error  bad  no-x\n",
            None,
            None,
        );
        c.evidence.output_files.insert("convex/a.ts".into(), FileContent::Text("first\n".into()));
        assert_eq!(classify_by_rules(&c, &RulesConfig::default()).model_snippet.as_deref(), Some("first"));
        let mut c = case(StepName::Tests, "tests failed (40%)", None, None);
        c.evidence.output_files.insert("run.log".into(), FileContent::Text(" ✓ ok\n × deletes comments 12ms\n".into()));
        assert_eq!(classify_by_rules(&c, &RulesConfig::default()).error, "tests failed (40%): × deletes comments");
    }

    #[test]
    fn eslint_rules_are_read_from_error_lines_only() {
        assert_eq!(
            eslint_error_rules(LINT_RELAXED),
            vec!["@typescript-eslint/explicit-function-return-type", "prefer-const"]
        );
        assert!(eslint_error_rules("  3:1  warning  x  prefer-const\n").is_empty());
    }
}
