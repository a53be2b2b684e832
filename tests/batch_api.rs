//! A stand-in of OpenAI's Batch API for the end-to-end tests and the benchmark: `POST /v1/files`
//! (multipart, `purpose=batch`), `POST /v1/batches`, `GET /v1/batches/{id}` moving through
//! validating → in_progress → finalizing → completed one poll at a time, and
//! `GET /v1/files/{id}/content`. Answers classify by eval path like the chat stand-in, come back in
//! a shuffled order, and faults can be asked for: a request in the error file, an invalid answer,
//! an expired batch with partial output, a batch held in progress. A chat completion is counted
//! (a batch backfill must send none).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

#[derive(Debug, Default)]
pub struct BatchApiState {
    pub files: Mutex<BTreeMap<String, Vec<u8>>>,
    pub uploads: AtomicUsize,
    pub batches_created: AtomicUsize,
    pub chat_calls: AtomicUsize,
    /// Request lines received over all uploads.
    pub requests: AtomicUsize,
    batches: Mutex<BTreeMap<String, FakeBatch>>,
    /// Keep every batch in progress (to kill a backfill while it waits).
    pub hold: AtomicBool,
    /// The first request of the first batch comes back in the error file.
    pub error_once: AtomicBool,
    /// The first batch expires with half its answers.
    pub expire_once: AtomicBool,
    /// The first answer about these evals is not valid JSON.
    pub garbage_once: Mutex<BTreeSet<String>>,
}

#[derive(Debug, Clone)]
struct FakeBatch {
    input: String,
    polls: u32,
    output: Option<(String, Option<String>, &'static str)>,
}

#[derive(Debug)]
pub struct FakeBatchApi {
    pub server: MockServer,
    pub state: Arc<BatchApiState>,
}

impl FakeBatchApi {
    pub async fn start() -> Self {
        let server = MockServer::start().await;
        let state = Arc::new(BatchApiState::default());
        Mock::given(any()).respond_with(Responder(state.clone())).mount(&server).await;
        Self { server, state }
    }

    pub fn base_url(&self) -> String {
        format!("{}/v1", self.server.uri())
    }

    pub fn count(&self, what: &AtomicUsize) -> usize {
        what.load(Ordering::SeqCst)
    }
}

struct Responder(Arc<BatchApiState>);

fn id_json(id: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({ "id": id }))
}

impl Respond for Responder {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let s = &self.0;
        let path = request.url.path().to_owned();
        let method = request.method.as_str();
        match (method, path.as_str()) {
            ("POST", "/v1/chat/completions") => {
                s.chat_calls.fetch_add(1, Ordering::SeqCst);
                ResponseTemplate::new(500)
            }
            ("POST", "/v1/files") => {
                let body = String::from_utf8_lossy(&request.body).into_owned();
                if !body.contains("name=\"purpose\"\r\n\r\nbatch") {
                    return ResponseTemplate::new(400)
                        .set_body_json(json!({"error": {"message": "purpose must be batch"}}));
                }
                let Some(start) = body.find("filename=").and_then(|i| body[i..].find("\r\n\r\n").map(|j| i + j + 4))
                else {
                    return ResponseTemplate::new(400);
                };
                let end = body.rfind("\r\n--").unwrap_or(body.len());
                let jsonl = body[start..end].to_owned();
                s.requests.fetch_add(jsonl.lines().filter(|l| !l.trim().is_empty()).count(), Ordering::SeqCst);
                let n = s.uploads.fetch_add(1, Ordering::SeqCst);
                let id = format!("file-in{n}");
                s.files.lock().unwrap().insert(id.clone(), jsonl.into_bytes());
                id_json(&id)
            }
            ("POST", "/v1/batches") => {
                let v: Value = serde_json::from_slice(&request.body).unwrap_or(Value::Null);
                if v["completion_window"] != "24h" || v["endpoint"] != "/v1/chat/completions" {
                    return ResponseTemplate::new(400);
                }
                let input = v["input_file_id"].as_str().unwrap_or("").to_owned();
                if !s.files.lock().unwrap().contains_key(&input) {
                    return ResponseTemplate::new(404);
                }
                let n = s.batches_created.fetch_add(1, Ordering::SeqCst);
                let id = format!("batch_{n}");
                s.batches.lock().unwrap().insert(id.clone(), FakeBatch { input, polls: 0, output: None });
                id_json(&id)
            }
            ("GET", p) if p.starts_with("/v1/batches/") => {
                let id = &p["/v1/batches/".len()..];
                let mut batches = s.batches.lock().unwrap();
                let Some(b) = batches.get_mut(id) else { return ResponseTemplate::new(404) };
                let held = s.hold.load(Ordering::SeqCst);
                if !held {
                    b.polls += 1;
                }
                let lines = s
                    .files
                    .lock()
                    .unwrap()
                    .get(&b.input)
                    .map(|f| String::from_utf8_lossy(f).lines().count())
                    .unwrap_or(0);
                let status = match b.polls {
                    0 => "validating",
                    1 => "in_progress",
                    2 => "finalizing",
                    _ => {
                        if b.output.is_none() {
                            b.output = Some(self.finish(id, &b.input));
                        }
                        b.output.as_ref().map_or("completed", |o| o.2)
                    }
                };
                let (out, err) = match &b.output {
                    Some((o, e, _)) => (json!(o), json!(e)),
                    None => (Value::Null, Value::Null),
                };
                ResponseTemplate::new(200).set_body_json(json!({
                    "id": id, "object": "batch", "status": status,
                    "input_file_id": b.input, "output_file_id": out, "error_file_id": err,
                    "request_counts": {"total": lines, "completed": if b.output.is_some() { lines } else { 0 }, "failed": 0}
                }))
            }
            ("GET", p) if p.starts_with("/v1/files/") && p.ends_with("/content") => {
                let id = &p["/v1/files/".len()..p.len() - "/content".len()];
                match s.files.lock().unwrap().get(id) {
                    Some(bytes) => ResponseTemplate::new(200).set_body_bytes(bytes.clone()),
                    None => ResponseTemplate::new(404),
                }
            }
            _ => ResponseTemplate::new(404),
        }
    }
}

