//! The local store reads only regular files inside it, under a size limit: devices, named pipes
//! and links that lead out of the store are refused with a message naming the file, and their
//! content never reaches the evidence (issue 9, item 1).

#![cfg(target_os = "linux")]

mod common;

use std::os::unix::fs::symlink;
use std::path::Path;

use common::{EVAL, OUTPUT_BLOB, RUN, SOURCE_BLOB, run_document, zip_of};
use evaltriage_core::source::{Source, SourceError, StoreSource};
use evaltriage_core::{EvalId, EvidencePart, RunId, RunRef};

fn run_ref() -> RunRef {
    RunRef::run(RunId::new(RUN).unwrap())
}

async fn evidence(root: &Path) -> evaltriage_core::Evidence {
    let store = StoreSource::open(root).unwrap();
    let run = store.run(&run_ref()).await.unwrap();
    store.evidence(&run, &EvalId::new(EVAL).unwrap()).await.unwrap()
}

#[tokio::test]
async fn a_complete_store_gives_complete_evidence() {
    let dir = tempfile::tempdir().unwrap();
    write_store(dir.path());
    let e = evidence(dir.path()).await;
    assert!(e.problems.is_empty(), "{:?}", e.problems);
    assert_eq!(e.gaps(), Some("- known gap"));
}

#[tokio::test]
async fn a_run_document_linked_from_outside_the_store_is_not_read() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("store");
    write_store(&root);
    let doc = root.join("runs").join(format!("{RUN}.json"));
    let outside = dir.path().join("elsewhere.json");
    std::fs::rename(&doc, &outside).unwrap();
    symlink(&outside, &doc).unwrap();
    let store = StoreSource::open(&root).unwrap();
    let err = store.run(&run_ref()).await.unwrap_err();
    let message = err.to_string();
    assert!(message.contains(&format!("{RUN}.json: leads outside")), "{message}");
    assert!(matches!(&err, SourceError::File(e) if e.is_unusable_input()), "{err:?}");
}

#[tokio::test]
async fn a_run_document_that_is_a_named_pipe_is_refused_at_once() {
    let dir = tempfile::tempdir().unwrap();
    write_store(dir.path());
    let doc = dir.path().join("runs").join(format!("{RUN}.json"));
    std::fs::remove_file(&doc).unwrap();
    mkfifo(&doc);
    // Before, this open waited forever for a writer.
    let err = StoreSource::open(dir.path()).unwrap().run(&run_ref()).await.unwrap_err();
    assert!(err.to_string().contains("not a regular file (a named pipe)"), "{err}");
}

#[tokio::test]
async fn a_blob_folder_linked_from_outside_the_store_never_reaches_the_evidence() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("store");
    write_store(&root);
    std::fs::remove_file(root.join("blobs").join(format!("{SOURCE_BLOB}.zip"))).unwrap();
    let secret = dir.path().join("home");
    std::fs::create_dir(&secret).unwrap();
    std::fs::write(secret.join("TASK.txt"), "SECRET-FROM-OUTSIDE").unwrap();
    symlink(&secret, root.join("blobs").join(SOURCE_BLOB)).unwrap();
    let e = evidence(&root).await;
    assert!(e.source_files.is_empty(), "{:?}", e.source_files);
    assert!(e.task.as_deref() != Some("SECRET-FROM-OUTSIDE"));
    assert!(e.is_missing(EvidencePart::EvalSource), "{:?}", e.problems);
    let shown = e.problems.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n");
    assert!(shown.contains("eval source: ") && shown.contains("leads outside"), "{shown}");
}

#[tokio::test]
async fn a_blob_zip_that_is_a_pipe_or_a_device_link_is_a_problem_not_a_hang() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("store");
    write_store(&root);
    let output = root.join("blobs").join(format!("{OUTPUT_BLOB}.zip"));
    std::fs::remove_file(&output).unwrap();
    mkfifo(&output);
    let source = root.join("blobs").join(format!("{SOURCE_BLOB}.zip"));
    std::fs::remove_file(&source).unwrap();
    symlink("/dev/zero", &source).unwrap();
    let e = evidence(&root).await;
    let shown = e.problems.iter().map(ToString::to_string).collect::<Vec<_>>();
    assert_eq!(shown.len(), 2, "{shown:?}");
    assert!(
        shown[0].starts_with("model output: ") && shown[0].contains("not a regular file (a named pipe)"),
        "{shown:?}"
    );
    assert!(shown[1].starts_with("eval source: ") && shown[1].contains("leads outside"), "{shown:?}");
}

