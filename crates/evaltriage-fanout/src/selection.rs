//! Evidence selection and budgeting: what of one failed eval's files goes into the prompt.
//!
//! The failed step's error (deduplicated, trimmed around the first errors), the failing tests
//! from `run.log`, the task, the model's files as a unified diff against the reference answer, the
//! grader test and `GAPS.txt`, each cut to its share of a per-call token budget (estimated as
//! characters / 4). Whatever is cut is marked `[... N lines cut ...]`. `node_modules`, generated
//! code, lockfiles, `.env` files and binaries never go in.

use std::collections::{BTreeMap, HashMap};

use evaltriage_core::evidence::text_file_named;
use evaltriage_core::{FileContent, FileSet, StepName};

use crate::Case;
use crate::diff::unified_diff;

/// Default per-call evidence budget, in estimated tokens.
pub const DEFAULT_EVIDENCE_TOKENS: usize = 5_000;
/// A single line longer than this is clipped (minified code, base64 blobs).
const MAX_LINE_CHARS: usize = 400;
/// How many times a line (with its numbers normalised) may repeat before repeats are cut.
const MAX_REPEATS: usize = 2;
/// File names that are lockfiles: long, generated, and never evidence.
const LOCKFILES: &[&str] =
    &["package-lock.json", "npm-shrinkwrap.json", "bun.lock", "bun.lockb", "pnpm-lock.yaml", "yarn.lock"];

/// Estimated tokens of a text: characters / 4, rounded up.
pub fn estimate_tokens(text: &str) -> usize {
    text.chars().count().div_ceil(4)
}

/// The evidence chosen for one failed eval, rendered as the prompt's evidence block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SelectedEvidence {
    /// The rendered evidence (markdown sections, untrusted content fenced).
    pub text: String,
    /// Lines cut to fit the budget or as repeats, over all sections.
    pub cut_lines: usize,
}

impl SelectedEvidence {
    pub fn estimated_tokens(&self) -> usize {
        estimate_tokens(&self.text)
    }
}

/// Whether a file of a zip must never be sent: dependencies, generated code, lockfiles, env
/// files (they may hold secrets) and binaries.
pub fn is_excluded(path: &str, content: &FileContent) -> bool {
    let file = path.rsplit('/').next().unwrap_or(path);
    content.as_text().is_none()
        || !evaltriage_core::evidence::is_text_path(path)
        || path.split('/').any(|c| matches!(c, "node_modules" | "_generated" | ".git" | "dist" | ".convex"))
        || LOCKFILES.contains(&file)
        || file.starts_with("bun.lock")
        || file.starts_with(".env")
}

/// A section before budgeting.
struct Draft {
    title: String,
    info: &'static str,
    body: String,
    weight: usize,
    /// Share of a cut kept from the end (the rest from the start).
    tail_share: f32,
}

