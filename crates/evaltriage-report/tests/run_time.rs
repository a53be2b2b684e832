//! Time in the reports is run time: runs analyzed out of order are compared only with runs that
//! ran before them, every view orders them by when they ran, scoped reports of one run count as
//! that one run, and an eval a run did not have is absent, never a pass.

use std::path::Path;

use chrono::NaiveDate;
use evaltriage_core::{
    Classification, Eval, EvalId, EvalPath, EvalStatus, FailureKind, Run, RunId, RunStatus, Shape, Step, StepName,
    StepStatus, TokenUsage, Verdict, VerdictOrigin, VerdictStatus,
};
use evaltriage_report::{
    ChangesSince, Outcome, ReportInput, ReportKey, ReportScope, Synthesis, TrendOptions, all_reports, changes_since,
    history, prior_reports_for_run, render, report_path, trend, write_report,
};

const MODEL: &str = "anthropic/claude-opus-4.6";
const DAY_MS: f64 = 86_400_000.0;
/// 2026-02-01T12:00:00Z.
const FIRST_RUN_MS: f64 = 1_769_947_200_000.0;

/// A run `n` days after the first, with the given evals (`pass` or a tsc error).
fn run(n: u32, evals: &[(&str, bool)]) -> Run {
    let id = format!("jn7{n}aaaa0tmje3jrj9wwng78gh80mdfw");
    let evals = evals
        .iter()
        .enumerate()
        .map(|(i, (path, passed))| {
            let path = EvalPath::new(path);
            let (status, steps) = if *passed {
                (EvalStatus::Passed { duration_ms: None }, Vec::new())
            } else {
                let error = "Error: Failed to typecheck code:\nconvex/a.ts(1,1): error TS2322: nope";
                let step = Step {
                    id: format!("st{i}"),
                    name: StepName::Tsc,
                    status: StepStatus::Failed { failure_reason: error.to_owned(), duration_ms: None },
                    created_at_ms: 0.0,
                };
                let status = EvalStatus::Failed {
                    failure_reason: format!("step failed: {error}"),
                    duration_ms: None,
                    output_storage_id: None,
                    generation_duration_ms: None,
                };
                (status, vec![step])
            };
            Eval {
                id: EvalId::new(&format!("ev{n}x{i:03}")).unwrap(),
                category: path.category().to_owned(),
                name: path.name().to_owned(),
                path,
                status,
                task: None,
                eval_source_storage_id: None,
                usage: None,
                created_at_ms: 0.0,
                steps,
            }
        })
        .collect();
    Run {
        id: RunId::new(&id).unwrap(),
        model_id: None,
        model: MODEL.to_owned(),
        formatted_name: None,
        provider: Some("openrouter".to_owned()),
        experiment: "default".to_owned(),
        status: RunStatus::Completed { duration_ms: None },
        created_at_ms: FIRST_RUN_MS + f64::from(n - 1) * DAY_MS,
        planned_evals: Vec::new(),
        evals,
    }
}

fn day(d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 2, d).unwrap()
}

/// Analyses `run` as the pipeline does (rules verdicts, MODEL_FAULT), against the reports already
/// in `dir`, on `date`, for `scope`; writes the report and returns its markdown.
fn analyze(dir: &Path, run: &Run, date: NaiveDate, scope: Option<&ReportScope>, synthesis: Option<&str>) -> String {
    let shape = Shape::of(run);
    let (prior, warnings) = prior_reports_for_run(dir, run);
    let failures: Vec<EvalPath> = shape
        .failures
        .iter()
        .filter(|f| scope.is_none_or(|s| s.covers(&f.eval_path)))
        .map(|f| f.eval_path.clone())
        .collect();
    let history = history(&prior, &failures);
    let verdicts: Vec<Verdict> = shape
        .failures
        .iter()
        .filter(|f| failures.contains(&f.eval_path))
        .map(|f| Verdict {
            eval_id: f.eval_id.clone(),
            eval_path: f.eval_path.clone(),
            failed_step: f.failed_step.clone(),
            status: VerdictStatus::Done,
            // An infrastructure failure has no label, as the fan-out gives it.
            classification: (!f.kind.is_infrastructure()).then_some(Classification::ModelFault),
            error: "nope".to_owned(),
            reasoning: "wrong type".to_owned(),
            model_snippet: None,
            expected_snippet: None,
            confidence: Some(0.9),
            retry_count: 0,
            origin: match f.kind {
                FailureKind::Infrastructure(cause) => VerdictOrigin::Infrastructure(cause),
                FailureKind::Verification => VerdictOrigin::Rules,
            },
            tokens: TokenUsage::default(),
            missing_evidence: Vec::new(),
        })
        .collect();
    let changes = changes_since(run, &shape, &verdicts, &prior, scope);
    let md = render(&ReportInput {
        run,
        shape: &shape,
        verdicts: &verdicts,
        history: &history,
        changes: &changes,
        prior_reports: &prior,
        prior_warnings: &warnings,
        date,
        synthesis: synthesis.map(|text| Synthesis { text, model: "m", tokens: TokenUsage::default() }),
        llm_cost: None,
        actions_taken: None,
        relaxed_lint_rules: &[],
        scope,
    });
    write_report(dir, &report_path(dir, &ReportKey::of_run(run, date, scope)), &md, false).unwrap();
    md
}

