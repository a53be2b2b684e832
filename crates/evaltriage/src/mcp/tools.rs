//! The tool registry: one entry per operation, with its input schema (from the argument struct,
//! by schemars), its output schema, a description an agent can act on, and a handler that maps
//! the arguments to the pipeline's options and calls the pipeline, as the CLI command does. A new tool is
//! an argument struct, a handler and one entry in [`registry`].

use std::fmt::Write as _;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};

use rmcp::model::{JsonObject, ProgressNotificationParam, ProgressToken, Tool, ToolAnnotations};
use rmcp::{Peer, RoleServer};
use schemars::JsonSchema;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use super::Shared;
use super::output::ToolOutput;
use super::{resources, review_tools};
use evaltriage_pipeline::analyze::{AnalyzeRequest, Analyzed};
use evaltriage_pipeline::{AnalysisSettings, evals, runs};

use crate::cli::{ClassifierKind, RunStatusFilter, StatusFilter};
use crate::exit::CliError;
use crate::present::analyze::{estimate_text, written_json, written_text};
use crate::progress::{Progress, ProgressUpdate};
use evaltriage_pipeline::analyze::estimate_json;

/// What a handler returns.
pub type ToolFuture<'a> = Pin<Box<dyn Future<Output = Result<ToolOutput, CliError>> + Send + 'a>>;
type Handler = Box<dyn for<'a> Fn(&'a Shared, JsonObject, &'a Call) -> ToolFuture<'a> + Send + Sync>;

/// The request a handler runs for: who to send progress to.
#[derive(Debug)]
pub struct Call {
    pub peer: Peer<RoleServer>,
    pub progress_token: Option<ProgressToken>,
}

/// One tool.
pub struct ToolDef {
    pub name: &'static str,
    description: &'static str,
    input_schema: Arc<JsonObject>,
    output_schema: Arc<JsonObject>,
    read_only: bool,
    pub call: Handler,
}

impl std::fmt::Debug for ToolDef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ToolDef").field("name", &self.name).finish_non_exhaustive()
    }
}

impl ToolDef {
    /// A tool taking arguments `A`, which are checked against their schema before `handler` runs;
    /// arguments that do not fit are the caller's error, said in one line.
    fn new<A, H>(name: &'static str, description: &'static str, output_schema: Value, handler: H) -> Self
    where
        A: DeserializeOwned + JsonSchema + Send + 'static,
        H: for<'a> Fn(&'a Shared, A, &'a Call) -> ToolFuture<'a> + Send + Sync + 'static,
    {
        let call: Handler = Box::new(move |shared, arguments, call| match parse::<A>(name, arguments) {
            Ok(args) => handler(shared, args, call),
            Err(e) => Box::pin(std::future::ready(Err(e))),
        });
        Self {
            name,
            description,
            input_schema: Arc::new(schema_object(serde_json::to_value(schemars::schema_for!(A)).unwrap_or_default())),
            output_schema: Arc::new(schema_object(output_schema)),
            read_only: true,
            call,
        }
    }

    /// A tool that writes (into the reports folder only).
    fn writes(mut self) -> Self {
        self.read_only = false;
        self
    }

    /// The tool as `tools/list` shows it.
    pub fn tool(&self) -> Tool {
        let mut annotations = ToolAnnotations::default();
        annotations.read_only_hint = Some(self.read_only);
        annotations.destructive_hint = Some(false);
        annotations.open_world_hint = Some(true);
        Tool::new(self.name, self.description, self.input_schema.clone())
            .with_raw_output_schema(self.output_schema.clone())
            .with_annotations(annotations)
    }
}

fn schema_object(value: Value) -> JsonObject {
    match value {
        Value::Object(map) => map,
        _ => JsonObject::new(),
    }
}

/// The arguments of a call, as `A`; a missing, unknown or mistyped argument is bad input.
fn parse<A: DeserializeOwned>(tool: &str, arguments: JsonObject) -> Result<A, CliError> {
    serde_json::from_value(Value::Object(arguments))
        .map_err(|e| CliError::usage(format!("{tool}: invalid arguments: {e}")))
}

