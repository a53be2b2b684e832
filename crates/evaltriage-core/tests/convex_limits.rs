//! The Convex source never waits or buffers without a bound, and never drops a blob silently
//! (issue 9, items 2, 3 and 4): a silent or trickling server fails at the request deadline, a
//! query's retries stop at the retry budget, a blob over the cap is a per-eval problem, and every
//! blob that cannot be fetched is named in `Evidence::problems` with why.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use common::{EVAL, OUTPUT_BLOB, RUN, SOURCE_BLOB, run_document, zip_of};
use evaltriage_core::source::{ConvexConfig, ConvexSource, Source, SourceError};
use evaltriage_core::{EvalId, EvidencePart, RunId, RunRef, StorageId};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use wiremock::matchers::{body_partial_json, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn success(value: Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({"status": "success", "value": value, "logLines": []}))
}

fn config(url: &str) -> ConvexConfig {
    let mut c = ConvexConfig::new(url);
    c.request_timeout = Duration::from_millis(300);
    c.download_timeout = Duration::from_millis(300);
    c.backoff = Duration::from_millis(10);
    c
}

async fn mount_run(server: &MockServer) {
    Mock::given(method("POST"))
        .and(path("/api/query"))
        .and(body_partial_json(json!({"path": "runs:getRunDetails"})))
        .respond_with(success(run_document()))
        .mount(server)
        .await;
}

/// `runs:getOutputUrl` answers `url` for blob `id`.
async fn mount_url(server: &MockServer, id: &str, url: Value) {
    Mock::given(method("POST"))
        .and(path("/api/query"))
        .and(body_partial_json(json!({"path": "runs:getOutputUrl", "args": {"storageId": id}})))
        .respond_with(success(url))
        .mount(server)
        .await;
}

async fn mount_blob(server: &MockServer, id: &str, response: ResponseTemplate) {
    Mock::given(method("GET")).and(path(format!("/blob/{id}"))).respond_with(response).mount(server).await;
}

async fn evidence_of(source: &ConvexSource) -> evaltriage_core::Evidence {
    let run = source.run(&RunRef::run(RunId::new(RUN).unwrap())).await.unwrap();
    source.evidence(&run, &EvalId::new(EVAL).unwrap()).await.unwrap()
}

fn shown(e: &evaltriage_core::Evidence) -> Vec<String> {
    e.problems.iter().map(ToString::to_string).collect()
}

#[tokio::test]
async fn a_silent_server_fails_at_the_request_deadline_and_is_not_asked_again() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(success(Value::Null).set_delay(Duration::from_secs(30)))
        .mount(&server)
        .await;
    let source = ConvexSource::new(config(&server.uri())).unwrap();
    let err = source.query("runs:getRunDetails", json!({"runId": RUN})).await.unwrap_err();
    assert!(matches!(&err, SourceError::Transport { message, .. } if message.contains("timed out")), "{err:?}");
    assert_eq!(server.received_requests().await.unwrap().len(), 1, "a timed-out request is not retried");
}