/// Selects and renders the evidence for one case within `budget_tokens`.
pub fn select_evidence(case: &Case, budget_tokens: usize) -> SelectedEvidence {
    let failure = &case.failure;
    let evidence = &case.evidence;
    let mut cut_lines = 0;

    let mut header = format!("### Failure\n- eval: {}\n- failed step: {}\n", failure.eval_path, failure.step_label());
    let reason = first_meaningful_line(&failure.reason);
    header.push_str(&format!("- eval failure reason: {}\n", inline_code(&clip_chars(reason, 300))));

    let mut drafts = Vec::new();
    let (error, cut) = condense_error(failure.error_text());
    cut_lines += cut;
    let step = failure.step_label();
    drafts.push(Draft {
        title: format!("Error output of the failed step ({step})"),
        info: "text",
        body: error,
        weight: 3,
        tail_share: 0.15,
    });
    // The failing tests live only in run.log; for other steps the step's error already has it all.
    let tests_failed = failure.failed_step == Some(StepName::Tests) || failure.step_error.is_none();
    if let Some(log) = evidence.run_log().filter(|_| tests_failed) {
        let (tests, cut) = failing_tests(log);
        cut_lines += cut;
        if !tests.trim().is_empty() {
            drafts.push(Draft {
                title: "Failing tests (from run.log)".into(),
                info: "text",
                body: tests,
                weight: 2,
                tail_share: 0.2,
            });
        }
    }
    let task = evidence.task.clone().or_else(|| text_file_named(&evidence.source_files, "TASK.txt").map(str::to_owned));
    if let Some(task) = task {
        drafts.push(Draft { title: "Task (TASK.txt)".into(), info: "text", body: task, weight: 2, tail_share: 0.3 });
    }
    let diffs = file_diffs(&evidence.output_files, &evidence.source_files);
    // The diff goes here in the rendered order; it is budgeted per file below.
    let diff_position = drafts.len();
    if let Some(grader) = text_file_named(&evidence.source_files, "grader.test.ts") {
        drafts.push(Draft {
            title: "Grader test (grader.test.ts)".into(),
            info: "ts",
            body: grader.to_owned(),
            weight: 2,
            tail_share: 0.2,
        });
    }
    if let Some(gaps) = evidence.gaps() {
        drafts.push(Draft {
            title: "Known gaps of this eval (GAPS.txt)".into(),
            info: "text",
            body: gaps.to_owned(),
            weight: 1,
            tail_share: 0.2,
        });
    }

    let overhead = estimate_tokens(&header) + 40 * (drafts.len() + 1) + 60 + estimate_tokens(&diffs.notes());
    let available = budget_tokens.saturating_sub(overhead).max(200);
    let mut sizes: Vec<(usize, usize)> = drafts.iter().map(|d| (estimate_tokens(&d.body), d.weight)).collect();
    let diff_total: usize = diffs.files.iter().map(|(_, d)| estimate_tokens(d)).sum();
    sizes.push((diff_total, 4));
    let shares = water_fill(&sizes, available);

    let mut sections: Vec<String> = Vec::new();
    for (draft, share) in drafts.iter().zip(&shares) {
        let (body, cut) = cut_to(&draft.body, share * 4, draft.tail_share);
        cut_lines += cut;
        sections.push(format!("\n### {}\n{}", draft.title, fence(&body, draft.info)));
    }
    let mut diff_section = String::new();
    if !diffs.files.is_empty() {
        let file_sizes: Vec<(usize, usize)> = diffs.files.iter().map(|(_, d)| (estimate_tokens(d), 1)).collect();
        let file_shares = water_fill(&file_sizes, shares[drafts.len()]);
        let mut body = String::new();
        for ((note, diff), share) in diffs.files.iter().zip(file_shares) {
            let (diff, cut) = cut_to(diff, share * 4, 0.0);
            cut_lines += cut;
            if !note.is_empty() {
                body.push_str(note);
                body.push('\n');
            }
            body.push_str(&diff);
        }
        diff_section.push_str(&format!(
            "\n### Model's files compared with the reference answer (`-` answer, `+` model)\n{}",
            fence(&body, "diff")
        ));
    }
    diff_section.push_str(&diffs.notes());
    sections.insert(diff_position, diff_section);

    let mut text = header;
    for section in sections {
        text.push_str(&section);
    }
    if !evidence.problems.is_empty() {
        text.push_str("\n### Evidence that could not be fetched\n");
        for p in &evidence.problems {
            text.push_str(&format!("- {}\n", clip_chars(p, 300)));
        }
    }
    SelectedEvidence { text, cut_lines }
}

/// Splits `budget` over items of `(size, weight)`: an item smaller than its weighted share gets
/// its size and the rest is shared again among the others.
fn water_fill(items: &[(usize, usize)], budget: usize) -> Vec<usize> {
    let mut shares = vec![0; items.len()];
    let mut open: Vec<usize> = (0..items.len()).collect();
    let mut remaining = budget;
    loop {
        let total_weight: usize = open.iter().map(|&i| items[i].1.max(1)).sum();
        if open.is_empty() || total_weight == 0 {
            return shares;
        }
        let fits: Vec<usize> =
            open.iter().copied().filter(|&i| items[i].0 <= remaining * items[i].1.max(1) / total_weight).collect();
        if fits.is_empty() {
            for &i in &open {
                shares[i] = remaining * items[i].1.max(1) / total_weight;
            }
            return shares;
        }
        for i in fits {
            shares[i] = items[i].0;
            remaining -= items[i].0;
            open.retain(|&j| j != i);
        }
    }
}

/// The marker that replaces cut lines.
fn cut_marker(n: usize) -> String {
    format!("[... {n} lines cut ...]")
}

