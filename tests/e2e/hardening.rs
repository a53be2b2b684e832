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
