//! Progress as events: the pipeline says what it is doing, and each face draws it (a bar on a
//! terminal, progress notifications over MCP, nothing at all in a test).

use std::time::Duration;

use evaltriage_fanout::ProgressEvent;
use evaltriage_fanout::batch::RequestCounts;

/// One thing that happened.
#[derive(Debug, Clone)]
pub enum Event {
    /// A phase starts (reading the run, looking for patterns).
    Step(String),
    /// A counted phase starts over `total` items.
    Bar { total: u64, message: String },
    /// One item of the counted phase is done.
    Inc,
    /// The fan-out's own events (classifying, retried, cached, failed).
    Fanout(ProgressEvent),
    /// The work this progress was for is over: clear whatever is drawn.
    Finish,
    /// A line of the nightly's log of its night (listing, each run, the webhook).
    Night(String),
    /// Something worth a warning that did not stop the work (a prior report that could not be
    /// read): the face says it in its own voice (a log line, a line of the night's log).
    Warning(String),
    /// The backfill waits for a batch: how the provider last counted its requests, and how long
    /// the round has waited so far. Sent at every poll and every second between polls.
    BatchWait(BatchWait),
}

/// A batch in flight as the backfill waits for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchWait {
    pub batch_id: String,
    /// The provider's word for where it stands (`validating`, `in_progress`, ...).
    pub state: String,
    pub counts: RequestCounts,
    /// Which of the round's batches this is (from 1), and how many the round has.
    pub nth: usize,
    pub batches: usize,
    /// Since the round started waiting.
    pub waited: Duration,
}

impl BatchWait {
    /// The wait in one line: `batch batch_7 (1 of 2) in_progress: 120/500 done, 2 failed; waited
    /// 3m05s`.
    pub fn line(&self) -> String {
        let of = if self.batches > 1 { format!(" ({} of {})", self.nth, self.batches) } else { String::new() };
        let secs = self.waited.as_secs();
        let waited = if secs >= 60 { format!("{}m{:02}s", secs / 60, secs % 60) } else { format!("{secs}s") };
        format!(
            "batch {}{of} {}: {}/{} done, {} failed; waited {waited}",
            self.batch_id, self.state, self.counts.completed, self.counts.total, self.counts.failed
        )
    }
}

/// Where events go. Implementations must be cheap: events come from the analysis's hot loops.
pub trait Events: Send + Sync + std::fmt::Debug {
    fn send(&self, event: Event);
}

/// Events that go nowhere.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoEvents;

impl Events for NoEvents {
    fn send(&self, _event: Event) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(nth: usize, batches: usize, waited_secs: u64, expected: &str) {
        let wait = BatchWait {
            batch_id: "batch_7".to_owned(),
            state: "in_progress".to_owned(),
            counts: RequestCounts { total: 500, completed: 120, failed: 2 },
            nth,
            batches,
            waited: Duration::from_secs(waited_secs),
        };
        assert_eq!(wait.line(), expected);
    }

    #[test]
    fn a_batch_wait_says_its_request_counts_and_the_time_waited() {
        check(1, 1, 42, "batch batch_7 in_progress: 120/500 done, 2 failed; waited 42s");
        check(2, 3, 185, "batch batch_7 (2 of 3) in_progress: 120/500 done, 2 failed; waited 3m05s");
    }
}
