//! The `evaltriage` binary: a thin entry point that calls [`evaltriage::run`].

fn main() -> std::process::ExitCode {
    evaltriage::run()
}