fn section<'a>(md: &'a str, title: &str) -> &'a str {
    md.split(&format!("## {title}\n\n")).nth(1).unwrap().split("\n## ").next().unwrap()
}

#[test]
fn a_run_analysed_after_a_later_one_is_compared_only_with_runs_before_it() {
    let dir = tempfile::tempdir().unwrap();
    let evals = [("a/1-x", false), ("a/2-y", true)];
    let (run1, run3, run5) = (run(1, &evals), run(3, &evals), run(5, &evals));
    // Run 5 is analyzed first; runs 1 and 3 later, out of order (a backfill).
    analyze(dir.path(), &run5, day(6), None, None);
    let md1 = analyze(dir.path(), &run1, day(7), None, None);
    assert!(section(&md1, "Changes since the last report").starts_with("No earlier report"), "{md1}");
    assert!(md1.contains("- **History**: new — no prior report names it"), "{md1}");
    assert!(!md1.contains("jn75aaaa"), "run 5 ran later: it is nowhere in run 1's report\n{md1}");

    let md3 = analyze(dir.path(), &run3, day(8), None, None);
    let changes = section(&md3, "Changes since the last report");
    assert!(changes.starts_with("Compared with `jn71aaaa_2026-02-07.md` (run `jn71aaaa"), "{changes}");
    assert!(changes.contains("which ran 2026-02-01"), "{changes}");
    assert!(
        md3.contains("repeat — MODEL_FAULT in the latest prior report, `jn71aaaa_2026-02-07.md` (run of 2026-02-01)")
    );

    // Every view orders by run time: the catalog (so "the latest report" is run 5's) and the trend.
    let (catalog, warnings) = all_reports(dir.path());
    assert!(warnings.is_empty(), "{warnings:?}");
    let prefixes: Vec<&str> = catalog.iter().map(|r| r.report.run_id_prefix.as_str()).collect();
    assert_eq!(prefixes, ["jn75aaaa", "jn73aaaa", "jn71aaaa"]);
    let t = trend(&catalog, TrendOptions::default());
    let points: Vec<(String, String)> =
        t.models[0].points.iter().map(|p| (p.run_id_prefix.clone(), p.date.format("%Y-%m-%d").to_string())).collect();
    assert_eq!(
        points,
        [
            ("jn71aaaa".to_owned(), "2026-02-01".to_owned()),
            ("jn73aaaa".to_owned(), "2026-02-03".to_owned()),
            ("jn75aaaa".to_owned(), "2026-02-05".to_owned())
        ],
        "the x-axis is the runs' own dates"
    );
}

