//! The nightly: every new finished run analyzed exactly once, unattended. Lists the window's runs
//! (per model, from the high-water mark or a `since`; every log of a `--logs` folder), steps through them with the night's
//! [`plan`] (the same one `dry_run` shows), analyzes through [`crate::analyze`] (one failure never
//! stops the others), and writes the day's digest and the marks after every run, so a night killed
//! half-way loses nothing. The digest ends with the findings whose state the night changed (the
//! reports folder's findings at the start against those at the end).

mod digest;
pub mod plan;
mod runs;
pub mod state;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use chrono::Utc;
use evaltriage_core::source::{ListQuery, RunHeader};
use evaltriage_core::{RunRef, TokenUsage};
use evaltriage_report::{DigestRun, NightDigest, RunOutcome};
use serde_json::{Value, json};

use crate::analyze::{AnalyzeRequest, Analyzed, analyze};
use crate::error::Error;
use crate::events::{Event, Events, NoEvents};
use crate::settings::{AnalysisSettings, Settings};
use crate::since::Since;
use digest::notify;
pub(crate) use digest::{read_digest, write_digest};
use plan::{Decision, PlanLimits, Planner, WindowRun};
pub(crate) use runs::{NightRuns, RunLog, existing_report, lock};
use state::{LastNight, Mark, NightLock, NightlyState};

/// The window of a model that has no mark yet, when no `since` is given.
const FIRST_NIGHT_WINDOW_MS: f64 = 24.0 * 3_600_000.0;

/// What a night is asked to do.
#[derive(Debug, Clone, Default)]
pub struct NightOptions {
    /// Model globs (`*`, `?`); none: every model.
    pub models: Vec<String>,
    /// Only this experiment's runs (its marks are kept apart from the other schedules').
    pub experiment: Option<String>,
    /// The window starts here instead of at the marks.
    pub since: Option<Since>,
    pub limits: PlanLimits,
    /// Say what the night would do, with its estimated cost; call no LLM, write nothing.
    pub dry_run: bool,
    /// Flag verdicts below this confidence for human review.
    pub review_below: f32,
    /// Post the night's summary here (`{"text": ...}`).
    pub notify_webhook: Option<String>,
    /// Where the static site is published: the webhook links reports to their pages there.
    pub site_url: Option<String>,
}

/// What a night did.
#[derive(Debug)]
pub enum NightOutcome {
    DryRun(DryRun),
    /// Boxed: a night's digest is far larger than a dry run's plan.
    Night(Box<Night>),
}

/// A night that ran.
#[derive(Debug)]
pub struct Night {
    pub digest: NightDigest,
    pub digest_path: PathBuf,
    pub reports_dir: PathBuf,
    /// Whether a run failed, the runs or a model's runs could not be listed, or the endpoint
    /// refused the key.
    pub failed_any: bool,
}

impl Night {
    /// The digest as JSON, with every report's path as the caller can open it (the digest's own
    /// links are relative to its folder).
    pub fn json(&self) -> Value {
        let mut value = self.digest.to_json();
        if let Some(runs) = value.get_mut("runs").and_then(Value::as_array_mut) {
            for run in runs {
                if let Some(report) = run.get_mut("report") {
                    if let Some(relative) = report.as_str().and_then(|r| r.strip_prefix("../")) {
                        *report = json!(self.reports_dir.join(relative));
                    }
                }
            }
        }
        if let Some(o) = value.as_object_mut() {
            o.insert("digest_path".into(), json!(self.digest_path));
        }
        value
    }

