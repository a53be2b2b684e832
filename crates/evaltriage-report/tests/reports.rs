//! End-to-end tests of the report crate: rendering a mixed run (snapshot), reading our own reports
//! back exactly, reading hand-written reports (our fixtures and the real corpus), history from a
//! reports folder, and markdown safety against hostile text.

use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use evaltriage_core::{
    Classification, Eval, EvalId, EvalPath, EvalStatus, InfraCause, Run, RunId, RunStatus, Shape, Step, StepName,
    StepStatus, TokenUsage, Verdict, VerdictOrigin, VerdictStatus,
};
use evaltriage_report::{
    ActionTaken, ChangesSince, EvalChange, History, LlmCost, PriorEntry, PriorReport, PriorWarning, ReportInput,
    ReportKey, ReportScope, Synthesis, changes_since, history, parse_report, prior_reports_for_run, read_prior_reports,
    render, report_path, write_report,
};

// ---------------------------------------------------------------- a mixed run, built in code

/// An eval of the fixture run: path, and how it ended (`None` = passed; else the failed step and
/// its error, or no step and the eval's reason).
struct Spec {
    path: &'static str,
    failure: Option<(Option<&'static str>, &'static str)>,
}

const PASS: Option<(Option<&str>, &str)> = None;

fn specs() -> Vec<Spec> {
    let s = |path, failure| Spec { path, failure };
    vec![
        s("000-fundamentals/000-empty_functions", PASS),
        s("000-fundamentals/001-basic_schema", PASS),
        s(
            "000-fundamentals/003-crons",
            Some((
                Some("deploy"),
                "Error: Failed to deploy:\nconvex/crons.ts(12,3): error TS2554: Expected 4 arguments, but got 3.",
            )),
        ),
        s("001-data_modeling/000-simple_datatypes", PASS),
        s("001-data_modeling/009-normalize_json", Some((None, "[rate_limit] 429 Too Many Requests from provider"))),
        s("002-queries/000-all_rows", PASS),
        s(
            "002-queries/014-select_distinct",
            Some((
                Some("eslint"),
                "Error: Failed to lint code:\n/tmp/x/convex/index.ts\n  14:7  error  'firstDoc' is never reassigned. Use 'const' instead  prefer-const",
            )),
        ),
        s("003-mutations/004-cascade_delete", Some((Some("tests"), "tests failed (83%)"))),
        s("003-mutations/000-delete", PASS),
        s(
            "004-actions/001-run_mutation",
            Some((
                Some("deploy"),
                "Error: Failed to deploy:\n`saveFetchResult` defined in `index.js` is a Mutation function. Only actions can be defined in Node.js.",
            )),
        ),
        s(
            "004-actions/002-run_query_mutation",
            Some((
                Some("deploy"),
                "Error: Failed to deploy:\n`saveResult` defined in `index.js` is a Mutation function. Only actions can be defined in Node.js.",
            )),
        ),
        s("004-actions/000-fetch", PASS),
        s("004-actions/007-http_action_routing", Some((Some("tests"), "tests failed (71%)"))),
        s("005-idioms/000-internal_fns", PASS),
        s(
            "006-clients/001-use_mutation",
            Some((
                Some("eslint"),
                "Error: Failed to lint code:\n/tmp/y/src/App.tsx\n  9:15  error  Promise-returning function provided to attribute where a void return was expected  @typescript-eslint/no-misused-promises",
            )),
        ),
        s("006-clients/000-use_query", PASS),
    ]
}

fn id(prefix: &str, i: usize) -> String {
    format!("{prefix}{i:04}abcdefghjkmnpqrstvwxyz")
}

fn mixed_run() -> Run {
    run_of("jn72t14a0tmje3jrj9wwng78gh80mdfw", "anthropic/claude-opus-4.6", specs())
}

/// A run of `model` whose evals end as `specs` say.
fn run_of(run_id: &str, model: &str, specs: Vec<Spec>) -> Run {
    let evals = specs
        .into_iter()
        .enumerate()
        .map(|(i, spec)| {
            let path = EvalPath::new(spec.path);
            let mut steps = Vec::new();
            let status = match spec.failure {
                None => {
                    for (j, name) in ["filesystem", "install", "deploy", "tsc", "eslint", "tests"].iter().enumerate() {
                        steps.push(step(i, j, name, StepStatus::Passed { duration_ms: Some(500.0) }));
                    }
                    EvalStatus::Passed { duration_ms: Some(9_000.0) }
                }
                Some((failed_step, error)) => {
                    if let Some(failed_step) = failed_step {
                        for (j, name) in
                            ["filesystem", "install", "deploy", "tsc", "eslint", "tests"].iter().enumerate()
                        {
                            let status = if *name == failed_step {
                                StepStatus::Failed { failure_reason: error.to_owned(), duration_ms: Some(800.0) }
                            } else {
                                StepStatus::Passed { duration_ms: Some(500.0) }
                            };
                            let failed = matches!(status, StepStatus::Failed { .. });
                            steps.push(step(i, j, name, status));
                            if failed {
                                break;
                            }
                        }
                    }
                    let reason = if failed_step.is_some() { format!("step failed: {error}") } else { error.to_owned() };
                    EvalStatus::Failed {
                        failure_reason: reason,
                        duration_ms: Some(12_000.0),
                        output_storage_id: None,
                        generation_duration_ms: None,
                    }
                }
            };
            Eval {
                id: EvalId::new(&id("ev", i)).unwrap(),
                category: path.category().to_owned(),
                name: path.name().to_owned(),
                path,
                status,
                task: None,
                eval_source_storage_id: None,
                usage: None,
                created_at_ms: 1_770_400_000_000.0 + i as f64,
                steps,
            }
        })
        .collect();
    Run {
        id: RunId::new(run_id).unwrap(),
        model_id: Some("k57abc".to_owned()),
        model: model.to_owned(),
        formatted_name: Some("Claude Opus 4.6".to_owned()),
        provider: Some("openrouter".to_owned()),
        experiment: "default".to_owned(),
        status: RunStatus::Completed { duration_ms: Some(455_000.0) },
        created_at_ms: 1_770_400_000_000.0,
        planned_evals: Vec::new(),
        evals,
    }
}

fn step(i: usize, j: usize, name: &str, status: StepStatus) -> Step {
    Step { id: format!("st{i}x{j}"), name: StepName::parse(name), status, created_at_ms: j as f64 }
}

fn eval_id_of(run: &Run, path: &str) -> EvalId {
    run.find_eval(path).unwrap().id.clone()
}

fn llm() -> VerdictOrigin {
    VerdictOrigin::Llm { model: "gpt-4.1".to_owned() }
}

#[expect(clippy::too_many_arguments, reason = "a table of test data reads better as one call per row")]
fn verdict(
    run: &Run,
    path: &str,
    step: Option<StepName>,
    status: VerdictStatus,
    classification: Option<Classification>,
    error: &str,
    reasoning: &str,
    snippets: (Option<&str>, Option<&str>),
    origin: VerdictOrigin,
) -> Verdict {
    let llm_call = matches!(origin, VerdictOrigin::Llm { .. }) && status != VerdictStatus::Skipped;
    Verdict {
        eval_id: eval_id_of(run, path),
        eval_path: EvalPath::new(path),
        failed_step: step,
        status,
        classification,
        error: error.to_owned(),
        reasoning: reasoning.to_owned(),
        model_snippet: snippets.0.map(str::to_owned),
        expected_snippet: snippets.1.map(str::to_owned),
        confidence: classification.map(|_| 0.85),
        retry_count: u32::from(status == VerdictStatus::Error) * 3,
        origin,
        tokens: if llm_call { TokenUsage { prompt: 4_210, completion: 388 } } else { TokenUsage::default() },
        missing_evidence: Vec::new(),
    }
}

