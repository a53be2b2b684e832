//! Shared pieces of the end-to-end tests: a stand-in for a Convex deployment that answers the
//! public HTTP API exactly as DESIGN §5.1 describes it, fixtures, and zip building.

pub mod batch_api;

use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use serde_json::{Value, json};
use wiremock::matchers::{method, path, path_regex};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

/// The test package's folder.
pub fn package_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A run document fixture from `tests/fixtures/runs/`.
pub fn run_fixture(name: &str) -> Value {
    let path = package_dir().join("fixtures/runs").join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A zip holding the given text files.
pub fn zip_of(files: &[(&str, &str)]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (name, text) in files {
        w.start_file(*name, zip::write::SimpleFileOptions::default()).expect("zip entry");
        w.write_all(text.as_bytes()).expect("zip write");
    }
    w.finish().expect("zip finish").into_inner()
}

/// Zips every file under a directory (an unpacked blob of a store).
pub fn zip_dir(dir: &Path) -> Vec<u8> {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).expect("read blob dir") {
            let p = entry.expect("entry").path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let rel = p.strip_prefix(dir).expect("prefix").to_string_lossy().replace('\\', "/");
                files.push((rel, std::fs::read_to_string(&p).expect("text blob file")));
            }
        }
    }
    files.sort();
    let borrowed: Vec<(&str, &str)> = files.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
    zip_of(&borrowed)
}

/// What the fake deployment holds, and what it was asked.
#[derive(Debug, Default)]
pub struct ConvexState {
    pub runs: Mutex<HashMap<String, Value>>,
    pub blobs: Mutex<HashMap<String, Vec<u8>>>,
    /// Runs of another kind: getRunDetails fails with a bare "Server Error".
    pub decision_runs: Mutex<HashSet<String>>,
    /// This many upcoming requests get a 503 before the deployment answers normally.
    pub fail_next: AtomicUsize,
    /// This many upcoming requests get a 503 with `Retry-After: 0` (a burst a client rides out
    /// without waiting, when it is short enough).
    pub fail_burst: AtomicUsize,
    /// The models table, oldest first: (document id, slug).
    pub models: Mutex<Vec<(String, String)>>,
    /// Queries received, by function path.
    pub queries_by_path: Mutex<HashMap<String, usize>>,
    pub queries: AtomicUsize,
    pub downloads: AtomicUsize,
    /// Every Authorization header received, to check keys are sent and never elsewhere.
    pub auth_headers: Mutex<Vec<String>>,
    /// The server's own base URL, for download links.
    pub base_url: Mutex<String>,
    /// `runs:leaderboardModelHistory` fails (a deployment older than the query, or one in trouble).
    pub history_fails: AtomicBool,
}

/// A local stand-in for a Convex deployment.
#[derive(Debug)]
pub struct FakeConvex {
    pub server: MockServer,
    pub state: std::sync::Arc<ConvexState>,
}

struct QueryResponder(std::sync::Arc<ConvexState>);
struct DownloadResponder(std::sync::Arc<ConvexState>);

fn success(value: Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({"status": "success", "value": value, "logLines": []}))
}

fn function_error(message: &str) -> ResponseTemplate {
    ResponseTemplate::new(200)
        .set_body_json(json!({"status": "error", "errorMessage": message, "errorData": null, "logLines": []}))
}

