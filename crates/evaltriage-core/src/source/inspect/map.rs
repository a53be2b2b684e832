//! From Inspect's log format to the domain: a log is a run, a sample × epoch an eval at
//! `<task>/<id>` (`/epoch_<n>` added when the log has several epochs), its outcome read from the
//! headline scorer's marks, an errored sample an infrastructure failure, a limit the decisive
//! fact of a failure.

use serde_json::Value;

use super::wire::{WireError, WireLog, WireMessage, WireSample, WireSpec};
use crate::ids::{EvalId, EvalPath, RunId};
use crate::model::{Eval, EvalStatus, Run, RunStatus};
use crate::sample::{SampleEvidence, ScoreDetail, ToolCallText, TranscriptMessage};
use crate::usage::Usage;

/// What every sample of one log shares.
#[derive(Debug, Clone)]
pub(super) struct LogContext {
    pub task: String,
    pub model: String,
    /// The scorer whose marks decide pass or fail, when the log names one.
    pub headline: Option<String>,
    pub multi_epoch: bool,
    pub created_ms: f64,
}

impl LogContext {
    pub(super) fn new(log: &WireLog) -> Self {
        let spec = &log.eval;
        let headline = log
            .results
            .as_ref()
            .and_then(|r| {
                r.headline
                    .as_ref()
                    .and_then(|h| h.scorer.clone())
                    .or_else(|| r.scores.first().map(|s| s.scorer.clone()))
            })
            .or_else(|| spec.scorers.as_ref().and_then(|s| s.first()).map(|s| s.name.clone()))
            .filter(|s| !s.is_empty());
        let epochs = spec.config.as_ref().and_then(|c| c.epochs).unwrap_or(1);
        Self {
            task: spec.task.clone(),
            model: spec.model.clone(),
            headline,
            multi_epoch: epochs > 1,
            created_ms: millis(&spec.created).unwrap_or(0.0),
        }
    }
}

/// Milliseconds since the epoch of an ISO 8601 time with an offset.
pub(super) fn millis(time: &str) -> Option<f64> {
    chrono::DateTime::parse_from_rfc3339(time.trim()).ok().map(|t| t.timestamp_millis() as f64)
}

/// A sample id as the log's member names write it (`geo/fr`, `12`).
pub(super) fn sample_key(id: &Value) -> String {
    match id {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The eval id of a sample × epoch: a hash of the task, the id and the epoch (Inspect's ids are
/// free text, evaltriage's eval ids are lowercase letters and digits).
pub(super) fn eval_id(task: &str, key: &str, epoch: u32) -> EvalId {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for b in task.bytes().chain([0]).chain(key.bytes()).chain([0]).chain(epoch.to_le_bytes()) {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    EvalId::new(&format!("s{hash:016x}e{epoch}")).unwrap_or_else(|_| unreachable!("hex digits are a valid id"))
}

pub(super) fn eval_path(ctx: &LogContext, key: &str, epoch: u32) -> EvalPath {
    if ctx.multi_epoch {
        EvalPath::new(&format!("{}/{key}/epoch_{epoch}", ctx.task))
    } else {
        EvalPath::new(&format!("{}/{key}", ctx.task))
    }
}

/// The run id of a log: its `eval_id` (unique per log; one `run_id` covers every task of an
/// `inspect eval` invocation, whose logs would otherwise share a report), lowercased.
pub(super) fn run_id(spec: &WireSpec) -> Result<RunId, String> {
    let raw = if spec.eval_id.trim().is_empty() { &spec.run_id } else { &spec.eval_id };
    RunId::new(&raw.trim().to_ascii_lowercase())
        .map_err(|_| format!("eval.eval_id {raw:?} is not a usable id (letters and digits)"))
}

/// Whether a score value is full marks: `C`, true, or a number of at least 1 (`P`, `I`, `N`,
/// false and smaller numbers are not); a dict or list is full marks when all its values are.
/// `None` when the value cannot be read as marks (NaN, free text).
pub(super) fn full_marks(value: &Value) -> Option<bool> {
    match value {
        Value::Bool(b) => Some(*b),
        Value::Number(n) => n.as_f64().map(|f| f >= 1.0),
        Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
            "c" | "correct" | "yes" | "true" => Some(true),
            "i" | "incorrect" | "p" | "partial" | "n" | "noanswer" | "no" | "false" => Some(false),
            other => other.parse::<f64>().ok().map(|f| f >= 1.0),
        },
        Value::Array(items) => all_marks(items.iter()),
        Value::Object(map) => all_marks(map.values()),
        Value::Null => None,
    }
}

fn all_marks<'a>(values: impl Iterator<Item = &'a Value>) -> Option<bool> {
    let mut all = Some(true);
    for v in values {
        match full_marks(v) {
            Some(false) => return Some(false),
            None => all = None,
            Some(true) => {}
        }
    }
    all
}

/// A value as the report says it (`C`, `0.5`, `NaN` for a NaN the log wrote).
fn value_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => "NaN".to_owned(),
        other => other.to_string(),
    }
}

