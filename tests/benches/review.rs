//! Benchmark of the review commands over 10,000 reports, running the real binary: `reports list`,
//! `reports trend`, `reports export`, `findings`, one `analyze-run` (whose across-runs view reads
//! every report) and `site` (a first build, and a build over an unchanged
//! site) on a reports folder of 20 models × 500 runs, half
//! written by evaltriage (the example analysis, re-dated and re-numbered), half hand-written with
//! a varying set of failures. Prints wall times, CPU times (user + system: what a command costs
//! whatever else the shared machine is doing) and peak memory; asserts nothing about time.
//!
//! Run with `cargo bench -p evaltriage-tests --bench review`.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use evaltriage_tests::{EXAMPLE_RUN, Measured, example_store, measure};

const MODELS: usize = 20;
const RUNS_PER_MODEL: usize = 500;

/// Runs the CLI: exit code, wall time, peak resident memory, CPU time.
fn timed(cwd: &Path, args: &[&str]) -> Measured {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_evaltriage-e2e"));
    cmd.args(args).current_dir(cwd).env("RUST_LOG", "error").stdout(std::process::Stdio::null());
    measure(cmd)
}

/// A 32-character run id whose first 8 characters are unique to `n`.
fn run_id(n: usize) -> String {
    format!("jn{n:06}m2qw8hd5tz3vc6pe1r0bfs7g")
}

const CATEGORIES: [&str; 5] = ["000-fundamentals", "001-data_modeling", "002-queries", "003-mutations", "004-actions"];
const LABELS: [&str; 4] = ["MODEL_FAULT", "OVERLY_STRICT", "AMBIGUOUS_TASK", "KNOWN_GAP"];

/// A hand-written report: 10 failures out of 40 evals, the set shifting from run to run.
fn hand_written(model: &str, id: &str, date: &str, n: usize) -> String {
    let mut md = format!(
        "# Run Analysis Report: {model}\n\n## Run metadata\n\n- **Run ID**: `{id}`\n- **Date**: `{date}`\n- **Model**: `{model}`\n- **Experiment**: `default`\n- **Pass rate**: `{}/40`\n\n## Failure classification table\n\n| Eval | Failed step | Classification | Reason |\n| --- | --- | --- | --- |\n",
        30
    );
    let failing: Vec<usize> = (0..10).map(|k| (n * 7 + k * 3 + (n / 3) % 5) % 40).collect();
    for (k, e) in failing.iter().enumerate() {
        md.push_str(&format!(
            "| `{}/{e:03}-eval_{e}` | tests | {} | A reason, with `code` and *emphasis*. |\n",
            CATEGORIES[e % 5],
            LABELS[(k + n) % 4]
        ));
    }
    md.push_str("\n## Per-failure analysis\n\n");
    for (k, e) in failing.iter().enumerate() {
        md.push_str(&format!(
            "### {}) {}/{e:03}-eval_{e} — {}\n\n- **Failed step**: tests\n- **Reasoning**: The model did it its own way; the grader expected another. {}\n\n```ts\nexport const f = query({{ args: {{}}, handler: async () => null }});\n```\n\n",
            k + 1,
            CATEGORIES[e % 5],
            LABELS[(k + n) % 4],
            "More words about the failure. ".repeat(6)
        ));
    }
    md.push_str("## Actions taken\n\nNone\n");
    md
}

