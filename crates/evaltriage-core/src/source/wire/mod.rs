//! The Convex wire format of `runs:getRunDetails` (with `"format": "json"`), converted into the
//! domain model at this boundary. No type here leaves the `source` module.
//!
//! Optional fields are absent rather than null on the wire; every one has a default. Unknown
//! fields are ignored and unknown status `kind`s become `Unknown`. A document that does not parse
//! gives a message naming the field (`run document: evals[3].steps[0].status.kind: invalid type:
//! integer `5`, expected a string`); callers decide whose fault it is (a local file: the user's; a
//! server's answer: the server's). Documents are parsed straight from their bytes, never through an
//! intermediate `serde_json::Value` tree, which costs several times the document's size.
//!
//! Free text is capped on the way in: a failure reason, a task or a name longer than
//! [`MAX_FREE_TEXT_BYTES`] keeps its first MiB and a note of what was cut, so a hostile document
//! (seven failures with a 100 MB `failureReason` each) costs its own size while it is parsed and a
//! few MiB after, not a copy of every giant string for every place that shows it.

use serde::Deserialize;

mod listing;

pub(crate) use listing::{header_from_slice, header_from_value, model_page_from_value, scored_runs_from_value};

use crate::ids::{EvalId, EvalPath, RunId, StorageId};
use crate::model::{Eval, EvalStatus, Run, RunStatus, Step, StepName, StepStatus};
use crate::usage::Usage;

/// The most bytes kept of one free-text field (a failure reason, a task, a name). Real failure
/// reasons are a few KiB (a tsc run's whole output); a task a few KiB.
pub const MAX_FREE_TEXT_BYTES: usize = 1 << 20;

/// A string field capped at [`MAX_FREE_TEXT_BYTES`] while it is read: serde_json lends the
/// document's bytes where it can, and only the kept part is copied.
struct Capped(String);

impl<'de> Deserialize<'de> for Capped {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = Capped;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a string")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Capped, E> {
                Ok(Capped(cap_text(v)))
            }
            fn visit_string<E: serde::de::Error>(self, v: String) -> Result<Capped, E> {
                Ok(Capped(if v.len() <= MAX_FREE_TEXT_BYTES { v } else { cap_text(&v) }))
            }
        }
        d.deserialize_string(Visitor)
    }
}

/// The text, or its first [`MAX_FREE_TEXT_BYTES`] (at a character boundary) and a note.
fn cap_text(text: &str) -> String {
    if text.len() <= MAX_FREE_TEXT_BYTES {
        return text.to_owned();
    }
    let mut end = MAX_FREE_TEXT_BYTES;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!(
        "{}\n[... {} bytes cut: evaltriage keeps the first {} KiB of a field ...]",
        &text[..end],
        text.len() - end,
        MAX_FREE_TEXT_BYTES >> 10
    )
}

fn capped<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Capped::deserialize(d).map(|c| c.0)
}

fn capped_opt<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Option::<Capped>::deserialize(d).map(|c| c.map(|c| c.0))
}

/// A number as Convex's JSON format writes it: a float, or an Int64 as a decimal string.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct Num(f64);

impl<'de> Deserialize<'de> for Num {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            F(f64),
            S(String),
        }
        match Raw::deserialize(d)? {
            Raw::F(f) => Ok(Num(f)),
            Raw::S(s) => s.trim().parse::<f64>().map(Num).map_err(serde::de::Error::custom),
        }
    }
}

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct WireStatus {
    #[serde(deserialize_with = "capped")]
    kind: String,
    #[serde(deserialize_with = "capped_opt")]
    failure_reason: Option<String>,
    duration_ms: Option<Num>,
    output_storage_id: Option<String>,
    generation_duration_ms: Option<Num>,
    usage: Option<Lenient<WireUsage>>,
}

/// A value that is read when it has the expected shape and ignored when not: a provider's usage
/// object is foreign data, and a surprise in it must never make a run unreadable.
#[derive(Debug)]
enum Lenient<T> {
    Read(T),
    Ignored,
}

impl<T> Lenient<T> {
    fn get(self) -> Option<T> {
        match self {
            Self::Read(t) => Some(t),
            Self::Ignored => None,
        }
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Lenient<T> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw<T> {
            Read(T),
            Ignored(serde::de::IgnoredAny),
        }
        Ok(match Raw::<T>::deserialize(d)? {
            Raw::Read(t) => Self::Read(t),
            Raw::Ignored(_) => Self::Ignored,
        })
    }
}

