//! ESLint rules that catch real bugs, said once for every crate: a failure on one of them is the
//! model's, never "overly strict" because the tests passed, and never a rule to relax.

/// ESLint rules that catch real bugs: a failure on one of them is the model's (or an unverified
/// guess), never "overly strict" just because the tests passed, and never a rule to relax. An
/// un-awaited `ctx.scheduler.runAt` passes a test that does not wait for it and still loses the
/// write in production.
pub const CORRECTNESS_RULES: &[&str] = &[
    "@typescript-eslint/no-floating-promises",
    "@typescript-eslint/no-misused-promises",
    "@typescript-eslint/await-thenable",
    "@typescript-eslint/no-unused-vars",
    "no-unused-vars",
    "@typescript-eslint/no-unsafe-call",
    "@typescript-eslint/no-unsafe-member-access",
    "@typescript-eslint/no-unsafe-argument",
    "@typescript-eslint/restrict-plus-operands",
    "@typescript-eslint/no-base-to-string",
    "@typescript-eslint/no-unnecessary-condition",
    "@typescript-eslint/switch-exhaustiveness-check",
    "no-undef",
    "no-unreachable",
    "no-constant-condition",
    "no-dupe-keys",
    "no-fallthrough",
    "require-yield",
    "no-self-assign",
];

/// Whether an ESLint rule catches real bugs ([`CORRECTNESS_RULES`]).
pub fn is_correctness_rule(rule: &str) -> bool {
    CORRECTNESS_RULES.iter().any(|r| *r == rule || bare(r) == bare(rule))
}

/// A rule id without its plugin prefix (`@typescript-eslint/no-unused-vars` → `no-unused-vars`).
fn bare(rule: &str) -> &str {
    rule.rsplit('/').next().unwrap_or(rule)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn correctness_rules_match_with_or_without_their_plugin() {
        assert!(is_correctness_rule("@typescript-eslint/no-floating-promises"));
        assert!(is_correctness_rule("no-floating-promises"));
        assert!(is_correctness_rule("@typescript-eslint/no-unused-vars"));
        assert!(!is_correctness_rule("prefer-const"));
        assert!(!is_correctness_rule("@typescript-eslint/require-await"));
    }
}
