//! Reviewing reports: `reports list|show|trend|export|review|agreement` and `diff`, on the review
//! fixtures, on reports the tool wrote, and on the real hand-written convex-evals reports when the
//! shared corpus is there; and a human verdict changing the label the next analysis starts from.

use std::path::{Path, PathBuf};

use evaltriage_tests::{EXAMPLE_RUN, copy_tree, example_reports, example_store, package_dir};

use crate::common::{json, run};

fn review_fixtures(dir: &Path) -> PathBuf {
    let reports = dir.join("reports");
    copy_tree(&package_dir().join("fixtures/review"), &reports);
    reports
}

/// A second run of the example's model: the example store with another run id.
fn second_run_store(dir: &Path, run_id: &str) -> PathBuf {
    let store = dir.join("store2");
    copy_tree(&example_store(), &store);
    let old = store.join("runs").join(format!("{EXAMPLE_RUN}.json"));
    let text = std::fs::read_to_string(&old).expect("run file").replace(EXAMPLE_RUN, run_id);
    // The next run ran an hour after the example run: a run is compared only with runs before it.
    let mut doc: serde_json::Value = serde_json::from_str(&text).expect("run JSON");
    doc["_creationTime"] = serde_json::Value::from(doc["_creationTime"].as_f64().expect("creation time") + 3_600_000.0);
    std::fs::remove_file(&old).expect("remove");
    std::fs::write(store.join("runs").join(format!("{run_id}.json")), doc.to_string()).expect("write run");
    store
}

fn verdict<'a>(analysis: &'a serde_json::Value, eval: &str) -> &'a serde_json::Value {
    analysis["verdicts"].as_array().expect("verdicts").iter().find(|v| v["eval_path"] == eval).expect("verdict")
}

