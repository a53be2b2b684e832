//! Errors as the user sees them: one line on stderr, and an exit code by one rule.
//!
//! - **2**: the user's input is wrong — a target, an option, a config file, a file or folder they
//!   named (a store, the reports folder) that is unusable, a report that already exists.
//! - **1**: anything else went wrong — a server, the network, the disk, another evaltriage holding
//!   the run — whether or not a report was written; the message says which. An analysis that
//!   finished with per-eval problems (a verdict in error, evidence that could not be fetched)
//!   also exits 1, after writing its report.

use std::fmt;
use std::process::ExitCode;

use evaltriage_core::source::SourceError;

/// An error that ends a command.
#[derive(Debug)]
pub struct CliError {
    pub code: u8,
    pub message: String,
}

impl CliError {
    /// Bad input: a target, option, config or file the user gave. Exit code 2.
    pub fn usage(message: impl fmt::Display) -> Self {
        Self { code: 2, message: message.to_string() }
    }

    /// The command could not complete (network, I/O). Exit code 1.
    pub fn failed(message: impl fmt::Display) -> Self {
        Self { code: 1, message: message.to_string() }
    }

    pub fn exit_code(&self) -> ExitCode {
        ExitCode::from(self.code)
    }
}

impl From<SourceError> for CliError {
    fn from(e: SourceError) -> Self {
        match &e {
            SourceError::RunNotFound(_)
            | SourceError::NotACodingRun(_)
            | SourceError::NoSuchEval(_)
            | SourceError::BadRunFile { .. }
            | SourceError::Store(_)
            | SourceError::WrongRun { local: true, .. } => Self::usage(e),
            // A store file the user named that is a device, a pipe, too large or outside the store.
            SourceError::File(read) if read.is_unusable_input() => Self::usage(e),
            SourceError::Function { message, .. } if message.contains("ArgumentValidationError") => Self::usage(e),
            SourceError::Http { status, .. } if (400..500).contains(status) && *status != 429 => Self::usage(e),
            SourceError::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound => Self::usage(e),
            _ => Self::failed(e),
        }
    }
}

/// File-system errors that mean a folder the user named cannot be used as it is (a file where a
/// folder should be, no permission, a read-only file system): their input, not a failure.
fn is_unusable_path(e: &std::io::Error) -> bool {
    use std::io::ErrorKind::{
        AlreadyExists, IsADirectory, NotADirectory, NotFound, PermissionDenied, ReadOnlyFilesystem,
    };
    matches!(e.kind(), PermissionDenied | ReadOnlyFilesystem | NotADirectory | IsADirectory | AlreadyExists | NotFound)
}

impl From<evaltriage_report::ReportError> for CliError {
    fn from(e: evaltriage_report::ReportError) -> Self {
        use evaltriage_report::ReportError;
        match &e {
            ReportError::Exists { .. } => Self::usage(e),
            ReportError::Busy { .. } => Self::failed(e),
            ReportError::Io { source, .. } => {
                let message = format!("{e}: {source}; no report was written");
                if is_unusable_path(source) { Self::usage(message) } else { Self::failed(message) }
            }
            ReportError::InvalidPath { .. } => Self::usage(format!("{e}; no report was written")),
            ReportError::NotUnderstood { .. } => Self::failed(format!("{e}; no report was written")),
            ReportError::Unreadable { .. } => Self::usage(e),
        }
    }
}

impl From<evaltriage_core::TargetError> for CliError {
    fn from(e: evaltriage_core::TargetError) -> Self {
        Self::usage(e)
    }
}
