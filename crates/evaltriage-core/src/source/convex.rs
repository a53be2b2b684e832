//! The Convex source: the public HTTP API of a convex-evals deployment (`POST /api/query`).
//!
//! Every request sends `"format": "json"`. 5xx answers (other than a function error), 429 and
//! connection failures are retried a bounded number of times with backoff; blobs shared by several
//! evals are downloaded once.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::sync::OnceCell;

use crate::evidence::{Evidence, FileSet};
use crate::ids::{EvalId, RunId, StorageId};
use crate::model::Run;
use crate::source::zipfiles::{ZipLimits, unzip_files};
use crate::source::{RunFilter, RunHeader, Source, SourceError, assemble_evidence, wire};
use crate::target::RunRef;

/// The convex-evals production deployment.
pub const DEFAULT_CONVEX_URL: &str = "https://fabulous-panther-525.convex.cloud";

/// How to reach a Convex deployment.
#[derive(Clone)]
pub struct ConvexConfig {
    /// The deployment URL, such as `https://fabulous-panther-525.convex.cloud`.
    pub url: String,
    /// An optional admin/deploy key, sent as `Authorization: Convex <key>`. Never printed.
    pub deploy_key: Option<String>,
    /// Timeout of one HTTP request.
    pub request_timeout: Duration,
    /// Retries after the first attempt, for 5xx, 429 and connection failures.
    pub max_retries: u32,
    /// The first backoff; it doubles on each retry (with jitter), capped at 10 s.
    pub backoff: Duration,
}

impl ConvexConfig {
    /// The defaults for a deployment URL.
    pub fn new(url: &str) -> Self {
        Self {
            url: url.trim_end_matches('/').to_owned(),
            deploy_key: None,
            request_timeout: Duration::from_secs(60),
            max_retries: 3,
            backoff: Duration::from_millis(500),
        }
    }
}

impl fmt::Debug for ConvexConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConvexConfig")
            .field("url", &self.url)
            .field("deploy_key", &self.deploy_key.as_ref().map(|_| "<redacted>"))
            .field("request_timeout", &self.request_timeout)
            .field("max_retries", &self.max_retries)
            .finish()
    }
}

type BlobCell = Arc<OnceCell<Result<Arc<FileSet>, String>>>;

/// Reads runs from a Convex deployment.
#[derive(Debug)]
pub struct ConvexSource {
    config: ConvexConfig,
    client: reqwest::Client,
    blobs: Mutex<HashMap<StorageId, BlobCell>>,
}

const BACKOFF_CAP: Duration = Duration::from_secs(10);

/// One outcome of an HTTP attempt: done, or worth another try after a delay.
enum Attempt<T> {
    Done(Result<T, SourceError>),
    Retry { error: SourceError, after: Option<Duration> },
}