impl Responder {
    /// Answers a batch's input: (output file id, error file id, final status).
    fn finish(&self, id: &str, input: &str) -> (String, Option<String>, &'static str) {
        let s = &self.0;
        let text = String::from_utf8_lossy(&s.files.lock().unwrap()[input]).into_owned();
        let mut lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
        let mut status = "completed";
        if s.expire_once.swap(false, Ordering::SeqCst) {
            lines.truncate(lines.len() / 2);
            status = "expired";
        }
        let mut out = Vec::new();
        let mut err = Vec::new();
        for (i, line) in lines.iter().enumerate() {
            let req: Value = serde_json::from_str(line).unwrap_or(Value::Null);
            let custom_id = req["custom_id"].as_str().unwrap_or("").to_owned();
            if i == 0 && s.error_once.swap(false, Ordering::SeqCst) {
                err.push(
                    json!({"id": format!("r{i}"), "custom_id": custom_id, "response": null,
                    "error": {"code": "server_error", "message": "the model had an error"}})
                    .to_string(),
                );
                continue;
            }
            let user: String = req["body"]["messages"]
                .as_array()
                .map(|m| {
                    m.iter()
                        .filter(|m| m["role"] == "user")
                        .filter_map(|m| m["content"].as_str())
                        .collect::<Vec<_>>()
                        .join("\n")
                })
                .unwrap_or_default();
            let eval = user.lines().find_map(|l| l.strip_prefix("Eval: ")).map(|e| e.trim().to_owned());
            let content = match eval {
                None => {
                    "- Two failures share one cause: the grader checks ordering the task never asked for.".to_owned()
                }
                Some(e) if s.garbage_once.lock().unwrap().remove(&e) => "probably the model, who knows".to_owned(),
                Some(e) => json!({
                    "eval": e, "failed_step": "tests", "error": "see evidence", "classification": "MODEL_FAULT",
                    "reasoning": format!("The batch stand-in labels {e} as MODEL_FAULT."),
                    "model_snippet": "", "expected_snippet": "", "confidence": 0.8
                })
                .to_string(),
            };
            out.push(
                json!({"id": format!("r{i}"), "custom_id": custom_id, "error": null, "response": {
                    "status_code": 200, "request_id": format!("req{i}"),
                    "body": {"id": "chatcmpl", "object": "chat.completion", "choices": [
                        {"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
                        "usage": {"prompt_tokens": 1000, "completion_tokens": 100, "total_tokens": 1100}}
                }})
                .to_string(),
            );
        }
        // Shuffled: the provider answers in its own order.
        out.reverse();
        if out.len() > 2 {
            out.rotate_left(1);
        }
        let mut files = s.files.lock().unwrap();
        let out_id = format!("file-out-{id}");
        files.insert(out_id.clone(), (out.join("\n") + "\n").into_bytes());
        let err_id = (!err.is_empty()).then(|| {
            let e = format!("file-err-{id}");
            files.insert(e.clone(), (err.join("\n") + "\n").into_bytes());
            e
        });
        (out_id, err_id, status)
    }
}