impl Respond for QueryResponder {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let state = &self.0;
        state.queries.fetch_add(1, Ordering::SeqCst);
        if let Some(auth) = request.headers.get("authorization") {
            state.auth_headers.lock().unwrap().push(auth.to_str().unwrap_or("").to_owned());
        }
        if state.fail_next.load(Ordering::SeqCst) > 0 {
            state.fail_next.fetch_sub(1, Ordering::SeqCst);
            return ResponseTemplate::new(503).set_body_string("upstream unavailable");
        }
        if state.fail_burst.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1)).is_ok() {
            return ResponseTemplate::new(503)
                .insert_header("retry-after", "0")
                .set_body_string("upstream unavailable");
        }
        let Ok(body) = serde_json::from_slice::<Value>(&request.body) else {
            return ResponseTemplate::new(400)
                .set_body_json(json!({"code": "BadJsonBody", "message": "Failed to parse JSON body"}));
        };
        if body.get("format").and_then(Value::as_str) != Some("json") {
            return ResponseTemplate::new(400)
                .set_body_json(json!({"code": "BadRequest", "message": "format must be \"json\""}));
        }
        let args = body.get("args").cloned().unwrap_or(json!({}));
        let function = body.get("path").and_then(Value::as_str).unwrap_or("").to_owned();
        *state.queries_by_path.lock().unwrap().entry(function.clone()).or_default() += 1;
        match function.as_str() {
            "runs:getRunDetails" => {
                let id = args.get("runId").and_then(Value::as_str).unwrap_or("");
                if !id.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()) || id.is_empty() {
                    return function_error(&format!(
                        "ArgumentValidationError: Value does not match validator.\nPath: .runId\nValue: \"{id}\"\nValidator: v.id(\"runs\")"
                    ));
                }
                if state.decision_runs.lock().unwrap().contains(id) {
                    return function_error("[Request ID: 3f2a1b0c9d8e7f6a] Server Error");
                }
                success(state.runs.lock().unwrap().get(id).cloned().unwrap_or(Value::Null))
            }
            "runs:getOutputUrl" => {
                let id = args.get("storageId").and_then(Value::as_str).unwrap_or("");
                if state.blobs.lock().unwrap().contains_key(id) {
                    let base = state.base_url.lock().unwrap().clone();
                    success(json!(format!("{base}/api/storage/{id}?token=signed-secret")))
                } else {
                    success(Value::Null)
                }
            }
            "runs:listRuns" => list_runs(state, &args),
            "models:listModels" => list_models(state, &args),
            "runs:leaderboardModelHistory" if state.history_fails.load(Ordering::SeqCst) => {
                function_error("[Request ID: 5e1d2c3b4a596877] Server Error")
            }
            "runs:leaderboardModelHistory" => model_history(state, &args),
            other => function_error(&format!("Could not find public function for '{other}'")),
        }
    }
}

/// `runs:listRuns` as the real deployment answers it: coding runs only, newest first, filtered by
/// `experiment` or else by `modelId` (never both; `"default"` is rejected, as the real validator
/// does), at most 40 (100 asked by default), each with its model's slug and `evalCounts`, without
/// its evals.
fn list_runs(state: &ConvexState, args: &Value) -> ResponseTemplate {
    // The real validator accepts only the tagged experiment names: default runs have none.
    if let Some(e) = args.get("experiment").and_then(Value::as_str).filter(|e| *e == "default") {
        return bad_experiment(e);
    }
    let models = state.models.lock().unwrap();
    if let Some(id) = args.get("modelId").and_then(Value::as_str) {
        if !models.iter().any(|(m, _)| m == id) {
            return function_error(&format!(
                "ArgumentValidationError: Value does not match validator.\nPath: .modelId\nValue: \"{id}\"\nValidator: v.id(\"models\")"
            ));
        }
    }
    let runs = state.runs.lock().unwrap();
    let decision = state.decision_runs.lock().unwrap();
    let mut list: Vec<&Value> = runs
        .values()
        .filter(|r| !decision.contains(r["_id"].as_str().unwrap_or("")))
        .filter(|r| {
            match (args.get("experiment").and_then(Value::as_str), args.get("modelId").and_then(Value::as_str)) {
                (Some(e), _) => r.get("experiment").and_then(Value::as_str) == Some(e),
                (None, Some(m)) => r.get("modelId").and_then(Value::as_str) == Some(m),
                (None, None) => true,
            }
        })
        .collect();
    list.sort_by(|a, b| {
        b["_creationTime"].as_f64().unwrap_or(0.0).total_cmp(&a["_creationTime"].as_f64().unwrap_or(0.0))
    });
    let limit = args.get("limit").and_then(Value::as_f64).unwrap_or(100.0).clamp(1.0, 40.0) as usize;
    let page: Vec<Value> = list
        .into_iter()
        .take(limit)
        .map(|r| {
            let mut h = r.clone();
            let evals = h.as_object_mut().and_then(|o| o.remove("evals")).unwrap_or(json!([]));
            let evals = evals.as_array().cloned().unwrap_or_default();
            let count = |kind: &str| evals.iter().filter(|e| e["status"]["kind"] == kind).count();
            let (passed, failed) = (count("passed"), count("failed"));
            h["evalCounts"] =
                json!({"total": evals.len(), "passed": passed, "failed": failed, "pending": evals.len() - passed - failed});
            h
        })
        .collect();
    success(Value::Array(page))
}

