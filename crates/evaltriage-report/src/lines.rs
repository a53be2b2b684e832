//! A line scanner that knows which lines sit inside fenced code blocks, for the few places that
//! look at a report line by line (the machine-readable block, the **Actions taken** section)
//! without a full markdown parse.

use std::ops::Range;

/// One line of a markdown text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Line<'a> {
    /// Byte offset of the line's first character.
    pub start: usize,
    /// The line without its line ending.
    pub text: &'a str,
    /// Whether the line is ordinary markdown: not inside, opening or closing a fenced code block.
    pub outside_fence: bool,
}

/// The lines of `text`, each marked as outside or inside a fenced code block.
pub(crate) fn lines(text: &str) -> impl Iterator<Item = Line<'_>> {
    let mut open: Option<(char, usize)> = None;
    let mut offset = 0;
    text.split_inclusive('\n').map(move |raw| {
        let start = offset;
        offset += raw.len();
        let line = raw.trim_end_matches(['\n', '\r']);
        let outside_fence = match open {
            Some((ch, len)) => {
                if closes_fence(line, ch, len) {
                    open = None;
                }
                false
            }
            None => match opens_fence(line) {
                Some(fence) => {
                    open = Some(fence);
                    false
                }
                None => true,
            },
        };
        Line { start, text: line, outside_fence }
    })
}

/// Appends a closing fence when `text` ends inside a fenced code block, so that what follows it
/// (the next section, the machine-readable block) stays markdown.
pub(crate) fn close_open_fence(text: &mut String) {
    let mut open: Option<(char, usize)> = None;
    for line in text.lines() {
        open = match open {
            Some((ch, len)) if closes_fence(line, ch, len) => None,
            Some(fence) => Some(fence),
            None => opens_fence(line),
        };
    }
    if let Some((ch, len)) = open {
        if !text.ends_with('\n') {
            text.push('\n');
        }
        text.extend(std::iter::repeat_n(ch, len));
        text.push('\n');
    }
}

fn fence_run(line: &str) -> Option<(char, usize, &str)> {
    let indent = line.len() - line.trim_start_matches(' ').len();
    if indent > 3 {
        return None;
    }
    let rest = &line[indent..];
    let ch = rest.chars().next().filter(|c| matches!(c, '`' | '~'))?;
    let len = rest.chars().take_while(|&c| c == ch).count();
    (len >= 3).then(|| (ch, len, &rest[len..]))
}

fn opens_fence(line: &str) -> Option<(char, usize)> {
    let (ch, len, info) = fence_run(line)?;
    if ch == '`' && info.contains('`') {
        return None;
    }
    Some((ch, len))
}

fn closes_fence(line: &str, ch: char, open_len: usize) -> bool {
    matches!(fence_run(line), Some((c, len, rest)) if c == ch && len >= open_len && rest.trim().is_empty())
}

/// The first line of the machine-readable block.
pub(crate) const BLOCK_MARKER: &str = "<!-- evaltriage:v";

/// The byte range of the body of the report's **Actions taken** section: from the line after its
/// `## Actions taken` heading (any level-2 heading starting with "Actions taken" or "Action
/// taken") to the next level-1 or level-2 heading, the machine-readable block, or the end.
pub(crate) fn actions_taken_range(text: &str) -> Option<Range<usize>> {
    let mut start = None;
    for line in lines(text).filter(|l| l.outside_fence) {
        let t = line.text;
        match start {
            None => {
                if let Some(title) = t.strip_prefix("## ") {
                    let title = title.trim().to_lowercase();
                    if title.starts_with("actions taken") || title.starts_with("action taken") {
                        start = Some(
                            line.start
                                + line.text.len()
                                + usize::from(text[line.start + line.text.len()..].starts_with('\n')),
                        );
                    }
                }
            }
            Some(s) => {
                if t.starts_with("# ") || t.starts_with("## ") || t.starts_with(BLOCK_MARKER) {
                    return Some(s..line.start);
                }
            }
        }
    }
    start.map(|s| s..text.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fenced_lines_are_marked() {
        let text = "a\n````ts\n```\n## inside\n````\n## outside\n~~~\nx\n~~~\n";
        let outside: Vec<&str> = lines(text).filter(|l| l.outside_fence).map(|l| l.text).collect();
        assert_eq!(outside, ["a", "## outside"]);
        let starts: Vec<usize> = lines("ab\ncd\n").map(|l| l.start).collect();
        assert_eq!(starts, [0, 3]);
    }

    #[test]
    fn open_fences_are_closed() {
        let mut text = "a\n~~~~\nx\n".to_owned();
        close_open_fence(&mut text);
        assert_eq!(text, "a\n~~~~\nx\n~~~~\n");
        let mut text = "```\nx\n```".to_owned();
        close_open_fence(&mut text);
        assert_eq!(text, "```\nx\n```");
    }

    #[test]
    fn the_actions_taken_section_ends_at_the_next_section_or_the_block() {
        let text =
            "# T\n\n## Actions taken\n\n- did x\n### sub\n```\n## not a heading\n```\n<!-- evaltriage:v1 {} -->\n";
        let r = actions_taken_range(text).unwrap();
        assert_eq!(&text[r], "\n- did x\n### sub\n```\n## not a heading\n```\n");
        let text = "## Actions Taken in This Session\n1. a\n## Genuine faults\n";
        assert_eq!(&text[actions_taken_range(text).unwrap()], "1. a\n");
        assert_eq!(actions_taken_range("## Other\n"), None);
        assert_eq!(&"## Actions taken"[actions_taken_range("## Actions taken").unwrap()], "");
    }
}
