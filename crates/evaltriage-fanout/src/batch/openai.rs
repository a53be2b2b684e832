//! The provider's batch API behind a small trait, and OpenAI's implementation: `POST /v1/files`
//! (multipart, `purpose=batch`), `POST /v1/batches` (a 24 h window), `GET /v1/batches/{id}` and
//! `GET /v1/files/{id}/content`. Every request has a total deadline and follows core's retry rule
//! (429 and 5xx, `Retry-After` honoured); a 401/403 is said once and not retried.

use std::future::Future;
use std::time::{Duration, SystemTime};

use evaltriage_core::retry::{Retries, RetryPolicy, retry_after};
use serde::Deserialize;
use tokio::time::Instant;

use crate::LlmConfig;
use crate::llm::ApiKey;

/// A provider's batch API: upload an input file, start a batch over it, ask how it stands, and
/// download a file. Anthropic's Message Batches fit the same four steps (see ARCHITECTURE.md for
/// the differences).
pub trait BatchProvider: Send + Sync {
    /// Uploads a JSONL input file; returns its file id.
    fn upload(&self, jsonl: Vec<u8>) -> impl Future<Output = Result<String, String>> + Send;
    /// Starts a batch over an uploaded file; returns the batch id.
    fn create(&self, input_file_id: &str) -> impl Future<Output = Result<String, String>> + Send;
    fn status(&self, batch_id: &str) -> impl Future<Output = Result<BatchStatus, String>> + Send;
    fn download(&self, file_id: &str) -> impl Future<Output = Result<Vec<u8>, String>> + Send;
}

/// Where a batch stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BatchState {
    Validating,
    InProgress,
    Finalizing,
    Completed,
    /// The window passed: the output holds what finished, the rest is in no file.
    Expired,
    Failed,
    Cancelling,
    Cancelled,
}

impl BatchState {
    fn parse(s: &str) -> Self {
        match s {
            "validating" => Self::Validating,
            "in_progress" => Self::InProgress,
            "finalizing" => Self::Finalizing,
            "completed" => Self::Completed,
            "expired" => Self::Expired,
            "cancelling" => Self::Cancelling,
            "cancelled" => Self::Cancelled,
            _ => Self::Failed,
        }
    }

    /// Whether the batch will not change any more.
    pub fn is_final(self) -> bool {
        matches!(self, Self::Completed | Self::Expired | Self::Failed | Self::Cancelled)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Validating => "validating",
            Self::InProgress => "in_progress",
            Self::Finalizing => "finalizing",
            Self::Completed => "completed",
            Self::Expired => "expired",
            Self::Failed => "failed",
            Self::Cancelling => "cancelling",
            Self::Cancelled => "cancelled",
        }
    }
}

/// The request counts a batch reports.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
pub struct RequestCounts {
    #[serde(default)]
    pub total: u64,
    #[serde(default)]
    pub completed: u64,
    #[serde(default)]
    pub failed: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchStatus {
    pub state: BatchState,
    pub output_file_id: Option<String>,
    pub error_file_id: Option<String>,
    pub counts: RequestCounts,
}

#[derive(Deserialize)]
struct WireBatch {
    status: String,
    #[serde(default)]
    output_file_id: Option<String>,
    #[serde(default)]
    error_file_id: Option<String>,
    #[serde(default)]
    request_counts: Option<RequestCounts>,
}

#[derive(Deserialize)]
struct WireId {
    id: String,
}

/// OpenAI's Batch API (and servers that copy it), at the LLM config's base URL with its key.
#[derive(Debug)]
pub struct OpenAiBatches {
    http: reqwest::Client,
    base_url: String,
    api_key: Option<ApiKey>,
    /// Limit of one HTTP exchange (uploads and downloads of large files included).
    timeout: Duration,
    policy: RetryPolicy,
    retry_budget: Duration,
}

impl OpenAiBatches {
    pub fn new(llm: &LlmConfig) -> Result<Self, crate::FanoutError> {
        let http = reqwest::Client::builder().build().map_err(|e| crate::FanoutError::HttpClient(e.to_string()))?;
        Ok(Self {
            http,
            base_url: llm.base_url.trim_end_matches('/').to_owned(),
            api_key: llm.api_key.clone(),
            timeout: llm.call_timeout.max(Duration::from_secs(300)),
            policy: RetryPolicy {
                max_retries: llm.transport_retries,
                first_backoff: llm.backoff_base,
                max_wait: llm.max_retry_after,
            },
            retry_budget: llm.retry_budget,
        })
    }

