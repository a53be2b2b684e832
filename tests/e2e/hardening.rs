//! Hardening (issue 9, in part): a source that answers with another run's document is refused,
//! never analyzed, reported or stored under the id that was asked for.

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

/// Item 6: a second analysis of a run that is being analyzed refuses at once, spending nothing,
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

/// Item 4: evidence that could not be fetched is named in the report and the summary, no verdict
/// is computed as if it were complete (the GAPS.txt that would make this failure a KNOWN_GAP is in
/// the missing zip, so the rules say they cannot decide instead of guessing MODEL_FAULT), and the
/// command exits 1.
#[tokio::test(flavor = "multi_thread")]
async fn missing_evidence_is_named_and_never_guessed_over() {
    const GAP_EVAL: &str = "002-queries/015-paginate_messages";
    let convex = FakeConvex::from_store(&example_store()).await;
    // The eval source (with GAPS.txt) of one failure is gone: getOutputUrl answers null. Another
    // failure's output zip is garbage.
    assert!(convex.state.blobs.lock().unwrap().remove("kg2c0vefeu3vw5jh7ttdlb3g0d8wgb60").is_some());
    convex.add_blob("kg261ch32bii31wdbi9pkv8lk5pa877r", b"<html>502 Bad Gateway</html>".to_vec());
    let scratch = tempfile::tempdir().unwrap();
    let reports = scratch.path().join("reports");
    let args = ["analyze-run", EXAMPLE_RUN, "--convex-url", &convex.url(), "--reports-dir", reports.to_str().unwrap()];
    let (code, out, err) = run(scratch.path(), &[&args[..], &["--json"]].concat());
    assert_eq!(code, 1, "an analysis that completed with missing evidence exits 1: {err}");
    let summary: serde_json::Value = serde_json::from_str(&out).unwrap();
    let verdict =
        |path: &str| summary["verdicts"].as_array().unwrap().iter().find(|v| v["eval_path"] == path).unwrap().clone();
    let gap = verdict(GAP_EVAL);
    assert_eq!(gap["classification"], serde_json::Value::Null, "{gap}");
    assert_eq!(gap["status"], "error", "{gap}");
    assert!(gap["reasoning"].as_str().unwrap().contains("could not decide"), "{gap}");
    assert!(gap["missing_evidence"][0].as_str().unwrap().starts_with("eval source"), "{gap}");
    let garbled = verdict("003-mutations/006-delete_user_cascade");
    assert!(garbled["missing_evidence"][0].as_str().unwrap().starts_with("model output"), "{garbled}");
    let complete = verdict("004-actions/003-daily_report");
    assert_eq!(complete["missing_evidence"], serde_json::json!([]), "{complete}");
    assert_eq!(complete["classification"], "OVERLY_STRICT", "complete evidence is still decided");

    let report = std::fs::read_to_string(summary["report_path"].as_str().unwrap()).unwrap();
    assert!(report.contains("- **Missing evidence**: 2 failures could not be fetched whole"), "{report}");
    let heading = report
        .lines()
        .find(|l| l.starts_with("### ") && l.contains(GAP_EVAL))
        .unwrap_or_else(|| panic!("no section for {GAP_EVAL}:\n{report}"));
    let section = &report[report.find(heading).unwrap()..];
    let section = &section[..section[4..].find("\n### ").map_or(section.len(), |i| i + 4)];
    assert!(section.contains("- **Missing evidence**: eval source"), "{section}");

    // The text summary says it too.
    std::fs::remove_dir_all(&reports).unwrap();
    let (code, out, err) = run(scratch.path(), &args);
    assert_eq!(code, 1, "{err}");
    assert!(out.contains("evidence missing for 2 failures"), "{out}");
}

