//! Human verdicts: a reviewer's label for one failure, recorded in the report as a visible line in
//! that failure's section (`- **Human verdict**: KNOWN_GAP — note (by alice, 2026-11-30)`) and, in
//! our own reports, in the machine-readable block. [`add_review`] is the pure edit of a report's
//! text: one line added (or the section's earlier human verdict line replaced) and, when the report
//! has our block, that verdict's entry in it; every other byte is kept.

use chrono::NaiveDate;
use evaltriage_core::Classification;

use crate::lines::{BLOCK_MARKER, lines};
use crate::read::machine_block;
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

/// The report's text with `human` recorded for `eval` (`category/name`): a visible line at the end
/// of the eval's section (replacing an earlier human verdict line there) and, when the report has
/// our block, the verdict's `human` field. Nothing else changes.
pub fn add_review(text: &str, eval: &str, human: &HumanVerdict) -> Result<String, ReviewProblem> {
    let all: Vec<_> = lines(text).collect();
    let heading_level = |t: &str| {
        let level = t.bytes().take_while(|b| *b == b'#').count();
        (level > 0 && level <= 6 && t[level..].starts_with(' ')).then_some(level)
    };
    let start = all
        .iter()
        .position(|l| l.outside_fence && heading_level(l.text).is_some() && heading_names(l.text, eval))
        .ok_or(ReviewProblem::NoSection)?;
    let level = heading_level(all[start].text).unwrap_or(1);
    let end = all[start + 1..]
        .iter()
        .position(|l| {
            l.outside_fence && (heading_level(l.text).is_some_and(|h| h <= level) || l.text.starts_with(BLOCK_MARKER))
        })
        .map_or(all.len(), |i| start + 1 + i);
    let section = &all[start + 1..end];
    let new_line = human.line();
    let existing = section.iter().find(|l| l.outside_fence && HumanVerdict::parse_line(l.text).is_some());
    let mut out = match existing {
        Some(old) => {
            let old_end = old.start + old.text.len();
            format!("{}{}{}", &text[..old.start], new_line, &text[old_end..])
        }
        None => {
            // The last line with content, above a closing thematic break (`---`) if the section
            // ends with one.
            let mut filled = section.iter().rev().filter(|l| !l.text.trim().is_empty()).peekable();
            if filled.peek().is_some_and(|l| l.outside_fence && is_rule(l.text)) {
                filled.next();
            }
            let last = filled.next().unwrap_or(&all[start]);
            let at = line_end(text, last.start);
            let needs_blank = !(last.outside_fence && last.text.trim_start().starts_with("- "));
            let ending = if text[last.start..at].ends_with("\r\n") { "\r\n" } else { "\n" };
            let mut insert = String::new();
            if !text[..at].ends_with('\n') {
                insert.push_str(ending);
            }
            if needs_blank {
                insert.push_str(ending);
            }
            insert.push_str(&new_line);
            insert.push_str(ending);
            format!("{}{}{}", &text[..at], insert, &text[at..])
        }
    };
    match machine_block::decode(&out) {
        None => {}
        Some(Err(machine_block::BlockProblem::UnknownVersion(v))) => {
            return Err(ReviewProblem::Block(format!("version {v}, newer than this evaltriage writes")));
        }
        Some(Err(machine_block::BlockProblem::Invalid(why))) => return Err(ReviewProblem::Block(why)),
        Some(Ok(_)) => {
            let block_line = lines(&out)
                .filter(|l| l.outside_fence && l.text.trim_end().starts_with(BLOCK_MARKER))
                .last()
                .map(|l| (l.start, l.start + l.text.trim_end().len()))
                .ok_or(ReviewProblem::NotInBlock)?;
            let edited = machine_block::set_human(&out[block_line.0..block_line.1], eval, human)?;
            out.replace_range(block_line.0..block_line.1, &edited);
        }
    }
    Ok(out)
}

/// `---`, `***` or `___` (spaces allowed): a thematic break.
fn is_rule(line: &str) -> bool {
    let t: String = line.chars().filter(|c| !c.is_whitespace()).collect();
    t.len() >= 3 && (t.chars().all(|c| c == '-') || t.chars().all(|c| c == '*') || t.chars().all(|c| c == '_'))
}

