//! Benchmark of `analyze-run` end to end, running the real binary: the example analysis (rules, no
//! network), and a 12-failure analysis against Convex and LLM stand-ins answering in 1 s each.
//! Prints wall times and the process's peak memory; asserts nothing about time.
//!
//! Run with `cargo bench -p evaltriage-tests --bench analyze`.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use evaltriage_tests::{FakeConvex, FakeLlm, example_store, run_measured, zip_of};
use serde_json::json;

/// Runs the CLI, returning (exit code, wall time, peak resident memory in KiB from /proc).
fn timed(cwd: &Path, args: &[&str]) -> (i32, Duration, Option<u64>) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_evaltriage-e2e"));
    cmd.args(args).current_dir(cwd).env_remove("OPENAI_API_KEY").env_remove("OPENAI_BASE_URL");
    run_measured(cmd)
}

/// A run with `n` verification failures (a mix of steps), each with an output and a source zip.
fn run_with_failures(convex: &FakeConvex, n: usize) -> String {
    let run_id = "jb3nch0000000000000000000000000r";
    let evals: Vec<serde_json::Value> = (0..n)
        .map(|i| {
            let (step, reason) = match i % 3 {
                0 => ("tsc", format!("Error: Failed to typecheck code:\nconvex/f{i}.ts(3,5): error TS2322: Type 'string' is not assignable to type 'number'.")),
                1 => ("eslint", format!("Error: Failed to lint code:\n/tmp/p/convex/f{i}.ts\n  4:1  error  Unexpected any. Specify a different type  @typescript-eslint/no-explicit-any")),
                _ => ("tests", "tests failed (50%)".to_owned()),
            };
            let out = format!("kb{i:0>30}");
            let src = format!("ks{i:0>30}");
            convex.add_blob(&out, zip_of(&[(&format!("convex/f{i}.ts"), "export const f = (x: any) => x;\n"), ("run.log", "× returns the sum\nExpected 3, received '12'\n")]));
            convex.add_blob(&src, zip_of(&[("TASK.txt", "Write f."), (&format!("answer/convex/f{i}.ts"), "export const f = (x: number) => x;\n"), ("grader.test.ts", "test('sum', () => {});\n")]));
            json!({
                "_id": format!("je{i:0>30}"), "_creationTime": 1.76e12 + i as f64, "runId": run_id,
                "evalPath": format!("00{}-cat/{i:03}-eval", i % 4), "category": format!("00{}-cat", i % 4), "name": format!("{i:03}-eval"),
                "task": "Write f.", "evalSourceStorageId": src,
                "status": {"kind": "failed", "failureReason": reason, "durationMs": 1000, "outputStorageId": out},
                "steps": [{"_id": format!("js{i}"), "_creationTime": 1.76e12 + i as f64, "evalId": format!("je{i:0>30}"), "name": step, "status": {"kind": "failed", "failureReason": reason, "durationMs": 10}}]
            })
        })
        .collect();
    convex.add_run(json!({
        "_id": run_id, "_creationTime": 1.76e12, "model": "openai/gpt-bench", "provider": "openrouter",
        "plannedEvals": [], "status": {"kind": "completed", "durationMs": 1000}, "evals": evals
    }))
}

#[expect(clippy::print_stdout, reason = "a benchmark prints its figures")]
fn main() {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let scratch = tempfile::tempdir().expect("tempdir");
    let store = example_store();
    let store = store.to_str().expect("utf-8 path");

    let mut times = Vec::new();
    let mut peaks = Vec::new();
    for i in 0..10 {
        let reports = format!("reports-{i}");
        let (code, took, peak) = timed(scratch.path(), &["analyze-run", store, "--reports-dir", &reports]);
        assert_eq!(code, 0, "the example analysis failed");
        times.push(took);
        peaks.extend(peak);
    }
    times.sort();
    println!(
        "example analysis (rules, offline): median {:.1?}, worst {:.1?} over 10 runs; peak RSS {} KiB",
        times[5],
        times[9],
        peaks.iter().max().copied().unwrap_or(0)
    );

    let (convex, llm) = runtime.block_on(async { (FakeConvex::start().await, FakeLlm::start().await) });
    llm.set_latency(Duration::from_secs(1));
    let run_id = run_with_failures(&convex, 12);
    let (code, took, peak) = timed(
        scratch.path(),
        &[
            "analyze-run",
            &run_id,
            "--convex-url",
            &convex.url(),
            "--llm-base-url",
            &llm.base_url(),
            "--llm-model",
            "bench",
            "--reports-dir",
            "reports-llm",
            "--no-cache",
        ],
    );
    // 12 calls at 4 in flight and 1 s each take 3 s, then the synthesis call 1 s: 4 s at best.
    let optimum = Duration::from_secs(4);
    println!(
        "12 failures, LLM stand-in at 1 s per answer: {took:.2?} (exit {code}), optimum {optimum:?} ({:+.1}%), {} LLM requests; peak RSS {} KiB",
        (took.as_secs_f64() / optimum.as_secs_f64() - 1.0) * 100.0,
        llm.requests(),
        peak.unwrap_or(0)
    );
    drop(runtime);
}
