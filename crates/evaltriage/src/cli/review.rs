//! The options of the review commands: `reports` (list, show, trend, diff, export, review,
//! agreement) and `findings` (list, show, claim), with the across-runs thresholds.

use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};

pub(super) const FINDINGS_HELP: &str = include_str!("../../help/findings.txt").trim_ascii_end();

/// `findings`: list (the default), `show` or `claim`.
#[derive(Debug, Args)]
pub struct FindingsArgs {
    #[command(subcommand)]
    pub command: Option<FindingsCommand>,
    /// Only findings of models matching this glob (a grader finding: one of its models)
    #[arg(long, value_name = "GLOB")]
    pub model: Option<String>,
    /// Only findings in this state (new, recurring, fix-claimed, verified, reopened)
    #[arg(long, value_name = "STATE", value_parser = parse_finding_state)]
    pub state: Option<evaltriage_report::FindingState>,
    /// Only findings of this kind
    #[arg(long, value_enum)]
    pub kind: Option<FindingKindArg>,
    /// Only open findings (every state but verified)
    #[arg(long)]
    pub open: bool,
    #[command(flatten)]
    pub across: AcrossArgs,
    #[command(flatten)]
    pub reports: ReportsDirArgs,
}

/// `findings show` and `findings claim`.
#[derive(Debug, Subcommand)]
pub enum FindingsCommand {
    /// One finding: its history, its claim and the runs that decided its state
    #[command(after_help = "Example:\n  evaltriage findings show m-1a2b3c4d --json")]
    Show {
        /// The finding's id (`m-...` or `g-...`, from `evaltriage findings`)
        id: String,
        #[command(flatten)]
        across: AcrossArgs,
        #[command(flatten)]
        reports: ReportsDirArgs,
    },
    /// Claim a fix: writes an Actions taken entry naming the eval into the report of the finding's
    /// newest failing run
    #[command(after_help = "Example:\n  evaltriage findings claim m-1a2b3c4d --note 'relaxed prefer-const'")]
    Claim {
        /// The finding's id
        id: String,
        /// What was done
        #[arg(long, value_name = "TEXT")]
        note: String,
        #[command(flatten)]
        across: AcrossArgs,
        #[command(flatten)]
        reports: ReportsDirArgs,
    },
}

/// The kinds of finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FindingKindArg {
    /// A model's eval failing again and again
    Model,
    /// A model's eval passing and failing in turn
    Flaky,
    /// An eval failing the same way for several models
    Grader,
}

impl From<FindingKindArg> for evaltriage_report::FindingKind {
    fn from(k: FindingKindArg) -> Self {
        match k {
            FindingKindArg::Model => Self::Model,
            FindingKindArg::Flaky => Self::Flaky,
            FindingKindArg::Grader => Self::Grader,
        }
    }
}

fn parse_finding_state(s: &str) -> Result<evaltriage_report::FindingState, String> {
    evaltriage_report::FindingState::parse(s)
        .ok_or_else(|| format!("{s:?} is not a state (new, recurring, fix-claimed, verified, reopened)"))
}

/// The thresholds of findings and grader suspects, over `[across]` in the config file.
#[derive(Debug, Args, Default, Clone)]
pub struct AcrossArgs {
    /// Runs per model the findings look at [default: 20]
    #[arg(long, value_name = "N")]
    pub window_runs: Option<usize>,
    /// Days grader suspects look back [default: 7]
    #[arg(long, value_name = "DAYS")]
    pub suspect_days: Option<u32>,
    /// Distinct models failing the same way for a grader suspect [default: 3]
    #[arg(long, value_name = "N")]
    pub min_models: Option<usize>,
    /// Share of the models that ran the eval that must fail that way [default: 0.5]
    #[arg(long, value_name = "SHARE")]
    pub min_share: Option<f64>,
    /// Passing runs after a claim that verify it [default: 2]
    #[arg(long, value_name = "N")]
    pub verify_after: Option<usize>,
}

impl AcrossArgs {
    /// These flags over the config file's `[across]`.
    pub fn over(
        &self,
        file: evaltriage_pipeline::settings::AcrossConfig,
    ) -> evaltriage_pipeline::settings::AcrossConfig {
        file.or(evaltriage_pipeline::settings::AcrossConfig {
            window_runs: self.window_runs,
            suspect_days: self.suspect_days,
            suspect_min_models: self.min_models,
            suspect_min_share: self.min_share,
            verify_after: self.verify_after,
            ..Default::default()
        })
    }
}

/// The reports folder a review command reads.
#[derive(Debug, Args, Default)]
pub struct ReportsDirArgs {
    /// Where reports are read [default: reports]
    #[arg(long, env = "EVALTRIAGE_REPORTS_DIR", value_name = "DIR")]
    pub reports_dir: Option<PathBuf>,
}

/// A `YYYY-MM-DD` date.
fn parse_date(s: &str) -> Result<chrono::NaiveDate, String> {
    chrono::NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").map_err(|_| format!("{s:?} is not a date (YYYY-MM-DD)"))
}

/// What `reports export` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExportFormat {
    /// One JSON array
    Json,
    /// One JSON object per line
    Jsonl,
    /// Comma-separated values with a header row
    Csv,
}

/// A label a reviewer gives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
#[value(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum LabelArg {
    ModelFault,
    OverlyStrict,
    AmbiguousTask,
    KnownGap,
}

