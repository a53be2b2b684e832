//! The pieces a hand-written report's lines are read with: eval references (`category/name`,
//! numbered, in code or a link), labels with their qualifier and `(repeat)`, step names, run ids,
//! dates and pass rates.

use chrono::NaiveDate;

/// The label a section or table row gives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Label {
    pub(super) label: String,
    pub(super) qualifier: Option<String>,
    pub(super) repeat: bool,
}

pub(super) const UNLABELLED: &str = "UNLABELLED";

pub(super) fn is_none(text: &str) -> bool {
    let t = text.trim().trim_end_matches('.').trim();
    t.eq_ignore_ascii_case("none") || t.eq_ignore_ascii_case("n/a") || t == "-" || t == "—"
}

/// `Key: value` (case-insensitive key, spaces allowed before the colon) -> `value`.
pub(super) fn strip_key<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    let t = text.trim_start();
    let head = t.get(..key.len())?;
    if !head.eq_ignore_ascii_case(key) {
        return None;
    }
    let rest = t[key.len()..].trim_start();
    rest.strip_prefix(':').map(str::trim)
}

/// `1. text`, `1) text`, `12 . text` -> `text`.
pub(super) fn strip_numbering(text: &str) -> &str {
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

pub(super) fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')
}

pub(super) fn valid_name(s: &str) -> bool {
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
pub(super) fn find_label(text: &str) -> Option<Label> {
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

/// A convex id as run ids are written (lowercase letters and digits, 20 or more).
pub(super) fn is_run_id(token: &str) -> bool {
    token.len() >= 20 && token.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
}

/// The pipeline step a text names first (`-- deploy`, `tsc`, `tests (0%)`, `typecheck`).
pub(super) fn step_name(text: &str) -> Option<String> {
    text.split(|c: char| !c.is_ascii_alphanumeric()).find_map(|word| {
        let step = match word.to_ascii_lowercase().as_str() {
            "filesystem" => "filesystem",
            "install" => "install",
            "deploy" => "deploy",
            "tsc" | "typecheck" => "tsc",
            "eslint" | "lint" => "eslint",
            "tests" | "test" => "tests",
            "none" | "generation" => "none",
            _ => return None,
        };
        Some(step.to_owned())
    })
}

pub(super) fn first_alnum_token(text: &str) -> Option<String> {
    let token: String = text
        .trim_start_matches(|c: char| !c.is_ascii_alphanumeric())
        .chars()
        .take_while(char::is_ascii_alphanumeric)
        .collect();
    (!token.is_empty()).then_some(token)
}

/// The first word made of `[A-Za-z0-9_-]` (`default` in "`default` (with guidelines)").
pub(super) fn first_name_token(text: &str) -> Option<String> {
    let is_name = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-';
    let token: String = text.trim_start_matches(|c: char| !is_name(c)).chars().take_while(|&c| is_name(c)).collect();
    (!token.is_empty()).then_some(token)
}

pub(super) fn find_date(text: &str) -> Option<NaiveDate> {
    let bytes = text.as_bytes();
    (0..bytes.len().saturating_sub(9))
        .filter(|&i| text.is_char_boundary(i) && text.is_char_boundary(i + 10))
        .find_map(|i| NaiveDate::parse_from_str(&text[i..i + 10], "%Y-%m-%d").ok())
}

pub(super) fn find_ratio(text: &str) -> Option<(u32, u32)> {
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
