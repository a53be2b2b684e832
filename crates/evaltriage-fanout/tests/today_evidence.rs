//! Evidence for failures in today's convex-evals shapes: steps that did not run are absent, a
//! static-pipeline eval says so and leads with the grader's assertion, the harness's `[setup]`
//! edits reach a tsc failure's prompt, an answer with no files is shown raw, and a known gap
//! recorded in another model's report is named.

use evaltriage_core::{
    EvalId, EvalPath, Evidence, Failure, FailureKind, FileContent, KnownGapRecord, Step, StepName, StepStatus,
};
use evaltriage_fanout::{Case, select_evidence};

fn failure(eval_path: &str, step: Option<StepName>, reason: &str, step_error: Option<&str>) -> Failure {
    Failure {
        eval_id: EvalId::new("jd7ak4x9m2qw8hd5tz3vc6pe1r0bfs71").unwrap(),
        eval_path: EvalPath::new(eval_path),
        kind: FailureKind::of_failure(reason, step.as_ref(), step_error),
        failed_step: step,
        reason: reason.to_owned(),
        step_error: step_error.map(str::to_owned),
    }
}

fn text(s: &str) -> FileContent {
    FileContent::Text(s.to_owned())
}

fn step(name: StepName, failed: Option<&str>) -> Step {
    let status = match failed {
        Some(reason) => StepStatus::Failed { failure_reason: reason.to_owned(), duration_ms: Some(1.0) },
        None => StepStatus::Passed { duration_ms: Some(1.0) },
    };
    Step { id: format!("st-{name}"), name, status, created_at_ms: 0.0 }
}

fn prompt_of(case: &Case) -> String {
    select_evidence(case, 6_000).text
}

const STATIC_GRADER: &str = r#"import { expect, test } from "vitest";
function analyze() {
  const pkg = JSON.parse(readOutputFile(CATEGORY, EVAL_NAME, "package.json"));
  const entries = readdirSync(join(projectDir, "convex", ""), { withFileTypes: true });
  return { dependsOnAggregate: pkg.dependencies?.["@convex-dev/aggregate"] !== undefined };
}
test("uses the aggregate component", () => {
  expect(analyze().dependsOnAggregate).toBe(true);
});
"#;

#[test]
fn a_static_pipeline_failure_is_described_as_static_with_only_the_steps_that_ran() {
    let path = "007-components/006-choose_aggregate_offsets";
    let mut evidence = Evidence::default();
    evidence.source_files.insert("eval.json".into(), text("{ \"pipeline\": \"static\" }\n"));
    evidence.source_files.insert("grader.test.ts".into(), text(STATIC_GRADER));
    evidence
        .source_files
        .insert("answer/package.json".into(), text("{\"dependencies\": {\"@convex-dev/aggregate\": \"^0.1\"}}\n"));
    evidence.output_files.insert("package.json".into(), text("{\"dependencies\": {}}\n"));
    evidence.output_files.insert(
        "run.log".into(),
        text("=== Eval: 007-components/006-choose_aggregate_offsets ===\n[ok] filesystem\n[error] vitest: Error: Tests failed (ratio: 0)\n FAIL  grader.test.ts > uses the aggregate component\nAssertionError: expected false to be true // Object.is equality\n\n- Expected\n+ Received\n\n- true\n+ false\n"),
    );
    evidence.steps = vec![step(StepName::Filesystem, None), step(StepName::Tests, Some("tests failed (0%)"))];
    let case = Case::new(failure(path, Some(StepName::Tests), "tests fail (0%)", Some("tests failed (0%)")), evidence);
    let prompt = prompt_of(&case);
    assert!(prompt.contains("- steps that ran: filesystem passed, tests failed\n"), "{prompt}");
    assert!(!prompt.to_lowercase().contains("skipped"), "{prompt}");
    assert!(prompt.contains("- pipeline: static — graded on the files: no install, deploy, tsc or eslint"), "{prompt}");
    assert!(prompt.contains("- the grader reads: package.json, convex/"), "{prompt}");
    let assertion = prompt.find("AssertionError: expected false to be true").expect("the assertion");
    let diffs = prompt.find("Model's files compared").expect("the files");
    assert!(assertion < diffs, "the grader's failing assertion leads: {prompt}");
}

