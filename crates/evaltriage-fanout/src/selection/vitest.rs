//! What `run.log` says about the tests: their outcome, and each failing test's name, assertion
//! message, diff hunk and code frame, read from Vitest's default or verbose reporter (with or
//! without the runner's `[vitest] ` line prefix). Rendered so that a cut never falls inside a
//! test's message or its `- Expected` / `+ Received` hunk.

use super::text::{cut_marker, drop_repeats, estimate_tokens_of_lines, normalise_line};

/// The tests' outcome and failures, as `run.log` tells them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct TestReport {
    /// Whether Vitest output was found at all.
    pub found: bool,
    pub failed: usize,
    pub passed: usize,
    pub total: Option<usize>,
    pub failures: Vec<FailedTest>,
}

impl TestReport {
    /// All tests ran and passed.
    pub fn all_passed(&self) -> bool {
        self.found && self.failed == 0 && self.failures.is_empty() && self.passed > 0
    }

    /// The failing tests without those that repeat an earlier one's error.
    pub fn distinct_failures(&self) -> Vec<&FailedTest> {
        let mut out: Vec<&FailedTest> = Vec::new();
        for test in &self.failures {
            let key = test.error_key();
            if key.is_empty() || !out.iter().any(|t| t.error_key() == key) {
                out.push(test);
            }
        }
        out
    }

    /// `all 7 passed`, or `2 failed | 5 passed (7)`.
    pub fn outcome(&self) -> String {
        let total = self.total.map(|t| format!(" ({t})")).unwrap_or_default();
        if self.all_passed() {
            format!("all {} passed", self.total.unwrap_or(self.passed))
        } else if self.total.is_none() && self.passed == 0 {
            format!("{} failed", self.failed.max(self.failures.len()))
        } else {
            format!("{} failed | {} passed{total}", self.failed.max(self.failures.len()), self.passed)
        }
    }
}

/// One failing test, as its failure block in `run.log` shows it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct FailedTest {
    /// The test's name without the file (`describe > test` when nested).
    pub full_name: String,
    /// The assertion message: the block's first paragraph.
    pub message: Vec<String>,
    /// The `- Expected` / `+ Received` (or `Expected:` / `Received:`) hunk, whole.
    pub diff: Vec<String>,
    /// The code frame: `❯ file:line:col` lines and the numbered source lines.
    pub frame: Vec<String>,
    /// Lines of the block left out (stack traces, chatter).
    pub other_lines: usize,
}

impl FailedTest {
    /// The test's own name, as written in `test("...")`.
    pub fn name(&self) -> &str {
        self.full_name.rsplit(" > ").next().unwrap_or(&self.full_name)
    }

    /// What makes two failures the same error: the message and diff, numbers aside.
    pub fn error_key(&self) -> String {
        self.message.iter().chain(&self.diff).map(|l| normalise_line(l)).collect::<Vec<_>>().join("\n")
    }

    /// The first line of the assertion message.
    pub fn headline(&self) -> &str {
        self.message.iter().map(|l| l.trim()).find(|l| !l.is_empty()).unwrap_or("")
    }
}

/// The Vitest part of a `run.log`, ANSI-free, prefixes removed, test file paths shortened to the
/// file name.
fn vitest_lines(log: &str) -> Vec<String> {
    let clean = evaltriage_core::text::strip_controls(log);
    let prefixed: Vec<&str> =
        clean.lines().filter_map(|l| l.strip_prefix("[vitest] ").or_else(|| (l == "[vitest]").then_some(""))).collect();
    let lines: Vec<&str> = if prefixed.is_empty() {
        let all: Vec<&str> = clean.lines().collect();
        let start = all.iter().rposition(|l| l.contains("vitest run") || l.contains(" RUN  v")).map_or(0, |i| i + 1);
        all[start..].to_vec()
    } else {
        prefixed
    };
    lines.into_iter().map(shorten_test_path).collect()
}

