//! A failure's signature: what makes two failures "the same failure" for reusing a verdict — the
//! model, the eval path, the eval's source (its storage id), the failed step and the decisive error
//! with ids, line numbers, temp paths and durations collapsed.

use crate::model::{Failure, Run};
use crate::text::{collapse_digit_runs, decisive_error};

/// Bumped when the normalisation changes, so signatures written before never match by accident.
const SIGNATURE_VERSION: &str = "sig1";

/// Folders whose first component below them is a per-run random name.
const TEMP_ROOTS: [&str; 5] = ["/tmp/", "/var/folders/", "/private/var/", "\\temp\\", "/temp/"];

/// The parts of a failure that decide whether an earlier verdict still holds.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FailureSignature {
    pub model: String,
    pub eval_path: String,
    /// The eval's `evalSourceStorageId`: a changed task, grader or answer is a different failure.
    pub eval_source: Option<String>,
    /// The failed step's name, `none` when generation failed.
    pub failed_step: String,
    /// The decisive error, normalised by [`normalise_error`].
    pub error: String,
}

impl FailureSignature {
    /// The signature of one of `run`'s failures.
    pub fn of(run: &Run, failure: &Failure) -> Self {
        Self {
            model: run.model.clone(),
            eval_path: failure.eval_path.as_str().to_owned(),
            eval_source: run.eval_source_id(failure.eval_path.as_str()).map(|id| id.as_str().to_owned()),
            failed_step: failure.step_label().to_owned(),
            error: normalise_error(failure.error_text()),
        }
    }

    /// A short, stable key for storing and comparing (32 hex digits of blake3 over the parts).
    pub fn key(&self) -> String {
        let mut hasher = blake3::Hasher::new();
        for part in [
            SIGNATURE_VERSION,
            &self.model,
            &self.eval_path,
            self.eval_source.as_deref().unwrap_or("-"),
            &self.failed_step,
            &self.error,
        ] {
            hasher.update(part.as_bytes());
            hasher.update(b"\x1f");
        }
        hasher.finalize().to_hex()[..32].to_owned()
    }
}

/// The decisive error of a failure text with what differs between repetitions of one failure
/// collapsed: temp folders (`/tmp/convex-evals-x1y2/project/a.ts` -> `<tmp>/project/a.ts`), ids
/// (a run of 12 or more letters and digits that holds both), then every run of digits (line and
/// column numbers, durations, counts) to `#`, and whitespace to single spaces.
pub fn normalise_error(text: &str) -> String {
    let line = decisive_error(text);
    let words: Vec<String> = line.split_whitespace().map(|w| collapse_ids(&collapse_temp_path(w))).collect();
    collapse_digit_runs(&words.join(" "))
}

/// `<tmp>/` in place of a temp root and the random folder below it.
fn collapse_temp_path(word: &str) -> String {
    let lower = word.to_ascii_lowercase();
    for root in TEMP_ROOTS {
        if let Some(at) = lower.find(root) {
            let after = at + root.len();
            let sep = if root.contains('\\') { '\\' } else { '/' };
            let rest = &word[after..];
            let tail = rest.find(sep).map_or("", |i| &rest[i + 1..]);
            return format!("{}<tmp>/{}", &word[..at], tail.replace('\\', "/"));
        }
    }
    word.to_owned()
}

/// `<id>` in place of every run of 12 or more ASCII letters and digits holding both.
fn collapse_ids(word: &str) -> String {
    let mut out = String::with_capacity(word.len());
    let mut run = String::new();
    let flush = |run: &mut String, out: &mut String| {
        let is_id =
            run.len() >= 12 && run.chars().any(|c| c.is_ascii_digit()) && run.chars().any(|c| c.is_ascii_alphabetic());
        out.push_str(if is_id { "<id>" } else { run.as_str() });
        run.clear();
    };
    for c in word.chars() {
        if c.is_ascii_alphanumeric() {
            run.push(c);
        } else {
            flush(&mut run, &mut out);
            out.push(c);
        }
    }
    flush(&mut run, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(a: &str, b: &str, same: bool) {
        assert_eq!(
            normalise_error(a) == normalise_error(b),
            same,
            "{:?} vs {:?}",
            normalise_error(a),
            normalise_error(b)
        );
    }

    #[test]
    fn repetitions_of_one_failure_normalise_alike() {
        // Line and column numbers.
        check(
            "convex/a.ts:3:1 - error TS2304: Cannot find name 'x'.",
            "convex/a.ts:14:9 - error TS2304: Cannot find name 'x'.",
            true,
        );
        // Temp folders.
        check(
            "Error: ENOENT /tmp/convex-evals-a81Kq/project/convex/schema.ts",
            "Error: ENOENT /tmp/convex-evals-Zz02x/project/convex/schema.ts",
            true,
        );
        // Ids.
        check("Error: document k57a1b2c3d4e5f6g7h8 not found", "Error: document j97zz8y7x6w5v4u3t2 not found", true);
        // Durations.
        check("Error: test timed out after 5012ms", "Error: test timed out after 4987ms", true);
        // A different name, file or message is a different failure.
        check("error TS2304: Cannot find name 'x'.", "error TS2304: Cannot find name 'y'.", false);
        check("Error: ENOENT /tmp/r1/project/a.ts", "Error: ENOENT /tmp/r2/project/b.ts", false);
        assert_eq!(normalise_error("Error: at /tmp/abc/p/x.ts:12:4 took 1.5s"), "Error: at <tmp>/p/x.ts:#:# took #.#s");
    }

    #[test]
    fn the_key_covers_every_part() {
        let base = FailureSignature {
            model: "m".into(),
            eval_path: "a/b".into(),
            eval_source: Some("kg1".into()),
            failed_step: "tsc".into(),
            error: "e".into(),
        };
        assert_eq!(base.key(), base.clone().key());
        assert_eq!(base.key().len(), 32);
        let changed = [
            FailureSignature { model: "n".into(), ..base.clone() },
            FailureSignature { eval_path: "a/c".into(), ..base.clone() },
            FailureSignature { eval_source: Some("kg2".into()), ..base.clone() },
            FailureSignature { eval_source: None, ..base.clone() },
            FailureSignature { failed_step: "tests".into(), ..base.clone() },
            FailureSignature { error: "f".into(), ..base.clone() },
        ];
        for other in changed {
            assert_ne!(other.key(), base.key(), "{other:?}");
        }
    }
}
