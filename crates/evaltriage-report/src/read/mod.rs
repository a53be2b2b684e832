//! Reading reports: prior reports for a model (our own exactly from their block, hand-written ones
//! heuristically), the catalog of every report, and the report files by name.

pub(crate) mod catalog;
pub(crate) mod earlier;
pub(crate) mod find;
pub(crate) mod human_verdict;
pub(crate) mod known_gaps;
pub(crate) mod legacy;
pub(crate) mod machine_block;
pub(crate) mod prior;
pub(crate) mod prior_report;
pub(crate) mod report_files;
