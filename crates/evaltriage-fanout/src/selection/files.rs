//! The model's files against the reference answer's: which to show — the files the error names
//! (whatever their folder, with the lines it names), then the source the task and the grader
//! concern — as unified diffs, and one line naming what was left out.

use std::collections::BTreeSet;

use evaltriage_core::{FileContent, FileSet};

use super::is_excluded;
use super::step_error::Named;
use crate::diff::unified_diff_focused;

/// Model files shorter than this are shown whole when the error names them and the answer has
/// no such file; longer ones show the lines around the error.
const WHOLE_FILE_LINES: usize = 40;
/// Extensions of source code: what a task concerns even when it does not name the file.
const CODE_EXTENSIONS: &[&str] = &["ts", "tsx", "js", "jsx", "mjs", "cjs"];

/// One file to show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FileDiff {
    /// The file's path in the project.
    pub path: String,
    /// A `# ...` line saying what the diff is, or empty.
    pub note: String,
    pub diff: String,
    /// The error names this file.
    pub named: bool,
}

/// What the file comparison shows and leaves out.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct FileEvidence {
    /// Files the error names first, then the others, `convex/` first.
    pub diffs: Vec<FileDiff>,
    pub identical: Vec<String>,
    /// Files not sent: neither source the task or grader concerns nor named by the error.
    pub left_out: Vec<String>,
    /// Files of the reference answer, of the kind shown, that the model did not write.
    pub missing: Vec<String>,
}

fn is_code(path: &str) -> bool {
    let file = path.rsplit('/').next().unwrap_or(path);
    let ext = file.rsplit_once('.').map_or("", |(_, e)| e);
    CODE_EXTENSIONS.contains(&ext) && !file.contains(".config.")
}

/// Whether the task or grader mentions the file by its path (`convex/schema.ts`, `package.json`),
/// as a whole word.
fn mentioned(path: &str, mentions: &str) -> bool {
    mentions.match_indices(path).any(|(at, _)| {
        let before = mentions[..at].chars().next_back();
        let after = mentions[at + path.len()..].chars().next();
        let part = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || matches!(c, '/' | '_' | '-'));
        !part(before) && !part(after)
    })
}

/// Compares the model's output with the reference answer (`answer/...` of the source).
/// `mentions` is the task and grader text; `package_json_concerned` is set for an install failure.
pub(crate) fn compare_files(
    output: &FileSet,
    source: &FileSet,
    named: &[Named],
    mentions: &str,
    package_json_concerned: bool,
) -> FileEvidence {
    let answer: Vec<(&str, &FileContent)> =
        source.iter().filter_map(|(p, c)| p.strip_prefix("answer/").map(|rel| (rel, c))).collect();
    let model: Vec<(&str, &FileContent)> =
        output.iter().filter(|(p, _)| p.as_str() != "run.log").map(|(p, c)| (p.as_str(), c)).collect();
    let mut paths: Vec<&str> =
        answer.iter().chain(&model).map(|(p, _)| *p).collect::<BTreeSet<_>>().into_iter().collect();
    let named_rank = |p: &str| named.iter().position(|n| n.path == p).unwrap_or(usize::MAX);
    paths.sort_by_key(|p| (named_rank(p), !p.starts_with("convex/"), *p));

    let mut result = FileEvidence::default();
    let mut left_out = LeftOut::default();
    for path in paths {
        let (a, m) = (lookup(&answer, path), lookup(&model, path));
        let focus: &[usize] = named.iter().find(|n| n.path == path).map_or(&[], |n| &n.lines);
        let is_named = named.iter().any(|n| n.path == path);
        let excluded = |c: Option<&FileContent>| c.is_some_and(|c| is_excluded(path, c));
        if excluded(a) || excluded(m) {
            left_out.add(path, a.is_some(), m.is_some(), a.or(m).is_some_and(|c| c.as_text().is_none()));
            continue;
        }
        let concerned = is_named
            || is_code(path)
            || mentioned(path, mentions)
            || (package_json_concerned && path == "package.json");
        if !concerned {
            left_out.add(path, a.is_some(), m.is_some(), false);
            continue;
        }
        match (a.and_then(FileContent::as_text), m.and_then(FileContent::as_text)) {
            (Some(a), Some(m)) => match unified_diff_focused(path, a, path, m, focus) {
                Some(diff) if a.lines().eq(m.lines()) => result.diffs.push(FileDiff {
                    path: path.to_owned(),
                    note: "# identical to the reference answer; the lines the error names".into(),
                    diff,
                    named: true,
                }),
                Some(diff) => {
                    result.diffs.push(FileDiff { path: path.to_owned(), note: String::new(), diff, named: is_named });
                }
                None => result.identical.push(path.to_owned()),
            },
            (None, Some(m)) => {
                let excerpt = !focus.is_empty() && m.lines().count() > WHOLE_FILE_LINES;
                let diff = if excerpt {
                    unified_diff_focused(path, m, path, m, focus)
                } else {
                    unified_diff_focused(path, "", path, m, &[])
                };
                let note = if excerpt {
                    "# only in the model's output; the lines the error names"
                } else {
                    "# only in the model's output"
                };
                if let Some(diff) = diff {
                    result.diffs.push(FileDiff { path: path.to_owned(), note: note.into(), diff, named: is_named });
                }
            }
            (Some(a), None) => {
                result.missing.push(path.to_owned());
                if let Some(diff) = unified_diff_focused(path, a, path, "", &[]) {
                    result.diffs.push(FileDiff {
                        path: path.to_owned(),
                        note: "# only in the reference answer (missing from the model's output)".into(),
                        diff,
                        named: false,
                    });
                }
            }
            (None, None) => {}
        }
    }
    result.left_out = left_out.finish();
    result
}

