//! The failed step's error: condensed around its error lines (repeats cut, absolute project paths
//! shortened), and the files and lines it names (`convex/a.ts(14,38)` from tsc, a path then
//! `27:1  error` from eslint, `path:line:col` from esbuild and the rest).

use evaltriage_core::FileSet;

use super::text::{MAX_LINE_CHARS, MAX_REPEATS, clip_chars, cut_marker, normalise_line};

/// A file of the model's output named by the error, with the lines named (1-based), if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Named {
    /// The path in the output zip.
    pub path: String,
    pub lines: Vec<usize>,
}

fn looks_like_error(line: &str) -> bool {
    let l = line.to_ascii_lowercase();
    l.contains("error") || l.contains("✖") || l.contains("failed")
}

/// `/tmp/x/output/m/002-queries/015-p/convex/a.ts` -> `convex/a.ts` when the eval path is in it.
pub(crate) fn shorten_project_paths(line: &str, eval_path: &str) -> String {
    let needle = format!("/{eval_path}/");
    let mut out = line.to_owned();
    while let Some(at) = out.find(&needle) {
        let start =
            out[..at].rfind(|c: char| c.is_whitespace() || c == '(' || c == '"' || c == '\'').map_or(0, |i| i + 1);
        out.replace_range(start..at + needle.len(), "");
    }
    out
}

/// Condenses a step's error output: ANSI colours stripped, project paths shortened, very long
/// lines clipped, lines that repeat (numbers aside) more than twice cut, and the lines well
/// before the first error dropped. Returns the text and the number of lines cut.
pub fn condense_error(text: &str, eval_path: &str) -> (String, usize) {
    let clean = evaltriage_core::text::strip_controls(text);
    let lines: Vec<String> = clean.lines().map(|l| shorten_project_paths(l, eval_path)).collect();
    let first_error = lines.iter().skip(1).position(|l| looks_like_error(l)).map_or(0, |i| i + 1);
    let mut out: Vec<String> = Vec::new();
    let mut cut_total = 0;
    let mut pending_cut = 0;
    let mut seen = std::collections::HashMap::<String, usize>::new();
    for (i, line) in lines.iter().enumerate() {
        // Keep the step's header line, then start a little before the first error.
        let before_first_error = i > 0 && i + 3 < first_error;
        let blank_run = line.trim().is_empty() && out.last().is_none_or(|l| l.trim().is_empty());
        let count = seen.entry(normalise_line(line)).or_insert(0);
        *count += 1;
        let repeat = !line.trim().is_empty() && *count > MAX_REPEATS;
        if before_first_error || repeat {
            pending_cut += 1;
            cut_total += 1;
            continue;
        }
        if blank_run {
            continue;
        }
        if pending_cut > 0 {
            out.push(cut_marker(pending_cut));
            pending_cut = 0;
        }
        out.push(clip_chars(line, MAX_LINE_CHARS));
    }
    if pending_cut > 0 {
        out.push(cut_marker(pending_cut));
    }
    while out.last().is_some_and(|l| l.trim().is_empty()) {
        out.pop();
    }
    (out.join("\n") + "\n", cut_total)
}

/// Lines kept per named file: the first ones an error names (a broken type can be named on
/// thousands of lines).
const MAX_NAMED_LINES: usize = 4;
const SOURCE_EXTENSIONS: &[&str] = &[".ts", ".tsx", ".js", ".jsx", ".mjs", ".cjs", ".json"];

/// The output file a path in an error means: the same path, or one it ends with.
fn output_path(output: &FileSet, path: &str) -> Option<String> {
    let path = path.trim().trim_start_matches("./").replace('\\', "/");
    output
        .keys()
        .filter(|p| !p.is_empty() && (path == **p || path.ends_with(&format!("/{p}"))))
        .max_by_key(|p| p.len())
        .cloned()
}

fn add(named: &mut Vec<Named>, path: String, line: Option<usize>) {
    let entry = match named.iter_mut().position(|n| n.path == path) {
        Some(i) => &mut named[i],
        None => {
            named.push(Named { path, lines: vec![] });
            named.last_mut().expect("just pushed")
        }
    };
    if let Some(l) = line.filter(|l| !entry.lines.contains(l) && entry.lines.len() < MAX_NAMED_LINES) {
        entry.lines.push(l);
    }
}

