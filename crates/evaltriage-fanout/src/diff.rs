//! A line diff of a model's file against the reference answer's, rendered as a unified diff whose
//! hunks also show the lines that matter (focus lines, such as those an error names).
//!
//! The edit script comes from `similar` (Myers, linear in memory); the hunks are grouped here.

use std::time::{Duration, Instant};

use similar::{Algorithm, DiffOp};

/// Lines of unchanged context around each change.
const CONTEXT: usize = 3;
/// How long the diff may search for the shortest edit script; past it, `similar` settles for a
/// longer one (still a correct diff). Only huge, very different files come near it.
const DIFF_TIME: Duration = Duration::from_secs(2);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Same,
    Removed,
    Added,
}

/// One line of the edit script, with its line indices in the old and new text.
#[derive(Debug, Clone, Copy)]
struct Edit {
    op: Op,
    old: usize,
    new: usize,
}

/// The edit script turning `old` into `new`, from `similar`'s Myers diff; a replacement lists its
/// removed lines before its added ones.
fn edits(old: &[&str], new: &[&str]) -> Vec<Edit> {
    let deadline = Instant::now().checked_add(DIFF_TIME);
    let mut script = Vec::with_capacity(old.len().max(new.len()));
    for op in similar::capture_diff_slices_deadline(Algorithm::Myers, old, new, deadline) {
        let (_, olds, news) = op.as_tag_tuple();
        match op {
            DiffOp::Equal { .. } => {
                script.extend(olds.zip(news).map(|(o, n)| Edit { op: Op::Same, old: o, new: n }));
            }
            DiffOp::Delete { new_index, .. } | DiffOp::Replace { new_index, .. } => {
                script.extend(olds.clone().map(|o| Edit { op: Op::Removed, old: o, new: new_index }));
                let old_end = olds.end;
                script.extend(news.map(|n| Edit { op: Op::Added, old: old_end, new: n }));
            }
            DiffOp::Insert { old_index, .. } => {
                script.extend(news.map(|n| Edit { op: Op::Added, old: old_index, new: n }));
            }
        }
    }
    script
}

/// A unified diff of two texts, with `--- a/<old_name>` / `+++ b/<new_name>` headers, or `None`
/// when they have the same lines.
pub fn unified_diff(old_name: &str, old: &str, new_name: &str, new: &str) -> Option<String> {
    unified_diff_focused(old_name, old, new_name, new, &[])
}

