//! `site --out DIR`: the static review site, built by the pipeline.

use std::io::Write;
use std::path::Path;

use evaltriage_pipeline::settings::Settings;

use crate::exit::CliError;
use crate::output::emit_either;

pub fn site(settings: &Settings, out_dir: &Path, runs: usize, json: bool, out: &mut dyn Write) -> Result<(), CliError> {
    let across = settings.across.options()?;
    let built = evaltriage_pipeline::review::site::build(&settings.reports_dir, out_dir, runs, &across)?;
    emit_either(
        out,
        json,
        || built.json(),
        || {
            format!(
                "Wrote {} pages ({} reports, {} of their pages already up to date; {} nightly digests) to {}\nOpen {}\n",
                built.pages,
                built.reports,
                built.unchanged,
                built.nightly_digests,
                built.out_dir.display(),
                built.index.display()
            )
        },
    )
}
