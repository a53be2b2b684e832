//! The machine-readable block at the end of every report we write: one HTML comment,
//! `<!-- evaltriage:v1 {json} -->`, invisible when the markdown is rendered, carrying the run and
//! its verdicts so later runs read our own reports exactly.
//!
//! The JSON is one line and never contains `<`, `>` or `&` (they are written as `\u003c`,
//! `\u003e`, `\u0026`), so no text in a verdict can end the comment early; nor raw C1 controls or
//! bidi overrides, and it passes through the redaction layer. The wire structs are
//! private: domain types do not derive serde.

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use evaltriage_core::{
    Classification, EvalId, EvalPath, InfraCause, StepName, TokenUsage, Verdict, VerdictOrigin, VerdictStatus,
};
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::lines::lines;
use crate::llm_cost::LlmCost;
use crate::path_scheme::ReportScope;
use crate::read::human_verdict::{HumanVerdict, ReviewProblem};

/// The version this crate writes.
pub(crate) const VERSION: u32 = 1;
use crate::lines::BLOCK_MARKER as MARKER;

/// What the block carries.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct OwnBlock {
    pub run_id: String,
    pub model: String,
    pub provider: Option<String>,
    pub experiment: String,
    /// The analysis date.
    pub date: NaiveDate,
    /// When the run was created (its own time, which orders runs); `None` in blocks written
    /// before it was recorded, or when the source did not give it.
    pub ran_at: Option<DateTime<Utc>>,
    /// The part of the run the report covers; `None` for the whole run.
    pub scope: Option<ReportScope>,
    pub passed: u32,
    pub total: u32,
    /// The evals that passed (in the report's scope), so a later reader tells an eval that
    /// passed from one the run never had; `None` in blocks written before it was recorded.
    pub passed_evals: Option<Vec<String>>,
    /// Each verdict with whether the report called it a repeat.
    pub verdicts: Vec<(Verdict, bool)>,
    /// Reviewers' verdicts, by eval path (`reports review`).
    pub humans: BTreeMap<String, HumanVerdict>,
    /// Each failure's signature key (`evaltriage_core::FailureSignature::key`), by eval path:
    /// how a later run finds a verdict it may reuse. Absent in blocks written before.
    pub signatures: BTreeMap<String, String>,
    /// What the analysis's LLM tokens cost at the config's price; `None` when no LLM classified,
    /// and in blocks written before it was recorded.
    pub llm_cost: Option<LlmCost>,
}

#[derive(Serialize, Deserialize)]
struct WireBlock {
    run_id: String,
    #[serde(default)]
    model: String,
    #[serde(default)]
    provider: Option<String>,
    #[serde(default)]
    experiment: String,
    date: String,
    /// The run's creation time, RFC 3339 in UTC; absent in blocks written before it was recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    ran_at: Option<String>,
    /// Absent in full reports (and in blocks written before scoped reports existed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    scope: Option<WireScope>,
    passed: u32,
    total: u32,
    /// Absent in blocks written before it was recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    passed_evals: Option<Vec<String>>,
    #[serde(default)]
    verdicts: Vec<WireVerdict>,
    /// Absent when no LLM classified, and in blocks written before it was recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    llm_cost: Option<WireCost>,
}

/// What the LLM tokens cost: `usd` is absent when the config had no price for the model.
#[derive(Serialize, Deserialize)]
struct WireCost {
    model: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    usd: Option<f64>,
    #[serde(default)]
    batch: bool,
}

#[derive(Serialize, Deserialize)]
struct WireScope {
    category: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    eval: Option<String>,
}

