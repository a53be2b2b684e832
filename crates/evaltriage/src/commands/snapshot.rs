//! `snapshot`: copy a run from Convex into a local store, for offline and shareable analysis.

use std::io::Write;
use std::path::Path;

use evaltriage_pipeline::Settings;
use evaltriage_pipeline::snapshot::{snapshot as copy_run, summary_json};

use crate::exit::CliError;
use crate::hints::shell_quote;
use crate::output::{emit, emit_json};

pub async fn snapshot(
    target: &str,
    into: &Path,
    settings: &Settings,
    json: bool,
    out: &mut dyn Write,
) -> Result<(), CliError> {
    let summary = copy_run(target, into, settings).await.map_err(|e| {
        let mut e = CliError::from(e);
        if e.message.ends_with("exists and is not a directory") {
            e.message.insert_str(0, "--into ");
        }
        e
    })?;
    if json {
        emit_json(out, &summary_json(&summary))?;
        return if summary.blobs_missing.is_empty() {
            Ok(())
        } else {
            Err(CliError::failed("some blobs could not be copied"))
        };
    }
    let mut text = format!(
        "copied run {} ({} evals) into {}: {} blobs written, {} already there\n",
        summary.run_id,
        summary.evals,
        into.display(),
        summary.blobs_written,
        summary.blobs_already_there
    );
    for missing in &summary.blobs_missing {
        text.push_str(&format!("  could not copy blob {missing}\n"));
    }
    text.push_str(&format!(
        "next: `evaltriage analyze-run {} --store {}`\n",
        summary.run_id,
        shell_quote(&into.display().to_string())
    ));
    emit(out, &text)?;
    if summary.blobs_missing.is_empty() {
        Ok(())
    } else {
        Err(CliError::failed(format!(
            "{} blobs could not be copied; the store holds the rest",
            summary.blobs_missing.len()
        )))
    }
}
