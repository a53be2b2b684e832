//! The **Net impact** section: actionable failures against genuine model faults.

use std::collections::BTreeMap;

use evaltriage_core::Classification;

use super::analysis::Analysis;
use super::format::{percent, plural};

impl Analysis<'_> {
    pub(super) fn net_impact(&self, out: &mut String) {
        w!(out, "## Net impact");
        w!(out);
        // The rules' default guess is no finding: counted apart, never as a genuine model fault.
        let unverified = self.rows.iter().filter(|r| r.is_unverified_guess()).count();
        let mut counts: BTreeMap<Classification, usize> = BTreeMap::new();
        for r in self.rows.iter().filter(|r| !r.is_unverified_guess()) {
            if let Some(c) = r.classification() {
                *counts.entry(c).or_default() += 1;
            }
        }
        let actionable: usize = counts.iter().filter(|(c, _)| c.is_actionable()).map(|(_, n)| n).sum();
        let faults = counts.get(&Classification::ModelFault).copied().unwrap_or(0);
        let unclassified = self.rows.iter().filter(|r| r.classification().is_none()).count();
        let breakdown: Vec<String> =
            counts.iter().filter(|(c, _)| c.is_actionable()).map(|(c, n)| format!("{c} {n}")).collect();
        let breakdown = if breakdown.is_empty() { String::new() } else { format!(" ({})", breakdown.join(", ")) };
        let verification = self.rows.len();
        w!(
            out,
            "- **Actionable on the benchmark's side**: {actionable} of {verification} verification failure{}{breakdown}",
            plural(verification)
        );
        w!(out, "- **Genuine model faults**: {faults} of {verification}");
        if unverified > 0 {
            w!(
                out,
                "- **Unverified**: {unverified} (the built-in rules' default guess, not a finding; see Needs verification)"
            );
        }
        if !self.infra.is_empty() {
            w!(out, "- **Infrastructure**: {} (fix the environment; not the model's doing)", self.infra.len());
        }
        if unclassified > 0 {
            w!(out, "- **Unclassified**: {unclassified} (no verdict; see above)");
        }
        w!(out);
        let (passed, total) = (self.shape.passed, self.shape.total);
        if actionable > 0 {
            w!(
                out,
                "If the {actionable} actionable failure{} were fixed (and then passed), the pass rate would be **{}/{total} ({})** instead of {passed}/{total} ({}).",
                plural(actionable),
                passed + actionable,
                percent(passed + actionable, total),
                percent(passed, total)
            );
        } else {
            w!(
                out,
                "Nothing is actionable on the benchmark's side: the pass rate stays {passed}/{total} ({}).",
                percent(passed, total)
            );
        }
        w!(out);
    }
}
