//! `runs list` and `nightly` end to end against the Convex and LLM stand-ins: listing across
//! models, a repeat that does nothing, the budget, sampling, the webhook, the lock, and a soak of
//! simulated nights with faults after which every finished run has exactly one report.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use evaltriage_tests::{EXAMPLE_RUN, FakeConvex, FakeLlm, example_store};
use serde_json::{Value, json};

use crate::common::{CLI_ENV, json, run};

/// A model of the fake deployment: its document id and slug.
fn model(i: usize) -> (String, String) {
    (format!("md{i:02}{}", "a".repeat(28)), format!("prov{i}/model-{i}"))
}

/// A run id whose 8-character prefix (the report file name's) is unique.
fn run_id(model: usize, n: usize) -> String {
    format!("r{model:02}{n:05}{}", "x".repeat(24))
}

/// The example run, as another run of another model: same evals and blobs.
fn run_doc(template: &Value, model_index: usize, n: usize, created_ms: f64, status: &str) -> Value {
    let (id, slug) = model(model_index);
    let mut doc = template.clone();
    doc["_id"] = json!(run_id(model_index, n));
    doc["modelId"] = json!(id);
    doc["model"] = json!(slug);
    doc["formattedName"] = json!(slug);
    doc["_creationTime"] = json!(created_ms);
    doc["status"] = match status {
        "completed" => json!({"kind": "completed", "durationMs": 60000}),
        "failed" => json!({"kind": "failed", "failureReason": "runner stopped", "durationMs": 60000}),
        other => json!({"kind": other}),
    };
    doc
}

/// A deployment holding the example store's blobs and no run, and the example run's document.
async fn deployment() -> (FakeConvex, Value) {
    let convex = FakeConvex::from_store(&example_store()).await;
    let template = convex.state.runs.lock().unwrap().remove(EXAMPLE_RUN).expect("the example run");
    convex.state.models.lock().unwrap().clear();
    (convex, template)
}

fn now_ms() -> f64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as f64
}

/// The report files in a reports folder, by run id prefix.
fn reports_by_prefix(reports: &Path) -> BTreeMap<String, Vec<PathBuf>> {
    let mut found: BTreeMap<String, Vec<PathBuf>> = BTreeMap::new();
    let mut stack = vec![reports.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        for entry in entries.flatten() {
            let p = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            if p.is_dir() {
                if name != "nightly" && name != ".evaltriage" && name != ".cache" {
                    stack.push(p);
                }
            } else if let Some((prefix, _)) = name.strip_suffix(".md").and_then(|n| n.split_once('_')) {
                found.entry(prefix.to_owned()).or_default().push(p);
            }
        }
    }
    found
}

fn nightly_args<'a>(convex: &'a str, reports: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec!["nightly", "--convex-url", convex, "--reports-dir", reports];
    args.extend_from_slice(extra);
    args
}

/// The CLI as a child process (to kill it, or to hold the lock while another runs).
fn spawn(cwd: &Path, args: &[&str]) -> Child {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_evaltriage-e2e"));
    cmd.current_dir(cwd).args(args).stdout(Stdio::null()).stderr(Stdio::piped());
    for var in CLI_ENV {
        cmd.env_remove(var);
    }
    cmd.env("NO_COLOR", "1").spawn().expect("spawn the CLI")
}

fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < Duration::from_secs(60), "timed out waiting until {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn listing_finds_every_models_runs_when_the_newest_40_are_one_models() {
    let (convex, template) = deployment().await;
    let base = now_ms() - 3_600_000.0;
    // Model 1 made 45 runs, all newer than anything else; models 2 and 3 a few older ones.
    for n in 0..45 {
        convex.add_run(run_doc(&template, 1, n, base + 10_000.0 + n as f64, "completed"));
    }
    convex.add_run(run_doc(&template, 2, 0, base + 1.0, "completed"));
    convex.add_run(run_doc(&template, 2, 1, base + 2.0, "running"));
    convex.add_run(run_doc(&template, 3, 0, base, "failed"));
    let dir = tempfile::tempdir().unwrap();
    let url = convex.url();

    let (code, out, err) = run(dir.path(), &["runs", "list", "--convex-url", &url, "--json"]);
    assert_eq!(code, 0, "{err}");
    let v = json(&out);
    let ids: Vec<&str> = v["runs"].as_array().unwrap().iter().map(|r| r["run_id"].as_str().unwrap()).collect();
    for other in [run_id(2, 0), run_id(2, 1), run_id(3, 0)] {
        assert!(ids.contains(&other.as_str()), "{other} is listed: {ids:?}");
    }
    assert_eq!(ids.len(), 43, "model 1's newest 40 and the other models' 3");
    assert_eq!(v["models"], 3);
    assert_eq!(v["requests"], 4, "one page of models and one listRuns per model");
    assert_eq!(v["models_with_older_runs_unseen"], json!(["prov1/model-1"]));
    assert_eq!(v["runs"][0]["evals"]["total"], 19, "evalCounts come through");

    // Filters: a model glob and the status.
    let (code, out, _) = run(
        dir.path(),
        &["runs", "list", "--convex-url", &url, "--model", "prov2/*", "--status", "finished", "--json"],
    );
    assert_eq!(code, 0);
    let v = json(&out);
    assert_eq!(v["runs"].as_array().unwrap().len(), 1);
    assert_eq!(v["runs"][0]["run_id"], run_id(2, 0));
    assert_eq!(v["requests"], 2, "only the matching model's runs are asked for");

    let (code, out, _) = run(dir.path(), &["runs", "list", "--convex-url", &url, "--limit", "2"]);
    assert_eq!(code, 0);
    assert!(out.contains(&run_id(1, 44)) && out.contains("3 models"), "{out}");
    let (code, _, err) = run(dir.path(), &["runs", "list", "--convex-url", &url, "--since", "yesterday"]);
    assert_eq!(code, 2, "a bad --since is a usage error: {err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn model_pages_are_followed_to_the_end() {
    let (convex, template) = deployment().await;
    let base = now_ms() - 3_600_000.0;
    for m in 0..105 {
        convex.add_run(run_doc(&template, m, 0, base + m as f64, "completed"));
    }
    let dir = tempfile::tempdir().unwrap();
    let (code, out, err) = run(dir.path(), &["runs", "list", "--convex-url", &convex.url(), "--json"]);
    assert_eq!(code, 0, "{err}");
    let v = json(&out);
    assert_eq!(v["runs"].as_array().unwrap().len(), 105);
    assert_eq!(convex.queries_of("models:listModels"), 2, "two pages of 100");
    assert_eq!(v["requests"], 2 + 105);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_second_nightly_the_same_night_calls_no_llm_and_writes_no_report() {
    let (convex, template) = deployment().await;
    let llm = FakeLlm::start().await;
    let base = now_ms() - 3_600_000.0;
    convex.add_run(run_doc(&template, 1, 0, base, "completed"));
    convex.add_run(run_doc(&template, 2, 0, base + 1.0, "failed"));
    convex.add_run(run_doc(&template, 2, 1, base + 2.0, "running"));
    let dir = tempfile::tempdir().unwrap();
    let reports = dir.path().join("reports");
    let (url, reports_arg, llm_url) = (convex.url(), reports.to_str().unwrap().to_owned(), llm.base_url());
    let args = nightly_args(&url, &reports_arg, &["--llm-base-url", &llm_url, "--json"]);

    let (code, out, err) = run(dir.path(), &args);
    assert_eq!(code, 0, "{err}");
    let first = json(&out);
    assert!(err.contains("[1/3]") && err.contains(&run_id(1, 0)), "progress on stderr: {err}");
    let outcomes: Vec<&str> =
        first["runs"].as_array().unwrap().iter().map(|r| r["outcome"].as_str().unwrap()).collect();
    assert_eq!(outcomes, ["analyzed", "analyzed", "left"]);
    assert_eq!(first["runs"][2]["why"], "still running");
    let calls = llm.requests();
    assert!(calls > 0);
    let written = reports_by_prefix(&reports);
    assert_eq!(written.len(), 2, "{written:?}");
    let digest_path = PathBuf::from(first["digest_path"].as_str().unwrap());
    let state: Value =
        serde_json::from_str(&std::fs::read_to_string(reports.join(".evaltriage/nightly.json")).unwrap()).unwrap();
    assert_eq!(state["marks"]["prov1/model-1"]["high_water_ms"], json!(base));
    // Model 2's mark stops at its finished run: the running one after it waits.
    assert_eq!(state["marks"]["prov2/model-2"]["high_water_ms"], json!(base + 1.0));

    // Again, the same night: nothing to do, nothing spent, whatever the state file says.
    std::fs::remove_file(reports.join(".evaltriage/nightly.json")).unwrap();
    let (code, out, err) = run(dir.path(), &args);
    assert_eq!(code, 0, "{err}");
    assert_eq!(llm.requests(), calls, "no LLM call");
    assert_eq!(reports_by_prefix(&reports), written, "no new report");
    let second = json(&out);
    let outcomes: Vec<&str> =
        second["runs"].as_array().unwrap().iter().map(|r| r["outcome"].as_str().unwrap()).collect();
    assert_eq!(outcomes, ["already_reported", "already_reported", "left"]);
    let digest = std::fs::read_to_string(&digest_path).unwrap();
    assert_eq!(digest.matches("## Nightly started").count(), 2, "the day's digest is extended: {digest}");
    assert!(digest.contains("### Left for the next night") && digest.contains("still running"), "{digest}");
    assert!(digest.contains("[report](../prov1/model-1/r0100000_"), "{digest}");

    // The run finishes: the next night analyses it alone.
    let mut doc = convex.run_doc(&run_id(2, 1)).unwrap();
    doc["status"] = json!({"kind": "completed", "durationMs": 1});
    convex.add_run(doc);
    let (code, out, err) = run(dir.path(), &args);
    assert_eq!(code, 0, "{err}");
    let third = json(&out);
    assert_eq!(third["runs"].as_array().unwrap().len(), 1, "only the run at the mark's edge: {third}");
    assert_eq!(third["runs"][0]["outcome"], "analyzed");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_budget_covers_the_night_and_the_rest_waits() {
    let (convex, template) = deployment().await;
    let llm = FakeLlm::start().await;
    let base = now_ms() - 3_600_000.0;
    for n in 0..3 {
        convex.add_run(run_doc(&template, 1, n, base + n as f64, "completed"));
    }
    let dir = tempfile::tempdir().unwrap();
    let reports = dir.path().join("reports");
    let (url, reports_arg, llm_url) = (convex.url(), reports.to_str().unwrap().to_owned(), llm.base_url());

    let (code, out, err) =
        run(dir.path(), &nightly_args(&url, &reports_arg, &["--llm-base-url", &llm_url, "--dry-run", "--json"]));
    assert_eq!(code, 0, "{err}");
    let plan = json(&out);
    let each = plan["runs"][0]["estimated_tokens"].as_u64().unwrap();
    assert!(each > 0 && plan["estimated_tokens"].as_u64().unwrap() == 3 * each, "{plan}");
    assert_eq!(llm.requests(), 0, "a dry run calls no LLM");
    assert!(reports_by_prefix(&reports).is_empty() && !reports.join("nightly").exists(), "a dry run writes nothing");

    let budget = (each + each / 2).to_string();
    let (code, out, err) = run(
        dir.path(),
        &nightly_args(
            &url,
            &reports_arg,
            &["--llm-base-url", &llm_url, "--budget-tokens", &budget, "--reuse", "same-output", "--json"],
        ),
    );
    assert_eq!(code, 0, "{err}");
    let v = json(&out);
    let outcomes: Vec<&str> = v["runs"].as_array().unwrap().iter().map(|r| r["outcome"].as_str().unwrap()).collect();
    assert_eq!(outcomes, ["analyzed", "left", "left"], "{v}");
    assert!(v["runs"][1]["why"].as_str().unwrap().starts_with("token budget"), "{v}");
    assert!(v["tokens_spent"].as_u64().unwrap() <= each + each / 2);
    let digest = std::fs::read_to_string(v["digest_path"].as_str().unwrap()).unwrap();
    assert!(digest.contains("token budget"), "the digest says why: {digest}");

    let (code, out, err) = run(dir.path(), &nightly_args(&url, &reports_arg, &["--llm-base-url", &llm_url, "--json"]));
    assert_eq!(code, 0, "{err}");
    let v = json(&out);
    let outcomes: Vec<&str> = v["runs"].as_array().unwrap().iter().map(|r| r["outcome"].as_str().unwrap()).collect();
    assert_eq!(outcomes, ["analyzed", "analyzed"], "the runs left wait in the window: {v}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_priced_night_says_what_its_tokens_cost_in_the_dry_run_the_digest_and_the_json() {
    let (convex, template) = deployment().await;
    let llm = FakeLlm::start().await;
    convex.add_run(run_doc(&template, 1, 0, now_ms() - 3_600_000.0, "completed"));
    let dir = tempfile::tempdir().unwrap();
    // The default analysing model's price: $2 and $8 a million prompt and completion tokens.
    let prices = "[prices.\"gpt-4.1-mini\"]\ninput_per_million = 2.0\noutput_per_million = 8.0\n";
    std::fs::write(dir.path().join("evaltriage.toml"), prices).unwrap();
    let reports = dir.path().join("reports");
    let (url, reports_arg, llm_url) = (convex.url(), reports.to_str().unwrap().to_owned(), llm.base_url());

    let (code, out, err) =
        run(dir.path(), &nightly_args(&url, &reports_arg, &["--llm-base-url", &llm_url, "--dry-run"]));
    assert_eq!(code, 0, "{err}");
    let cost = out.lines().find(|l| l.starts_with("cost: ")).unwrap_or_else(|| panic!("no cost line: {out}"));
    assert!(
        cost.contains(" synchronous, ~$")
            && cost.ends_with(" through the Batch API (prices for gpt-4.1-mini from evaltriage.toml)"),
        "{cost}"
    );

    let (code, out, err) = run(dir.path(), &nightly_args(&url, &reports_arg, &["--llm-base-url", &llm_url, "--json"]));
    assert_eq!(code, 0, "{err}");
    let v = json(&out);
    // Five verification failures and the synthesis, 1,200 + 150 tokens each.
    assert_eq!(v["tokens_spent"], 8_100, "{v}");
    let usd = (6.0 * 1_200.0 * 2.0 + 6.0 * 150.0 * 8.0) / 1e6;
    assert!((v["llm_cost"]["usd"].as_f64().unwrap() - usd).abs() < 1e-12, "{v}");
    assert!((v["runs"][0]["llm_cost"]["usd"].as_f64().unwrap() - usd).abs() < 1e-12, "{v}");
    let digest = std::fs::read_to_string(v["digest_path"].as_str().unwrap()).unwrap();
    assert!(digest.contains("LLM tokens spent: 8100 (~$0.0216).\n"), "{digest}");
}

/// What a dry run's action and a night's outcome each mean, in one vocabulary.
fn planned_as(action: &str) -> &'static str {
    match action.split(':').next().unwrap_or_default() {
        "analyze" => "analyze",
        "skip" => "reported",
        "shape only" => "sampled",
        "wait" => "wait",
        _ => "other",
    }
}

fn done_as(outcome: &str) -> &'static str {
    match outcome {
        "analyzed" => "analyze",
        "already_reported" => "reported",
        "sampled_out" => "sampled",
        "left" => "wait",
        _ => "other",
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_dry_run_and_the_night_agree_with_sampling_max_runs_and_a_budget() {
    let (convex, template) = deployment().await;
    let llm = FakeLlm::start().await;
    let base = now_ms() - 3_600_000.0;
    for n in 0..7 {
        convex.add_run(run_doc(&template, 1, n, base + n as f64, "completed"));
    }
    let dir = tempfile::tempdir().unwrap();
    let reports = dir.path().join("reports");
    let (url, reports_arg, llm_url) = (convex.url(), reports.to_str().unwrap().to_owned(), llm.base_url());
    // The oldest run has a report: the dry run counts it for sampling as the night does.
    let first = run_id(1, 0);
    let (code, _, err) = run(dir.path(), &["analyze-run", &first, "--convex-url", &url, "--reports-dir", &reports_arg]);
    assert_eq!(code, 0, "{err}");
    let (code, out, err) = run(
        dir.path(),
        &nightly_args(
            &url,
            &reports_arg,
            &["--llm-base-url", &llm_url, "--reuse", "same-output", "--dry-run", "--json"],
        ),
    );
    assert_eq!(code, 0, "{err}");
    let each = json(&out)["runs"][1]["estimated_tokens"].as_u64().expect("an estimate");
    let budget = (each + each / 2).to_string();
    // Without the verdict cache or reuse: the runs are copies of one run, and the night's later
    // estimates would count the earlier analyses' verdicts, which no dry run can foresee.
    let limits = [
        "--llm-base-url",
        &llm_url,
        "--sample-every",
        "2",
        "--max-runs",
        "2",
        "--budget-tokens",
        &budget,
        "--no-cache",
        "--reuse",
        "same-output",
    ];

    let (code, out, err) =
        run(dir.path(), &nightly_args(&url, &reports_arg, &[&limits[..], &["--dry-run", "--json"]].concat()));
    assert_eq!(code, 0, "{err}");
    let plan = json(&out);
    let planned: Vec<(String, &str)> = plan["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["run_id"].as_str().unwrap().to_owned(), planned_as(r["action"].as_str().unwrap())))
        .collect();
    assert_eq!(llm.requests(), 0, "a dry run calls no LLM");

    let (code, out, err) = run(dir.path(), &nightly_args(&url, &reports_arg, &[&limits[..], &["--json"]].concat()));
    assert_eq!(code, 0, "{err}");
    let night = json(&out);
    let done: Vec<(String, &str)> = night["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["run_id"].as_str().unwrap().to_owned(), done_as(r["outcome"].as_str().unwrap())))
        .collect();
    assert_eq!(planned, done, "the dry run names what the night does: {plan} {night}");
    let actions: Vec<&str> = done.iter().map(|(_, a)| *a).collect();
    assert_eq!(actions, ["reported", "sampled", "analyze", "sampled", "wait", "wait", "wait"], "{night}");
}

#[tokio::test(flavor = "multi_thread")]
async fn sampling_flags_and_the_webhook() {
    let (convex, template) = deployment().await;
    let base = now_ms() - 3_600_000.0;
    for n in 0..4 {
        convex.add_run(run_doc(&template, 1, n, base + n as f64, "completed"));
    }
    let hook = wiremock::MockServer::start().await;
    wiremock::Mock::given(wiremock::matchers::method("POST"))
        .respond_with(wiremock::ResponseTemplate::new(200))
        .mount(&hook)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let reports = dir.path().join("reports");
    let (url, reports_arg, hook_url) =
        (convex.url(), reports.to_str().unwrap().to_owned(), format!("{}/hooks/secret-token", hook.uri()));
    let (code, out, err) = run(
        dir.path(),
        &nightly_args(&url, &reports_arg, &["--sample-every", "2", "--notify-webhook", &hook_url, "--json"]),
    );
    assert_eq!(code, 0, "{err}");
    let v = json(&out);
    let outcomes: Vec<&str> = v["runs"].as_array().unwrap().iter().map(|r| r["outcome"].as_str().unwrap()).collect();
    assert_eq!(outcomes, ["analyzed", "sampled_out", "analyzed", "sampled_out"]);
    assert_eq!(v["runs"][1]["total"], 19, "a sampled-out run still has its shape");
    // The rules' low-confidence guesses are flagged for review.
    let flagged = v["runs"][0]["flagged"].as_array().unwrap();
    assert!(flagged.iter().any(|f| f["reasons"][0].as_str().unwrap().starts_with("low confidence")), "{v}");
    assert_eq!(reports_by_prefix(&reports).len(), 2);
    let posted = hook.received_requests().await.unwrap();
    assert_eq!(posted.len(), 1);
    let body: Value = serde_json::from_slice(&posted[0].body).unwrap();
    assert!(body["text"].as_str().unwrap().contains("2 analyzed, 2 sampled out"), "{body}");
    assert!(!err.contains("secret-token"), "the webhook's token is never printed: {err}");

    // A failing webhook is logged and does not fail the night.
    let dead = format!("{}/gone", convex.url());
    convex.add_run(run_doc(&template, 1, 9, base + 9.0, "completed"));
    let (code, _, err) =
        run(dir.path(), &nightly_args(&url, &reports_arg, &["--notify-webhook", &dead, "--review-below", "0.2"]));
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("warning: the webhook"), "{err}");
    let (code, _, err) = run(dir.path(), &nightly_args(&url, &reports_arg, &["--review-below", "7"]));
    assert_eq!(code, 2, "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refused_key_stops_the_nights_llm_calls_and_the_runs_wait() {
    let (convex, template) = deployment().await;
    let llm = FakeLlm::start().await;
    llm.refuse_key();
    let base = now_ms() - 3_600_000.0;
    for n in 0..3 {
        convex.add_run(run_doc(&template, 1, n, base + n as f64, "completed"));
    }
    let dir = tempfile::tempdir().unwrap();
    let reports = dir.path().join("reports");
    let (url, reports_arg, llm_url) = (convex.url(), reports.to_str().unwrap().to_owned(), llm.base_url());
    let (code, out, err) = run(
        dir.path(),
        &nightly_args(&url, &reports_arg, &["--llm-base-url", &llm_url, "--concurrency", "1", "--json"]),
    );
    assert_eq!(code, 1, "{err}");
    let v = json(&out);
    let outcomes: Vec<&str> = v["runs"].as_array().unwrap().iter().map(|r| r["outcome"].as_str().unwrap()).collect();
    assert_eq!(outcomes, ["failed", "left", "left"], "{v}");
    assert!(v["runs"][1]["why"].as_str().unwrap().contains("refused the key"), "{v}");
    assert_eq!(llm.requests(), 1, "no LLM call after the first refusal");
    assert!(reports_by_prefix(&reports).is_empty(), "no report from a refused key");
    let state: Value =
        serde_json::from_str(&std::fs::read_to_string(reports.join(".evaltriage/nightly.json")).unwrap()).unwrap();
    assert!(state["marks"]["prov1/model-1"].is_null(), "the mark did not move: {state}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_model_whose_first_run_still_runs_keeps_the_first_night_window() {
    let (convex, template) = deployment().await;
    let now = now_ms();
    // An old run, outside the first night's 24 hours; then a running run and a finished one.
    convex.add_run(run_doc(&template, 1, 0, now - 48.0 * 3_600_000.0, "completed"));
    convex.add_run(run_doc(&template, 1, 1, now - 2.0 * 3_600_000.0, "running"));
    convex.add_run(run_doc(&template, 1, 2, now - 3_600_000.0, "completed"));
    let dir = tempfile::tempdir().unwrap();
    let reports = dir.path().join("reports");
    let (url, reports_arg) = (convex.url(), reports.to_str().unwrap().to_owned());
    for night in 0..2 {
        let (code, out, err) = run(dir.path(), &nightly_args(&url, &reports_arg, &["--json"]));
        assert_eq!(code, 0, "{err}");
        let v = json(&out);
        let ids: Vec<&str> = v["runs"].as_array().unwrap().iter().map(|r| r["run_id"].as_str().unwrap()).collect();
        assert!(!ids.contains(&run_id(1, 0).as_str()), "night {night}: the old run stays out of the window: {v}");
    }
    assert_eq!(reports_by_prefix(&reports).len(), 1);
}

/// The expected mark of each model: the newest run of the longest stretch of finished runs from
/// its oldest.
fn expected_marks(runs: &[SimRun]) -> BTreeMap<String, f64> {
    let mut by_model: BTreeMap<String, Vec<&SimRun>> = BTreeMap::new();
    for r in runs {
        by_model.entry(model(r.model).1).or_default().push(r);
    }
    let mut marks = BTreeMap::new();
    for (slug, mut rs) in by_model {
        rs.sort_by(|a, b| a.created.total_cmp(&b.created));
        if let Some(last) = rs.iter().take_while(|r| r.finished()).last() {
            marks.insert(slug, last.created);
        }
    }
    marks
}

#[derive(Debug, Clone)]
struct SimRun {
    model: usize,
    n: usize,
    created: f64,
    status: &'static str,
    finishes_on: Option<usize>,
}

impl SimRun {
    fn id(&self) -> String {
        run_id(self.model, self.n)
    }
    fn finished(&self) -> bool {
        matches!(self.status, "completed" | "failed")
    }
}

/// A small deterministic generator, so the soak is the same every time.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, below: u64) -> u64 {
        self.0 = self.0.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % below
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_soak_of_nights_with_faults_leaves_exactly_one_report_per_finished_run() {
    let (convex, template) = deployment().await;
    let llm = FakeLlm::start().await;
    let dir = tempfile::tempdir().unwrap();
    let reports = dir.path().join("reports");
    let (url, reports_arg, llm_url) = (convex.url(), reports.to_str().unwrap().to_owned(), llm.base_url());
    let rules = ["--classifier", "rules"];
    let with_llm = ["--llm-base-url", llm_url.as_str(), "--concurrency", "1"];
    let base = now_ms() - 6.0 * 3_600_000.0;
    let mut rng = Lcg(7);
    let mut runs: Vec<SimRun> = Vec::new();
    let mut counter = 0usize;
    let mut add = |runs: &mut Vec<SimRun>, night: usize, model: usize, status: &'static str, rng: &mut Lcg| {
        counter += 1;
        let finishes_on = (status == "running").then(|| night + 1 + rng.next(3) as usize);
        let r = SimRun { model, n: counter, created: base + counter as f64 * 1000.0, status, finishes_on };
        convex.add_run(run_doc(&template, model, r.n, r.created, status));
        runs.push(r);
    };
    let broken = "r09broken".to_owned() + &"x".repeat(23);
    let mut exit_codes = Vec::new();
    for night in 0..32 {
        // Runs that were running finish tonight.
        for r in runs.iter_mut().filter(|r| r.finishes_on == Some(night)) {
            r.status = if r.n % 5 == 0 { "failed" } else { "completed" };
            convex.add_run(run_doc(&template, r.model, r.n, r.created, r.status));
        }
        for _ in 0..rng.next(4) {
            let status = if rng.next(4) == 0 { "running" } else { "completed" };
            let m = rng.next(3) as usize;
            add(&mut runs, night, m, status, &mut rng);
        }
        match night {
            // A run whose document cannot be read: the others are analyzed, the exit code is 1.
            7 => {
                let mut doc = run_doc(&template, 9, 0, base + 0.5, "completed");
                doc["_id"] = json!(broken);
                doc["evals"] = json!("not a list");
                convex.add_run(doc);
            }
            // It is repaired: the next night analyses it.
            11 => {
                let mut doc = convex.run_doc(&broken).unwrap();
                doc["evals"] = template["evals"].clone();
                convex.add_run(doc);
            }
            _ => {}
        }
        let code = match night {
            // A short burst of 5xx is ridden out.
            5 => {
                convex.fail_burst(2);
                run(dir.path(), &nightly_args(&url, &reports_arg, &rules)).0
            }
            // A long one fails the night's listing: exit 1, nothing moves.
            9 => {
                convex.fail_burst(40);
                let code = run(dir.path(), &nightly_args(&url, &reports_arg, &rules)).0;
                convex.fail_burst(0);
                assert_eq!(code, 1, "a night that cannot list fails");
                code
            }
            // LLM nights, one with rate limits.
            3 | 12 | 25 => {
                if night == 12 {
                    llm.rate_limit_next(3);
                }
                run(dir.path(), &nightly_args(&url, &reports_arg, &with_llm)).0
            }
            // A night killed in the middle of its analyses.
            15 => {
                for _ in 0..3 {
                    add(&mut runs, night, 0, "completed", &mut rng);
                }
                llm.set_latency(Duration::from_millis(100));
                let before = reports_by_prefix(&reports).len();
                let mut child = spawn(dir.path(), &nightly_args(&url, &reports_arg, &with_llm));
                wait_until("the killed night wrote a report", || {
                    reports_by_prefix(&reports).len() > before || child.try_wait().unwrap().is_some()
                });
                let killed_before_the_end = child.try_wait().unwrap().is_none();
                let _ = child.kill();
                let _ = child.wait();
                llm.set_latency(Duration::ZERO);
                assert!(killed_before_the_end, "the night was killed in the middle");
                let digests = std::fs::read_dir(reports.join("nightly")).unwrap();
                let digest: String = digests.flatten().map(|e| std::fs::read_to_string(e.path()).unwrap()).collect();
                assert!(digest.contains("(in progress, or stopped before the end)"), "{digest}");
                -9
            }
            // Two nightlies at once: the second says who holds the lock and does nothing.
            20 => {
                for _ in 0..2 {
                    add(&mut runs, night, 1, "completed", &mut rng);
                }
                llm.set_latency(Duration::from_millis(100));
                let mut first = spawn(dir.path(), &nightly_args(&url, &reports_arg, &with_llm));
                let lock = reports.join(".evaltriage/nightly.lock");
                let holder = format!("pid {}", first.id());
                wait_until("the first nightly holds the lock", || {
                    std::fs::read_to_string(&lock).is_ok_and(|t| t.contains(&holder))
                });
                let before = reports_by_prefix(&reports);
                let (code, _, err) = run(dir.path(), &nightly_args(&url, &reports_arg, &rules));
                assert_eq!(code, 3, "{err}");
                assert!(err.contains("another nightly holds the lock") && err.contains(&holder), "{err}");
                let status = first.wait().unwrap();
                llm.set_latency(Duration::ZERO);
                assert!(status.success(), "the first nightly finished");
                assert!(reports_by_prefix(&reports).len() >= before.len());
                3
            }
            _ => run(dir.path(), &nightly_args(&url, &reports_arg, &rules)).0,
        };
        exit_codes.push(code);
    }
    assert!(exit_codes[7] == 1, "the broken run fails its night: {exit_codes:?}");

    // One last quiet night, then the books must balance.
    let (code, _, err) = run(dir.path(), &nightly_args(&url, &reports_arg, &rules));
    assert_eq!(code, 0, "{err}");
    let found = reports_by_prefix(&reports);
    let mut finished = 0;
    for r in &runs {
        let prefix = &r.id()[..8];
        let n = found.get(prefix).map_or(0, Vec::len);
        if r.finished() {
            finished += 1;
            assert_eq!(n, 1, "{} ({}) has exactly one report: {:?}", r.id(), r.status, found.get(prefix));
        } else {
            assert_eq!(n, 0, "{} is still {} and has no report", r.id(), r.status);
        }
    }
    assert!(finished >= 30, "the soak analyzed enough runs: {finished}");
    assert_eq!(found.get(&broken[..8]).map_or(0, Vec::len), 1, "the repaired run was analyzed");
    assert_eq!(found.len(), finished + 1, "no report for anything else: {found:?}");
    for paths in found.values() {
        for p in paths {
            let text = std::fs::read_to_string(p).unwrap();
            assert!(text.contains("<!-- evaltriage:v1 "), "{} is complete", p.display());
        }
    }
    let state: Value =
        serde_json::from_str(&std::fs::read_to_string(reports.join(".evaltriage/nightly.json")).unwrap()).unwrap();
    for (slug, mark) in expected_marks(&runs) {
        assert_eq!(state["marks"][&slug]["high_water_ms"].as_f64(), Some(mark), "{slug}'s mark agrees: {state}");
    }
    assert_eq!(state["last_night"]["finished"], true);

    // And a repeat the same night costs nothing.
    let calls = llm.requests();
    let (code, _, err) = run(dir.path(), &nightly_args(&url, &reports_arg, &with_llm));
    assert_eq!(code, 0, "{err}");
    assert_eq!(llm.requests(), calls);
    assert_eq!(reports_by_prefix(&reports), found);
}

/// A store's run documents carry their evals, not `evalCounts`: the listing counts them, and says
/// nothing about requests, since a store needs none.
#[test]
fn runs_list_from_a_store_counts_the_evals() {
    let scratch = tempfile::tempdir().unwrap();
    let (code, out, err) = run(scratch.path(), &["runs", "list", "--store", example_store().to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains(&format!("{EXAMPLE_RUN}  completed  12/19 passed")), "{out}");
    assert!(out.contains("1 run from 1 model\n") && !out.contains("requests"), "{out}");
    let (_, out, _) = run(scratch.path(), &["runs", "list", "--store", example_store().to_str().unwrap(), "--json"]);
    assert_eq!(json(&out)["runs"][0]["evals"], json!({"total": 19, "passed": 12, "failed": 7, "pending": 0}));
}