/// `evals/002-queries/015-pagination/grader.test.ts > x` -> `grader.test.ts > x`.
fn shorten_test_path(line: &str) -> String {
    let Some(at) = line.find(".test.") else { return line.to_owned() };
    let start = line[..at].rfind(char::is_whitespace).map_or(0, |i| i + 1);
    match line[start..at].rfind('/') {
        Some(slash) => format!("{}{}", &line[..start], &line[start + slash + 1..]),
        None => line.to_owned(),
    }
}

fn is_separator(line: &str) -> bool {
    line.contains("⎯⎯")
}

fn is_end_of_failures(line: &str) -> bool {
    let t = line.trim_start();
    t.starts_with("Test Files ") || t.starts_with("Tests ") && t.ends_with(')')
}

/// Reads the tests' outcome and failures from a `run.log`.
pub(crate) fn read_test_report(log: &str) -> TestReport {
    let lines = vitest_lines(log);
    let mut report = TestReport::default();
    // The list of failing tests (`× name 12ms` then `→ message`), for failures without a block.
    let mut listed: Vec<(String, String)> = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let t = lines[i].trim();
        if t.starts_with("RUN  v") || t.starts_with("Test Files ") {
            report.found = true;
        }
        if let Some(rest) = t.strip_prefix("Tests ").filter(|_| t.ends_with(')')) {
            report.found = true;
            let (counts, total) = rest.rsplit_once('(').unwrap_or((rest, ""));
            report.total = total.trim_end_matches(')').trim().parse().ok();
            for part in counts.split('|') {
                let mut words = part.split_whitespace();
                let (Some(n), Some(what)) = (words.next().and_then(|n| n.parse().ok()), words.next()) else { continue };
                match what {
                    "failed" => report.failed = n,
                    "passed" => report.passed = n,
                    _ => {}
                }
            }
        }
        if let Some(name) = ["× ", "✗ ", "✕ "].iter().find_map(|m| t.strip_prefix(m)) {
            let next = lines.get(i + 1).map_or("", |n| n.trim());
            let is_item = ["× ", "✗ ", "✕ ", "✓ ", "↓ ", "FAIL ", "❯ "].iter().any(|m| next.starts_with(m));
            let message = if is_item { "" } else { next.strip_prefix("→ ").unwrap_or(next) };
            let name = strip_duration(name);
            let name = match name.split_once(" > ") {
                Some((file, rest)) if file.contains(".test.") || file.contains(".spec.") => rest,
                _ => name,
            };
            listed.push((name.to_owned(), message.to_owned()));
        }
        if let Some(rest) = t.strip_prefix("FAIL ") {
            report.found = true;
            let rest = rest.trim();
            let full_name = rest.split_once(" > ").map_or(rest, |(_, n)| n).trim().to_owned();
            let mut block = Vec::new();
            i += 1;
            while i < lines.len() {
                let l = lines[i].trim();
                if is_separator(l) || l.starts_with("FAIL ") || is_end_of_failures(l) {
                    break;
                }
                block.push(lines[i].clone());
                i += 1;
            }
            report.failures.push(parse_block(full_name, &block));
            continue;
        }
        i += 1;
    }
    for (name, message) in listed {
        if !report.failures.iter().any(|f| f.full_name.ends_with(&name) || name.ends_with(f.name())) {
            let message = if message.is_empty() { vec![] } else { vec![message] };
            report.failures.push(FailedTest { full_name: name, message, ..FailedTest::default() });
        }
    }
    report.found |= !report.failures.is_empty();
    report
}

/// `name 12ms` -> `name`.
fn strip_duration(name: &str) -> &str {
    match name.rsplit_once(' ') {
        Some((rest, d)) if d.ends_with("ms") && d[..d.len() - 2].chars().all(|c| c.is_ascii_digit()) => rest,
        _ => name,
    }
}

fn is_diff_start(line: &str) -> bool {
    let t = line.trim();
    t == "- Expected" || t == "- Expected:" || t.starts_with("Expected:") || t == "+ Received"
}

