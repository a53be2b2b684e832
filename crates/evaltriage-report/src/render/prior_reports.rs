//! The **Prior reports consulted** section.

use super::analysis::Analysis;
use super::format::{percent, plural};
use crate::path_scheme::report_folders;
use crate::render::escape::{code, inline};

impl Analysis<'_> {
    pub(super) fn prior_reports(&self, out: &mut String) {
        w!(out, "## Prior reports consulted");
        w!(out);
        let (provider, model) = report_folders(self.run);
        if self.input.prior_reports.is_empty() {
            w!(out, "None: no earlier report in `{provider}/{model}/`, so every failure below is new.");
        }
        for r in self.input.prior_reports {
            let kind = if r.ours { "evaltriage report" } else { "hand-written, read heuristically" };
            let pass = r
                .pass_rate
                .map_or_else(String::new, |(p, t)| format!(", {p}/{t} passed ({})", percent(p as usize, t as usize)));
            let actions = match r.actions_taken.len() {
                0 => String::new(),
                n => format!(", {n} action{} taken", plural(n)),
            };
            let scope =
                r.scope.as_ref().map_or_else(String::new, |s| format!(", covers only {}", inline(&s.describe())));
            w!(
                out,
                "- {} — run of {}, {kind}{scope}{pass}, {} failure{} named{actions}",
                code(&r.file_name()),
                r.run_date().format("%Y-%m-%d"),
                r.entries.len(),
                plural(r.entries.len())
            );
        }
        for warning in self.input.prior_warnings {
            let name = warning.path.file_name().map_or_else(String::new, |n| n.to_string_lossy().into_owned());
            w!(out, "- Skipped or partly read: {} — {}", code(&name), inline(&warning.reason));
        }
        w!(out);
    }
}