    /// What the webhook is told: the night in one line, then per analyzed run the model, its
    /// pass rate and change, its regressions, and where its report is (a page of the site when
    /// `site_url` is set, else the report's path); the findings that changed state (the first
    /// few); then where the digest is.
    pub fn notice(&self, site_url: Option<&str>) -> String {
        let mut text = self.digest.summary();
        for note in self.digest.notes.iter().filter(|n| n.contains("could not be listed")) {
            text.push_str(&format!("\n⚠ {note}"));
        }
        let link = |relative: &str| match site_url {
            Some(base) => {
                format!("{}/{}", base.trim_end_matches('/'), evaltriage_report::site::report_page_path_of(relative))
            }
            None => self.reports_dir.join(relative).display().to_string(),
        };
        for run in &self.digest.runs {
            let RunOutcome::Analyzed(a) = &run.outcome else { continue };
            let rate = if a.total > 0 { a.passed as f64 * 100.0 / a.total as f64 } else { 0.0 };
            text.push_str(&format!(
                "\n• {} ({}) {}: {}/{} passed ({rate:.1}%) — {}",
                run.model,
                run.experiment,
                &run.run_id[..run.run_id.len().min(8)],
                a.passed,
                a.total,
                a.changes
            ));
            if !a.new_failures.is_empty() {
                text.push_str(&format!("; regressions: {}", a.new_failures.join(", ")));
            }
            text.push_str(&format!(" — {}", link(a.report.trim_start_matches("../"))));
        }
        let changes = &self.digest.finding_changes;
        if !changes.is_empty() {
            const SHOWN: usize = 5;
            let lines: Vec<String> = changes.iter().take(SHOWN).map(|c| c.line()).collect();
            text.push_str(&format!("\nFindings that changed state ({}): {}", changes.len(), lines.join("; ")));
            if changes.len() > SHOWN {
                text.push_str(&format!("; and {} more in the digest", changes.len() - SHOWN));
            }
        }
        let digest = match (site_url, self.digest_path.file_name()) {
            (Some(base), Some(name)) => {
                format!("{}/nightly/{}", base.trim_end_matches('/'), name.to_string_lossy().replace(".md", ".html"))
            }
            _ => self.digest_path.display().to_string(),
        };
        text.push_str(&format!("\nDigest: {digest}"));
        text
    }
}

/// One row of a dry run: a run, what the night would do with it, and its estimated tokens.
#[derive(Debug)]
pub struct DryRunRow {
    pub header: RunHeader,
    pub action: String,
    pub tokens: Option<u64>,
}

/// What a night would do.
#[derive(Debug)]
pub struct DryRun {
    pub rows: Vec<DryRunRow>,
    pub analyses: usize,
    /// The estimated tokens of the analyses the night would run.
    pub tokens: TokenUsage,
    /// The analysing model's price from the config.
    pub price: Option<crate::cost::Price>,
}

impl DryRun {
    pub fn json(&self) -> Value {
        json!({
            "dry_run": true,
            "estimated_tokens": self.tokens.total(),
            "estimated_cost": crate::cost::json(self.tokens, self.price.as_ref()),
            "runs": self.rows.iter().map(|r| json!({
                "run_id": r.header.run_id.as_str(),
                "model": r.header.model,
                "experiment": r.header.experiment,
                "status": r.header.status,
                "action": r.action,
                "estimated_tokens": r.tokens,
            })).collect::<Vec<_>>(),
        })
    }
}

/// The night's window: its runs, oldest first, and per schedule whether its mark may move.
struct Window {
    runs: Vec<WindowRun>,
    movable: BTreeMap<String, bool>,
}