#[derive(Serialize, Deserialize)]
struct WireVerdict {
    eval_id: String,
    eval_path: String,
    #[serde(default)]
    failed_step: Option<String>,
    status: String,
    #[serde(default)]
    classification: Option<String>,
    #[serde(default)]
    error: String,
    #[serde(default)]
    reasoning: String,
    #[serde(default)]
    model_snippet: Option<String>,
    #[serde(default)]
    expected_snippet: Option<String>,
    #[serde(default)]
    confidence: Option<f32>,
    #[serde(default)]
    retry_count: u32,
    origin: WireOrigin,
    #[serde(default)]
    tokens: WireTokens,
    #[serde(default)]
    repeat: bool,
    /// Evidence that could not be fetched; absent when none was missing (older blocks).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    missing_evidence: Vec<String>,
    /// A reviewer's verdict (`reports review`); absent until someone reviews it (older blocks).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    human: Option<WireHuman>,
    /// The failure's signature key; absent in older blocks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    signature: Option<String>,
}

#[derive(Serialize, Deserialize)]
struct WireHuman {
    label: String,
    #[serde(default)]
    note: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    by: Option<String>,
    date: String,
}

impl WireHuman {
    fn of(h: &HumanVerdict) -> Self {
        Self {
            label: h.label.as_str().to_owned(),
            note: h.note.clone(),
            by: h.by.clone(),
            date: h.date.format("%Y-%m-%d").to_string(),
        }
    }

    fn read(self) -> Option<HumanVerdict> {
        Some(HumanVerdict {
            label: self.label.parse().ok()?,
            note: self.note,
            by: self.by,
            date: NaiveDate::parse_from_str(&self.date, "%Y-%m-%d").ok()?,
        })
    }
}

#[derive(Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum WireOrigin {
    Llm {
        model: String,
    },
    Rules,
    Infrastructure {
        cause: String,
    },
    Cache {
        model: String,
    },
    Reused {
        run_id: String,
        date: String,
        #[serde(default)]
        report: String,
        #[serde(default)]
        human: bool,
    },
}

#[derive(Serialize, Deserialize, Default)]
struct WireTokens {
    prompt: u64,
    completion: u64,
}

/// Renders the block as one line (without a trailing newline).
pub(crate) fn encode(block: &OwnBlock) -> String {
    let wire = WireBlock {
        run_id: block.run_id.clone(),
        model: block.model.clone(),
        provider: block.provider.clone(),
        experiment: block.experiment.clone(),
        date: block.date.format("%Y-%m-%d").to_string(),
        ran_at: block.ran_at.map(|t| t.to_rfc3339_opts(SecondsFormat::Millis, true)),
        scope: block.scope.as_ref().map(|s| WireScope { category: s.category.clone(), eval: s.eval.clone() }),
        passed: block.passed,
        total: block.total,
        passed_evals: block.passed_evals.clone(),
        verdicts: block
            .verdicts
            .iter()
            .map(|(v, repeat)| {
                let mut w = to_wire(v, *repeat);
                w.human = block.humans.get(v.eval_path.as_str()).map(WireHuman::of);
                w.signature = block.signatures.get(v.eval_path.as_str()).cloned();
                w
            })
            .collect(),
        llm_cost: block.llm_cost.as_ref().map(|c| WireCost {
            model: c.model.clone(),
            usd: c.usd.filter(|usd| usd.is_finite()),
            batch: c.batch,
        }),
    };
    // Serialising plain structs of strings and numbers cannot fail.
    let json = serde_json::to_string(&wire).unwrap_or_else(|_| "{}".to_owned());
    line_of(&json)
}

/// The block line for a JSON text, redacted: `<`, `>` and `&` only ever occur inside JSON
/// strings, where a `\u` escape means the same; so do the characters a reader cannot see (C1
/// controls, bidi overrides), escaped the same way.
fn line_of(json: &str) -> String {
    let json = evaltriage_core::redact::redact(json);
    let json = json.replace('<', "\\u003c").replace('>', "\\u003e").replace('&', "\\u0026");
    let json = evaltriage_core::text::escape_invisible_in_json(json);
    format!("{MARKER}{VERSION} {json} -->")
}

