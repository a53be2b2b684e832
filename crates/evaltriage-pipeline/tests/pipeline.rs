//! The pipeline driven as a library, without the binary: one run analyzed from a store into a
//! temporary reports folder, and a night planned and run over a store of several runs, the dry run
//! naming exactly what the night then does.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use evaltriage_pipeline::analyze::{AnalyzeRequest, Analyzed, analyze};
use evaltriage_pipeline::nightly::plan::PlanLimits;
use evaltriage_pipeline::nightly::{NightOptions, NightOutcome, nightly};
use evaltriage_pipeline::{
    AnalysisOptions, AnalysisSettings, ErrorKind, Event, Events, FileConfig, Settings, SourceOptions,
};
use evaltriage_report::RunOutcome;
use serde_json::Value;

fn example_store() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/store")
}

/// The only run of the example store, and its document.
fn example_run() -> (String, Value) {
    let runs = example_store().join("runs");
    let entry = std::fs::read_dir(&runs).unwrap().flatten().find(|e| e.path().extension().is_some_and(|x| x == "json"));
    let path = entry.expect("a run in the example store").path();
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    (path.file_stem().unwrap().to_string_lossy().into_owned(), doc)
}

fn settings(store: Option<&Path>, reports: &Path) -> Settings {
    let source = SourceOptions { store: store.map(Path::to_path_buf), ..SourceOptions::default() };
    Settings::resolve(&source, Some(reports), &FileConfig::default(), None)
}

/// Events kept for the test to look at.
#[derive(Debug, Default)]
struct Recorded(Mutex<Vec<String>>);

