//! A reviewer's verdict on one failure as a report records it: the visible line in the failure's
//! section (`- **Human verdict**: KNOWN_GAP — note (by alice, 2026-11-30)`), written and read back,
//! and how to tell which eval a section's heading is about. Read by the prior-report readers and
//! our block; edited into a report by `review/human.rs`.

use chrono::NaiveDate;
use evaltriage_core::Classification;

use crate::lines::lines;
use crate::render::escape::{inline, one_line};

/// A reviewer's verdict on one failure. Authoritative: the next analysis of the model starts from
/// this label (see [`crate::history`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HumanVerdict {
    pub label: Classification,
    pub note: String,
    pub by: Option<String>,
    pub date: NaiveDate,
}

/// How the visible line starts.
const LINE_PREFIX: &str = "- **Human verdict**: ";

impl HumanVerdict {
    /// The visible markdown line (without a newline); the note and name are escaped inline text.
    pub fn line(&self) -> String {
        let note = one_line(&self.note);
        let mut out = format!("{LINE_PREFIX}{}", self.label.as_str());
        if !note.is_empty() {
            out.push_str(" — ");
            out.push_str(&inline(&note));
        }
        match self.by.as_deref().map(one_line).filter(|b| !b.is_empty()) {
            Some(by) => out.push_str(&format!(" (by {}, {})", inline(&by), self.date.format("%Y-%m-%d"))),
            None => out.push_str(&format!(" ({})", self.date.format("%Y-%m-%d"))),
        }
        out
    }

    /// Reads a visible line back (the note and name as escaped in the line).
    pub(crate) fn parse_line(line: &str) -> Option<Self> {
        let rest = line.trim().strip_prefix(LINE_PREFIX.trim_end())?.trim_start();
        let label_len = rest.find(|c: char| !(c.is_ascii_uppercase() || c == '_')).unwrap_or(rest.len());
        let label: Classification = rest[..label_len].parse().ok()?;
        let mut rest = rest[label_len..].trim();
        let (mut by, mut date) = (None, None);
        if rest.ends_with(')')
            && let Some(open) = rest.rfind(" (").or_else(|| rest.starts_with('(').then_some(0))
        {
            let inner = rest[open..].trim_start().trim_start_matches('(').trim_end_matches(')');
            let (who, day) = match inner.rsplit_once(", ") {
                Some((who, day)) => (who.strip_prefix("by ").map(str::to_owned), day),
                None => (None, inner),
            };
            if let Ok(d) = NaiveDate::parse_from_str(day.trim(), "%Y-%m-%d") {
                date = Some(d);
                by = who;
                rest = rest[..open].trim();
            }
        }
        let note = unescape(rest.strip_prefix('—').unwrap_or(rest).trim());
        Some(Self { label, note, by: by.map(|b| unescape(&b)), date: date? })
    }
}

/// Undoes [`inline`]'s escapes: `\\*` -> `*`, `&lt;` -> `<`, `&gt;` -> `>`, `&amp;` -> `&`.
fn unescape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, chars.peek()) {
            ('\\', Some(next)) if next.is_ascii_punctuation() => {
                out.push(*next);
                chars.next();
            }
            _ => out.push(c),
        }
    }
    out.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
}

/// Why a review could not be recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReviewProblem {
    /// The report has no section (a heading) about the eval.
    NoSection,
    /// The report has our block, but no verdict for the eval in it.
    NotInBlock,
    /// Our block is there but cannot be edited (a newer version, invalid JSON).
    Block(String),
}

impl std::fmt::Display for ReviewProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::NoSection => write!(f, "the report has no section (heading) about this eval"),
            Self::NotInBlock => write!(f, "the report's evaltriage block has no verdict for this eval"),
            Self::Block(why) => write!(f, "the report's evaltriage block cannot be edited: {why}"),
        }
    }
}

/// Whether a heading is about `eval` (`category/name` or a bare name): it names the path, or the
/// name and (when known) the category, each as a whole word.
pub(crate) fn heading_names(heading: &str, eval: &str) -> bool {
    let heading = heading.replace('\\', "");
    if word_in(&heading, eval) {
        return true;
    }
    match eval.split_once('/') {
        Some((category, name)) => word_in(&heading, name) && word_in(&heading, category),
        None => false,
    }
}

fn word_in(text: &str, word: &str) -> bool {
    if word.is_empty() {
        return false;
    }
    let is_word_char = |c: char| c.is_alphanumeric() || c == '-' || c == '_' || c == '/';
    text.match_indices(word).any(|(i, _)| {
        !text[..i].chars().next_back().is_some_and(is_word_char)
            && !text[i + word.len()..].chars().next().is_some_and(is_word_char)
    })
}

/// The human verdict lines of a report, each with the heading of the section it sits in.
pub(crate) fn visible_reviews(text: &str) -> Vec<(String, HumanVerdict)> {
    let mut heading = String::new();
    let mut out = Vec::new();
    for line in lines(text).filter(|l| l.outside_fence) {
        if line.text.starts_with('#') {
            heading = line.text.to_owned();
        } else if let Some(h) = HumanVerdict::parse_line(line.text) {
            out.push((heading.clone(), h));
        }
    }
    out
}
