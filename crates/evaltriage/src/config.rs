//! Configuration: flags > environment > `evaltriage.toml` > defaults. The only place, with the
//! CLI definitions, that reads the environment.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::cli::SourceArgs;
use crate::exit::CliError;

/// The file read when `--config` is not given, if it exists in the current folder.
pub const DEFAULT_CONFIG_FILE: &str = "evaltriage.toml";
/// The largest config file read.
const MAX_CONFIG_BYTES: u64 = 1024 * 1024;

/// `evaltriage.toml`. Every key is optional.
#[derive(Default, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct FileConfig {
    /// The file it was read from (`None`: no file).
    #[serde(skip)]
    pub path: Option<PathBuf>,
    pub convex_url: Option<String>,
    pub convex_key: Option<String>,
    pub store: Option<PathBuf>,
    pub reports_dir: Option<PathBuf>,
    pub llm_base_url: Option<String>,
    pub llm_model: Option<String>,
    pub openai_api_key: Option<String>,
    pub concurrency: Option<u8>,
    pub max_retries: Option<u32>,
    pub budget_tokens: Option<u64>,
    /// Seconds the whole command may take (`--deadline`).
    pub deadline_secs: Option<u64>,
    /// Seconds to wait for one LLM answer (`--llm-timeout`).
    pub llm_timeout_secs: Option<u64>,
    /// `max_completion_tokens` of each LLM request (`--max-answer-tokens`).
    pub max_answer_tokens: Option<u32>,
    pub prompts_dir: Option<PathBuf>,
    /// The largest blob downloaded from Convex, in MiB (1–4096); a larger one is a per-eval problem.
    pub max_blob_mb: Option<u64>,
    /// ESLint rules the benchmark has relaxed: a lint failure only on these is OVERLY_STRICT
    /// (rules classifier). Replaces the built-in list.
    pub relaxed_lint_rules: Option<Vec<String>>,
}

impl fmt::Debug for FileConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FileConfig")
            .field("convex_url", &self.convex_url)
            .field("convex_key", &self.convex_key.as_ref().map(|_| "<redacted>"))
            .field("store", &self.store)
            .field("reports_dir", &self.reports_dir)
            .field("llm_base_url", &self.llm_base_url)
            .field("llm_model", &self.llm_model)
            .field("openai_api_key", &self.openai_api_key.as_ref().map(|_| "<redacted>"))
            .finish_non_exhaustive()
    }
}

impl FileConfig {
    /// Reads `--config FILE` (which must exist) or `./evaltriage.toml` (when it exists).
    pub fn load(explicit: Option<&Path>) -> Result<Self, CliError> {
        let (path, required) = match explicit {
            Some(p) => (p.to_path_buf(), true),
            None => (PathBuf::from(DEFAULT_CONFIG_FILE), false),
        };
        // A regular file only, and a small one: a named pipe or a device named as the config never
        // hangs or floods the process.
        let text = match evaltriage_core::fsread::read_regular(&path, MAX_CONFIG_BYTES) {
            Ok(bytes) => String::from_utf8(bytes)
                .map_err(|_| CliError::usage(format!("config {}: not UTF-8 text", path.display())))?,
            Err(e) if e.is_not_found() && !required => return Ok(Self::default()),
            Err(e) => return Err(CliError::usage(format!("cannot read config {}: {}", path.display(), e.kind))),
        };
        let mut config: Self = toml::from_str(&text).map_err(|e| {
            let first = e.message().lines().next().unwrap_or("invalid TOML").to_owned();
            let key = e.span().and_then(|span| key_at(&text, span.start));
            match key {
                Some(key) if !first.contains(&format!("`{key}`")) => {
                    CliError::usage(format!("config {}: key {key}: {first}", path.display()))
                }
                _ => CliError::usage(format!("config {}: {first}", path.display())),
            }
        })?;
        config.path = Some(path);
        Ok(config)
    }

    /// An error about a value this file set, naming the file and the key.
    pub fn invalid(&self, key: &str, problem: impl fmt::Display) -> CliError {
        let file = self.path.as_deref().unwrap_or(Path::new(DEFAULT_CONFIG_FILE)).display();
        CliError::usage(format!("config {file}: key {key}: {problem}"))
    }
}

/// The key of the `key = value` line at byte `offset` of a TOML text.
fn key_at(text: &str, offset: usize) -> Option<String> {
    let start = text.get(..offset)?.rfind('\n').map_or(0, |i| i + 1);
    let line = text[start..].lines().next()?;
    let (key, _) = line.split_once('=')?;
    let key = key.trim().trim_matches('"');
    (!key.is_empty() && !key.starts_with('[')).then(|| key.to_owned())
}

