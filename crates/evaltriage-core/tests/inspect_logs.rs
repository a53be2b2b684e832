//! Inspect AI logs as a source (issue 24): the logs inspect_ai itself wrote for
//! `tests/fixtures/inspect/` (zstd and deflate `.eval`, `.json` with a bare NaN, a killed run's
//! log, several epochs), the corpus's older log, and hostile logs, which are bounded and refused
//! with one line.

use std::io::Write;
use std::path::{Path, PathBuf};

use evaltriage_core::source::{InspectLimits, InspectSource, Source, SourceError};
use evaltriage_core::{EvalStatus, Run, RunStatus};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/inspect").join(name)
}

async fn read(path: &Path) -> (InspectSource, Run) {
    let (source, run_ref) = InspectSource::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let run = source.run(&run_ref).await.unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    (source, run)
}

/// Each eval as (path, status kind, failure kind, reason).
fn outline(run: &Run) -> Vec<(String, String, Option<bool>, String)> {
    let mut rows: Vec<_> = run
        .evals
        .iter()
        .map(|e| {
            let reason = match &e.status {
                EvalStatus::Failed { failure_reason, .. } => failure_reason.clone(),
                _ => String::new(),
            };
            (e.path.to_string(), e.status.kind().to_owned(), e.failure().map(|f| f.kind.is_infrastructure()), reason)
        })
        .collect();
    rows.sort();
    rows
}

#[tokio::test]
async fn a_current_eval_log_maps_samples_to_evals() {
    let (_, run) = read(&fixture("capitals.eval")).await;
    assert_eq!(run.model, "mockllm/model");
    assert_eq!(run.experiment, "inspect:capitals");
    assert!(matches!(run.status, RunStatus::Completed { .. }), "{:?}", run.status);
    assert_eq!(run.evals.len(), 7);
    let rows = outline(&run);
    let row = |path: &str| rows.iter().find(|r| r.0 == path).unwrap_or_else(|| panic!("{path} in {rows:#?}"));
    assert_eq!(row("capitals/1").1, "passed");
    // Passed on its retry: a pass.
    assert_eq!(row("capitals/6").1, "passed");
    let fr = row("capitals/geo/fr");
    assert_eq!((fr.1.as_str(), fr.2), ("failed", Some(false)));
    assert!(fr.3.contains("capital_match scored I") && fr.3.contains("'Lyon'"), "{}", fr.3);
    let error = row("capitals/4");
    assert_eq!(error.2, Some(true), "an errored sample is infrastructure");
    assert!(error.3.contains("/srv/atlas/reference_4.csv"), "the traceback's last line has the path: {}", error.3);
    let limit = row("capitals/5");
    assert!(limit.3.starts_with("message limit of 6 reached"), "{}", limit.3);
    assert_eq!(limit.2, Some(false));
    assert!(row("capitals/7").3.contains("scored P"));
    assert!(run.never_started().is_empty());
    let shape = evaltriage_core::Shape::of(&run);
    assert_eq!((shape.passed, shape.failed, shape.infrastructure), (2, 5, 1));
}

#[tokio::test]
async fn the_json_log_and_the_deflate_log_read_as_the_same_run() {
    let (_, zstd) = read(&fixture("capitals.eval")).await;
    let (_, deflate) = read(&fixture("capitals_deflate.eval")).await;
    let (_, json) = read(&fixture("capitals.json")).await;
    assert_eq!(outline(&zstd), outline(&deflate));
    // The .json log is another run of the same task (its own ids and times), with the same outcome.
    assert_eq!(outline(&zstd), outline(&json));
}

#[tokio::test]
async fn the_evidence_of_a_failed_sample_is_read_from_the_sample() {
    for log in ["capitals.eval", "capitals.json"] {
        let (source, run) = read(&fixture(log)).await;
        let eval = run.find_eval("capitals/geo/fr").unwrap();
        let evidence = source.evidence(&run, &eval.id).await.unwrap();
        let sample = evidence.sample.as_ref().expect("sample evidence");
        assert_eq!(sample.target, "Paris", "{log}");
        assert_eq!(sample.answer.as_deref(), Some("I believe the capital of France is Lyon."));
        assert_eq!(sample.headline_scorer.as_deref(), Some("capital_match"));
        assert_eq!(sample.scores[0].scorer, "capital_match");
        assert!(sample.scores[0].explanation.as_deref().unwrap().contains("names 'Lyon' instead"));
        // The second scorer's NaN reads as NaN, not as an error.
        let atlas = run.find_eval("capitals/3").unwrap();
        let evidence = source.evidence(&run, &atlas.id).await.unwrap();
        let sample = evidence.sample.unwrap();
        assert_eq!(sample.scores[1].value, "NaN", "{log}");
        let transcript = sample.transcript();
        assert!(transcript.contains("-> tool call lookup({\"city\":\"Canberra\"})"), "{transcript}");
        assert!(transcript.contains("!! tool error: unknown: atlas service returned HTTP 503 for Canberra"));
        assert!(evidence.output_files.contains_key("transcript"));
        let looped = run.find_eval("capitals/5").unwrap();
        let sample = source.evidence(&run, &looped.id).await.unwrap().sample.unwrap();
        assert!(sample.limit.as_deref().unwrap().contains("Message limit exceeded"), "{:?}", sample.limit);
        assert!(sample.messages.iter().filter(|m| !m.tool_calls.is_empty()).count() >= 2);
    }
}

