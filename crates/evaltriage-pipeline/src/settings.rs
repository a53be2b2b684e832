//! Settings, resolved once from flags > environment > config file > defaults. A face gathers what
//! the user said (the CLI from clap, which reads flags and the environment; the MCP server from
//! its tool arguments) into [`SourceOptions`] and [`AnalysisOptions`], reads the config file into a
//! [`FileConfig`], and calls the `resolve` functions here; nothing else layers settings.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use evaltriage_fanout::{ApiKey, Backend, Concurrency, FanoutConfig, LlmConfig, MaxRetries, Prompts, RulesConfig};
use serde::Deserialize;

use crate::error::Error;

/// The file read when no config file is named, if it exists in the current folder.
pub const DEFAULT_CONFIG_FILE: &str = "evaltriage.toml";
/// The OpenAI endpoint, used when a key is configured without a base URL.
pub const DEFAULT_LLM_BASE_URL: &str = "https://api.openai.com/v1";
/// The analyzing model when none is named.
pub const DEFAULT_LLM_MODEL: &str = "gpt-4.1-mini";
/// How long one run's analysis may take when no deadline is given.
pub const DEFAULT_DEADLINE_SECS: u64 = 1_800;

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
    /// How many days a verdict may be reused for a later failure with the same signature.
    pub reuse_days: Option<u32>,
    /// Prices per LLM model (`[prices."gpt-4.1-mini"]`), turning tokens into money.
    #[serde(default)]
    pub prices: std::collections::BTreeMap<String, crate::cost::Price>,
    /// `[across]`: the thresholds of baselines, grader suspects and findings.
    #[serde(default)]
    pub across: AcrossConfig,
}

/// `[across]` in `evaltriage.toml`: every key optional, the defaults those of
/// [`evaltriage_report::AcrossOptions`].
#[derive(Debug, Default, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct AcrossConfig {
    pub baseline_runs: Option<usize>,
    pub min_baseline_runs: Option<usize>,
    pub usually_passes: Option<f64>,
    pub window_runs: Option<usize>,
    pub suspect_days: Option<u32>,
    pub suspect_min_models: Option<usize>,
    pub suspect_min_share: Option<f64>,
    pub verify_after: Option<usize>,
}

impl AcrossConfig {
    /// `other`'s values where it has them (flags over the file), else these.
    pub fn or(self, other: Self) -> Self {
        Self {
            baseline_runs: other.baseline_runs.or(self.baseline_runs),
            min_baseline_runs: other.min_baseline_runs.or(self.min_baseline_runs),
            usually_passes: other.usually_passes.or(self.usually_passes),
            window_runs: other.window_runs.or(self.window_runs),
            suspect_days: other.suspect_days.or(self.suspect_days),
            suspect_min_models: other.suspect_min_models.or(self.suspect_min_models),
            suspect_min_share: other.suspect_min_share.or(self.suspect_min_share),
            verify_after: other.verify_after.or(self.verify_after),
        }
    }

    /// The options, checked: shares from 0 to 1, counts at least 1, at least 2 models for a
    /// grader suspect (one model failing is never one).
    pub fn options(self) -> Result<evaltriage_report::AcrossOptions, Error> {
        let d = evaltriage_report::AcrossOptions::default();
        let share = |key: &str, v: Option<f64>, default: f64| match v {
            Some(x) if !(0.0..=1.0).contains(&x) => {
                Err(Error::bad_input(format!("{key} must be a share from 0 to 1, got {x}")))
            }
            Some(x) => Ok(x),
            None => Ok(default),
        };
        let count = |key: &str, v: Option<usize>, default: usize, min: usize| match v {
            Some(x) if x < min => Err(Error::bad_input(format!("{key} must be at least {min}, got {x}"))),
            Some(x) => Ok(x),
            None => Ok(default),
        };
        Ok(evaltriage_report::AcrossOptions {
            baseline_runs: count("baseline_runs", self.baseline_runs, d.baseline_runs, 1)?,
            min_baseline_runs: count("min_baseline_runs", self.min_baseline_runs, d.min_baseline_runs, 1)?,
            usually_passes: share("usually_passes", self.usually_passes, d.usually_passes)?,
            window_runs: count("window_runs", self.window_runs, d.window_runs, 1)?,
            suspect_days: u32::try_from(count(
                "suspect_days",
                self.suspect_days.map(|x| x as usize),
                d.suspect_days as usize,
                1,
            )?)
            .unwrap_or(u32::MAX),
            suspect_min_models: count("suspect_min_models", self.suspect_min_models, d.suspect_min_models, 2)?,
            suspect_min_share: share("suspect_min_share", self.suspect_min_share, d.suspect_min_share)?,
            verify_after: count("verify_after", self.verify_after, d.verify_after, 1)?,
        })
    }
}