#[derive(Debug, Subcommand)]
pub enum ReportsCommand {
    /// Every report, own and hand-written, newest run first: the day its run ran, model,
    /// run, experiment, pass rate, labels, whether a reviewer has given verdicts
    #[command(
        after_help = "Examples:\n  evaltriage reports list\n  evaltriage reports list --model '*sonnet*' --since 2026-02-01 --json"
    )]
    List {
        /// Only models matching this glob (`*`, `?`; case and dots-versus-dashes ignored)
        #[arg(long, value_name = "GLOB")]
        model: Option<String>,
        /// Only reports of runs made on or after this day
        #[arg(long, value_name = "YYYY-MM-DD", value_parser = parse_date)]
        since: Option<chrono::NaiveDate>,
        #[command(flatten)]
        reports: ReportsDirArgs,
    },
    /// One report: rendered for the terminal, or raw markdown when piped or with --raw
    #[command(
        after_help = "Examples:\n  evaltriage reports show anthropic/claude-sonnet-4.6     # its latest report\n  evaltriage reports show jn72t14a --raw\n  evaltriage reports show \\\n    reports/anthropic/claude-opus-4-6/jn72t14a_2026-02-06.md"
    )]
    Show {
        /// A report path, a run id or prefix, or a model (its latest report)
        report: String,
        /// Print the markdown as it is
        #[arg(long)]
        raw: bool,
        #[command(flatten)]
        reports: ReportsDirArgs,
    },
    /// Per model, pass rate and labels over time; persistent and flaky evals; evals failing for
    /// every model
    #[command(
        after_help = "Examples:\n  evaltriage reports trend\n  evaltriage reports trend --model 'anthropic/*' --runs 5 --min-failed 2 \\\n    --svg trend.svg"
    )]
    Trend {
        /// Only models matching this glob
        #[arg(long, value_name = "GLOB")]
        model: Option<String>,
        /// Only reports of runs made on or after this day
        #[arg(long, value_name = "YYYY-MM-DD", value_parser = parse_date)]
        since: Option<chrono::NaiveDate>,
        /// The last N runs of each model
        #[arg(long, value_name = "N", default_value_t = 10, value_parser = clap::value_parser!(u16).range(1..=500))]
        runs: u16,
        /// A persistent failure failed in at least K of those runs
        #[arg(long, value_name = "K", default_value_t = 3, value_parser = clap::value_parser!(u16).range(1..=500))]
        min_failed: u16,
        /// Also write the pass-rate chart as an SVG file
        #[arg(long, value_name = "FILE")]
        svg: Option<PathBuf>,
        #[command(flatten)]
        reports: ReportsDirArgs,
    },
    /// One record per verdict across reports, as JSON, JSON lines or CSV
    #[command(
        after_help = "Examples:\n  evaltriage reports export --format csv > verdicts.csv\n  evaltriage reports export --format jsonl --classification KNOWN_GAP \\\n    --since 2026-02-01"
    )]
    Export {
        /// The records' format: one JSON array, one JSON object a line, or CSV
        #[arg(long, value_enum, default_value_t = ExportFormat::Json)]
        format: ExportFormat,
        /// Only models matching this glob
        #[arg(long, value_name = "GLOB")]
        model: Option<String>,
        /// Only verdicts with this status (done, error, skipped)
        #[arg(long, value_name = "STATUS")]
        status: Option<String>,
        /// Only verdicts with this label (the tool's or a reviewer's)
        #[arg(long, value_name = "LABEL")]
        classification: Option<String>,
        /// Only failures at this step (`none` for failures without one)
        #[arg(long, value_name = "STEP")]
        step: Option<String>,
        /// Only reports of runs made on or after this day
        #[arg(long, value_name = "YYYY-MM-DD", value_parser = parse_date)]
        since: Option<chrono::NaiveDate>,
        /// Only reports of runs made on or before this day
        #[arg(long, value_name = "YYYY-MM-DD", value_parser = parse_date)]
        until: Option<chrono::NaiveDate>,
        #[command(flatten)]
        reports: ReportsDirArgs,
    },
    /// Record a reviewer's verdict on one failure in its report (authoritative for later analyses)
    #[command(after_help = include_str!("../../help/reports_review.txt").trim_ascii_end())]
    Review {
        /// A report path, or a run id or prefix with one report
        report: String,
        /// The eval (`category/name`)
        eval: String,
        /// The reviewer's label, which later analyses start from
        #[arg(long, value_enum)]
        label: LabelArg,
        /// Why
        #[arg(long, value_name = "TEXT")]
        note: String,
        /// Who reviewed it
        #[arg(long, value_name = "NAME")]
        by: Option<String>,
        #[command(flatten)]
        reports: ReportsDirArgs,
    },
    /// How often the tool's labels matched reviewers': per label and per classifier, with a
    /// confusion matrix
    #[command(after_help = "Example:\n  evaltriage reports agreement --json")]
    Agreement {
        /// Only models matching this glob
        #[arg(long, value_name = "GLOB")]
        model: Option<String>,
        /// Only reports of runs made on or after this day
        #[arg(long, value_name = "YYYY-MM-DD", value_parser = parse_date)]
        since: Option<chrono::NaiveDate>,
        #[command(flatten)]
        reports: ReportsDirArgs,
    },
}
