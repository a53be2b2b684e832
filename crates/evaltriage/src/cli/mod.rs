//! The command-line interface: commands, options and their environment variables (DESIGN §9).
//! The review commands' options (`reports`, `findings`) are in `review.rs`, the unattended
//! commands' (`nightly`, `backfill`) in `unattended.rs`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

mod review;
mod unattended;

pub use review::*;
pub use unattended::*;

const ABOUT: &str = "Triage failed LLM benchmark evals: is a failure the model's fault, the grader's, the task's, or the \
infrastructure's?";

const AFTER_HELP: &str = include_str!("../../help/evaltriage.txt").trim_ascii_end();

/// The `evaltriage` command line.
#[derive(Debug, Parser)]
#[command(name = "evaltriage", version, about = ABOUT, after_help = AFTER_HELP, propagate_version = true)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Options every command shares.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Configuration file [default: ./evaltriage.toml when it exists]
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Print machine-readable JSON on stdout instead of text (errors too, as {"error", "exit_code"})
    #[arg(long, global = true)]
    pub json: bool,
}

/// Where a run is read from: a local store, or a Convex deployment.
#[derive(Debug, Clone, Args, Default)]
pub struct SourceArgs {
    /// Convex deployment to read runs from [default: the convex-evals production deployment]
    #[arg(long, env = "CONVEX_URL", hide_env_values = true, value_name = "URL")]
    pub convex_url: Option<String>,
    /// Optional admin/deploy key for the deployment's internal queries (never printed)
    #[arg(long, env = "CONVEX_DEPLOY_KEY", hide_env_values = true, value_name = "KEY")]
    pub convex_key: Option<String>,
    /// Read runs from a local store instead of Convex (see `snapshot`)
    #[arg(long, env = "EVALTRIAGE_STORE", value_name = "DIR")]
    pub store: Option<PathBuf>,
}

/// The Convex deployment a snapshot copies from.
#[derive(Debug, Args)]
pub struct ConvexArgs {
    /// Convex deployment to copy the run from [default: the convex-evals production deployment]
    #[arg(long, env = "CONVEX_URL", hide_env_values = true, value_name = "URL")]
    pub convex_url: Option<String>,
    /// Optional admin/deploy key for the deployment's internal queries (never printed)
    #[arg(long, env = "CONVEX_DEPLOY_KEY", hide_env_values = true, value_name = "KEY")]
    pub convex_key: Option<String>,
}

/// What a target may be, for `--help`.
const TARGET_HELP: &str = "Visualizer URL (run-, category- or eval-level, with or without /model/<slug>/), run id, or path to a local store or run file";

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Analyze a run's failures and write a markdown report (the main job)
    #[command(after_help = include_str!("../../help/analyze_run.txt").trim_ascii_end())]
    AnalyzeRun(AnalyzeArgs),
    /// Analyze every new finished run, unattended (for a schedule): one report per run and a digest
    #[command(after_help = NIGHTLY_HELP)]
    Nightly(Box<NightlyArgs>),
    /// Analyze every finished run of a window that has no report, synchronously or through the Batch API
    #[command(after_help = BACKFILL_HELP)]
    Backfill(Box<BackfillArgs>),
    /// Inspect runs
    #[command(subcommand)]
    Runs(RunsCommand),
    /// Inspect the evals of a run
    #[command(subcommand)]
    Evals(EvalsCommand),
    /// Serve the operations as tools over the Model Context Protocol on stdio, for coding agents
    #[command(after_help = MCP_HELP)]
    Mcp(Box<McpArgs>),
    /// Copy a run (its document and its failed evals' blobs) from Convex into a local store
    #[command(after_help = include_str!("../../help/snapshot.txt").trim_ascii_end())]
    Snapshot {
        /// Visualizer URL or run id (the whole run is copied, whatever level the URL names)
        target: String,
        /// The store directory to copy into (created when missing)
        #[arg(long, value_name = "DIR")]
        into: PathBuf,
        #[command(flatten)]
        convex: ConvexArgs,
    },
    /// Review the reports: list, show, trends, export, human verdicts and their agreement
    #[command(subcommand)]
    Reports(ReportsCommand),
    /// Per eval, what changed between two runs: fixed, new failures, still failing (old → new label)
    #[command(after_help = include_str!("../../help/diff.txt").trim_ascii_end())]
    Diff {
        /// The older run: a report path, run id or prefix with a report, or a target (URL, run id)
        run_a: String,
        /// The newer run, likewise
        run_b: String,
        #[command(flatten)]
        reports: ReportsDirArgs,
        #[command(flatten)]
        source: SourceArgs,
    },
    /// Write a static, self-contained HTML site of the reports: models, trends, heat maps, every
    /// report, the findings, the nightly digests (works from file://, no network resources)
    #[command(after_help = include_str!("../../help/site.txt").trim_ascii_end())]
    Site {
        /// The folder to write the site into (created; files of an earlier site are overwritten)
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        /// Runs per model in the charts and heat map
        #[arg(long, value_name = "N", default_value_t = 20, value_parser = clap::value_parser!(u16).range(1..=500))]
        runs: u16,
        #[command(flatten)]
        reports: ReportsDirArgs,
    },
    /// Tracked failures across runs and models: recurring and flaky evals per model, grader
    /// suspects, and their lifecycle (new, recurring, fix-claimed, verified, reopened)
    #[command(after_help = FINDINGS_HELP, args_conflicts_with_subcommands = true)]
    Findings(Box<FindingsArgs>),
}

