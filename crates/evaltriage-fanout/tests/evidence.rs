//! The evidence selection on realistic failed evals built from real convex-evals evals
//! (`tests/fixtures/real/`): the decisive strings reach the first prompt at a bounded cost, and
//! each of the ways the selection used to fail on real evals stays fixed.

#[expect(dead_code, reason = "this test binary uses only the realistic fixtures of the shared helpers")]
mod common;

use common::real::{RealCase, missing, real_case, real_cases};
use evaltriage_core::Classification;
use evaltriage_fanout::{
    DEFAULT_EVIDENCE_TOKENS, Prompts, RulesConfig, classify_by_rules, estimate_tokens, select_evidence,
};

/// The first prompt of a case's analysis (system and user messages), and its estimated tokens.
fn first_prompt(real: &RealCase) -> (String, usize) {
    let evidence = select_evidence(&real.case, DEFAULT_EVIDENCE_TOKENS);
    let (system, user) = Prompts::builtin().render_analysis(&real.case, &evidence);
    let tokens = estimate_tokens(&system) + estimate_tokens(&user);
    (format!("{system}\n{user}"), tokens)
}

fn evidence_of(name: &str, budget: usize) -> String {
    select_evidence(&real_case(name).case, budget).text
}

#[test]
fn decisive_strings_reach_the_first_prompt_at_a_bounded_cost() {
    let cases = real_cases();
    let (mut found, mut total) = (0, 0);
    let mut tokens = Vec::new();
    let mut misses = Vec::new();
    for real in &cases {
        let (prompt, cost) = first_prompt(real);
        let missed = missing(real, &prompt);
        found += real.decisive.len() - missed.len();
        total += real.decisive.len();
        tokens.push(cost);
        misses.extend(missed.into_iter().map(|m| format!("{}: {m:?}", real.name)));
    }
    tokens.sort_unstable();
    let median = tokens[tokens.len() / 2];
    let max = tokens[tokens.len() - 1];
    assert!(found * 100 >= total * 95, "recall {found}/{total}; missing: {misses:#?}");
    assert!(median <= 2_000 && max <= 4_000, "first-prompt tokens: median {median}, max {max}");
}

/// 1. A file named in the decisive error is shown whatever its folder (here `src/main.tsx`, which
///    the model added outside `convex/` and the answer does not have).
#[test]
fn a_file_the_error_names_is_shown_whatever_its_folder() {
    let text = evidence_of("use_mutation_added_entry_point", DEFAULT_EVIDENCE_TOKENS);
    assert!(text.contains("+++ b/src/main.tsx"), "{text}");
    assert!(text.contains("+import \"./index.css\";"), "{text}");
    assert!(!text.contains("scaffolding"), "{text}");
    // Even at a tight budget its lines survive.
    let tight = evidence_of("use_mutation_added_entry_point", 700);
    assert!(tight.contains("+import \"./index.css\";"), "{tight}");
}

/// 2. A failing test's name, assertion message and diff hunk are kept whole; cuts fall around
///    them, at any budget.
#[test]
fn a_failing_tests_message_and_diff_hunk_are_never_cut_inside() {
    let hunk = "AssertionError: expected [ 'First', 'Second', 'Third' ] to deeply equal [ 'Third', 'Second', 'First' ]\n\n- Expected\n+ Received\n\n  [\n-   \"Third\",\n+   \"First\",\n    \"Second\",\n-   \"First\",\n+   \"Third\",\n  ]\n";
    for budget in [DEFAULT_EVIDENCE_TOKENS, 1_200, 600] {
        // Whatever the layout around them, the lines of the hunk follow each other uncut.
        let text = evidence_of("pagination_ascending_order", budget).replace("[vitest] ", "");
        assert!(text.contains(hunk), "at {budget} tokens the hunk was cut:\n{text}");
    }
    // The second failure's long diff is whole too, at the default budget.
    let text = evidence_of("pagination_ascending_order", DEFAULT_EVIDENCE_TOKENS);
    assert!(text.contains("-   \"Doc 10\",\n-   \"Doc 9\","), "{text}");
    assert!(text.contains("+   \"Doc 9\",\n+   \"Doc 10\",\n  ]\n"), "{text}");
}

/// 3. After a tsc or eslint failure the tests still ran: their outcome is said, from run.log.
#[test]
fn a_tsc_or_eslint_failure_says_how_the_tests_did() {
    for (name, outcome) in [
        ("no_storage_type_cycle", "all 7 passed"),
        ("run_mutation_explicit_any", "all 7 passed"),
        ("use_mutation_misused_promises", "all 4 passed"),
    ] {
        let text = evidence_of(name, DEFAULT_EVIDENCE_TOKENS);
        assert!(
            text.contains(&format!(
                "- tests (the runner still runs them after a tsc or eslint failure; from run.log): {outcome}\n"
            )),
            "{name}: {text}"
        );
    }
    // After a deploy failure the runner stops: no claim about tests.
    let deploy = evidence_of("many_to_many_reserved_index_name", DEFAULT_EVIDENCE_TOKENS);
    assert!(!deploy.contains("- tests ("), "{deploy}");
}

