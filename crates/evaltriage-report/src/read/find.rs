//! Finding a model's prior reports anywhere in the reports tree, by the model's identity: the
//! folder names people use for it (the slug as is or with dots as dashes, any case, with or
//! without the endpoint provider's folder in front), else the report's own `Model:` line or our
//! block's model field, read from the file's first bytes only.
//!
//! The tree is walked once with `walkdir`: links are never followed out of the reports folder
//! (a link to a folder inside it is skipped, since its target is walked anyway), hidden entries are
//! skipped, and the depth and the number of entries are bounded.

use std::path::{Path, PathBuf};

use evaltriage_core::Run;
use walkdir::WalkDir;

use crate::lines::{BLOCK_MARKER, lines};
use crate::path_scheme::{ReportFileName, ReportKey, folders, model_dir_of, parse_report_file_name};
use crate::read::machine_block;
use crate::read::prior_report::{HEADER_BYTES, PriorWarning};
use evaltriage_core::fsread::read_prefix;

/// How deep a report may sit below the reports folder: `<endpoint>/<provider>/<model>/<file>` is
/// 4; two more levels of someone's own sorting are allowed.
const MAX_DEPTH: usize = 6;
/// The most entries (files and folders) looked at in one scan.
const MAX_ENTRIES: usize = 200_000;

/// Who a run's model is, in the forms reports spell it, each normalised (see [`normalise`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ModelIdentity {
    /// Folder paths relative to the reports folder, components joined with `/`.
    folders: Vec<String>,
    /// Full slugs a `Model:` line may give (`anthropic/claude-sonnet-4.6`,
    /// `openrouter/arcee-ai/trinity-large-preview`).
    slugs: Vec<String>,
    /// The model's bare name, for a `Model:` line that gives no provider (`claude-opus-4-6`).
    bare: Option<String>,
}

/// The form names are compared in: lower case, dots as dashes, no surrounding spaces or slashes.
pub(crate) fn normalise(s: &str) -> String {
    s.trim().trim_matches('/').to_lowercase().replace('.', "-")
}

impl ModelIdentity {
    pub(crate) fn of_run(run: &Run) -> Self {
        Self::of(&run.model, run.provider.as_deref())
    }

    /// The identity of a model slug served by an endpoint provider.
    pub(crate) fn of(model: &str, endpoint_provider: Option<&str>) -> Self {
        let slug = model.trim().trim_matches('/');
        let provider = endpoint_provider.map(str::trim).filter(|p| !p.is_empty() && !p.contains('/'));
        let mut slugs = Vec::new();
        if !slug.is_empty() {
            slugs.push(normalise(slug));
            if let Some(p) = provider {
                slugs.push(normalise(&format!("{p}/{slug}")));
            }
        }
        let (own_provider, own_model) = folders(model, endpoint_provider);
        let mut folders = slugs.clone();
        folders.push(normalise(&format!("{own_provider}/{own_model}")));
        folders.sort();
        folders.dedup();
        let bare = slug.split_once('/').map_or(slug, |(_, m)| m).trim();
        let bare = (!bare.is_empty()).then(|| normalise(bare));
        Self { folders, slugs, bare }
    }

    /// Whether a folder (its components below the reports folder) is one of this model's.
    fn folder_matches(&self, components: &[String]) -> bool {
        !components.is_empty() && self.folders.contains(&normalise(&components.join("/")))
    }

    /// Whether the model a report names (a slug, or a bare name) is this one.
    pub(crate) fn names(&self, model: &str) -> bool {
        let model = normalise(model);
        if model.is_empty() {
            return false;
        }
        if model.contains('/') { self.slugs.contains(&model) } else { self.bare.as_ref() == Some(&model) }
    }
}

/// The model a report's first bytes name: our block's model field when the block is among them
/// (a short report of ours), else the first `Model:` line outside code fences (`- **Model**:
/// \`x\``, `**Model:** x (Name)`, `Model: x`), its first word.
pub(crate) fn header_model(header: &str) -> Option<String> {
    let mut model_line = None;
    for line in lines(header).filter(|l| l.outside_fence) {
        let text = line.text.trim();
        if text.starts_with(BLOCK_MARKER) {
            if let Some(Ok(block)) = machine_block::decode(text)
                && !block.model.trim().is_empty()
            {
                return Some(block.model);
            }
            continue;
        }
        if model_line.is_none() {
            model_line = model_value(text);
        }
    }
    model_line
}

