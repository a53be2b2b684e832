//! What a real OpenAI-compatible server does that the well-behaved stand-in does not, end to
//! end through the CLI: a refused key, a slow answer, configurable limits, and the summary,
//! JSON and logs a person reads afterwards.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use evaltriage_tests::{FakeLlm, LlmAnswer, copy_tree, example_reports, example_store};
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use crate::common::{cli, json, run_with};

const SECRET: &str = "sk-test-refused-0123456789";

fn scratch() -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let reports = dir.path().join("reports");
    copy_tree(&example_reports(), &reports);
    (dir, reports.to_str().unwrap().to_owned())
}

/// Files under a folder, its `.evaltriage/` bookkeeping (the per-report lock files) aside.
fn files_under(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .map(|e| e.unwrap().path())
                .filter(|p| !p.ends_with(".evaltriage"))
                .map(|p| if p.is_dir() { files_under(&p) } else { 1 })
                .sum()
        })
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refused_key_stops_at_once_with_one_line_exit_2_and_no_report() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(
            ResponseTemplate::new(401)
                .set_body_json(json!({"error": {"message": format!("Incorrect API key provided: {SECRET}")}}))
                .set_delay(Duration::from_millis(100)),
        )
        .mount(&server)
        .await;
    let (dir, reports) = scratch();
    let before = files_under(std::path::Path::new(&reports));
    let store = example_store();
    let mut cmd = cli(dir.path());
    cmd.env("OPENAI_API_KEY", SECRET);
    let base = format!("{}/v1", server.uri());
    let (code, out, err) = run_with(
        cmd,
        &["analyze-run", store.to_str().unwrap(), "--llm-base-url", &base, "--reports-dir", &reports, "--no-cache"],
    );
    assert_eq!(code, 2, "{out}\n{err}");
    let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "one line: {err}");
    assert!(lines[0].contains(&base) && lines[0].contains("refused the API key (HTTP 401)"), "{err}");
    assert!(!err.contains(SECRET) && !out.contains(SECRET));
    assert!(out.is_empty(), "no summary: {out}");
    assert_eq!(files_under(std::path::Path::new(&reports)), before, "no report was written");
    let sent = server.received_requests().await.unwrap().len();
    assert!(sent <= 4, "no call after the first 401 beyond those already in flight: {sent}");
}

/// Answers every analysis validly, but holds the very first request longer than the timeout.
struct SlowFirst {
    seen: Arc<AtomicUsize>,
    bodies: Arc<std::sync::Mutex<Vec<Value>>>,
}