/// The settings every command shares, after layering.
#[derive(Clone)]
pub struct Settings {
    pub convex_url: String,
    pub convex_key: Option<String>,
    pub store: Option<PathBuf>,
    pub reports_dir: PathBuf,
    /// `--config FILE` when given, so printed commands can carry it.
    pub config_file: Option<PathBuf>,
    pub json: bool,
    /// `max_blob_mb` from the config file, checked when a Convex source is built.
    pub max_blob_mb: Option<u64>,
}

impl fmt::Debug for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Settings")
            .field("convex_url", &self.convex_url)
            .field("convex_key", &self.convex_key.as_ref().map(|_| "<redacted>"))
            .field("store", &self.store)
            .field("reports_dir", &self.reports_dir)
            .field("config_file", &self.config_file)
            .field("json", &self.json)
            .finish()
    }
}

impl Settings {
    /// Layers the options of a command (flags and environment, as clap read them) over the
    /// config file. `source` is `None` for commands that read no run; `reports_dir` is `None`
    /// for commands that do not read or write reports.
    pub fn resolve(
        source: &SourceArgs,
        reports_dir: Option<&Path>,
        file: &FileConfig,
        config_file: Option<&Path>,
        json: bool,
    ) -> Self {
        if let Some(key) = &source.convex_key {
            evaltriage_core::redact::register_secret(key);
        }
        Self {
            convex_url: source
                .convex_url
                .clone()
                .or_else(|| file.convex_url.clone())
                .unwrap_or_else(|| evaltriage_core::source::DEFAULT_CONVEX_URL.to_owned()),
            convex_key: source.convex_key.clone().or_else(|| file.convex_key.clone()).filter(|k| !k.is_empty()),
            store: source.store.clone().or_else(|| file.store.clone()),
            reports_dir: reports_dir
                .map(Path::to_path_buf)
                .or_else(|| file.reports_dir.clone())
                .unwrap_or_else(|| "reports".into()),
            config_file: config_file.map(Path::to_path_buf),
            json,
            max_blob_mb: file.max_blob_mb,
        }
    }
}

/// The LLM call timeout and answer cap, from flag or environment (already in `flag`), else the
/// config file, else the defaults. Values from the file are checked like the flags.
pub fn llm_limits(
    timeout_flag: Option<u64>,
    answer_tokens_flag: Option<u32>,
    file: &FileConfig,
) -> Result<(Duration, u32), CliError> {
    let timeout = match timeout_flag.or(file.llm_timeout_secs) {
        Some(secs) if (1..=3_600).contains(&secs) => Duration::from_secs(secs),
        Some(secs) => return Err(CliError::usage(format!("llm timeout must be from 1 to 3600 seconds, got {secs}"))),
        None => evaltriage_fanout::DEFAULT_CALL_TIMEOUT,
    };
    let tokens = match answer_tokens_flag.or(file.max_answer_tokens) {
        Some(n) if (200..=32_768).contains(&n) => n,
        Some(n) => return Err(CliError::usage(format!("max answer tokens must be from 200 to 32768, got {n}"))),
        None => evaltriage_fanout::DEFAULT_ANSWER_TOKENS,
    };
    Ok((timeout, tokens))
}

/// Reads `OPENAI_API_KEY` (empty counts as unset). The only place the key is read.
/// Registers the environment's secrets (`OPENAI_API_KEY`, `CONVEX_DEPLOY_KEY`, the nightly's
/// `EVALTRIAGE_NOTIFY_WEBHOOK`) with the redaction
/// layer; called first thing, before any output.
pub fn register_env_secrets() {
    for var in ["OPENAI_API_KEY", "CONVEX_DEPLOY_KEY", "EVALTRIAGE_NOTIFY_WEBHOOK"] {
        if let Ok(secret) = std::env::var(var) {
            evaltriage_core::redact::register_secret(&secret);
        }
    }
}

/// Registers the config file's secrets with the redaction layer. A `--convex-key` flag is
/// registered by [`Settings::resolve`].
pub fn register_file_secrets(file: &FileConfig) {
    for secret in [&file.convex_key, &file.openai_api_key].into_iter().flatten() {
        evaltriage_core::redact::register_secret(secret);
    }
}

pub fn openai_api_key_from_env() -> Option<String> {
    std::env::var("OPENAI_API_KEY").ok().filter(|k| !k.trim().is_empty())
}