#[derive(Debug, Subcommand)]
pub enum RunsCommand {
    /// Runs across models, newest first (from Convex: every model's newest 40; or from a store or a folder of Inspect logs)
    #[command(after_help = include_str!("../../help/runs_list.txt").trim_ascii_end())]
    List(RunsListArgs),
    /// The run's shape: model, experiment, status, totals, failures by step, infrastructure vs verification, clusters
    #[command(
        after_help = "Example:\n  evaltriage runs show https://<visualizer>/experiment/default/run/<runId> \\\n    --json"
    )]
    Show {
        #[arg(help = TARGET_HELP)]
        target: String,
        #[command(flatten)]
        source: SourceArgs,
    },
}

/// Which evals `evals list` shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, serde::Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum StatusFilter {
    Failed,
    Passed,
    All,
}

#[derive(Debug, Subcommand)]
pub enum EvalsCommand {
    /// One line per eval: id, path, status, failed step, reason
    #[command(after_help = "Example:\n  evaltriage evals list <runId> --status failed")]
    List {
        #[arg(help = TARGET_HELP)]
        target: String,
        /// Which evals to list
        #[arg(long, value_enum, default_value_t = StatusFilter::All)]
        status: StatusFilter,
        #[command(flatten)]
        source: SourceArgs,
    },
    /// One eval: its steps, full error and task; --file prints one file of its output or source zip
    #[command(after_help = include_str!("../../help/evals_show.txt").trim_ascii_end())]
    Show {
        #[arg(help = TARGET_HELP)]
        target: String,
        /// Eval id or path (`category/name`); optional when the URL names an eval
        eval: Option<String>,
        /// Print one file of the eval's output zip (or, failing that, its source zip)
        #[arg(long, value_name = "PATH")]
        file: Option<String>,
        /// Print the whole error or file: no cut of long or repeated output (control characters
        /// and escape sequences are still removed)
        #[arg(long)]
        full: bool,
        #[command(flatten)]
        source: SourceArgs,
    },
}

/// Which classifier analyses verification failures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, serde::Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ClassifierKind {
    /// An OpenAI-compatible chat endpoint
    Llm,
    /// The built-in deterministic rules (no LLM)
    Rules,
}