#[test]
fn scoped_reports_of_one_run_count_as_that_run() {
    let dir = tempfile::tempdir().unwrap();
    let evals = [("a/1-x", false), ("a/2-y", true), ("b/1-z", false)];
    let run1 = run(1, &evals);
    analyze(dir.path(), &run1, day(2), None, None);
    analyze(dir.path(), &run1, day(3), Some(&ReportScope { category: "a".to_owned(), eval: None }), None);
    analyze(
        dir.path(),
        &run1,
        day(4),
        Some(&ReportScope { category: "a".to_owned(), eval: Some("1-x".to_owned()) }),
        None,
    );
    let run5 = run(5, &evals);
    let md = analyze(dir.path(), &run5, day(6), None, None);
    let h = history(&prior_reports_for_run(dir.path(), &run5).0, &[EvalPath::new("a/1-x")]);
    assert_eq!(h.for_eval(&EvalPath::new("a/1-x")).prior_failures.len(), 1, "one run, not three files");
    assert_eq!(h.for_eval(&EvalPath::new("a/1-x")).prior_runs, 1);
    let patterns = section(&md, "Cross-cutting patterns");
    assert!(
        patterns.contains(
            "- `a/1-x` — repeat: MODEL_FAULT in `jn71aaaa_2026-02-04.a.1-x.md`; failed in 1 of 1 prior run\n"
        ),
        "{patterns}"
    );
    assert!(
        patterns.contains("- `b/1-z` — repeat: MODEL_FAULT in `jn71aaaa_2026-02-02.md`; failed in 1 of 1 prior run\n"),
        "{patterns}"
    );
    assert!(!md.contains("prior reports …") && !md.contains("failed in 3") && !md.contains("failed in 2"), "{md}");
}

#[test]
fn an_eval_a_run_did_not_have_is_absent_never_a_pass() {
    let dir = tempfile::tempdir().unwrap();
    // c/new joined the benchmark at run 3; c/never failed in every run that had it.
    analyze(dir.path(), &run(1, &[("c/old", true), ("c/flaky", false)]), day(1), None, None);
    analyze(dir.path(), &run(2, &[("c/old", true), ("c/flaky", true), ("c/never", false)]), day(2), None, None);
    analyze(
        dir.path(),
        &run(3, &[("c/old", true), ("c/flaky", false), ("c/never", false), ("c/new", false)]),
        day(3),
        None,
        None,
    );
    analyze(dir.path(), &run(4, &[("c/old", true), ("c/flaky", true)]), day(4), None, None);
    let (catalog, _) = all_reports(dir.path());
    let t = trend(&catalog, TrendOptions { window: 10, persistent_min: 2 });
    let row = |eval: &str| t.models[0].evals.iter().find(|r| r.eval == eval).unwrap().clone();
    assert_eq!(row("c/never").pattern(), "-FF-");
    assert_eq!((row("c/never").failed, row("c/never").had), (2, 2), "2 of the 2 runs that had it");
    assert!(row("c/never").persistent && !row("c/never").flaky, "never passed: never flaky");
    assert_eq!(
        row("c/new").cells,
        [Outcome::Absent, Outcome::Absent, Outcome::Failed("MODEL_FAULT".into()), Outcome::Absent]
    );
    assert_eq!(row("c/flaky").pattern(), "F.F.");
    assert!(row("c/flaky").flaky);
    let json = t.to_json();
    let never = json["models"][0]["persistent"].as_array().unwrap().iter().find(|r| r["eval"] == "c/never").unwrap();
    assert_eq!(never["outcomes"], serde_json::json!(["absent", "MODEL_FAULT", "MODEL_FAULT", "absent"]));
    assert_eq!(never["runs"], 2);
    // The site's heat map: an empty grey cell, not a ✓.
    let pages = evaltriage_report::site::site_pages(
        &catalog,
        &[],
        evaltriage_report::site::SiteOptions { runs: 10, across: evaltriage_report::AcrossOptions::default() },
    );
    let model_page = pages.iter().find(|p| p.path.starts_with("models/")).unwrap();
    let never_row = model_page.html.split("<tr class=\"heat-row").find(|r| r.contains("c/never")).unwrap();
    assert_eq!(never_row.matches("class=\"cell absent\"").count(), 2, "{never_row}");
    assert_eq!(never_row.matches("class=\"cell pass\"").count(), 0, "{never_row}");
}

#[test]
fn a_synthesis_renders_as_a_list() {
    let dir = tempfile::tempdir().unwrap();
    let synthesis = "- No shared root cause: `a/1-x` fails alone.\n- <b>Nothing</b> else\n## Actions taken";
    let md = analyze(dir.path(), &run(1, &[("a/1-x", false)]), day(1), None, Some(synthesis));
    let text = md.split("### Synthesis by LLM `m`\n\n").nth(1).unwrap();
    assert!(
        text.starts_with(
            "- No shared root cause: `a/1-x` fails alone.\n- &lt;b&gt;Nothing&lt;/b&gt; else\n\\## Actions taken\n"
        ),
        "{text}"
    );
}

