//! The report crate on today's convex-evals: known gaps read from any model's report (ours and
//! every hand-written style, the newest `### <evalPath>` one and its "Run IDs" list included), the
//! run's cost and a bad end in the metadata, and report folders that follow the tree's spelling.

use std::path::Path;

use chrono::NaiveDate;
use evaltriage_core::source::parse_run_document;
use evaltriage_core::{Run, Shape, StepName};
use evaltriage_report::{
    ReportInput, changes_since, history, known_gaps, model_dir_in_tree, parse_report, prior_reports_for_run, render,
    report_path_in_tree,
};
use serde_json::json;

fn write(root: &Path, relative: &str, text: &str) {
    let path = root.join(relative);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

const NEWEST_STYLE: &str = "# Run Analysis: claude-fable-5\n\n- **Run IDs**:\n  - jn79mkv7c4q2y2kttt8vrpfksn88d1vr\n  \
- jn75w08nrtw0a5xva2x30vy5sn88dfcx\n- **Model**: claude-fable-5 (anthropic)\n- **Experiment**: default\n- **Date**: \
2026-06-10\n- **Recorded pass rates**: 68/74, 67/74\n\n## Failure Summary\n\n| Eval | Classification | Root cause |\n\
|------|----------------|------------|\n| 000-fundamentals/004-scheduler | HARNESS_FAILURE | Grader used the wrong \
client. |\n| 003-mutations/007-batch_delete_self_schedule | TEST_FAILURE | Grader probed through anyApi. |\n\n\
## Genuine Fable Failures\n\n### 002-queries/022-unbounded_query_no_collect\n\n**Classification**: MODEL_FAULT\n\n\
Missed the ordering.\n\n### 002-queries/015-pagination\n\n**Classification**: KNOWN_GAP\n\n**Failed step**: tests\n\n\
The grader's cursor check is known to be flaky for every model.\n";

const NUMBERED_STYLE: &str = "# Run Analysis\n\n- **Model**: openai/gpt-5\n- **Run ID**: jn7ak4x9m2qw8hd5tz3vc6pe1r0bfs7g\n\
- **Date**: 2026-08-01\n- **Pass rate**: 60/65\n\n## Per-Failure Analysis\n\n### 1. 003-crons (000-fundamentals) -- \
deploy\n\n**Classification**: KNOWN_GAP\n\nThe cron syntax the task asks for is rejected by the backend.\n";

#[test]
fn the_newest_hand_written_style_and_its_run_ids_are_read() {
    let report =
        parse_report(NEWEST_STYLE, Some(Path::new("anthropic/claude-fable-5/jn79mkv7_2026-06-10.md"))).unwrap();
    assert_eq!(report.run_ids, ["jn79mkv7c4q2y2kttt8vrpfksn88d1vr", "jn75w08nrtw0a5xva2x30vy5sn88dfcx"]);
    assert_eq!(report.run_id.as_deref(), Some("jn79mkv7c4q2y2kttt8vrpfksn88d1vr"));
    let entry = |eval: &str| report.entries.iter().find(|e| e.eval == eval).unwrap_or_else(|| panic!("{eval}"));
    assert_eq!(entry("002-queries/022-unbounded_query_no_collect").label, "MODEL_FAULT");
    let gap = entry("002-queries/015-pagination");
    assert_eq!((gap.label.as_str(), gap.failed_step.as_deref()), ("KNOWN_GAP", Some("tests")));
    let harness = entry("000-fundamentals/004-scheduler");
    assert_eq!(harness.label_text(), "HARNESS_FAILURE", "shown verbatim");
    assert!(harness.is_infrastructure());
    let test_failure = entry("003-mutations/007-batch_delete_self_schedule");
    assert_eq!(test_failure.label_text(), "TEST_FAILURE");
    assert!(!test_failure.is_infrastructure());
    assert!(test_failure.meaning().unwrap().contains("rejects a right answer"));
}

#[test]
fn known_gaps_come_from_every_models_reports() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(root, "anthropic/claude-fable-5/jn79mkv7_2026-06-10.md", NEWEST_STYLE);
    write(root, "openai/gpt-5/jn7ak4x9_2026-08-01.md", NUMBERED_STYLE);
    let other_run = evaltriage_core::RunId::new("jn7zzzzzzzzzzzzzzzzzzzzzzzzzzzzz").unwrap();
    let (gaps, warnings) = known_gaps(root, &other_run);
    assert!(warnings.is_empty(), "{warnings:?}");
    // A run's own reports are no evidence about it.
    let own = evaltriage_core::RunId::new("jn7ak4x9zzzzzzzzzzzzzzzzzzzzzzzz").unwrap();
    let (without_own, _) = known_gaps(root, &own);
    assert!(without_own.len() < gaps.len(), "{without_own:?}");
    let pagination = gaps.for_eval("002-queries/015-pagination");
    assert_eq!(pagination.len(), 1, "{gaps:?}");
    assert_eq!(pagination[0].report, "anthropic/claude-fable-5/jn79mkv7_2026-06-10.md");
    assert_eq!(pagination[0].at_step(Some(&StepName::Tests)), Some(true));
    assert!(pagination[0].describe().starts_with("recorded as a known gap for "), "{}", pagination[0].describe());
    let crons = gaps.for_eval("000-fundamentals/003-crons");
    assert_eq!(crons.len(), 1, "{gaps:?}");
    assert_eq!((crons[0].model.as_str(), crons[0].failed_step.as_deref()), ("openai/gpt-5", Some("deploy")));
    assert!(gaps.for_eval("002-queries/022-unbounded_query_no_collect").is_empty(), "MODEL_FAULT is no gap");
    // GAPS.txt era reports and labels outside the four are no known gaps either.
    assert!(gaps.for_eval("000-fundamentals/004-scheduler").is_empty());
}

