//! The run's shape: totals, failures by step, infrastructure versus verification, and clusters of
//! failures that share one normalised error signature (which often means one bug).

use std::collections::BTreeMap;

use crate::ids::EvalPath;
use crate::model::{Failure, InfraCause, Run};
use crate::run_failure::RunFailure;
use crate::text::collapse_digit_runs;
use crate::usage::RunUsage;

/// The step label used for failures with no failed step.
pub const NO_STEP: &str = "none";

/// A group of failures with the same normalised error signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cluster {
    /// The normalised signature (paths, ids, numbers and line:col stripped).
    pub signature: String,
    /// The failed step they share (`none` when generation failed).
    pub step: String,
    pub evals: Vec<EvalPath>,
}

/// The shape of a run, computed before any LLM is asked anything.
#[derive(Debug, Clone, PartialEq)]
pub struct Shape {
    pub total: usize,
    pub passed: usize,
    pub failed: usize,
    /// Evals neither passed nor failed (pending, running, unknown).
    pub other: usize,
    /// Evals that did not run to an end: planned evals with no eval document (they never started)
    /// plus evals left `pending` or `running`. Not failures: an aborted run's pass rate is over
    /// the evals that finished, with this count beside it.
    pub not_run: usize,
    /// Of `not_run`, the planned evals that never started.
    pub never_started: usize,
    /// Why the run failed, when it did: an abort (environment, rate limit) or a run the benchmark
    /// does not score (see [`RunFailure::unscored_reason`]).
    pub run_failure: Option<RunFailure>,
    /// Tokens and cost summed over the finished evals, as the benchmark sums them.
    pub usage: RunUsage,
    /// Failed evals by failed step name (`none` for failures without a step).
    pub failed_by_step: BTreeMap<String, usize>,
    /// Failures the benchmark excludes from scoring.
    pub infrastructure: usize,
    pub infrastructure_by_cause: BTreeMap<&'static str, usize>,
    /// Failures of the model's output to pass verification.
    pub verification: usize,
    /// Clusters of two or more failures sharing a signature, largest first.
    pub clusters: Vec<Cluster>,
    /// Every failure, in eval-path order.
    pub failures: Vec<Failure>,
}

impl Shape {
    /// Computes the shape of a run.
    pub fn of(run: &Run) -> Self {
        let failures: Vec<Failure> = run.failed_evals().iter().filter_map(|e| e.failure()).collect();
        let passed = run.evals.iter().filter(|e| e.status.is_passed()).count();
        let mut failed_by_step = BTreeMap::new();
        let mut infrastructure_by_cause: BTreeMap<&'static str, usize> = BTreeMap::new();
        let mut infrastructure = 0;
        for f in &failures {
            *failed_by_step.entry(f.step_label().to_owned()).or_insert(0) += 1;
            if let crate::model::FailureKind::Infrastructure(cause) = f.kind {
                infrastructure += 1;
                *infrastructure_by_cause.entry(InfraCause::as_str(cause)).or_insert(0) += 1;
            }
        }
        let mut groups: BTreeMap<(String, String), Vec<EvalPath>> = BTreeMap::new();
        for f in &failures {
            let signature = error_signature(f.error_text());
            groups.entry((f.step_label().to_owned(), signature)).or_default().push(f.eval_path.clone());
        }
        let mut clusters: Vec<Cluster> = groups
            .into_iter()
            .filter(|((_, signature), evals)| evals.len() >= 2 && !is_generic(signature))
            .map(|((step, signature), evals)| Cluster { signature, step, evals })
            .collect();
        clusters.sort_by(|a, b| b.evals.len().cmp(&a.evals.len()).then_with(|| a.evals.cmp(&b.evals)));
        let failed = failures.len();
        let never_started = run.never_started().len();
        Self {
            total: run.evals.len(),
            passed,
            failed,
            other: run.evals.len() - passed - failed,
            not_run: run.not_run(),
            never_started,
            run_failure: run.failure(),
            usage: run.usage(),
            failed_by_step,
            infrastructure,
            infrastructure_by_cause,
            verification: failed - infrastructure,
            clusters,
            failures,
        }
    }

    /// The evals that finished (passed or failed): what a pass rate is over.
    pub fn finished(&self) -> usize {
        self.passed + self.failed
    }

    /// Passed over the evals that finished, in percent (0 when none finished). For a run that
    /// ran to its end this is passed over total; for an aborted run the evals that never ran are
    /// not counted as failures ([`Shape::not_run`] says how many there are).
    pub fn pass_rate_percent(&self) -> f64 {
        let finished = self.finished();
        if finished == 0 { 0.0 } else { self.passed as f64 * 100.0 / finished as f64 }
    }