/// The validator's error for an experiment that is not one of the tagged names (`"default"` is
/// not: default runs have none).
fn bad_experiment(e: &str) -> ResponseTemplate {
    function_error(&format!(
        "ArgumentValidationError: Value does not match validator.\nPath: .experiment\nValue: \"{e}\"\nValidator: v.union(v.literal(\"no_guidelines\"), v.literal(\"web_search\"), v.literal(\"web_search_no_guidelines\"), v.literal(\"agents_md\"))"
    ))
}

/// `runs:leaderboardModelHistory {modelId? | model?, experiment?, limit?}` as the real deployment
/// answers it (`evalScores/convex/runs.ts`): the model by id or by slug (an unknown slug: `[]`),
/// its runs of that experiment (absent: the runs that name none) whose status is `completed` and
/// whose every planned eval finished (passed or failed; a run that planned none is left out), as
/// `[{_creationTime, runId, totalScore, scores}]` — the scores over finished evals without
/// `[infrastructure]` and `[rate_limit]` failures, per category — oldest first, the last `limit`
/// (10 when absent, at most 100). Every run counts as the current benchmark's (the stand-in keeps
/// no benchmark versions).
fn model_history(state: &ConvexState, args: &Value) -> ResponseTemplate {
    let experiment = args.get("experiment").and_then(Value::as_str);
    if let Some(e) = experiment.filter(|e| !TAGGED_EXPERIMENTS.contains(e)) {
        return bad_experiment(e);
    }
    let models = state.models.lock().unwrap();
    let model_id = match (args.get("modelId").and_then(Value::as_str), args.get("model").and_then(Value::as_str)) {
        (Some(id), _) => Some(id.to_owned()),
        (None, Some(slug)) => models.iter().find(|(_, s)| s == slug).map(|(id, _)| id.clone()),
        (None, None) => None,
    };
    let Some(model_id) = model_id else { return success(json!([])) };
    let limit = match args.get("limit").and_then(Value::as_f64) {
        Some(l) if l > 0.0 => l.min(100.0) as usize,
        _ => 10,
    };
    let runs = state.runs.lock().unwrap();
    let mut rows: Vec<(f64, Value)> = runs
        .values()
        .filter(|r| r["modelId"].as_str() == Some(model_id.as_str()))
        .filter(|r| r.get("experiment").and_then(Value::as_str) == experiment)
        .filter(|r| r["status"]["kind"] == "completed")
        .filter_map(|r| {
            let planned = r["plannedEvals"].as_array().map_or(0, Vec::len);
            let evals = r["evals"].as_array().cloned().unwrap_or_default();
            let finished = |e: &&Value| matches!(e["status"]["kind"].as_str(), Some("passed" | "failed"));
            if planned == 0 || evals.iter().filter(finished).count() < planned {
                return None;
            }
            let scored: Vec<&Value> = evals
                .iter()
                .filter(finished)
                .filter(|e| {
                    let reason = e["status"]["failureReason"].as_str().unwrap_or("");
                    !reason.starts_with("[infrastructure]") && !reason.starts_with("[rate_limit]")
                })
                .collect();
            let mut by_category: std::collections::BTreeMap<String, (f64, f64)> = Default::default();
            for e in &scored {
                let c = by_category.entry(e["category"].as_str().unwrap_or("").to_owned()).or_default();
                c.1 += 1.0;
                if e["status"]["kind"] == "passed" {
                    c.0 += 1.0;
                }
            }
            let passed: f64 = by_category.values().map(|c| c.0).sum();
            let total_score = if scored.is_empty() { 0.0 } else { passed / scored.len() as f64 };
            let scores: serde_json::Map<String, Value> =
                by_category.into_iter().map(|(k, (p, t))| (k, json!(p / t))).collect();
            let created = r["_creationTime"].as_f64().unwrap_or(0.0);
            Some((
                created,
                json!({"_creationTime": created, "runId": r["_id"], "totalScore": total_score, "scores": scores}),
            ))
        })
        .collect();
    rows.sort_by(|a, b| a.0.total_cmp(&b.0));
    let skip = rows.len().saturating_sub(limit);
    success(Value::Array(rows.into_iter().skip(skip).map(|(_, row)| row).collect()))
}

