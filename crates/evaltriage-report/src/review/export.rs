//! One record per verdict across reports (`reports export`, `reports agreement`): run, model,
//! experiment, date, eval, step, label, confidence, classifier, repeat, the reviewer's verdict and
//! the reasoning; filters; JSON and CSV. Our reports give every field from their block;
//! hand-written ones give what their text says (the step when it names one; no confidence or
//! reasoning). The date is the day the run ran.

use chrono::NaiveDate;
use evaltriage_core::{VerdictOrigin, VerdictStatus};
use serde_json::{Value, json};

use crate::read::catalog::CatalogReport;
use crate::read::find::normalise;

/// One verdict of one report.
#[derive(Debug, Clone, PartialEq)]
pub struct ExportRecord {
    /// The full run id when the report gives it, else its prefix.
    pub run: String,
    pub model: String,
    pub experiment: Option<String>,
    /// The day the run ran (see [`crate::PriorReport::run_time`]).
    pub date: NaiveDate,
    pub eval: String,
    /// The failed step (`none` when the eval failed before any step); `None` when the report does
    /// not say (a hand-written report without a step column or line).
    pub step: Option<String>,
    /// The tool's (or the report author's) label, with its qualifier: `MODEL_FAULT`,
    /// `INFRASTRUCTURE (rate_limit)`, `UNCLASSIFIED (analysis error)`.
    pub label: String,
    /// `done`, `error` or `skipped` (a hand-written report's verdicts count as done).
    pub status: &'static str,
    pub confidence: Option<f32>,
    /// `llm:<model>`, `rules`, `infrastructure`, or `hand-written`.
    pub classifier: String,
    pub repeat: bool,
    pub human_label: Option<String>,
    pub human_note: Option<String>,
    pub human_by: Option<String>,
    pub reasoning: String,
    /// The report, below the reports folder.
    pub report: String,
}

/// What `reports export` keeps; `None` keeps everything.
#[derive(Debug, Clone, Default)]
pub struct ExportFilter<'a> {
    /// A glob (`*`, `?`) on the model name, matched case-insensitively, dots as dashes.
    pub model: Option<&'a str>,
    pub status: Option<&'a str>,
    /// A label (`KNOWN_GAP`): matched against the tool's label and the reviewer's.
    pub classification: Option<&'a str>,
    pub step: Option<&'a str>,
    pub since: Option<NaiveDate>,
    pub until: Option<NaiveDate>,
}

impl ExportFilter<'_> {
    fn keeps(&self, r: &ExportRecord) -> bool {
        self.model.is_none_or(|g| model_matches(g, &r.model))
            && self.status.is_none_or(|s| s.eq_ignore_ascii_case(r.status))
            && self.classification.is_none_or(|c| {
                let c = c.trim();
                base_label(&r.label).eq_ignore_ascii_case(c)
                    || r.human_label.as_deref().is_some_and(|h| h.eq_ignore_ascii_case(c))
            })
            // A step the report does not give matches no step, `none` included.
            && self.step.is_none_or(|s| r.step.as_deref().is_some_and(|step| step.eq_ignore_ascii_case(s.trim())))
            && self.since.is_none_or(|d| r.date >= d)
            && self.until.is_none_or(|d| r.date <= d)
    }
}

/// `LABEL (qualifier)` -> `LABEL`.
pub(crate) fn base_label(label: &str) -> &str {
    label.split(" (").next().unwrap_or(label).trim()
}

