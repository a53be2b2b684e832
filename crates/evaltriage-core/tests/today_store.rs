//! The fixture store of a run aborted by the environment (`tests/fixtures/stores/today_aborted`),
//! read through the store source: the shape counts what never ran apart, environment failures are
//! infrastructure, and the evidence carries the steps that ran, a static pipeline, `[setup]` lines
//! and an answer with no files.

use std::path::PathBuf;

use evaltriage_core::source::{Source, StoreSource};
use evaltriage_core::{EvalId, FailureKind, InfraCause, RunId, RunRef, Shape, StepName};

fn store() -> StoreSource {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/stores/today_aborted");
    StoreSource::open(&root).unwrap()
}

#[tokio::test]
async fn an_environment_aborted_run_reads_as_the_benchmark_means_it() {
    let store = store();
    let run = store.run(&RunRef::run(RunId::new("jn7td4y9m2qw8hd5tz3vc6pe1r0bfs7a").unwrap())).await.unwrap();
    let shape = Shape::of(&run);
    assert_eq!((shape.passed, shape.failed, shape.not_run, shape.never_started), (1, 5, 3, 2));
    assert_eq!(shape.infrastructure_by_cause.get(InfraCause::Environment.as_str()), Some(&2));
    assert_eq!(shape.verification, 3);
    assert!((shape.cost_usd().unwrap() - 0.81).abs() < 1e-9);
    assert!(
        shape.ended_badly_line().unwrap().starts_with("Run aborted by infrastructure (install): Error: bun install")
    );
    assert!(shape.unscored_reason().is_none(), "an aborted run's finished evals are still analyzed");
    let kind = |path: &str| shape.failures.iter().find(|f| f.eval_path.as_str() == path).unwrap().kind;
    assert_eq!(kind("001-data_modeling/005-many_to_many"), FailureKind::Infrastructure(InfraCause::Environment));
    assert_eq!(kind("002-queries/015-pagination"), FailureKind::Verification);

    let evidence = |path: &str| {
        let id: EvalId = run.find_eval(path).unwrap().id.clone();
        let store = store.clone();
        let run = run.clone();
        async move { store.evidence(&run, &id).await.unwrap() }
    };
    let stat = evidence("007-components/006-choose_aggregate_offsets").await;
    assert!(stat.is_static_pipeline());
    assert_eq!(stat.steps.iter().map(|s| s.name.clone()).collect::<Vec<_>>(), [StepName::Filesystem, StepName::Tests]);
    let tsc = evidence("002-queries/015-pagination").await;
    assert_eq!(tsc.setup_lines().len(), 2);
    assert!(!tsc.is_static_pipeline() && tsc.gaps().is_none(), "no GAPS.txt in today's sources");
    let raw = evidence("002-queries/017-pagination_join").await;
    assert!(raw.raw_answer_without_files().unwrap().starts_with("I'll write the paginated join"));
    assert!(raw.output_cut().unwrap().contains("16384 output tokens"), "{:?}", raw.output_cut());
}

#[tokio::test]
async fn a_zero_tokens_run_is_not_scored() {
    let run = store().run(&RunRef::run(RunId::new("jn7zt0k9m2qw8hd5tz3vc6pe1r0bfs7b").unwrap())).await.unwrap();
    assert!(run.unscored_reason().unwrap().contains("zero tokens"));
}