/// The options of one run's analysis, shared by `analyze-run` and `nightly`.
#[derive(Debug, Clone, Default, Args)]
pub struct AnalysisArgs {
    /// OpenAI-compatible endpoint, including /v1 (the key comes from OPENAI_API_KEY)
    /// [default: https://api.openai.com/v1 when OPENAI_API_KEY is set]
    #[arg(long, env = "OPENAI_BASE_URL", hide_env_values = true, value_name = "URL")]
    pub llm_base_url: Option<String>,
    /// Model used for the analysis [default: gpt-4.1-mini]
    #[arg(long, env = "EVALTRIAGE_LLM_MODEL", value_name = "NAME")]
    pub llm_model: Option<String>,
    /// Classifier [default: llm when an endpoint or key is configured, else rules]
    #[arg(long, value_enum)]
    pub classifier: Option<ClassifierKind>,
    /// LLM requests in flight at once, 1 to 4 [default: 4]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u8).range(1..=4))]
    pub concurrency: Option<u8>,
    /// Validation retries per eval when an answer does not validate, 1 to 10 [default: 3]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=10))]
    pub max_retries: Option<u32>,
    /// Seconds to wait for one LLM answer before sending the request again (local CPU servers can need several minutes) [default: 120]
    #[arg(long, env = "EVALTRIAGE_LLM_TIMEOUT", value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..=3_600))]
    pub llm_timeout: Option<u64>,
    /// Cap on the tokens of one LLM answer (max_completion_tokens) [default: 800]
    #[arg(long, env = "EVALTRIAGE_MAX_ANSWER_TOKENS", value_name = "N", value_parser = clap::value_parser!(u32).range(200..=32_768))]
    pub max_answer_tokens: Option<u32>,
    /// Seconds one run's analysis may take (the whole of `analyze-run`; each run of a `nightly`).
    /// When it passes, what is unfinished (evidence downloads, analyses, the synthesis) ends
    /// `skipped` with the reason, and the report is still written [default: 1800]
    #[arg(long, env = "EVALTRIAGE_DEADLINE", value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub deadline: Option<u64>,
    /// Do not read or write the verdict cache (<reports-dir>/.cache)
    #[arg(long)]
    pub no_cache: bool,
    /// Read prompt templates from this folder instead of the built-in ones
    #[arg(long, value_name = "DIR")]
    pub prompts_dir: Option<PathBuf>,
    /// What may stand in for a call: never; same-output (the verdict cache); same-error (also the
    /// verdict an earlier run's report made for the same failure signature) [default: same-output
    /// for analyze-run, same-error for nightly and backfill]
    #[arg(long, value_enum, value_name = "WHAT")]
    pub reuse: Option<ReuseArg>,
    /// How many days a verdict may be reused for the same failure [default: 14]
    #[arg(long, value_name = "DAYS", value_parser = clap::value_parser!(u32).range(1..=3_650))]
    pub reuse_days: Option<u32>,
}

/// `--reuse`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReuseArg {
    Never,
    SameOutput,
    SameError,
}

impl From<ReuseArg> for evaltriage_pipeline::reuse::ReuseMode {
    fn from(arg: ReuseArg) -> Self {
        match arg {
            ReuseArg::Never => Self::Never,
            ReuseArg::SameOutput => Self::SameOutput,
            ReuseArg::SameError => Self::SameError,
        }
    }
}

#[derive(Debug, Args)]
pub struct AnalyzeArgs {
    /// Visualizer URL, run id, or path to a local store or run file. A category-level URL
    /// analyses that category, an eval-level URL that eval (each in a report of its own beside
    /// the run's full report)
    pub target: String,
    #[command(flatten)]
    pub source: SourceArgs,
    /// Where reports are read and written [default: reports]
    #[arg(long, env = "EVALTRIAGE_REPORTS_DIR", value_name = "DIR")]
    pub reports_dir: Option<PathBuf>,
    #[command(flatten)]
    pub analysis: AnalysisArgs,
    /// A hard cap on LLM tokens for the whole analysis, synthesis included: a call starts only if
    /// its worst case fits what is left; the rest are skipped and named in the report [default: no
    /// limit]
    #[arg(long, value_name = "N")]
    pub budget_tokens: Option<u64>,
    /// Print how many LLM calls (the synthesis included) and roughly how many tokens the analysis
    /// would take, and what they would cost synchronously and through the Batch API when the
    /// config prices the model, without calling
    #[arg(long)]
    pub estimate: bool,
    /// Replace an existing report for the same run (its Actions taken section is kept)
    #[arg(long)]
    pub force: bool,
}

