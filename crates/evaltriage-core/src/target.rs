//! Targets: what `analyze-run` and the triage commands accept — a visualizer URL, a bare run id,
//! or a path to a local store or run file.

use std::path::{Path, PathBuf};

use percent_encoding::percent_decode_str;

use crate::ids::RunId;

/// A run to read from a source, as a target names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunRef {
    pub run_id: RunId,
    /// The experiment name from a URL (`None` when the target did not say).
    pub experiment: Option<String>,
    /// The model slug or document id from a `/model/<model>/` URL segment, decoded.
    pub model: Option<String>,
    /// The category from an eval- or category-level URL.
    pub category: Option<String>,
    /// The eval from an eval-level URL: an eval id, or a name within `category`.
    pub eval: Option<String>,
}

impl RunRef {
    /// A reference to a whole run.
    pub fn run(run_id: RunId) -> Self {
        Self { run_id, experiment: None, model: None, category: None, eval: None }
    }
}

/// A parsed target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A run to read from Convex (or from a store given separately).
    Run(RunRef),
    /// A local store directory or run document file.
    Path(PathBuf),
}

/// Why a target could not be understood. The message says what was expected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    #[error(
        "{reason}: {got:?}; expected a visualizer URL (https://<host>/experiment/<name>/run/<runId>[/<category>[/<evalId>]]), a run id (lowercase letters and digits, about 32 characters), or a path to a local store or run file"
    )]
    Unrecognised { got: String, reason: &'static str },
    #[error("no such file or directory: {0}")]
    MissingPath(PathBuf),
}

/// Minimum length of a bare run id (Convex ids are about 32 characters).
const MIN_BARE_ID_LEN: usize = 16;

/// Parses a target. Paths are recognised when they exist, so this looks at the file system.
pub fn parse_target(input: &str) -> Result<Target, TargetError> {
    let s = input.trim();
    let unrecognised = |reason| TargetError::Unrecognised { got: shorten(s), reason };
    if s.is_empty() {
        return Err(unrecognised("empty target"));
    }
    if s.chars().any(char::is_control) {
        return Err(unrecognised("control characters in target"));
    }
    if let Some((scheme, _)) = s.split_once("://") {
        if !scheme.eq_ignore_ascii_case("http") && !scheme.eq_ignore_ascii_case("https") {
            return Err(unrecognised("not an http(s) URL"));
        }
        return parse_url(s).map(Target::Run).map_err(unrecognised);
    }
    let path = Path::new(s);
    if path.exists() {
        return Ok(Target::Path(path.to_path_buf()));
    }
    if s.len() >= MIN_BARE_ID_LEN {
        if let Ok(id) = RunId::new(s) {
            return Ok(Target::Run(RunRef::run(id)));
        }
    }
    if s.contains('/')
        || s.contains('\\')
        || s.ends_with(".json")
        || s.ends_with(".eval")
        || s.starts_with('.')
        || s.starts_with('~')
    {
        return Err(TargetError::MissingPath(path.to_path_buf()));
    }
    Err(unrecognised("not a URL, run id or existing path"))
}

fn shorten(s: &str) -> String {
    const MAX: usize = 200;
    if s.chars().count() <= MAX { s.to_owned() } else { s.chars().take(MAX).collect::<String>() + "…" }
}

