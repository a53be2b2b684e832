//! `analyze-run` end to end: the example store offline with the rules classifier, and a full
//! analysis of a visualizer URL against Convex and LLM stand-ins; re-runs, `--force`, the JSON
//! output, exit codes, the cache, and the API key never leaking.

use std::path::Path;

use evaltriage_tests::{FakeConvex, FakeLlm, LlmAnswer, copy_tree, example_reports, example_store};

use crate::common::{cli, json, run, run_with};

const RUN: &str = "jn7ak4x9m2qw8hd5tz3vc6pe1r0bfs7g";
const MODEL_DIR: &str = "anthropic/claude-sonnet-4.5";
const INFRA_EVALS: [&str; 2] = ["000-fundamentals/004-scheduler", "004-actions/000-fetch_quote"];
const SECRET: &str = "sk-test-0123456789-very-secret";

fn today_report(reports: &Path) -> std::path::PathBuf {
    let date = chrono_free_today();
    reports.join(MODEL_DIR).join(format!("{}_{date}.md", &RUN[..8]))
}

/// Today's UTC date as `YYYY-MM-DD`, without a date crate: days since the epoch to a civil date.
fn chrono_free_today() -> String {
    let secs = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    let z = (secs / 86_400) as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

fn scratch_with_prior_reports() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let reports = dir.path().join("reports");
    copy_tree(&example_reports(), &reports);
    (dir, reports)
}

