//! The triage commands (`runs show`, `evals list`, `evals show`, `snapshot`) against a Convex
//! stand-in and against a store, and the errors a user sees for bad targets and missing runs.

use evaltriage_tests::{FakeConvex, run_fixture, zip_of};
use serde_json::Value;

use crate::common::{json, run};

const RUN: &str = "jh7ab1cd2ef3gh4jk5mn6pq7rs8tv9wx";

async fn convex_with_fixture() -> FakeConvex {
    let convex = FakeConvex::start().await;
    convex.add_run(run_fixture("wire_edge_cases.json"));
    convex.add_blob(
        "kg2out0000000000000000000000crons",
        zip_of(&[
            ("convex/crons.ts", "crons.interval(\"x\", { hours: 1 }, \"internal.sessions.cleanup\");\n"),
            ("run.log", "tsc failed\n"),
        ]),
    );
    convex.add_blob(
        "kg2src0000000000000000000000crons",
        zip_of(&[
            ("TASK.txt", "Create a cron job."),
            ("answer/convex/crons.ts", "crons.interval(\"x\", { hours: 1 }, internal.sessions.cleanup);\n"),
        ]),
    );
    convex.add_blob(
        "kg2src0000000000000000000000shared",
        zip_of(&[
            ("TASK.txt", "Shared source"),
            ("grader.test.ts", "test('x', () => {});"),
            ("GAPS.txt", "queries, pagination:\n- ordering is not specified\n"),
        ]),
    );
    convex.add_blob("kg2out00000000000000000000indexes", zip_of(&[("convex/users.ts", "export const byEmail = 1;\n")]));
    convex.add_blob(
        "kg2src00000000000000000000indexes",
        zip_of(&[("TASK.txt", "Add an index."), ("answer/convex/users.ts", "export const byEmail = query({});\n")]),
    );
    convex.add_blob("kg2out000000000000000000000filter", zip_of(&[("run.log", "FAIL filters by user\n")]));
    convex.add_blob("kg2out0000000000000000000paginate", zip_of(&[("run.log", "FAIL paginates\n")]));
    convex
}