impl ConvexSource {
    pub fn new(config: ConvexConfig) -> Result<Self, SourceError> {
        let client = reqwest::Client::builder()
            .timeout(config.request_timeout)
            .connect_timeout(Duration::from_secs(15))
            .user_agent(concat!("evaltriage/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| SourceError::Transport { url: config.url.clone(), message: e.to_string() })?;
        Ok(Self { config, client, blobs: Mutex::new(HashMap::new()) })
    }

    pub fn url(&self) -> &str {
        &self.config.url
    }

    fn backoff(&self, attempt: u32, retry_after: Option<Duration>) -> Duration {
        if let Some(after) = retry_after {
            return after.min(BACKOFF_CAP);
        }
        let base = self.config.backoff.saturating_mul(1 << attempt.min(16)).min(BACKOFF_CAP);
        // Up to 25% jitter, so that retries from concurrent requests spread out.
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
        base + base.mul_f64(f64::from(nanos % 1000) / 4000.0)
    }

    async fn with_retries<T, F, Fut>(&self, mut attempt_fn: F) -> Result<T, SourceError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Attempt<T>>,
    {
        let mut attempt = 0;
        loop {
            match attempt_fn().await {
                Attempt::Done(result) => return result,
                Attempt::Retry { error, after } => {
                    if attempt >= self.config.max_retries {
                        return Err(error);
                    }
                    let delay = self.backoff(attempt, after);
                    tracing::debug!(%error, attempt, ?delay, "retrying");
                    tokio::time::sleep(delay).await;
                    attempt += 1;
                }
            }
        }
    }

    /// Calls a Convex query function and returns its value.
    pub async fn query(&self, path: &str, args: Value) -> Result<Value, SourceError> {
        self.call("api/query", path, args).await
    }

    async fn call(&self, endpoint: &str, path: &str, args: Value) -> Result<Value, SourceError> {
        let url = format!("{}/{endpoint}", self.config.url);
        let body =
            serde_json::to_vec(&json!({"path": path, "args": args, "format": "json"})).expect("json values serialise");
        self.with_retries(|| self.call_once(&url, path, body.clone())).await
    }

    async fn call_once(&self, url: &str, path: &str, body: Vec<u8>) -> Attempt<Value> {
        let mut request = self.client.post(url).header("content-type", "application/json").body(body);
        if let Some(key) = &self.config.deploy_key {
            request = request.header("authorization", format!("Convex {key}"));
        }
        let response = match request.send().await {
            Ok(r) => r,
            Err(e) => return Attempt::Retry { error: transport(url, &e), after: None },
        };
        let status = response.status().as_u16();
        let retry_after = retry_after(response.headers());
        let bytes = match response.bytes().await {
            Ok(b) => b,
            Err(e) => return Attempt::Retry { error: transport(url, &e), after: None },
        };
        let parsed: Option<Value> = serde_json::from_slice(&bytes).ok();
        // A function error: `{"status": "error", "errorMessage"}`, HTTP 200 today, 560 before.
        if let Some(v) = &parsed {
            match v.get("status").and_then(Value::as_str) {
                Some("success") if status < 300 => {
                    return Attempt::Done(Ok(v.get("value").cloned().unwrap_or(Value::Null)));
                }
                Some("error") => {
                    let message =
                        v.get("errorMessage").and_then(Value::as_str).unwrap_or("(no errorMessage)").to_owned();
                    return Attempt::Done(Err(SourceError::Function { path: path.to_owned(), message }));
                }
                _ => {}
            }
        }
        let message = parsed
            .as_ref()
            .and_then(|v| {
                let code = v.get("code").and_then(Value::as_str);
                let msg = v.get("message").and_then(Value::as_str);
                match (code, msg) {
                    (Some(c), Some(m)) => Some(format!("{c}: {m}")),
                    (None, Some(m)) | (Some(m), None) => Some(m.to_owned()),
                    (None, None) => None,
                }
            })
            .unwrap_or_else(|| snippet(&bytes));
        let error = SourceError::Http { url: url.to_owned(), status, message };
        if status == 429 || status >= 500 {
            Attempt::Retry { error, after: retry_after }
        } else if status < 300 {
            Attempt::Done(Err(SourceError::Malformed(format!(
                "{url} answered something that is not a Convex response: {}",
                snippet(&bytes)
            ))))
        } else {
            Attempt::Done(Err(error))
        }
    }

    /// The raw run document (the value of `runs:getRunDetails`), or `None` when there is no such run.
    pub async fn run_document(&self, run_id: &RunId) -> Result<Option<Value>, SourceError> {
        match self.query("runs:getRunDetails", json!({"runId": run_id.as_str()})).await {
            Ok(Value::Null) => Ok(None),
            Ok(v) => Ok(Some(v)),
            Err(SourceError::Function { message, .. }) if is_bare_server_error(&message) => {
                Err(SourceError::NotACodingRun(run_id.clone()))
            }
            Err(SourceError::Function { path, message }) if message.contains("ArgumentValidationError") => {
                Err(SourceError::Function { path, message: format!("{message} (is {run_id} a run id?)") })
            }
            Err(e) => Err(e),
        }
    }

    /// Downloads a blob's bytes: `runs:getOutputUrl`, then a plain GET.
    pub async fn blob_bytes(&self, id: &StorageId) -> Result<Vec<u8>, SourceError> {
        let url = match self.query("runs:getOutputUrl", json!({"storageId": id.as_str()})).await? {
            Value::String(u) => u,
            Value::Null => {
                return Err(SourceError::Store(format!("blob {id} has no download URL (it may have expired)")));
            }
            other => {
                return Err(SourceError::Malformed(format!(
                    "runs:getOutputUrl returned {}",
                    snippet(other.to_string().as_bytes())
                )));
            }
        };
        self.with_retries(|| self.download_once(&url)).await
    }

    async fn download_once(&self, url: &str) -> Attempt<Vec<u8>> {
        let response = match self.client.get(url).send().await {
            Ok(r) => r,
            Err(e) => return Attempt::Retry { error: transport(url, &e), after: None },
        };
        let status = response.status().as_u16();
        let after = retry_after(response.headers());
        match response.bytes().await {
            Ok(b) if status < 300 => Attempt::Done(Ok(b.to_vec())),
            Ok(b) => {
                let error = SourceError::Http { url: redact_query(url), status, message: snippet(&b) };
                if status == 429 || status >= 500 { Attempt::Retry { error, after } } else { Attempt::Done(Err(error)) }
            }
            Err(e) => Attempt::Retry { error: transport(url, &e), after: None },
        }
    }

    /// A blob unzipped, downloaded at most once per source however many evals share it.
    async fn blob_files(&self, id: &StorageId) -> Result<Arc<FileSet>, String> {
        let cell = {
            let mut blobs = self.blobs.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            Arc::clone(blobs.entry(id.clone()).or_default())
        };
        cell.get_or_init(|| async {
            let bytes = self.blob_bytes(id).await.map_err(|e| e.to_string())?;
            unzip_files(&bytes, ZipLimits::default()).map(Arc::new)
        })
        .await
        .clone()
    }
}

fn is_bare_server_error(message: &str) -> bool {
    // Convex prefixes messages with `[Request ID: ...] `.
    let m = message.trim();
    let m = if m.starts_with("[Request ID:") { m.split_once(']').map_or(m, |(_, rest)| rest.trim()) } else { m };
    m == "Server Error"
}

fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    headers
        .get("retry-after")?
        .to_str()
        .ok()?
        .trim()
        .parse::<f64>()
        .ok()
        .filter(|s| s.is_finite() && *s >= 0.0)
        .map(Duration::from_secs_f64)
}

fn transport(url: &str, e: &reqwest::Error) -> SourceError {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "connection failed"
    } else {
        "request failed"
    };
    SourceError::Transport { url: redact_query(url), message: kind.to_owned() }
}

