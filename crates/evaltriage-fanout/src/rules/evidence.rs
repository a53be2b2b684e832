//! What the rules read from a failure's evidence: the first failing test a `run.log` names with
//! its assertion, the model's code where a tsc or ESLint error points, and the rule ids of
//! ESLint's error lines.

use crate::selection::read_test_report;

/// The first failing test a `run.log` names, with its failing assertion when the log gives one
/// (`expected 4 to be 5`): a test's name alone does not say what broke.
pub(super) fn first_failing_test(log: &str) -> Option<String> {
    let clip = |l: &str, max: usize| {
        if l.chars().count() > max { l.chars().take(max - 3).collect::<String>() + "..." } else { l.to_owned() }
    };
    let report = read_test_report(log);
    let test = report.failures.first()?;
    let message = test.message.iter().map(|l| l.trim()).find(|l| !l.is_empty());
    Some(match message {
        Some(m) => format!("× {} — {}", clip(&test.full_name, 160), clip(m, 200)),
        None => format!("× {}", clip(&test.full_name, 160)),
    })
}

/// The model's code where the first tsc (`convex/a.ts(14,38): error`) or eslint (`<path>` then
/// `  27:1  error`) error points: that line and the one before, taken verbatim from the output.
pub(super) fn snippet_at_error(error: &str, output: &evaltriage_core::FileSet) -> Option<String> {
    let mut current_file: Option<&str> = None;
    for line in error.lines() {
        let t = line.trim();
        if let Some((file, rest)) = t.split_once('(') {
            if let Some((pos, _)) = rest.split_once("):") {
                if let Some(row) = pos.split(',').next().and_then(|r| r.parse::<usize>().ok()) {
                    if let Some(s) = lines_of(output, file, row) {
                        return Some(s);
                    }
                }
            }
        }
        if t.ends_with(".ts") || t.ends_with(".tsx") || t.ends_with(".js") {
            current_file = Some(t);
            continue;
        }
        let mut words = t.split_whitespace();
        if let (Some(pos), Some("error"), Some(file)) = (words.next(), words.next(), current_file) {
            if let Some(row) = pos.split(':').next().and_then(|r| r.parse::<usize>().ok()) {
                if let Some(s) = lines_of(output, file, row) {
                    return Some(s);
                }
            }
        }
    }
    None
}

/// Lines `row - 1` and `row` (1-based) of the output file whose path ends the given path.
fn lines_of(output: &evaltriage_core::FileSet, path: &str, row: usize) -> Option<String> {
    let path = path.replace('\\', "/");
    let (_, content) =
        output.iter().find(|(p, _)| !p.is_empty() && (path == **p || path.ends_with(&format!("/{p}"))))?;
    let text = content.as_text()?;
    let lines: Vec<&str> = text.lines().collect();
    let end = row.min(lines.len());
    let start = end.saturating_sub(2);
    let snippet = lines.get(start..end)?.join("\n");
    (!snippet.trim().is_empty()).then_some(snippet)
}

/// The rule ids of ESLint's error lines (`  3:1  error  Unexpected any  @typescript-eslint/no-explicit-any`).
pub fn eslint_error_rules(output: &str) -> Vec<String> {
    let mut rules: Vec<String> = output
        .lines()
        .filter(|l| {
            let mut words = l.split_whitespace();
            words.next().is_some_and(|pos| pos.contains(':') && pos.chars().next().is_some_and(|c| c.is_ascii_digit()))
                && words.next() == Some("error")
        })
        .filter_map(|l| l.split_whitespace().last())
        .filter(|r| r.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '/' | '@' | '_')))
        .map(str::to_owned)
        .collect();
    rules.sort();
    rules.dedup();
    rules
}
