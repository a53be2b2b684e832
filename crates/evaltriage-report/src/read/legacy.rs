//! Reading hand-written reports (no machine-readable block) heuristically, with pulldown-cmark.
//!
//! The real ones come in four styles: numbered per-failure sections (`### 1. name (category) --
//! step` followed by `**Classification**: LABEL`); a classification table (`| Eval | Failed step |
//! Classification | ... |`, the path maybe split over category and name columns) plus headings
//! `### 1) category/name — LABEL (repeat)`; a run where one "global" section gives a label to a
//! list of affected evals; and one two-column table per failure (`| **Classification** |
//! OVERLY_STRICT |` under the failure's heading, maybe with an `| **Eval** | ... |` row). Labels
//! are kept as written, including ones outside the four (`HARNESS_FAILURE`) and qualifiers such as
//! `(infrastructure)`.

use std::collections::HashMap;

use chrono::NaiveDate;
use pulldown_cmark::{Event, HeadingLevel, Options, Parser, Tag, TagEnd};

use crate::read::prior::{ActionTaken, PriorEntry};

/// What a hand-written report says.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct LegacyReport {
    pub run_id: Option<String>,
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

/// The label a section or table row gives.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Label {
    label: String,
    qualifier: Option<String>,
    repeat: bool,
}

const UNLABELLED: &str = "UNLABELLED";

#[derive(Default)]
struct Scan {
    run_id: Option<String>,
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
            self.current_eval = Some((eval, level));
        } else {
            self.plain_heading_level = level;
        }
    }

    fn text(&mut self, text: &str, item: bool) {
        if self.actions_section.is_some() {
            if !is_none(text) {
                self.actions.push(ActionTaken { text: text.to_owned(), eval: None });
            }
            return;
        }
        if self.metadata(text) {
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
        }
    }

    /// One table per failure, a field a row: `| **Classification** | OVERLY_STRICT |`, maybe with
    /// `| **Eval** | 000-fundamentals/003-crons |` (or a category row and a name row). The label
    /// goes to the eval the table names, else to the eval whose section the table is in.
    fn field_table(&mut self, rows: &[Vec<String>]) {
        let (mut label, mut eval, mut category) = (None, None, None);
        for row in rows {
            let [key, value, ..] = &row[..] else { continue };
            let key = key.trim_matches(|c: char| matches!(c, '*' | '_' | ':' | '`') || c.is_whitespace());
            match key.to_lowercase().as_str() {
                "classification" | "label" | "verdict" if label.is_none() => label = find_label(value),
                "eval" | "eval path" | "evaluation" | "test" | "task" | "name" | "path" if eval.is_none() => {
                    eval = parse_eval_ref(value).map(|(e, _)| e);
                }
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
        });
    }
}

fn is_none(text: &str) -> bool {
    let t = text.trim().trim_end_matches('.').trim();
    t.eq_ignore_ascii_case("none") || t.eq_ignore_ascii_case("n/a") || t == "-" || t == "—"
}

/// `Key: value` (case-insensitive key, spaces allowed before the colon) -> `value`.
fn strip_key<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    let t = text.trim_start();
    let head = t.get(..key.len())?;
    if !head.eq_ignore_ascii_case(key) {
        return None;
    }
    let rest = t[key.len()..].trim_start();
    rest.strip_prefix(':').map(str::trim)
}

/// `1. text`, `1) text`, `12 . text` -> `text`.
fn strip_numbering(text: &str) -> &str {
    let t = text.trim_start();
    let digits = t.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 {
        return t;
    }
    match t[digits..].chars().next() {
        Some('.' | ')') if t[digits + 1..].starts_with(' ') => t[digits + 1..].trim_start(),
        _ => t,
    }
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')
}

fn valid_name(s: &str) -> bool {
    !s.is_empty() && s.chars().all(is_name_char) && s.chars().any(|c| c.is_ascii_alphanumeric())
}

