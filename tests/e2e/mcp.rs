//! `evaltriage mcp` end to end: rmcp's own client drives the real binary over stdio against the
//! Convex and LLM stand-ins — initialize, list tools and resources, call every tool (results
//! checked against the tools' output schemas), read a report resource, a failing call that leaves
//! the session working, progress notifications, and a cancelled analysis that writes nothing.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use evaltriage_tests::{FakeConvex, FakeLlm, copy_tree, example_reports, example_store};
use rmcp::model::{
    CallToolRequestParams, CallToolResult, ClientRequest, ProgressNotificationParam, ReadResourceRequestParams,
    Request, ResourceContents, ServerResult, Tool,
};
use rmcp::service::{NotificationContext, PeerRequestOptions, RunningService};
use rmcp::transport::TokioChildProcess;
use rmcp::{ClientHandler, RoleClient, ServiceExt};
use serde_json::{Value, json};

use crate::common::CLI_ENV;

const RUN: &str = "jn7ak4x9m2qw8hd5tz3vc6pe1r0bfs7g";
const PRIOR_REPORT: &str = "report://anthropic/claude-sonnet-4.5/jn75q2w8_2026-11-08.md";
const SECRET: &str = "sk-mcp-test-0123456789-very-secret";

/// A client that keeps every progress notification it receives.
#[derive(Debug, Clone, Default)]
struct Client {
    progress: Arc<Mutex<Vec<ProgressNotificationParam>>>,
}

impl ClientHandler for Client {
    async fn on_progress(&self, params: ProgressNotificationParam, _context: NotificationContext<RoleClient>) {
        self.progress.lock().unwrap().push(params);
    }
}

type Session = RunningService<RoleClient, Client>;

/// `evaltriage mcp` with `args`, in `cwd`, with a clean environment but for a secret key.
async fn start(cwd: &Path, args: &[&str]) -> (Session, Client) {
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_evaltriage-e2e"));
    cmd.current_dir(cwd).arg("mcp").args(args).env("NO_COLOR", "1").env("OPENAI_API_KEY", SECRET);
    for var in CLI_ENV {
        if var != "OPENAI_API_KEY" {
            cmd.env_remove(var);
        }
    }
    let (transport, _stderr) =
        TokioChildProcess::builder(cmd).stderr(std::process::Stdio::null()).spawn().expect("spawn evaltriage mcp");
    let client = Client::default();
    let session = client.clone().serve(transport).await.expect("initialize");
    (session, client)
}

fn map_of(v: Value) -> serde_json::Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Default::default(),
    }
}

/// Calls a tool and returns its result (an `isError` result is still a result).
async fn call(session: &Session, tool: &'static str, arguments: Value) -> CallToolResult {
    let params = CallToolRequestParams::new(tool).with_arguments(map_of(arguments));
    session.call_tool(params).await.unwrap_or_else(|e| panic!("{tool}: protocol error {e}"))
}

fn text_of(result: &CallToolResult) -> String {
    result.content.iter().filter_map(|c| c.as_text().map(|t| t.text.clone())).collect::<Vec<_>>().join("\n")
}

/// A successful result's structured content, checked against the tool's output schema.
fn structured(tools: &[Tool], tool: &str, result: &CallToolResult) -> Value {
    assert_ne!(result.is_error, Some(true), "{tool} failed: {}", text_of(result));
    let value = result.structured_content.clone().unwrap_or_else(|| panic!("{tool}: no structured content"));
    let schema = tools.iter().find(|t| t.name == tool).and_then(|t| t.output_schema.clone()).expect("output schema");
    check_schema(&Value::Object((*schema).clone()), &value, tool);
    let text = text_of(result);
    assert!(text.contains("```untrusted-run-data"), "{tool}: the summary fences the run's text as data: {text}");
    assert!(value["untrusted_data_notice"].as_str().is_some_and(|n| n.contains("untrusted")), "{value}");
    value
}

