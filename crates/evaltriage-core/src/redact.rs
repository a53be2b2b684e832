//! The one redaction layer: every string that leaves the process (terminal, logs, reports, LLM
//! prompts, the verdict cache) passes through [`redact`], which hides every secret this process was
//! configured with (registered once, at start-up, with [`register_secret`]) and the userinfo of
//! any URL (`http://user:pass@host` becomes `http://***@host`).
//!
//! The secrets are process-wide on purpose: a secret echoed back by a server (a Convex deployment
//! that puts the `Authorization` header into an error message, say) can reach any output, so the
//! layer must not depend on which code path the text took.

use std::borrow::Cow;
use std::sync::RwLock;

/// What a secret or a URL's userinfo is replaced with.
pub const MASK: &str = "***";

/// Secrets shorter than this are not registered: masking every `ab` of a text would destroy it,
/// and a two-character key is not a secret anyone relies on.
const MIN_SECRET_CHARS: usize = 4;

static SECRETS: RwLock<Vec<String>> = RwLock::new(Vec::new());

/// Adds a secret (an API key, a deploy key) to the process-wide list [`redact`] hides. Blank or
/// very short values are ignored; registering the same secret twice is harmless.
pub fn register_secret(secret: &str) {
    let secret = secret.trim();
    if secret.chars().count() < MIN_SECRET_CHARS {
        return;
    }
    let mut secrets = SECRETS.write().unwrap_or_else(std::sync::PoisonError::into_inner);
    if !secrets.iter().any(|s| s == secret) {
        secrets.push(secret.to_owned());
        // Longest first, so a secret that contains another is hidden whole.
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
    }
}

/// The text with every registered secret and every URL's userinfo replaced by [`MASK`].
pub fn redact(text: &str) -> Cow<'_, str> {
    let secrets = SECRETS.read().unwrap_or_else(std::sync::PoisonError::into_inner);
    let mut out = Cow::Borrowed(text);
    for secret in secrets.iter() {
        if out.contains(secret.as_str()) {
            out = Cow::Owned(out.replace(secret.as_str(), MASK));
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
}
