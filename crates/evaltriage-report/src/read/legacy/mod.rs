//! Reading hand-written reports (no machine-readable block) heuristically, with pulldown-cmark.
//!
//! The real ones come in four styles: numbered per-failure sections (`### 1. name (category) --
//! step` followed by `**Classification**: LABEL`); a classification table (`| Eval | Failed step |
//! Classification | ... |`, the path maybe split over category and name columns) plus headings
//! `### 1) category/name — LABEL (repeat)`; a run where one "global" section gives a label to a
//! list of affected evals; and one two-column table per failure (`| **Classification** |
//! OVERLY_STRICT |` under the failure's heading, maybe with an `| **Eval** | ... |` row). Labels
//! are kept as written, including ones outside the four (`HARNESS_FAILURE`) and qualifiers such as
//! `(infrastructure)`. `text.rs` holds the pieces a line is read with (eval references, labels,
//! steps, run ids, dates, pass rates).

use std::collections::HashMap;

use chrono::NaiveDate;
use pulldown_cmark::{Event, HeadingLevel, Options, Parser, Tag, TagEnd};

use crate::read::prior_report::{ActionTaken, PriorEntry};

mod text;

use text::*;

/// What a hand-written report says.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct LegacyReport {
    pub run_id: Option<String>,
    /// A "Run IDs" list: every run a report covering several runs names.
    pub run_ids: Vec<String>,
    pub run_id_prefix: Option<String>,
    pub date: Option<NaiveDate>,
    pub pass_rate: Option<(u32, u32)>,
    /// The `Experiment` metadata line's value (`default`, `no_guidelines`), first word only.
    pub experiment: Option<String>,
    pub entries: Vec<PriorEntry>,
    pub actions_taken: Vec<ActionTaken>,
}

/// The markdown, flattened to the blocks the heuristics look at.
#[derive(Debug, Clone, PartialEq)]
enum Block {
    Heading {
        level: u8,
        text: String,
    },
    /// A paragraph, or a list item's own text.
    Text {
        text: String,
        item: bool,
    },
    /// Rows of cells, the header first.
    Table(Vec<Vec<String>>),
    /// A code block or a thematic break: ends a run of list items.
    Break,
}

fn heading_level(level: HeadingLevel) -> u8 {
    match level {
        HeadingLevel::H1 => 1,
        HeadingLevel::H2 => 2,
        HeadingLevel::H3 => 3,
        HeadingLevel::H4 => 4,
        HeadingLevel::H5 => 5,
        HeadingLevel::H6 => 6,
    }
}

fn blocks(markdown: &str) -> Vec<Block> {
    let mut out = Vec::new();
    let mut buf = String::new();
    let mut item_depth = 0usize;
    let mut in_code = false;
    let mut table: Vec<Vec<String>> = Vec::new();
    let mut row: Vec<String> = Vec::new();
    let flush = |buf: &mut String, out: &mut Vec<Block>, item: bool| {
        let text = buf.trim();
        if !text.is_empty() {
            out.push(Block::Text { text: text.to_owned(), item });
        }
        buf.clear();
    };
    for event in Parser::new_ext(markdown, Options::ENABLE_TABLES) {
        match event {
            Event::Start(Tag::Heading { .. }) => buf.clear(),
            Event::End(TagEnd::Heading(level)) => {
                out.push(Block::Heading { level: heading_level(level), text: buf.trim().to_owned() });
                buf.clear();
            }
            Event::Start(Tag::Item) => {
                flush(&mut buf, &mut out, item_depth > 0);
                item_depth += 1;
            }
            Event::End(TagEnd::Item) => {
                flush(&mut buf, &mut out, true);
                item_depth = item_depth.saturating_sub(1);
            }
            Event::End(TagEnd::Paragraph) => flush(&mut buf, &mut out, item_depth > 0),
            Event::Start(Tag::CodeBlock(_)) => {
                flush(&mut buf, &mut out, item_depth > 0);
                in_code = true;
            }
            Event::End(TagEnd::CodeBlock) => {
                in_code = false;
                out.push(Block::Break);
            }
            Event::Start(Tag::Table(_)) => table.clear(),
            Event::Start(Tag::TableHead | Tag::TableRow) => row.clear(),
            Event::End(TagEnd::TableHead | TagEnd::TableRow) => table.push(std::mem::take(&mut row)),
            Event::End(TagEnd::TableCell) => {
                row.push(buf.trim().to_owned());
                buf.clear();
            }
            Event::End(TagEnd::Table) => out.push(Block::Table(std::mem::take(&mut table))),
            Event::Text(t) | Event::Code(t) if !in_code => buf.push_str(&t),
            Event::SoftBreak | Event::HardBreak => buf.push(' '),
            Event::Rule => {
                flush(&mut buf, &mut out, item_depth > 0);
                out.push(Block::Break);
            }
            _ => {}
        }
    }
    flush(&mut buf, &mut out, item_depth > 0);
    out
}