/// The part of JSON Schema the tools' output schemas use: `type`, `properties`, `required`.
fn check_schema(schema: &Value, value: &Value, at: &str) {
    if let Some(kind) = schema["type"].as_str() {
        let ok = match kind {
            "object" => value.is_object(),
            "array" => value.is_array(),
            "string" => value.is_string(),
            "integer" => value.is_u64() || value.is_i64(),
            "number" => value.is_number(),
            "boolean" => value.is_boolean(),
            _ => true,
        };
        assert!(ok, "{at}: expected {kind}, got {value}");
    }
    for name in schema["required"].as_array().into_iter().flatten().filter_map(Value::as_str) {
        assert!(value.get(name).is_some(), "{at}: required field {name} missing in {value}");
    }
    if let Some(properties) = schema["properties"].as_object() {
        for (name, sub) in properties {
            if let Some(v) = value.get(name) {
                check_schema(sub, v, &format!("{at}.{name}"));
            }
        }
    }
}

fn scratch() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let reports = dir.path().join("reports");
    copy_tree(&example_reports(), &reports);
    (dir, reports)
}

/// Every `.md` file under a folder.
fn reports_in(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = entry.path();
        if p.is_dir() {
            found.extend(reports_in(&p));
        } else if p.extension().is_some_and(|e| e == "md") {
            found.push(p);
        }
    }
    found
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_mcp_client_drives_the_main_job() {
    let convex = FakeConvex::from_store(&example_store()).await;
    let llm = FakeLlm::start().await;
    let (dir, reports) = scratch();
    // A price for the default analysing model: the tools say what the tokens cost, as the CLI does.
    let prices = "[prices.\"gpt-4.1-mini\"]\ninput_per_million = 2.0\noutput_per_million = 8.0\n";
    std::fs::write(dir.path().join("evaltriage.toml"), prices).unwrap();
    let (convex_url, llm_url) = (convex.url(), llm.base_url());
    let (session, client) = start(
        dir.path(),
        &["--convex-url", &convex_url, "--llm-base-url", &llm_url, "--reports-dir", reports.to_str().unwrap()],
    )
    .await;
    let mut seen = String::new();

    let info = session.peer_info().expect("server info");
    assert_eq!(info.server_info.as_ref().map(|s| s.name.as_str()), Some("evaltriage"));
    assert!(info.capabilities.tools.is_some() && info.capabilities.resources.is_some());

    let tools = session.list_all_tools().await.unwrap();
    let mut names: Vec<&str> = tools.iter().map(|t| t.name.as_ref()).collect();
    names.sort_unstable();
    assert_eq!(
        names,
        [
            "analyze_run",
            "diff",
            "evals_list",
            "evals_show",
            "findings",
            "reports_agreement",
            "reports_export",
            "reports_list",
            "reports_review",
            "reports_show",
            "reports_trend",
            "runs_list",
            "runs_show"
        ]
    );
    for tool in &tools {
        assert_eq!(tool.input_schema["type"], "object", "{}", tool.name);
        assert!(tool.description.as_deref().is_some_and(|d| d.len() > 40), "{}", tool.name);
        assert!(tool.output_schema.is_some(), "{}", tool.name);
    }
    let analyze = tools.iter().find(|t| t.name == "analyze_run").unwrap();
    for arg in ["target", "estimate", "force", "classifier", "budget_tokens"] {
        assert!(analyze.input_schema["properties"].get(arg).is_some(), "analyze_run takes {arg}");
    }

    let resources = session.list_all_resources().await.unwrap();
    assert!(resources.iter().any(|r| r.uri == PRIOR_REPORT), "{resources:?}");
    let prior = session.read_resource(ReadResourceRequestParams::new(PRIOR_REPORT)).await.unwrap();
    let ResourceContents::TextResourceContents { text, mime_type, .. } = &prior.contents[0] else { panic!("text") };
    assert!(text.contains("claude-sonnet-4.5"), "{text}");
    assert_eq!(mime_type.as_deref(), Some("text/markdown"));

    // runs_list, runs_show, evals_list, evals_show (with a file) against the Convex stand-in.
    let listed = call(&session, "runs_list", json!({"models": ["anthropic/*"], "status": "finished"})).await;
    let listed = structured(&tools, "runs_list", &listed);
    assert_eq!(listed["runs"][0]["run_id"], RUN, "{listed}");
    let shown = call(&session, "runs_show", json!({"target": RUN})).await;
    seen.push_str(&text_of(&shown));
    let shown = structured(&tools, "runs_show", &shown);
    assert_eq!((shown["total"].as_u64(), shown["failed"].as_u64()), (Some(19), Some(7)), "{shown}");
    let evals = call(&session, "evals_list", json!({"target": RUN, "status": "failed"})).await;
    let evals = structured(&tools, "evals_list", &evals);
    let failed = evals["evals"].as_array().unwrap();
    assert_eq!(failed.len(), 7, "{evals}");
    let with_log = failed.iter().find(|e| e["failed_step"] == "tests").expect("a tests failure")["eval_path"]
        .as_str()
        .unwrap()
        .to_owned();
    let eval = call(&session, "evals_show", json!({"target": RUN, "eval": with_log})).await;
    let eval = structured(&tools, "evals_show", &eval);
    assert_eq!(eval["eval_path"], with_log.as_str());
    assert!(eval["steps"].is_array(), "{eval}");
    let log = call(&session, "evals_show", json!({"target": RUN, "eval": with_log, "file": "run.log"})).await;
    seen.push_str(&text_of(&log));
    let log = structured(&tools, "evals_show", &log);
    assert_eq!(log["file"]["path"], "run.log");
    assert!(log["file"]["content"].as_str().is_some_and(|c| !c.is_empty()), "{log}");

    // Failing calls are tool results with isError, and the session goes on.
    let bad_run = call(&session, "runs_show", json!({"target": "zz00000000000000000000000000000z"})).await;
    assert_eq!(bad_run.is_error, Some(true), "{bad_run:?}");
    assert!(text_of(&bad_run).starts_with("error"), "{}", text_of(&bad_run));
    let bad_args = call(&session, "evals_list", json!({"target": RUN, "status": "sideways"})).await;
    assert_eq!(bad_args.is_error, Some(true));
    assert!(text_of(&bad_args).contains("invalid arguments"), "{}", text_of(&bad_args));
    let missing = call(&session, "runs_show", json!({})).await;
    assert!(text_of(&missing).contains("missing field `target`"), "{}", text_of(&missing));
    let no_file = call(&session, "evals_show", json!({"target": RUN, "eval": with_log, "file": "nope.txt"})).await;
    assert_eq!(no_file.is_error, Some(true));
    assert!(session.read_resource(ReadResourceRequestParams::new("report://../../etc/passwd")).await.is_err());
    let again = call(&session, "runs_show", json!({"target": RUN})).await;
    assert_ne!(again.is_error, Some(true), "the session still works after failures");

    // analyze_run: the estimate, then the analysis with progress, then its report as a resource.
    let estimated = call(&session, "analyze_run", json!({"target": RUN, "estimate": true})).await;
    let estimate = structured(&tools, "analyze_run", &estimated);
    assert!(estimate["calls"].as_u64().is_some_and(|n| n > 0), "{estimate}");
    assert!(estimate["cost"]["sync_usd"].as_f64().is_some_and(|usd| usd > 0.0), "{estimate}");
    assert!(text_of(&estimated).contains(" through the Batch API (prices for gpt-4.1-mini from "), "{estimate}");
    assert_eq!(llm.requests(), 0, "an estimate calls nothing");
    assert!(reports_in(&reports).len() == 2, "an estimate writes nothing");

    let params = CallToolRequestParams::new("analyze_run").with_arguments(map_of(json!({"target": RUN})));
    let handle = session
        .send_cancellable_request(
            ClientRequest::CallToolRequest(Request::new(params)),
            PeerRequestOptions::no_options(),
        )
        .await
        .unwrap();
    let token = handle.progress_token.clone();
    let ServerResult::CallToolResult(analyzed) = handle.await_response().await.unwrap() else {
        panic!("a tool result")
    };
    let summary = text_of(&analyzed);
    seen.push_str(&summary);
    let analyzed = structured(&tools, "analyze_run", &analyzed);
    assert!(llm.requests() > 0, "the LLM stand-in classified");
    // Every call answers 1,200 prompt and 150 completion tokens: $0.0036 a call at the price.
    let calls = llm.requests() as f64;
    let usd = analyzed["cost"]["sync_usd"].as_f64().unwrap_or_default();
    assert!((usd - calls * 0.0036).abs() < 1e-12, "{analyzed}");
    assert!(summary.contains(&format!(" · ~${usd:.4}\n")), "{summary}");
    let uri = analyzed["report_uri"].as_str().expect("report_uri").to_owned();
    assert!(uri.starts_with("report://anthropic/claude-sonnet-4.5/jn7ak4x9_"), "{uri}");
    assert_eq!(analyzed["verdicts"].as_array().map(Vec::len), Some(7), "{analyzed}");
    let progress = client.progress.lock().unwrap().clone();
    assert!(progress.iter().any(|p| p.progress_token == token), "progress notifications for the call: {progress:?}");
    let ours: Vec<&ProgressNotificationParam> = progress.iter().filter(|p| p.progress_token == token).collect();
    assert!(ours.iter().any(|p| p.total == Some(14.0)), "evidence then classification, 7 each: {ours:?}");
    let mut values: Vec<f64> = ours.iter().map(|p| p.progress).collect();
    values.sort_by(f64::total_cmp);
    values.dedup();
    assert_eq!(values.len(), ours.len(), "each notification moves the progress forward: {ours:?}");

    let resources = session.list_all_resources().await.unwrap();
    assert!(resources.iter().any(|r| r.uri == uri), "the new report is listed: {resources:?}");
    let report = session.read_resource(ReadResourceRequestParams::new(uri.clone())).await.unwrap();
    let ResourceContents::TextResourceContents { text: report, .. } = &report.contents[0] else { panic!("text") };
    assert!(report.contains("<!-- evaltriage:v1"), "{report}");
    seen.push_str(report);

    // A second analysis refuses to replace the report, and replaces it with force.
    let refused = call(&session, "analyze_run", json!({"target": RUN})).await;
    assert_eq!(refused.is_error, Some(true));
    assert!(text_of(&refused).contains("already exists"), "{}", text_of(&refused));
    let forced = call(&session, "analyze_run", json!({"target": RUN, "force": true, "classifier": "rules"})).await;
    let forced = structured(&tools, "analyze_run", &forced);
    assert!(forced["classifier"].as_str().is_some_and(|c| c.contains("rules")), "{forced}");
    assert_eq!(reports_in(&reports).len(), 3, "only the two shipped reports and this run's");

    assert!(!seen.contains(SECRET), "the key never reaches the client");
    session.cancel().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_analysis_stops_and_writes_nothing() {
    let convex = FakeConvex::from_store(&example_store()).await;
    let llm = FakeLlm::start().await;
    llm.set_latency(Duration::from_secs(60));
    let (dir, reports) = scratch();
    let (convex_url, llm_url) = (convex.url(), llm.base_url());
    let (session, _client) = start(
        dir.path(),
        &["--convex-url", &convex_url, "--llm-base-url", &llm_url, "--reports-dir", reports.to_str().unwrap()],
    )
    .await;
    let params = CallToolRequestParams::new("analyze_run").with_arguments(map_of(json!({"target": RUN})));
    let handle = session
        .send_cancellable_request(
            ClientRequest::CallToolRequest(Request::new(params)),
            PeerRequestOptions::no_options(),
        )
        .await
        .unwrap();
    // Wait until the analysis is inside its (slow) LLM calls.
    let started = std::time::Instant::now();
    while llm.requests() == 0 {
        assert!(started.elapsed() < Duration::from_secs(30), "the analysis never called the LLM");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    handle.cancel(Some("the user changed their mind".to_owned())).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let calls_at_cancel = llm.requests();

    // The session still answers, no report was written, and the report's lock was released: an
    // analysis of the same run right after succeeds (with the rules, so it does not wait).
    let shown = call(&session, "runs_show", json!({"target": RUN})).await;
    assert_ne!(shown.is_error, Some(true), "{}", text_of(&shown));
    assert_eq!(reports_in(&reports).len(), 2, "no report from the cancelled analysis: {:?}", reports_in(&reports));
    let leftovers: Vec<_> = std::fs::read_dir(reports.join("anthropic/claude-sonnet-4.5"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(leftovers.is_empty(), "no temp file left: {leftovers:?}");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(llm.requests(), calls_at_cancel, "no LLM call starts after the cancellation");
    let rules = call(&session, "analyze_run", json!({"target": RUN, "classifier": "rules"})).await;
    assert_ne!(rules.is_error, Some(true), "the lock was released: {}", text_of(&rules));
    assert_eq!(reports_in(&reports).len(), 3);
    session.cancel().await.unwrap();
}

#[test]
fn stdout_carries_only_protocol_messages_and_the_server_ends_with_its_input() {
    use std::io::{BufRead, Write};
    let (dir, reports) = scratch();
    let store = example_store();
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_evaltriage-e2e"));
    cmd.current_dir(dir.path())
        .args(["mcp", "--store", store.to_str().unwrap(), "--reports-dir", reports.to_str().unwrap()])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    for var in CLI_ENV {
        cmd.env_remove(var);
    }
    // Debug logs and an analysis's progress must all stay off stdout.
    cmd.env("RUST_LOG", "debug");
    let mut child = cmd.spawn().expect("run evaltriage mcp");
    let mut stdin = child.stdin.take().unwrap();
    let stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut stderr = child.stderr.take().unwrap();
    let stderr = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = std::io::Read::read_to_string(&mut stderr, &mut text);
        text
    });
    let (lines_tx, lines) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in stdout.lines().map_while(Result::ok) {
            let _ = lines_tx.send(line);
        }
    });
    let requests = [
        json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "raw", "version": "0"}}}),
        json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
        json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "analyze_run",
            "arguments": {"target": RUN}, "_meta": {"progressToken": "p"}}}),
        json!({"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {"name": "no_such_tool", "arguments": {}}}),
    ];
    for message in &requests {
        writeln!(stdin, "{message}").unwrap();
    }
    stdin.flush().unwrap();
    let mut answered = std::collections::BTreeSet::new();
    let mut notifications = 0;
    while answered.len() < 3 {
        let line = lines.recv_timeout(Duration::from_secs(60)).expect("an answer within a minute");
        let message: Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("not JSON-RPC ({e}): {line}"));
        assert_eq!(message["jsonrpc"], "2.0", "{line}");
        match message["id"].as_u64() {
            Some(id) => {
                answered.insert(id);
            }
            None => notifications += 1,
        }
        if message["id"] == 2 {
            assert_eq!(message["result"]["isError"], false, "{line}");
        }
    }
    assert!(notifications > 0, "progress notifications were sent");
    drop(stdin);
    let status = child.wait().unwrap();
    let stderr = stderr.join().unwrap();
    assert!(stderr.contains("DEBUG"), "logs go to stderr: {stderr}");
    assert_eq!(status.code(), Some(0), "the server ends when its input closes: {stderr}");
}

