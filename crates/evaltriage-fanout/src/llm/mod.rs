//! The LLM classifier: chat completions against any OpenAI-compatible endpoint, with the
//! response-format fallback, transport retries (core's `retry` rule), and the validate-and-ask-again
//! conversation.
//!
//! Requests are built from async-openai's types. The HTTP exchange itself goes through reqwest
//! with our own retry loop, because async-openai's client retries 429/5xx on its own and does not
//! surface the `Retry-After` header or the error body the json_schema fallback needs. Responses
//! are read into a lenient private wire struct: local servers differ in the fields they send.
//!
//! Nothing a server sends is unbounded: a body is read chunk by chunk up to
//! [`answer_body_cap`] (an answer over it is a failed attempt, and an endless chunked body stops
//! there), and an endpoint that lets [`LlmConfig::give_up_after_timeouts`] calls in a row time out
//! is given up on for the rest of the run: every later call fails at once with "endpoint not
//! answering", said once in the log.

use std::fmt;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU8, AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use async_openai::types::chat::{
    ChatCompletionRequestMessage, CreateChatCompletionRequest, ResponseFormat, ResponseFormatJsonSchema,
};
use evaltriage_core::retry::{Retries, RetryPolicy, retry_after};
use tokio::time::Instant;

use crate::FanoutError;
use crate::answer::{answer_schema, bounded_answer_schema};

mod completion;
mod conversation;

pub(crate) use completion::{Completion, parse_completion};
pub(crate) use conversation::accept_answer;

/// An API key. Its `Debug` never shows it, and it is redacted from every error text.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(String);

impl ApiKey {
    pub fn new(key: &str) -> Self {
        Self(key.to_owned())
    }

    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey(<redacted>)")
    }
}

/// The default limit for one HTTP exchange with the LLM.
pub const DEFAULT_CALL_TIMEOUT: Duration = Duration::from_secs(120);

/// The default total time of one request over its attempts and waits: more than the default four
/// retries of [`DEFAULT_CALL_TIMEOUT`] and their backoff take, so by default only the count bounds
/// them.
pub const DEFAULT_RETRY_BUDGET: Duration = Duration::from_secs(15 * 60);

/// The default `max_completion_tokens` of a request. A full answer (a one-line error, two
/// snippets of at most 10 lines, 2 to 5 sentences of reasoning, the JSON around them) takes about
/// 500 tokens; the cap leaves room for that and stops a small model that loops inside a string
/// long before it fills its context.
pub const DEFAULT_ANSWER_TOKENS: u32 = 800;

/// The default number of calls in a row that may time out before the endpoint is given up on.
pub const DEFAULT_GIVE_UP_AFTER_TIMEOUTS: u32 = 3;

/// The most bytes of an error body read: its first 300 characters are all that is shown.
const MAX_ERROR_BODY_BYTES: usize = 64 << 10;

/// The most bytes of a successful answer read: sixteen bytes per answer token (a token is about
/// four bytes of text, and JSON escaping can at most sextuple a character: `\u0000`), and never
/// less than 256 KiB, so the response's own fields always fit. Without an answer-token cap a
/// completion is assumed to be at most 32,768 tokens (512 KiB). The default 800 tokens give
/// 256 KiB: a real answer is a few KiB.
pub fn answer_body_cap(max_completion_tokens: Option<u32>) -> usize {
    let tokens = usize::try_from(max_completion_tokens.unwrap_or(32_768)).unwrap_or(usize::MAX);
    tokens.saturating_mul(16).max(256 << 10)
}