/// The block line with `human` set on the verdict for `eval_path`, every other byte of the JSON as
/// it was (edited as a JSON value, whose objects keep their key order).
pub(crate) fn set_human(line: &str, eval_path: &str, human: &HumanVerdict) -> Result<String, ReviewProblem> {
    decode_line(line).map_err(|p| match p {
        BlockProblem::UnknownVersion(v) => ReviewProblem::Block(format!("version {v}")),
        BlockProblem::Invalid(why) => ReviewProblem::Block(why),
    })?;
    let json = json_part(line).ok_or_else(|| ReviewProblem::Block("no JSON".to_owned()))?;
    let mut value: serde_json::Value =
        serde_json::from_str(json).map_err(|e| ReviewProblem::Block(format!("invalid JSON: {e}")))?;
    let verdict = value
        .get_mut("verdicts")
        .and_then(serde_json::Value::as_array_mut)
        .and_then(|vs| {
            vs.iter_mut().find(|v| v.get("eval_path").and_then(serde_json::Value::as_str) == Some(eval_path))
        })
        .and_then(serde_json::Value::as_object_mut)
        .ok_or(ReviewProblem::NotInBlock)?;
    let human = serde_json::to_value(WireHuman::of(human)).map_err(|e| ReviewProblem::Block(e.to_string()))?;
    verdict.insert("human".to_owned(), human);
    let json = serde_json::to_string(&value).map_err(|e| ReviewProblem::Block(e.to_string()))?;
    Ok(line_of(&json))
}

/// The JSON text of a block line of this version.
fn json_part(line: &str) -> Option<&str> {
    let rest = line.strip_prefix(MARKER)?;
    let rest = rest.strip_prefix(&VERSION.to_string())?;
    Some(rest.trim().strip_suffix("-->")?.trim())
}

/// Why a block could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum BlockProblem {
    /// Written by a newer evaltriage.
    UnknownVersion(u32),
    /// Present but not valid.
    Invalid(String),
}

/// Finds and decodes the block, if the text has one (outside code fences). `None` when there is
/// no block at all.
pub(crate) fn decode(text: &str) -> Option<Result<OwnBlock, BlockProblem>> {
    let line =
        lines(text).filter(|l| l.outside_fence).map(|l| l.text.trim_end()).filter(|l| l.starts_with(MARKER)).last()?;
    Some(decode_line(line))
}

fn decode_line(line: &str) -> Result<OwnBlock, BlockProblem> {
    let rest = &line[MARKER.len()..];
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    let version: u32 =
        rest[..digits].parse().map_err(|_| BlockProblem::Invalid("the block has no version number".to_owned()))?;
    if version != VERSION {
        return Err(BlockProblem::UnknownVersion(version));
    }
    let json = rest[digits..]
        .trim()
        .strip_suffix("-->")
        .ok_or_else(|| BlockProblem::Invalid("the block does not end with `-->` on the same line".to_owned()))?;
    let wire: WireBlock =
        serde_json::from_str(json.trim()).map_err(|e| BlockProblem::Invalid(format!("invalid JSON: {e}")))?;
    let date = NaiveDate::parse_from_str(&wire.date, "%Y-%m-%d")
        .map_err(|_| BlockProblem::Invalid(format!("invalid date {:?}", wire.date)))?;
    let ran_at = match &wire.ran_at {
        Some(t) => Some(
            DateTime::parse_from_rfc3339(t)
                .map_err(|_| BlockProblem::Invalid(format!("invalid run time {t:?}")))?
                .with_timezone(&Utc),
        ),
        None => None,
    };
    let mut humans = BTreeMap::new();
    let mut signatures = BTreeMap::new();
    let mut verdicts = Vec::with_capacity(wire.verdicts.len());
    for mut w in wire.verdicts {
        if let Some(sig) = w.signature.take() {
            signatures.insert(w.eval_path.clone(), sig);
        }
        if let Some(h) = w.human.take().and_then(WireHuman::read) {
            humans.insert(w.eval_path.clone(), h);
        }
        verdicts.push(from_wire(w)?);
    }
    Ok(OwnBlock {
        run_id: wire.run_id,
        model: wire.model,
        provider: wire.provider,
        experiment: wire.experiment,
        date,
        ran_at,
        scope: wire.scope.map(|s| ReportScope { category: s.category, eval: s.eval }),
        passed: wire.passed,
        total: wire.total,
        passed_evals: wire.passed_evals,
        verdicts,
        humans,
        signatures,
        llm_cost: wire.llm_cost.map(|c| LlmCost { model: c.model, usd: c.usd, batch: c.batch }),
    })
}