fn is_frame_line(line: &str) -> bool {
    let t = line.trim_start();
    t.starts_with("❯ ") || t.split_once('|').is_some_and(|(n, _)| n.trim().chars().all(|c| c.is_ascii_digit()))
}

fn parse_block(full_name: String, block: &[String]) -> FailedTest {
    let mut test = FailedTest { full_name, ..FailedTest::default() };
    let mut k = 0;
    while k < block.len() && block[k].trim().is_empty() {
        k += 1;
    }
    // The message: the first paragraph, up to a blank line or the diff.
    while k < block.len() && !block[k].trim().is_empty() && !is_diff_start(&block[k]) && !is_frame_line(&block[k]) {
        test.message.push(block[k].clone());
        k += 1;
    }
    let rest = &block[k..];
    let diff_start = rest.iter().position(|l| is_diff_start(l));
    let frame_start = rest.iter().position(|l| is_frame_line(l) && l.trim_start().starts_with('❯'));
    if let Some(d) = diff_start.filter(|d| frame_start.is_none_or(|f| *d < f)) {
        let end = frame_start.unwrap_or(rest.len());
        let mut diff: Vec<String> = rest[d..end].to_vec();
        while diff.last().is_some_and(|l| l.trim().is_empty()) {
            diff.pop();
        }
        test.diff = diff;
    }
    if let Some(f) = frame_start {
        for line in &rest[f..] {
            if is_frame_line(line) || line.trim_start().starts_with('|') {
                test.frame.push(line.trim_end().to_owned());
            }
        }
    }
    let used = test.message.len() + test.diff.len() + test.frame.len();
    test.other_lines = block.iter().filter(|l| !l.trim().is_empty()).count().saturating_sub(used);
    test
}

/// Tokens one test may take before its frame and long unchanged runs of its diff are cut.
const PER_TEST_TOKENS: usize = 320;
/// Unchanged lines of a diff hunk kept around a change when a test is over its cap.
const DIFF_CONTEXT: usize = 2;

/// The failing tests rendered for the prompt within `budget` tokens: the outcome line, then per
/// failing test its name, message and diff hunk whole, then its code frame. A failure repeating
/// an earlier one is named with the line it failed at; tests past the budget are named in one
/// line each, then counted. Returns the text, the lines cut, and the tokens used by this
/// function's own count (what it needs to show everything, given an unbounded budget).
pub(crate) fn render_failures(report: &TestReport, budget: usize) -> (String, usize, usize) {
    let mut out = vec![format!("Tests: {}", report.outcome()), String::new()];
    let mut cut = 0;
    let mut used = estimate_tokens_of_lines(&out);
    let mut seen: Vec<(String, String)> = Vec::new();
    let mut left: Vec<&FailedTest> = Vec::new();
    for test in &report.failures {
        let key = test.error_key();
        let repeat = seen.iter().find(|(k, _)| !k.is_empty() && *k == key).map(|(_, n)| n.clone());
        let block = match &repeat {
            Some(first) => {
                let mut b = vec![format!("FAIL  {}", test.full_name), format!("(the same error as \"{first}\")")];
                b.extend(pointed_frame_line(&test.frame));
                cut += test.message.len() + test.diff.len();
                b
            }
            None => {
                let (b, c) = test_block(test);
                cut += c;
                b
            }
        };
        let cost = estimate_tokens_of_lines(&block);
        if used + cost > budget && !out.iter().all(|l| !l.starts_with("FAIL")) {
            left.push(test);
            continue;
        }
        used += cost;
        out.extend(block);
        out.push(String::new());
        if repeat.is_none() {
            seen.push((key, test.name().to_owned()));
        }
    }
    let mut named = 0;
    for test in &left {
        let line = format!("FAIL  {} — {}", test.full_name, test.headline());
        let cost = estimate_tokens_of_lines(std::slice::from_ref(&line));
        if used + cost > budget {
            break;
        }
        used += cost;
        out.push(line);
        named += 1;
        cut += test.message.len() + test.diff.len() + test.frame.len();
    }
    if left.len() > named {
        out.push(format!("[... {} more failing tests cut ...]", left.len() - named));
        cut += left[named..].iter().map(|t| t.message.len() + t.diff.len() + t.frame.len() + 1).sum::<usize>();
    }
    while out.last().is_some_and(|l| l.trim().is_empty()) {
        out.pop();
    }
    (out.join("\n") + "\n", cut, used)
}