/// Every tool, built once.
pub fn registry() -> &'static [ToolDef] {
    static TOOLS: OnceLock<Vec<ToolDef>> = OnceLock::new();
    TOOLS.get_or_init(|| {
        vec![
            ToolDef::new(
                "runs_list",
                "List benchmark runs across models, newest first (Convex: each matching model's newest 40; or the \
                 local store). Filter by model glob, experiment, status and age. Use it to find the run id to pass \
                 to runs_show, evals_list or analyze_run.",
                object_schema(&[("runs", "array"), ("models", "integer"), ("requests", "integer")]),
                |shared, args, _| Box::pin(runs_list(shared, args)),
            ),
            ToolDef::new(
                "runs_show",
                "The shape of one run before any analysis: model, experiment, status, totals and pass rate, failures \
                 by step, infrastructure versus verification failures, clusters of failures sharing an error.",
                object_schema(&[
                    ("run_id", "string"),
                    ("model", "string"),
                    ("total", "integer"),
                    ("failed", "integer"),
                    ("failures", "array"),
                ]),
                |shared, args, _| Box::pin(runs_show(shared, args)),
            ),
            ToolDef::new(
                "evals_list",
                "The evals of one run: id, path, status, failed step and reason, filtered by status.",
                object_schema(&[("run_id", "string"), ("evals", "array")]),
                |shared, args, _| Box::pin(evals_list(shared, args)),
            ),
            ToolDef::new(
                "evals_show",
                "One eval of a run: its steps, full error and task; with `file`, one text file of its output zip \
                 (run.log, the model's code under answer/ ...) or its source zip (TASK.txt, grader.test.ts). Long \
                 text is cut unless `full` is true.",
                object_schema(&[("run_id", "string"), ("eval_id", "string"), ("eval_path", "string")]),
                |shared, args, _| Box::pin(evals_show(shared, args)),
            ),
            ToolDef::new(
                "analyze_run",
                "Analyze a run's failures (or one category's or eval's, from a visualizer URL) and write the \
                 markdown triage report into the reports folder: each failure labelled MODEL_FAULT, \
                 OVERLY_STRICT, AMBIGUOUS_TASK or KNOWN_GAP with reasoning, history against prior reports, and \
                 what changed since the last one. Returns the verdicts and `report_uri` (read it as a resource). \
                 `estimate` only counts the LLM calls and tokens it would take (and their cost, when the config \
                 prices the model). An existing report is replaced only with `force`. Sends progress \
                 notifications; can take minutes; cancellable.",
                object_schema(&[]),
                |shared, args, call| Box::pin(analyze_run(shared, args, call)),
            )
            .writes(),
            ToolDef::new(
                "reports_list",
                "Every triage report in the reports folder (ours and hand-written), newest first: model, date, run, \
                 experiment, pass rate, label counts, whether a reviewer gave verdicts. Filter by model glob and day.",
                object_schema(&[("reports", "array")]),
                |shared, args, _| Box::pin(review_tools::reports_list(shared, args)),
            ),
            ToolDef::new(
                "reports_show",
                "One report's markdown, named by its path, a run id or prefix, or a model (its latest report).",
                object_schema(&[("path", "string"), ("markdown", "string")]),
                |shared, args, _| Box::pin(review_tools::reports_show(shared, args)),
            ),
            ToolDef::new(
                "reports_trend",
                "Per model, pass rate and label counts over time; persistent failures (failing in k of the last n \
                 runs), flaky evals (alternating pass and fail), and evals failing for every model (likely the \
                 eval's problem, not the model's).",
                object_schema(&[]),
                |shared, args, _| Box::pin(review_tools::reports_trend(shared, args)),
            ),
            ToolDef::new(
                "diff",
                "Per eval, what changed between two runs: fixed, new failures, still failing with old -> new label, \
                 a changed failing step. Each side is read from its report when it has one, else from run data.",
                object_schema(&[]),
                |shared, args, _| Box::pin(review_tools::run_diff(shared, args)),
            ),
            ToolDef::new(
                "reports_export",
                "One record per verdict across reports (run, model, experiment, date, eval, step, label, \
                 confidence, classifier, repeat, human label, reasoning), filtered; the text is CSV.",
                object_schema(&[("records", "array")]),
                |shared, args, _| Box::pin(review_tools::reports_export(shared, args)),
            ),
            ToolDef::new(
                "reports_review",
                "Record a human reviewer's verdict for one eval in a report (a visible line and an entry in its \
                 machine-readable block, written atomically under the report's lock). Later analyses start from \
                 it as the authoritative prior label. Only reports inside the reports folder.",
                object_schema(&[]),
                |shared, args, _| Box::pin(review_tools::reports_review(shared, args)),
            )
            .writes(),
            ToolDef::new(
                "reports_agreement",
                "How often the tool's labels matched reviewers' verdicts, per label and per classifier (a \
                 confusion matrix).",
                object_schema(&[]),
                |shared, args, _| Box::pin(review_tools::reports_agreement(shared, args)),
            ),
            ToolDef::new(
                "findings",
                "Tracked failures across runs and models, derived from the reports (no LLM): a model's evals that \
                 fail again and again (kind model) or pass and fail in turn (flaky), and grader suspects (an eval \
                 failing the same way for several models), each with its state (new, recurring, fix-claimed, \
                 verified, reopened) and the runs that decided it. Give `id` for one finding in full.",
                object_schema(&[]),
                |shared, args, _| Box::pin(review_tools::findings(shared, args)),
            ),
        ]
    })
}

