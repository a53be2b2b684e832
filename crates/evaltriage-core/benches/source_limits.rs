//! Benchmark (issue 9): peak memory of fetching a 300 MB blob and of reading a 20,000-eval run
//! document, and the time a dead server (accepts, never answers) takes to fail. Prints figures;
//! asserts nothing.
//!
//! Run with `cargo bench -p evaltriage-core --bench source_limits`. Each memory figure comes from a
//! fresh child process (this bench run again with `SOURCE_LIMITS_SCENARIO` set), which reports its
//! own peak resident memory (`VmHWM` from `/proc/self/status`), so one scenario never inflates
//! another's figure. The dead-server case waits for the default deadlines (about a minute).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::time::Instant;

use evaltriage_core::source::{
    ConvexConfig, ConvexSource, Source, StoreSource, parse_run_document, parse_run_document_bytes,
};
use evaltriage_core::{EvalId, RunId, RunRef, Shape};
use serde_json::{Value, json};

const SCENARIO: &str = "SOURCE_LIMITS_SCENARIO";
const BLOB_MB: u64 = 300;
const EVALS: usize = 20_000;
const RUN: &str = "jn7ak4x9m2qw8hd5tz3vc6pe1r0bfs7g";
const EVAL: &str = "jh7aaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const BLOB: &str = "kg2bigblobaaaaaaaaaaaaaaaaaaaaaa";

/// This process's peak resident memory, in MiB.
fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kib: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(f64::NAN);
    kib / 1024.0
}

fn id(prefix: &str, n: usize) -> String {
    format!("{prefix}{n:0>30}").chars().take(32).collect()
}

/// A run of `evals` evals shaped like a real one: six steps each, one in five failing.
fn run_document(evals: usize) -> Value {
    let evals: Vec<Value> = (0..evals)
        .map(|i| {
            let failing = i % 5 == 0;
            let steps: Vec<Value> = ["filesystem", "install", "deploy", "tsc", "eslint", "tests"]
                .iter()
                .enumerate()
                .map(|(k, name)| {
                    let status = if failing && *name == "tsc" {
                        json!({"kind": "failed", "durationMs": 1234.5, "failureReason":
                            format!("Error: Failed to typecheck code:\nconvex/x{i}.ts(3,7): error TS2322: Type 'string | undefined' is not assignable to type 'string'.")})
                    } else if failing && k > 3 {
                        json!({"kind": "skipped"})
                    } else {
                        json!({"kind": "passed", "durationMs": 1234.5})
                    };
                    json!({"_id": id("js", i * 10 + k), "_creationTime": 1.76e12 + (i * 10 + k) as f64, "name": name, "status": status})
                })
                .collect();
            let status = if failing {
                json!({"kind": "failed", "failureReason": "tsc failed", "durationMs": 40000, "outputStorageId": id("ko", i)})
            } else {
                json!({"kind": "passed", "durationMs": 40000})
            };
            json!({
                "_id": id("je", i), "_creationTime": 1.76e12 + i as f64,
                "evalPath": format!("{:03}-category/{:03}-eval_{i}", i / 20, i % 20),
                "task": "Write a Convex backend with a schema and two functions.",
                "evalSourceStorageId": id("ks", i), "status": status, "steps": steps,
            })
        })
        .collect();
    json!({"_id": RUN, "_creationTime": 1.76e12, "model": "anthropic/claude-opus-4.6",
           "status": {"kind": "completed", "durationMs": 1.2e6}, "evals": evals})
}

/// A one-eval run whose output zip is `BLOB`.
fn blob_run() -> Value {
    json!({"_id": RUN, "model": "m", "evals": [{"_id": EVAL, "evalPath": "a/b",
        "status": {"kind": "failed", "failureReason": "x", "outputStorageId": BLOB}, "steps": []}]})
}

/// A stored (uncompressed) zip: a `BLOB_MB` MB binary file and a small run.log.
fn write_big_zip(path: &Path) {
    let file = std::fs::File::create(path).expect("zip file");
    let mut w = zip::ZipWriter::new(std::io::BufWriter::new(file));
    let stored =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored).large_file(true);
    w.start_file("run.log", stored).expect("entry");
    w.write_all(b"FAIL grader.test.ts\n").expect("write");
    w.start_file("data.bin", stored).expect("entry");
    let chunk = vec![0x5au8; 1 << 20];
    for _ in 0..BLOB_MB {
        w.write_all(&chunk).expect("write");
    }
    w.finish().expect("finish");
}