/// Reads what it can from a hand-written report.
pub(crate) fn parse(markdown: &str) -> LegacyReport {
    let mut scan = Scan::default();
    for block in blocks(markdown) {
        scan.block(block);
    }
    LegacyReport {
        run_id: scan.run_id,
        run_ids: scan.run_ids,
        run_id_prefix: scan.run_id_prefix,
        date: scan.date,
        pass_rate: scan.pass_rate,
        experiment: scan.experiment,
        entries: scan.entries,
        actions_taken: scan.actions,
    }
}

/// Reads the entries of an **Actions taken** section's body (of one of our own reports).
pub(crate) fn parse_actions(section_body: &str) -> Vec<ActionTaken> {
    parse(&format!("## Actions taken\n\n{section_body}")).actions_taken
}

#[derive(Default)]
struct Scan {
    run_id: Option<String>,
    run_ids: Vec<String>,
    /// Inside a "Run IDs" list item: the nested items are run ids.
    in_run_ids: bool,
    run_id_prefix: Option<String>,
    date: Option<NaiveDate>,
    pass_rate: Option<(u32, u32)>,
    experiment: Option<String>,
    entries: Vec<PriorEntry>,
    index: HashMap<String, usize>,
    actions: Vec<ActionTaken>,
    /// The eval whose section we are in, and that section's heading level.
    current_eval: Option<(String, u8)>,
    /// The level of the last heading that was not about one eval.
    plain_heading_level: u8,
    /// A label that a section without an eval gave to every eval listed under it, and the heading
    /// level that ends it.
    group_label: Option<(Label, u8)>,
    /// Inside an "Actions taken" section of this heading level.
    actions_section: Option<u8>,
    /// Right after an inline `Action taken:` paragraph: the list items that follow are actions.
    inline_actions: bool,
}

impl Scan {
    fn block(&mut self, block: Block) {
        match block {
            Block::Heading { level, text } => self.heading(level, &text),
            Block::Text { text, item } => self.text(&text, item),
            Block::Table(rows) => {
                self.inline_actions = false;
                self.table(&rows);
            }
            Block::Break => self.inline_actions = false,
        }
    }

    fn heading(&mut self, level: u8, text: &str) {
        self.inline_actions = false;
        if self.actions_section.is_some_and(|l| level <= l) {
            self.actions_section = None;
        }
        if self.group_label.as_ref().is_some_and(|(_, l)| level <= *l) {
            self.group_label = None;
        }
        if self.current_eval.as_ref().is_some_and(|(_, l)| level <= *l) {
            self.current_eval = None;
        }
        let lower = text.to_lowercase();
        if (lower.contains("actions taken") || lower.contains("action taken")) && !lower.contains("no action") {
            self.actions_section = Some(level);
            return;
        }
        let unnumbered = strip_numbering(text);
        let numbered = unnumbered.len() < text.trim_start().len();
        // `### Lint/config changes` is not an eval: an unnumbered heading must start with the
        // benchmark's `NNN-` style to count.
        if let Some((eval, rest)) =
            parse_eval_ref(unnumbered).filter(|(eval, _)| numbered || eval.starts_with(|c: char| c.is_ascii_digit()))
        {
            let label =
                find_label(rest).unwrap_or(Label { label: UNLABELLED.to_owned(), qualifier: None, repeat: false });
            self.add_entry(&eval, label);
            if let Some(step) = step_name(rest) {
                self.set_step(&eval, step);
            }
            self.current_eval = Some((eval, level));
        } else {
            self.plain_heading_level = level;
        }
    }

