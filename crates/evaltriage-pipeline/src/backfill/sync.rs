//! The synchronous engine: the window's runs analyzed with the night's handler, up to
//! `--concurrent-runs` at once.
//!
//! **A model's runs, one at a time and in order; models side by side.** Reusing a verdict reads
//! the reports of the same model (a signature holds the model), so a run starts only once every
//! earlier run of its model in the window is written: a failure repeated by a later run finds the
//! earlier run's verdict exactly as it would one run at a time, and costs no call. Runs start in
//! the window's order, skipping those whose model has a run in flight, so with one run at a time
//! the order is the window's. What a run reads of *other* models' reports (known gaps, grader
//! suspects) is what is written when it starts, as for any nightly.
//!
//! **The budget.** Runs are admitted by the plan against their estimate, as in the nightly; the
//! calls of every run in flight then reserve their worst case from one shared budget
//! ([`evaltriage_fanout::SharedBudget`]), so what the runs spend together never passes it.
//!
//! **One writer.** Only this loop writes: after each run, the digest with the rows of the runs done
//! so far in the window's order.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use evaltriage_core::TokenUsage;
use evaltriage_core::source::RunHeader;
use evaltriage_report::{DigestRun, RunOutcome};
use futures::StreamExt;
use futures::stream::FuturesUnordered;

use super::{BackfillOptions, Backfilled, Digest, list_window, reused_in, said};
use crate::error::Error;
use crate::events::{Event, Events};
use crate::nightly::plan::{PlanLimits, Planner, WindowRun};
use crate::nightly::state::NightlyState;
use crate::nightly::{NightOptions, NightRuns, RunLog};
use crate::settings::{AnalysisSettings, Settings};

pub(super) async fn engine(
    settings: &Settings,
    analysis: &AnalysisSettings,
    options: &BackfillOptions,
    events: Arc<dyn Events>,
    mut digest: Digest,
) -> Result<Backfilled, Error> {
    let window = list_window(settings, options, events.as_ref(), &mut digest).await?;
    let headers = window.runs;
    let night_options = NightOptions {
        review_below: options.review_below,
        limits: PlanLimits { budget_tokens: options.budget_tokens, ..PlanLimits::default() },
        ..NightOptions::default()
    };
    let planner = Mutex::new(Planner::new(night_options.limits, &NightlyState::default()));
    let mut night =
        NightRuns::new(settings, analysis, &night_options, Arc::new(RunLog::new("backfill", Arc::clone(&events))));
    night.shared_budget = options.budget_tokens.map(evaltriage_fanout::SharedBudget::new);
    let (night, planner) = (&night, &planner);

    let total = headers.len();
    events.send(Event::Bar { total: total as u64, message: "backfill: runs".to_owned() });
    let mut lanes = Lanes::new(&headers);
    let mut in_flight = FuturesUnordered::new();
    // The window positions of the rows in the digest, in order.
    let mut rows: Vec<usize> = Vec::with_capacity(total);
    let (mut failed_any, mut reused) = (false, 0);
    loop {
        while in_flight.len() < options.concurrent_runs.get() {
            let Some(i) = lanes.start_next() else { break };
            let run = WindowRun { header: headers[i].clone(), key: headers[i].model.clone(), handled: false };
            in_flight.push(async move { (i, night.handle(&run, false, planner).await) });
        }
        let Some((i, outcome)) = in_flight.next().await else { break };
        lanes.finished(i);
        let header = &headers[i];
        events.send(Event::Inc);
        events.send(Event::Night(format!(
            "backfill: [{}/{total}] run {} · {} · {}: {}",
            rows.len() + 1,
            header.run_id,
            header.model,
            header.experiment,
            said(&outcome)
        )));
        failed_any |= matches!(outcome, RunOutcome::Failed { .. });
        if let RunOutcome::Analyzed(a) = &outcome {
            digest.digest.add_spent(a);
        }
        reused += reused_in(&settings.reports_dir, &outcome);
        let at = rows.partition_point(|&j| j < i);
        rows.insert(at, i);
        digest.digest.runs.insert(
            at,
            DigestRun {
                run_id: header.run_id.to_string(),
                model: header.model.clone(),
                experiment: header.experiment.clone(),
                outcome,
            },
        );
        digest.write(&settings.reports_dir)?;
    }
    events.send(Event::Finish);
    failed_any |= night.stopped().is_some();
    digest.digest.finished = true;
    digest.write(&settings.reports_dir)?;
    Ok(Backfilled {
        digest: digest.digest,
        digest_path: digest.path,
        failed_any,
        batch_requests: 0,
        batch_tokens: TokenUsage::default(),
        reused,
        reached_past_listing: window.reached_past_listing,
    })
}

/// Which run of the window may start: the first not started whose model has no run in flight.
#[derive(Debug)]
struct Lanes<'a> {
    models: Vec<&'a str>,
    started: Vec<bool>,
    /// Models with a run in flight.
    busy: HashSet<&'a str>,
    /// Every run before this one has started.
    first_waiting: usize,
}

impl<'a> Lanes<'a> {
    fn new(window: &'a [RunHeader]) -> Self {
        Self {
            models: window.iter().map(|h| h.model.as_str()).collect(),
            started: vec![false; window.len()],
            busy: HashSet::new(),
            first_waiting: 0,
        }
    }

    /// The next run to start, marked started, if one may.
    fn start_next(&mut self) -> Option<usize> {
        while self.started.get(self.first_waiting).copied().unwrap_or(false) {
            self.first_waiting += 1;
        }
        let i = (self.first_waiting..self.models.len())
            .find(|&i| !self.started[i] && !self.busy.contains(self.models[i]))?;
        self.started[i] = true;
        self.busy.insert(self.models[i]);
        Some(i)
    }

    fn finished(&mut self, i: usize) {
        self.busy.remove(self.models[i]);
    }
}

#[cfg(test)]
mod tests {
    use evaltriage_core::RunId;

    use super::*;

    fn window(models: &[&str]) -> Vec<RunHeader> {
        models
            .iter()
            .enumerate()
            .map(|(n, m)| RunHeader {
                run_id: RunId::new(&format!("r{n:07}xxxxxxxx")).unwrap(),
                model: (*m).to_owned(),
                experiment: "default".to_owned(),
                status: "completed".to_owned(),
                created_at_ms: n as f64,
                model_id: None,
                provider: None,
                eval_counts: None,
                benchmark_version: None,
            })
            .collect()
    }

    #[test]
    fn a_model_runs_one_run_at_a_time_in_the_windows_order() {
        let w = window(&["a", "a", "b", "c", "b"]);
        let mut lanes = Lanes::new(&w);
        assert_eq!([lanes.start_next(), lanes.start_next(), lanes.start_next()], [Some(0), Some(2), Some(3)]);
        assert_eq!(lanes.start_next(), None, "a and b each have a run in flight");
        lanes.finished(3);
        assert_eq!(lanes.start_next(), None, "c has no run left");
        lanes.finished(2);
        assert_eq!(lanes.start_next(), Some(4));
        lanes.finished(0);
        assert_eq!(lanes.start_next(), Some(1));
        assert_eq!(lanes.start_next(), None);
    }

    #[test]
    fn one_run_at_a_time_is_the_windows_order() {
        let w = window(&["a", "b", "a", "c"]);
        let mut lanes = Lanes::new(&w);
        let mut order = Vec::new();
        while let Some(i) = lanes.start_next() {
            order.push(i);
            lanes.finished(i);
        }
        assert_eq!(order, [0, 1, 2, 3]);
    }
}
