//! The one redaction layer: every string that leaves the process (terminal, logs, reports, LLM
//! prompts, the verdict cache, the site) passes through [`redact`], which hides every secret this
//! process was configured with (registered once, at start-up, with [`register_secret`]) and the
//! userinfo of any URL (`http://user:pass@host` becomes `http://***@host`).
//!
//! The secrets are process-wide on purpose: a secret echoed back by a server (a Convex deployment
//! that puts the `Authorization` header into an error message, say) can reach any output, so the
//! layer must not depend on which code path the text took.
//!
//! A secret is found in every form our outputs can give it, with one matcher rather than one rule
//! per output: each character of the secret may appear as itself or in any of the textual
//! encodings an escaper produces — a backslash before ASCII punctuation (markdown, JSON's `\"`,
//! `\\` and `\/`), JSON's `\n` `\t` `\r` `\b` `\f` and `\uXXXX` (surrogate pairs included), HTML's
//! named (`&amp;` `&lt;` `&gt;` `&quot;` `&apos;`) and numeric (`&#39;`, `&#x27;`) entities and URL
//! percent-encoding — nested twice (the machine block's JSON of a markdown or HTML form,
//! `\\|` or `\u0026lt;`). Whitespace in a secret matches any run of whitespace (a table cell
//! collapses a newline to a space) and a control character in it may be missing (escapers strip
//! them). So a deploy key `prod:x|y` is hidden in a markdown table (`prod:x\|y`), in JSON, and in
//! the site's HTML alike, whichever escaper ran first.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::RwLock;

/// What a secret or a URL's userinfo is replaced with.
pub const MASK: &str = "***";

/// Secrets shorter than this are not registered: masking every `ab` of a text would destroy it,
/// and a two-character key is not a secret anyone relies on.
const MIN_SECRET_CHARS: usize = 4;

/// How many encodings may be nested around one character (JSON of a markdown escape: two).
const NESTING: u8 = 2;

static SECRETS: RwLock<Vec<Vec<char>>> = RwLock::new(Vec::new());

/// Adds a secret (an API key, a deploy key) to the process-wide list [`redact`] hides. Blank or
/// very short values are ignored; registering the same secret twice is harmless.
pub fn register_secret(secret: &str) {
    let secret = secret.trim();
    if secret.chars().count() < MIN_SECRET_CHARS {
        return;
    }
    let chars: Vec<char> = secret.chars().collect();
    let mut secrets = SECRETS.write().unwrap_or_else(std::sync::PoisonError::into_inner);
    if !secrets.contains(&chars) {
        secrets.push(chars);
        // Longest first, so a secret that contains another is hidden whole.
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
    }
}

/// The text with every registered secret, in any of its escaped forms, and every URL's userinfo
/// replaced by [`MASK`].
pub fn redact(text: &str) -> Cow<'_, str> {
    let secrets = SECRETS.read().unwrap_or_else(std::sync::PoisonError::into_inner);
    let mut out = Cow::Borrowed(text);
    for secret in secrets.iter() {
        if let Some(masked) = mask_secret(&out, secret) {
            out = Cow::Owned(masked);
        }
    }
    match hide_userinfo(&out) {
        Some(hidden) => Cow::Owned(hidden),
        None => out,
    }
}

/// Foreign text made safe for a terminal or a log: redacted, then stripped of escape sequences
/// and control characters ([`crate::text::strip_controls`]).
pub fn for_terminal(text: &str) -> String {
    crate::text::strip_controls(&redact(text))
}

