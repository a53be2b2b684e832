//! Errors as the user sees them: one line on stderr, and an exit code (2 for usage or input
//! errors, 1 for everything else that stopped a command).

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

impl From<evaltriage_core::TargetError> for CliError {
    fn from(e: evaltriage_core::TargetError) -> Self {
        Self::usage(e)
    }
}
