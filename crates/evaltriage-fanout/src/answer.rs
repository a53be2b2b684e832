//! The LLM's structured answer: its JSON schema, and the validation that decides whether an
//! answer is accepted or asked again with the reason.

use evaltriage_core::Classification;
use serde_json::{Value, json};

/// Bumped when the schema or the validation changes meaning; part of the prompt version.
pub const SCHEMA_VERSION: &str = "answer-v1";

/// The fields every answer must have.
pub const FIELDS: [&str; 8] =
    ["eval", "failed_step", "error", "classification", "reasoning", "model_snippet", "expected_snippet", "confidence"];

/// The JSON schema of the answer (strict-mode compatible: every field required, no extras).
pub fn answer_schema() -> Value {
    let labels: Vec<&str> = Classification::ALL.iter().map(|c| c.as_str()).collect();
    json!({
        "type": "object",
        "additionalProperties": false,
        "required": FIELDS,
        "properties": {
            "eval": {"type": "string", "description": "the eval path exactly as given"},
            "failed_step": {"type": "string"},
            "error": {"type": "string", "description": "the decisive error, one line"},
            "classification": {"type": "string", "enum": labels},
            "reasoning": {"type": "string"},
            "model_snippet": {"type": "string", "description": "verbatim from the evidence, or empty"},
            "expected_snippet": {"type": "string", "description": "verbatim from the evidence, or empty"},
            "confidence": {"type": "number", "description": "0 to 1"}
        }
    })
}

/// A validated answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    pub classification: Classification,
    pub error: String,
    pub reasoning: String,
    pub model_snippet: Option<String>,
    pub expected_snippet: Option<String>,
    pub confidence: f32,
}

/// Parses and validates an answer about `eval_path` against the evidence that was sent.
/// The error is the reason, phrased to be sent back to the LLM.
pub fn validate(content: &str, eval_path: &str, evidence: &str) -> Result<Answer, String> {
    let value = parse_json_object(content)?;
    let obj = value.as_object().ok_or("the answer is not a JSON object")?;
    let missing: Vec<&str> = FIELDS.iter().copied().filter(|f| !obj.contains_key(*f)).collect();
    if !missing.is_empty() {
        return Err(format!("required fields are missing: {}", missing.join(", ")));
    }
    let string = |field: &str| -> Result<String, String> {
        obj[field].as_str().map(str::to_owned).ok_or_else(|| format!("field \"{field}\" must be a string"))
    };
    let eval = string("eval")?;
    if eval.trim().trim_matches('/') != eval_path {
        return Err(format!("field \"eval\" is {eval:?}, but this analysis is about {eval_path:?}"));
    }
    let label = string("classification")?;
    let classification: Classification =
        label.parse().map_err(|e: evaltriage_core::verdict::UnknownClassification| {
            format!("{e}; use exactly one of the four labels")
        })?;
    let reasoning = string("reasoning")?;
    if reasoning.trim().is_empty() {
        return Err("field \"reasoning\" is empty".into());
    }
    let error = string("error")?;
    string("failed_step")?;
    let confidence = match &obj["confidence"] {
        Value::Number(n) => n.as_f64().unwrap_or(-1.0),
        Value::String(s) => s.trim().parse::<f64>().map_err(|_| "field \"confidence\" must be a number".to_owned())?,
        _ => return Err("field \"confidence\" must be a number from 0 to 1".into()),
    };
    if !(0.0..=1.0).contains(&confidence) {
        return Err(format!("field \"confidence\" is {confidence}, it must be from 0 to 1"));
    }
    let haystack = Haystack::new(evidence);
    let snippet = |field: &str| -> Result<Option<String>, String> {
        let s = string(field)?;
        if s.trim().is_empty() {
            return Ok(None);
        }
        if haystack.contains(&s) {
            Ok(Some(s))
        } else {
            Err(format!(
                "field \"{field}\" does not occur in the evidence; copy it verbatim from the evidence (without the diff's +/- markers) or use \"\""
            ))
        }
    };
    let model_snippet = snippet("model_snippet")?;
    let expected_snippet = snippet("expected_snippet")?;
    Ok(Answer { classification, error, reasoning, model_snippet, expected_snippet, confidence: confidence as f32 })
}

