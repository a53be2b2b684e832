//! The Convex source: the public HTTP API of a convex-evals deployment (`POST /api/query`).
//!
//! Every request sends `"format": "json"`. 5xx answers (other than a function error), 429 and
//! connection failures are retried by core's retry rule (`retry.rs`); blobs shared by several
//! evals are downloaded once.
//!
//! Nothing here waits or buffers without a bound: every request has a total deadline that covers
//! reading its body (a server that never answers, or trickles a byte a second, fails at the
//! deadline, and a timed-out request is not tried again), every query or download has a total
//! budget for all its attempts and backoff sleeps, and a blob is streamed through a size cap.
//! A deployment whose queries, or whose blob downloads, let [`ConvexConfig::give_up_after_timeouts`]
//! requests in a row time out is given up on for those for the rest of the run: every later one
//! fails at once with "the deployment is not answering", said once in the log. Queries and
//! downloads keep separate counts, since a blob server may hang while the API still answers.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, SystemTime};

use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Value, json};
use tokio::sync::OnceCell;

use crate::evidence::{Evidence, FileSet};
use crate::fsread::human_bytes;
use crate::ids::{EvalId, RunId, StorageId};
use crate::model::Run;
use crate::retry::{Retries, RetryPolicy, retry_after};
use crate::source::limits::{DEFAULT_MAX_BLOB_BYTES, MAX_RUN_DOCUMENT_BYTES};
use crate::source::zipfiles::{ZipLimits, unzip_files};
use crate::source::{BlobRead, RunFilter, RunHeader, Source, SourceError, assemble_evidence, wire};
use crate::target::RunRef;

/// The convex-evals production deployment.
pub const DEFAULT_CONVEX_URL: &str = "https://fabulous-panther-525.convex.cloud";

/// The most bytes read from one query answer: the run document cap
/// ([`crate::source::MAX_RUN_DOCUMENT_BYTES`], 64 MiB), since a run document is the largest
/// answer (a 20,000-eval run is about 25 MB).
const MAX_QUERY_ANSWER_BYTES: u64 = MAX_RUN_DOCUMENT_BYTES;

/// Requests in a row that may time out before the deployment is given up on for the run.
pub const DEFAULT_GIVE_UP_AFTER_TIMEOUTS: u32 = 3;

/// The most bytes of an error answer kept for its message.
const MAX_ERROR_BODY_BYTES: u64 = 64 << 10;

/// How to reach a Convex deployment.
#[derive(Clone)]
pub struct ConvexConfig {
    /// The deployment URL, such as `https://fabulous-panther-525.convex.cloud`.
    pub url: String,
    /// An optional admin/deploy key, sent as `Authorization: Convex <key>`. Never printed.
    pub deploy_key: Option<String>,
    /// Total deadline of one query request, from connecting to the last byte of the answer.
    pub request_timeout: Duration,
    /// Total deadline of one blob download, from connecting to the last byte.
    pub download_timeout: Duration,
    /// Total time one query or download may take over all its attempts and backoff sleeps.
    pub retry_budget: Duration,
    /// Retries after the first attempt, for 5xx, 429 and connection failures (not timeouts).
    pub max_retries: u32,
    /// The first backoff; it doubles on each retry (with jitter), capped at 10 s.
    pub backoff: Duration,
    /// The largest blob downloaded; a larger one is a per-eval problem, never read whole.
    pub max_blob_bytes: u64,
    /// After this many requests in a row (queries or downloads) with no answer in time, the
    /// deployment is given up on for the run: the remaining ones fail at once ("the deployment is
    /// not answering"). Default [`DEFAULT_GIVE_UP_AFTER_TIMEOUTS`]; 0 never gives up.
    pub give_up_after_timeouts: u32,
}

impl ConvexConfig {
    /// The defaults for a deployment URL.
    pub fn new(url: &str) -> Self {
        Self {
            url: url.trim_end_matches('/').to_owned(),
            deploy_key: None,
            request_timeout: Duration::from_secs(60),
            download_timeout: Duration::from_secs(120),
            retry_budget: Duration::from_secs(120),
            max_retries: 3,
            backoff: Duration::from_millis(500),
            max_blob_bytes: DEFAULT_MAX_BLOB_BYTES,
            give_up_after_timeouts: DEFAULT_GIVE_UP_AFTER_TIMEOUTS,
        }
    }
}