fn to_wire(v: &Verdict, repeat: bool) -> WireVerdict {
    WireVerdict {
        eval_id: v.eval_id.as_str().to_owned(),
        eval_path: v.eval_path.as_str().to_owned(),
        failed_step: v.failed_step.as_ref().map(|s| s.as_str().to_owned()),
        status: v.status.as_str().to_owned(),
        classification: v.classification.map(|c| c.as_str().to_owned()),
        error: v.error.clone(),
        reasoning: v.reasoning.clone(),
        model_snippet: v.model_snippet.clone(),
        expected_snippet: v.expected_snippet.clone(),
        confidence: v.confidence.filter(|c| c.is_finite()),
        retry_count: v.retry_count,
        origin: match &v.origin {
            VerdictOrigin::Llm { model } => WireOrigin::Llm { model: model.clone() },
            VerdictOrigin::Rules => WireOrigin::Rules,
            VerdictOrigin::Infrastructure(cause) => WireOrigin::Infrastructure { cause: cause.as_str().to_owned() },
            VerdictOrigin::Cache { model } => WireOrigin::Cache { model: model.clone() },
            VerdictOrigin::Reused(from) => WireOrigin::Reused {
                run_id: from.run_id.clone(),
                date: from.date.clone(),
                report: from.report.clone(),
                human: from.human,
            },
        },
        tokens: WireTokens { prompt: v.tokens.prompt, completion: v.tokens.completion },
        repeat,
        missing_evidence: v.missing_evidence.clone(),
        human: None,
        signature: None,
    }
}

