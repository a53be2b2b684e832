//! The backfill's window: the finished runs between `--since` and `--until` that have no report,
//! oldest first. `runs:listRuns` has no cursor and gives a model's newest 40 runs; when a window
//! reaches before the oldest of them, the model's history (`runs:leaderboardModelHistory`, per
//! experiment asked — or `default` and the experiments the listing saw) adds its complete runs.
//! That history holds at most 100 runs, only complete runs of the current benchmark: what it cannot
//! give (failed runs, older runs) is said in a note, never passed over in silence. A history that
//! cannot be read is a note too; the listed runs are still backfilled.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use evaltriage_core::RunId;
use evaltriage_core::source::{LIST_RUNS_MAX, ListQuery, MODEL_HISTORY_MAX, RunHeader, ScoredRun};
use futures::StreamExt;

use super::BackfillOptions;
use crate::error::Error;
use crate::nightly::existing_report;
use crate::runs::timestamp;
use crate::settings::Settings;

/// History calls in flight at once.
const HISTORY_CONCURRENCY: usize = 4;

/// The window's runs, oldest first, and what the digest should say about how they were found.
#[derive(Debug)]
pub(super) struct Window {
    pub runs: Vec<RunHeader>,
    pub notes: Vec<String>,
    /// Runs of `runs` found through a model's history, not the listing.
    pub reached_past_listing: usize,
}

/// The finished runs of the window that have no report, oldest first, at most `max_runs`.
pub(super) async fn window(settings: &Settings, options: &BackfillOptions) -> Result<Window, Error> {
    let query = ListQuery { models: options.models.clone(), experiment: options.experiment.clone(), since_ms: None };
    let listing = crate::runs::listing(settings, &query).await?;
    let now = crate::since::now_ms();
    let since = options.since.map(|s| s.ms(now));
    let until = options.until.map(|s| s.ms(now));
    let mut notes: Vec<String> =
        listing.failed.iter().map(|(m, e)| format!("the runs of {m} could not be listed: {e}")).collect();

    let asks = history_asks(&listing.full, &listing.runs, since, options.experiment.as_deref());
    let mut answers = Vec::new();
    if !asks.is_empty() {
        let convex = crate::source::convex(settings)?;
        let convex = &convex;
        answers = futures::stream::iter(asks)
            .map(|(model, experiment)| async move {
                let answer = convex.model_history(&model, &experiment, MODEL_HISTORY_MAX).await;
                (model, experiment, answer.map_err(|e| e.to_string()))
            })
            .buffered(HISTORY_CONCURRENCY)
            .collect()
            .await;
    }
    let reached = reach(&listing.full, &listing.runs, since, answers);
    notes.extend(reached.notes);

    let listed: HashSet<RunId> = listing.runs.iter().map(|h| h.run_id.clone()).collect();
    let mut from_history: HashSet<RunId> = HashSet::new();
    let unlisted =
        reached.runs.into_iter().filter(|h| !listed.contains(&h.run_id) && from_history.insert(h.run_id.clone()));
    let candidates: Vec<RunHeader> = listing.runs.into_iter().chain(unlisted).collect();
    let mut runs = Vec::new();
    for h in candidates {
        let in_window =
            since.is_none_or(|s| h.created_at_ms >= s) && until.is_none_or(|u| h.created_at_ms < u) && h.is_finished();
        if in_window && existing_report(&settings.reports_dir, &h)?.is_none() {
            runs.push(h);
        }
    }
    runs.sort_by(|a, b| a.created_at_ms.total_cmp(&b.created_at_ms).then_with(|| a.run_id.cmp(&b.run_id)));
    if let Some(max) = options.max_runs {
        runs.truncate(max);
    }
    let reached_past_listing = runs.iter().filter(|h| from_history.contains(&h.run_id)).count();
    Ok(Window { runs, notes, reached_past_listing })
}

/// The histories to read: per model whose listing was full and whose oldest listed run is after
/// the window's start, the experiment asked, else `default` and every experiment listed for it.
fn history_asks(
    full: &[(String, f64)],
    listed: &[RunHeader],
    since: Option<f64>,
    experiment: Option<&str>,
) -> Vec<(String, String)> {
    let mut asks = Vec::new();
    for (model, _) in full.iter().filter(|(_, oldest)| since.is_none_or(|s| *oldest > s)) {
        let experiments: BTreeSet<&str> = match experiment {
            Some(e) => [e].into(),
            None => std::iter::once("default")
                .chain(listed.iter().filter(|h| &h.model == model).map(|h| h.experiment.as_str()))
                .collect(),
        };
        asks.extend(experiments.into_iter().map(|e| (model.clone(), e.to_owned())));
    }
    asks
}

/// What the histories add to the listing: their runs as headers (complete, the model's slug, the
/// experiment asked, the endpoint provider and model id of the model's listed runs), and the notes
/// saying what they could not reach.
#[derive(Debug, Default)]
struct Reached {
    runs: Vec<RunHeader>,
    notes: Vec<String>,
}

