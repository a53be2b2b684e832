//! The LLM's structured answer: its JSON schema, and the validation that decides whether an
//! answer is accepted or asked again with the reason.

use evaltriage_core::Classification;
use serde_json::{Value, json};

/// Bumped when the schema or the validation changes meaning; part of the prompt version.
pub const SCHEMA_VERSION: &str = "answer-v2";

/// The fields every answer must have, in the order a careful engineer thinks: what is being
/// judged, the decisive error, the snippets, the reasoning, and only then the label and the
/// confidence. Grammar-driven servers and strict mode generate keys in schema order, so this is
/// also the order the model writes them in.
pub const FIELDS: [&str; 8] =
    ["eval", "failed_step", "error", "model_snippet", "expected_snippet", "reasoning", "classification", "confidence"];

/// What is recorded when an unverifiable snippet is dropped from an otherwise valid answer.
pub const SNIPPET_DROPPED: &str = "snippet not found in the evidence, dropped";

/// The JSON schema of the answer about `eval_path` (strict-mode compatible: every field
/// required, no extras). It constrains what a schema can: the echoed eval path is a one-value
/// enum, the label one of the four, the confidence from 0 to 1. Properties keep [`FIELDS`] order.
pub fn answer_schema(eval_path: &str) -> Value {
    let labels: Vec<&str> = Classification::ALL.iter().map(|c| c.as_str()).collect();
    json!({
        "type": "object",
        "additionalProperties": false,
        "required": FIELDS,
        "properties": {
            "eval": {"type": "string", "enum": [eval_path]},
            "failed_step": {"type": "string"},
            "error": {"type": "string", "description": "the decisive error, one line"},
            "model_snippet": {"type": "string", "description": "verbatim from the evidence, or empty"},
            "expected_snippet": {"type": "string", "description": "verbatim from the evidence, or empty"},
            "reasoning": {"type": "string"},
            "classification": {"type": "string", "enum": labels},
            "confidence": {"type": "number", "description": "0 to 1", "minimum": 0, "maximum": 1}
        }
    })
}

/// The longest text fields of an answer, in characters, once an answer was cut off at the answer
/// cap: small models can write one field on and on until the cap cuts the JSON in half (and, in
/// reasoning order, before the label). Grammar-driven servers (llama.cpp) turn `maxLength` into a
/// hard stop. Only asked after a cut-off, so the first request of every eval is the plain schema.
const BOUNDED_FIELDS: [(&str, u64); 5] =
    [("failed_step", 40), ("error", 300), ("model_snippet", 400), ("expected_snippet", 400), ("reasoning", 1_000)];

/// [`answer_schema`] with `maxLength` on its text fields, for the retry after an answer that the
/// answer cap cut off.
pub fn bounded_answer_schema(eval_path: &str) -> Value {
    let mut schema = answer_schema(eval_path);
    for (field, max) in BOUNDED_FIELDS {
        schema["properties"][field]["maxLength"] = json!(max);
    }
    schema
}

/// A validated answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    pub classification: Classification,
    pub error: String,
    pub reasoning: String,
    pub model_snippet: Option<String>,
    pub expected_snippet: Option<String>,
    /// `None` only in a salvaged answer whose confidence was outside 0 to 1.
    pub confidence: Option<f32>,
    /// What was left out of a salvaged answer ([`Rejection::salvage`]), one note per field:
    /// `expected_snippet: snippet not found in the evidence, dropped`.
    pub dropped: Vec<String>,
}

/// Why an answer was not accepted.
#[derive(Debug, Clone, PartialEq)]
pub struct Rejection {
    /// The reason, phrased to be sent back to the LLM.
    pub reason: String,
    /// When the only defects are snippets that do not occur in the evidence or a confidence
    /// outside 0 to 1 (which llama.cpp's grammar does not bound for numbers): the answer with
    /// those dropped, to keep if no retry does better. The label is always valid here.
    pub salvage: Option<Box<Answer>>,
}

impl Rejection {
    fn new(reason: impl Into<String>) -> Self {
        Self { reason: reason.into(), salvage: None }
    }
}

