//! Property tests (issue 9): the target parser, the run-document parser, the store reader and the
//! unzipper never panic on arbitrary bytes or on structured mutations of valid input, and what they
//! accept is well-formed. The case count is fixed (`PROPTEST_CASES`, 256 by default) so CI runs
//! the same amount of work every time.

mod common;

use evaltriage_core::source::{
    SourceError, StoreSource, ZipLimits, parse_run_document, parse_run_document_bytes, unzip_files,
};
use evaltriage_core::{RunId, Target, parse_target};
use proptest::prelude::*;
use proptest::test_runner::Config;
use serde_json::{Value, json};

fn config() -> Config {
    let cases = std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(256);
    // No regression files written into the source tree; a failure prints its minimal input.
    Config { failure_persistence: None, ..Config::with_cases(cases) }
}

/// A random JSON value, a few levels deep.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>().prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        ".{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("[a-zA-Z_]{1,8}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Every path to a value inside `v` (object keys and array indices).
fn paths(v: &Value, at: &mut Vec<Value>, out: &mut Vec<Vec<Value>>) {
    out.push(at.clone());
    match v {
        Value::Object(m) => {
            for (k, child) in m {
                at.push(json!(k));
                paths(child, at, out);
                at.pop();
            }
        }
        Value::Array(a) => {
            for (i, child) in a.iter().enumerate() {
                at.push(json!(i));
                paths(child, at, out);
                at.pop();
            }
        }
        _ => {}
    }
}

fn at_mut<'a>(v: &'a mut Value, path: &[Value]) -> &'a mut Value {
    path.iter().fold(v, |v, key| match key {
        Value::String(k) => &mut v[k.as_str()],
        Value::Number(i) => &mut v[usize::try_from(i.as_u64().unwrap_or(0)).unwrap_or(0)],
        _ => v,
    })
}

/// One structural change to a document: a value replaced, a key removed, or a value duplicated
/// into an array.
#[derive(Debug, Clone)]
enum Mutation {
    Replace(usize, Value),
    Remove(usize),
    Wrap(usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), any_json()).prop_map(|(i, v)| Mutation::Replace(i, v)),
        any::<usize>().prop_map(Mutation::Remove),
        any::<usize>().prop_map(Mutation::Wrap),
    ]
}

fn mutate(doc: &mut Value, m: &Mutation) {
    let mut all = Vec::new();
    paths(doc, &mut Vec::new(), &mut all);
    let pick = |i: usize| all[i % all.len()].clone();
    match m {
        Mutation::Replace(i, v) => *at_mut(doc, &pick(*i)) = v.clone(),
        Mutation::Remove(i) => {
            let path = pick(*i);
            if let Some((Value::String(key), parent)) = path.split_last() {
                if let Value::Object(o) = at_mut(doc, parent) {
                    o.remove(key);
                }
            }
        }
        Mutation::Wrap(i) => {
            let target = at_mut(doc, &pick(*i));
            *target = Value::Array(vec![target.clone(), target.clone()]);
        }
    }
}

/// A parse error names the document, never panics; a success has a valid id.
fn check_parse(bytes: &[u8]) {
    match parse_run_document_bytes(bytes) {
        Ok(run) => assert!(RunId::new(run.id.as_str()).is_ok()),
        Err(SourceError::Malformed(message)) => assert!(message.starts_with("run document: "), "{message}"),
        Err(other) => panic!("unexpected error kind: {other:?}"),
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn the_target_parser_never_panics(input in any::<String>()) {
        let _ = parse_target(&input);
    }

    #[test]
    fn url_shaped_targets_never_panic_and_give_valid_ids(
        host in "[a-z]{1,8}(\\.[a-z]{2,4})?",
        segments in prop::collection::vec("[a-zA-Z0-9%._~-]{0,12}|run|experiment|model", 0..8),
        tail in "([?#][a-z=&]{0,8})?",
    ) {
        let url = format!("https://{host}/{}{tail}", segments.join("/"));
        if let Ok(Target::Run(run)) = parse_target(&url) {
            prop_assert!(RunId::new(run.run_id.as_str()).is_ok());
        }
    }

    #[test]
    fn a_visualizer_url_gives_its_run_and_experiment(
        id in "[a-z0-9]{32}",
        experiment in "[a-z][a-z0-9_-]{0,10}",
        category in "[0-9]{3}-[a-z]{1,8}",
    ) {
        let url = format!("https://evals.example.com/experiment/{experiment}/run/{id}/{category}");
        let Ok(Target::Run(run)) = parse_target(&url) else { panic!("{url} did not parse") };
        prop_assert_eq!(run.run_id.as_str(), id.as_str());
        prop_assert_eq!(run.experiment.as_deref(), Some(experiment.as_str()));
    }

    #[test]
    fn arbitrary_bytes_never_panic_the_run_document_parser(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        check_parse(&bytes);
    }

    #[test]
    fn mutated_run_documents_never_panic_the_parser(mutations in prop::collection::vec(mutation(), 1..4)) {
        let mut doc = common::run_document();
        for m in &mutations {
            mutate(&mut doc, m);
        }
        check_parse(doc.to_string().as_bytes());
        // The tree and the bytes agree on whether the document is valid.
        prop_assert_eq!(parse_run_document(&doc).is_ok(), parse_run_document_bytes(doc.to_string().as_bytes()).is_ok());
    }

    #[test]
    fn a_cut_or_flipped_run_document_never_panics_the_parser(cut in any::<usize>(), flip in any::<usize>(), byte in any::<u8>()) {
        let mut bytes = common::run_document().to_string().into_bytes();
        let at = flip % bytes.len();
        bytes[at] = byte;
        bytes.truncate(cut % (bytes.len() + 1));
        check_parse(&bytes);
    }

    #[test]
    fn the_store_reader_never_panics_on_a_run_file(
        mutations in prop::collection::vec(mutation(), 0..3),
        garbage in prop::option::of(prop::collection::vec(any::<u8>(), 0..256)),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("run.json");
        let bytes = garbage.unwrap_or_else(|| {
            let mut doc = common::run_document();
            for m in &mutations {
                mutate(&mut doc, m);
            }
            doc.to_string().into_bytes()
        });
        std::fs::write(&file, &bytes).unwrap();
        match StoreSource::open_target(&file) {
            Ok((store, run_ref)) => {
                let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
                let read = runtime.block_on(evaltriage_core::source::Source::run(&store, &run_ref));
                if let Err(e) = read {
                    prop_assert!(matches!(e, SourceError::BadRunFile { .. }), "{e:?}");
                }
            }
            Err(e) => prop_assert!(matches!(e, SourceError::BadRunFile { .. }), "{e:?}"),
        }
    }

    #[test]
    fn the_unzipper_never_panics_on_damaged_zips(
        flips in prop::collection::vec((any::<usize>(), any::<u8>()), 0..8),
        cut in any::<usize>(),
        garbage in prop::collection::vec(any::<u8>(), 0..256),
    ) {
        let mut bytes = common::zip_of(&[("run.log", b"FAIL a test\n"), ("convex/a.ts", b"export {}"), ("logo.png", b"\x89PNG\0")]);
        for (at, byte) in flips {
            let at = at % bytes.len();
            bytes[at] = byte;
        }
        bytes.truncate(cut % (bytes.len() + 1));
        let limits = ZipLimits { max_text_file: 1 << 10, max_total: 1 << 16, max_entries: 16 };
        if let Ok(files) = unzip_files(&bytes, limits) {
            prop_assert!(files.len() <= 16);
        }
        let _ = unzip_files(&garbage, limits);
    }
}
