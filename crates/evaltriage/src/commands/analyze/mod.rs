//! `analyze-run`: the main job. Resolve, fetch, shape, history, evidence, classify, collate,
//! write, present (DESIGN §2). Per-eval problems are data in the report, never an abort.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use tokio::time::Instant;

use evaltriage_core::source::Source;
use evaltriage_core::{EvalPath, Evidence, Failure, Run, RunRef, Shape, TokenUsage, Verdict, VerdictStatus};
use evaltriage_fanout::{
    ApiKey, Backend, Case, Concurrency, FanoutConfig, LlmConfig, MaxRetries, Prompts, RulesConfig,
};
use evaltriage_report::ReportScope;
use futures::StreamExt;
use serde_json::json;

use crate::cli::{AnalyzeArgs, ClassifierKind};
use crate::commands::{emit, emit_json};
use crate::config::{FileConfig, Settings, llm_limits, openai_api_key_from_env};
use crate::exit::CliError;
use crate::hints::RunAddress;
use crate::progress::Progress;
use crate::sources;

mod summary;

use summary::Summary;
pub use summary::{estimate_json, estimate_text};

/// The OpenAI endpoint, used when a key is configured without a base URL.
const DEFAULT_LLM_BASE_URL: &str = "https://api.openai.com/v1";
/// The analysing model when none is named.
const DEFAULT_LLM_MODEL: &str = "gpt-4.1-mini";
/// Evidence downloads in flight at once.
const EVIDENCE_CONCURRENCY: usize = 4;
/// How long the whole command may take when `--deadline` is not given.
const DEFAULT_DEADLINE_SECS: u64 = 1_800;

/// The command's overall deadline (`--deadline`, else the config file, else the default).
fn command_deadline(args: &AnalyzeArgs, file: &FileConfig) -> Result<(Duration, Instant), CliError> {
    let secs = match (args.analysis.deadline, file.deadline_secs) {
        (Some(secs), _) => secs,
        (None, Some(secs)) if (1..=86_400).contains(&secs) => secs,
        (None, Some(secs)) => return Err(file.invalid("deadline_secs", format!("must be from 1 to 86400, got {secs}"))),
        (None, None) => DEFAULT_DEADLINE_SECS,
    };
    let limit = Duration::from_secs(secs);
    Ok((limit, Instant::now() + limit))
}

/// Why unfinished work ended: said the same way wherever it is recorded.
fn deadline_reason(limit: Duration) -> String {
    format!("the command's deadline ({} s, --deadline) passed", limit.as_secs())
}

/// Builds the fan-out configuration from flags, environment and config file.
pub(crate) fn fanout_config(
    args: &AnalyzeArgs,
    file: &FileConfig,
    settings: &Settings,
) -> Result<FanoutConfig, CliError> {
    let api_key = openai_api_key_from_env().or_else(|| file.openai_api_key.clone().filter(|k| !k.trim().is_empty()));
    let base_url =
        args.analysis.llm_base_url.clone().or_else(|| file.llm_base_url.clone()).filter(|u| !u.trim().is_empty());
    let kind = args.analysis.classifier.unwrap_or(if api_key.is_some() || base_url.is_some() {
        ClassifierKind::Llm
    } else {
        ClassifierKind::Rules
    });
    let backend = match kind {
        ClassifierKind::Rules => Backend::Rules(match &file.relaxed_lint_rules {
            Some(rules) => RulesConfig { relaxed_rules: rules.clone() },
            None => RulesConfig::default(),
        }),
        ClassifierKind::Llm => {
            if api_key.is_none() && base_url.is_none() {
                return Err(CliError::usage(
                    "--classifier llm needs an endpoint: set OPENAI_API_KEY, or --llm-base-url for a local server",
                ));
            }
            let base_url = base_url.unwrap_or_else(|| DEFAULT_LLM_BASE_URL.to_owned());
            let parsed = url::Url::parse(base_url.trim())
                .map_err(|_| CliError::usage(format!("--llm-base-url {base_url:?} is not a URL")))?;
            if !matches!(parsed.scheme(), "http" | "https") {
                return Err(CliError::usage(format!("--llm-base-url {base_url:?} is not an http(s) URL")));
            }
            let model = args
                .analysis
                .llm_model
                .clone()
                .or_else(|| file.llm_model.clone())
                .unwrap_or_else(|| DEFAULT_LLM_MODEL.to_owned());
            let mut llm =
                LlmConfig::new(base_url.trim().trim_end_matches('/'), api_key.as_deref().map(ApiKey::new), &model);
            let (timeout, answer_tokens) =
                llm_limits(args.analysis.llm_timeout, args.analysis.max_answer_tokens, file)?;
            llm.call_timeout = timeout;
            llm.max_completion_tokens = Some(answer_tokens);
            Backend::Llm(llm)
        }
    };
    // Flags are range-checked by clap; a bad value can only come from the config file.
    let concurrency =
        Concurrency::new(u64::from(args.analysis.concurrency.or(file.concurrency).unwrap_or(Concurrency::MAX)))
            .map_err(|e| file.invalid("concurrency", e))?;
    let max_retries = MaxRetries::new(u64::from(args.analysis.max_retries.or(file.max_retries).unwrap_or(3)))
        .map_err(|e| file.invalid("max_retries", e))?;
    let prompts = match args.analysis.prompts_dir.as_ref().or(file.prompts_dir.as_ref()) {
        Some(dir) => Prompts::from_dir(dir).map_err(|e| match &args.analysis.prompts_dir {
            Some(_) => CliError::usage(format!("--prompts-dir {}: {e}", dir.display())),
            None => file.invalid("prompts_dir", e),
        })?,
        None => Prompts::builtin(),
    };
    Ok(FanoutConfig {
        backend,
        prompts,
        concurrency,
        max_retries,
        token_budget: args.budget_tokens.or(file.budget_tokens),
        cache_dir: Some(settings.reports_dir.join(".cache")),
        no_cache: args.analysis.no_cache,
        ..FanoutConfig::default()
    })
}

