//! `backfill` end to end against the Convex stand-in and the Batch API stand-in: repetitions whose
//! failures repeat get one report each with no second request for a repeated failure, no
//! synchronous chat call with `--batch`, error-file and invalid answers retried in the next round,
//! an expired batch's missing requests sent again, a killed backfill resumed without a second
//! upload, a model's runs past `runs:listRuns`' 40 reached through its history, and runs analyzed
//! at once that still reuse an earlier run's verdict and never spend past the budget together.

use std::process::{Command, Stdio};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use evaltriage_tests::batch_api::FakeBatchApi;
use evaltriage_tests::{EXAMPLE_RUN, FakeConvex, FakeLlm, example_store, report_texts};
use serde_json::{Value, json};

use crate::common::{CLI_ENV, json, run};

/// A deployment with `n` repetitions of the example run by one model, an hour ago.
async fn repetitions(n: usize) -> FakeConvex {
    models_with_repetitions(1, n).await
}

/// A deployment with `n` repetitions of the example run by each of `models` models
/// (`prov/model-a`, `prov/model-b`, ...), a second apart, the models' runs interleaved, an hour
/// ago.
async fn models_with_repetitions(models: usize, n: usize) -> FakeConvex {
    let convex = FakeConvex::from_store(&example_store()).await;
    let template = convex.state.runs.lock().unwrap().remove(EXAMPLE_RUN).expect("the example run");
    convex.state.models.lock().unwrap().clear();
    let base =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as f64 - 3_600_000.0;
    for i in 0..n {
        for m in 0..models {
            let letter = char::from(b'a' + m as u8);
            let mut doc: Value = template.clone();
            // The report's file name holds the id's first 8 characters: each run's are its own.
            doc["_id"] = json!(format!("r{m}{i:04}{}", "x".repeat(26)));
            doc["modelId"] = json!(format!("md0{m}{}", letter.to_string().repeat(28)));
            doc["model"] = json!(format!("prov/model-{letter}"));
            doc["formattedName"] = json!(format!("prov/model-{letter}"));
            doc["_creationTime"] = json!(base + (i * models + m) as f64 * 1_000.0);
            doc["status"] = json!({"kind": "completed", "durationMs": 60000});
            convex.add_run(doc);
        }
    }
    convex
}

fn args<'a>(convex: &'a str, reports: &'a str, llm: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut a = vec![
        "backfill",
        "--convex-url",
        convex,
        "--reports-dir",
        reports,
        "--since",
        "7d",
        "--llm-base-url",
        llm,
        "--llm-model",
        "test-model",
    ];
    a.extend_from_slice(extra);
    a
}