/// `- **Model**: \`slug\` (Name)` -> `slug`.
fn model_value(line: &str) -> Option<String> {
    let t = line.trim_start_matches(['-', '*', '+', ' ', '\t']);
    let t = t.trim_start_matches(['*', '_']);
    let head = t.get(..5)?;
    if !head.eq_ignore_ascii_case("model") {
        return None;
    }
    let rest = t[5..].trim_start_matches(['*', '_']).trim_start();
    let rest = rest.strip_prefix(':')?.trim_start_matches(['*', '_']).trim_start();
    let word = rest.split_whitespace().next()?.trim_matches(['`', '*', '_', ',', ';']);
    (!word.is_empty()).then(|| word.to_owned())
}

/// A report file found for the model.
#[derive(Debug)]
pub(crate) struct Found {
    pub path: PathBuf,
    pub file_name: String,
}

/// The folder the run's reports go in: the folder the reports tree already has for this model
/// under any spelling people use for it (`anthropic/claude-opus-4-6/` for the slug
/// `anthropic/claude-opus-4.6`, `openrouter/arcee-ai/trinity-large-preview/`), so that a model's
/// reports stay in one folder; else the folder we name ([`model_dir`]). Our own spelling wins
/// when both exist; among other spellings, the one holding the most reports, then the first by
/// name. Only real folders two or three levels down are looked at (no link is followed); a
/// folder that cannot be listed counts as absent.
pub fn model_dir_in_tree(reports_dir: &Path, run: &Run) -> PathBuf {
    model_folder_in_tree(reports_dir, &run.model, run.provider.as_deref())
}

/// [`model_dir_in_tree`] of a model slug and endpoint provider.
fn model_folder_in_tree(reports_dir: &Path, slug: &str, endpoint_provider: Option<&str>) -> PathBuf {
    let own = model_dir_of(reports_dir, slug, endpoint_provider);
    if own.symlink_metadata().is_ok_and(|m| m.is_dir()) {
        return own;
    }
    let identity = ModelIdentity::of(slug, endpoint_provider);
    let mut candidates: Vec<(usize, PathBuf)> = Vec::new();
    let mut visit = |path: PathBuf, components: Vec<String>| {
        if identity.folder_matches(&components) {
            let reports = std::fs::read_dir(&path).map_or(0, |entries| {
                entries.flatten().filter(|e| parse_report_file_name(&e.file_name().to_string_lossy()).is_some()).count()
            });
            candidates.push((reports, path));
        }
    };
    for (first, first_name) in subfolders(reports_dir) {
        for (second, second_name) in subfolders(&first) {
            for (third, third_name) in subfolders(&second) {
                visit(third, vec![first_name.clone(), second_name.clone(), third_name]);
            }
            visit(second, vec![first_name.clone(), second_name]);
        }
    }
    candidates.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
    candidates.into_iter().next().map_or(own, |(_, path)| path)
}

/// Where the report a key names goes: the folder the tree has for its model ([`model_dir_in_tree`])
/// (`<prefix>_<date>[.<scope>].md`).
pub fn report_path_in_tree(reports_dir: &Path, key: &ReportKey) -> PathBuf {
    model_folder_in_tree(reports_dir, &key.slug, key.endpoint_provider.as_deref()).join(key.file_name())
}

/// The real (not linked) visible subfolders of a folder, by name.
fn subfolders(dir: &Path) -> Vec<(PathBuf, String)> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    let mut out: Vec<(PathBuf, String)> = entries
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .map(|e| (e.path(), e.file_name().to_string_lossy().into_owned()))
        .filter(|(_, name)| !name.starts_with('.'))
        .collect();
    out.sort();
    out.truncate(10_000);
    out
}