fn mixed_verdicts(run: &Run) -> Vec<Verdict> {
    use Classification::*;
    use VerdictStatus::*;
    vec![
        verdict(
            run,
            "000-fundamentals/003-crons",
            Some(StepName::Deploy),
            Done,
            Some(ModelFault),
            "convex/crons.ts(12,3): error TS2554: Expected 4 arguments, but got 3.",
            "The model called `crons.interval` with three arguments; the API needs the args object `{}` as the fourth. \
             The task asked to omit the action's argument, not the args object.",
            (
                Some("crons.interval(\"run every second\", { seconds: 1 }, internal.crons.emptyAction);"),
                Some("crons.interval(\"run every second\", { seconds: 1 }, internal.crons.emptyAction, {});"),
            ),
            llm(),
        ),
        verdict(
            run,
            "001-data_modeling/009-normalize_json",
            None,
            Skipped,
            None,
            "[rate_limit] 429 Too Many Requests from provider",
            "infrastructure failure: not sent to an LLM",
            (None, None),
            VerdictOrigin::Infrastructure(InfraCause::RateLimit),
        ),
        verdict(
            run,
            "002-queries/014-select_distinct",
            Some(StepName::Eslint),
            Done,
            Some(OverlyStrict),
            "14:7  error  'firstDoc' is never reassigned. Use 'const' instead  prefer-const",
            "All 8 tests passed; `prefer-const` fails a correct solution over style. The task asks for behaviour, not lint \
             cleanliness.",
            (Some("let firstDoc = await ctx.db.query(\"items\").first();"), Some("const first = await q.first();")),
            llm(),
        ),
        verdict(
            run,
            "003-mutations/004-cascade_delete",
            Some(StepName::Tests),
            Error,
            None,
            "tests failed (83%)",
            "no valid answer after 3 retries: the model_snippet did not occur in the evidence",
            (None, None),
            llm(),
        ),
        verdict(
            run,
            "004-actions/001-run_mutation",
            Some(StepName::Deploy),
            Done,
            Some(ModelFault),
            "saveFetchResult defined in index.js is a Mutation function. Only actions can be defined in Node.js.",
            "The model put `\"use node\"` on a file that also exports a mutation; Node.js files may only hold actions.",
            (
                Some("\"use node\";\nexport const saveFetchResult = mutation({ ... });"),
                Some("export const saveFetchResult = internalMutation({ ... });"),
            ),
            llm(),
        ),
        verdict(
            run,
            "004-actions/002-run_query_mutation",
            Some(StepName::Deploy),
            Done,
            Some(ModelFault),
            "`saveResult` defined in `index.js` is a Mutation function. Only actions can be defined in Node.js.",
            "Same `\"use node\"` mistake as 001-run_mutation, on a file whose mutation stores the result.",
            (Some("\"use node\";\nexport const saveResult = mutation({ ... });"), None),
            VerdictOrigin::Cache { model: "gpt-4.1".to_owned() },
        ),
        verdict(
            run,
            "004-actions/007-http_action_routing",
            Some(StepName::Tests),
            Done,
            Some(KnownGap),
            "expected 404 to be 200 // GET /api/users/1",
            "GAPS.txt documents it: models write `path: \"/api/*\"` where Convex needs `pathPrefix`. A `|` pipe and \
             <b>markup</b> in the text stay text.",
            (
                Some("http.route({ path: \"/api/*\", method: \"GET\", handler })\n// ```` four backticks"),
                Some("http.route({ pathPrefix: \"/api/\", method: \"GET\", handler })"),
            ),
            llm(),
        ),
        verdict(
            run,
            "006-clients/001-use_mutation",
            Some(StepName::Eslint),
            Skipped,
            None,
            "Promise-returning function provided to attribute where a void return was expected",
            "token budget reached (40,000 tokens): not analyzed",
            (None, None),
            llm(),
        ),
    ]
}

fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn prior_for_snapshot() -> Vec<PriorReport> {
    let entry = |eval: &str, label: &str| PriorEntry {
        eval: eval.to_owned(),
        label: label.to_owned(),
        qualifier: None,
        repeat: false,
        human: None,
        failed_step: None,
    };
    vec![
        PriorReport {
            path: PathBuf::from("reports/anthropic/claude-opus-4.6/jn7922ab_2026-02-01.md"),
            date: day(2026, 2, 1),
            run_id_prefix: "jn7922ab".to_owned(),
            run_id: Some("jn7922ab0000000000000000000000aa".to_owned()),
            run_ids: Vec::new(),
            ran_at: None,
            passed_evals: None,
            pass_rate: Some((13, 16)),
            experiment: Some("default".to_owned()),
            scope: None,
            entries: vec![
                entry("000-fundamentals/003-crons", "MODEL_FAULT"),
                entry("003-mutations/000-delete", "MODEL_FAULT"),
            ],
            actions_taken: vec![ActionTaken {
                text: "Downgraded `prefer-const` to \"warn\" — addresses 014-select_distinct".to_owned(),
                eval: None,
            }],
            ours: true,
            verdicts: Vec::new(),
            notes: Vec::new(),
        },
        PriorReport {
            path: PathBuf::from("reports/anthropic/claude-opus-4.6/jn6abcde_2026-01-20.md"),
            date: day(2026, 1, 20),
            run_id_prefix: "jn6abcde".to_owned(),
            run_id: None,
            run_ids: Vec::new(),
            ran_at: None,
            passed_evals: None,
            pass_rate: Some((12, 16)),
            experiment: None,
            scope: None,
            entries: vec![
                entry("007-http_action_routing", "KNOWN_GAP"),
                entry("000-fundamentals/003-crons", "KNOWN_GAP"),
            ],
            actions_taken: Vec::new(),
            ours: false,
            verdicts: Vec::new(),
            notes: Vec::new(),
        },
    ]
}

struct Fixture {
    run: Run,
    shape: Shape,
    verdicts: Vec<Verdict>,
    prior: Vec<PriorReport>,
    warnings: Vec<PriorWarning>,
    history: History,
    changes: ChangesSince,
}

fn fixture(prior: Vec<PriorReport>) -> Fixture {
    let run = mixed_run();
    let shape = Shape::of(&run);
    let verdicts = mixed_verdicts(&run);
    let failures: Vec<EvalPath> = shape.failures.iter().map(|f| f.eval_path.clone()).collect();
    let history = history(&prior, &failures);
    let warnings = vec![PriorWarning {
        path: PathBuf::from("reports/anthropic/claude-opus-4.6/notes.md"),
        reason: "not a report file name (expected PREFIX_YYYY-MM-DD.md); skipped".to_owned(),
    }];
    let changes = changes_since(&run, &shape, &verdicts, &prior, None);
    Fixture { run, shape, verdicts, prior, warnings, history, changes }
}

fn render_fixture(f: &Fixture, synthesis: Option<Synthesis<'_>>) -> String {
    render_priced(f, synthesis, None)
}

/// The fixture rendered with what its LLM tokens cost (`None`: no LLM to price).
fn render_priced(f: &Fixture, synthesis: Option<Synthesis<'_>>, llm_cost: Option<&LlmCost>) -> String {
    render(&ReportInput {
        run: &f.run,
        shape: &f.shape,
        verdicts: &f.verdicts,
        history: &f.history,
        changes: &f.changes,
        prior_reports: &f.prior,
        prior_warnings: &f.warnings,
        date: day(2026, 2, 6),
        synthesis,
        llm_cost,
        actions_taken: None,
        relaxed_lint_rules: &[],
        scope: None,
    })
}

const SYNTHESIS: &str = "Two of the three model faults are the same misunderstanding of the Node.js runtime: \
the model adds `\"use node\"` to files that also export queries or mutations.\n\n\
The lint failures are style rules failing correct code; relaxing them costs nothing.";