#[test]
fn a_human_verdict_in_our_report_is_the_label_the_next_analysis_starts_from() {
    let dir = tempfile::tempdir().unwrap();
    let reports = dir.path().join("reports");
    let r = reports.to_str().unwrap();
    let store = example_store();
    let (code, out, err) = run(
        dir.path(),
        &["analyze-run", store.to_str().unwrap(), "--classifier", "rules", "--reports-dir", r, "--json"],
    );
    assert_eq!(code, 0, "{err}");
    let first = json(&out);
    let eval = "002-queries/009-channel_summary";
    assert_eq!(verdict(&first, eval)["classification"], "MODEL_FAULT");
    let report = PathBuf::from(first["report_path"].as_str().unwrap());
    let before = std::fs::read_to_string(&report).unwrap();

    let (code, out, err) = run(
        dir.path(),
        &[
            "reports",
            "review",
            &EXAMPLE_RUN[..8],
            eval,
            "--label",
            "KNOWN_GAP",
            "--note",
            "GAPS.txt <b>lists</b> it",
            "--by",
            "alice",
            "--reports-dir",
            r,
        ],
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("Recorded in"), "{out}");
    let after = std::fs::read_to_string(&report).unwrap();
    // One line added in the failure's section, the block's entry changed; nothing else.
    let (b, a): (Vec<&str>, Vec<&str>) = (before.lines().collect(), after.lines().collect());
    // The line, and a blank line to keep it a list of its own after the section's last paragraph.
    assert_eq!(a.len(), b.len() + 2);
    let added: Vec<&&str> = a.iter().filter(|l| !b.contains(l)).collect();
    assert_eq!(added.len(), 2, "the human verdict line and the block: {added:?}");
    assert!(added[0].starts_with("- **Human verdict**: KNOWN_GAP — GAPS.txt &lt;b&gt;lists&lt;/b&gt; it (by alice, "));
    assert!(added[1].starts_with("<!-- evaltriage:v1 ") && added[1].contains("\"human\":{\"label\":\"KNOWN_GAP\""));
    let removed: Vec<&&str> = b.iter().filter(|l| !a.contains(l)).collect();
    assert_eq!(removed.len(), 1, "only the old block line: {removed:?}");
    let section = after.find(&format!(") {eval} — ")).unwrap();
    let line_at = after.find("- **Human verdict**").unwrap();
    let next_section = after[section + 1..].find("\n### ").map_or(after.len(), |i| section + 1 + i);
    assert!(section < line_at && line_at < next_section, "the line sits in the failure's section");
    assert_eq!(
        after.split("## Actions taken").nth(1).map(|s| s.split("<!--").next()),
        before.split("## Actions taken").nth(1).map(|s| s.split("<!--").next())
    );

    // A forced re-analysis of the run keeps the review, as it keeps Actions taken.
    let (code, _, err) = run(
        dir.path(),
        &["analyze-run", store.to_str().unwrap(), "--classifier", "rules", "--reports-dir", r, "--force"],
    );
    assert_eq!(code, 0, "{err}");
    let forced = std::fs::read_to_string(&report).unwrap();
    assert!(forced.contains(added[0]) && forced.contains("\"human\":{\"label\":\"KNOWN_GAP\""), "{forced}");

    // The next run of the same model starts from the reviewer's label.
    let store2 = second_run_store(dir.path(), "jn7zzzzz9m2qw8hd5tz3vc6pe1r0bfs7g");
    let (code, out, err) = run(
        dir.path(),
        &["analyze-run", store2.to_str().unwrap(), "--classifier", "rules", "--reports-dir", r, "--json"],
    );
    assert_eq!(code, 0, "{err}");
    let second = json(&out);
    assert_eq!(verdict(&second, eval)["classification"], "KNOWN_GAP", "{second}");
    let new_report = std::fs::read_to_string(second["report_path"].as_str().unwrap()).unwrap();
    assert!(new_report.contains("KNOWN_GAP (human review)"), "the history shows the reviewer's label");

    // And the agreement counts the review: the rules said MODEL_FAULT, the reviewer KNOWN_GAP.
    let (code, out, err) = run(dir.path(), &["reports", "agreement", "--reports-dir", r, "--json"]);
    assert_eq!(code, 0, "{err}");
    let agreement = json(&out);
    assert_eq!(agreement["reviewed"], 1);
    assert_eq!(agreement["agreed"], 0);
    assert_eq!(agreement["matrix"]["MODEL_FAULT"]["KNOWN_GAP"], 1);
    assert_eq!(agreement["by_classifier"]["rules"]["reviewed"], 1);
    let (_, out, _) = run(dir.path(), &["reports", "agreement", "--reports-dir", r]);
    assert!(out.contains("Reviewed verdicts: 1; the tool agreed on 0 (0%)"), "{out}");

    // The export carries both labels and the note as written.
    let (code, out, _) = run(
        dir.path(),
        &["reports", "export", "--format", "jsonl", "--reports-dir", r, "--classification", "KNOWN_GAP"],
    );
    assert_eq!(code, 0);
    let reviewed: Vec<serde_json::Value> =
        out.lines().map(json).filter(|rec| rec["human_label"] == "KNOWN_GAP").collect();
    assert_eq!(reviewed.len(), 1, "{out}");
    assert_eq!(reviewed[0]["label"], "MODEL_FAULT");
    assert_eq!(reviewed[0]["human_note"], "GAPS.txt <b>lists</b> it");
    assert_eq!(reviewed[0]["classifier"], "rules");
}

#[test]
fn a_human_verdict_in_a_hand_written_report_changes_the_next_analysis() {
    let dir = tempfile::tempdir().unwrap();
    let reports = dir.path().join("reports");
    copy_tree(&example_reports(), &reports);
    let r = reports.to_str().unwrap();
    let eval = "002-queries/009-channel_summary";
    let (code, _, err) = run(
        dir.path(),
        &["reports", "review", "jn75q2w8", eval, "--label", "KNOWN_GAP", "--note", "listed", "--reports-dir", r],
    );
    assert_eq!(code, 0, "{err}");
    let (code, out, err) = run(
        dir.path(),
        &["analyze-run", example_store().to_str().unwrap(), "--classifier", "rules", "--reports-dir", r, "--json"],
    );
    assert_eq!(code, 0, "{err}");
    let analysis = json(&out);
    assert_eq!(verdict(&analysis, eval)["classification"], "KNOWN_GAP");
    let (_, out, _) = run(dir.path(), &["reports", "list", "--reports-dir", r, "--json"]);
    let list = json(&out);
    let reviewed: Vec<_> = list["reports"].as_array().unwrap().iter().filter(|r| r["human_verdicts"] == 1).collect();
    assert_eq!(reviewed.len(), 1, "{list}");
}

