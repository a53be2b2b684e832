//! A small line diff (longest common subsequence) rendered as a unified diff.
//!
//! The files compared are a model's source files and the reference answer's: a few hundred lines
//! at most, so a quadratic LCS over the lines left after trimming the common prefix and suffix is
//! plenty. Past [`MAX_CELLS`] the diff degrades to "replace everything" rather than burn memory.

/// Lines of unchanged context around each change.
const CONTEXT: usize = 3;
/// The largest LCS table we are willing to build (rows x columns).
const MAX_CELLS: usize = 4_000_000;

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

/// The edit script turning `old` into `new`.
fn edits(old: &[&str], new: &[&str]) -> Vec<Edit> {
    let prefix = old.iter().zip(new).take_while(|(a, b)| a == b).count();
    let suffix = old[prefix..].iter().rev().zip(new[prefix..].iter().rev()).take_while(|(a, b)| a == b).count();
    let a = &old[prefix..old.len() - suffix];
    let b = &new[prefix..new.len() - suffix];

    let mut script: Vec<Edit> = (0..prefix).map(|i| Edit { op: Op::Same, old: i, new: i }).collect();
    if (a.len() + 1).saturating_mul(b.len() + 1) > MAX_CELLS {
        script.extend((0..a.len()).map(|i| Edit { op: Op::Removed, old: prefix + i, new: prefix }));
        script.extend((0..b.len()).map(|j| Edit { op: Op::Added, old: prefix + a.len(), new: prefix + j }));
    } else {
        // lcs[i][j] = length of the LCS of a[i..] and b[j..].
        let width = b.len() + 1;
        let mut lcs = vec![0u32; (a.len() + 1) * width];
        for i in (0..a.len()).rev() {
            for j in (0..b.len()).rev() {
                lcs[i * width + j] = if a[i] == b[j] {
                    lcs[(i + 1) * width + j + 1] + 1
                } else {
                    lcs[(i + 1) * width + j].max(lcs[i * width + j + 1])
                };
            }
        }
        let (mut i, mut j) = (0, 0);
        while i < a.len() || j < b.len() {
            if i < a.len() && j < b.len() && a[i] == b[j] {
                script.push(Edit { op: Op::Same, old: prefix + i, new: prefix + j });
                i += 1;
                j += 1;
            } else if i < a.len() && (j == b.len() || lcs[(i + 1) * width + j] >= lcs[i * width + j + 1]) {
                script.push(Edit { op: Op::Removed, old: prefix + i, new: prefix + j });
                i += 1;
            } else {
                script.push(Edit { op: Op::Added, old: prefix + i, new: prefix + j });
                j += 1;
            }
        }
    }
    let (old_end, new_end) = (old.len() - suffix, new.len() - suffix);
    script.extend((0..suffix).map(|k| Edit { op: Op::Same, old: old_end + k, new: new_end + k }));
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
    fn insertion_keeps_common_lines() {
        check("a\nc\n", "a\nb\nc\n", Some("--- a/x.ts\n+++ b/x.ts\n@@ -1,2 +1,3 @@\n a\n+b\n c\n"));
    }
}
