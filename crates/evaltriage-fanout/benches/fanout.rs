//! Benchmark of the fan-out against a local OpenAI-compatible stand-in: makespan against the
//! optimum, in-flight bound, prompt size on realistic evidence, and the dispatcher's own overhead.
//! Prints figures; asserts nothing about time. Run with `cargo bench -p evaltriage-fanout`.

#![expect(clippy::print_stdout, reason = "a benchmark reports its figures on stdout")]

#[path = "../tests/common/mod.rs"]
#[expect(dead_code, reason = "the benchmark uses only part of the test helpers")]
mod common;

use std::time::{Duration, Instant};

use common::{StandIn, answer, llm_config, ok, realistic_case, small_cases};
use evaltriage_fanout::{Backend, FanoutConfig, Prompts, analyze, estimate_tokens, select_evidence};

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    runtime.block_on(async {
        println!("evaltriage-fanout benchmark (concurrency 4, local wiremock stand-in)\n");
        for (label, slow) in [("slow eval 2nd of 12", 1), ("slow eval 8th of 12", 7), ("slow eval last of 12", 11)] {
            makespan_with_one_slow(label, slow).await;
        }
        makespan_many(100, Duration::from_millis(200)).await;
        prompt_size();
        overhead(200).await;
    });
}

async fn makespan_with_one_slow(label: &str, slow_index: usize) {
    let slow = format!("000-fundamentals/{slow_index:03}-eval");
    let (server, stand_in) = StandIn::new(move |hit, _| {
        let delay = if hit.eval_path == slow { Duration::from_secs(3) } else { Duration::from_secs(1) };
        (ok(&answer(&hit.eval_path, "MODEL_FAULT")), delay)
    })
    .start()
    .await;
    let config = FanoutConfig { backend: Backend::Llm(llm_config(&server)), ..FanoutConfig::default() };
    let start = Instant::now();
    let analysis = analyze(small_cases(12), &config).await.expect("analysis");
    let took = start.elapsed().as_secs_f64();
    let optimum = 4.0;
    println!(
        "12 failures, 1 s each, one 3 s ({label}): makespan {took:.2} s, optimum {optimum:.1} s ({:+.1}%), max in flight {}, done {}",
        (took / optimum - 1.0) * 100.0,
        stand_in.max_in_flight(),
        analysis.verdicts.iter().filter(|v| v.classification.is_some()).count()
    );
}

async fn makespan_many(n: usize, latency: Duration) {
    let (server, stand_in) =
        StandIn::new(move |hit, _| (ok(&answer(&hit.eval_path, "MODEL_FAULT")), latency)).start().await;
    let config = FanoutConfig { backend: Backend::Llm(llm_config(&server)), ..FanoutConfig::default() };
    let start = Instant::now();
    analyze(small_cases(n), &config).await.expect("analysis");
    let took = start.elapsed().as_secs_f64();
    let optimum = (n as f64 / 4.0).ceil() * latency.as_secs_f64();
    println!(
        "{n} failures at {} ms: makespan {took:.2} s, optimum {optimum:.2} s ({:+.1}%), max in flight {}",
        latency.as_millis(),
        (took / optimum - 1.0) * 100.0,
        stand_in.max_in_flight()
    );
}

fn prompt_size() {
    let case = realistic_case("000-fundamentals/010-chat_summary");
    let start = Instant::now();
    let evidence = select_evidence(&case, evaltriage_fanout::DEFAULT_EVIDENCE_TOKENS);
    let selection_time = start.elapsed();
    let (system, user) = Prompts::builtin().render_analysis(&case, &evidence);
    let raw: usize = case
        .evidence
        .output_files
        .values()
        .chain(case.evidence.source_files.values())
        .filter_map(|f| f.as_text())
        .map(estimate_tokens)
        .sum::<usize>()
        + estimate_tokens(case.failure.error_text());
    println!(
        "realistic evidence (3,000-line tsc error, lockfiles, node_modules): raw {raw} tokens -> prompt {} tokens \
         (system {}, user {}; evidence {}, {} lines cut), selected in {:.2} ms",
        estimate_tokens(&system) + estimate_tokens(&user),
        estimate_tokens(&system),
        estimate_tokens(&user),
        evidence.estimated_tokens(),
        evidence.cut_lines,
        selection_time.as_secs_f64() * 1_000.0
    );
}

async fn overhead(n: usize) {
    let (server, _) = StandIn::new(|hit, _| (ok(&answer(&hit.eval_path, "MODEL_FAULT")), Duration::ZERO)).start().await;
    let config = FanoutConfig { backend: Backend::Llm(llm_config(&server)), ..FanoutConfig::default() };
    // Warm up the connection pool and the code paths.
    analyze(small_cases(8), &config).await.expect("analysis");
    let start = Instant::now();
    analyze(small_cases(n), &config).await.expect("analysis");
    let llm = start.elapsed();
    let start = Instant::now();
    analyze(small_cases(n), &FanoutConfig::default()).await.expect("analysis");
    let rules = start.elapsed();
    println!(
        "dispatcher overhead at 0 ms latency: {:.3} ms per eval with the LLM path (HTTP round trip to the local \
         stand-in, validation included), {:.3} ms per eval with the rules classifier",
        llm.as_secs_f64() * 1_000.0 / n as f64,
        rules.as_secs_f64() * 1_000.0 / n as f64
    );
}
