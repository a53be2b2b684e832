//! Benchmark of `backfill` over 500 runs × 10 failures, running the real binary against the Convex
//! stand-in with the LLM chat stand-in (the synchronous engine, at its default two runs at once and
//! at four) and the Batch API stand-in (`--batch`). Prints wall time, peak memory, the requests
//! sent to each stand-in, the distinct failure signatures and the calls signature reuse saved;
//! asserts only that every run got one report.
//!
//! The history: 10 models × 50 runs, one every 4 hours (the benchmark's schedule), so
//! `runs:listRuns` lists each model's newest 40 and the backfill reaches the 10 before them
//! through `runs:leaderboardModelHistory`. Every run plans 40 evals and fails 10: 7 drawn from the
//! model's 12 persistent failures (the same error each time, at other line numbers) and 3 one-off
//! failures on other evals with an error of their own (an identifier no other run names). So
//! about a third of the 5,000 failures are distinct (printed exactly), and the rest can reuse an
//! earlier run's verdict.
//!
//! Run with `cargo bench -p evaltriage-tests --bench backfill` (`EVALTRIAGE_BENCH_ONLY=batch` for
//! the batch engine alone).

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;
use std::sync::atomic::Ordering;
use std::time::Duration;

use evaltriage_tests::batch_api::FakeBatchApi;
use evaltriage_tests::{FakeConvex, FakeLlm, report_texts, run_measured_with_stdout, zip_of};
use serde_json::{Value, json};

const MODELS: usize = 10;
const RUNS_PER_MODEL: usize = 50;
const EVALS: usize = 40;
const PERSISTENT: usize = 12;
const PERSISTENT_PER_RUN: usize = 7;
const ONE_OFF_PER_RUN: usize = 3;
/// How long the chat stand-in takes to answer.
const LLM_LATENCY: Duration = Duration::from_millis(5);

const CATEGORIES: [&str; 5] = ["000-fundamentals", "001-data_modeling", "002-queries", "003-mutations", "004-actions"];
const VERBS: [&str; 12] =
    ["get", "list", "count", "insert", "patch", "remove", "send", "sync", "archive", "search", "rank", "join"];
const NOUNS: [&str; 16] = [
    "Users", "Messages", "Channels", "Posts", "Comments", "Teams", "Invites", "Files", "Tasks", "Projects", "Orders",
    "Carts", "Votes", "Tags", "Events", "Quotes",
];
const QUALIFIERS: [&str; 8] = ["ByOwner", "ByDate", "Recent", "Paged", "ForTeam", "Unread", "WithIndex", "Batched"];

/// A small deterministic generator (xorshift), so every run of the benchmark has the same data.
struct Draw(u64);

impl Draw {
    fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }

    /// `k` distinct numbers below `n`.
    fn distinct(&mut self, k: usize, n: usize) -> Vec<usize> {
        let mut picked = BTreeSet::new();
        while picked.len() < k {
            picked.insert(self.below(n));
        }
        picked.into_iter().collect()
    }
}

fn eval_path(e: usize) -> String {
    format!("{}/{e:03}-task_{e}", CATEGORIES[e % CATEGORIES.len()])
}

fn now_ms() -> f64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_millis() as f64
}

/// A failure's step and error. A persistent failure's text is the model's own for that eval, at
/// a line that moves; a one-off names an identifier of its own.
fn failure(model: usize, eval: usize, one_off: Option<&str>, line: usize) -> (&'static str, String) {
    let name = format!("f{eval}");
    match (one_off, (model + eval) % 3) {
        (Some(ident), _) => (
            "tsc",
            format!(
                "Error: Failed to typecheck code:\nconvex/{name}.ts({line},9): error TS2339: Property '{ident}' does not exist on type 'DatabaseReader'."
            ),
        ),
        (None, 0) => (
            "tsc",
            format!(
                "Error: Failed to typecheck code:\nconvex/{name}.ts({line},5): error TS2322: Type 'string' is not assignable to type 'Id<\"users\">'."
            ),
        ),
        (None, 1) => (
            "eslint",
            format!(
                "Error: Failed to lint code:\n/tmp/convex-evals-{model}/project/convex/{name}.ts\n  {line}:1  error  Unexpected any. Specify a different type  @typescript-eslint/no-explicit-any"
            ),
        ),
        (None, _) => ("tests", "tests failed (50%)".to_owned()),
    }
}

