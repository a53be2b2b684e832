//! The evaltriage CLI, built in the test package so the end-to-end tests run the real binary.

fn main() -> std::process::ExitCode {
    evaltriage::run()
}
