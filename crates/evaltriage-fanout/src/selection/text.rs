//! Text helpers of the selection: cutting to a size with the cut marked, clipping long lines,
//! fences, and sharing a budget (escape sequences are removed by `core::text::strip_controls`).

use std::collections::HashMap;

use super::tokens::estimate_tokens;

/// A single line longer than this is clipped (minified code, base64 blobs).
pub(crate) const MAX_LINE_CHARS: usize = 400;
/// How many times a line (with its numbers normalised) may repeat before repeats are cut.
pub(crate) const MAX_REPEATS: usize = 2;

pub(crate) use evaltriage_core::text::cut_marker;

/// Estimated tokens of lines joined by line breaks.
pub(crate) fn estimate_tokens_of_lines(lines: &[String]) -> usize {
    estimate_tokens(&lines.join("\n")) + 1
}

/// Characters of `text` that cost about `tokens`, by the text's own characters per token.
pub(crate) fn chars_for_tokens(text: &str, tokens: usize) -> usize {
    let cost = estimate_tokens(text).max(1);
    let chars = text.chars().count();
    (tokens as u128 * chars as u128 / cost as u128) as usize
}

/// Cuts a text to about `max_tokens`, keeping whole lines from the start and `tail_share` of the
/// room from the end, with a marker where lines were cut. Returns the text and the lines cut.
pub(crate) fn cut_to_tokens(text: &str, max_tokens: usize, tail_share: f32) -> (String, usize) {
    if estimate_tokens(text) <= max_tokens {
        return (text.to_owned(), 0);
    }
    cut_to(text, chars_for_tokens(text, max_tokens), tail_share)
}

/// Cuts a text to about `max_chars`, keeping whole lines from the start and `tail_share` of the
/// room from the end, with a marker where lines were cut. Returns the text and the lines cut.
pub(crate) fn cut_to(text: &str, max_chars: usize, tail_share: f32) -> (String, usize) {
    if text.chars().count() <= max_chars {
        return (text.to_owned(), 0);
    }
    let lines: Vec<&str> = text.lines().collect();
    let room = max_chars.saturating_sub(30);
    let tail_room = (room as f32 * tail_share) as usize;
    let head_room = room - tail_room;
    let mut head = 0;
    let mut used = 0;
    while head < lines.len() && used + lines[head].chars().count() < head_room {
        used += lines[head].chars().count() + 1;
        head += 1;
    }
    let mut tail = 0;
    used = 0;
    while tail < lines.len() - head && used + lines[lines.len() - 1 - tail].chars().count() < tail_room {
        used += lines[lines.len() - 1 - tail].chars().count() + 1;
        tail += 1;
    }
    let cut = lines.len() - head - tail;
    if cut == 0 {
        return (text.to_owned(), 0);
    }
    let mut out: Vec<String> = lines[..head].iter().map(|l| (*l).to_owned()).collect();
    if head == 0 && head_room > 0 {
        // One long first line (a paragraph, minified code): keep its start rather than nothing.
        out.push(clip_chars(lines[0], head_room));
        out.push(cut_marker(cut - 1));
    } else {
        out.push(cut_marker(cut));
    }
    out.extend(lines[lines.len() - tail..].iter().map(|l| (*l).to_owned()));
    (out.join("\n") + "\n", cut)
}

/// Splits `budget` over items of `(size, weight)`: an item smaller than its weighted share gets
/// its size and the rest is shared again among the others.
pub(crate) fn water_fill(items: &[(usize, usize)], budget: usize) -> Vec<usize> {
    let mut shares = vec![0; items.len()];
    let mut open: Vec<usize> = (0..items.len()).collect();
    let mut remaining = budget;
    loop {
        let total_weight: usize = open.iter().map(|&i| items[i].1.max(1)).sum();
        if open.is_empty() || total_weight == 0 {
            return shares;
        }
        let fits: Vec<usize> =
            open.iter().copied().filter(|&i| items[i].0 <= remaining * items[i].1.max(1) / total_weight).collect();
        if fits.is_empty() {
            for &i in &open {
                shares[i] = remaining * items[i].1.max(1) / total_weight;
            }
            return shares;
        }
        for i in fits {
            shares[i] = items[i].0;
            remaining -= items[i].0;
            open.retain(|&j| j != i);
        }
    }
}