impl From<String> for Rejection {
    fn from(reason: String) -> Self {
        Self::new(reason)
    }
}

impl From<&str> for Rejection {
    fn from(reason: &str) -> Self {
        Self::new(reason)
    }
}

/// Parses and validates an answer about `eval_path` against the evidence that was sent.
pub fn validate(content: &str, eval_path: &str, evidence: &str) -> Result<Answer, Rejection> {
    let value = parse_json_object(content)?;
    let obj = value.as_object().ok_or("the answer is not a JSON object")?;
    let missing: Vec<&str> = FIELDS.iter().copied().filter(|f| !obj.contains_key(*f)).collect();
    if !missing.is_empty() {
        return Err(format!("required fields are missing: {}", missing.join(", ")).into());
    }
    let string = |field: &str| -> Result<String, String> {
        obj[field].as_str().map(str::to_owned).ok_or_else(|| format!("field \"{field}\" must be a string"))
    };
    let eval = string("eval")?;
    if eval.trim().trim_matches('/') != eval_path {
        return Err(format!("field \"eval\" is {eval:?}, but this analysis is about {eval_path:?}").into());
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
    let mut defects: Vec<String> = Vec::new();
    let mut dropped: Vec<String> = Vec::new();
    let confidence = if (0.0..=1.0).contains(&confidence) {
        Some(confidence as f32)
    } else {
        defects.push(format!("field \"confidence\" is {confidence}, it must be from 0 to 1"));
        dropped.push(format!("confidence: {confidence} is outside 0 to 1, dropped"));
        None
    };
    let haystack = Haystack::new(evidence);
    let mut unverifiable: Vec<&'static str> = Vec::new();
    let mut snippet = |field: &'static str| -> Result<Option<String>, String> {
        let s = string(field)?;
        if s.trim().is_empty() {
            return Ok(None);
        }
        if haystack.contains(&s) {
            Ok(Some(s))
        } else {
            unverifiable.push(field);
            Ok(None)
        }
    };
    let model_snippet = snippet("model_snippet")?;
    let expected_snippet = snippet("expected_snippet")?;
    let answer =
        Answer { classification, error, reasoning, model_snippet, expected_snippet, confidence, dropped: Vec::new() };
    if !unverifiable.is_empty() {
        let fields: Vec<String> = unverifiable.iter().map(|f| format!("\"{f}\"")).collect();
        defects.push(format!(
            "field {} does not occur in the evidence; copy it verbatim from the evidence (without the diff's +/- markers) or use \"\"",
            fields.join(" and field ")
        ));
        dropped.extend(unverifiable.iter().map(|f| format!("{f}: {SNIPPET_DROPPED}")));
    }
    if defects.is_empty() {
        return Ok(answer);
    }
    Err(Rejection { reason: defects.join("; "), salvage: Some(Box::new(Answer { dropped, ..answer })) })
}

/// Validates the synthesis like a verdict: keeps the markdown blocks (top-level bullets or
/// paragraphs) whose eval paths are all in `known`, drops the others, and counts them. A note
/// at the end says how many were dropped. Returns the text and the count.
pub(crate) fn keep_known_evals(text: &str, known: &[&str]) -> (String, usize) {
    let categories: std::collections::HashSet<&str> =
        known.iter().map(|p| p.split_once('/').map_or(*p, |(c, _)| c)).collect();
    let mut blocks: Vec<String> = Vec::new();
    let mut after_blank = true;
    for line in text.lines() {
        let top_level = !line.starts_with(char::is_whitespace);
        let starts_block = top_level && !line.trim().is_empty() && (is_bullet(line) || after_blank);
        match blocks.last_mut() {
            Some(block) if !starts_block => {
                block.push('\n');
                block.push_str(line);
            }
            _ => blocks.push(line.to_owned()),
        }
        after_blank = line.trim().is_empty();
    }
    let mut dropped = 0;
    let mut kept: Vec<String> = Vec::new();
    for block in blocks {
        let unknown = eval_mentions(&block, &categories).into_iter().find(|p| !known.contains(&p.as_str()));
        match unknown {
            Some(path) => {
                tracing::debug!(path, "dropped a synthesis bullet naming an eval that is not in the run");
                dropped += 1;
            }
            None => kept.push(block),
        }
    }
    let mut out = kept.join("\n").trim_end().to_owned();
    if dropped > 0 {
        let bullets = if dropped == 1 { "bullet was" } else { "bullets were" };
        out.push_str(&format!("\n\n_{dropped} {bullets} dropped: they named evals that are not in this run._"));
    }
    (out.trim_start().to_owned(), dropped)
}