/// The model's files (and lines) an error names, in the order it names them.
pub(crate) fn named_files(error: &str, output: &FileSet) -> Vec<Named> {
    let mut named: Vec<Named> = Vec::new();
    let mut eslint_file: Option<String> = None;
    for raw in evaltriage_core::text::strip_controls(error).lines() {
        let t = raw.trim();
        // tsc: `convex/a.ts(14,38): error TS2345: ...`
        if let Some((file, rest)) = t.split_once('(') {
            if let Some((pos, _)) = rest.split_once("):") {
                if let (Some(path), Some(row)) =
                    (output_path(output, file), pos.split(',').next().and_then(|r| r.parse::<usize>().ok()))
                {
                    add(&mut named, path, Some(row));
                    continue;
                }
            }
        }
        // eslint: a path alone on its line, then `  27:1  error  ...` lines.
        if !t.contains(' ') && SOURCE_EXTENSIONS.iter().any(|e| t.ends_with(e)) {
            eslint_file = output_path(output, t);
            if let Some(path) = &eslint_file {
                add(&mut named, path.clone(), None);
            }
            continue;
        }
        let mut words = t.split_whitespace();
        if let (Some(pos), Some("error" | "warning"), Some(file)) = (words.next(), words.next(), &eslint_file) {
            if let Some(row) = pos.split(':').next().and_then(|r| r.parse::<usize>().ok()) {
                add(&mut named, file.clone(), Some(row));
                continue;
            }
        }
        // Anything else: `path:line:col` or a bare path of an output file.
        for word in t.split(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | '`' | '(' | ')' | ',')) {
            let mut pieces = word.split(':');
            let Some(file) = pieces.next().filter(|f| SOURCE_EXTENSIONS.iter().any(|e| f.ends_with(e))) else {
                continue;
            };
            if let Some(path) = output_path(output, file) {
                add(&mut named, path, pieces.next().and_then(|r| r.parse().ok()));
            }
        }
    }
    named
}

#[cfg(test)]
mod tests {
    use evaltriage_core::FileContent;

    use super::*;

    #[test]
    fn repeated_error_lines_are_cut_and_marked() {
        let mut text = String::from("Error: Failed to typecheck code:\n");
        for i in 0..3000 {
            text.push_str(&format!("convex/a.ts({i},5): error TS2345: Argument of type 'string' is not assignable\n"));
        }
        text.push_str("Found 3000 errors in 1 file.\n");
        let (out, cut) = condense_error(&text, "x/y");
        assert_eq!(cut, 2998);
        assert!(out.contains("[... 2998 lines cut ...]"), "{out}");
        assert!(out.contains("Found 3000 errors"), "{out}");
        assert!(out.lines().count() < 10, "{out}");
    }

    #[test]
    fn files_and_lines_named_by_tsc_eslint_and_esbuild() {
        let mut output = FileSet::new();
        for p in ["convex/index.ts", "src/App.tsx", "src/main.tsx", "package.json"] {
            output.insert(p.into(), FileContent::Text(String::new()));
        }
        let tsc =
            "Error: Failed to typecheck code:\nsrc/main.tsx(4,8): error TS2307: Cannot find module './index.css'\n";
        assert_eq!(named_files(tsc, &output), [Named { path: "src/main.tsx".into(), lines: vec![4] }]);
        let eslint = "Error: Failed to lint code:\n\n/tmp/o/m/006-c/001-u/src/App.tsx\n  24:20  error  Promise-returning  @typescript-eslint/no-misused-promises\n  30:1  warning  x  y\n";
        assert_eq!(named_files(eslint, &output), [Named { path: "src/App.tsx".into(), lines: vec![24, 30] }]);
        let esbuild = "✘ [ERROR] Could not resolve \"./utils\"\n\n    convex/index.ts:3:22:\n";
        assert_eq!(named_files(esbuild, &output), [Named { path: "convex/index.ts".into(), lines: vec![3] }]);
        assert_eq!(shorten_project_paths("/tmp/o/openai/gpt-5/006-c/001-u/src/App.tsx", "006-c/001-u"), "src/App.tsx");
    }
}
