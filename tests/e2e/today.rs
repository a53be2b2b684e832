//! Today's convex-evals read faithfully, end to end (issue 19): a run aborted by the environment
//! (install timeout, deploy ECONNREFUSED) with a static-pipeline failure, a `[setup]`-edited tsc
//! failure, a files-less answer and a known gap recorded for another model; and a run the
//! benchmark invalidated (`[zero_tokens]`), which no analysis or nightly touches without `--force`.

use std::path::{Path, PathBuf};

use evaltriage_tests::{FakeConvex, FakeLlm, copy_tree, package_dir};

use crate::common::{cli, json, run, run_with};

const ABORTED: &str = "jn7td4y9m2qw8hd5tz3vc6pe1r0bfs7a";
const ZERO_TOKENS: &str = "jn7zt0k9m2qw8hd5tz3vc6pe1r0bfs7b";

fn fixture() -> PathBuf {
    package_dir().join("fixtures/stores/today_aborted")
}

/// The fixture's store and its reports folder (another model's hand-written report), copied.
fn copied(dir: &Path) -> (String, String) {
    let reports = dir.join("reports");
    copy_tree(&fixture().join("reports"), &reports);
    (fixture().join("runs").join(format!("{ABORTED}.json")).display().to_string(), reports.display().to_string())
}

