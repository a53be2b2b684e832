//! Prompt templates: compiled in from the top-level `prompts/` folder, overridable file by file
//! from a directory, versioned by a hash of their text, and rendered with `{{name}}` holes.

use std::path::Path;

/// The largest prompt template read from a `--prompts-dir` (the built-in ones are a few KiB).
const MAX_TEMPLATE_BYTES: u64 = 256 * 1024;

use evaltriage_core::Verdict;

use crate::answer::answer_schema;
use crate::selection::{SelectedEvidence, fence};
use crate::{Case, FanoutError};

const ANALYSIS_SYSTEM: &str = include_str!("../../../prompts/analysis.system.txt");
const ANALYSIS_USER: &str = include_str!("../../../prompts/analysis.user.txt");
const SYNTHESIS_SYSTEM: &str = include_str!("../../../prompts/synthesis.system.txt");
const SYNTHESIS_USER: &str = include_str!("../../../prompts/synthesis.user.txt");

/// The file names of the templates, in a prompts directory.
pub const TEMPLATE_FILES: [&str; 4] =
    ["analysis.system.txt", "analysis.user.txt", "synthesis.system.txt", "synthesis.user.txt"];

/// The prompt templates in use, and their version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prompts {
    pub analysis_system: String,
    pub analysis_user: String,
    pub synthesis_system: String,
    pub synthesis_user: String,
    version: String,
}

impl Default for Prompts {
    fn default() -> Self {
        Self::builtin()
    }
}

impl Prompts {
    /// The templates compiled into the binary.
    pub fn builtin() -> Self {
        Self::from_texts(
            ANALYSIS_SYSTEM.to_owned(),
            ANALYSIS_USER.to_owned(),
            SYNTHESIS_SYSTEM.to_owned(),
            SYNTHESIS_USER.to_owned(),
        )
    }

    /// The templates of a directory (`--prompts-dir`): each of [`TEMPLATE_FILES`] found there
    /// replaces the built-in one; missing files keep the built-in text.
    pub fn from_dir(dir: &Path) -> Result<Self, FanoutError> {
        if !dir.is_dir() {
            return Err(FanoutError::PromptsDir {
                path: dir.to_path_buf(),
                source: std::io::Error::new(std::io::ErrorKind::NotFound, "not a directory"),
            });
        }
        let builtin = Self::builtin();
        let read = |name: &str, fallback: String| -> Result<String, FanoutError> {
            let path = dir.join(name);
            // A regular file only (a pipe never hangs the run), bounded, inside the folder.
            match evaltriage_core::fsread::read_regular_under(dir, &path, MAX_TEMPLATE_BYTES) {
                Ok(bytes) => String::from_utf8(bytes).map_err(|_| FanoutError::PromptsDir {
                    path,
                    source: std::io::Error::new(std::io::ErrorKind::InvalidData, "not UTF-8 text"),
                }),
                Err(e) if e.is_not_found() => Ok(fallback),
                Err(e) => Err(FanoutError::PromptsDir {
                    path,
                    source: std::io::Error::new(std::io::ErrorKind::InvalidInput, e.kind.to_string()),
                }),
            }
        };
        let prompts = Self::from_texts(
            read(TEMPLATE_FILES[0], builtin.analysis_system)?,
            read(TEMPLATE_FILES[1], builtin.analysis_user)?,
            read(TEMPLATE_FILES[2], builtin.synthesis_system)?,
            read(TEMPLATE_FILES[3], builtin.synthesis_user)?,
        );
        // A user template without its evidence would make every answer fail validation.
        for (file, text, hole) in [
            (TEMPLATE_FILES[1], &prompts.analysis_user, "evidence"),
            (TEMPLATE_FILES[1], &prompts.analysis_user, "eval_path"),
            (TEMPLATE_FILES[3], &prompts.synthesis_user, "verdicts"),
        ] {
            if !text.contains(&format!("{{{{{hole}}}}}")) {
                return Err(FanoutError::PromptTemplate { path: dir.join(file), hole });
            }
        }
        Ok(prompts)
    }