/// `{"type": "object", "properties": {...}, "required": [...]}` for the top-level fields a result
/// always has (with the untrusted-data notice); the rest of the CLI's JSON is allowed beside them.
fn object_schema(fields: &[(&str, &str)]) -> Value {
    let mut properties = serde_json::Map::new();
    for (name, kind) in fields {
        properties.insert((*name).to_owned(), json!({ "type": kind }));
    }
    properties.insert(super::output::NOTICE_KEY.to_owned(), json!({ "type": "string" }));
    let mut required: Vec<&str> = fields.iter().map(|(name, _)| *name).collect();
    required.push(super::output::NOTICE_KEY);
    json!({ "type": "object", "properties": properties, "required": required })
}

/// Arguments of `runs_list`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct RunsListInput {
    /// Only models whose slug matches one of these globs (`*`, `?`), e.g. `anthropic/*`
    #[serde(default)]
    models: Vec<String>,
    /// Only runs of this experiment (`default` for runs that name none)
    experiment: Option<String>,
    /// Only runs with this status
    status: Option<RunStatusFilter>,
    /// Only runs created after a date (`2026-11-30`, `2026-11-30T02:00:00Z`) or within a duration (`24h`, `7d`, `90m`)
    since: Option<String>,
    /// At most this many runs
    limit: Option<usize>,
}

async fn runs_list(shared: &Shared, input: RunsListInput) -> Result<ToolOutput, CliError> {
    let since = match input.since.as_deref() {
        Some(text) => {
            Some(evaltriage_pipeline::since::parse_since(text).map_err(|e| CliError::usage(format!("since: {e}")))?)
        }
        None => None,
    };
    let query = runs::RunsQuery {
        models: input.models,
        experiment: input.experiment,
        status: input.status.map(Into::into),
        since,
        limit: input.limit,
    };
    let listed = runs::list_runs(&query, &shared.settings).await?;
    Ok(ToolOutput { json: listed.json(), text: crate::present::runs::runs_listed_text(&listed) })
}

/// A run, as the CLI takes it.
const TARGET: &str =
    "A run id, a visualizer URL (run-, category- or eval-level), or a path to a local store or run file";

/// Arguments of `runs_show`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct RunsShowInput {
    #[schemars(description = TARGET)]
    target: String,
}

async fn runs_show(shared: &Shared, input: RunsShowInput) -> Result<ToolOutput, CliError> {
    let (run, shape) = runs::run_shape(&input.target, &shared.settings).await?;
    Ok(ToolOutput { json: runs::shape_json(&run, &shape), text: crate::present::runs::shape_text(&run, &shape) })
}

