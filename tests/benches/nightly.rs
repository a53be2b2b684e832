//! Benchmark of `nightly` and `runs list`, running the real binary against a local Convex
//! stand-in: a nightly over 40 runs that all have reports already (its state file removed each
//! time, so every run is listed and checked), and what listing costs in Convex requests as the
//! number of models and the history grow. Prints figures; asserts nothing about time.
//!
//! Run with `cargo bench -p evaltriage-tests --bench nightly`.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use evaltriage_tests::{EXAMPLE_RUN, FakeConvex, example_store};
use serde_json::{Value, json};

fn cli(cwd: &Path, args: &[&str]) -> (i32, Duration, String) {
    let start = Instant::now();
    let output = Command::new(env!("CARGO_BIN_EXE_evaltriage-e2e"))
        .args(args)
        .current_dir(cwd)
        .env_remove("OPENAI_API_KEY")
        .env_remove("OPENAI_BASE_URL")
        .env_remove("CONVEX_URL")
        .env_remove("EVALTRIAGE_REPORTS_DIR")
        .output()
        .expect("run the CLI");
    (output.status.code().unwrap_or(-1), start.elapsed(), String::from_utf8_lossy(&output.stdout).into_owned())
}

fn model_id(m: usize) -> String {
    format!("mb{m:05}{}", "a".repeat(25))
}

fn now_ms() -> f64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_millis() as f64
}

/// A run header-sized document (listing reads no evals).
fn bare_run(m: usize, n: usize, created: f64) -> Value {
    json!({
        "_id": format!("b{m:04}{n:06}{}", "x".repeat(21)), "_creationTime": created,
        "modelId": model_id(m), "model": format!("bench/model-{m}"), "provider": "openrouter",
        "plannedEvals": [], "status": {"kind": "completed", "durationMs": 1000}, "evals": [],
    })
}

#[expect(clippy::print_stdout, reason = "a benchmark prints its figures")]
fn main() {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let scratch = tempfile::tempdir().expect("tempdir");
    let dir = scratch.path();

    // 1. 40 finished runs over 4 models, all already reported.
    let convex = runtime.block_on(FakeConvex::from_store(&example_store()));
    let template = convex.state.runs.lock().expect("lock").remove(EXAMPLE_RUN).expect("example run");
    convex.state.models.lock().expect("lock").clear();
    let base = now_ms() - 3_600_000.0;
    for n in 0..40 {
        let m = n % 4;
        let mut doc = template.clone();
        doc["_id"] = json!(format!("n{m}{n:06}{}", "x".repeat(24)));
        doc["modelId"] = json!(model_id(m));
        doc["model"] = json!(format!("bench/model-{m}"));
        doc["_creationTime"] = json!(base + n as f64);
        convex.add_run(doc);
    }
    let url = convex.url();
    let args = ["nightly", "--convex-url", &url, "--reports-dir", "reports", "--classifier", "rules"];
    let (code, took, _) = cli(dir, &args);
    assert_eq!(code, 0, "the first nightly analyses the 40 runs");
    println!("first nightly, 40 runs analyzed with the rules classifier: {took:.2?}");
    let mut times = Vec::new();
    let mut queries = 0;
    for _ in 0..10 {
        std::fs::remove_file(dir.join("reports/.evaltriage/nightly.json")).expect("state file");
        let before = convex.queries();
        let (code, took, out) = cli(dir, &args);
        assert_eq!(code, 0);
        assert!(out.contains("0 analyzed, 40 already reported"), "{out}");
        queries = convex.queries() - before;
        times.push(took);
    }
    times.sort();
    println!(
        "nightly over 40 runs that all have reports: median {:.0?}, worst {:.0?} over 10 runs; {queries} Convex requests each",
        times[5], times[9]
    );
    drop(convex);

    // 2. Listing cost as models and history grow.
    println!("runs list: Convex requests (wall time) by models × runs per model");
    for models in [1usize, 10, 100, 250] {
        let mut line = format!("  {models:>4} models:");
        for history in [10usize, 100, 1000] {
            if models * history > 100_000 {
                line.push_str("            -");
                continue;
            }
            let convex = runtime.block_on(FakeConvex::start());
            {
                let mut runs = convex.state.runs.lock().expect("lock");
                let mut table = convex.state.models.lock().expect("lock");
                for m in 0..models {
                    table.push((model_id(m), format!("bench/model-{m}")));
                    for n in 0..history {
                        let doc = bare_run(m, n, base + (n * models + m) as f64);
                        runs.insert(doc["_id"].as_str().expect("id").to_owned(), doc);
                    }
                }
            }
            let (code, took, out) = cli(dir, &["runs", "list", "--convex-url", &convex.url(), "--json"]);
            assert_eq!(code, 0);
            let listed: Value = serde_json::from_str(&out).expect("json");
            assert_eq!(listed["models"], models);
            line.push_str(&format!("  {history:>4}: {:>4} ({took:>6.0?})", convex.queries()));
        }
        println!("{line}");
    }
    drop(runtime);
}