/// Serves the Convex query API (a run — `run_doc`'s JSON when given, else a one-eval run — and a
/// download URL) and the blob, streamed from disk.
fn serve(listener: TcpListener, blob: PathBuf, run_doc: Option<PathBuf>) {
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    for stream in listener.incoming() {
        let Ok(stream) = stream else { continue };
        let (base, blob, run_doc) = (base.clone(), blob.clone(), run_doc.clone());
        std::thread::spawn(move || {
            let _ = answer(stream, &base, &blob, run_doc.as_deref());
        });
    }
}

fn answer(stream: TcpStream, base: &str, blob: &Path, run_doc: Option<&Path>) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    let mut length = 0usize;
    loop {
        let mut line = String::new();
        reader.read_line(&mut line)?;
        if line.trim().is_empty() {
            break;
        }
        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
            length = v.trim().parse().unwrap_or(0);
        }
    }
    let mut body = vec![0u8; length];
    reader.read_exact(&mut body)?;
    let mut out = stream;
    if request_line.starts_with("GET") {
        let mut file = std::fs::File::open(blob)?;
        let len = file.metadata()?.len();
        write!(
            out,
            "HTTP/1.1 200 OK\r\ncontent-type: application/zip\r\ncontent-length: {len}\r\nconnection: close\r\n\r\n"
        )?;
        std::io::copy(&mut file, &mut out)?;
        return Ok(());
    }
    let request: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    if let (Some("runs:getRunDetails"), Some(doc)) = (request["path"].as_str(), run_doc) {
        let doc = std::fs::read(doc)?;
        let (head, tail) = (br#"{"status":"success","value":"#, b"}");
        let len = head.len() + doc.len() + tail.len();
        write!(
            out,
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {len}\r\nconnection: close\r\n\r\n"
        )?;
        out.write_all(head)?;
        out.write_all(&doc)?;
        return out.write_all(tail);
    }
    let value = match request["path"].as_str() {
        Some("runs:getRunDetails") => blob_run(),
        Some("runs:getOutputUrl") => json!(format!("{base}/blob/{BLOB}")),
        _ => Value::Null,
    };
    let answer = json!({"status": "success", "value": value}).to_string();
    write!(
        out,
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{answer}",
        answer.len()
    )
}

/// Child mode: runs one scenario and prints `peak_mib=<n> <details>`.
#[expect(clippy::print_stdout, reason = "a benchmark prints its figures")]
fn child(scenario: &str) {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    let arg = std::env::var("SOURCE_LIMITS_ARG").unwrap_or_default();
    let details = match scenario {
        "baseline" => String::new(),
        "blob" | "blob-default-cap" => {
            let mut config = ConvexConfig::new(&arg);
            if scenario == "blob" {
                config.max_blob_bytes = 512 << 20;
            }
            let source = ConvexSource::new(config).expect("source");
            let evidence = runtime.block_on(async {
                let run = source.run(&RunRef::run(RunId::new(RUN).expect("id"))).await.expect("run");
                source.evidence(&run, &EvalId::new(EVAL).expect("id")).await.expect("evidence")
            });
            format!(
                "files={} problems={:?}",
                evidence.output_files.len(),
                evidence.problems.iter().map(ToString::to_string).collect::<Vec<_>>()
            )
        }
        "rundoc-convex" => {
            let source = ConvexSource::new(ConvexConfig::new(&arg)).expect("source");
            let run = runtime.block_on(source.run(&RunRef::run(RunId::new(RUN).expect("id")))).expect("run");
            format!("evals={}", run.evals.len())
        }
        "rundoc-store" => {
            let store = StoreSource::open(Path::new(&arg)).expect("store");
            let run = runtime.block_on(store.run(&RunRef::run(RunId::new(RUN).expect("id")))).expect("run");
            let shape = Shape::of(&run);
            format!("evals={} failed={}", run.evals.len(), shape.failed)
        }
        "rundoc-value-tree" => {
            // The old path, for comparison: bytes, then a serde_json::Value tree, then the run.
            let bytes = std::fs::read(Path::new(&arg).join("runs").join(format!("{RUN}.json"))).expect("read");
            let value: Value = serde_json::from_slice(&bytes).expect("json");
            let run = parse_run_document(&value).expect("run");
            format!("evals={}", run.evals.len())
        }
        "rundoc-bytes" => {
            let bytes = std::fs::read(Path::new(&arg).join("runs").join(format!("{RUN}.json"))).expect("read");
            let run = parse_run_document_bytes(&bytes).expect("run");
            format!("evals={}", run.evals.len())
        }
        other => panic!("unknown scenario {other}"),
    };
    println!("peak_mib={:.1} {details}", peak_rss_mib());
}

