//! Running the CLI binary in a scratch folder with a clean environment.

use std::path::Path;

use assert_cmd::Command;

/// The environment variables the CLI reads, cleared for every test so the host never leaks in.
pub const CLI_ENV: [&str; 13] = [
    "CONVEX_URL",
    "CONVEX_DEPLOY_KEY",
    "EVALTRIAGE_STORE",
    "EVALTRIAGE_REPORTS_DIR",
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "EVALTRIAGE_LLM_MODEL",
    "EVALTRIAGE_LLM_TIMEOUT",
    "EVALTRIAGE_MAX_ANSWER_TOKENS",
    "EVALTRIAGE_NOTIFY_WEBHOOK",
    "RUST_LOG",
    "EVALTRIAGE_DEADLINE",
    "EVALTRIAGE_SITE_URL",
];

/// The CLI with none of the environment variables it reads, so the host never leaks into a test.
pub fn cli(cwd: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_evaltriage-e2e"));
    cmd.current_dir(cwd);
    for var in CLI_ENV {
        cmd.env_remove(var);
    }
    cmd.env("NO_COLOR", "1");
    cmd
}

/// Runs the CLI and returns (exit code, stdout, stderr).
pub fn run(cwd: &Path, args: &[&str]) -> (i32, String, String) {
    run_with(cli(cwd), args)
}

pub fn run_with(mut cmd: Command, args: &[&str]) -> (i32, String, String) {
    let output = cmd.args(args).output().expect("run the CLI");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

pub fn json(stdout: &str) -> serde_json::Value {
    serde_json::from_str(stdout).unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{stdout}"))
}