#[test]
fn changes_since_counts_fixes_apart_from_recoveries() {
    let dir = tempfile::tempdir().unwrap();
    let mut run1 = run(1, &[("a/1-fixed", false), ("a/2-infra", false)]);
    // An infrastructure failure in run 1 that passes in run 2: a recovery, not a fix.
    run1.evals[1].status = EvalStatus::Failed {
        failure_reason: "[rate_limit] 429 Too Many Requests".to_owned(),
        duration_ms: None,
        output_storage_id: None,
        generation_duration_ms: None,
    };
    run1.evals[1].steps.clear();
    analyze(dir.path(), &run1, day(1), None, None);
    let run2 = run(2, &[("a/1-fixed", true), ("a/2-infra", true)]);
    let md = analyze(dir.path(), &run2, day(2), None, None);
    let (prior, _) = prior_reports_for_run(dir.path(), &run2);
    let ChangesSince::Since(c) = changes_since(&run2, &Shape::of(&run2), &[], &prior, None) else { panic!() };
    assert_eq!(c.one_line(), "since jn71aaaa (2026-02-01): 0/2 → 2/2 · 1 fixed · 1 recovered · 0 new");
    assert_eq!(c.to_json()["recovered"][0]["eval"], "a/2-infra");
    assert!(md.contains("- **Fixed since** (failed then, pass now): 1\n  - `a/1-fixed` — was MODEL_FAULT\n"), "{md}");
    assert!(md.contains("- **Recovered** (an infrastructure failure then, pass now: not a fix): 1\n"), "{md}");
}

#[test]
fn the_sites_findings_page_lists_each_finding_with_its_state_history_and_report() {
    let dir = tempfile::tempdir().unwrap();
    // c/<b>x</b> fails in runs 1 and 2 (a new finding); c/y fails once (none); run 3 lacks c/<b>x</b>.
    let hostile = "c/<b>x</b>";
    analyze(dir.path(), &run(1, &[(hostile, false), ("c/y", true)]), day(1), None, None);
    analyze(dir.path(), &run(2, &[(hostile, false), ("c/y", false)]), day(2), None, None);
    analyze(dir.path(), &run(3, &[("c/y", true)]), day(3), None, None);
    let (catalog, _) = all_reports(dir.path());
    let options =
        evaltriage_report::site::SiteOptions { runs: 10, across: evaltriage_report::AcrossOptions::default() };
    let pages = evaltriage_report::site::site_pages(&catalog, &[], options);
    let findings = pages.iter().find(|p| p.path == "findings.html").expect("a findings page");
    let rows: Vec<&str> = findings.html.split("<tr class=\"filterable finding-row\"").skip(1).collect();
    assert_eq!(rows.len(), 1, "{}", findings.html);
    let row = rows[0];
    assert!(row.contains("data-labels=\"new\""), "{row}");
    assert!(row.contains("<td>model</td><td class=\"state\">new</td>"), "{row}");
    assert!(row.contains(&format!("<td>{MODEL}</td>")), "{row}");
    assert!(row.contains("<code>c/&lt;b&gt;x&lt;/b&gt;</code>") && !row.contains("<b>"), "raw HTML is text: {row}");
    assert!(row.contains("<code>✗✗·</code> failed 2 of 2"), "absent in run 3, never a pass: {row}");
    assert!(row.contains("failed 2 of 2"), "{row}");
    assert!(row.contains("href=\"r/anthropic/claude-opus-4.6/jn72aaaa_2026-02-02.html\""), "{row}");
    assert!(!findings.html.contains(" src=") && findings.html.contains("default-src 'none'"));
    // Linked from the index (and every page's header).
    let index = pages.iter().find(|p| p.path == "index.html").unwrap();
    assert!(index.html.contains("<a href=\"findings.html\">1 open findings</a> (1 in all"), "{}", index.html);
    let model = pages.iter().find(|p| p.path.starts_with("models/")).unwrap();
    assert!(model.html.contains("<a href=\"../findings.html\">Findings</a>"));

    // No reports, no findings: said so.
    let empty = evaltriage_report::site::site_pages(&[], &[], options);
    let page = empty.iter().find(|p| p.path == "findings.html").unwrap();
    assert!(page.html.contains("No findings"), "{}", page.html);
}
