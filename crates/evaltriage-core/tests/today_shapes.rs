//! Run documents in today's shapes (August 2026: absent steps, usage with cost, environment
//! failures, aborted and invalidated runs) and February's, read through the public parser.

use evaltriage_core::source::parse_run_document;
use evaltriage_core::{FailureKind, InfraCause, RunFailureKind, Shape, SourceChange, StepName};
use serde_json::{Value, json};

const RUN_ID: &str = "jn7ak4x9m2qw8hd5tz3vc6pe1r0bfs7g";

fn eval(n: u32, path: &str, status: Value, steps: Value) -> Value {
    json!({
        "_id": format!("jd7ak4x9m2qw8hd5tz3vc6pe1r0bf{n:03}"), "runId": RUN_ID, "evalPath": path,
        "category": path.split('/').next().unwrap(), "name": path.split('/').nth(1).unwrap(),
        "status": status, "evalSourceStorageId": format!("kg2src{n:026}"),
        "_creationTime": 1_787_000_000_000.0 + f64::from(n), "steps": steps,
    })
}

fn step(name: &str, status: Value) -> Value {
    json!({"_id": format!("st-{name}"), "evalId": "x", "name": name, "status": status, "_creationTime": 1.0})
}

fn passed() -> Value {
    json!({"kind": "passed", "durationMs": 1000})
}

fn failed(reason: &str) -> Value {
    json!({"kind": "failed", "failureReason": reason, "durationMs": 10})
}

fn usage(cost: f64, output: u64) -> Value {
    json!({"inputTokens": 1200, "outputTokens": output, "reasoningTokens": 300, "totalTokens": 1200 + output,
           "raw": {"cost": cost, "timeToFirstTokenMs": 900, "providerSpecific": [1, {"x": null}]}})
}

/// A run aborted by an install timeout: two finished evals, one left pending, two never started.
fn aborted_run() -> Value {
    let mut install_timeout = failed("install fail");
    install_timeout["usage"] = usage(0.94, 2000);
    let mut ok = json!({"kind": "passed", "durationMs": 1000, "usage": usage(0.5, 1000)});
    ok["outputStorageId"] = json!("kg2out00000000000000000000000001");
    json!({
        "_id": RUN_ID, "model": "openai/gpt-5", "provider": "openrouter", "_creationTime": 1_787_000_000_000.0,
        "plannedEvals": ["000-fundamentals/001-empty", "000-fundamentals/002-x", "000-fundamentals/003-crons",
                         "001-data_modeling/001-y", "001-data_modeling/002-z"],
        "status": {"kind": "failed", "durationMs": 5000,
                   "failureReason": "[infrastructure] [install] Error: bun install timed out after 120s"},
        "evals": [
            eval(1, "000-fundamentals/001-empty", ok, json!([
                step("filesystem", passed()), step("install", passed()), step("deploy", passed()),
                step("tsc", passed()), step("eslint", passed()), step("tests", passed())])),
            eval(2, "000-fundamentals/002-x", install_timeout, json!([
                step("filesystem", passed()), step("install", failed("Error: bun install timed out after 120s"))])),
            eval(3, "000-fundamentals/003-crons", json!({"kind": "pending"}), json!([])),
        ],
    })
}

#[test]
fn an_aborted_run_counts_not_run_evals_apart_and_sums_its_cost() {
    let run = parse_run_document(&aborted_run()).unwrap();
    let shape = Shape::of(&run);
    assert_eq!((shape.passed, shape.failed, shape.not_run, shape.never_started), (1, 1, 3, 2));
    assert_eq!(shape.pass_rate_percent(), 50.0, "over the two evals that finished");
    assert_eq!(shape.infrastructure_by_cause.get("environment"), Some(&1));
    assert_eq!(shape.failures[0].kind, FailureKind::Infrastructure(InfraCause::Environment));
    assert_eq!(shape.verification, 0);
    let failure = shape.run_failure.as_ref().unwrap();
    assert_eq!(failure.kind, RunFailureKind::StepAbort(StepName::Install));
    assert!(failure.is_abort() && shape.unscored_reason().is_none());
    assert_eq!(
        shape.ended_badly_line().unwrap(),
        "Run aborted by infrastructure (install): Error: bun install timed out after 120s — 3 of 5 planned evals did \
         not run."
    );
    assert!((shape.cost_usd().unwrap() - 1.44).abs() < 1e-9, "{:?}", shape.usage);
    assert_eq!((shape.usage.output_tokens, shape.usage.reasoning_tokens), (3000, 600));
    let eval = &run.evals[1];
    assert_eq!(eval.usage.unwrap().cost_usd, Some(0.94));
    // Steps that did not run are absent, not skipped.
    assert_eq!(eval.steps_that_ran().map(|s| s.name.as_str()).collect::<Vec<_>>(), ["filesystem", "install"]);
}

#[test]
fn a_zero_tokens_run_is_not_scored() {
    let mut doc = aborted_run();
    doc["status"]["failureReason"] =
        json!("[infrastructure] [zero_tokens] Zero total token usage detected for 000-fundamentals/002-x");
    let run = parse_run_document(&doc).unwrap();
    let why = run.unscored_reason().unwrap();
    assert!(why.starts_with("the benchmark invalidated it: a generation reported zero tokens"), "{why}");
    assert!(why.contains("000-fundamentals/002-x"), "{why}");
    assert!(Shape::of(&run).unscored_reason().is_some());
}