/// Arguments of `evals_list`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct EvalsListInput {
    #[schemars(description = TARGET)]
    target: String,
    /// Which evals to list [default: all]
    status: Option<StatusFilter>,
}

async fn evals_list(shared: &Shared, input: EvalsListInput) -> Result<ToolOutput, CliError> {
    let status = input.status.unwrap_or(StatusFilter::All).into();
    let listed = evals::list_evals(&input.target, status, &shared.settings).await?;
    Ok(ToolOutput { json: listed.json(), text: crate::present::evals::evals_listed_text(&listed) })
}

/// Arguments of `evals_show`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct EvalsShowInput {
    #[schemars(description = TARGET)]
    target: String,
    /// The eval's id or path (`category/name`); optional when the target is an eval-level URL
    eval: Option<String>,
    /// One file of the eval's output zip (or, failing that, its source zip), e.g. `run.log`
    file: Option<String>,
    /// The whole error or file: no cut of long or repeated output [default: false]
    #[serde(default)]
    full: bool,
}

async fn evals_show(shared: &Shared, input: EvalsShowInput) -> Result<ToolOutput, CliError> {
    let (source, run, index) = evals::find_eval(&input.target, input.eval.as_deref(), &shared.settings).await?;
    let eval = &run.evals[index];
    let mut json = evals::eval_json(&run, eval);
    let mut text = String::new();
    if let Some(wanted) = input.file.as_deref() {
        let content = evals::eval_file(&source, &run, eval, wanted).await?;
        let (content, cut) =
            if input.full { (content, 0) } else { evaltriage_core::text::condense(&content, evals::SHOWN) };
        json["file"] = json!({
            "path": wanted.trim_start_matches("./"),
            "content": content,
            "lines_cut": cut,
        });
        text.push_str(&content);
        if cut > 0 {
            let _ = write!(text, "\n({cut} lines cut; call again with full: true for all of it)\n");
        }
    } else {
        let address = crate::hints::RunAddress::new(&input.target, &run.id, &shared.settings);
        text = crate::present::evals::eval_text(&run, eval, input.full, &address);
    }
    Ok(ToolOutput { json, text })
}

/// Arguments of `analyze_run`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct AnalyzeRunInput {
    /// A run id or visualizer URL (a category- or eval-level URL analyses that part only, in a
    /// report of its own), or a path to a local store or run file
    target: String,
    /// Only count the LLM calls and tokens the analysis would take, and their cost when the config
    /// prices the model; call nothing, write nothing
    #[serde(default)]
    estimate: bool,
    /// Replace an existing report for the same run (its Actions taken section is kept)
    #[serde(default)]
    force: bool,
    /// `llm` (the configured OpenAI-compatible endpoint) or `rules` (deterministic, no LLM)
    /// [default: llm when an endpoint or key is configured, else rules]
    classifier: Option<ClassifierKind>,
    /// A hard cap on LLM tokens for this analysis (never above the server's own --budget-tokens)
    budget_tokens: Option<u64>,
}