/// Download URLs carry signed query strings; keep them out of messages.
fn redact_query(url: &str) -> String {
    url.split_once('?').map_or_else(|| url.to_owned(), |(base, _)| format!("{base}?…"))
}

fn snippet(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let one_line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.chars().count() > 200 {
        one_line.chars().take(200).collect::<String>() + "…"
    } else if one_line.is_empty() {
        "(empty body)".to_owned()
    } else {
        one_line
    }
}

impl Source for ConvexSource {
    async fn run(&self, run: &RunRef) -> Result<Run, SourceError> {
        let value =
            self.run_document(&run.run_id).await?.ok_or_else(|| SourceError::RunNotFound(run.run_id.clone()))?;
        super::the_run_asked_for(&run.run_id, wire::run_from_value(value)?, self.url(), false)
    }

    async fn evidence(&self, run: &Run, eval_id: &EvalId) -> Result<Evidence, SourceError> {
        let eval =
            run.evals.iter().find(|e| &e.id == eval_id).ok_or_else(|| SourceError::NoSuchEval(eval_id.to_string()))?;
        let output = match eval.output_storage_id() {
            Some(id) => Some(self.blob_files(id).await.map(|f| (*f).clone())),
            None => None,
        };
        let source = match &eval.eval_source_storage_id {
            Some(id) => Some(self.blob_files(id).await.map(|f| (*f).clone())),
            None => None,
        };
        assemble_evidence(run, eval_id, output, source)
    }

    async fn runs(&self, filter: &RunFilter) -> Result<Vec<RunHeader>, SourceError> {
        let mut args = serde_json::Map::new();
        if let Some(e) = &filter.experiment {
            args.insert("experiment".into(), json!(e));
        }
        if let Some(m) = &filter.model_id {
            args.insert("modelId".into(), json!(m));
        }
        if let Some(l) = filter.limit {
            args.insert("limit".into(), json!(l));
        }
        let value = self.query("runs:listRuns", Value::Object(args)).await?;
        let items = match value {
            Value::Array(items) => items,
            Value::Object(mut o) => match o.remove("page") {
                Some(Value::Array(items)) => items,
                _ => return Err(SourceError::Malformed("runs:listRuns returned an object without a page".into())),
            },
            _ => return Err(SourceError::Malformed("runs:listRuns did not return a list".into())),
        };
        let mut headers = items.into_iter().map(wire::header_from_value).collect::<Result<Vec<_>, _>>()?;
        headers.sort_by(|a, b| b.created_at_ms.total_cmp(&a.created_at_ms));
        Ok(headers)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bare_server_errors_are_recognised() {
        assert!(is_bare_server_error("Server Error"));
        assert!(is_bare_server_error("[Request ID: abc123] Server Error"));
        assert!(!is_bare_server_error("Uncaught Error: Run not found"));
    }

    #[test]
    fn the_key_never_shows_in_debug_output() {
        let mut c = ConvexConfig::new("https://x.convex.cloud/");
        c.deploy_key = Some("prod:secret-key-123".into());
        let shown = format!("{c:?}");
        assert!(!shown.contains("secret-key-123"), "{shown}");
        assert_eq!(c.url, "https://x.convex.cloud");
    }
}
