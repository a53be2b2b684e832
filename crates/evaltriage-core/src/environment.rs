//! The benchmark's environment rule: an install, deploy or tsc step whose error says the machine
//! or the network failed (a timeout, a refused or reset connection, a DNS failure, throttling) is
//! infrastructure, whatever the eval's reason says (`install fail`, `convex dev fail`, `tsc fail`).
//!
//! This is the one copy of the rule (convex-evals' `isInfrastructureStepFailure` in
//! `runner/scorer.ts`); the runner aborts the whole run on such a failure.

use crate::step::StepName;

/// Substrings (lowercase) that make an install, deploy or tsc error an environment failure. Bare
/// `rate limit` is deliberately absent: step errors embed project paths, and an eval *named*
/// `rate_limit` would make every model failure in it infrastructure.
pub const ENVIRONMENT_PATTERNS: &[&str] = &[
    "timed out after",
    "econnrefused",
    "econnreset",
    "etimedout",
    "enotfound",
    "eai_again",
    "too many requests",
    "status code 429",
    "http 429",
];

/// The deploy step's own timeout (`Error: convex dev timed out after 90s`, and older wordings).
pub const DEPLOY_PATTERN: &str = "convex dev timed out";

/// The pattern an environment failure matched, or `None` when the step's error is the model's
/// to answer for. Only install, deploy and tsc are judged; other steps never match.
pub fn environment_pattern(step: &StepName, error: &str) -> Option<&'static str> {
    if !matches!(step, StepName::Install | StepName::Deploy | StepName::Tsc) {
        return None;
    }
    let lower = error.to_lowercase();
    let found = ENVIRONMENT_PATTERNS.iter().copied().find(|p| lower.contains(p));
    found.or_else(|| (*step == StepName::Deploy && lower.contains(DEPLOY_PATTERN)).then_some(DEPLOY_PATTERN))
}

/// Whether a step's error is an environment failure by the benchmark's own rule.
pub fn is_environment_failure(step: &StepName, error: &str) -> bool {
    environment_pattern(step, error).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check(step: StepName, error: &str, expected: Option<&str>) {
        assert_eq!(environment_pattern(&step, error), expected, "{step}: {error:?}");
    }

    #[test]
    fn each_pattern_makes_install_deploy_and_tsc_infrastructure() {
        check(StepName::Install, "Error: bun install timed out after 120s", Some("timed out after"));
        check(StepName::Deploy, "Error: Failed to deploy:\nconnect ECONNREFUSED 127.0.0.1:3210", Some("econnrefused"));
        check(StepName::Install, "npm error code ECONNRESET", Some("econnreset"));
        check(StepName::Install, "error: ETIMEDOUT fetching registry.npmjs.org", Some("etimedout"));
        check(StepName::Install, "getaddrinfo ENOTFOUND registry.npmjs.org", Some("enotfound"));
        check(StepName::Deploy, "getaddrinfo EAI_AGAIN convex.dev", Some("eai_again"));
        check(StepName::Tsc, "request failed: Too Many Requests", Some("too many requests"));
        check(StepName::Install, "npm error status code 429", Some("status code 429"));
        check(StepName::Install, "GET https://registry.npmjs.org/x: HTTP 429", Some("http 429"));
        check(StepName::Tsc, "Error: tsc (/tmp/project/tsconfig.json) timed out after 60s", Some("timed out after"));
        check(StepName::Deploy, "Error: convex dev timed out", Some(DEPLOY_PATTERN));
        check(StepName::Deploy, "Error: convex dev timed out after 90s", Some("timed out after"));
    }

    #[test]
    fn near_misses_are_the_models() {
        // An eval named rate_limit: the path is in the error, the failure is the model's.
        let tsc = "Failed to typecheck code:\n/tmp/convex-evals-1/output/m/007-components/001-transactional_rate_limit/\
                   convex/index.ts(23,7): error TS2353: 'rate' does not exist in type '{ config: RateLimitConfig }'.";
        for step in [StepName::Tsc, StepName::Deploy, StepName::Install] {
            check(step, tsc, None);
        }
        check(StepName::Install, "Error: bun install timed out", None);
        check(StepName::Tsc, "convex/a.ts(3,1): error TS2304: Cannot find name 'timedOut'.", None);
        check(StepName::Install, "rate limit exceeded", None);
        check(StepName::Tsc, "Error: convex dev timed out", None);
        check(StepName::Install, "Error: convex dev timed out", None);
        // Only install, deploy and tsc are judged.
        check(StepName::Tests, "Error: test child timed out after 30s", None);
        check(StepName::Eslint, "connect ECONNREFUSED", None);
        check(StepName::Filesystem, "connect ECONNREFUSED", None);
    }
}
