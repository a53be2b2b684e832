//! `snapshot`: copy a run from Convex into a local store, for offline and shareable analysis.

use std::io::Write;
use std::path::Path;

use evaltriage_core::{Target, parse_target};
use serde_json::json;

use crate::commands::{emit, emit_json};
use crate::config::Settings;
use crate::exit::CliError;
use crate::hints::shell_quote;
use crate::sources;

pub async fn snapshot(target: &str, into: &Path, settings: &Settings, out: &mut dyn Write) -> Result<(), CliError> {
    let run_ref = match parse_target(target)? {
        Target::Run(r) => r,
        Target::Path(p) => {
            return Err(CliError::usage(format!(
                "{} is already local; snapshot copies a run from Convex (give a visualizer URL or run id)",
                p.display()
            )));
        }
    };
    if into.exists() && !into.is_dir() {
        return Err(CliError::usage(format!("--into {} exists and is not a directory", into.display())));
    }
    let convex = sources::convex(settings)?;
    let summary = evaltriage_core::source::snapshot(&convex, &run_ref, into).await?;
    if settings.json {
        emit_json(
            out,
            &json!({
                "run_id": summary.run_id.as_str(),
                "run_file": summary.run_file,
                "evals": summary.evals,
                "blobs_written": summary.blobs_written,
                "blobs_already_there": summary.blobs_already_there,
                "blobs_missing": summary.blobs_missing,
            }),
        )?;
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