/// The `❯ file:line:col` line of a frame and the source line the caret points at.
fn pointed_frame_line(frame: &[String]) -> Vec<String> {
    let mut out: Vec<String> = frame.iter().take(1).cloned().collect();
    if let Some(k) = frame.iter().position(|l| l.trim_start().starts_with('|') && l.contains('^')) {
        if k > 0 {
            out.push(frame[k - 1].clone());
        }
    }
    out
}

/// One test: name, message and diff whole; the frame in full when the test fits its cap, else
/// only the pointed line, and long unchanged runs inside the diff collapsed.
fn test_block(test: &FailedTest) -> (Vec<String>, usize) {
    let mut head = vec![format!("FAIL  {}", test.full_name)];
    let (message, mut cut) = drop_repeats(&test.message);
    head.extend(message);
    let mut diff = test.diff.clone();
    let mut frame = test.frame.clone();
    let whole = |d: &[String], f: &[String]| {
        let mut b = head.clone();
        if !d.is_empty() {
            b.push(String::new());
            b.extend(d.iter().cloned());
        }
        if !f.is_empty() {
            b.push(String::new());
            b.extend(f.iter().cloned());
        }
        b
    };
    if estimate_tokens_of_lines(&whole(&diff, &frame)) > PER_TEST_TOKENS {
        let pointed = pointed_frame_line(&frame);
        cut += frame.len() - pointed.len();
        frame = pointed;
    }
    if estimate_tokens_of_lines(&whole(&diff, &frame)) > PER_TEST_TOKENS {
        let (collapsed, c) = collapse_unchanged(&diff);
        diff = collapsed;
        cut += c;
    }
    cut += test.other_lines;
    (whole(&diff, &frame), cut)
}

/// Runs of unchanged lines (`  x`) longer than twice [`DIFF_CONTEXT`] inside a diff hunk are cut
/// between changes, never a changed line.
fn collapse_unchanged(diff: &[String]) -> (Vec<String>, usize) {
    let changed =
        |l: &str| l.starts_with('-') || l.starts_with('+') || l.starts_with("Expected") || l.starts_with("Received");
    let mut out = Vec::new();
    let mut cut = 0;
    let mut k = 0;
    while k < diff.len() {
        if changed(&diff[k]) || diff[k].trim().is_empty() {
            out.push(diff[k].clone());
            k += 1;
            continue;
        }
        let run_end = (k..diff.len()).find(|&j| changed(&diff[j]) || diff[j].trim().is_empty()).unwrap_or(diff.len());
        let run = run_end - k;
        if run > 2 * DIFF_CONTEXT + 1 {
            out.extend(diff[k..k + DIFF_CONTEXT].iter().cloned());
            out.push(cut_marker(run - 2 * DIFF_CONTEXT));
            out.extend(diff[run_end - DIFF_CONTEXT..run_end].iter().cloned());
            cut += run - 2 * DIFF_CONTEXT;
        } else {
            out.extend(diff[k..run_end].iter().cloned());
        }
        k = run_end;
    }
    (out, cut)
}