/// Puts the deployment's runs and blobs in the stand-in; returns the distinct failure signatures
/// the data holds (a persistent failure is one per model and eval; a one-off is its own).
fn populate(convex: &FakeConvex) -> usize {
    for e in 0..EVALS {
        let path = eval_path(e);
        convex.add_blob(
            &format!("ks{e:030}"),
            zip_of(&[
                ("TASK.txt", &format!("Write the function of {path}.")),
                (&format!("answer/convex/f{e}.ts"), "export const f = (x: number) => x;\n"),
                ("grader.test.ts", "test('f', () => { expect(f(1)).toBe(1); });\n"),
            ]),
        );
    }
    let newest = now_ms() - 3_600_000.0;
    let mut distinct = BTreeSet::new();
    let mut runs = convex.state.runs.lock().expect("lock");
    let mut models = convex.state.models.lock().expect("lock");
    for m in 0..MODELS {
        let model_id = format!("mb{m:02}{}", "a".repeat(28));
        let slug = format!("bench/model-{m}");
        models.push((model_id.clone(), slug.clone()));
        let persistent: Vec<usize> = (0..PERSISTENT).map(|k| (m * 3 + k) % EVALS).collect();
        for n in 0..RUNS_PER_MODEL {
            let run_id = format!("b{m:02}{n:03}{}", "z".repeat(26));
            let created = newest - ((RUNS_PER_MODEL - n) * 4 * 3_600_000) as f64 + m as f64;
            let mut draw = Draw::new((m * 1_000 + n) as u64);
            let mut failing: Vec<(usize, Option<String>)> =
                draw.distinct(PERSISTENT_PER_RUN, PERSISTENT).into_iter().map(|k| (persistent[k], None)).collect();
            let others: Vec<usize> = (0..EVALS).filter(|e| !persistent.contains(e)).collect();
            for k in draw.distinct(ONE_OFF_PER_RUN, others.len()) {
                let ident = format!(
                    "{}{}{}",
                    VERBS[draw.below(VERBS.len())],
                    NOUNS[draw.below(NOUNS.len())],
                    QUALIFIERS[draw.below(QUALIFIERS.len())]
                );
                failing.push((others[k], Some(ident)));
            }
            let evals: Vec<Value> = (0..EVALS)
                .map(|e| {
                    let eval_id = format!("je{m:02}{n:03}{e:02}{}", "0".repeat(23));
                    let path = eval_path(e);
                    let (category, name) = path.split_once('/').expect("category/name");
                    let base = json!({
                        "_id": eval_id, "_creationTime": created + e as f64, "runId": run_id, "evalPath": path,
                        "category": category, "name": name, "task": "Write the function.",
                        "evalSourceStorageId": format!("ks{e:030}"),
                    });
                    let mut eval = base;
                    match failing.iter().find(|(f, _)| *f == e) {
                        Some((_, one_off)) => {
                            let line = 3 + draw.below(40);
                            let (step, error) = failure(m, e, one_off.as_deref(), line);
                            distinct.insert((m, e, one_off.clone()));
                            let out = format!("ko{m:02}{n:03}{e:02}{}", "0".repeat(23));
                            convex.add_blob(
                                &out,
                                zip_of(&[
                                    (&format!("convex/f{e}.ts"), "export const f = (x: any) => String(x);\n"),
                                    (
                                        "run.log",
                                        &format!("=== Eval: {path} ===\n[error] {step}: {error}\n× f returns its input\nExpected 1, received '1'\n"),
                                    ),
                                ]),
                            );
                            eval["status"] = json!({"kind": "failed", "failureReason": format!("{step} fail"), "durationMs": 1000, "outputStorageId": out});
                            eval["steps"] = json!([
                                {"_id": format!("js{m:02}{n:03}{e:02}a{}", "0".repeat(22)), "_creationTime": created, "evalId": eval_id, "name": "filesystem", "status": {"kind": "passed", "durationMs": 5}},
                                {"_id": format!("js{m:02}{n:03}{e:02}b{}", "0".repeat(22)), "_creationTime": created, "evalId": eval_id, "name": step, "status": {"kind": "failed", "failureReason": error, "durationMs": 10}},
                            ]);
                        }
                        None => {
                            eval["status"] = json!({"kind": "passed", "durationMs": 1000});
                            eval["steps"] = json!([]);
                        }
                    }
                    eval
                })
                .collect();
            let doc = json!({
                "_id": run_id, "_creationTime": created, "modelId": model_id, "model": slug,
                "formattedName": slug, "provider": "openrouter",
                "plannedEvals": (0..EVALS).map(eval_path).collect::<Vec<_>>(),
                "status": {"kind": "completed", "durationMs": 600_000}, "evals": evals,
            });
            runs.insert(run_id, doc);
        }
    }
    distinct.len()
}

