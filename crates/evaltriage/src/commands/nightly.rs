//! `nightly`: every new finished run analysed exactly once, unattended. Lists the window's runs
//! (per model, from the high-water mark or `--since`), skips the runs that already have a report,
//! analyses the others one by one through the `analyze-run` pipeline (one failure never stops the
//! others), keeps the night within its token budget, and writes the day's digest and the marks
//! after every run, so a night killed half-way loses nothing.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use chrono::Utc;
use evaltriage_core::source::{ListQuery, RunHeader, Source, SourceError, StoreSource};
use evaltriage_core::{Classification, RunRef, RunStatus, Shape, VerdictStatus};
use evaltriage_fanout::Backend;
use evaltriage_report::{AnalysedRun, ChangesSince, DigestRun, Flagged, NightDigest, RunOutcome};
use serde_json::json;

use crate::cli::NightlyArgs;
use crate::commands::analyze::{Analysed, Written, analyse, fanout_config};
use crate::commands::nightly_state::{Mark, NightLock, NightlyState};
use crate::commands::{emit, emit_json};
use crate::config::{FileConfig, Settings};
use crate::exit::CliError;
use crate::sources::{self, AnySource};

/// The window of a model that has no mark yet, when `--since` is not given.
const FIRST_NIGHT_WINDOW_MS: f64 = 24.0 * 3_600_000.0;

/// A run of the window and whether it has been handled (analysed, already reported, sampled out,
/// skipped for good): the mark never moves past a run that was not.
#[derive(Debug)]
struct WindowRun {
    header: RunHeader,
    key: String,
    handled: bool,
}

