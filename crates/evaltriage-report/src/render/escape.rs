//! Making untrusted text safe to put in markdown: control and ANSI sequences removed, table cells
//! escaped, HTML neutralised, prose kept from opening headings or fences, and snippets fenced with
//! a fence no backtick run inside can close.
//!
//! Everything that reaches a report from a run, an LLM or a prior report goes through here: model
//! output under analysis is data, and must never change the report's structure. Every function
//! redacts first ([`evaltriage_core::redact`]), before any escaping changes how a secret is
//! spelled.

pub use evaltriage_core::text::strip_controls;

/// Foreign text redacted, then without controls: the first step of every escaper here.
fn clean(text: &str) -> String {
    strip_controls(&evaltriage_core::redact::redact(text))
}

/// One line of text: controls removed, every run of whitespace (newlines included) collapsed to
/// one space, trimmed.
pub fn one_line(text: &str) -> String {
    clean(text).split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Shortens to at most `max` characters, ending with `…` when something was cut.
pub fn truncate_chars(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
    out.truncate(out.trim_end().len());
    out.push('…');
    out
}

/// Inline text for headings, list items and table cells: one line, markdown punctuation that
/// could start emphasis, links, code or a table cell escaped, HTML neutralised.
pub fn inline(text: &str) -> String {
    let line = one_line(text);
    let chars: Vec<char> = line.chars().collect();
    let mut out = String::with_capacity(line.len() + 8);
    for (i, &c) in chars.iter().enumerate() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\\' | '`' | '*' | '[' | ']' | '|' | '!' | '~' => {
                out.push('\\');
                out.push(c);
            }
            '#' if i == 0 => out.push_str("\\#"),
            '_' => {
                // Underscores inside a word (`no_guidelines`) never make emphasis; keep them bare.
                let inside_word =
                    i > 0 && i + 1 < chars.len() && chars[i - 1].is_alphanumeric() && chars[i + 1].is_alphanumeric();
                if !inside_word {
                    out.push('\\');
                }
                out.push('_');
            }
            '&' => {
                // Keep `&` from forming an entity such as `&lt;` that would render as `<`.
                out.push_str("&amp;");
            }
            c => out.push(c),
        }
    }
    // A cell or list item starting with these would change the block type.
    if let Some(first) = out.chars().next()
        && matches!(first, '-' | '+' | '=')
    {
        out.insert(0, '\\');
    }
    out
}

/// A table cell: like [`inline`] (which already escapes `|` and removes newlines), with a
/// placeholder for an empty cell.
pub fn cell(text: &str) -> String {
    let s = inline(text);
    if s.is_empty() { "—".to_owned() } else { s }
}

/// An inline code span for short identifiers (paths, slugs); falls back to escaped text when the
/// text holds something a code span cannot show safely (`<`, a backtick, a pipe or a newline).
pub fn code(text: &str) -> String {
    let line = one_line(text);
    if line.is_empty() {
        return "—".to_owned();
    }
    if line.contains(['<', '`', '|', '&']) { inline(&line) } else { format!("`{line}`") }
}

/// Multi-line prose (reasoning): controls removed, HTML neutralised, and every line kept from
/// starting a heading, a fence, a quote, a list, an HTML block or an indented code block, so the
/// text cannot change the report's structure. Blank lines are kept as paragraph breaks.
pub fn prose(text: &str) -> String {
    prose_lines(text, false)
}

/// Like [`prose`], but a line that starts a bullet (`- `, `* `, `+ `) or numbered (`1. `) list
/// item stays a list item (an LLM's synthesis is a list); what follows the marker is escaped like
/// any prose line, so it cannot open another block.
pub fn prose_with_lists(text: &str) -> String {
    prose_lines(text, true)
}

fn prose_lines(text: &str, lists: bool) -> String {
    let cleaned = clean(text);
    let mut out = String::with_capacity(cleaned.len() + 16);
    let mut blank_run = 0;
    for raw in cleaned.lines() {
        let line = raw.trim();
        if line.is_empty() {
            blank_run += 1;
            if blank_run == 1 && !out.is_empty() {
                out.push('\n');
            }
            continue;
        }
        blank_run = 0;
        match list_marker(line).filter(|_| lists) {
            Some((marker, rest)) => {
                out.push_str(&marker);
                out.push(' ');
                out.push_str(&prose_line(rest));
            }
            None => out.push_str(&prose_line(line)),
        }
        out.push('\n');
    }
    while out.ends_with("\n\n") {
        out.pop();
    }
    out
}

/// One trimmed line of prose: HTML neutralised, and a first character that could open a block
/// escaped.
fn prose_line(line: &str) -> String {
    let mut escaped = line.trim().replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;");
    let first = escaped.chars().next().unwrap_or(' ');
    if matches!(first, '#' | '`' | '~' | '=' | '-' | '+' | '*' | '_' | '|' | '[' | '!' | '\\')
        || starts_like_ordered_list(&escaped)
    {
        escaped.insert(0, '\\');
    }
    escaped
}

/// A list item's marker (`-` for any bullet, `N.` for a numbered item) and the text after it;
/// `None` when the line is no list item or the item is empty.
fn list_marker(line: &str) -> Option<(String, &str)> {
    let (marker, rest) = if let Some(rest) = ["- ", "* ", "+ "].iter().find_map(|m| line.strip_prefix(m)) {
        ("-".to_owned(), rest)
    } else {
        let digits = line.bytes().take_while(u8::is_ascii_digit).count();
        if !(1..=9).contains(&digits) || !matches!(line.as_bytes().get(digits), Some(b'.' | b')')) {
            return None;
        }
        (format!("{}.", &line[..digits]), line[digits + 1..].strip_prefix(' ')?)
    };
    let rest = rest.trim_start();
    (!rest.is_empty()).then_some((marker, rest))
}

/// Text a person wrote for the report (the **Actions taken** section): kept as markdown — lists,
/// emphasis and fences work — but controls are removed, HTML is neutralised and headings are
/// escaped, so it cannot end its section or hide the machine-readable block.
pub fn hand_written(text: &str) -> String {
    let cleaned = clean(text);
    let mut out = String::with_capacity(cleaned.len() + 16);
    for line in cleaned.lines() {
        let mut escaped = line.replace('<', "&lt;");
        let indent = escaped.len() - escaped.trim_start().len();
        if escaped[indent..].starts_with('#') {
            escaped.insert(indent, '\\');
        }
        out.push_str(escaped.trim_end());
        out.push('\n');
    }
    crate::lines::close_open_fence(&mut out);
    out
}

fn starts_like_ordered_list(line: &str) -> bool {
    let digits = line.bytes().take_while(u8::is_ascii_digit).count();
    digits > 0 && matches!(line.as_bytes().get(digits), Some(b'.' | b')'))
}

/// A fenced code block holding `text` verbatim (controls removed), with a backtick fence longer
/// than any backtick run inside, so nothing in the text can close it early.
pub fn fenced(text: &str, info: &str) -> String {
    let body = clean(text);
    let body = body.trim_end_matches('\n');
    let longest = longest_run(body, '`');
    let fence = "`".repeat((longest + 1).max(3));
    let info: String = info.chars().filter(|c| c.is_ascii_alphanumeric()).collect();
    format!("{fence}{info}\n{body}\n{fence}\n")
}

fn longest_run(text: &str, wanted: char) -> usize {
    let mut longest = 0;
    let mut current = 0;
    for c in text.chars() {
        if c == wanted {
            current += 1;
            longest = longest.max(current);
        } else {
            current = 0;
        }
    }
    longest
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ansi_and_controls_are_removed() {
        assert_eq!(strip_controls("\u{1b}[31merror\u{1b}[0m: bad\u{7}"), "error: bad");
        assert_eq!(strip_controls("a\r\nb\rc"), "a\nb\nc");
        assert_eq!(strip_controls("\u{1b}]0;title\u{7}ok"), "ok");
        assert_eq!(strip_controls("x\u{0}y\u{202e}z\u{9b}1mw"), "xyzw");
        assert_eq!(strip_controls("tab\there"), "tab\there");
    }

    #[test]
    fn cells_cannot_break_a_table() {
        assert_eq!(cell("a | b\nc"), "a \\| b c");
        assert_eq!(cell(""), "—");
        assert_eq!(cell("<script>alert(1)</script>"), "&lt;script&gt;alert(1)&lt;/script&gt;");
        assert_eq!(cell("no_guidelines"), "no_guidelines");
        assert_eq!(cell("_emph_"), "\\_emph\\_");
        assert_eq!(cell("- item"), "\\- item");
    }

    #[test]
    fn prose_cannot_open_blocks() {
        let p = prose("fine\n## Actions taken\n```\n<!-- x -->\n    indented\n1. one");
        assert_eq!(p, "fine\n\\## Actions taken\n\\```\n&lt;!-- x --&gt;\nindented\n\\1. one\n");
    }

    #[test]
    fn a_synthesis_keeps_its_list_and_nothing_else() {
        let text = "Patterns:\n- No shared root cause: `a/b` and\n* two\n2. numbered\n- ## not a heading\n- - nested\n-\n- <b>x</b>\n## Actions taken";
        assert_eq!(
            prose_with_lists(text),
            "Patterns:\n- No shared root cause: `a/b` and\n- two\n2. numbered\n- \\## not a heading\n- \\- nested\n\\-\n- &lt;b&gt;x&lt;/b&gt;\n\\## Actions taken\n"
        );
        assert_eq!(prose("- item"), "\\- item\n", "reasoning is prose, not a list");
    }

    #[test]
    fn hand_written_text_keeps_its_markdown_but_not_its_headings() {
        assert_eq!(
            hand_written("- did `x`\n## Next\n  # h1\n<!-- evaltriage:v1 -->\n\u{1b}[1m**bold**"),
            "- did `x`\n\\## Next\n  \\# h1\n&lt;!-- evaltriage:v1 --&gt;\n**bold**\n".replace("--&gt;", "-->")
        );
    }

    #[test]
    fn fences_are_longer_than_any_backtick_run() {
        assert_eq!(fenced("let a = 1;", "ts"), "```ts\nlet a = 1;\n```\n");
        assert_eq!(fenced("a ```` b", ""), "`````\na ```` b\n`````\n");
        assert!(fenced("\u{1b}[1mbold\u{1b}[0m", "").contains("\nbold\n"));
    }

    #[test]
    fn code_spans_fall_back_to_escaped_text() {
        assert_eq!(code("000-fundamentals/003-crons"), "`000-fundamentals/003-crons`");
        assert_eq!(code("a`b"), "a\\`b");
        assert_eq!(truncate_chars("abcdef", 4), "abc…");
        assert_eq!(truncate_chars("abc", 4), "abc");
    }
}
