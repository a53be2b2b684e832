//! The CLI's side of configuration: reading `evaltriage.toml`, the environment's secrets, and
//! turning clap's options into the pipeline's, which layers them (flags > environment > config
//! file > defaults) in `evaltriage_pipeline::settings`. The only place, with the CLI definitions,
//! that reads the environment.

use std::path::{Path, PathBuf};

use evaltriage_pipeline::settings::DEFAULT_CONFIG_FILE;
use evaltriage_pipeline::{AnalysisOptions, FileConfig, SourceOptions};

use crate::cli::{AnalysisArgs, SourceArgs};
use crate::exit::CliError;

/// The largest config file read.
const MAX_CONFIG_BYTES: u64 = 1024 * 1024;

/// Reads `--config FILE` (which must exist) or `./evaltriage.toml` (when it exists).
pub fn load(explicit: Option<&Path>) -> Result<FileConfig, CliError> {
    let (path, required) = match explicit {
        Some(p) => (p.to_path_buf(), true),
        None => (PathBuf::from(DEFAULT_CONFIG_FILE), false),
    };
    // A regular file only, and a small one: a named pipe or a device named as the config never
    // hangs or floods the process.
    let text = match evaltriage_core::fsread::read_regular(&path, MAX_CONFIG_BYTES) {
        Ok(bytes) => String::from_utf8(bytes)
            .map_err(|_| CliError::usage(format!("config {}: not UTF-8 text", path.display())))?,
        Err(e) if e.is_not_found() && !required => return Ok(FileConfig::default()),
        Err(e) => return Err(CliError::usage(format!("cannot read config {}: {}", path.display(), e.kind))),
    };
    let mut config: FileConfig = toml::from_str(&text).map_err(|e| {
        // Never the value: a secret typed under the wrong key would be printed.
        let first = without_values(e.message().lines().next().unwrap_or("invalid TOML"));
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

/// The key of the `key = value` line at byte `offset` of a TOML text.
fn key_at(text: &str, offset: usize) -> Option<String> {
    let start = text.get(..offset)?.rfind('\n').map_or(0, |i| i + 1);
    let line = text[start..].lines().next()?;
    let (key, _) = line.split_once('=')?;
    let key = key.trim().trim_matches('"');
    (!key.is_empty() && !key.starts_with('[')).then(|| key.to_owned())
}

/// A TOML error message with every quoted value cut out.
fn without_values(message: &str) -> String {
    let mut out = String::new();
    let mut quoted = false;
    for c in message.chars() {
        if c == '"' {
            quoted = !quoted;
            out.push_str(if quoted { "\"…" } else { "\"" });
        } else if !quoted {
            out.push(c);
        }
    }
    out
}

/// Where runs are read from, as the flags and environment said.
pub fn source_options(source: &SourceArgs) -> SourceOptions {
    SourceOptions {
        convex_url: source.convex_url.clone(),
        convex_key: source.convex_key.clone(),
        store: source.store.clone(),
    }
}

/// The analysis options as the flags and environment said (the key from `OPENAI_API_KEY`).
pub fn analysis_options(args: &AnalysisArgs, budget_tokens: Option<u64>) -> AnalysisOptions {
    AnalysisOptions {
        llm_base_url: args.llm_base_url.clone(),
        llm_model: args.llm_model.clone(),
        api_key: openai_api_key_from_env(),
        classifier: args.classifier.map(Into::into),
        concurrency: args.concurrency,
        max_retries: args.max_retries,
        llm_timeout_secs: args.llm_timeout,
        max_answer_tokens: args.max_answer_tokens,
        deadline_secs: args.deadline,
        no_cache: args.no_cache,
        prompts_dir: args.prompts_dir.clone(),
        budget_tokens,
        reuse: args.reuse.map(Into::into),
        reuse_days: args.reuse_days,
    }
}

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
/// registered when the settings are built (`crate::settings_for`).
pub fn register_file_secrets(file: &FileConfig) {
    for secret in file.secrets() {
        evaltriage_core::redact::register_secret(secret);
    }
}

/// Reads `OPENAI_API_KEY` (empty counts as unset). The only place the key is read.
pub fn openai_api_key_from_env() -> Option<String> {
    std::env::var("OPENAI_API_KEY").ok().filter(|k| !k.trim().is_empty())
}
