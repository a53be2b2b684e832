//! The crate's error type.

use std::path::PathBuf;

/// What can go wrong reading or writing a report.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// A report for the same run is already there, and `force` was not given.
    #[error("a report for this run already exists at {}", path.display())]
    Exists { path: PathBuf },
    /// Another process is producing this report right now (it holds the report's lock).
    #[error("another evaltriage ({holder}) is analyzing this run into {}; nothing was spent or written by this one", path.display())]
    Busy { path: PathBuf, holder: String },
    /// A report that could not be understood.
    #[error("cannot understand the report {}: {reason}", path.display())]
    NotUnderstood { path: PathBuf, reason: String },
    /// The report path has no folder or file name, or its file name is not `<prefix>_<date>.md`.
    #[error("invalid report path {}: {reason}", path.display())]
    InvalidPath { path: PathBuf, reason: &'static str },
    /// A report asked for by name that cannot be read: missing, not a regular file, too large, or
    /// reached through a link that leads out of the reports folder.
    #[error("cannot read the report {}: {reason}", path.display())]
    Unreadable { path: PathBuf, reason: String, not_found: bool },
    /// A file system operation failed.
    #[error("cannot {action} {}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}