impl Respond for SlowFirst {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let n = self.seen.fetch_add(1, Ordering::SeqCst);
        let body: Value = serde_json::from_slice(&request.body).unwrap_or(Value::Null);
        self.bodies.lock().unwrap().push(body.clone());
        let user = body["messages"][1]["content"].as_str().unwrap_or("");
        let eval = user.lines().find_map(|l| l.strip_prefix("Eval: ")).unwrap_or("").trim().to_owned();
        let content = if eval.is_empty() {
            "- No pattern across these failures.".to_owned()
        } else {
            json!({
                "eval": eval, "failed_step": "tests", "error": "see evidence",
                "model_snippet": "", "expected_snippet": "",
                "reasoning": "The model got it wrong.", "classification": "MODEL_FAULT", "confidence": 0.3
            })
            .to_string()
        };
        ResponseTemplate::new(200)
            .set_body_json(json!({
                "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120}
            }))
            .set_delay(if n == 0 { Duration::from_millis(2_500) } else { Duration::ZERO })
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn timeout_and_answer_cap_come_from_flag_env_or_config_and_a_resend_is_said_at_info() {
    let server = MockServer::start().await;
    let responder = SlowFirst { seen: Arc::default(), bodies: Arc::default() };
    let bodies = responder.bodies.clone();
    Mock::given(method("POST")).and(path("/v1/chat/completions")).respond_with(responder).mount(&server).await;
    let (dir, reports) = scratch();
    let config = dir.path().join("evaltriage.toml");
    std::fs::write(&config, "max_answer_tokens = 300\nllm_timeout_secs = 600\n").unwrap();
    let store = example_store();
    let base = format!("{}/v1", server.uri());
    let args = ["analyze-run", store.to_str().unwrap(), "--llm-base-url", &base, "--reports-dir", &reports, "--json"];

    // Timeout from the environment (over the file's 600 s), answer cap from the file.
    let mut cmd = cli(dir.path());
    cmd.env("EVALTRIAGE_LLM_TIMEOUT", "1").env("RUST_LOG", "info");
    let (code, out, err) = run_with(cmd, &args);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("no answer from") && err.contains("within 1 s; sending the identical request again"),
        "a re-sent request is said at INFO: {err}"
    );
    let caps: Vec<Value> = bodies.lock().unwrap().iter().map(|b| b["max_completion_tokens"].clone()).collect();
    assert!(caps.iter().all(|c| *c == json!(300)), "{caps:?}");
    // Confidences print with two decimals (0.3 as an f32 would be 0.30000001192092896).
    let v = json(&out);
    assert!(out.contains("\"confidence\": 0.3") || out.contains("\"confidence\":0.3"), "{out}");
    assert!(!out.contains("0.3000000"), "{out}");
    let confidences: Vec<&Value> =
        v["verdicts"].as_array().unwrap().iter().map(|x| &x["confidence"]).filter(|c| !c.is_null()).collect();
    assert_eq!(confidences, [&json!(0.3); 5]);

    // The flag wins over the file.
    bodies.lock().unwrap().clear();
    let mut with_flag: Vec<&str> = args.to_vec();
    with_flag.extend(["--max-answer-tokens", "400", "--force", "--no-cache"]);
    let (code, _, err) = run_with(cli(dir.path()), &with_flag);
    assert_eq!(code, 0, "{err}");
    assert!(bodies.lock().unwrap().iter().all(|b| b["max_completion_tokens"] == json!(400)));

    // Out of range, from the file: one line, exit 2.
    std::fs::write(&config, "max_answer_tokens = 5\n").unwrap();
    let (code, _, err) = run_with(cli(dir.path()), &with_flag[..with_flag.len() - 4]);
    assert_eq!(code, 2, "{err}");
    assert!(err.trim().lines().count() == 1 && err.contains("max answer tokens"), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_summary_counts_each_eval_once_and_debug_logs_name_the_response_format() {
    let llm = FakeLlm::start().await;
    llm.answer("003-mutations/006-delete_user_cascade", LlmAnswer::Garbage);
    let (dir, reports) = scratch();
    let store = example_store();
    let mut cmd = cli(dir.path());
    cmd.env("RUST_LOG", "evaltriage_fanout=debug");
    let base = llm.base_url();
    let (code, out, err) = run_with(
        cmd,
        &[
            "analyze-run",
            store.to_str().unwrap(),
            "--llm-base-url",
            &base,
            "--reports-dir",
            &reports,
            "--max-retries",
            "1",
        ],
    );
    assert_eq!(code, 1, "one eval ended error: {err}");
    // 7 failures: 2 infrastructure + 5 verification, of which 4 classified and 1 not; each once.
    assert!(out.contains("7 failures analyzed: 2 infrastructure, 5 verification by LLM"), "{out}");
    assert!(out.contains(" · not classified (error) 1\n"), "{out}");
    assert!(!out.contains("skipped"), "{out}");
    let requests: Vec<&str> = err.lines().filter(|l| l.contains("LLM request") && !l.contains("sent")).collect();
    assert_eq!(requests.len(), llm.requests(), "one DEBUG line per request:\n{err}");
    assert!(
        requests.iter().filter(|l| l.contains("json_schema")).count() == 6,
        "4 first answers + 2 for the garbage one, by json_schema: {err}"
    );
    assert!(requests.iter().any(|l| l.contains("synthesis") && l.contains("text")), "{err}");
    assert!(err.contains("in_flight="), "{err}");
}