impl fmt::Debug for FileConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FileConfig")
            .field("path", &self.path)
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
    /// An error about a value this file set, naming the file and the key (never the value, which
    /// may be a secret typed under the wrong key).
    pub fn invalid(&self, key: &str, problem: impl fmt::Display) -> Error {
        let file = self.path.as_deref().unwrap_or(Path::new(DEFAULT_CONFIG_FILE)).display();
        Error::bad_input(format!("config {file}: key {key}: {problem}"))
    }

    /// The secrets this file holds, for the face's redaction layer.
    pub fn secrets(&self) -> impl Iterator<Item = &str> {
        [&self.convex_key, &self.openai_api_key].into_iter().flatten().map(String::as_str)
    }
}

/// Where runs are read from, as the user said it (flags or environment).
#[derive(Debug, Clone, Default)]
pub struct SourceOptions {
    pub convex_url: Option<String>,
    pub convex_key: Option<String>,
    pub store: Option<PathBuf>,
}

/// The settings every operation shares, after layering.
#[derive(Clone)]
pub struct Settings {
    pub convex_url: String,
    pub convex_key: Option<String>,
    pub store: Option<PathBuf>,
    pub reports_dir: PathBuf,
    /// The config file named by the user, so printed commands can carry it.
    pub config_file: Option<PathBuf>,
    /// `max_blob_mb` from the config file, checked when a Convex source is built.
    pub max_blob_mb: Option<u64>,
    /// `[across]` from the config file, checked when used ([`AcrossConfig::options`]).
    pub across: AcrossConfig,
    /// A folder of Inspect AI logs read as the runs (`nightly --logs`, `runs list --logs`): it
    /// takes the place of the store and the deployment.
    pub logs: Option<PathBuf>,
}

impl fmt::Debug for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Settings")
            .field("convex_url", &self.convex_url)
            .field("convex_key", &self.convex_key.as_ref().map(|_| "<redacted>"))
            .field("store", &self.store)
            .field("reports_dir", &self.reports_dir)
            .field("config_file", &self.config_file)
            .field("logs", &self.logs)
            .finish_non_exhaustive()
    }
}

impl Settings {
    /// Layers what the user said (`source`, `reports_dir`) over the config file and the defaults.
    /// `config_file` is the file the user named, if any.
    pub fn resolve(
        source: &SourceOptions,
        reports_dir: Option<&Path>,
        file: &FileConfig,
        config_file: Option<&Path>,
    ) -> Self {
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
            max_blob_mb: file.max_blob_mb,
            across: file.across,
            logs: None,
        }
    }

    /// The same settings reading the runs from a folder of Inspect logs, when `logs` names one.
    pub fn with_logs(self, logs: Option<&Path>) -> Self {
        Self { logs: logs.map(Path::to_path_buf).or(self.logs), ..self }
    }

    /// Where runs are read from, for messages and the digest: a URL's userinfo is never part of it.
    pub fn describe_source(&self) -> String {
        if let Some(dir) = &self.logs {
            return format!("Inspect logs in {}", dir.display());
        }
        match &self.store {
            Some(dir) => format!("store {}", dir.display()),
            None => evaltriage_core::redact::redact(&self.convex_url).into_owned(),
        }
    }
}

/// Which classifier analyses verification failures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClassifierKind {
    /// An OpenAI-compatible chat endpoint.
    Llm,
    /// The built-in deterministic rules (no LLM).
    Rules,
}

/// The options of one run's analysis, as the user gave them (each `None` when not given).
#[derive(Clone, Default)]
pub struct AnalysisOptions {
    pub llm_base_url: Option<String>,
    pub llm_model: Option<String>,
    /// The endpoint's key, from the face's environment (the config file's is used when absent).
    pub api_key: Option<String>,
    pub classifier: Option<ClassifierKind>,
    pub concurrency: Option<u8>,
    pub max_retries: Option<u32>,
    pub llm_timeout_secs: Option<u64>,
    pub max_answer_tokens: Option<u32>,
    pub deadline_secs: Option<u64>,
    pub no_cache: bool,
    pub prompts_dir: Option<PathBuf>,
    pub budget_tokens: Option<u64>,
    /// What may be reused instead of a call (`--reuse`); the command's default when absent.
    pub reuse: Option<crate::reuse::ReuseMode>,
    pub reuse_days: Option<u32>,
}

impl fmt::Debug for AnalysisOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AnalysisOptions")
            .field("llm_base_url", &self.llm_base_url)
            .field("llm_model", &self.llm_model)
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .field("classifier", &self.classifier)
            .field("budget_tokens", &self.budget_tokens)
            .finish_non_exhaustive()
    }
}