/// Whether a model name matches a glob (`*` any run of characters, `?` one), both compared in the
/// normalised form (lower case, dots as dashes), so `anthropic/claude-*-4.6` finds
/// `anthropic/claude-sonnet-4-6`.
pub fn model_matches(glob: &str, model: &str) -> bool {
    let pattern: Vec<char> = normalise(glob).chars().collect();
    let text: Vec<char> = normalise(model).chars().collect();
    // Iterative wildcard match with one backtrack point.
    let (mut p, mut t, mut star, mut mark) = (0, 0, None, 0);
    while t < text.len() {
        if p < pattern.len() && (pattern[p] == '?' || pattern[p] == text[t]) {
            p += 1;
            t += 1;
        } else if p < pattern.len() && pattern[p] == '*' {
            star = Some(p);
            mark = t;
            p += 1;
        } else if let Some(s) = star {
            p = s + 1;
            mark += 1;
            t = mark;
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|c| *c == '*')
}

/// The records of the reports given, in their order, those the filter keeps.
pub fn export_records(reports: &[CatalogReport], filter: &ExportFilter<'_>) -> Vec<ExportRecord> {
    let mut out = Vec::new();
    for r in reports {
        let run = r.report.run_id.clone().unwrap_or_else(|| r.report.run_id_prefix.clone());
        let base = |eval: &str, label: String| ExportRecord {
            run: run.clone(),
            model: r.model.clone(),
            experiment: r.report.experiment.clone(),
            date: r.report.run_date(),
            eval: eval.to_owned(),
            step: None,
            label,
            status: "done",
            confidence: None,
            classifier: "hand-written".to_owned(),
            repeat: false,
            human_label: None,
            human_note: None,
            human_by: None,
            reasoning: String::new(),
            report: r.relative.clone(),
        };
        for e in &r.report.entries {
            let mut rec = base(&e.eval, e.label_text());
            rec.repeat = e.repeat;
            rec.step.clone_from(&e.failed_step);
            if let Some(h) = &e.human {
                rec.human_label = Some(h.label.as_str().to_owned());
                rec.human_note = Some(h.note.clone()).filter(|n| !n.is_empty());
                rec.human_by.clone_from(&h.by);
            }
            if let Some(v) = r.report.verdicts.iter().find(|v| v.eval_path.as_str() == e.eval) {
                rec.step = Some(v.failed_step.as_ref().map_or("none", |s| s.as_str()).to_owned());
                rec.status = match v.status {
                    VerdictStatus::Done => "done",
                    VerdictStatus::Error => "error",
                    VerdictStatus::Skipped => "skipped",
                };
                rec.confidence = v.confidence;
                rec.classifier = match &v.origin {
                    VerdictOrigin::Llm { model } | VerdictOrigin::Cache { model } => format!("llm:{model}"),
                    VerdictOrigin::Rules => "rules".to_owned(),
                    VerdictOrigin::Infrastructure(_) => "infrastructure".to_owned(),
                    VerdictOrigin::Reused(from) => format!("reused:{}", from.run_id),
                };
                rec.reasoning.clone_from(&v.reasoning);
            }
            if filter.keeps(&rec) {
                out.push(rec);
            }
        }
    }
    out
}

impl ExportRecord {
    /// The CSV (and JSON) columns, in order.
    pub const COLUMNS: [&'static str; 17] = [
        "run",
        "model",
        "experiment",
        "date",
        "eval",
        "step",
        "label",
        "status",
        "confidence",
        "classifier",
        "repeat",
        "human_label",
        "human_note",
        "human_by",
        "reasoning",
        "report",
        "human_agrees",
    ];

    /// Whether the reviewer agreed with the label (`None`: not reviewed).
    pub fn human_agrees(&self) -> Option<bool> {
        self.human_label.as_deref().map(|h| h == base_label(&self.label))
    }

    /// The record as JSON, every string redacted.
    pub fn to_json(&self) -> Value {
        redact_strings(json!({
            "run": self.run,
            "model": self.model,
            "experiment": self.experiment,
            "date": self.date.format("%Y-%m-%d").to_string(),
            "eval": self.eval,
            "step": self.step,
            "label": self.label,
            "status": self.status,
            // f32 -> f64 through its shortest decimal form, so 0.7 stays 0.7.
            "confidence": self.confidence.and_then(|c| c.to_string().parse::<f64>().ok()),
            "classifier": self.classifier,
            "repeat": self.repeat,
            "human_label": self.human_label,
            "human_note": self.human_note,
            "human_by": self.human_by,
            "reasoning": self.reasoning,
            "report": self.report,
            "human_agrees": self.human_agrees(),
        }))
    }

    fn cells(&self) -> [String; 17] {
        let opt = |o: &Option<String>| o.clone().unwrap_or_default();
        [
            self.run.clone(),
            self.model.clone(),
            opt(&self.experiment),
            self.date.format("%Y-%m-%d").to_string(),
            self.eval.clone(),
            opt(&self.step),
            self.label.clone(),
            self.status.to_owned(),
            self.confidence.map(|c| c.to_string()).unwrap_or_default(),
            self.classifier.clone(),
            self.repeat.to_string(),
            opt(&self.human_label),
            opt(&self.human_note),
            opt(&self.human_by),
            self.reasoning.clone(),
            self.report.clone(),
            self.human_agrees().map(|a| a.to_string()).unwrap_or_default(),
        ]
    }
}

fn redact_strings(value: Value) -> Value {
    match value {
        Value::String(s) => Value::String(evaltriage_core::redact::redact(&s).into_owned()),
        Value::Object(map) => Value::Object(map.into_iter().map(|(k, v)| (k, redact_strings(v))).collect()),
        Value::Array(items) => Value::Array(items.into_iter().map(redact_strings).collect()),
        other => other,
    }
}

/// The records as CSV with a header row, quoted where a field needs it (the `csv` crate); every
/// cell redacted and kept from being read as a formula ([`csv_cell`]).
pub fn to_csv(records: &[ExportRecord]) -> String {
    let mut w = csv::Writer::from_writer(Vec::new());
    // Writing to memory cannot fail.
    let _ = w.write_record(ExportRecord::COLUMNS);
    for r in records {
        let _ = w.write_record(r.cells().iter().map(|cell| csv_cell(cell)));
    }
    let bytes = w.into_inner().unwrap_or_default();
    String::from_utf8_lossy(&bytes).into_owned()
}

/// One CSV cell, redacted, with OWASP's rule against formula injection: a cell a spreadsheet
/// would read as a formula (starting with `=`, `+`, `-`, `@`, a tab or a carriage return — LLM
/// reasoning or a reviewer's note such as `=HYPERLINK(…)`) gets a leading `'`, which spreadsheets
/// show as text. CSV only: JSON and the reports keep the text as it is.
fn csv_cell(cell: &str) -> String {
    let cell = evaltriage_core::redact::redact(cell);
    if cell.starts_with(['=', '+', '-', '@', '\t', '\r']) { format!("'{cell}") } else { cell.into_owned() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_match_the_normalised_model() {
        for (g, m, want) in [
            ("anthropic/*", "anthropic/claude-sonnet-4.6", true),
            ("*sonnet-4.6", "anthropic/claude-sonnet-4-6", true),
            ("anthropic/claude-?pus-4-6", "anthropic/claude-opus-4.6", true),
            ("ANTHROPIC/*", "anthropic/x", true),
            ("google/*", "anthropic/x", false),
            ("*", "", true),
            ("a*b*c", "axxbyyc", true),
            ("a*b*c", "axxbyy", false),
        ] {
            assert_eq!(model_matches(g, m), want, "{g} {m}");
        }
    }

    #[test]
    fn a_hand_written_reports_step_is_exported_and_unknown_steps_match_no_step_filter() {
        let md = "# Run\n\n| Eval | Failed step | Classification | Reason |\n|---|---|---|---|\n\
                  | 000-fundamentals/003-crons | tsc | MODEL_FAULT | x |\n| 002-queries/001-x | none | MODEL_FAULT | y |\n\
                  | 003-mutations/002-y | ? | KNOWN_GAP | z |\n";
        let path = std::path::Path::new("p/m/jn7aaaaa_2026-02-01.md");
        let report = crate::parse_report(md, Some(path)).unwrap();
        let catalog = [CatalogReport { report, model: "p/m".into(), relative: "p/m/jn7aaaaa_2026-02-01.md".into() }];
        let steps = |step: Option<&str>| -> Vec<(String, Option<String>)> {
            export_records(&catalog, &ExportFilter { step, ..ExportFilter::default() })
                .into_iter()
                .map(|r| (r.eval, r.step))
                .collect()
        };
        assert_eq!(
            steps(None),
            [
                ("000-fundamentals/003-crons".to_owned(), Some("tsc".to_owned())),
                ("002-queries/001-x".to_owned(), Some("none".to_owned())),
                ("003-mutations/002-y".to_owned(), None)
            ]
        );
        assert_eq!(steps(Some("none")), [("002-queries/001-x".to_owned(), Some("none".to_owned()))]);
        assert_eq!(steps(Some("tsc")).len(), 1);
    }

    #[test]
    fn csv_quotes_what_needs_quoting() {
        let rec = ExportRecord {
            run: "r".into(),
            model: "m".into(),
            experiment: None,
            date: NaiveDate::from_ymd_opt(2026, 1, 2).unwrap(),
            eval: "c/e".into(),
            step: Some("tsc".into()),
            label: "MODEL_FAULT".into(),
            status: "done",
            confidence: Some(0.7),
            classifier: "rules".into(),
            repeat: true,
            human_label: Some("KNOWN_GAP".into()),
            human_note: Some("says \"gap\", twice\nreally".into()),
            human_by: None,
            reasoning: "a, b".into(),
            report: "p/m/r_2026-01-02.md".into(),
        };
        let text = to_csv(std::slice::from_ref(&rec));
        let mut reader = csv::Reader::from_reader(text.as_bytes());
        let row = reader.records().next().unwrap().unwrap();
        assert_eq!(&row[12], "says \"gap\", twice\nreally");
        assert_eq!(&row[14], "a, b");
        assert_eq!(&row[8], "0.7");
        assert_eq!(&row[16], "false");
        assert_eq!(rec.to_json()["confidence"], 0.7);
    }

    #[test]
    fn csv_cells_cannot_start_a_formula() {
        let hostile = ["=cmd|' /C calc'!A0", "=HYPERLINK(\"http://x\")", "+SUM(1,1)", "-2+3", "@SUM(1)", "\tx", "\rx"];
        let records: Vec<ExportRecord> = hostile
            .iter()
            .map(|text| ExportRecord {
                run: "r".into(),
                model: (*text).into(),
                experiment: None,
                date: NaiveDate::from_ymd_opt(2026, 1, 2).unwrap(),
                eval: "c/e".into(),
                step: None,
                label: "MODEL_FAULT".into(),
                status: "done",
                confidence: None,
                classifier: "rules".into(),
                repeat: false,
                human_label: None,
                human_note: Some((*text).into()),
                human_by: Some((*text).into()),
                reasoning: (*text).into(),
                report: "p/m/r_2026-01-02.md".into(),
            })
            .collect();
        let text = to_csv(&records);
        let mut reader = csv::Reader::from_reader(text.as_bytes());
        for (row, original) in reader.records().zip(hostile) {
            let row = row.unwrap();
            for column in [1, 12, 13, 14] {
                assert_eq!(&row[column], format!("'{original}"), "column {column}");
            }
            assert_eq!(&row[4], "c/e", "other cells are untouched");
        }
        // JSON keeps the text as it is.
        assert_eq!(records[0].to_json()["reasoning"], hostile[0]);
    }

    #[test]
    fn exports_are_redacted() {
        evaltriage_core::redact::register_secret("sk-export-key|x");
        let text = "the key sk-export-key|x leaked";
        let rec = ExportRecord {
            run: "r".into(),
            model: "m".into(),
            experiment: None,
            date: NaiveDate::from_ymd_opt(2026, 1, 2).unwrap(),
            eval: "c/e".into(),
            step: None,
            label: "MODEL_FAULT".into(),
            status: "done",
            confidence: None,
            classifier: "rules".into(),
            repeat: false,
            human_label: None,
            human_note: Some(text.into()),
            human_by: None,
            reasoning: text.into(),
            report: "p/m/r_2026-01-02.md".into(),
        };
        let csv = to_csv(std::slice::from_ref(&rec));
        let json = rec.to_json().to_string();
        for out in [csv, json] {
            assert!(!out.contains("sk-export-key") && out.contains("the key *** leaked"), "{out}");
        }
    }
}