/// The text with every occurrence of the secret, in any form, masked; `None` when there is none.
///
/// One pass over the text, matching every start at once: the state "the secret's first `i`
/// characters end at byte `p`" is kept once, with the earliest start reaching it, so no text (a
/// flood of backslashes, say) makes the work grow beyond the text's length times the secret's.
fn mask_secret(text: &str, secret: &[char]) -> Option<String> {
    let first = *secret.first()?;
    let bytes = text.as_bytes();
    // Byte position -> (characters matched, earliest start) of the partial matches ending there.
    let mut pending: BTreeMap<usize, Vec<(usize, usize)>> = BTreeMap::new();
    // Whole matches: start -> the furthest end.
    let mut found: BTreeMap<usize, usize> = BTreeMap::new();
    for p in 0..=bytes.len() {
        if !text.is_char_boundary(p) {
            continue;
        }
        let mut states = pending.remove(&p).unwrap_or_default();
        let candidate = p < bytes.len()
            && (matches!(bytes[p], b'\\' | b'&' | b'%')
                || text[p..].starts_with(first)
                || (first.is_whitespace() && bytes[p].is_ascii_whitespace()));
        if candidate {
            states.push((0, p));
        }
        let mut k = 0;
        while k < states.len() {
            let (i, start) = states[k];
            k += 1;
            if i == secret.len() {
                if p > start {
                    let end = found.entry(start).or_insert(p);
                    *end = (*end).max(p);
                }
                continue;
            }
            let c = secret[i];
            if c.is_control() && !c.is_whitespace() && !states.iter().any(|&(j, _)| j == i + 1) {
                // Escapers strip control characters: the character may be missing.
                states.push((i + 1, start));
            }
            let mut ends = Vec::new();
            char_forms(text, p, c, NESTING, &mut ends);
            for end in ends {
                let slot = pending.entry(end).or_default();
                match slot.iter_mut().find(|(j, _)| *j == i + 1) {
                    Some(existing) => existing.1 = existing.1.min(start),
                    None => slot.push((i + 1, start)),
                }
            }
        }
    }
    if found.is_empty() {
        return None;
    }
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    for (start, end) in found {
        if start < copied {
            continue;
        }
        // A match that starts right after an escaping backslash takes it along, so the mask
        // never leaves a dangling `\` (an invalid escape in JSON).
        let from = if backslashes_before(bytes, start) % 2 == 1 { start - 1 } else { start };
        out.push_str(&text[copied..from.max(copied)]);
        out.push_str(MASK);
        copied = end;
    }
    out.push_str(&text[copied..]);
    Some(out)
}

fn backslashes_before(bytes: &[u8], at: usize) -> usize {
    bytes[..at].iter().rev().take_while(|&&b| b == b'\\').count()
}

/// Every position where one form of `c` starting at `pos` ends.
fn char_forms(text: &str, pos: usize, c: char, depth: u8, ends: &mut Vec<usize>) {
    let rest = &text[pos..];
    let Some(here) = rest.chars().next() else { return };
    if here == c {
        ends.push(pos + c.len_utf8());
    }
    if c.is_whitespace() {
        // Any run of whitespace, raw or escaped, stands for one whitespace character.
        let mut at = pos;
        loop {
            let mut next = Vec::new();
            for w in [' ', '\n', '\t', '\r'] {
                char_forms_exact(text, at, w, depth, &mut next);
            }
            if let Some(raw) = text[at..].chars().next().filter(|w| w.is_whitespace()) {
                next.push(at + raw.len_utf8());
            }
            let Some(&end) = next.iter().max() else { break };
            ends.push(end);
            at = end;
        }
        return;
    }
    char_forms_exact(text, pos, c, depth, ends);
}

/// The encoded forms of `c` at `pos` (not `c` itself).
fn char_forms_exact(text: &str, pos: usize, c: char, depth: u8, ends: &mut Vec<usize>) {
    let rest = &text[pos..];
    if rest.starts_with(c) {
        ends.push(pos + c.len_utf8());
    }
    // Every encoded form starts with one of these.
    if depth == 0 || !matches!(rest.as_bytes().first(), Some(b'\\' | b'&' | b'%')) {
        return;
    }
    if let Some(end) = decoded_numeric(rest, c) {
        ends.push(pos + end);
    }
    // An HTML numeric entity, its `&` possibly escaped again (`\u0026#39;`).
    let mut ampersands = Vec::new();
    char_forms_exact(text, pos, '&', depth - 1, &mut ampersands);
    for amp in ampersands {
        if let Some(len) = numeric_entity(&text[amp..], c) {
            ends.push(amp + len);
        }
    }
    let short = match c {
        '\n' => Some('n'),
        '\t' => Some('t'),
        '\r' => Some('r'),
        '\u{8}' => Some('b'),
        '\u{c}' => Some('f'),
        c if c.is_ascii_punctuation() => Some(c),
        _ => None,
    };
    if let Some(short) = short {
        sequence_forms(text, pos, &['\\', short], depth - 1, ends);
    }
    let entity: &[char] = match c {
        '&' => &['&', 'a', 'm', 'p', ';'],
        '<' => &['&', 'l', 't', ';'],
        '>' => &['&', 'g', 't', ';'],
        '"' => &['&', 'q', 'u', 'o', 't', ';'],
        '\'' => &['&', 'a', 'p', 'o', 's', ';'],
        _ => &[],
    };
    if !entity.is_empty() {
        sequence_forms(text, pos, entity, depth - 1, ends);
    }
}

