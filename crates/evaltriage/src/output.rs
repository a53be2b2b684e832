//! Writing to stdout: everything through the redaction layer and the terminal sanitizer, JSON
//! pretty-printed, and the small formatting helpers the presenters share.

use std::io::Write;

use crate::exit::CliError;

/// Writes to stdout, turning a closed pipe into a quiet failure instead of a panic. Everything goes
/// through the redaction layer (no configured secret, no URL userinfo) and the terminal sanitizer:
/// run data, server messages and model output never bring an escape sequence or a control
/// character (but newline and tab) to the terminal.
pub fn emit(out: &mut dyn Write, text: &str) -> Result<(), CliError> {
    let text = evaltriage_core::redact::for_terminal(text);
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .map_err(|e| CliError::failed(format!("writing output: {e}")))
}

/// Pretty JSON with a trailing newline.
pub fn emit_json(out: &mut dyn Write, value: &serde_json::Value) -> Result<(), CliError> {
    let mut text = serde_json::to_string_pretty(value).map_err(|e| CliError::failed(e.to_string()))?;
    text.push('\n');
    emit(out, &text)
}

/// `1 failure`, `2 failures`.
pub fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// `12m 03s`-style duration.
pub fn format_duration(ms: f64) -> String {
    let secs = (ms / 1000.0).round() as u64;
    match secs {
        0..60 => format!("{secs}s"),
        60..3600 => format!("{}m {:02}s", secs / 60, secs % 60),
        _ => format!("{}h {:02}m", secs / 3600, (secs % 3600) / 60),
    }
}

/// Prints a result as JSON or as text, as `--json` asks.
pub fn emit_either(
    out: &mut dyn Write,
    json: bool,
    value: impl FnOnce() -> serde_json::Value,
    text: impl FnOnce() -> String,
) -> Result<(), CliError> {
    if json { emit_json(out, &value()) } else { emit(out, &text()) }
}
