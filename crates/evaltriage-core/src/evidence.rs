//! The raw evidence for one failed eval: its files, as fetched from a source.
//!
//! Selecting and budgeting what goes to an LLM is `evaltriage-fanout`'s job; this is just what
//! the source could get, with what it could not get recorded as data.

use std::collections::BTreeMap;

use crate::ids::{EvalId, EvalPath};

/// One file of a zip: text (by the extension rule of the benchmark) or binary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileContent {
    Text(String),
    /// A binary file, or a text file that was not valid UTF-8; only its size is kept.
    Binary {
        len: u64,
    },
}

impl FileContent {
    pub fn as_text(&self) -> Option<&str> {
        match self {
            Self::Text(t) => Some(t),
            Self::Binary { .. } => None,
        }
    }
}

/// The files of one zip, by their path inside it (`/`-separated, no leading `./`).
pub type FileSet = BTreeMap<String, FileContent>;

/// Extensions (and bare dot-file names) the benchmark treats as text.
const TEXT_EXTENSIONS: &[&str] = &[
    "ts",
    "tsx",
    "js",
    "jsx",
    "json",
    "md",
    "txt",
    "html",
    "css",
    "yaml",
    "yml",
    "toml",
    "env",
    "log",
    "gitignore",
    "npmrc",
];

/// Whether a file in a zip is text, by the benchmark's extension rule.
pub fn is_text_path(path: &str) -> bool {
    let file = path.rsplit('/').next().unwrap_or(path);
    let ext = file.rsplit_once('.').map_or("", |(_, ext)| ext);
    TEXT_EXTENSIONS.iter().any(|t| t.eq_ignore_ascii_case(ext))
}

/// A text file of a file set by its file name, anywhere in the set but outside the reference
/// answer (`answer/...`); the shortest path wins.
pub fn text_file_named<'a>(files: &'a FileSet, name: &str) -> Option<&'a str> {
    files
        .iter()
        .filter(|(p, _)| p.rsplit('/').next() == Some(name) && !p.starts_with("answer/"))
        .min_by_key(|(p, _)| p.len())
        .and_then(|(_, c)| c.as_text())
}

/// Everything fetched for one failed eval.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Evidence {
    pub eval_id: Option<EvalId>,
    pub eval_path: Option<EvalPath>,
    /// The task text (from the eval document, else the source zip's `TASK.txt`).
    pub task: Option<String>,
    /// The model's generated project (including `run.log`), when it could be fetched.
    pub output_files: FileSet,
    /// The eval's directory: `TASK.txt`, `grader.test.ts`, `answer/...`, maybe `GAPS.txt`.
    pub source_files: FileSet,
    /// What could not be fetched, and why (a zip that would not download, a missing blob).
    pub problems: Vec<String>,
}

impl Evidence {
    /// The source zip's `GAPS.txt`, if any.
    pub fn gaps(&self) -> Option<&str> {
        text_file_named(&self.source_files, "GAPS.txt")
    }

    /// The output zip's `run.log`, if any.
    pub fn run_log(&self) -> Option<&str> {
        text_file_named(&self.output_files, "run.log")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_rule_follows_extensions() {
        for p in ["convex/crons.ts", "package.json", "run.log", ".gitignore", "a/.npmrc", "x.YML", "GAPS.txt"] {
            assert!(is_text_path(p), "{p}");
        }
        for p in ["logo.png", "bun.lockb", "Makefile", "a.wasm"] {
            assert!(!is_text_path(p), "{p}");
        }
    }
}
