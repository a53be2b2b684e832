//! The night's plan, as one pure state machine that the real night and `--dry-run` both step
//! through, so that what a dry run names is what the night does: which runs wait (unfinished,
//! `--max-runs`, the token budget), which already have a report, which are sampled out, and which
//! are analyzed. Sampling counts every finished run a schedule handles, reported or not, once.

use std::collections::BTreeMap;
use std::path::PathBuf;

use evaltriage_core::source::RunHeader;

use super::state::{Mark, NightlyState};

/// A run of the window with its schedule key, and whether the night has handled it (analyzed,
/// already reported, sampled out, skipped for good): the mark never moves past a run that was not.
#[derive(Debug, Clone)]
pub struct WindowRun {
    pub header: RunHeader,
    pub key: String,
    pub handled: bool,
}

/// The limits of a night.
#[derive(Debug, Clone, Copy, Default)]
pub struct PlanLimits {
    /// Analyze every Nth finished run of a schedule.
    pub sample_every: Option<u32>,
    /// At most this many analyses tonight.
    pub max_runs: Option<usize>,
    /// A hard cap on LLM tokens for the night.
    pub budget_tokens: Option<u64>,
}

/// What the night does with one run, decided before anything is fetched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Not tonight: the reason (still running, `--max-runs` reached).
    Wait(String),
    /// The run has a report already.
    AlreadyReported(PathBuf),
    /// Not sampled: the digest gets its shape only.
    Sampled,
    /// To analyze, if its estimate fits the budget ([`Planner::admit`]).
    Analyze,
}

/// The plan's state as the night goes: per schedule, the finished runs counted so far; the
/// analyses admitted; the tokens left.
#[derive(Debug, Clone)]
pub struct Planner {
    limits: PlanLimits,
    seen: BTreeMap<String, u64>,
    analyses: usize,
    budget_left: Option<u64>,
}

impl Planner {
    pub fn new(limits: PlanLimits, state: &NightlyState) -> Self {
        Self {
            limits,
            seen: state.marks.iter().map(|(k, m): (&String, &Mark)| (k.clone(), m.finished_seen)).collect(),
            analyses: 0,
            budget_left: limits.budget_tokens,
        }
    }

    /// Decides a run; `report` is its existing report, `below_mark` whether a `--since` window
    /// reaches back before the schedule's mark (such a run was counted on an earlier night).
    pub fn decide(&mut self, run: &WindowRun, report: Option<PathBuf>, below_mark: bool) -> Decision {
        let header = &run.header;
        if !header.is_finished() {
            return Decision::Wait(format!("still {}", header.status));
        }
        if let Some(report) = report {
            self.count(run, below_mark);
            return Decision::AlreadyReported(report);
        }
        let n = self.seen.get(&run.key).copied().unwrap_or(0);
        if self.limits.sample_every.is_some_and(|every| every > 1 && !n.is_multiple_of(u64::from(every))) {
            self.count(run, below_mark);
            return Decision::Sampled;
        }
        if let Some(max) = self.limits.max_runs.filter(|max| self.analyses >= *max) {
            return Decision::Wait(format!("--max-runs {max} reached"));
        }
        Decision::Analyze
    }

    /// Admits an analysis whose estimate is `need` tokens (`None`: no LLM, nothing spent) if it
    /// fits what is left tonight, reserving it; says why it waits otherwise. On admission, the
    /// run is counted as handled for sampling.
    pub fn admit(&mut self, run: &WindowRun, need: Option<u64>, below_mark: bool) -> Result<(), String> {
        if let (Some(left), Some(need)) = (self.budget_left, need) {
            if need > left {
                return Err(format!("token budget: needs about {need} tokens, {left} left tonight"));
            }
            self.budget_left = Some(left - need);
        }
        self.analyses += 1;
        self.count(run, below_mark);
        Ok(())
    }