#[test]
fn setup_lines_reach_a_tsc_failures_prompt_and_the_tsconfig_diff_is_not_blamed_on_the_model() {
    let path = "000-fundamentals/003-crons";
    let error = "Error: Failed to typecheck code:\nconvex/crons.ts(4,3): error TS2322: Type 'string' is not assignable to type 'number'.";
    let mut evidence = Evidence::default();
    evidence.output_files.insert(
        "run.log".into(),
        text("=== Eval: 000-fundamentals/003-crons ===\n[ok] filesystem\n[ok] install\n[ok] deploy\n[setup] dropped unresolvable tsconfig types: bun-types\n[setup] normalized tsconfig resolution: moduleResolution node -> Bundler\n[cmd] bunx tsc --noEmit\n[error] tsc: convex/crons.ts(4,3): error TS2322\n"),
    );
    evidence
        .output_files
        .insert("convex/tsconfig.json".into(), text("{\"compilerOptions\": {\"moduleResolution\": \"Bundler\"}}\n"));
    evidence.output_files.insert("convex/crons.ts".into(), text("import { cronJobs } from \"convex/server\";\nconst crons = cronJobs();\n  crons.interval(\"x\", { hours: \"1\" });\n"));
    evidence.source_files.insert(
        "answer/convex/tsconfig.json".into(),
        text("{\"compilerOptions\": {\"moduleResolution\": \"node\"}}\n"),
    );
    evidence.source_files.insert("answer/convex/crons.ts".into(), text("import { cronJobs } from \"convex/server\";\nconst crons = cronJobs();\n  crons.interval(\"x\", { hours: 1 });\n"));
    evidence.source_files.insert("TASK.txt".into(), text("Write convex/crons.ts and keep convex/tsconfig.json.\n"));
    let case = Case::new(failure(path, Some(StepName::Tsc), "tsc fail", Some(error)), evidence);
    let prompt = prompt_of(&case);
    assert!(
        prompt.contains("### The harness's edits before tsc ([setup] lines from run.log; not the model's)"),
        "{prompt}"
    );
    assert!(prompt.contains("[setup] dropped unresolvable tsconfig types: bun-types"), "{prompt}");
    assert!(prompt.contains("# the harness edited tsconfig files before tsc"), "{prompt}");
}

#[test]
fn an_answer_with_no_files_shows_the_raw_answer_and_names_the_missing_files() {
    let path = "000-fundamentals/001-empty";
    let mut evidence = Evidence::default();
    let raw = format!(
        "I think the answer is:\n{}\n```ts\nexport const x = 1;\n```\n\n[truncated 4200 chars]\n",
        "more words\n".repeat(3_000)
    );
    evidence.output_files.insert("raw_model_response.md".into(), text(&raw));
    evidence.output_files.insert("run.log".into(), text("=== Eval: 000-fundamentals/001-empty ===\n[debug] saved truncated raw model response to raw_model_response.md\n[error] filesystem: empty parsed model output\n"));
    evidence.source_files.insert("answer/convex/index.ts".into(), text("export const x = 1;\n"));
    evidence.steps = vec![step(StepName::Filesystem, Some("empty parsed model output"))];
    let case = Case::new(
        failure(path, Some(StepName::Filesystem), "empty parsed model output", Some("empty parsed model output")),
        evidence,
    );
    let prompt = prompt_of(&case);
    assert!(prompt.contains("### The model's raw answer (raw_model_response.md): it parsed to no files"), "{prompt}");
    assert!(prompt.contains("I think the answer is:"), "the head: {prompt}");
    assert!(prompt.contains("[truncated 4200 chars]"), "the tail: {prompt}");
    assert!(prompt.contains("lines cut"), "cut as always: {prompt}");
    assert!(
        prompt.contains("- step error: `empty parsed model output`") || prompt.contains("empty parsed model output")
    );
    assert!(prompt.contains("Expected answer files the model did not write: convex/index.ts."), "{prompt}");
    assert!(prompt.contains("- answer possibly cut off: raw_model_response.md was cut by the benchmark"), "{prompt}");
}

#[test]
fn a_known_gap_recorded_for_another_model_is_named_and_an_output_at_its_cap_is_evidence() {
    let path = "002-queries/015-pagination";
    let evidence = Evidence {
        usage: Some(evaltriage_core::Usage { output_tokens: Some(16_384), ..Default::default() }),
        max_output_tokens: Some(16_384),
        ..Evidence::default()
    };
    let mut case =
        Case::new(failure(path, Some(StepName::Tests), "tests fail (50%)", Some("tests failed (50%)")), evidence);
    case.known_gaps = vec![KnownGapRecord {
        model: "openai/gpt-5".into(),
        report: "openai/gpt-5/jn7ak4x9_2026-08-01.md".into(),
        failed_step: Some("tests".into()),
        label: "KNOWN_GAP".into(),
    }];
    let prompt = prompt_of(&case);
    assert!(
        prompt.contains(
            "- known gap: this eval is recorded as a known gap for openai/gpt-5 in openai/gpt-5/jn7ak4x9_2026-08-01.md"
        ),
        "{prompt}"
    );
    assert!(prompt.contains("- answer possibly cut off: the generation used 16384 output tokens"), "{prompt}");
}
