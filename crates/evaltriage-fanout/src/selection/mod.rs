//! Evidence selection and budgeting: what of one failed eval's files goes into the prompt, ordered
//! by how decisive it is.
//!
//! Built around the decisive error: the failed step's error and what it names (files, lines); the
//! tests' outcome from `run.log` (after a tsc or eslint failure too, since the tests still run);
//! each failing test's name, message and diff hunk whole, and its own source block from the
//! grader with the setup it uses; the model's files as diffs against the reference answer, the
//! files the error names first (whatever their folder) with the lines it names; the task; and
//! `GAPS.txt`. Each section gets a share of a per-call token budget (a calibrated estimate, see
//! `tokens.rs`), and what a small section leaves over goes to the ones before it in that order.
//! Cuts are marked `[... N lines cut ...]`; files that no error, task or grader concerns (READMEs,
//! configs, logs, lockfiles, dependencies, generated code, binaries) are named in one line and
//! never sent.

mod files;
mod grader;
mod sample;
mod step_error;
mod text;
mod tokens;
mod vitest;

use evaltriage_core::evidence::{RAW_MODEL_RESPONSE, text_file_named};
use evaltriage_core::{FileContent, StepName};

use crate::Case;

pub use step_error::condense_error;
pub use text::fence;
pub use tokens::estimate_tokens;
pub(crate) use vitest::read_test_report;

use files::compare_files;
use grader::failing_test_source;
use step_error::named_files;
use text::{clip_chars, cut_to_tokens, inline_code, water_fill};

/// Default per-call evidence budget, in estimated tokens.
pub const DEFAULT_EVIDENCE_TOKENS: usize = 2_600;
/// Failing tests (with distinct errors) whose source blocks are taken from the grader.
const MAX_GRADER_TESTS: usize = 3;
/// `[setup]` lines of `run.log` shown.
const MAX_SETUP_LINES: usize = 12;
/// Known-gap records named in the evidence.
const MAX_KNOWN_GAPS: usize = 5;
/// How a static-pipeline eval is described.
pub const STATIC_PIPELINE: &str = "static — graded on the files: no install, deploy, tsc or eslint";
/// File names that are lockfiles: long, generated, and never evidence.
const LOCKFILES: &[&str] =
    &["package-lock.json", "npm-shrinkwrap.json", "bun.lock", "bun.lockb", "pnpm-lock.yaml", "yarn.lock"];

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
        || file.ends_with(".log")
}

/// The first line that says something: skips blanks and the step's generic `Error: Failed to ...:`.
pub fn first_meaningful_line(text: &str) -> &str {
    let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
    let first = lines.next().unwrap_or("");
    if evaltriage_core::model::is_step_header(first) { lines.next().map_or(first, |second| second) } else { first }
}

/// The sections, in the order they are rendered and served.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Error,
    /// The model's raw answer, when it parsed to no files.
    RawAnswer,
    Tests,
    Grader,
    Files,
    Task,
    Gaps,
}

impl Kind {
    /// Percent of the budget a section is sure to get, if it needs it.
    fn share(self) -> usize {
        match self {
            Self::Error => 20,
            Self::RawAnswer => 22,
            Self::Tests => 24,
            Self::Grader => 16,
            Self::Files => 22,
            Self::Task => 12,
            Self::Gaps => 6,
        }
    }
}

/// A section before budgeting: its full body and its estimated cost.
struct Draft {
    kind: Kind,
    title: String,
    info: &'static str,
    body: String,
}

/// Gives each section its share (or less, if it needs less), then what is left over to the
/// sections still cut, in order.
fn allot(needs: &[(Kind, usize)], budget: usize) -> Vec<usize> {
    let mut given: Vec<usize> = needs.iter().map(|(k, need)| (*need).min(budget * k.share() / 100)).collect();
    let mut left = budget.saturating_sub(given.iter().sum());
    for (g, (_, need)) in given.iter_mut().zip(needs) {
        let more = need.saturating_sub(*g).min(left);
        *g += more;
        left -= more;
    }
    given
}

