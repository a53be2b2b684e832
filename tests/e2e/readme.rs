//! The README tells the truth: the sample output it shows under its first command is what that
//! command prints on a fresh clone (dates aside), with the prior report the repository ships.

use evaltriage_tests::{copy_tree, example_reports, example_store, package_dir};

use crate::common::run;

/// Replaces every `YYYY-MM-DD` with `<date>`: the report's name carries the day of the analysis.
fn without_dates(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < text.len() {
        let is_date = bytes.len() >= i + 10
            && bytes[i..i + 10]
                .iter()
                .enumerate()
                .all(|(k, b)| if k == 4 || k == 7 { *b == b'-' } else { b.is_ascii_digit() });
        if is_date {
            out.push_str("<date>");
            i += 10;
        } else {
            let c = text[i..].chars().next().unwrap_or_default();
            out.push(c);
            i += c.len_utf8();
        }
    }
    out
}

/// The first ```text block of the README after the line holding `command`.
fn sample_after(readme: &str, command: &str) -> String {
    let start = readme.find(command).unwrap_or_else(|| panic!("the README has no {command:?}"));
    let rest = &readme[start..];
    let open = rest.find("```text\n").expect("a ```text block after the command") + "```text\n".len();
    let close = rest[open..].find("```").expect("the block closes");
    rest[open..open + close].to_owned()
}

#[test]
fn the_readme_sample_output_is_the_real_output_of_its_command() {
    let root = package_dir().join("..");
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let sample = sample_after(&readme, "cargo run -p evaltriage -- analyze-run examples/store");

    // A fresh clone: the example store, and the one prior report the repository ships in reports/
    // (the tests' fixture is a copy of it; tests never read the working reports/ folder).
    let clone = tempfile::tempdir().unwrap();
    copy_tree(&example_store(), &clone.path().join("examples/store"));
    copy_tree(&example_reports(), &clone.path().join("reports"));
    let (code, out, err) = run(clone.path(), &["analyze-run", "examples/store"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(without_dates(&out), without_dates(&sample), "README sample versus the real output");
}
