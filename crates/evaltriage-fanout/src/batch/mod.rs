//! The batch engine's half in the fan-out: the requests an analysis would send, collected instead
//! of sent ([`BatchSink`]), written as Batch API JSONL lines, and the answers that come back read,
//! validated exactly as the synchronous conversation validates them, and stored in the verdict
//! cache — so the reports are then written by the ordinary analysis from cache hits, without a
//! synchronous call. The provider behind it is a small trait ([`BatchProvider`]); OpenAI's Batch
//! API is the one implementation ([`openai::OpenAiBatches`]).

pub mod openai;

use std::sync::{Arc, Mutex};

use async_openai::types::chat::{
    ChatCompletionRequestAssistantMessage, ChatCompletionRequestMessage, ChatCompletionRequestSystemMessage,
    ChatCompletionRequestUserMessage,
};
use evaltriage_core::{EvalId, EvalPath, TokenUsage, Verdict, VerdictOrigin, VerdictStatus};
use serde::{Deserialize, Serialize};

use crate::answer::{keep_known_evals, validate};
use crate::cache::Cache;
use crate::llm::{Ask, LlmClient, ResponseMode, parse_completion};
use crate::{FanoutError, LlmConfig};

pub use openai::{BatchProvider, BatchState, BatchStatus, OpenAiBatches, RequestCounts};

/// OpenAI's limits for one batch input file.
pub const MAX_REQUESTS_PER_FILE: usize = 50_000;
pub const MAX_BYTES_PER_FILE: usize = 200 * 1024 * 1024;

/// One request an analysis would have sent: the first attempt's messages and what its answer is
/// checked against.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingCall {
    /// The verdict or synthesis cache key the answer is stored under.
    pub key: String,
    pub system: String,
    pub user: String,
    pub kind: PendingKind,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum PendingKind {
    /// A verdict about one eval: snippets are checked against the evidence text.
    Verdict { eval_path: String, evidence: String },
    /// A run's synthesis: bullets naming other evals are dropped.
    Synthesis { known: Vec<String> },
}

/// Where an estimate puts the calls it counts, for the batch engine to send.
#[derive(Debug, Clone, Default)]
pub struct BatchSink(Arc<Mutex<Vec<PendingCall>>>);

impl BatchSink {
    pub(crate) fn push(&self, call: PendingCall) {
        if let Ok(mut calls) = self.0.lock() {
            calls.push(call);
        }
    }

    /// Takes what was collected so far.
    pub fn drain(&self) -> Vec<PendingCall> {
        self.0.lock().map(|mut c| std::mem::take(&mut *c)).unwrap_or_default()
    }
}

/// A rejected answer and the reason, carried into the next round's request (the same
/// conversation the synchronous engine has).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Turn {
    pub answer: String,
    pub rejection: String,
}

/// One JSONL line of a batch input file: `custom_id`, method, url and the chat completion body the
/// synchronous engine would send (json_schema, strict).
pub fn request_line(
    llm: &LlmConfig,
    custom_id: &str,
    call: &PendingCall,
    turns: &[Turn],
) -> Result<String, FanoutError> {
    let client = LlmClient::new(llm, None)?;
    let mut messages: Vec<ChatCompletionRequestMessage> = vec![
        ChatCompletionRequestSystemMessage::from(call.system.clone()).into(),
        ChatCompletionRequestUserMessage::from(call.user.clone()).into(),
    ];
    for turn in turns {
        if !turn.answer.trim().is_empty() {
            messages.push(ChatCompletionRequestAssistantMessage::from(turn.answer.clone()).into());
        }
        messages.push(ChatCompletionRequestUserMessage::from(turn.rejection.clone()).into());
    }
    let (mode, ask) = match &call.kind {
        PendingKind::Verdict { eval_path, .. } => {
            (ResponseMode::JsonSchema, Ask::Verdict { eval_path: eval_path.as_str(), bounded: false })
        }
        PendingKind::Synthesis { .. } => (ResponseMode::Text, Ask::Text),
    };
    let body = client.request_body(&messages, mode, ask).map_err(FanoutError::Synthesis)?;
    let body: serde_json::Value = serde_json::from_slice(&body).map_err(|e| FanoutError::Synthesis(e.to_string()))?;
    let line = serde_json::json!({
        "custom_id": custom_id,
        "method": "POST",
        "url": "/v1/chat/completions",
        "body": body,
    });
    Ok(line.to_string())
}

/// Splits request lines into input files within the provider's limits (requests and bytes).
pub fn split_files(lines: &[String], max_requests: usize, max_bytes: usize) -> Vec<Vec<usize>> {
    let mut files: Vec<Vec<usize>> = Vec::new();
    let mut bytes = 0;
    for (i, line) in lines.iter().enumerate() {
        let size = line.len() + 1;
        let full = files.last().is_none_or(|f| f.len() >= max_requests || bytes + size > max_bytes);
        if full {
            files.push(Vec::new());
            bytes = 0;
        }
        bytes += size;
        if let Some(f) = files.last_mut() {
            f.push(i);
        }
    }
    files
}

/// One line of an output or error file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResultLine {
    pub custom_id: String,
    /// The chat completion body of a 200 answer; otherwise why there is none.
    pub outcome: Result<Vec<u8>, String>,
}