pub async fn nightly(
    args: &NightlyArgs,
    file: &FileConfig,
    settings: &Settings,
    out: &mut dyn Write,
) -> Result<ExitCode, CliError> {
    // Usage errors (a bad endpoint, a bad config value) before anything is locked or listed.
    let config = fanout_config(&args.analyze_args("", None, false), file, settings)?;
    let uses_llm = matches!(config.backend, Backend::Llm(_));
    let webhook = args.notify_webhook.as_deref().map(str::trim).filter(|u| !u.is_empty());
    // A webhook URL carries its own token: it is a secret for the redaction layer.
    if let Some(url) = webhook {
        evaltriage_core::redact::register_secret(url);
    }
    if let Some(url) = webhook {
        let parsed = url::Url::parse(url).map_err(|_| CliError::usage("--notify-webhook is not a URL"))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(CliError::usage("--notify-webhook is not an http(s) URL"));
        }
    }
    let started = Utc::now();
    let started_at = started.format("%Y-%m-%dT%H:%M:%SZ").to_string();
    let _lock = if args.dry_run { None } else { Some(NightLock::acquire(&settings.reports_dir, &started_at)?) };

    let (mut state, state_warning) = NightlyState::load(&settings.reports_dir);
    let now = crate::since::now_ms();
    let since_ms = args.since.map(|s| s.ms(now));
    say(&format!("nightly: listing runs from {}", describe_source(settings)));
    let query = ListQuery { models: args.models.clone(), experiment: args.experiment.clone(), since_ms: None };
    let listing = crate::commands::runs::listing(settings, &query).await?;

    let mut digest = NightDigest {
        date: started.date_naive(),
        started_at: started_at.clone(),
        finished: false,
        source: describe_source(settings),
        runs: Vec::new(),
        notes: state_warning.into_iter().collect(),
        tokens_spent: 0,
        budget_tokens: args.budget_tokens,
    };
    let mut failed_any = !listing.failed.is_empty();
    for (model, error) in &listing.failed {
        digest.notes.push(format!("the runs of {model} could not be listed: {error}; its mark did not move"));
    }

    // The window: per mark key, runs newer than the window start, oldest first.
    let key_of = |model: &str| match &args.experiment {
        Some(e) => format!("{model} @ {e}"),
        None => model.to_owned(),
    };
    let window_start = |key: &str| -> f64 {
        since_ms.or_else(|| state.marks.get(key).and_then(Mark::at)).unwrap_or(now - FIRST_NIGHT_WINDOW_MS)
    };
    let mut window: Vec<WindowRun> = listing
        .runs
        .iter()
        .map(|h| WindowRun { header: h.clone(), key: key_of(&h.model), handled: false })
        .filter(|w| w.header.created_at_ms > window_start(&w.key))
        .collect();
    window.sort_by(|a, b| {
        a.header.created_at_ms.total_cmp(&b.header.created_at_ms).then_with(|| a.header.run_id.cmp(&b.header.run_id))
    });
    for (model, oldest) in &listing.full {
        if *oldest > window_start(&key_of(model)) {
            digest.notes.push(format!(
                "{model} made more runs in the window than runs:listRuns returns ({}); runs before {} were not seen: analyse them with analyze-run",
                evaltriage_core::source::LIST_RUNS_MAX,
                crate::commands::runs::timestamp(*oldest)
            ));
        }
    }
    // A key's mark may move only when this night's window covers everything since the old mark.
    let movable: BTreeMap<String, bool> = window
        .iter()
        .map(|w| {
            let old = state.marks.get(&w.key).and_then(Mark::at);
            (w.key.clone(), since_ms.is_none_or(|s| old.is_none_or(|m| s <= m)))
        })
        .collect();
    let finished = window.iter().filter(|w| w.header.is_finished()).count();
    say(&format!("nightly: {} in the window ({finished} finished) across {} models", window.len(), listing.models));

    if args.dry_run {
        return dry_run(args, file, settings, &window, &state, out).await;
    }

    let digest_path = settings.reports_dir.join("nightly").join(format!("{}.md", digest.date.format("%Y-%m-%d")));
    let digest_before = match std::fs::read_to_string(&digest_path) {
        Ok(text) => text,
        Err(_) => evaltriage_report::digest_title(digest.date),
    };
    let mut night =
        Night { args, file, settings, uses_llm, budget_left: args.budget_tokens, analysed: 0, stopped: None };
    // The section shows from the start, marked in progress until the night ends.
    write_digest(&digest_path, &digest_before, &digest)?;
    let total = window.len();
    for i in 0..total {
        let header = window[i].header.clone();
        let key = window[i].key.clone();
        say(&format!("nightly: [{}/{total}] run {} · {} · {}", i + 1, header.run_id, header.model, header.experiment));
        let seen = state.marks.get(&key).map_or(0, |m| m.finished_seen);
        let outcome = night.handle(&header, seen).await;
        let handled = matches!(
            outcome,
            RunOutcome::Analysed(_)
                | RunOutcome::AlreadyReported { .. }
                | RunOutcome::Sampled { .. }
                | RunOutcome::Skipped { .. }
        );
        if let RunOutcome::Analysed(a) = &outcome {
            digest.tokens_spent += a.tokens;
        }
        // What a skip or a wait decided is decided again for free; what took work is kept at once,
        // so a night killed half-way loses none of it (two fsyncs after every run cost ~1 s a night
        // of 40 skips).
        let worth_keeping = !matches!(outcome, RunOutcome::AlreadyReported { .. } | RunOutcome::Left { .. });
        failed_any |= matches!(outcome, RunOutcome::Failed { .. });
        window[i].handled = handled;
        // Counted once: a run below the mark (a --since window reaching back) was counted before.
        let below_mark = state.marks.get(&key).and_then(Mark::at).is_some_and(|at| header.created_at_ms <= at);
        if handled && header.is_finished() && !below_mark {
            state.marks.entry(key.clone()).or_default().finished_seen += 1;
        }
        digest.runs.push(DigestRun {
            run_id: header.run_id.to_string(),
            model: header.model.clone(),
            experiment: header.experiment.clone(),
            outcome,
        });
        move_marks(&mut state, &window, &movable);
        if worth_keeping {
            state.last_night =
                Some(crate::commands::nightly_state::LastNight { started_at: started_at.clone(), finished: false });
            write_digest(&digest_path, &digest_before, &digest)?;
            state.save(&settings.reports_dir)?;
        }
    }
    failed_any |= night.stopped.is_some();
    digest.finished = true;
    write_digest(&digest_path, &digest_before, &digest)?;
    state.last_night = Some(crate::commands::nightly_state::LastNight { started_at, finished: true });
    state.save(&settings.reports_dir)?;
    say(&format!("nightly: {}", digest.summary()));

    if let Some(url) = webhook {
        notify(url, &format!("{}\nDigest: {}", digest.summary(), digest_path.display())).await;
    }
    if settings.json {
        let mut value = digest.to_json();
        if let Some(o) = value.as_object_mut() {
            o.insert("digest_path".into(), json!(digest_path));
        }
        emit_json(out, &value)?;
    } else {
        emit(out, &format!("{}\ndigest: {}\n", digest.summary(), digest_path.display()))?;
    }
    Ok(if failed_any { ExitCode::from(1) } else { ExitCode::SUCCESS })
}

