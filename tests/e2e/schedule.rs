//! The shipped schedules (`examples/schedule/`) run the real `nightly` command line: the GitHub
//! Actions workflow parsed as YAML, the crontab line and the systemd service, each command line
//! read by the CLI's own argument parser.

use clap::Parser;
use evaltriage::Cli;
use evaltriage_tests::package_dir;
use serde_yaml_ng::Value;

fn schedule_file(name: &str) -> String {
    let path = package_dir().join("../examples/schedule").join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Checks that a shell line runs `<something>/evaltriage nightly ...` with options the CLI
/// accepts, and returns those arguments. Stops at a redirection; quotes are not expected.
fn check_nightly_line(line: &str) -> Vec<String> {
    let words: Vec<&str> = line.split_whitespace().collect();
    let start = words
        .iter()
        .position(|w| w.ends_with("/evaltriage") || *w == "evaltriage")
        .unwrap_or_else(|| panic!("no evaltriage binary in {line:?}"));
    let args: Vec<String> = words[start..]
        .iter()
        .take_while(|w| !w.starts_with(">>") && !w.starts_with('>') && **w != "2>&1" && **w != "&&")
        .map(|w| {
            assert!(!w.contains(['"', '\'', '$']), "no quoting or expansion to guess at: {w} in {line:?}");
            (*w).to_owned()
        })
        .collect();
    let cli = Cli::try_parse_from(&args).unwrap_or_else(|e| panic!("the CLI rejects {args:?}: {e}"));
    assert!(format!("{:?}", cli.command).starts_with("Nightly("), "{args:?} is not the nightly command");
    assert_eq!(args.get(1).map(String::as_str), Some("nightly"));
    args
}

#[test]
fn the_github_workflow_builds_runs_nightly_commits_and_uploads_the_digest() {
    let text = schedule_file("github-actions.yml");
    let workflow: Value = serde_yaml_ng::from_str(&text).expect("the workflow is YAML");
    let cron = workflow["on"]["schedule"][0]["cron"].as_str().expect("a schedule: cron");
    assert_eq!(cron.split_whitespace().count(), 5, "a five-field cron: {cron}");
    assert_eq!(workflow["permissions"]["contents"].as_str(), Some("write"), "it commits reports back");

    let steps = workflow["jobs"]["nightly"]["steps"].as_sequence().expect("the nightly job's steps");
    let runs: Vec<&str> = steps.iter().filter_map(|s| s["run"].as_str()).collect();
    assert!(runs.iter().any(|r| r.contains("cargo build --release --locked -p evaltriage")), "it builds the binary");
    assert!(steps.iter().any(|s| s["uses"].as_str().is_some_and(|u| u.starts_with("actions/cache@"))), "it caches");

    let nightly =
        steps.iter().find(|s| s["run"].as_str().is_some_and(|r| r.contains(" nightly"))).expect("a step runs nightly");
    let line = nightly["run"].as_str().unwrap().lines().find(|l| l.contains(" nightly")).unwrap();
    let args = check_nightly_line(line);
    assert!(args.iter().any(|a| a == "--reports-dir"), "{args:?}");
    assert_eq!(
        nightly["env"]["OPENAI_API_KEY"].as_str(),
        Some("${{ secrets.OPENAI_API_KEY }}"),
        "the key comes from the repository's secrets"
    );
    assert!(nightly["env"]["EVALTRIAGE_NOTIFY_WEBHOOK"].as_str().is_some_and(|v| v.contains("secrets.")));

    let commit = runs.iter().find(|r| r.contains("git commit")).expect("a step commits the reports");
    assert!(commit.contains("git add reports") && commit.contains("git push"), "{commit}");
    let upload = steps
        .iter()
        .find(|s| s["uses"].as_str().is_some_and(|u| u.starts_with("actions/upload-artifact@")))
        .expect("a step uploads the digest");
    assert_eq!(upload["with"]["path"].as_str(), Some("reports/nightly/"));
}

#[test]
fn the_crontab_line_and_the_systemd_service_run_nightly() {
    let crontab = schedule_file("crontab");
    let line = crontab.lines().find(|l| !l.trim_start().starts_with('#') && !l.trim().is_empty()).expect("a line");
    assert_eq!(line.split_whitespace().take(5).count(), 5);
    check_nightly_line(line);

    let service = schedule_file("evaltriage-nightly.service");
    let exec = service.lines().find_map(|l| l.strip_prefix("ExecStart=")).expect("ExecStart=");
    check_nightly_line(exec);
    assert!(service.contains("SuccessExitStatus=3"), "a held lock is not a failed service");
    let timer = schedule_file("evaltriage-nightly.timer");
    assert!(timer.contains("OnCalendar=") && timer.contains("Persistent=true"), "{timer}");
}