    fn text(&mut self, text: &str, item: bool) {
        if self.in_run_ids {
            match first_alnum_token(text).filter(|id| item && is_run_id(id)) {
                Some(id) => {
                    if !self.run_ids.contains(&id) {
                        self.run_ids.push(id);
                    }
                    return;
                }
                None => self.in_run_ids = false,
            }
        }
        if self.actions_section.is_some() {
            if !is_none(text) {
                self.actions.push(ActionTaken { text: text.to_owned(), eval: None });
            }
            return;
        }
        if self.metadata(text) {
            return;
        }
        if let Some(step) = strip_key(text, "failed step").or_else(|| strip_key(text, "step")) {
            if let (Some((eval, _)), Some(step)) = (self.current_eval.clone(), step_name(step)) {
                self.set_step(&eval, step);
            }
            return;
        }
        if let Some(rest) = strip_key(text, "classification") {
            if let Some(label) = find_label(rest) {
                match &self.current_eval {
                    Some((eval, _)) => {
                        let eval = eval.clone();
                        self.add_entry(&eval, label);
                    }
                    None => self.group_label = Some((label, self.plain_heading_level.saturating_sub(1))),
                }
            }
            return;
        }
        let inline_action = strip_key(text, "actions taken").or_else(|| strip_key(text, "action taken"));
        if let Some(rest) = inline_action {
            self.inline_actions = true;
            if !rest.is_empty() && !is_none(rest) {
                self.push_eval_action(rest);
            }
            return;
        }
        if item && self.inline_actions {
            self.push_eval_action(text);
            return;
        }
        if !item {
            self.inline_actions = false;
        }
        if item && let Some((label, _)) = &self.group_label {
            let label = label.clone();
            if let Some((eval, rest)) = parse_eval_ref(text)
                && eval.contains('/')
                && !rest.chars().any(char::is_alphabetic)
            {
                self.add_entry(&eval, label);
            }
        }
    }

    fn push_eval_action(&mut self, text: &str) {
        let eval = self.current_eval.as_ref().map(|(e, _)| e.clone());
        self.actions.push(ActionTaken { text: text.to_owned(), eval });
    }

    /// Picks up `Run ID`, `Run ID prefix`, `Date`, `Pass rate` and `Experiment` lines; true when
    /// it was one.
    fn metadata(&mut self, text: &str) -> bool {
        if let Some(v) = strip_key(text, "run ids") {
            self.in_run_ids = true;
            // `Run IDs: a, b, c` on one line.
            for token in v.split([',', ' ', ';']).map(|t| t.trim_matches(['`', '*'])) {
                if is_run_id(token) && !self.run_ids.iter().any(|r| r == token) {
                    self.run_ids.push(token.to_owned());
                }
            }
            return true;
        }
        if let Some(v) = strip_key(text, "run id prefix") {
            if self.run_id_prefix.is_none() {
                self.run_id_prefix = first_alnum_token(v);
            }
            return true;
        }
        if let Some(v) = strip_key(text, "run id") {
            if self.run_id.is_none() {
                self.run_id = first_alnum_token(v);
            }
            return true;
        }
        if let Some(v) = strip_key(text, "date") {
            if self.date.is_none() {
                self.date = find_date(v);
            }
            return true;
        }
        if let Some(v) = strip_key(text, "pass rate") {
            if self.pass_rate.is_none() {
                self.pass_rate = find_ratio(v);
            }
            return true;
        }
        if let Some(v) = strip_key(text, "experiment") {
            if self.experiment.is_none() {
                self.experiment = first_name_token(v);
            }
            return true;
        }
        false
    }

    fn table(&mut self, rows: &[Vec<String>]) {
        let Some((header, body)) = rows.split_first() else { return };
        let header: Vec<String> = header.iter().map(|h| h.to_lowercase()).collect();
        let find = |pred: &dyn Fn(&str) -> bool| header.iter().position(|h| pred(h));
        let eval_col =
            find(&|h| (h.starts_with("eval") && !h.starts_with("evals")) || h == "name" || h == "test" || h == "task");
        let label_col = find(&|h| h.contains("classif") || h == "label" || h == "verdict");
        let category_col = find(&|h| h.contains("categ"));
        let step_col = find(&|h| h.contains("step"));
        let (Some(eval_col), Some(label_col)) = (eval_col, label_col) else {
            self.field_table(rows);
            return;
        };
        for row in body {
            let (Some(eval_cell), Some(label_cell)) = (row.get(eval_col), row.get(label_col)) else { continue };
            let Some(label) = find_label(label_cell) else { continue };
            let eval = match (category_col.and_then(|c| row.get(c)), parse_eval_ref(eval_cell)) {
                (Some(category), Some((name, _))) if !name.contains('/') && !category.trim().is_empty() => {
                    format!("{}/{}", category.trim().trim_matches('/'), name)
                }
                (_, Some((eval, _))) => eval,
                (_, None) => continue,
            };
            self.add_entry(&eval, label);
            if let Some(step) = step_col.and_then(|c| row.get(c)).and_then(|c| step_name(c)) {
                self.set_step(&eval, step);
            }
        }
    }

