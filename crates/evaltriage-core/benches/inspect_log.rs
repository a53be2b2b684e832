//! Benchmark (issue 24): reading a large Inspect log — 500 samples whose events (which triage
//! never keeps) make up most of 200 MiB of JSON — as a zstd `.eval` and as a `.json` log: the time
//! to read the run and one failed sample's evidence, and the peak memory beside the log's size.
//! Prints figures; asserts nothing.
//!
//! Run with `cargo bench -p evaltriage-core --bench inspect_log`. Each figure comes from a fresh
//! child process (this bench run again with `INSPECT_LOG_SCENARIO` set) reporting its own peak
//! resident memory (`VmHWM`), so one scenario never inflates another's.

use std::io::Write;
use std::path::Path;
use std::time::Instant;

use evaltriage_core::source::{InspectSource, Source};
use serde_json::json;

const SCENARIO: &str = "INSPECT_LOG_SCENARIO";
const SAMPLES: usize = 500;
/// Bytes of events per sample.
const EVENTS_BYTES: usize = 400 << 10;

fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kib: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(f64::NAN);
    kib / 1024.0
}

fn spec() -> serde_json::Value {
    json!({"eval_id": "benchlog1", "run_id": "benchrun1", "created": "2026-12-01T10:00:00+00:00",
        "task": "bench", "model": "openai/gpt-bench", "dataset": {"sample_ids": (1..=SAMPLES).collect::<Vec<_>>()},
        "config": {"epochs": 1}, "scorers": [{"name": "match"}]})
}

/// One sample's JSON text: a short transcript, a score (NaN for a second scorer) and large events.
fn sample(i: usize) -> String {
    let event = r#"{"event": "model", "timestamp": "2026-12-01T10:00:00+00:00", "input": "lorem ipsum dolor sit amet consectetur", "output": {"choices": []}}"#;
    let events = vec![event; EVENTS_BYTES / event.len()].join(",");
    let value = if i.is_multiple_of(4) { "I" } else { "C" };
    let head = json!({
        "id": i, "epoch": 1, "input": format!("question {i}"), "target": "42",
        "messages": [{"role": "user", "content": format!("question {i}")},
            {"role": "assistant", "content": "the answer is 41"}],
        "output": {"completion": "the answer is 41"},
        "model_usage": {"openai/gpt-bench": {"input_tokens": 100, "output_tokens": 20}},
    })
    .to_string();
    let scores = format!(
        r#""scores": {{"match": {{"value": "{value}", "explanation": "41 is not 42"}}, "ratio": {{"value": NaN}}}}"#
    );
    format!("{}, {scores}, \"events\": [{events}]}}", &head[..head.len() - 1])
}

fn write_logs(dir: &Path) -> (u64, u64) {
    let eval = dir.join("big.eval");
    let mut zip = zip::ZipWriter::new(std::fs::File::create(&eval).unwrap());
    let options =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Zstd).large_file(true);
    let mut json = std::io::BufWriter::new(std::fs::File::create(dir.join("big.json")).unwrap());
    let header = json!({"version": 2, "status": "success", "eval": spec(),
        "results": {"total_samples": SAMPLES, "completed_samples": SAMPLES, "scores": [{"scorer": "match"}]}});
    let header_text = header.to_string();
    write!(json, "{}, \"samples\": [", &header_text[..header_text.len() - 1]).unwrap();
    let mut raw = 0;
    for i in 1..=SAMPLES {
        let text = sample(i);
        raw += text.len() as u64;
        zip.start_file(format!("samples/{i}_epoch_1.json"), options).unwrap();
        zip.write_all(text.as_bytes()).unwrap();
        if i > 1 {
            json.write_all(b",").unwrap();
        }
        json.write_all(text.as_bytes()).unwrap();
    }
    json.write_all(b"]}").unwrap();
    zip.start_file("header.json", options).unwrap();
    zip.write_all(header_text.as_bytes()).unwrap();
    zip.finish().unwrap();
    (raw, std::fs::metadata(&eval).unwrap().len())
}

#[expect(clippy::print_stdout, reason = "a benchmark prints its figures")]
fn child(scenario: &str, path: &str) {
    let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let started = Instant::now();
    let details = match scenario {
        "baseline" => String::new(),
        _ => runtime.block_on(async {
            let (source, run_ref) = InspectSource::open(Path::new(path)).unwrap();
            let run = source.run(&run_ref).await.unwrap();
            let read = started.elapsed();
            let failed = run.failed_evals()[0].id.clone();
            let at = Instant::now();
            let evidence = source.evidence(&run, &failed).await.unwrap();
            format!(
                "run read in {:.2} s ({} evals, {} failed); one evidence in {:.3} s ({} messages)",
                read.as_secs_f64(),
                run.evals.len(),
                run.failed_evals().len(),
                at.elapsed().as_secs_f64(),
                evidence.sample.map_or(0, |s| s.messages.len())
            )
        }),
    };
    println!("peak_mib={:.1} {details}", peak_rss_mib());
}

fn in_child(scenario: &str, arg: &str) -> String {
    let exe = std::env::current_exe().unwrap();
    let out = std::process::Command::new(exe).env(SCENARIO, scenario).arg(arg).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines().rfind(|l| l.starts_with("peak_mib=")).unwrap_or("no figure").to_owned()
}

#[expect(clippy::print_stdout, reason = "a benchmark prints its figures")]
fn main() {
    if let Ok(scenario) = std::env::var(SCENARIO) {
        let path = std::env::args().skip(1).find(|a| !a.starts_with('-')).unwrap_or_default();
        child(&scenario, &path);
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (raw, packed) = write_logs(dir.path());
    let mib = |b: u64| b as f64 / f64::from(1 << 20);
    println!(
        "Inspect log: {SAMPLES} samples, {:.0} MiB of sample JSON (events {:.0} KiB each)",
        mib(raw),
        EVENTS_BYTES / 1024
    );
    println!("baseline process:            {}", in_child("baseline", ""));
    let eval = dir.path().join("big.eval");
    println!(".eval (zstd, {:.1} MiB):      {}", mib(packed), in_child("read", eval.to_str().unwrap()));
    let json = dir.path().join("big.json");
    println!(".json ({:.0} MiB, bare NaN):  {}", mib(raw), in_child("read", json.to_str().unwrap()));
}
