//! Property tests of the prior-report reader, our own block and the hand-written heuristics alike:
//! arbitrary text, token soup made of the markers the readers look for, and structured mutations
//! of real reports never panic, and each batch finishes in bounded time (a watchdog fails a batch
//! that hangs). The case count is fixed so CI runs the same amount every time.

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

use evaltriage_core::{Run, RunId, RunStatus};
use evaltriage_report::{parse_report, prior_reports_for_run};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

const CASES: u32 = 256;

fn config() -> Config {
    // No regression files written into the source tree; a failure prints its minimal input.
    Config { cases: CASES, failure_persistence: None, ..Config::default() }
}

/// Runs a batch of property cases on another thread; a batch that has not finished in two
/// minutes fails (a reader that loops, or is far worse than linear, hangs it).
fn bounded(batch: impl FnOnce() -> Result<(), String> + Send + 'static) {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(batch());
    });
    match rx.recv_timeout(Duration::from_secs(120)) {
        Ok(Ok(())) => {}
        Ok(Err(e)) => panic!("{e}"),
        Err(_) => panic!("the batch did not finish within two minutes"),
    }
}

fn report_path() -> PathBuf {
    PathBuf::from("reports/anthropic/claude-opus-4.6/jn7aaaaa_2026-01-10.md")
}

/// Both ways the reader is called: with a file name (prefix and date from it) and without.
fn read_both(text: &str) {
    let _ = parse_report(text, None);
    let _ = parse_report(text, Some(&report_path()));
}

/// Real reports: our own (the rendered snapshot, block included) and the hand-written fixtures,
/// made from the real convex-evals reports, in each style.
fn seeds() -> Vec<String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests");
    let ours = std::fs::read_to_string(dir.join("snapshots/reports__mixed_run.snap")).unwrap();
    // Drop insta's header (between the first two `---` lines).
    let ours = ours.splitn(3, "---\n").nth(2).unwrap().to_owned();
    let mut seeds = vec![ours];
    for folder in ["three_styles", "field_tables"] {
        let mut files: Vec<PathBuf> = std::fs::read_dir(dir.join("fixtures/prior_reports").join(folder))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.file_name().is_some_and(|n| n.to_string_lossy().starts_with("jn7")))
            .collect();
        files.sort();
        seeds.extend(files.iter().map(|p| std::fs::read_to_string(p).unwrap()));
    }
    seeds
}

/// Pieces of the shapes the readers key on.
const TOKENS: &[&str] = &[
    "\n",
    "\n\n",
    " ",
    "|",
    "| **Classification** | ",
    "| **Eval** | ",
    "| Field | Value |\n|---|---|\n",
    "| Eval | Category | Classification |\n|-|-|-|\n",
    "### 1. ",
    "### 2) ",
    "## Actions taken\n",
    "**Classification**: ",
    "- Classification: `",
    "Action taken: ",
    "000-fundamentals/003-crons",
    "003-crons",
    "(000-fundamentals)",
    "MODEL_FAULT",
    "KNOWN_GAP (repeat)",
    "OVERLY_STRICT (",
    "HARNESS_FAILURE",
    "(repeat)",
    ")",
    "- **Model**: ",
    "- **Pass rate**: 3/4",
    "- **Run ID**: jn7aaaaa0tmje3jrj9wwng78gh80mdfw",
    "- **Date**: 2026-01-10",
    "- **Experiment**: `default`",
    "```",
    "~~~",
    "---",
    "<!-- evaltriage:v1 ",
    "<!-- evaltriage:v9 {} -->",
    " -->",
    "{\"run_id\":\"jn7aaaaa0tmje3jrj9wwng78gh80mdfw\",\"date\":\"2026-01-10\",\"passed\":1,\"total\":2,\"verdicts\":[",
    "{\"eval_id\":\"x\",\"eval_path\":\"a/b\",\"status\":\"done\",\"origin\":{\"kind\":\"rules\"}}",
    "]}",
    "\\u003c",
    "\u{1b}[31m",
    "é",
    "\u{0}",
    "\r",
    "*",
    "`",
];

fn token_soup() -> impl Strategy<Value = String> {
    vec(prop_oneof![4 => (0..TOKENS.len()).prop_map(|i| TOKENS[i].to_owned()), 1 => any::<String>()], 0..300)
        .prop_map(|parts| parts.concat())
}

/// One edit of a text, its positions as fractions of the length (so they apply to any text).
#[derive(Debug, Clone)]
enum Edit {
    Delete { at: u16, len: u16 },
    Insert { at: u16, token: usize },
    Duplicate { at: u16, len: u16 },
    Truncate { at: u16 },
    Swap { a: u16, b: u16 },
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (any::<u16>(), 0..400u16).prop_map(|(at, len)| Edit::Delete { at, len }),
        (any::<u16>(), 0..TOKENS.len()).prop_map(|(at, token)| Edit::Insert { at, token }),
        (any::<u16>(), 0..2000u16).prop_map(|(at, len)| Edit::Duplicate { at, len }),
        any::<u16>().prop_map(|at| Edit::Truncate { at }),
        (any::<u16>(), any::<u16>()).prop_map(|(a, b)| Edit::Swap { a, b }),
    ]
}