#[tokio::test]
async fn files_of_an_unpacked_blob_that_are_not_regular_are_named_as_problems() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("store");
    write_store(&root);
    std::fs::remove_file(root.join("blobs").join(format!("{OUTPUT_BLOB}.zip"))).unwrap();
    let unpacked = root.join("blobs").join(OUTPUT_BLOB);
    std::fs::create_dir_all(unpacked.join("convex")).unwrap();
    std::fs::write(unpacked.join("convex/users.ts"), "export {}").unwrap();
    mkfifo(&unpacked.join("run.log"));
    let e = evidence(&root).await;
    assert_eq!(e.output_files.keys().collect::<Vec<_>>(), ["convex/users.ts"]);
    let shown = e.problems.iter().map(ToString::to_string).collect::<Vec<_>>();
    assert_eq!(shown, ["model output file run.log: not a regular file (a named pipe); refusing to read it"]);
    assert!(e.is_incomplete(EvidencePart::Output) && !e.is_missing(EvidencePart::Output));
}

#[tokio::test]
async fn a_garbage_blob_in_a_store_is_named() {
    let dir = tempfile::tempdir().unwrap();
    write_store(dir.path());
    std::fs::write(dir.path().join("blobs").join(format!("{SOURCE_BLOB}.zip")), b"<html>").unwrap();
    std::fs::remove_file(dir.path().join("blobs").join(format!("{OUTPUT_BLOB}.zip"))).unwrap();
    let shown = evidence(dir.path()).await.problems.iter().map(ToString::to_string).collect::<Vec<_>>();
    assert_eq!(shown.len(), 2, "{shown:?}");
    assert!(shown[0].starts_with(&format!("model output: blob {OUTPUT_BLOB} is not in the store")), "{shown:?}");
    assert!(shown[1].starts_with(&format!("eval source: blob {SOURCE_BLOB}: not a readable zip")), "{shown:?}");
}

#[test]
fn a_named_run_file_that_is_not_valid_is_the_users_input_and_names_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("run.json");
    std::fs::write(&file, b"{\"_id\": \"jn7ak4x9m2qw8hd5tz3vc6pe1r0bfs7g\", \"model\": \"\xff\"}").unwrap();
    let err = StoreSource::open_target(&file).unwrap_err();
    assert!(matches!(err, SourceError::BadRunFile { .. }), "invalid UTF-8 is the file's fault: {err:?}");
    std::fs::write(&file, r#"{"_id": "jn7ak4x9m2qw8hd5tz3vc6pe1r0bfs7g", "_creationTime": "soon"}"#).unwrap();
    let err = StoreSource::open_target(&file).unwrap_err();
    assert!(err.to_string().contains("run document: _creationTime: "), "{err}");
    assert!(matches!(err, SourceError::BadRunFile { .. }), "{err:?}");
}

/// A store at `root` with the run document and both blobs as zips.
pub fn write_store(root: &Path) {
    std::fs::create_dir_all(root.join("runs")).unwrap();
    std::fs::create_dir_all(root.join("blobs")).unwrap();
    std::fs::write(root.join("runs").join(format!("{RUN}.json")), run_document().to_string()).unwrap();
    std::fs::write(
        root.join("blobs").join(format!("{OUTPUT_BLOB}.zip")),
        zip_of(&[("run.log", b"FAIL grader.test.ts > lists users"), ("convex/users.ts", b"export {}")]),
    )
    .unwrap();
    std::fs::write(
        root.join("blobs").join(format!("{SOURCE_BLOB}.zip")),
        zip_of(&[("TASK.txt", b"Write a query"), ("GAPS.txt", b"- known gap")]),
    )
    .unwrap();
}

/// Makes a named pipe (Linux has `mkfifo`; the tests that use this are Linux-only).
pub fn mkfifo(path: &Path) {
    let status = std::process::Command::new("mkfifo").arg(path).status().unwrap();
    assert!(status.success(), "mkfifo {}", path.display());
}
