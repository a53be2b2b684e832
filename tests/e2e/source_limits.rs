//! Hardening of the sources through the CLI (issue 9, items 1, 4, 7 and 9): a store's files are
//! read only when they are regular files inside it, a run file that is not a valid run document is
//! the user's input (exit 2) with the bad field named, a server's malformed answer is the server's
//! failure (exit 1), a blob that cannot be fetched is named, and a long `run.log` is still text.

use std::time::Duration;

use evaltriage_tests::{EXAMPLE_RUN, FakeConvex, example_store, example_store_copy};
use serde_json::json;

use crate::common::{cli, run, run_with};

const PAGINATE: &str = "002-queries/015-paginate_messages";
const PAGINATE_OUTPUT: &str = "kg2e0kde9gzuhkm5yqm7wofz0gcpif3l";
const PAGINATE_SOURCE: &str = "kg2c0vefeu3vw5jh7ttdlb3g0d8wgb60";

#[test]
fn a_run_file_with_invalid_utf8_is_the_users_input() {
    let scratch = tempfile::tempdir().unwrap();
    let file = scratch.path().join("run.json");
    let mut bytes = format!(r#"{{"_id": "{EXAMPLE_RUN}", "model": ""#).into_bytes();
    bytes.extend_from_slice(b"\xff\xfe\"}");
    std::fs::write(&file, bytes).unwrap();
    let (code, out, err) = run(scratch.path(), &["runs", "show", file.to_str().unwrap()]);
    assert_eq!(code, 2, "a file the user named is unusable: {err}");
    assert!(err.contains("run.json: run document: "), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(out.is_empty(), "{out}");
}

#[test]
fn a_malformed_run_file_names_the_field() {
    let scratch = tempfile::tempdir().unwrap();
    let store = example_store_copy(&scratch.path().join("store"), |doc| {
        doc["evals"][3]["steps"][0]["status"] = json!({"kind": ["passed"]});
    });
    let (code, _, err) = run(scratch.path(), &["runs", "show", EXAMPLE_RUN, "--store", store.to_str().unwrap()]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("run document: evals[3].steps[0].status.kind: invalid type: sequence"), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_malformed_server_answer_is_the_servers_failure() {
    let convex = FakeConvex::from_store(&example_store()).await;
    convex.state.runs.lock().unwrap().get_mut(EXAMPLE_RUN).unwrap()["evals"][0]["_creationTime"] = json!("soon");
    let scratch = tempfile::tempdir().unwrap();
    let (code, _, err) = run(scratch.path(), &["runs", "show", EXAMPLE_RUN, "--convex-url", &convex.url()]);
    assert_eq!(code, 1, "the server's fault, not the user's: {err}");
    assert!(err.contains("evals[0]._creationTime"), "{err}");
}

#[cfg(target_os = "linux")]
#[test]
fn a_run_document_that_is_a_named_pipe_is_refused_at_once() {
    let scratch = tempfile::tempdir().unwrap();
    let store = example_store_copy(&scratch.path().join("store"), |_| {});
    let doc = store.join("runs").join(format!("{EXAMPLE_RUN}.json"));
    std::fs::remove_file(&doc).unwrap();
    assert!(std::process::Command::new("mkfifo").arg(&doc).status().unwrap().success());
    let mut cmd = cli(scratch.path());
    // Before, the CLI waited forever for a writer; the timeout only keeps a regression from hanging CI.
    cmd.timeout(Duration::from_secs(60));
    let (code, _, err) = run_with(cmd, &["runs", "show", EXAMPLE_RUN, "--store", store.to_str().unwrap()]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("not a regular file (a named pipe)"), "{err}");
}

#[cfg(unix)]
#[test]
fn a_blob_folder_leading_outside_the_store_is_not_read() {
    let scratch = tempfile::tempdir().unwrap();
    let store = example_store_copy(&scratch.path().join("store"), |_| {});
    let outside = scratch.path().join("outside");
    std::fs::create_dir(&outside).unwrap();
    std::fs::write(outside.join("GAPS.txt"), "SECRET FROM OUTSIDE THE STORE").unwrap();
    let blob = store.join("blobs").join(PAGINATE_SOURCE);
    std::fs::remove_dir_all(&blob).unwrap();
    std::os::unix::fs::symlink(&outside, &blob).unwrap();
    let (code, out, err) = run(scratch.path(), &["evals", "show", EXAMPLE_RUN, PAGINATE, "--store", "store"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("could not read: eval source: ") && out.contains("leads outside"), "{out}");
    let (code, out, err) =
        run(scratch.path(), &["evals", "show", EXAMPLE_RUN, PAGINATE, "--file", "GAPS.txt", "--store", "store"]);
    assert_ne!(code, 0);
    assert!(!out.contains("SECRET") && !err.contains("SECRET"), "{out}{err}");
}

#[test]
fn a_long_run_log_is_text_not_a_binary_file() {
    let scratch = tempfile::tempdir().unwrap();
    let store = example_store_copy(&scratch.path().join("store"), |_| {});
    let log = store.join("blobs").join(PAGINATE_OUTPUT).join("run.log");
    let mut text = String::new();
    while text.len() < 6 << 20 {
        text.push_str("stdout | grader.test.ts > paginates > logs a line of test output\n");
    }
    text.push_str(" Tests  2 failed | 5 passed (7)\n");
    std::fs::write(&log, text).unwrap();
    let (code, out, err) =
        run(scratch.path(), &["evals", "show", EXAMPLE_RUN, PAGINATE, "--file", "run.log", "--store", "store"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("Tests  2 failed | 5 passed (7)"), "the end of the log is kept");
    assert!(out.contains(" lines cut ...]"), "the cut is marked");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_blob_that_cannot_be_fetched_is_named() {
    let convex = FakeConvex::from_store(&example_store()).await;
    convex.state.blobs.lock().unwrap().remove(PAGINATE_SOURCE);
    convex.state.blobs.lock().unwrap().insert(PAGINATE_OUTPUT.to_owned(), b"<html>not a zip</html>".to_vec());
    let scratch = tempfile::tempdir().unwrap();
    let (code, out, err) =
        run(scratch.path(), &["evals", "show", EXAMPLE_RUN, PAGINATE, "--convex-url", &convex.url()]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains(&format!("could not read: model output: blob {PAGINATE_OUTPUT}: not a readable zip")),
        "{out}"
    );
    assert!(out.contains(&format!("could not read: eval source: blob {PAGINATE_SOURCE}: no download URL")), "{out}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_blob_over_the_configured_cap_is_named_and_not_downloaded() {
    let convex = FakeConvex::from_store(&example_store()).await;
    convex.add_blob(PAGINATE_OUTPUT, vec![0u8; 2 << 20]);
    let scratch = tempfile::tempdir().unwrap();
    std::fs::write(scratch.path().join("evaltriage.toml"), "max_blob_mb = 1\n").unwrap();
    let (code, out, err) =
        run(scratch.path(), &["evals", "show", EXAMPLE_RUN, PAGINATE, "--convex-url", &convex.url()]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains(&format!("could not read: model output: blob {PAGINATE_OUTPUT}: larger than the 1 MiB cap")),
        "{out}"
    );
    assert!(out.contains("TASK.txt"), "the other blob is still read: {out}");

    std::fs::write(scratch.path().join("evaltriage.toml"), "max_blob_mb = 0\n").unwrap();
    let (code, _, err) = run(scratch.path(), &["evals", "show", EXAMPLE_RUN, PAGINATE, "--convex-url", &convex.url()]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("max_blob_mb must be from 1 to 4096, got 0"), "{err}");
}
