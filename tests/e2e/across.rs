//! Across runs and models through the real CLI (issue 22): the analyzed run's baseline and
//! regressions, a grader suspect shared by four models (and not one failing for one model), and
//! a claimed fix verified after two passing runs and reopened by a failure (`findings --json`).
//! Reports are made here: small reports of ours (a block with the run time, passed evals and
//! verdicts with their errors), several models, repetitions and claims.

use std::path::Path;

use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};

use crate::common::{json as parse, run};
use evaltriage_tests::example_store;

/// The example run's evals (19), its model and when it ran.
pub(crate) const MODEL: &str = "anthropic/claude-sonnet-4.5";
pub(crate) const RAN_AT: &str = "2026-11-20T14:02:11.482Z";

pub(crate) fn example_evals() -> Vec<String> {
    let store = example_store();
    let path = store.join("runs/jn7ak4x9m2qw8hd5tz3vc6pe1r0bfs7g.json");
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    doc["evals"].as_array().unwrap().iter().map(|e| e["evalPath"].as_str().unwrap().to_owned()).collect()
}

/// Writes one report of ours: `failed` as (eval, step, error), every other eval of `evals` passed.
pub(crate) fn report(
    dir: &Path,
    model: &str,
    n: usize,
    ran_at: DateTime<Utc>,
    evals: &[String],
    failed: &[(&str, &str, &str)],
    actions: &str,
) -> std::path::PathBuf {
    // `cla2xxxx...`: the model's first letters and the run's number, 32 characters.
    let run_id = format!("{:x<32}", format!("{}{n}", &model.replace(['/', '.', '-'], "")[1..4]));
    let date = ran_at.format("%Y-%m-%d").to_string();
    let passed: Vec<&String> = evals.iter().filter(|e| !failed.iter().any(|f| f.0 == e.as_str())).collect();
    let verdicts: Vec<Value> = failed
        .iter()
        .enumerate()
        .map(|(i, (eval, step, error))| {
            json!({
                "eval_id": format!("e{i}"),
                "eval_path": eval,
                "failed_step": step,
                "status": "done",
                "classification": "MODEL_FAULT",
                "error": error,
                "reasoning": "made for the test",
                "origin": {"kind": "rules"},
            })
        })
        .collect();
    let block = json!({
        "run_id": run_id,
        "model": model,
        "experiment": "default",
        "date": date,
        "ran_at": ran_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        "passed": passed.len(),
        "total": passed.len() + failed.len(),
        "passed_evals": passed,
        "verdicts": verdicts,
    });
    let actions = if actions.is_empty() { "None".to_owned() } else { actions.to_owned() };
    let text = format!(
        "# Run Analysis Report: {model}\n\n- **Model**: `{model}`\n\n## Actions taken\n\n{actions}\n\n<!-- evaltriage:v1 {} -->\n",
        block.to_string().replace('<', "\\u003c").replace('>', "\\u003e").replace('&', "\\u0026")
    );
    let folder = dir.join(model);
    std::fs::create_dir_all(&folder).unwrap();
    let path = folder.join(format!("{}_{date}.md", &run_id[..8]));
    std::fs::write(&path, text).unwrap();
    path
}

const PAGINATE: &str = "002-queries/015-paginate_messages";
/// The example run's decisive error for PAGINATE, with other numbers and values: the same
/// normalised error.
const PAGINATE_ERROR: &str = "tests failed (60%): × first page holds the most recently sent messages — AssertionError: expected [ 'm3', 'm1' ] to deeply equal [ 'm5', 'm4' ]";

