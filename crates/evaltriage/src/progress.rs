//! Progress on stderr: a spinner while fetching, a bar over the fan-out or a backfill's runs (with
//! the request counts of the batch it waits for), drawn from the pipeline's events. Hidden when stderr is not a terminal, and always under `mcp`, where
//! each change goes to a [`ProgressUpdate`] channel instead (the MCP layer sends them as progress
//! notifications).

use std::time::Duration;

use evaltriage_fanout::ProgressEvent;
use evaltriage_pipeline::{Event, Events};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use tokio::sync::mpsc::UnboundedSender;

/// One change of a hidden progress bar: items done of the total (when a bar runs), and what is
/// happening, already redacted and sanitized.
#[derive(Debug, Clone, PartialEq)]
pub struct ProgressUpdate {
    pub done: u64,
    pub total: Option<u64>,
    pub message: String,
}

/// Draws progress for one command.
#[derive(Debug, Clone)]
pub struct Progress {
    bar: ProgressBar,
    /// Where each change goes when nothing is drawn (`mcp`).
    updates: Option<UnboundedSender<ProgressUpdate>>,
}

impl Progress {
    pub fn new() -> Self {
        // indicatif's stderr target draws nothing when stderr is not a terminal.
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
        bar.set_style(
            ProgressStyle::with_template("{spinner} {msg}").unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        bar.enable_steady_tick(Duration::from_millis(120));
        Self { bar, updates: None }
    }

    /// Progress that draws nothing anywhere and sends each change to `updates` instead.
    pub fn to_channel(updates: UnboundedSender<ProgressUpdate>) -> Self {
        Self { bar: ProgressBar::hidden(), updates: Some(updates) }
    }

    pub fn step(&self, message: impl Into<String>) {
        self.message(&message.into());
    }

    /// Every message the bar draws goes through the redaction layer and the terminal sanitizer:
    /// eval paths and server text are foreign.
    fn message(&self, message: &str) {
        self.bar.set_message(evaltriage_core::redact::for_terminal(message));
        self.send();
    }

    fn send(&self) {
        if let Some(updates) = &self.updates {
            let _ = updates.send(ProgressUpdate {
                done: self.bar.position(),
                total: self.bar.length().filter(|&n| n > 0),
                message: self.bar.message(),
            });
        }
    }

    /// Starts a bar over `total` items.
    pub fn bar(&self, total: u64, message: &str) {
        self.bar.set_length(total);
        self.bar.set_position(0);
        self.bar.set_style(
            ProgressStyle::with_template("{spinner} {msg} [{bar:30}] {pos}/{len} {wide_msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        self.message(message);
    }

    pub fn inc(&self) {
        self.bar.inc(1);
        self.send();
    }

    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }

    /// Draws one of the fan-out's events.
    fn fanout(&self, event: ProgressEvent) {
        match event {
            ProgressEvent::Planned { total } => self.bar(total as u64, "classifying"),
            ProgressEvent::Started { eval_path } => self.message(&format!("classifying {eval_path}")),
            ProgressEvent::Retried { eval_path, attempt, reason } => {
                tracing::info!(%eval_path, attempt, %reason, "answer rejected, asking again");
            }
            ProgressEvent::CacheHit { eval_path } => self.message(&format!("cached {eval_path}")),
            ProgressEvent::Done { .. } => self.inc(),
            ProgressEvent::Failed { eval_path, reason } => {
                tracing::warn!(%eval_path, %reason, "analysis failed");
                self.inc();
            }
            ProgressEvent::Skipped { .. } => self.inc(),
        }
    }
}

impl Events for Progress {
    fn send(&self, event: Event) {
        match event {
            Event::Step(message) => self.step(message),
            Event::Bar { total, message } => self.bar(total, &message),
            Event::Inc => self.inc(),
            Event::Fanout(event) => self.fanout(event),
            Event::Finish => self.finish(),
            // A line of the log goes above the bar, which is drawn again under it.
            Event::Night(line) => self.bar.suspend(|| NightLog.send(Event::Night(line))),
            Event::Warning(message) => tracing::warn!("{message}"),
            Event::BatchWait(wait) => self.message(&wait.line()),
        }
    }
}

/// The nightly's log: one line per step of the night on stderr, through the redaction layer and
/// the terminal sanitizer like every other output.
#[derive(Debug, Clone, Copy)]
pub struct NightLog;

impl Events for NightLog {
    fn send(&self, event: Event) {
        use std::io::Write;
        let line = match event {
            Event::Night(line) => line,
            Event::Warning(message) => format!("warning: {message}"),
            _ => return,
        };
        let mut stderr = std::io::stderr().lock();
        let _ = writeln!(stderr, "{}", evaltriage_core::redact::for_terminal(&line));
    }
}

#[cfg(test)]
mod tests {
    use evaltriage_fanout::batch::RequestCounts;
    use evaltriage_pipeline::BatchWait;

    use super::*;

    #[test]
    fn a_backfill_bar_counts_runs_and_shows_the_batch_it_waits_for() {
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let progress = Progress::to_channel(tx);
        let events: &dyn Events = &progress;
        events.send(Event::Bar { total: 500, message: "backfill: runs written".to_owned() });
        events.send(Event::Inc);
        events.send(Event::BatchWait(BatchWait {
            batch_id: "batch_3".to_owned(),
            state: "in_progress".to_owned(),
            counts: RequestCounts { total: 4_000, completed: 1_250, failed: 3 },
            nth: 1,
            batches: 2,
            waited: Duration::from_secs(95),
        }));
        let mut last = None;
        while let Ok(update) = rx.try_recv() {
            last = Some(update);
        }
        let last = last.expect("updates");
        assert_eq!((last.done, last.total), (1, Some(500)), "one run of 500 written");
        assert_eq!(last.message, "batch batch_3 (1 of 2) in_progress: 1250/4000 done, 3 failed; waited 1m35s");
    }
}