fn verdict<'a>(summary: &'a serde_json::Value, eval: &str) -> &'a serde_json::Value {
    summary["verdicts"].as_array().unwrap().iter().find(|v| v["eval_path"] == eval).unwrap_or_else(|| panic!("{eval}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn an_aborted_run_is_read_as_the_benchmark_reads_it() {
    let dir = tempfile::tempdir().unwrap();
    let (target, reports) = copied(dir.path());
    let llm = FakeLlm::start().await;
    let llm_url = llm.base_url();
    let mut cmd = cli(dir.path());
    cmd.env("OPENAI_API_KEY", "sk-test-today-0000000000");
    let (code, out, err) =
        run_with(cmd, &["analyze-run", &target, "--reports-dir", &reports, "--llm-base-url", &llm_url, "--json"]);
    assert!(code == 0 || code == 1, "{err}");
    let summary = json(&out);
    // The environment failures are infrastructure, never sent.
    for eval in ["000-fundamentals/003-crons", "001-data_modeling/005-many_to_many"] {
        assert_eq!(verdict(&summary, eval)["infrastructure"], true, "{eval}: {summary}");
    }
    assert_eq!(summary["infrastructure"], 2);
    let bodies = llm.state.bodies.lock().unwrap().clone();
    let sent_for = |eval: &str| bodies.iter().any(|b| b.contains(&format!("Eval: {eval}")));
    assert!(!sent_for("000-fundamentals/003-crons") && !sent_for("001-data_modeling/005-many_to_many"), "sent");
    assert!(sent_for("002-queries/015-pagination"), "the verification failures are sent");
    // The harness's [setup] lines reach the tsc failure's prompt.
    assert!(
        bodies.iter().any(|b| b.contains("015-pagination") && b.contains("[setup]")),
        "no [setup] line in the tsc prompt"
    );
    // What never ran is not a failure; the run's end and cost are said.
    assert_eq!((summary["finished"].as_u64(), summary["not_run"].as_u64()), (Some(6), Some(3)), "{summary}");
    assert!(summary["run_failure"]["summary"].as_str().unwrap().contains("aborted by infrastructure"), "{summary}");
    assert!(summary["cost_usd"].as_f64().is_some_and(|c| (c - 0.81).abs() < 0.005), "{summary}");
    let report = std::fs::read_to_string(summary["report_path"].as_str().unwrap()).unwrap();
    assert!(report.contains("$0.81"), "the report shows the run's cost");

    // The text summary leads with how the run ended.
    let (code, out, err) = run(dir.path(), &["analyze-run", &target, "--reports-dir", &reports, "--force"]);
    assert!(code == 0 || code == 1, "{err}");
    assert!(out.lines().next().unwrap().starts_with("Run aborted by infrastructure (install)"), "{out}");
    assert!(out.contains("3 did not run"), "{out}");
}

#[test]
fn the_rules_read_todays_failures() {
    let dir = tempfile::tempdir().unwrap();
    let (target, reports) = copied(dir.path());
    let (code, out, err) = run(dir.path(), &["analyze-run", &target, "--reports-dir", &reports, "--json"]);
    assert!(code == 0 || code == 1, "{err}");
    let summary = json(&out);
    // A gap recorded as KNOWN_GAP in another model's report, at the same step.
    assert_eq!(verdict(&summary, "002-queries/015-pagination")["classification"], "KNOWN_GAP", "{summary}");
    // An answer that parsed to no files: the model did not follow the file format.
    let no_files = verdict(&summary, "002-queries/017-pagination_join");
    assert_eq!(no_files["classification"], "MODEL_FAULT");
    assert!(no_files["reasoning"].as_str().unwrap().contains("file format"), "{no_files}");
    let report = std::fs::read_to_string(summary["report_path"].as_str().unwrap()).unwrap();
    assert!(report.contains("claude-opus-4-6"), "the report says where the gap was recorded");

    // evals show: the steps that ran, a static pipeline said as such, never "skipped".
    let (code, out, err) = run(dir.path(), &["evals", "show", &target, "007-components/006-choose_aggregate_offsets"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("static"), "{out}");
    assert!(!out.contains("skipped"), "{out}");
    let (code, out, err) = run(dir.path(), &["evals", "show", &target, "002-queries/015-pagination"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("[setup]"), "the harness's edits are shown: {out}");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_invalidated_run_is_analysed_only_when_forced_and_the_nightly_skips_it() {
    let dir = tempfile::tempdir().unwrap();
    let reports = dir.path().join("reports").display().to_string();
    let target = fixture().join("runs").join(format!("{ZERO_TOKENS}.json")).display().to_string();
    let (code, out, err) = run(dir.path(), &["analyze-run", &target, "--reports-dir", &reports]);
    assert_eq!(code, 2, "{out}{err}");
    assert!(err.contains("does not score") && err.contains("--force"), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(!Path::new(&reports).join("openai").exists(), "nothing written");
    let (code, _, err) = run(dir.path(), &["analyze-run", &target, "--reports-dir", &reports, "--force"]);
    assert!(code == 0 || code == 1, "{err}");

    let convex = FakeConvex::from_store(&fixture()).await;
    let url = convex.url();
    let night_reports = dir.path().join("night").display().to_string();
    let (code, out, err) = run(
        dir.path(),
        &["nightly", "--convex-url", &url, "--reports-dir", &night_reports, "--since", "3650d", "--json"],
    );
    assert!(code == 0 || code == 1, "{err}");
    let night = json(&out);
    let zero = night["runs"].as_array().unwrap().iter().find(|r| r["run_id"] == ZERO_TOKENS).expect("listed");
    assert_eq!(zero["outcome"], "skipped", "{night}");
    assert!(zero["why"].as_str().unwrap().contains("not scored by the benchmark"), "{night}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_run_that_has_not_finished_gets_no_report() {
    let convex = FakeConvex::from_store(&fixture()).await;
    let mut doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(fixture().join("runs").join(format!("{ABORTED}.json"))).unwrap())
            .unwrap();
    doc["_id"] = serde_json::json!("jn7run00m2qw8hd5tz3vc6pe1r0bfs7c");
    doc["status"] = serde_json::json!({"kind": "pending"});
    let id = convex.add_run(doc);
    let dir = tempfile::tempdir().unwrap();
    let reports = dir.path().join("reports");
    let url = convex.url();
    let (code, _, err) =
        run(dir.path(), &["analyze-run", &id, "--convex-url", &url, "--reports-dir", &reports.display().to_string()]);
    assert_eq!(code, 4, "{err}");
    assert!(err.contains("still pending") && err.contains("nothing was written"), "{err}");
    assert!(!reports.exists() || std::fs::read_dir(&reports).unwrap().next().is_none(), "no report, no folder");
    // What is there so far can still be looked at.
    let (code, out, err) = run(dir.path(), &["runs", "show", &id, "--convex-url", &url]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("pending"), "{out}");
}
