//! Inspect AI logs end to end (issue 24): `analyze-run` on the `.eval` and the `.json` log of the
//! same task against the LLM stand-in — every failing sample gets a verdict, the errored one is
//! infrastructure and never sent, the first prompt holds the decisive strings — and `runs show`,
//! `evals list`, `evals show --file transcript` on a log, with a hostile transcript kept safe;
//! and `nightly --logs` and `runs list --logs` over a folder of logs.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use evaltriage_tests::{FakeLlm, package_dir};
use serde_json::Value;

use crate::common::{cli, json, run, run_with};

fn log(name: &str) -> PathBuf {
    package_dir().join("fixtures/inspect").join(name)
}

/// Per failing sample, what a careful engineer needs to see in its first prompt.
const DECISIVE: &[(&str, &[&str])] = &[
    (
        "capitals/geo/fr",
        &[
            "What is the capital of France?",
            "Paris",
            "I believe the capital of France is Lyon.",
            "expected the capital 'Paris'; the final answer names 'Lyon' instead",
            "an Inspect AI evaluation",
        ],
    ),
    (
        "capitals/3",
        &[
            "Use the atlas: what is the capital of Australia?",
            "Canberra",
            "lookup({\"city\":\"Canberra\"})",
            "atlas service returned HTTP 503 for Canberra",
            "The atlas failed, so from memory: the capital is Sydney.",
            "expected the capital 'Canberra'; the final answer names 'Sydney' instead",
        ],
    ),
    (
        "capitals/5",
        &[
            "Use the atlas until you are sure: what is the capital of Peru?",
            "message limit of 6 reached",
            "Message limit exceeded. count: 7; limit: 6",
            "lookup({\"city\":\"Lima\"})",
            "Lima",
        ],
    ),
    (
        "capitals/7",
        &[
            "Name the capital (not the largest city) of Australia.",
            "Sydney is the answer.",
            "named the country's largest city (Sydney) but not its capital; half marks by the rubric",
            "capital_match",
        ],
    ),
];

/// The user message of the first request about each eval.
fn first_prompts(llm: &FakeLlm) -> Vec<(String, String)> {
    let mut prompts: Vec<(String, String)> = Vec::new();
    for body in llm.state.bodies.lock().unwrap().iter() {
        let body: Value = serde_json::from_str(body).unwrap();
        let user: String = body["messages"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m["role"] == "user")
            .filter_map(|m| m["content"].as_str())
            .collect();
        if let Some(eval) = user.lines().find_map(|l| l.strip_prefix("Eval: ")) {
            if !prompts.iter().any(|(e, _)| e == eval.trim()) {
                prompts.push((eval.trim().to_owned(), user.clone()));
            }
        }
    }
    prompts
}