/// Reads a JSON object from an answer: plain, in a code fence, or wrapped in some prose.
fn parse_json_object(content: &str) -> Result<Value, String> {
    // Reasoning models served locally often think aloud first, in `<think>...</think>`.
    let after_thinking = content.rfind("</think>").map_or(content, |end| &content[end + "</think>".len()..]);
    let trimmed = after_thinking.trim();
    if trimmed.is_empty() {
        return Err("the answer is empty".into());
    }
    if let Ok(v) = serde_json::from_str::<Value>(trimmed) {
        return Ok(v);
    }
    if let (Some(start), Some(end)) = (trimmed.find('{'), trimmed.rfind('}')) {
        if let Some(Ok(v)) = (start < end).then(|| serde_json::from_str::<Value>(&trimmed[start..=end])) {
            return Ok(v);
        }
    }
    let preview: String = trimmed.chars().take(120).collect();
    Err(format!("the answer is not valid JSON (it starts with {preview:?})"))
}

/// The evidence with whitespace removed, also with the diff's line markers removed, for
/// whitespace-insensitive snippet lookups.
struct Haystack {
    plain: String,
    unmarked: String,
}

impl Haystack {
    fn new(evidence: &str) -> Self {
        let unmarked: String = evidence
            .lines()
            .map(|l| l.strip_prefix('+').or_else(|| l.strip_prefix('-')).unwrap_or(l))
            .collect::<Vec<_>>()
            .join("\n");
        Self { plain: squeeze(evidence), unmarked: squeeze(&unmarked) }
    }

    fn contains(&self, snippet: &str) -> bool {
        let s = squeeze(snippet);
        let unmarked_snippet: String = squeeze(
            &snippet
                .lines()
                .map(|l| {
                    let t = l.trim_start();
                    t.strip_prefix('+').or_else(|| t.strip_prefix('-')).unwrap_or(l)
                })
                .collect::<Vec<_>>()
                .join("\n"),
        );
        self.plain.contains(&s) || self.unmarked.contains(&s) || self.unmarked.contains(&unmarked_snippet)
    }
}

fn squeeze(text: &str) -> String {
    text.chars().filter(|c| !c.is_whitespace()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const EVIDENCE: &str = "```diff\n--- a/convex/crons.ts\n+++ b/convex/crons.ts\n-crons.interval(\"x\", { seconds: 1 }, internal.crons.a, {});\n+crons.interval(\"x\", { seconds: 1 }, internal.crons.a);\n```\n";

    fn answer(fields: &[(&str, Value)]) -> String {
        let mut v = json!({
            "eval": "000-fundamentals/003-crons",
            "failed_step": "deploy",
            "error": "missing args",
            "classification": "MODEL_FAULT",
            "reasoning": "The model omitted the args object.",
            "model_snippet": "crons.interval(\"x\", {seconds: 1}, internal.crons.a);",
            "expected_snippet": "",
            "confidence": 0.9
        });
        for (k, val) in fields {
            v[*k] = val.clone();
        }
        v.to_string()
    }

    fn check(content: &str, expected: Result<(), &str>) {
        let got = validate(content, "000-fundamentals/003-crons", EVIDENCE).map(|_| ());
        match (got, expected) {
            (Ok(()), Ok(())) => {}
            (Err(reason), Err(want)) => assert!(reason.contains(want), "{reason:?} lacks {want:?}"),
            (got, want) => panic!("got {got:?}, expected {want:?}"),
        }
    }

    #[test]
    fn accepts_a_good_answer_in_any_wrapping() {
        check(&answer(&[]), Ok(()));
        check(&format!("```json\n{}\n```", answer(&[])), Ok(()));
        check(&format!("Here you go: {} Hope it helps.", answer(&[])), Ok(()));
        check(&answer(&[("confidence", json!("0.5"))]), Ok(()));
        check(&format!("<think>Is it {{the model}}? Yes.</think>\n{}", answer(&[])), Ok(()));
        check(
            &answer(&[("model_snippet", json!("+crons.interval(\"x\", { seconds: 1 }, internal.crons.a);"))]),
            Ok(()),
        );
    }

    #[test]
    fn rejects_bad_answers_with_a_reason() {
        check("not json at all", Err("not valid JSON"));
        check("", Err("empty"));
        check(&answer(&[("classification", json!("HARNESS_FAILURE"))]), Err("unknown classification"));
        check(&answer(&[("eval", json!("000-fundamentals/004-other"))]), Err("this analysis is about"));
        check(&answer(&[("model_snippet", json!("ctx.db.insert(\"x\")"))]), Err("does not occur in the evidence"));
        check(&answer(&[("confidence", json!(7))]), Err("from 0 to 1"));
        check(&answer(&[("reasoning", json!(" "))]), Err("reasoning"));
        check(r#"{"eval": "000-fundamentals/003-crons"}"#, Err("required fields are missing"));
    }
}