#[test]
fn a_mixed_run_renders_every_section() {
    let f = fixture(prior_for_snapshot());
    let synthesis =
        Synthesis { text: SYNTHESIS, model: "gpt-4.1", tokens: TokenUsage { prompt: 2_000, completion: 150 } };
    // The verdicts' and the synthesis's 23,050 prompt and 2,090 completion tokens at gpt-4.1's
    // $2 and $8 a million.
    let usd = (23_050.0 * 2.0 + 2_090.0 * 8.0) / 1e6;
    let cost = LlmCost { model: "gpt-4.1".to_owned(), usd: Some(usd), batch: false };
    let markdown = render_priced(&f, Some(synthesis), Some(&cost));
    insta::assert_snapshot!("mixed_run", markdown);
}

#[test]
fn the_token_usage_says_what_the_tokens_cost_or_that_there_is_no_price() {
    let f = fixture(Vec::new());
    let synthesis =
        Synthesis { text: SYNTHESIS, model: "gpt-4.1", tokens: TokenUsage { prompt: 2_000, completion: 150 } };
    let line = |cost: Option<&LlmCost>| {
        let md = render_priced(&f, Some(synthesis), cost);
        md.lines().find(|l| l.starts_with("- **Token usage**")).unwrap_or_default().to_owned()
    };
    let tokens = "- **Token usage**: 23,050 prompt + 2,090 completion = 25,140 tokens";
    assert_eq!(line(None), tokens, "nothing priced, nothing said");
    let batch = LlmCost { model: "gpt-4.1".to_owned(), usd: Some(0.0314), batch: true };
    assert_eq!(line(Some(&batch)), format!("{tokens} (~$0.0314 at batch price)"));
    let unpriced = LlmCost { model: "gpt-4.1".to_owned(), usd: None, batch: false };
    assert_eq!(line(Some(&unpriced)), format!("{tokens} (no price configured for `gpt-4.1`)"));
    // The model is the config's word: escaped like any other.
    let hostile = LlmCost { model: "local|<b>".to_owned(), usd: None, batch: false };
    assert_eq!(line(Some(&hostile)), format!("{tokens} (no price configured for local\\|&lt;b&gt;)"));
    // The block carries the cost, and the report reads back as before.
    let md = render_priced(&f, Some(synthesis), Some(&batch));
    assert!(md.contains(r#""llm_cost":{"model":"gpt-4.1","usd":0.0314,"batch":true}"#), "{md}");
    assert!(parse_report(&md, None).is_ok());
}

#[test]
fn sections_come_in_the_order_of_the_design() {
    let f = fixture(prior_for_snapshot());
    let markdown = render_fixture(&f, None);
    let headings: Vec<&str> = markdown.lines().filter(|l| l.starts_with("## ")).collect();
    assert_eq!(
        headings,
        [
            "## Run metadata",
            "## Changes since the last report",
            "## Prior reports consulted",
            "## Failure summary by step",
            "## Infrastructure failures",
            "## Classification table",
            "## Per-failure analysis",
            "## Cross-cutting patterns",
            "## Recommendations",
            "## Net impact",
            "## Actions taken",
        ]
    );
    assert!(markdown.starts_with("# Run analysis: anthropic/claude-opus-4.6 — run jn72t14a (2026-02-06)\n"));
    assert!(markdown.contains("### 1) 000-fundamentals/003-crons — MODEL_FAULT (repeat)\n"), "{markdown}");
    assert!(markdown.contains("rules — no LLM was used") || markdown.contains("LLM `gpt-4.1`"));
}

#[test]
fn a_run_of_only_infrastructure_failures_says_so_at_the_top() {
    let mut run = mixed_run();
    for e in &mut run.evals {
        e.steps.clear();
        e.status = EvalStatus::Failed {
            failure_reason: "AI_APICallError: No endpoints found for anthropic/claude-opus-4.6.".to_owned(),
            duration_ms: None,
            output_storage_id: None,
            generation_duration_ms: None,
        };
    }
    let shape = Shape::of(&run);
    let md = render(&ReportInput {
        run: &run,
        shape: &shape,
        verdicts: &[],
        history: &History::default(),
        changes: &changes_since(&run, &shape, &[], &[], None),
        prior_reports: &[],
        prior_warnings: &[],
        date: day(2026, 3, 12),
        synthesis: None,
        llm_cost: None,
        actions_taken: None,
        relaxed_lint_rules: &[],
        scope: None,
    });
    let top: Vec<&str> = md.lines().take(3).collect();
    assert!(top[2].starts_with("> **This run is mostly infrastructure failures**: 16 of its 16 failures"), "{md}");
    assert!(md.contains("Fix the environment before blaming the model"));
    assert!(md.contains("No verification failures to classify: every failure is infrastructure."));
    assert!(
        md.contains("| generation | AI_APICallError: No endpoints found for anthropic/claude-opus-4.6. | 16: "),
        "{md}"
    );
    assert!(md.contains("## Actions taken\n\nNone\n"));
}

#[test]
fn an_eval_level_analysis_lists_the_other_failures_as_not_analysed() {
    let mut f = fixture(Vec::new());
    f.verdicts.retain(|v| v.eval_path.as_str() == "000-fundamentals/003-crons");
    let md = render_fixture(&f, None);
    assert!(
        md.contains(
            "Not analyzed in this report: 6 other verification failures of the run (`002-queries/014-select_distinct`, "
        ),
        "{md}"
    );
    assert!(md.contains("### 1) 000-fundamentals/003-crons — MODEL_FAULT\n"));
    assert!(!md.contains("### 2)"));
    assert!(md.contains("- **Genuine model faults**: 1 of 1\n"));
}

// ---------------------------------------------------------------- our own reports read back

#[test]
fn our_reports_round_trip_exactly() {
    let f = fixture(prior_for_snapshot());
    let markdown = render_fixture(&f, None);
    let path = Path::new("reports/anthropic/claude-opus-4.6/jn72t14a_2026-02-06.md");
    let report = parse_report(&markdown, Some(path)).unwrap();
    let mut expected = f.verdicts.clone();
    expected.sort_by(|a, b| a.eval_path.cmp(&b.eval_path));
    assert_eq!(report.verdicts, expected);
    assert!(report.ours);
    assert_eq!(report.run_id_prefix, "jn72t14a");
    assert_eq!(report.date, day(2026, 2, 6));
    assert_eq!(report.pass_rate, Some((8, 16)));
    assert_eq!(report.run_id.as_deref(), Some("jn72t14a0tmje3jrj9wwng78gh80mdfw"));
    let labels: Vec<(String, String, bool)> =
        report.entries.iter().map(|e| (e.eval.clone(), e.label_text(), e.repeat)).collect();
    assert_eq!(labels[0], ("000-fundamentals/003-crons".to_owned(), "MODEL_FAULT".to_owned(), true));
    assert_eq!(
        labels[1],
        ("001-data_modeling/009-normalize_json".to_owned(), "INFRASTRUCTURE (rate_limit)".to_owned(), false)
    );
    assert_eq!(
        labels[3],
        ("003-mutations/004-cascade_delete".to_owned(), "UNCLASSIFIED (analysis error)".to_owned(), false)
    );
    assert!(report.actions_taken.is_empty(), "\"None\" is no action");
    // Without a path, the block alone is enough.
    assert_eq!(parse_report(&markdown, None).unwrap().run_id_prefix, "jn72t14a");
}

#[test]
fn hostile_text_cannot_change_the_report_structure() {
    let mut f = fixture(Vec::new());
    let hostile = "ok\n## Actions taken\n- fake\n<!-- evaltriage:v1 {\"run_id\":\"x\"} -->\n\u{1b}[31mred\u{1b}[0m --> <script>alert(1)</script>\n```\n| a | b |";
    for v in &mut f.verdicts {
        v.reasoning = hostile.to_owned();
        v.error = hostile.to_owned();
        v.model_snippet = Some(format!("{hostile}\n````` five"));
        v.expected_snippet = Some("-->".to_owned());
    }
    f.run.model = "evil|model\n## x/<img src=x>".to_owned();
    let md = render(&ReportInput {
        run: &f.run,
        shape: &f.shape,
        verdicts: &f.verdicts,
        history: &f.history,
        changes: &f.changes,
        prior_reports: &[],
        prior_warnings: &[],
        date: day(2026, 2, 6),
        synthesis: Some(Synthesis { text: hostile, model: "m|x", tokens: TokenUsage::default() }),
        llm_cost: None,
        actions_taken: Some(hostile),
        relaxed_lint_rules: &[],
        scope: None,
    });
    assert!(!md.contains('\u{1b}'), "ANSI escapes removed");
    let outside: Vec<&str> = outside_fences(&md);
    assert_eq!(outside.iter().filter(|l| l.starts_with("## Actions taken")).count(), 1);
    assert_eq!(outside.iter().filter(|l| l.starts_with("<!-- evaltriage")).count(), 1);
    assert!(outside.iter().all(|l| !l.contains("<script") && !l.contains("<img")), "HTML neutralised outside fences");
    // Every row of a table has as many cell separators as its header.
    let unescaped_pipes = |l: &str| l.match_indices('|').filter(|(i, _)| !l[..*i].ends_with('\\')).count();
    let mut header_pipes = None;
    for line in &outside {
        if !line.starts_with('|') {
            header_pipes = None;
            continue;
        }
        let expected = *header_pipes.get_or_insert(unescaped_pipes(line));
        assert_eq!(unescaped_pipes(line), expected, "{line}");
    }
    let back = parse_report(&md, Some(Path::new("x/jn72t14a_2026-02-06.md"))).unwrap();
    let mut expected = f.verdicts.clone();
    expected.sort_by(|a, b| a.eval_path.cmp(&b.eval_path));
    assert_eq!(back.verdicts, expected, "the block still round-trips");
}

/// A key holding every character one of our escapers touches (markdown cells and prose, code
/// spans, HTML, JSON, the machine block), its pieces tokens that occur nowhere else.
const ESCAPED_KEY: &str = "Zq1|Zq2`Zq3&Zq4[Zq5]Zq6\"Zq7\\Zq8<Zq9>Zr1'Zr2*Zr3_Zr4~Zr5!Zr6#Zr7-Zr8\nZr9";

/// Whether any piece of [`ESCAPED_KEY`] shows in `text`: the key in any form leaves its pieces.
fn key_pieces_in(text: &str) -> Vec<String> {
    let pieces: Vec<String> = (1..=9).map(|i| format!("Zq{i}")).chain((1..=9).map(|i| format!("Zr{i}"))).collect();
    pieces.into_iter().filter(|p| text.contains(p.as_str())).collect()
}

#[test]
fn a_secret_is_redacted_before_any_escaping_in_the_report_its_block_and_the_site() {
    evaltriage_core::redact::register_secret(ESCAPED_KEY);
    let mut f = fixture(Vec::new());
    // A server and an LLM echo the key into every kind of foreign text the report shows.
    for v in &mut f.verdicts {
        v.reasoning = format!("the endpoint said {ESCAPED_KEY} twice: {ESCAPED_KEY}");
        v.error = format!("auth {ESCAPED_KEY} rejected");
        v.model_snippet = Some(format!("const key = \"{ESCAPED_KEY}\";"));
    }
    let md = render(&ReportInput {
        run: &f.run,
        shape: &f.shape,
        verdicts: &f.verdicts,
        history: &f.history,
        changes: &f.changes,
        prior_reports: &[],
        prior_warnings: &[],
        date: day(2026, 2, 6),
        synthesis: Some(Synthesis { text: &format!("- {ESCAPED_KEY}"), model: "m", tokens: TokenUsage::default() }),
        llm_cost: None,
        actions_taken: Some(&format!("- rotated {ESCAPED_KEY}")),
        relaxed_lint_rules: &[],
        scope: None,
    });
    assert_eq!(key_pieces_in(&md), Vec::<String>::new(), "the rendered report holds the key:\n{md}");
    assert!(md.contains("\\*\\*\\*") || md.contains("***"), "{md}");
    let dir = tempfile::tempdir().unwrap();
    let path = report_path(dir.path(), &ReportKey::of_run(&f.run, day(2026, 2, 6), None));
    write_report(dir.path(), &path, &md, false).unwrap();
    let written = std::fs::read_to_string(&path).unwrap();
    assert_eq!(key_pieces_in(&written), Vec::<String>::new(), "{written}");
    // The site renders the markdown to HTML (the key unescaped from markdown, escaped as HTML).
    let html = evaltriage_report::site::page(
        &format!("report {ESCAPED_KEY}"),
        &evaltriage_report::site::markdown_to_html(&format!("{md}\n| a |\n| - |\n| {ESCAPED_KEY} |\n")),
        1,
        None,
    );
    assert_eq!(key_pieces_in(&html), Vec::<String>::new(), "{html}");
}

/// Lines that are markdown, not fenced code, by CommonMark's backtick-fence rule.
fn outside_fences(md: &str) -> Vec<&str> {
    let mut open: Option<usize> = None;
    let mut out = Vec::new();
    for line in md.lines() {
        let ticks = line.chars().take_while(|&c| c == '`').count();
        match open {
            Some(n) if ticks >= n && line[ticks..].trim().is_empty() => open = None,
            Some(_) => {}
            None if ticks >= 3 => open = Some(ticks),
            None => out.push(line),
        }
    }
    out
}

// ---------------------------------------------------------------- writing and reading a folder

#[test]
fn a_written_report_is_history_for_the_next_run() {
    let dir = tempfile::tempdir().unwrap();
    let f = fixture(Vec::new());
    let md = render_fixture(&f, None);
    let path = report_path(dir.path(), &ReportKey::of_run(&f.run, day(2026, 2, 6), None));
    write_report(dir.path(), &path, &md, false).unwrap();

    // The run's own report is not its history.
    let (own, warnings) = prior_reports_for_run(dir.path(), &f.run);
    assert!(own.is_empty() && warnings.is_empty());

    // The next run of the same model sees it.
    let mut next = mixed_run();
    next.id = RunId::new("jn80000000000000000000000000000z").unwrap();
    next.created_at_ms += 86_400_000.0;
    let (prior, warnings) = prior_reports_for_run(dir.path(), &next);
    assert!(warnings.is_empty(), "{warnings:?}");
    assert_eq!(prior.len(), 1);
    assert!(prior[0].ours);
    assert!(prior[0].actions_taken.is_empty());

    // Someone records what they did, by hand; the next run sees the claim.
    let text = std::fs::read_to_string(&path).unwrap();
    let edited = text.replace(
        "## Actions taken\n\nNone\n",
        "## Actions taken\n\n- 2026-02-07: documented the `internal_fns` gap — fixes `005-idioms/000-internal_fns`\n",
    );
    assert_ne!(edited, text);
    std::fs::write(&path, edited).unwrap();
    let (prior, _) = prior_reports_for_run(dir.path(), &next);
    assert_eq!(prior[0].actions_taken.len(), 1);
    let h =
        history(&prior, &[EvalPath::new("000-fundamentals/003-crons"), EvalPath::new("005-idioms/000-internal_fns")]);
    assert_eq!(
        h.for_eval(&EvalPath::new("005-idioms/000-internal_fns")).claimed_fix.as_ref().map(|f| f.action.as_str()),
        Some("2026-02-07: documented the internal_fns gap — fixes 005-idioms/000-internal_fns")
    );
    assert_eq!(
        h.for_eval(&EvalPath::new("000-fundamentals/003-crons")).summary(),
        "repeat (MODEL_FAULT in jn72t14a_2026-02-06.md)"
    );
    assert_eq!(h.for_eval(&EvalPath::new("005-idioms/000-internal_fns")).summary(), "new");
}

#[test]
fn a_scoped_report_is_its_own_file_and_speaks_only_for_its_evals() {
    let dir = tempfile::tempdir().unwrap();
    let f = fixture(Vec::new());
    // The run's full report, then an eval-level analysis of one eval of the same run.
    let full = report_path(dir.path(), &ReportKey::of_run(&f.run, day(2026, 2, 6), None));
    write_report(dir.path(), &full, &render_fixture(&f, None), false).unwrap();
    let scope = ReportScope { category: "004-actions".to_owned(), eval: Some("001-run_mutation".to_owned()) };
    let verdicts: Vec<Verdict> = f.verdicts.iter().filter(|v| scope.covers(&v.eval_path)).cloned().collect();
    let scoped_md = render(&ReportInput {
        run: &f.run,
        shape: &f.shape,
        verdicts: &verdicts,
        history: &f.history,
        changes: &changes_since(&f.run, &f.shape, &verdicts, &[], Some(&scope)),
        prior_reports: &[],
        prior_warnings: &[],
        date: day(2026, 2, 7),
        synthesis: None,
        llm_cost: None,
        actions_taken: None,
        relaxed_lint_rules: &[],
        scope: Some(&scope),
    });
    assert!(
        scoped_md.starts_with(
            "# Run analysis: anthropic/claude-opus-4.6 — run jn72t14a (2026-02-07) — covers only eval 004-actions/001-run_mutation\n"
        ),
        "{scoped_md}"
    );
    assert!(
        scoped_md.contains(
            "- **Scope**: covers only eval `004-actions/001-run_mutation` (1 of the run's 16 evals); this is not the run's full report and never replaces it\n"
        ),
        "{scoped_md}"
    );
    let scoped = report_path(dir.path(), &ReportKey::of_run(&f.run, day(2026, 2, 7), Some(&scope)));
    assert_ne!(scoped, full);
    assert_eq!(evaltriage_report::existing_report_for(&scoped).unwrap(), None, "the full report is not in the way");
    write_report(dir.path(), &scoped, &scoped_md, false).unwrap();
    assert!(full.is_file() && scoped.is_file());

    // Both are the run's own: neither is its history.
    let (own, _) = prior_reports_for_run(dir.path(), &f.run);
    assert!(own.is_empty(), "{own:?}");

    // For the next run, the scoped report is newer but covers only its eval.
    let mut next = mixed_run();
    next.id = RunId::new("jn80000000000000000000000000000z").unwrap();
    next.created_at_ms += 86_400_000.0;
    let (prior, warnings) = prior_reports_for_run(dir.path(), &next);
    assert!(warnings.is_empty(), "{warnings:?}");
    let names: Vec<String> = prior.iter().map(PriorReport::file_name).collect();
    assert_eq!(names, ["jn72t14a_2026-02-07.004-actions.001-run_mutation.md", "jn72t14a_2026-02-06.md"]);
    assert_eq!(prior[0].scope.as_ref(), Some(&scope), "read from the block");
    assert_eq!(prior[1].scope, None);
    assert_eq!(prior[0].experiment.as_deref(), Some("default"));
    let h =
        history(&prior, &[EvalPath::new("000-fundamentals/003-crons"), EvalPath::new("004-actions/001-run_mutation")]);
    assert_eq!(
        h.for_eval(&EvalPath::new("000-fundamentals/003-crons")).summary(),
        "repeat (MODEL_FAULT in jn72t14a_2026-02-06.md)"
    );
    assert_eq!(
        h.for_eval(&EvalPath::new("004-actions/001-run_mutation")).summary(),
        "repeat (MODEL_FAULT in jn72t14a_2026-02-07.004-actions.001-run_mutation.md)"
    );

    // A hand-written scoped report has its scope from the file name.
    let hand = dir.path().join("anthropic/claude-opus-4.6/jn7aaaaa_2026-02-08.000-fundamentals.md");
    std::fs::write(&hand, "# x\n\n- **Pass rate**: 2/3\n\n### 1) 000-fundamentals/003-crons — MODEL_FAULT\n").unwrap();
    let report = parse_report(&std::fs::read_to_string(&hand).unwrap(), Some(&hand)).unwrap();
    assert_eq!(report.scope, Some(ReportScope { category: "000-fundamentals".to_owned(), eval: None }));
    assert!(report.covers(&EvalPath::new("000-fundamentals/003-crons")));
    assert!(!report.covers(&EvalPath::new("004-actions/001-run_mutation")));
}

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/prior_reports/three_styles")
}

fn pairs(report: &PriorReport) -> Vec<(String, String)> {
    report
        .entries
        .iter()
        .map(|e| (e.eval.clone(), format!("{}{}", e.label_text(), if e.repeat { " (repeat)" } else { "" })))
        .collect()
}

fn owned(expected: &[(&str, &str)]) -> Vec<(String, String)> {
    expected.iter().map(|(a, b)| ((*a).to_owned(), (*b).to_owned())).collect()
}

#[test]
fn hand_written_reports_in_three_styles() {
    let (reports, warnings) = read_prior_reports(&fixtures_dir());
    let names: Vec<String> = reports.iter().map(PriorReport::file_name).collect();
    assert_eq!(names, ["jn7ccccc_2026-01-15.md", "jn7bbbbb_2026-01-12.md", "jn7aaaaa_2026-01-10.md"], "newest first");
    let mut warned: Vec<String> =
        warnings.iter().map(|w| format!("{}: {}", w.path.file_name().unwrap().to_string_lossy(), w.reason)).collect();
    warned.sort();
    assert_eq!(
        warned,
        [
            "README.md: not a report file name (expected PREFIX_YYYY-MM-DD.md); skipped",
            "jn7ddddd_2026-01-16.md: cannot understand the report <path>: found no eval labels and no pass rate; skipped"
                .replace("<path>", &fixtures_dir().join("jn7ddddd_2026-01-16.md").display().to_string())
                .as_str(),
        ]
    );

    let [global, table, numbered] = &reports[..] else { panic!("three reports") };
    assert_eq!(
        pairs(numbered),
        owned(&[
            ("000-fundamentals/003-crons", "MODEL_FAULT"),
            ("002-queries/014-select_distinct", "OVERLY_STRICT"),
            ("000-fundamentals/002-basic_http_endpoint", "HARNESS_FAILURE (infrastructure)"),
            ("006-clients/001-use_mutation", "KNOWN_GAP (repeat)"),
        ])
    );
    assert_eq!(numbered.pass_rate, Some((60, 64)));
    assert_eq!(numbered.run_id.as_deref(), Some("jn7aaaaa0tmje3jrj9wwng78gh80mdfw"));
    assert_eq!(numbered.actions_taken.len(), 5);
    assert_eq!(
        pairs(table),
        owned(&[
            ("000-fundamentals/003-crons", "MODEL_FAULT (repeat)"),
            ("004-actions/007-http_action_routing", "KNOWN_GAP"),
            ("003-mutations/006-no_storage", "AMBIGUOUS_TASK"),
        ])
    );
    assert!(table.actions_taken.is_empty());
    assert_eq!(
        pairs(global),
        owned(&[
            ("000-fundamentals/000-empty_functions", "HARNESS_FAILURE"),
            ("002-queries/000-all_rows", "HARNESS_FAILURE"),
        ])
    );
    assert_eq!(global.pass_rate, Some((0, 64)));
    assert_eq!(global.actions_taken.len(), 1);

    // History over the folder: the latest report is the all-infrastructure one.
    let h = history(
        &reports,
        &[
            EvalPath::new("000-fundamentals/003-crons"),
            EvalPath::new("002-queries/014-select_distinct"),
            EvalPath::new("000-fundamentals/002-basic_http_endpoint"),
            EvalPath::new("002-queries/000-all_rows"),
        ],
    );
    let summary = |p: &str| h.for_eval(&EvalPath::new(p)).summary();
    assert_eq!(summary("002-queries/000-all_rows"), "repeat (HARNESS_FAILURE in jn7ccccc_2026-01-15.md)");
    assert_eq!(summary("000-fundamentals/003-crons"), "back after passing (MODEL_FAULT in jn7bbbbb_2026-01-12.md)");
    let fix = |p: &str| h.for_eval(&EvalPath::new(p)).claimed_fix.clone().map(|f| f.action);
    assert_eq!(
        fix("002-queries/014-select_distinct").as_deref(),
        Some("Downgraded prefer-const to \"warn\" in the eslint config.")
    );
    assert_eq!(
        fix("000-fundamentals/002-basic_http_endpoint").as_deref(),
        Some("Passed the real site port to the grader.")
    );
    assert_eq!(fix("000-fundamentals/003-crons"), None);
}

#[test]
fn truncated_or_garbled_reports_never_panic() {
    let f = fixture(prior_for_snapshot());
    let mut texts = vec![render_fixture(&f, None)];
    for entry in std::fs::read_dir(fixtures_dir()).unwrap() {
        texts.push(std::fs::read_to_string(entry.unwrap().path()).unwrap());
    }
    texts.push("# é\n\n### 1) ☃/ü — ÉCLAIR_Ü (x\n| Eval | Classification |\n|-|-|\n| `a/b | MODEL_FAULT".to_owned());
    for text in &texts {
        for (i, _) in text.char_indices().step_by(7) {
            let _ = parse_report(&text[..i], None);
            let _ = parse_report(&text[i..], Some(Path::new("x/abcdefgh_2026-01-01.md")));
        }
    }
}

// ---------------------------------------------------------------- the real hand-written corpus

fn corpus_reports() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus/convex-evals/reports");
    dir.is_dir().then_some(dir)
}