#[test]
fn bad_reviews_are_one_line_and_exit_2_and_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let reports = review_fixtures(dir.path());
    let r = reports.to_str().unwrap();
    let file = reports.join("google/gemini-3-pro/jn7ddddd_2026-11-16.md");
    let before = std::fs::read(&file).unwrap();
    for (args, expect) in [
        (vec!["jn7ddddd", "000-fundamentals/003-crons"], "has no section"),
        (vec!["nosuchrun", "a/b"], "no report for"),
        (vec!["reports/none_2026-01-01.md", "a/b"], "no report for"),
    ] {
        let mut all = vec!["reports", "review"];
        all.extend(args);
        all.extend(["--label", "KNOWN_GAP", "--note", "n", "--reports-dir", r]);
        let (code, out, err) = run(dir.path(), &all);
        assert_eq!(code, 2, "{all:?}: {out}{err}");
        assert!(err.contains(expect) && err.lines().count() == 1, "{err}");
    }
    let (code, _, err) = run(
        dir.path(),
        &["reports", "review", "jn7ddddd", "x/y", "--label", "GREAT", "--note", "n", "--reports-dir", r],
    );
    assert_eq!(code, 2, "{err}");
    assert_eq!(std::fs::read(&file).unwrap(), before);

    // While an analysis holds the report's lock, a review waits for another time.
    let locks = reports.join(".evaltriage/locks");
    std::fs::create_dir_all(&locks).unwrap();
    let held = std::fs::File::create(locks.join("google__gemini-3-pro__jn7ddddd.lock")).unwrap();
    held.try_lock().expect("take the report's lock");
    let (code, _, err) = run(
        dir.path(),
        &[
            "reports",
            "review",
            "jn7ddddd",
            "000-fundamentals/003-crons",
            "--label",
            "KNOWN_GAP",
            "--note",
            "n",
            "--reports-dir",
            r,
        ],
    );
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("the review was not recorded"), "{err}");
    assert_eq!(std::fs::read(&file).unwrap(), before);
}

