//! The benchmark's pipeline steps by name, and the generic first line a failed step's error
//! starts with: what the model, the environment rule and the run's failure reason all read.

use std::fmt;

/// The benchmark's pipeline steps; unknown names are kept as written.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum StepName {
    Filesystem,
    Install,
    Deploy,
    Tsc,
    Eslint,
    Tests,
    Other(String),
}

impl StepName {
    pub fn parse(s: &str) -> Self {
        match s {
            "filesystem" => Self::Filesystem,
            "install" => Self::Install,
            "deploy" => Self::Deploy,
            "tsc" => Self::Tsc,
            "eslint" => Self::Eslint,
            "tests" => Self::Tests,
            other => Self::Other(other.to_owned()),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            Self::Filesystem => "filesystem",
            Self::Install => "install",
            Self::Deploy => "deploy",
            Self::Tsc => "tsc",
            Self::Eslint => "eslint",
            Self::Tests => "tests",
            Self::Other(s) => s,
        }
    }
}

impl fmt::Display for StepName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether a line is a step's generic first line, such as `Error: Failed to typecheck code:`,
/// which names the step and says nothing about the error itself.
pub fn is_step_header(line: &str) -> bool {
    let line = line.trim();
    line.starts_with("Error: Failed to") && line.ends_with(':')
}