/// A unified diff whose hunks also show `focus`, lines of the new text (1-based) that matter
/// whether or not they changed, such as the lines an error names; `None` when the texts have the
/// same lines and there is no focus line in the new text.
pub fn unified_diff_focused(old_name: &str, old: &str, new_name: &str, new: &str, focus: &[usize]) -> Option<String> {
    let old_lines: Vec<&str> = old.lines().collect();
    let new_lines: Vec<&str> = new.lines().collect();
    let script = edits(&old_lines, &new_lines);
    let changed: Vec<usize> = script
        .iter()
        .enumerate()
        .filter(|(_, e)| e.op != Op::Same || (e.new < new_lines.len() && focus.contains(&(e.new + 1))))
        .map(|(k, _)| k)
        .collect();
    if changed.is_empty() {
        return None;
    }

    // Group changes whose context windows touch into hunks of script indices.
    let mut hunks: Vec<(usize, usize)> = Vec::new();
    for &k in &changed {
        let start = k.saturating_sub(CONTEXT);
        let end = (k + CONTEXT + 1).min(script.len());
        match hunks.last_mut() {
            Some(last) if start <= last.1 => last.1 = end,
            _ => hunks.push((start, end)),
        }
    }

    let mut out = format!("--- a/{old_name}\n+++ b/{new_name}\n");
    for (start, end) in hunks {
        let slice = &script[start..end];
        let old_count = slice.iter().filter(|e| e.op != Op::Added).count();
        let new_count = slice.iter().filter(|e| e.op != Op::Removed).count();
        let old_start = if old_count == 0 { slice[0].old } else { slice[0].old + 1 };
        let new_start = if new_count == 0 { slice[0].new } else { slice[0].new + 1 };
        out.push_str(&format!("@@ -{old_start},{old_count} +{new_start},{new_count} @@\n"));
        for e in slice {
            let (mark, line) = match e.op {
                Op::Same => (' ', old_lines[e.old]),
                Op::Removed => ('-', old_lines[e.old]),
                Op::Added => ('+', new_lines[e.new]),
            };
            out.push(mark);
            out.push_str(line);
            out.push('\n');
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(old: &str, new: &str, expected: Option<&str>) {
        assert_eq!(unified_diff("x.ts", old, "x.ts", new).as_deref(), expected);
    }

    #[test]
    fn equal_texts_have_no_diff() {
        check("a\nb\n", "a\nb", None);
    }

    #[test]
    fn one_changed_line_with_context() {
        check(
            "1\n2\n3\n4\n5\n6\n7\n8\n9\n",
            "1\n2\n3\n4\nfive\n6\n7\n8\n9\n",
            Some("--- a/x.ts\n+++ b/x.ts\n@@ -2,7 +2,7 @@\n 2\n 3\n 4\n-5\n+five\n 6\n 7\n 8\n"),
        );
    }

    #[test]
    fn far_apart_changes_make_two_hunks() {
        let old: String = (1..=20).map(|i| format!("{i}\n")).collect();
        let new: String = (1..=20)
            .map(|i| match i {
                2 => "two\n".to_owned(),
                19 => "nineteen\n".to_owned(),
                _ => format!("{i}\n"),
            })
            .collect();
        let diff = unified_diff("x.ts", &old, "x.ts", &new).unwrap();
        assert_eq!(diff.matches("@@ -").count(), 2, "{diff}");
        assert!(diff.contains("-19\n+nineteen\n"), "{diff}");
    }

    #[test]
    fn new_and_deleted_files() {
        check("", "a\nb\n", Some("--- a/x.ts\n+++ b/x.ts\n@@ -0,0 +1,2 @@\n+a\n+b\n"));
        check("a\n", "", Some("--- a/x.ts\n+++ b/x.ts\n@@ -1,1 +0,0 @@\n-a\n"));
    }

    #[test]
    fn focus_lines_get_a_hunk_even_when_unchanged() {
        let text: String = (1..=20).map(|i| format!("{i}\n")).collect();
        assert_eq!(unified_diff_focused("x.ts", &text, "x.ts", &text, &[]), None);
        let diff = unified_diff_focused("x.ts", &text, "x.ts", &text, &[10]).unwrap();
        assert_eq!(diff, "--- a/x.ts\n+++ b/x.ts\n@@ -7,7 +7,7 @@\n 7\n 8\n 9\n 10\n 11\n 12\n 13\n");
        let changed = text.replace("\n2\n", "\ntwo\n");
        let diff = unified_diff_focused("x.ts", &text, "x.ts", &changed, &[18]).unwrap();
        assert_eq!(diff.matches("@@ -").count(), 2, "{diff}");
        assert!(diff.contains(" 18\n"), "{diff}");
    }

    #[test]
    fn big_files_that_differ_at_both_ends_still_get_small_hunks() {
        // 2,500 lines each, differing in the first, a middle and the last line: the hand-written
        // LCS this replaced needed 6.25M cells here and gave up, removing and adding every line.
        let old: String = (0..2_500).map(|i| format!("line {i}\n")).collect();
        let new =
            old.replace("line 0\n", "first\n").replace("line 1250\n", "middle\n").replace("line 2499\n", "last\n");
        let diff = unified_diff("x.ts", &old, "x.ts", &new).unwrap();
        assert_eq!(diff.matches("@@ -").count(), 3, "{diff}");
        assert!(diff.contains("-line 1250\n+middle\n"), "{diff}");
        assert_eq!(diff.lines().filter(|l| l.starts_with('-') && !l.starts_with("---")).count(), 3, "{diff}");
    }

    #[test]
    fn insertion_keeps_common_lines() {
        check("a\nc\n", "a\nb\nc\n", Some("--- a/x.ts\n+++ b/x.ts\n@@ -1,2 +1,3 @@\n a\n+b\n c\n"));
    }
}