#[test]
fn list_show_trend_export_and_diff_on_the_review_fixtures() {
    let dir = tempfile::tempdir().unwrap();
    let reports = review_fixtures(dir.path());
    let r = reports.to_str().unwrap();

    let (code, out, err) = run(dir.path(), &["reports", "list", "--reports-dir", r, "--json"]);
    assert_eq!(code, 0, "{err}");
    let list = json(&out);
    let dates: Vec<&str> = list["reports"].as_array().unwrap().iter().map(|r| r["date"].as_str().unwrap()).collect();
    assert_eq!(dates, ["2026-11-16", "2026-11-15", "2026-11-10", "2026-11-08"], "newest first");
    assert_eq!(list["reports"][0]["model"], "google/gemini-3-pro");
    assert_eq!(list["reports"][0]["passed"], 17);
    assert_eq!(list["reports"][0]["labels"]["MODEL_FAULT"], 1);
    let (_, out, _) =
        run(dir.path(), &["reports", "list", "--reports-dir", r, "--model", "*sonnet*", "--since", "2026-11-10"]);
    assert!(out.contains("jn7bbbbb") && !out.contains("jn75q2w8") && !out.contains("gemini"), "{out}");
    assert!(out.contains("1 report\n"), "{out}");

    // show: by model (latest), by prefix, by path; piped, so raw markdown.
    let (code, out, _) = run(dir.path(), &["reports", "show", "google/gemini-3-pro", "--reports-dir", r]);
    assert_eq!(code, 0);
    assert!(out.starts_with("# Run Analysis Report: gemini-3-pro") && out.contains("2026-11-16"), "{out}");
    let (_, by_prefix, _) = run(dir.path(), &["reports", "show", "jn7ccccc", "--reports-dir", r, "--raw"]);
    assert!(by_prefix.contains("`jn7cccccq1w2e3r4t5y6u7i8o9p0asdf`"));
    let (code, _, err) = run(dir.path(), &["reports", "show", "nobody/nothing", "--reports-dir", r]);
    assert_eq!(code, 2);
    assert!(err.contains("no report for"), "{err}");
    let (code, _, err) = run(dir.path(), &["reports", "list", "--reports-dir", "missing"]);
    assert_eq!(code, 2);
    assert!(err.contains("no reports folder at missing"), "{err}");

    // trend: persistent with k = 2, the eval failing for every model, an SVG.
    let svg = dir.path().join("trend.svg");
    let (code, out, err) = run(
        dir.path(),
        &["reports", "trend", "--reports-dir", r, "--min-failed", "2", "--svg", svg.to_str().unwrap(), "--json"],
    );
    assert_eq!(code, 0, "{err}");
    let trend = json(&out);
    assert_eq!(trend["failing_for_every_model"], serde_json::json!(["002-queries/015-paginate_messages"]));
    let gemini = &trend["models"][1];
    assert_eq!(gemini["model"], "google/gemini-3-pro");
    let persistent: Vec<&str> =
        gemini["persistent"].as_array().unwrap().iter().map(|p| p["eval"].as_str().unwrap()).collect();
    assert_eq!(persistent, ["000-fundamentals/003-crons", "002-queries/015-paginate_messages"]);
    assert_eq!(gemini["runs"][1]["pass_rate"].as_f64().map(|r| (r * 1000.0).round()), Some(895.0));
    let svg = std::fs::read_to_string(&svg).unwrap();
    assert!(svg.starts_with("<svg") && svg.contains("google/gemini-3-pro"));

    // export: CSV through a real CSV reader, quoted.
    let (code, out, _) =
        run(dir.path(), &["reports", "export", "--format", "csv", "--reports-dir", r, "--model", "google/*"]);
    assert_eq!(code, 0);
    let mut lines = out.lines();
    assert!(lines.next().unwrap().starts_with("run,model,experiment,date,eval,step,label"));
    assert_eq!(out.lines().count(), 1 + 6, "{out}");
    let (_, out, _) =
        run(dir.path(), &["reports", "export", "--reports-dir", r, "--since", "2026-11-16", "--until", "2026-11-16"]);
    assert_eq!(json(&out).as_array().unwrap().len(), 2);

    // diff between two reports of one model.
    let (code, out, err) = run(dir.path(), &["diff", "jn7ccccc", "jn7ddddd", "--reports-dir", r, "--json"]);
    assert_eq!(code, 0, "{err}");
    let diff = json(&out);
    let change = |eval: &str| {
        diff["evals"].as_array().unwrap().iter().find(|e| e["eval"] == eval).map(|e| e["change"].clone()).unwrap()
    };
    assert_eq!(change("004-actions/003-daily_report"), "fixed");
    assert_eq!(change("000-fundamentals/003-crons"), "still_failing");
    let (_, text, _) = run(dir.path(), &["diff", "jn7ccccc", "jn7ddddd", "--reports-dir", r]);
    assert!(text.contains("Fixed (2):") && text.contains("Still failing (2):"), "{text}");
}

#[test]
fn a_diff_reads_a_run_without_a_report_from_its_data() {
    let dir = tempfile::tempdir().unwrap();
    let reports = dir.path().join("reports");
    copy_tree(&example_reports(), &reports);
    let store = example_store();
    let (code, out, err) = run(
        dir.path(),
        &["diff", "jn75q2w8", store.to_str().unwrap(), "--reports-dir", reports.to_str().unwrap(), "--json"],
    );
    assert_eq!(code, 0, "{err}");
    let diff = json(&out);
    assert!(diff["b"].as_str().unwrap().contains("run data"), "{diff}");
    let still =
        diff["evals"].as_array().unwrap().iter().find(|e| e["eval"] == "002-queries/009-channel_summary").unwrap();
    assert_eq!(still["change"], "still_failing");
    assert_eq!(still["old_label"], "MODEL_FAULT");
    assert_eq!(still["new_label"], serde_json::Value::Null);
}