/// Byte offset just past the line starting at `start` (its line ending included).
fn line_end(text: &str, start: usize) -> usize {
    text[start..].find('\n').map_or(text.len(), |i| start + i + 1)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn human(label: Classification, note: &str, by: Option<&str>) -> HumanVerdict {
        HumanVerdict {
            label,
            note: note.to_owned(),
            by: by.map(str::to_owned),
            date: NaiveDate::from_ymd_opt(2026, 11, 30).unwrap(),
        }
    }

    #[test]
    fn the_visible_line_round_trips() {
        for h in [
            human(Classification::KnownGap, "GAPS.txt lists it", Some("alice")),
            human(Classification::ModelFault, "", None),
            human(Classification::OverlyStrict, "plain note (with parens)", Some("bob smith")),
        ] {
            let line = h.line();
            assert_eq!(HumanVerdict::parse_line(&line), Some(h.clone()), "{line}");
        }
        let hostile = human(Classification::KnownGap, "<script>x</script> ## not a heading", Some("e|ve"));
        let line = hostile.line();
        assert!(!line.contains('<') && !line.contains('\n'), "{line}");
        assert_eq!(HumanVerdict::parse_line(&line), Some(hostile), "escaped text reads back as written");
        assert_eq!(HumanVerdict::parse_line("- **Human verdict**: NOPE (2026-11-30)"), None);
    }

    const HAND_WRITTEN: &str = "# Report\n\n## Per-failure analysis\n\n### 1) 000-fundamentals/003-crons — MODEL_FAULT\n\n- **Failed step**: deploy\n- **Reasoning**: x\n\n### 2. paginate (002-queries) -- tests\n\nSome prose.\n\n## Actions taken\n\n- Did a thing\n";

    #[test]
    fn a_review_adds_one_line_to_the_section_and_nothing_else() {
        let h = human(Classification::KnownGap, "documented", Some("alice"));
        let out = add_review(HAND_WRITTEN, "000-fundamentals/003-crons", &h).unwrap();
        let expected = HAND_WRITTEN.replace("- **Reasoning**: x\n", &format!("- **Reasoning**: x\n{}\n", h.line()));
        assert_eq!(out, expected);
        // A second review replaces the first.
        let h2 = human(Classification::OverlyStrict, "on second look", None);
        let again = add_review(&out, "000-fundamentals/003-crons", &h2).unwrap();
        assert_eq!(
            again,
            HAND_WRITTEN.replace("- **Reasoning**: x\n", &format!("- **Reasoning**: x\n{}\n", h2.line()))
        );
        // After a paragraph, a blank line first so the line is a list of its own.
        let out = add_review(HAND_WRITTEN, "002-queries/paginate", &h).unwrap();
        assert_eq!(out, HAND_WRITTEN.replace("Some prose.\n", &format!("Some prose.\n\n{}\n", h.line())));
        let reviews = visible_reviews(&out);
        assert_eq!(reviews.len(), 1);
        assert!(heading_names(&reviews[0].0, "002-queries/paginate"));
        assert_eq!(add_review(HAND_WRITTEN, "002-queries/other", &h), Err(ReviewProblem::NoSection));
        // The heading must name the eval as a whole word.
        assert!(!heading_names("### 1) 000-fundamentals/003-cronsx — X", "000-fundamentals/003-crons"));
    }

    #[test]
    fn the_line_goes_above_a_closing_rule() {
        let text = "### 2. 003-crons (000-fundamentals) -- deploy\n\nProse.\n\n---\n\n### 3. x (y)\n";
        let h = human(Classification::KnownGap, "n", None);
        assert_eq!(
            add_review(text, "000-fundamentals/003-crons", &h).unwrap(),
            text.replace("Prose.\n", &format!("Prose.\n\n{}\n", h.line()))
        );
    }

    #[test]
    fn a_report_ending_without_a_newline_gets_one_before_the_line() {
        let text = "### 1) a/b — MODEL_FAULT\n\n- **Reasoning**: x";
        let h = human(Classification::KnownGap, "n", None);
        assert_eq!(add_review(text, "a/b", &h).unwrap(), format!("{text}\n{}\n", h.line()));
    }
}