/// The server takes its configuration from `evaltriage.toml` like the CLI, registers the file's
/// secrets, and a secret a run document echoes back reaches the client masked.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_config_file_is_the_only_setup_and_its_secrets_never_reach_the_client() {
    const FILE_SECRET: &str = "sk-mcp-config-file-key-0123456789";
    let (dir, _) = scratch();
    let store = evaltriage_tests::example_store_copy(&dir.path().join("store"), |doc| {
        let eval = evaltriage_tests::eval_mut(doc, "002-queries/009-channel_summary");
        let step = evaltriage_tests::failed_step_mut(eval);
        step["status"]["failureReason"] = json!(format!("tsc failed; OPENAI_API_KEY={FILE_SECRET}"));
    });
    std::fs::write(
        dir.path().join("evaltriage.toml"),
        format!(
            "store = {:?}\nreports_dir = \"reports\"\nopenai_api_key = {FILE_SECRET:?}\n",
            store.display().to_string()
        ),
    )
    .unwrap();
    let (session, _client) = start(dir.path(), &[]).await;
    let tools = session.list_all_tools().await.unwrap();
    let mut seen = String::new();
    for (tool, arguments) in [
        ("runs_list", json!({})),
        ("runs_show", json!({"target": RUN})),
        ("evals_list", json!({"target": RUN})),
        ("evals_show", json!({"target": RUN, "eval": "002-queries/009-channel_summary"})),
    ] {
        let result = call(&session, tool, arguments).await;
        let value = structured(&tools, tool, &result);
        seen.push_str(&text_of(&result));
        seen.push_str(&value.to_string());
    }
    assert!(seen.contains("OPENAI_API_KEY=***"), "the echoed key is there, masked: {seen}");
    assert!(!seen.contains(FILE_SECRET), "{seen}");
    assert!(session.list_all_resources().await.unwrap().iter().any(|r| r.uri == PRIOR_REPORT));
    session.cancel().await.unwrap();
}

