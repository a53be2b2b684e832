//! What a new user met (issue 20 items 5, 14, 17, 18): a visualizer URL with a raw `/` in the
//! model slug, a URL whose experiment is not the run's, a one-eval analysis that needs no
//! synthesis and knows its run's full report, and errors that name the command to run next.

use evaltriage_tests::{EXAMPLE_RUN, FakeConvex, FakeLlm, example_store};

use crate::common::{cli, json, run, run_with};

/// The example run's `002-queries/009-channel_summary`, a verification failure.
const EVAL_ID: &str = "jd727u5gi1r9w47g197tydqzwie1y4hr";

#[tokio::test(flavor = "multi_thread")]
async fn a_slug_with_a_raw_slash_and_a_mismatched_experiment_are_read_and_said() {
    let convex = FakeConvex::from_store(&example_store()).await;
    let dir = tempfile::tempdir().unwrap();
    let url = convex.url();
    let pasted = format!("https://visualizer.example/model/anthropic/claude-sonnet-4.5/run/{EXAMPLE_RUN}");
    let (code, out, err) = run(dir.path(), &["runs", "show", &pasted, "--convex-url", &url, "--json"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(json(&out)["run_id"], EXAMPLE_RUN);

    let other = format!("https://visualizer.example/experiment/no_guidelines/run/{EXAMPLE_RUN}");
    let reports = dir.path().join("reports").display().to_string();
    let (code, out, err) = run(dir.path(), &["analyze-run", &other, "--convex-url", &url, "--reports-dir", &reports]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("warning: the URL names experiment \"no_guidelines\""), "{out}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_one_eval_analysis_spends_no_synthesis_and_names_its_runs_full_report() {
    let llm = FakeLlm::start().await;
    let dir = tempfile::tempdir().unwrap();
    let store = example_store().display().to_string();
    let reports = dir.path().join("reports").display().to_string();
    let (code, _, err) = run(dir.path(), &["analyze-run", &store, "--reports-dir", &reports]);
    assert_eq!(code, 0, "{err}");

    let convex = FakeConvex::from_store(&example_store()).await;
    let target = format!("https://visualizer.example/experiment/default/run/{EXAMPLE_RUN}/002-queries/{EVAL_ID}");
    let url = convex.url();
    let llm_url = llm.base_url();
    let mut cmd = cli(dir.path());
    cmd.env("OPENAI_API_KEY", "sk-test-one-eval-000000000");
    let (code, out, err) = run_with(
        cmd,
        &["analyze-run", &target, "--convex-url", &url, "--reports-dir", &reports, "--llm-base-url", &llm_url],
    );
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(llm.requests(), 1, "one eval, one call, no synthesis: {out}");
    assert!(out.contains("this run's full report"), "{out}");
    assert!(!out.contains("no prior report for this model anywhere"), "{out}");
}

#[test]
fn an_unknown_eval_names_the_command_that_lists_them() {
    let dir = tempfile::tempdir().unwrap();
    let store = example_store().display().to_string();
    let (code, _, err) = run(dir.path(), &["evals", "show", &store, "999-nope/000-nothing"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains(&format!("evaltriage evals list {store}")), "{err}");
}

#[test]
fn a_long_experiment_name_never_shifts_the_model_column_of_runs_list() {
    let dir = tempfile::tempdir().unwrap();
    let store = evaltriage_tests::example_store_copy(&dir.path().join("store"), |_| {});
    let doc = std::fs::read_to_string(store.join("runs").join(format!("{EXAMPLE_RUN}.json"))).unwrap();
    let mut other: serde_json::Value = serde_json::from_str(&doc).unwrap();
    let other_id = "jn7longexperimentnamexxxxxxxxxxx";
    other["_id"] = other_id.into();
    other["experiment"] = "web_search_no_guidelines_and_a_long_tag".into();
    for eval in other["evals"].as_array_mut().unwrap() {
        eval["runId"] = other_id.into();
    }
    std::fs::write(store.join("runs").join(format!("{other_id}.json")), other.to_string()).unwrap();
    let (code, out, err) = run(dir.path(), &["runs", "list", "--store", store.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    let starts: Vec<usize> =
        out.lines().take(3).map(|l| l.find("anthropic/").or(l.find("MODEL")).expect("a model column")).collect();
    assert!(starts.len() == 3 && starts.windows(2).all(|w| w[0] == w[1]), "{out}");
}
