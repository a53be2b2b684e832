//! Progress as events: the pipeline says what it is doing, and each face draws it (a bar on a
//! terminal, progress notifications over MCP, nothing at all in a test).

use evaltriage_fanout::ProgressEvent;

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