#[test]
fn the_real_newest_report_is_read_when_the_corpus_is_there() {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus/convex-evals/reports-newest");
    if !corpus.is_dir() {
        return;
    }
    let path = corpus.join("anthropic/claude-fable-5/jn79mkv7_2026-06-10.md");
    let report = parse_report(&std::fs::read_to_string(&path).unwrap(), Some(&path)).unwrap();
    assert_eq!(report.run_ids.len(), 3, "{:?}", report.run_ids);
    let labels: Vec<(String, String)> = report.entries.iter().map(|e| (e.eval.clone(), e.label_text())).collect();
    for expected in [
        ("000-fundamentals/000-empty_functions", "HARNESS_FAILURE"),
        ("003-mutations/007-batch_delete_self_schedule", "TEST_FAILURE"),
        ("002-queries/022-unbounded_query_no_collect", "MODEL_FAULT"),
        ("003-mutations/004-cascade_delete", "MODEL_FAULT"),
    ] {
        assert!(labels.contains(&(expected.0.to_owned(), expected.1.to_owned())), "{expected:?} in {labels:?}");
    }
}

fn run(model: &str, run_id: &str) -> Run {
    parse_run_document(&json!({"_id": run_id, "model": model, "provider": "openrouter", "evals": []})).unwrap()
}

#[test]
fn reports_go_to_the_folder_the_tree_already_has_for_the_model() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let date = NaiveDate::from_ymd_opt(2026, 8, 21).unwrap();
    let opus = run("anthropic/claude-opus-4.6", "jn7ak4x9m2qw8hd5tz3vc6pe1r0bfs7g");
    // An empty tree: the slug's own spelling.
    assert_eq!(model_dir_in_tree(root, &opus), root.join("anthropic/claude-opus-4.6"));
    // A hand-named folder with dots as dashes: written there, next to the hand-written reports.
    write(root, "anthropic/claude-opus-4-6/jn700000_2026-02-01.md", NUMBERED_STYLE);
    assert_eq!(
        report_path_in_tree(root, &evaltriage_report::ReportKey::of_run(&opus, date, None)),
        root.join("anthropic/claude-opus-4-6/jn7ak4x9_2026-08-21.md")
    );
    // Under the endpoint provider's folder.
    let arcee = run("arcee-ai/trinity-large-preview", "jn7bk4x9m2qw8hd5tz3vc6pe1r0bfs7g");
    write(root, "openrouter/arcee-ai/trinity-large-preview/jn711111_2026-02-01.md", NUMBERED_STYLE);
    assert_eq!(model_dir_in_tree(root, &arcee), root.join("openrouter/arcee-ai/trinity-large-preview"));
    // Another model's folder is never taken.
    let sonnet = run("anthropic/claude-sonnet-4.6", "jn7ck4x9m2qw8hd5tz3vc6pe1r0bfs7g");
    assert_eq!(model_dir_in_tree(root, &sonnet), root.join("anthropic/claude-sonnet-4.6"));
    // Our own spelling wins when both exist.
    std::fs::create_dir_all(root.join("anthropic/claude-opus-4.6")).unwrap();
    assert_eq!(model_dir_in_tree(root, &opus), root.join("anthropic/claude-opus-4.6"));
}

