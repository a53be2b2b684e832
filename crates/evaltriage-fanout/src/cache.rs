//! The verdict cache: one small JSON file per verdict, keyed by a hash of (prompt version, LLM
//! model, rendered evidence), written atomically (temporary file, then rename).
//!
//! Every file passes through the redaction layer and keeps no invisible character raw
//! (`evaltriage_core::text::escape_invisible_in_json`). Only `Done` verdicts are stored. A cache that cannot be read or written is a warning in the
//! log, never a failed analysis.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// The largest cache entry read (one verdict is a few KiB; a synthesis a few more).
const MAX_ENTRY_BYTES: u64 = 1024 * 1024;

use evaltriage_core::{Classification, TokenUsage, Verdict, VerdictOrigin, VerdictStatus};
use serde::{Deserialize, Serialize};
use tokio::io::AsyncWriteExt as _;

use crate::Case;
use crate::rules::base_verdict;

/// Bumped when the file format changes; older files are then ignored.
const FORMAT: u32 = 1;

/// The cache key of one analysis: 64 hex characters.
pub fn cache_key(prompt_version: &str, model: &str, evidence: &str) -> String {
    let mut hasher = blake3::Hasher::new();
    for part in [prompt_version, model, evidence] {
        hasher.update(&(part.len() as u64).to_le_bytes());
        hasher.update(part.as_bytes());
    }
    hasher.finalize().to_hex().to_string()
}

/// The on-disk form of a cached verdict (private wire format).
#[derive(Debug, Serialize, Deserialize)]
struct CachedVerdict {
    format: u32,
    model: String,
    eval_path: String,
    classification: String,
    error: String,
    reasoning: String,
    model_snippet: Option<String>,
    expected_snippet: Option<String>,
    confidence: Option<f32>,
    retry_count: u32,
    /// The answer's tokens when it came through the Batch API: the batch engine's writing of the
    /// run reports them (a later cache hit spends nothing and reports none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    batch_tokens: Option<[u64; 2]>,
}

/// A cache directory.
/// The `kind` of a cached synthesis entry.
const SYNTHESIS_KIND: &str = "synthesis";

/// A cached cross-cutting synthesis.
#[derive(Debug, Serialize, Deserialize)]
struct CachedSynthesis {
    format: u32,
    kind: String,
    model: String,
    text: String,
    /// Bullets the validation dropped before the text was cached.
    #[serde(default)]
    dropped_bullets: usize,
    /// As for a verdict: the answer's tokens when it came through the Batch API.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    batch_tokens: Option<[u64; 2]>,
}

fn batch_tokens(tokens: Option<TokenUsage>) -> Option<[u64; 2]> {
    tokens.map(|t| [t.prompt, t.completion])
}

fn tokens_of(stored: Option<[u64; 2]>) -> TokenUsage {
    stored.map_or_else(TokenUsage::default, |[prompt, completion]| TokenUsage { prompt, completion })
}

#[derive(Debug, Clone)]
pub(crate) struct Cache {
    dir: PathBuf,
}

static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

impl Cache {
    pub(crate) fn new(dir: &Path) -> Self {
        Self { dir: dir.to_path_buf() }
    }

    fn path(&self, key: &str) -> PathBuf {
        self.dir.join(format!("{key}.json"))
    }

    /// A cache entry's bytes, read like any file evaltriage does not own: a regular file only
    /// (never blocking on a pipe), at most [`MAX_ENTRY_BYTES`], never through a link out of the
    /// cache folder. Anything else is a miss.
    fn read_entry(&self, key: &str) -> Option<Vec<u8>> {
        evaltriage_core::fsread::read_regular_under(&self.dir, &self.path(key), MAX_ENTRY_BYTES).ok()
    }

    /// The stored verdict for `case`, with origin `Cache`, or `None`.
    pub(crate) async fn get(&self, key: &str, case: &Case) -> Option<Verdict> {
        let bytes = self.read_entry(key)?;
        Self::verdict_of(key, &bytes, case)
    }

    /// [`Self::get`] for callers outside the runtime (estimates, which spend nothing on a hit).
    pub(crate) fn get_blocking(&self, key: &str, case: &Case) -> Option<Verdict> {
        let bytes = self.read_entry(key)?;
        Self::verdict_of(key, &bytes, case).map(|v| Verdict { tokens: TokenUsage::default(), ..v })
    }

