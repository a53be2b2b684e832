//! Reviewing reports across models and over time: human verdicts, trends, run diffs, export
//! records, agreement, and one report as structured data.

pub(crate) mod agreement;
pub(crate) mod export;
pub(crate) mod human;
pub(crate) mod run_diff;
pub(crate) mod structured;
pub(crate) mod trend;
