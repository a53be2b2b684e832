//! Known gaps recorded in reports: every KNOWN_GAP any model's report gives an eval, ours (read
//! exactly) and hand-written ones (every style the legacy reader knows, the newest
//! `### <evalPath>` / `**Classification**: X` one included). Since the benchmark removed its
//! `GAPS.txt` files, this is where an eval's known gaps live, and a gap applies to every model.

use std::path::Path;

use evaltriage_core::{Classification, KnownGapRecord, KnownGaps, RunId};

use crate::read::catalog::{CatalogReport, all_reports};
use crate::read::prior_report::PriorWarning;

/// Every KNOWN_GAP in the reports folder, by eval path, with the model, the report (relative to
/// the folder) and the failed step it names — leaving out the reports of `run` itself, which are
/// no evidence about its own failures (a forced re-analysis would otherwise read its own labels
/// back). A reviewer's verdict is authoritative: an entry a reviewer relabelled is not a known gap,
/// and one a reviewer called KNOWN_GAP is. Reports that cannot be read are warnings, as for the
/// catalog.
pub fn known_gaps(reports_dir: &Path, run: &RunId) -> (KnownGaps, Vec<PriorWarning>) {
    let (reports, warnings) = all_reports(reports_dir);
    (known_gaps_for(&reports, run), warnings)
}

/// [`known_gaps`] among reports already read (the run's own reports left out).
pub fn known_gaps_for(reports: &[CatalogReport], run: &RunId) -> KnownGaps {
    known_gaps_in(reports.iter().filter(|r| {
        r.report.run_id_prefix != run.prefix()
            && r.report.run_id.as_deref() != Some(run.as_str())
            && !r.report.run_ids.iter().any(|id| id == run.as_str())
    }))
}

/// The known gaps the given reports record.
pub fn known_gaps_in<'a>(reports: impl IntoIterator<Item = &'a CatalogReport>) -> KnownGaps {
    let mut gaps = KnownGaps::default();
    for catalog in reports {
        for entry in &catalog.report.entries {
            let label = entry.authoritative_label();
            if !label.to_ascii_uppercase().starts_with(Classification::KnownGap.as_str()) {
                continue;
            }
            gaps.add(
                &entry.eval,
                KnownGapRecord {
                    model: catalog.model.clone(),
                    report: catalog.relative.clone(),
                    failed_step: entry.failed_step.clone(),
                    label,
                },
            );
        }
    }
    gaps
}