/// Cuts a text to about `max_chars`, keeping whole lines from the start and `tail_share` of the
/// room from the end, with a marker where lines were cut. Returns the text and the lines cut.
pub fn cut_to(text: &str, max_chars: usize, tail_share: f32) -> (String, usize) {
    if text.chars().count() <= max_chars {
        return (text.to_owned(), 0);
    }
    let lines: Vec<&str> = text.lines().collect();
    let room = max_chars.saturating_sub(30);
    let tail_room = (room as f32 * tail_share) as usize;
    let head_room = room - tail_room;
    let mut head = 0;
    let mut used = 0;
    while head < lines.len() && used + lines[head].chars().count() < head_room {
        used += lines[head].chars().count() + 1;
        head += 1;
    }
    let mut tail = 0;
    used = 0;
    while tail < lines.len() - head && used + lines[lines.len() - 1 - tail].chars().count() < tail_room {
        used += lines[lines.len() - 1 - tail].chars().count() + 1;
        tail += 1;
    }
    let cut = lines.len() - head - tail;
    if cut == 0 {
        return (text.to_owned(), 0);
    }
    let mut out: Vec<String> = lines[..head].iter().map(|l| (*l).to_owned()).collect();
    if head == 0 && head_room > 0 {
        // One long first line (a paragraph, minified code): keep its start rather than nothing.
        out.push(clip_chars(lines[0], head_room));
        out.push(cut_marker(cut - 1));
    } else {
        out.push(cut_marker(cut));
    }
    out.extend(lines[lines.len() - tail..].iter().map(|l| (*l).to_owned()));
    (out.join("\n") + "\n", cut)
}

/// Condenses a step's error output: ANSI colours stripped, very long lines clipped, lines that
/// repeat (numbers aside) more than twice cut, and the lines well before the first error dropped.
/// Returns the text and the number of lines cut.
pub fn condense_error(text: &str) -> (String, usize) {
    let clean = strip_ansi(text);
    let lines: Vec<&str> = clean.lines().collect();
    let first_error = lines.iter().position(|l| looks_like_error(l)).unwrap_or(0);
    let mut out: Vec<String> = Vec::new();
    let mut cut_total = 0;
    let mut pending_cut = 0;
    let mut seen: HashMap<String, usize> = HashMap::new();
    let flush = |out: &mut Vec<String>, pending: &mut usize| {
        if *pending > 0 {
            out.push(cut_marker(*pending));
            *pending = 0;
        }
    };
    for (i, line) in lines.iter().enumerate() {
        // Keep the step's header line, then start a little before the first error.
        let before_first_error = i > 0 && i + 3 < first_error;
        let blank_run = line.trim().is_empty() && out.last().is_some_and(|l| l.trim().is_empty());
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
        flush(&mut out, &mut pending_cut);
        out.push(clip_chars(line, MAX_LINE_CHARS));
    }
    flush(&mut out, &mut pending_cut);
    (out.join("\n") + "\n", cut_total)
}

/// The failing tests of a `run.log`: the lines that report a failure, with a little context,
/// deduplicated; the log's tail when no such line is found.
pub fn failing_tests(log: &str) -> (String, usize) {
    let clean = strip_ansi(log);
    let lines: Vec<&str> = clean.lines().collect();
    let mut keep = vec![false; lines.len()];
    let mut any = false;
    for (i, line) in lines.iter().enumerate() {
        if looks_like_test_failure(line) {
            any = true;
            let end = (i + 4).min(lines.len());
            keep[i.saturating_sub(1)..end].fill(true);
        }
    }
    if !any {
        let start = lines.len().saturating_sub(40);
        for k in keep.iter_mut().skip(start) {
            *k = true;
        }
    }
    let mut out = Vec::new();
    let mut pending = 0;
    let mut cut_total = 0;
    let mut seen: HashMap<String, usize> = HashMap::new();
    for (i, line) in lines.iter().enumerate() {
        let count = seen.entry(normalise_line(line)).or_insert(0);
        *count += 1;
        if !keep[i] || (!line.trim().is_empty() && *count > MAX_REPEATS) {
            pending += 1;
            cut_total += 1;
            continue;
        }
        if pending > 0 {
            out.push(cut_marker(pending));
            pending = 0;
        }
        out.push(clip_chars(line, MAX_LINE_CHARS));
    }
    if pending > 0 {
        out.push(cut_marker(pending));
    }
    (out.join("\n") + "\n", cut_total)
}

fn looks_like_error(line: &str) -> bool {
    let l = line.to_ascii_lowercase();
    l.contains("error") || l.contains("✖") || l.contains("failed")
}

fn looks_like_test_failure(line: &str) -> bool {
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
    MARKERS.iter().any(|m| line.contains(m))
}

/// A line with digit runs collapsed and whitespace trimmed: the key repeats are counted by.
fn normalise_line(line: &str) -> String {
    evaltriage_core::shape::collapse_digit_runs(line.trim())
}

/// Removes ANSI escape sequences (`ESC [ ... letter`).
fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            if chars.peek() == Some(&'[') {
                chars.next();
                for d in chars.by_ref() {
                    if d.is_ascii_alphabetic() {
                        break;
                    }
                }
            }
            continue;
        }
        out.push(c);
    }
    out
}

