//! The redaction layer (issue 9, item 10) and the terminal sanitizer (item 11): a configured secret
//! that a server echoes back, and the userinfo of a URL, never leave the process — not on the
//! terminal, in logs, in the report, in the LLM prompt or in the verdict cache.

use evaltriage_tests::{EXAMPLE_RUN, FakeConvex, FakeLlm, eval_mut, example_store, failed_step_mut};

use crate::common::{cli, run_with};

const DEPLOY_KEY: &str = "prod:e2e-deploy-key|9f8e7d6c5b";
const LLM_KEY: &str = "sk-e2e-llm-key-0123456789";
const URL_PASSWORD: &str = "hunter2-url-password";

/// Every file under a folder, as text.
fn all_text_under(dir: &std::path::Path) -> String {
    let mut text = String::new();
    for entry in walk(dir) {
        text.push_str(&String::from_utf8_lossy(&std::fs::read(entry).unwrap()));
        text.push('\n');
    }
    text
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else { return files };
    for entry in entries {
        let path = entry.unwrap().path();
        if path.is_dir() { files.extend(walk(&path)) } else { files.push(path) }
    }
    files
}

#[tokio::test(flavor = "multi_thread")]
async fn an_echoed_secret_and_url_userinfo_never_leave_the_process() {
    let convex = FakeConvex::from_store(&example_store()).await;
    {
        // A deployment that echoes the request's Authorization header and an internal URL with
        // credentials into a step's failure text: foreign text carrying secrets.
        let mut runs = convex.state.runs.lock().unwrap();
        let doc = runs.get_mut(EXAMPLE_RUN).unwrap();
        let step = failed_step_mut(eval_mut(doc, "002-queries/015-paginate_messages"));
        let reason = step["status"]["failureReason"].as_str().unwrap().to_owned();
        step["status"]["failureReason"] = format!(
            "{reason}\nrequest was: Authorization: Convex {DEPLOY_KEY}\nmirror: http://admin:{URL_PASSWORD}@10.0.0.7/api \u{1b}]0;pwned\u{7}\u{1b}[31mred"
        )
        .into();
    }
    let llm = FakeLlm::start().await;
    let scratch = tempfile::tempdir().unwrap();
    let reports = scratch.path().join("reports");
    let convex_url = convex.url();
    let mut cmd = cli(scratch.path());
    cmd.env("CONVEX_DEPLOY_KEY", DEPLOY_KEY).env("OPENAI_API_KEY", LLM_KEY).env("RUST_LOG", "debug");
    let (code, out, err) = run_with(
        cmd,
        &[
            "analyze-run",
            EXAMPLE_RUN,
            "--convex-url",
            &convex_url,
            "--llm-base-url",
            &llm.base_url(),
            "--reports-dir",
            reports.to_str().unwrap(),
        ],
    );
    assert!(code == 0 || code == 1, "exit {code}: {err}");
    assert!(reports.exists(), "a report is written: {err}");
    assert!(llm.requests() > 0);
    // The key is still sent where it belongs.
    let sent = convex.state.auth_headers.lock().unwrap().clone();
    assert!(sent.iter().any(|h| h.contains(DEPLOY_KEY)), "{sent:?}");

    let prompts = llm.state.bodies.lock().unwrap().join("\n");
    let written = all_text_under(&reports);
    for (place, text) in
        [("stdout", &out), ("stderr", &err), ("LLM prompts", &prompts), ("reports and cache", &written)]
    {
        for secret in [DEPLOY_KEY, LLM_KEY, URL_PASSWORD] {
            assert!(!text.contains(secret), "{place} holds {secret:?}:\n{text}");
        }
    }
    assert!(prompts.contains("Authorization: Convex ***"), "the echoed header reaches the LLM masked");
    assert!(prompts.contains("http://***@10.0.0.7/api"), "userinfo masked in the prompt");
    for (place, text) in [("stdout", &out), ("stderr", &err)] {
        assert!(!text.contains('\u{1b}') && !text.contains('\u{7}'), "{place} carries a control character:\n{text:?}");
    }
}