/// The experiments the deployment's validators accept by name.
const TAGGED_EXPERIMENTS: [&str; 4] = ["no_guidelines", "web_search", "web_search_no_guidelines", "agents_md"];

/// `models:listModels` as the real deployment answers it: newest first, paginated with
/// `paginationOpts` (`{numItems, cursor}`) into `{page, isDone, continueCursor}`.
fn list_models(state: &ConvexState, args: &Value) -> ResponseTemplate {
    let Some(opts) = args.get("paginationOpts").filter(|o| o.get("numItems").is_some()) else {
        return function_error(
            "ArgumentValidationError: Object is missing the required field `paginationOpts`.\nPath: .paginationOpts",
        );
    };
    let size = opts["numItems"].as_f64().unwrap_or(10.0).max(1.0) as usize;
    let start: usize = opts.get("cursor").and_then(Value::as_str).and_then(|c| c.parse().ok()).unwrap_or(0);
    let models = state.models.lock().unwrap();
    let newest_first: Vec<&(String, String)> = models.iter().rev().collect();
    let page: Vec<Value> = newest_first
        .iter()
        .skip(start)
        .take(size)
        .map(|(id, slug)| json!({"_id": id, "_creationTime": 1.0, "slug": slug, "formattedName": slug, "provider": "openrouter", "apiKind": "chat"}))
        .collect();
    let end = start + page.len();
    success(json!({"page": page, "isDone": end >= newest_first.len(), "continueCursor": end.to_string()}))
}

impl Respond for DownloadResponder {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let id = request.url.path().rsplit('/').next().unwrap_or("");
        self.0.downloads.fetch_add(1, Ordering::SeqCst);
        match self.0.blobs.lock().unwrap().get(id) {
            Some(bytes) => ResponseTemplate::new(200)
                .set_body_bytes(bytes.clone())
                .insert_header("content-type", "application/zip"),
            None => ResponseTemplate::new(404).set_body_string("Not found"),
        }
    }
}

