//! Shared by the fan-out tests and benchmark: realistic cases built from fixtures, and an
//! OpenAI-compatible stand-in (wiremock) that records when each request arrived.

pub mod real;

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use evaltriage_core::{EvalId, EvalPath, Evidence, Failure, FailureKind, FileContent, FileSet, StepName};
use evaltriage_fanout::{Case, LlmConfig};
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

/// Reads a fixture folder into a file set (paths relative to it, `/`-separated).
pub fn read_files(dir: &Path) -> FileSet {
    fn walk(root: &Path, dir: &Path, out: &mut FileSet) {
        let mut entries: Vec<_> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
        entries.sort();
        for p in entries {
            if p.is_dir() {
                walk(root, &p, out);
            } else {
                let rel = p.strip_prefix(root).unwrap().to_string_lossy().replace('\\', "/");
                out.insert(rel, FileContent::Text(std::fs::read_to_string(&p).unwrap()));
            }
        }
    }
    let mut out = FileSet::new();
    walk(dir, dir, &mut out);
    out
}

fn fixture_dir(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
}

/// The tsc output of a model that broke one type everywhere: 3,000 near-identical lines.
pub fn repeated_tsc_error(lines: usize) -> String {
    let mut text = String::from("Error: Failed to typecheck code:\n");
    for i in 0..lines {
        text.push_str(&format!(
            "convex/index.ts({},13): error TS2345: Argument of type '{{ messageCount: number; }}' is not assignable to parameter of type 'never'.\n",
            20 + i
        ));
    }
    text.push_str(&format!("\nFound {lines} errors in the same file, starting at: convex/index.ts:20\n"));
    text
}

/// A realistic failed eval: the fixture's files plus what a real output zip also holds
/// (dependencies, lockfiles, generated code, a binary, `run.log`), and a 3,000-line tsc error.
pub fn realistic_case(eval_path: &str) -> Case {
    let mut output = read_files(&fixture_dir("realistic_tsc/output"));
    let source = read_files(&fixture_dir("realistic_tsc/source"));
    output.insert("node_modules/convex/dist/index.js".into(), FileContent::Text("export const x = 1;\n".repeat(5_000)));
    output.insert(
        "package-lock.json".into(),
        FileContent::Text(format!("{{\"lockfileVersion\": 3, \"packages\": {{{}}}}}", "\"a\": {},".repeat(20_000))),
    );
    output.insert("bun.lock".into(), FileContent::Text("lockfile\n".repeat(2_000)));
    output.insert("bun.lockb".into(), FileContent::Binary { len: 123_456 });
    output
        .insert("convex/_generated/api.d.ts".into(), FileContent::Text("export declare const api: any;\n".repeat(300)));
    output.insert(".env.local".into(), FileContent::Text("CONVEX_DEPLOY_KEY=prod:secret-value\n".into()));
    output.insert(
        "run.log".into(),
        FileContent::Text(format!(
            "{}[tsc] running tsc --noEmit\n{}",
            "[install] added 1 package in 2s\n".repeat(30),
            repeated_tsc_error(3_000)
        )),
    );
    Case {
        failure: failure(eval_path, Some(StepName::Tsc), "Failed to typecheck code", Some(&repeated_tsc_error(3_000))),
        evidence: Evidence {
            eval_id: None,
            eval_path: Some(EvalPath::new(eval_path)),
            task: None,
            output_files: output,
            source_files: source,
            problems: vec![],
            ..Evidence::default()
        },
        prior_label: None,
        known_gaps: Vec::new(),
        grader_suspect: None,
    }
}

/// A failure of `eval_path` at `step` (a stable eval id is derived from the path).
pub fn failure(eval_path: &str, step: Option<StepName>, reason: &str, step_error: Option<&str>) -> Failure {
    let id: String = eval_path.chars().filter(char::is_ascii_alphanumeric).collect::<String>().to_ascii_lowercase();
    Failure {
        eval_id: EvalId::new(&id[..id.len().min(60)]).unwrap(),
        eval_path: EvalPath::new(eval_path),
        failed_step: step,
        kind: FailureKind::of_reason(reason),
        reason: reason.to_owned(),
        step_error: step_error.map(str::to_owned),
    }
}