fn is_bullet(line: &str) -> bool {
    let digits = line.bytes().take_while(u8::is_ascii_digit).count();
    ["- ", "* ", "+ "].iter().any(|m| line.starts_with(m))
        || (digits > 0 && (line[digits..].starts_with(". ") || line[digits..].starts_with(") ")))
}

/// The eval paths a text names: `<category>/<name>` where the category is one of the run's or
/// both parts are numbered the benchmark's way (`000-fundamentals/003-crons`).
fn eval_mentions(text: &str, categories: &std::collections::HashSet<&str>) -> Vec<String> {
    let numbered = |s: &str| {
        let digits = s.bytes().take_while(u8::is_ascii_digit).count();
        digits > 0 && s[digits..].starts_with('-') && s.len() > digits + 1
    };
    text.split(|c: char| !(c.is_ascii_alphanumeric() || "_-./".contains(c)))
        .filter_map(|token| {
            let mut parts = token.trim_matches(|c| c == '.' || c == '/').split('/');
            let (category, name) = (parts.next()?, parts.next()?.trim_end_matches('.'));
            let is_eval = !name.is_empty() && (categories.contains(category) || (numbered(category) && numbered(name)));
            is_eval.then(|| format!("{category}/{name}"))
        })
        .collect()
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
        let got = validate(content, "000-fundamentals/003-crons", EVIDENCE).map(|_| ()).map_err(|r| r.reason);
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

    #[test]
    fn the_schema_lists_its_fields_in_reasoning_order_when_serialized() {
        let text = serde_json::to_string(&answer_schema("000-fundamentals/003-crons")).unwrap();
        let properties = &text[text.find("\"properties\"").unwrap()..];
        let positions: Vec<usize> =
            FIELDS.iter().map(|f| properties.find(&format!("\"{f}\":")).unwrap_or_else(|| panic!("{f}"))).collect();
        assert!(positions.windows(2).all(|w| w[0] < w[1]), "{properties}");
        let schema = answer_schema("x/y");
        let order: Vec<&str> = schema["properties"].as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(
            order,
            [
                "eval",
                "failed_step",
                "error",
                "model_snippet",
                "expected_snippet",
                "reasoning",
                "classification",
                "confidence"
            ]
        );
        let required = &text[text.find("\"required\"").unwrap()..];
        assert!(
            required.starts_with("\"required\":[\"eval\",\"failed_step\",\"error\",\"model_snippet\""),
            "{required}"
        );
    }

    #[test]
    fn the_echoed_eval_is_a_one_value_enum_of_this_request() {
        let schema = answer_schema("000-fundamentals/003-crons");
        assert_eq!(schema["properties"]["eval"]["enum"], json!(["000-fundamentals/003-crons"]));
        assert_eq!(answer_schema("a/b")["properties"]["eval"]["enum"], json!(["a/b"]));
        assert!(schema["properties"]["eval"].get("description").is_none(), "nothing for a small model to copy");
    }

    #[test]
    fn after_a_cut_off_the_schema_bounds_its_text_fields_and_keeps_the_rest() {
        let plain = answer_schema("a/b");
        let bounded = bounded_answer_schema("a/b");
        assert_eq!(bounded["properties"]["reasoning"]["maxLength"], json!(1_000));
        assert_eq!(bounded["properties"]["error"]["maxLength"], json!(300));
        assert!(plain["properties"]["reasoning"].get("maxLength").is_none());
        let keys = |v: &Value| v["properties"].as_object().unwrap().keys().cloned().collect::<Vec<_>>();
        assert_eq!(keys(&bounded), keys(&plain), "same fields, same order");
        assert_eq!(bounded["required"], plain["required"]);
        assert_eq!(bounded["properties"]["classification"], plain["properties"]["classification"]);
    }

    #[test]
    fn the_schema_bounds_the_confidence_and_keeps_its_other_constraints() {
        let schema = answer_schema("000-fundamentals/003-crons");
        assert_eq!(schema["properties"]["confidence"]["minimum"], json!(0));
        assert_eq!(schema["properties"]["confidence"]["maximum"], json!(1));
        assert_eq!(schema["properties"]["classification"]["enum"].as_array().unwrap().len(), 4);
        assert_eq!(schema["additionalProperties"], json!(false));
        assert_eq!(schema["required"].as_array().unwrap().len(), schema["properties"].as_object().unwrap().len());
    }

    #[test]
    fn an_unverifiable_snippet_is_rejected_but_salvageable() {
        let content =
            answer(&[("model_snippet", json!("ctx.db.insert(\"x\")")), ("classification", json!("KNOWN_GAP"))]);
        let rejection = validate(&content, "000-fundamentals/003-crons", EVIDENCE).unwrap_err();
        assert!(rejection.reason.contains("does not occur in the evidence"), "{}", rejection.reason);
        let kept = rejection.salvage.expect("only the snippet is wrong");
        assert_eq!(kept.classification, Classification::KnownGap);
        assert_eq!(kept.model_snippet, None);
        assert_eq!(kept.dropped, ["model_snippet: snippet not found in the evidence, dropped"]);
        // A confidence the grammar did not bound is dropped the same way; the label stays.
        let rejection =
            validate(&answer(&[("confidence", json!(11.5))]), "000-fundamentals/003-crons", EVIDENCE).unwrap_err();
        assert!(rejection.reason.contains("must be from 0 to 1"), "{}", rejection.reason);
        let kept = rejection.salvage.expect("only the confidence is wrong");
        assert_eq!((kept.classification, kept.confidence), (Classification::ModelFault, None));
        assert_eq!(kept.dropped, ["confidence: 11.5 is outside 0 to 1, dropped"]);
        // Other defects are not salvageable, whatever the snippets.
        for (field, value) in [("classification", json!("HARNESS_FAILURE")), ("reasoning", json!(""))] {
            let bad = answer(&[("model_snippet", json!("invented")), (field, value)]);
            assert_eq!(validate(&bad, "000-fundamentals/003-crons", EVIDENCE).unwrap_err().salvage, None, "{field}");
        }
        assert_eq!(validate("{not json", "000-fundamentals/003-crons", EVIDENCE).unwrap_err().salvage, None);
    }

    #[test]
    fn synthesis_bullets_naming_evals_outside_the_run_are_dropped_and_counted() {
        let known = ["000-fundamentals/003-crons", "002-queries/009-channel_summary"];
        let text = "- `000-fundamentals/003-crons` and 002-queries/009-channel_summary share a cause.\n\
                    - 000-fundamentals/007-invented fails the same way,\n  continued on a second line.\n\
                    - 005-imaginary/001-thing is harder.\n\
                    - Files such as convex/schema.ts differ; see 000-fundamentals/003-crons.\n";
        let (kept, dropped) = keep_known_evals(text, &known);
        assert_eq!(dropped, 2, "{kept}");
        assert!(kept.contains("share a cause") && kept.contains("convex/schema.ts differ"), "{kept}");
        assert!(!kept.contains("invented") && !kept.contains("continued") && !kept.contains("imaginary"), "{kept}");
        assert!(kept.ends_with("_2 bullets were dropped: they named evals that are not in this run._"), "{kept}");
        let clean = "- 002-queries/009-channel_summary stands alone.";
        assert_eq!(keep_known_evals(clean, &known), (clean.to_owned(), 0));
    }
}