/// Selects and renders the evidence for one case within `budget_tokens`.
pub fn select_evidence(case: &Case, budget_tokens: usize) -> SelectedEvidence {
    if let Some(sample) = &case.evidence.sample {
        return sample::select_sample_evidence(case, sample, budget_tokens);
    }
    let failure = &case.failure;
    let evidence = &case.evidence;
    let eval_path = failure.eval_path.as_str();
    let step = failure.failed_step.as_ref();
    let tests_step = step == Some(&StepName::Tests) || failure.step_error.is_none();
    // The runner still runs the tests after a real tsc or eslint failure (not after the others).
    let tests_ran_after = matches!(step, Some(StepName::Tsc | StepName::Eslint));
    let report = evidence.run_log().map(read_test_report).unwrap_or_default();
    let mut cut_lines = 0;
    let mut notes: Vec<String> = Vec::new();

    let mut header = format!("### Failure\n- eval: {eval_path}\n- failed step: {}\n", failure.step_label());
    header.push_str(&format!(
        "- eval failure reason: {}\n",
        inline_code(&clip_chars(first_meaningful_line(&failure.reason), 300))
    ));
    let error = failure.error_text();
    let one_line_error = error.trim().lines().count() <= 1;
    if one_line_error && error.trim() != failure.reason.trim() {
        header.push_str(&format!("- step error: {}\n", inline_code(&clip_chars(error.trim(), 300))));
    }
    if tests_ran_after {
        let outcome = if report.found { report.outcome() } else { "no test output found in run.log".to_owned() };
        header.push_str(&format!(
            "- tests (the runner still runs them after a tsc or eslint failure; from run.log): {outcome}\n"
        ));
    }
    let grader = text_file_named(&evidence.source_files, "grader.test.ts");
    header.push_str(&context_lines(case, grader));
    let setup = evidence.setup_lines();
    if step == Some(&StepName::Tsc) && !setup.is_empty() {
        let lines: Vec<String> = setup.iter().take(MAX_SETUP_LINES).map(|l| clip_chars(l, 300)).collect();
        let more = setup.len().saturating_sub(MAX_SETUP_LINES);
        let more = if more > 0 { format!("\n[... {more} more [setup] lines cut ...]") } else { String::new() };
        header.push_str(&format!(
            "\n### The harness's edits before tsc ([setup] lines from run.log; not the model's)\n{}",
            fence(&format!("{}{more}", lines.join("\n")), "text")
        ));
    }

    let mut drafts: Vec<Draft> = Vec::new();
    let raw_answer = evidence.raw_answer_without_files();
    if !one_line_error {
        let (body, cut) = condense_error(error, eval_path);
        cut_lines += cut;
        drafts.push(Draft {
            kind: Kind::Error,
            title: format!("Error output of the failed step ({})", failure.step_label()),
            info: "text",
            body,
        });
    }
    if let Some(raw) = raw_answer {
        drafts.push(Draft {
            kind: Kind::RawAnswer,
            title: format!(
                "The model's raw answer ({RAW_MODEL_RESPONSE}): it parsed to no files, so no file was written"
            ),
            info: "text",
            body: raw.to_owned(),
        });
    }
    let show_tests = tests_step || tests_ran_after;
    // The grader's blocks of the failing tests, one per distinct error.
    let failing: Vec<&str> =
        report.distinct_failures().into_iter().take(MAX_GRADER_TESTS).map(|f| f.full_name.as_str()).collect();
    // What the failing tests need, by the renderer's own count.
    let mut tests_need = 0;
    if show_tests && !report.failures.is_empty() {
        let (body, _, need) = vitest::render_failures(&report, usize::MAX);
        tests_need = need;
        drafts.push(Draft { kind: Kind::Tests, title: "Failing tests (from run.log)".into(), info: "text", body });
    } else if tests_step && !report.found {
        if let Some(log) = evidence.run_log() {
            let (body, cut) = vitest::failure_lines(log);
            cut_lines += cut;
            drafts.push(Draft { kind: Kind::Tests, title: "Failing tests (from run.log)".into(), info: "text", body });
        }
    }
    if let Some(grader) = grader {
        let excerpt =
            if show_tests && !failing.is_empty() { failing_test_source(grader, &failing, true) } else { None };
        match excerpt {
            Some((body, _)) => drafts.push(Draft {
                kind: Kind::Grader,
                title: "The failing tests in the grader (grader.test.ts)".into(),
                info: "ts",
                body,
            }),
            None if tests_step => drafts.push(Draft {
                kind: Kind::Grader,
                title: "Grader test (grader.test.ts)".into(),
                info: "ts",
                body: grader.to_owned(),
            }),
            None if report.all_passed() => notes.push("Grader test not shown: all its tests passed.".into()),
            None => notes.push("Grader test not shown: the tests did not run or no failing test was named.".into()),
        }
    }
    let task = evidence.task.clone().or_else(|| text_file_named(&evidence.source_files, "TASK.txt").map(str::to_owned));
    let mentions = format!("{}\n{}", task.as_deref().unwrap_or(""), grader.unwrap_or(""));
    let named = named_files(error, &evidence.output_files);
    let files = compare_files(
        &evidence.output_files,
        &evidence.source_files,
        &named,
        &mentions,
        step == Some(&StepName::Install),
    );
    let files = note_harness_edits(files, &setup, step == Some(&StepName::Tsc));
    let files_position = drafts.len();
    if let Some(task) = &task {
        drafts.push(Draft { kind: Kind::Task, title: "Task (TASK.txt)".into(), info: "text", body: task.clone() });
    }
    if let Some(gaps) = evidence.gaps() {
        if gaps.lines().any(|l| l.trim_start().starts_with("- ") || l.trim_start().starts_with("* ")) {
            drafts.push(Draft {
                kind: Kind::Gaps,
                title: "Known gaps of this eval (GAPS.txt)".into(),
                info: "text",
                body: gaps.to_owned(),
            });
        } else {
            notes.push("GAPS.txt documents no gap for this eval.".into());
        }
    }
    if !files.missing.is_empty() {
        let list = clip_chars(&files.missing.join(", "), 400);
        notes.insert(0, format!("Expected answer files the model did not write: {list}."));
    }
    if !files.identical.is_empty() {
        notes.insert(0, format!("Files identical to the reference answer: {}.", files.identical.join(", ")));
    }
    if !files.left_out.is_empty() {
        let list = clip_chars(&files.left_out.join(", "), 400);
        notes.push(format!("Left out (no error, task or grader concerns them): {list}."));
    }
    let notes_text: String = notes.iter().map(|n| format!("\n{n}\n")).collect();

    // The budget: what the headings, fences and notes take first, then the sections by share.
    let files_title = "Model's files compared with the reference answer (`-` answer, `+` model)";
    let overhead = estimate_tokens(&header) + estimate_tokens(&notes_text) + 12 * (drafts.len() + 2);
    let available = budget_tokens.saturating_sub(overhead).max(200);
    let files_cost: usize = files.diffs.iter().map(|d| estimate_tokens(&d.note) + estimate_tokens(&d.diff)).sum();
    let mut needs: Vec<(Kind, usize)> = drafts
        .iter()
        .map(|d| (d.kind, if d.kind == Kind::Tests && tests_need > 0 { tests_need } else { estimate_tokens(&d.body) }))
        .collect();
    needs.insert(files_position, (Kind::Files, files_cost));
    let mut order: Vec<usize> = (0..needs.len()).collect();
    order.sort_by_key(|&i| needs[i].0 as usize);
    let sorted: Vec<(Kind, usize)> = order.iter().map(|&i| needs[i]).collect();
    let given_sorted = allot(&sorted, available);
    let mut given = vec![0; needs.len()];
    for (k, &i) in order.iter().enumerate() {
        given[i] = given_sorted[k];
    }

    let mut sections: Vec<String> = Vec::new();
    let mut allowances = given.iter();
    for (position, draft) in drafts.iter().enumerate() {
        if position == files_position {
            let share = *allowances.next().unwrap_or(&0);
            let (section, cut) = render_files(&files.diffs, share, files_title);
            cut_lines += cut;
            sections.push(section);
        }
        let share = *allowances.next().unwrap_or(&0);
        let (body, cut) = match draft.kind {
            Kind::Tests if !report.failures.is_empty() => {
                let (body, cut, _) = vitest::render_failures(&report, share);
                (body, cut)
            }
            Kind::Grader => match failing_test_source(grader.unwrap_or(""), &failing, false) {
                Some((lean, _)) if estimate_tokens(&draft.body) > share => cut_to_tokens(&lean, share, 0.2),
                _ => cut_to_tokens(&draft.body, share, 0.2),
            },
            Kind::Error => cut_to_tokens(&draft.body, share, 0.15),
            Kind::RawAnswer => cut_to_tokens(&draft.body, share, 0.3),
            Kind::Task => cut_to_tokens(&draft.body, share, 0.3),
            _ => cut_to_tokens(&draft.body, share, 0.2),
        };
        cut_lines += cut;
        sections.push(format!("\n### {}\n{}", draft.title, fence(&body, draft.info)));
    }
    if files_position == drafts.len() {
        let share = *allowances.next().unwrap_or(&0);
        let (section, cut) = render_files(&files.diffs, share, files_title);
        cut_lines += cut;
        sections.push(section);
    }

    let mut text = header;
    for section in sections {
        text.push_str(&section);
    }
    text.push_str(&notes_text);
    if !evidence.problems.is_empty() {
        text.push_str(
            "\n### Evidence that could not be fetched\nDo not decide as if it said nothing: a missing eval source \
             hides GAPS.txt and the grader, a missing output hides the model's code and run.log. Say what it \
             prevented you from checking, and lower your confidence.\n",
        );
        for p in &evidence.problems {
            text.push_str(&format!("- {}\n", clip_chars(&p.to_string(), 300)));
        }
    }
    SelectedEvidence { text, cut_lines }
}