/// Where the characters of `seq`, each in any form up to `depth`, end one after another.
fn sequence_forms(text: &str, pos: usize, seq: &[char], depth: u8, ends: &mut Vec<usize>) {
    let mut at = vec![pos];
    for &c in seq {
        let mut next = Vec::new();
        for &p in &at {
            char_forms_exact(text, p, c, depth, &mut next);
        }
        next.sort_unstable();
        next.dedup();
        if next.is_empty() {
            return;
        }
        at = next;
    }
    ends.extend(at);
}

/// The length of an HTML numeric entity's rest (`#39;`, `#x27;`) for `c` at the start of `rest`.
fn numeric_entity(rest: &str, c: char) -> Option<usize> {
    let body = rest.strip_prefix('#')?;
    let semi = body.find(';').filter(|&i| i > 0 && i <= 10)?;
    let digits = &body[..semi];
    let value = match digits.strip_prefix(['x', 'X']) {
        Some(hex) => u32::from_str_radix(hex, 16).ok()?,
        None => digits.parse::<u32>().ok()?,
    };
    (value == u32::from(c)).then_some(1 + semi + 1)
}

/// The length of a numeric form of `c` at the start of `rest`: JSON's `\uXXXX` (a surrogate pair
/// for characters beyond the BMP) or URL percent-encoding.
fn decoded_numeric(rest: &str, c: char) -> Option<usize> {
    let b = rest.as_bytes();
    match b.first()? {
        b'\\' => {
            let mut units = [0u16; 2];
            let n = c.encode_utf16(&mut units).len();
            let mut at = 0;
            for unit in &units[..n] {
                let hex = rest.get(at..at + 6)?;
                if !hex.starts_with("\\u") || u16::from_str_radix(&hex[2..], 16).ok()? != *unit {
                    return None;
                }
                at += 6;
            }
            Some(at)
        }
        b'%' => {
            let mut utf8 = [0u8; 4];
            let encoded = c.encode_utf8(&mut utf8).as_bytes();
            let mut at = 0;
            for &byte in encoded {
                let hex = rest.get(at..at + 3)?;
                if !hex.starts_with('%') || u8::from_str_radix(&hex[1..], 16).ok()? != byte {
                    return None;
                }
                at += 3;
            }
            Some(at)
        }
        _ => None,
    }
}