impl FakeConvex {
    pub async fn start() -> Self {
        let server = MockServer::start().await;
        let state = std::sync::Arc::new(ConvexState::default());
        *state.base_url.lock().unwrap() = server.uri();
        Mock::given(method("POST"))
            .and(path("/api/query"))
            .respond_with(QueryResponder(state.clone()))
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path_regex("^/api/storage/[A-Za-z0-9_-]+$"))
            .respond_with(DownloadResponder(state.clone()))
            .mount(&server)
            .await;
        Self { server, state }
    }

    pub fn url(&self) -> String {
        self.server.uri()
    }

    /// Adds a run document. Its evals' `runId` is set to its `_id`, as the real deployment's
    /// documents have it, so a test may copy a run under another id (a document whose evals name
    /// another run is dropped by the parser: issue 21, item 16).
    pub fn add_run(&self, mut doc: Value) -> String {
        let id = doc["_id"].as_str().expect("run _id").to_owned();
        if let Some(evals) = doc["evals"].as_array_mut() {
            for eval in evals.iter_mut().filter(|e| e.get("runId").is_some()) {
                eval["runId"] = json!(id);
            }
        }
        if let (Some(model_id), Some(slug)) = (doc["modelId"].as_str(), doc["model"].as_str()) {
            let mut models = self.state.models.lock().unwrap();
            if !models.iter().any(|(m, _)| m == model_id) {
                models.push((model_id.to_owned(), slug.to_owned()));
            }
        }
        self.state.runs.lock().unwrap().insert(id.clone(), doc);
        id
    }

    /// Every `runs:leaderboardModelHistory` from now on fails.
    pub fn fail_history(&self) {
        self.state.history_fails.store(true, Ordering::SeqCst);
    }

    pub fn add_blob(&self, id: &str, bytes: Vec<u8>) {
        self.state.blobs.lock().unwrap().insert(id.to_owned(), bytes);
    }

    pub fn add_decision_run(&self, id: &str) {
        self.state.decision_runs.lock().unwrap().insert(id.to_owned());
    }

    pub fn fail_next(&self, n: usize) {
        self.state.fail_next.store(n, Ordering::SeqCst);
    }

    /// The next `n` requests get a 503 with `Retry-After: 0`.
    pub fn fail_burst(&self, n: usize) {
        self.state.fail_burst.store(n, Ordering::SeqCst);
    }

    /// Queries received for one function path.
    pub fn queries_of(&self, function: &str) -> usize {
        self.state.queries_by_path.lock().unwrap().get(function).copied().unwrap_or(0)
    }

    /// Queries received in all.
    pub fn queries(&self) -> usize {
        self.state.queries.load(Ordering::SeqCst)
    }

    /// A run's document as the deployment holds it (a test moves a run on by changing it and
    /// adding it again).
    pub fn run_doc(&self, id: &str) -> Option<Value> {
        self.state.runs.lock().unwrap().get(id).cloned()
    }

    pub fn downloads(&self) -> usize {
        self.state.downloads.load(Ordering::SeqCst)
    }
}

impl FakeConvex {
    /// A deployment serving every run and blob of a store directory (blob folders are zipped).
    pub async fn from_store(store: &Path) -> Self {
        let convex = Self::start().await;
        for entry in std::fs::read_dir(store.join("runs")).expect("store runs") {
            let text = std::fs::read_to_string(entry.expect("entry").path()).expect("run document");
            convex.add_run(serde_json::from_str(&text).expect("run JSON"));
        }
        for entry in std::fs::read_dir(store.join("blobs")).expect("store blobs") {
            let p = entry.expect("entry").path();
            let name = p.file_name().expect("name").to_string_lossy().into_owned();
            if p.is_dir() {
                convex.add_blob(&name, zip_dir(&p));
            } else if let Some(id) = name.strip_suffix(".zip") {
                convex.add_blob(id, std::fs::read(&p).expect("zip blob"));
            }
        }
        convex
    }
}

/// The texts of the reports below a reports folder: every `.md` file, the digests' and state's
/// folders (`backfill`, `nightly`, `.evaltriage`, `.cache`) left out.
pub fn report_texts(reports: &Path) -> Vec<String> {
    let mut found = Vec::new();
    let mut stack = vec![reports.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if entry.path().is_dir() {
                if !matches!(name.as_str(), "backfill" | "nightly" | ".evaltriage" | ".cache") {
                    stack.push(entry.path());
                }
            } else if name.ends_with(".md") {
                found.push(std::fs::read_to_string(entry.path()).expect("a report"));
            }
        }
    }
    found
}

/// The repository's example store.
pub fn example_store() -> PathBuf {
    package_dir().join("../examples/store")
}