/// The header lines that set the failure in context: the steps that ran (a step that did not run
/// is absent, never "skipped"), a static pipeline and the files its grader reads, the known gaps
/// reports recorded for this eval, and an answer that may have been cut off.
fn context_lines(case: &Case, grader: Option<&str>) -> String {
    let evidence = &case.evidence;
    let mut out = String::new();
    let ran: Vec<String> = evidence
        .steps
        .iter()
        .filter(|s| !matches!(s.status, evaltriage_core::StepStatus::Skipped))
        .map(|s| format!("{} {}", s.name, s.status.kind()))
        .collect();
    if !ran.is_empty() {
        out.push_str(&format!("- steps that ran: {}\n", ran.join(", ")));
    }
    if evidence.is_static_pipeline() {
        out.push_str(&format!("- pipeline: {STATIC_PIPELINE}\n"));
        let reads = grader.map(grader::files_read).unwrap_or_default();
        if !reads.is_empty() {
            out.push_str(&format!("- the grader reads: {}\n", clip_chars(&reads.join(", "), 300)));
        }
    }
    for record in case.known_gaps.iter().take(MAX_KNOWN_GAPS) {
        out.push_str(&format!("- known gap: this eval is {}\n", clip_chars(&record.describe(), 300)));
    }
    if let Some(suspect) = &case.grader_suspect {
        out.push_str(&format!("- grader suspect: {}\n", clip_chars(suspect, 600)));
    }
    if let Some(cut) = evidence.output_cut() {
        out.push_str(&format!("- answer possibly cut off: {}\n", clip_chars(&cut, 300)));
    }
    out
}