/// For a log without Vitest's output: the lines that report a failure, with a little context,
/// deduplicated; the log's tail when no such line is found.
pub(crate) fn failure_lines(log: &str) -> (String, usize) {
    const MARKERS: &[&str] = &[
        "FAIL",
        "×",
        "✗",
        "✕",
        "AssertionError",
        "Expected",
        "Received",
        "expected",
        "Error:",
        "failed",
        "Failed",
        "TypeError",
        "timed out",
    ];
    let clean = evaltriage_core::text::strip_controls(log);
    let lines: Vec<&str> = clean.lines().collect();
    let mut keep = vec![false; lines.len()];
    for (i, line) in lines.iter().enumerate() {
        if MARKERS.iter().any(|m| line.contains(m)) {
            keep[i.saturating_sub(1)..(i + 4).min(lines.len())].fill(true);
        }
    }
    if !keep.iter().any(|k| *k) {
        keep[lines.len().saturating_sub(40)..].fill(true);
    }
    let mut kept = Vec::new();
    let mut cut = 0;
    let mut pending = 0;
    for (line, k) in lines.iter().zip(&keep) {
        if !*k {
            pending += 1;
            continue;
        }
        if pending > 0 {
            kept.push(cut_marker(pending));
            cut += pending;
            pending = 0;
        }
        kept.push((*line).to_owned());
    }
    if pending > 0 {
        kept.push(cut_marker(pending));
        cut += pending;
    }
    let (out, repeats) = drop_repeats(&kept);
    (out.join("\n") + "\n", cut + repeats)
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOG: &str = "[ok] eslint\n[error] vitest: Error: Tests failed (ratio: 0.5)\n[cmd] bunx vitest run /r/evals/000-a/001-b/grader.test.ts\n[vitest] \n[vitest]  RUN  v3.2.4 /r\n[vitest] \n[vitest]  ❯ evals/000-a/001-b/grader.test.ts (2 tests | 1 failed) 30ms\n[vitest]    × counts things 12ms\n[vitest]      → expected 4 to be 5 // Object.is equality\n[vitest] \n[vitest] ⎯⎯⎯⎯ Failed Tests 1 ⎯⎯⎯⎯\n[vitest] \n[vitest]  FAIL  evals/000-a/001-b/grader.test.ts > counts things\n[vitest] AssertionError: expected 4 to be 5 // Object.is equality\n[vitest] \n[vitest] - Expected\n[vitest] + Received\n[vitest] \n[vitest] - 5\n[vitest] + 4\n[vitest] \n[vitest]  ❯ evals/000-a/001-b/grader.test.ts:9:17\n[vitest]       8|   const n = await count();\n[vitest]       9|   expect(n).toBe(5);\n[vitest]        |                 ^\n[vitest] \n[vitest] ⎯⎯⎯⎯[1/1]⎯\n[vitest] \n[vitest]  Test Files  1 failed (1)\n[vitest]       Tests  1 failed | 1 passed (2)\n";

    #[test]
    fn reads_the_runner_format() {
        let report = read_test_report(LOG);
        assert!(report.found);
        assert_eq!((report.failed, report.passed, report.total), (1, 1, Some(2)));
        assert_eq!(report.failures.len(), 1);
        let t = &report.failures[0];
        assert_eq!(t.name(), "counts things");
        assert_eq!(t.headline(), "AssertionError: expected 4 to be 5 // Object.is equality");
        assert_eq!(t.diff, ["- Expected", "+ Received", "", "- 5", "+ 4"]);
        assert_eq!(t.frame[0], " ❯ grader.test.ts:9:17");
        assert_eq!(report.outcome(), "1 failed | 1 passed (2)");
    }

    #[test]
    fn all_passed_after_a_lint_failure() {
        let log = "[error] eslint: Error: Failed to lint code:\n[vitest]  ✓ evals/a/b/grader.test.ts (7 tests) 2760ms\n[vitest] \n[vitest]  Test Files  1 passed (1)\n[vitest]       Tests  7 passed (7)\n";
        let report = read_test_report(log);
        assert!(report.all_passed());
        assert_eq!(report.outcome(), "all 7 passed");
        assert!(!read_test_report("[ok] tsc\n").found);
    }

    #[test]
    fn a_tight_budget_never_cuts_inside_a_diff_hunk() {
        let report = read_test_report(LOG);
        let (text, _, _) = render_failures(&report, 10);
        assert!(text.contains("- Expected\n+ Received\n\n- 5\n+ 4\n"), "{text}");
    }
}
