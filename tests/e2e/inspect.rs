//! Inspect AI logs end to end (issue 24): `analyze-run` on the `.eval` and the `.json` log of the
//! same task against the LLM stand-in — every failing sample gets a verdict, the errored one is
//! infrastructure and never sent, the first prompt holds the decisive strings — and `runs show`,
//! `evals list`, `evals show --file transcript` on a log, with a hostile transcript kept safe.

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
