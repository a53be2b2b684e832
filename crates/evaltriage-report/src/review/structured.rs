//! One report as structured data (`reports show --json`): its metadata, one record per verdict
//! (every field of our own block; what a hand-written report's text gives) and the reviewers'
//! verdicts — so a client reads the report without parsing its markdown.

use chrono::SecondsFormat;
use evaltriage_core::VerdictOrigin;
use serde_json::{Value, json};

use crate::read::catalog::CatalogReport;
use crate::read::human_verdict::HumanVerdict;

fn human_json(eval: &str, h: &HumanVerdict) -> Value {
    json!({
        "eval": eval,
        "label": h.label.as_str(),
        "note": h.note,
        "by": h.by,
        "date": h.date.format("%Y-%m-%d").to_string(),
    })
}

/// The report as JSON: `metadata`, `verdicts` (in the report's order) and `human_reviews`.
pub fn report_json(r: &CatalogReport) -> Value {
    let p = &r.report;
    let verdicts: Vec<Value> = p
        .entries
        .iter()
        .map(|e| {
            let mut v = json!({
                "eval": e.eval,
                "label": e.label,
                "qualifier": e.qualifier,
                "repeat": e.repeat,
                "failed_step": e.failed_step,
                "human": e.human.as_ref().map(|h| human_json(&e.eval, h)),
            });
            if let (Some(verdict), Some(obj)) =
                (p.verdicts.iter().find(|v| v.eval_path.as_str() == e.eval), v.as_object_mut())
            {
                let classifier = match &verdict.origin {
                    VerdictOrigin::Llm { model } => format!("llm:{model}"),
                    VerdictOrigin::Cache { model } => format!("llm:{model} (cached)"),
                    VerdictOrigin::Rules => "rules".to_owned(),
                    VerdictOrigin::Infrastructure(cause) => format!("infrastructure:{}", cause.as_str()),
                    VerdictOrigin::Reused(from) => format!("reused:{}", from.run_id),
                };
                for (key, value) in [
                    ("status", json!(verdict.status.as_str())),
                    ("classification", json!(verdict.classification.map(|c| c.as_str()))),
                    ("confidence", json!(verdict.confidence.and_then(|c| c.to_string().parse::<f64>().ok()))),
                    ("classifier", json!(classifier)),
                    ("error", json!(verdict.error)),
                    ("reasoning", json!(verdict.reasoning)),
                    ("model_snippet", json!(verdict.model_snippet)),
                    ("expected_snippet", json!(verdict.expected_snippet)),
                    ("missing_evidence", json!(verdict.missing_evidence)),
                ] {
                    obj.insert(key.to_owned(), value);
                }
            }
            v
        })
        .collect();
    let human_reviews: Vec<Value> =
        p.entries.iter().filter_map(|e| e.human.as_ref().map(|h| human_json(&e.eval, h))).collect();
    json!({
        "metadata": {
            "run_id": p.run_id,
            "run_id_prefix": p.run_id_prefix,
            "model": r.model,
            "experiment": p.experiment,
            "scope": p.scope.as_ref().map(crate::ReportScope::describe),
            "analysed_on": p.date.format("%Y-%m-%d").to_string(),
            "ran_at": p.ran_at.map(|t| t.to_rfc3339_opts(SecondsFormat::Millis, true)),
            "run_date": p.run_date().format("%Y-%m-%d").to_string(),
            "passed": p.pass_rate.map(|(passed, _)| passed),
            "total": p.pass_rate.map(|(_, total)| total),
            "ours": p.ours,
            "report": r.relative,
        },
        "verdicts": verdicts,
        "human_reviews": human_reviews,
        "actions_taken": p.actions_taken.iter().map(|a| json!({ "text": a.text, "eval": a.eval })).collect::<Vec<_>>(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hand_written_report_gives_its_metadata_verdicts_and_reviews() {
        let md = "# Run\n\n- **Model**: p/m\n- **Pass rate**: 3/5\n\n### 1) 000-fundamentals/003-crons — MODEL_FAULT\n\n\
                  - **Failed step**: tsc\n- **Human verdict**: KNOWN_GAP — documented (by ana, 2026-02-03)\n";
        let path = std::path::Path::new("p/m/jn7aaaaa_2026-02-01.md");
        let report = crate::parse_report(md, Some(path)).unwrap();
        let json =
            report_json(&CatalogReport { report, model: "p/m".into(), relative: "p/m/jn7aaaaa_2026-02-01.md".into() });
        assert_eq!(json["metadata"]["run_id_prefix"], "jn7aaaaa");
        assert_eq!(json["metadata"]["passed"], 3);
        assert_eq!(json["metadata"]["run_date"], "2026-02-01");
        assert_eq!(json["verdicts"][0]["eval"], "000-fundamentals/003-crons");
        assert_eq!(json["verdicts"][0]["label"], "MODEL_FAULT");
        assert_eq!(json["verdicts"][0]["failed_step"], "tsc");
        assert_eq!(json["human_reviews"][0]["label"], "KNOWN_GAP", "{json}");
        assert_eq!(json["human_reviews"][0]["by"], "ana");
    }
}
