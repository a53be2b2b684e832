//! Benchmarks: reading a model folder of 10,000 prior reports (half ours, half hand-written in the
//! three real styles), finding a model's 100 reports in a tree of 10,000 other models' reports,
//! and rendering a report for 100 failures. Prints figures; asserts nothing.
//!
//! Run with `cargo bench -p evaltriage-report`.

use std::path::Path;
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use evaltriage_core::{
    Classification, Eval, EvalId, EvalPath, EvalStatus, Run, RunId, RunStatus, Shape, Step, StepName, StepStatus,
    TokenUsage, Verdict, VerdictOrigin, VerdictStatus,
};
use evaltriage_report::{
    History, ReportInput, changes_since, history, prior_reports_for_run, read_prior_reports, render, report_file_name,
};

const REPORTS: usize = 10_000;
const FAILURES_TO_RENDER: usize = 100;

const CATEGORIES: [&str; 7] = [
    "000-fundamentals",
    "001-data_modeling",
    "002-queries",
    "003-mutations",
    "004-actions",
    "005-idioms",
    "006-clients",
];
const STEPS: [&str; 4] = ["deploy", "tsc", "eslint", "tests"];

fn run_id(n: usize) -> RunId {
    // Base-36 digits so every run has its own 8-character prefix.
    let mut digits = String::new();
    let mut x = n + 36usize.pow(7);
    while x > 0 {
        digits.insert(0, char::from_digit((x % 36) as u32, 36).unwrap_or('0'));
        x /= 36;
    }
    RunId::new(&format!("{digits:0>8}abcdefghjkmnpqrstvwxyz0123")).expect("valid id")
}

fn eval_path(i: usize) -> EvalPath {
    EvalPath::from_parts(CATEGORIES[i % CATEGORIES.len()], &format!("{:03}-eval_number_{i}", i / CATEGORIES.len()))
}

/// A run of `total` evals whose first `failed` fail (a spread of steps), with one verdict each.
fn run_with_failures(n: usize, total: usize, failed: usize) -> (Run, Vec<Verdict>) {
    let mut evals = Vec::with_capacity(total);
    let mut verdicts = Vec::with_capacity(failed);
    for i in 0..total {
        let path = eval_path(i);
        let id = EvalId::new(&format!("ev{i:05}abcdefghjkmnpqrst")).expect("valid id");
        let (status, steps) = if i < failed {
            let step = STEPS[i % STEPS.len()];
            let error = format!(
                "Error: Failed to {step}:\nconvex/index.ts({i},5): error TS2345: Argument of type 'string' is not assignable to parameter of type 'Id<\"users\">'."
            );
            let steps = vec![Step {
                id: format!("st{i}"),
                name: StepName::parse(step),
                status: StepStatus::Failed { failure_reason: error.clone(), duration_ms: Some(900.0) },
                created_at_ms: 0.0,
            }];
            let classification = Classification::ALL[i % 4];
            verdicts.push(Verdict {
                eval_id: id.clone(),
                eval_path: path.clone(),
                failed_step: Some(StepName::parse(step)),
                status: VerdictStatus::Done,
                classification: Some(classification),
                error: error.lines().nth(1).unwrap_or_default().to_owned(),
                reasoning: format!(
                    "The model passed a plain string where the schema expects an `Id<\"users\">`; eval {i} asks for a \
                     typed id. The reference answer uses `v.id(\"users\")` and the grader checks the type. {}",
                    "More detail about the failure, the evidence and the grader. ".repeat(4)
                ),
                model_snippet: Some("export const get = query({\n  args: { id: v.string() },\n  handler: async (ctx, { id }) => ctx.db.get(id),\n});".to_owned()),
                expected_snippet: Some("export const get = query({\n  args: { id: v.id(\"users\") },\n  handler: async (ctx, { id }) => ctx.db.get(id),\n});".to_owned()),
                confidence: Some(0.8),
                retry_count: 0,
                origin: VerdictOrigin::Llm { model: "gpt-4.1".to_owned() },
                tokens: TokenUsage { prompt: 5_000, completion: 400 },
                missing_evidence: Vec::new(),
            });
            let status = EvalStatus::Failed {
                failure_reason: format!("step failed: {step}"),
                duration_ms: Some(10_000.0),
                output_storage_id: None,
                generation_duration_ms: None,
            };
            (status, steps)
        } else {
            (EvalStatus::Passed { duration_ms: Some(8_000.0) }, Vec::new())
        };
        evals.push(Eval {
            id,
            category: path.category().to_owned(),
            name: path.name().to_owned(),
            path,
            status,
            task: None,
            eval_source_storage_id: None,
            usage: None,
            created_at_ms: 0.0,
            steps,
        });
    }
    let run = Run {
        id: run_id(n),
        model_id: None,
        model: "anthropic/claude-opus-4.6".to_owned(),
        formatted_name: Some("Claude Opus 4.6".to_owned()),
        provider: Some("openrouter".to_owned()),
        experiment: "default".to_owned(),
        status: RunStatus::Completed { duration_ms: Some(455_000.0) },
        created_at_ms: 1_770_400_000_000.0,
        planned_evals: Vec::new(),
        evals,
    };
    (run, verdicts)
}