/// An eval reference at the start of `text`: `category/name`, `name (category)`, or a bare
/// `name` that starts with a digit (the benchmark's `003-crons` style). Returns the normalised
/// path (`category/name`, or just `name` when no category was given) and the rest of the text.
pub(crate) fn parse_eval_ref(text: &str) -> Option<(String, &str)> {
    let t = text.trim_start().trim_start_matches(['*', '`']);
    let end = t.find(|c: char| c.is_whitespace()).unwrap_or(t.len());
    let token = t[..end].trim_end_matches([':', ',', ';', '*', '`']);
    let rest = &t[end..];
    if let Some((category, name)) = token.split_once('/') {
        return (valid_name(category) && valid_name(name)).then(|| (format!("{category}/{name}"), rest));
    }
    if !valid_name(token) || !token.starts_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    let after = rest.trim_start();
    if let Some(inner) = after.strip_prefix('(')
        && let Some(close) = inner.find(')')
        && valid_name(inner[..close].trim())
    {
        let category = inner[..close].trim();
        return Some((format!("{category}/{token}"), &inner[close + 1..]));
    }
    Some((token.to_owned(), rest))
}

/// The first label-looking word (`MODEL_FAULT`, `HARNESS_FAILURE`, `INFRASTRUCTURE`) and the
/// parentheticals right after it: `(repeat)` sets the flag, anything else is the qualifier.
fn find_label(text: &str) -> Option<Label> {
    let mut search = text;
    loop {
        let start = search.find(|c: char| c.is_ascii_uppercase())?;
        let word_start = &search[start..];
        let len = word_start.find(|c: char| !(c.is_ascii_uppercase() || c == '_')).unwrap_or(word_start.len());
        let word = &word_start[..len];
        let preceded_by_word_char = search[..start].chars().next_back().is_some_and(|c| c.is_alphanumeric());
        let followed_by_word_char = word_start[len..].chars().next().is_some_and(|c| c.is_alphanumeric());
        let looks_like_label = word.len() >= 4
            && (word.contains('_') || word.len() >= 8)
            && !word.starts_with('_')
            && !word.ends_with('_');
        if looks_like_label && !preceded_by_word_char && !followed_by_word_char {
            let mut label = Label { label: word.to_owned(), qualifier: None, repeat: false };
            let mut rest = &word_start[len..];
            while let Some(inner) = rest.trim_start().strip_prefix('(') {
                let Some(close) = inner.find(')') else { break };
                let content = inner[..close].trim();
                if content.to_lowercase().contains("repeat") {
                    label.repeat = true;
                } else if label.qualifier.is_none() && !content.is_empty() {
                    label.qualifier = Some(content.to_owned());
                }
                rest = &inner[close + 1..];
            }
            return Some(label);
        }
        search = &word_start[len.max(1)..];
    }
}

fn first_alnum_token(text: &str) -> Option<String> {
    let token: String = text
        .trim_start_matches(|c: char| !c.is_ascii_alphanumeric())
        .chars()
        .take_while(char::is_ascii_alphanumeric)
        .collect();
    (!token.is_empty()).then_some(token)
}

/// The first word made of `[A-Za-z0-9_-]` (`default` in "`default` (with guidelines)").
fn first_name_token(text: &str) -> Option<String> {
    let is_name = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-';
    let token: String = text.trim_start_matches(|c: char| !is_name(c)).chars().take_while(|&c| is_name(c)).collect();
    (!token.is_empty()).then_some(token)
}

fn find_date(text: &str) -> Option<NaiveDate> {
    let bytes = text.as_bytes();
    (0..bytes.len().saturating_sub(9))
        .filter(|&i| text.is_char_boundary(i) && text.is_char_boundary(i + 10))
        .find_map(|i| NaiveDate::parse_from_str(&text[i..i + 10], "%Y-%m-%d").ok())
}

fn find_ratio(text: &str) -> Option<(u32, u32)> {
    let slash = text.find('/')?;
    let before = text[..slash].trim_end();
    let digits_before = before.bytes().rev().take_while(u8::is_ascii_digit).count();
    let after = text[slash + 1..].trim_start();
    let digits_after = after.bytes().take_while(u8::is_ascii_digit).count();
    if digits_before == 0 || digits_after == 0 {
        return None;
    }
    let passed = before[before.len() - digits_before..].parse().ok()?;
    let total = after[..digits_after].parse().ok()?;
    Some((passed, total))
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