/// Describes who classified, for the terminal and the report.
pub fn classifier_description(backend: &Backend) -> String {
    match backend {
        Backend::Llm(llm) => format!("LLM {} at {}", llm.model, llm.base_url),
        Backend::Rules(_) => "built-in rules — no LLM was used".to_owned(),
    }
}

/// The part of the run a category- or eval-level target names, checked against the run: `None` for
/// a run-level target.
fn scope_of(run: &Run, run_ref: &RunRef) -> Result<Option<ReportScope>, CliError> {
    if run_ref.eval.is_some() {
        let eval = crate::commands::evals::pick_eval(run, run_ref, None)?;
        return Ok(Some(ReportScope {
            category: eval.path.category().to_owned(),
            eval: Some(eval.path.name().to_owned()),
        }));
    }
    let Some(category) = &run_ref.category else { return Ok(None) };
    if !run.evals.iter().any(|e| e.path.category() == category) {
        return Err(CliError::usage(format!(
            "no category {category:?} in run {} (see `evaltriage evals list`)",
            run.id
        )));
    }
    Ok(Some(ReportScope { category: category.clone(), eval: None }))
}

/// The failures this analysis covers: all of them, or those of the scope a target names.
fn failures_in_scope(shape: &Shape, scope: Option<&ReportScope>) -> Vec<Failure> {
    shape.failures.iter().filter(|f| scope.is_none_or(|s| s.covers(&f.eval_path))).cloned().collect()
}

/// Fetches the evidence of every verification failure, a few downloads at a time.
async fn fetch_evidence(
    source: &sources::AnySource,
    run: &Run,
    failures: &[Failure],
    progress: &Progress,
    (limit, deadline): (Duration, Instant),
) -> Vec<Evidence> {
    progress.bar(failures.len() as u64, "fetching evidence");
    // `buffered` keeps the failures' order while up to EVIDENCE_CONCURRENCY downloads run. The
    // futures are made first (no closure held across an await), so the whole analysis is `Send`
    // and can run as a spawned task (the MCP server's tool calls).
    let fetches: Vec<_> =
        failures.iter().map(|failure| evidence_of(source, run, failure, progress, (limit, deadline))).collect();
    futures::stream::iter(fetches).buffered(EVIDENCE_CONCURRENCY).collect().await
}

/// The evidence of one failure (none for an infrastructure failure), within the deadline.
async fn evidence_of(
    source: &sources::AnySource,
    run: &Run,
    failure: &Failure,
    progress: &Progress,
    (limit, deadline): (Duration, Instant),
) -> Evidence {
    let evidence = if failure.kind.is_infrastructure() {
        Evidence::default()
    } else {
        match tokio::time::timeout_at(deadline, source.evidence(run, &failure.eval_id)).await {
            Ok(Ok(e)) => e,
            Ok(Err(e)) => Evidence::unavailable(&e.to_string()),
            Err(_) => Evidence::unavailable(&format!("not fetched: {}", deadline_reason(limit))),
        }
    };
    progress.inc();
    evidence
}

