//! Reading and cleaning foreign text (step outputs, failure reasons, logs): the decisive error
//! line of an output, the terminal sanitizer, and the condenser that cuts long or repetitive
//! output with marked cuts. One copy of each, used by every crate that shows such text.

use crate::model::is_step_header;

/// The longest decisive error kept, in characters.
const DECISIVE_MAX_CHARS: usize = 300;

/// The decisive error of a step's output, on one line: the first line that carries an error —
/// never the step's generic header (`Error: Failed to deploy:`), a bare `name:` line
/// (`convex dev:`), progress chatter (`- Preparing Convex functions...`) or a line with no
/// content — joined with the next line when that one carries the detail (a deploy's
/// `400 Bad Request: ...` after `... push deployment config to http://...`). Without any error
/// line, the first line with content. At most 300 characters.
pub fn decisive_error(text: &str) -> String {
    let lines: Vec<&str> = text.lines().map(str::trim).filter(|l| has_content(l)).collect();
    let picked = match lines.iter().position(|l| reads_like_error(l)) {
        Some(i) => {
            let next = lines.get(i + 1).filter(|n| !is_summary_line(n) && !reads_like_error(n) && !n.starts_with('-'));
            match next {
                Some(n) if lines[i].ends_with(':') || lines[i].contains("http") => format!("{} {n}", lines[i]),
                _ => lines[i].to_owned(),
            }
        }
        None => lines
            .first()
            .map_or_else(|| text.trim().lines().next().unwrap_or("").trim().to_owned(), |l| (*l).to_owned()),
    };
    if picked.chars().count() > DECISIVE_MAX_CHARS {
        picked.chars().take(DECISIVE_MAX_CHARS - 3).collect::<String>() + "..."
    } else {
        picked
    }
}

/// Whether a (trimmed) line says something: not empty, not the step's generic header, not a bare
/// label such as `convex dev:` or `Error:`, not only punctuation or box-drawing.
fn has_content(line: &str) -> bool {
    if line.is_empty() || is_step_header(line) {
        return false;
    }
    if !line.chars().any(char::is_alphanumeric) {
        return false;
    }
    !is_bare_label(line)
}

/// `convex dev:`, `Error:`, `✖ Error:`, `stderr:` — a name and a colon, nothing said yet.
fn is_bare_label(line: &str) -> bool {
    let Some(head) = line.strip_suffix(':') else { return false };
    let head = head.trim_start_matches(|c: char| !c.is_alphanumeric()).trim();
    let words = head.split_whitespace().count();
    words <= 3 && !head.chars().any(|c| c.is_ascii_digit() || matches!(c, '\'' | '"' | '`' | '(' | '/' | '.'))
}

/// Whether a line reads like an error (and is not a closing summary).
pub fn reads_like_error(line: &str) -> bool {
    let l = line.to_ascii_lowercase();
    !is_summary_line(line)
        && has_content(line.trim())
        && (l.contains("error")
            || l.starts_with('✖')
            || l.starts_with('×')
            || l.contains("failed")
            || l.contains("exception")
            || l.contains("assertion"))
}

/// ESLint's closing `✖ 2 problems (2 errors, 0 warnings)`.
fn is_summary_line(line: &str) -> bool {
    line.starts_with('✖') && line.contains("problem")
}

/// Removes what must never reach a terminal, a prompt or a report from foreign text: ANSI/VT
/// escape sequences (CSI, OSC, DCS, PM, APC and two-character escapes, 7- and 8-bit), C0/C1
/// control characters but newline and tab, and the bidirectional-override characters that make
/// text read differently from what it is. `\r\n` becomes `\n`; a lone `\r` (a progress bar's
/// overwrite) becomes `\n`. The one copy every crate uses.
pub fn strip_controls(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\u{1b}' => skip_escape_sequence(&mut chars),
            '\r' => {
                if chars.peek() != Some(&'\n') {
                    out.push('\n');
                }
            }
            '\n' | '\t' => out.push(c),
            // CSI as a single C1 character.
            '\u{9b}' => skip_csi_body(&mut chars),
            c if c.is_control() => {}
            c if is_bidi_control(c) => {}
            c => out.push(c),
        }
    }
    out
}