fn corpus_report(relative: &str) -> PriorReport {
    let dir = corpus_reports().unwrap().join(relative);
    let (reports, warnings) = read_prior_reports(&dir);
    assert!(warnings.is_empty(), "{warnings:?}");
    assert_eq!(reports.len(), 1, "{dir:?}");
    reports.into_iter().next().unwrap()
}

#[test]
fn corpus_numbered_sections() {
    if corpus_reports().is_none() {
        return;
    }
    let r = corpus_report("anthropic/claude-opus-4-6");
    assert_eq!(
        pairs(&r),
        owned(&[
            ("000-fundamentals/002-basic_http_endpoint", "AMBIGUOUS_TASK (infrastructure)"),
            ("000-fundamentals/003-crons", "MODEL_FAULT"),
            ("002-queries/014-select_distinct", "OVERLY_STRICT"),
            ("002-queries/018-pagination_returns_validator", "KNOWN_GAP"),
            ("003-mutations/005-cascade_delete_nested", "MODEL_FAULT"),
            ("004-actions/002-run_query_mutation", "MODEL_FAULT"),
            ("004-actions/003-mutation_schedule_action", "MODEL_FAULT"),
            ("004-actions/005-storage_http_action", "KNOWN_GAP"),
            ("004-actions/007-http_action_routing", "OVERLY_STRICT"),
            ("006-clients/001-use_mutation", "KNOWN_GAP"),
        ])
    );
    assert_eq!((r.run_id_prefix.as_str(), r.date), ("jn72t14a", day(2026, 2, 6)));
    assert_eq!(r.run_id.as_deref(), Some("jn72t14a0tmje3jrj9wwng78gh80mdfw"));
    assert_eq!(r.pass_rate, Some((55, 66)));
    assert!(!r.ours);
    // Two inline actions under 002-basic_http_endpoint, one each under 014 and 007, and the four
    // of the "Actions Taken in This Session" section.
    assert_eq!(r.actions_taken.len(), 8, "{:#?}", r.actions_taken);
    let about = |p: &str| r.actions_taken.iter().filter(|a| a.concerns(&EvalPath::new(p))).count();
    assert_eq!(about("002-queries/014-select_distinct"), 2);
    assert_eq!(about("004-actions/007-http_action_routing"), 2);
    assert_eq!(about("000-fundamentals/002-basic_http_endpoint"), 3);
    assert_eq!(about("000-fundamentals/003-crons"), 0);
}