/// Everything one run's analysis needs to know, resolved and checked.
#[derive(Debug, Clone)]
pub struct AnalysisSettings {
    pub fanout: FanoutConfig,
    /// How long one run's analysis may take.
    pub deadline: Duration,
    /// The lint rules the benchmark relaxed (for the report's recommendations).
    pub relaxed_lint_rules: Vec<String>,
    /// What may be reused instead of a call.
    pub reuse: crate::reuse::ReusePolicy,
    /// The price of the analyzing model, when the config has one.
    pub price: Option<crate::cost::Price>,
}

impl AnalysisSettings {
    /// Layers `options` over the config file and the defaults, checking every value (a value out
    /// of range can only come from the config file: faces range-check their own).
    pub fn resolve(options: &AnalysisOptions, file: &FileConfig, settings: &Settings) -> Result<Self, Error> {
        let api_key = options.api_key.clone().or_else(|| file.openai_api_key.clone()).filter(|k| !k.trim().is_empty());
        let base_url =
            options.llm_base_url.clone().or_else(|| file.llm_base_url.clone()).filter(|u| !u.trim().is_empty());
        let kind = options.classifier.unwrap_or(if api_key.is_some() || base_url.is_some() {
            ClassifierKind::Llm
        } else {
            ClassifierKind::Rules
        });
        let relaxed_lint_rules =
            file.relaxed_lint_rules.clone().unwrap_or_else(|| RulesConfig::default().relaxed_rules);
        let backend = match kind {
            ClassifierKind::Rules => Backend::Rules(RulesConfig { relaxed_rules: relaxed_lint_rules.clone() }),
            ClassifierKind::Llm => {
                if api_key.is_none() && base_url.is_none() {
                    return Err(Error::bad_input(
                        "the llm classifier needs an endpoint: set OPENAI_API_KEY, or an LLM base URL for a local server",
                    ));
                }
                let base_url = base_url.unwrap_or_else(|| DEFAULT_LLM_BASE_URL.to_owned());
                // The value is never echoed: it may carry a password.
                let not_http = || Error::bad_input("the LLM base URL is not an http(s) URL (include /v1)");
                let parsed = url::Url::parse(base_url.trim()).map_err(|_| not_http())?;
                if !matches!(parsed.scheme(), "http" | "https") {
                    return Err(not_http());
                }
                let model = options
                    .llm_model
                    .clone()
                    .or_else(|| file.llm_model.clone())
                    .unwrap_or_else(|| DEFAULT_LLM_MODEL.to_owned());
                let mut llm =
                    LlmConfig::new(base_url.trim().trim_end_matches('/'), api_key.as_deref().map(ApiKey::new), &model);
                let (timeout, answer_tokens) = llm_limits(options, file)?;
                llm.call_timeout = timeout;
                llm.max_completion_tokens = Some(answer_tokens);
                Backend::Llm(llm)
            }
        };
        let concurrency =
            Concurrency::new(u64::from(options.concurrency.or(file.concurrency).unwrap_or(Concurrency::MAX)))
                .map_err(|e| file.invalid("concurrency", e))?;
        let max_retries = MaxRetries::new(u64::from(options.max_retries.or(file.max_retries).unwrap_or(3)))
            .map_err(|e| file.invalid("max_retries", e))?;
        let prompts = match options.prompts_dir.as_ref().or(file.prompts_dir.as_ref()) {
            Some(dir) => Prompts::from_dir(dir).map_err(|e| match &options.prompts_dir {
                Some(_) => Error::bad_input(format!("prompts folder {}: {e}", dir.display())),
                None => file.invalid("prompts_dir", e),
            })?,
            None => Prompts::builtin(),
        };
        let deadline = match (options.deadline_secs, file.deadline_secs) {
            (Some(secs), _) => secs,
            (None, Some(secs)) if (1..=86_400).contains(&secs) => secs,
            (None, Some(secs)) => {
                return Err(file.invalid("deadline_secs", format!("must be from 1 to 86400, got {secs}")));
            }
            (None, None) => DEFAULT_DEADLINE_SECS,
        };
        let reuse_mode = options.reuse.unwrap_or(crate::reuse::ReuseMode::SameOutput);
        let window_days = match (options.reuse_days, file.reuse_days) {
            (Some(days), _) => days,
            (None, Some(days)) if (1..=3_650).contains(&days) => days,
            (None, Some(days)) => {
                return Err(file.invalid("reuse_days", format!("must be from 1 to 3650, got {days}")));
            }
            (None, None) => crate::reuse::DEFAULT_REUSE_DAYS,
        };
        let price = match &backend {
            Backend::Llm(llm) => match file.prices.get(&llm.model) {
                Some(p) => Some(p.checked().map_err(|e| file.invalid(&format!("prices.\"{}\"", llm.model), e))?),
                None => None,
            },
            Backend::Rules(_) => None,
        };
        Ok(Self {
            fanout: FanoutConfig {
                backend,
                prompts,
                concurrency,
                max_retries,
                token_budget: options.budget_tokens.or(file.budget_tokens),
                cache_dir: Some(settings.reports_dir.join(".cache")),
                no_cache: options.no_cache || reuse_mode == crate::reuse::ReuseMode::Never,
                ..FanoutConfig::default()
            },
            deadline: Duration::from_secs(deadline),
            relaxed_lint_rules,
            reuse: crate::reuse::ReusePolicy { mode: reuse_mode, window_days, claims: None },
            price,
        })
    }