fn text_field(score: &Value, field: &str) -> Option<String> {
    score.get(field).and_then(Value::as_str).map(str::to_owned).filter(|s| !s.trim().is_empty())
}

/// Every scorer's verdict, the headline scorer first.
fn scores(sample: &WireSample, headline: Option<&str>) -> Vec<ScoreDetail> {
    let mut out: Vec<ScoreDetail> = sample
        .scores
        .iter()
        .flatten()
        .map(|(name, score)| {
            let value = score.get("value").unwrap_or(&Value::Null);
            ScoreDetail {
                scorer: name.clone(),
                value: value_text(value),
                full_marks: full_marks(value),
                answer: text_field(score, "answer"),
                explanation: text_field(score, "explanation"),
            }
        })
        .collect();
    if let Some(h) = headline {
        out.sort_by_key(|s| s.scorer != h);
    }
    out
}

/// The last non-empty line of a traceback: the exception with its detail, which the message can
/// lack (`FileNotFoundError(2, 'No such file or directory')` against its line naming the path).
pub(super) fn error_line(error: &WireError) -> String {
    let last = error.traceback.lines().map(str::trim).rfind(|l| !l.is_empty()).unwrap_or("");
    let message = error.message.trim();
    match (message.is_empty(), last.is_empty()) {
        (_, true) => message.to_owned(),
        (true, false) => last.to_owned(),
        (false, false) if last.contains(message) => last.to_owned(),
        (false, false) => format!("{message} — {last}"),
    }
}

fn limit_text(sample: &WireSample) -> Option<String> {
    let limit = sample.limit.as_ref()?;
    let value = limit.limit.map(|l| if l.fract() == 0.0 { format!(" of {l:.0}") } else { format!(" of {l}") });
    let mut text = format!("{} limit{} reached", limit.kind, value.unwrap_or_default());
    if let Some(reason) = limit.reason.as_deref().map(str::trim).filter(|r| !r.is_empty()) {
        text.push_str(&format!(": {reason}"));
    }
    Some(text)
}

fn first_line(text: &str, max: usize) -> String {
    let line = text.lines().map(str::trim).find(|l| !l.is_empty()).unwrap_or("");
    if line.chars().count() > max {
        format!("{}…", line.chars().take(max).collect::<String>())
    } else {
        line.to_owned()
    }
}

/// The eval a sample × epoch is.
pub(super) fn eval_of(sample: &WireSample, ctx: &LogContext) -> Eval {
    let key = sample_key(&sample.id);
    let path = eval_path(ctx, &key, sample.epoch);
    let scores = scores(sample, ctx.headline.as_deref());
    let headline = scores.first();
    let duration_ms = sample.total_time.map(|t| t * 1000.0);
    let failed = |failure_reason: String| EvalStatus::Failed {
        failure_reason,
        duration_ms,
        output_storage_id: None,
        generation_duration_ms: None,
    };
    let status = if let Some(error) = &sample.error {
        failed(format!("[infrastructure] sample error: {}", error_line(error)))
    } else {
        match headline {
            Some(score) if score.full_marks == Some(true) => EvalStatus::Passed { duration_ms },
            Some(score) => {
                let said =
                    score.explanation.as_deref().map(|e| format!(": {}", first_line(e, 200))).unwrap_or_default();
                let scored = format!("{} scored {}{said}", score.scorer, score.value);
                match limit_text(sample) {
                    Some(limit) => failed(format!("{limit} ({scored})")),
                    None => failed(scored),
                }
            }
            None => match limit_text(sample) {
                Some(limit) => failed(format!("{limit} (not scored)")),
                None => EvalStatus::Unknown("unscored".to_owned()),
            },
        }
    };
    Eval {
        id: eval_id(&ctx.task, &key, sample.epoch),
        category: path.category().to_owned(),
        name: path.name().to_owned(),
        path,
        status,
        task: Some(input_text(sample)).filter(|t| !t.is_empty()),
        eval_source_storage_id: None,
        created_at_ms: sample.started_at.as_deref().and_then(millis).unwrap_or(ctx.created_ms),
        steps: Vec::new(),
        usage: usage(sample, &ctx.model),
    }
}

