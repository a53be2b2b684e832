//! Benchmark: parse a 111-eval run document and compute its shape, and read the same run from a
//! local store. Prints figures (median and worst of many iterations); asserts nothing about time.
//!
//! Run with `cargo bench -p evaltriage-core --bench shape`.

use std::hint::black_box;
use std::time::{Duration, Instant};

use evaltriage_core::source::{Source, StoreSource, parse_run_document_bytes};
use evaltriage_core::{RunId, RunRef, Shape};
use serde_json::{Value, json};

const EVALS: usize = 111;

fn id(prefix: &str, n: usize) -> String {
    format!("{prefix}{n:0>30}").chars().take(32).collect()
}

/// A run shaped like a real convex-evals run: six steps per eval, about one in five failing, tsc
/// failures with a page of compiler output.
fn run_document() -> Value {
    let tsc_error = format!(
        "Error: Failed to typecheck code:\n{}",
        (0..40)
            .map(|i| format!(
                "convex/messages.ts({i},7): error TS2322: Type 'string | undefined' is not assignable to type 'string'."
            ))
            .collect::<Vec<_>>()
            .join("\n")
    );
    let evals: Vec<Value> = (0..EVALS)
        .map(|i| {
            let eval_id = id("je", i);
            let failing = i % 5 == 0;
            let fail_at = if failing { Some(["deploy", "tsc", "eslint", "tests"][i / 5 % 4]) } else { None };
            let mut reached_failure = false;
            let steps: Vec<Value> = ["filesystem", "install", "deploy", "tsc", "eslint", "tests"]
                .iter()
                .enumerate()
                .map(|(k, name)| {
                    let status = if reached_failure {
                        json!({"kind": "skipped"})
                    } else if Some(*name) == fail_at {
                        reached_failure = true;
                        let reason = match *name {
                            "tsc" => tsc_error.clone(),
                            "tests" => "tests failed (40%)".to_owned(),
                            other => format!("Error: Failed to {other}:\nsomething went wrong in convex/x{i}.ts:3:1"),
                        };
                        json!({"kind": "failed", "failureReason": reason, "durationMs": 1234.5})
                    } else {
                        json!({"kind": "passed", "durationMs": 1234.5})
                    };
                    json!({"_id": id("js", i * 10 + k), "_creationTime": 1.76e12 + (i * 10 + k) as f64, "evalId": eval_id, "name": name, "status": status})
                })
                .collect();
            let status = match fail_at {
                Some(step) => json!({"kind": "failed", "failureReason": format!("{step} failed"), "durationMs": 40000, "outputStorageId": id("ko", i)}),
                None => json!({"kind": "passed", "durationMs": 40000}),
            };
            json!({
                "_id": eval_id, "_creationTime": 1.76e12 + i as f64, "runId": id("jr", 1),
                "evalPath": format!("{:03}-category/{:03}-eval_{i}", i / 20, i % 20),
                "category": format!("{:03}-category", i / 20), "name": format!("{:03}-eval_{i}", i % 20),
                "task": "Write a Convex backend that does the thing described here, with a schema and two functions. ".repeat(8),
                "evalSourceStorageId": id("ks", i), "status": status, "steps": steps,
            })
        })
        .collect();
    json!({
        "_id": id("jr", 1), "_creationTime": 1.76e12, "modelId": id("km", 1), "model": "anthropic/claude-opus-4.6",
        "formattedName": "Claude Opus 4.6", "provider": "openrouter",
        "plannedEvals": evals.iter().map(|e| e["evalPath"].clone()).collect::<Vec<_>>(),
        "status": {"kind": "completed", "durationMs": 1.2e6}, "evals": evals,
    })
}

fn measure(iterations: usize, mut f: impl FnMut()) -> (Duration, Duration) {
    let mut times: Vec<Duration> = (0..iterations)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed()
        })
        .collect();
    times.sort();
    (times[times.len() / 2], times[times.len() - 1])
}

#[expect(clippy::print_stdout, reason = "a benchmark prints its figures")]
fn main() {
    let doc = run_document();
    let text = serde_json::to_string(&doc).expect("serialise");
    println!("run document: {EVALS} evals, {} KiB of JSON", text.len() / 1024);

    let (median, worst) = measure(200, || {
        let run = parse_run_document_bytes(black_box(text.as_bytes())).expect("run");
        black_box(Shape::of(&run));
    });
    println!("parse + shape:        median {median:>10.3?}  worst {worst:>10.3?}  (target: well under 50 ms)");

    let store_dir = tempfile::tempdir().expect("tempdir");
    let store = StoreSource::open(store_dir.path()).expect("store");
    let run_id = RunId::new(&id("jr", 1)).expect("id");
    store.write_run_document(&run_id, &doc).expect("write");
    let runtime = tokio::runtime::Builder::new_current_thread().build().expect("runtime");
    let run_ref = RunRef::run(run_id);
    let (median, worst) = measure(200, || {
        let run = runtime.block_on(store.run(&run_ref)).expect("read");
        black_box(Shape::of(&run));
    });
    println!("store read + shape:   median {median:>10.3?}  worst {worst:>10.3?}  (target: well under 50 ms)");
}