fn clip_chars(line: &str, max: usize) -> String {
    let n = line.chars().count();
    if n <= max {
        line.to_owned()
    } else {
        let kept: String = line.chars().take(max).collect();
        format!("{kept} [... {} chars cut ...]", n - max)
    }
}

/// The first line that says something: skips blanks and the step's generic `Error: Failed to ...:`.
pub fn first_meaningful_line(text: &str) -> &str {
    let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
    let first = lines.next().unwrap_or("");
    if evaltriage_core::model::is_step_header(first) { lines.next().map_or(first, |second| second) } else { first }
}

/// Fences untrusted text with a backtick fence longer than any backtick run inside it.
pub fn fence(text: &str, info: &str) -> String {
    let mut longest = 0;
    let mut run = 0;
    for c in text.chars() {
        if c == '`' {
            run += 1;
            longest = longest.max(run);
        } else {
            run = 0;
        }
    }
    let ticks = "`".repeat((longest + 1).max(3));
    let body = if text.ends_with('\n') { text.to_owned() } else { format!("{text}\n") };
    format!("{ticks}{info}\n{body}{ticks}\n")
}

/// An inline code span for one line of untrusted text, with a backtick run longer than any inside.
fn inline_code(text: &str) -> String {
    let longest = text.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let ticks = "`".repeat(longest + 1);
    if text.starts_with('`') || text.ends_with('`') {
        format!("{ticks} {text} {ticks}")
    } else {
        format!("{ticks}{text}{ticks}")
    }
}

/// The model's files set against the reference answer's.
struct FileDiffs {
    /// (note, unified diff) per file that differs, convex/ files first.
    files: Vec<(String, String)>,
    identical: Vec<String>,
    /// Files only in the model's output outside `convex/`, when the answer has none: the
    /// harness's scaffolding (tsconfig, eslint config), named but not shown.
    scaffolding: Vec<String>,
}

impl FileDiffs {
    /// The lines naming files that are not shown.
    fn notes(&self) -> String {
        let mut out = String::new();
        if !self.identical.is_empty() {
            out.push_str(&format!("\nFiles identical to the reference answer: {}\n", self.identical.join(", ")));
        }
        if !self.scaffolding.is_empty() {
            out.push_str(&format!(
                "\nFiles only in the model's output, not shown (project scaffolding): {}\n",
                self.scaffolding.join(", ")
            ));
        }
        out
    }
}