/// Parses a visualizer URL: `[/model/<m>][/experiment/<e>]/run/<id>[/<category>[/<evalId>]]`,
/// with any query string or fragment.
fn parse_url(s: &str) -> Result<RunRef, &'static str> {
    let url = url::Url::parse(s).map_err(|_| "malformed URL")?;
    if url.host_str().is_none_or(str::is_empty) {
        return Err("URL has no host");
    }
    let segments: Vec<String> = url
        .path_segments()
        .map(|segs| {
            segs.filter(|p| !p.is_empty()).map(|p| percent_decode_str(p).decode_utf8_lossy().into_owned()).collect()
        })
        .unwrap_or_default();
    let mut experiment = None;
    let mut model = None;
    let mut i = 0;
    while i < segments.len() {
        match segments[i].as_str() {
            "model" if i + 1 < segments.len() => {
                // A slug pasted with a raw `/` (`/model/openai/gpt-5/run/...`) spans segments up to
                // the next `experiment` or `run`: the run id after it is still unambiguous.
                let end = (i + 1..segments.len())
                    .find(|&j| matches!(segments[j].as_str(), "experiment" | "run" | "model"))
                    .unwrap_or(segments.len());
                let value = segments[i + 1..end].join("/").trim().to_owned();
                if value.is_empty() {
                    return Err("empty URL segment");
                }
                if model.replace(value).is_some() {
                    return Err("URL names two models");
                }
                i = end;
            }
            "experiment" if i + 1 < segments.len() => {
                let value = segments[i + 1].trim().to_owned();
                if value.is_empty() {
                    return Err("empty URL segment");
                }
                if experiment.replace(value).is_some() {
                    return Err("URL names two experiments");
                }
                i += 2;
            }
            "run" => break,
            _ => return Err("URL path is not a visualizer run path"),
        }
    }
    if segments.get(i).map(String::as_str) != Some("run") {
        return Err("URL has no /run/<runId>");
    }
    let run_id = segments.get(i + 1).ok_or("URL has no run id after /run/")?;
    let run_id = RunId::new(run_id).map_err(|_| "run id in URL is not lowercase letters and digits")?;
    let rest = &segments[i + 2..];
    if rest.len() > 2 {
        return Err("URL has extra path segments after /run/<runId>/<category>/<evalId>");
    }
    let category = rest.first().cloned();
    let eval = rest.get(1).cloned();
    for part in category.iter().chain(eval.iter()) {
        if part.contains(['/', '\\']) || part == ".." || part.chars().any(char::is_control) {
            return Err("URL category or eval segment is not a plain name");
        }
    }
    Ok(RunRef { run_id, experiment, model, category, eval })
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "jn7b2c3d4e5f6g7h8j9k0m1n2p3q4r5s";
    const EVAL: &str = "k17aa2bb3cc4dd5ee6ff7gg8hh9jj0kk";

    fn check(input: &str, experiment: Option<&str>, model: Option<&str>, category: Option<&str>, eval: Option<&str>) {
        let Ok(Target::Run(r)) = parse_target(input) else {
            panic!("{input} did not parse to a run: {:?}", parse_target(input))
        };
        assert_eq!(r.run_id.as_str(), ID, "{input}");
        assert_eq!(r.experiment.as_deref(), experiment, "{input}");
        assert_eq!(r.model.as_deref(), model, "{input}");
        assert_eq!(r.category.as_deref(), category, "{input}");
        assert_eq!(r.eval.as_deref(), eval, "{input}");
    }

    #[test]
    fn visualizer_urls() {
        let h = "https://convex-evals.netlify.app";
        check(&format!("{h}/experiment/default/run/{ID}"), Some("default"), None, None, None);
        check(&format!("{h}/experiment/default/run/{ID}/"), Some("default"), None, None, None);
        check(&format!("{h}/experiment/no_guidelines/run/{ID}?tab=steps"), Some("no_guidelines"), None, None, None);
        check(&format!("{h}/experiment/default/run/{ID}#top"), Some("default"), None, None, None);
        check(
            &format!("{h}/experiment/default/run/{ID}/000-fundamentals"),
            Some("default"),
            None,
            Some("000-fundamentals"),
            None,
        );
        check(
            &format!("{h}/experiment/default/run/{ID}/000-fundamentals/{EVAL}?tab=files&file=convex%2Fcrons.ts"),
            Some("default"),
            None,
            Some("000-fundamentals"),
            Some(EVAL),
        );
        // A slug pasted with a raw `/`: the run id is still unambiguous.
        check(&format!("{h}/model/openai/gpt-5.9-lab/run/{ID}"), None, Some("openai/gpt-5.9-lab"), None, None);
        check(
            &format!("{h}/model/openai/gpt-5.9-lab/experiment/no_guidelines/run/{ID}/000-fundamentals"),
            Some("no_guidelines"),
            Some("openai/gpt-5.9-lab"),
            Some("000-fundamentals"),
            None,
        );
        check(
            &format!("{h}/model/anthropic%2Fclaude-opus-4.6/experiment/default/run/{ID}/"),
            Some("default"),
            Some("anthropic/claude-opus-4.6"),
            None,
            None,
        );
        check(
            &format!("{h}/model/k5abc123/experiment/default/run/{ID}/002-queries/{EVAL}/"),
            Some("default"),
            Some("k5abc123"),
            Some("002-queries"),
            Some(EVAL),
        );
        check(&format!("http://localhost:5173/experiment/default/run/{ID}"), Some("default"), None, None, None);
        check(&format!("{h}/run/{ID}"), None, None, None, None);
        check(ID, None, None, None, None);
        check(&format!("  {ID}\n"), None, None, None, None);
    }

    #[test]
    fn malformed_targets_are_rejected() {
        let bad = [
            "",
            "   ",
            "hello",
            "ftp://host/experiment/default/run/abc",
            "https://",
            "https:///experiment/default/run/abc",
            "https://host/",
            "https://host/experiment/default",
            "https://host/experiment/default/run",
            "https://host/experiment/default/run/",
            "https://host/experiment/default/run/ABCDEF",
            "https://host/experiment/default/run/abc$def",
            "https://host/experiment/default/run/abc/cat/eval/extra",
            "https://host/experiment//run/abc",
            "https://host/experiment/a/experiment/b/run/abc",
            "https://host/model/a/model/b/run/abc",
            "https://host/runs/abc",
            "https://host/experiment/default/run/abc/%2e%2e",
            "https://host/experiment/default/run/abc/a%2Fb",
            "JN7B2C3D4E5F6G7H8J9K0M1N2P3Q4R5S",
            "jn7b2c3d-4e5f6g7h8j9k0m1n2p3q4r5s",
            "short",
            "run\u{0}id",
            "./no/such/store",
            "missing.json",
            "missing.eval",
            "~/nothing",
        ];
        for input in bad {
            assert!(parse_target(input).is_err(), "{input:?} should be rejected, got {:?}", parse_target(input));
        }
        let message = parse_target("hello").unwrap_err().to_string();
        assert!(message.contains("expected a visualizer URL"), "{message}");
        assert!(message.lines().count() <= 2, "{message}");
    }

    #[test]
    fn existing_paths_are_paths() {
        let dir = std::env::temp_dir();
        assert_eq!(parse_target(dir.to_str().unwrap()), Ok(Target::Path(dir.clone())));
    }
}
