//! The verdicts our earlier reports made for a model, each with its failure's signature: what a
//! new analysis may reuse instead of asking again (the reports stay the one record of verdicts).

use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use evaltriage_core::fsread::read_regular;
use evaltriage_core::{Run, Verdict};

use crate::read::find::{self, ModelIdentity};
use crate::read::human_verdict::{HumanVerdict, heading_names, visible_reviews};
use crate::read::machine_block;
use crate::read::prior_report::{MAX_REPORT_BYTES, PriorWarning};

/// One verdict of an earlier report of the model, with the signature key it was written with.
#[derive(Debug, Clone, PartialEq)]
pub struct EarlierVerdict {
    pub run_id: String,
    /// The date the verdict was made (the report's date).
    pub date: NaiveDate,
    /// The earlier report's file.
    pub report: PathBuf,
    /// `FailureSignature::key` of the failure it is about.
    pub signature: String,
    pub verdict: Verdict,
    /// A reviewer's verdict on it (`reports review`), which wins over the machine's.
    pub human: Option<HumanVerdict>,
}

/// Every verdict with a signature in our own reports of `run`'s model (found as prior reports are),
/// except the run's own, newest report first. Hand-written reports carry no signature and give
/// none; a file that cannot be read is a warning.
pub fn earlier_verdicts(reports_dir: &Path, run: &Run) -> (Vec<EarlierVerdict>, Vec<PriorWarning>) {
    let mut warnings = Vec::new();
    let files = find::model_reports(reports_dir, &ModelIdentity::of_run(run), &mut warnings);
    let mut out = Vec::new();
    for found in files {
        let text = match read_regular(&found.path, MAX_REPORT_BYTES) {
            Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
            Err(problem) => {
                warnings.push(PriorWarning { path: found.path, reason: format!("{}; skipped", problem.kind) });
                continue;
            }
        };
        let Some(Ok(block)) = machine_block::decode(&text) else { continue };
        if block.run_id == run.id.as_str() || block.signatures.is_empty() {
            continue;
        }
        let visible = visible_reviews(&text);
        for (verdict, _) in block.verdicts {
            let path = verdict.eval_path.as_str().to_owned();
            let Some(signature) = block.signatures.get(&path).cloned() else { continue };
            let human = visible
                .iter()
                .rev()
                .find(|(heading, _)| heading_names(heading, &path))
                .map(|(_, h)| h.clone())
                .or_else(|| block.humans.get(&path).cloned());
            out.push(EarlierVerdict {
                run_id: block.run_id.clone(),
                date: block.date,
                report: found.path.clone(),
                signature,
                verdict,
                human,
            });
        }
    }
    out.sort_by(|a, b| b.date.cmp(&a.date).then_with(|| b.report.cmp(&a.report)));
    (out, warnings)
}
