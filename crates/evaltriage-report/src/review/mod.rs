//! Reviewing reports across models and over time: human verdicts, trends, run diffs, export
//! records and agreement.

pub(crate) mod agreement;
pub(crate) mod export;
pub(crate) mod human;
pub(crate) mod run_diff;
pub(crate) mod trend;
