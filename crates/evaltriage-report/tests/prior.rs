//! Finding and reading prior reports as they really are: the real corpus's folder layout and
//! styles, and hostile files among the reports (links to devices, named pipes, links out of the
//! reports folder), each of which must become a warning, never a hang or a crash.

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

use evaltriage_core::{Run, RunId, RunStatus};
use evaltriage_report::{PriorReport, PriorWarning, parse_report, prior_reports_for_run, read_prior_reports};

fn corpus_reports() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus/convex-evals/reports");
    dir.is_dir().then_some(dir)
}

fn corpus_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(corpus_files(&path));
        } else if path.extension().is_some_and(|e| e == "md") {
            out.push(path);
        }
    }
    out.sort();
    out
}

/// How many of the corpus's reports yield labels, and how many of their entries carry one. Before
/// the per-failure table style was read: 4 of 5 reports, 35 labelled entries of 42 (the gemini
/// report's seven came back `UNLABELLED`).
#[test]
fn every_corpus_report_yields_its_labels() {
    let Some(dir) = corpus_reports() else { return };
    let (mut with_labels, mut entries, mut labelled) = (0, 0, 0);
    let files = corpus_files(&dir);
    for path in &files {
        let text = std::fs::read_to_string(path).unwrap();
        let report = parse_report(&text, Some(path)).unwrap();
        let n = report.entries.iter().filter(|e| e.label != "UNLABELLED").count();
        with_labels += usize::from(n > 0);
        entries += report.entries.len();
        labelled += n;
        for e in &report.entries {
            assert_ne!(e.label, "UNLABELLED", "{}: {}", path.display(), e.eval);
        }
    }
    #[expect(clippy::print_stdout, reason = "the figure is the test's report")]
    {
        println!(
            "corpus: {with_labels} of {} reports yield labels; {labelled} of {entries} entries labelled",
            files.len()
        );
    }
    assert_eq!(with_labels, files.len());
}

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/prior_reports")
}

fn pairs(report: &PriorReport) -> Vec<(String, String)> {
    report
        .entries
        .iter()
        .map(|e| (e.eval.clone(), format!("{}{}", e.label_text(), if e.repeat { " (repeat)" } else { "" })))
        .collect()
}

fn owned(expected: &[(&str, &str)]) -> Vec<(String, String)> {
    expected.iter().map(|(a, b)| ((*a).to_owned(), (*b).to_owned())).collect()
}

fn parse_file(path: &Path) -> PriorReport {
    parse_report(&std::fs::read_to_string(path).unwrap(), Some(path)).unwrap()
}

// ---------------------------------------------------------------- one table per failure

#[test]
fn one_table_per_failure_gives_every_label_to_its_eval() {
    let real = parse_file(&fixtures().join("field_tables/jn728rtz_2026-02-17.md"));
    assert_eq!(
        pairs(&real),
        owned(&[
            ("000-fundamentals/003-crons", "OVERLY_STRICT"),
            ("000-fundamentals/009-returns_validator", "MODEL_FAULT"),
            ("002-queries/018-pagination_returns_validator", "MODEL_FAULT"),
            ("003-mutations/006-no_storage", "MODEL_FAULT"),
            ("004-actions/002-run_query_mutation", "KNOWN_GAP"),
            ("006-clients/001-use_mutation", "MODEL_FAULT"),
            ("006-clients/002-use_paginated_query", "KNOWN_GAP"),
        ])
    );
    assert_eq!(real.pass_rate, Some((59, 66)));
    assert_eq!(real.experiment.as_deref(), Some("default"));

    // The table may name the eval itself, whole or split over a category row and a name row.
    let made = parse_file(&fixtures().join("field_tables/jn7eeeee_2026-01-20.md"));
    assert_eq!(
        pairs(&made),
        owned(&[
            ("000-fundamentals/003-crons", "MODEL_FAULT (repeat)"),
            ("002-queries/014-select_distinct", "KNOWN_GAP"),
            ("004-actions/007-http_action_routing", "AMBIGUOUS_TASK (grader)"),
        ])
    );
    let [action] = &made.actions_taken[..] else { panic!("{:?}", made.actions_taken) };
    assert_eq!(action.eval.as_deref(), Some("000-fundamentals/003-crons"));
}

