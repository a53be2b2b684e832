//! The pipeline's one error: a message (one lowercase line, no hint tied to a face) and a kind
//! that says what went wrong, which each face turns into its own exit code or error result and
//! completes with its own hints (a CLI flag is not an MCP argument).

use std::fmt;

use evaltriage_core::source::SourceError;
use evaltriage_report::ReportError;

/// What kind of failure ended an operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The caller's input is wrong: a target, an option, a config value, a file or folder they
    /// named that cannot be used.
    BadInput,
    /// What the input names does not exist (a run, an eval, a report).
    NotFound,
    /// A report for this run and scope already exists; replacing it needs the caller's say-so.
    Exists,
    /// The LLM endpoint refused the key: no further call may be sent.
    Refused,
    /// The run has not finished (`pending`, `running`): it gets a report once it has.
    NotReady,
    /// The benchmark itself does not score the run (zero tokens, preflight, answer validation,
    /// stuck): analyzing it needs the caller's say-so.
    Unscored,
    /// Another process holds what this one needs (a nightly's lock).
    Locked,
    /// Another analysis or review holds this report's lock.
    Busy,
    /// A server, the network or the disk failed.
    Unavailable,
    /// Anything else that kept the operation from completing.
    Failed,
}

/// An error that ends an operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    pub kind: ErrorKind,
    pub message: String,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

impl Error {
    pub fn new(kind: ErrorKind, message: impl fmt::Display) -> Self {
        Self { kind, message: message.to_string() }
    }

    /// Bad input from the caller.
    pub fn bad_input(message: impl fmt::Display) -> Self {
        Self::new(ErrorKind::BadInput, message)
    }

    /// Something that should have worked did not.
    pub fn failed(message: impl fmt::Display) -> Self {
        Self::new(ErrorKind::Failed, message)
    }

    /// Whether the caller's input was at fault (bad, missing, or an existing report).
    pub fn is_input(&self) -> bool {
        matches!(
            self.kind,
            ErrorKind::BadInput | ErrorKind::NotFound | ErrorKind::Exists | ErrorKind::Refused | ErrorKind::Unscored
        )
    }
}

impl From<SourceError> for Error {
    fn from(e: SourceError) -> Self {
        let kind = match &e {
            SourceError::RunNotFound(_) | SourceError::NoSuchEval(_) => ErrorKind::NotFound,
            SourceError::NotACodingRun(_)
            | SourceError::BadRunFile { .. }
            | SourceError::Store(_)
            | SourceError::WrongRun { local: true, .. } => ErrorKind::BadInput,
            // A store file the user named that is a device, a pipe, too large or outside the store.
            SourceError::File(read) if read.is_unusable_input() => ErrorKind::BadInput,
            SourceError::Function { message, .. } if message.contains("ArgumentValidationError") => ErrorKind::BadInput,
            SourceError::Http { status, .. } if (400..500).contains(status) && *status != 429 => ErrorKind::BadInput,
            SourceError::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound => ErrorKind::NotFound,
            // A store folder that is a file, a pipe, a link loop, or unreadable: the user's to fix.
            SourceError::Io { source, .. } if is_unusable_path(source) => ErrorKind::BadInput,
            _ => ErrorKind::Unavailable,
        };
        Self::new(kind, e)
    }
}

/// File-system errors that mean a folder the user named cannot be used as it is (a file where a
/// folder should be, no permission, a read-only file system): their input, not a failure.
pub fn is_unusable_path(e: &std::io::Error) -> bool {
    use std::io::ErrorKind::{
        AlreadyExists, InvalidInput, IsADirectory, NotADirectory, NotFound, PermissionDenied, ReadOnlyFilesystem,
    };
    // A loop of symbolic links (ELOOP; its ErrorKind is not stable yet).
    const ELOOP: i32 = if cfg!(target_os = "macos") { 62 } else { 40 };
    e.raw_os_error() == Some(ELOOP)
        || matches!(
            e.kind(),
            PermissionDenied
                | ReadOnlyFilesystem
                | NotADirectory
                | IsADirectory
                | AlreadyExists
                | NotFound
                | InvalidInput
        )
}

impl From<ReportError> for Error {
    fn from(e: ReportError) -> Self {
        match &e {
            ReportError::Exists { .. } => Self::new(ErrorKind::Exists, e),
            ReportError::Busy { .. } => Self::new(ErrorKind::Busy, e),
            ReportError::Io { source, .. } => {
                let message = format!("{e}: {source}; no report was written");
                let kind = if is_unusable_path(source) { ErrorKind::BadInput } else { ErrorKind::Failed };
                Self::new(kind, message)
            }
            ReportError::InvalidPath { .. } => Self::bad_input(format!("{e}; no report was written")),
            ReportError::NotUnderstood { .. } => Self::failed(format!("{e}; no report was written")),
            ReportError::Unreadable { .. } => Self::bad_input(e),
        }
    }
}

impl From<evaltriage_core::TargetError> for Error {
    fn from(e: evaltriage_core::TargetError) -> Self {
        Self::bad_input(e)
    }
}