/// The reports below `reports` (digests and state left out) and the distinct signatures their
/// verdicts carry.
fn reports_and_signatures(reports: &Path) -> (usize, usize) {
    let texts = report_texts(reports);
    let mut signatures = BTreeSet::new();
    for text in &texts {
        for (at, _) in text.match_indices("\"signature\":") {
            let rest = text[at + "\"signature\":".len()..].trim_start().trim_start_matches('"');
            signatures.insert(rest.chars().take_while(char::is_ascii_hexdigit).collect::<String>());
        }
    }
    (texts.len(), signatures.len())
}

/// Runs `backfill` with `extra` arguments into a fresh reports folder: (exit code, wall time,
/// peak KiB, its JSON, reports written, distinct signatures in them).
fn backfill(
    scratch: &Path,
    name: &str,
    convex: &FakeConvex,
    extra: &[&str],
) -> (i32, Duration, u64, Value, usize, usize) {
    let dir = scratch.join(name);
    std::fs::create_dir_all(&dir).expect("mkdir");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_evaltriage-e2e"));
    cmd.current_dir(&dir)
        .args(["backfill", "--convex-url", &convex.url(), "--reports-dir", "reports", "--since", "30d", "--json"])
        .args(["--llm-model", "bench-model"])
        .args(extra);
    for var in ["OPENAI_API_KEY", "OPENAI_BASE_URL", "CONVEX_URL", "EVALTRIAGE_REPORTS_DIR", "RUST_LOG"] {
        cmd.env_remove(var);
    }
    let (code, took, peak, out) = run_measured_with_stdout(cmd, &dir);
    let v: Value = serde_json::from_str(&out).unwrap_or(Value::Null);
    let (reports, signatures) = reports_and_signatures(&dir.join("reports"));
    (code, took, peak.unwrap_or(0), v, reports, signatures)
}

/// Of request bodies (or JSONL lines), those about one eval's verdict (the synthesis names no
/// eval) and the others.
fn verdicts_and_syntheses<'a>(requests: impl Iterator<Item = &'a str>) -> (usize, usize) {
    let (mut verdicts, mut syntheses) = (0, 0);
    for r in requests {
        if r.contains("Eval: ") {
            verdicts += 1;
        } else {
            syntheses += 1;
        }
    }
    (verdicts, syntheses)
}

/// The stand-in deployment's requests since `before`, by function.
fn convex_requests(convex: &FakeConvex, before: &[(String, usize)]) -> String {
    let now: Vec<(String, usize)> = {
        let by = convex.state.queries_by_path.lock().expect("lock");
        let mut v: Vec<(String, usize)> = by.iter().map(|(k, v)| (k.clone(), *v)).collect();
        v.sort();
        v
    };
    let parts: Vec<String> = now
        .iter()
        .map(|(k, n)| {
            let was = before.iter().find(|(b, _)| b == k).map_or(0, |(_, n)| *n);
            format!("{k} {}", n - was)
        })
        .filter(|p| !p.ends_with(" 0"))
        .collect();
    parts.join(", ")
}

fn snapshot(convex: &FakeConvex) -> (Vec<(String, usize)>, usize, usize) {
    let by = convex.state.queries_by_path.lock().expect("lock");
    (by.iter().map(|(k, v)| (k.clone(), *v)).collect(), convex.queries(), convex.downloads())
}