    /// One table per failure, a field a row: `| **Classification** | OVERLY_STRICT |`, maybe with
    /// `| **Eval** | 000-fundamentals/003-crons |` (or a category row and a name row). The label
    /// goes to the eval the table names, else to the eval whose section the table is in.
    fn field_table(&mut self, rows: &[Vec<String>]) {
        let (mut label, mut eval, mut category, mut step) = (None, None, None, None);
        for row in rows {
            let [key, value, ..] = &row[..] else { continue };
            let key = key.trim_matches(|c: char| matches!(c, '*' | '_' | ':' | '`') || c.is_whitespace());
            match key.to_lowercase().as_str() {
                "classification" | "label" | "verdict" if label.is_none() => label = find_label(value),
                "eval" | "eval path" | "evaluation" | "test" | "task" | "name" | "path" if eval.is_none() => {
                    eval = parse_eval_ref(value).map(|(e, _)| e);
                }
                "failed step" | "step" if step.is_none() => step = step_name(value),
                "category" if category.is_none() => {
                    category = Some(value.trim().trim_matches(['`', '/'])).filter(|c| valid_name(c));
                }
                _ => {}
            }
        }
        let Some(label) = label else { return };
        let eval = match (eval, category) {
            (Some(name), Some(category)) if !name.contains('/') => Some(format!("{category}/{name}")),
            (eval, _) => eval,
        };
        let current = self.current_eval.as_ref().map(|(e, _)| e.clone());
        let Some(eval) = eval.or_else(|| current.clone()) else { return };
        match current {
            // The section's heading gave only the name (or a shorter form) of the table's eval:
            // the table's path names the entry.
            Some(current) if current != eval => {
                if eval.ends_with(&format!("/{current}")) {
                    self.rename_unlabelled(&current, &eval);
                }
                let level = self.current_eval.as_ref().map_or(self.plain_heading_level, |(_, l)| *l);
                self.current_eval = Some((eval.clone(), level));
            }
            Some(_) => {}
            None => self.current_eval = Some((eval.clone(), self.plain_heading_level)),
        }
        self.add_entry(&eval, label);
        if let Some(step) = step {
            self.set_step(&eval, step);
        }
    }

    /// Records the step an entry failed at, unless it has one.
    fn set_step(&mut self, eval: &str, step: String) {
        if let Some(&i) = self.index.get(eval) {
            self.entries[i].failed_step.get_or_insert(step);
        }
    }

    /// Gives an entry that has no label yet a fuller path, unless that path has one already.
    fn rename_unlabelled(&mut self, from: &str, to: &str) {
        if self.index.contains_key(to) {
            return;
        }
        let Some(&i) = self.index.get(from) else { return };
        if self.entries[i].label != UNLABELLED {
            return;
        }
        self.index.remove(from);
        self.index.insert(to.to_owned(), i);
        to.clone_into(&mut self.entries[i].eval);
    }