#[test]
fn the_baseline_names_the_regressions_and_a_shared_failure_is_a_grader_suspect() {
    let temp = tempfile::tempdir().unwrap();
    let reports = temp.path().join("reports");
    let evals = example_evals();
    let ran_at: DateTime<Utc> = RAN_AT.parse().unwrap();
    // Four earlier repetitions: the example's 009-channel_summary and 003-daily_report failures
    // failed in every one of them; its three other verification failures always passed.
    let always = [
        ("002-queries/009-channel_summary", "tsc", "convex/a.ts(1,2): error TS2345: nope"),
        ("004-actions/003-daily_report", "eslint", "27:1  error  no await  @typescript-eslint/require-await"),
    ];
    for k in 0..4 {
        let mut failed = always.to_vec();
        if k == 1 {
            failed.push(("000-fundamentals/003-crons", "tests", "tests failed (50%)"));
        }
        report(&reports, MODEL, k, ran_at - Duration::hours(4 * (4 - k as i64)), &evals, &failed, "");
    }
    // Three other models fail PAGINATE the same way this week, two pass it; one model fails
    // another eval alone.
    for (i, model) in ["p/alpha", "p/beta", "p/gamma"].iter().enumerate() {
        let failed = [(PAGINATE, "tests", PAGINATE_ERROR)];
        report(&reports, model, 0, ran_at - Duration::days(i as i64 + 1), &evals, &failed, "");
    }
    for model in ["p/delta", "p/epsilon"] {
        report(&reports, model, 0, ran_at - Duration::days(2), &evals, &[], "");
    }
    let alone = [("001-data_modeling/005-chat_schema", "deploy", "400 Bad Request: IndexFieldsContainCreationTime")];
    report(&reports, "p/delta", 1, ran_at - Duration::days(1), &evals, &alone, "");

    let r = reports.to_str().unwrap();
    let store = example_store();
    let (code, out, err) = run(
        temp.path(),
        &["analyze-run", store.to_str().unwrap(), "--classifier", "rules", "--reports-dir", r, "--json"],
    );
    assert_eq!(code, 0, "{err}");
    let summary = parse(&out);
    let baseline = &summary["across"]["baseline"];
    assert_eq!(baseline["n"], 4, "{baseline:#}");
    let regressions: Vec<&str> =
        baseline["regressions"].as_array().unwrap().iter().map(|r| r["eval"].as_str().unwrap()).collect();
    assert_eq!(
        regressions,
        ["001-data_modeling/005-chat_schema", PAGINATE, "003-mutations/006-delete_user_cascade"],
        "{baseline:#}"
    );
    assert_eq!(baseline["regressions"][1]["pattern"], "✓✓✓✓✗");
    assert_eq!(baseline["standing"], "below");
    let suspects = summary["across"]["grader_suspects"].as_array().unwrap();
    assert_eq!(suspects.len(), 1, "{suspects:#?}");
    assert_eq!(suspects[0]["eval"], PAGINATE);
    assert_eq!(suspects[0]["failing_models"], 4);
    assert_eq!(suspects[0]["models_that_ran"], 6);

    let text = std::fs::read_to_string(summary["report_path"].as_str().unwrap()).unwrap();
    assert!(text.contains("## Baseline: this model's earlier runs"), "{text}");
    let mean = baseline["mean"].as_f64().unwrap() * 100.0;
    let sd = baseline["sd"].as_f64().unwrap() * 100.0;
    assert!(text.contains(&format!("against {mean:.1}% ± {sd:.1} over 4 runs")), "{text}");
    assert!(text.contains("| `003-mutations/006-delete_user_cascade` | tests | 4/4 | `✓✓✓✓✗` |"), "{text}");
    assert!(text.contains("## Grader suspects"), "{text}");
    assert!(text.contains("for 4 of 6 models that ran it"), "{text}");
    assert!(text.contains("## Open findings for this model"), "{text}");
    // The rules weigh the suspect: not the model's fault.
    let verdict = summary["verdicts"].as_array().unwrap().iter().find(|v| v["eval_path"] == PAGINATE).unwrap();
    assert_eq!(verdict["classification"], "OVERLY_STRICT", "{verdict:#}");

    // The text summary names them too.
    let (code, out, err) = run(temp.path(), &["findings", "--kind", "grader", "--reports-dir", r, "--json"]);
    assert_eq!(code, 0, "{err}");
    let listed = parse(&out);
    let grader = listed["findings"].as_array().unwrap();
    assert_eq!(grader.len(), 1, "{listed:#}");
    assert_eq!(grader[0]["eval"], PAGINATE);
    assert_eq!(grader[0]["suspect"]["failing_models"], 4);
    let (code, out, _) = run(temp.path(), &["findings", "--kind", "grader", "--reports-dir", r]);
    assert_eq!(code, 0);
    assert!(out.contains(PAGINATE) && !out.contains("005-chat_schema"), "{out}");
    // Bad input is one line and exit 2.
    let (code, _, err) = run(temp.path(), &["findings", "--min-share", "2", "--reports-dir", r]);
    assert_eq!(code, 2, "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    let (code, _, err) = run(temp.path(), &["findings", "show", "m-00000000", "--reports-dir", r]);
    assert_ne!(code, 0, "{err}");
}

fn state_of(findings: &Value, eval: &str) -> (String, Vec<String>) {
    let f = findings["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["eval"] == eval && f["kind"] != "grader")
        .unwrap_or_else(|| panic!("no finding for {eval}: {findings:#}"));
    let runs = f["deciding_runs"].as_array().unwrap().iter().map(|r| r["run_id_prefix"].as_str().unwrap().to_owned());
    (f["state"].as_str().unwrap().to_owned(), runs.collect())
}

#[test]
fn a_claimed_fix_is_verified_after_two_passing_runs_and_reopened_after_a_failure() {
    let temp = tempfile::tempdir().unwrap();
    let reports = temp.path().join("reports");
    let r = reports.to_str().unwrap();
    let evals: Vec<String> = ["c/x", "c/y", "c/ok"].iter().map(|s| (*s).to_owned()).collect();
    let model = "p/claimer";
    let now = Utc::now();
    let fail_both = [("c/x", "tests", "tests failed (50%)"), ("c/y", "tests", "tests failed (50%)")];
    report(&reports, model, 1, now - Duration::days(2), &evals, &fail_both, "");
    // A hand-written claim for c/x in the second run's Actions taken.
    report(&reports, model, 2, now - Duration::days(1), &evals, &fail_both, "- relaxed the grader of `c/x`");
    let findings = |temp: &Path| {
        let (code, out, err) = run(temp, &["findings", "--model", model, "--reports-dir", r, "--json"]);
        assert_eq!(code, 0, "{err}");
        parse(&out)
    };
    let before = findings(temp.path());
    assert_eq!(state_of(&before, "c/x").0, "fix-claimed");
    assert_eq!(state_of(&before, "c/y").0, "new");
    // A claim by command, written into the second run's report.
    let id = before["findings"].as_array().unwrap().iter().find(|f| f["eval"] == "c/y").unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (code, out, err) =
        run(temp.path(), &["findings", "claim", &id, "--note", "fixed the task text", "--reports-dir", r]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("fix-claimed"), "{out}");
    let written = std::fs::read_to_string(
        reports.join(model).join(format!("cla2xxxx_{}.md", (now - Duration::days(1)).format("%Y-%m-%d"))),
    )
    .unwrap_or_default();
    assert!(
        written.contains("- relaxed the grader of `c/x`\n- ") && written.contains("`c/y` — fixed the task text"),
        "{written}"
    );
    assert_eq!(state_of(&findings(temp.path()), "c/y").0, "fix-claimed");

    // Two passing runs after the claims verify both.
    report(&reports, model, 3, now + Duration::hours(1), &evals, &[], "");
    report(&reports, model, 4, now + Duration::hours(2), &evals, &[], "");
    let verified = findings(temp.path());
    let (state, deciding) = state_of(&verified, "c/x");
    assert_eq!(state, "verified");
    assert_eq!(deciding, ["cla2xxxx", "cla3xxxx", "cla4xxxx"]);
    assert_eq!(state_of(&verified, "c/y").0, "verified");
    // A failure after the claim reopens it.
    report(&reports, model, 5, now + Duration::hours(3), &evals, &[fail_both[1]], "");
    let reopened = findings(temp.path());
    assert_eq!(state_of(&reopened, "c/x").0, "verified");
    let (state, deciding) = state_of(&reopened, "c/y");
    assert_eq!(state, "reopened");
    assert_eq!(deciding, ["cla2xxxx", "cla5xxxx"]);
    let (code, out, _) = run(temp.path(), &["findings", "--state", "reopened", "--reports-dir", r]);
    assert_eq!(code, 0);
    assert!(out.contains("c/y") && !out.contains("c/x"), "{out}");
    let (code, out, _) = run(temp.path(), &["findings", "show", &id, "--reports-dir", r]);
    assert_eq!(code, 0);
    assert!(out.contains("deciding runs:") && out.contains("cla5xxxx"), "{out}");
}

const EXAMPLE_RUN: &str = "jn7ak4x9m2qw8hd5tz3vc6pe1r0bfs7g";

/// The example run document.
fn example_doc() -> Value {
    let path = example_store().join(format!("runs/{EXAMPLE_RUN}.json"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// An earlier repetition of the example run (`n` hours before it, id ending in `n`): every eval
/// passed but `still_failing`, which fail as in the example.
fn earlier_repetition(n: u32, still_failing: &[&str]) -> Value {
    let mut doc = example_doc();
    let id = format!("jn7rep{n:02}m2qw8hd5tz3vc6pe1r0bfs7g");
    doc["_id"] = json!(id);
    doc["_creationTime"] = json!(doc["_creationTime"].as_f64().unwrap() - f64::from(n) * 3_600_000.0);
    for eval in doc["evals"].as_array_mut().unwrap() {
        eval["runId"] = json!(id);
        let path = eval["evalPath"].as_str().unwrap().to_owned();
        if eval["status"]["kind"] == "failed" && !still_failing.contains(&path.as_str()) {
            eval["status"] = json!({"kind": "passed", "durationMs": 1000});
            for step in eval["steps"].as_array_mut().unwrap() {
                step["status"] = json!({"kind": "passed", "durationMs": 100});
            }
        }
    }
    doc
}

const ALWAYS_FAILING: [&str; 2] = ["002-queries/009-channel_summary", "004-actions/003-daily_report"];
const REGRESSIONS: [&str; 3] =
    ["001-data_modeling/005-chat_schema", "002-queries/015-paginate_messages", "003-mutations/006-delete_user_cascade"];

fn regressions_of(summary: &Value) -> Vec<String> {
    let baseline = &summary["across"]["baseline"];
    baseline["regressions"].as_array().unwrap().iter().map(|r| r["eval"].as_str().unwrap().to_owned()).collect()
}

/// A model's first analysis, with no report of it anywhere: its four earlier repetitions come
/// from the deployment (`runs:leaderboardModelHistory`, then each one's document) and name the
/// three evals that always passed and failed now. A run of another experiment is not among them,
/// and a run a report covers is not fetched again.
#[tokio::test(flavor = "multi_thread")]
async fn the_baseline_is_read_from_the_deployment_when_no_report_covers_the_runs() {
    let convex = evaltriage_tests::FakeConvex::from_store(&example_store()).await;
    for n in 1..=4 {
        convex.add_run(earlier_repetition(n, &ALWAYS_FAILING));
    }
    let mut other = earlier_repetition(5, &[]);
    other["experiment"] = json!("no_guidelines");
    convex.add_run(other);
    let temp = tempfile::tempdir().unwrap();
    let reports = temp.path().join("reports");
    let r = reports.to_str().unwrap().to_owned();
    let url = convex.url();
    let (code, out, err) = run(
        temp.path(),
        &["analyze-run", EXAMPLE_RUN, "--convex-url", &url, "--classifier", "rules", "--reports-dir", &r, "--json"],
    );
    assert_eq!(code, 0, "{err}");
    let summary = parse(&out);
    let baseline = &summary["across"]["baseline"];
    assert_eq!(baseline["n"], 4, "{baseline:#}");
    assert_eq!(regressions_of(&summary), REGRESSIONS, "{baseline:#}");
    assert_eq!(baseline["regressions"][0]["pattern"], "✓✓✓✓✗");
    assert!(baseline["runs"].as_array().unwrap().iter().all(|r| r["from"] == "source"), "{baseline:#}");
    let note = baseline["source_note"].as_str().unwrap();
    assert!(note.starts_with("4 of 4 earlier runs read from http"), "{note}");
    let persistent: Vec<&str> =
        baseline["persistent"].as_array().unwrap().iter().map(|p| p["eval"].as_str().unwrap()).collect();
    assert_eq!(persistent, ALWAYS_FAILING, "{baseline:#}");
    assert_eq!(convex.queries_of("runs:leaderboardModelHistory"), 1);
    assert_eq!(convex.queries_of("runs:getRunDetails"), 5, "the run and its four repetitions");
    let text = std::fs::read_to_string(summary["report_path"].as_str().unwrap()).unwrap();
    assert!(text.contains("Runs: 0 from the reports folder, 4 read from the source"), "{text}");
    assert!(text.contains("| `002-queries/015-paginate_messages` | tests | 4/4 | `✓✓✓✓✗` |"), "{text}");

    // The next repetition: the example's report now covers the first run, so only the three
    // others are read again.
    let mut next = example_doc();
    next["_id"] = json!("jn7next0m2qw8hd5tz3vc6pe1r0bfs7g");
    next["_creationTime"] = json!(next["_creationTime"].as_f64().unwrap() + 3_600_000.0);
    let next = convex.add_run(next);
    let before = convex.queries_of("runs:getRunDetails");
    let (code, out, err) = run(
        temp.path(),
        &["analyze-run", &next, "--convex-url", &url, "--classifier", "rules", "--reports-dir", &r, "--json"],
    );
    assert_eq!(code, 0, "{err}");
    let summary = parse(&out);
    let baseline = &summary["across"]["baseline"];
    assert_eq!(baseline["n"], 5, "{baseline:#}");
    let from: Vec<&str> = baseline["runs"].as_array().unwrap().iter().map(|r| r["from"].as_str().unwrap()).collect();
    assert_eq!(from, ["source", "source", "source", "source", "report"], "{baseline:#}");
    assert_eq!(
        convex.queries_of("runs:getRunDetails") - before,
        5,
        "the run and four repetitions, not the reported one"
    );
}

/// A store holding a model's repetitions gives the baseline too; a deployment that cannot answer
/// the history query leaves a note, and the analysis goes on.
#[tokio::test(flavor = "multi_thread")]
async fn a_store_gives_the_baseline_and_an_unreadable_history_is_a_note() {
    let temp = tempfile::tempdir().unwrap();
    let store = temp.path().join("store");
    evaltriage_tests::copy_tree(&example_store(), &store);
    for n in 1..=4 {
        let doc = earlier_repetition(n, &ALWAYS_FAILING);
        let id = doc["_id"].as_str().unwrap().to_owned();
        std::fs::write(store.join(format!("runs/{id}.json")), doc.to_string()).unwrap();
    }
    let reports = temp.path().join("reports");
    let r = reports.to_str().unwrap().to_owned();
    let (code, out, err) = run(
        temp.path(),
        &[
            "analyze-run",
            EXAMPLE_RUN,
            "--store",
            store.to_str().unwrap(),
            "--classifier",
            "rules",
            "--reports-dir",
            &r,
            "--json",
        ],
    );
    assert_eq!(code, 0, "{err}");
    let summary = parse(&out);
    assert_eq!(summary["across"]["baseline"]["n"], 4, "{summary:#}");
    assert_eq!(regressions_of(&summary), REGRESSIONS);

    // A deployment whose history query fails: the baseline says so and the report is written.
    let convex = evaltriage_tests::FakeConvex::from_store(&example_store()).await;
    convex.fail_history();
    let url = convex.url();
    let other = temp.path().join("other");
    let (code, out, err) = run(
        temp.path(),
        &[
            "analyze-run",
            EXAMPLE_RUN,
            "--convex-url",
            &url,
            "--classifier",
            "rules",
            "--reports-dir",
            other.to_str().unwrap(),
            "--json",
        ],
    );
    assert_eq!(code, 0, "{err}");
    let summary = parse(&out);
    let note = summary["across"]["baseline"]["source_note"].as_str().unwrap();
    assert!(note.starts_with("the model's runs could not be listed"), "{note}");
    assert_eq!(summary["across"]["baseline"]["standing"], "too_few_runs");
}