#[expect(clippy::print_stdout, reason = "a benchmark prints its figures")]
fn main() {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let scratch = tempfile::tempdir().expect("tempdir");
    let (convex, llm, api) =
        runtime.block_on(async { (FakeConvex::start().await, FakeLlm::start().await, FakeBatchApi::start().await) });
    llm.set_latency(LLM_LATENCY);
    let designed = populate(&convex);
    let runs = MODELS * RUNS_PER_MODEL;
    let failures = runs * (PERSISTENT_PER_RUN + ONE_OFF_PER_RUN);
    println!(
        "backfill of {runs} runs ({MODELS} models × {RUNS_PER_MODEL}, 4 h apart) × {} failures = {failures} failures; \
         {designed} distinct signatures in the data ({:.1}%)",
        PERSISTENT_PER_RUN + ONE_OFF_PER_RUN,
        designed as f64 * 100.0 / failures as f64
    );

    let engines: [(&str, Vec<&str>); 3] = [
        ("synchronous, 2 runs at once (default)", vec![]),
        ("synchronous, 4 runs at once", vec!["--concurrent-runs", "4"]),
        ("batch API (--batch --poll-secs 1)", vec!["--batch", "--poll-secs", "1"]),
    ];
    let llm_url = llm.base_url();
    let batch_url = api.base_url();
    // EVALTRIAGE_BENCH_ONLY=batch (or any part of an engine's name) runs only the engines it names.
    let only = std::env::var("EVALTRIAGE_BENCH_ONLY").unwrap_or_default();
    for (i, (name, extra)) in engines.iter().enumerate() {
        if !name.contains(only.as_str()) {
            continue;
        }
        let batch = extra.contains(&"--batch");
        let mut args: Vec<&str> = vec!["--llm-base-url", if batch { &batch_url } else { &llm_url }];
        args.extend(extra);
        let (before, queries, downloads) = snapshot(&convex);
        let (chat_before, tokens_before) = (llm.requests(), llm.state.tokens.load(Ordering::SeqCst));
        let bodies_before = llm.state.bodies.lock().expect("lock").len();
        let (code, took, peak, v, reports, signatures) = backfill(scratch.path(), &format!("e{i}"), &convex, &args);
        assert_eq!(reports, runs, "{name}: every run gets one report (exit {code}): {v}");
        let reused = v["reused"].as_u64().unwrap_or(0);
        let reached = v["reached_past_listing"].as_u64().unwrap_or(0);
        println!("\n{name}: exit {code}, wall {took:.1?}, peak RSS {:.1} MiB", peak as f64 / 1024.0);
        println!(
            "  Convex: {} requests ({}), {} blob downloads; {reached} runs found through the models' histories",
            convex.queries() - queries,
            convex_requests(&convex, &before),
            convex.downloads() - downloads
        );
        let (verdicts, syntheses) = if batch {
            println!(
                "  LLM: {} request lines in {} uploads and {} batches, {} chat calls; {} tokens",
                api.count(&api.state.requests),
                api.count(&api.state.uploads),
                api.count(&api.state.batches_created),
                api.count(&api.state.chat_calls),
                v["tokens_spent"]
            );
            let files = api.state.files.lock().expect("lock");
            let inputs = files.iter().filter(|(id, _)| id.starts_with("file-in")).map(|(_, bytes)| bytes);
            let lines: Vec<String> = inputs
                .flat_map(|b| String::from_utf8_lossy(b).lines().map(str::to_owned).collect::<Vec<_>>())
                .collect();
            verdicts_and_syntheses(lines.iter().map(String::as_str))
        } else {
            println!(
                "  LLM: {} chat requests (stand-in answering in {LLM_LATENCY:?}); {} tokens",
                llm.requests() - chat_before,
                llm.state.tokens.load(Ordering::SeqCst) - tokens_before
            );
            let bodies = llm.state.bodies.lock().expect("lock");
            verdicts_and_syntheses(bodies[bodies_before..].iter().map(String::as_str))
        };
        println!(
            "  {verdicts} verdict requests for {designed} distinct failures ({} more), {syntheses} syntheses for {runs} runs",
            verdicts.saturating_sub(designed)
        );
        println!(
            "  {signatures} distinct signatures in the reports; {reused} failures reused an earlier verdict (calls saved); {reports} reports written"
        );
    }
    drop(runtime);
}