/// Walks the reports tree once and returns the files that are this model's reports: those in one
/// of its folders, and those elsewhere whose first bytes name it. Markdown files in its folders
/// that are not named like reports, links that lead out of the tree and files that cannot be read
/// become warnings. A missing reports folder is no reports.
pub(crate) fn model_reports(root: &Path, identity: &ModelIdentity, warnings: &mut Vec<PriorWarning>) -> Vec<Found> {
    let mut found = Vec::new();
    let mut problems = Vec::new();
    walk_markdown(root, warnings, |path, components, file_name| {
        let parsed = parse_report_file_name(&file_name);
        if identity.folder_matches(components) {
            match parsed {
                Some(_) => found.push(Found { path: path.to_owned(), file_name }),
                None => problems.push(PriorWarning {
                    path: path.to_owned(),
                    reason: "not a report file name (expected PREFIX_YYYY-MM-DD.md); skipped".to_owned(),
                }),
            }
            return;
        }
        // Elsewhere, only a file named like a report is worth a look at its header.
        if parsed.is_none() {
            return;
        }
        match read_prefix(path, HEADER_BYTES) {
            Ok((bytes, _)) => {
                if header_model(&String::from_utf8_lossy(&bytes)).is_some_and(|m| identity.names(&m)) {
                    found.push(Found { path: path.to_owned(), file_name });
                }
            }
            Err(problem) => problems.push(PriorWarning { path: path.to_owned(), reason: problem.kind.to_string() }),
        }
    });
    warnings.extend(problems);
    found
}

/// Every report of the reports tree, by the one rule both the catalog and the report files follow:
/// a markdown file the walk reaches (see [`walk_markdown`]) whose name is a report file name
/// (`<prefix>_<YYYY-MM-DD>[.<scope>].md`), at any depth the walk allows. `visit` gets its path, its
/// folders below the reports folder, its file name and that name taken apart.
pub(crate) fn walk_reports(
    root: &Path,
    warnings: &mut Vec<PriorWarning>,
    mut visit: impl FnMut(&Path, &[String], String, ReportFileName),
) {
    walk_markdown(root, warnings, |path, folders, file_name| {
        if let Some(name) = parse_report_file_name(&file_name) {
            visit(path, folders, file_name, name);
        }
    });
}

