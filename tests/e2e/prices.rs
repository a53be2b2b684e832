//! Cost in money end to end: a `[prices."<model>"]` table in `evaltriage.toml` turns the tokens an
//! LLM stand-in reports into the same dollar figure in the terminal, the report and `--json`;
//! without a price the figures stay in tokens and say so; `--estimate` shows the synchronous and
//! the Batch API cost side by side.

use std::path::Path;

use evaltriage_tests::{FakeLlm, example_store};

use crate::common::{cli, json, run_with};

/// The stand-in answers every call with 1,200 prompt and 150 completion tokens: the example run's
/// five verification failures and the synthesis are six calls.
const PROMPT_TOKENS: u64 = 6 * 1_200;
const COMPLETION_TOKENS: u64 = 6 * 150;

/// $2 a million prompt tokens, $8 a million completion tokens, the default half off in batch.
const PRICES: &str = "[prices.\"test-model\"]\ninput_per_million = 2.0\noutput_per_million = 8.0\n";

fn sync_usd(prompt: u64, completion: u64) -> f64 {
    (prompt as f64 * 2.0 + completion as f64 * 8.0) / 1e6
}

/// `analyze-run` of the example store with the LLM stand-in, into `reports`, with the config file
/// of `cwd` (if any); returns (exit code, stdout, stderr).
fn analyze(cwd: &Path, llm: &FakeLlm, reports: &str, extra: &[&str]) -> (i32, String, String) {
    let store = example_store();
    let url = llm.base_url();
    let mut args = vec!["analyze-run", store.to_str().unwrap(), "--llm-base-url", &url, "--llm-model", "test-model"];
    args.extend_from_slice(&["--reports-dir", reports]);
    args.extend_from_slice(extra);
    run_with(cli(cwd), &args)
}

/// The report the summary names (relative to the folder the CLI ran in).
fn report_of(cwd: &Path, summary: &str) -> String {
    let path = summary.lines().find_map(|l| l.strip_prefix("report: ")).expect("the summary names the report");
    std::fs::read_to_string(cwd.join(path.trim())).unwrap()
}

fn line_with<'a>(text: &'a str, start: &str) -> &'a str {
    text.lines().find(|l| l.trim_start().starts_with(start)).unwrap_or_else(|| panic!("no {start:?} line in:\n{text}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_price_shows_the_same_dollars_in_the_terminal_the_report_and_the_json() {
    let llm = FakeLlm::start().await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("evaltriage.toml"), PRICES).unwrap();
    let usd = sync_usd(PROMPT_TOKENS, COMPLETION_TOKENS);
    assert_eq!(format!("{usd:.4}"), "0.0216");

    let (code, out, err) = analyze(dir.path(), &llm, "reports", &[]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(llm.requests(), 6);
    assert_eq!(
        line_with(&out, "tokens:"),
        "  tokens: 8100 (7200 prompt + 900 completion; verdicts 6750, synthesis 1350) · ~$0.0216"
    );
    let report = report_of(dir.path(), &out);
    assert_eq!(
        line_with(&report, "- **Token usage**"),
        "- **Token usage**: 7,200 prompt + 900 completion = 8,100 tokens (~$0.0216)"
    );
    assert!(report.contains(r#""llm_cost":{"model":"test-model","usd":0.0216"#), "the block carries it");

    // The JSON of a fresh analysis (another reports folder, so no cache) says the same.
    let (code, out, err) = analyze(dir.path(), &llm, "reports-json", &["--json"]);
    assert_eq!(code, 0, "{err}");
    let cost = &json(&out)["cost"];
    assert_eq!(cost["priced"], true, "{cost}");
    assert_eq!(cost["model"], "test-model");
    assert_eq!((cost["prompt_tokens"].as_u64(), cost["completion_tokens"].as_u64()), (Some(7_200), Some(900)));
    assert!((cost["sync_usd"].as_f64().unwrap() - usd).abs() < 1e-12, "{cost}");
    assert!((cost["batch_usd"].as_f64().unwrap() - usd / 2.0).abs() < 1e-12, "{cost}");
    assert_eq!(cost["at_batch_price"], false);
}

#[tokio::test(flavor = "multi_thread")]
async fn without_a_price_the_figures_stay_in_tokens_and_say_so() {
    let llm = FakeLlm::start().await;
    let dir = tempfile::tempdir().unwrap();

    let (code, out, err) = analyze(dir.path(), &llm, "reports", &[]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        line_with(&out, "tokens:"),
        "  tokens: 8100 (7200 prompt + 900 completion; verdicts 6750, synthesis 1350) · no price configured for \
         test-model"
    );
    assert_eq!(
        line_with(&report_of(dir.path(), &out), "- **Token usage**"),
        "- **Token usage**: 7,200 prompt + 900 completion = 8,100 tokens (no price configured for `test-model`)"
    );

    let (code, out, err) = analyze(dir.path(), &llm, "reports-json", &["--json"]);
    assert_eq!(code, 0, "{err}");
    let cost = &json(&out)["cost"];
    assert_eq!(cost["priced"], false, "{cost}");
    assert_eq!(cost["total_tokens"], 8_100);
    assert_eq!(cost["sync_usd"], serde_json::Value::Null);
    assert_eq!(cost["batch_usd"], serde_json::Value::Null);
}

#[test]
fn the_estimate_shows_the_synchronous_and_the_batch_cost_side_by_side() {
    let dir = tempfile::tempdir().unwrap();
    let store = example_store();
    // An endpoint nobody listens on: an estimate calls nothing.
    let args = [
        "analyze-run",
        store.to_str().unwrap(),
        "--estimate",
        "--llm-base-url",
        "http://127.0.0.1:9/v1",
        "--llm-model",
        "test-model",
    ];
    let (code, out, err) = run_with(cli(dir.path()), &args);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        line_with(&out, "cost"),
        "cost        no price configured for test-model: add [prices.\"test-model\"] to evaltriage.toml"
    );

    std::fs::write(dir.path().join("evaltriage.toml"), PRICES).unwrap();
    let (code, out, err) = run_with(cli(dir.path()), &[&args[..], &["--json"]].concat());
    assert_eq!(code, 0, "{err}");
    let v = json(&out);
    let (prompt, completion) = (v["prompt_tokens"].as_u64().unwrap(), v["completion_tokens"].as_u64().unwrap());
    assert!(prompt > 500, "{v}");
    let usd = sync_usd(prompt, completion);
    assert_eq!(v["cost"]["priced"], true, "{v}");
    assert!((v["cost"]["sync_usd"].as_f64().unwrap() - usd).abs() < 1e-12, "{v}");
    assert!((v["cost"]["batch_usd"].as_f64().unwrap() - usd / 2.0).abs() < 1e-12, "{v}");

    let (code, out, err) = run_with(cli(dir.path()), &args);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        line_with(&out, "cost"),
        format!(
            "cost        ~${usd:.4} synchronous, ~${:.4} through the Batch API (prices for test-model from \
             evaltriage.toml)",
            usd / 2.0
        )
    );
}