/// How to reach the LLM. The binary fills it from flags, environment and config.
#[derive(Debug, Clone)]
pub struct LlmConfig {
    /// The endpoint's base URL, including `/v1` (`https://api.openai.com/v1`).
    pub base_url: String,
    /// Sent as a bearer token when present (local servers often need none).
    pub api_key: Option<ApiKey>,
    /// The model that analyses (`gpt-4.1-mini`, `qwen2.5-coder:14b`, ...).
    pub model: String,
    /// Limit for one HTTP exchange. Default [`DEFAULT_CALL_TIMEOUT`].
    pub call_timeout: Duration,
    /// Retries of one request on 429, 5xx, connection errors and timeouts (separate from the
    /// validation retries). Default 4.
    pub transport_retries: u32,
    /// First backoff delay; doubled on each retry, with jitter. Default 1 s.
    pub backoff_base: Duration,
    /// Cap on a server's `Retry-After` and on the backoff delay. Default 30 s.
    pub max_retry_after: Duration,
    /// How long after its first attempt one request may still be retried: no wait is begun that
    /// would end past it (nor past the fan-out's overall timeout). Default
    /// [`DEFAULT_RETRY_BUDGET`].
    pub retry_budget: Duration,
    /// `max_completion_tokens` of each request. Default [`DEFAULT_ANSWER_TOKENS`]. It also sets
    /// the cap on an answer's bytes ([`answer_body_cap`]).
    pub max_completion_tokens: Option<u32>,
    /// After this many calls in a row with no answer within [`Self::call_timeout`], the endpoint
    /// is given up on for the run: the remaining calls fail at once ("endpoint not answering").
    /// Default [`DEFAULT_GIVE_UP_AFTER_TIMEOUTS`]; 0 never gives up.
    pub give_up_after_timeouts: u32,
}

impl LlmConfig {
    /// A config with the default limits.
    pub fn new(base_url: &str, api_key: Option<ApiKey>, model: &str) -> Self {
        Self {
            base_url: base_url.to_owned(),
            api_key,
            model: model.to_owned(),
            call_timeout: DEFAULT_CALL_TIMEOUT,
            transport_retries: 4,
            backoff_base: Duration::from_secs(1),
            max_retry_after: Duration::from_secs(30),
            retry_budget: DEFAULT_RETRY_BUDGET,
            max_completion_tokens: Some(DEFAULT_ANSWER_TOKENS),
            give_up_after_timeouts: DEFAULT_GIVE_UP_AFTER_TIMEOUTS,
        }
    }
}

/// How the answer's format is requested; servers that reject one get the next, for the rest of
/// the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ResponseMode {
    /// `response_format: json_schema`, strict.
    JsonSchema = 0,
    /// `response_format: json_object`.
    JsonObject = 1,
    /// No `response_format`; the schema is in the prompt (it always is).
    Text = 2,
}

impl ResponseMode {
    fn from_u8(n: u8) -> Self {
        match n {
            0 => Self::JsonSchema,
            1 => Self::JsonObject,
            _ => Self::Text,
        }
    }

    fn next(self) -> Self {
        match self {
            Self::JsonSchema => Self::JsonObject,
            Self::JsonObject | Self::Text => Self::Text,
        }
    }

    /// The `response_format` type this mode sends (`text`: none).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::JsonSchema => "json_schema",
            Self::JsonObject => "json_object",
            Self::Text => "text",
        }
    }
}

/// Why a chat call gave no completion.
#[derive(Debug)]
pub(crate) enum CallError {
    /// The server answered 200 with something that is not a chat completion: worth asking again.
    BadResponse(String),
    /// Retries exhausted or a status that retrying will not fix.
    Failed(String),
    /// The endpoint refused the key (HTTP 401/403): the whole run stops; the text says which
    /// endpoint, never the key.
    AuthRefused(String),
}

impl fmt::Display for CallError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BadResponse(reason) | Self::Failed(reason) | Self::AuthRefused(reason) => f.write_str(reason),
        }
    }
}

/// What one HTTP exchange came to.
enum Exchange {
    Ok(Vec<u8>),
    /// A success status whose body went past the answer cap: not read further.
    TooLarge(String),
    FormatRejected(String),
    Retry {
        reason: String,
        retry_after: Option<Duration>,
        timed_out: bool,
    },
    AuthRefused(u16),
    Fatal(String),
}

/// What a chat call asks for.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Ask<'a> {
    /// The structured verdict about this eval path, by `response_format` as far as the server
    /// accepts it; `bounded` after an answer was cut off at the answer cap (text fields get a
    /// `maxLength`).
    Verdict { eval_path: &'a str, bounded: bool },
    /// Plain text (the synthesis).
    Text,
}