#[test]
fn the_example_store_is_analysed_offline_and_never_overwritten_without_force() {
    let (dir, reports) = scratch_with_prior_reports();
    let store = example_store();
    let store = store.to_str().unwrap();
    let reports_arg = reports.to_str().unwrap();

    let (code, out, err) = run(dir.path(), &["analyze-run", store, "--reports-dir", reports_arg]);
    assert_eq!(code, 0, "{err}");
    let path = today_report(&reports);
    assert!(out.contains(&path.display().to_string()), "the summary names the report: {out}");
    assert!(out.contains("no LLM was used"), "{out}");
    assert!(out.contains("next:"), "{out}");
    let report = std::fs::read_to_string(&path).unwrap();
    for section in [
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
    ] {
        assert!(report.contains(section), "missing {section}");
    }
    assert!(report.contains("jn75q2w8_2026-11-08.md"), "the prior report is named");
    assert!(report.contains("002-queries/009-channel_summary — MODEL_FAULT (repeat)"), "{report}");

    // A second run never replaces the report silently.
    let (code, _, err) = run(dir.path(), &["analyze-run", store, "--reports-dir", reports_arg]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--force"), "{err}");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), report, "the report is untouched");

    // --force replaces it and keeps the hand-edited Actions taken.
    let edited = report.replacen(
        "## Actions taken\n\nNone",
        "## Actions taken\n\n- Filed an issue about the pagination grader.",
        1,
    );
    assert_ne!(edited, report, "the report has an Actions taken section that says None");
    std::fs::write(&path, &edited).unwrap();
    let (code, _, err) = run(dir.path(), &["analyze-run", store, "--reports-dir", reports_arg, "--force"]);
    assert_eq!(code, 0, "{err}");
    let replaced = std::fs::read_to_string(&path).unwrap();
    assert!(replaced.contains("Filed an issue about the pagination grader."), "{replaced}");
    let leftovers: Vec<_> =
        std::fs::read_dir(path.parent().unwrap()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(leftovers.len(), 2, "the prior report and ours, no temporary files: {leftovers:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_visualizer_url_is_analysed_with_the_llm_and_the_key_never_leaks() {
    let convex = FakeConvex::from_store(&example_store()).await;
    let llm = FakeLlm::start().await;
    llm.answer("002-queries/015-paginate_messages", LlmAnswer::Label("KNOWN_GAP"));
    llm.answer("004-actions/003-daily_report", LlmAnswer::Label("OVERLY_STRICT"));
    let (dir, reports) = scratch_with_prior_reports();
    let url = format!("https://convex-evals.example/model/anthropic%2Fclaude-sonnet-4.5/experiment/default/run/{RUN}/");
    let args = [
        "analyze-run",
        &url,
        "--convex-url",
        &convex.url(),
        "--llm-base-url",
        &llm.base_url(),
        "--llm-model",
        "test-model",
        "--reports-dir",
        reports.to_str().unwrap(),
        "--json",
    ];
    let mut cmd = cli(dir.path());
    cmd.env("OPENAI_API_KEY", SECRET).env("RUST_LOG", "debug");
    let (code, out, err) = run_with(cmd, &args);
    assert_eq!(code, 0, "{err}");
    let v = json(&out);
    for field in ["report_path", "run_id", "model", "total", "passed", "failed", "verdicts"] {
        assert!(v.get(field).is_some(), "missing {field}: {v}");
    }
    assert_eq!(v["run_id"], RUN);
    assert_eq!(v["model"], "anthropic/claude-sonnet-4.5");
    assert_eq!((v["total"].as_u64(), v["passed"].as_u64(), v["failed"].as_u64()), (Some(19), Some(12), Some(7)));
    let verdicts = v["verdicts"].as_array().unwrap();
    assert_eq!(verdicts.len(), 7);
    for verdict in verdicts {
        for field in ["eval_id", "eval_path", "failed_step", "classification", "status", "retry_count", "repeat"] {
            assert!(verdict.get(field).is_some(), "verdict lacks {field}: {verdict}");
        }
    }
    let by_path = |p: &str| verdicts.iter().find(|x| x["eval_path"] == p).unwrap().clone();
    assert_eq!(by_path("002-queries/015-paginate_messages")["classification"], "KNOWN_GAP");
    assert_eq!(by_path("004-actions/003-daily_report")["classification"], "OVERLY_STRICT");
    assert_eq!(by_path("004-actions/003-daily_report")["repeat"], true);
    assert_eq!(by_path("003-mutations/006-delete_user_cascade")["classification"], "MODEL_FAULT");
    assert_eq!(by_path("003-mutations/006-delete_user_cascade")["repeat"], false);
    for infra in INFRA_EVALS {
        assert_eq!(by_path(infra)["classification"], serde_json::Value::Null, "{infra}");
        assert_eq!(by_path(infra)["status"], "done", "{infra}");
    }

    // Five verification failures, one call each, plus the synthesis; infrastructure never sent.
    assert_eq!(llm.requests(), 6);
    for body in llm.state.bodies.lock().unwrap().iter() {
        for infra in INFRA_EVALS {
            assert!(!body.contains(&format!("Eval: {infra}")), "{infra} was sent to the LLM");
        }
    }
    let auth = llm.state.auth_headers.lock().unwrap().clone();
    assert!(auth.iter().all(|a| a == &format!("Bearer {SECRET}")), "{auth:?}");

    let report_path = v["report_path"].as_str().unwrap();
    let report = std::fs::read_to_string(report_path).unwrap();
    assert!(report.contains("test-model"), "the report names the analyzing model");
    assert!(report.contains("The fake LLM labels 004-actions/003-daily_report as OVERLY_STRICT."));
    for text in [&out, &err, &report] {
        assert!(!text.contains(SECRET), "the API key leaked");
    }

    // Without --force the same analysis is refused before any call.
    let mut cmd = cli(dir.path());
    cmd.env("OPENAI_API_KEY", SECRET);
    let (code, _, err) = run_with(cmd, &args);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--force"), "{err}");
    assert_eq!(llm.requests(), 6, "a refused re-run costs nothing");

    // The same analysis again costs no call: every verdict comes from the cache.
    let mut cmd = cli(dir.path());
    cmd.env("OPENAI_API_KEY", SECRET);
    let mut again = args.to_vec();
    again.push("--force");
    let (code, _, err) = run_with(cmd, &again);
    assert_eq!(code, 0, "{err}");
    assert_eq!(llm.requests(), 6, "an unchanged run costs no call: the verdicts and the synthesis come from the cache");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_answer_that_never_validates_is_an_error_verdict_and_exit_1() {
    let convex = FakeConvex::from_store(&example_store()).await;
    let llm = FakeLlm::start().await;
    llm.answer("003-mutations/006-delete_user_cascade", LlmAnswer::Garbage);
    let (dir, reports) = scratch_with_prior_reports();
    let args = [
        "analyze-run",
        RUN,
        "--convex-url",
        &convex.url(),
        "--llm-base-url",
        &llm.base_url(),
        "--reports-dir",
        reports.to_str().unwrap(),
        "--max-retries",
        "2",
        "--no-cache",
        "--json",
    ];
    let (code, out, err) = run(dir.path(), &args);
    assert_eq!(code, 1, "completed with errors: {err}");
    let v = json(&out);
    let bad = v["verdicts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["eval_path"] == "003-mutations/006-delete_user_cascade")
        .unwrap()
        .clone();
    assert_eq!(bad["status"], "error");
    assert_eq!(bad["classification"], serde_json::Value::Null, "never a guessed label");
    assert_eq!(bad["retry_count"], 2);
    let others_done = v["verdicts"].as_array().unwrap().iter().filter(|x| x["status"] == "done").count();
    assert_eq!(others_done, 6);
    let report = std::fs::read_to_string(v["report_path"].as_str().unwrap()).unwrap();
    assert!(report.contains("003-mutations/006-delete_user_cascade"), "the failed analysis is in the report");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_eval_level_url_analyses_that_eval_only() {
    let convex = FakeConvex::from_store(&example_store()).await;
    let (dir, reports) = scratch_with_prior_reports();
    let doc: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(example_store().join("runs").join(format!("{RUN}.json"))).unwrap(),
    )
    .unwrap();
    let eval = doc["evals"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["evalPath"] == "003-mutations/006-delete_user_cascade")
        .unwrap();
    let url = format!(
        "https://viz.example/experiment/default/run/{RUN}/003-mutations/{}?tab=steps",
        eval["_id"].as_str().unwrap()
    );
    let (code, out, err) = run(
        dir.path(),
        &["analyze-run", &url, "--convex-url", &convex.url(), "--reports-dir", reports.to_str().unwrap(), "--json"],
    );
    assert_eq!(code, 0, "{err}");
    let v = json(&out);
    let verdicts = v["verdicts"].as_array().unwrap();
    assert_eq!(verdicts.len(), 1, "{v}");
    assert_eq!(verdicts[0]["eval_path"], "003-mutations/006-delete_user_cascade");
    assert_eq!(v["total"], 19, "the run is still fetched for context");
}

#[test]
fn bad_input_exits_2_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let store = example_store();
    let store = store.to_str().unwrap();
    std::fs::write(dir.path().join("broken.toml"), "concurrency = \"lots\"\n").unwrap();
    let cases: [&[&str]; 6] = [
        &["analyze-run", "not a target"],
        &["analyze-run", store, "--concurrency", "9"],
        &["analyze-run", store, "--max-retries", "0"],
        &["analyze-run", store, "--classifier", "llm"],
        &["analyze-run", store, "--config", "broken.toml"],
        &["analyze-run", store, "--config", "missing.toml"],
    ];
    for args in cases {
        let (code, out, err) = run(dir.path(), args);
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(out.is_empty(), "{args:?}: {out}");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
        assert!(err.trim().lines().count() <= 4, "{args:?}: {err}");
    }
    assert!(!dir.path().join("reports").exists(), "nothing was written");
}

#[test]
fn estimate_prints_calls_and_tokens_without_calling() {
    let dir = tempfile::tempdir().unwrap();
    let store = example_store();
    let mut cmd = cli(dir.path());
    // An endpoint nobody listens on: an estimate must not call it.
    cmd.env("OPENAI_API_KEY", SECRET);
    let (code, out, err) = run_with(
        cmd,
        &["analyze-run", store.to_str().unwrap(), "--estimate", "--llm-base-url", "http://127.0.0.1:9/v1", "--json"],
    );
    assert_eq!(code, 0, "{err}");
    let v = json(&out);
    assert_eq!(v["failures"], 7);
    assert_eq!(v["infrastructure"], 2);
    // Five verification failures and the cross-cutting synthesis.
    assert_eq!(v["calls"], 6);
    assert_eq!(v["synthesis_call"], true);
    assert!(v["prompt_tokens"].as_u64().unwrap() > 500, "{v}");
    assert!(!dir.path().join("reports").exists(), "an estimate writes no report");
}