/// Every markdown file of the reports tree, walked once in file-name order: `visit` gets its path,
/// its folder's components below the reports folder and its file name. Hidden entries are skipped,
/// links are never followed out of the tree (a link to a folder inside it is skipped, since its
/// target is walked anyway), and depth and entry count are bounded; what cannot be listed, and
/// links that lead out or nowhere, become warnings. A missing reports folder is no files.
pub(crate) fn walk_markdown(
    root: &Path,
    warnings: &mut Vec<PriorWarning>,
    mut visit: impl FnMut(&Path, &[String], String),
) {
    let canonical_root = match std::fs::canonicalize(root) {
        Ok(p) => p,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return,
        Err(e) => {
            warnings.push(PriorWarning { path: root.to_owned(), reason: format!("cannot open the folder: {e}") });
            return;
        }
    };
    let walker = WalkDir::new(root)
        .follow_links(false)
        .max_depth(MAX_DEPTH)
        .sort_by_file_name()
        .into_iter()
        // Hidden entries (our temp files, `.git`) are not reports.
        .filter_entry(|e| e.depth() == 0 || !e.file_name().to_string_lossy().starts_with('.'));
    for (seen, entry) in walker.enumerate() {
        if seen >= MAX_ENTRIES {
            warnings.push(PriorWarning {
                path: root.to_owned(),
                reason: format!("more than {MAX_ENTRIES} entries; the rest of the folder was not searched"),
            });
            break;
        }
        let entry = match entry {
            Ok(entry) => entry,
            Err(e) => {
                let path = e.path().unwrap_or(root).to_owned();
                warnings.push(PriorWarning { path, reason: format!("cannot list: {e}") });
                continue;
            }
        };
        if entry.file_type().is_dir() {
            continue;
        }
        let path = entry.path();
        let file_name = entry.file_name().to_string_lossy().into_owned();
        if entry.path_is_symlink() {
            match std::fs::canonicalize(path) {
                Ok(target) if !target.starts_with(&canonical_root) => {
                    let what = if target.is_dir() { "a link to a folder" } else { "a link" };
                    warnings.push(PriorWarning {
                        path: path.to_owned(),
                        reason: format!("{what} that leads outside the reports folder; not followed"),
                    });
                    continue;
                }
                // Its target is inside the tree, where the walk finds it.
                Ok(target) if target.is_dir() => continue,
                Ok(_) => {}
                Err(e) => {
                    if file_name.ends_with(".md") {
                        warnings.push(PriorWarning { path: path.to_owned(), reason: format!("a broken link: {e}") });
                    }
                    continue;
                }
            }
        }
        if !file_name.ends_with(".md") {
            continue;
        }
        let components: Vec<String> = path
            .strip_prefix(root)
            .ok()
            .and_then(Path::parent)
            .map(|p| p.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect())
            .unwrap_or_default();
        visit(path, &components, file_name);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::run;

    fn folder(id: &ModelIdentity, f: &str) -> bool {
        id.folder_matches(&f.split('/').map(str::to_owned).collect::<Vec<_>>())
    }

    #[test]
    fn the_folders_people_use_for_a_model() {
        let sonnet = ModelIdentity::of_run(&run("anthropic/claude-sonnet-4.6", Some("openrouter")));
        for f in [
            "anthropic/claude-sonnet-4.6",
            "anthropic/claude-sonnet-4-6",
            "Anthropic/Claude-Sonnet-4-6",
            "openrouter/anthropic/claude-sonnet-4.6",
            "openrouter/anthropic/claude-sonnet-4-6",
        ] {
            assert!(folder(&sonnet, f), "{f}");
        }
        for f in ["anthropic/claude-opus-4-6", "anthropic", "claude-sonnet-4-6", "openrouter/claude-sonnet-4.6", ""] {
            assert!(!folder(&sonnet, f), "{f}");
        }
        let arcee = ModelIdentity::of_run(&run("arcee-ai/trinity-large-preview", Some("openrouter")));
        assert!(folder(&arcee, "openrouter/arcee-ai/trinity-large-preview"));
        assert!(folder(&arcee, "arcee-ai/trinity-large-preview"));
        assert!(!folder(&arcee, "openrouter/trinity-large-preview"));
        // A slug without a provider: the run's provider names the folder.
        let codex = ModelIdentity::of_run(&run("gpt-5.2-codex", Some("openai")));
        assert!(folder(&codex, "openai/gpt-5.2-codex") && folder(&codex, "openai/gpt-5-2-codex"));
        assert!(!folder(&codex, "google/gpt-5.2-codex"));
        // Where we write (a slug with two slashes keeps its second as a dash).
        let deep = ModelIdentity::of_run(&run("a/b/c", None));
        assert!(folder(&deep, "a/b-c") && folder(&deep, "a/b/c"));
    }

    #[test]
    fn the_model_lines_of_the_real_reports() {
        let cases = [
            ("- **Model**: anthropic/claude-sonnet-4.6 (Claude 4.6 Sonnet)", "anthropic/claude-sonnet-4.6"),
            ("- **Model:** google/gemini-3-pro-preview (Gemini 3 Pro)", "google/gemini-3-pro-preview"),
            ("- **Model**: claude-opus-4-6 (anthropic)", "claude-opus-4-6"),
            ("- **Model**: `gpt-5.2-codex` (GPT-5.2 Codex)", "gpt-5.2-codex"),
            ("- Model: `arcee-ai/trinity-large-preview`", "arcee-ai/trinity-large-preview"),
            ("Model: x", "x"),
        ];
        for (line, model) in cases {
            assert_eq!(header_model(&format!("# Run\n\n{line}\n")).as_deref(), Some(model), "{line}");
        }
        for line in ["**Model code (wrong):**", "- **Models**: x", "Modelled: x", "```\nModel: x\n```"] {
            assert_eq!(header_model(line), None, "{line}");
        }
        // Our block's model field, when the block is among the first bytes, wins over the line.
        let block = r#"<!-- evaltriage:v1 {"run_id":"jn7aaaaa0tmje3jrj9wwng78gh80mdfw","model":"a/b.c","date":"2026-01-01","passed":1,"total":2} -->"#;
        assert_eq!(header_model(&format!("# x\n\n- Model: other\n\n{block}\n")).as_deref(), Some("a/b.c"));
        let sonnet = ModelIdentity::of_run(&run("anthropic/claude-sonnet-4.6", Some("openrouter")));
        assert!(sonnet.names("anthropic/claude-sonnet-4-6") && sonnet.names("claude-sonnet-4.6"));
        assert!(sonnet.names("openrouter/anthropic/claude-sonnet-4.6") && sonnet.names("ANTHROPIC/Claude-Sonnet-4.6"));
        assert!(!sonnet.names("anthropic/claude-opus-4.6") && !sonnet.names("claude-opus-4-6") && !sonnet.names(""));
        assert!(!sonnet.names("google/claude-sonnet-4.6"));
    }
}