/// A client for one run: shares the response-mode fallback and the counters across calls.
#[derive(Debug)]
pub(crate) struct LlmClient {
    http: reqwest::Client,
    config: LlmConfig,
    url: String,
    mode: AtomicU8,
    requests: AtomicU64,
    in_flight: AtomicU64,
    max_in_flight: AtomicU64,
    /// Set by the first 401/403: no call is sent after it.
    auth_refused: OnceLock<String>,
    /// The caller's deadline (the fan-out's overall timeout): no retry waits past it.
    deadline: Option<Instant>,
    /// Calls in a row that got no answer within the call timeout; any answer resets it.
    timeouts_in_a_row: AtomicU32,
    /// Set once the endpoint is given up on: the message every later call fails with.
    given_up: OnceLock<String>,
    /// Flips to `true` when the endpoint is given up on, ending the exchanges in flight.
    gave_up: tokio::sync::watch::Sender<bool>,
}

impl LlmClient {
    pub(crate) fn new(config: &LlmConfig, deadline: Option<Instant>) -> Result<Self, FanoutError> {
        let http = reqwest::Client::builder().build().map_err(|e| FanoutError::HttpClient(e.to_string()))?;
        Ok(Self {
            http,
            url: format!("{}/chat/completions", config.base_url.trim_end_matches('/')),
            config: config.clone(),
            mode: AtomicU8::new(ResponseMode::JsonSchema as u8),
            requests: AtomicU64::new(0),
            in_flight: AtomicU64::new(0),
            max_in_flight: AtomicU64::new(0),
            auth_refused: OnceLock::new(),
            deadline,
            timeouts_in_a_row: AtomicU32::new(0),
            given_up: OnceLock::new(),
            gave_up: tokio::sync::watch::Sender::new(false),
        })
    }

    pub(crate) fn model(&self) -> &str {
        &self.config.model
    }

    /// The response mode in use now (after any fallback).
    pub(crate) fn mode(&self) -> ResponseMode {
        ResponseMode::from_u8(self.mode.load(Ordering::SeqCst))
    }

    /// HTTP requests sent so far.
    pub(crate) fn requests(&self) -> u64 {
        self.requests.load(Ordering::SeqCst)
    }

    /// The most HTTP requests that were in flight at once.
    pub(crate) fn max_in_flight(&self) -> u64 {
        self.max_in_flight.load(Ordering::SeqCst)
    }

    /// The one-line message of the first 401/403, once the endpoint refused the key.
    pub(crate) fn auth_refused(&self) -> Option<&str> {
        self.auth_refused.get().map(String::as_str)
    }

    /// The message every call fails with once the endpoint was given up on (it let
    /// [`LlmConfig::give_up_after_timeouts`] calls in a row time out).
    pub(crate) fn given_up(&self) -> Option<&str> {
        self.given_up.get().map(String::as_str)
    }

    /// Counts a call that timed out; gives the endpoint up when that makes enough in a row, and
    /// says so once.
    fn timed_out(&self) {
        let in_a_row = self.timeouts_in_a_row.fetch_add(1, Ordering::SeqCst) + 1;
        let limit = self.config.give_up_after_timeouts;
        if limit == 0 || in_a_row < limit {
            return;
        }
        let mut first = false;
        self.given_up.get_or_init(|| {
            first = true;
            format!(
                "endpoint not answering: {} gave no answer within {:.1} s to {in_a_row} calls in a row; no more calls are sent to it in this run",
                self.redact(&self.config.base_url),
                self.config.call_timeout.as_secs_f32()
            )
        });
        if first {
            tracing::warn!("{}", self.given_up().unwrap_or_default());
            self.gave_up.send_replace(true);
        }
    }

    /// The message for a refused key: which endpoint and that it refused; never the key.
    fn auth_message(&self, code: u16) -> String {
        let endpoint = self.redact(&self.config.base_url);
        match &self.config.api_key {
            Some(_) => format!(
                "the LLM endpoint {endpoint} refused the API key (HTTP {code}); check OPENAI_API_KEY or openai_api_key in evaltriage.toml"
            ),
            None => format!(
                "the LLM endpoint {endpoint} refused the request (HTTP {code}) and no API key was sent; set OPENAI_API_KEY"
            ),
        }
    }

    fn redact(&self, text: &str) -> String {
        match &self.config.api_key {
            Some(key) if !key.expose().is_empty() => text.replace(key.expose(), "<redacted>"),
            _ => text.to_owned(),
        }
    }