#[tokio::test]
async fn a_killed_runs_log_reads_from_the_journal_and_says_it_is_incomplete() {
    let (_, run) = read(&fixture("killed.eval")).await;
    let RunStatus::Failed { failure_reason, .. } = &run.status else { panic!("{:?}", run.status) };
    assert!(failure_reason.starts_with("incomplete log: it has no header.json"), "{failure_reason}");
    assert_eq!(run.evals.len(), 4);
    assert_eq!(run.never_started().len(), 3, "{:?}", run.never_started());
}

#[tokio::test]
async fn epochs_are_evals_of_their_own() {
    let (_, run) = read(&fixture("epochs.eval")).await;
    let rows = outline(&run);
    let paths: Vec<&str> = rows.iter().map(|r| r.0.as_str()).collect();
    assert_eq!(paths, ["arithmetic/1/epoch_1", "arithmetic/1/epoch_2", "arithmetic/2/epoch_1", "arithmetic/2/epoch_2"]);
    let failed: Vec<&str> = rows.iter().filter(|r| r.1 == "failed").map(|r| r.0.as_str()).collect();
    assert_eq!(failed, ["arithmetic/2/epoch_2"]);
}

#[tokio::test]
async fn the_corpus_log_of_an_older_inspect_reads() {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus/inspect/log_read_sample.eval");
    if !corpus.exists() {
        let _ =
            writeln!(std::io::stderr(), "SKIPPED: {} is absent; the older deflate log was not read", corpus.display());
        return;
    }
    let (_, run) = read(&corpus).await;
    assert_eq!(run.model, "ollama/gemma3");
    assert_eq!(outline(&run), [("popularity/1".to_owned(), "passed".to_owned(), None, String::new())]);
}

fn write_zip(path: &Path, members: &[(&str, Vec<u8>)], method: zip::CompressionMethod) {
    let mut zip = zip::ZipWriter::new(std::fs::File::create(path).unwrap());
    let options = zip::write::SimpleFileOptions::default().compression_method(method).large_file(true);
    for (name, bytes) in members {
        zip.start_file(*name, options).unwrap();
        zip.write_all(bytes).unwrap();
    }
    zip.finish().unwrap();
}

const START: &str = r#"{"version": 2, "eval": {"eval_id": "abc123", "run_id": "r1", "created": "2026-01-01T00:00:00+00:00", "task": "t", "model": "p/m"}}"#;

fn bad_message(result: Result<(InspectSource, evaltriage_core::RunRef), SourceError>) -> String {
    match result {
        Err(e @ SourceError::BadRunFile { .. }) => e.to_string(),
        Err(other) => panic!("expected a bad log file, got {other:?}"),
        Ok(_) => panic!("a hostile log was read"),
    }
}

#[tokio::test]
async fn hostile_logs_are_bounded_and_refused_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    // A zip bomb: 64 MiB of spaces in a sample, a few KiB compressed.
    let bomb = dir.path().join("bomb.eval");
    let mut huge = br#"{"id": 1, "epoch": 1, "input": ""#.to_vec();
    huge.extend(std::iter::repeat_n(b' ', 64 << 20));
    huge.extend(br#""}"#);
    write_zip(
        &bomb,
        &[("_journal/start.json", START.as_bytes().to_vec()), ("samples/1_epoch_1.json", huge)],
        zip::CompressionMethod::Zstd,
    );
    let (source, run_ref) = InspectSource::open(&bomb).unwrap();
    let err = source.run(&run_ref).await.unwrap_err().to_string();
    assert!(err.contains("a zip bomb"), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");

    // A member over the member limit, however it is compressed.
    let big = dir.path().join("big.eval");
    let sample = format!(r#"{{"id": 1, "epoch": 1, "input": "{}"}}"#, "x".repeat(5_000));
    write_zip(
        &big,
        &[("_journal/start.json", START.as_bytes().to_vec()), ("samples/1_epoch_1.json", sample.into_bytes())],
        zip::CompressionMethod::Deflated,
    );
    let limits = InspectLimits { max_member: 1_000, ..InspectLimits::default() };
    let (source, run_ref) = InspectSource::open_with(&big, limits).unwrap();
    let err = source.run(&run_ref).await.unwrap_err().to_string();
    assert!(err.contains("more than the 1000 B limit") || err.contains("limit; refusing"), "{err}");

    // Not a zip, and a zip that is not a log.
    let junk = dir.path().join("junk.eval");
    std::fs::write(&junk, b"not a zip").unwrap();
    assert!(bad_message(InspectSource::open(&junk)).contains("not a readable .eval log"));
    let other = dir.path().join("other.eval");
    write_zip(&other, &[("readme.txt", b"hi".to_vec())], zip::CompressionMethod::Deflated);
    assert!(bad_message(InspectSource::open(&other)).contains("neither header.json nor _journal/start.json"));

    // A .json log cut short names where.
    let cut = dir.path().join("cut.json");
    std::fs::write(&cut, &START[..60]).unwrap();
    let message = bad_message(InspectSource::open(&cut));
    assert!(message.contains("EOF while parsing"), "{message}");

    // A named pipe is never opened for reading.
    let fifo = dir.path().join("fifo.eval");
    if std::process::Command::new("mkfifo").arg(&fifo).status().is_ok_and(|s| s.success()) {
        assert!(bad_message(InspectSource::open(&fifo)).contains("not a regular file"));
    }
}
