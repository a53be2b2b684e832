//! The grader's source as far as the failing tests need it: each failing test's own block (found
//! by its name), the hooks every test runs, and the helpers those blocks call; the rest is cut,
//! and the cut is marked.

use super::text::cut_marker;

/// What a top-level chunk of a test file is.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Chunk {
    Import,
    /// `test("name", ...)` / `it(...)`, and `describe(...)` (which holds tests).
    Test(String),
    /// `beforeEach`, `beforeAll`, `afterEach`, `afterAll`.
    Hook,
    /// A function, const or let, by its name.
    Helper(String),
    /// A type or interface, by its name.
    Type(String),
    Other,
}

/// A chunk and its lines `[start, end)`.
struct Part {
    kind: Chunk,
    start: usize,
    end: usize,
}

/// The first string literal after the first `(`: a test's name.
fn first_string(line: &str) -> Option<String> {
    let open = line.find('(')?;
    let rest = &line[open + 1..];
    let quote_at = rest.find(['"', '\'', '`'])?;
    if !rest[..quote_at].trim().is_empty() {
        return None;
    }
    let quote = rest[quote_at..].chars().next()?;
    let mut name = String::new();
    let mut escaped = false;
    for c in rest[quote_at + 1..].chars() {
        match c {
            _ if escaped => {
                name.push(c);
                escaped = false;
            }
            '\\' => escaped = true,
            c if c == quote => return Some(name),
            c => name.push(c),
        }
    }
    None
}

fn identifier_after(line: &str, keyword: &str) -> Option<String> {
    let rest = line.strip_prefix(keyword)?;
    let name: String =
        rest.trim_start().chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '$').collect();
    (!name.is_empty()).then_some(name)
}

fn kind_of(line: &str) -> Chunk {
    let line = line.strip_prefix("export ").unwrap_or(line);
    if line.starts_with("import ") {
        return Chunk::Import;
    }
    for t in ["test", "it", "describe"] {
        if let Some(rest) = line.strip_prefix(t) {
            if rest.starts_with('(') || rest.starts_with('.') {
                return first_string(line).map_or(Chunk::Other, Chunk::Test);
            }
        }
    }
    if ["beforeEach(", "beforeAll(", "afterEach(", "afterAll("].iter().any(|h| line.starts_with(h)) {
        return Chunk::Hook;
    }
    for k in ["async function", "function", "const", "let", "var"] {
        if let Some(name) = identifier_after(line, k) {
            return Chunk::Helper(name);
        }
    }
    for k in ["type", "interface"] {
        if let Some(name) = identifier_after(line, k) {
            return Chunk::Type(name);
        }
    }
    Chunk::Other
}

/// Splits a test file into top-level chunks: a chunk starts at a line that starts in column 0
/// and does not close something; comment lines join the chunk after them.
fn parts(lines: &[&str]) -> Vec<Part> {
    let mut parts: Vec<Part> = Vec::new();
    let mut comment_start: Option<usize> = None;
    for (i, line) in lines.iter().enumerate() {
        let starts = line.chars().next().is_some_and(|c| !c.is_whitespace() && !matches!(c, '}' | ')' | ']'));
        if !starts {
            continue;
        }
        let t = line.trim_start();
        if t.starts_with("//") || t.starts_with("/*") || t.starts_with('*') {
            comment_start.get_or_insert(i);
            continue;
        }
        let start = comment_start.take().unwrap_or(i);
        if let Some(last) = parts.last_mut() {
            last.end = start;
        }
        parts.push(Part { kind: kind_of(line), start, end: lines.len() });
    }
    parts
}

fn uses(text: &str, name: &str) -> bool {
    text.match_indices(name).any(|(at, _)| {
        let before = text[..at].chars().next_back();
        let after = text[at + name.len()..].chars().next();
        let ident = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$');
        !ident(before) && !ident(after)
    })
}

