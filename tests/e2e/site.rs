//! `evaltriage site`, loaded in a real browser: headless Chromium renders the index, a model page,
//! the findings page (filtered by state) and report pages from `file://`; the DOM has the charts, heat-map cells and rendered reports, a
//! `<script>` quoted in a report is text, a screenshot is taken, and no page can load anything
//! from the network. Without Chromium the test fails under CI and says so loudly elsewhere.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use evaltriage_tests::{EXAMPLE_RUN, copy_tree, example_store, package_dir};

use crate::common::{json, run};

/// The Chromium binary on PATH, if any.
fn chromium() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    for dir in std::env::split_paths(&path) {
        for name in ["chromium", "chromium-browser", "google-chrome", "google-chrome-stable"] {
            let candidate = dir.join(name);
            if candidate.is_file() {
                return Some(candidate);
            }
        }
    }
    None
}

/// Runs headless Chromium with these arguments (a profile of its own), at most 90 s; stdout.
fn browse(chromium: &Path, profile: &Path, args: &[String]) -> String {
    let mut child = Command::new(chromium)
        .args(["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-extensions"])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start chromium");
    let started = Instant::now();
    let mut stdout = child.stdout.take().expect("stdout");
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = std::io::Read::read_to_string(&mut stdout, &mut text);
        text
    });
    loop {
        if child.try_wait().expect("wait").is_some() {
            break;
        }
        if started.elapsed() > Duration::from_secs(90) {
            let _ = child.kill();
            panic!("chromium did not finish within 90 s: {args:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    reader.join().expect("reader")
}

fn file_url(path: &Path) -> String {
    format!("file://{}", path.canonicalize().expect("canonical").display())
}

/// Every HTML file of the site.
fn pages(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read site") {
        let p = entry.expect("entry").path();
        if p.is_dir() {
            pages(&p, out);
        } else if p.extension().is_some_and(|e| e == "html") {
            out.push(p);
        }
    }
}

/// A reports folder with hand-written reports of two models, two more reports the tool wrote for
/// one of them (two runs of the example), and a nightly digest.
fn reports_for_the_site(dir: &Path) -> PathBuf {
    let reports = dir.join("reports");
    copy_tree(&package_dir().join("fixtures/review"), &reports);
    let r = reports.to_str().unwrap();
    let store = example_store();
    let (code, _, err) =
        run(dir, &["analyze-run", store.to_str().unwrap(), "--classifier", "rules", "--reports-dir", r]);
    assert_eq!(code, 0, "{err}");
    let store2 = dir.join("store2");
    copy_tree(&store, &store2);
    let other = "jn7yyyyy9m2qw8hd5tz3vc6pe1r0bfs7g";
    let old = store2.join("runs").join(format!("{EXAMPLE_RUN}.json"));
    let text = std::fs::read_to_string(&old).unwrap().replace(EXAMPLE_RUN, other);
    std::fs::remove_file(&old).unwrap();
    std::fs::write(store2.join("runs").join(format!("{other}.json")), text).unwrap();
    let (code, _, err) =
        run(dir, &["analyze-run", store2.to_str().unwrap(), "--classifier", "rules", "--reports-dir", r]);
    assert_eq!(code, 0, "{err}");
    reports
}

#[test]
fn the_site_is_self_contained_and_renders_in_headless_chromium() {
    let dir = tempfile::tempdir().unwrap();
    let reports = reports_for_the_site(dir.path());
    let site = dir.path().join("site");
    let (code, out, err) = run(
        dir.path(),
        &["site", "--out", site.to_str().unwrap(), "--reports-dir", reports.to_str().unwrap(), "--json"],
    );
    assert_eq!(code, 0, "{err}");
    let summary = json(&out);
    assert_eq!(summary["reports"], 6);
    assert_eq!(summary["nightly_digests"], 1);

    // Nothing a browser would fetch: no src, no stylesheet link, no url(), no @import, and a
    // Content-Security-Policy forbidding every load on every page.
    let mut all = Vec::new();
    pages(&site, &mut all);
    assert_eq!(all.len(), 6 + 1 + 1 + 1 + 2 + 2, "reports, index, list, findings, models, nightly index and digest");
    for page in &all {
        let html = std::fs::read_to_string(page).unwrap();
        for needle in [" src=", "<link", "url(", "@import", "<iframe", "<object", "<embed"] {
            assert!(!html.contains(needle), "{} has {needle}", page.display());
        }
        assert!(html.contains("content=\"default-src 'none';"), "{} has no CSP", page.display());
    }

    // Built again, only what changed is rendered: a reviewed report's page, not the others.
    let again = |dir: &Path| {
        let (code, out, err) =
            run(dir, &["site", "--out", site.to_str().unwrap(), "--reports-dir", reports.to_str().unwrap(), "--json"]);
        assert_eq!(code, 0, "{err}");
        json(&out)
    };
    assert_eq!(again(dir.path())["unchanged"], 6);
    std::thread::sleep(Duration::from_millis(20));
    let (code, _, err) = run(
        dir.path(),
        &[
            "reports",
            "review",
            "jn7bbbbb",
            "002-queries/009-channel_summary",
            "--label",
            "KNOWN_GAP",
            "--note",
            "seen",
            "--reports-dir",
            reports.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(again(dir.path())["unchanged"], 5);
    let reviewed =
        std::fs::read_to_string(site.join("r/anthropic/claude-sonnet-4.5/jn7bbbbb_2026-11-15.html")).unwrap();
    assert!(reviewed.contains("Human verdict"), "the reviewed report's page was rendered again");

    let Some(chromium) = chromium() else {
        let message = "\n\n*** CHROMIUM NOT FOUND: the site was NOT tested in a browser. Install it with \
                       `apt-get install -y chromium` (.ci/run does). ***\n";
        if std::env::var_os("CI").is_some() {
            panic!("{message}");
        }
        // Straight to the process's stderr: the test harness captures `eprintln!` of a passing
        // test, and this must be seen.
        let _ = std::io::Write::write_all(&mut std::io::stderr(), message.as_bytes());
        return;
    };
    let profile = dir.path().join("chromium-profile");

    let index = browse(&chromium, &profile, &["--dump-dom".into(), file_url(&site.join("index.html"))]);
    assert_eq!(index.matches("class=\"sparkline\"").count(), 2, "{index}");
    assert_eq!(index.matches("class=\"filterable model-row\"").count(), 2);
    assert!(index.contains("002-queries/015-paginate_messages"), "failing for every model");

    let model_page = site.join("models/anthropic__claude-sonnet-4-5.html");
    let model = browse(&chromium, &profile, &["--dump-dom".into(), file_url(&model_page)]);
    assert!(model.contains("class=\"chart pass-rate-chart\"") && model.contains("class=\"chart label-chart\""));
    assert_eq!(model.matches("<circle class=\"point\"").count(), 4, "four runs with a pass rate");
    let cells = model.matches("class=\"cell ").count();
    let rows = model.matches("class=\"heat-row").count();
    assert!(rows >= 5 && cells == rows * 4, "{rows} rows, {cells} cells");
    assert!(model.contains(">MF</td>") && model.contains(">✓</td>") && model.contains(">KG</td>"));
    assert!(model.contains("persistent-tag") || model.contains("flaky-tag"), "the sonnet runs alternate");

    let hostile = site.join("r/anthropic/claude-sonnet-4.5/jn7bbbbb_2026-11-15.html");
    let report = browse(&chromium, &profile, &["--dump-dom".into(), file_url(&hostile)]);
    assert!(report.contains("<h1>Run Analysis Report: claude-sonnet-4.5</h1>"), "{report}");
    assert!(report.contains("&lt;script&gt;alert(\"pwned\")&lt;/script&gt;"), "the script is text: {report}");
    assert!(!report.contains("<script"), "no script element on a report page");
    assert!(report.contains("<table>") && report.contains("<td>KNOWN_GAP</td>"));

    // The filters run in the browser: `#label=` and `#model=` in the address set them.
    let reports_page = file_url(&site.join("reports.html"));
    let by_label = browse(&chromium, &profile, &["--dump-dom".into(), format!("{reports_page}#label=OVERLY_STRICT")]);
    let hidden = by_label.matches("style=\"display: none;\"").count();
    assert_eq!(hidden, 6 - 4, "reports with an OVERLY_STRICT failure stay: {by_label}");
    let by_model = browse(&chromium, &profile, &["--dump-dom".into(), format!("{reports_page}#model=gemini")]);
    assert_eq!(by_model.matches("style=\"display: none;\"").count(), 4, "only the two gemini reports stay");

    // The findings page: the example's failures, failed in both of its runs, are new findings of
    // its model, each linking to the newest failing run's report page; the state filter runs.
    assert!(index.contains("<a href=\"findings.html\">"), "linked from the index: {index}");
    let findings_page = file_url(&site.join("findings.html"));
    let findings = browse(&chromium, &profile, &["--dump-dom".into(), findings_page.clone()]);
    let rows = findings.matches("class=\"filterable finding-row\"").count();
    assert!(rows >= 3, "{findings}");
    assert!(findings.contains("<td class=\"state\">new</td>"), "{findings}");
    assert!(findings.contains("<code>002-queries/009-channel_summary</code>"), "{findings}");
    assert!(findings.contains("href=\"r/anthropic/claude-sonnet-4.5/"), "{findings}");
    let verified = browse(&chromium, &profile, &["--dump-dom".into(), format!("{findings_page}#label=verified")]);
    assert_eq!(verified.matches("style=\"display: none;\"").count(), rows, "none is verified: {verified}");

    let digest = browse(&chromium, &profile, &["--dump-dom".into(), file_url(&site.join("nightly/2026-11-16.html"))]);
    assert!(digest.contains("<h1>Nightly digest 2026-11-16</h1>"), "{digest}");

    let shot = dir.path().join("model.png");
    browse(
        &chromium,
        &profile,
        &[format!("--screenshot={}", shot.display()), "--window-size=1280,1500".into(), file_url(&model_page)],
    );
    let png = std::fs::read(&shot).expect("a screenshot");
    assert!(png.starts_with(b"\x89PNG") && png.len() > 10_000, "{} bytes", png.len());
    if let Some(keep) = std::env::var_os("EVALTRIAGE_SITE_SCREENSHOT") {
        std::fs::copy(&shot, keep).expect("copy the screenshot");
    }
}