impl fmt::Debug for ConvexConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConvexConfig")
            .field("url", &self.url)
            .field("deploy_key", &self.deploy_key.as_ref().map(|_| "<redacted>"))
            .field("request_timeout", &self.request_timeout)
            .field("download_timeout", &self.download_timeout)
            .field("retry_budget", &self.retry_budget)
            .field("max_retries", &self.max_retries)
            .field("backoff", &self.backoff)
            .field("max_blob_bytes", &self.max_blob_bytes)
            .field("give_up_after_timeouts", &self.give_up_after_timeouts)
            .finish()
    }
}

type BlobCell = Arc<OnceCell<Result<Arc<FileSet>, String>>>;

/// `1.5 s`, `60 s`.
fn seconds(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s.fract() == 0.0 { format!("{s:.0} s") } else { format!("{s:.1} s") }
}

/// Reads runs from a Convex deployment.
#[derive(Debug)]
pub struct ConvexSource {
    config: ConvexConfig,
    client: reqwest::Client,
    blobs: Mutex<HashMap<StorageId, BlobCell>>,
    /// Per [`Endpoint`]: requests in a row that timed out (any answer resets it).
    timeouts_in_a_row: [AtomicU32; 2],
    /// Per [`Endpoint`]: set once it is given up on, with why (for the one warning).
    given_up: [OnceLock<String>; 2],
}

/// What a request asks of the deployment; each is given up on by its own count of timeouts.
#[derive(Debug, Clone, Copy)]
enum Endpoint {
    Query = 0,
    Download = 1,
}

/// The longest single wait between attempts, whatever a server's `Retry-After` asks.
const MAX_WAIT: Duration = Duration::from_secs(10);

/// One outcome of an HTTP attempt: done, worth another try after a delay, or no answer in time.
enum Attempt<T> {
    Done(Result<T, SourceError>),
    /// The server was given its whole deadline; it is not asked again for this request.
    TimedOut(SourceError),
    Retry {
        error: SourceError,
        after: Option<Duration>,
    },
}