    /// The run's cost in USD, when its evals recorded one.
    pub fn cost_usd(&self) -> Option<f64> {
        self.usage.cost_usd
    }

    /// Why the benchmark itself does not score this run, when it does not (`--force` to analyze).
    pub fn unscored_reason(&self) -> Option<String> {
        self.run_failure.as_ref().and_then(RunFailure::unscored_reason)
    }

    /// The first line of a summary for a run that ended badly: `Run aborted by infrastructure
    /// (install): Error: bun install timed out after 120s — 31 of 65 planned evals never ran.`
    /// `None` for a run that completed or is still going.
    pub fn ended_badly_line(&self) -> Option<String> {
        let failure = self.run_failure.as_ref()?;
        let planned = self.total + self.never_started;
        let not_run = match self.not_run {
            0 => String::new(),
            n => format!(" — {n} of {planned} planned evals did not run"),
        };
        Some(format!("Run {}{not_run}.", failure.summary()))
    }

    /// Whether most failures are infrastructure: the run says more about the environment than
    /// about the model.
    pub fn mostly_infrastructure(&self) -> bool {
        self.failed > 0 && self.infrastructure * 2 > self.failed
    }
}

/// A signature that only repeats the step's name (`tests failed (#%)`): the per-test details are in
/// `run.log`, so such failures do not share a root cause just because their summaries match.
fn is_generic(signature: &str) -> bool {
    signature.starts_with("tests failed") || signature.is_empty()
}

/// The longest signature kept; errors are compared on their first meaningful lines.
const SIGNATURE_MAX_CHARS: usize = 160;

/// Normalises an error text into a signature that is equal for "the same error" in different
/// files: keeps the decisive error line ([`crate::text::decisive_error`]: never the step's generic
/// header, a bare `name:` line or a line with no content), and replaces paths, quoted names, ids,
/// numbers and `line:col` with placeholders.
pub fn error_signature(text: &str) -> String {
    let line = crate::text::decisive_error(text);
    let line = replace_quoted(&line);
    let mut out = String::with_capacity(line.len());
    let mut words = line.split_whitespace().peekable();
    while let Some(word) = words.next() {
        out.push_str(&normalise_word(word));
        if words.peek().is_some() {
            out.push(' ');
        }
    }
    if out.chars().count() > SIGNATURE_MAX_CHARS {
        out = out.chars().take(SIGNATURE_MAX_CHARS).collect();
    }
    out
}

/// Replaces quoted spans (`'...'`, `"..."`, `` `...` ``), which name types, fields and values, with
/// `<q>`. A quote only opens at the start of a word, so apostrophes inside words stay.
fn replace_quoted(line: &str) -> String {
    let chars: Vec<char> = line.chars().collect();
    let mut out = String::with_capacity(line.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let opens = matches!(c, '\'' | '"' | '`') && (i == 0 || !chars[i - 1].is_alphanumeric());
        if opens {
            if let Some(len) = chars[i + 1..].iter().position(|&d| d == c) {
                let after = chars.get(i + len + 2);
                if after.is_none_or(|a| !a.is_alphanumeric()) {
                    out.push_str("<q>");
                    i += len + 2;
                    continue;
                }
            }
        }
        out.push(c);
        i += 1;
    }
    out
}

fn normalise_word(word: &str) -> String {
    let trimmed = word.trim_matches(|c: char| matches!(c, '(' | ')' | ',' | ';' | '.' | ':'));
    if trimmed.contains('/') || trimmed.contains('\\') || has_source_extension(trimmed) {
        return "<path>".to_owned();
    }
    if (trimmed.starts_with('\'') && trimmed.ends_with('\'') && trimmed.len() > 1)
        || (trimmed.starts_with('"') && trimmed.ends_with('"') && trimmed.len() > 1)
        || (trimmed.starts_with('`') && trimmed.ends_with('`') && trimmed.len() > 1)
    {
        return "<name>".to_owned();
    }
    if looks_like_convex_id(trimmed) {
        return "<id>".to_owned();
    }
    collapse_digit_runs(word)
}

fn has_source_extension(word: &str) -> bool {
    let Some((stem, ext)) = word.rsplit_once('.') else { return false };
    !stem.is_empty()
        && matches!(ext.split([':', '(']).next().unwrap_or(""), "ts" | "tsx" | "js" | "jsx" | "json" | "mjs" | "cjs")
}

