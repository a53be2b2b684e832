//! `evals list` (one line per eval) and `evals show` (one eval in full, or one of its files).

use std::io::Write;

use evaltriage_core::source::Source;
use evaltriage_pipeline::Settings;
use evaltriage_pipeline::evals::{StatusFilter, eval_file, eval_json, find_eval, list_evals};

use crate::exit::CliError;
use crate::hints::RunAddress;
use crate::output::{emit, emit_either, emit_json};
use crate::present::evals::{eval_text, evals_listed_text, files_text, grading_text, shown};

pub async fn list(
    target: &str,
    status: StatusFilter,
    settings: &Settings,
    json: bool,
    out: &mut dyn Write,
) -> Result<(), CliError> {
    let listed = list_evals(target, status, settings).await?;
    emit_either(out, json, || listed.json(), || evals_listed_text(&listed))
}

/// How `evals show` prints.
#[derive(Debug, Clone, Copy)]
pub struct ShowOptions<'a> {
    /// Print this file of the eval's output or source zip instead.
    pub file: Option<&'a str>,
    /// No cut of long or repeated output.
    pub full: bool,
}

pub async fn show(
    target: &str,
    eval_arg: Option<&str>,
    how: ShowOptions<'_>,
    settings: &Settings,
    json: bool,
    out: &mut dyn Write,
) -> Result<(), CliError> {
    let (source, run, index) = find_eval(target, eval_arg, settings).await.map_err(|e| {
        let mut e = CliError::from(e);
        if e.code == 2 {
            e.message.push_str(&format!(" (see `evaltriage evals list {}`)", crate::hints::shell_quote(target)));
        }
        e
    })?;
    let eval = &run.evals[index];
    let address = RunAddress::new(target, &run.id, settings);
    if let Some(wanted) = how.file {
        let text = eval_file(&source, &run, eval, wanted).await?;
        let mut text = shown(&text, how.full, &address, eval, Some(wanted.trim_start_matches("./")));
        if !text.ends_with('\n') {
            text.push('\n');
        }
        return emit(out, &text);
    }
    if json {
        return emit_json(out, &eval_json(&run, eval));
    }
    let mut text = eval_text(&run, eval, how.full, &address);
    // Name only files that exist: the zips are read for a failed eval (one download each).
    if eval.status.is_failed() {
        let evidence = source.evidence(&run, &eval.id).await.map_err(|e| e.to_string());
        if let Ok(evidence) = &evidence {
            text.push_str(&grading_text(evidence, eval));
        }
        text.push_str(&files_text(evidence.as_ref().map_err(Clone::clone), eval, &address));
    }
    emit(out, &text)
}
