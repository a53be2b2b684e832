//! `diff <run A> <run B>`: per eval, what changed between two runs (each from its report when it
//! has one, else from run data).

use std::io::Write;

use evaltriage_pipeline::Settings;

use crate::exit::CliError;
use crate::output::emit_either;

pub async fn diff(a: &str, b: &str, settings: &Settings, json: bool, out: &mut dyn Write) -> Result<(), CliError> {
    let compared = evaltriage_pipeline::review::diff::compare(a, b, settings).await?;
    emit_either(out, json, || compared.json(), || compared.text())
}
