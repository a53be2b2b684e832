//! What the tool prints can be trusted: every printed command runs as printed, run data reaches
//! the terminal clean and cut, clusters name one real cause, token figures agree everywhere, the
//! token budget is a hard cap, options are where they act, and errors are one clear line (and JSON
//! with `--json`).

use std::path::{Path, PathBuf};

use evaltriage_tests::{
    EXAMPLE_RUN, FakeConvex, FakeLlm, copy_tree, eval_mut, example_reports, example_store, example_store_copy,
    failed_step_mut,
};
use serde_json::Value;

use crate::common::{CLI_ENV, json, run, run_with};

/// A folder on `PATH` where `evaltriage` is the binary under test, so printed commands run as a
/// user would paste them.
fn bin_dir(scratch: &Path) -> PathBuf {
    let dir = scratch.join("bin");
    std::fs::create_dir_all(&dir).unwrap();
    let link = dir.join("evaltriage");
    if !link.exists() {
        std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_evaltriage-e2e"), &link).unwrap();
    }
    dir
}

/// The commands a text output offers, in backticks or after `print one:` / `all of it:`.
fn printed_commands(text: &str) -> Vec<String> {
    let mut commands = Vec::new();
    for line in text.lines() {
        for (i, part) in line.split('`').enumerate() {
            if i % 2 == 1 && part.starts_with("evaltriage ") {
                commands.push(part.to_owned());
            }
        }
        for marker in ["print one: ", "all of it: "] {
            if let Some(at) = line.find(marker) {
                let command = line[at + marker.len()..].trim_end_matches(')').trim();
                if command.starts_with("evaltriage ") {
                    commands.push(command.to_owned());
                }
            }
        }
    }
    commands
}

/// Runs a printed command in a POSIX shell, as a user pasting it would.
fn paste(cwd: &Path, command: &str) -> (i32, String, String) {
    let path = format!("{}:{}", bin_dir(cwd).display(), std::env::var("PATH").unwrap_or_default());
    let mut sh = assert_cmd::Command::new("sh");
    sh.current_dir(cwd).env("PATH", path).env("NO_COLOR", "1");
    for var in CLI_ENV {
        sh.env_remove(var);
    }
    run_with(sh, &["-c", command])
}

/// Follows every command an output prints, and the commands those print, one level down.
fn check_printed_commands_run(cwd: &Path, output: &str) -> usize {
    let mut ran = 0;
    for command in printed_commands(output) {
        let (code, out, err) = paste(cwd, &command);
        assert_eq!(code, 0, "`{command}` failed as printed:\n{err}");
        assert!(!out.trim().is_empty(), "`{command}` printed nothing");
        ran += 1;
        for inner in printed_commands(&out) {
            let (code, _, err) = paste(cwd, &inner);
            assert_eq!(code, 0, "`{inner}` (printed by `{command}`) failed as printed:\n{err}");
            ran += 1;
        }
    }
    ran
}

const ODD_EVAL: &str = "004-actions/003-daily report|'x'";