fn from_wire(w: WireVerdict) -> Result<(Verdict, bool), BlockProblem> {
    let invalid = |what: String| BlockProblem::Invalid(format!("verdict for {:?}: {what}", w.eval_path));
    let eval_id = EvalId::new(&w.eval_id).map_err(|e| invalid(e.to_string()))?;
    let status = match w.status.as_str() {
        "done" => VerdictStatus::Done,
        "error" => VerdictStatus::Error,
        "skipped" => VerdictStatus::Skipped,
        other => return Err(invalid(format!("unknown status {other:?}"))),
    };
    let classification = match &w.classification {
        Some(label) => Some(label.parse::<Classification>().map_err(|e| invalid(e.to_string()))?),
        None => None,
    };
    let origin = match w.origin {
        WireOrigin::Llm { model } => VerdictOrigin::Llm { model },
        WireOrigin::Rules => VerdictOrigin::Rules,
        WireOrigin::Cache { model } => VerdictOrigin::Cache { model },
        WireOrigin::Reused { run_id, date, report, human } => {
            VerdictOrigin::Reused(Box::new(evaltriage_core::ReusedFrom { run_id, date, report, human }))
        }
        WireOrigin::Infrastructure { cause } => VerdictOrigin::Infrastructure(match cause.as_str() {
            "infrastructure" => InfraCause::Infrastructure,
            "rate_limit" => InfraCause::RateLimit,
            "generation" => InfraCause::Generation,
            "environment" => InfraCause::Environment,
            other => return Err(invalid(format!("unknown infrastructure cause {other:?}"))),
        }),
    };
    let verdict = Verdict {
        eval_id,
        eval_path: EvalPath::new(&w.eval_path),
        failed_step: w.failed_step.as_deref().map(StepName::parse),
        status,
        classification,
        error: w.error,
        reasoning: w.reasoning,
        model_snippet: w.model_snippet,
        expected_snippet: w.expected_snippet,
        confidence: w.confidence,
        retry_count: w.retry_count,
        origin,
        tokens: TokenUsage { prompt: w.tokens.prompt, completion: w.tokens.completion },
        missing_evidence: w.missing_evidence,
    };
    Ok((verdict, w.repeat))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block(error: &str) -> OwnBlock {
        OwnBlock {
            run_id: "jn72t14a0tmje3jrj9wwng78gh80mdfw".to_owned(),
            model: "anthropic/claude-opus-4.6".to_owned(),
            provider: Some("openrouter".to_owned()),
            experiment: "default".to_owned(),
            date: NaiveDate::from_ymd_opt(2026, 2, 6).unwrap(),
            ran_at: None,
            scope: None,
            passed: 1,
            total: 2,
            passed_evals: None,
            verdicts: vec![(
                Verdict {
                    eval_id: EvalId::new("e1").unwrap(),
                    eval_path: EvalPath::new("000-fundamentals/003-crons"),
                    failed_step: Some(StepName::Deploy),
                    status: VerdictStatus::Done,
                    classification: Some(Classification::ModelFault),
                    error: error.to_owned(),
                    reasoning: "r".to_owned(),
                    model_snippet: Some("a --> b".to_owned()),
                    expected_snippet: None,
                    confidence: Some(0.7),
                    retry_count: 2,
                    origin: VerdictOrigin::Llm { model: "gpt".to_owned() },
                    tokens: TokenUsage { prompt: 10, completion: 3 },
                    missing_evidence: vec!["eval source: HTTP 500 --> gone".to_owned()],
                },
                true,
            )],
            humans: BTreeMap::new(),
            signatures: BTreeMap::new(),
            llm_cost: None,
        }
    }

    #[test]
    fn the_llm_cost_round_trips_and_old_blocks_have_none() {
        let mut b = block("e");
        assert!(!encode(&b).contains("llm_cost"), "absent when no LLM was priced: {}", encode(&b));
        b.llm_cost = Some(LlmCost { model: "gpt-4.1-mini".to_owned(), usd: Some(0.0216), batch: false });
        let line = encode(&b);
        assert!(line.contains(r#""llm_cost":{"model":"gpt-4.1-mini","usd":0.0216,"batch":false}"#), "{line}");
        assert_eq!(decode(&line), Some(Ok(b.clone())));
        b.llm_cost = Some(LlmCost { model: "gpt-4.1-mini".to_owned(), usd: None, batch: true });
        assert_eq!(decode(&encode(&b)), Some(Ok(b)));
        let old = r#"<!-- evaltriage:v1 {"run_id":"jn72t14a","date":"2026-02-06","passed":1,"total":2} -->"#;
        assert_eq!(decode(old).unwrap().unwrap().llm_cost, None);
    }

    #[test]
    fn signatures_and_reused_origins_round_trip_and_old_blocks_have_none() {
        let mut b = block("e");
        assert!(!encode(&b).contains("signature"), "no signature field when none is known");
        b.signatures.insert("000-fundamentals/003-crons".to_owned(), "0123abcd".to_owned());
        b.verdicts[0].0.origin = VerdictOrigin::Reused(Box::new(evaltriage_core::ReusedFrom {
            run_id: "jn72t14a0tmje3jrj9wwng78gh80mdfw".to_owned(),
            date: "2026-02-05".to_owned(),
            report: "jn72t14a_2026-02-05.md".to_owned(),
            human: true,
        }));
        assert_eq!(decode(&encode(&b)), Some(Ok(b)));
    }

    #[test]
    fn the_block_never_ends_early_and_round_trips() {
        let b = block("x --> y <!-- z --!> &amp;\n`");
        let line = encode(&b);
        assert!(line.starts_with("<!-- evaltriage:v1 {"));
        assert!(line.ends_with(" -->"));
        let inner = &line["<!--".len()..line.len() - "-->".len()];
        assert!(!inner.contains('>') && !inner.contains('<') && !inner.contains('\n'), "{line}");
        let text = format!("# t\n\n```\n<!-- evaltriage:v1 {{}} -->\n```\n\n{line}\n");
        assert_eq!(decode(&text), Some(Ok(b)));
    }

    #[test]
    fn invisible_characters_are_escaped_and_round_trip() {
        let b = block("a\u{85}b\u{9b}c\u{80}\u{202e}d\u{2066}e\u{200f}\u{61c}\u{2028}");
        let line = encode(&b);
        assert!(line.is_ascii(), "{line:?}");
        assert!(line.contains("a\\u0085b\\u009bc\\u0080\\u202ed\\u2066e\\u200f\\u061c\\u2028"), "{line}");
        assert_eq!(decode(&line), Some(Ok(b)));
    }

    #[test]
    fn the_scope_round_trips_and_old_blocks_have_none() {
        let mut b = block("e");
        let full = encode(&b);
        assert!(!full.contains("scope"), "a full report's block is unchanged: {full}");
        b.scope = Some(ReportScope { category: "000-fundamentals".to_owned(), eval: Some("003-crons".to_owned()) });
        assert_eq!(decode(&encode(&b)), Some(Ok(b.clone())));
        b.scope = Some(ReportScope { category: "000-fundamentals".to_owned(), eval: None });
        assert_eq!(decode(&encode(&b)), Some(Ok(b)));
        let old = r#"<!-- evaltriage:v1 {"run_id":"jn72t14a","date":"2026-02-06","passed":1,"total":2} -->"#;
        assert_eq!(decode(old).unwrap().unwrap().scope, None);
    }

    #[test]
    fn the_run_time_and_passed_evals_round_trip_and_old_blocks_have_none() {
        let mut b = block("e");
        assert!(!encode(&b).contains("ran_at"), "absent until known: {}", encode(&b));
        b.ran_at = DateTime::from_timestamp_millis(1_770_400_000_123);
        b.passed_evals = Some(vec!["000-fundamentals/000-empty".to_owned()]);
        let line = encode(&b);
        assert!(line.contains(r#""ran_at":"2026-02-06T17:46:40.123Z""#), "{line}");
        assert_eq!(decode(&line), Some(Ok(b)));
        let old = r#"<!-- evaltriage:v1 {"run_id":"jn72t14a","date":"2026-02-06","passed":1,"total":2} -->"#;
        let old = decode(old).unwrap().unwrap();
        assert_eq!((old.ran_at, old.passed_evals), (None, None));
        let bad =
            r#"<!-- evaltriage:v1 {"run_id":"jn72t14a","date":"2026-02-06","ran_at":"soon","passed":1,"total":2} -->"#;
        assert!(matches!(decode(bad), Some(Err(BlockProblem::Invalid(_)))));
    }

    #[test]
    fn a_human_verdict_round_trips_and_setting_one_changes_only_that_entry() {
        let b = block("e");
        let line = encode(&b);
        assert!(!line.contains("human"), "no human field until a review: {line}");
        let h = HumanVerdict {
            label: Classification::KnownGap,
            note: "<b>documented</b> & known".to_owned(),
            by: Some("alice".to_owned()),
            date: NaiveDate::from_ymd_opt(2026, 11, 30).unwrap(),
        };
        let edited = set_human(&line, "000-fundamentals/003-crons", &h).unwrap();
        let decoded = decode(&edited).unwrap().unwrap();
        assert_eq!(decoded.humans.get("000-fundamentals/003-crons"), Some(&h));
        assert_eq!(decoded.verdicts, b.verdicts);
        let mut with = b.clone();
        with.humans.insert("000-fundamentals/003-crons".to_owned(), h.clone());
        assert_eq!(encode(&with), edited, "the edit is what encode writes");
        assert!(!edited[4..edited.len() - 3].contains(['<', '>']), "{edited}");
        assert_eq!(set_human(&line, "x/y", &h), Err(ReviewProblem::NotInBlock));
    }

    #[test]
    fn problems_are_reported_not_panicked() {
        assert_eq!(decode("no block"), None);
        assert_eq!(decode("<!-- evaltriage:v9 {} -->"), Some(Err(BlockProblem::UnknownVersion(9))));
        assert!(matches!(decode("<!-- evaltriage:v1 {nope -->"), Some(Err(BlockProblem::Invalid(_)))));
        assert!(matches!(decode("<!-- evaltriage:v -->"), Some(Err(BlockProblem::Invalid(_)))));
    }
}