/// Lines that repeat (numbers aside) more than [`MAX_REPEATS`] times are cut, runs of blank lines
/// collapse to one, long lines are clipped. Returns the lines kept (with cut markers) and the
/// number of lines cut.
pub(crate) fn drop_repeats(lines: &[String]) -> (Vec<String>, usize) {
    let mut out: Vec<String> = Vec::new();
    let mut seen: HashMap<String, usize> = HashMap::new();
    let (mut pending, mut cut_total) = (0, 0);
    for line in lines {
        let count = seen.entry(normalise_line(line)).or_insert(0);
        *count += 1;
        if !line.trim().is_empty() && *count > MAX_REPEATS {
            pending += 1;
            cut_total += 1;
            continue;
        }
        if line.trim().is_empty() && out.last().is_none_or(|l| l.trim().is_empty()) {
            continue;
        }
        if pending > 0 {
            out.push(cut_marker(pending));
            pending = 0;
        }
        out.push(clip_chars(line, MAX_LINE_CHARS));
    }
    if pending > 0 {
        out.push(cut_marker(pending));
    }
    (out, cut_total)
}

/// A line with digit runs collapsed and whitespace trimmed: the key repeats are counted by.
pub(crate) fn normalise_line(line: &str) -> String {
    evaltriage_core::text::collapse_digit_runs(line.trim())
}

pub(crate) fn clip_chars(line: &str, max: usize) -> String {
    let n = line.chars().count();
    if n <= max {
        line.to_owned()
    } else {
        let kept: String = line.chars().take(max).collect();
        format!("{kept} [... {} chars cut ...]", n - max)
    }
}

/// Fences untrusted text (the one copy is in core, which the MCP server shares).
pub use evaltriage_core::text::fence;

/// An inline code span for one line of untrusted text, with a backtick run longer than any inside.
pub(crate) fn inline_code(text: &str) -> String {
    let longest = text.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let ticks = "`".repeat(longest + 1);
    if text.starts_with('`') || text.ends_with('`') {
        format!("{ticks} {text} {ticks}")
    } else {
        format!("{ticks}{text}{ticks}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_fence(text: &str, expected_ticks: usize) {
        let fenced = fence(text, "ts");
        let ticks = fenced.chars().take_while(|&c| c == '`').count();
        assert_eq!(ticks, expected_ticks, "{fenced}");
        assert!(fenced.ends_with(&format!("{}\n", "`".repeat(expected_ticks))));
    }

    #[test]
    fn fences_outgrow_backtick_runs() {
        check_fence("plain", 3);
        check_fence("a ``` b", 4);
        check_fence("`````", 6);
    }

    #[test]
    fn cut_keeps_head_and_tail() {
        let text: String = (0..100).map(|i| format!("line {i}\n")).collect();
        let (out, cut) = cut_to(&text, 200, 0.25);
        assert!(out.starts_with("line 0\n"));
        assert!(out.contains("line 99"));
        assert!(out.contains(&format!("[... {cut} lines cut ...]")));
        assert!(out.chars().count() <= 200 + 10, "{}", out.len());
        let (out, _) = cut_to_tokens(&text, 60, 0.0);
        assert!(estimate_tokens(&out) <= 70, "{}", estimate_tokens(&out));
    }

    #[test]
    fn a_long_first_line_is_clipped_not_dropped() {
        let text = format!("{}\nshort\n", "word ".repeat(200));
        let (out, _) = cut_to(&text, 200, 0.0);
        assert!(out.starts_with("word word"), "{out}");
        assert!(out.contains("chars cut ...]") && out.contains("[... 1 line cut ...]"), "{out}");
    }

    #[test]
    fn water_fill_gives_small_items_their_size() {
        assert_eq!(water_fill(&[(10, 1), (1000, 1)], 500), vec![10, 490]);
        assert_eq!(water_fill(&[(1000, 1), (1000, 3)], 400), vec![100, 300]);
        assert_eq!(water_fill(&[(5, 1), (6, 1)], 100), vec![5, 6]);
    }
}