    /// After an admitted analysis: it spent `spent` tokens against a reservation of `reserved`;
    /// what went past the reservation comes off what is left too.
    pub fn settle(&mut self, reserved: u64, spent: u64) {
        if let Some(left) = &mut self.budget_left {
            *left = left.saturating_sub(spent.saturating_sub(reserved));
        }
    }

    /// The tokens left tonight (`None`: no budget).
    pub fn budget_left(&self) -> Option<u64> {
        self.budget_left
    }

    /// Finished runs counted so far for a schedule.
    pub fn seen(&self, key: &str) -> u64 {
        self.seen.get(key).copied().unwrap_or(0)
    }

    fn count(&mut self, run: &WindowRun, below_mark: bool) {
        if !below_mark {
            *self.seen.entry(run.key.clone()).or_insert(0) += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use evaltriage_core::RunId;

    use super::*;

    fn window_run(key: &str, n: usize, status: &str) -> WindowRun {
        let header = RunHeader {
            run_id: RunId::new(&format!("r{n:07}xxxxxxxx")).unwrap(),
            model: key.to_owned(),
            experiment: "default".into(),
            status: status.into(),
            created_at_ms: n as f64,
            model_id: None,
            provider: None,
            eval_counts: None,
            benchmark_version: None,
        };
        WindowRun { header, key: key.to_owned(), handled: false }
    }

    /// Steps through a window as the dry run does: every admitted analysis spends its estimate.
    fn plan(limits: PlanLimits, runs: &[(WindowRun, bool)], need: Option<u64>) -> Vec<String> {
        let mut planner = Planner::new(limits, &NightlyState::default());
        runs.iter()
            .map(|(run, reported)| match planner.decide(run, reported.then(|| PathBuf::from("r.md")), false) {
                Decision::Analyze => match planner.admit(run, need, false) {
                    Ok(()) => "analyze".to_owned(),
                    Err(why) => format!("wait: {why}"),
                },
                Decision::Wait(why) => format!("wait: {why}"),
                Decision::AlreadyReported(_) => "reported".to_owned(),
                Decision::Sampled => "sampled".to_owned(),
            })
            .collect()
    }

    #[test]
    fn sampling_counts_reported_runs_too() {
        let runs = [
            (window_run("a", 1, "completed"), true),
            (window_run("a", 2, "completed"), false),
            (window_run("a", 3, "running"), false),
            (window_run("a", 4, "completed"), false),
            (window_run("a", 5, "completed"), false),
        ];
        let limits = PlanLimits { sample_every: Some(2), ..PlanLimits::default() };
        assert_eq!(plan(limits, &runs, None), ["reported", "sampled", "wait: still running", "analyze", "sampled"]);
    }

    #[test]
    fn max_runs_and_the_budget_make_runs_wait() {
        let runs: Vec<_> = (1..=4).map(|n| (window_run("a", n, "completed"), false)).collect();
        let limits = PlanLimits { max_runs: Some(3), budget_tokens: Some(250), ..PlanLimits::default() };
        let budget = "wait: token budget: needs about 100 tokens, 50 left tonight";
        assert_eq!(plan(limits, &runs, Some(100)), ["analyze", "analyze", budget, budget]);
        let limits = PlanLimits { max_runs: Some(1), ..PlanLimits::default() };
        assert_eq!(plan(limits, &runs, None)[1], "wait: --max-runs 1 reached");
    }

    #[test]
    fn spending_past_the_reservation_comes_off_the_budget() {
        let mut planner =
            Planner::new(PlanLimits { budget_tokens: Some(1000), ..PlanLimits::default() }, &NightlyState::default());
        let run = window_run("a", 1, "completed");
        planner.admit(&run, Some(300), false).unwrap();
        planner.settle(300, 450);
        assert_eq!(planner.budget_left(), Some(550));
        planner.settle(300, 100);
        assert_eq!(planner.budget_left(), Some(550), "spending less than reserved gives nothing back");
    }
}