/// The prior reports made for the tests (a hand-written report for the example run's model, the
/// same as the one the repository ships in `reports/`). Tests never read the working `reports/`
/// folder: the README's main job writes there, and a test must not depend on what it wrote.
pub fn example_reports() -> PathBuf {
    package_dir().join("fixtures/reports")
}

/// Copies a folder tree (for giving each test its own reports folder).
pub fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read dir") {
        let p = entry.expect("entry").path();
        let target = to.join(p.file_name().expect("name"));
        if p.is_dir() {
            copy_tree(&p, &target);
        } else {
            std::fs::copy(&p, &target).expect("copy");
        }
    }
}

/// How the fake LLM answers for one eval.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LlmAnswer {
    /// A valid structured answer with this label.
    Label(&'static str),
    /// Text that is not JSON, every time.
    Garbage,
}

/// What the fake OpenAI-compatible endpoint was asked.
#[derive(Debug, Default)]
pub struct LlmState {
    pub answers: Mutex<HashMap<String, LlmAnswer>>,
    pub requests: AtomicUsize,
    /// Every request body, as text.
    pub bodies: Mutex<Vec<String>>,
    pub auth_headers: Mutex<Vec<String>>,
    /// How long each answer takes.
    pub latency: Mutex<std::time::Duration>,
    /// This many upcoming requests get a 429 with `Retry-After: 0`.
    pub rate_limit_next: AtomicUsize,
    /// Every request is refused with 401, as for a revoked key.
    pub refuse_key: AtomicBool,
    /// Text every answer repeats in its reasoning (an LLM echoing what it saw, a key say).
    pub echo: Mutex<Option<String>>,
    /// Answers say they took as many tokens as the request could: its messages at four characters
    /// a token, and its whole answer cap (`max_completion_tokens`). Otherwise 1,200 + 150.
    pub worst_case_usage: AtomicBool,
    /// The tokens every answer said it took, summed.
    pub tokens: std::sync::atomic::AtomicU64,
}

/// A local OpenAI-compatible chat completions endpoint that classifies by eval path.
#[derive(Debug)]
pub struct FakeLlm {
    pub server: MockServer,
    pub state: std::sync::Arc<LlmState>,
}

struct ChatResponder(std::sync::Arc<LlmState>);

/// What an answer says it took: 1,200 prompt and 150 completion tokens, or with
/// `worst_case_usage` the request's messages at four characters a token and its whole answer cap.
fn usage_of(state: &LlmState, request: &Value) -> (u64, u64) {
    if !state.worst_case_usage.load(Ordering::SeqCst) {
        return (1200, 150);
    }
    let chars: usize = request["messages"]
        .as_array()
        .map(|m| m.iter().filter_map(|m| m["content"].as_str()).map(|c| c.chars().count()).sum())
        .unwrap_or(0);
    let cap = request["max_completion_tokens"].as_u64().or(request["max_tokens"].as_u64()).unwrap_or(800);
    ((chars as u64).div_ceil(4), cap)
}

fn chat_completion(content: &str, latency: std::time::Duration, usage: (u64, u64)) -> ResponseTemplate {
    let (prompt, completion) = usage;
    ResponseTemplate::new(200).set_delay(latency).set_body_json(json!({
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "created": 1_763_556_000,
        "model": "test-model",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}
    }))
}