fn looks_like_convex_id(word: &str) -> bool {
    word.len() >= 20
        && word.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        && word.bytes().any(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(a: &str, b: &str, same: bool) {
        assert_eq!(
            error_signature(a) == error_signature(b),
            same,
            "{:?} vs {:?}",
            error_signature(a),
            error_signature(b)
        );
    }

    #[test]
    fn signatures_ignore_paths_numbers_and_positions() {
        check(
            "Error: Failed to typecheck code:\nconvex/messages.ts(12,5): error TS2345: Argument of type 'string' is not assignable",
            "Error: Failed to typecheck code:\nconvex/users.ts(40,17): error TS2345: Argument of type 'number' is not assignable",
            true,
        );
        check("tests failed (40%)", "tests failed (75%)", true);
        check(
            "Error: Failed to lint code:\n/tmp/x/convex/a.ts 3:1 error Unexpected any @typescript-eslint/no-explicit-any",
            "Error: Failed to lint code:\n/tmp/y/convex/b.ts 9:14 error Unexpected any @typescript-eslint/no-explicit-any",
            true,
        );
        check("Error: Failed to deploy:\nschema mismatch", "Error: Failed to deploy:\nValidator error", false);
        check(
            "error TS2345: Argument of type 'string' is not assignable to parameter of type 'FunctionReference<\"mutation\", \"internal\">'.",
            "error TS2345: Argument of type 'number' is not assignable to parameter of type 'FunctionReference<\"query\", \"public\">'.",
            true,
        );
        check("it doesn't match 'a b'", "it doesn't match 'c'", true);
        check("document jn7b2c3d4e5f6g7h8j9k0m1n2 not found", "document kx9z8y7w6v5u4t3s2r1q0p9o8 not found", true);
        assert_eq!(error_signature(""), "");
        // Two deploys that open with the same generic line but fail differently.
        check(
            "Error: Failed to deploy:\nconvex dev:\n- Preparing Convex functions...\nconvex/crons.ts(4,3): error TS2322: Type 'string' is not assignable to type 'number'.",
            "Error: Failed to deploy:\nconvex dev:\n✖ Error: Uncaught Error: Node APIs are not available in the default runtime: import of \"fs\"",
            false,
        );
    }

    #[test]
    fn clusters_are_keyed_by_the_decisive_error_not_a_shared_header() {
        use crate::model::{Eval, EvalStatus, RunStatus, Step, StepName, StepStatus};
        let eval = |n: u32, step_error: &str| Eval {
            id: crate::EvalId::new(&format!("jd7ak4x9m2qw8hd5tz3vc6pe1r0bfs7{n}")).unwrap(),
            path: EvalPath::new(&format!("000-fundamentals/00{n}-x")),
            category: "000-fundamentals".to_owned(),
            name: format!("00{n}-x"),
            status: EvalStatus::Failed {
                failure_reason: "Error: Failed to deploy".to_owned(),
                duration_ms: None,
                output_storage_id: None,
                generation_duration_ms: None,
            },
            task: None,
            eval_source_storage_id: None,
            created_at_ms: f64::from(n),
            usage: None,
            steps: vec![Step {
                id: format!("st{n}"),
                name: StepName::Deploy,
                status: StepStatus::Failed { failure_reason: step_error.to_owned(), duration_ms: None },
                created_at_ms: f64::from(n),
            }],
        };
        let ts = "Error: Failed to deploy:\nconvex dev:\nconvex/crons.ts(4,3): error TS2322: Type 'string' is not assignable to type 'number'.";
        let node = "Error: Failed to deploy:\nconvex dev:\n✖ Error: Uncaught Error: Node APIs are not available in the default runtime";
        let run = Run {
            id: crate::RunId::new("jn7ak4x9m2qw8hd5tz3vc6pe1r0bfs7g").unwrap(),
            model_id: None,
            model: "a/b".to_owned(),
            formatted_name: None,
            provider: None,
            experiment: "default".to_owned(),
            status: RunStatus::Completed { duration_ms: None },
            created_at_ms: 0.0,
            planned_evals: Vec::new(),
            evals: vec![eval(1, ts), eval(2, node), eval(3, &ts.replace("crons.ts(4,3)", "jobs.ts(9,1)"))],
        };
        let shape = Shape::of(&run);
        assert_eq!(shape.clusters.len(), 1, "{:?}", shape.clusters);
        let cluster = &shape.clusters[0];
        assert!(cluster.signature.contains("TS#"), "{}", cluster.signature);
        assert_eq!(cluster.evals.len(), 2);
        assert!(!cluster.evals.iter().any(|e| e.as_str().contains("002")));
    }
}