fn file_diffs(output: &FileSet, source: &FileSet) -> FileDiffs {
    let mut answer: BTreeMap<&str, &str> = BTreeMap::new();
    for (path, content) in source {
        let Some(rel) = path.strip_prefix("answer/") else { continue };
        if let (false, Some(text)) = (is_excluded(rel, content), content.as_text()) {
            answer.insert(rel, text);
        }
    }
    let mut model: BTreeMap<&str, &str> = BTreeMap::new();
    for (path, content) in output {
        let file = path.rsplit('/').next().unwrap_or(path);
        if let (false, Some(text)) = (file == "run.log" || is_excluded(path, content), content.as_text()) {
            model.insert(path, text);
        }
    }
    let mut paths: Vec<&str> = answer.keys().chain(model.keys()).copied().collect();
    paths.sort_by_key(|p| (!p.starts_with("convex/"), *p));
    paths.dedup();
    let mut files = Vec::new();
    let mut identical = Vec::new();
    let mut scaffolding = Vec::new();
    for path in paths {
        match (answer.get(path), model.get(path)) {
            (Some(a), Some(m)) => match unified_diff(path, a, path, m) {
                Some(d) => files.push((String::new(), d)),
                None => identical.push(path.to_owned()),
            },
            (None, Some(_)) if !answer.is_empty() && !path.starts_with("convex/") => scaffolding.push(path.to_owned()),
            (None, Some(m)) => {
                if let Some(d) = unified_diff(path, "", path, m) {
                    let note = if answer.is_empty() { "" } else { "# only in the model's output" };
                    files.push((note.to_owned(), d));
                }
            }
            (Some(a), None) => {
                if let Some(d) = unified_diff(path, a, path, "") {
                    files.push(("# only in the reference answer (missing from the model's output)".to_owned(), d));
                }
            }
            (None, None) => {}
        }
    }
    FileDiffs { files, identical, scaffolding }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_fence(text: &str, expected_ticks: usize) {
        let fenced = fence(text, "ts");
        let ticks = fenced.chars().take_while(|&c| c == '`').count();
        assert_eq!(ticks, expected_ticks, "{fenced}");
        assert!(fenced.ends_with(&format!("{}\n", "`".repeat(expected_ticks))));
    }

    #[test]
    fn fences_outgrow_backtick_runs() {
        check_fence("plain", 3);
        check_fence("a ``` b", 4);
        check_fence("`````", 6);
    }

    #[test]
    fn repeated_error_lines_are_cut_and_marked() {
        let mut text = String::from("Error: Failed to typecheck code:\n");
        for i in 0..3000 {
            text.push_str(&format!("convex/a.ts({i},5): error TS2345: Argument of type 'string' is not assignable\n"));
        }
        text.push_str("Found 3000 errors in 1 file.\n");
        let (out, cut) = condense_error(&text);
        assert_eq!(cut, 2998);
        assert!(out.contains("[... 2998 lines cut ...]"), "{out}");
        assert!(out.contains("Found 3000 errors"), "{out}");
        assert!(out.lines().count() < 10, "{out}");
    }

    #[test]
    fn cut_keeps_head_and_tail() {
        let text: String = (0..100).map(|i| format!("line {i}\n")).collect();
        let (out, cut) = cut_to(&text, 200, 0.25);
        assert!(out.starts_with("line 0\n"));
        assert!(out.contains("line 99"));
        assert!(out.contains(&format!("[... {cut} lines cut ...]")));
        assert!(out.chars().count() <= 200 + 10, "{}", out.len());
    }

    #[test]
    fn a_long_first_line_is_clipped_not_dropped() {
        let text = format!("{}\nshort\n", "word ".repeat(200));
        let (out, _) = cut_to(&text, 200, 0.0);
        assert!(out.starts_with("word word"), "{out}");
        assert!(out.contains("chars cut ...]") && out.contains("[... 1 lines cut ...]"), "{out}");
    }

    #[test]
    fn a_tests_failure_brings_the_failing_tests_from_run_log() {
        use evaltriage_core::{EvalId, EvalPath, Evidence, Failure, FailureKind};
        let mut evidence = Evidence::default();
        let log = "[tests] running vitest\n × grader.test.ts > lists messages\n   AssertionError: expected [] to deeply equal [ 'hi' ]\n";
        evidence.output_files.insert("run.log".into(), FileContent::Text(log.into()));
        let case = Case {
            failure: Failure {
                eval_id: EvalId::new("e1").unwrap(),
                eval_path: EvalPath::new("000-fundamentals/001-messages"),
                failed_step: Some(StepName::Tests),
                kind: FailureKind::Verification,
                reason: "tests failed (50%)".into(),
                step_error: Some("tests failed (50%)".into()),
            },
            evidence,
            prior_label: None,
        };
        let text = select_evidence(&case, 5_000).text;
        assert!(text.contains("### Failing tests (from run.log)"), "{text}");
        assert!(text.contains("AssertionError: expected []"), "{text}");
        assert!(text.contains("- eval failure reason: `tests failed (50%)`"), "{text}");
    }

    #[test]
    fn water_fill_gives_small_items_their_size() {
        assert_eq!(water_fill(&[(10, 1), (1000, 1)], 500), vec![10, 490]);
        assert_eq!(water_fill(&[(1000, 1), (1000, 3)], 400), vec![100, 300]);
        assert_eq!(water_fill(&[(5, 1), (6, 1)], 100), vec![5, 6]);
    }

    #[test]
    fn exclusions() {
        let text = FileContent::Text("x".into());
        for p in
            ["node_modules/a/index.js", "package-lock.json", "bun.lock", "pnpm-lock.yaml", "yarn.lock", ".env.local"]
        {
            assert!(is_excluded(p, &text), "{p}");
        }
        assert!(is_excluded("convex/_generated/api.d.ts", &text));
        assert!(is_excluded("logo.png", &FileContent::Binary { len: 10 }));
        assert!(!is_excluded("convex/crons.ts", &text));
        assert!(!is_excluded("package.json", &text));
    }

    #[test]
    fn failing_tests_are_picked_from_run_log() {
        let log = "setup ok\n".repeat(50)
            + " ✓ grader.test.ts > creates a message\n × grader.test.ts > lists messages\n   AssertionError: expected [] to deeply equal [ 'hi' ]\n"
            + &"noise\n".repeat(20);
        let (out, _) = failing_tests(&log);
        assert!(out.contains("× grader.test.ts > lists messages"), "{out}");
        assert!(out.contains("AssertionError"), "{out}");
        assert!(!out.contains("setup ok\nsetup ok\nsetup ok"), "{out}");
    }
}