    /// One request with retries; the body is built again for each attempt.
    async fn send(
        &self,
        what: &str,
        build: impl Fn() -> reqwest::RequestBuilder + Send + Sync,
    ) -> Result<Vec<u8>, String> {
        let mut retries = Retries::new(self.policy, Instant::now() + self.retry_budget);
        loop {
            let mut request = build().timeout(self.timeout);
            if let Some(key) = &self.api_key {
                request = request.bearer_auth(key.expose());
            }
            let (reason, wait_hint) = match request.send().await {
                Ok(response) => {
                    let status = response.status();
                    let hint = retry_after(response.headers(), SystemTime::now());
                    let bytes =
                        response.bytes().await.map_err(|e| format!("{what}: reading the answer failed: {e}"))?;
                    if status.is_success() {
                        return Ok(bytes.to_vec());
                    }
                    let code = status.as_u16();
                    let excerpt: String = String::from_utf8_lossy(&bytes).chars().take(200).collect();
                    if code == 401 || code == 403 {
                        return Err(format!(
                            "{what}: the batch endpoint {} refused the key (HTTP {code})",
                            self.base_url
                        ));
                    }
                    if code != 429 && code != 408 && !status.is_server_error() {
                        return Err(format!("{what}: HTTP {code}: {excerpt}"));
                    }
                    (format!("{what}: HTTP {code}"), hint)
                }
                Err(e) => (format!("{what}: {}", if e.is_timeout() { "timed out" } else { "connection failed" }), None),
            };
            match retries.next_wait(wait_hint) {
                Ok(wait) => tokio::time::sleep(wait).await,
                Err(give_up) => return Err(format!("{reason} ({give_up})")),
            }
        }
    }
}

impl BatchProvider for OpenAiBatches {
    async fn upload(&self, jsonl: Vec<u8>) -> Result<String, String> {
        let boundary = format!(
            "evaltriage{:x}",
            blake3::hash(&jsonl).as_bytes()[..8].iter().fold(0u64, |a, b| a << 8 | u64::from(*b))
        );
        let mut body = Vec::with_capacity(jsonl.len() + 400);
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"purpose\"\r\n\r\nbatch\r\n").as_bytes(),
        );
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"requests.jsonl\"\r\nContent-Type: application/jsonl\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(&jsonl);
        body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        let url = format!("{}/files", self.base_url);
        let bytes = self
            .send("uploading the batch input", || {
                self.http
                    .post(&url)
                    .header("content-type", format!("multipart/form-data; boundary={boundary}"))
                    .body(body.clone())
            })
            .await?;
        read_id(&bytes, "the uploaded file")
    }

    async fn create(&self, input_file_id: &str) -> Result<String, String> {
        let url = format!("{}/batches", self.base_url);
        let body = serde_json::json!({
            "input_file_id": input_file_id,
            "endpoint": "/v1/chat/completions",
            "completion_window": "24h",
        })
        .to_string();
        let bytes = self
            .send("creating the batch", || {
                self.http.post(&url).header("content-type", "application/json").body(body.clone())
            })
            .await?;
        read_id(&bytes, "the batch")
    }

    async fn status(&self, batch_id: &str) -> Result<BatchStatus, String> {
        let url = format!("{}/batches/{batch_id}", self.base_url);
        let bytes = self.send("polling the batch", || self.http.get(&url)).await?;
        let wire: WireBatch =
            serde_json::from_slice(&bytes).map_err(|e| format!("the batch's status is not understood: {e}"))?;
        Ok(BatchStatus {
            state: BatchState::parse(&wire.status),
            output_file_id: wire.output_file_id.filter(|s| !s.is_empty()),
            error_file_id: wire.error_file_id.filter(|s| !s.is_empty()),
            counts: wire.request_counts.unwrap_or_default(),
        })
    }

    async fn download(&self, file_id: &str) -> Result<Vec<u8>, String> {
        let url = format!("{}/files/{file_id}/content", self.base_url);
        self.send("downloading a batch file", || self.http.get(&url)).await
    }
}

fn read_id(bytes: &[u8], what: &str) -> Result<String, String> {
    serde_json::from_slice::<WireId>(bytes).map(|w| w.id).map_err(|e| format!("{what} has no id in the answer: {e}"))
}