/// Which runs `runs list` shows, by status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, serde::Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum RunStatusFilter {
    Pending,
    Running,
    Completed,
    Failed,
    /// Completed or failed
    Finished,
}

#[derive(Debug, Args)]
pub struct RunsListArgs {
    #[command(flatten)]
    pub source: SourceArgs,
    /// List the runs of this folder of Inspect AI logs (.eval, .json), one per log
    #[arg(long, value_name = "DIR", conflicts_with_all = ["store", "convex_url"])]
    pub logs: Option<PathBuf>,
    /// Only models whose slug matches this glob (`*`, `?`); repeatable
    #[arg(long = "model", value_name = "GLOB")]
    pub models: Vec<String>,
    /// Only runs of this experiment (`default` for runs that name none)
    #[arg(long, value_name = "NAME")]
    pub experiment: Option<String>,
    /// Only runs with this status
    #[arg(long, value_enum)]
    pub status: Option<RunStatusFilter>,
    /// Only runs created after a date (2026-11-30, 2026-11-30T02:00:00Z) or within a duration (24h, 7d, 90m)
    #[arg(long, value_name = "DATE|DURATION", value_parser = evaltriage_pipeline::since::parse_since)]
    pub since: Option<evaltriage_pipeline::since::Since>,
    /// Show at most this many runs
    #[arg(long, value_name = "N")]
    pub limit: Option<usize>,
}

pub(crate) const MCP_HELP: &str = include_str!("../../help/mcp.txt").trim_ascii_end();

/// `evaltriage mcp`: where runs are read from and reports go, and the analysis defaults.
#[derive(Debug, Clone, Args)]
pub struct McpArgs {
    #[command(flatten)]
    pub source: SourceArgs,
    /// Where reports are read and written (the only folder any tool writes to) [default: reports]
    #[arg(long, env = "EVALTRIAGE_REPORTS_DIR", value_name = "DIR")]
    pub reports_dir: Option<PathBuf>,
    #[command(flatten)]
    pub analysis: AnalysisArgs,
    /// A hard cap on LLM tokens for each analysis (a call's `budget_tokens` may lower it) [default: no limit]
    #[arg(long, value_name = "N")]
    pub budget_tokens: Option<u64>,
}

impl From<ClassifierKind> for evaltriage_pipeline::ClassifierKind {
    fn from(kind: ClassifierKind) -> Self {
        match kind {
            ClassifierKind::Llm => Self::Llm,
            ClassifierKind::Rules => Self::Rules,
        }
    }
}

impl From<StatusFilter> for evaltriage_pipeline::evals::StatusFilter {
    fn from(status: StatusFilter) -> Self {
        match status {
            StatusFilter::Failed => Self::Failed,
            StatusFilter::Passed => Self::Passed,
            StatusFilter::All => Self::All,
        }
    }
}

impl From<RunStatusFilter> for evaltriage_pipeline::runs::RunStatusFilter {
    fn from(status: RunStatusFilter) -> Self {
        match status {
            RunStatusFilter::Pending => Self::Pending,
            RunStatusFilter::Running => Self::Running,
            RunStatusFilter::Completed => Self::Completed,
            RunStatusFilter::Failed => Self::Failed,
            RunStatusFilter::Finished => Self::Finished,
        }
    }
}

impl From<LabelArg> for evaltriage_core::Classification {
    fn from(label: LabelArg) -> Self {
        match label {
            LabelArg::ModelFault => Self::ModelFault,
            LabelArg::OverlyStrict => Self::OverlyStrict,
            LabelArg::AmbiguousTask => Self::AmbiguousTask,
            LabelArg::KnownGap => Self::KnownGap,
        }
    }
}