impl ConvexSource {
    pub fn new(config: ConvexConfig) -> Result<Self, SourceError> {
        let client = reqwest::Client::builder()
            .timeout(config.request_timeout)
            .connect_timeout(Duration::from_secs(15))
            .user_agent(concat!("evaltriage/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| SourceError::Transport { url: config.url.clone(), message: e.to_string() })?;
        Ok(Self {
            config,
            client,
            blobs: Mutex::new(HashMap::new()),
            timeouts_in_a_row: [AtomicU32::new(0), AtomicU32::new(0)],
            given_up: [OnceLock::new(), OnceLock::new()],
        })
    }

    pub fn url(&self) -> &str {
        &self.config.url
    }

    /// The retry rule of one query or download: `max_retries`, backoff from `backoff`, no wait
    /// longer than [`MAX_WAIT`], and all of it within `retry_budget`.
    fn retries(&self) -> Retries {
        let policy = RetryPolicy {
            max_retries: self.config.max_retries,
            first_backoff: self.config.backoff,
            max_wait: MAX_WAIT,
        };
        Retries::new(policy, tokio::time::Instant::now() + self.config.retry_budget)
    }

    /// Runs attempts until one is done, the retries are spent, or the retry budget would be
    /// exceeded. Each attempt is cut at `deadline` (or what is left of the budget, if less); a
    /// cut attempt ends the loop, since a server that did not answer in time is not asked again.
    async fn with_retries<T, F, Fut>(
        &self,
        endpoint: Endpoint,
        url: &str,
        deadline: Duration,
        mut attempt_fn: F,
    ) -> Result<T, SourceError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Attempt<T>>,
    {
        if self.given_up[endpoint as usize].get().is_some() {
            return Err(not_answering(url));
        }
        let mut retries = self.retries();
        loop {
            let limit = deadline.min(retries.remaining());
            let Ok(outcome) = tokio::time::timeout(limit, attempt_fn()).await else {
                self.timed_out(endpoint, url);
                return Err(SourceError::Transport {
                    url: redact_query(url),
                    message: format!("timed out: no complete answer within {}", seconds(limit)),
                });
            };
            if matches!(outcome, Attempt::TimedOut(_)) {
                self.timed_out(endpoint, url);
            } else {
                self.timeouts_in_a_row[endpoint as usize].store(0, Ordering::SeqCst);
            }
            match outcome {
                Attempt::Done(result) => return result,
                Attempt::TimedOut(error) => return Err(error),
                Attempt::Retry { error, after } => match retries.next_wait(after) {
                    Ok(wait) => {
                        tracing::debug!(%error, retry = retries.done(), ?wait, "retrying");
                        tokio::time::sleep(wait).await;
                    }
                    Err(give_up) => {
                        tracing::debug!(%error, "{give_up}");
                        return Err(error);
                    }
                },
            }
        }
    }

    /// Counts a request that got no answer in time; gives the deployment up when that makes enough
    /// in a row, and says so once.
    fn timed_out(&self, endpoint: Endpoint, url: &str) {
        let in_a_row = self.timeouts_in_a_row[endpoint as usize].fetch_add(1, Ordering::SeqCst) + 1;
        let limit = self.config.give_up_after_timeouts;
        if limit == 0 || in_a_row < limit {
            return;
        }
        let mut first = false;
        let why = self.given_up[endpoint as usize].get_or_init(|| {
            first = true;
            format!(
                "the deployment is not answering: {in_a_row} requests in a row timed out (the last to {}); no more requests are sent to it in this run",
                redact_query(url)
            )
        });
        if first {
            tracing::warn!("{why}");
        }
    }

    /// Calls a Convex query function and returns its value.
    pub async fn query(&self, path: &str, args: Value) -> Result<Value, SourceError> {
        let raw = self.query_raw(path, args).await?;
        serde_json::from_str(raw.get()).map_err(|e| SourceError::Malformed(format!("{path}: {e}")))
    }

    /// Calls a Convex query function and returns its value as JSON text, unparsed.
    async fn query_raw(&self, path: &str, args: Value) -> Result<Box<RawValue>, SourceError> {
        self.call("api/query", path, args).await
    }

    async fn call(&self, endpoint: &str, path: &str, args: Value) -> Result<Box<RawValue>, SourceError> {
        let url = format!("{}/{endpoint}", self.config.url);
        let body =
            serde_json::to_vec(&json!({"path": path, "args": args, "format": "json"})).expect("json values serialise");
        self.with_retries(Endpoint::Query, &url, self.config.request_timeout, || {
            self.call_once(&url, path, body.clone())
        })
        .await
    }

    async fn call_once(&self, url: &str, path: &str, body: Vec<u8>) -> Attempt<Box<RawValue>> {
        let mut request = self.client.post(url).header("content-type", "application/json").body(body);
        if let Some(key) = &self.config.deploy_key {
            request = request.header("authorization", format!("Convex {key}"));
        }
        let mut response = match request.send().await {
            Ok(r) => r,
            Err(e) => return failed(url, &e),
        };
        let status = response.status().as_u16();
        let retry_after = retry_after(response.headers(), SystemTime::now());
        let limit = if status < 300 { MAX_QUERY_ANSWER_BYTES } else { MAX_ERROR_BODY_BYTES };
        let bytes = match read_capped(&mut response, limit).await {
            Ok(Capped::Whole(b)) => b,
            Ok(Capped::Over) if status < 300 => {
                return Attempt::Done(Err(SourceError::Malformed(format!(
                    "{url} answered more than {}",
                    human_bytes(MAX_QUERY_ANSWER_BYTES)
                ))));
            }
            Ok(Capped::Over) => Vec::new(),
            Err(e) => return failed(url, &e),
        };
        let parsed: Option<Envelope<'_>> = serde_json::from_slice(&bytes).ok();
        let text = |v: &Option<Value>| v.as_ref().and_then(Value::as_str).map(str::to_owned);
        // A function error: `{"status": "error", "errorMessage"}`, HTTP 200 today, 560 before.
        if let Some(v) = &parsed {
            match v.status.as_ref().and_then(Value::as_str) {
                Some("success") if status < 300 => {
                    // The value's JSON text, copied once out of the answer; parsed by the caller.
                    let value = v.value.map_or_else(null_raw, ToOwned::to_owned);
                    return Attempt::Done(Ok(value));
                }
                Some("error") => {
                    let message = text(&v.error_message).unwrap_or_else(|| "(no errorMessage)".to_owned());
                    return Attempt::Done(Err(SourceError::Function { path: path.to_owned(), message }));
                }
                _ => {}
            }
        }
        let message = parsed
            .as_ref()
            .and_then(|v| match (text(&v.code), text(&v.message)) {
                (Some(c), Some(m)) => Some(format!("{c}: {m}")),
                (None, Some(m)) | (Some(m), None) => Some(m),
                (None, None) => None,
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
        let Some(raw) = self.run_document_text(run_id).await? else { return Ok(None) };
        let value =
            serde_json::from_str(raw.get()).map_err(|e| SourceError::Malformed(format!("runs:getRunDetails: {e}")))?;
        Ok(Some(value))
    }

    /// The run document as JSON text, or `None` when there is no such run.
    pub(crate) async fn run_document_text(&self, run_id: &RunId) -> Result<Option<Box<RawValue>>, SourceError> {
        match self.query_raw("runs:getRunDetails", json!({"runId": run_id.as_str()})).await {
            Ok(raw) if raw.get().trim() == "null" => Ok(None),
            Ok(raw) => Ok(Some(raw)),
            Err(SourceError::Function { message, .. }) if is_bare_server_error(&message) => {
                Err(SourceError::NotACodingRun(run_id.clone()))
            }
            Err(SourceError::Function { path, message }) if message.contains("ArgumentValidationError") => {
                Err(SourceError::Function { path, message: format!("{message} (is {run_id} a run id?)") })
            }
            Err(e) => Err(e),
        }
    }

    /// Downloads a blob's bytes: `runs:getOutputUrl`, then a plain GET of an http(s) URL, streamed
    /// through the size cap ([`ConvexConfig::max_blob_bytes`]).
    pub async fn blob_bytes(&self, id: &StorageId) -> Result<Vec<u8>, SourceError> {
        let blob_error = |reason: String| SourceError::Blob { id: id.clone(), reason };
        // Given up on downloads: not even the download URL is asked for.
        if self.given_up[Endpoint::Download as usize].get().is_some() {
            return Err(blob_error(NOT_ANSWERING.to_owned()));
        }
        let url = match self.query("runs:getOutputUrl", json!({"storageId": id.as_str()})).await? {
            Value::String(u) => u,
            Value::Null => {
                return Err(blob_error(
                    "no download URL (runs:getOutputUrl returned null; it may have expired)".into(),
                ));
            }
            other => {
                return Err(SourceError::Malformed(format!(
                    "runs:getOutputUrl returned {}",
                    snippet(other.to_string().as_bytes())
                )));
            }
        };
        match url::Url::parse(&url) {
            Ok(parsed) if matches!(parsed.scheme(), "http" | "https") && parsed.host_str().is_some() => {}
            Ok(parsed) => {
                return Err(blob_error(format!(
                    "refusing to fetch a {}: download URL; only http(s) URLs are fetched",
                    parsed.scheme()
                )));
            }
            Err(e) => return Err(blob_error(format!("the download URL is not a URL ({e})"))),
        }
        self.with_retries(Endpoint::Download, &url, self.config.download_timeout, || self.download_once(id, &url)).await
    }

    async fn download_once(&self, id: &StorageId, url: &str) -> Attempt<Vec<u8>> {
        let mut response = match self.client.get(url).timeout(self.config.download_timeout).send().await {
            Ok(r) => r,
            Err(e) => return failed(url, &e),
        };
        let status = response.status().as_u16();
        let after = retry_after(response.headers(), SystemTime::now());
        if status >= 300 {
            let message = match read_capped(&mut response, MAX_ERROR_BODY_BYTES).await {
                Ok(Capped::Whole(b)) => snippet(&b),
                Ok(Capped::Over) => "(a long error body)".to_owned(),
                Err(e) => return failed(url, &e),
            };
            let error = SourceError::Http { url: redact_query(url), status, message };
            return if status == 429 || status >= 500 {
                Attempt::Retry { error, after }
            } else {
                Attempt::Done(Err(error))
            };
        }
        let cap = self.config.max_blob_bytes;
        let too_large = || {
            Attempt::Done(Err(SourceError::Blob {
                id: id.clone(),
                reason: format!("larger than the {} cap on a blob download; not downloaded", human_bytes(cap)),
            }))
        };
        if response.content_length().is_some_and(|len| len > cap) {
            return too_large();
        }
        match read_capped(&mut response, cap).await {
            Ok(Capped::Whole(bytes)) => Attempt::Done(Ok(bytes)),
            Ok(Capped::Over) => too_large(),
            Err(e) => failed(url, &e),
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
            unzip_files(&bytes, ZipLimits::default()).map(Arc::new).map_err(|e| format!("blob {id}: {e}"))
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

/// The envelope of a Convex answer, its `value` left as JSON text.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Envelope<'a> {
    #[serde(default)]
    status: Option<Value>,
    #[serde(borrow, default)]
    value: Option<&'a RawValue>,
    #[serde(default)]
    error_message: Option<Value>,
    #[serde(default)]
    code: Option<Value>,
    #[serde(default)]
    message: Option<Value>,
}

fn null_raw() -> Box<RawValue> {
    RawValue::from_string("null".to_owned()).expect("null is JSON")
}

/// A body read in full, or more than the cap (nothing kept).
enum Capped {
    Whole(Vec<u8>),
    Over,
}

/// Reads a response body chunk by chunk, stopping as soon as it passes `cap` bytes. The buffer
/// is sized once from `Content-Length` (within the cap), so it is neither copied nor regrown.
async fn read_capped(response: &mut reqwest::Response, cap: u64) -> Result<Capped, reqwest::Error> {
    let expected = response.content_length().unwrap_or(0).min(cap);
    let mut bytes = Vec::with_capacity(usize::try_from(expected).unwrap_or(0));
    while let Some(chunk) = response.chunk().await? {
        if (bytes.len() + chunk.len()) as u64 > cap {
            return Ok(Capped::Over);
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(Capped::Whole(bytes))
}

/// A failed attempt: a timeout ends the request (the server was given its whole deadline); other
/// transport failures (refused, reset) are worth another try.
fn failed<T>(url: &str, e: &reqwest::Error) -> Attempt<T> {
    if e.is_timeout() {
        Attempt::TimedOut(transport(url, e))
    } else {
        Attempt::Retry { error: transport(url, e), after: None }
    }
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

/// Why a request is not sent once its endpoint was given up on.
const NOT_ANSWERING: &str = "the deployment is not answering (given up after requests in a row timed out); not asked";

/// The error of every request once its endpoint was given up on.
fn not_answering(url: &str) -> SourceError {
    SourceError::Transport { url: redact_query(url), message: NOT_ANSWERING.to_owned() }
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
        let text =
            self.run_document_text(&run.run_id).await?.ok_or_else(|| SourceError::RunNotFound(run.run_id.clone()))?;
        let parsed = wire::run_from_slice(text.get().as_bytes()).map_err(SourceError::Malformed)?;
        drop(text);
        super::the_run_asked_for(&run.run_id, parsed, self.url(), false)
    }

    async fn evidence(&self, run: &Run, eval_id: &EvalId) -> Result<Evidence, SourceError> {
        let eval =
            run.evals.iter().find(|e| &e.id == eval_id).ok_or_else(|| SourceError::NoSuchEval(eval_id.to_string()))?;
        let read = |files: Result<Arc<FileSet>, String>| -> BlobRead { files.map(|f| ((*f).clone(), Vec::new())) };
        let output = match eval.output_storage_id() {
            Some(id) => Some(read(self.blob_files(id).await)),
            None => None,
        };
        let source = match &eval.eval_source_storage_id {
            Some(id) => Some(read(self.blob_files(id).await)),
            None => None,
        };
        assemble_evidence(run, eval_id, output, source)
    }

    async fn runs(&self, filter: &RunFilter) -> Result<Vec<RunHeader>, SourceError> {
        // The deployment accepts only tagged experiment names (it rejects `"default"`), and an
        // experiment wins over a model: send one of them, and filter on the rest here.
        let mut args = serde_json::Map::new();
        let tagged = filter.experiment.as_deref().filter(|e| *e != "default");
        match (tagged, &filter.model_id) {
            (Some(e), _) => {
                args.insert("experiment".into(), json!(e));
            }
            (None, Some(m)) => {
                args.insert("modelId".into(), json!(m));
            }
            (None, None) => {}
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
        let mut headers = items
            .iter()
            .map(wire::header_from_value)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| SourceError::Malformed(format!("runs:listRuns: {e}")))?;
        headers.retain(|h| {
            filter.experiment.as_ref().is_none_or(|e| &h.experiment == e)
                && filter.model_id.as_ref().is_none_or(|m| h.model_id.is_none() || h.model_id.as_ref() == Some(m))
        });
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