    /// What `tokens` of the analysing model cost at the config's price, sent synchronously or
    /// (`batch`) through the batch API; `None` under the rules classifier.
    pub fn llm_cost(&self, tokens: evaltriage_core::TokenUsage, batch: bool) -> Option<crate::cost::LlmCost> {
        crate::cost::llm_cost(&self.fanout.backend, self.price.as_ref(), tokens, batch)
    }

    /// Whether an LLM classifies (and so tokens are spent).
    pub fn uses_llm(&self) -> bool {
        matches!(self.fanout.backend, Backend::Llm(_))
    }

    /// Who classifies, for the terminal and the report.
    pub fn classifier_description(&self) -> String {
        classifier_description(&self.fanout.backend)
    }
}

/// Describes who classified, for the terminal and the report.
pub fn classifier_description(backend: &Backend) -> String {
    match backend {
        Backend::Llm(llm) => format!("LLM {} at {}", llm.model, llm.base_url),
        Backend::Rules(_) => "built-in rules — no LLM was used".to_owned(),
    }
}

/// The LLM call timeout and answer cap, from the options, else the config file, else the
/// defaults. Values from the file are checked like the flags.
fn llm_limits(options: &AnalysisOptions, file: &FileConfig) -> Result<(Duration, u32), Error> {
    let timeout = match options.llm_timeout_secs.or(file.llm_timeout_secs) {
        Some(secs) if (1..=3_600).contains(&secs) => Duration::from_secs(secs),
        Some(secs) => return Err(Error::bad_input(format!("llm timeout must be from 1 to 3600 seconds, got {secs}"))),
        None => evaltriage_fanout::DEFAULT_CALL_TIMEOUT,
    };
    let tokens = match options.max_answer_tokens.or(file.max_answer_tokens) {
        Some(n) if (200..=32_768).contains(&n) => n,
        Some(n) => return Err(Error::bad_input(format!("max answer tokens must be from 200 to 32768, got {n}"))),
        None => evaltriage_fanout::DEFAULT_ANSWER_TOKENS,
    };
    Ok((timeout, tokens))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> Settings {
        Settings::resolve(&SourceOptions::default(), Some(Path::new("r")), &FileConfig::default(), None)
    }

    #[test]
    fn flags_win_over_the_file_and_the_file_over_defaults() {
        let file = FileConfig { concurrency: Some(2), max_retries: Some(5), ..FileConfig::default() };
        let options = AnalysisOptions { concurrency: Some(1), ..AnalysisOptions::default() };
        let resolved = AnalysisSettings::resolve(&options, &file, &settings()).unwrap();
        assert_eq!(resolved.fanout.concurrency.get(), 1);
        assert_eq!(resolved.fanout.max_retries.get(), 5);
        assert!(!resolved.uses_llm(), "no key and no endpoint: the rules");
        assert_eq!(resolved.deadline, Duration::from_secs(DEFAULT_DEADLINE_SECS));
    }

    #[test]
    fn a_bad_file_value_names_the_key_and_never_the_value() {
        let file = FileConfig { deadline_secs: Some(0), path: Some("e.toml".into()), ..FileConfig::default() };
        let e = AnalysisSettings::resolve(&AnalysisOptions::default(), &file, &settings()).unwrap_err();
        assert!(e.is_input());
        assert!(e.message.starts_with("config e.toml: key deadline_secs"), "{e}");
    }

    #[test]
    fn an_llm_without_an_endpoint_is_bad_input() {
        let options = AnalysisOptions { classifier: Some(ClassifierKind::Llm), ..AnalysisOptions::default() };
        let e = AnalysisSettings::resolve(&options, &FileConfig::default(), &settings()).unwrap_err();
        assert!(e.is_input() && e.message.contains("OPENAI_API_KEY"), "{e}");
    }
}
