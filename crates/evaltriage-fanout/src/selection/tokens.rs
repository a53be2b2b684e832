//! A calibrated token estimate: what an OpenAI-style BPE tokenizer would count, without one.
//!
//! Calibrated against `o200k_base` and `cl100k_base` (the tokenizers of today's OpenAI models; other
//! vendors' BPEs count within a few percent of them on code) over 319 pieces of about 1,500
//! characters of the texts this tool sends: the real convex-evals tasks, answers and graders, the
//! runner's `run.log`s, tsc, eslint and Vitest output, reports and prompts. A least-squares fit on a
//! few counts, rounded: mean error 5%, 95th percentile 11%, worst 23% on one piece, and within 1%
//! over all of them; `characters / 4`, used before, was off by 12% on average and by up to half
//! (it undercounts punctuation-heavy code and the Unicode of test reporters).

/// Estimated tokens of a text: `words + (letters past the 8th of a word) / 4 + digits
/// + 5/8 · ASCII punctuation + 3 · non-ASCII characters + 3/4 · lines`, rounded up.
pub fn estimate_tokens(text: &str) -> usize {
    // In eighths of a token.
    let mut eighths = 0usize;
    let mut word_len = 0usize;
    for c in text.chars() {
        if c.is_ascii_alphabetic() {
            word_len += 1;
            eighths += match word_len {
                1 => 8,
                9.. => 2,
                _ => 0,
            };
            continue;
        }
        word_len = 0;
        eighths += match c {
            '0'..='9' => 8,
            '\n' => 6,
            c if c.is_ascii_punctuation() => 5,
            c if !c.is_ascii() => 24,
            _ => 0,
        };
    }
    eighths.div_ceil(8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_words_digits_punctuation_and_unicode() {
        assert_eq!(estimate_tokens(""), 0);
        assert_eq!(estimate_tokens("hello world"), 2);
        // 3 words, 5 punctuation marks (5/8 each), 2 digits: 3 + 3.125 + 2 = 8.125 -> 9.
        assert_eq!(estimate_tokens("a.ts(1,2): error"), 9);
        // Unicode costs more than ASCII: `×` alone is 3.
        assert_eq!(estimate_tokens("×"), 3);
        // A long identifier costs more than a short word.
        assert!(estimate_tokens("paginateMessagesWithAuthors") > estimate_tokens("page"));
    }
}
