//! Every report in the reports folder, own and hand-written, for reviewing them across models and
//! over time (`reports list`, `trend`, `export`, `agreement`, the site). One walk of the tree
//! (the same safe walk as the prior-report search), every file named like a report read through
//! the size limit and parsed like a prior report; the model is our block's, else the report's
//! `Model:` line, else its folder.

use std::path::{Path, PathBuf};

use crate::error::ReportError;
use crate::read::find::{header_model, normalise, walk_reports};
use crate::read::prior::parse_report;
use crate::read::prior_report::{HEADER_BYTES, MAX_REPORT_BYTES, PriorReport, PriorWarning, newest_run_first};
use evaltriage_core::fsread::read_regular;
use evaltriage_core::threads::{default_threads, map_in_threads};

/// One report of the catalog.
#[derive(Debug, Clone, PartialEq)]
pub struct CatalogReport {
    pub report: PriorReport,
    /// The model as the report names it (`anthropic/claude-sonnet-4.6`), else its folder below the
    /// reports folder.
    pub model: String,
    /// The path below the reports folder, `/`-separated.
    pub relative: String,
}

impl CatalogReport {
    /// The key reports of one model share, however each spells it: lower case, dots as dashes,
    /// and a bare name (`claude-opus-4-6`) completed with the provider from its folder.
    pub fn model_key(&self) -> String {
        normalise(&self.model)
    }

    /// Whether any verdict in it has a reviewer's verdict.
    pub fn has_human_verdicts(&self) -> bool {
        self.report.entries.iter().any(|e| e.human.is_some())
    }
}

/// Every report under `root`, newest run first: by when its run ran (see
/// [`PriorReport::run_time`]), then by analysis date, file name and path, descending; so "a model's
/// latest report" is the report of its latest run, however late it was analyzed. Markdown files not named like reports (READMEs, nightly digests) are not
/// reports and are passed over quietly; a report that cannot be read or understood is a warning.
pub fn all_reports(root: &Path) -> (Vec<CatalogReport>, Vec<PriorWarning>) {
    let mut warnings = Vec::new();
    let mut files: Vec<(PathBuf, Vec<String>, String)> = Vec::new();
    walk_reports(root, &mut warnings, |path, components, file_name, _| {
        files.push((path.to_owned(), components.to_vec(), file_name));
    });
    // Reading and parsing is most of the time and each file is independent: a few threads, results
    // in walk order (so warnings come out the same).
    let threads = if files.len() < 64 { 1 } else { default_threads() };
    let slots = map_in_threads(&files, threads, read_entry);
    let mut out = Vec::with_capacity(files.len());
    for (slot, (path, _, _)) in slots.into_iter().zip(&files) {
        match slot {
            Some(Ok(report)) => {
                for note in &report.report.notes {
                    warnings.push(PriorWarning { path: path.clone(), reason: note.clone() });
                }
                out.push(report);
            }
            Some(Err(problems)) => warnings.extend(problems),
            None => warnings.push(PriorWarning { path: path.clone(), reason: "could not be read; skipped".to_owned() }),
        }
    }
    out.sort_by(|a, b| newest_run_first(&a.report, &b.report).then_with(|| b.relative.cmp(&a.relative)));
    (out, warnings)
}

/// Reads and parses one file found by the walk.
fn read_entry(
    (path, components, file_name): &(PathBuf, Vec<String>, String),
) -> Result<CatalogReport, Vec<PriorWarning>> {
    let warn = |reason: String| vec![PriorWarning { path: path.clone(), reason }];
    let text = match read_regular(path, MAX_REPORT_BYTES) {
        Ok(bytes) => String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()),
        Err(problem) => return Err(warn(format!("{}; skipped", problem.kind))),
    };
    let report = parse_report(&text, Some(path)).map_err(|e| warn(format!("{e}; skipped")))?;
    let folder = components.join("/");
    let model = model_of(header_model(header(&text)), components).unwrap_or_else(|| folder.clone());
    let relative = if folder.is_empty() { file_name.clone() } else { format!("{folder}/{file_name}") };
    Ok(CatalogReport { report, model, relative })
}

/// The first bytes of a report, where its `Model:` line is (as the prior-report search reads).
fn header(text: &str) -> &str {
    let mut end = text.len().min(usize::try_from(HEADER_BYTES).unwrap_or(usize::MAX));
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// A report's text, read like a prior report (a regular file only, through the size limit): for
/// `reports show` and `reports review`, which name one file.
pub fn read_report_text(path: &Path) -> Result<String, ReportError> {
    read_regular(path, MAX_REPORT_BYTES).map(|bytes| String::from_utf8_lossy(&bytes).into_owned()).map_err(|problem| {
        ReportError::Unreadable {
            path: path.to_owned(),
            not_found: problem.is_not_found(),
            reason: problem.kind.to_string(),
        }
    })
}

/// One report named by its path, anywhere (inside the reports folder or not), as the catalog would
/// have it: `relative` is the path as given.
pub fn read_one(path: &Path) -> Result<CatalogReport, ReportError> {
    let text = read_report_text(path)?;
    let report = parse_report(&text, Some(path))?;
    let components: Vec<String> = path
        .parent()
        .map(|p| p.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect())
        .unwrap_or_default();
    let tail = &components[components.len().saturating_sub(2)..];
    let model = model_of(header_model(header(&text)), tail).unwrap_or_else(|| tail.join("/"));
    Ok(CatalogReport { report, model, relative: path.display().to_string() })
}

/// The model a report names, completed with the provider when it gives only the bare name and its
/// folder ends in that name (`claude-opus-4-6` in `anthropic/claude-opus-4-6/`).
fn model_of(named: Option<String>, components: &[String]) -> Option<String> {
    let named = named.filter(|m| !m.trim().is_empty())?;
    if named.contains('/') {
        return Some(named);
    }
    match components {
        [.., provider, model] if normalise(model) == normalise(&named) => Some(format!("{provider}/{named}")),
        _ => Some(named),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bare_model_name_takes_its_provider_from_the_folder() {
        let c = |s: &[&str]| s.iter().map(|x| (*x).to_owned()).collect::<Vec<_>>();
        assert_eq!(
            model_of(Some("claude-opus-4-6".into()), &c(&["anthropic", "claude-opus-4-6"])).as_deref(),
            Some("anthropic/claude-opus-4-6")
        );
        assert_eq!(model_of(Some("a/b".into()), &c(&["x", "y"])).as_deref(), Some("a/b"));
        assert_eq!(model_of(Some("gpt".into()), &c(&["x", "y"])).as_deref(), Some("gpt"));
        assert_eq!(model_of(None, &c(&["x", "y"])), None);
    }
}