#[tokio::test(flavor = "multi_thread")]
async fn a_batch_backfill_reports_every_run_with_no_chat_call_and_no_second_request_for_a_repeat() {
    let convex = repetitions(3).await;
    let api = FakeBatchApi::start().await;
    api.state.error_once.store(true, Ordering::SeqCst);
    api.state.garbage_once.lock().unwrap().insert("000-fundamentals/002-queries".to_owned());
    let dir = tempfile::tempdir().unwrap();
    let reports = dir.path().join("reports");
    let (r, l) = (reports.to_string_lossy().into_owned(), api.base_url());
    let (code, out, err) = run(dir.path(), &args(&convex.url(), &r, &l, &["--batch", "--poll-secs", "1", "--json"]));
    assert!(code == 0 || code == 1, "{code}\n{out}\n{err}");
    let v = json(&out);
    let texts = report_texts(&reports);
    assert_eq!(texts.len(), 3, "one report per run: {out}\n{err}");
    assert_eq!(api.count(&api.state.chat_calls), 0, "no synchronous chat call");
    let reused = v["reused"].as_u64().unwrap();
    assert!(reused > 0, "the repeated failures reused the first run's verdicts: {out}");
    // The first run's failures, once each, plus its retries (one error-file line, one invalid
    // answer) and the three syntheses.
    let distinct = texts[0].matches("\"signature\":").count().max(texts[1].matches("\"signature\":").count());
    let requests = api.count(&api.state.requests);
    assert!(requests <= distinct + 2 + 3, "{requests} requests for {distinct} distinct failures: {out}\n{err}");
    assert!(texts.iter().all(|t| !t.contains("no valid answer came back")), "every retried request ended done");
    assert!(texts.iter().any(|t| t.contains("verdict reused")), "a reused verdict says so");
    assert!(err.contains("validating") || err.contains("in_progress"), "the batch was polled: {err}");
    // The first run's report says what its answers took in the batch (each 1,000 + 100 tokens),
    // though it was written from the cache with no call.
    let usage = texts[0].lines().find(|l| l.starts_with("- **Token usage**")).unwrap_or_default();
    assert!(usage.contains("prompt +") && usage.contains("completion"), "{usage}");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_expired_batch_sends_its_missing_requests_again() {
    let convex = repetitions(1).await;
    let api = FakeBatchApi::start().await;
    api.state.expire_once.store(true, Ordering::SeqCst);
    let dir = tempfile::tempdir().unwrap();
    let reports = dir.path().join("reports");
    let (r, l) = (reports.to_string_lossy().into_owned(), api.base_url());
    let (code, out, err) = run(dir.path(), &args(&convex.url(), &r, &l, &["--batch", "--poll-secs", "1"]));
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(err.contains("ended expired"), "{err}");
    assert!(api.count(&api.state.batches_created) >= 2, "the missing requests went into a second batch");
    let texts = report_texts(&reports);
    assert_eq!(texts.len(), 1);
    assert!(!texts[0].contains("no valid answer came back"), "{}", texts[0]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_killed_batch_backfill_resumes_its_batch_without_a_second_upload() {
    let convex = repetitions(2).await;
    let api = FakeBatchApi::start().await;
    api.state.hold.store(true, Ordering::SeqCst);
    let dir = tempfile::tempdir().unwrap();
    let reports = dir.path().join("reports");
    let (r, l) = (reports.to_string_lossy().into_owned(), api.base_url());
    let url = convex.url();
    let a = args(&url, &r, &l, &["--batch", "--poll-secs", "1"]);
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_evaltriage-e2e"));
    cmd.current_dir(dir.path()).args(&a).stdout(Stdio::null()).stderr(Stdio::null());
    for var in CLI_ENV {
        cmd.env_remove(var);
    }
    let mut child = cmd.spawn().unwrap();
    let start = Instant::now();
    while api.count(&api.state.batches_created) == 0 {
        assert!(start.elapsed() < Duration::from_secs(60), "no batch was created");
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(300));
    child.kill().unwrap();
    child.wait().unwrap();
    let uploads = api.count(&api.state.uploads);
    let (code, out, _) = run(dir.path(), &["backfill", "status", "--reports-dir", &r]);
    assert_eq!(code, 0);
    assert!(out.contains("in progress") && out.contains("batch_0"), "{out}");

    api.state.hold.store(false, Ordering::SeqCst);
    let (code, out, err) = run(dir.path(), &a);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(err.contains("resuming"), "{err}");
    assert_eq!(report_texts(&reports).len(), 2);
    // Only the syntheses' round uploads anything new.
    assert_eq!(api.count(&api.state.uploads), uploads + 1, "the first batch was not uploaded again");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_synchronous_backfill_reuses_the_first_runs_verdicts_for_repeats() {
    let convex = repetitions(3).await;
    let llm = FakeLlm::start().await;
    let dir = tempfile::tempdir().unwrap();
    let reports = dir.path().join("reports");
    let (r, l) = (reports.to_string_lossy().into_owned(), llm.base_url());
    let (code, out, err) = run(dir.path(), &args(&convex.url(), &r, &l, &["--json"]));
    assert_eq!(code, 0, "{out}\n{err}");
    let texts = report_texts(&reports);
    assert_eq!(texts.len(), 3);
    let first_calls = llm.requests();
    let distinct = texts[0].matches("\"signature\":").count();
    // Each distinct failure once, and a synthesis per run.
    assert!(first_calls <= distinct + 3, "{first_calls} calls for {distinct} distinct failures");
    assert!(json(&out)["reused"].as_u64().unwrap() >= 2 * distinct as u64 - 1, "{out}");
    // --reuse never analyses every failure afresh.
    let dir2 = tempfile::tempdir().unwrap();
    let r2 = dir2.path().join("reports").to_string_lossy().into_owned();
    let (code, _, err) = run(dir2.path(), &args(&convex.url(), &r2, &l, &["--reuse", "never"]));
    assert_eq!(code, 0, "{err}");
    assert!(llm.requests() - first_calls >= 3 * distinct, "never reuses nothing");
    let (code, _, err) = run(dir2.path(), &args(&convex.url(), &r2, &l, &["--reuse", "sometimes"]));
    assert_eq!(code, 2, "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_model_with_more_runs_in_the_window_than_listruns_gives_gets_every_complete_run_backfilled() {
    // 45 complete runs (runs:listRuns gives the newest 40) and, before them, a failed run that no
    // query but listRuns returns.
    let convex = repetitions(45).await;
    let mut failed = convex.run_doc(&format!("r00000{}", "x".repeat(26))).unwrap();
    failed["_id"] = json!(format!("fail0000{}", "x".repeat(24)));
    failed["_creationTime"] = json!(failed["_creationTime"].as_f64().unwrap() - 60_000.0);
    failed["status"] =
        json!({"kind": "failed", "failureReason": "[rate_limit] Aborted after 5 rate-limit errors", "durationMs": 1});
    convex.add_run(failed);
    let dir = tempfile::tempdir().unwrap();
    let reports = dir.path().join("reports");
    let r = reports.to_string_lossy().into_owned();
    let url = convex.url();
    let a = ["backfill", "--convex-url", &url, "--reports-dir", &r, "--since", "7d", "--classifier", "rules", "--json"];
    let (code, out, err) = run(dir.path(), &a);
    assert_eq!(code, 0, "{out}\n{err}");
    let v = json(&out);
    assert_eq!(report_texts(&reports).len(), 45, "every complete run, the 5 before listRuns' 40 too: {err}");
    assert_eq!(v["reached_past_listing"], 5, "{out}");
    // One history call to reach past the listing, one for the analyses' baselines (asked once per
    // process): one model, default.
    assert_eq!(convex.queries_of("runs:leaderboardModelHistory"), 2, "{err}");
    let notes = v["notes"].to_string();
    assert!(notes.contains("failed runs there were not seen"), "the failed run it could not reach is said: {notes}");
    let first = v["runs"][0]["run_id"].as_str().unwrap();
    assert!(first.starts_with("r00000"), "the digest is in the window's order, oldest first: {first}");
}

/// The requests for one eval's verdict (the synthesis names no eval).
fn verdict_requests(llm: &FakeLlm) -> usize {
    llm.state.bodies.lock().unwrap().iter().filter(|b| b.contains("Eval: ")).count()
}

#[tokio::test(flavor = "multi_thread")]
async fn runs_at_once_still_reuse_an_earlier_runs_verdict_for_a_repeated_failure() {
    // Two models, two repetitions each, all four runs allowed at once: a model's second run starts
    // only after its first is written, so each repeated failure is one request and one reuse.
    let convex = models_with_repetitions(2, 2).await;
    let llm = FakeLlm::start().await;
    llm.set_latency(Duration::from_millis(50));
    let dir = tempfile::tempdir().unwrap();
    let reports = dir.path().join("reports");
    let (r, l) = (reports.to_string_lossy().into_owned(), llm.base_url());
    let (code, out, err) = run(dir.path(), &args(&convex.url(), &r, &l, &["--concurrent-runs", "4", "--json"]));
    assert_eq!(code, 0, "{out}\n{err}");
    let texts = report_texts(&reports);
    assert_eq!(texts.len(), 4);
    let distinct = texts[0].matches("\"signature\":").count();
    assert!(distinct > 0);
    assert_eq!(verdict_requests(&llm), 2 * distinct, "one request per distinct failure of each model: {err}");
    assert_eq!(json(&out)["reused"], 2 * distinct, "the second run of each model reused every verdict: {out}");
    let models: Vec<&str> = texts.iter().map(|t| if t.contains("prov/model-a") { "a" } else { "b" }).collect();
    assert!(models.contains(&"a") && models.contains(&"b"));
}

#[tokio::test(flavor = "multi_thread")]
async fn runs_at_once_never_spend_past_the_budget_together() {
    // Answers as large as their requests allow (more than the estimate), and slow (every run is
    // admitted before any has spent): four runs at once, with a budget that admits two runs by
    // their estimates, must still spend no more than the budget together.
    let convex = models_with_repetitions(4, 1).await;
    let llm = FakeLlm::start().await;
    llm.state.worst_case_usage.store(true, Ordering::SeqCst);
    llm.set_latency(Duration::from_millis(400));
    let dir = tempfile::tempdir().unwrap();
    let reports = dir.path().join("reports");
    let (r, l) = (reports.to_string_lossy().into_owned(), llm.base_url());
    let store = example_store();
    let (code, out, err) = run(
        dir.path(),
        &["analyze-run", store.to_str().unwrap(), "--llm-base-url", &l, "--llm-model", "m", "--estimate", "--json"],
    );
    assert_eq!(code, 0, "{err}");
    let each = json(&out)["total_tokens"].as_u64().unwrap();
    let budget = each * 2 + each / 20;
    let extra = ["--concurrent-runs", "4", "--budget-tokens", &budget.to_string(), "--reuse", "same-output", "--json"];
    let (code, out, err) = run(dir.path(), &args(&convex.url(), &r, &l, &extra));
    assert_eq!(code, 0, "{out}\n{err}");
    let v = json(&out);
    let told = llm.state.tokens.load(Ordering::SeqCst);
    assert!(told > 0, "something was analyzed: {out}");
    assert!(told <= budget, "the endpoint was asked for {told} tokens against a budget of {budget}: {out}");
    assert!(v["tokens_spent"].as_u64().unwrap() <= budget, "{out}");
    let outcomes: Vec<&str> = v["runs"].as_array().unwrap().iter().map(|r| r["outcome"].as_str().unwrap()).collect();
    assert!(outcomes.contains(&"left"), "the budget left runs for later: {outcomes:?}");
}

/// A run waiting for an earlier run's report (a failure it shares) keeps its own failure's first
/// request: once the earlier report exists, that failure's prompt gains context (a prior label),
/// but it is not asked again. Two runs, six distinct failures: six verdict requests.
#[tokio::test(flavor = "multi_thread")]
async fn a_waiting_runs_own_failure_is_asked_once_though_its_prompt_gains_context() {
    let convex = repetitions(2).await;
    let second = format!("r00001{}", "x".repeat(26));
    let mut doc = convex.run_doc(&second).unwrap();
    let eval = evaltriage_tests::eval_mut(&mut doc, "002-queries/009-channel_summary");
    let error = "convex/summary.ts(9,14): error TS2322: Type 'number' is not assignable to type 'string'.";
    evaltriage_tests::failed_step_mut(eval)["status"]["failureReason"] = json!(error);
    convex.add_run(doc);
    let api = FakeBatchApi::start().await;
    let dir = tempfile::tempdir().unwrap();
    let reports = dir.path().join("reports");
    let (r, l) = (reports.to_string_lossy().into_owned(), api.base_url());
    let (code, out, err) = run(dir.path(), &args(&convex.url(), &r, &l, &["--batch", "--poll-secs", "1", "--json"]));
    assert!(code == 0 || code == 1, "{code}\n{out}\n{err}");
    let texts = report_texts(&reports);
    assert_eq!(texts.len(), 2, "{out}\n{err}");
    assert!(texts.iter().all(|t| !t.contains("no valid answer came back")), "every verdict answered");
    let files = api.state.files.lock().unwrap();
    let inputs = files.iter().filter(|(id, _)| id.starts_with("file-in")).map(|(_, b)| String::from_utf8_lossy(b));
    let verdict_lines: usize =
        inputs.map(|b| b.lines().filter(|l| l.contains("triaging the failed evals")).count()).sum();
    assert_eq!(verdict_lines, 6, "one request per distinct failure: {out}");
    assert!(api.count(&api.state.requests) <= 6 + 2, "and at most two syntheses: {out}");
}