/// Runs one night (or, with `dry_run`, says what it would do). `analysis` holds the settings of
/// each run's analysis; the night's token budget is in `options.limits`.
pub async fn nightly(
    settings: &Settings,
    analysis: &AnalysisSettings,
    options: &NightOptions,
    events: Arc<dyn Events>,
) -> Result<NightOutcome, Error> {
    let webhook = options.notify_webhook.as_deref().map(str::trim).filter(|u| !u.is_empty());
    if let Some(url) = webhook {
        let parsed = url::Url::parse(url).map_err(|_| Error::bad_input("the webhook is not a URL"))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(Error::bad_input("the webhook is not an http(s) URL"));
        }
    }
    let across = settings.across.options()?;
    let say = |line: String| events.send(Event::Night(line));
    let started = Utc::now();
    let started_at = started.format("%Y-%m-%dT%H:%M:%SZ").to_string();
    let _lock = if options.dry_run { None } else { Some(NightLock::acquire(&settings.reports_dir, &started_at)?) };

    let (mut state, state_warning) = NightlyState::load(&settings.reports_dir);
    let now = crate::since::now_ms();
    // A folder of logs is read whole every night: a log copied in late may be older than a mark,
    // and the runs that already have a report are skipped from their headers alone.
    let since_ms = options.since.map(|s| s.ms(now)).or(settings.logs.as_ref().map(|_| f64::NEG_INFINITY));
    say(format!("nightly: listing runs from {}", settings.describe_source()));
    let query = ListQuery { models: options.models.clone(), experiment: options.experiment.clone(), since_ms: None };
    let listed = crate::runs::listing(settings, &query).await;

    let mut digest = NightDigest {
        date: started.date_naive(),
        started_at: started_at.clone(),
        finished: false,
        source: settings.describe_source(),
        runs: Vec::new(),
        notes: state_warning.into_iter().collect(),
        tokens_spent: 0,
        llm_cost: analysis.llm_cost(TokenUsage::default(), false),
        budget_tokens: options.limits.budget_tokens,
        finding_changes: Vec::new(),
    };
    let digest_path = settings.reports_dir.join("nightly").join(format!("{}.md", digest.date.format("%Y-%m-%d")));
    let listing = match listed {
        Ok(listing) => listing,
        // A night whose source is down is still a night: recorded in the digest and notified, so
        // a silent morning never means "nothing happened". The marks do not move.
        Err(e) if !options.dry_run && !e.is_input() => {
            digest
                .notes
                .push(format!("the runs could not be listed: {}; nothing was analyzed, no mark moved", e.message));
            digest.finished = true;
            let before = read_digest(&settings.reports_dir, &digest_path, digest.date)?;
            write_digest(&settings.reports_dir, &digest_path, &before, &digest)?;
            say(format!("nightly: the runs could not be listed: {}", e.message));
            let night = Night { digest, digest_path, reports_dir: settings.reports_dir.clone(), failed_any: true };
            if let Some(url) = webhook {
                if let Some(line) = notify(url, &night.notice(options.site_url.as_deref())).await {
                    say(line);
                }
            }
            return Ok(NightOutcome::Night(Box::new(night)));
        }
        Err(e) => return Err(e),
    };
    let mut failed_any = !listing.failed.is_empty();
    for (model, error) in &listing.failed {
        digest.notes.push(format!("the runs of {model} could not be listed: {error}; its mark did not move"));
    }

    // The window: per mark key, runs newer than the window start, oldest first.
    let key_of = |model: &str| match &options.experiment {
        Some(e) => format!("{model} @ {e}"),
        None => model.to_owned(),
    };
    let window_start = |key: &str| -> f64 {
        since_ms.or_else(|| state.marks.get(key).and_then(Mark::at)).unwrap_or(now - FIRST_NIGHT_WINDOW_MS)
    };
    let mut runs: Vec<WindowRun> = listing
        .runs
        .iter()
        .map(|h| WindowRun { header: h.clone(), key: key_of(&h.model), handled: false })
        .filter(|w| w.header.created_at_ms > window_start(&w.key))
        .collect();
    runs.sort_by(|a, b| {
        a.header.created_at_ms.total_cmp(&b.header.created_at_ms).then_with(|| a.header.run_id.cmp(&b.header.run_id))
    });
    for (model, oldest) in &listing.full {
        if *oldest > window_start(&key_of(model)) {
            digest.notes.push(format!(
                "{model} made more runs in the window than runs:listRuns returns ({}); runs before {} were not seen: analyze them with analyze-run",
                evaltriage_core::source::LIST_RUNS_MAX,
                crate::runs::timestamp(*oldest)
            ));
        }
    }
    // A key's mark may move only when this night's window covers everything since the old mark.
    let movable: BTreeMap<String, bool> = runs
        .iter()
        .map(|w| {
            let old = state.marks.get(&w.key).and_then(Mark::at);
            (w.key.clone(), since_ms.is_none_or(|s| old.is_none_or(|m| s <= m)))
        })
        .collect();
    let finished = runs.iter().filter(|w| w.header.is_finished()).count();
    say(format!("nightly: {} in the window ({finished} finished) across {} models", runs.len(), listing.models));
    let mut window = Window { runs, movable };
    let mut planner = Planner::new(options.limits, &state);

    if options.dry_run {
        return dry_run(settings, analysis, &window, &state, &mut planner).await.map(NightOutcome::DryRun);
    }

    let digest_before = read_digest(&settings.reports_dir, &digest_path, digest.date)?;
    let findings_before = evaltriage_report::findings(&crate::findings::records(&settings.reports_dir), &across);
    let night = NightRuns::new(settings, analysis, options, Arc::new(RunLog::new("nightly", Arc::clone(&events))));
    let planner = Mutex::new(planner);
    // The section shows from the start, marked in progress until the night ends.
    write_digest(&settings.reports_dir, &digest_path, &digest_before, &digest)?;
    let total = window.runs.len();
    for i in 0..total {
        let header = window.runs[i].header.clone();
        let key = window.runs[i].key.clone();
        say(format!("nightly: [{}/{total}] run {} · {} · {}", i + 1, header.run_id, header.model, header.experiment));
        let below_mark = state.marks.get(&key).and_then(Mark::at).is_some_and(|at| header.created_at_ms <= at);
        let outcome = night.handle(&window.runs[i], below_mark, &planner).await;
        let handled = matches!(
            outcome,
            RunOutcome::Analyzed(_)
                | RunOutcome::AlreadyReported { .. }
                | RunOutcome::Sampled { .. }
                | RunOutcome::Skipped { .. }
        );
        if let RunOutcome::Analyzed(a) = &outcome {
            digest.add_spent(a);
        }
        // What a skip or a wait decided is decided again for free; what took work is kept at once,
        // so a night killed half-way loses none of it (two fsyncs after every run cost ~1 s a night
        // of 40 skips).
        let worth_keeping = !matches!(outcome, RunOutcome::AlreadyReported { .. } | RunOutcome::Left { .. });
        failed_any |= matches!(outcome, RunOutcome::Failed { .. });
        window.runs[i].handled = handled;
        if handled && header.is_finished() {
            state.marks.entry(key.clone()).or_default().finished_seen = lock(&planner).seen(&key);
        }
        digest.runs.push(DigestRun {
            run_id: header.run_id.to_string(),
            model: header.model.clone(),
            experiment: header.experiment.clone(),
            outcome,
        });
        move_marks(&mut state, &window.runs, &window.movable);
        if worth_keeping {
            state.last_night = Some(LastNight { started_at: started_at.clone(), finished: false });
            write_digest(&settings.reports_dir, &digest_path, &digest_before, &digest)?;
            state.save(&settings.reports_dir)?;
        }
    }
    failed_any |= night.stopped().is_some();
    let findings_after = evaltriage_report::findings(&crate::findings::records(&settings.reports_dir), &across);
    digest.finding_changes = evaltriage_report::finding_changes(&findings_before, &findings_after);
    digest.finished = true;
    write_digest(&settings.reports_dir, &digest_path, &digest_before, &digest)?;
    state.last_night = Some(LastNight { started_at, finished: true });
    state.save(&settings.reports_dir)?;
    say(format!("nightly: {}", digest.summary()));

    let night = Night { digest, digest_path, reports_dir: settings.reports_dir.clone(), failed_any };
    if let Some(url) = webhook {
        if let Some(line) = notify(url, &night.notice(options.site_url.as_deref())).await {
            say(line);
        }
    }
    Ok(NightOutcome::Night(Box::new(night)))
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