    fn from_texts(
        analysis_system: String,
        analysis_user: String,
        synthesis_system: String,
        synthesis_user: String,
    ) -> Self {
        let mut hasher = blake3::Hasher::new();
        hasher.update(crate::answer::SCHEMA_VERSION.as_bytes());
        for text in [&analysis_system, &analysis_user, &synthesis_system, &synthesis_user] {
            hasher.update(&(text.len() as u64).to_le_bytes());
            hasher.update(text.as_bytes());
        }
        let version = hasher.finalize().to_hex()[..16].to_owned();
        Self { analysis_system, analysis_user, synthesis_system, synthesis_user, version }
    }

    /// A short hash of the templates and the answer schema; part of the cache key.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// The system and user messages of the per-eval analysis.
    pub fn render_analysis(&self, case: &Case, evidence: &SelectedEvidence) -> (String, String) {
        let schema = serde_json::to_string(&answer_schema(case.failure.eval_path.as_str())).unwrap_or_default();
        let user = render(
            &self.analysis_user,
            &[
                ("eval_path", case.failure.eval_path.as_str()),
                ("prior", &prior_line(case)),
                ("evidence", &evidence.text),
                ("schema", &schema),
            ],
        );
        (self.analysis_system.clone(), user)
    }

    /// The system and user messages of the cross-cutting synthesis over all verdicts.
    pub fn render_synthesis(&self, run_summary: &str, verdicts: &[Verdict]) -> (String, String) {
        let mut list = String::new();
        for v in verdicts {
            let label = v.classification.map_or_else(|| v.status.as_str().to_owned(), |c| c.as_str().to_owned());
            let reasoning: String = v.reasoning.split_whitespace().collect::<Vec<_>>().join(" ");
            let reasoning: String = reasoning.chars().take(600).collect();
            list.push_str(&format!(
                "- {} [{}] {}: {}\n",
                v.eval_path,
                v.failed_step.as_ref().map_or("none", |s| s.as_str()),
                label,
                reasoning
            ));
        }
        let user = render(&self.synthesis_user, &[("run", run_summary), ("verdicts", &fence(&list, "text"))]);
        (self.synthesis_system.clone(), user)
    }
}

/// The line telling the LLM what a prior report said about this eval (empty when nothing).
pub(crate) fn prior_line(case: &Case) -> String {
    match case.prior_label.as_deref().map(str::trim).filter(|l| !l.is_empty()) {
        Some(label) => format!("A prior report on this model labelled this eval: {}\n", label.replace('\n', " ")),
        None => String::new(),
    }
}

/// Fills `{{name}}` holes in one pass: the values are not scanned again, so evidence that
/// happens to contain `{{schema}}` stays as it is. Unknown holes are kept verbatim.
pub fn render(template: &str, values: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(template.len() + values.iter().map(|(_, v)| v.len()).sum::<usize>());
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        match after.find("}}") {
            Some(end) => {
                let name = after[..end].trim();
                match values.iter().find(|(k, _)| *k == name) {
                    Some((_, v)) => out.push_str(v),
                    None => out.push_str(&rest[start..start + 2 + end + 2]),
                }
                rest = &after[end + 2..];
            }
            None => {
                out.push_str(&rest[start..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn render_is_one_pass() {
        assert_eq!(render("a {{x}} b {{ y }} {{z}}", &[("x", "{{y}}"), ("y", "Y")]), "a {{y}} b Y {{z}}");
        assert_eq!(render("open {{x", &[("x", "1")]), "open {{x");
    }

    #[test]
    fn version_follows_the_text() {
        let a = Prompts::builtin();
        let mut b = Prompts::builtin();
        assert_eq!(a.version(), b.version());
        b = Prompts::from_texts(b.analysis_system + " ", b.analysis_user, b.synthesis_system, b.synthesis_user);
        assert_ne!(a.version(), b.version());
    }

    #[test]
    fn a_directory_overrides_file_by_file() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("analysis.system.txt"), "custom system").unwrap();
        let p = Prompts::from_dir(dir.path()).unwrap();
        assert_eq!(p.analysis_system, "custom system");
        assert_eq!(p.analysis_user, Prompts::builtin().analysis_user);
        assert_ne!(p.version(), Prompts::builtin().version());
        assert!(Prompts::from_dir(&dir.path().join("missing")).is_err());
        std::fs::write(dir.path().join("analysis.user.txt"), "Eval: {{eval_path}} but no evidence").unwrap();
        let err = Prompts::from_dir(dir.path()).unwrap_err().to_string();
        assert!(err.contains("{{evidence}}"), "{err}");
    }
}