/// `status.usage`: the generation's usage (every field optional) and the provider's `raw` object,
/// of which only `cost` (USD) is read.
#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct WireUsage {
    input_tokens: Option<Lenient<Num>>,
    output_tokens: Option<Lenient<Num>>,
    reasoning_tokens: Option<Lenient<Num>>,
    cached_input_tokens: Option<Lenient<Num>>,
    total_tokens: Option<Lenient<Num>>,
    raw: Option<Lenient<WireRawUsage>>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
struct WireRawUsage {
    cost: Option<Lenient<Num>>,
}

fn tokens(n: Option<Lenient<Num>>) -> Option<u64> {
    n.and_then(Lenient::get).map(|n| n.0).filter(|n| n.is_finite() && *n >= 0.0).map(|n| n.min(u64::MAX as f64) as u64)
}

fn usage(w: Option<Lenient<WireUsage>>) -> Option<Usage> {
    let w = w?.get()?;
    Some(Usage {
        input_tokens: tokens(w.input_tokens),
        output_tokens: tokens(w.output_tokens),
        reasoning_tokens: tokens(w.reasoning_tokens),
        cached_input_tokens: tokens(w.cached_input_tokens),
        total_tokens: tokens(w.total_tokens),
        cost_usd: w.raw.and_then(Lenient::get).and_then(|r| r.cost).and_then(Lenient::get).map(|n| n.0),
    })
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireStep {
    #[serde(rename = "_id", default)]
    id: String,
    #[serde(deserialize_with = "capped")]
    name: String,
    #[serde(default)]
    status: WireStatus,
    #[serde(rename = "_creationTime", default)]
    creation_time: Num,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireEval {
    #[serde(rename = "_id")]
    id: String,
    /// The run the eval belongs to; absent in some hand-made documents.
    #[serde(default)]
    run_id: Option<String>,
    #[serde(default, deserialize_with = "capped_opt")]
    eval_path: Option<String>,
    #[serde(default, deserialize_with = "capped")]
    category: String,
    #[serde(default, deserialize_with = "capped")]
    name: String,
    #[serde(default)]
    status: WireStatus,
    #[serde(default, deserialize_with = "capped_opt")]
    task: Option<String>,
    #[serde(default)]
    eval_source_storage_id: Option<String>,
    #[serde(rename = "_creationTime", default)]
    creation_time: Num,
    #[serde(default)]
    steps: Vec<WireStep>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireRun {
    #[serde(rename = "_id")]
    id: String,
    #[serde(default)]
    model_id: Option<String>,
    #[serde(default, deserialize_with = "capped_opt")]
    model: Option<String>,
    #[serde(default, deserialize_with = "capped_opt")]
    formatted_name: Option<String>,
    #[serde(default, deserialize_with = "capped_opt")]
    provider: Option<String>,
    #[serde(default)]
    planned_evals: Vec<String>,
    #[serde(default)]
    status: WireStatus,
    #[serde(default, deserialize_with = "capped_opt")]
    experiment: Option<String>,
    #[serde(rename = "_creationTime", default)]
    creation_time: Num,
    #[serde(default)]
    evals: Vec<WireEval>,
}

fn storage_id(what: &str, raw: Option<String>) -> Result<Option<StorageId>, String> {
    raw.filter(|s| !s.is_empty()).map(|s| StorageId::new(&s).map_err(|e| format!("{what}: {e}"))).transpose()
}

fn run_status(s: WireStatus) -> RunStatus {
    let duration_ms = s.duration_ms.map(|n| n.0);
    match s.kind.as_str() {
        "pending" => RunStatus::Pending,
        "running" => RunStatus::Running,
        "completed" => RunStatus::Completed { duration_ms },
        "failed" => RunStatus::Failed { failure_reason: s.failure_reason.unwrap_or_default(), duration_ms },
        other => RunStatus::Unknown(other.to_owned()),
    }
}

fn eval_status(s: WireStatus, at: &str) -> Result<EvalStatus, String> {
    let duration_ms = s.duration_ms.map(|n| n.0);
    Ok(match s.kind.as_str() {
        "pending" => EvalStatus::Pending,
        "running" => EvalStatus::Running,
        "passed" => EvalStatus::Passed { duration_ms },
        "failed" => EvalStatus::Failed {
            failure_reason: s.failure_reason.unwrap_or_default(),
            duration_ms,
            output_storage_id: storage_id(&format!("{at}.status.outputStorageId"), s.output_storage_id)?,
            generation_duration_ms: s.generation_duration_ms.map(|n| n.0),
        },
        other => EvalStatus::Unknown(other.to_owned()),
    })
}

fn step_status(s: WireStatus) -> StepStatus {
    let duration_ms = s.duration_ms.map(|n| n.0);
    match s.kind.as_str() {
        "running" => StepStatus::Running,
        "passed" => StepStatus::Passed { duration_ms },
        "failed" => StepStatus::Failed { failure_reason: s.failure_reason.unwrap_or_default(), duration_ms },
        "skipped" => StepStatus::Skipped,
        other => StepStatus::Unknown(other.to_owned()),
    }
}

fn eval(index: usize, w: WireEval) -> Result<Eval, String> {
    let at = format!("evals[{index}]");
    let id = EvalId::new(&w.id).map_err(|e| format!("{at}._id: {e}"))?;
    let path = match w.eval_path.as_deref().filter(|p| !p.trim().is_empty()) {
        Some(p) => EvalPath::new(p),
        None => EvalPath::from_parts(&w.category, &w.name),
    };
    let mut steps: Vec<Step> = w
        .steps
        .into_iter()
        .map(|s| Step {
            id: s.id,
            name: StepName::parse(&s.name),
            status: step_status(s.status),
            created_at_ms: s.creation_time.0,
        })
        .collect();
    // Creation order defines the failed step; the server usually sends them in order already.
    steps.sort_by(|a, b| a.created_at_ms.total_cmp(&b.created_at_ms));
    let mut status = w.status;
    let usage = usage(status.usage.take());
    Ok(Eval {
        usage,
        category: if w.category.is_empty() { path.category().to_owned() } else { w.category },
        name: if w.name.is_empty() { path.name().to_owned() } else { w.name },
        id,
        path,
        status: eval_status(status, &at)?,
        task: w.task,
        eval_source_storage_id: storage_id(&format!("{at}.evalSourceStorageId"), w.eval_source_storage_id)?,
        created_at_ms: w.creation_time.0,
        steps,
    })
}

/// Parses a run document (the value of `runs:getRunDetails`, not null) from its JSON bytes.
/// The error names the document's field that is missing or mistyped.
pub(crate) fn run_from_slice(bytes: &[u8]) -> Result<Run, String> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let w: WireRun =
        serde_path_to_error::deserialize(&mut de).map_err(|e| format!("run document: {}", path_error(&e)))?;
    de.end().map_err(|e| format!("run document: {e}"))?;
    run(w)
}

/// Parses an already-parsed run document (a Convex response), without copying it.
pub(crate) fn run_from_value(value: &serde_json::Value) -> Result<Run, String> {
    let w: WireRun =
        serde_path_to_error::deserialize(value).map_err(|e| format!("run document: {}", path_error(&e)))?;
    run(w)
}

/// `evals[3].steps[0].status.kind: invalid type: ...`, or the bare message at the top level.
fn path_error<E: std::fmt::Display>(e: &serde_path_to_error::Error<E>) -> String {
    let path = e.path().to_string();
    if path.is_empty() || path == "." { e.inner().to_string() } else { format!("{path}: {}", e.inner()) }
}

fn run(w: WireRun) -> Result<Run, String> {
    let id = RunId::new(&w.id).map_err(|e| format!("run document: _id: {e}"))?;
    let wire_evals = own_evals(&w.id, w.evals);
    let evals = wire_evals
        .into_iter()
        .enumerate()
        .map(|(i, e)| eval(i, e))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("run document: {e}"))?;
    Ok(Run {
        id,
        model_id: w.model_id,
        model: w.model.filter(|m| !m.trim().is_empty()).unwrap_or_else(|| "unknown-model".to_owned()),
        formatted_name: w.formatted_name,
        provider: w.provider,
        experiment: w.experiment.filter(|e| !e.is_empty()).unwrap_or_else(|| "default".to_owned()),
        status: run_status(w.status),
        created_at_ms: w.creation_time.0,
        planned_evals: w.planned_evals,
        evals,
    })
}

/// The evals that are this run's, each once: an eval whose `runId` names another run is dropped
/// (its result is not this run's: counting it would put another run's failure in this report),
/// and a second eval with an `_id` already seen is dropped (the first kept), so nothing is
/// counted twice. Each is said once in the log, with how many were dropped.
///
/// Dropped rather than refused: the run's own evals are still its data, and a report that says
/// what it covers is worth more to a maintainer than no report; the warning names the problem for
/// the server's owner.
fn own_evals(run_id: &str, evals: Vec<WireEval>) -> Vec<WireEval> {
    let mut seen = std::collections::HashSet::new();
    let mut foreign: Vec<String> = Vec::new();
    let mut duplicates: Vec<String> = Vec::new();
    let mut kept = Vec::with_capacity(evals.len());
    for e in evals {
        if let Some(other) = e.run_id.as_deref().filter(|r| *r != run_id) {
            foreign.push(format!("{} (runId {other})", e.id));
        } else if !seen.insert(e.id.clone()) {
            duplicates.push(e.id);
        } else {
            kept.push(e);
        }
    }
    let some = |ids: &[String]| {
        let mut list = ids.iter().take(5).cloned().collect::<Vec<_>>().join(", ");
        if ids.len() > 5 {
            list.push_str(", …");
        }
        list
    };
    if !foreign.is_empty() {
        tracing::warn!(
            "run {run_id}: dropped {} eval(s) that belong to another run: {}",
            foreign.len(),
            some(&foreign)
        );
    }
    if !duplicates.is_empty() {
        tracing::warn!(
            "run {run_id}: dropped {} duplicate eval(s) (the first of each id kept): {}",
            duplicates.len(),
            some(&duplicates)
        );
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn absent_fields_unknown_kinds_and_int64_strings_parse() {
        let value = json!({
            "_id": "jn7b2c3d4e5f6g7h8j9k0m1n2p3q4r5s",
            "_creationTime": 1763012345678.123,
            "model": "anthropic/claude-opus-4.6",
            "status": {"kind": "completed", "durationMs": "123456", "usage": {"x": 1}},
            "someFutureField": [1, 2, 3],
            "evals": [
                {"_id": "e1aaaaaaaaaaaaaaaaaaaa", "runId": "jn7b2c3d4e5f6g7h8j9k0m1n2p3q4r5s", "evalPath": "000-fundamentals/001-empty",
                 "category": "000-fundamentals", "name": "001-empty", "_creationTime": 1.5,
                 "status": {"kind": "teleported", "whatever": true}, "steps": []},
                {"_id": "e2aaaaaaaaaaaaaaaaaaaa", "category": "002-queries", "name": "003-x", "_creationTime": 2.0,
                 "status": {"kind": "failed", "failureReason": "error: no endpoints", "durationMs": 10}}
            ]
        });
        let run = run_from_value(&value).unwrap();
        assert_eq!(run_from_slice(value.to_string().as_bytes()).unwrap(), run);
        assert_eq!(run.experiment, "default");
        assert_eq!(run.status.duration_ms(), Some(123456.0));
        assert_eq!(run.evals[0].status, EvalStatus::Unknown("teleported".into()));
        assert_eq!(run.evals[1].path.as_str(), "002-queries/003-x");
        assert!(run.evals[1].failed_step().is_none());
    }

    #[test]
    fn giant_free_text_is_cut_on_the_way_in() {
        let run_id = "jn7b2c3d4e5f6g7h8j9k0m1n2p3q4r5s";
        // With escapes (serde_json copies) and without (it lends the bytes), and a multi-byte
        // character across the cut.
        let reason = format!("{}é{}", "line\n".repeat(MAX_FREE_TEXT_BYTES / 5), "x".repeat(3 << 20));
        let doc = json!({
            "_id": run_id,
            "model": "m".repeat(2 << 20),
            "evals": [{"_id": "e1aaaaaaaaaaaaaaaaaaaa", "evalPath": "000-a/000-x", "task": "t".repeat(5 << 20),
                       "status": {"kind": "failed", "failureReason": reason},
                       "steps": [{"_id": "s", "name": "tsc", "status": {"kind": "failed", "failureReason": reason}}]}]
        });
        for run in [run_from_value(&doc).unwrap(), run_from_slice(doc.to_string().as_bytes()).unwrap()] {
            let eval = &run.evals[0];
            let EvalStatus::Failed { failure_reason, .. } = &eval.status else { panic!("{:?}", eval.status) };
            let StepStatus::Failed { failure_reason: step_reason, .. } = &eval.steps[0].status else { panic!() };
            for text in [failure_reason, step_reason, eval.task.as_ref().unwrap(), &run.model] {
                assert!(text.len() < MAX_FREE_TEXT_BYTES + 200, "{}", text.len());
                assert!(text.ends_with("KiB of a field ...]"), "{}", &text[text.len() - 80..]);
            }
            assert!(failure_reason.starts_with("line\nline\n"));
            assert!(failure_reason.contains("bytes cut: evaltriage keeps the first 1024 KiB"));
        }
        assert_eq!(cap_text("short"), "short");
    }

    #[test]
    fn duplicate_evals_count_once_and_another_runs_evals_are_dropped() {
        let run_id = "jn7b2c3d4e5f6g7h8j9k0m1n2p3q4r5s";
        let failed = |id: &str, run: &str, path: &str| {
            json!({"_id": id, "runId": run, "evalPath": path,
                   "status": {"kind": "failed", "failureReason": "tests fail (50%)"}})
        };
        let doc = json!({
            "_id": run_id,
            "evals": [
                failed("e1aaaaaaaaaaaaaaaaaaaa", run_id, "000-a/000-x"),
                failed("e1aaaaaaaaaaaaaaaaaaaa", run_id, "000-a/000-x"),
                failed("e2aaaaaaaaaaaaaaaaaaaa", run_id, "000-a/001-y"),
                failed("e2aaaaaaaaaaaaaaaaaaaa", run_id, "000-a/001-y-again"),
                failed("e3aaaaaaaaaaaaaaaaaaaa", "jzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz", "000-a/002-other-run"),
                {"_id": "e4aaaaaaaaaaaaaaaaaaaa", "evalPath": "000-a/003-no-run-id", "status": {"kind": "passed"}},
            ]
        });
        for run in [run_from_value(&doc).unwrap(), run_from_slice(doc.to_string().as_bytes()).unwrap()] {
            let paths: Vec<&str> = run.evals.iter().map(|e| e.path.as_str()).collect();
            assert_eq!(paths, ["000-a/000-x", "000-a/001-y", "000-a/003-no-run-id"]);
            assert_eq!(run.failed_evals().len(), 2, "each failure counted once, none of another run");
        }
    }

    #[track_caller]
    fn check_error(doc: serde_json::Value, expected: &str) {
        let message = run_from_slice(doc.to_string().as_bytes()).unwrap_err();
        // Read from bytes, serde_json adds where: ` at line 1 column 227`.
        assert!(message == expected || message.starts_with(&format!("{expected} at line ")), "{message}");
        assert_eq!(run_from_value(&doc).unwrap_err(), expected, "the same message from a server's answer");
    }

    #[test]
    fn errors_name_the_field() {
        let step = json!({"_id": "s", "name": "build", "status": {"kind": 5}});
        let good_eval = json!({"_id": "e1aaaaaaaaaaaaaaaaaaaa", "evalPath": "a/b"});
        let mut bad_eval = good_eval.clone();
        bad_eval["steps"] = json!([{"_id": "s0", "name": "a"}, step]);
        check_error(
            json!({"_id": "jn7b2c3d4e5f6g7h8j9k0m1n2p3q4r5s", "evals": [good_eval.clone(), bad_eval]}),
            "run document: evals[1].steps[1].status.kind: invalid type: integer `5`, expected a string",
        );
        check_error(
            json!({"_id": "jn7b2c3d4e5f6g7h8j9k0m1n2p3q4r5s", "evals": [good_eval, {"evalPath": "x/y"}]}),
            "run document: evals[1]: missing field `_id`",
        );
        check_error(json!({"model": "x"}), "run document: missing field `_id`");
        check_error(
            json!({"_id": "jn7b2c3d4e5f6g7h8j9k0m1n2p3q4r5s", "evals": [{"_id": "e1aaaaaaaaaaaaaaaaaaaa", "evalSourceStorageId": "../x"}]}),
            &format!("run document: evals[0].evalSourceStorageId: {}", StorageId::new("../x").unwrap_err()),
        );
    }

    #[test]
    fn invalid_utf8_and_trailing_bytes_are_errors_not_panics() {
        let mut bytes = br#"{"_id": "jn7b2c3d4e5f6g7h8j9k0m1n2p3q4r5s", "model": ""#.to_vec();
        bytes.extend_from_slice(b"\xff\xfe\"}");
        assert!(run_from_slice(&bytes).unwrap_err().starts_with("run document: "));
        assert!(run_from_slice(br#"{"_id": "jn7b2c3d4e5f6g7h8j9k0m1n2p3q4r5s"} x"#).is_err());
    }
}
