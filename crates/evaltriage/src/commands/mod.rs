//! One module per command; each reads through a source and writes to the given output.

pub mod analyze;
pub mod diff;
pub mod evals;
pub mod markdown_terminal;
pub mod nightly;
pub mod nightly_state;
pub mod reports;
pub mod runs;
pub mod site;
pub mod snapshot;

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

/// The first line of a text, at most `max` characters.
pub fn one_line(text: &str, max: usize) -> String {
    let line = text.lines().map(str::trim).find(|l| !l.is_empty()).unwrap_or("");
    if line.chars().count() > max {
        line.chars().take(max.saturating_sub(1)).collect::<String>() + "…"
    } else {
        line.to_owned()
    }
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
