//! `findings`, `findings show`, `findings claim`: tracked failures across runs and models, through
//! the pipeline's findings operations.

use std::io::Write;
use std::path::Path;

use evaltriage_pipeline::findings::{self, FindingsFilter};
use evaltriage_pipeline::settings::AcrossConfig;

use crate::cli::{FindingsArgs, FindingsCommand};
use crate::exit::CliError;
use crate::output::{emit, emit_either, emit_json};
use crate::present::findings::{list_text, show_text};

/// The hint for a reports folder that does not exist.
fn with_folder_hint(e: evaltriage_pipeline::Error) -> CliError {
    let mut e = CliError::from(e);
    if e.message.starts_with("no reports folder at ") {
        e.message.push_str(" (set it with --reports-dir or EVALTRIAGE_REPORTS_DIR)");
    }
    e
}

pub fn findings(
    args: &FindingsArgs,
    file: AcrossConfig,
    reports_dir: &dyn Fn(Option<&Path>) -> std::path::PathBuf,
    json: bool,
    out: &mut dyn Write,
) -> Result<(), CliError> {
    match &args.command {
        None => {
            let options = args.across.over(file).options()?;
            let filter = FindingsFilter {
                model: args.model.as_deref(),
                state: args.state,
                kind: args.kind.map(Into::into),
                open: args.open,
            };
            let dir = reports_dir(args.reports.reports_dir.as_deref());
            let list = findings::list(&dir, filter, &options).map_err(with_folder_hint)?;
            emit_either(out, json, || findings::list_json(&list, &options), || list_text(&list))
        }
        Some(FindingsCommand::Show { id, across, reports }) => {
            let options = across.over(file).options()?;
            let dir = reports_dir(reports.reports_dir.as_deref());
            let finding = findings::show(&dir, id, &options).map_err(with_folder_hint)?;
            emit_either(out, json, || finding.to_json(), || show_text(&finding))
        }
        Some(FindingsCommand::Claim { id, note, across, reports }) => {
            let options = across.over(file).options()?;
            let dir = reports_dir(reports.reports_dir.as_deref());
            let claimed = findings::claim(&dir, id, note, chrono::Utc::now(), &options).map_err(with_folder_hint)?;
            if json {
                return emit_json(out, &claimed.json());
            }
            emit(
                out,
                &format!(
                    "Claimed a fix for {} ({}) in {}:\n  {}\nIt is {} now; it is verified after {} passing runs.\n",
                    claimed.finding.id,
                    claimed.finding.subject(),
                    claimed.path.display(),
                    claimed.entry,
                    claimed.finding.state.as_str(),
                    options.verify_after
                ),
            )
        }
    }
}
