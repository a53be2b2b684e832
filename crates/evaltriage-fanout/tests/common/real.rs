//! The realistic fixtures of `tests/fixtures/real/`: real convex-evals eval folders, model outputs
//! with one plausible mistake each, step outputs and `run.log` in the runner's own formats, and the
//! strings each analysis must contain.

use std::path::{Path, PathBuf};

use evaltriage_core::evidence::is_text_path;
use evaltriage_core::{EvalPath, Evidence, FileContent, FileSet, StepName};
use evaltriage_fanout::Case;
use serde_json::Value;

use super::failure;

/// One realistic failed eval and what its analysis must be given.
pub struct RealCase {
    /// The case's folder name (`crons_wrong_cron_expression`).
    pub name: String,
    pub case: Case,
    /// Strings the first prompt must contain, verbatim.
    pub decisive: Vec<String>,
    /// The label the rules classifier should give.
    pub rules_label: String,
    /// A text its reasoning must quote (the GAPS.txt bullet, the lint rule), when there is one.
    pub rules_quote: Option<String>,
}

pub fn real_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/real")
}

/// Reads a folder into a file set with the benchmark's text rule: text by extension when it is
/// valid UTF-8, else binary.
pub fn read_zip_like(dir: &Path, out: &mut FileSet) {
    fn walk(root: &Path, dir: &Path, out: &mut FileSet) {
        let mut entries: Vec<_> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
        entries.sort();
        for p in entries {
            if p.is_dir() {
                walk(root, &p, out);
                continue;
            }
            let rel = p.strip_prefix(root).unwrap().to_string_lossy().replace('\\', "/");
            let bytes = std::fs::read(&p).unwrap();
            let content = match String::from_utf8(bytes) {
                Ok(text) if is_text_path(&rel) => FileContent::Text(text),
                Ok(text) => FileContent::Binary { len: text.len() as u64 },
                Err(e) => FileContent::Binary { len: e.as_bytes().len() as u64 },
            };
            out.insert(rel, content);
        }
    }
    walk(dir, dir, out);
}

/// One case by folder name.
pub fn real_case(name: &str) -> RealCase {
    let root = real_dir();
    let dir = root.join("cases").join(name);
    let meta: Value = serde_json::from_str(&std::fs::read_to_string(dir.join("case.json")).unwrap()).unwrap();
    let eval_path = meta["eval_path"].as_str().unwrap();
    let step_error = std::fs::read_to_string(dir.join("step_error.txt")).unwrap();
    let mut source = FileSet::new();
    read_zip_like(&root.join("evals").join(eval_path), &mut source);
    // What a source zip may also carry: a stray log, a lockfile, a binary.
    read_zip_like(&root.join("noise/source"), &mut source);
    let mut output = FileSet::new();
    read_zip_like(&dir.join("output"), &mut output);
    // What every output zip also carries: the lockfile, dependencies, generated code.
    read_zip_like(&root.join("noise/output"), &mut output);
    let step = StepName::parse(meta["failed_step"].as_str().unwrap());
    let reason = meta["reason"].as_str().unwrap();
    let strings = |v: &Value| v.as_array().unwrap().iter().map(|s| s.as_str().unwrap().to_owned()).collect();
    RealCase {
        name: name.to_owned(),
        case: Case {
            failure: failure(eval_path, Some(step), reason, Some(&step_error)),
            evidence: Evidence {
                eval_id: None,
                eval_path: Some(EvalPath::new(eval_path)),
                task: None,
                output_files: output,
                source_files: source,
                problems: vec![],
                ..Evidence::default()
            },
            prior_label: None,
            known_gaps: Vec::new(),
            grader_suspect: None,
        },
        decisive: strings(&meta["decisive"]),
        rules_label: meta["rules"]["label"].as_str().unwrap().to_owned(),
        rules_quote: meta["rules"]["quote"].as_str().map(str::to_owned),
    }
}

/// Every case, by folder name.
pub fn real_cases() -> Vec<RealCase> {
    let mut names: Vec<String> = std::fs::read_dir(real_dir().join("cases"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names.iter().map(|n| real_case(n)).collect()
}

/// The decisive strings of a case missing from a text.
pub fn missing<'a>(case: &'a RealCase, text: &str) -> Vec<&'a str> {
    case.decisive.iter().map(String::as_str).filter(|s| !text.contains(s)).collect()
}