    /// One chat completion. A verdict is asked for by `response_format` with its schema
    /// (falling back as servers reject it); the synthesis as plain text.
    pub(crate) async fn chat(
        &self,
        messages: &[ChatCompletionRequestMessage],
        ask: Ask<'_>,
    ) -> Result<Completion, CallError> {
        let mut retries = self.retries();
        loop {
            if let Some(message) = self.auth_refused() {
                return Err(CallError::AuthRefused(message.to_owned()));
            }
            if let Some(message) = self.given_up() {
                return Err(CallError::Failed(message.to_owned()));
            }
            let (mode, about) = match ask {
                Ask::Verdict { eval_path, .. } => (self.mode(), eval_path),
                Ask::Text => (ResponseMode::Text, "synthesis"),
            };
            let body = self.request_body(messages, mode, ask).map_err(CallError::Failed)?;
            tracing::debug!(about, response_format = mode.as_str(), "LLM request");
            match self.exchange(body).await {
                Exchange::Ok(bytes) => return parse_completion(&bytes).map_err(CallError::BadResponse),
                Exchange::TooLarge(reason) => return Err(CallError::BadResponse(reason)),
                Exchange::FormatRejected(detail) if mode != ResponseMode::Text => {
                    let next = mode.next();
                    let before = self.mode.fetch_max(next as u8, Ordering::SeqCst);
                    if before < next as u8 {
                        tracing::info!(from = ?mode, to = ?next, detail = %self.redact(&detail), "server rejected the response format; falling back for the rest of the run");
                    }
                }
                Exchange::FormatRejected(detail) | Exchange::Fatal(detail) => {
                    return Err(CallError::Failed(self.redact(&detail)));
                }
                Exchange::AuthRefused(code) => {
                    let message = self.auth_refused.get_or_init(|| self.auth_message(code));
                    return Err(CallError::AuthRefused(message.clone()));
                }
                Exchange::Retry { reason, retry_after, timed_out } => {
                    if let Some(message) = self.given_up() {
                        return Err(CallError::Failed(message.to_owned()));
                    }
                    let delay = match retries.next_wait(retry_after) {
                        Ok(delay) => delay,
                        Err(give_up) => return Err(CallError::Failed(format!("{} ({give_up})", self.redact(&reason)))),
                    };
                    if timed_out {
                        // The server may still be working on the first copy: say so before
                        // sending the identical request again.
                        tracing::info!(
                            about,
                            "{}; sending the identical request again in {:.1} s (transport retry {} of {}; raise --llm-timeout for a slow server)",
                            self.redact(&reason),
                            delay.as_secs_f32(),
                            retries.done(),
                            self.config.transport_retries
                        );
                    } else {
                        tracing::debug!(reason = %self.redact(&reason), ?delay, "retrying an LLM request");
                    }
                    tokio::time::sleep(delay).await;
                }
            }
        }
    }

    /// The retry rule of one request: core's, with this config's counts and caps, ending at the
    /// retry budget or the caller's deadline, whichever comes first.
    fn retries(&self) -> Retries {
        let policy = RetryPolicy {
            max_retries: self.config.transport_retries,
            first_backoff: self.config.backoff_base,
            max_wait: self.config.max_retry_after,
        };
        let now = Instant::now();
        let budget_end = now.checked_add(self.config.retry_budget).unwrap_or(now + DEFAULT_RETRY_BUDGET);
        Retries::new(policy, self.deadline.map_or(budget_end, |d| d.min(budget_end)))
    }

    pub(crate) fn request_body(
        &self,
        messages: &[ChatCompletionRequestMessage],
        mode: ResponseMode,
        ask: Ask<'_>,
    ) -> Result<Vec<u8>, String> {
        let response_format = match (mode, ask) {
            (_, Ask::Text) | (ResponseMode::Text, _) => None,
            (ResponseMode::JsonSchema, Ask::Verdict { eval_path, bounded }) => Some(ResponseFormat::JsonSchema {
                json_schema: ResponseFormatJsonSchema {
                    description: Some("The classification of one failed benchmark eval".into()),
                    name: "eval_verdict".into(),
                    schema: if bounded { bounded_answer_schema(eval_path) } else { answer_schema(eval_path) },
                    strict: Some(true),
                },
            }),
            (ResponseMode::JsonObject, Ask::Verdict { .. }) => Some(ResponseFormat::JsonObject),
        };
        let request = CreateChatCompletionRequest {
            model: self.config.model.clone(),
            messages: messages.to_vec(),
            response_format,
            max_completion_tokens: self.config.max_completion_tokens,
            ..Default::default()
        };
        let body = serde_json::to_string(&request).map_err(|e| format!("could not encode the request: {e}"))?;
        // The redaction layer sees the whole request: evidence is foreign text, and a server may
        // have echoed a configured secret into it.
        Ok(evaltriage_core::redact::redact(&body).into_owned().into_bytes())
    }