fn render_run(run: &Run, verdicts: &[Verdict], date: NaiveDate) -> String {
    let shape = Shape::of(run);
    render(&ReportInput {
        run,
        shape: &shape,
        verdicts,
        history: &History::default(),
        changes: &changes_since(run, &shape, verdicts, &[], None),
        prior_reports: &[],
        prior_warnings: &[],
        date,
        synthesis: None,
        llm_cost: None,
        actions_taken: None,
        relaxed_lint_rules: &[],
        scope: None,
    })
}

/// A hand-written report in one of the three real styles.
fn hand_written(n: usize, failures: usize) -> String {
    let mut md = format!(
        "# Run Analysis: claude-opus-4.6\n\n- **Run ID**: {}\n- **Date**: 2026-02-06\n- **Pass rate**: {}/66 (x%)\n\n",
        run_id(n),
        66 - failures
    );
    match n % 3 {
        0 => {
            md.push_str("## Per-Failure Analysis\n\n");
            for i in 0..failures {
                let p = eval_path(i);
                md.push_str(&format!(
                    "### {}. {} ({}) -- deploy\n\n**Classification**: {}\n\nThe model got the validator wrong; \
                     see the error and the answer.\n\n```typescript\nconst x = v.string();\n```\n\n---\n\n",
                    i + 1,
                    p.name(),
                    p.category(),
                    Classification::ALL[i % 4]
                ));
            }
            md.push_str("## Actions Taken in This Session\n\n1. Downgraded `prefer-const` — addresses `001-x`\n");
        }
        1 => {
            md.push_str("## Failure classification table\n\n| Eval | Failed step | Classification | One-line reasoning |\n| --- | --- | --- | --- |\n");
            for i in 0..failures {
                md.push_str(&format!(
                    "| `{}` | tests | {} | Wrong shape. |\n",
                    eval_path(i),
                    Classification::ALL[i % 4]
                ));
            }
            md.push_str("\n## Per-failure analysis\n\n");
            for i in 0..failures {
                md.push_str(&format!(
                    "### {}) {} — {} (repeat)\n\n- **Failed step**: tests\n- **Reasoning**: Same as before.\n\n",
                    i + 1,
                    eval_path(i),
                    Classification::ALL[i % 4]
                ));
            }
        }
        _ => {
            md.push_str("## Per-failure analysis\n\n### Global failure pattern\n\n- Classification: `HARNESS_FAILURE`\n\n### Affected evals\n\n");
            for i in 0..failures {
                md.push_str(&format!("- `{}`\n", eval_path(i)));
            }
            md.push_str("\n## Actions taken\n\n- Added a preflight check.\n");
        }
    }
    md
}