#[test]
fn the_real_one_table_per_failure_report() {
    let Some(dir) = corpus_reports() else { return };
    let real = parse_file(&dir.join("google/gemini-3-pro-preview/jn728rtz_2026-02-17.md"));
    let ours = parse_file(&fixtures().join("field_tables/jn728rtz_2026-02-17.md"));
    assert_eq!(real.entries.len(), 7);
    assert_eq!(pairs(&real), pairs(&ours), "the fixture reads like the report it was made from");
}

// ---------------------------------------------------------------- finding a model's reports

fn run(id: &str, model: &str, provider: Option<&str>) -> Run {
    Run {
        id: RunId::new(id).unwrap(),
        model_id: None,
        model: model.to_owned(),
        formatted_name: None,
        provider: provider.map(str::to_owned),
        experiment: "default".to_owned(),
        status: RunStatus::Completed { duration_ms: None },
        created_at_ms: 0.0,
        planned_evals: Vec::new(),
        evals: Vec::new(),
    }
}

fn names(reports: &[PriorReport]) -> Vec<String> {
    reports.iter().map(PriorReport::file_name).collect()
}

fn put(root: &Path, relative: &str, text: &str) {
    let path = root.join(relative);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

fn fixture_text(relative: &str) -> String {
    std::fs::read_to_string(fixtures().join(relative)).unwrap()
}

const OTHER_RUN: &str = "jn7xxxxx0tmje3jrj9wwng78gh80mdfw";

#[test]
fn a_models_reports_are_found_in_every_folder_people_use_and_by_their_model_line() {
    let tree = tempfile::tempdir().unwrap();
    let root = tree.path();
    // Where we write: the slug split at its first `/`.
    put(
        root,
        "anthropic/claude-sonnet-4.6/jn7aaaaa_2026-01-10.md",
        &fixture_text("three_styles/jn7aaaaa_2026-01-10.md"),
    );
    // Dots as dashes.
    put(
        root,
        "anthropic/claude-sonnet-4-6/jn7bbbbb_2026-01-12.md",
        &fixture_text("three_styles/jn7bbbbb_2026-01-12.md"),
    );
    // Under the endpoint provider's folder, in another case.
    put(
        root,
        "OpenRouter/anthropic/Claude-Sonnet-4-6/jn7ccccc_2026-01-15.md",
        &fixture_text("three_styles/jn7ccccc_2026-01-15.md"),
    );
    // Anywhere else, when its own Model line names the model.
    put(root, "archive/2026/jn7eeeee_2026-01-20.md", &fixture_text("field_tables/jn7eeeee_2026-01-20.md"));
    // Other models' reports, by folder and by Model line, are not this model's.
    put(root, "anthropic/claude-opus-4-6/jn7fffff_2026-01-21.md", &fixture_text("three_styles/jn7aaaaa_2026-01-10.md"));
    put(root, "archive/jn728rtz_2026-02-17.md", &fixture_text("field_tables/jn728rtz_2026-02-17.md"));
    put(root, "archive/notes.md", "- **Model**: anthropic/claude-sonnet-4.6\n");
    // The run's own report is never its history.
    put(
        root,
        "anthropic/claude-sonnet-4.6/jn7xxxxx_2026-01-30.md",
        &fixture_text("three_styles/jn7aaaaa_2026-01-10.md").replace("jn7aaaaa", "jn7xxxxx"),
    );

    let sonnet = run(OTHER_RUN, "anthropic/claude-sonnet-4.6", Some("openrouter"));
    let (reports, warnings) = prior_reports_for_run(root, &sonnet);
    assert!(warnings.is_empty(), "{warnings:?}");
    assert_eq!(
        names(&reports),
        ["jn7eeeee_2026-01-20.md", "jn7ccccc_2026-01-15.md", "jn7bbbbb_2026-01-12.md", "jn7aaaaa_2026-01-10.md"]
    );
    assert_eq!(reports[0].entries.len(), 3);

    // A copy of a report in another of the model's folders is the same report: read once, from
    // where we write.
    put(root, "openrouter/anthropic/claude-sonnet-4.6/jn7aaaaa_2026-01-10.md", "# a copy\n\n- Pass rate: 1/2\n");
    let (again, warnings) = prior_reports_for_run(root, &sonnet);
    assert_eq!(again, reports);
    let [copy] = &warnings[..] else { panic!("{warnings:?}") };
    assert!(copy.path.ends_with("openrouter/anthropic/claude-sonnet-4.6/jn7aaaaa_2026-01-10.md"), "{copy}");
    assert!(copy.reason.starts_with("the same report as "), "{copy}");

    // The same tree for the other model: its folder, and the file elsewhere that names it.
    let (reports, _) = prior_reports_for_run(root, &run(OTHER_RUN, "google/gemini-3-pro-preview", Some("openrouter")));
    assert_eq!(names(&reports), ["jn728rtz_2026-02-17.md"]);
}

#[test]
fn the_real_reports_tree_finds_each_model_in_its_folder() {
    let Some(dir) = corpus_reports() else { return };
    for (model, provider, expected) in [
        ("arcee-ai/trinity-large-preview", Some("openrouter"), "jn70vkj7_2026-03-12.md"),
        ("anthropic/claude-sonnet-4.6", Some("openrouter"), "jn77xx97_2026-02-18.md"),
        ("anthropic/claude-opus-4.6", Some("anthropic"), "jn72t14a_2026-02-06.md"),
        ("google/gemini-3-pro-preview", Some("openrouter"), "jn728rtz_2026-02-17.md"),
        ("gpt-5.2-codex", Some("openai"), "jn79beyv_2026-02-12.md"),
        ("openai/gpt-5.2-codex", None, "jn79beyv_2026-02-12.md"),
    ] {
        let (reports, warnings) = prior_reports_for_run(&dir, &run(OTHER_RUN, model, provider));
        assert!(warnings.is_empty(), "{model}: {warnings:?}");
        assert_eq!(names(&reports), [expected], "{model}");
        assert!(!reports[0].entries.is_empty(), "{model}");
    }

    // Moved out of their folders into one archive, they are still found, by their Model lines
    // (the opus report names only `claude-opus-4-6`).
    let tree = tempfile::tempdir().unwrap();
    for file in corpus_files(&dir) {
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        put(tree.path(), &format!("archive/{name}"), &std::fs::read_to_string(&file).unwrap());
    }
    for (model, provider, expected) in [
        ("arcee-ai/trinity-large-preview", Some("openrouter"), "jn70vkj7_2026-03-12.md"),
        ("anthropic/claude-sonnet-4.6", Some("openrouter"), "jn77xx97_2026-02-18.md"),
        ("anthropic/claude-opus-4.6", None, "jn72t14a_2026-02-06.md"),
        ("google/gemini-3-pro-preview", None, "jn728rtz_2026-02-17.md"),
        ("openai/gpt-5.2-codex", None, "jn79beyv_2026-02-12.md"),
    ] {
        let (reports, warnings) = prior_reports_for_run(tree.path(), &run(OTHER_RUN, model, provider));
        assert!(warnings.is_empty(), "{model}: {warnings:?}");
        assert_eq!(names(&reports), [expected], "{model} in archive/");
    }
}

// ---------------------------------------------------------------- hostile files among the reports

/// Runs `f` on another thread and fails when it has not finished in 20 seconds (it takes
/// milliseconds), so a regression that hangs (a FIFO opened for reading waits for a writer
/// forever) fails instead of hanging.
fn within_seconds<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(Duration::from_secs(20)).expect("reading prior reports hung")
}