#[expect(clippy::print_stdout, reason = "a benchmark binary reports its figures on stdout")]
fn main() {
    // EVALTRIAGE_BENCH_DIR=<empty folder> keeps what the benchmark generates there, for profiling.
    let temp = tempfile::tempdir().expect("a temp folder");
    let root =
        std::env::var_os("EVALTRIAGE_BENCH_DIR").map_or_else(|| temp.path().to_owned(), std::path::PathBuf::from);
    let dir = root.as_path();
    let reports = dir.join("reports");
    let r = reports.to_str().expect("utf-8 path");
    let start = Instant::now();
    // One report of ours, from the example analysis, as the template for the rest.
    let seed = dir.join("seed");
    let store = example_store();
    let Measured { code, .. } = timed(
        dir,
        &["analyze-run", store.to_str().unwrap(), "--classifier", "rules", "--reports-dir", seed.to_str().unwrap()],
    );
    assert_eq!(code, 0, "the example analysis");
    let template_path = walk_one(&seed);
    let template = std::fs::read_to_string(&template_path).expect("the template report");
    let template_date = template_path.file_stem().unwrap().to_string_lossy()[9..19].to_owned();
    let base = chrono::NaiveDate::from_ymd_opt(2024, 1, 1).expect("a date");
    let mut bytes = 0usize;
    for m in 0..MODELS {
        let model = format!("provider-{m}/model-{m}.5");
        let folder = reports.join(format!("provider-{m}/model-{m}.5"));
        std::fs::create_dir_all(&folder).expect("a folder");
        for k in 0..RUNS_PER_MODEL {
            let n = m * RUNS_PER_MODEL + k;
            let id = run_id(n);
            let date = (base + chrono::Days::new(k as u64)).format("%Y-%m-%d").to_string();
            let text = if n.is_multiple_of(2) {
                template
                    .replace(EXAMPLE_RUN, &id)
                    .replace(&EXAMPLE_RUN[..8], &id[..8])
                    .replace(&template_date, &date)
                    .replace("anthropic/claude-sonnet-4.5", &model)
            } else {
                hand_written(&model, &id, &date, n)
            };
            bytes += text.len();
            std::fs::write(folder.join(format!("{}_{date}.md", &id[..8])), text).expect("write a report");
        }
    }
    println!(
        "generated {} reports ({:.1} MB; {MODELS} models × {RUNS_PER_MODEL} runs, half ours, half hand-written) in {:.2?}",
        MODELS * RUNS_PER_MODEL,
        bytes as f64 / 1e6,
        start.elapsed()
    );

    let site = dir.join("site");
    let site_arg = site.to_str().unwrap().to_owned();
    // (name, arguments, whether the site folder is removed before each run)
    let example = store.to_str().unwrap().to_owned();
    let commands: [(&str, Vec<&str>, bool); 8] = [
        ("reports list --json", vec!["reports", "list", "--json", "--reports-dir", r], false),
        ("reports trend --json", vec!["reports", "trend", "--json", "--reports-dir", r], false),
        ("reports trend --runs 500", vec!["reports", "trend", "--runs", "500", "--reports-dir", r], false),
        ("reports export --format csv", vec!["reports", "export", "--format", "csv", "--reports-dir", r], false),
        // Baselines, grader suspects and every finding's lifecycle over all 10,000 reports.
        ("findings --json", vec!["findings", "--json", "--reports-dir", r], false),
        // One analysis into that folder: its baseline, suspects and findings read every report.
        (
            "analyze-run (rules) into the folder",
            vec!["analyze-run", &example, "--classifier", "rules", "--force", "--reports-dir", r],
            false,
        ),
        ("site --out DIR (first build)", vec!["site", "--out", &site_arg, "--reports-dir", r], true),
        ("site --out DIR (again, nothing changed)", vec!["site", "--out", &site_arg, "--reports-dir", r], false),
    ];
    for (name, args, fresh) in commands {
        let mut times = Vec::new();
        let mut cpu = Vec::new();
        let mut peak = 0;
        for _ in 0..3 {
            if fresh {
                let _ = std::fs::remove_dir_all(&site);
            }
            let m = timed(dir, &args);
            assert_eq!(m.code, 0, "{name}");
            times.push(m.wall);
            cpu.push(m.cpu);
            peak = peak.max(m.peak_kb.unwrap_or(0));
        }
        times.sort();
        cpu.sort();
        println!(
            "{name:<42} median {:>8.2?} of 3 (CPU {:>8.2?}), peak {:.0} MB",
            times[1],
            cpu[1],
            peak as f64 / 1024.0
        );
    }
    let pages = count_files(&site);
    println!("the site has {pages} pages");
}

/// The one report under `dir` (hidden folders, such as the locks and the cache, left out).
fn walk_one(dir: &Path) -> std::path::PathBuf {
    find_report(dir).unwrap_or_else(|| panic!("no report under {}", dir.display()))
}

fn find_report(dir: &Path) -> Option<std::path::PathBuf> {
    for entry in std::fs::read_dir(dir).expect("read") {
        let p = entry.expect("entry").path();
        if p.file_name().is_some_and(|n| n.to_string_lossy().starts_with('.')) {
            continue;
        }
        if p.is_dir() {
            if let Some(found) = find_report(&p) {
                return Some(found);
            }
        } else if p.extension().is_some_and(|e| e == "md") {
            return Some(p);
        }
    }
    None
}

fn count_files(dir: &Path) -> usize {
    std::fs::read_dir(dir)
        .expect("read")
        .flatten()
        .map(|e| if e.path().is_dir() { count_files(&e.path()) } else { 1 })
        .sum()
}