/// Progress on stderr: one line per step of the night, through the redaction layer and the
/// terminal sanitizer like every other output.
fn say(line: &str) {
    let mut stderr = std::io::stderr().lock();
    let _ = writeln!(stderr, "{}", evaltriage_core::redact::for_terminal(line));
}

fn describe_source(settings: &Settings) -> String {
    match &settings.store {
        Some(dir) => format!("store {}", dir.display()),
        None => settings.convex_url.clone(),
    }
}

/// Moves each key's mark to the newest run of the longest handled stretch at the start of its
/// window.
fn move_marks(state: &mut NightlyState, window: &[WindowRun], movable: &BTreeMap<String, bool>) {
    let mut blocked: BTreeMap<&str, bool> = BTreeMap::new();
    for w in window {
        let stop = blocked.entry(w.key.as_str()).or_insert(false);
        if *stop || !w.handled {
            *stop = true;
            continue;
        }
        if !movable.get(&w.key).copied().unwrap_or(false) {
            continue;
        }
        let mark = state.marks.entry(w.key.clone()).or_default();
        if mark.at().is_none_or(|at| w.header.created_at_ms > at) {
            mark.high_water_ms = w.header.created_at_ms;
            mark.run_id = Some(w.header.run_id.to_string());
        }
    }
}

/// The day's digest: what it held when the night started, and this night's section.
fn write_digest(path: &Path, before: &str, digest: &NightDigest) -> Result<(), CliError> {
    let text = format!("{}{}", before, digest.render());
    // `<reports-dir>/nightly/<date>.md`: the reports folder is two up.
    let reports_dir = path.parent().and_then(Path::parent).unwrap_or(Path::new("."));
    evaltriage_report::write_file_atomically(reports_dir, path, text.as_bytes()).map_err(CliError::failed)
}

/// The night's running totals and settings.
struct Night<'a> {
    args: &'a NightlyArgs,
    file: &'a FileConfig,
    settings: &'a Settings,
    uses_llm: bool,
    budget_left: Option<u64>,
    analysed: usize,
    /// Why no further LLM call may be sent tonight (the endpoint refused the key).
    stopped: Option<String>,
}

