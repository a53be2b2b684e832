//! Hardening (issue 9, in part): a source that answers with another run's document is refused,
//! never analysed, reported or stored under the id that was asked for.

use evaltriage_tests::{EXAMPLE_RUN, FakeConvex, example_store, example_store_copy};

use crate::common::run;

/// A run id that is not the example's.
const OTHER_RUN: &str = "jn7zzzzzm2qw8hd5tz3vc6pe1r0bfs7g";

#[tokio::test(flavor = "multi_thread")]
async fn a_deployment_answering_with_another_run_is_refused() {
    let convex = FakeConvex::from_store(&example_store()).await;
    let doc = convex.state.runs.lock().unwrap().get(EXAMPLE_RUN).cloned().unwrap();
    convex.state.runs.lock().unwrap().insert(OTHER_RUN.to_owned(), doc);
    let scratch = tempfile::tempdir().unwrap();
    let reports = scratch.path().join("reports");
    let (code, out, err) = run(
        scratch.path(),
        &["analyze-run", OTHER_RUN, "--convex-url", &convex.url(), "--reports-dir", reports.to_str().unwrap()],
    );
    assert_eq!(code, 1, "the server's fault, not the user's: {err}");
    assert!(err.contains(&format!("for run {OTHER_RUN} and got run {EXAMPLE_RUN}")), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(out.is_empty(), "{out}");
    assert!(!reports.exists(), "nothing is written");

    let store = scratch.path().join("store");
    let (code, _, err) =
        run(scratch.path(), &["snapshot", OTHER_RUN, "--into", store.to_str().unwrap(), "--convex-url", &convex.url()]);
    assert_eq!(code, 1, "{err}");
    assert!(!store.join("runs").join(format!("{OTHER_RUN}.json")).exists(), "never stored under the asked id");
    assert!(!store.join("runs").join(format!("{EXAMPLE_RUN}.json")).exists());
}

#[test]
fn a_store_file_holding_another_run_is_refused() {
    let scratch = tempfile::tempdir().unwrap();
    let store = example_store_copy(&scratch.path().join("store"), |_| {});
    std::fs::rename(
        store.join("runs").join(format!("{EXAMPLE_RUN}.json")),
        store.join("runs").join(format!("{OTHER_RUN}.json")),
    )
    .unwrap();
    let (code, _, err) = run(scratch.path(), &["runs", "show", OTHER_RUN, "--store", store.to_str().unwrap()]);
    assert_eq!(code, 2, "a folder the user named is unusable: {err}");
    assert!(err.contains("refusing to use another run's data"), "{err}");
}

/// Item 6: a second analysis of a run that is being analysed refuses at once, spending nothing,
/// and names the process that holds it; the first one finishes and writes its report.
#[tokio::test(flavor = "multi_thread")]
async fn a_second_analysis_of_the_same_run_refuses_before_any_llm_call() {
    let llm = evaltriage_tests::FakeLlm::start().await;
    llm.set_latency(std::time::Duration::from_secs(3));
    let scratch = tempfile::tempdir().unwrap();
    let reports = scratch.path().join("reports");
    let args = [
        "analyze-run",
        EXAMPLE_RUN,
        "--store",
        example_store().to_str().unwrap(),
        "--llm-base-url",
        &llm.base_url(),
        "--reports-dir",
        reports.to_str().unwrap(),
        "--no-cache",
    ]
    .map(str::to_owned);
    let mut first = std::process::Command::new(env!("CARGO_BIN_EXE_evaltriage-e2e"));
    for var in crate::common::CLI_ENV {
        first.env_remove(var);
    }
    let mut first = first
        .current_dir(scratch.path())
        .args(&args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Wait until the first one is spending.
    let started = std::time::Instant::now();
    while llm.requests() == 0 {
        assert!(started.elapsed() < std::time::Duration::from_secs(60), "the first analysis never called the LLM");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let (code, out, err) = run(scratch.path(), &args.each_ref().map(String::as_str));
    let calls_when_refused = llm.requests();
    assert_eq!(code, 1, "not the user's input, and not a finished analysis: {err}");
    assert!(err.contains(&format!("pid {}", first.id())), "names the holder: {err}");
    assert!(err.contains("nothing was spent or written"), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(out.is_empty(), "{out}");
    let status = first.wait().unwrap();
    assert!(status.code().is_some_and(|c| c <= 1), "{status:?}");
    let written: Vec<_> = walk_md(&reports);
    assert_eq!(written.len(), 1, "{written:?}");
    let first_calls = llm.requests();
    assert!(calls_when_refused <= first_calls);
    let (_, _, err2) = run(scratch.path(), &args.each_ref().map(String::as_str));
    assert!(err2.contains("already exists"), "{err2}");
    assert_eq!(llm.requests(), first_calls, "an existing report still refuses before any call");
    // What one analysis alone costs: the refused one added nothing to it.
    let alone = scratch.path().join("alone");
    let mut alone_args = args.clone();
    alone_args[7] = alone.to_str().unwrap().to_owned();
    let (code, _, err) = run(scratch.path(), &alone_args.each_ref().map(String::as_str));
    assert!(code <= 1, "{err}");
    assert_eq!(llm.requests() - first_calls, first_calls, "the refused analysis made no LLM call");
}

fn walk_md(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                found.extend(walk_md(&path));
            } else if path.extension().is_some_and(|e| e == "md") {
                found.push(path);
            }
        }
    }
    found
}