    fn add_entry(&mut self, eval: &str, label: Label) {
        if let Some(&i) = self.index.get(eval) {
            let entry = &mut self.entries[i];
            entry.repeat |= label.repeat;
            if entry.label == UNLABELLED {
                entry.label = label.label;
            }
            if entry.qualifier.is_none() {
                entry.qualifier = label.qualifier;
            }
            return;
        }
        self.index.insert(eval.to_owned(), self.entries.len());
        self.entries.push(PriorEntry {
            eval: eval.to_owned(),
            label: label.label,
            qualifier: label.qualifier,
            repeat: label.repeat,
            human: None,
            failed_step: None,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(md: &str) -> Vec<(String, String)> {
        parse(md)
            .entries
            .into_iter()
            .map(|e| (e.eval.clone(), format!("{}{}", e.label_text(), if e.repeat { " (repeat)" } else { "" })))
            .collect()
    }

    fn pairs(expected: &[(&str, &str)]) -> Vec<(String, String)> {
        expected.iter().map(|(a, b)| ((*a).to_owned(), (*b).to_owned())).collect()
    }

    #[test]
    fn eval_refs_in_all_written_forms() {
        assert_eq!(
            parse_eval_ref("000-fundamentals/003-crons — X"),
            Some(("000-fundamentals/003-crons".into(), " — X"))
        );
        assert_eq!(parse_eval_ref("003-crons (000-fundamentals) -- deploy").unwrap().0, "000-fundamentals/003-crons");
        assert_eq!(parse_eval_ref("003-crons: thing").unwrap().0, "003-crons");
        assert_eq!(parse_eval_ref("Global failure pattern"), None);
        assert_eq!(parse_eval_ref("Recurring from previous run (jn7922)"), None);
    }

    #[test]
    fn labels_keep_qualifiers_and_repeat() {
        let l = find_label("AMBIGUOUS_TASK (infrastructure) (repeat)").unwrap();
        assert_eq!(
            (l.label.as_str(), l.qualifier.as_deref(), l.repeat),
            ("AMBIGUOUS_TASK", Some("infrastructure"), true)
        );
        assert_eq!(find_label("— HARNESS_FAILURE").unwrap().label, "HARNESS_FAILURE");
        assert_eq!(find_label("AI_APICallError and TS2339"), None);
        assert_eq!(find_label("tests (0%)"), None);
        assert_eq!(find_ratio("`55/66` (83.3%)"), Some((55, 66)));
        assert_eq!(find_date("`2026-02-12`"), NaiveDate::from_ymd_opt(2026, 2, 12));
    }

    #[test]
    fn numbered_sections_with_a_classification_line() {
        let md = "# Run Analysis: m\n\n- **Run ID**: abcdef123\n- **Pass rate**: 3/5 (60%)\n\n\
                  ## Per-Failure Analysis\n\n### 1. 003-crons (000-fundamentals) -- deploy\n\n\
                  **Classification**: HARNESS_FAILURE (infrastructure)\n\nText.\n\n**Action taken**:\n\
                  1. Fixed the port.\n2. Used localhost.\n\n---\n\n### 2. 001-x (004-actions) -- tests (0%)\n\n\
                  **Classification**: MODEL_FAULT\n\n## Cross-Cutting Patterns\n\n- **003-crons** (KNOWN_GAP) — dup\n\n\
                  ## Actions Taken in This Session\n\n1. Relaxed `prefer-const` — addresses `001-x`\n";
        let r = parse(md);
        assert_eq!(
            labels(md),
            pairs(&[
                ("000-fundamentals/003-crons", "HARNESS_FAILURE (infrastructure)"),
                ("004-actions/001-x", "MODEL_FAULT")
            ])
        );
        assert_eq!(r.pass_rate, Some((3, 5)));
        assert_eq!(r.run_id.as_deref(), Some("abcdef123"));
        let actions: Vec<(Option<&str>, &str)> =
            r.actions_taken.iter().map(|a| (a.eval.as_deref(), a.text.as_str())).collect();
        assert_eq!(
            actions,
            [
                (Some("000-fundamentals/003-crons"), "Fixed the port."),
                (Some("000-fundamentals/003-crons"), "Used localhost."),
                (None, "Relaxed prefer-const — addresses 001-x"),
            ]
        );
    }

    #[test]
    fn classification_tables_with_split_columns() {
        let md = "| Category | Eval | Step | Classification |\n|---|---|---|---|\n\
                  | 000-fundamentals | 003-crons | tests | OVERLY_STRICT (repeat) |\n\
                  | 002-queries | `014-select` | eslint | MODEL_FAULT |\n| x | y | z | not a label |\n";
        assert_eq!(
            labels(md),
            pairs(&[
                ("000-fundamentals/003-crons", "OVERLY_STRICT (repeat)"),
                ("002-queries/014-select", "MODEL_FAULT")
            ])
        );
        assert!(labels("| Step | Count |\n|---|---|\n| eslint | 5 |\n").is_empty());
    }

    #[test]
    fn a_global_label_applies_to_the_listed_evals() {
        let md = "## Per-failure analysis\n\n### Global failure pattern\n\n- Classification: `KNOWN_GAP`\n\n\
                  ### Affected evals\n\n- `000-fundamentals` (10/10)\n\n- `000-fundamentals/000-empty`\n\
                  - `002-queries/000-all_rows`\n\n## Cross-cutting patterns\n\n- `003-mutations/000-delete`\n";
        assert_eq!(
            labels(md),
            pairs(&[("000-fundamentals/000-empty", "KNOWN_GAP"), ("002-queries/000-all_rows", "KNOWN_GAP")])
        );
    }

    #[test]
    fn nothing_found_in_prose() {
        let r = parse("# Notes\n\nJust some thoughts about 003-crons.\n");
        assert!(r.entries.is_empty() && r.pass_rate.is_none());
    }
}
