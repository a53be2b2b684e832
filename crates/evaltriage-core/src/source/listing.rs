//! Listing runs across models (`runs list`, `nightly`): the models from `models:listModels`
//! (paginated), then each model's newest runs from `runs:listRuns`, or every run of a local store
//! or of a folder of Inspect logs.
//!
//! `runs:listRuns` returns at most [`LIST_RUNS_MAX`] runs, newest first, filtered by experiment
//! *or* model, and has no cursor. Asking once per model finds every model's recent runs even when
//! the newest runs overall are all one model's, and costs one request per page of models plus one
//! per model: it grows with the number of models, never with the number of runs ever made. A
//! model whose answer was full may have older runs this cannot see; [`Listing::full`] names it.

use std::collections::BTreeSet;
use std::path::Path;

use futures::StreamExt;
use serde_json::{Value, json};

use crate::source::convex::ConvexSource;
use crate::source::inspect::{InspectSource, logs_in};
use crate::source::store::StoreSource;
use crate::source::{RunFilter, RunHeader, Source, SourceError, wire};

/// The most runs one `runs:listRuns` call returns.
pub const LIST_RUNS_MAX: u32 = 40;

/// Models asked for per `models:listModels` page.
const MODEL_PAGE_SIZE: u32 = 100;
/// A bound on model pages, against a server whose cursor never ends.
const MAX_MODEL_PAGES: usize = 1_000;
/// `runs:listRuns` calls in flight at once.
const LIST_CONCURRENCY: usize = 4;

/// What to list.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ListQuery {
    /// Model slug globs (`*` any run of characters, `?` one character); empty means every model.
    pub models: Vec<String>,
    /// Only runs of this experiment (`default` for runs that state none).
    pub experiment: Option<String>,
    /// Only runs created after this time (milliseconds since the Unix epoch).
    pub since_ms: Option<f64>,
}

impl ListQuery {
    fn wants_model(&self, slug: &str) -> bool {
        self.models.is_empty() || self.models.iter().any(|g| glob_matches(g, slug))
    }

    fn wants_run(&self, run: &RunHeader) -> bool {
        self.experiment.as_ref().is_none_or(|e| e == &run.experiment)
            && self.since_ms.is_none_or(|since| run.created_at_ms > since)
            && self.wants_model(&run.model)
    }
}

/// The runs found, newest first, and what finding them cost.
#[derive(Debug, Default)]
pub struct Listing {
    pub runs: Vec<RunHeader>,
    /// Requests sent to the deployment (retries not counted); 0 for a store.
    pub requests: usize,
    /// Models whose runs were asked for.
    pub models: usize,
    /// Models whose `runs:listRuns` answer was full ([`LIST_RUNS_MAX`] runs): they may have older
    /// runs the listing cannot see. With the oldest run seen, in milliseconds.
    pub full: Vec<(String, f64)>,
    /// Models whose runs could not be listed, with why. The other models' runs are still listed.
    pub failed: Vec<(String, String)>,
}

/// Lists runs from a Convex deployment, model by model.
pub async fn list_convex(convex: &ConvexSource, query: &ListQuery) -> Result<Listing, SourceError> {
    let mut listing = Listing::default();
    let mut models = Vec::new();
    let mut cursor: Option<String> = None;
    let mut seen_cursors = BTreeSet::new();
    for _ in 0..MAX_MODEL_PAGES {
        let args = json!({"paginationOpts": {"numItems": MODEL_PAGE_SIZE, "cursor": cursor}});
        listing.requests += 1;
        let (page, next) = wire::model_page_from_value(convex.query("models:listModels", args).await?)?;
        models.extend(page.into_iter().filter(|(_, slug)| query.wants_model(slug)));
        match next {
            Some(next) if seen_cursors.insert(next.clone()) => cursor = Some(next),
            _ => break,
        }
    }
    listing.models = models.len();
    listing.requests += models.len();
    let answers: Vec<(String, Result<Vec<RunHeader>, SourceError>)> = futures::stream::iter(models)
        .map(|(id, slug)| async move {
            let args = json!({"modelId": id, "limit": LIST_RUNS_MAX});
            (slug, list_runs_answer(convex.query("runs:listRuns", args).await))
        })
        .buffer_unordered(LIST_CONCURRENCY)
        .collect()
        .await;
    let mut seen = BTreeSet::new();
    for (slug, answer) in answers {
        match answer {
            Ok(runs) => {
                if runs.len() >= LIST_RUNS_MAX as usize {
                    let oldest = runs.iter().map(|r| r.created_at_ms).fold(f64::INFINITY, f64::min);
                    listing.full.push((slug, oldest));
                }
                for run in runs {
                    if query.wants_run(&run) && seen.insert(run.run_id.clone()) {
                        listing.runs.push(run);
                    }
                }
            }
            Err(e) => listing.failed.push((slug, e.to_string())),
        }
    }
    listing.full.sort_by(|a, b| a.0.cmp(&b.0));
    listing.failed.sort();
    sort_newest_first(&mut listing.runs);
    Ok(listing)
}

