//! Repository hygiene: every Rust file says what it is for, and ARCHITECTURE.md names every crate.

use std::path::{Path, PathBuf};

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if path.is_dir() {
            if name != "target" && !name.starts_with('.') {
                rust_files(&path, out);
            }
        } else if name.ends_with(".rs") {
            out.push(path);
        }
    }
}

#[test]
fn every_rust_file_starts_with_a_doc_comment() {
    let root = evaltriage_tests::package_dir().join("..");
    let mut files = Vec::new();
    rust_files(&root.join("crates"), &mut files);
    rust_files(&root.join("tests"), &mut files);
    assert!(files.len() > 20, "found only {} files", files.len());
    let missing: Vec<String> = files
        .iter()
        .filter(|f| !std::fs::read_to_string(f).unwrap().trim_start().starts_with("//!"))
        .map(|f| f.strip_prefix(&root).unwrap_or(f).display().to_string())
        .collect();
    assert!(missing.is_empty(), "files without a leading //! line: {missing:?}");
}

#[test]
fn architecture_names_every_crate() {
    let root = evaltriage_tests::package_dir().join("..");
    let architecture = std::fs::read_to_string(root.join("ARCHITECTURE.md")).unwrap();
    for entry in std::fs::read_dir(root.join("crates")).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        assert!(architecture.contains(&format!("`crates/{name}`")), "ARCHITECTURE.md has no section for crates/{name}");
    }
}

/// Tests are hermetic: the README's main job writes into the working `reports/` folder, so a test
/// that read it would pass or fail depending on what a person ran before (the README's two
/// commands once broke each other that way). Test code names only its own fixtures.
#[test]
fn no_test_reads_the_working_reports_folder() {
    let root = evaltriage_tests::package_dir().join("..");
    let mut files = Vec::new();
    rust_files(&root.join("tests"), &mut files);
    for dir in std::fs::read_dir(root.join("crates")).unwrap() {
        let dir = dir.unwrap().path();
        for sub in ["tests", "benches"] {
            if dir.join(sub).is_dir() {
                rust_files(&dir.join(sub), &mut files);
            }
        }
    }
    let offenders: Vec<String> = files
        .iter()
        .filter(|f| {
            let text = std::fs::read_to_string(f).unwrap();
            ["\"../reports", "\"../../reports"].iter().any(|needle| text.contains(needle) && !f.ends_with("tidy.rs"))
        })
        .map(|f| f.strip_prefix(&root).unwrap_or(f).display().to_string())
        .collect();
    assert!(offenders.is_empty(), "test code that names the working reports/ folder: {offenders:?}");
}