/// The char boundary nearest below a fraction of the text.
fn at(text: &str, fraction: u16) -> usize {
    let mut i = (text.len() as u64 * u64::from(fraction) / u64::from(u16::MAX)) as usize;
    while !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

fn end_at(text: &str, start: usize, len: u16) -> usize {
    let mut end = (start + usize::from(len)).min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    end
}

fn apply(mut text: String, edits: &[Edit]) -> String {
    for e in edits {
        match *e {
            Edit::Delete { at: f, len } => {
                let start = at(&text, f);
                let end = end_at(&text, start, len);
                text.replace_range(start..end, "");
            }
            Edit::Insert { at: f, token } => {
                let i = at(&text, f);
                text.insert_str(i, TOKENS[token]);
            }
            Edit::Duplicate { at: f, len } => {
                let start = at(&text, f);
                let end = end_at(&text, start, len);
                let copy = text[start..end].to_owned();
                text.insert_str(end, &copy);
            }
            Edit::Truncate { at: f } => {
                let i = at(&text, f);
                text.truncate(i);
            }
            Edit::Swap { a, b } => {
                let (a, b) = (at(&text, a.min(b)), at(&text, a.max(b)));
                let (first, second) = (text[..a].to_owned(), text[a..b].to_owned());
                text = format!("{second}{first}{}", &text[b..]);
            }
        }
    }
    text
}

#[test]
fn the_seeds_are_real_reports_of_each_kind() {
    let seeds = seeds();
    let ours = parse_report(&seeds[0], None).unwrap();
    assert!(ours.ours && !ours.entries.is_empty(), "the first seed is our own report, block and all");
    // The others are hand-written, every style read (one draft, on purpose, is not understood).
    let read: Vec<_> = seeds[1..].iter().filter_map(|s| parse_report(s, Some(&report_path())).ok()).collect();
    assert_eq!(read.len(), seeds.len() - 2);
    assert!(read.iter().all(|r| !r.ours && !r.entries.is_empty()));
}

#[test]
fn arbitrary_bytes_never_panic() {
    bounded(|| {
        TestRunner::new(config())
            .run(&vec(any::<u8>(), 0..8000), |bytes| {
                read_both(&String::from_utf8_lossy(&bytes));
                Ok(())
            })
            .map_err(|e| e.to_string())
    });
}

#[test]
fn token_soup_never_panics() {
    bounded(|| {
        TestRunner::new(config())
            .run(&token_soup(), |text| {
                read_both(&text);
                Ok(())
            })
            .map_err(|e| e.to_string())
    });
}

#[test]
fn mutated_real_reports_never_panic() {
    let seeds = seeds();
    let count = seeds.len();
    bounded(move || {
        TestRunner::new(config())
            .run(&(0..count, vec(edit(), 1..12)), |(seed, edits)| {
                read_both(&apply(seeds[seed].clone(), &edits));
                Ok(())
            })
            .map_err(|e| e.to_string())
    });
}

/// Our block alone, mutated inside its JSON: a broken block is a warning and a hand-written read,
/// never a panic.
#[test]
fn mutated_blocks_never_panic() {
    let ours = seeds().swap_remove(0);
    let block = ours.lines().rev().find(|l| l.starts_with("<!-- evaltriage:v")).unwrap().to_owned();
    bounded(move || {
        TestRunner::new(config())
            .run(&vec(edit(), 1..8), |edits| {
                read_both(&format!("# x\n\n{}\n", apply(block.clone(), &edits)));
                Ok(())
            })
            .map_err(|e| e.to_string())
    });
}

/// The tree scan reads a report's first bytes for its `Model:` line: mutated reports placed where
/// only that line can decide never panic the scan either.
#[test]
fn mutated_reports_in_the_tree_never_panic_the_scan() {
    let seeds = seeds();
    let count = seeds.len();
    let run = Run {
        id: RunId::new("jn7xxxxx0tmje3jrj9wwng78gh80mdfw").unwrap(),
        model_id: None,
        model: "anthropic/claude-opus-4.6".to_owned(),
        formatted_name: None,
        provider: Some("openrouter".to_owned()),
        experiment: "default".to_owned(),
        status: RunStatus::Completed { duration_ms: None },
        created_at_ms: 0.0,
        planned_evals: Vec::new(),
        evals: Vec::new(),
    };
    bounded(move || {
        let tree = tempfile::tempdir().map_err(|e| e.to_string())?;
        let dir = tree.path().join("archive");
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        let mut runner = TestRunner::new(Config { cases: CASES / 4, ..config() });
        runner
            .run(&(0..count, vec(edit(), 1..12)), |(seed, edits)| {
                std::fs::write(dir.join("jn7aaaaa_2026-01-10.md"), apply(seeds[seed].clone(), &edits)).unwrap();
                let _ = prior_reports_for_run(tree.path(), &run);
                Ok(())
            })
            .map_err(|e| e.to_string())
    });
}
