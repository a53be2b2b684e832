//! GAPS.txt bullets (the benchmark's list of an eval's known gaps, before 2026-02-27): which are
//! unresolved and about this eval, and which one matches the failure's own text.

use std::collections::HashSet;

/// The unresolved bullets of a GAPS.txt that is about this eval, continuation lines joined. A
/// file whose header names another eval (`mutations, patch_nested:`) does not apply; a file
/// without a header applies.
pub fn unresolved_gaps(gaps: &str, eval_path: &str) -> Vec<String> {
    let mut lines = gaps.lines().filter(|l| !l.trim().is_empty()).peekable();
    if let Some(header) = lines.peek().filter(|l| !l.trim_start().starts_with('-') && l.trim_end().ends_with(':')) {
        if !header_matches(header, eval_path) {
            return vec![];
        }
        lines.next();
    }
    // A bullet starts at column 0 with `- ` or `* `; indented lines continue it, except nested
    // bullets (`  - detail`), which are commentary on it.
    let mut bullets: Vec<String> = Vec::new();
    let mut in_nested = false;
    for line in lines {
        if line.starts_with("- ") || line.starts_with("* ") {
            bullets.push(line[2..].trim().to_owned());
            in_nested = false;
        } else if line.starts_with(char::is_whitespace) && !bullets.is_empty() {
            let t = line.trim();
            if t.starts_with("- ") || t.starts_with("* ") {
                in_nested = true;
            } else if !in_nested {
                if let Some(last) = bullets.last_mut() {
                    last.push(' ');
                    last.push_str(t);
                }
            }
        }
    }
    bullets
        .into_iter()
        .filter(|b| !b.is_empty() && !b.to_ascii_lowercase().starts_with("(resolved)"))
        .map(|b| if b.chars().count() > 300 { b.chars().take(297).collect::<String>() + "..." } else { b })
        .collect()
}

/// The unresolved GAPS.txt bullet about this eval that best matches the failure's text (its error,
/// failing tests, the file and the code at the error), if one matches: it shares a distinctive
/// term with it (an identifier such as `fetchAndSave` or `sentAt`, a lint rule, an error code, a
/// file name), or at least two ordinary words that are not everyday words of errors and bullets.
pub fn matching_gap(gaps: &str, eval_path: &str, failure_text: &str) -> Option<String> {
    let failure_lower = failure_text.to_lowercase();
    let failure_words: HashSet<String> = words(&failure_lower).map(stem).collect();
    let mut best: Option<(usize, String)> = None;
    for bullet in unresolved_gaps(gaps, eval_path) {
        let (mut strong, mut plain) = (0, HashSet::new());
        for term in terms(&bullet) {
            if is_distinctive(term) {
                if failure_lower.contains(&term.to_lowercase()) {
                    strong += 1;
                }
            } else {
                let word = stem(term.to_lowercase());
                if word.len() >= 4 && !STOPWORDS.contains(&word.as_str()) && failure_words.contains(&word) {
                    plain.insert(word);
                }
            }
        }
        let score = 3 * strong + plain.len();
        if (strong > 0 || plain.len() >= 2) && best.as_ref().is_none_or(|(s, _)| score > *s) {
            best = Some((score, bullet));
        }
    }
    best.map(|(_, b)| b)
}

/// Words too common in bullets and errors to tie one to the other.
const STOPWORDS: &[&str] = &[
    "about", "after", "also", "argument", "because", "before", "could", "does", "error", "eval", "expect", "fail",
    "file", "from", "function", "have", "instead", "into", "just", "model", "only", "return", "should", "some",
    "still", "test", "than", "that", "their", "them", "then", "there", "they", "this", "type", "value", "what", "when",
    "which", "while", "with", "would",
];

/// The terms of a text: runs of letters, digits and `_ @ / - . $`, trimmed of edge punctuation.
fn terms(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| !(c.is_alphanumeric() || matches!(c, '_' | '@' | '/' | '-' | '.' | '$')))
        .map(|t| t.trim_matches(|c: char| matches!(c, '.' | '-' | '/' | '$')))
        .filter(|t| !t.is_empty())
}

/// Lowercase runs of letters.
fn words(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !c.is_alphabetic()).filter(|w| !w.is_empty()).map(str::to_owned)
}

/// A crude stem: `orders`, `ordered`, `ordering` -> `order`.
fn stem(word: String) -> String {
    for suffix in ["ing", "ed", "es", "s"] {
        if let Some(stem) = word.strip_suffix(suffix).filter(|s| s.len() >= 4) {
            return stem.to_owned();
        }
    }
    word
}

/// An identifier, rule, code or file name rather than an ordinary word: `sentAt`, `TS7022`,
/// `by_channel`, `@typescript-eslint/no-misused-promises`, `no-explicit-any`, `index.ts`.
fn is_distinctive(term: &str) -> bool {
    let inner_upper = term.chars().skip(1).any(char::is_uppercase) && term.chars().any(char::is_lowercase);
    let letters_and_digits = term.chars().any(char::is_alphabetic) && term.chars().any(|c| c.is_ascii_digit());
    let joined = term.contains(['_', '@', '/', '.']) || term.split('-').filter(|p| p.len() >= 2).count() >= 2;
    term.len() >= 4 && (inner_upper || letters_and_digits || joined)
}

/// Whether a GAPS.txt header such as `mutations, patch_nested:` names this eval
/// (`003-mutations/003-patch_nested`).
fn header_matches(header: &str, eval_path: &str) -> bool {
    let strip =
        |s: &str| s.trim().trim_start_matches(|c: char| c.is_ascii_digit()).trim_start_matches('-').to_lowercase();
    let header = header.trim().trim_end_matches(':');
    let (category, name) = eval_path.split_once('/').unwrap_or(("", eval_path));
    let Some((h_cat, h_name)) = header.split_once(',') else {
        return strip(header) == strip(name);
    };
    strip(h_name) == strip(name) && (category.is_empty() || strip(h_cat) == strip(category))
}
