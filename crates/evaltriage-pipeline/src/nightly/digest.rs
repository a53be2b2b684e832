//! The day's digest file, read like any file evaltriage does not own and written atomically, and
//! the webhook a finished night notifies.

use std::path::Path;

use evaltriage_report::NightDigest;
use serde_json::json;

use crate::error::Error;

/// What the day's digest held when the night started (its title when it is new), read like any
/// file evaltriage does not own: a regular file only, bounded, never through a link out of the
/// reports folder. One it cannot read is the user's to fix: the night stops before it would
/// replace, and lose, the sections already there.
pub(crate) fn read_digest(reports_dir: &Path, path: &Path, date: chrono::NaiveDate) -> Result<String, Error> {
    match evaltriage_core::fsread::read_regular_under(reports_dir, path, MAX_DIGEST_BYTES) {
        // A stray byte that is not UTF-8 is kept as U+FFFD: the sections around it are kept.
        Ok(bytes) => Ok(String::from_utf8_lossy(&bytes).into_owned()),
        Err(e) if e.is_not_found() => Ok(evaltriage_report::digest_title(date)),
        Err(e) => Err(Error::bad_input(format!(
            "cannot read the digest {} ({}); move it aside, nothing was done",
            path.display(),
            e.kind
        ))),
    }
}

/// The largest day's digest read (a night adds a few KiB).
const MAX_DIGEST_BYTES: u64 = 16 * 1024 * 1024;

/// The day's digest: what it held when the night started, and this night's section.
pub(crate) fn write_digest(reports_dir: &Path, path: &Path, before: &str, digest: &NightDigest) -> Result<(), Error> {
    let text = format!("{}{}", before, digest.render());
    evaltriage_report::write_file_atomically(reports_dir, path, text.as_bytes()).map_err(Error::failed)
}

/// Posts `{"text": ...}` to an incoming webhook. A failure never fails the night: it is returned
/// as a line for the night's log (naming the host only: the URL often carries a secret token).
pub(super) async fn notify(url: &str, text: &str) -> Option<String> {
    let client = match reqwest::Client::builder().timeout(std::time::Duration::from_secs(15)).build() {
        Ok(c) => c,
        Err(e) => return Some(format!("warning: the webhook was not notified: {e}")),
    };
    let body = serde_json::to_vec(&json!({ "text": text })).unwrap_or_default();
    let host = url::Url::parse(url).ok().and_then(|u| u.host_str().map(str::to_owned)).unwrap_or_default();
    Some(match client.post(url).header("content-type", "application/json").body(body).send().await {
        Ok(r) if r.status().is_success() => format!("nightly: notified the webhook at {host}"),
        Ok(r) => {
            format!("warning: the webhook at {host} answered HTTP {}; the night is not affected", r.status().as_u16())
        }
        Err(e) => format!(
            "warning: the webhook at {host} could not be reached ({}); the night is not affected",
            if e.is_timeout() { "timed out" } else { "request failed" }
        ),
    })
}