    /// One HTTP exchange, cut at the call timeout (the caller's deadline cuts the whole analysis).
    async fn exchange(&self, body: Vec<u8>) -> Exchange {
        let mut request = self.http.post(&self.url).header("content-type", "application/json").body(body);
        if let Some(key) = &self.config.api_key {
            request = request.bearer_auth(key.expose());
        }
        self.requests.fetch_add(1, Ordering::SeqCst);
        let in_flight = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.max_in_flight.fetch_max(in_flight, Ordering::SeqCst);
        tracing::debug!(in_flight, "LLM request sent");
        let _in_flight = InFlight(&self.in_flight);
        let answer_cap = answer_body_cap(self.config.max_completion_tokens);
        let call = async {
            let mut response = request.send().await?;
            let status = response.status();
            let retry_after = retry_after(response.headers(), SystemTime::now());
            // Read chunk by chunk up to the cap: a 2 GB or endless body never grows memory.
            let cap = if status.is_success() { answer_cap } else { MAX_ERROR_BODY_BYTES };
            let mut bytes = Vec::new();
            let mut over = false;
            while let Some(chunk) = response.chunk().await? {
                if bytes.len() + chunk.len() > cap {
                    over = true;
                    break;
                }
                bytes.extend_from_slice(&chunk);
            }
            Ok::<_, reqwest::Error>((status, retry_after, bytes, over))
        };
        let limit = self.config.call_timeout;
        let mut gave_up = self.gave_up.subscribe();
        let outcome = tokio::select! {
            outcome = tokio::time::timeout(limit, call) => outcome,
            _ = gave_up.wait_for(|given_up| *given_up) => {
                return Exchange::Fatal(self.given_up().unwrap_or("endpoint not answering").to_owned());
            }
        };
        if outcome.is_ok() {
            self.timeouts_in_a_row.store(0, Ordering::SeqCst);
        }
        let (status, retry_after, bytes, over) = match outcome {
            Err(_) => {
                self.timed_out();
                return Exchange::Retry {
                    reason: format!("no answer from {} within {} s", self.config.base_url, limit.as_secs_f32()),
                    retry_after: None,
                    timed_out: true,
                };
            }
            Ok(Err(e)) if e.is_builder() => return Exchange::Fatal(format!("invalid request: {}", error_chain(&e))),
            Ok(Err(e)) => {
                return Exchange::Retry {
                    reason: format!("connection error: {}", error_chain(&e)),
                    retry_after: None,
                    timed_out: false,
                };
            }
            Ok(Ok(ok)) => ok,
        };
        if status.is_success() {
            if over {
                return Exchange::TooLarge(format!(
                    "the answer was larger than {} KiB, the cap for {} answer tokens; it was not read further",
                    answer_cap >> 10,
                    self.config.max_completion_tokens.map_or_else(|| "unlimited".to_owned(), |t| t.to_string())
                ));
            }
            return Exchange::Ok(bytes);
        }
        let text = String::from_utf8_lossy(&bytes);
        let excerpt: String = text.split_whitespace().collect::<Vec<_>>().join(" ").chars().take(300).collect();
        let code = status.as_u16();
        if code == 401 || code == 403 {
            return Exchange::AuthRefused(code);
        }
        if code == 429 {
            return Exchange::Retry {
                reason: format!("rate limited (HTTP 429): {excerpt}"),
                retry_after,
                timed_out: false,
            };
        }
        if (code == 400 || code == 422 || status.is_server_error()) && rejects_response_format(&text) {
            return Exchange::FormatRejected(format!("HTTP {code}: {excerpt}"));
        }
        if status.is_server_error() || code == 408 {
            return Exchange::Retry { reason: format!("HTTP {code}: {excerpt}"), retry_after, timed_out: false };
        }
        Exchange::Fatal(format!("HTTP {code}: {excerpt}"))
    }
}