/// Says on each tsconfig diff that the harness may have written it: it seeds
/// `convex/tsconfig.json` when the model wrote none (without logging it) and, before tsc, drops
/// unresolvable `types` and normalises module resolution (the `[setup]` lines).
fn note_harness_edits(mut files: files::FileEvidence, setup: &[&str], before_tsc: bool) -> files::FileEvidence {
    for d in &mut files.diffs {
        let name = d.path.rsplit('/').next().unwrap_or(&d.path);
        if !(name.starts_with("tsconfig") && name.ends_with(".json")) {
            continue;
        }
        let note = if before_tsc && setup.iter().any(|l| l.contains("tsconfig")) {
            "# the harness edited tsconfig files before tsc (the [setup] lines): those changes are not the model's"
        } else if d.path == "convex/tsconfig.json" {
            "# the harness seeds convex/tsconfig.json when the model wrote none (not logged): it may not be the model's"
        } else {
            continue;
        };
        d.note = if d.note.is_empty() { note.to_owned() } else { format!("{}\n{note}", d.note) };
    }
    files
}

/// The diffs within `budget` tokens: the files the error names weigh three times the others.
fn render_files(diffs: &[files::FileDiff], budget: usize, title: &str) -> (String, usize) {
    if diffs.is_empty() {
        return (String::new(), 0);
    }
    let sizes: Vec<(usize, usize)> =
        diffs.iter().map(|d| (estimate_tokens(&d.diff), if d.named { 3 } else { 1 })).collect();
    let shares = water_fill(&sizes, budget.saturating_sub(diffs.iter().map(|d| estimate_tokens(&d.note)).sum()));
    let mut body = String::new();
    let mut cut_lines = 0;
    for (d, share) in diffs.iter().zip(shares) {
        let (diff, cut) = cut_to_tokens(&d.diff, share, 0.0);
        cut_lines += cut;
        if !d.note.is_empty() {
            body.push_str(&d.note);
            body.push('\n');
        }
        body.push_str(&diff);
    }
    (format!("\n### {title}\n{}", fence(&body, "diff")), cut_lines)
}