pub async fn analyze_run(
    args: &AnalyzeArgs,
    file: &FileConfig,
    settings: &Settings,
    out: &mut dyn Write,
) -> Result<ExitCode, CliError> {
    let (source, run_ref) = sources::open(&args.target, settings)?;
    match analyse(args, file, settings, &source, &run_ref).await? {
        Analysed::NothingInScope(message) => emit(out, &message).map(|()| ExitCode::SUCCESS),
        Analysed::Estimate(est, config) => {
            let shown = if settings.json {
                emit_json(out, &estimate_json(&est, &config))
            } else {
                emit(out, &estimate_text(&est, &config))
            };
            shown.map(|()| ExitCode::SUCCESS)
        }
        Analysed::Stopped(e) => Err(e),
        Analysed::Written(written) => {
            if settings.json {
                emit_json(out, &written.json(&args.target, settings))?;
            } else {
                emit(out, &written.text(&args.target, settings))?;
            }
            Ok(if written.incomplete() { ExitCode::from(1) } else { ExitCode::SUCCESS })
        }
    }
}

/// What one analysis produced, before anything is printed: `analyze-run` presents it, `nightly`
/// collects it into the digest.
#[derive(Debug)]
pub enum Analysed {
    /// A scoped target whose scope has no failure: the message says so.
    NothingInScope(String),
    /// `--estimate`: what the analysis would take.
    Estimate(evaltriage_fanout::Estimate, Box<FanoutConfig>),
    /// The LLM endpoint refused the key: no further call may be sent, by this run or any other.
    Stopped(CliError),
    /// The report was written.
    Written(Box<Written>),
}

/// A written report and what the terminal says about it.
#[derive(Debug)]
pub struct Written {
    pub run: Run,
    pub shape: Shape,
    scope: Option<ReportScope>,
    pub changes: evaltriage_report::ChangesSince,
    pub verdicts: Vec<Verdict>,
    history: evaltriage_report::History,
    prior_reports: usize,
    prior_folder: PathBuf,
    pub path: PathBuf,
    with_run_log: BTreeSet<EvalPath>,
    spend: Spend,
    synthesis_cached: bool,
    kept_actions_taken: bool,
    config: FanoutConfig,
}

impl Written {
    /// Tokens the analysis spent, verdicts and synthesis.
    pub fn tokens_spent(&self) -> u64 {
        self.spend.total().total()
    }

    /// Whether the analysis completed with errors: a verdict that is not done, or evidence that
    /// could not be fetched (the summary and the report say which). `analyze-run` exits 1.
    pub fn incomplete(&self) -> bool {
        self.verdicts.iter().any(|v| v.status != VerdictStatus::Done || !v.missing_evidence.is_empty())
    }

    /// What `analyze-run --json` prints; `target` is the target as the user gave it.
    pub fn json(&self, target: &str, settings: &Settings) -> serde_json::Value {
        self.summary(target, settings).json(&self.config)
    }

    /// What `analyze-run` prints.
    pub fn text(&self, target: &str, settings: &Settings) -> String {
        self.summary(target, settings).text(&classifier_description(&self.config.backend), self.kept_actions_taken)
    }

    fn summary(&self, target: &str, settings: &Settings) -> Summary<'_> {
        Summary {
            run: &self.run,
            shape: &self.shape,
            scope: self.scope.as_ref(),
            verdicts: &self.verdicts,
            history: &self.history,
            prior_reports: self.prior_reports,
            prior_folder: self.prior_folder.clone(),
            path: &self.path,
            address: RunAddress::new(target, &self.run.id, settings),
            with_run_log: &self.with_run_log,
            spend: self.spend,
            synthesis_cached: self.synthesis_cached,
            changes: &self.changes,
        }
    }
}

/// The analysis of one run from `source`, up to the written report; nothing is printed but
/// progress on stderr.
pub async fn analyse(
    args: &AnalyzeArgs,
    file: &FileConfig,
    settings: &Settings,
    source: &sources::AnySource,
    run_ref: &RunRef,
) -> Result<Analysed, CliError> {
    analyse_with(args, file, settings, source, run_ref, Progress::new()).await
}