fn lookup<'a>(set: &[(&str, &'a FileContent)], path: &str) -> Option<&'a FileContent> {
    set.iter().find(|(p, _)| *p == path).map(|(_, c)| *c)
}

/// The files left out, with dependency and generated folders counted rather than listed.
#[derive(Default)]
struct LeftOut {
    files: Vec<String>,
    folders: Vec<(String, usize)>,
}

impl LeftOut {
    fn add(&mut self, path: &str, in_answer: bool, in_model: bool, binary: bool) {
        let folder = ["node_modules", "_generated", ".git", "dist", ".convex"].iter().find_map(|f| {
            path.find(&format!("{f}/"))
                .filter(|at| *at == 0 || path[..*at].ends_with('/'))
                .map(|at| &path[..at + f.len() + 1])
        });
        let shown = match (in_answer, in_model) {
            (true, false) => format!("answer/{}", folder.unwrap_or(path)),
            _ => folder.unwrap_or(path).to_owned(),
        };
        if folder.is_some() {
            match self.folders.iter_mut().find(|(f, _)| *f == shown) {
                Some((_, n)) => *n += 1,
                None => self.folders.push((shown, 1)),
            }
        } else {
            self.files.push(if binary { format!("{shown} (binary)") } else { shown });
        }
    }

    fn finish(self) -> Vec<String> {
        let mut out = self.files;
        out.extend(self.folders.into_iter().map(|(f, n)| format!("{f} ({n} file{})", if n == 1 { "" } else { "s" })));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(list: &[(&str, &str)]) -> FileSet {
        list.iter().map(|(p, t)| ((*p).to_owned(), FileContent::Text((*t).to_owned()))).collect()
    }

    #[test]
    fn a_named_file_outside_convex_is_shown_and_noise_is_named_once() {
        let source = files(&[
            ("answer/convex/messages.ts", "export const a = 1;\n"),
            ("answer/convex/README.md", "# Welcome\n"),
            ("answer/tsconfig.json", "{}\n"),
            ("answer/npm-debug.log", "0 verbose\n"),
            ("answer/package-lock.json", "{}\n"),
        ]);
        let mut output = files(&[
            ("convex/messages.ts", "export const a = 1;\n"),
            ("convex/README.md", "# Welcome\n"),
            ("tsconfig.json", "{}\n"),
            ("src/main.tsx", "import React from \"react\";\nimport \"./index.css\";\n"),
            ("bun.lock", "{}\n"),
            ("node_modules/convex/package.json", "{}\n"),
            ("node_modules/react/package.json", "{}\n"),
        ]);
        output.insert("public/logo.png".into(), FileContent::Binary { len: 3 });
        let named = [Named { path: "src/main.tsx".into(), lines: vec![2] }];
        let result = compare_files(&output, &source, &named, "Write convex/messages.ts.", false);
        assert_eq!(result.diffs.len(), 1, "{result:?}");
        assert!(result.diffs[0].named && result.diffs[0].diff.contains("+import \"./index.css\";"), "{result:?}");
        assert_eq!(result.identical, ["convex/messages.ts"]);
        assert_eq!(
            result.left_out,
            [
                "convex/README.md",
                "bun.lock",
                "answer/npm-debug.log",
                "answer/package-lock.json",
                "public/logo.png (binary)",
                "tsconfig.json",
                "node_modules/ (2 files)"
            ]
        );
    }
}