#[test]
fn corpus_classification_table() {
    if corpus_reports().is_none() {
        return;
    }
    let r = corpus_report("openai/gpt-5.2-codex");
    assert_eq!(
        pairs(&r),
        owned(&[
            ("000-fundamentals/003-crons", "OVERLY_STRICT (repeat)"),
            ("001-data_modeling/009-normalize_json", "MODEL_FAULT (repeat)"),
            ("002-queries/018-pagination_returns_validator", "MODEL_FAULT"),
            ("003-mutations/004-cascade_delete", "MODEL_FAULT"),
            ("003-mutations/006-no_storage", "KNOWN_GAP (repeat)"),
            ("004-actions/001-run_mutation", "MODEL_FAULT"),
            ("004-actions/002-run_query_mutation", "MODEL_FAULT"),
            ("004-actions/007-http_action_routing", "KNOWN_GAP (repeat)"),
            ("005-idioms/002-batch_queries", "KNOWN_GAP (repeat)"),
            ("006-clients/001-use_mutation", "KNOWN_GAP (repeat)"),
            ("006-clients/002-use_paginated_query", "MODEL_FAULT"),
        ])
    );
    assert_eq!((r.run_id_prefix.as_str(), r.date), ("jn79beyv", day(2026, 2, 12)));
    assert_eq!(r.pass_rate, Some((55, 66)));
    assert!(r.actions_taken.is_empty());
}