fn reasons(warnings: &[PriorWarning]) -> Vec<String> {
    let mut out: Vec<String> =
        warnings.iter().map(|w| format!("{}: {}", w.path.file_name().unwrap().to_string_lossy(), w.reason)).collect();
    out.sort();
    out
}

#[cfg(unix)]
#[test]
fn devices_pipes_and_links_out_of_the_folder_are_warnings_never_reads() {
    let tree = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    let root = tree.path().to_owned();
    let folder = root.join("anthropic/claude-sonnet-4.6");
    put(
        &root,
        "anthropic/claude-sonnet-4.6/jn7aaaaa_2026-01-10.md",
        &fixture_text("three_styles/jn7aaaaa_2026-01-10.md"),
    );
    // A link to a device that never ends (and says its length is 0).
    std::os::unix::fs::symlink("/dev/zero", folder.join("jn7zzzzz_2026-01-30.md")).unwrap();
    // A named pipe with no writer: opening it for reading would wait forever.
    let status = std::process::Command::new("mkfifo").arg(folder.join("jn7yyyyy_2026-01-29.md")).status().unwrap();
    assert!(status.success());
    // A file too large to be a report (sparse: no disk is spent).
    let big = std::fs::File::create(folder.join("jn7wwwww_2026-01-27.md")).unwrap();
    big.set_len(40 * 1024 * 1024).unwrap();
    drop(big);
    // A folder link that leads out of the reports folder, to a report of the same model.
    put(outside.path(), "jn7vvvvv_2026-01-26.md", &fixture_text("field_tables/jn7eeeee_2026-01-20.md"));
    std::os::unix::fs::symlink(outside.path(), folder.join("more")).unwrap();
    // A link inside the tree to a folder in it: skipped, its target is walked anyway.
    std::os::unix::fs::symlink(&folder, root.join("anthropic/claude-sonnet-4-6")).unwrap();

    let tree_root = root.clone();
    let (reports, warnings) = within_seconds(move || {
        prior_reports_for_run(&tree_root, &run(OTHER_RUN, "anthropic/claude-sonnet-4.6", Some("openrouter")))
    });
    assert_eq!(names(&reports), ["jn7aaaaa_2026-01-10.md"]);
    assert_eq!(
        reasons(&warnings),
        [
            "jn7wwwww_2026-01-27.md: larger than the 32 MiB limit; refusing to read it; skipped",
            "jn7yyyyy_2026-01-29.md: not a regular file (a named pipe); refusing to read it; skipped",
            "jn7zzzzz_2026-01-30.md: a link that leads outside the reports folder; not followed",
            "more: a link to a folder that leads outside the reports folder; not followed",
        ]
    );

    // One folder read on its own: the device is refused by its type, whatever the link.
    let (reports, warnings) = within_seconds(move || read_prior_reports(&folder));
    assert_eq!(names(&reports), ["jn7aaaaa_2026-01-10.md"]);
    assert_eq!(
        reasons(&warnings),
        [
            "jn7wwwww_2026-01-27.md: larger than the 32 MiB limit; refusing to read it; skipped",
            "jn7yyyyy_2026-01-29.md: not a regular file (a named pipe); refusing to read it; skipped",
            "jn7zzzzz_2026-01-30.md: not a regular file (a character device); refusing to read it; skipped",
        ]
    );
}

#[cfg(unix)]
#[test]
fn a_pipe_in_another_models_folder_is_a_warning_too() {
    let tree = tempfile::tempdir().unwrap();
    let root = tree.path().to_owned();
    std::fs::create_dir_all(root.join("elsewhere")).unwrap();
    let status =
        std::process::Command::new("mkfifo").arg(root.join("elsewhere/jn7yyyyy_2026-01-29.md")).status().unwrap();
    assert!(status.success());
    let (reports, warnings) = within_seconds(move || {
        prior_reports_for_run(&root, &run(OTHER_RUN, "anthropic/claude-sonnet-4.6", Some("openrouter")))
    });
    assert!(reports.is_empty());
    assert_eq!(reasons(&warnings), ["jn7yyyyy_2026-01-29.md: not a regular file (a named pipe); refusing to read it"]);
}