#[test]
fn a_report_covering_several_runs_is_not_history_for_any_of_them() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "anthropic/claude-fable-5/jn79mkv7_2026-06-10.md", NEWEST_STYLE);
    let second = run("anthropic/claude-fable-5", "jn75w08nrtw0a5xva2x30vy5sn88dfcx");
    let (reports, _) = prior_reports_for_run(dir.path(), &second);
    assert!(reports.is_empty(), "the report covers this run too: {reports:?}");
    let other = run("anthropic/claude-fable-5", "jn7zzzzzrtw0a5xva2x30vy5sn88dfcx");
    assert_eq!(prior_reports_for_run(dir.path(), &other).0.len(), 1);
}

#[test]
fn an_aborted_runs_report_says_so_first_and_shows_its_cost() {
    let usage = |cost: f64| json!({"inputTokens": 1000, "outputTokens": 500, "raw": {"cost": cost}});
    let doc = json!({
        "_id": "jn7ak4x9m2qw8hd5tz3vc6pe1r0bfs7g", "model": "openai/gpt-5", "_creationTime": 1_787_000_000_000.0,
        "plannedEvals": ["a/1-x", "a/2-y", "a/3-z", "a/4-w"],
        "status": {"kind": "failed", "durationMs": 1000,
                   "failureReason": "[infrastructure] [deploy] Error: Failed to deploy:\nconnect ECONNREFUSED 127.0.0.1:3210"},
        "evals": [
            {"_id": "jd7ak4x9m2qw8hd5tz3vc6pe1r0bf001", "evalPath": "a/1-x", "_creationTime": 1.0,
             "status": {"kind": "passed", "durationMs": 1, "usage": usage(0.5)}},
            {"_id": "jd7ak4x9m2qw8hd5tz3vc6pe1r0bf002", "evalPath": "a/2-y", "_creationTime": 2.0,
             "status": {"kind": "failed", "failureReason": "convex dev fail", "durationMs": 1, "usage": usage(0.94)},
             "steps": [{"_id": "s1", "name": "filesystem", "status": {"kind": "passed", "durationMs": 1}},
                       {"_id": "s2", "name": "install", "status": {"kind": "passed", "durationMs": 1}},
                       {"_id": "s3", "name": "deploy", "status": {"kind": "failed", "durationMs": 1,
                        "failureReason": "Error: Failed to deploy:\nconnect ECONNREFUSED 127.0.0.1:3210"}}]},
            {"_id": "jd7ak4x9m2qw8hd5tz3vc6pe1r0bf003", "evalPath": "a/3-z", "_creationTime": 3.0,
             "status": {"kind": "running"}},
        ],
    });
    let run = parse_run_document(&doc).unwrap();
    let shape = Shape::of(&run);
    let failures: Vec<_> = shape.failures.iter().map(|f| f.eval_path.clone()).collect();
    let history = history(&[], &failures);
    let changes = changes_since(&run, &shape, &[], &[], None);
    let markdown = render(&ReportInput {
        run: &run,
        shape: &shape,
        verdicts: &[],
        history: &history,
        changes: &changes,
        prior_reports: &[],
        prior_warnings: &[],
        date: NaiveDate::from_ymd_opt(2026, 8, 21).unwrap(),
        synthesis: None,
        llm_cost: None,
        actions_taken: None,
        relaxed_lint_rules: &[],
        scope: None,
    });
    let first_block = markdown.split("\n\n").nth(1).unwrap();
    assert!(
        first_block.starts_with("> **Run aborted by infrastructure (deploy): connect ECONNREFUSED 127.0.0.1:3210 — 2 of 4 planned evals did not run.**"),
        "{markdown}"
    );
    assert!(markdown.contains("- **Pass rate**: 1/2 (50.0%)"), "{markdown}");
    assert!(markdown.contains("2 evals did not run, 1 of them never started"), "{markdown}");
    assert!(
        markdown.contains("- **Generation cost**: $1.44 (USD); 2 evals with usage: 2,000 input, 1,000 output tokens"),
        "{markdown}"
    );
}

#[test]
fn the_today_fixture_records_a_known_gap_for_another_model() {
    let reports = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/stores/today_aborted/reports");
    let run = evaltriage_core::RunId::new("jn7zzzzzzzzzzzzzzzzzzzzzzzzzzzzz").unwrap();
    let (gaps, warnings) = known_gaps(&reports, &run);
    assert!(warnings.is_empty(), "{warnings:?}");
    let records = gaps.for_eval("002-queries/015-pagination");
    assert_eq!(records.len(), 1, "{gaps:?}");
    assert_eq!(records[0].at_step(Some(&StepName::Tsc)), Some(true));
    assert_eq!(records[0].report, "anthropic/claude-opus-4-6/jn7op000_2026-08-10.md");
}
