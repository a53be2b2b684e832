//! The synchronous engine: the window's runs analyzed one at a time, oldest first, with the
//! night's handler, so a failure repeated by a later run reuses the verdict the earlier run's
//! report made. The digest is written after each run.

use std::sync::{Arc, Mutex};

use evaltriage_core::TokenUsage;
use evaltriage_report::{DigestRun, RunOutcome};

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
    let night =
        NightRuns::new(settings, analysis, &night_options, Arc::new(RunLog::new("backfill", Arc::clone(&events))));
    let total = headers.len();
    events.send(Event::Bar { total: total as u64, message: "backfill: runs".to_owned() });
    let (mut failed_any, mut reused) = (false, 0);
    for (i, header) in headers.iter().enumerate() {
        let run = WindowRun { header: header.clone(), key: header.model.clone(), handled: false };
        let outcome = night.handle(&run, false, &planner).await;
        events.send(Event::Inc);
        events.send(Event::Night(format!(
            "backfill: [{}/{total}] run {} · {} · {}: {}",
            i + 1,
            header.run_id,
            header.model,
            header.experiment,
            said(&outcome)
        )));
        failed_any |= matches!(outcome, RunOutcome::Failed { .. });
        if let RunOutcome::Analyzed(a) = &outcome {
            digest.digest.tokens_spent += a.tokens;
        }
        reused += reused_in(&settings.reports_dir, &outcome);
        digest.digest.runs.push(DigestRun {
            run_id: header.run_id.to_string(),
            model: header.model.clone(),
            experiment: header.experiment.clone(),
            outcome,
        });
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
