//! Copying a run from a Convex deployment into a local store, so an analysis can be repeated
//! offline and shared.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::ids::RunId;
use crate::source::convex::ConvexSource;
use crate::source::store::{StoreSource, io, write_atomic};
use crate::source::{SourceError, wire};
use crate::target::RunRef;

/// What a snapshot copied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotSummary {
    pub run_id: RunId,
    pub run_file: PathBuf,
    pub evals: usize,
    pub blobs_written: usize,
    pub blobs_already_there: usize,
    /// Blobs that could not be downloaded, with why; the snapshot still holds the rest.
    pub blobs_missing: Vec<String>,
}

/// Copies a run from Convex into a local store: the blobs of its failed evals (each shared blob
/// once), then the run document, so a store never names a run whose blobs are still being written.
pub async fn snapshot(convex: &ConvexSource, run: &RunRef, into: &Path) -> Result<SnapshotSummary, SourceError> {
    // Kept as the server's JSON text and written unchanged: no `Value` tree of a large run.
    let text =
        convex.run_document_text(&run.run_id).await?.ok_or_else(|| SourceError::RunNotFound(run.run_id.clone()))?;
    let parsed = wire::run_from_slice(text.get().as_bytes()).map_err(SourceError::Malformed)?;
    let parsed = super::the_run_asked_for(&run.run_id, parsed, convex.url(), false)?;
    std::fs::create_dir_all(into).map_err(io(into))?;
    let store = StoreSource::open(into)?;
    let mut wanted = BTreeSet::new();
    for eval in parsed.evals.iter().filter(|e| e.status.is_failed()) {
        wanted.extend(eval.output_storage_id().cloned());
        wanted.extend(eval.eval_source_storage_id.clone());
    }
    let (mut written, mut already, mut missing) = (0, 0, Vec::new());
    for id in &wanted {
        if store.has_blob(id) {
            already += 1;
            continue;
        }
        match convex.blob_bytes(id).await {
            Ok(bytes) => {
                store.write_blob(id, &bytes)?;
                written += 1;
            }
            Err(e) => missing.push(format!("{id}: {e}")),
        }
    }
    let run_file = store.runs_dir().join(format!("{}.json", parsed.id));
    let mut bytes = text.get().as_bytes().to_vec();
    drop(text);
    bytes.push(b'\n');
    write_atomic(&run_file, &bytes)?;
    Ok(SnapshotSummary {
        run_id: parsed.id,
        run_file,
        evals: parsed.evals.len(),
        blobs_written: written,
        blobs_already_there: already,
        blobs_missing: missing,
    })
}