/// A small verification failure whose model file contains `model_line`.
pub fn small_case(eval_path: &str) -> Case {
    let mut evidence = Evidence::default();
    evidence
        .output_files
        .insert("convex/index.ts".into(), FileContent::Text(format!("// {eval_path}\nexport const a = 1;\n")));
    evidence.source_files.insert("answer/convex/index.ts".into(), FileContent::Text("export const a = 2;\n".into()));
    evidence.task = Some(format!("Write the backend for {eval_path}."));
    Case {
        failure: failure(
            eval_path,
            Some(StepName::Tsc),
            "Failed to typecheck code",
            Some(
                "Error: Failed to typecheck code:\nconvex/index.ts(2,14): error TS2322: Type '1' is not assignable to type '2'.",
            ),
        ),
        evidence,
        prior_label: None,
        known_gaps: Vec::new(),
        grader_suspect: None,
    }
}

/// Cases `<category>/<NNN>-eval` for `n` evals.
pub fn small_cases(n: usize) -> Vec<Case> {
    (0..n).map(|i| small_case(&format!("000-fundamentals/{i:03}-eval"))).collect()
}

/// An LLM config for the stand-in, with fast backoff.
pub fn llm_config(server: &MockServer) -> LlmConfig {
    let mut config = LlmConfig::new(&format!("{}/v1", server.uri()), None, "stand-in-model");
    config.backoff_base = Duration::from_millis(5);
    config.call_timeout = Duration::from_secs(20);
    config
}

/// A chat completion in the real response shape.
pub fn completion(content: &str, finish_reason: &str, prompt_tokens: u64) -> Value {
    json!({
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "created": 1_760_000_000,
        "model": "stand-in-model",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": finish_reason}],
        "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": 50, "total_tokens": prompt_tokens + 50}
    })
}

/// A valid answer about `eval_path`.
pub fn answer(eval_path: &str, label: &str) -> String {
    json!({
        "eval": eval_path,
        "failed_step": "tsc",
        "error": "Type '1' is not assignable to type '2'.",
        "classification": label,
        "reasoning": format!("About {eval_path}: the model exported the wrong constant."),
        "model_snippet": "export const a = 1;",
        "expected_snippet": "export const a = 2;",
        "confidence": 0.8
    })
    .to_string()
}

/// What the stand-in saw of one request.
#[derive(Debug, Clone)]
pub struct Hit {
    pub eval_path: String,
    pub arrived: Instant,
    pub delay: Duration,
    pub body: Value,
}

type Behaviour = dyn Fn(&Hit, usize) -> (ResponseTemplate, Duration) + Send + Sync;

/// An OpenAI-compatible stand-in whose answers depend on the request; it records every hit.
#[derive(Clone)]
pub struct StandIn {
    pub hits: Arc<Mutex<Vec<Hit>>>,
    behaviour: Arc<Behaviour>,
}

impl StandIn {
    /// `behaviour(hit, index)` returns the response and its delay; `index` counts requests for
    /// the same eval from 0.
    pub fn new(behaviour: impl Fn(&Hit, usize) -> (ResponseTemplate, Duration) + Send + Sync + 'static) -> Self {
        Self { hits: Arc::default(), behaviour: Arc::new(behaviour) }
    }

    /// Mounts it on a fresh server at `POST /v1/chat/completions`.
    pub async fn start(self) -> (MockServer, Self) {
        let server = MockServer::start().await;
        Mock::given(method("POST")).and(path("/v1/chat/completions")).respond_with(self.clone()).mount(&server).await;
        (server, self)
    }

    pub fn hits(&self) -> Vec<Hit> {
        self.hits.lock().unwrap().clone()
    }

    /// The most requests in flight at once: a request is in flight from its arrival until its
    /// delayed response is sent (the client only sends its next one after it got a response).
    pub fn max_in_flight(&self) -> usize {
        let hits = self.hits();
        hits.iter()
            .map(|h| hits.iter().filter(|o| o.arrived <= h.arrived && h.arrived < o.arrived + o.delay).count())
            .max()
            .unwrap_or(0)
    }
}

impl Respond for StandIn {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let body: Value = serde_json::from_slice(&request.body).unwrap_or(Value::Null);
        let user = body["messages"][1]["content"].as_str().unwrap_or("");
        let eval_path =
            user.lines().find_map(|l| l.strip_prefix("Eval: ")).map_or_else(String::new, |p| p.trim().to_owned());
        let mut hits = self.hits.lock().unwrap();
        let index = hits.iter().filter(|h| h.eval_path == eval_path).count();
        let mut hit = Hit { eval_path, arrived: Instant::now(), delay: Duration::ZERO, body };
        let (template, delay) = (self.behaviour)(&hit, index);
        hit.delay = delay;
        hits.push(hit);
        template.set_delay(delay)
    }
}

/// A 200 response with this content.
pub fn ok(content: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(completion(content, "stop", 1_000))
}