impl Events for Recorded {
    fn send(&self, event: Event) {
        let line = match event {
            Event::Step(m) | Event::Night(m) | Event::Warning(m) => m,
            Event::Bar { message, .. } => message,
            Event::Inc => "inc".to_owned(),
            Event::Fanout(_) => "fanout".to_owned(),
            Event::Finish => "finish".to_owned(),
            Event::BatchWait(wait) => wait.line(),
        };
        self.0.lock().unwrap().push(line);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_run_is_analyzed_into_a_report_and_never_replaced_without_force() {
    let dir = tempfile::tempdir().unwrap();
    let reports = dir.path().join("reports");
    let settings = settings(None, &reports);
    let analysis = AnalysisSettings::resolve(&AnalysisOptions::default(), &FileConfig::default(), &settings).unwrap();
    assert!(!analysis.uses_llm(), "no key and no endpoint: the rules classify");
    let target = example_store().display().to_string();
    let (source, run_ref) = evaltriage_pipeline::source::open(&target, &settings).unwrap();

    let events = Arc::new(Recorded::default());
    let estimate = analyze(
        &settings,
        &analysis,
        AnalyzeRequest { estimate: true, force: false },
        &source,
        &run_ref,
        events.clone(),
    )
    .await
    .unwrap();
    assert!(matches!(estimate, Analyzed::Estimate(..)), "{}", estimate.kind());
    assert!(!reports.exists(), "an estimate writes nothing");

    let written =
        match analyze(&settings, &analysis, AnalyzeRequest::default(), &source, &run_ref, events.clone()).await {
            Ok(Analyzed::Written(w)) => w,
            other => panic!("{other:?}"),
        };
    assert_eq!(written.verdicts.len(), written.shape.failed, "one verdict per failure");
    assert!(written.path.starts_with(&reports) && written.path.is_file(), "{}", written.path.display());
    assert_eq!(written.tokens_spent(), 0, "the rules spend no tokens");
    let seen = events.0.lock().unwrap().clone();
    assert!(seen.iter().any(|e| e.starts_with("reading run")), "{seen:?}");
    assert_eq!(seen.last().map(String::as_str), Some("finish"), "the face's progress is cleared: {seen:?}");

    let again = analyze(&settings, &analysis, AnalyzeRequest::default(), &source, &run_ref, events.clone()).await;
    let e = again.expect_err("a second analysis without force");
    assert_eq!(e.kind, ErrorKind::Exists, "{e}");
    assert!(!e.message.contains("--force"), "the library carries no CLI hint: {e}");
    let forced =
        analyze(&settings, &analysis, AnalyzeRequest { estimate: false, force: true }, &source, &run_ref, events)
            .await
            .unwrap();
    assert!(matches!(forced, Analyzed::Written(_)));
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap().flatten() {
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// A store of `n` runs of the example's model, an hour apart and finished, the newest a minute ago.
fn store_of_runs(root: &Path, n: usize) -> Vec<String> {
    let (id, doc) = example_run();
    std::fs::create_dir_all(root.join("runs")).unwrap();
    copy_tree(&example_store().join("blobs"), &root.join("blobs"));
    let now = chrono::Utc::now().timestamp_millis() as f64;
    (0..n)
        .map(|i| {
            let run_id = format!("{}{i:02}{}", &id[..4], &id[6..]);
            let mut run = doc.clone();
            run["_id"] = Value::from(run_id.clone());
            run["_creationTime"] = Value::from(now - 60_000.0 - ((n - i) as f64) * 3_600_000.0);
            for eval in run["evals"].as_array_mut().unwrap() {
                eval["runId"] = Value::from(run_id.clone());
            }
            std::fs::write(root.join("runs").join(format!("{run_id}.json")), run.to_string()).unwrap();
            run_id
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_dry_run_names_what_the_night_then_does() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let reports = dir.path().join("reports");
    let runs = store_of_runs(&store, 8);
    let settings = settings(Some(&store), &reports);
    let analysis = AnalysisSettings::resolve(&AnalysisOptions::default(), &FileConfig::default(), &settings).unwrap();

    // The oldest run has a report already: sampling counts it like any other finished run.
    let (source, run_ref) = evaltriage_pipeline::source::open(&runs[0], &settings).unwrap();
    let first = analyze(
        &settings,
        &analysis,
        AnalyzeRequest::default(),
        &source,
        &run_ref,
        Arc::new(evaltriage_pipeline::NoEvents),
    );
    assert!(matches!(first.await.unwrap(), Analyzed::Written(_)));

    let options = |dry_run| NightOptions {
        since: Some(evaltriage_pipeline::since::parse_since("7d").unwrap()),
        limits: PlanLimits { sample_every: Some(2), max_runs: Some(2), budget_tokens: Some(1_000_000) },
        dry_run,
        review_below: 0.6,
        ..NightOptions::default()
    };
    let NightOutcome::DryRun(plan) =
        nightly(&settings, &analysis, &options(true), Arc::new(Recorded::default())).await.unwrap()
    else {
        panic!("a dry run")
    };
    let planned: Vec<(String, String)> = plan
        .rows
        .iter()
        .map(|r| (r.header.run_id.to_string(), r.action.split(':').next().unwrap_or_default().to_owned()))
        .collect();
    assert!(!reports.join("nightly").exists(), "a dry run writes nothing");

    let NightOutcome::Night(night) =
        nightly(&settings, &analysis, &options(false), Arc::new(Recorded::default())).await.unwrap()
    else {
        panic!("a night")
    };
    let done: Vec<(String, String)> = night
        .digest
        .runs
        .iter()
        .map(|r| {
            let what = match &r.outcome {
                RunOutcome::Analyzed(_) => "analyze",
                RunOutcome::AlreadyReported { .. } => "skip",
                RunOutcome::Sampled { .. } => "shape only",
                RunOutcome::Left { .. } => "wait",
                RunOutcome::Skipped { .. } | RunOutcome::Failed { .. } => "failed",
            };
            (r.run_id.clone(), what.to_owned())
        })
        .collect();
    assert_eq!(planned, done, "the dry run and the night agree");
    let actions: Vec<&str> = done.iter().map(|(_, a)| a.as_str()).collect();
    assert_eq!(actions, ["skip", "shape only", "analyze", "shape only", "analyze", "shape only", "wait", "wait"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_claimed_fix_whose_eval_source_did_not_change_has_not_reached_the_benchmark() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let reports = dir.path().join("reports");
    let runs = store_of_runs(&store, 2);
    let settings = settings(Some(&store), &reports);
    let analysis = AnalysisSettings::resolve(&AnalysisOptions::default(), &FileConfig::default(), &settings).unwrap();
    let analyze_run = |id: &str| {
        let (source, run_ref) = evaltriage_pipeline::source::open(id, &settings).unwrap();
        let analysis = analysis.clone();
        let settings = settings.clone();
        async move {
            let events = Arc::new(evaltriage_pipeline::NoEvents);
            match analyze(&settings, &analysis, AnalyzeRequest::default(), &source, &run_ref, events).await {
                Ok(Analyzed::Written(w)) => w,
                other => panic!("{other:?}"),
            }
        }
    };
    let first = analyze_run(&runs[0]).await;
    let eval = first
        .verdicts
        .iter()
        .find(|v| !matches!(v.origin, evaltriage_core::VerdictOrigin::Infrastructure(_)))
        .expect("a verification failure")
        .eval_path
        .clone();
    // A maintainer records a fix of that eval in the first report's Actions taken.
    let text = std::fs::read_to_string(&first.path).unwrap();
    let (head, tail) = text.split_once("## Actions taken").unwrap();
    let block = &tail[tail.find("<!--").unwrap()..];
    let edited = format!("{head}## Actions taken\n\n- Relaxed the grader of {eval}.\n\n{block}");
    std::fs::write(&first.path, edited).unwrap();

    let second = analyze_run(&runs[1]).await;
    let fix = second.history.for_eval(&eval).claimed_fix.clone().expect("the claimed fix is found");
    let note = fix.note.expect("the eval's source was compared");
    assert!(note.contains("has not reached the benchmark yet"), "{note}");
    let report = std::fs::read_to_string(&second.path).unwrap();
    assert!(report.contains("has not reached the benchmark yet"), "the report says so");
}

/// Analyses one run of the store into the reports folder.
async fn analyze_run(
    run_id: &str,
    settings: &Settings,
    analysis: &AnalysisSettings,
) -> Box<evaltriage_pipeline::analyze::Written> {
    let (source, run_ref) = evaltriage_pipeline::source::open(run_id, settings).unwrap();
    let events = Arc::new(evaltriage_pipeline::NoEvents);
    match analyze(settings, analysis, AnalyzeRequest::default(), &source, &run_ref, events).await {
        Ok(Analyzed::Written(w)) => w,
        other => panic!("{other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn runs_analysed_out_of_order_are_compared_only_with_runs_before_them() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let reports = dir.path().join("reports");
    let runs = store_of_runs(&store, 5);
    let settings = settings(Some(&store), &reports);
    let analysis = AnalysisSettings::resolve(&AnalysisOptions::default(), &FileConfig::default(), &settings).unwrap();

    // Run 5 first, then run 1 (a backfill): run 5 ran later, so it is no history of run 1.
    analyze_run(&runs[4], &settings, &analysis).await;
    let first = analyze_run(&runs[0], &settings, &analysis).await;
    assert_eq!(first.prior_reports, 0, "a later run is not a prior report");
    assert!(
        matches!(first.changes, evaltriage_report::ChangesSince::NoPriorReport { .. }),
        "{}",
        first.changes.one_line()
    );
    assert!(first.history.iter().all(|(_, h)| h.prior_failures.is_empty()), "no repeat from a later run");
    // Run 3, analyzed last, compares with run 1 (which ran before it), not with run 5.
    let third = analyze_run(&runs[2], &settings, &analysis).await;
    assert!(third.changes.one_line().starts_with(&format!("since {} ", &runs[0][..8])), "{}", third.changes.one_line());

    // The model's latest report is the latest run's, however late the others were analyzed; its
    // JSON carries the structured report besides the markdown.
    let shown = evaltriage_pipeline::review::show("anthropic/claude-sonnet-4.5", &reports).unwrap();
    let json = shown.json();
    assert_eq!(json["report"]["metadata"]["run_id"], runs[4].as_str(), "{}", shown.path.display());
    assert!(json["markdown"].as_str().is_some_and(|m| m.starts_with("# Run analysis")));
    assert!(json["report"]["verdicts"].as_array().is_some_and(|v| !v.is_empty() && v[0]["label"].is_string()));
    assert!(json["report"]["human_reviews"].is_array());
}

/// `path` spelled relative to the working directory (`../../tmp/…`), however deep that is.
fn relative_to_cwd(path: &Path) -> PathBuf {
    let cwd = std::env::current_dir().unwrap().canonicalize().unwrap();
    let path = path.canonicalize().unwrap();
    let common = cwd.components().zip(path.components()).take_while(|(a, b)| a == b).count();
    let mut relative: PathBuf = cwd.components().skip(common).map(|_| "..").collect();
    relative.extend(path.components().skip(common));
    relative
}

#[test]
fn a_review_meets_the_analysis_lock_however_the_report_is_spelled() {
    let dir = tempfile::tempdir().unwrap();
    let reports = dir.path().canonicalize().unwrap().join("reports");
    let report = reports.join("openai/gpt-5/jn7ak4x9_2026-11-30.md");
    std::fs::create_dir_all(report.parent().unwrap()).unwrap();
    std::fs::write(&report, "# Run analysis\n").unwrap();
    // As an analysis holds it.
    let _held = evaltriage_report::lock_report(&reports, &report).unwrap();
    let dotted = reports.join("openai/../openai/gpt-5/jn7ak4x9_2026-11-30.md");
    let relative = relative_to_cwd(&report);
    assert!(relative.is_relative(), "{}", relative.display());
    for spelling in [report.clone(), dotted, relative] {
        let request = evaltriage_pipeline::review::ReviewRequest {
            report: spelling.to_str().unwrap(),
            eval: "000-fundamentals/000-empty_functions",
            label: evaltriage_core::Classification::ModelFault,
            note: "checked",
            by: None,
            today: chrono::NaiveDate::from_ymd_opt(2026, 12, 1).unwrap(),
        };
        let err = evaltriage_pipeline::review::review(&reports, &request).unwrap_err();
        assert_eq!(err.kind, ErrorKind::Busy, "{}: {err}", spelling.display());
    }
    assert_eq!(std::fs::read_to_string(&report).unwrap(), "# Run analysis\n");
}