#[derive(Deserialize)]
struct WireResultLine {
    custom_id: String,
    #[serde(default)]
    response: Option<WireResponse>,
    #[serde(default)]
    error: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct WireResponse {
    #[serde(default)]
    status_code: u16,
    #[serde(default)]
    body: serde_json::Value,
}

/// Reads an output or error file; lines that are not results are skipped.
pub fn read_results(bytes: &[u8]) -> Vec<ResultLine> {
    let text = String::from_utf8_lossy(bytes);
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .filter_map(|l| serde_json::from_str::<WireResultLine>(l).ok())
        .map(|w| {
            let outcome = match (w.response, w.error) {
                (_, Some(e)) if !e.is_null() => Err(e
                    .get("message")
                    .and_then(serde_json::Value::as_str)
                    .map_or_else(|| e.to_string(), str::to_owned)),
                (Some(r), _) if r.status_code == 200 => Ok(r.body.to_string().into_bytes()),
                (Some(r), _) => Err(format!(
                    "HTTP {}: {}",
                    r.status_code,
                    r.body.pointer("/error/message").and_then(serde_json::Value::as_str).unwrap_or("no message")
                )),
                (None, _) => Err("no response".to_owned()),
            };
            ResultLine { custom_id: w.custom_id, outcome }
        })
        .collect()
}

/// What became of one answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Accepted {
    /// Valid: stored in the cache.
    Stored { tokens: TokenUsage },
    /// Not valid: asked again next round with this turn.
    Again { turn: Turn, tokens: TokenUsage },
}

/// Validates one answer exactly as the synchronous conversation does and, when valid, stores it in
/// the cache under the call's key (a verdict as the LLM's, a synthesis with its dropped bullets).
pub async fn accept(
    llm: &LlmConfig,
    cache_dir: &std::path::Path,
    call: &PendingCall,
    body: &[u8],
    retry_count: u32,
) -> Accepted {
    let cache = Cache::new(cache_dir);
    let completion = match parse_completion(body) {
        Ok(c) => c,
        Err(reason) => {
            return Accepted::Again {
                turn: Turn { answer: String::new(), rejection: again(&reason, call) },
                tokens: TokenUsage::default(),
            };
        }
    };
    let tokens = completion.usage;
    match &call.kind {
        PendingKind::Synthesis { known } => match completion.into_text() {
            Ok((text, _)) => {
                let known: Vec<&str> = known.iter().map(String::as_str).collect();
                let (text, dropped) = keep_known_evals(&text, &known);
                cache.put_synthesis(&call.key, &llm.model, &text, dropped, Some(tokens)).await;
                Accepted::Stored { tokens }
            }
            Err(reason) => Accepted::Again { turn: Turn { answer: String::new(), rejection: reason }, tokens },
        },
        PendingKind::Verdict { eval_path, evidence } => {
            let content = completion.content.clone().unwrap_or_default();
            let outcome = if let Some(refusal) = completion.refusal.as_deref().filter(|r| !r.trim().is_empty()) {
                Err(format!("the model refused to answer: {}", refusal.trim()))
            } else if completion.finish_reason.as_deref() == Some("length") {
                Err("the answer was cut off (finish_reason: length); answer with a shorter JSON object".to_owned())
            } else {
                validate(&content, eval_path, evidence).map_err(|r| r.reason)
            };
            match outcome {
                Ok(answer) => {
                    let mut verdict = Verdict {
                        eval_id: EvalId::new("batch").unwrap_or_else(|_| EvalId::new("b").expect("a plain id")),
                        eval_path: EvalPath::new(eval_path),
                        failed_step: None,
                        status: VerdictStatus::Done,
                        classification: None,
                        error: String::new(),
                        reasoning: String::new(),
                        model_snippet: None,
                        expected_snippet: None,
                        confidence: None,
                        retry_count: 0,
                        origin: VerdictOrigin::Llm { model: llm.model.clone() },
                        tokens,
                        missing_evidence: Vec::new(),
                    };
                    crate::llm::accept_answer(&mut verdict, answer);
                    verdict.retry_count = retry_count;
                    cache.put(&call.key, &llm.model, &verdict, true).await;
                    Accepted::Stored { tokens }
                }
                Err(reason) => {
                    Accepted::Again { turn: Turn { answer: content, rejection: again(&reason, call) }, tokens }
                }
            }
        }
    }
}

/// The message asking again, as the synchronous conversation words it.
fn again(reason: &str, call: &PendingCall) -> String {
    match &call.kind {
        PendingKind::Verdict { eval_path, .. } => format!(
            "Your answer was rejected: {reason}. Answer again about eval {eval_path} with one JSON object that matches the schema."
        ),
        PendingKind::Synthesis { .. } => format!("Your answer was rejected: {reason}. Answer again."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_split_at_the_request_and_byte_limits() {
        let lines: Vec<String> = (0..7).map(|i| "x".repeat(9 + i % 2)).collect();
        assert_eq!(split_files(&lines, 3, 1_000), vec![vec![0, 1, 2], vec![3, 4, 5], vec![6]]);
        assert_eq!(split_files(&lines, 100, 25), vec![vec![0, 1], vec![2, 3], vec![4, 5], vec![6]]);
        assert!(split_files(&[], 3, 10).is_empty());
    }

    #[test]
    fn result_lines_read_answers_and_errors() {
        let file = br#"{"id":"r1","custom_id":"a","response":{"status_code":200,"body":{"choices":[]}},"error":null}
{"id":"r2","custom_id":"b","response":{"status_code":500,"body":{"error":{"message":"boom"}}},"error":null}
{"id":"r3","custom_id":"c","response":null,"error":{"code":"batch_expired","message":"expired"}}
not json
"#;
        let lines = read_results(file);
        assert_eq!(lines.len(), 3);
        assert!(lines[0].outcome.is_ok());
        assert_eq!(lines[1].outcome, Err("HTTP 500: boom".to_owned()));
        assert_eq!(lines[2].outcome, Err("expired".to_owned()));
    }
}