/// The runs of a `runs:listRuns` answer (a list; a `{page}` object is accepted too).
fn list_runs_answer(answer: Result<Value, SourceError>) -> Result<Vec<RunHeader>, SourceError> {
    let items = match answer? {
        Value::Array(items) => items,
        Value::Object(mut o) => match o.remove("page") {
            Some(Value::Array(items)) => items,
            _ => return Err(SourceError::Malformed("runs:listRuns returned an object without a page".into())),
        },
        _ => return Err(SourceError::Malformed("runs:listRuns did not return a list".into())),
    };
    items.iter().map(|v| wire::header_from_value(v).map_err(SourceError::Malformed)).collect()
}

/// Lists the runs of a local store (it has no model list: every run document is read).
pub async fn list_store(store: &StoreSource, query: &ListQuery) -> Result<Listing, SourceError> {
    let mut runs = store.runs(&RunFilter::default()).await?;
    runs.retain(|r| query.wants_run(r));
    let models: BTreeSet<&str> = runs.iter().map(|r| r.model.as_str()).collect();
    let models = models.len();
    sort_newest_first(&mut runs);
    Ok(Listing { runs, models, ..Listing::default() })
}

/// Lists the runs of a folder of Inspect logs: one per log ([`logs_in`], each read by its header
/// alone). A log that cannot be read is named in `failed` with why; the others are still listed.
pub async fn list_logs(dir: &Path, query: &ListQuery) -> Result<Listing, SourceError> {
    let mut listing = Listing::default();
    for path in logs_in(dir)? {
        let headers = match InspectSource::open(&path) {
            Ok((log, _)) => log.runs(&RunFilter::default()).await,
            Err(e) => Err(e),
        };
        match headers {
            Ok(headers) => listing.runs.extend(headers.into_iter().filter(|h| query.wants_run(h))),
            Err(e) => {
                let name = path.file_name().unwrap_or(path.as_os_str()).to_string_lossy().into_owned();
                listing.failed.push((name, e.to_string()));
            }
        }
    }
    listing.models = listing.runs.iter().map(|r| r.model.as_str()).collect::<BTreeSet<_>>().len();
    sort_newest_first(&mut listing.runs);
    Ok(listing)
}

fn sort_newest_first(runs: &mut [RunHeader]) {
    runs.sort_by(|a, b| b.created_at_ms.total_cmp(&a.created_at_ms).then_with(|| a.run_id.cmp(&b.run_id)));
}

/// Whether `text` matches a glob where `*` stands for any run of characters (`/` included) and
/// `?` for one character; everything else matches itself, case-sensitively.
pub fn glob_matches(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti) = (0, 0);
    // Where the last `*` was, and the text position it currently stands up to.
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        match p.get(pi) {
            Some('*') => {
                star = Some((pi, ti));
                pi += 1;
            }
            Some(&c) if c == '?' || c == t[ti] => {
                pi += 1;
                ti += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    pi = sp + 1;
                    ti = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(pattern: &str, text: &str, expected: bool) {
        assert_eq!(glob_matches(pattern, text), expected, "{pattern} against {text}");
    }

    #[test]
    fn globs_match_model_slugs() {
        check("anthropic/*", "anthropic/claude-opus-4.6", true);
        check("anthropic/*", "openai/gpt-5", false);
        check("*", "anything/at-all", true);
        check("*opus*", "anthropic/claude-opus-4.6", true);
        check("openai/gpt-?", "openai/gpt-5", true);
        check("openai/gpt-?", "openai/gpt-51", false);
        check("openai/gpt-5", "openai/gpt-5", true);
        check("openai/gpt-5", "openai/gpt-5-mini", false);
        check("a*b*c", "aXXbYYc", true);
        check("a*b*c", "aXXbYY", false);
        check("", "", true);
        check("", "x", false);
    }
}