#[test]
fn every_printed_command_runs_as_printed_with_odd_paths_and_a_store_option() {
    let scratch = tempfile::tempdir().unwrap();
    // A store whose path has a space, and an eval whose name has shell metacharacters.
    let store = example_store_copy(&scratch.path().join("my store"), |doc| {
        // The eval the hint names: a lint-only failure, the eval's problem by rule.
        let eval = eval_mut(doc, "004-actions/003-daily_report");
        eval["evalPath"] = Value::from(ODD_EVAL);
        eval["name"] = Value::from("003-daily report|'x'");
    });
    let reports = scratch.path().join("reports");
    let (code, out, err) = run(
        scratch.path(),
        &["analyze-run", EXAMPLE_RUN, "--store", store.to_str().unwrap(), "--reports-dir", reports.to_str().unwrap()],
    );
    assert_eq!(code, 0, "{err}");
    let next = out.lines().find(|l| l.starts_with("next: ")).unwrap_or_else(|| panic!("no next: line in {out}"));
    assert!(next.contains(EXAMPLE_RUN), "the full run id, never a prefix: {next}");
    assert!(!next.contains('…'), "{next}");
    assert!(next.contains("--store"), "the store option is carried: {next}");
    assert!(next.contains(r"'004-actions/003-daily report|'\''x'\'''"), "the odd eval is quoted: {next}");
    assert!(check_printed_commands_run(scratch.path(), &out) >= 1, "{out}");
    // evals show on the odd eval offers its files; that command runs too.
    let (code, out, err) =
        run(scratch.path(), &["evals", "show", EXAMPLE_RUN, ODD_EVAL, "--store", store.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("print one: "), "{out}");
    assert!(check_printed_commands_run(scratch.path(), &out) >= 1, "{out}");
}

#[test]
fn a_hint_names_run_log_only_when_the_eval_has_one() {
    let scratch = tempfile::tempdir().unwrap();
    // Without the lint-only failure (the eval's problem, which a hint names first), the hint names
    // the first model fault; its output has no run.log here.
    let passed = |doc: &mut Value| {
        eval_mut(doc, "004-actions/003-daily_report")["status"] =
            serde_json::json!({"kind": "passed", "durationMs": 1000});
    };
    let store = example_store_copy(&scratch.path().join("store"), passed);
    std::fs::remove_file(store.join("blobs/kg2yetoafnbfm2d0y97rs6df9xpz38jn/run.log")).unwrap();
    let reports = scratch.path().join("reports");
    let (code, out, err) =
        run(scratch.path(), &["analyze-run", store.to_str().unwrap(), "--reports-dir", reports.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    let next = out.lines().find(|l| l.starts_with("next: ")).unwrap();
    assert!(next.contains("001-data_modeling/005-chat_schema"), "{next}");
    assert!(!next.contains("run.log"), "no run.log to show: {next}");
    check_printed_commands_run(scratch.path(), &out);

    // With run.log, the hint names it, and it runs.
    let with_log = example_store_copy(&scratch.path().join("store2"), passed);
    let (code, out, err) = run(
        scratch.path(),
        &["analyze-run", with_log.to_str().unwrap(), "--reports-dir", scratch.path().join("r2").to_str().unwrap()],
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.lines().any(|l| l.starts_with("next: ") && l.contains("--file run.log")), "{out}");
    check_printed_commands_run(scratch.path(), &out);
}

#[tokio::test(flavor = "multi_thread")]
async fn hints_carry_the_convex_url_they_were_given() {
    let convex = FakeConvex::from_store(&example_store()).await;
    let scratch = tempfile::tempdir().unwrap();
    let reports = scratch.path().join("reports");
    let url = format!("https://viz.example/experiment/default/run/{EXAMPLE_RUN}");
    let (code, out, err) = run(
        scratch.path(),
        &["analyze-run", &url, "--convex-url", &convex.url(), "--reports-dir", reports.to_str().unwrap()],
    );
    assert_eq!(code, 0, "{err}");
    let next = out.lines().find(|l| l.starts_with("next: ")).unwrap();
    assert!(next.contains(&format!("--convex-url {}", convex.url())), "{next}");
    assert!(check_printed_commands_run(scratch.path(), &out) >= 1, "{out}");
}

#[test]
fn evals_show_keeps_escapes_off_the_terminal_and_cuts_repeated_output() {
    let scratch = tempfile::tempdir().unwrap();
    let noisy = format!(
        "Error: Failed to deploy:\n\u{1b}[31m✖ Error: boom\u{1b}[0m\u{1b}]0;owned\u{7}\n{}done\r\n",
        "convex/a.ts:12: error: the same thing again\n".repeat(3000)
    );
    let store = example_store_copy(&scratch.path().join("store"), |doc| {
        let eval = eval_mut(doc, "001-data_modeling/005-chat_schema");
        failed_step_mut(eval)["status"]["failureReason"] = Value::from(noisy.clone());
    });
    let store = store.to_str().unwrap();
    let (code, out, err) = run(scratch.path(), &["evals", "show", store, "001-data_modeling/005-chat_schema"]);
    assert_eq!(code, 0, "{err}");
    for bad in ['\u{1b}', '\u{7}', '\r'] {
        assert!(!out.contains(bad), "{bad:?} reached the terminal");
    }
    assert!(out.contains("✖ Error: boom"), "{out}");
    assert!(out.contains("[... 2997 lines cut ...]"), "{out}");
    assert!(out.lines().count() < 100, "{} lines", out.lines().count());
    assert!(out.contains("--full"), "says how to see it all: {out}");
    check_printed_commands_run(scratch.path(), &out);

    let (code, full, _) = run(scratch.path(), &["evals", "show", store, "001-data_modeling/005-chat_schema", "--full"]);
    assert_eq!(code, 0);
    assert!(full.lines().filter(|l| l.contains("the same thing again")).count() == 3000);
    assert!(!full.contains('\u{1b}'));
}

#[test]
fn deploys_that_open_with_the_same_generic_line_are_not_one_cluster() {
    let scratch = tempfile::tempdir().unwrap();
    let store = example_store_copy(&scratch.path().join("store"), |doc| {
        let ts = "Error: Failed to deploy:\nconvex dev:\nconvex/schema.ts(9,5): error TS2322: Type 'string' is not assignable to type 'number'.\n";
        let node = "Error: Failed to deploy:\nconvex dev:\n✖ Error: Uncaught Error: Node APIs are not available in the default runtime: import of \"fs\"\n";
        let chat = eval_mut(doc, "001-data_modeling/005-chat_schema");
        chat["status"]["failureReason"] = Value::from(ts);
        failed_step_mut(chat)["status"]["failureReason"] = Value::from(ts);
        // The scheduler's deploy failure becomes a real (verification) failure with another error.
        let scheduler = eval_mut(doc, "000-fundamentals/004-scheduler");
        scheduler["status"]["failureReason"] = Value::from(node);
        failed_step_mut(scheduler)["status"]["failureReason"] = Value::from(node);
    });
    let (code, out, err) = run(scratch.path(), &["runs", "show", store.to_str().unwrap(), "--json"]);
    assert_eq!(code, 0, "{err}");
    let v = json(&out);
    assert_eq!(v["failed_by_step"]["deploy"], 2);
    assert_eq!(v["clusters"], serde_json::json!([]), "no shared cause: {}", v["clusters"]);

    let reports = scratch.path().join("reports");
    let (code, out, err) =
        run(scratch.path(), &["analyze-run", store.to_str().unwrap(), "--reports-dir", reports.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    let report_path = out.lines().find_map(|l| l.strip_prefix("report: ")).unwrap();
    let report = std::fs::read_to_string(scratch.path().join(report_path)).unwrap();
    assert!(report.contains("No two failures share an error signature."), "{report}");
}

fn llm_args<'a>(url: &'a str, convex: &'a str, llm: &'a str, reports: &'a str) -> Vec<&'a str> {
    vec![
        "analyze-run",
        url,
        "--convex-url",
        convex,
        "--llm-base-url",
        llm,
        "--llm-model",
        "test-model",
        "--reports-dir",
        reports,
    ]
}

#[tokio::test(flavor = "multi_thread")]
async fn token_figures_agree_and_an_unchanged_run_costs_no_call() {
    let convex = FakeConvex::from_store(&example_store()).await;
    let llm = FakeLlm::start().await;
    let scratch = tempfile::tempdir().unwrap();
    let reports = scratch.path().join("reports");
    copy_tree(&example_reports(), &reports);
    let (convex_url, llm_url, reports_arg) = (convex.url(), llm.base_url(), reports.to_str().unwrap().to_owned());
    let args = llm_args(EXAMPLE_RUN, &convex_url, &llm_url, &reports_arg);

    let mut estimate = args.clone();
    estimate.extend(["--estimate", "--json"]);
    let (code, out, err) = run(scratch.path(), &estimate);
    assert_eq!(code, 0, "{err}");
    let est = json(&out);
    assert_eq!(est["calls"], 6, "five analyses and the synthesis: {est}");
    assert_eq!(llm.requests(), 0);

    let mut first = args.clone();
    first.push("--json");
    let (code, out, err) = run(scratch.path(), &first);
    assert_eq!(code, 0, "{err}");
    let v = json(&out);
    assert_eq!(llm.requests(), 6);
    // The stand-in reports 1,200 + 150 tokens a call: five verdicts and the synthesis.
    assert_eq!(v["tokens"]["total"], 6 * 1_350);
    assert_eq!(v["tokens"]["synthesis"]["total"], 1_350);
    let per_verdict: u64 = v["verdicts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["tokens"]["prompt"].as_u64().unwrap() + x["tokens"]["completion"].as_u64().unwrap())
        .sum();
    assert_eq!(per_verdict, 5 * 1_350);
    let raw = out.clone();
    assert!(!raw.contains("0.800000"), "confidences have two decimals: {raw}");
    assert!(v["verdicts"].as_array().unwrap().iter().any(|x| x["confidence"] == serde_json::json!(0.8)));
    let report = std::fs::read_to_string(v["report_path"].as_str().unwrap()).unwrap();
    assert!(report.contains("7,200 prompt + 900 completion = 8,100 tokens"), "the report's total is the same");

    // Text output: the same total; then a re-analysis of the unchanged run makes no call at all.
    let mut again = args.clone();
    again.push("--force");
    let (code, out, err) = run(scratch.path(), &again);
    assert_eq!(code, 0, "{err}");
    assert_eq!(llm.requests(), 6, "no call: verdicts and synthesis come from the cache:\n{out}");
    assert!(out.contains("synthesis from the cache"), "{out}");

    let mut no_cache = args.clone();
    no_cache.extend(["--force", "--no-cache"]);
    let (code, out, err) = run(scratch.path(), &no_cache);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("tokens: 8100 (7200 prompt + 900 completion; verdicts 6750, synthesis 1350)"), "{out}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_token_budget_is_never_overspent() {
    let convex = FakeConvex::from_store(&example_store()).await;
    let llm = FakeLlm::start().await;
    let scratch = tempfile::tempdir().unwrap();
    let reports = scratch.path().join("reports");
    let (convex_url, llm_url, reports_arg) = (convex.url(), llm.base_url(), reports.to_str().unwrap().to_owned());
    let mut args = llm_args(EXAMPLE_RUN, &convex_url, &llm_url, &reports_arg);
    args.extend(["--budget-tokens", "6000", "--json"]);
    let (code, out, err) = run(scratch.path(), &args);
    assert_eq!(code, 1, "skipped verdicts end with exit 1: {err}");
    let v = json(&out);
    let spent = v["tokens"]["total"].as_u64().unwrap();
    assert!(spent <= 6_000, "spent {spent} of 6,000");
    assert!(spent > 0, "some analysis fits: {v}");
    let skipped: Vec<&Value> = v["verdicts"].as_array().unwrap().iter().filter(|x| x["status"] == "skipped").collect();
    assert!(!skipped.is_empty(), "{v}");
    for s in &skipped {
        assert!(s["reasoning"].as_str().unwrap().starts_with("token budget reached"), "{s}");
    }
    let report = std::fs::read_to_string(v["report_path"].as_str().unwrap()).unwrap();
    assert!(report.contains("token budget reached"), "the report says why");
}

#[test]
fn options_are_offered_only_where_they_act_and_help_says_defaults() {
    let scratch = tempfile::tempdir().unwrap();
    let (code, help, _) = run(scratch.path(), &["analyze-run", "--help"]);
    assert_eq!(code, 0);
    for wanted in
        ["1 to 4 [default: 4]", "1 to 10 [default: 3]", "[default: gpt-4.1-mini]", "category-level", "--reports-dir"]
    {
        assert!(help.contains(wanted), "analyze-run --help lacks {wanted:?}:\n{help}");
    }
    for command in [&["runs", "show", "--help"][..], &["evals", "list", "--help"], &["evals", "show", "--help"]] {
        let (code, help, _) = run(scratch.path(), command);
        assert_eq!(code, 0);
        assert!(!help.contains("--reports-dir"), "{command:?} offers --reports-dir it ignores");
        assert!(help.contains("--store") && help.contains("category-"), "{command:?}:\n{help}");
    }
    let (code, help, _) = run(scratch.path(), &["snapshot", "--help"]);
    assert_eq!(code, 0);
    let options: Vec<&str> = help.lines().filter(|l| l.trim_start().starts_with("--")).collect();
    assert!(!options.iter().any(|l| l.contains("--store") || l.contains("--reports-dir")), "{help}");
    let (code, _, err) = run(scratch.path(), &["snapshot", EXAMPLE_RUN, "--into", "x", "--store", "y"]);
    assert_eq!(code, 2, "{err}");
}

#[test]
fn config_errors_name_the_file_and_the_key() {
    let scratch = tempfile::tempdir().unwrap();
    let store = example_store();
    let store = store.to_str().unwrap();
    for (toml, key) in [
        ("concurrency = \"four\"\n", "concurrency"),
        ("concurrency = 9\n", "concurrency"),
        ("llm_modle = \"x\"\n", "llm_modle"),
    ] {
        std::fs::write(scratch.path().join("evaltriage.toml"), toml).unwrap();
        let (code, _, err) = run(scratch.path(), &["analyze-run", store, "--estimate"]);
        assert_eq!(code, 2, "{toml}: {err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains("evaltriage.toml") && err.contains(key), "{toml}: {err}");
    }
}

#[test]
fn with_json_an_error_is_a_json_object_on_stdout_too() {
    let scratch = tempfile::tempdir().unwrap();
    let (code, out, err) = run(scratch.path(), &["runs", "show", "not a run", "--json"]);
    assert_eq!(code, 2);
    assert_eq!(err.lines().count(), 1, "{err}");
    let v = json(&out);
    assert_eq!(v["exit_code"], 2);
    assert!(v["error"].as_str().unwrap().len() > 10, "{v}");
    // A usage error clap finds gets the same treatment.
    let (code, out, _) = run(scratch.path(), &["analyze-run", "x", "--concurrency", "9", "--json"]);
    assert_eq!(code, 2);
    assert_eq!(json(&out)["exit_code"], 2);
}

#[test]
fn the_summary_counts_right_and_says_when_no_prior_report_was_found() {
    let scratch = tempfile::tempdir().unwrap();
    let store = example_store();
    let reports = scratch.path().join("empty reports");
    let (code, out, err) =
        run(scratch.path(), &["analyze-run", store.to_str().unwrap(), "--reports-dir", reports.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("7 failures analyzed"), "{out}");
    assert!(out.contains(&format!("no prior report for this model anywhere under {}", reports.display())), "{out}");

    // One failure: singular.
    let doc: Value =
        serde_json::from_str(&std::fs::read_to_string(store.join("runs").join(format!("{EXAMPLE_RUN}.json"))).unwrap())
            .unwrap();
    let id = doc["evals"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["evalPath"] == "003-mutations/006-delete_user_cascade")
        .unwrap()["_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let one = tempfile::tempdir().unwrap();
    let url = format!("https://viz.example/experiment/default/run/{EXAMPLE_RUN}/003-mutations/{id}");
    let (code, out, err) = run(
        one.path(),
        &[
            "analyze-run",
            &url,
            "--store",
            store.to_str().unwrap(),
            "--reports-dir",
            one.path().join("r").to_str().unwrap(),
        ],
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("1 failure analyzed"), "{out}");
}

#[test]
fn scoped_analyses_get_their_own_report_and_never_replace_the_full_one() {
    let scratch = tempfile::tempdir().unwrap();
    let store = example_store();
    let store = store.to_str().unwrap();
    let reports = scratch.path().join("reports");
    let reports_arg = reports.to_str().unwrap();
    let (code, out, err) = run(scratch.path(), &["analyze-run", store, "--reports-dir", reports_arg, "--json"]);
    assert_eq!(code, 0, "{err}");
    let full_path = PathBuf::from(json(&out)["report_path"].as_str().unwrap());
    let full = std::fs::read(&full_path).unwrap();

    // A category-level URL analyses that category only, in a file of its own.
    let url = format!("https://viz.example/experiment/default/run/{EXAMPLE_RUN}/002-queries");
    let (code, out, err) =
        run(scratch.path(), &["analyze-run", &url, "--store", store, "--reports-dir", reports_arg, "--json"]);
    assert_eq!(code, 0, "{err}");
    let v = json(&out);
    let paths: Vec<&str> = v["verdicts"].as_array().unwrap().iter().map(|x| x["eval_path"].as_str().unwrap()).collect();
    assert_eq!(paths, ["002-queries/009-channel_summary", "002-queries/015-paginate_messages"]);
    let category_path = PathBuf::from(v["report_path"].as_str().unwrap());
    assert_ne!(category_path, full_path);
    assert!(category_path.file_name().unwrap().to_str().unwrap().ends_with(".002-queries.md"), "{category_path:?}");

    // An eval-level URL with --force replaces neither the full report nor the category's.
    let doc: Value = serde_json::from_str(
        &std::fs::read_to_string(example_store().join("runs").join(format!("{EXAMPLE_RUN}.json"))).unwrap(),
    )
    .unwrap();
    let id = doc["evals"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["evalPath"] == "002-queries/009-channel_summary")
        .unwrap()["_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let category = std::fs::read(&category_path).unwrap();
    let url = format!("{url}/{id}");
    let (code, out, err) =
        run(scratch.path(), &["analyze-run", &url, "--store", store, "--reports-dir", reports_arg, "--force"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("1 failure analyzed"), "{out}");
    assert!(out.contains("scope: the eval 002-queries/009-channel_summary only"), "{out}");
    assert_eq!(std::fs::read(&full_path).unwrap(), full, "the full report is untouched");
    assert_eq!(std::fs::read(&category_path).unwrap(), category, "the category's report is untouched");
    let written = out.lines().find_map(|l| l.strip_prefix("report: ")).unwrap();
    assert!(written.ends_with(".002-queries.009-channel_summary.md"), "{written}");

    // A category the run does not have is a usage error.
    let bad = format!("https://viz.example/experiment/default/run/{EXAMPLE_RUN}/009-nothing");
    let (code, _, err) = run(scratch.path(), &["analyze-run", &bad, "--store", store, "--reports-dir", reports_arg]);
    assert_eq!(code, 2, "{err}");
}

#[test]
fn the_summary_and_json_say_what_changed_since_the_last_report() {
    let scratch = tempfile::tempdir().unwrap();
    let reports = scratch.path().join("reports");
    copy_tree(&example_reports(), &reports);
    let store = example_store();
    let args = ["analyze-run", store.to_str().unwrap(), "--reports-dir", reports.to_str().unwrap()];
    let (code, out, err) = run(scratch.path(), &args);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("  since jn75q2w8 (2026-11-08): 14/19 → 12/19 · 1 fixed · 1 recovered · 4 new\n"), "{out}");
    let mut with_json = args.to_vec();
    with_json.extend(["--json", "--force"]);
    let (code, out, err) = run(scratch.path(), &with_json);
    assert_eq!(code, 0, "{err}");
    let changes = &json(&out)["changes"];
    assert_eq!(changes["prior_report"], "jn75q2w8_2026-11-08.md", "{changes}");
    let report = std::fs::read_to_string(json(&out)["report_path"].as_str().unwrap()).unwrap();
    assert!(report.contains("## Changes since the last report"));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_command_snapshot_prints_runs_as_printed() {
    let convex = FakeConvex::from_store(&example_store()).await;
    let scratch = tempfile::tempdir().unwrap();
    let (code, out, err) =
        run(scratch.path(), &["snapshot", EXAMPLE_RUN, "--into", "my store", "--convex-url", &convex.url()]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("--store 'my store'`"), "{out}");
    assert!(check_printed_commands_run(scratch.path(), &out) >= 1, "{out}");
}
