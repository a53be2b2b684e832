//! The raw evidence for one failed eval: its files, as fetched from a source.
//!
//! Selecting and budgeting what goes to an LLM is `evaltriage-fanout`'s job; this is just what
//! the source could get, with what it could not get recorded as data.

use std::collections::BTreeMap;
use std::fmt;

use crate::ids::{EvalId, EvalPath};
use crate::model::{Step, StepStatus};
use crate::usage::Usage;

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
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Evidence {
    pub eval_id: Option<EvalId>,
    pub eval_path: Option<EvalPath>,
    /// The task text (from the eval document, else the source zip's `TASK.txt`).
    pub task: Option<String>,
    /// The model's generated project (including `run.log`), when it could be fetched.
    pub output_files: FileSet,
    /// The eval's directory: `TASK.txt`, `grader.test.ts`, `answer/...`, maybe `GAPS.txt`.
    pub source_files: FileSet,
    /// What could not be fetched, and why (a zip that would not download, a missing blob, a file
    /// of an unpacked blob that was refused). Empty means the evidence is complete.
    pub problems: Vec<EvidenceProblem>,
    /// The steps that ran, in order (a step that did not run is absent; February's `skipped`
    /// steps are left out too).
    pub steps: Vec<Step>,
    /// The generation's usage, when the eval recorded it.
    pub usage: Option<Usage>,
    /// The most output tokens the benchmark lets this model generate
    /// ([`crate::usage::benchmark_max_output_tokens`]), when the model is known.
    pub max_output_tokens: Option<u64>,
    /// A scored sample's input, target, answer, scores and transcript, when the eval is one
    /// (an Inspect log); such an eval has no steps and no zips.
    pub sample: Option<crate::sample::SampleEvidence>,
}

/// The file the runner writes when the model's answer parsed to no files: the raw answer, cut at
/// 16,000 characters.
pub const RAW_MODEL_RESPONSE: &str = "raw_model_response.md";

/// A `[setup]` line of `run.log`: an edit the harness made to the model's project before tsc
/// (`[setup] dropped unresolvable tsconfig types: ...`, `[setup] normalized tsconfig resolution:
/// ...`).
pub fn setup_lines(run_log: &str) -> Vec<&str> {
    run_log.lines().map(str::trim_end).filter(|l| l.trim_start().starts_with("[setup]")).collect()
}

/// The two blobs an eval's evidence comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EvidencePart {
    /// The output zip: the model's project and `run.log`.
    Output,
    /// The eval source zip: `TASK.txt`, the grader, `answer/`, `GAPS.txt`.
    EvalSource,
}

impl fmt::Display for EvidencePart {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Output => "model output",
            Self::EvalSource => "eval source",
        })
    }
}

/// Evidence that could not be fetched: which blob, which file in it (`None`: the whole blob is
/// missing), and why. Displays as one line: `eval source: blob kg2… answered HTTP 500: …` or
/// `model output file run.log: not a regular file (a named pipe)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EvidenceProblem {
    pub part: EvidencePart,
    pub file: Option<String>,
    pub reason: String,
}

impl EvidenceProblem {
    /// The whole blob of `part` is missing.
    pub fn missing(part: EvidencePart, reason: impl Into<String>) -> Self {
        Self { part, file: None, reason: reason.into() }
    }

    /// One file of `part`'s blob was left out.
    pub fn file(part: EvidencePart, file: impl Into<String>, reason: impl Into<String>) -> Self {
        Self { part, file: Some(file.into()), reason: reason.into() }
    }
}

impl fmt::Display for EvidenceProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.file {
            None => write!(f, "{}: {}", self.part, self.reason),
            Some(file) => write!(f, "{} file {file}: {}", self.part, self.reason),
        }
    }
}

impl Evidence {
    /// No evidence at all, because of `reason` (both blobs recorded as missing).
    pub fn unavailable(reason: &str) -> Self {
        Self {
            problems: vec![
                EvidenceProblem::missing(EvidencePart::Output, reason),
                EvidenceProblem::missing(EvidencePart::EvalSource, reason),
            ],
            ..Self::default()
        }
    }