/// Replaces the userinfo of every `scheme://user[:pass]@host` in the text; `None` when there is
/// none.
fn hide_userinfo(text: &str) -> Option<String> {
    let mut out: Option<String> = None;
    let mut copied = 0;
    let mut search = 0;
    while let Some(found) = text[search..].find("://") {
        let authority_start = search + found + 3;
        let rest = &text[authority_start..];
        let authority_len = rest
            .find(|c: char| {
                matches!(c, '/' | '?' | '#' | '"' | '\'' | '<' | '>' | '`' | ')' | ']') || c.is_whitespace()
            })
            .unwrap_or(rest.len());
        let authority = &rest[..authority_len];
        if let Some(at) = authority.rfind('@').filter(|&at| at > 0 && authority[..at] != *MASK) {
            let buf = out.get_or_insert_with(|| String::with_capacity(text.len()));
            buf.push_str(&text[copied..authority_start]);
            buf.push_str(MASK);
            copied = authority_start + at;
        }
        search = authority_start + authority_len.max(1).min(rest.len());
        if search >= text.len() {
            break;
        }
    }
    out.map(|mut buf| {
        buf.push_str(&text[copied..]);
        buf
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn userinfo_is_hidden_wherever_a_url_appears() {
        assert_eq!(redact("see http://user:pass@host:3210/api"), "see http://***@host:3210/api");
        assert_eq!(redact("https://token@example.com"), "https://***@example.com");
        assert_eq!(redact("a https://a:b@x.y/p?q=c@d and ftp://u@h"), "a https://***@x.y/p?q=c@d and ftp://***@h");
        assert_eq!(redact("no url here, mail me@example.com"), "no url here, mail me@example.com");
        assert_eq!(redact("http://***@host"), "http://***@host");
        assert_eq!(redact("trailing ://"), "trailing ://");
        assert_eq!(redact("ünï://ü:ß@h/é"), "ünï://***@h/é");
    }

    #[test]
    fn registered_secrets_are_hidden_and_short_ones_ignored() {
        register_secret("prod:redact-test-key-1|abcdef");
        register_secret("  ");
        register_secret("ab");
        let text = "Authorization: Convex prod:redact-test-key-1|abcdef was rejected (ab)";
        assert_eq!(redact(text), "Authorization: Convex *** was rejected (ab)");
        assert!(matches!(redact("nothing secret"), Cow::Borrowed(_)));
    }

    /// A markdown escaper like the report's: ASCII punctuation that means something gets a
    /// backslash, `<`, `>` and `&` become entities, whitespace runs collapse to one space.
    fn markdown_cell(text: &str) -> String {
        let line = text.split_whitespace().collect::<Vec<_>>().join(" ");
        let mut out = String::new();
        for c in line.chars() {
            match c {
                '<' => out.push_str("&lt;"),
                '>' => out.push_str("&gt;"),
                '&' => out.push_str("&amp;"),
                '\\' | '`' | '*' | '[' | ']' | '|' | '!' | '~' | '_' | '#' => {
                    out.push('\\');
                    out.push(c);
                }
                c => out.push(c),
            }
        }
        out
    }

    fn html(text: &str) -> String {
        text.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
            .replace('\'', "&#39;")
    }

    /// A JSON string's body, without its quotes.
    fn json(text: &str) -> String {
        let quoted = serde_json::to_string(text).unwrap();
        quoted[1..quoted.len() - 1].to_owned()
    }

    /// The machine block's JSON: `<`, `>` and `&` as `\u` escapes, so the comment cannot close.
    fn block_json(text: &str) -> String {
        json(text).replace('<', "\\u003c").replace('>', "\\u003e").replace('&', "\\u0026")
    }

    #[test]
    fn every_escaped_form_of_a_secret_is_hidden() {
        let key = "sk-esc|`&[]\"\\<>'*_~!#%/\nend\u{7}\u{e9}\u{1f600}";
        register_secret(key);
        let forms = [
            key.to_owned(),
            markdown_cell(key),
            html(key),
            json(key),
            block_json(key),
            json(&markdown_cell(key)),
            block_json(&markdown_cell(key)),
            block_json(&html(key)),
            html(&markdown_cell(key)),
            key.replace('\n', " "),
            percent_encoding::utf8_percent_encode(key, percent_encoding::NON_ALPHANUMERIC).to_string(),
            key.chars()
                .map(|c| format!("\\u{:04x}", u32::from(c)))
                .collect::<String>()
                .replace("\\u1f600", "\\ud83d\\ude00"),
            key.chars().map(|c| format!("&#{};", u32::from(c))).collect(),
            key.chars().map(|c| format!("&#X{:X};", u32::from(c))).collect(),
        ];
        for form in forms {
            assert_ne!(form, "");
            let text = format!("before {form} after");
            let redacted = redact(&text);
            assert_eq!(redacted, "before *** after", "form {form:?}");
        }
        // In JSON the mask keeps the document valid, even when the key's bytes start inside an
        // escape (`\nkey…` is a newline and `key…`, yet holds the bytes of `nkey…`).
        register_secret("nkey-after-a-newline");
        let doc = format!("{{\"reason\": \"{}\"}}", json("line\nkey-after-a-newline|x"));
        let redacted = redact(&doc);
        let value: serde_json::Value = serde_json::from_str(&redacted).unwrap();
        assert_eq!(value["reason"], "line***|x", "{redacted}");
    }

    #[test]
    fn a_hostile_text_cannot_make_the_matcher_slow() {
        register_secret("\\\\\\\\slow-key");
        register_secret("sk-an-ordinary-key-0123");
        // Text made of what every escaped form starts with, and a report-like text. The work must
        // grow with the text's length, not its square: four times the text takes well under
        // sixteen times as long. A ratio measured in one run, the best of three each (never a
        // wall-clock bound: the machine is shared).
        let best = |text: &str| {
            (0..3)
                .map(|_| {
                    let started = std::time::Instant::now();
                    assert_eq!(redact(text), text);
                    started.elapsed()
                })
                .min()
                .unwrap_or_default()
        };
        for unit in ["\\", "&", "%5C\\u0026", "| `eval` | \\| a\\_b &lt;x&gt; | sk-an | \n"] {
            let small = unit.repeat(5_000 / unit.len().max(1) + 1);
            let large = small.repeat(4);
            let ratio = best(&large).as_secs_f64() / best(&small).as_secs_f64().max(1e-6);
            assert!(ratio < 10.0, "4x the text took {ratio:.1}x as long for {:?}…", &small[..small.len().min(20)]);
        }
    }
}