fn usage(sample: &WireSample, model: &str) -> Option<Usage> {
    let u = sample.model_usage.get(model).or_else(|| sample.model_usage.values().next())?;
    Some(Usage {
        input_tokens: u.input_tokens,
        output_tokens: u.output_tokens,
        reasoning_tokens: u.reasoning_tokens,
        cached_input_tokens: u.input_tokens_cache_read,
        total_tokens: u.total_tokens,
        cost_usd: u.total_cost,
    })
}

/// Resolves an `attachment://<hash>` reference from the sample's attachments.
fn resolve<'a>(text: &'a str, sample: &'a WireSample) -> &'a str {
    text.strip_prefix("attachment://").and_then(|h| sample.attachments.get(h)).map_or(text, String::as_str)
}

/// A message's content as text: strings and text parts whole, reasoning marked, media named.
fn content_text(content: &Value, sample: &WireSample) -> String {
    match content {
        Value::String(s) => resolve(s, sample).to_owned(),
        Value::Array(parts) => parts
            .iter()
            .map(|part| {
                let field = |f: &str| part.get(f).and_then(Value::as_str).map(|s| resolve(s, sample).to_owned());
                match part.get("type").and_then(Value::as_str).unwrap_or("") {
                    "text" => field("text").unwrap_or_default(),
                    "reasoning" => {
                        format!("[reasoning] {}", field("reasoning").or_else(|| field("summary")).unwrap_or_default())
                    }
                    "tool_use" => format!(
                        "[{} {}] {} -> {}",
                        field("tool_type").unwrap_or_default(),
                        field("name").unwrap_or_default(),
                        field("arguments").unwrap_or_default(),
                        field("error").or_else(|| field("result")).unwrap_or_default()
                    ),
                    "" => String::new(),
                    other => format!("[{other} content not shown]"),
                }
            })
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join("\n"),
        _ => String::new(),
    }
}

fn input_text(sample: &WireSample) -> String {
    match &sample.input {
        Value::Array(messages) => messages
            .iter()
            .map(|m| {
                let role = m.get("role").and_then(Value::as_str).unwrap_or("user");
                format!("[{role}] {}", content_text(m.get("content").unwrap_or(&Value::Null), sample))
            })
            .collect::<Vec<_>>()
            .join("\n"),
        other => content_text(other, sample),
    }
}

fn target_text(target: &Value) -> String {
    match target {
        Value::Array(items) => items.iter().map(value_text).collect::<Vec<_>>().join("\n"),
        Value::Null => String::new(),
        other => value_text(other),
    }
}

fn message(m: &WireMessage, sample: &WireSample) -> TranscriptMessage {
    TranscriptMessage {
        role: m.role.clone(),
        text: content_text(&m.content, sample),
        tool_calls: m
            .tool_calls
            .iter()
            .flatten()
            .map(|c| ToolCallText { function: c.function.clone(), arguments: c.arguments.to_string() })
            .collect(),
        function: m.function.clone(),
        tool_error: m.error.as_ref().map(|e| format!("{}: {}", e.kind, e.message)),
    }
}

/// The evidence of a sample × epoch.
pub(super) fn evidence_of(sample: &WireSample, ctx: &LogContext) -> SampleEvidence {
    let answer = sample.output.as_ref().and_then(|o| {
        o.completion
            .clone()
            .filter(|c| !c.is_empty())
            .or_else(|| o.choices.first().map(|c| content_text(&c.message.content, sample)))
    });
    SampleEvidence {
        benchmark: format!(
            "an Inspect AI evaluation (task `{}`): the model answers an input, possibly over several turns with \
             tools, and scorers compare its answer with a target",
            ctx.task
        ),
        task: ctx.task.clone(),
        sample_id: sample_key(&sample.id),
        epoch: sample.epoch,
        input: input_text(sample),
        target: target_text(&sample.target),
        answer,
        headline_scorer: ctx.headline.clone(),
        scores: scores(sample, ctx.headline.as_deref()),
        limit: limit_text(sample),
        error_retries: sample.error_retries.iter().flatten().map(error_line).collect(),
        messages: sample.messages.iter().map(|m| message(m, sample)).collect(),
    }
}