#[test]
fn corpus_all_infrastructure_run() {
    if corpus_reports().is_none() {
        return;
    }
    let r = corpus_report("openrouter/arcee-ai/trinity-large-preview");
    // One global label for the whole run, given to the evals the report lists by path.
    assert_eq!(
        pairs(&r),
        owned(&[
            ("000-fundamentals/000-empty_functions", "KNOWN_GAP"),
            ("001-data_modeling/000-simple_datatypes", "KNOWN_GAP"),
            ("002-queries/000-all_rows", "KNOWN_GAP"),
            ("003-mutations/000-delete", "KNOWN_GAP"),
            ("004-actions/000-fetch", "KNOWN_GAP"),
            ("005-idioms/000-internal_fns", "KNOWN_GAP"),
            ("006-clients/000-use_query", "KNOWN_GAP"),
        ])
    );
    assert_eq!((r.run_id_prefix.as_str(), r.date), ("jn70vkj7", day(2026, 3, 12)));
    assert_eq!(r.pass_rate, Some((0, 72)));
    assert_eq!(r.actions_taken.len(), 4);
}

// ---------------------------------------------------------------- changes since the last report

/// The example store's run (`examples/store`): 12 of 19 passed, a week after the example report.
fn example_store_run() -> Run {
    let s = |path, failure| Spec { path, failure };
    let deploy = Some((Some("deploy"), "Error: Failed to deploy:\nconvex/schema.ts: error"));
    let run = run_of(
        "jn7ak4x9m2qw8hd5tz3vc6pe1r0bfs7g",
        "anthropic/claude-sonnet-4.5",
        vec![
            s("000-fundamentals/000-empty_functions", PASS),
            s("000-fundamentals/001-basic_schema", PASS),
            s("000-fundamentals/003-crons", PASS),
            s(
                "000-fundamentals/004-scheduler",
                Some((None, "[infrastructure] Local Convex backend did not become ready")),
            ),
            s("001-data_modeling/000-simple_datatypes", PASS),
            s("001-data_modeling/005-chat_schema", deploy),
            s("001-data_modeling/008-nested_objects", PASS),
            s("002-queries/000-all_rows", PASS),
            s("002-queries/004-index_range", PASS),
            s("002-queries/007-filter_by_author", PASS),
            s(
                "002-queries/009-channel_summary",
                Some((Some("tsc"), "Error: Failed to typecheck code:\nconvex/messages.ts(14,38): error TS2322")),
            ),
            s("002-queries/012-text_search", PASS),
            s("002-queries/015-paginate_messages", Some((Some("tests"), "tests failed (40%)"))),
            s("003-mutations/000-insert_user", PASS),
            s("003-mutations/002-patch_profile", PASS),
            s("003-mutations/006-delete_user_cascade", Some((Some("tests"), "tests failed (40%)"))),
            s("004-actions/000-fetch_quote", Some((None, "error: AI_APICallError: Provider returned error"))),
            s("004-actions/002-run_query_mutation", PASS),
            s(
                "004-actions/003-daily_report",
                Some((
                    Some("eslint"),
                    "Error: Failed to lint code:\n  1:1  error  x  @typescript-eslint/require-await",
                )),
            ),
        ],
    );
    assert_eq!(Shape::of(&run).passed, 12);
    run
}