fn reach(
    full: &[(String, f64)],
    listed: &[RunHeader],
    since: Option<f64>,
    answers: Vec<(String, String, Result<Vec<ScoredRun>, String>)>,
) -> Reached {
    let mut out = Reached::default();
    let oldest_listed: BTreeMap<&str, f64> = full.iter().map(|(m, t)| (m.as_str(), *t)).collect();
    let mut read: BTreeSet<String> = BTreeSet::new();
    for (model, experiment, answer) in answers {
        let oldest = oldest_listed.get(model.as_str()).copied().unwrap_or(f64::INFINITY);
        let runs = match answer {
            Ok(runs) => runs,
            Err(e) => {
                out.notes.push(format!(
                    "{model} ({experiment}): its runs before {} could not be read from runs:leaderboardModelHistory ({e}); they were not seen",
                    timestamp(oldest)
                ));
                continue;
            }
        };
        read.insert(model.clone());
        if runs.len() >= MODEL_HISTORY_MAX as usize {
            let first = runs.iter().map(|r| r.created_at_ms).fold(f64::INFINITY, f64::min);
            if since.is_none_or(|s| first > s) {
                out.notes.push(format!(
                    "{model} ({experiment}): runs:leaderboardModelHistory gives its latest {MODEL_HISTORY_MAX} complete runs, from {}; runs before were not seen",
                    timestamp(first)
                ));
            }
        }
        let like = listed.iter().find(|h| h.model == model);
        out.runs.extend(runs.into_iter().map(|r| RunHeader {
            run_id: r.run_id,
            model: model.clone(),
            experiment: experiment.clone(),
            status: "completed".to_owned(),
            created_at_ms: r.created_at_ms,
            model_id: like.and_then(|h| h.model_id.clone()),
            provider: like.and_then(|h| h.provider.clone()),
            eval_counts: None,
            benchmark_version: None,
        }));
    }
    for model in read {
        let oldest = oldest_listed.get(model.as_str()).copied().unwrap_or(f64::INFINITY);
        out.notes.push(format!(
            "{model} has more runs than runs:listRuns returns ({LIST_RUNS_MAX}): before {}, only its complete runs of the current benchmark were found (runs:leaderboardModelHistory); failed runs there were not seen",
            timestamp(oldest)
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(model: &str, n: u32, experiment: &str) -> RunHeader {
        RunHeader {
            run_id: RunId::new(&format!("r{n:07}xxxxxxxx")).unwrap(),
            model: model.to_owned(),
            experiment: experiment.to_owned(),
            status: "failed".to_owned(),
            created_at_ms: f64::from(n),
            model_id: Some(format!("id-{model}")),
            provider: Some("openrouter".to_owned()),
            eval_counts: None,
            benchmark_version: None,
        }
    }

    fn scored(n: u32) -> ScoredRun {
        ScoredRun {
            run_id: RunId::new(&format!("r{n:07}xxxxxxxx")).unwrap(),
            created_at_ms: f64::from(n),
            total_score: Some(0.5),
            scores: BTreeMap::new(),
        }
    }

    #[test]
    fn only_full_models_whose_listing_starts_inside_the_window_are_asked_for_each_experiment() {
        let full = [("a/full".to_owned(), 100.0), ("b/full".to_owned(), 100.0)];
        let listed = [header("a/full", 100, "no_guidelines"), header("b/full", 100, "default")];
        let asks = history_asks(&full, &listed, Some(50.0), None);
        assert_eq!(
            asks,
            [
                ("a/full".into(), "default".into()),
                ("a/full".into(), "no_guidelines".into()),
                ("b/full".into(), "default".into())
            ]
        );
        assert!(history_asks(&full, &listed, Some(150.0), None).is_empty(), "the listing covers a window from 150");
        assert_eq!(
            history_asks(&full[..1], &listed, None, Some("web_search")),
            [("a/full".into(), "web_search".into())]
        );
    }

    #[test]
    fn history_runs_become_complete_headers_and_what_it_cannot_reach_is_said() {
        let full = [("a/m".to_owned(), 500.0)];
        let listed = [header("a/m", 500, "default")];
        let answers = vec![
            ("a/m".to_owned(), "default".to_owned(), Ok(vec![scored(10), scored(20)])),
            ("a/m".to_owned(), "agents_md".to_owned(), Err("HTTP 503".to_owned())),
        ];
        let reached = reach(&full, &listed, Some(0.0), answers);
        assert_eq!(reached.runs.len(), 2);
        let h = &reached.runs[0];
        assert_eq!((h.status.as_str(), h.model.as_str(), h.experiment.as_str()), ("completed", "a/m", "default"));
        assert_eq!(h.provider.as_deref(), Some("openrouter"), "the folder is the model's listed runs' folder");
        assert_eq!(reached.notes.len(), 2, "{:?}", reached.notes);
        assert!(reached.notes[0].contains("(agents_md)") && reached.notes[0].contains("HTTP 503"));
        assert!(reached.notes[1].contains("failed runs there were not seen"), "{}", reached.notes[1]);
    }

    #[test]
    fn a_history_of_a_hundred_runs_that_starts_inside_the_window_says_so() {
        let full = [("a/m".to_owned(), 5_000.0)];
        let hundred: Vec<ScoredRun> = (1000..1100).map(scored).collect();
        let answers = |runs: &Vec<ScoredRun>| vec![("a/m".to_owned(), "default".to_owned(), Ok(runs.clone()))];
        let short = reach(&full, &[], Some(0.0), answers(&hundred));
        assert!(short.notes.iter().any(|n| n.contains("latest 100 complete runs")), "{:?}", short.notes);
        let enough = reach(&full, &[], Some(1_000.0), answers(&hundred));
        assert!(!enough.notes.iter().any(|n| n.contains("latest 100 complete runs")), "{:?}", enough.notes);
    }
}
