//! Evidence benchmark over the realistic fixtures (`tests/fixtures/real/`, built from real
//! convex-evals evals): per analysis, how many of its decisive strings reach the first prompt, and
//! what that prompt costs in tokens; then recall over all cases and the median and maximum cost.
//! Prints figures; asserts nothing. Run with `cargo bench -p evaltriage-fanout --bench evidence`;
//! `EVIDENCE_SHOW=<case>` also prints that case's user prompt; `EVIDENCE_DUMP=<dir>` writes every
//! first prompt there, to count with a real tokenizer.

#![expect(clippy::print_stdout, reason = "a benchmark reports its figures on stdout")]

#[path = "../tests/common/mod.rs"]
#[expect(dead_code, reason = "the benchmark uses only part of the test helpers")]
mod common;

use common::real::{missing, real_cases};
use evaltriage_fanout::{DEFAULT_EVIDENCE_TOKENS, Prompts, estimate_tokens, select_evidence};

fn main() {
    let prompts = Prompts::builtin();
    let cases = real_cases();
    println!(
        "evidence over {} realistic analyses (evidence budget {DEFAULT_EVIDENCE_TOKENS} tokens; tokens estimated)\n",
        cases.len()
    );
    println!("{:<36} {:>7} {:>8} {:>9}  missing", "case", "found", "tokens", "evidence");
    let (mut found, mut total) = (0, 0);
    let mut tokens = Vec::new();
    for real in &cases {
        let evidence = select_evidence(&real.case, DEFAULT_EVIDENCE_TOKENS);
        let (system, user) = prompts.render_analysis(&real.case, &evidence);
        let prompt = format!("{system}\n{user}");
        let missed = missing(real, &prompt);
        if std::env::var("EVIDENCE_SHOW").is_ok_and(|c| c == real.name) {
            println!("{user}");
        }
        if let Ok(dir) = std::env::var("EVIDENCE_DUMP") {
            std::fs::write(std::path::Path::new(&dir).join(format!("{}.txt", real.name)), &prompt).expect("dump");
        }
        found += real.decisive.len() - missed.len();
        total += real.decisive.len();
        let cost = estimate_tokens(&system) + estimate_tokens(&user);
        tokens.push(cost);
        println!(
            "{:<36} {:>3}/{:<3} {:>8} {:>9}  {}",
            real.name,
            real.decisive.len() - missed.len(),
            real.decisive.len(),
            cost,
            evidence.estimated_tokens(),
            missed.iter().map(|m| format!("{m:?}")).collect::<Vec<_>>().join(", ")
        );
    }
    tokens.sort_unstable();
    let median = if tokens.len() % 2 == 1 {
        tokens[tokens.len() / 2]
    } else {
        (tokens[tokens.len() / 2 - 1] + tokens[tokens.len() / 2]) / 2
    };
    println!(
        "\nrecall {found}/{total} = {:.1}% of the decisive strings in the first prompt; first-prompt tokens median {median}, max {}",
        100.0 * found as f64 / total.max(1) as f64,
        tokens.last().copied().unwrap_or(0)
    );
}