/// The excerpt of a grader for its failing tests (by name), with what it leaves out marked.
/// `None` when no failing test is found in it. `with_imports`: keep the import lines.
pub(crate) fn failing_test_source(grader: &str, failing: &[&str], with_imports: bool) -> Option<(String, usize)> {
    let lines: Vec<&str> = grader.lines().collect();
    let parts = parts(&lines);
    let text_of = |p: &Part| lines[p.start..p.end].join("\n");
    let mut keep: Vec<bool> = parts
        .iter()
        .map(|p| match &p.kind {
            Chunk::Test(name) => {
                let block = text_of(p);
                failing
                    .iter()
                    .any(|f| f == name || f.ends_with(&format!(" > {name}")) || block.contains(&format!("\"{f}\"")))
            }
            _ => false,
        })
        .collect();
    if !keep.iter().any(|k| *k) {
        return None;
    }
    for (k, p) in keep.iter_mut().zip(&parts) {
        *k |= p.kind == Chunk::Hook || (with_imports && p.kind == Chunk::Import);
    }
    // Helpers the kept chunks call, and the helpers those call.
    loop {
        let kept: String = parts.iter().zip(&keep).filter(|(_, k)| **k).map(|(p, _)| text_of(p)).collect();
        let mut grew = false;
        for (k, p) in keep.iter_mut().zip(&parts) {
            if let Chunk::Helper(name) = &p.kind {
                if !*k && uses(&kept, name) {
                    *k = true;
                    grew = true;
                }
            }
        }
        if !grew {
            break;
        }
    }
    let mut out: Vec<String> = Vec::new();
    let mut cut = 0;
    let mut pending = 0;
    let first = parts.first().map_or(lines.len(), |p| p.start);
    pending += first;
    for (p, k) in parts.iter().zip(&keep) {
        let n = lines[p.start..p.end].iter().filter(|l| !l.trim().is_empty()).count();
        if !*k {
            pending += n;
            continue;
        }
        if pending > 0 {
            out.push(cut_marker(pending));
            cut += pending;
            pending = 0;
        } else if p.kind != Chunk::Import && out.last().is_some_and(|l| !l.trim().is_empty()) {
            out.push(String::new());
        }
        let mut block: Vec<&str> = lines[p.start..p.end].to_vec();
        while block.last().is_some_and(|l| l.trim().is_empty()) {
            block.pop();
        }
        out.extend(block.iter().map(|l| (*l).to_owned()));
        if p.kind != Chunk::Import {
            out.push(String::new());
        }
    }
    if pending > 0 {
        out.push(cut_marker(pending));
        cut += pending;
    }
    while out.last().is_some_and(|l| l.trim().is_empty()) {
        out.pop();
    }
    Some((out.join("\n") + "\n", cut))
}

/// The files of the model's project a static grader reads: the file argument of each
/// `readOutputFile(CATEGORY, EVAL_NAME, "package.json")` call, and the folders it joins onto the
/// project (`join(projectDir, "convex", ...)` reads as `convex/`). In order, without repeats.
pub(crate) fn files_read(grader: &str) -> Vec<String> {
    let mut found: Vec<String> = Vec::new();
    let mut add = |f: String| {
        if !f.is_empty() && !found.contains(&f) {
            found.push(f);
        }
    };
    for (at, _) in grader.match_indices("readOutputFile(") {
        let call = call_text(&grader[at + "readOutputFile(".len()..]);
        if let Some(last) = string_literals(call).pop() {
            add(last);
        }
    }
    for (at, _) in grader.match_indices("projectDir,") {
        let call = call_text(&grader[at + "projectDir,".len()..]);
        let parts = string_literals(call);
        if !parts.is_empty() && call.trim_start().starts_with(['"', '\'', '`']) {
            let path = parts.join("/");
            add(if path.contains('.') { path } else { format!("{path}/") });
        }
    }
    found
}

/// The text up to the `)` that closes a call (at most 300 characters).
fn call_text(rest: &str) -> &str {
    let mut depth = 0usize;
    for (i, c) in rest.char_indices() {
        match c {
            '(' => depth += 1,
            ')' if depth == 0 => return &rest[..i],
            ')' => depth -= 1,
            _ => {}
        }
        if i > 300 {
            return &rest[..i];
        }
    }
    rest
}

/// The plain string literals of a piece of code (no `${`), in order.
fn string_literals(code: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut chars = code.chars();
    while let Some(c) = chars.next() {
        if matches!(c, '"' | '\'' | '`') {
            let literal: String = chars.by_ref().take_while(|&d| d != c).collect();
            if !literal.contains("${") && literal.len() < 200 {
                out.push(literal);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const GRADER: &str = r#"import { expect, test } from "vitest";
import { client } from "../../../grader";

beforeEach(async () => {
  await reset();
});

function expectCron(job: Job, expr: string): void {
  expect(job.expr).toBe(expr);
}

type Job = { expr: string };

test("passes", async () => {
  expect(1).toBe(1);
});

// The month cron uses the 13th hour.
test("defines the crons", async () => {
  const jobs = await client.list();
  expectCron(jobs[0], "0 13 11 * *");
});

test("also passes", async () => {
  expect(2).toBe(2);
});
"#;

    #[test]
    fn keeps_the_failing_test_its_helpers_and_hooks_and_marks_the_rest() {
        let (text, cut) = failing_test_source(GRADER, &["defines the crons"], false).unwrap();
        assert!(text.contains("// The month cron uses the 13th hour.\ntest(\"defines the crons\""), "{text}");
        assert!(text.contains("function expectCron"), "{text}");
        assert!(text.contains("beforeEach("), "{text}");
        assert!(!text.contains("test(\"passes\"") && !text.contains("also passes"), "{text}");
        assert!(!text.contains("import {"), "{text}");
        assert!(text.contains("lines cut ...]") && cut > 0, "{text}");
        assert!(failing_test_source(GRADER, &["no such test"], true).is_none());
    }

    #[test]
    fn a_static_grader_names_the_files_it_reads() {
        let grader = "const pkg = JSON.parse(\n  readOutputFile(CATEGORY, EVAL_NAME, \"package.json\"),\n);\n\
                      entries = readdirSync(join(projectDir, \"convex\", relativeDir), { withFileTypes: true });\n\
                      const text = readFileSync(join(projectDir, \"convex\", relativePath), \"utf-8\");\n";
        assert_eq!(files_read(grader), ["package.json", "convex/"]);
        assert!(files_read("test(\"x\", () => expect(1).toBe(1));").is_empty());
    }
}