impl Respond for ChatResponder {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let state = &self.0;
        state.requests.fetch_add(1, Ordering::SeqCst);
        if let Some(auth) = request.headers.get("authorization") {
            state.auth_headers.lock().unwrap().push(auth.to_str().unwrap_or("").to_owned());
        }
        if state.refuse_key.load(Ordering::SeqCst) {
            return ResponseTemplate::new(401).set_body_json(
                json!({"error": {"message": "Incorrect API key provided", "type": "invalid_request_error"}}),
            );
        }
        if state.rate_limit_next.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1)).is_ok() {
            return ResponseTemplate::new(429)
                .insert_header("retry-after", "0")
                .set_body_json(json!({"error": {"message": "Rate limit reached", "type": "rate_limit_exceeded"}}));
        }
        let body = String::from_utf8_lossy(&request.body).into_owned();
        state.bodies.lock().unwrap().push(body.clone());
        let latency = *state.latency.lock().unwrap();
        let parsed: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
        let usage = usage_of(state, &parsed);
        state.tokens.fetch_add(usage.0 + usage.1, Ordering::SeqCst);
        let messages = parsed["messages"].as_array().cloned().unwrap_or_default();
        let user_text: String = messages
            .iter()
            .filter(|m| m["role"] == "user")
            .filter_map(|m| m["content"].as_str().map(str::to_owned))
            .collect::<Vec<_>>()
            .join("\n");
        let eval = user_text.lines().find_map(|l| l.strip_prefix("Eval: ")).map(str::trim).map(str::to_owned);
        let Some(eval) = eval else {
            // The synthesis prompt names no single eval.
            return chat_completion(
                "- Two failures share one cause: the grader checks ordering the task never asked for.",
                latency,
                usage,
            );
        };
        let answer = state.answers.lock().unwrap().get(&eval).cloned().unwrap_or(LlmAnswer::Label("MODEL_FAULT"));
        match answer {
            LlmAnswer::Garbage => chat_completion("I think it is probably the model, but who knows", latency, usage),
            LlmAnswer::Label(label) => {
                let verdict = json!({
                    "eval": eval,
                    "failed_step": "tests",
                    "error": "see evidence",
                    "classification": label,
                    "reasoning": match state.echo.lock().unwrap().as_deref() {
                        Some(echo) => format!("The fake LLM labels {eval} as {label}. It saw {echo} in the logs."),
                        None => format!("The fake LLM labels {eval} as {label}."),
                    },
                    "model_snippet": "",
                    "expected_snippet": "",
                    "confidence": 0.8
                });
                chat_completion(&verdict.to_string(), latency, usage)
            }
        }
    }
}

impl FakeLlm {
    pub async fn start() -> Self {
        let server = MockServer::start().await;
        let state = std::sync::Arc::new(LlmState::default());
        Mock::given(method("POST"))
            .and(path("/v1/chat/completions"))
            .respond_with(ChatResponder(state.clone()))
            .mount(&server)
            .await;
        Self { server, state }
    }

    /// The base URL to pass as `--llm-base-url` (with `/v1`).
    pub fn base_url(&self) -> String {
        format!("{}/v1", self.server.uri())
    }

    pub fn answer(&self, eval_path: &str, answer: LlmAnswer) {
        self.state.answers.lock().unwrap().insert(eval_path.to_owned(), answer);
    }

    pub fn set_latency(&self, latency: std::time::Duration) {
        *self.state.latency.lock().unwrap() = latency;
    }

    pub fn requests(&self) -> usize {
        self.state.requests.load(Ordering::SeqCst)
    }

    /// From now on every request is refused with 401.
    pub fn refuse_key(&self) {
        self.state.refuse_key.store(true, Ordering::SeqCst);
    }

    /// The next `n` requests are refused with 429 and `Retry-After: 0`.
    pub fn rate_limit_next(&self, n: usize) {
        self.state.rate_limit_next.store(n, Ordering::SeqCst);
    }
}

/// A copy of the example store at `dir`, its run document passed through `edit` first (to make a
/// run with the shape a test needs). Returns the store's path.
pub fn example_store_copy(dir: &Path, edit: impl FnOnce(&mut Value)) -> PathBuf {
    copy_tree(&example_store(), dir);
    let run_file = dir.join("runs").join(format!("{EXAMPLE_RUN}.json"));
    let mut doc: Value = serde_json::from_str(&std::fs::read_to_string(&run_file).expect("run file")).expect("json");
    edit(&mut doc);
    std::fs::write(&run_file, serde_json::to_string_pretty(&doc).expect("json")).expect("write run file");
    dir.to_path_buf()
}