#[test]
fn every_review_command_reads_the_real_hand_written_reports() {
    let corpus = package_dir().join("../../shared/corpus/convex-evals/reports");
    if !corpus.is_dir() {
        let note = format!("review: the shared corpus is not at {}; this test checked nothing\n", corpus.display());
        let _ = std::io::Write::write_all(&mut std::io::stderr(), note.as_bytes());
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let reports = dir.path().join("reports");
    copy_tree(&corpus, &reports);
    let r = reports.to_str().unwrap();
    let (code, out, err) = run(dir.path(), &["reports", "list", "--reports-dir", r, "--json"]);
    assert_eq!(code, 0, "{err}");
    let list = json(&out);
    let models: Vec<&str> = list["reports"].as_array().unwrap().iter().map(|r| r["model"].as_str().unwrap()).collect();
    assert_eq!(models.len(), 5, "{list}");
    assert!(
        models.contains(&"anthropic/claude-opus-4-6") && models.contains(&"google/gemini-3-pro-preview"),
        "{models:?}"
    );
    for args in [
        vec!["reports", "trend", "--json"],
        vec!["reports", "export", "--format", "csv"],
        vec!["reports", "show", "anthropic/claude-opus-4.6"],
        vec!["reports", "agreement", "--json"],
    ] {
        let mut all = args.clone();
        all.extend(["--reports-dir", r]);
        let (code, out, err) = run(dir.path(), &all);
        assert_eq!(code, 0, "{all:?}: {err}");
        assert!(!out.is_empty(), "{all:?}");
    }
    // A review of a numbered-section report lands in its section and is read back.
    let (code, _, err) = run(
        dir.path(),
        &[
            "reports",
            "review",
            "jn72t14a",
            "000-fundamentals/003-crons",
            "--label",
            "KNOWN_GAP",
            "--note",
            "n",
            "--by",
            "bo",
            "--reports-dir",
            r,
        ],
    );
    assert_eq!(code, 0, "{err}");
    let (_, out, _) =
        run(dir.path(), &["reports", "export", "--format", "json", "--reports-dir", r, "--model", "*opus*"]);
    let records = json(&out);
    let reviewed: Vec<_> = records.as_array().unwrap().iter().filter(|r| r["human_label"] == "KNOWN_GAP").collect();
    assert_eq!(reviewed.len(), 1, "{records}");
    assert_eq!(reviewed[0]["eval"], "000-fundamentals/003-crons");
    assert_eq!(reviewed[0]["human_by"], "bo");
}

/// `reports list` dates a report by the day its run ran, as every other view does, and `--since`
/// filters on that day: the example run ran on 2026-11-20, whatever day it is analysed.
#[test]
fn reports_list_dates_and_filters_by_the_day_the_run_ran() {
    let dir = tempfile::tempdir().unwrap();
    let reports = dir.path().join("reports");
    let r = reports.to_str().unwrap();
    let store = example_store();
    let (code, _, err) =
        run(dir.path(), &["analyze-run", store.to_str().unwrap(), "--classifier", "rules", "--reports-dir", r]);
    assert_eq!(code, 0, "{err}");
    let (code, out, err) = run(dir.path(), &["reports", "list", "--json", "--reports-dir", r]);
    assert_eq!(code, 0, "{err}");
    let listed = json(&out);
    let ours = listed["reports"].as_array().unwrap().iter().find(|x| x["run_id"] == EXAMPLE_RUN).expect("listed");
    assert_eq!(ours["date"], "2026-11-20", "{ours:#}");
    assert_eq!(ours["ran_at"], "2026-11-20T14:02:11.482Z", "{ours:#}");
    assert_ne!(ours["analysed_on"], "2026-11-20", "analysed today, not on the run's day: {ours:#}");
    let (_, text, _) = run(dir.path(), &["reports", "list", "--reports-dir", r]);
    assert!(text.contains("2026-11-20  anthropic/claude-sonnet-4.5  jn7ak4x9"), "{text}");
    let (_, later, _) = run(dir.path(), &["reports", "list", "--since", "2026-11-21", "--json", "--reports-dir", r]);
    assert!(json(&later)["reports"].as_array().unwrap().iter().all(|x| x["run_id"] != EXAMPLE_RUN), "{later}");
}
