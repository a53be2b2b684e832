//! Copying a run from Convex into a local store, for offline and shareable analysis.

use std::path::Path;

use evaltriage_core::source::SnapshotSummary;
use evaltriage_core::{Target, parse_target};
use serde_json::{Value, json};

use crate::error::Error;
use crate::settings::Settings;
use crate::source;

/// Copies the run `target` names (a URL or a run id) into the store at `into`. Blobs that could
/// not be copied are listed in the summary; the store holds the rest.
pub async fn snapshot(target: &str, into: &Path, settings: &Settings) -> Result<SnapshotSummary, Error> {
    let run_ref = match parse_target(target)? {
        Target::Run(r) => r,
        Target::Path(p) => {
            return Err(Error::bad_input(format!(
                "{} is already local; a snapshot copies a run from Convex (give a visualizer URL or run id)",
                p.display()
            )));
        }
    };
    if into.exists() && !into.is_dir() {
        return Err(Error::bad_input(format!("{} exists and is not a directory", into.display())));
    }
    let convex = source::convex(settings)?;
    Ok(evaltriage_core::source::snapshot(&convex, &run_ref, into).await?)
}

/// A snapshot's summary as JSON.
pub fn summary_json(summary: &SnapshotSummary) -> Value {
    json!({
        "run_id": summary.run_id.as_str(),
        "run_file": summary.run_file,
        "evals": summary.evals,
        "blobs_written": summary.blobs_written,
        "blobs_already_there": summary.blobs_already_there,
        "blobs_missing": summary.blobs_missing,
    })
}
