//! Peak memory of reading a hostile run document the way `runs show --store` does (issue 21,
//! item 11): a 700 MB document is refused without being read whole, and a document just under
//! the cap whose failure reasons are 4 MiB each costs about its own size while it is parsed, its
//! reasons cut to 1 MiB. Each case runs in a fresh child process (this test binary again, with
//! `HOSTILE_MEMORY_CASE` set), which reports its own peak resident memory (`VmHWM`), so the other
//! tests of this binary never inflate the figure. The target is under 512 MiB.

#![cfg(target_os = "linux")]
#![expect(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "the child reports its figures on stdout for the parent, which shows them"
)]

use std::path::Path;
use std::process::Command;

use evaltriage_core::source::{MAX_RUN_DOCUMENT_BYTES, Source, StoreSource};
use evaltriage_core::{EvalStatus, RunId, RunRef};

const CASE: &str = "HOSTILE_MEMORY_CASE";
const RUN: &str = "jn7ak4x9m2qw8hd5tz3vc6pe1r0bfs7g";
const TARGET_MIB: u64 = 512;

fn peak_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

/// In the child: reads the store's run and prints the outcome and the peak.
fn child(store: &Path) {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let outcome = runtime.block_on(async {
        let source = StoreSource::open(store).unwrap();
        source.run(&RunRef::run(RunId::new(RUN).unwrap())).await
    });
    let said = match outcome {
        Ok(run) => {
            let longest = run
                .evals
                .iter()
                .filter_map(|e| match &e.status {
                    EvalStatus::Failed { failure_reason, .. } => Some(failure_reason.len()),
                    _ => None,
                })
                .max()
                .unwrap_or(0);
            format!("ok evals={} longest_reason={longest}", run.evals.len())
        }
        Err(e) => format!("error {e}"),
    };
    println!("HOSTILE_RESULT {said}");
    println!("HOSTILE_PEAK_KIB {}", peak_kib());
}

/// Runs `case` in a child process: (what it said, its peak in MiB).
fn measure(case: &str, store: &Path) -> (String, u64) {
    let out = Command::new(std::env::current_exe().unwrap())
        .args([case, "--exact", "--nocapture", "--test-threads=1"])
        .env(CASE, store)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    // libtest may print the test's name on the same line first.
    let line = |tag: &str| stdout.lines().find_map(|l| l.split(tag).nth(1)).map(str::trim).map(str::to_owned);
    let said = line("HOSTILE_RESULT ").unwrap_or_else(|| panic!("no result from the child:\n{stdout}"));
    let peak: u64 = line("HOSTILE_PEAK_KIB ").unwrap().parse().unwrap();
    eprintln!("{case}: {said}; peak {} MiB", peak / 1024);
    (said, peak / 1024)
}

fn store_with(dir: &Path) -> std::path::PathBuf {
    let runs = dir.join("store").join("runs");
    std::fs::create_dir_all(&runs).unwrap();
    runs.join(format!("{RUN}.json"))
}

#[test]
fn a_700_mb_run_document_is_refused_in_bounded_memory() {
    if let Some(store) = std::env::var_os(CASE) {
        return child(Path::new(&store));
    }
    let dir = tempfile::tempdir().unwrap();
    let doc = store_with(dir.path());
    // Sparse: 700 MB on paper, nothing on disk. Read whole it would cost 700 MB.
    std::fs::File::create(&doc).unwrap().set_len(700 << 20).unwrap();
    let (said, peak_mib) = measure("a_700_mb_run_document_is_refused_in_bounded_memory", &dir.path().join("store"));
    assert!(said.starts_with("error") && said.contains("MiB"), "{said}");
    assert!(peak_mib < TARGET_MIB, "peak {peak_mib} MiB");
    assert!(peak_mib < (MAX_RUN_DOCUMENT_BYTES >> 20) + 64, "about the cap at most: {peak_mib} MiB");
}

#[test]
fn a_document_of_giant_failure_reasons_is_parsed_in_bounded_memory() {
    if let Some(store) = std::env::var_os(CASE) {
        return child(Path::new(&store));
    }
    let dir = tempfile::tempdir().unwrap();
    let doc = store_with(dir.path());
    // Seven failures whose eval and step reasons are 4 MiB each (escaped newlines, so the parser
    // must copy them): 56 MiB, just under the cap.
    let reason = "error TS2322: Type 'string' is not assignable to type 'number'.\\n".repeat((4 << 20) / 66);
    let evals: Vec<String> = (0..7)
        .map(|i| {
            format!(
                r#"{{"_id":"jh{i:0>30}","runId":"{RUN}","evalPath":"000-a/{i:03}-x","status":{{"kind":"failed","failureReason":"{reason}"}},"steps":[{{"_id":"s{i}","name":"tsc","status":{{"kind":"failed","failureReason":"{reason}"}}}}]}}"#
            )
        })
        .collect();
    let text = format!(r#"{{"_id":"{RUN}","model":"openai/gpt-5","evals":[{}]}}"#, evals.join(","));
    assert!(text.len() as u64 > 50 << 20 && (text.len() as u64) < MAX_RUN_DOCUMENT_BYTES, "{}", text.len());
    std::fs::write(&doc, &text).unwrap();
    drop(text);
    let (said, peak_mib) =
        measure("a_document_of_giant_failure_reasons_is_parsed_in_bounded_memory", &dir.path().join("store"));
    assert!(said.starts_with("ok evals=7"), "{said}");
    let longest: usize = said.rsplit('=').next().unwrap().parse().unwrap();
    assert!(longest < (1 << 20) + 200, "a reason is cut to 1 MiB on the way in: {longest}");
    assert!(peak_mib < TARGET_MIB, "peak {peak_mib} MiB");
}