    /// Whether the whole blob of `part` could not be fetched.
    pub fn is_missing(&self, part: EvidencePart) -> bool {
        self.problems.iter().any(|p| p.part == part && p.file.is_none())
    }

    /// Whether `part` is incomplete: its blob is missing or a file of it was left out. A file
    /// absent from an incomplete part (say `GAPS.txt` from the eval source) may exist.
    pub fn is_incomplete(&self, part: EvidencePart) -> bool {
        self.problems.iter().any(|p| p.part == part)
    }

    /// The source zip's `GAPS.txt`, if any.
    pub fn gaps(&self) -> Option<&str> {
        text_file_named(&self.source_files, "GAPS.txt")
    }

    /// The output zip's `run.log`, if any.
    pub fn run_log(&self) -> Option<&str> {
        text_file_named(&self.output_files, "run.log")
    }

    /// The harness's own edits to the project, from `run.log`'s `[setup]` lines.
    pub fn setup_lines(&self) -> Vec<&str> {
        self.run_log().map(setup_lines).unwrap_or_default()
    }

    /// Whether the eval is graded on the files alone (its source's `eval.json` says
    /// `"pipeline": "static"`): no install, deploy, tsc or eslint.
    pub fn is_static_pipeline(&self) -> bool {
        text_file_named(&self.source_files, "eval.json")
            .and_then(|t| serde_json::from_str::<serde_json::Value>(t).ok())
            .is_some_and(|v| v.get("pipeline").and_then(serde_json::Value::as_str) == Some("static"))
    }

    /// The raw answer, when the model's answer parsed to no files: the output zip holds only
    /// `run.log` and `raw_model_response.md`.
    pub fn raw_answer_without_files(&self) -> Option<&str> {
        let raw = self.output_files.get(RAW_MODEL_RESPONSE).and_then(FileContent::as_text)?;
        let only_logs =
            self.output_files.keys().all(|p| p == RAW_MODEL_RESPONSE || p.rsplit('/').next() == Some("run.log"));
        only_logs.then_some(raw)
    }

    /// Whether the step `name` ran (it has a recorded step that is not `skipped`).
    pub fn step_ran(&self, name: &crate::model::StepName) -> bool {
        self.steps.iter().any(|s| &s.name == name && !matches!(s.status, StepStatus::Skipped))
    }

    /// Why the model's answer may have been cut off, when it may: its output reached the model's
    /// output cap, or the saved raw answer was truncated.
    pub fn output_cut(&self) -> Option<String> {
        if let (Some(usage), Some(cap)) = (&self.usage, self.max_output_tokens) {
            if usage.hit_output_cap(cap) {
                return Some(format!(
                    "the generation used {} output tokens, the benchmark's cap for this model ({cap}): the answer \
                     was probably cut off",
                    usage.output_tokens.unwrap_or(cap)
                ));
            }
        }
        let raw = self.output_files.get(RAW_MODEL_RESPONSE).and_then(FileContent::as_text)?;
        let tail = raw.trim_end().lines().last()?.trim();
        (tail.starts_with("[truncated ") && tail.ends_with(" chars]")).then(|| {
            format!("{RAW_MODEL_RESPONSE} was cut by the benchmark at 16,000 characters ({})", &tail[1..tail.len() - 1])
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn problems_say_which_blob_and_file() {
        let e = Evidence {
            problems: vec![
                EvidenceProblem::missing(EvidencePart::EvalSource, "blob x answered HTTP 500"),
                EvidenceProblem::file(EvidencePart::Output, "run.log", "not a regular file (a named pipe)"),
            ],
            ..Evidence::default()
        };
        assert_eq!(e.problems[0].to_string(), "eval source: blob x answered HTTP 500");
        assert_eq!(e.problems[1].to_string(), "model output file run.log: not a regular file (a named pipe)");
        assert!(e.is_missing(EvidencePart::EvalSource) && !e.is_missing(EvidencePart::Output));
        assert!(e.is_incomplete(EvidencePart::Output));
        let none = Evidence::unavailable("eval x is not in this run");
        assert!(none.is_missing(EvidencePart::Output) && none.is_missing(EvidencePart::EvalSource));
    }

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