fn check_shape(v: &Value) {
    assert_eq!(v["run_id"], RUN);
    assert_eq!(v["model"], "anthropic/claude-opus-4.6");
    assert_eq!(v["experiment"], "default", "an absent experiment means default");
    assert_eq!(v["total"], 9);
    assert_eq!(v["passed"], 1);
    assert_eq!(v["failed"], 6);
    assert_eq!(v["other"], 2, "a running eval and an unknown status kind are neither passed nor failed");
    assert_eq!(v["failed_by_step"]["tsc"], 2);
    assert_eq!(v["failed_by_step"]["tests"], 2);
    assert_eq!(v["failed_by_step"]["none"], 2, "the rate-limited and the generation failure have no step");
    assert_eq!(v["infrastructure"], 2);
    assert_eq!(v["verification"], 4);
    let clusters = v["clusters"].as_array().unwrap();
    assert_eq!(
        clusters.len(),
        1,
        "the two tsc TS2345 errors form a cluster; 'tests failed (N%)' alone is no shared cause: {clusters:?}"
    );
    assert_eq!(
        clusters[0]["evals"],
        serde_json::json!(["000-fundamentals/003-crons", "001-data_modeling/002-indexes"])
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn runs_show_json_reads_every_url_form() {
    let convex = convex_with_fixture().await;
    let dir = tempfile::tempdir().unwrap();
    let host = "https://convex-evals.example";
    let eval = "ja2aaaaaaaaaaaaaaaaaaaaaaaaaaaa2";
    let targets = [
        RUN.to_owned(),
        format!("{host}/experiment/default/run/{RUN}"),
        format!("{host}/experiment/default/run/{RUN}/"),
        format!("{host}/experiment/default/run/{RUN}?tab=steps#x"),
        format!("{host}/experiment/default/run/{RUN}/000-fundamentals"),
        format!("{host}/experiment/default/run/{RUN}/000-fundamentals/{eval}?tab=files&file=convex%2Fcrons.ts"),
        format!("{host}/model/anthropic%2Fclaude-opus-4.6/experiment/default/run/{RUN}/"),
        format!(
            "{host}/model/k57f2a9c3d4e5f6a7b8c9d0e1f2a3b4c/experiment/no_guidelines/run/{RUN}/000-fundamentals/{eval}"
        ),
    ];
    for target in &targets {
        let (code, out, err) = run(dir.path(), &["runs", "show", target, "--json", "--convex-url", &convex.url()]);
        assert_eq!(code, 0, "{target}: {err}");
        check_shape(&json(&out));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_5xx_is_retried_and_then_succeeds() {
    let convex = convex_with_fixture().await;
    convex.fail_next(1);
    let dir = tempfile::tempdir().unwrap();
    let (code, out, err) = run(dir.path(), &["runs", "show", RUN, "--json", "--convex-url", &convex.url()]);
    assert_eq!(code, 0, "{err}");
    check_shape(&json(&out));
}

#[tokio::test(flavor = "multi_thread")]
async fn missing_decision_and_invalid_runs_say_so() {
    let convex = convex_with_fixture().await;
    let decision = "jd9zz8yy7xx6ww5vv4uu3tt2ss1rr0qq";
    convex.add_decision_run(decision);
    let dir = tempfile::tempdir().unwrap();
    let url = convex.url();

    let (code, _, err) = run(dir.path(), &["runs", "show", "jn0000000000000000000000000000zz", "--convex-url", &url]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("not found"), "{err}");

    let (code, _, err) = run(dir.path(), &["runs", "show", decision, "--convex-url", &url]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("decision run"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unreachable_deployment_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    // Port 9 (discard) on loopback: nothing listens, the connection is refused at once.
    let (code, out, err) = run(dir.path(), &["runs", "show", RUN, "--convex-url", "http://127.0.0.1:9"]);
    assert_eq!(code, 1, "{err}");
    assert!(out.is_empty());
    assert!(err.starts_with("error: could not reach"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn bad_targets_exit_2_with_what_was_expected() {
    let dir = tempfile::tempdir().unwrap();
    for target in [
        "hello",
        "https://host/experiment/default",
        "https://host/experiment/default/run/NOT-AN-ID",
        "ftp://host/experiment/default/run/abc",
        "./missing-store",
        "",
    ] {
        let (code, out, err) = run(dir.path(), &["runs", "show", target]);
        assert_eq!(code, 2, "{target:?}: {err}");
        assert!(out.is_empty(), "{target:?}");
        assert!(err.lines().count() <= 2, "{target:?}: {err}");
        assert!(!err.contains("panicked"), "{target:?}: {err}");
    }
    let (code, _, err) = run(dir.path(), &["runs", "show", "hello"]);
    assert_eq!(code, 2);
    assert!(err.contains("expected a visualizer URL"), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn snapshot_then_store_gives_the_same_shape_and_blobs_are_fetched_once() {
    let convex = convex_with_fixture().await;
    let dir = tempfile::tempdir().unwrap();
    let url = convex.url();
    let (code, online, err) = run(dir.path(), &["runs", "show", RUN, "--json", "--convex-url", &url]);
    assert_eq!(code, 0, "{err}");

    let (code, out, err) = run(dir.path(), &["snapshot", RUN, "--into", "store", "--convex-url", &url]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("7 blobs written"), "{out}");
    // Seven distinct blobs for eight references: the shared source zip is downloaded once.
    assert_eq!(convex.downloads(), 7);
    assert!(dir.path().join("store/runs").join(format!("{RUN}.json")).is_file());

    for args in [
        vec!["runs", "show", RUN, "--json", "--store", "store"],
        vec!["runs", "show", "store", "--json"],
        vec!["runs", "show", "store/runs/jh7ab1cd2ef3gh4jk5mn6pq7rs8tv9wx.json", "--json"],
    ] {
        let (code, offline, err) = run(dir.path(), &args);
        assert_eq!(code, 0, "{args:?}: {err}");
        assert_eq!(json(&offline), json(&online), "{args:?}");
    }

    let (code, out, err) = run(
        dir.path(),
        &["evals", "show", RUN, "002-queries/015-pagination", "--file", "GAPS.txt", "--store", "store"],
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("ordering is not specified"), "{out}");
}

#[tokio::test(flavor = "multi_thread")]
async fn evals_list_and_show() {
    let convex = convex_with_fixture().await;
    let dir = tempfile::tempdir().unwrap();
    let url = convex.url();

    let (code, out, err) =
        run(dir.path(), &["evals", "list", RUN, "--status", "failed", "--json", "--convex-url", &url]);
    assert_eq!(code, 0, "{err}");
    let v = json(&out);
    let paths: Vec<&str> = v["evals"].as_array().unwrap().iter().map(|e| e["eval_path"].as_str().unwrap()).collect();
    assert_eq!(
        paths,
        [
            "000-fundamentals/003-crons",
            "001-data_modeling/002-indexes",
            "002-queries/004-filter_by_user",
            "002-queries/015-pagination",
            "003-mutations/003-patch_nested",
            "004-actions/001-run_mutation"
        ]
    );
    assert_eq!(v["evals"][4]["kind"], "rate_limit");

    let (code, out, _) = run(dir.path(), &["evals", "list", RUN, "--status", "passed", "--convex-url", &url]);
    assert_eq!(code, 0);
    assert_eq!(out.lines().count(), 2, "a header and one eval: {out}");
    assert!(out.starts_with("EVAL ID "), "{out}");

    // The failed step is the first failed one in creation order, whatever order the server sent.
    let (code, out, err) =
        run(dir.path(), &["evals", "show", RUN, "000-fundamentals/003-crons", "--json", "--convex-url", &url]);
    assert_eq!(code, 0, "{err}");
    let v = json(&out);
    assert_eq!(v["failed_step"], "tsc");
    let steps: Vec<&str> = v["steps"].as_array().unwrap().iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(steps, ["deploy", "tsc", "eslint"]);

    let eval_url =
        format!("https://viz.example/experiment/default/run/{RUN}/000-fundamentals/ja2aaaaaaaaaaaaaaaaaaaaaaaaaaaa2");
    let (code, out, err) =
        run(dir.path(), &["evals", "show", &eval_url, "--file", "convex/crons.ts", "--convex-url", &url]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("internal.sessions.cleanup"), "{out}");

    let (code, _, err) = run(
        dir.path(),
        &["evals", "show", RUN, "000-fundamentals/003-crons", "--file", "nope.ts", "--convex-url", &url],
    );
    assert_eq!(code, 2);
    assert!(err.contains("no file \"nope.ts\"") && err.contains("convex/crons.ts"), "{err}");

    let (code, _, err) = run(dir.path(), &["evals", "show", RUN, "999-nothing/here", "--convex-url", &url]);
    assert_eq!(code, 2);
    assert!(err.contains("no eval"), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_deploy_key_is_sent_and_never_printed() {
    let convex = convex_with_fixture().await;
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = crate::common::cli(dir.path());
    cmd.env("CONVEX_DEPLOY_KEY", "prod:fabulous|sekrit-deploy-key").env("RUST_LOG", "debug");
    let (code, out, err) = crate::common::run_with(cmd, &["runs", "show", RUN, "--convex-url", &convex.url()]);
    assert_eq!(code, 0, "{err}");
    assert!(!out.contains("sekrit") && !err.contains("sekrit"), "{out}\n{err}");
    assert!(err.contains("<redacted>"), "the debug log shows settings with the key redacted: {err}");
    let auth = convex.state.auth_headers.lock().unwrap().clone();
    assert!(auth.iter().all(|a| a == "Convex prod:fabulous|sekrit-deploy-key"), "{auth:?}");
}