impl Night<'_> {
    /// The source one run is read from: a fresh one per run, so blobs are shared between a run's
    /// estimate and its analysis and dropped after it.
    fn source(&self) -> Result<AnySource, CliError> {
        Ok(match &self.settings.store {
            Some(dir) => AnySource::Store(StoreSource::open(dir)?),
            None => AnySource::Convex(sources::convex(self.settings)?),
        })
    }

    async fn handle(&mut self, header: &RunHeader, finished_seen: u64) -> RunOutcome {
        if !header.is_finished() {
            return RunOutcome::Left { why: format!("still {}", header.status) };
        }
        match existing_report(&self.settings.reports_dir, header) {
            Ok(Some(report)) => {
                return RunOutcome::AlreadyReported { report: relative_to_digest(&self.settings.reports_dir, &report) };
            }
            Ok(None) => {}
            Err(e) => return RunOutcome::Failed { error: e.message },
        }
        if let Some(why) = &self.stopped {
            return RunOutcome::Left { why: why.clone() };
        }
        let source = match self.source() {
            Ok(s) => s,
            Err(e) => return RunOutcome::Failed { error: e.message },
        };
        let run_ref = RunRef::run(header.run_id.clone());
        let run = match source.run(&run_ref).await {
            Ok(run) => run,
            Err(e @ SourceError::NotACodingRun(_)) => return RunOutcome::Skipped { why: e.to_string() },
            Err(e) => return RunOutcome::Failed { error: e.to_string() },
        };
        if let Some(n) = self.args.sample_every.filter(|n| *n > 1) {
            if !finished_seen.is_multiple_of(u64::from(n)) {
                let shape = Shape::of(&run);
                return RunOutcome::Sampled {
                    passed: shape.passed,
                    total: shape.total,
                    failed: shape.failed,
                    infrastructure: shape.infrastructure,
                };
            }
        }
        if self.args.max_runs.is_some_and(|max| self.analysed >= max) {
            return RunOutcome::Left { why: format!("--max-runs {} reached", self.args.max_runs.unwrap_or(0)) };
        }
        if let (Some(left), true) = (self.budget_left, self.uses_llm) {
            let estimate_args = self.args.analyze_args(header.run_id.as_str(), Some(left), true);
            match analyse(&estimate_args, self.file, self.settings, &source, &run_ref).await {
                Ok(Analysed::Estimate(est, _)) if est.total_tokens() > left => {
                    return RunOutcome::Left {
                        why: format!("token budget: needs about {} tokens, {left} left tonight", est.total_tokens()),
                    };
                }
                Ok(_) => {}
                Err(e) => return RunOutcome::Failed { error: e.message },
            }
        }
        let run_args = self.args.analyze_args(header.run_id.as_str(), self.budget_left, false);
        match analyse(&run_args, self.file, self.settings, &source, &run_ref).await {
            Ok(Analysed::Written(written)) => {
                self.analysed += 1;
                if let Some(left) = &mut self.budget_left {
                    *left = left.saturating_sub(written.tokens_spent());
                }
                RunOutcome::Analysed(self.analysed_run(&written))
            }
            Ok(Analysed::Stopped(e)) => {
                let why = format!("the LLM endpoint refused the key tonight ({})", e.message);
                self.stopped = Some(why);
                RunOutcome::Failed { error: e.message }
            }
            Ok(other) => RunOutcome::Failed { error: format!("unexpected analysis outcome: {}", kind_of(&other)) },
            Err(e) => RunOutcome::Failed { error: e.message },
        }
    }

    /// A written report, as the digest shows it.
    fn analysed_run(&self, w: &Written) -> AnalysedRun {
        let (fixed, new_failures) = match &w.changes {
            ChangesSince::Since(c) => (
                c.fixed.iter().map(|e| e.eval.clone()).collect(),
                c.new_failures.iter().map(|e| e.eval.clone()).collect::<Vec<String>>(),
            ),
            ChangesSince::NoPriorReport { .. } => (Vec::new(), Vec::new()),
        };
        let mut labels = Vec::new();
        for class in Classification::ALL {
            let n = w.verdicts.iter().filter(|v| v.classification == Some(class)).count();
            if n > 0 {
                labels.push((class.as_str().to_owned(), n));
            }
        }
        let errors = w.verdicts.iter().filter(|v| v.status == VerdictStatus::Error).count();
        if errors > 0 {
            labels.push(("not classified (error)".to_owned(), errors));
        }
        let flagged = w
            .verdicts
            .iter()
            .filter_map(|v| {
                let mut reasons = Vec::new();
                if v.status == VerdictStatus::Error {
                    reasons.push("error".to_owned());
                }
                if v.classification.is_some()
                    && v.confidence.is_some_and(|c| c.is_finite() && c < self.args.review_below)
                {
                    reasons.push(format!("low confidence (below {})", self.args.review_below));
                }
                if new_failures.iter().any(|p| p == v.eval_path.as_str()) {
                    reasons.push("regression".to_owned());
                }
                (!reasons.is_empty()).then(|| Flagged {
                    eval_path: v.eval_path.to_string(),
                    classification: v.classification.map(|c| c.as_str().to_owned()),
                    confidence: v.confidence,
                    reasons,
                })
            })
            .collect();
        AnalysedRun {
            passed: w.shape.passed,
            total: w.shape.total,
            changes: w.changes.one_line(),
            fixed,
            new_failures,
            labels,
            report: relative_to_digest(&self.settings.reports_dir, &w.path),
            flagged,
            tokens: w.tokens_spent(),
        }
    }
}