async fn analyze_run(shared: &Shared, input: AnalyzeRunInput, call: &Call) -> Result<ToolOutput, CliError> {
    let mut options = shared.analysis.clone();
    if let Some(kind) = input.classifier {
        options.classifier = Some(kind.into());
    }
    options.budget_tokens = match (input.budget_tokens, shared.analysis.budget_tokens) {
        (Some(asked), Some(cap)) => Some(asked.min(cap)),
        (asked, cap) => asked.or(cap),
    };
    let analysis = AnalysisSettings::resolve(&options, &shared.file, &shared.settings)?;
    let (source, run_ref) = evaltriage_pipeline::source::open(&input.target, &shared.settings)?;
    let (updates, mut received) = tokio::sync::mpsc::unbounded_channel::<ProgressUpdate>();
    let notifier = call.progress_token.clone().map(|token| {
        let peer = call.peer.clone();
        tokio::spawn(async move {
            let mut counter = Monotonic::default();
            while let Some(update) = received.recv().await {
                let Some((progress, total)) = counter.next(&update) else { continue };
                let mut param = ProgressNotificationParam::new(token.clone(), progress)
                    .with_message(evaltriage_core::redact::redact(&update.message).into_owned());
                if let Some(total) = total {
                    param = param.with_total(total);
                }
                if peer.notify_progress(param).await.is_err() {
                    break;
                }
            }
        })
    });
    let request = AnalyzeRequest { estimate: input.estimate, force: input.force };
    let progress = Arc::new(Progress::to_channel(updates));
    let analyzed =
        evaltriage_pipeline::analyze::analyze(&shared.settings, &analysis, request, &source, &run_ref, progress).await;
    if let Some(notifier) = notifier {
        let _ = notifier.await;
    }
    let analyzed = analyzed.map_err(|e| {
        let mut e = CliError::from(e);
        // The MCP argument, not the CLI flag.
        e.message = e.message.replace("pass --force", "set force");
        e
    })?;
    match analyzed {
        Analyzed::NothingInScope(message) => {
            Ok(ToolOutput { json: json!({ "report_path": null, "message": message.trim() }), text: message })
        }
        Analyzed::Estimate(est, config) => {
            let (price, file) = (analysis.price.as_ref(), shared.file.path.as_deref());
            Ok(ToolOutput {
                json: estimate_json(&est, &config, price),
                text: estimate_text(&est, &config, price, file),
            })
        }
        Analyzed::Stopped(e) => Err(e.into()),
        Analyzed::Written(written) => {
            let address = || crate::hints::RunAddress::new(&input.target, &written.run.id, &shared.settings);
            let mut json = written_json(&written, address());
            json["report_uri"] = json!(resources::uri_of_path(&shared.settings.reports_dir, &written.path));
            json["complete"] = json!(!written.incomplete());
            Ok(ToolOutput { json, text: written_text(&written, address()) })
        }
    }
}

/// The analysis's bars (evidence, then classification) as one progress value that only grows, as
/// MCP requires: a new bar starts after the ones before it. An update that would not move it
/// forward is not sent (its message rides on the next one).
#[derive(Debug, Default)]
struct Monotonic {
    /// The totals of the bars that ended.
    base: u64,
    /// The current bar's position and total.
    done: u64,
    total: Option<u64>,
    sent: Option<u64>,
}

impl Monotonic {
    fn next(&mut self, update: &ProgressUpdate) -> Option<(f64, Option<f64>)> {
        if update.total != self.total || update.done < self.done {
            self.base += self.total.unwrap_or(self.done);
        }
        self.done = update.done;
        self.total = update.total;
        let progress = self.base + self.done;
        if self.sent.is_some_and(|sent| progress <= sent) {
            return None;
        }
        self.sent = Some(progress);
        Some((progress as f64, self.total.map(|t| (self.base + t) as f64)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_only_grows_across_bars() {
        let mut counter = Monotonic::default();
        let update = |done, total| ProgressUpdate { done, total, message: String::new() };
        let sent: Vec<_> = [
            update(0, None),
            update(0, Some(2)),
            update(1, Some(2)),
            update(1, Some(2)),
            update(2, Some(2)),
            update(0, Some(3)),
            update(1, Some(3)),
            update(3, Some(3)),
        ]
        .iter()
        .filter_map(|u| counter.next(u))
        .collect();
        assert_eq!(sent, [(0.0, None), (1.0, Some(2.0)), (2.0, Some(2.0)), (3.0, Some(5.0)), (5.0, Some(5.0))],);
    }

    #[test]
    fn mcp_help_names_every_tool() {
        let help = crate::cli::MCP_HELP.replace('\n', " ");
        for def in registry() {
            assert!(help.contains(def.name), "mcp --help does not name {}", def.name);
        }
    }

    #[test]
    fn every_tool_has_an_object_input_schema_and_a_description() {
        for def in registry() {
            let tool = def.tool();
            assert_eq!(tool.input_schema.get("type"), Some(&Value::from("object")), "{}", def.name);
            assert!(tool.output_schema.is_some(), "{}", def.name);
            assert!(def.description.len() > 40, "{}", def.name);
        }
    }
}