fn rules_verdict(run: &Run, path: &str, classification: Classification) -> Verdict {
    verdict(run, path, None, VerdictStatus::Done, Some(classification), "e", "r", (None, None), VerdictOrigin::Rules)
}

fn example_report() -> PriorReport {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/reports/anthropic/claude-sonnet-4.5/jn75q2w8_2026-11-08.md");
    parse_report(&std::fs::read_to_string(&path).unwrap(), Some(&path)).unwrap()
}

fn change_list(list: &[EvalChange]) -> Vec<String> {
    list.iter()
        .map(|c| {
            format!("{} {} → {}", c.eval, c.label_then.as_deref().unwrap_or("-"), c.label_now.as_deref().unwrap_or("-"))
        })
        .collect()
}

#[test]
fn changes_since_the_hand_written_example_report() {
    let run = example_store_run();
    let shape = Shape::of(&run);
    let verdicts = vec![
        rules_verdict(&run, "001-data_modeling/005-chat_schema", Classification::ModelFault),
        rules_verdict(&run, "002-queries/009-channel_summary", Classification::ModelFault),
        rules_verdict(&run, "002-queries/015-paginate_messages", Classification::KnownGap),
        rules_verdict(&run, "003-mutations/006-delete_user_cascade", Classification::ModelFault),
        rules_verdict(&run, "004-actions/003-daily_report", Classification::OverlyStrict),
    ];
    let prior = example_report();
    assert_eq!(prior.experiment.as_deref(), Some("default"));
    let ChangesSince::Since(c) = changes_since(&run, &shape, &verdicts, &[prior], None) else {
        panic!("the example report is a baseline")
    };
    assert_eq!(c.report, "jn75q2w8_2026-11-08.md");
    assert_eq!(c.run_id.as_deref(), Some("jn75q2w8hd4k1tz7c9m3xv6bfe0r5ga2"));
    assert!(!c.ours && !c.experiment_assumed);
    assert_eq!(change_list(&c.fixed), ["000-fundamentals/003-crons MODEL_FAULT → -"]);
    // An infrastructure failure that passed this time is a recovery, not a fix.
    assert_eq!(change_list(&c.recovered), ["002-queries/012-text_search HARNESS_FAILURE (infrastructure) → -"]);
    assert_eq!(
        change_list(&c.new_failures),
        [
            "000-fundamentals/004-scheduler - → infrastructure",
            "001-data_modeling/005-chat_schema - → MODEL_FAULT",
            "003-mutations/006-delete_user_cascade - → MODEL_FAULT",
            "004-actions/000-fetch_quote - → infrastructure",
        ]
    );
    assert_eq!(
        change_list(&c.still_failing),
        [
            "002-queries/009-channel_summary MODEL_FAULT → MODEL_FAULT",
            "002-queries/015-paginate_messages KNOWN_GAP → KNOWN_GAP",
            "004-actions/003-daily_report OVERLY_STRICT → OVERLY_STRICT",
        ]
    );
    assert!(c.relabelled.is_empty() && c.not_run_now.is_empty());
    assert_eq!(c.one_line(), "since jn75q2w8 (2026-11-08): 14/19 → 12/19 · 1 fixed · 1 recovered · 4 new");
    assert_eq!(c.to_json()["recovered"][0]["eval"], "002-queries/012-text_search");
    assert_eq!(c.to_json()["fixed"].as_array().map(Vec::len), Some(1));
}

#[test]
fn changes_since_our_own_report() {
    // The mixed run's report, read back, is the baseline of a later run of the same model in
    // which 003-crons passes and 014-select_distinct is now called a model fault.
    let f = fixture(Vec::new());
    let markdown = render_fixture(&f, None);
    let prior =
        parse_report(&markdown, Some(Path::new("reports/anthropic/claude-opus-4.6/jn72t14a_2026-02-06.md"))).unwrap();
    assert_eq!(prior.experiment.as_deref(), Some("default"));
    let mut specs = specs();
    specs.retain(|s| s.path != "006-clients/000-use_query");
    for s in &mut specs {
        if s.path == "000-fundamentals/003-crons" {
            s.failure = None;
        }
    }
    let next = run_of("jn80000000000000000000000000000z", "anthropic/claude-opus-4.6", specs);
    let shape = Shape::of(&next);
    let mut verdicts = mixed_verdicts(&f.run);
    verdicts.retain(|v| v.eval_path.as_str() != "000-fundamentals/003-crons");
    for v in &mut verdicts {
        if v.eval_path.as_str() == "002-queries/014-select_distinct" {
            v.classification = Some(Classification::ModelFault);
        }
    }
    let ChangesSince::Since(c) = changes_since(&next, &shape, &verdicts, &[prior], None) else { panic!("a baseline") };
    assert!(c.ours);
    assert_eq!(c.run_id.as_deref(), Some("jn72t14a0tmje3jrj9wwng78gh80mdfw"));
    assert_eq!((c.pass_rate_then, c.pass_rate_now), (Some((8, 16)), (8, 15)));
    assert_eq!(change_list(&c.fixed), ["000-fundamentals/003-crons MODEL_FAULT → -"]);
    assert!(c.new_failures.is_empty());
    assert_eq!(change_list(&c.relabelled), ["002-queries/014-select_distinct OVERLY_STRICT → MODEL_FAULT"]);
    assert_eq!(c.still_failing.len(), 7);
    assert!(
        change_list(&c.still_failing)
            .contains(&"001-data_modeling/009-normalize_json INFRASTRUCTURE (rate_limit) → infrastructure".to_owned())
    );
    assert!(
        change_list(&c.still_failing)
            .contains(&"006-clients/001-use_mutation UNCLASSIFIED (skipped) → UNCLASSIFIED (skipped)".to_owned())
    );
    assert_eq!(c.one_line(), "since jn72t14a (2026-02-06): 8/16 → 8/15 · 1 fixed · 0 new · 1 relabelled");

    // Rendered: the section names the baseline and the lists.
    let history = history(&[], &[]);
    let changes = ChangesSince::Since(c);
    let md = render(&ReportInput {
        run: &next,
        shape: &shape,
        verdicts: &verdicts,
        history: &history,
        changes: &changes,
        prior_reports: &[],
        prior_warnings: &[],
        date: day(2026, 2, 9),
        synthesis: None,
        llm_cost: None,
        actions_taken: None,
        relaxed_lint_rules: &[],
        scope: None,
    });
    let section = md.split("## Changes since the last report\n\n").nth(1).unwrap().split("\n## ").next().unwrap();
    assert!(section.starts_with("Compared with `jn72t14a_2026-02-06.md` (run `jn72t14a0tmje3jrj9wwng78gh80mdfw`, which ran 2026-02-06; an evaltriage report).\n"), "{section}");
    assert!(section.contains("- **Pass rate then → now**: 8/16 (50.0%) → 8/15 (53.3%)\n"), "{section}");
    assert!(
        section.contains(
            "- **Fixed since** (failed then, pass now): 1\n  - `000-fundamentals/003-crons` — was MODEL_FAULT\n"
        ),
        "{section}"
    );
    assert!(section.contains("- **New failures** (not named as failed then): none\n"), "{section}");
    assert!(section.contains("- **Label changes** (still failing, another label): 1\n  - `002-queries/014-select_distinct` — OVERLY_STRICT → MODEL_FAULT\n"), "{section}");
}