fn kind_of(a: &Analysed) -> &'static str {
    match a {
        Analysed::NothingInScope(_) => "nothing in scope",
        Analysed::Estimate(..) => "an estimate",
        Analysed::Stopped(_) => "stopped",
        Analysed::Written(_) => "written",
    }
}

/// The report a run already has, found from its listed header alone (no fetch): the same folder
/// and file-name prefix `analyze-run` would write.
fn existing_report(reports_dir: &Path, header: &RunHeader) -> Result<Option<PathBuf>, CliError> {
    let run = evaltriage_core::Run {
        id: header.run_id.clone(),
        model_id: header.model_id.clone(),
        model: header.model.clone(),
        formatted_name: None,
        provider: header.provider.clone(),
        experiment: header.experiment.clone(),
        status: RunStatus::Pending,
        created_at_ms: header.created_at_ms,
        planned_evals: Vec::new(),
        evals: Vec::new(),
    };
    let path = evaltriage_report::report_path(reports_dir, &run, Utc::now().date_naive(), None);
    evaltriage_report::existing_report_for(&path).map_err(CliError::failed)
}

/// A report's path relative to `<reports-dir>/nightly/`, for the digest's links.
fn relative_to_digest(reports_dir: &Path, report: &Path) -> String {
    match report.strip_prefix(reports_dir) {
        Ok(rel) => format!("../{}", rel.to_string_lossy().replace('\\', "/")),
        Err(_) => report.to_string_lossy().into_owned(),
    }
}

/// Posts `{"text": ...}` to an incoming webhook; a failure is logged and never fails the night.
async fn notify(url: &str, text: &str) {
    let client = match reqwest::Client::builder().timeout(std::time::Duration::from_secs(15)).build() {
        Ok(c) => c,
        Err(e) => {
            say(&format!("warning: the webhook was not notified: {e}"));
            return;
        }
    };
    let body = serde_json::to_vec(&json!({ "text": text })).unwrap_or_default();
    // The URL often carries a secret token: messages name its host only.
    let host = url::Url::parse(url).ok().and_then(|u| u.host_str().map(str::to_owned)).unwrap_or_default();
    match client.post(url).header("content-type", "application/json").body(body).send().await {
        Ok(r) if r.status().is_success() => say(&format!("nightly: notified the webhook at {host}")),
        Ok(r) => say(&format!(
            "warning: the webhook at {host} answered HTTP {}; the night is not affected",
            r.status().as_u16()
        )),
        Err(e) => say(&format!(
            "warning: the webhook at {host} could not be reached ({}); the night is not affected",
            if e.is_timeout() { "timed out" } else { "request failed" }
        )),
    }
}