/// Runs a scenario in a child process and returns what it printed.
fn in_child(scenario: &str, arg: &str) -> String {
    let output = std::process::Command::new(std::env::current_exe().expect("exe"))
        .env(SCENARIO, scenario)
        .env("SOURCE_LIMITS_ARG", arg)
        .output()
        .expect("child");
    let text = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    if output.status.success() { text } else { format!("FAILED: {text} {}", String::from_utf8_lossy(&output.stderr)) }
}

#[expect(clippy::print_stdout, reason = "a benchmark prints its figures")]
fn main() {
    if let Ok(scenario) = std::env::var(SCENARIO) {
        return child(&scenario);
    }
    let scratch = tempfile::tempdir().expect("tempdir");
    println!("baseline process:                {}", in_child("baseline", ""));

    // (a) A 300 MB blob from a local server.
    let zip = scratch.path().join("big.zip");
    write_big_zip(&zip);
    let zip_mib = std::fs::metadata(&zip).map(|m| m.len()).unwrap_or(0) as f64 / f64::from(1 << 20);
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let zip_for_runs = zip.clone();
    std::thread::spawn(move || serve(listener, zip, None));
    println!("blob of {zip_mib:.0} MiB, cap raised to 512 MiB: {}", in_child("blob", &url));
    println!("blob of {zip_mib:.0} MiB, default 64 MiB cap: {}", in_child("blob-default-cap", &url));

    // (b) A 20,000-eval run document, read from a store as `runs show` does.
    let store = scratch.path().join("store");
    std::fs::create_dir_all(store.join("runs")).expect("store");
    let doc = serde_json::to_vec(&run_document(EVALS)).expect("json");
    let doc_mib = doc.len() as f64 / f64::from(1 << 20);
    std::fs::write(store.join("runs").join(format!("{RUN}.json")), &doc).expect("write");
    drop(doc);
    let arg = store.to_string_lossy();
    println!("run document: {EVALS} evals, {doc_mib:.1} MiB of JSON");
    println!("  store read + shape (runs show): {}", in_child("rundoc-store", &arg));
    println!("  parse from bytes:               {}", in_child("rundoc-bytes", &arg));
    println!("  via a serde_json::Value tree:   {}", in_child("rundoc-value-tree", &arg));
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let runs_url = format!("http://{}", listener.local_addr().expect("addr"));
    let doc_file = store.join("runs").join(format!("{RUN}.json"));
    std::thread::spawn(move || serve(listener, zip_for_runs, Some(doc_file)));
    println!("  from a Convex deployment:       {}", in_child("rundoc-convex", &runs_url));

    // (c) A dead server: accepts connections and never answers. Default deadlines.
    let dead = TcpListener::bind("127.0.0.1:0").expect("bind");
    let dead_url = format!("http://{}", dead.local_addr().expect("addr"));
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in dead.incoming() {
            held.push(stream);
        }
    });
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    let source = ConvexSource::new(ConvexConfig::new(&dead_url)).expect("source");
    let start = Instant::now();
    let result = runtime.block_on(source.query("runs:getRunDetails", json!({"runId": RUN})));
    let took = start.elapsed();
    let outcome = match result {
        Ok(_) => "answered?".to_owned(),
        Err(e) => e.to_string(),
    };
    println!("dead server, default config: failed after {:.1} s: {outcome}", took.as_secs_f64());
}
