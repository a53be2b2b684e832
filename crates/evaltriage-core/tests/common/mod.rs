//! Shared pieces of evaltriage-core's integration tests: a one-eval run document and zips.

use std::io::Write;

use serde_json::{Value, json};

pub const RUN: &str = "jn7ak4x9m2qw8hd5tz3vc6pe1r0bfs7g";
pub const EVAL: &str = "jh7aaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
pub const OUTPUT_BLOB: &str = "kg2outputaaaaaaaaaaaaaaaaaaaaaaa";
pub const SOURCE_BLOB: &str = "kg2sourceaaaaaaaaaaaaaaaaaaaaaaa";

/// A run with one failed eval whose output and source are the two blobs above.
pub fn run_document() -> Value {
    json!({
        "_id": RUN,
        "_creationTime": 1763012345678.0,
        "model": "anthropic/claude-sonnet-4.5",
        "experiment": "default",
        "status": {"kind": "completed", "durationMs": 1000},
        "evals": [{
            "_id": EVAL,
            "evalPath": "000-fundamentals/001-empty",
            "category": "000-fundamentals",
            "name": "001-empty",
            "_creationTime": 1763012345679.0,
            "evalSourceStorageId": SOURCE_BLOB,
            "status": {"kind": "failed", "failureReason": "tests failed", "outputStorageId": OUTPUT_BLOB},
            "steps": [{"_id": "s1", "name": "tests", "_creationTime": 1.0,
                       "status": {"kind": "failed", "failureReason": "1 test failed"}}]
        }]
    })
}

/// A zip holding the given files.
pub fn zip_of(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (name, data) in files {
        w.start_file(*name, zip::write::SimpleFileOptions::default()).unwrap();
        w.write_all(data).unwrap();
    }
    w.finish().unwrap().into_inner()
}