/// What the night would do, with the estimated cost, stepping through the same plan as the night;
/// nothing is written and no LLM is called.
async fn dry_run(
    settings: &Settings,
    analysis: &AnalysisSettings,
    window: &Window,
    state: &NightlyState,
    planner: &mut Planner,
) -> Result<DryRun, Error> {
    let mut dry = DryRun { rows: Vec::new(), analyses: 0, tokens: TokenUsage::default(), price: analysis.price };
    for w in &window.runs {
        let h = &w.header;
        let below_mark = state.marks.get(&w.key).and_then(Mark::at).is_some_and(|at| h.created_at_ms <= at);
        let report = existing_report(&settings.reports_dir, h)?;
        let (action, tokens) = match planner.decide(w, report, below_mark) {
            Decision::Wait(why) => (format!("wait: {why}"), None),
            Decision::AlreadyReported(report) => (format!("skip: already reported ({})", report.display()), None),
            Decision::Sampled => ("shape only: not sampled".to_owned(), None),
            Decision::Analyze => {
                let source = crate::source::for_run(settings, &h.run_id).await?;
                let mut estimating = analysis.clone();
                estimating.fanout.token_budget = planner.budget_left();
                let request = AnalyzeRequest { estimate: true, force: false };
                let run_ref = RunRef::run(h.run_id.clone());
                let events = Arc::new(NoEvents);
                match analyze(settings, &estimating, request, &source, &run_ref, events).await {
                    Ok(Analyzed::Estimate(est, _)) => {
                        let need = est.total_tokens();
                        let reserve = (planner.budget_left().is_some() && analysis.uses_llm()).then_some(need);
                        match planner.admit(w, reserve, below_mark) {
                            Ok(()) => {
                                dry.analyses += 1;
                                dry.tokens += crate::analyze::estimated_tokens(&est);
                                (format!("analyze: {} LLM calls", est.calls), Some(need))
                            }
                            Err(why) => (format!("wait: {why}"), Some(need)),
                        }
                    }
                    Ok(other) => (format!("cannot estimate: {}", other.kind()), None),
                    Err(e) if e.kind == crate::error::ErrorKind::Unscored => (format!("skip: {}", e.message), None),
                    Err(e) => (format!("cannot estimate: {}", e.message), None),
                }
            }
        };
        dry.rows.push(DryRunRow { header: h.clone(), action, tokens });
    }
    Ok(dry)
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
            benchmark_version: None,
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