/// The run a log is. `incomplete` says why the log has no header, when it has none.
pub(super) fn run_of(
    log: &WireLog,
    ctx: &LogContext,
    evals: Vec<Eval>,
    incomplete: Option<String>,
) -> Result<Run, String> {
    let spec = &log.eval;
    let stats = log.stats.as_ref();
    let duration_ms = match (stats.and_then(|s| s.started_at.as_deref()), stats.and_then(|s| s.completed_at.as_deref()))
    {
        (Some(a), Some(b)) => millis(a).zip(millis(b)).map(|(a, b)| b - a),
        _ => None,
    };
    let status = match (incomplete, log.status.as_deref()) {
        (Some(why), _) => RunStatus::Failed { failure_reason: why, duration_ms: None },
        (None, Some("success")) => RunStatus::Completed { duration_ms },
        (None, Some("error")) => RunStatus::Failed {
            failure_reason: format!(
                "the eval stopped with an error: {}",
                log.error.as_ref().map_or_else(|| "no error recorded".to_owned(), error_line)
            ),
            duration_ms,
        },
        (None, Some("cancelled")) => {
            RunStatus::Failed { failure_reason: "the eval was cancelled".to_owned(), duration_ms }
        }
        (None, Some("started")) => RunStatus::Running,
        (None, other) => RunStatus::Unknown(other.unwrap_or("unknown").to_owned()),
    };
    let epochs = spec.config.as_ref().and_then(|c| c.epochs).unwrap_or(1).max(1);
    let planned = spec
        .dataset
        .as_ref()
        .and_then(|d| d.sample_ids.as_ref())
        .map(|ids| {
            ids.iter()
                .flat_map(|id| (1..=epochs).map(move |e| eval_path(ctx, &sample_key(id), e).as_str().to_owned()))
                .collect()
        })
        .unwrap_or_default();
    Ok(Run {
        id: run_id(spec)?,
        model_id: None,
        model: spec.model.clone(),
        formatted_name: None,
        provider: None,
        experiment: format!("{}{}", crate::model::INSPECT_EXPERIMENT_PREFIX, spec.task),
        status,
        created_at_ms: ctx.created_ms,
        planned_evals: planned,
        evals,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_marks(value: Value, expected: Option<bool>) {
        assert_eq!(full_marks(&value), expected, "{value}");
    }

    #[test]
    fn marks_follow_inspects_value_to_float() {
        check_marks(Value::from("C"), Some(true));
        check_marks(Value::from("I"), Some(false));
        check_marks(Value::from("P"), Some(false));
        check_marks(Value::from("N"), Some(false));
        check_marks(Value::from(1.0), Some(true));
        check_marks(Value::from(0.5), Some(false));
        check_marks(Value::from(true), Some(true));
        check_marks(Value::from("0.75"), Some(false));
        check_marks(Value::Null, None);
        check_marks(serde_json::json!({"a": "C", "b": 1}), Some(true));
        check_marks(serde_json::json!({"a": "C", "b": 0}), Some(false));
    }

    #[test]
    fn ids_are_stable_and_valid() {
        let a = eval_id("capitals", "geo/fr", 1);
        assert_eq!(a, eval_id("capitals", "geo/fr", 1));
        assert_ne!(a, eval_id("capitals", "geo/fr", 2));
        assert_ne!(a, eval_id("capital", "sgeo/fr", 1));
        assert_eq!(sample_key(&Value::from(12)), "12");
    }

    #[test]
    fn the_traceback_line_adds_what_the_message_lacks() {
        let e = WireError {
            message: "FileNotFoundError(2, 'No such file or directory')".into(),
            traceback: "Traceback...\n  File x\nFileNotFoundError: [Errno 2] No such file or directory: '/srv/a.csv'\n"
                .into(),
        };
        assert_eq!(
            error_line(&e),
            "FileNotFoundError(2, 'No such file or directory') — FileNotFoundError: [Errno 2] No such file or directory: '/srv/a.csv'"
        );
    }
}