/// [`analyse`], with its progress going where `progress` sends it. Dropping the future stops the
/// analysis at its next await; the report is written atomically after the last one, so a dropped
/// analysis leaves no report and no lock behind.
pub async fn analyse_with(
    args: &AnalyzeArgs,
    file: &FileConfig,
    settings: &Settings,
    source: &sources::AnySource,
    run_ref: &RunRef,
    progress: Progress,
) -> Result<Analysed, CliError> {
    let mut config = fanout_config(args, file, settings)?;
    let (limit, deadline) = command_deadline(args, file)?;
    progress.step(format!("reading run {} from {}", run_ref.run_id, source.describe()));
    let run = tokio::time::timeout_at(deadline, source.run(run_ref)).await;
    let run = match run {
        Ok(Ok(r)) => r,
        Ok(Err(e)) => {
            progress.finish();
            return Err(e.into());
        }
        Err(_) => {
            progress.finish();
            return Err(CliError::failed(format!(
                "{} while reading run {}; no report was written",
                deadline_reason(limit),
                run_ref.run_id
            )));
        }
    };
    let shape = Shape::of(&run);
    let scope = scope_of(&run, run_ref).inspect_err(|_| progress.finish())?;
    let failures = failures_in_scope(&shape, scope.as_ref());
    if let Some(scope) = scope.as_ref().filter(|_| failures.is_empty()) {
        progress.finish();
        return Ok(Analysed::NothingInScope(format!(
            "no failure in the {} of run {}: nothing to analyse\n",
            scope.describe(),
            run.id
        )));
    }

    // Refuse before spending anything: an existing report for this run is never replaced silently,
    // and a second analysis of the same run while one runs stops here, not after its LLM calls.
    let date = chrono::Utc::now().date_naive();
    let path = evaltriage_report::report_path(&settings.reports_dir, &run, date, scope.as_ref());
    let _lock = match args.estimate {
        true => None,
        false => Some(evaltriage_report::lock_report(&settings.reports_dir, &path).map_err(|e| {
            progress.finish();
            CliError::from(e)
        })?),
    };
    // A report folder that cannot be made (a file in its place) is found now, not after the calls.
    if let Some(folder) = path.parent().filter(|_| !args.estimate) {
        std::fs::create_dir_all(folder).map_err(|source| {
            progress.finish();
            CliError::from(evaltriage_report::ReportError::Io {
                action: "create the report folder",
                path: folder.to_owned(),
                source,
            })
        })?;
    }
    if !args.force && !args.estimate {
        let existing = evaltriage_report::existing_report_for(&path).map_err(CliError::from)?;
        if let Some(existing) = existing {
            progress.finish();
            return Err(CliError::from(evaltriage_report::ReportError::Exists { path: existing }));
        }
    }

    let (prior, warnings) = evaltriage_report::prior_reports_for_run(&settings.reports_dir, &run);
    for w in &warnings {
        tracing::warn!("skipped prior report {}: {}", w.path.display(), w.reason);
    }
    let paths: Vec<EvalPath> = failures.iter().map(|f| f.eval_path.clone()).collect();
    let history = evaltriage_report::history(&prior, &paths);

    let evidence = fetch_evidence(source, &run, &failures, &progress, (limit, deadline)).await;
    let with_run_log: BTreeSet<EvalPath> = failures
        .iter()
        .zip(&evidence)
        .filter(|(_, e)| e.output_files.contains_key("run.log"))
        .map(|(f, _)| f.eval_path.clone())
        .collect();
    let cases: Vec<Case> = failures
        .iter()
        .zip(evidence)
        .map(|(failure, evidence)| {
            let h = history.for_eval(&failure.eval_path);
            Case { failure: failure.clone(), evidence, prior_label: h.prior_failures.first().map(|p| p.label.clone()) }
        })
        .collect();
    let run_summary = format!("{} on {}: {}/{} passed", run.model, run.experiment, shape.passed, shape.total);

    if args.estimate {
        progress.finish();
        let est = evaltriage_fanout::estimate(&cases, &config, &run_summary);
        return Ok(Analysed::Estimate(est, Box::new(config)));
    }

    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    config.progress = Some(tx);
    config.overall_timeout = Some(deadline.saturating_duration_since(Instant::now()));
    config.overall_timeout_reason = Some(deadline_reason(limit));
    let drawer = tokio::spawn(progress.clone().follow(rx));
    let analysis = evaltriage_fanout::analyze(cases, &config).await;
    config.progress = None;
    let _ = drawer.await;
    let analysis = match analysis {
        Ok(analysis) => analysis,
        Err(e) => {
            progress.finish();
            return Ok(Analysed::Stopped(CliError::usage(e)));
        }
    };

    let mut synthesis = None;
    if let Backend::Llm(_) = &config.backend {
        if analysis.verdicts.iter().any(|v| v.classification.is_some()) {
            progress.step("looking for cross-cutting patterns");
            let budget_left = config.token_budget.map(|b| b.saturating_sub(analysis.tokens.total()));
            let call = evaltriage_fanout::synthesize(&analysis.verdicts, &run_summary, &config, budget_left);
            synthesis = Some(match tokio::time::timeout_at(deadline, call).await {
                Ok(result) => result,
                Err(_) => Err(evaltriage_fanout::FanoutError::SynthesisSkipped(deadline_reason(limit))),
            });
            if let Some(Err(e @ evaltriage_fanout::FanoutError::AuthRefused(_))) = &synthesis {
                progress.finish();
                return Ok(Analysed::Stopped(CliError::usage(e)));
            }
        }
    }
    progress.finish();

    // One accounting of tokens, used by the terminal, the report and --json alike.
    let spend = Spend {
        verdicts: analysis.tokens,
        synthesis: synthesis.as_ref().and_then(|s| s.as_ref().ok()).map(|s| s.tokens).unwrap_or_default(),
    };
    let synthesis_text = synthesis.as_ref().map(|r| match r {
        Ok(s) => s.text.clone(),
        Err(evaltriage_fanout::FanoutError::SynthesisSkipped(why)) => format!(
            "_The LLM synthesis of cross-cutting patterns was skipped: {why}. The deterministic patterns above stand._"
        ),
        Err(e) => format!(
            "_The LLM synthesis of cross-cutting patterns failed: {e}. The deterministic patterns above stand._"
        ),
    });
    let llm_model = match &config.backend {
        Backend::Llm(llm) => llm.model.clone(),
        Backend::Rules(_) => String::new(),
    };
    let changes = evaltriage_report::changes_since(&run, &shape, &analysis.verdicts, &prior, scope.as_ref());
    let relaxed_lint_rules = file.relaxed_lint_rules.clone().unwrap_or_else(|| RulesConfig::default().relaxed_rules);
    let markdown = evaltriage_report::render(&evaltriage_report::ReportInput {
        run: &run,
        shape: &shape,
        verdicts: &analysis.verdicts,
        history: &history,
        changes: &changes,
        prior_reports: &prior,
        prior_warnings: &warnings,
        date,
        synthesis: synthesis_text.as_deref().map(|text| evaltriage_report::Synthesis {
            text,
            model: &llm_model,
            tokens: spend.synthesis,
        }),
        actions_taken: None,
        relaxed_lint_rules: &relaxed_lint_rules,
        scope: scope.as_ref(),
    });
    let outcome =
        evaltriage_report::write_report(&settings.reports_dir, &path, &markdown, args.force).map_err(CliError::from)?;

    Ok(Analysed::Written(Box::new(Written {
        prior_reports: prior.len(),
        prior_folder: settings.reports_dir.clone(),
        run,
        shape,
        scope,
        changes,
        verdicts: analysis.verdicts,
        history,
        path: outcome.path,
        with_run_log,
        spend,
        synthesis_cached: synthesis.as_ref().is_some_and(|s| s.as_ref().is_ok_and(|s| s.cached)),
        kept_actions_taken: outcome.kept_actions_taken,
        config,
    })))
}

/// Tokens spent by one analysis, exactly as the server's `usage` reported them: the verdicts'
/// calls and the synthesis. Cached answers spend none.
#[derive(Debug, Clone, Copy, Default)]
struct Spend {
    verdicts: TokenUsage,
    synthesis: TokenUsage,
}

impl Spend {
    fn total(self) -> TokenUsage {
        let mut total = self.verdicts;
        total += self.synthesis;
        total
    }

    fn json(self) -> serde_json::Value {
        let usage = |u: TokenUsage| json!({"prompt": u.prompt, "completion": u.completion, "total": u.total()});
        let total = self.total();
        json!({
            "prompt": total.prompt,
            "completion": total.completion,
            "total": total.total(),
            "verdicts": usage(self.verdicts),
            "synthesis": usage(self.synthesis),
        })
    }
}
