//! Small formatters shared by the sections: percentages, plurals, thousands, one-line reasoning.

use crate::render::escape::{one_line, truncate_chars};

/// The longest one-line reasoning shown in tables and lists.
const ONE_LINE_MAX: usize = 180;

/// The first sentence of a text, on one line and cut to [`ONE_LINE_MAX`] characters.
pub(super) fn first_sentence(text: &str) -> String {
    let line = one_line(text);
    let end = line.match_indices(". ").map(|(i, _)| i + 1).find(|&i| i >= 20).unwrap_or(line.len());
    truncate_chars(&line[..end], ONE_LINE_MAX)
}

pub(super) fn file_name(path: &std::path::Path) -> String {
    path.file_name().map_or_else(|| path.display().to_string(), |n| n.to_string_lossy().into_owned())
}

pub(super) fn percent(part: usize, whole: usize) -> String {
    if whole == 0 { "n/a".to_owned() } else { format!("{:.1}%", part as f64 * 100.0 / whole as f64) }
}

pub(super) fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

pub(super) fn plural_u64(n: u64) -> &'static str {
    if n == 1 { "" } else { "s" }
}

pub(super) fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_formatters() {
        assert_eq!(thousands(1234567), "1,234,567");
        assert_eq!(thousands(999), "999");
        assert_eq!(percent(55, 66), "83.3%");
        assert_eq!(percent(0, 0), "n/a");
    }

    #[test]
    fn one_line_reasoning_is_the_first_sentence() {
        assert_eq!(
            first_sentence("The model omitted the args object. It then retried.\nMore."),
            "The model omitted the args object."
        );
        assert_eq!(first_sentence("e.g. this. And that."), "e.g. this. And that.");
    }
}