#[test]
fn surprising_usage_never_breaks_parsing() {
    let mut doc = aborted_run();
    doc["evals"][0]["status"]["usage"] = json!({"inputTokens": "1234", "outputTokens": null, "raw": "opaque"});
    doc["evals"][1]["status"]["usage"] = json!("opaque");
    let run = parse_run_document(&doc).unwrap();
    let u = run.evals[0].usage.unwrap();
    assert_eq!((u.input_tokens, u.output_tokens, u.cost_usd), (Some(1234), None, None));
    assert_eq!(run.evals[1].usage, None);
    assert_eq!(run.usage().cost_usd, None);
}

/// February 2026: the step's text in the eval's reason, `skipped` steps, no usage, no plannedEvals.
#[test]
fn february_runs_keep_reading() {
    let doc = json!({
        "_id": RUN_ID, "model": "anthropic/claude-opus-4.6", "_creationTime": 1_770_000_000_000.0,
        "status": {"kind": "completed", "durationMs": 100},
        "evals": [eval(1, "000-fundamentals/003-crons",
            failed("Failed to typecheck code:\nconvex/crons.ts(4,3): error TS2322: Type 'string' is not assignable"),
            json!([step("filesystem", passed()), step("install", passed()), step("deploy", passed()),
                   step("tsc", failed("Failed to typecheck code:\nconvex/crons.ts(4,3): error TS2322: x")),
                   step("eslint", json!({"kind": "skipped"})), step("tests", json!({"kind": "skipped"}))]))],
    });
    let run = parse_run_document(&doc).unwrap();
    let shape = Shape::of(&run);
    assert_eq!((shape.failed, shape.verification, shape.not_run), (1, 1, 0));
    assert!(shape.run_failure.is_none() && shape.cost_usd().is_none());
    assert_eq!(run.evals[0].steps_that_ran().count(), 4, "skipped steps are not steps that ran");
    assert_eq!(shape.pass_rate_percent(), 0.0);
}

#[test]
fn eval_sources_compare_between_runs() {
    let run = parse_run_document(&aborted_run()).unwrap();
    let now = run.eval_source_id("000-fundamentals/002-x");
    assert!(now.is_some());
    assert_eq!(SourceChange::between(now, now), SourceChange::Unchanged);
    let other = parse_run_document(&{
        let mut d = aborted_run();
        d["evals"][1]["evalSourceStorageId"] = json!("kg2changed000000000000000000000");
        d
    })
    .unwrap();
    assert_eq!(SourceChange::between(now, other.eval_source_id("000-fundamentals/002-x")), SourceChange::Changed);
    assert_eq!(SourceChange::between(None, now), SourceChange::Unknown);
    assert!(SourceChange::Unchanged.claimed_fix_note().contains("has not reached the benchmark yet"));
}

/// `runs:listRuns` as the deployment answers it: `experiment: "default"` fails validation, so
/// default runs are listed by model and filtered here; `evalCounts` and `benchmarkVersion` are read.
#[tokio::test]
async fn default_runs_are_listed_by_model_and_filtered_locally() {
    use evaltriage_core::source::{ConvexConfig, ConvexSource, RunFilter, Source};
    use wiremock::matchers::{body_partial_json, method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    let server = MockServer::start().await;
    let reply = |value: Value| {
        ResponseTemplate::new(200).set_body_json(json!({"status": "success", "value": value, "logLines": []}))
    };
    Mock::given(method("POST"))
        .and(path("/api/query"))
        .and(body_partial_json(json!({"path": "runs:listRuns", "args": {"experiment": "default"}})))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"status": "error",
            "errorMessage": "ArgumentValidationError: Value does not match validator.\nPath: .experiment\nValue: \"default\""})))
        .with_priority(1)
        .mount(&server)
        .await;
    let header = |id: &str, experiment: Option<&str>, t: f64| {
        let mut h = json!({"_id": id, "_creationTime": t, "modelId": "m1", "model": "openai/gpt-5",
            "benchmarkVersion": "kh7bv000000000000000000000000001", "plannedEvals": [],
            "status": {"kind": "completed", "durationMs": 1},
            "evalCounts": {"total": 65, "passed": 60, "failed": 5, "pending": 0}});
        if let Some(e) = experiment {
            h["experiment"] = json!(e);
        }
        h
    };
    Mock::given(method("POST"))
        .and(path("/api/query"))
        .and(body_partial_json(json!({"path": "runs:listRuns", "args": {"modelId": "m1"}})))
        .respond_with(reply(json!([
            header("jn7ak4x9m2qw8hd5tz3vc6pe1r0bfs01", None, 3.0),
            header("jn7ak4x9m2qw8hd5tz3vc6pe1r0bfs02", Some("no_guidelines"), 2.0),
        ])))
        .with_priority(2)
        .mount(&server)
        .await;
    let source = ConvexSource::new(ConvexConfig::new(&server.uri())).unwrap();
    let filter = RunFilter { experiment: Some("default".into()), model_id: Some("m1".into()), limit: Some(40) };
    let runs = source.runs(&filter).await.unwrap();
    assert_eq!(runs.len(), 1, "{runs:?}");
    assert_eq!(runs[0].experiment, "default");
    assert_eq!(runs[0].benchmark_version.as_deref(), Some("kh7bv000000000000000000000000001"));
    assert_eq!(runs[0].eval_counts.unwrap().failed, 5);
    for request in server.received_requests().await.unwrap() {
        let body: Value = serde_json::from_slice(&request.body).unwrap();
        assert_ne!(body["args"]["experiment"], json!("default"), "never sent: {body}");
    }
}