/// The id of the example store's run.
pub const EXAMPLE_RUN: &str = "jn7ak4x9m2qw8hd5tz3vc6pe1r0bfs7g";

/// The eval of a run document with this path.
pub fn eval_mut<'a>(doc: &'a mut Value, eval_path: &str) -> &'a mut Value {
    doc["evals"]
        .as_array_mut()
        .expect("evals")
        .iter_mut()
        .find(|e| e["evalPath"] == eval_path)
        .unwrap_or_else(|| panic!("no eval {eval_path}"))
}

/// The failed step of an eval of a run document.
pub fn failed_step_mut(eval: &mut Value) -> &mut Value {
    eval["steps"]
        .as_array_mut()
        .expect("steps")
        .iter_mut()
        .find(|s| s["status"]["kind"] == "failed")
        .expect("a failed step")
}

/// Runs a prepared command to its end with stdout and stderr discarded, sampling its peak resident
/// memory (`VmHWM` in `/proc/<pid>/status`) while it runs: (exit code, wall time, peak KiB). For
/// the benchmarks, which print figures and assert nothing about time.
pub fn run_measured(mut cmd: std::process::Command) -> (i32, std::time::Duration, Option<u64>) {
    cmd.stdout(std::process::Stdio::null());
    let m = measure(cmd);
    (m.code, m.wall, m.peak_kb)
}

/// [`run_measured`], keeping what the command printed on stdout (in a file beside `scratch`, read
/// once it has ended): (exit code, wall time, peak KiB, stdout).
pub fn run_measured_with_stdout(
    mut cmd: std::process::Command,
    scratch: &Path,
) -> (i32, std::time::Duration, Option<u64>, String) {
    let out = scratch.join("measured-stdout.txt");
    cmd.stdout(std::fs::File::create(&out).expect("stdout file"));
    let m = measure(cmd);
    (m.code, m.wall, m.peak_kb, std::fs::read_to_string(&out).expect("stdout"))
}

/// What one run of a command took.
#[derive(Debug, Clone, Copy)]
pub struct Measured {
    pub code: i32,
    pub wall: std::time::Duration,
    /// Peak resident memory in KiB (`VmHWM`), when /proc gave it.
    pub peak_kb: Option<u64>,
    /// User plus system CPU time (from `/proc/<pid>/stat`, read to the moment it exited): what the
    /// command cost whatever else the shared machine was doing, where the wall time is not.
    pub cpu: std::time::Duration,
}

/// Runs a command to its end (stdout where the caller put it, else discarded), sampling its peak
/// memory and CPU time every 2 ms.
pub fn measure(mut cmd: std::process::Command) -> Measured {
    let start = std::time::Instant::now();
    let mut child = cmd.stderr(std::process::Stdio::null()).spawn().expect("spawn the command");
    let status_file = format!("/proc/{}/status", child.id());
    let stat_file = format!("/proc/{}/stat", child.id());
    let mut peak = None;
    let mut ticks = 0u64;
    loop {
        if let Ok(text) = std::fs::read_to_string(&status_file) {
            if let Some(kb) = text
                .lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            {
                peak = Some(peak.map_or(kb, |p: u64| p.max(kb)));
            }
        }
        // Fields 14 and 15 (utime, stime, in clock ticks of 1/100 s), counted after the `(comm)`.
        if let Ok(text) = std::fs::read_to_string(&stat_file) {
            if let Some((_, rest)) = text.rsplit_once(')') {
                let fields: Vec<&str> = rest.split_whitespace().collect();
                let field = |i: usize| fields.get(i).and_then(|f| f.parse::<u64>().ok()).unwrap_or(0);
                ticks = ticks.max(field(11) + field(12));
            }
        }
        if let Some(status) = child.try_wait().expect("wait") {
            return Measured {
                code: status.code().unwrap_or(-1),
                wall: start.elapsed(),
                peak_kb: peak,
                cpu: std::time::Duration::from_millis(ticks * 10),
            };
        }
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
}
