//! One module per command: each turns its options into settings, calls the pipeline and prints
//! what comes back. No command calls another.

pub mod analyze;
pub mod backfill;
pub mod diff;
pub mod evals;
pub mod findings;
pub mod nightly;
pub mod reports;
pub mod runs;
pub mod site;
pub mod snapshot;