/// Keys holding every character one of our escapers touches (markdown cells and prose, code
/// spans, HTML, JSON, CSV), their pieces tokens that occur nowhere else, so any form of them
/// (raw, escaped, partly escaped) shows as a piece.
const ESCAPED_DEPLOY_KEY: &str = "prod:Qd1|Qd2`Qd3&Qd4[Qd5]Qd6\"Qd7\\Qd8<Qd9>Qe1'Qe2*Qe3_Qe4~Qe5!Qe6#Qe7";
const ESCAPED_LLM_KEY: &str = "sk-Ql1|Ql2`Ql3&Ql4[Ql5]Ql6\"Ql7\\Ql8<Ql9>Qm1'Qm2*Qm3_Qm4~Qm5!Qm6#Qm7";

fn key_pieces_in(text: &str) -> Vec<String> {
    let pieces = ["Qd", "Qe", "Ql", "Qm"].iter().flat_map(|p| (1..=9).map(move |i| format!("{p}{i}")));
    pieces.filter(|p| text.contains(p.as_str())).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_secret_in_any_escaped_form_never_reaches_the_report_the_cache_or_the_site() {
    let convex = FakeConvex::from_store(&example_store()).await;
    {
        // The deployment echoes the deploy key into a step's failure text; the LLM echoes its own
        // key into its reasoning.
        let mut runs = convex.state.runs.lock().unwrap();
        let doc = runs.get_mut(EXAMPLE_RUN).unwrap();
        let step = failed_step_mut(eval_mut(doc, "002-queries/015-paginate_messages"));
        let reason = step["status"]["failureReason"].as_str().unwrap().to_owned();
        step["status"]["failureReason"] = format!("Authorization: Convex {ESCAPED_DEPLOY_KEY}\n{reason}").into();
    }
    let llm = FakeLlm::start().await;
    *llm.state.echo.lock().unwrap() = Some(format!("Bearer {ESCAPED_LLM_KEY}"));
    let scratch = tempfile::tempdir().unwrap();
    let reports = scratch.path().join("reports");
    let mut cmd = cli(scratch.path());
    cmd.env("CONVEX_DEPLOY_KEY", ESCAPED_DEPLOY_KEY).env("OPENAI_API_KEY", ESCAPED_LLM_KEY);
    let (code, out, err) = run_with(
        cmd,
        &[
            "analyze-run",
            EXAMPLE_RUN,
            "--convex-url",
            &convex.url(),
            "--llm-base-url",
            &llm.base_url(),
            "--reports-dir",
            reports.to_str().unwrap(),
        ],
    );
    assert!(code == 0 || code == 1, "exit {code}: {err}");
    let sent = convex.state.auth_headers.lock().unwrap().clone();
    assert!(sent.iter().any(|h| h.contains(ESCAPED_DEPLOY_KEY)), "the key is still sent where it belongs");
    assert!(llm.requests() > 0);
    let site = scratch.path().join("site");
    let (site_code, site_out, site_err) = run_with(
        cli(scratch.path()),
        &["site", "--out", site.to_str().unwrap(), "--reports-dir", reports.to_str().unwrap()],
    );
    assert_eq!(site_code, 0, "{site_err}");
    // `reports show` and `reports export` go through the same layer; the site does not know the
    // keys (another process), so the report it renders must already be clean.
    let written = all_text_under(&reports);
    assert!(written.contains("It saw Bearer ***"), "the echo reached the report masked:\n{written}");
    let pages = all_text_under(&site);
    let prompts = llm.state.bodies.lock().unwrap().join("\n");
    for (place, text) in [
        ("stdout", &out),
        ("stderr", &err),
        ("reports and cache", &written),
        ("site", &pages),
        ("site output", &format!("{site_out}{site_err}")),
        ("LLM prompts", &prompts),
    ] {
        assert_eq!(key_pieces_in(text), Vec::<String>::new(), "{place} holds a key:\n{text}");
    }
}

#[test]
fn url_userinfo_is_masked_in_errors_and_json() {
    let scratch = tempfile::tempdir().unwrap();
    // Nothing listens on port 9: the error names the deployment, without its credentials.
    let url = format!("http://reader:{URL_PASSWORD}@127.0.0.1:9");
    for json in [false, true] {
        let mut args = vec!["runs", "show", EXAMPLE_RUN, "--convex-url", &url];
        if json {
            args.push("--json");
        }
        let (code, out, err) = run_with(cli(scratch.path()), &args);
        assert_eq!(code, 1, "a server that cannot be reached is not the user's input: {err}");
        assert!(err.contains("http://***@127.0.0.1:9"), "{err}");
        assert!(!out.contains(URL_PASSWORD) && !err.contains(URL_PASSWORD), "{out}\n{err}");
    }
}
