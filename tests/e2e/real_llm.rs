//! The CLI against a real OpenAI-compatible server: llama.cpp's `llama-server` serving
//! SmolLM2-135M-Instruct with 4 slots (`scripts/local-llm.sh start`, which `.ci/run` runs), reached
//! through `EVALTRIAGE_TEST_LLM_URL`. The point is protocol and robustness, not the labels of a
//! 135M model: verdicts come back `done`, four requests are in flight together, the report names
//! the LLM, and a cached re-run makes no analysis call.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::json;

const URL_VAR: &str = "EVALTRIAGE_TEST_LLM_URL";
const MODEL: &str = "SmolLM2-135M-Instruct";
const STORE: &str = "fixtures/stores/six_verification_failures";

/// Writes straight to stderr, past the test harness's capture, so the line shows in every run.
fn say(line: &str) {
    let _ = writeln!(std::io::stderr(), "real_llm: {line}");
}

/// A plain HTTP/1.0 GET on loopback (the test package has no HTTP client of its own).
fn http_get(root: &str, path: &str) -> Option<String> {
    let addr = root.strip_prefix("http://")?.trim_end_matches('/');
    let mut stream = TcpStream::connect(addr).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").ok()?;
    let mut text = String::new();
    stream.read_to_string(&mut text).ok()?;
    text.split_once("\r\n\r\n").map(|(_, body)| body.to_owned())
}

/// Slots busy right now, from llama-server's `/slots`.
fn busy_slots(root: &str) -> Option<usize> {
    let slots: Value = serde_json::from_str(&http_get(root, "/slots")?).ok()?;
    Some(slots.as_array()?.iter().filter(|s| s["is_processing"] == Value::Bool(true)).count())
}

struct Outcome {
    code: i32,
    stdout: String,
    stderr: String,
    seconds: f64,
    max_busy_slots: usize,
}