/// Item 2: the whole command has a deadline. When it passes during the analyses, what is
/// unfinished ends `skipped` with the reason and the report is still written (exit 1).
#[tokio::test(flavor = "multi_thread")]
async fn the_command_deadline_skips_what_is_unfinished_and_still_writes_the_report() {
    let llm = evaltriage_tests::FakeLlm::start().await;
    llm.set_latency(std::time::Duration::from_secs(30));
    let scratch = tempfile::tempdir().unwrap();
    let reports = scratch.path().join("reports");
    let started = std::time::Instant::now();
    let (code, out, err) = run(
        scratch.path(),
        &[
            "analyze-run",
            example_store().to_str().unwrap(),
            "--llm-base-url",
            &llm.base_url(),
            "--reports-dir",
            reports.to_str().unwrap(),
            "--deadline",
            "2",
            "--json",
        ],
    );
    assert_eq!(code, 1, "{err}");
    assert!(started.elapsed() < std::time::Duration::from_secs(25), "the deadline ended it, not the LLM");
    let summary: serde_json::Value = serde_json::from_str(&out).unwrap();
    let verification: Vec<&serde_json::Value> =
        summary["verdicts"].as_array().unwrap().iter().filter(|v| v["infrastructure"] == false).collect();
    assert!(!verification.is_empty());
    for v in verification {
        assert_eq!(v["status"], "skipped", "{v}");
        assert!(v["reasoning"].as_str().unwrap().contains("deadline (2 s) passed"), "{v}");
    }
    let report = std::fs::read_to_string(summary["report_path"].as_str().unwrap()).unwrap();
    assert!(report.contains("deadline (2 s) passed"), "the report says why");
}

/// Item 2: a deployment that accepts and never answers cannot hold the command past its deadline.
#[tokio::test(flavor = "multi_thread")]
async fn a_silent_deployment_ends_at_the_command_deadline() {
    use wiremock::matchers::method;
    use wiremock::{Mock, MockServer, ResponseTemplate};
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_delay(std::time::Duration::from_secs(120)))
        .mount(&server)
        .await;
    let scratch = tempfile::tempdir().unwrap();
    let reports = scratch.path().join("reports");
    let started = std::time::Instant::now();
    let (code, out, err) = run(
        scratch.path(),
        &[
            "analyze-run",
            EXAMPLE_RUN,
            "--convex-url",
            &server.uri(),
            "--reports-dir",
            reports.to_str().unwrap(),
            "--deadline",
            "1",
        ],
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(60), "{:?}", started.elapsed());
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("deadline (1 s) passed while reading run"), "{err}");
    assert!(err.contains("no report was written"), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(out.is_empty());
    assert!(!reports.exists());
}

/// Item 7: a reports folder the user named that cannot be used is their input (exit 2), found
/// before any LLM call, and the message says no report was written.
#[tokio::test(flavor = "multi_thread")]
async fn an_unusable_reports_folder_is_exit_2_before_any_call() {
    let llm = evaltriage_tests::FakeLlm::start().await;
    let scratch = tempfile::tempdir().unwrap();
    let reports = scratch.path().join("reports");
    std::fs::create_dir_all(reports.join("anthropic")).unwrap();
    // A file where the model's folder should be.
    std::fs::write(reports.join("anthropic").join("claude-sonnet-4.5"), "not a folder").unwrap();
    let store = example_store();
    for reports_dir in [reports.clone(), reports.join("anthropic").join("claude-sonnet-4.5")] {
        let (code, out, err) = run(
            scratch.path(),
            &[
                "analyze-run",
                store.to_str().unwrap(),
                "--llm-base-url",
                &llm.base_url(),
                "--reports-dir",
                reports_dir.to_str().unwrap(),
            ],
        );
        assert_eq!(code, 2, "{err}");
        let last = err.lines().last().unwrap_or_default();
        assert!(last.starts_with("error: cannot create the") && last.ends_with("no report was written"), "{err}");
        assert!(out.is_empty(), "{out}");
    }
    assert_eq!(llm.requests(), 0, "nothing was spent");
}

/// Item 1: a config file that is a named pipe is refused at once (exit 2), never waited on.
#[cfg(unix)]
#[test]
fn a_config_that_is_a_named_pipe_is_refused_not_waited_on() {
    let scratch = tempfile::tempdir().unwrap();
    let pipe = scratch.path().join("evaltriage.toml");
    assert!(std::process::Command::new("mkfifo").arg(&pipe).status().unwrap().success());
    // Both the named --config and the one found in the current folder.
    for args in
        [vec!["runs", "show", EXAMPLE_RUN, "--config", pipe.to_str().unwrap()], vec!["runs", "show", EXAMPLE_RUN]]
    {
        let mut cmd = crate::common::cli(scratch.path());
        cmd.timeout(std::time::Duration::from_secs(30));
        let (code, _, err) = crate::common::run_with(cmd, &args);
        assert_eq!(code, 2, "{err}");
        assert!(err.contains("not a regular file (a named pipe)"), "{err}");
    }
}
