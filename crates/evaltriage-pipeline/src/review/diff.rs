//! Two runs compared: per eval, what changed between two runs. Each side is read from its
//! report when it has one (labels included), else from the run's data through the source.

use std::path::Path;

use evaltriage_core::source::Source;
use evaltriage_report::{RunSide, read_one};

use super::{catalog, resolve};
use crate::error::Error;
use crate::settings::Settings;
use crate::source;

/// Two runs and what changed between them: what `diff` prints, and the MCP tool returns.
#[derive(Debug)]
pub struct Compared {
    a: RunSide,
    b: RunSide,
    changes: Vec<evaltriage_report::EvalDiff>,
}

impl Compared {
    pub fn json(&self) -> serde_json::Value {
        evaltriage_report::diff_json(&self.a, &self.b, &self.changes)
    }

    pub fn text(&self) -> String {
        evaltriage_report::diff_text(&self.a, &self.b, &self.changes)
    }
}

/// Reads both sides and compares them, the run that ran first as A.
pub async fn compare(a: &str, b: &str, settings: &Settings) -> Result<Compared, Error> {
    let (side_a, side_b, _) = evaltriage_report::oldest_first(side(a, settings).await?, side(b, settings).await?);
    let changes = evaltriage_report::run_diff(&side_a, &side_b);
    Ok(Compared { a: side_a, b: side_b, changes })
}

/// A run from its report (a path, or a run id or prefix that has one), else from its data.
async fn side(key: &str, settings: &Settings) -> Result<RunSide, Error> {
    if let Some(report) = report_for(key, settings)? {
        return Ok(RunSide::of_report(&read_one(&report)?));
    }
    let (source, run_ref) = source::open(key, settings)?;
    let run = source.run(&run_ref).await?;
    Ok(RunSide::of_run(&run))
}

/// The report `key` names — a report file, or a run id or prefix with a report — if any. A key
/// that names a store folder or a run file is not a report.
fn report_for(key: &str, settings: &Settings) -> Result<Option<std::path::PathBuf>, Error> {
    let path = Path::new(key);
    if path.is_file() && key.ends_with(".md") {
        return Ok(Some(path.to_owned()));
    }
    if std::fs::symlink_metadata(path).is_ok() || !settings.reports_dir.is_dir() {
        return Ok(None);
    }
    // Only run ids and prefixes here: a model name is not a run.
    let key = key.trim();
    let known = catalog(&settings.reports_dir)?.iter().any(|r| {
        r.report.run_id.as_deref() == Some(key) || r.report.run_id_prefix == key.chars().take(8).collect::<String>()
    });
    if known && !key.contains('/') { resolve(key, &settings.reports_dir).map(Some) } else { Ok(None) }
}