/// `--dry-run`: what the night would do, with the estimated cost; nothing is written and no LLM
/// is called.
async fn dry_run(
    args: &NightlyArgs,
    file: &FileConfig,
    settings: &Settings,
    window: &[WindowRun],
    state: &NightlyState,
    out: &mut dyn Write,
) -> Result<ExitCode, CliError> {
    let mut budget_left = args.budget_tokens;
    let mut analyses = 0usize;
    let mut seen: BTreeMap<&str, u64> =
        state.marks.iter().map(|(k, m): (&String, &Mark)| (k.as_str(), m.finished_seen)).collect();
    let mut rows = Vec::new();
    let mut total_tokens = 0u64;
    for w in window {
        let h = &w.header;
        let (action, tokens) = if !h.is_finished() {
            (format!("wait: still {}", h.status), None)
        } else if let Some(report) = existing_report(&settings.reports_dir, h)? {
            (format!("skip: already reported ({})", report.display()), None)
        } else {
            let n = seen.entry(w.key.as_str()).or_insert(0);
            let pick = args.sample_every.is_none_or(|every| n.is_multiple_of(u64::from(every)));
            *n += 1;
            if !pick {
                ("shape only: not sampled".to_owned(), None)
            } else if args.max_runs.is_some_and(|max| analyses >= max) {
                ("wait: --max-runs reached".to_owned(), None)
            } else {
                let source = match &settings.store {
                    Some(dir) => AnySource::Store(StoreSource::open(dir)?),
                    None => AnySource::Convex(sources::convex(settings)?),
                };
                let estimate_args = args.analyze_args(h.run_id.as_str(), budget_left, true);
                match analyse(&estimate_args, file, settings, &source, &RunRef::run(h.run_id.clone())).await {
                    Ok(Analysed::Estimate(est, _)) => {
                        let need = est.total_tokens();
                        if budget_left.is_some_and(|left| need > left) {
                            (format!("wait: token budget (needs about {need})"), Some(need))
                        } else {
                            if let Some(left) = &mut budget_left {
                                *left -= need;
                            }
                            analyses += 1;
                            total_tokens += need;
                            (format!("analyse: {} LLM calls", est.calls), Some(need))
                        }
                    }
                    Ok(other) => (format!("cannot estimate: {}", kind_of(&other)), None),
                    Err(e) => (format!("cannot estimate: {}", e.message), None),
                }
            }
        };
        rows.push((h, action, tokens));
    }
    if settings.json {
        return emit_json(
            out,
            &json!({
                "dry_run": true,
                "estimated_tokens": total_tokens,
                "runs": rows.iter().map(|(h, action, tokens)| json!({
                    "run_id": h.run_id.as_str(),
                    "model": h.model,
                    "experiment": h.experiment,
                    "status": h.status,
                    "action": action,
                    "estimated_tokens": tokens,
                })).collect::<Vec<_>>(),
            }),
        )
        .map(|()| ExitCode::SUCCESS);
    }
    let mut s = String::new();
    for (h, action, tokens) in &rows {
        let tokens = tokens.map(|t| format!(" (~{t} tokens)")).unwrap_or_default();
        s.push_str(&format!("{}  {}  {}  {action}{tokens}\n", h.run_id, h.model, h.experiment));
    }
    s.push_str(&format!(
        "dry run: {analyses} of {} runs would be analysed, about {total_tokens} LLM tokens; nothing was written\n",
        rows.len()
    ));
    emit(out, &s).map(|()| ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use evaltriage_core::RunId;

    use super::*;

    fn window_run(key: &str, n: usize, created: f64, handled: bool) -> WindowRun {
        let header = RunHeader {
            run_id: RunId::new(&format!("r{n:07}xxxxxxxx")).unwrap(),
            model: key.to_owned(),
            experiment: "default".into(),
            status: "completed".into(),
            created_at_ms: created,
            model_id: None,
            provider: None,
            eval_counts: None,
        };
        WindowRun { header, key: key.to_owned(), handled }
    }

    #[test]
    fn a_mark_stops_before_the_first_run_not_handled_and_only_moves_forward() {
        let mut state = NightlyState::default();
        state.marks.insert("c".into(), Mark { high_water_ms: 50.0, run_id: Some("r".into()), finished_seen: 0 });
        // Counted runs but no mark yet (its first run is still waiting).
        state.marks.insert("d".into(), Mark { high_water_ms: 0.0, run_id: None, finished_seen: 2 });
        let window = vec![
            window_run("a", 1, 10.0, true),
            window_run("b", 2, 11.0, false),
            window_run("a", 3, 12.0, true),
            window_run("b", 4, 13.0, true),
            window_run("a", 5, 14.0, false),
            window_run("a", 6, 15.0, true),
            window_run("c", 7, 16.0, true),
        ];
        let movable: BTreeMap<String, bool> =
            [("a".to_owned(), true), ("b".to_owned(), true), ("c".to_owned(), true)].into();
        move_marks(&mut state, &window, &movable);
        assert_eq!(state.marks["a"].high_water_ms, 12.0, "stops before run 5");
        assert!(!state.marks.contains_key("b"), "b's first run was not handled");
        assert_eq!(state.marks["c"].high_water_ms, 50.0, "a mark never moves back");
        assert_eq!(state.marks["d"].at(), None);

        let frozen: BTreeMap<String, bool> = [("a".to_owned(), false)].into();
        let mut fresh = NightlyState::default();
        move_marks(&mut fresh, &window, &frozen);
        assert!(fresh.marks.is_empty(), "a --since window that skips past the mark moves nothing");
    }
}