    fn verdict_of(key: &str, bytes: &[u8], case: &Case) -> Option<Verdict> {
        let cached: CachedVerdict = match serde_json::from_slice(bytes) {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(key, error = %e, "ignoring an unreadable cache entry");
                return None;
            }
        };
        if cached.format != FORMAT || cached.eval_path != case.failure.eval_path.as_str() {
            return None;
        }
        let classification: Classification = cached.classification.parse().ok()?;
        let mut v = base_verdict(&case.failure, VerdictStatus::Done, VerdictOrigin::Cache { model: cached.model });
        v.classification = Some(classification);
        v.error = cached.error;
        v.reasoning = cached.reasoning;
        v.model_snippet = cached.model_snippet;
        v.expected_snippet = cached.expected_snippet;
        v.confidence = cached.confidence;
        v.retry_count = cached.retry_count;
        v.tokens = tokens_of(cached.batch_tokens);
        Some(v)
    }

    /// A cached synthesis text (the key covers the prompt version, the model and the verdicts),
    /// the bullets its validation dropped, and its tokens when it came through the Batch API.
    pub(crate) fn get_synthesis_blocking(&self, key: &str) -> Option<(String, usize, TokenUsage)> {
        let bytes = self.read_entry(key)?;
        match serde_json::from_slice::<CachedSynthesis>(&bytes) {
            Ok(c) if c.format == FORMAT && c.kind == SYNTHESIS_KIND => {
                Some((c.text, c.dropped_bullets, tokens_of(c.batch_tokens)))
            }
            Ok(_) => None,
            Err(e) => {
                tracing::warn!(key, error = %e, "ignoring an unreadable cache entry");
                None
            }
        }
    }

    /// Stores a synthesis; `batch`: the tokens of an answer that came through the Batch API.
    pub(crate) async fn put_synthesis(
        &self,
        key: &str,
        model: &str,
        text: &str,
        dropped_bullets: usize,
        batch: Option<TokenUsage>,
    ) {
        let cached = CachedSynthesis {
            format: FORMAT,
            kind: SYNTHESIS_KIND.to_owned(),
            model: model.to_owned(),
            text: text.to_owned(),
            dropped_bullets,
            batch_tokens: batch_tokens(batch),
        };
        if let Err(e) = self.write_atomically(key, &cached).await {
            tracing::warn!(dir = %self.dir.display(), error = %e, "could not write a cache entry");
        }
    }

    /// Stores a verdict; `batch`: it came through the Batch API, and its tokens are kept.
    pub(crate) async fn put(&self, key: &str, model: &str, verdict: &Verdict, batch: bool) {
        let (VerdictStatus::Done, Some(classification), VerdictOrigin::Llm { .. }) =
            (verdict.status, verdict.classification, &verdict.origin)
        else {
            return;
        };
        let cached = CachedVerdict {
            format: FORMAT,
            model: model.to_owned(),
            eval_path: verdict.eval_path.as_str().to_owned(),
            classification: classification.as_str().to_owned(),
            error: verdict.error.clone(),
            reasoning: verdict.reasoning.clone(),
            model_snippet: verdict.model_snippet.clone(),
            expected_snippet: verdict.expected_snippet.clone(),
            confidence: verdict.confidence,
            retry_count: verdict.retry_count,
            batch_tokens: batch_tokens(batch.then_some(verdict.tokens)),
        };
        if let Err(e) = self.write_atomically(key, &cached).await {
            tracing::warn!(dir = %self.dir.display(), error = %e, "could not write a cache entry");
        }
    }

    async fn write_atomically(&self, key: &str, cached: &impl Serialize) -> std::io::Result<()> {
        tokio::fs::create_dir_all(&self.dir).await?;
        // Never through a link: a `.cache` linked elsewhere would put the files there.
        if tokio::fs::symlink_metadata(&self.dir).await?.file_type().is_symlink() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("{} is a link; the cache is never written through one", self.dir.display()),
            ));
        }
        let text = serde_json::to_string_pretty(cached).map_err(std::io::Error::other)?;
        // Redacted as JSON (the layer finds a secret in its escaped forms too), and with the
        // characters nobody sees in an editor (C1 controls, bidi overrides) escaped.
        let text = evaltriage_core::redact::redact(&text).into_owned();
        let bytes = evaltriage_core::text::escape_invisible_in_json(text);
        let n = TEMP_COUNTER.fetch_add(1, Ordering::Relaxed);
        let tmp = self.dir.join(format!(".{key}.{}.{n}.tmp", std::process::id()));
        // A new file, never one (or a link) someone left at the temporary name.
        let mut file = tokio::fs::OpenOptions::new().write(true).create_new(true).open(&tmp).await?;
        file.write_all(bytes.as_bytes()).await?;
        file.flush().await?;
        drop(file);
        match tokio::fs::rename(&tmp, self.path(key)).await {
            Ok(()) => Ok(()),
            Err(e) => {
                let _ = tokio::fs::remove_file(&tmp).await;
                Err(e)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_separate_their_parts() {
        assert_ne!(cache_key("ab", "c", "d"), cache_key("a", "bc", "d"));
        assert_eq!(cache_key("v", "m", "e"), cache_key("v", "m", "e"));
        assert_eq!(cache_key("v", "m", "e").len(), 64);
    }
}
