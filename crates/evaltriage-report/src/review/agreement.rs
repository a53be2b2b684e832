//! How often the tool's labels matched reviewers' (`reports agreement`): over every reviewed
//! verdict, overall, per label the tool gave, and per classifier, with a confusion matrix (the
//! tool's label × the reviewer's), so the tool's accuracy is measured in use.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::review::export::{ExportRecord, base_label};

/// Counts of reviewed verdicts: tool label -> reviewer label -> count.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Confusion {
    pub cells: BTreeMap<String, BTreeMap<String, usize>>,
}

impl Confusion {
    fn add(&mut self, tool: &str, human: &str) {
        *self.cells.entry(tool.to_owned()).or_default().entry(human.to_owned()).or_insert(0) += 1;
    }

    pub fn total(&self) -> usize {
        self.cells.values().flat_map(BTreeMap::values).sum()
    }

    pub fn agreed(&self) -> usize {
        self.cells.iter().map(|(tool, row)| row.get(tool).copied().unwrap_or(0)).sum()
    }

    /// Every label on either side, sorted.
    pub fn labels(&self) -> Vec<String> {
        let mut all: Vec<String> =
            self.cells.keys().chain(self.cells.values().flat_map(BTreeMap::keys)).cloned().collect();
        all.sort();
        all.dedup();
        all
    }

    fn to_json(&self) -> Value {
        json!({ "reviewed": self.total(), "agreed": self.agreed(), "matrix": self.cells })
    }
}

/// The agreement between the tool and its reviewers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Agreement {
    /// Every reviewed verdict.
    pub overall: Confusion,
    /// Per classifier (`llm:<model>`, `rules`, `hand-written`).
    pub by_classifier: BTreeMap<String, Confusion>,
}

/// The agreement over the records that have a reviewer's label.
pub fn agreement(records: &[ExportRecord]) -> Agreement {
    let mut out = Agreement::default();
    for r in records {
        let Some(human) = &r.human_label else { continue };
        let tool = base_label(&r.label);
        out.overall.add(tool, human);
        out.by_classifier.entry(r.classifier.clone()).or_default().add(tool, human);
    }
    out
}

impl Agreement {
    pub fn to_json(&self) -> Value {
        let per_label: BTreeMap<&String, Value> = self
            .overall
            .cells
            .iter()
            .map(|(tool, row)| {
                let n: usize = row.values().sum();
                let agreed = row.get(tool).copied().unwrap_or(0);
                (tool, json!({ "reviewed": n, "agreed": agreed }))
            })
            .collect();
        json!({
            "reviewed": self.overall.total(),
            "agreed": self.overall.agreed(),
            "rate": rate(self.overall.agreed(), self.overall.total()),
            "per_label": per_label,
            "matrix": self.overall.cells,
            "by_classifier": self.by_classifier.iter().map(|(k, c)| (k.clone(), c.to_json())).collect::<BTreeMap<_, _>>(),
        })
    }

    /// The text `reports agreement` prints: the rate, per label, the matrix, per classifier.
    pub fn to_text(&self) -> String {
        let total = self.overall.total();
        if total == 0 {
            return "No reviewed verdicts yet. Record one with `evaltriage reports review <report> <eval> --label LABEL --note TEXT`.\n".to_owned();
        }
        let mut out = format!(
            "Reviewed verdicts: {total}; the tool agreed on {} ({})\n\nPer label the tool gave:\n",
            self.overall.agreed(),
            percent(self.overall.agreed(), total)
        );
        for (tool, row) in &self.overall.cells {
            let n: usize = row.values().sum();
            let agreed = row.get(tool).copied().unwrap_or(0);
            out.push_str(&format!("  {tool:<16} {agreed}/{n} ({})\n", percent(agreed, n)));
        }
        out.push_str("\nConfusion matrix (rows: the tool's label, columns: the reviewer's):\n");
        out.push_str(&matrix_text(&self.overall));
        for (classifier, c) in &self.by_classifier {
            out.push_str(&format!(
                "\nClassifier {classifier}: {}/{} agreed ({})\n",
                c.agreed(),
                c.total(),
                percent(c.agreed(), c.total())
            ));
            out.push_str(&matrix_text(c));
        }
        out
    }
}

fn rate(n: usize, of: usize) -> Option<f64> {
    (of > 0).then(|| n as f64 / of as f64)
}

fn percent(n: usize, of: usize) -> String {
    rate(n, of).map_or_else(|| "—".to_owned(), |r| format!("{:.0}%", r * 100.0))
}

fn matrix_text(c: &Confusion) -> String {
    let labels = c.labels();
    let width = labels.iter().map(String::len).max().unwrap_or(5).max(5);
    let mut out = format!("  {:<width$}", "");
    for l in &labels {
        out.push_str(&format!(" {l:>width$}"));
    }
    out.push('\n');
    for tool in &labels {
        out.push_str(&format!("  {tool:<width$}"));
        for human in &labels {
            let n = c.cells.get(tool).and_then(|r| r.get(human)).copied().unwrap_or(0);
            out.push_str(&format!(" {n:>width$}"));
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;

    use super::*;

    fn rec(classifier: &str, label: &str, human: Option<&str>) -> ExportRecord {
        ExportRecord {
            run: "r".into(),
            model: "m".into(),
            experiment: None,
            date: NaiveDate::from_ymd_opt(2026, 1, 2).unwrap(),
            eval: "c/e".into(),
            step: None,
            label: label.into(),
            status: "done",
            confidence: None,
            classifier: classifier.into(),
            repeat: false,
            human_label: human.map(str::to_owned),
            human_note: None,
            human_by: None,
            reasoning: String::new(),
            report: String::new(),
        }
    }

    #[test]
    fn counts_agreement_per_label_and_classifier() {
        let records = [
            rec("rules", "MODEL_FAULT", Some("MODEL_FAULT")),
            rec("rules", "MODEL_FAULT", Some("KNOWN_GAP")),
            rec("llm:x", "KNOWN_GAP", Some("KNOWN_GAP")),
            rec("llm:x", "OVERLY_STRICT (repeat)", Some("OVERLY_STRICT")),
            rec("llm:x", "MODEL_FAULT", None),
        ];
        let a = agreement(&records);
        assert_eq!((a.overall.total(), a.overall.agreed()), (4, 3));
        assert_eq!(a.by_classifier["rules"].agreed(), 1);
        assert_eq!(a.by_classifier["llm:x"].total(), 2);
        assert_eq!(a.overall.cells["MODEL_FAULT"]["KNOWN_GAP"], 1);
        let json = a.to_json();
        assert_eq!(json["per_label"]["MODEL_FAULT"]["reviewed"], 2);
        assert_eq!(json["rate"], 0.75);
        let text = a.to_text();
        assert!(text.contains("Reviewed verdicts: 4; the tool agreed on 3 (75%)"), "{text}");
        assert!(text.contains("Classifier rules: 1/2 agreed (50%)"), "{text}");
        assert!(agreement(&[]).to_text().starts_with("No reviewed verdicts yet"));
    }
}