#[test]
fn no_prior_report_says_so_and_names_the_folder() {
    let f = fixture(Vec::new());
    let md = render_fixture(&f, None);
    assert!(
        md.contains("## Changes since the last report\n\nNo earlier report to compare with: none for experiment `default` in `anthropic/claude-opus-4.6/`.\n"),
        "{md}"
    );
    // A report of another experiment is left out, and counted.
    let mut other = prior_for_snapshot();
    for r in &mut other {
        r.experiment = Some("no_guidelines".to_owned());
    }
    let changes = changes_since(&f.run, &f.shape, &f.verdicts, &other, None);
    assert!(matches!(changes, ChangesSince::NoPriorReport { other_experiments: 2, .. }), "{changes:?}");
}

#[test]
fn the_experiment_is_read_from_every_form_of_the_real_reports() {
    assert_eq!(example_report().experiment.as_deref(), Some("default"));
    if corpus_reports().is_none() {
        return;
    }
    for (folder, expected) in [
        ("anthropic/claude-opus-4-6", Some("default")), // - **Experiment**: default
        ("google/gemini-3-pro-preview", Some("default")), // - **Experiment:** default
        ("openai/gpt-5.2-codex", Some("default")),      // - **Experiment**: `default` (with guidelines)
        ("openrouter/arcee-ai/trinity-large-preview", Some("default")), // - Experiment: `default`
        ("anthropic/claude-sonnet-4-6", None),          // both experiments, no Experiment line
    ] {
        let (reports, _) = read_prior_reports(&corpus_reports().unwrap().join(folder));
        assert_eq!(reports.len(), 1, "{folder}");
        assert_eq!(reports[0].experiment.as_deref(), expected, "{folder}");
    }
}

// ---------------------------------------------------------------- trust: what the report claims

fn render_with(f: &Fixture, relaxed_lint_rules: &[String]) -> String {
    render(&ReportInput {
        run: &f.run,
        shape: &f.shape,
        verdicts: &f.verdicts,
        history: &f.history,
        changes: &f.changes,
        prior_reports: &f.prior,
        prior_warnings: &[],
        date: day(2026, 2, 6),
        synthesis: None,
        llm_cost: None,
        actions_taken: None,
        relaxed_lint_rules,
        scope: None,
    })
}

/// The lines of one `### title` group of the recommendations.
fn group<'a>(md: &'a str, title: &str) -> Vec<&'a str> {
    let start = format!("### {title}\n");
    let Some(rest) = md.split_once(&start).map(|(_, rest)| rest) else { return Vec::new() };
    rest.lines().take_while(|l| !l.starts_with('#')).filter(|l| l.starts_with("- ")).collect()
}

#[test]
fn the_provider_line_agrees_with_the_report_folder() {
    let mut f = fixture(Vec::new());
    let md = render_with(&f, &[]);
    assert!(
        md.contains(
            "- **Provider**: `anthropic` (served through `openrouter`); report folder `anthropic/claude-opus-4.6/`\n"
        ),
        "{md}"
    );
    f.run.model = "gpt-5.2".to_owned();
    f.run.provider = Some("openai".to_owned());
    let md = render_with(&f, &[]);
    assert!(md.contains("- **Provider**: `openai`; report folder `openai/gpt-5.2/`\n"), "{md}");
}

#[test]
fn the_none_step_row_names_its_causes() {
    let mut specs = specs();
    specs.push(Spec { path: "006-clients/009-generation", failure: Some((None, "error: AI_APICallError: 500")) });
    let run = run_of("jn72t14a0tmje3jrj9wwng78gh80mdfw", "anthropic/claude-opus-4.6", specs);
    let mut f = fixture(Vec::new());
    f.shape = Shape::of(&run);
    f.run = run;
    let md = render_with(&f, &[]);
    assert!(md.contains("| none (generation 1, rate limit 1) | 2 | 2 |\n"), "{md}");
}

#[test]
fn a_rules_default_guess_needs_verification_and_is_no_genuine_model_fault() {
    let mut f = fixture(Vec::new());
    for v in &mut f.verdicts {
        if v.eval_path.as_str() == "004-actions/001-run_mutation" {
            v.origin = VerdictOrigin::Rules;
            v.confidence = Some(0.3);
            v.tokens = TokenUsage::default();
            v.reasoning =
                "Attributed to the model by default: no known gap, prior label or relaxed lint rule matched. \
                           A low-confidence guess."
                    .to_owned();
        }
    }
    let md = render_with(&f, &[]);
    let needs = group(&md, "Needs verification");
    assert_eq!(needs.len(), 1, "{md}");
    assert!(needs[0].contains("`004-actions/001-run_mutation`") && needs[0].contains("--classifier llm"), "{md}");
    assert!(needs[0].contains("reading the failing step's output"), "{md}");
    let no_action = group(&md, "No action needed");
    assert!(no_action.iter().all(|l| !l.contains("`004-actions/001-run_mutation`")), "{no_action:?}");
    assert!(no_action.iter().any(|l| l.contains("002-run_query_mutation")), "a real model fault stays: {no_action:?}");
    // The group sits before "No action needed".
    assert!(md.find("### Needs verification").unwrap() < md.find("### No action needed").unwrap());
    assert!(md.contains("- **Genuine model faults**: 2 of 7\n"), "{md}");
    assert!(md.contains("- **Unverified**: 1 (the built-in rules' default guess"), "{md}");
    assert!(md.contains("confidence 0.30; **an unverified guess**"), "two decimals, and said under the failure: {md}");
    // Without a guess there is no such group.
    assert!(!render_with(&fixture(Vec::new()), &[]).contains("### Needs verification"));
}

#[test]
fn no_recommendation_relaxes_a_rule_the_configuration_already_relaxes() {
    let f = fixture(Vec::new());
    let unrelaxed = render_with(&f, &[]);
    let lint = group(&unrelaxed, "Lint/config changes");
    assert!(
        lint.iter().any(|l| l.starts_with("- Relax or scope `prefer-const` — `002-queries/014-select_distinct`")),
        "{lint:?}"
    );
    let relaxed = ["prefer-const".to_owned(), "@typescript-eslint/explicit-function-return-type".to_owned()];
    let md = render_with(&f, &relaxed);
    let lint = group(&md, "Lint/config changes");
    let item = lint.iter().find(|l| l.contains("014-select_distinct")).unwrap();
    assert!(
        item.starts_with(
            "- The configuration already relaxes `prefer-const`: this run predates that change, or the change did not take \
             effect (check the lint config the run used) — "
        ),
        "{item}"
    );
    assert!(!md.contains("Relax or scope `prefer-const`"), "{md}");
}

#[test]
fn counts_are_singular_when_they_are_one() {
    let mut f = fixture(prior_for_snapshot()[..1].to_vec());
    f.verdicts.retain(|v| v.eval_path.as_str() == "000-fundamentals/003-crons");
    let specs: Vec<Spec> =
        specs().into_iter().filter(|s| s.failure.is_none() || s.path == "000-fundamentals/003-crons").collect();
    f.run = run_of("jn72t14a0tmje3jrj9wwng78gh80mdfw", "anthropic/claude-opus-4.6", specs);
    f.shape = Shape::of(&f.run);
    let failures: Vec<EvalPath> = f.shape.failures.iter().map(|x| x.eval_path.clone()).collect();
    f.history = history(&f.prior, &failures);
    let md = render_with(&f, &[]);
    assert!(md.contains("- **Actionable on the benchmark's side**: 0 of 1 verification failure\n"), "{md}");
    assert!(md.contains("failed in 1 of 1 prior run\n"), "{md}");
    assert!(md.contains("; 4,598 tokens"), "{md}");
    assert!(!md.contains(" 1 failures") && !md.contains(" 1 reports") && !md.contains(" 1 evals"), "{md}");
}