/// The review operations are tools too, each returning what its CLI command prints with `--json`:
/// list, show, trend, diff, export, a review written into the report (inside the reports folder
/// only) and counted by agreement.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_review_operations_are_tools_that_answer_like_the_cli() {
    let (dir, reports) = scratch();
    let store = example_store();
    let (session, _client) =
        start(dir.path(), &["--store", store.to_str().unwrap(), "--reports-dir", reports.to_str().unwrap()]).await;
    let tools = session.list_all_tools().await.unwrap();

    // A report of the example run to review, written by the analyze_run tool.
    let analyzed =
        call(&session, "analyze_run", json!({"target": store.to_str().unwrap(), "classifier": "rules"})).await;
    structured(&tools, "analyze_run", &analyzed);

    let listed = structured(&tools, "reports_list", &call(&session, "reports_list", json!({})).await);
    assert_eq!(listed["reports"].as_array().unwrap().len(), 3, "{listed}");
    let shown = structured(&tools, "reports_show", &call(&session, "reports_show", json!({"report": RUN})).await);
    assert!(shown["markdown"].as_str().unwrap().starts_with("# Run analysis"), "{shown}");
    structured(&tools, "reports_trend", &call(&session, "reports_trend", json!({"runs": 5})).await);
    let diff = structured(&tools, "diff", &call(&session, "diff", json!({"a": "jn75q2w8", "b": RUN})).await);
    assert!(diff.to_string().contains("fixed"), "{diff}");
    let exported = structured(
        &tools,
        "reports_export",
        &call(&session, "reports_export", json!({"classification": "KNOWN_GAP"})).await,
    );
    assert!(!exported["records"].as_array().unwrap().is_empty(), "{exported}");

    let reviewed = call(
        &session,
        "reports_review",
        json!({"report": RUN, "eval": "002-queries/009-channel_summary", "label": "KNOWN_GAP",
               "note": "The grader checks an order the task never asked for.", "by": "mcp-test"}),
    )
    .await;
    structured(&tools, "reports_review", &reviewed);
    let ours = reports_in(&reports).into_iter().find(|p| p.to_string_lossy().contains("jn7ak4x9_")).unwrap();
    assert!(std::fs::read_to_string(&ours).unwrap().contains("mcp-test"), "the review is in the report");
    let agreement = structured(&tools, "reports_agreement", &call(&session, "reports_agreement", json!({})).await);
    assert!(agreement.to_string().contains("KNOWN_GAP"), "{agreement}");
    let findings = structured(&tools, "findings", &call(&session, "findings", json!({"open": true})).await);
    assert!(findings["findings"].is_array(), "{findings}");

    // Bad input and a report outside the reports folder: isError, and the session goes on.
    let outside = dir.path().join("elsewhere_2026-01-01.md");
    std::fs::copy(&ours, &outside).unwrap();
    for (tool, args) in [
        (
            "reports_review",
            json!({"report": outside.to_str().unwrap(), "eval": "x", "label": "KNOWN_GAP", "note": "n"}),
        ),
        ("reports_review", json!({"report": RUN, "eval": "x", "label": "NOT_A_LABEL", "note": "n"})),
        ("reports_list", json!({"since": "yesterday"})),
        ("reports_show", json!({"report": "no-such-model/at-all"})),
    ] {
        let failed = call(&session, tool, args).await;
        assert_eq!(failed.is_error, Some(true), "{tool}: {}", text_of(&failed));
    }
    assert!(!std::fs::read_to_string(&outside).unwrap().contains("NOT_A_LABEL"));
    structured(&tools, "reports_list", &call(&session, "reports_list", json!({})).await);
    session.cancel().await.unwrap();
}
