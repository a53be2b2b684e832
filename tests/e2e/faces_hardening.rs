//! The third hardening pass, on the faces (issue 21): no secret in a URL, a config error or a
//! usage error reaches the terminal; clap's messages are sanitized like every other output; and
//! a folder the user named that cannot be used is their input to fix (exit code 2) everywhere.

use evaltriage_tests::{FakeConvex, example_store};

use crate::common::{cli, run, run_with};

const PASSWORD: &str = "Pa55w0rd-in-the-url";

#[test]
fn a_url_with_a_password_is_never_echoed() {
    let dir = tempfile::tempdir().unwrap();
    // No scheme: no URL parser sees the userinfo as such.
    let url = format!("user:{PASSWORD}@example.invalid");
    let (code, out, err) = run(dir.path(), &["runs", "show", "jn7ak4x9m2qw8hd5tz3vc6pe1r0bfs7g", "--convex-url", &url]);
    assert_eq!(code, 2, "{err}");
    assert!(!err.contains(PASSWORD) && !out.contains(PASSWORD), "{err}");
    assert!(err.contains("not an http(s) URL"), "{err}");

    for (var, command) in [("CONVEX_URL", "runs"), ("OPENAI_BASE_URL", "analyze-run")] {
        let mut cmd = cli(dir.path());
        cmd.env(var, format!("http://user:{PASSWORD}@example.invalid"));
        let (code, out, err) = run_with(cmd, &[command, "--help"]);
        assert_eq!(code, 0, "{err}");
        assert!(!out.contains(PASSWORD) && !err.contains(PASSWORD), "{var} in --help: {out}");
    }
}

#[test]
fn a_config_error_names_the_key_never_the_value() {
    let dir = tempfile::tempdir().unwrap();
    let secret = "sk-a-key-typed-under-the-wrong-name";
    std::fs::write(dir.path().join("evaltriage.toml"), format!("concurrency = \"{secret}\"\n")).unwrap();
    let (code, _, err) = run(dir.path(), &["analyze-run", &example_store().display().to_string(), "--estimate"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("concurrency"), "{err}");
    assert!(!err.contains(secret) && !err.contains("sk-a-key"), "{err}");
}

#[test]
fn usage_errors_carry_no_control_characters() {
    let dir = tempfile::tempdir().unwrap();
    let hostile = "9\u{1b}]0;owned\u{7}\u{202e}";
    let (code, _, err) = run(dir.path(), &["analyze-run", "x", "--concurrency", hostile]);
    assert_eq!(code, 2, "{err}");
    assert!(!err.contains('\u{1b}') && !err.contains('\u{7}') && !err.contains('\u{202e}'), "{err:?}");
    assert!(err.contains("--concurrency"), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn unusable_folders_are_the_users_input_everywhere() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let file = root.join("a-file");
    std::fs::write(&file, "not a folder").unwrap();
    let convex = FakeConvex::from_store(&example_store()).await;
    let url = convex.url();

    // The nightly's reports folder is a file, or sits under one.
    for reports in [file.clone(), file.join("reports")] {
        let reports = reports.display().to_string();
        let (code, _, err) = run(root, &["nightly", "--convex-url", &url, "--reports-dir", &reports]);
        assert_eq!(code, 2, "{reports}: {err}");
    }
    // A reports folder that is a loop of links.
    std::os::unix::fs::symlink(root.join("loop-b"), root.join("loop-a")).unwrap();
    std::os::unix::fs::symlink(root.join("loop-a"), root.join("loop-b")).unwrap();
    let looped = root.join("loop-a").display().to_string();
    let (code, _, err) = run(root, &["nightly", "--convex-url", &url, "--reports-dir", &looped]);
    assert_eq!(code, 2, "{err}");
    let store = example_store().display().to_string();
    let (code, _, err) = run(root, &["analyze-run", &store, "--reports-dir", &looped]);
    assert_eq!(code, 2, "{err}");

    // A store whose runs/ is a file.
    let store = root.join("store");
    std::fs::create_dir_all(&store).unwrap();
    std::fs::write(store.join("runs"), "not a folder").unwrap();
    let (code, _, err) = run(root, &["runs", "list", "--store", &store.display().to_string()]);
    assert_eq!(code, 2, "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_digest_names_the_deployment_without_its_userinfo() {
    let convex = FakeConvex::from_store(&example_store()).await;
    let url = convex.url().replacen("http://", &format!("http://user:{PASSWORD}@"), 1);
    let dir = tempfile::tempdir().unwrap();
    let reports = dir.path().join("reports");
    let (code, out, err) =
        run(dir.path(), &["nightly", "--convex-url", &url, "--reports-dir", &reports.display().to_string(), "--json"]);
    assert!(code == 0 || code == 1, "{err}");
    let digest_path = crate::common::json(&out)["digest_path"].as_str().unwrap().to_owned();
    let digest = std::fs::read_to_string(digest_path).unwrap();
    assert!(digest.contains("Source"), "{digest}");
    assert!(!digest.contains(PASSWORD), "{digest}");
    assert!(!out.contains(PASSWORD) && !err.contains(PASSWORD), "{out}{err}");
}