/// The bidirectional marks, embeddings, overrides and isolates (U+061C, U+200E, U+200F,
/// U+202A–U+202E, U+2066–U+2069): invisible, they make text read differently from what it is.
pub fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{61c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// Serialised JSON with every character a reader cannot see written as a `\uXXXX` escape: the C1
/// controls (U+0080–U+009F, NEL among them), DEL, the line and paragraph separators and the bidi
/// controls ([`is_bidi_control`]). serde_json escapes only C0; the others pass raw and reach
/// whoever opens the file. In valid JSON such characters occur only inside strings, where the
/// escape means the same character, so the value is unchanged.
pub fn escape_invisible_in_json(json: String) -> String {
    // C0 is escaped by serde_json inside strings; outside them it is the layout's whitespace.
    let invisible = |c: char| {
        (c.is_control() && u32::from(c) >= 0x7f) || is_bidi_control(c) || matches!(c, '\u{2028}' | '\u{2029}')
    };
    if !json.chars().any(invisible) {
        return json;
    }
    let mut out = String::with_capacity(json.len() + 16);
    for c in json.chars() {
        if invisible(c) {
            out.push_str(&format!("\\u{:04x}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    out
}

fn skip_escape_sequence(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) {
    match chars.peek() {
        Some('[') => {
            chars.next();
            skip_csi_body(chars);
        }
        Some(']' | 'P' | '^' | '_' | 'X') => {
            // OSC / DCS / PM / APC: up to BEL or ST (ESC \).
            chars.next();
            while let Some(c) = chars.next() {
                if c == '\u{7}' || c == '\u{9c}' {
                    break;
                }
                if c == '\u{1b}' {
                    if chars.peek() == Some(&'\\') {
                        chars.next();
                    }
                    break;
                }
            }
        }
        Some(_) => {
            chars.next();
        }
        None => {}
    }
}

fn skip_csi_body(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) {
    // Parameter and intermediate bytes, then one final byte in 0x40..=0x7e.
    for c in chars.by_ref() {
        if ('\u{40}'..='\u{7e}').contains(&c) || !('\u{20}'..='\u{3f}').contains(&c) {
            break;
        }
    }
}

/// How [`condense`] cuts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Condense {
    /// The most lines kept.
    pub max_lines: usize,
    /// A line seen this many times already is cut from then on (digits compared as one).
    pub max_repeats: usize,
}

impl Default for Condense {
    fn default() -> Self {
        Self { max_lines: 200, max_repeats: 3 }
    }
}

/// The marker that stands where lines were cut.
pub fn cut_marker(n: usize) -> String {
    format!("[... {n} line{} cut ...]", if n == 1 { "" } else { "s" })
}

/// Cuts long or repetitive output the way the report does: a line seen `max_repeats` times (its
/// digits compared as one, so `line 12` and `line 13` repeat) is cut from then on, and past
/// `max_lines` the middle is cut, keeping the head and the tail. Every cut is marked with
/// `[... N lines cut ...]`. Returns the text and how many lines were cut.
pub fn condense(text: &str, how: Condense) -> (String, usize) {
    enum Piece<'a> {
        Line(&'a str),
        Cut(usize),
    }
    let mut seen: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    let mut pieces: Vec<Piece<'_>> = Vec::new();
    for line in text.lines() {
        let count = seen.entry(collapse_digit_runs(line.trim())).or_insert(0);
        *count += 1;
        if !line.trim().is_empty() && *count > how.max_repeats {
            match pieces.last_mut() {
                Some(Piece::Cut(n)) => *n += 1,
                _ => pieces.push(Piece::Cut(1)),
            }
        } else {
            pieces.push(Piece::Line(line));
        }
    }
    let max = how.max_lines.max(2);
    if pieces.len() > max {
        let head = max * 2 / 3;
        let tail = max - head - 1;
        let middle: usize =
            pieces[head..pieces.len() - tail].iter().map(|p| if let Piece::Cut(n) = p { *n } else { 1 }).sum();
        pieces.splice(head..pieces.len() - tail, [Piece::Cut(middle)]);
    }
    let cut = pieces.iter().map(|p| if let Piece::Cut(n) = p { *n } else { 0 }).sum();
    let lines: Vec<String> = pieces
        .iter()
        .map(|p| match p {
            Piece::Line(l) => (*l).to_owned(),
            Piece::Cut(n) => cut_marker(*n),
        })
        .collect();
    (lines.join("\n"), cut)
}

/// Fences untrusted text with a backtick fence longer than any backtick run inside it.
pub fn fence(text: &str, info: &str) -> String {
    let mut longest = 0;
    let mut run = 0;
    for c in text.chars() {
        if c == '`' {
            run += 1;
            longest = longest.max(run);
        } else {
            run = 0;
        }
    }
    let ticks = "`".repeat((longest + 1).max(3));
    let body = if text.ends_with('\n') { text.to_owned() } else { format!("{text}\n") };
    format!("{ticks}{info}\n{body}{ticks}\n")
}

/// Replaces each run of ASCII digits (numbers, `line:col`, percentages) with one `#`, so texts that
/// differ only in numbers compare equal.
pub fn collapse_digit_runs(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut in_digits = false;
    for c in text.chars() {
        if c.is_ascii_digit() {
            if !in_digits {
                out.push('#');
            }
            in_digits = true;
        } else {
            in_digits = false;
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_decisive(text: &str, expected: &str) {
        assert_eq!(decisive_error(text), expected, "{text:?}");
    }

    #[test]
    fn the_decisive_error_skips_headers_labels_and_chatter() {
        check_decisive(
            "Error: Failed to deploy:\nconvex dev:\n- Preparing Convex functions...\nconvex/a.ts:3:1 - error TS2304: Cannot find name 'x'.",
            "convex/a.ts:3:1 - error TS2304: Cannot find name 'x'.",
        );
        check_decisive(
            "Error: Failed to deploy:\nconvex dev:\n✖ Error: Unable to push deployment config to http://127.0.0.1:3210\n400 Bad Request: IndexFieldsContainCreationTime: bad index",
            "✖ Error: Unable to push deployment config to http://127.0.0.1:3210 400 Bad Request: IndexFieldsContainCreationTime: bad index",
        );
        check_decisive(
            "Error: Failed to lint code:\n\n/x/convex/a.ts\n  4:7  error  'x' is never reassigned  prefer-const\n\n✖ 1 problem (1 error, 0 warnings)",
            "4:7  error  'x' is never reassigned  prefer-const",
        );
        check_decisive("tests failed (40%)", "tests failed (40%)");
        check_decisive("Error:\n----\nsomething odd happened", "something odd happened");
        check_decisive("", "");
        assert_eq!(decisive_error(&"x".repeat(1000)).chars().count(), 300);
    }

    #[test]
    fn invisible_characters_are_escaped_in_json() {
        let text = "a\u{85}b\u{9f}c\u{80}\u{7f}\u{202e}d\u{2066}\u{200f}\u{61c}\u{2028}e\n";
        let json = escape_invisible_in_json(serde_json::to_string(&serde_json::json!({ "k": text })).unwrap());
        assert_eq!(json, r#"{"k":"a\u0085b\u009fc\u0080\u007f\u202ed\u2066\u200f\u061c\u2028e\n"}"#);
        assert!(json.is_ascii());
        let back: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(back["k"], text);
        assert_eq!(strip_controls("x\u{61c}y"), "xy");
        // Pretty-printed JSON keeps its layout.
        let pretty = serde_json::to_string_pretty(&serde_json::json!({ "k": text, "n": [1] })).unwrap();
        let escaped = escape_invisible_in_json(pretty);
        assert!(escaped.contains("\n  \"k\""), "{escaped}");
        assert_eq!(serde_json::from_str::<serde_json::Value>(&escaped).unwrap()["k"], text);
    }

    #[test]
    fn foreign_text_loses_escapes_and_controls() {
        assert_eq!(strip_controls("\u{1b}[31mred\u{1b}[0m ok"), "red ok");
        assert_eq!(strip_controls("a\u{1b}]0;title\u{7}b"), "ab");
        assert_eq!(strip_controls("a\u{1b}]8;;http://x\u{1b}\\link\u{1b}]8;;\u{1b}\\b"), "alinkb");
        assert_eq!(strip_controls("bell\u{7}\rcr\u{0}nul\tkeep\nline"), "bell\ncrnul\tkeep\nline");
        assert_eq!(strip_controls("\u{9b}2Jclear"), "clear");
        assert_eq!(strip_controls("a\r\nb"), "a\nb");
        assert_eq!(strip_controls("x\u{0}y\u{202e}z"), "xyz");
    }

    #[test]
    fn repetitive_and_long_output_is_cut_with_marks() {
        let repeated = "header\n".to_owned() + &"error at line 12: boom\n".repeat(3000) + "end";
        let (text, cut) = condense(&repeated, Condense::default());
        assert_eq!(cut, 2997);
        assert_eq!(
            text,
            "header\nerror at line 12: boom\nerror at line 12: boom\nerror at line 12: boom\n[... 2997 lines cut ...]\nend"
        );

        let long: String = (0..1000).map(|i| format!("distinct {}\n", "x".repeat(i % 50) + &i.to_string())).collect();
        let (text, cut) = condense(&long, Condense { max_lines: 30, max_repeats: 1000 });
        assert_eq!(text.lines().count(), 30);
        assert_eq!(cut, 971);
        assert!(text.contains("[... 971 lines cut ...]"), "{text}");
        assert!(text.starts_with("distinct 0\n"));
        assert!(text.ends_with(&format!("distinct {}999", "x".repeat(999 % 50))));
    }
}
