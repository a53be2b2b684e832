//! The Inspect AI log format, as far as triage reads it: private structs that serde fills from
//! `header.json`, `_journal/start.json`, a `samples/<id>_epoch_<n>.json` member, or a whole `.json`
//! log. Fields not named here — `events`, `traceback_ansi`, `store`, `metadata` — are skipped
//! while parsing, never kept.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

/// A log's header (`header.json`, or the top of a `.json` log), or the journal's start record
/// (`_journal/start.json`: only `eval` and `plan`).
#[derive(Debug, Deserialize)]
pub(super) struct WireLog {
    #[serde(default)]
    pub status: Option<String>,
    pub eval: WireSpec,
    #[serde(default)]
    pub results: Option<WireResults>,
    #[serde(default)]
    pub stats: Option<WireStats>,
    #[serde(default)]
    pub error: Option<WireError>,
    /// Only in a `.json` log.
    #[serde(default)]
    pub samples: Option<Vec<WireSample>>,
}

#[derive(Debug, Deserialize)]
pub(super) struct WireSpec {
    #[serde(default)]
    pub eval_id: String,
    #[serde(default)]
    pub run_id: String,
    #[serde(default)]
    pub created: String,
    pub task: String,
    pub model: String,
    #[serde(default)]
    pub dataset: Option<WireDataset>,
    #[serde(default)]
    pub config: Option<WireConfig>,
    #[serde(default)]
    pub scorers: Option<Vec<WireScorer>>,
}

#[derive(Debug, Deserialize)]
pub(super) struct WireDataset {
    #[serde(default)]
    pub sample_ids: Option<Vec<Value>>,
}

#[derive(Debug, Deserialize)]
pub(super) struct WireConfig {
    #[serde(default)]
    pub epochs: Option<u32>,
}

#[derive(Debug, Deserialize)]
pub(super) struct WireScorer {
    pub name: String,
}

#[derive(Debug, Deserialize)]
pub(super) struct WireResults {
    #[serde(default)]
    pub total_samples: Option<u64>,
    #[serde(default)]
    pub completed_samples: Option<u64>,
    #[serde(default)]
    pub scores: Vec<WireEvalScore>,
    #[serde(default)]
    pub headline: Option<WireHeadline>,
}

#[derive(Debug, Deserialize)]
pub(super) struct WireEvalScore {
    #[serde(default)]
    pub scorer: String,
}

#[derive(Debug, Deserialize)]
pub(super) struct WireHeadline {
    #[serde(default)]
    pub scorer: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(super) struct WireStats {
    #[serde(default)]
    pub started_at: Option<String>,
    #[serde(default)]
    pub completed_at: Option<String>,
}

/// An error with its traceback (`traceback_ansi` is not read).
#[derive(Debug, Deserialize)]
pub(super) struct WireError {
    #[serde(default)]
    pub message: String,
    #[serde(default)]
    pub traceback: String,
}

#[derive(Debug, Deserialize)]
pub(super) struct WireLimit {
    #[serde(rename = "type", default)]
    pub kind: String,
    #[serde(default)]
    pub limit: Option<f64>,
    #[serde(default)]
    pub reason: Option<String>,
}

/// One sample × epoch.
#[derive(Debug, Deserialize)]
pub(super) struct WireSample {
    pub id: Value,
    #[serde(default = "first_epoch")]
    pub epoch: u32,
    #[serde(default)]
    pub input: Value,
    #[serde(default)]
    pub target: Value,
    #[serde(default)]
    pub messages: Vec<WireMessage>,
    #[serde(default)]
    pub output: Option<WireOutput>,
    /// Scorer name → score, in the log's order.
    #[serde(default)]
    pub scores: Option<serde_json::Map<String, Value>>,
    #[serde(default)]
    pub error: Option<WireError>,
    #[serde(default)]
    pub error_retries: Option<Vec<WireError>>,
    #[serde(default)]
    pub limit: Option<WireLimit>,
    #[serde(default)]
    pub started_at: Option<String>,
    #[serde(default)]
    pub total_time: Option<f64>,
    #[serde(default)]
    pub model_usage: BTreeMap<String, WireUsage>,
    #[serde(default)]
    pub attachments: BTreeMap<String, String>,
}

fn first_epoch() -> u32 {
    1
}

#[derive(Debug, Deserialize)]
pub(super) struct WireOutput {
    #[serde(default)]
    pub completion: Option<String>,
    #[serde(default)]
    pub choices: Vec<WireChoice>,
}

#[derive(Debug, Deserialize)]
pub(super) struct WireChoice {
    pub message: WireMessage,
}

#[derive(Debug, Deserialize, Default)]
pub(super) struct WireUsage {
    #[serde(default)]
    pub input_tokens: Option<u64>,
    #[serde(default)]
    pub output_tokens: Option<u64>,
    #[serde(default)]
    pub total_tokens: Option<u64>,
    #[serde(default)]
    pub reasoning_tokens: Option<u64>,
    #[serde(default)]
    pub input_tokens_cache_read: Option<u64>,
    #[serde(default)]
    pub total_cost: Option<f64>,
}

/// A chat message: `content` is a string or a list of typed parts.
#[derive(Debug, Deserialize)]
pub(super) struct WireMessage {
    #[serde(default)]
    pub role: String,
    #[serde(default)]
    pub content: Value,
    #[serde(default)]
    pub tool_calls: Option<Vec<WireToolCall>>,
    #[serde(default)]
    pub function: Option<String>,
    #[serde(default)]
    pub error: Option<WireToolError>,
}

#[derive(Debug, Deserialize)]
pub(super) struct WireToolCall {
    #[serde(default)]
    pub function: String,
    #[serde(default)]
    pub arguments: Value,
}

#[derive(Debug, Deserialize)]
pub(super) struct WireToolError {
    #[serde(rename = "type", default)]
    pub kind: String,
    #[serde(default)]
    pub message: String,
}
