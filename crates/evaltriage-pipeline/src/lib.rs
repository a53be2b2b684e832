//! The evaltriage application as a library: settings resolved once, the analysis of one run
//! (resolve → write), the nightly's plan, state and loop, and the review operations — each a
//! function returning data, with progress going out as [`Event`]s. The faces (the CLI, the MCP
//! server) build settings, call these and render what comes back; this crate prints nothing,
//! reads no environment and builds no runtime.

pub mod analyze;
pub mod backfill;
pub mod baseline;
pub mod cost;
pub mod error;
pub mod evals;
pub mod events;
pub mod findings;
pub mod nightly;
pub mod reuse;
pub mod review;
pub mod runs;
pub mod settings;
pub mod since;
pub mod snapshot;
pub mod source;

pub use error::{Error, ErrorKind};
pub use events::{BatchWait, Event, Events, NoEvents};
pub use settings::{AnalysisOptions, AnalysisSettings, ClassifierKind, FileConfig, Settings, SourceOptions};
pub use source::AnySource;

/// The first non-empty line of a text, trimmed, at most `max` characters (an ellipsis marks a cut).
pub fn one_line(text: &str, max: usize) -> String {
    let line = text.lines().map(str::trim).find(|l| !l.is_empty()).unwrap_or("");
    if line.chars().count() > max {
        line.chars().take(max.saturating_sub(1)).collect::<String>() + "…"
    } else {
        line.to_owned()
    }
}
