//! What a night leaves behind and tells (issue 20 items 7–10, issue 21 items 5–6): a night whose
//! source is down is recorded and notified; the webhook's text says per run what a maintainer
//! acts on; `--json` names reports where they are; locks stay out of git; and the digest, the
//! state file, prompt templates and cache entries are read like any foreign file (no pipe hangs,
//! no link out is followed, no device floods memory, no earlier section is lost); the digest and
//! the webhook name the findings the night changed (issue 22).

use std::path::Path;
use std::process::Command;

use evaltriage_tests::{EXAMPLE_RUN, FakeConvex, example_store};
use serde_json::Value;

use crate::common::{json, run};

async fn webhook() -> wiremock::MockServer {
    let hook = wiremock::MockServer::start().await;
    wiremock::Mock::given(wiremock::matchers::method("POST"))
        .respond_with(wiremock::ResponseTemplate::new(200))
        .mount(&hook)
        .await;
    hook
}

async fn posted_text(hook: &wiremock::MockServer) -> Vec<String> {
    let requests = hook.received_requests().await.unwrap();
    requests
        .iter()
        .map(|r| serde_json::from_slice::<Value>(&r.body).unwrap()["text"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_night_whose_source_is_down_is_recorded_and_notified() {
    let hook = webhook().await;
    let dir = tempfile::tempdir().unwrap();
    let reports = dir.path().join("reports");
    // A port nothing listens on.
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", dead.local_addr().unwrap());
    drop(dead);
    let hook_url = format!("{}/hook", hook.uri());
    let (code, out, err) = run(
        dir.path(),
        &[
            "nightly",
            "--convex-url",
            &url,
            "--reports-dir",
            reports.to_str().unwrap(),
            "--notify-webhook",
            &hook_url,
            "--json",
        ],
    );
    assert_eq!(code, 1, "{out}{err}");
    let night = json(&out);
    let digest = std::fs::read_to_string(night["digest_path"].as_str().unwrap()).unwrap();
    assert!(digest.contains("could not be listed"), "{digest}");
    let texts = posted_text(&hook).await;
    assert_eq!(texts.len(), 1, "one post");
    assert!(texts[0].contains("could not be listed"), "{}", texts[0]);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_webhook_says_per_run_what_to_act_on_and_json_names_reports_where_they_are() {
    let convex = FakeConvex::from_store(&example_store()).await;
    let hook = webhook().await;
    let dir = tempfile::tempdir().unwrap();
    let reports = dir.path().join("reports");
    let hook_url = format!("{}/hook", hook.uri());
    let (code, out, err) = run(
        dir.path(),
        &[
            "nightly",
            "--convex-url",
            &convex.url(),
            "--reports-dir",
            reports.to_str().unwrap(),
            "--since",
            "3650d",
            "--notify-webhook",
            &hook_url,
            "--site-url",
            "https://triage.example/site/",
            "--json",
        ],
    );
    assert!(code == 0 || code == 1, "{err}");
    let night = json(&out);
    let analyzed = night["runs"].as_array().unwrap().iter().find(|r| r["outcome"] == "analyzed").expect("a run");
    let report = analyzed["report"].as_str().unwrap();
    assert!(Path::new(report).is_file(), "--json names the report where it is: {report}");
    let text = &posted_text(&hook).await[0];
    assert!(text.contains("anthropic/claude-sonnet-4.5") && text.contains("12/19 passed (63.2%)"), "{text}");
    assert!(text.contains(&EXAMPLE_RUN[..8]), "{text}");
    assert!(text.contains("https://triage.example/site/r/anthropic/claude-sonnet-4.5/"), "{text}");
    assert!(text.contains("https://triage.example/site/nightly/"), "{text}");
    assert!(!err.contains(" WARN "), "no raw log line among the night's lines: {err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_digest_and_the_webhook_name_the_findings_the_night_changed() {
    use crate::across::{MODEL, RAN_AT, example_evals, report};
    let convex = FakeConvex::from_store(&example_store()).await;
    let hook = webhook().await;
    let dir = tempfile::tempdir().unwrap();
    let reports = dir.path().join("reports");
    let evals = example_evals();
    let ran_at: chrono::DateTime<chrono::Utc> = RAN_AT.parse().unwrap();
    // Before the night: 009-channel_summary failed twice (a new finding), 003-daily_report once
    // then passed (no finding yet); the example run fails both again: one recurs, one is flaky.
    let channel = ("002-queries/009-channel_summary", "tsc", "convex/a.ts(1,2): error TS2345: nope");
    let daily = ("004-actions/003-daily_report", "eslint", "27:1  error  no await  @typescript-eslint/require-await");
    report(&reports, MODEL, 0, ran_at - chrono::Duration::hours(8), &evals, &[channel, daily], "");
    report(&reports, MODEL, 1, ran_at - chrono::Duration::hours(4), &evals, &[channel], "");
    let hook_url = format!("{}/hook", hook.uri());
    let (code, out, err) = run(
        dir.path(),
        &[
            "nightly",
            "--convex-url",
            &convex.url(),
            "--reports-dir",
            reports.to_str().unwrap(),
            "--since",
            "3650d",
            "--classifier",
            "rules",
            "--notify-webhook",
            &hook_url,
            "--json",
        ],
    );
    assert!(code == 0 || code == 1, "{err}");
    let night = json(&out);
    let changes = night["finding_changes"].as_array().unwrap();
    let change = |eval: &str| {
        changes
            .iter()
            .find(|c| c["kind"] != "grader" && c["subject"].as_str().unwrap().ends_with(eval))
            .unwrap_or_else(|| panic!("no change for {eval}: {changes:#?}"))
    };
    assert_eq!(
        (&change(channel.0)["from"], &change(channel.0)["to"]),
        (&serde_json::json!("new"), &serde_json::json!("recurring"))
    );
    assert_eq!((&change(daily.0)["from"], &change(daily.0)["to"]), (&Value::Null, &serde_json::json!("new")));
    assert_eq!(change(daily.0)["kind"], "flaky");
    let digest = std::fs::read_to_string(night["digest_path"].as_str().unwrap()).unwrap();
    assert!(digest.contains("### Findings that changed state"), "{digest}");
    let id = change(channel.0)["id"].as_str().unwrap();
    assert!(digest.contains(&format!("| `{id}` | model | {MODEL} {} | new | recurring |", channel.0)), "{digest}");
    let text = &posted_text(&hook).await[0];
    assert!(text.contains(&format!("Findings that changed state ({}): ", changes.len())), "{text}");
    assert!(text.contains(&format!("{id} {MODEL} {}: new → recurring", channel.0)), "{text}");

    // A second night changes nothing: no section, nothing said.
    let (code, out, err) = run(
        dir.path(),
        &[
            "nightly",
            "--convex-url",
            &convex.url(),
            "--reports-dir",
            reports.to_str().unwrap(),
            "--since",
            "3650d",
            "--json",
        ],
    );
    assert!(code == 0 || code == 1, "{err}");
    assert_eq!(json(&out)["finding_changes"], serde_json::json!([]));
}

#[test]
fn locks_stay_out_of_git() {
    let dir = tempfile::tempdir().unwrap();
    let git = |args: &[&str]| {
        let out = Command::new("git").args(args).current_dir(dir.path()).output().expect("git");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    git(&["init", "-q"]);
    let (code, _, err) =
        run(dir.path(), &["analyze-run", &example_store().display().to_string(), "--reports-dir", "reports"]);
    assert_eq!(code, 0, "{err}");
    let status = git(&["status", "--porcelain", "--untracked-files=all"]);
    assert!(status.contains("reports/anthropic/claude-sonnet-4.5/"), "{status}");
    assert!(!status.contains(".lock"), "lock files are ignored: {status}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_digest_and_the_state_are_read_as_foreign_files() {
    let convex = FakeConvex::from_store(&example_store()).await;
    let dir = tempfile::tempdir().unwrap();
    let reports = dir.path().join("reports");
    let nightly_dir = reports.join("nightly");
    std::fs::create_dir_all(&nightly_dir).unwrap();
    std::fs::create_dir_all(reports.join(".evaltriage")).unwrap();
    let today = chrono::Utc::now().format("%Y-%m-%d").to_string();
    let digest = nightly_dir.join(format!("{today}.md"));
    let args = ["nightly", "--convex-url", &convex.url(), "--reports-dir", reports.to_str().unwrap(), "--json"];

    // A link to a file outside the reports folder is never copied into the digest.
    std::os::unix::fs::symlink("/etc/passwd", &digest).unwrap();
    let (code, _, err) = run(dir.path(), &args);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("digest"), "{err}");
    assert_eq!(std::fs::read_link(&digest).unwrap(), Path::new("/etc/passwd"), "left as it was");
    std::fs::remove_file(&digest).unwrap();

    // A pipe never hangs the night (as the digest or as the state file).
    nix_mkfifo(&digest);
    nix_mkfifo(&reports.join(".evaltriage/nightly.json"));
    let (code, _, err) = run(dir.path(), &args);
    assert_eq!(code, 2, "{err}");
    std::fs::remove_file(&digest).unwrap();

    // A stray byte that is not UTF-8 keeps the earlier sections.
    std::fs::write(&digest, b"# Nightly\n\n## An earlier night \xff\n\nkept\n").unwrap();
    let (code, _, err) = run(dir.path(), &args);
    assert!(code == 0 || code == 1, "{err}");
    let text = std::fs::read_to_string(&digest).unwrap();
    assert!(text.contains("An earlier night") && text.contains("kept"), "{text}");
    assert!(text.contains("nightly.json could not be read"), "the pipe as state is said and skipped: {text}");
}

#[test]
fn a_pipe_among_the_prompt_templates_is_refused_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let prompts = dir.path().join("prompts");
    std::fs::create_dir_all(&prompts).unwrap();
    nix_mkfifo(&prompts.join("analysis.system.txt"));
    let (code, _, err) = run(
        dir.path(),
        &[
            "analyze-run",
            &example_store().display().to_string(),
            "--estimate",
            "--prompts-dir",
            prompts.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 2, "{err}");
}

/// A named pipe at `path`, made with the system's `mkfifo`.
fn nix_mkfifo(path: &Path) {
    let status = Command::new("mkfifo").arg(path).status().expect("mkfifo");
    assert!(status.success());
}