fn write_folder(dir: &Path) {
    let base = NaiveDate::from_ymd_opt(2020, 1, 1).expect("valid date");
    let (template_run, template_verdicts) = run_with_failures(0, 66, 10);
    for n in 0..REPORTS {
        let date = base + chrono::Days::new((n % 2000) as u64);
        let mut run = template_run.clone();
        run.id = run_id(n);
        let text = if n % 2 == 0 { render_run(&run, &template_verdicts, date) } else { hand_written(n, 10) };
        std::fs::write(dir.join(report_file_name(&run, date, None)), text).expect("write a fixture report");
    }
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

#[expect(clippy::print_stdout, reason = "a benchmark binary reports its figures on stdout")]
fn main() {
    let dir = tempfile::tempdir().expect("a temp folder");
    let start = Instant::now();
    write_folder(dir.path());
    let bytes: u64 =
        std::fs::read_dir(dir.path()).expect("list").flatten().filter_map(|e| e.metadata().ok()).map(|m| m.len()).sum();
    println!(
        "generated {REPORTS} reports ({:.1} MB, half ours, half hand-written) in {:.2?}",
        bytes as f64 / 1e6,
        start.elapsed()
    );

    let mut times = Vec::new();
    let mut read = 0;
    for _ in 0..5 {
        let start = Instant::now();
        let (reports, warnings) = read_prior_reports(dir.path());
        times.push(start.elapsed());
        assert!(warnings.is_empty(), "{:?}", warnings.first());
        read = reports.len();
    }
    println!("read_prior_reports, {read} reports: median {:.2?} of 5 (target < 1 s)", median(times));

    // The tree scan: 100 reports in the model's folder, 10,000 of other models in 100 folders
    // elsewhere, each of which the scan opens for its first bytes.
    let tree = tempfile::tempdir().expect("a temp folder");
    let base = NaiveDate::from_ymd_opt(2020, 1, 1).expect("valid date");
    let own = tree.path().join("anthropic/claude-opus-4.6");
    std::fs::create_dir_all(&own).expect("a folder");
    for n in 0..100 {
        let date = base + chrono::Days::new(n as u64);
        std::fs::write(own.join(format!("{}_{}.md", &run_id(n).as_str()[..8], date)), hand_written(n, 10))
            .expect("write a fixture report");
    }
    for folder in 0..100 {
        let dir = tree.path().join(format!("provider-{folder}/model-{folder}"));
        std::fs::create_dir_all(&dir).expect("a folder");
        for n in 0..100 {
            let text = hand_written(n, 10).replacen("\n\n", "\n\n- **Model**: someone/else\n", 1);
            std::fs::write(dir.join(format!("{}_{}.md", &run_id(n).as_str()[..8], base)), text)
                .expect("write a fixture report");
        }
    }
    let (this_run, _) = run_with_failures(999, 66, 10);
    let mut times = Vec::new();
    let mut found = 0;
    for _ in 0..5 {
        let start = Instant::now();
        let (reports, warnings) = prior_reports_for_run(tree.path(), &this_run);
        times.push(start.elapsed());
        assert!(warnings.is_empty(), "{:?}", warnings.first());
        found = reports.len();
    }
    println!("prior_reports_for_run, {found} of the model's reports among 10,100: median {:.2?} of 5", median(times));

    let (run, verdicts) = run_with_failures(1, 300, FAILURES_TO_RENDER);
    let shape = Shape::of(&run);
    let failures: Vec<EvalPath> = shape.failures.iter().map(|f| f.eval_path.clone()).collect();
    let (prior, _) = read_prior_reports(dir.path());
    let prior = &prior[..20];
    let history = history(prior, &failures);
    let mut times = Vec::new();
    let mut len = 0;
    for _ in 0..20 {
        let start = Instant::now();
        let changes = changes_since(&run, &shape, &verdicts, prior, None);
        let md = render(&ReportInput {
            run: &run,
            shape: &shape,
            verdicts: &verdicts,
            history: &history,
            changes: &changes,
            prior_reports: prior,
            prior_warnings: &[],
            date: NaiveDate::from_ymd_opt(2026, 2, 6).expect("valid date"),
            synthesis: None,
            llm_cost: None,
            actions_taken: None,
            relaxed_lint_rules: &[],
            scope: None,
        });
        times.push(start.elapsed());
        len = md.len();
    }
    println!(
        "render, {FAILURES_TO_RENDER} failures ({:.0} KB of markdown): median {:.2?} of 20 (target < 50 ms)",
        len as f64 / 1e3,
        median(times)
    );
}