#[cfg(test)]
mod tests {
    use super::*;

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
            known_gaps: Vec::new(),
            grader_suspect: None,
        };
        let text = select_evidence(&case, 5_000).text;
        assert!(!text.contains("grader suspect"), "{text}");
        let mut suspected = case.clone();
        suspected.grader_suspect = Some("the tests step failed the same way for 4 of 6 models".into());
        let with = select_evidence(&suspected, 5_000).text;
        assert!(with.contains("- grader suspect: the tests step failed the same way for 4 of 6 models\n"), "{with}");
        assert!(text.contains("### Failing tests (from run.log)"), "{text}");
        assert!(text.contains("AssertionError: expected []"), "{text}");
        assert!(text.contains("- eval failure reason: `tests failed (50%)`"), "{text}");
    }

    #[test]
    fn allotment_serves_the_sections_in_order() {
        // Everything fits: each gets what it needs.
        assert_eq!(allot(&[(Kind::Error, 100), (Kind::Task, 50)], 1_000), [100, 50]);
        // The error is big: it gets its share plus what the task leaves over; the task is whole.
        assert_eq!(allot(&[(Kind::Error, 5_000), (Kind::Task, 50)], 1_000), [950, 50]);
        // Both big: the task keeps its share.
        assert_eq!(allot(&[(Kind::Error, 5_000), (Kind::Task, 5_000)], 1_000), [880, 120]);
    }

    #[test]
    fn exclusions() {
        let text = FileContent::Text("x".into());
        for p in [
            "node_modules/a/index.js",
            "package-lock.json",
            "bun.lock",
            "pnpm-lock.yaml",
            "yarn.lock",
            ".env.local",
            "npm-debug.log",
        ] {
            assert!(is_excluded(p, &text), "{p}");
        }
        assert!(is_excluded("convex/_generated/api.d.ts", &text));
        assert!(is_excluded("logo.png", &FileContent::Binary { len: 10 }));
        assert!(!is_excluded("convex/crons.ts", &text));
        assert!(!is_excluded("package.json", &text));
    }
}
