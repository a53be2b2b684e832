//! Reading reports: prior reports for a model (our own exactly from their block, hand-written ones
//! heuristically), the catalog of every report, and the report files by name.

pub(crate) mod catalog;
pub(crate) mod find;
pub(crate) mod legacy;
pub(crate) mod machine_block;
pub(crate) mod prior;
pub(crate) mod report_files;