async fn analyze(log_file: &Path) {
    let llm = FakeLlm::start().await;
    let dir = tempfile::tempdir().unwrap();
    let reports = dir.path().join("reports");
    let args = [
        "analyze-run",
        log_file.to_str().unwrap(),
        "--llm-base-url",
        &llm.base_url(),
        "--llm-model",
        "test-model",
        "--reports-dir",
        reports.to_str().unwrap(),
        "--json",
    ];
    let mut cmd = cli(dir.path());
    cmd.env("OPENAI_API_KEY", "sk-test-inspect");
    let (code, out, err) = run_with(cmd, &args);
    assert_eq!(code, 0, "{}: {err}", log_file.display());
    let v = json(&out);
    let report = PathBuf::from(v["report_path"].as_str().unwrap());
    assert!(report.starts_with(reports.join("mockllm/model")), "{}", report.display());
    let mut verdicts: Vec<(String, String)> = v["verdicts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| (v["eval_path"].as_str().unwrap().to_owned(), v["status"].as_str().unwrap_or("").to_owned()))
        .collect();
    verdicts.sort();
    let paths: Vec<&str> = verdicts.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(paths, ["capitals/3", "capitals/4", "capitals/5", "capitals/7", "capitals/geo/fr"], "{v}");

    let prompts = first_prompts(&llm);
    let sent: Vec<&str> = prompts.iter().map(|(e, _)| e.as_str()).collect();
    assert!(!sent.contains(&"capitals/4"), "an errored sample is never sent: {sent:?}");
    assert!(!sent.contains(&"capitals/1") && !sent.contains(&"capitals/6"), "a passing sample is never sent");
    let (mut found, mut total) = (0, 0);
    let mut missing = Vec::new();
    for (eval, strings) in DECISIVE {
        let prompt = &prompts.iter().find(|(e, _)| e == eval).unwrap_or_else(|| panic!("{eval} not sent")).1;
        for s in *strings {
            total += 1;
            if prompt.contains(s) {
                found += 1;
            } else {
                missing.push(format!("{eval}: {s}"));
            }
        }
    }
    let recall = found as f64 / total as f64;
    let _ = writeln!(
        std::io::stderr(),
        "{}: decisive strings in the first prompt: {found}/{total} ({:.0}%)",
        log_file.display(),
        recall * 100.0
    );
    assert!(recall >= 0.95, "missing from the first prompts: {missing:#?}");
    let text = std::fs::read_to_string(&report).unwrap();
    assert!(text.contains("/srv/atlas/reference_4.csv"), "the infrastructure section names the missing file");
}

#[tokio::test]
async fn analyze_run_on_the_eval_log() {
    analyze(&log("capitals.eval")).await;
}

#[tokio::test]
async fn analyze_run_on_the_json_log_with_nan() {
    analyze(&log("capitals.json")).await;
}

#[test]
fn runs_show_gives_the_pass_rate_of_all_samples_and_of_the_scored_ones() {
    let dir = tempfile::tempdir().unwrap();
    let (code, out, err) = run(dir.path(), &["runs", "show", log("capitals.eval").to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("2 passed (28.6%)") && out.contains("2/6 passed (33.3%)"), "{out}");
    let (_, out, _) = run(dir.path(), &["runs", "show", log("capitals.eval").to_str().unwrap(), "--json"]);
    let v = json(&out);
    assert_eq!((v["total"].as_u64(), v["passed"].as_u64(), v["infrastructure"].as_u64()), (Some(7), Some(2), Some(1)));
    let (code, out, _) = run(dir.path(), &["runs", "show", log("killed.eval").to_str().unwrap()]);
    assert_eq!(code, 0);
    assert!(out.contains("incomplete log"), "{out}");
}

#[test]
fn evals_list_and_show_read_a_log() {
    let dir = tempfile::tempdir().unwrap();
    let target = log("epochs.eval");
    let (code, out, err) = run(dir.path(), &["evals", "list", target.to_str().unwrap(), "--status", "failed"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("arithmetic/2/epoch_2") && !out.contains("arithmetic/2/epoch_1"), "{out}");
    // Samples have no steps: no STEP column, no steps section, no "step none".
    assert!(out.starts_with("SAMPLE ID ") && !out.contains(" STEP "), "{out}");
    let (code, out, err) = run(dir.path(), &["evals", "show", log("capitals.eval").to_str().unwrap(), "capitals/3"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("failure (verification)\n"), "{out}");
    assert!(!out.contains("steps") && !out.contains("first step") && !out.contains("step none"), "{out}");
    let (code, out, err) = run(
        dir.path(),
        &["evals", "show", log("capitals.eval").to_str().unwrap(), "capitals/3", "--file", "transcript"],
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("!! tool error: unknown: atlas service returned HTTP 503 for Canberra"), "{out}");
}

#[test]
fn a_hostile_transcript_prints_without_escape_sequences_and_a_broken_log_is_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let hostile = dir.path().join("hostile.json");
    let log = serde_json::json!({
        "version": 2,
        "status": "success",
        "eval": {"eval_id": "hostile1", "run_id": "r", "created": "2026-01-01T00:00:00+00:00", "task": "t", "model": "p/m"},
        "samples": [{
            "id": "a", "epoch": 1, "input": "q", "target": "x",
            "messages": [{"role": "assistant", "content": "\u{1b}]0;pwned\u{7}\u{1b}[2Jcleared \u{1b}[31mred"}],
            "scores": {"s": {"value": "I", "explanation": "\u{1b}[1mbold"}}
        }]
    });
    std::fs::write(&hostile, log.to_string()).unwrap();
    let (code, out, err) =
        run(dir.path(), &["evals", "show", hostile.to_str().unwrap(), "t/a", "--file", "transcript"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("cleared") && out.contains("red"), "{out}");
    assert!(!out.contains('\u{1b}') && !out.contains('\u{7}'), "{out:?}");

    let broken = dir.path().join("broken.eval");
    std::fs::write(&broken, b"PK\x03\x04 not really").unwrap();
    let (code, out, err) = run(dir.path(), &["runs", "show", broken.to_str().unwrap()]);
    assert_eq!(code, 2, "{out}{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("broken.eval") && err.contains("not a readable .eval log"), "{err}");
}

/// A folder of logs as the nightly finds it: two finished runs, the `.json` log of a third and
/// the journal its killed attempt left (the same run id), and a file that is no log.
fn logs_folder(dir: &Path) -> PathBuf {
    let logs = dir.join("logs");
    std::fs::create_dir_all(&logs).unwrap();
    for name in ["capitals.eval", "epochs.eval", "capitals.json", "killed.eval"] {
        std::fs::copy(log(name), logs.join(name)).unwrap();
    }
    std::fs::write(logs.join("notes.txt"), "not a log").unwrap();
    logs
}

#[test]
fn a_nightly_over_a_folder_of_logs_analyzes_each_finished_log_once() {
    let dir = tempfile::tempdir().unwrap();
    let logs = logs_folder(dir.path());
    let (l, r) = (logs.to_str().unwrap(), dir.path().join("reports"));
    let r = r.to_str().unwrap();

    let (code, out, err) = run(dir.path(), &["runs", "list", "--logs", l, "--json"]);
    assert_eq!(code, 0, "{err}");
    let listed = json(&out);
    let runs = listed["runs"].as_array().unwrap();
    let statuses: Vec<(&str, &str)> =
        runs.iter().map(|r| (r["experiment"].as_str().unwrap(), r["status"].as_str().unwrap())).collect();
    assert_eq!(runs.len(), 4, "one run per log: {listed:#}");
    assert!(statuses.contains(&("inspect:arithmetic", "completed")), "{statuses:?}");
    assert!(statuses.contains(&("inspect:capitals", "incomplete")), "{statuses:?}");
    // A log's header counts its samples, not their outcomes: never "0 passed".
    let arithmetic = runs.iter().find(|r| r["experiment"] == "inspect:arithmetic").unwrap();
    assert_eq!(arithmetic["evals"]["total"], 4, "{arithmetic:#}");
    assert!(arithmetic["evals"]["passed"].is_null(), "{arithmetic:#}");
    let (_, text, _) = run(dir.path(), &["runs", "list", "--logs", l]);
    assert!(text.contains("4 samples") && !text.contains("0/4 passed"), "{text}");

    let night = |dir: &Path| {
        let (code, out, err) =
            run(dir, &["nightly", "--logs", l, "--classifier", "rules", "--reports-dir", r, "--json"]);
        assert_eq!(code, 0, "{err}");
        json(&out)
    };
    let first = night(dir.path());
    let outcomes = |n: &Value| -> Vec<String> {
        let mut o: Vec<String> =
            n["runs"].as_array().unwrap().iter().map(|r| r["outcome"].as_str().unwrap().to_owned()).collect();
        o.sort();
        o
    };
    assert_eq!(outcomes(&first), ["analyzed", "analyzed", "analyzed", "left"], "{first:#}");
    let left = first["runs"].as_array().unwrap().iter().find(|r| r["outcome"] == "left").unwrap();
    assert_eq!(left["why"], "still incomplete");
    assert!(first["source"].as_str().unwrap().starts_with("Inspect logs in "), "{first:#}");
    for run in first["runs"].as_array().unwrap().iter().filter(|r| r["outcome"] == "analyzed") {
        let report = run["report"].as_str().unwrap();
        assert!(report.contains("/mockllm/model/") && Path::new(report).is_file(), "{report}");
    }
    // The killed attempt's run was analyzed from its finished `.json` log: every sample ran.
    let json_run = first["runs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["outcome"] == "analyzed" && r["run_id"] == left["run_id"])
        .expect("the killed attempt's run, from its finished log");
    assert_eq!(json_run["total"], 7, "{json_run:#}");
    let digest = std::fs::read_to_string(first["digest_path"].as_str().unwrap()).unwrap();
    assert!(digest.contains("### Analyzed") && digest.contains("inspect:arithmetic"), "{digest}");

    // Every log once: the next night finds their reports.
    let second = night(dir.path());
    assert_eq!(outcomes(&second), ["already_reported", "already_reported", "already_reported", "left"]);

    // A log that cannot be read is named, and the others are still listed; exit 1.
    std::fs::write(logs.join("broken.eval"), "not a zip").unwrap();
    let (code, out, err) = run(dir.path(), &["runs", "list", "--logs", l]);
    assert_eq!(code, 1, "{err}");
    assert!(out.contains("4 runs from 1 model") && out.contains("broken.eval"), "{out}");
    let (code, out, err) = run(dir.path(), &["nightly", "--logs", l, "--reports-dir", r, "--json"]);
    assert_eq!(code, 1, "{err}");
    let notes = json(&out)["notes"].to_string();
    assert!(notes.contains("broken.eval"), "{notes}");

    // Usage errors: --logs is the source, with no store beside it; a folder that is not there.
    let (code, _, _) = run(dir.path(), &["nightly", "--logs", l, "--store", l]);
    assert_eq!(code, 2);
    let missing = dir.path().join("missing");
    let (code, _, err) = run(dir.path(), &["runs", "list", "--logs", missing.to_str().unwrap()]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("no folder of Inspect logs"), "{err}");
}
