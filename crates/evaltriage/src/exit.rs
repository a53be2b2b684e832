//! Errors as the user sees them: one line on stderr, and an exit code by one rule — the only
//! place a pipeline error's kind becomes an exit code.
//!
//! - **2**: the user's input is wrong — a target, an option, a config file, a file or folder they
//!   named (a store, the reports folder) that is unusable, a report that already exists, a key the
//!   LLM endpoint refused.
//! - **1**: anything else went wrong — a server, the network, the disk, another evaltriage holding
//!   the run — whether or not a report was written; the message says which. An analysis that
//!   finished with per-eval problems (a verdict in error, evidence that could not be fetched)
//!   also exits 1, after writing its report.
//! - **3**: a nightly found another nightly holding its lock.
//! - **4**: the run has not finished (`pending`, `running`): nothing was written; analyze it once
//!   it has (`runs show` and `evals list` show what there is so far).

use std::fmt;
use std::process::ExitCode;

use evaltriage_pipeline::{Error, ErrorKind};

/// The exit code of a nightly that found another one holding the lock.
pub const LOCK_HELD_EXIT_CODE: u8 = 3;
/// The exit code of an analysis of a run that has not finished.
pub const NOT_READY_EXIT_CODE: u8 = 4;

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

/// The exit code of each kind of pipeline error.
pub fn code_of(kind: ErrorKind) -> u8 {
    match kind {
        ErrorKind::BadInput | ErrorKind::NotFound | ErrorKind::Exists | ErrorKind::Refused | ErrorKind::Unscored => 2,
        ErrorKind::Locked => LOCK_HELD_EXIT_CODE,
        ErrorKind::NotReady => NOT_READY_EXIT_CODE,
        ErrorKind::Busy | ErrorKind::Unavailable | ErrorKind::Failed => 1,
    }
}

impl From<Error> for CliError {
    /// The pipeline's message with the CLI's own hint for what the user can do next.
    fn from(e: Error) -> Self {
        let hint = match e.kind {
            ErrorKind::Exists => "; pass --force to replace it (its Actions taken section is kept)",
            ErrorKind::Unscored => " (pass --force to analyze it anyway)",
            _ => "",
        };
        Self { code: code_of(e.kind), message: format!("{}{hint}", e.message) }
    }
}