/// Runs the CLI to the end while watching the server's slots.
fn analyze(cwd: &std::path::Path, root: &str, args: &[&str]) -> Outcome {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_evaltriage-e2e"));
    cmd.current_dir(cwd).args(args).env("RUST_LOG", "evaltriage_fanout=debug").env("NO_COLOR", "1");
    for var in
        ["OPENAI_API_KEY", "OPENAI_BASE_URL", "EVALTRIAGE_LLM_MODEL", "EVALTRIAGE_REPORTS_DIR", "EVALTRIAGE_STORE"]
    {
        cmd.env_remove(var);
    }
    let done = Arc::new(AtomicBool::new(false));
    let max_busy = Arc::new(AtomicUsize::new(0));
    let watcher = {
        let (done, max_busy, root) = (done.clone(), max_busy.clone(), root.to_owned());
        std::thread::spawn(move || {
            while !done.load(Ordering::SeqCst) {
                if let Some(n) = busy_slots(&root) {
                    max_busy.fetch_max(n, Ordering::SeqCst);
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        })
    };
    let start = Instant::now();
    let output = cmd.stdin(Stdio::null()).output().expect("run the CLI");
    let seconds = start.elapsed().as_secs_f64();
    done.store(true, Ordering::SeqCst);
    watcher.join().expect("slot watcher");
    Outcome {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        seconds,
        max_busy_slots: max_busy.load(Ordering::SeqCst),
    }
}

/// The most requests the tool itself had in flight, from its DEBUG lines (`in_flight=N`).
fn max_in_flight_logged(stderr: &str) -> usize {
    stderr
        .split("in_flight=")
        .skip(1)
        .filter_map(|rest| rest.split(|c: char| !c.is_ascii_digit()).next()?.parse().ok())
        .max()
        .unwrap_or(0)
}

/// DEBUG lines of requests sent for this eval's analysis.
fn requests_about(stderr: &str, eval_path: &str) -> usize {
    stderr.lines().filter(|l| l.contains("LLM request") && l.contains(&format!("about=\"{eval_path}\""))).count()
}

#[test]
fn a_real_llama_server_with_smollm2_classifies_a_run_of_six_verification_failures() {
    let Ok(url) = std::env::var(URL_VAR) else {
        // CI always starts the server; only a developer's plain `cargo test` may lack it.
        assert!(
            std::env::var_os("CI").is_none(),
            "{URL_VAR} is not set under CI: .ci/run must start scripts/local-llm.sh"
        );
        say(&format!(
            "NOT RUN against a real LLM server: {URL_VAR} is not set. Start one with \
             `eval \"$(scripts/local-llm.sh start)\"; export {URL_VAR}` (see README)."
        ));
        return;
    };
    let url = url.trim_end_matches('/').to_owned();
    let root = url.trim_end_matches("/v1").to_owned();
    assert!(http_get(&root, "/health").is_some_and(|b| b.contains("ok")), "{root}/health does not answer ok");
    say(&format!("running against {url}"));

    let dir = tempfile::tempdir().unwrap();
    let reports = dir.path().join("reports");
    let store = evaltriage_tests::package_dir().join(STORE);
    let args = [
        "analyze-run",
        store.to_str().unwrap(),
        "--llm-base-url",
        &url,
        "--llm-model",
        MODEL,
        "--reports-dir",
        reports.to_str().unwrap(),
        "--llm-timeout",
        "900",
        "--json",
    ];

    let first = analyze(dir.path(), &root, &args);
    assert!(first.code == 0 || first.code == 1, "exit {}:\n{}", first.code, first.stderr);
    let v = json(&first.stdout);
    let verdicts = v["verdicts"].as_array().unwrap();
    assert_eq!(verdicts.len(), 6, "{}", first.stdout);
    let done = verdicts.iter().filter(|x| x["status"] == "done").count();
    let retries: u64 = verdicts.iter().map(|x| x["retry_count"].as_u64().unwrap_or(0)).sum();
    say(&format!(
        "{done} of 6 done, {retries} validation retries, {:.0} s, at most {} requests in flight (tool), {} slots busy at once (server)",
        first.seconds,
        max_in_flight_logged(&first.stderr),
        first.max_busy_slots
    ));
    for x in verdicts.iter().filter(|x| x["status"] != "done") {
        say(&format!("not done: {} {}: {}", x["eval_path"], x["status"], x["reasoning"]));
    }
    assert!(done >= 5, "at least 5 of 6 end done, got {done}:\n{}", first.stdout);
    assert!(!first.stderr.contains("no answer from"), "no call timed out:\n{}", first.stderr);
    assert_eq!(max_in_flight_logged(&first.stderr), 4, "four requests in flight together");
    assert_eq!(first.max_busy_slots, 4, "the server had its four slots busy at once");
    let report = std::fs::read_to_string(v["report_path"].as_str().unwrap()).unwrap();
    assert!(report.contains(&format!("LLM `{MODEL}`")), "the report names the LLM");

    let done_paths: Vec<&str> =
        verdicts.iter().filter(|x| x["status"] == "done").filter_map(|x| x["eval_path"].as_str()).collect();
    assert!(done_paths.iter().all(|p| requests_about(&first.stderr, p) >= 1), "the DEBUG lines name each eval");

    // Re-run: every done verdict comes from the cache; no request is sent about it (an eval that
    // ended error is not cached and is asked again).
    let mut again: Vec<&str> = args.to_vec();
    again.push("--force");
    let second = analyze(dir.path(), &root, &again);
    assert!(second.code == 0 || second.code == 1, "{}", second.stderr);
    for path in &done_paths {
        assert_eq!(requests_about(&second.stderr, path), 0, "{path} was asked again:\n{}", second.stderr);
    }
    let report = std::fs::read_to_string(json(&second.stdout)["report_path"].as_str().unwrap()).unwrap();
    assert!(report.contains(&format!("LLM `{MODEL}` (cached verdicts)")), "{report}");
    say(&format!("cached re-run: {:.1} s, no request about the {} done evals", second.seconds, done_paths.len()));
}