/// A server that sends its headers at once, then one byte of the body every 50 ms; and how many
/// connections it accepted.
async fn trickling_server(content_type: &'static str) -> (String, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let connections = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&connections);
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else { return };
            counter.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let _ = socket.read(&mut buf).await;
                let head = format!("HTTP/1.1 200 OK\r\ncontent-type: {content_type}\r\ncontent-length: 100000\r\n\r\n");
                if socket.write_all(head.as_bytes()).await.is_err() {
                    return;
                }
                for _ in 0..100_000 {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    if socket.write_all(b" ").await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    (format!("http://{addr}"), connections)
}

#[tokio::test]
async fn a_trickling_answer_is_cut_at_the_request_deadline() {
    let (url, connections) = trickling_server("application/json").await;
    let source = ConvexSource::new(config(&url)).unwrap();
    let err = source.query("runs:getRunDetails", json!({"runId": RUN})).await.unwrap_err();
    assert!(matches!(&err, SourceError::Transport { message, .. } if message.contains("timed out")), "{err:?}");
    assert_eq!(connections.load(Ordering::SeqCst), 1, "the deadline covers the body, and is not tried again");
}

#[tokio::test]
async fn a_trickling_blob_download_is_cut_at_the_download_deadline() {
    let server = MockServer::start().await;
    mount_run(&server).await;
    let (trickle, connections) = trickling_server("application/zip").await;
    mount_url(&server, OUTPUT_BLOB, json!(format!("{trickle}/blob/x"))).await;
    let source = ConvexSource::new(config(&server.uri())).unwrap();
    let err = source.blob_bytes(&StorageId::new(OUTPUT_BLOB).unwrap()).await.unwrap_err();
    assert!(matches!(&err, SourceError::Transport { message, .. } if message.contains("timed out")), "{err:?}");
    assert_eq!(connections.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn retries_stop_when_the_retry_budget_is_spent() {
    let server = MockServer::start().await;
    Mock::given(method("POST")).respond_with(ResponseTemplate::new(503)).mount(&server).await;
    let mut c = config(&server.uri());
    c.max_retries = 1000;
    c.backoff = Duration::from_millis(100);
    c.retry_budget = Duration::from_millis(500);
    let source = ConvexSource::new(c).unwrap();
    let err = source.query("runs:getRunDetails", json!({"runId": RUN})).await.unwrap_err();
    assert!(matches!(err, SourceError::Http { status: 503, .. }), "{err:?}");
    // 100 + 200 ms of backoff fit in 500 ms; the next 400 ms does not: three attempts.
    let attempts = server.received_requests().await.unwrap().len();
    assert!((2..=4).contains(&attempts), "{attempts} attempts");
}

#[tokio::test]
async fn an_endless_retry_after_ends_in_a_clear_error_within_the_budget() {
    for value in ["1e300", "inf", "Fri, 31 Dec 9999 23:59:59 GMT"] {
        let server = MockServer::start().await;
        let limited = ResponseTemplate::new(429).insert_header("retry-after", value).set_body_string("slow down");
        Mock::given(method("POST")).respond_with(limited).mount(&server).await;
        let mut c = config(&server.uri());
        c.retry_budget = Duration::from_secs(2);
        let source = ConvexSource::new(c).unwrap();
        let started = std::time::Instant::now();
        let err = source.query("runs:getRunDetails", json!({"runId": RUN})).await.unwrap_err();
        assert!(matches!(err, SourceError::Http { status: 429, .. }), "Retry-After: {value}: {err:?}");
        assert!(err.to_string().contains("slow down"), "{err}");
        assert!(started.elapsed() < Duration::from_secs(2), "Retry-After: {value}: {:?}", started.elapsed());
    }
}

#[tokio::test]
async fn a_blob_over_the_cap_is_a_per_eval_problem() {
    let server = MockServer::start().await;
    mount_run(&server).await;
    mount_url(&server, OUTPUT_BLOB, json!(format!("{}/blob/{OUTPUT_BLOB}", server.uri()))).await;
    mount_url(&server, SOURCE_BLOB, json!(format!("{}/blob/{SOURCE_BLOB}", server.uri()))).await;
    mount_blob(&server, OUTPUT_BLOB, ResponseTemplate::new(200).set_body_bytes(vec![7u8; 2 << 20])).await;
    mount_blob(&server, SOURCE_BLOB, ResponseTemplate::new(200).set_body_bytes(zip_of(&[("TASK.txt", b"t")]))).await;
    let mut c = config(&server.uri());
    c.max_blob_bytes = 1 << 20;
    let e = evidence_of(&ConvexSource::new(c).unwrap()).await;
    assert_eq!(
        shown(&e),
        [format!("model output: blob {OUTPUT_BLOB}: larger than the 1 MiB cap on a blob download; not downloaded")]
    );
    assert_eq!(e.task.as_deref(), Some("t"), "the other blob is still read");
}

#[tokio::test]
async fn every_blob_that_cannot_be_fetched_is_named_with_why() {
    let server = MockServer::start().await;
    mount_run(&server).await;
    // The output: the download answers HTTP 500 (after retries). The source: no URL.
    mount_url(&server, OUTPUT_BLOB, json!(format!("{}/blob/{OUTPUT_BLOB}?token=signed", server.uri()))).await;
    mount_blob(&server, OUTPUT_BLOB, ResponseTemplate::new(500).set_body_string("storage exploded")).await;
    mount_url(&server, SOURCE_BLOB, Value::Null).await;
    let e = evidence_of(&ConvexSource::new(config(&server.uri())).unwrap()).await;
    let problems = shown(&e);
    assert_eq!(problems.len(), 2, "{problems:?}");
    assert!(
        problems[0].starts_with("model output: ") && problems[0].contains("HTTP 500: storage exploded"),
        "{problems:?}"
    );
    assert!(!problems[0].contains("signed"), "the signed query string is never shown: {problems:?}");
    assert!(problems[1].starts_with(&format!("eval source: blob {SOURCE_BLOB}: no download URL")), "{problems:?}");
    assert!(e.is_missing(EvidencePart::Output) && e.is_missing(EvidencePart::EvalSource));
}

#[tokio::test]
async fn garbage_bytes_and_a_file_url_are_problems_and_the_file_is_never_read() {
    let server = MockServer::start().await;
    mount_run(&server).await;
    mount_url(&server, OUTPUT_BLOB, json!(format!("{}/blob/{OUTPUT_BLOB}", server.uri()))).await;
    mount_blob(&server, OUTPUT_BLOB, ResponseTemplate::new(200).set_body_bytes(b"<html>not a zip</html>".to_vec()))
        .await;
    let dir = tempfile::tempdir().unwrap();
    let local = dir.path().join("source.zip");
    std::fs::write(&local, zip_of(&[("TASK.txt", b"LOCAL FILE CONTENT")])).unwrap();
    mount_url(&server, SOURCE_BLOB, json!(format!("file://{}", local.display()))).await;
    let e = evidence_of(&ConvexSource::new(config(&server.uri())).unwrap()).await;
    let problems = shown(&e);
    assert_eq!(problems.len(), 2, "{problems:?}");
    assert!(problems[0].starts_with(&format!("model output: blob {OUTPUT_BLOB}: not a readable zip")), "{problems:?}");
    assert_eq!(
        problems[1],
        format!(
            "eval source: blob {SOURCE_BLOB}: refusing to fetch a file: download URL; only http(s) URLs are fetched"
        )
    );
    assert!(e.task.is_none());
}

#[tokio::test]
async fn a_malformed_answer_is_the_servers_fault_and_names_the_field() {
    let server = MockServer::start().await;
    let mut doc = run_document();
    doc["evals"][0]["steps"][0]["status"]["kind"] = json!(5);
    Mock::given(method("POST")).respond_with(success(doc)).mount(&server).await;
    let source = ConvexSource::new(config(&server.uri())).unwrap();
    let err = source.run(&RunRef::run(RunId::new(RUN).unwrap())).await.unwrap_err();
    assert!(matches!(err, SourceError::Malformed(_)), "{err:?}");
    assert!(err.to_string().contains("evals[0].steps[0].status.kind: invalid type"), "{err}");
}

#[tokio::test]
async fn a_blob_server_that_never_answers_is_given_up_on_after_a_few_timeouts() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/query"))
        .and(body_partial_json(json!({"path": "runs:getOutputUrl"})))
        .respond_with(success(json!(format!("{}/blob/silent?token=signed", server.uri()))))
        .mount(&server)
        .await;
    mount_blob(&server, "silent", ResponseTemplate::new(200).set_delay(Duration::from_secs(60))).await;
    let mut c = config(&server.uri());
    c.give_up_after_timeouts = 2;
    let source = ConvexSource::new(c).unwrap();
    let started = std::time::Instant::now();
    let mut errors = Vec::new();
    for n in 0..6 {
        let id = StorageId::new(&format!("kg2blob{n}")).unwrap();
        errors.push(source.blob_bytes(&id).await.unwrap_err().to_string());
    }
    assert!(errors[..2].iter().all(|e| e.contains("timed out")), "{errors:?}");
    assert!(errors[2..].iter().all(|e| e.contains("the deployment is not answering")), "{errors:?}");
    assert!(errors.iter().all(|e| !e.contains("signed")), "{errors:?}");
    let downloads = server.received_requests().await.unwrap().iter().filter(|r| r.method.as_str() == "GET").count();
    assert_eq!(downloads, 2, "no download after the deployment was given up on");
    // Two deadlines of 300 ms, not six.
    assert!(started.elapsed() < Duration::from_millis(1500), "{:?}", started.elapsed());
}

#[tokio::test]
async fn the_remaining_evidence_after_giving_up_is_a_problem_saying_so() {
    let server = MockServer::start().await;
    mount_run(&server).await;
    mount_url(&server, OUTPUT_BLOB, json!(format!("{}/blob/{OUTPUT_BLOB}", server.uri()))).await;
    mount_url(&server, SOURCE_BLOB, json!(format!("{}/blob/{SOURCE_BLOB}", server.uri()))).await;
    for id in [OUTPUT_BLOB, SOURCE_BLOB] {
        mount_blob(&server, id, ResponseTemplate::new(200).set_delay(Duration::from_secs(60))).await;
    }
    let mut c = config(&server.uri());
    c.give_up_after_timeouts = 1;
    let e = evidence_of(&ConvexSource::new(c).unwrap()).await;
    let problems = shown(&e);
    assert_eq!(problems.len(), 2, "{problems:?}");
    assert!(problems[0].starts_with("model output: ") && problems[0].contains("timed out"), "{problems:?}");
    assert!(
        problems[1].starts_with("eval source: ") && problems[1].contains("the deployment is not answering"),
        "{problems:?}"
    );
}

#[tokio::test]
async fn an_answer_between_timeouts_keeps_the_deployment_in_use() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(body_partial_json(json!({"path": "runs:slow"})))
        .respond_with(success(Value::Null).set_delay(Duration::from_secs(60)))
        .mount(&server)
        .await;
    Mock::given(method("POST")).respond_with(success(json!(1))).mount(&server).await;
    let mut c = config(&server.uri());
    c.give_up_after_timeouts = 2;
    let source = ConvexSource::new(c).unwrap();
    for _ in 0..3 {
        let err = source.query("runs:slow", json!({})).await.unwrap_err();
        assert!(err.to_string().contains("timed out"), "{err}");
        assert_eq!(source.query("runs:fast", json!({})).await.unwrap(), json!(1));
    }
}