/// Counts one request in flight for as long as it lives (also when its future is dropped).
struct InFlight<'a>(&'a AtomicU64);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Whether an error body says the server does not support the requested `response_format`.
fn rejects_response_format(body: &str) -> bool {
    let b = body.to_ascii_lowercase();
    b.contains("response_format")
        || b.contains("json_schema")
        || b.contains("only text or json_object")
        || b.contains("response format")
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use async_openai::types::chat::ChatCompletionRequestUserMessage;
    use evaltriage_core::TokenUsage;

    use super::*;

    #[test]
    fn api_keys_never_show_in_debug() {
        let config = LlmConfig::new("http://localhost/v1", Some(ApiKey::new("sk-secret-123")), "m");
        let shown = format!("{config:?}");
        assert!(!shown.contains("sk-secret-123"), "{shown}");
        assert!(shown.contains("<redacted>"));
        let client = LlmClient::new(&config, None).unwrap();
        assert!(!format!("{client:?}").contains("sk-secret-123"));
        assert_eq!(client.redact("bad key sk-secret-123"), "bad key <redacted>");
    }

    #[test]
    fn response_format_rejections_are_recognised() {
        assert!(rejects_response_format(r#"{"error":"response_format type json_schema is not supported"}"#));
        assert!(rejects_response_format("only text or json_object are supported"));
        assert!(!rejects_response_format(r#"{"error":"model not found"}"#));
    }

    #[test]
    fn request_bodies_follow_the_mode() {
        let client = LlmClient::new(&LlmConfig::new("http://x/v1/", None, "m"), None).unwrap();
        assert_eq!(client.url, "http://x/v1/chat/completions");
        let messages = vec![ChatCompletionRequestUserMessage::from("hi").into()];
        let body = |mode| -> serde_json::Value {
            serde_json::from_slice(
                &client.request_body(&messages, mode, Ask::Verdict { eval_path: "a/b", bounded: false }).unwrap(),
            )
            .unwrap()
        };
        let schema = body(ResponseMode::JsonSchema);
        assert_eq!(schema["response_format"]["type"], "json_schema");
        assert_eq!(schema["response_format"]["json_schema"]["strict"], true);
        assert_eq!(schema["messages"][0]["role"], "user");
        assert_eq!(body(ResponseMode::JsonObject)["response_format"]["type"], "json_object");
        assert!(body(ResponseMode::Text).get("response_format").is_none());
    }

    #[test]
    fn completions_are_read_leniently() {
        let c = parse_completion(br#"{"choices":[{"message":{"content":"hi"},"finish_reason":"eos"}]}"#).unwrap();
        assert_eq!(c.content.as_deref(), Some("hi"));
        assert_eq!(c.finish_reason.as_deref(), Some("eos"));
        assert_eq!(c.usage, TokenUsage::default());
        let e = parse_completion(br#"{"error":{"message":"provider down","code":502}}"#).unwrap_err();
        assert!(e.contains("provider down"), "{e}");
        assert!(parse_completion(b"<html>bad gateway</html>").unwrap_err().contains("not a chat completion"));
    }

    #[tokio::test]
    async fn retries_follow_the_config() {
        let mut config = LlmConfig::new("http://x/v1", None, "m");
        config.backoff_base = Duration::from_millis(100);
        config.max_retry_after = Duration::from_secs(1);
        config.transport_retries = 2;
        let client = LlmClient::new(&config, None).unwrap();
        let mut retries = client.retries();
        let d0 = retries.next_wait(None).unwrap();
        assert!(d0 >= Duration::from_millis(50) && d0 <= Duration::from_millis(100), "{d0:?}");
        assert_eq!(retries.next_wait(Some(Duration::MAX)), Ok(Duration::from_secs(1)));
        assert!(retries.next_wait(None).is_err(), "two retries");
        let late = LlmClient::new(&config, Some(Instant::now())).unwrap();
        assert!(late.retries().next_wait(Some(Duration::ZERO)).is_err(), "the caller's deadline passed");
    }
}