/// 4. Noise from the reference answer and the output (READMEs, configs, stray logs, lockfiles,
///    binaries, dependencies, generated code) is never sent, and is named in one line.
#[test]
fn noise_is_left_out_and_named_in_one_line() {
    for real in real_cases() {
        let text = select_evidence(&real.case, DEFAULT_EVIDENCE_TOKENS).text;
        for noise in [
            "Welcome to your Convex functions directory",
            "These compiler options are required by Convex",
            "verbose cli",
            "\"integrity\"",
            "lockfileVersion",
            "THIS CODE IS AUTOMATICALLY GENERATED",
            "Client for the Convex Cloud",
        ] {
            assert!(!text.contains(noise), "{}: {noise:?} was sent", real.name);
        }
        let left_out: Vec<&str> = text.lines().filter(|l| l.starts_with("Left out")).collect();
        assert_eq!(left_out.len(), 1, "{}: {text}", real.name);
        for named in ["convex/README.md", "answer/npm-debug.log", "answer/public/logo.png (binary)", "node_modules/"] {
            assert!(left_out[0].contains(named), "{}: {named} not named in {:?}", real.name, left_out[0]);
        }
    }
}

/// 5. Of a grader, only the failing tests' own blocks (found by name) and the setup they use are
///    sent, not the whole file.
#[test]
fn only_the_failing_tests_blocks_of_the_grader_are_sent() {
    let text = evidence_of("pagination_ascending_order", DEFAULT_EVIDENCE_TOKENS);
    for kept in [
        "test(\"paginateDocuments returns documents in correct order\"",
        "test(\"paginateDocuments maintains consistent ordering across pages\"",
        "beforeEach(async () => {",
    ] {
        assert!(text.contains(kept), "{kept} missing: {text}");
    }
    for cut in [
        "test(\"paginateDocuments respects page size\"",
        "test(\"paginateDocuments handles very small page sizes\"",
        "test(\"paginateDocuments returns all fields for each document\"",
    ] {
        assert!(!text.contains(cut), "{cut} sent: {text}");
    }
    assert!(text.contains("lines cut ...]"), "{text}");
    // A helper the failing test calls comes with it.
    let crons = evidence_of("crons_wrong_cron_expression", DEFAULT_EVIDENCE_TOKENS);
    assert!(crons.contains("function expectCron(job: CronJob, expectedExpr: string): void {"), "{crons}");
    assert!(!crons.contains("test(\"internal emptyAction callable"), "{crons}");
}

/// 6. The rules classifier: a GAPS.txt bullet counts only when it matches the failure, and the
///    matching bullet is the one quoted; a lint-only failure whose tests all pass is an
///    OVERLY_STRICT candidate naming the rule.
#[test]
fn the_rules_classifier_on_real_failures() {
    let (mut cases, mut guesses) = (0, 0);
    for real in real_cases() {
        let verdict = classify_by_rules(&real.case, &RulesConfig::default());
        let label = verdict.classification.map(Classification::as_str);
        assert_eq!(label, Some(real.rules_label.as_str()), "{}: {}", real.name, verdict.reasoning);
        cases += 1;
        guesses += usize::from(verdict.is_unverified_guess());
        if let Some(quote) = &real.rules_quote {
            assert!(verdict.reasoning.contains(quote.as_str()), "{}: {}", real.name, verdict.reasoning);
        }
    }
    // The figure for the closing notes: `cargo test -p evaltriage-fanout --test evidence -- --nocapture`.
    #[expect(clippy::print_stderr, reason = "the figure is printed for a person to read")]
    let () =
        eprintln!("rules on the real-eval fixtures: {cases} of {cases} as expected, {guesses} of them default guesses");
    let lint = classify_by_rules(&real_case("run_mutation_explicit_any").case, &RulesConfig::default());
    assert!(lint.reasoning.contains("rule fired: lint-only-tests-pass"), "{}", lint.reasoning);
    assert!(lint.reasoning.contains("all 7 passed"), "{}", lint.reasoning);
}

#[test]
fn the_evidence_of_a_real_tests_failure() {
    let real = real_case("pagination_ascending_order");
    let evidence = select_evidence(&real.case, DEFAULT_EVIDENCE_TOKENS);
    insta::assert_snapshot!("real_tests_failure", evidence.text);
}

#[test]
fn the_evidence_of_a_real_lint_failure_whose_tests_pass() {
    let real = real_case("use_mutation_misused_promises");
    let evidence = select_evidence(&real.case, DEFAULT_EVIDENCE_TOKENS);
    insta::assert_snapshot!("real_lint_failure_tests_pass", evidence.text);
}
