//! What a nightly keeps between nights, in `<reports-dir>/.evaltriage/`: the high-water marks
//! (`nightly.json`, written atomically) and the lock that keeps two nightlies from overlapping
//! (`nightly.lock`, an OS advisory lock the system releases when the process dies).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, ErrorKind};

/// The folder of the nightly's own files.
pub fn state_dir(reports_dir: &Path) -> PathBuf {
    reports_dir.join(".evaltriage")
}

/// What git is told of the state folder: its locks (`nightly.lock`, `locks/`) are this machine's
/// business and never committed; the marks (`nightly.json`) may be, so a scheduled nightly on a
/// fresh runner starts where the last one stopped.
const STATE_GITIGNORE: &str = "# evaltriage's state: locks are never committed (nightly.json may be)\n*.lock\nlocks/\n";

/// Writes the state folder's `.gitignore` when it has none. Best effort: a reports folder that
/// cannot hold it is said by the lock taken next, in the words that fit.
pub fn keep_locks_out_of_git(reports_dir: &Path) {
    let path = state_dir(reports_dir).join(".gitignore");
    if path.symlink_metadata().is_err() {
        let _ = evaltriage_report::write_file_atomically(reports_dir, &path, STATE_GITIGNORE.as_bytes());
    }
}

/// The largest state file read (a mark is ~100 bytes; 16 MiB is 100,000 schedules).
const MAX_STATE_BYTES: u64 = 16 * 1024 * 1024;

/// The marks of every schedule, by key (a model slug, or `<slug> @ <experiment>` for a nightly
/// restricted to one experiment).
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct NightlyState {
    pub version: u32,
    #[serde(default)]
    pub marks: BTreeMap<String, Mark>,
    /// When the last nightly started, and whether it finished.
    #[serde(default)]
    pub last_night: Option<LastNight>,
}

/// How far a model's runs have been handled.
#[derive(Debug, Default, Clone, Serialize, Deserialize, PartialEq)]
pub struct Mark {
    /// Every run of the window created at or before this time (ms) was handled.
    pub high_water_ms: f64,
    /// The run at the mark.
    pub run_id: Option<String>,
    /// Finished runs handled so far, for `--sample-every`.
    #[serde(default)]
    pub finished_seen: u64,
}

impl Mark {
    /// The mark's time, once a run has set it (a key can count sampled runs before it has a mark).
    pub fn at(&self) -> Option<f64> {
        self.run_id.as_ref().map(|_| self.high_water_ms)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LastNight {
    pub started_at: String,
    pub finished: bool,
}

impl NightlyState {
    pub fn path(reports_dir: &Path) -> PathBuf {
        state_dir(reports_dir).join("nightly.json")
    }

    /// Reads the state; a missing file is an empty state, and so is an unreadable one (with a
    /// warning returned for the digest): every run with a report is skipped whatever the state
    /// says, so starting over costs only the listing.
    pub fn load(reports_dir: &Path) -> (Self, Option<String>) {
        let path = Self::path(reports_dir);
        // Read like any file evaltriage does not own: regular, bounded, inside the reports folder.
        match evaltriage_core::fsread::read_regular_under(reports_dir, &path, MAX_STATE_BYTES) {
            Ok(bytes) => match serde_json::from_slice::<Self>(&bytes) {
                Ok(state) => (state, None),
                Err(e) => (
                    Self::default(),
                    Some(format!("{} could not be read ({e}); started from no marks", path.display())),
                ),
            },
            Err(e) if e.is_not_found() => (Self::default(), None),
            Err(e) => (
                Self::default(),
                Some(format!("{} could not be read ({}); started from no marks", path.display(), e.kind)),
            ),
        }
    }

    /// Writes the state atomically.
    pub fn save(&mut self, reports_dir: &Path) -> Result<(), Error> {
        self.version = 1;
        let mut bytes = serde_json::to_vec_pretty(self).map_err(Error::failed)?;
        bytes.push(b'\n');
        evaltriage_report::write_file_atomically(reports_dir, &Self::path(reports_dir), &bytes).map_err(Error::failed)
    }
}

/// The nightly lock, held while this value lives.
#[derive(Debug)]
pub struct NightLock {
    _lock: evaltriage_report::HeldLock,
}

impl NightLock {
    /// Takes the lock, or says who holds it ([`ErrorKind::Locked`]).
    pub fn acquire(reports_dir: &Path, started_at: &str) -> Result<Self, Error> {
        keep_locks_out_of_git(reports_dir);
        let path = state_dir(reports_dir).join("nightly.lock");
        match evaltriage_report::try_lock_file(reports_dir, &path, started_at) {
            Ok(evaltriage_report::LockAttempt::Held(lock)) => Ok(Self { _lock: lock }),
            Ok(evaltriage_report::LockAttempt::Busy { holder }) => Err(Error::new(
                ErrorKind::Locked,
                format!("another nightly holds the lock {} ({holder}); nothing was done", path.display()),
            )),
            Err(e) => {
                // A reports folder that is a file, sits under one, or cannot be written is the
                // user's to fix, as it is for analyze-run.
                let kind = if crate::error::is_unusable_path(&e) { ErrorKind::BadInput } else { ErrorKind::Failed };
                Err(Error::new(kind, format!("cannot lock {}: {e}", path.display())))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_is_refused_with_the_holder_and_freed_on_drop() {
        let dir = tempfile::tempdir().unwrap();
        let first = NightLock::acquire(dir.path(), "2026-11-30T02:00:00Z").unwrap();
        let second = NightLock::acquire(dir.path(), "2026-11-30T02:05:00Z").unwrap_err();
        assert_eq!(second.kind, ErrorKind::Locked);
        assert!(
            second.message.contains(&format!("pid {}, started 2026-11-30T02:00:00Z", std::process::id())),
            "{}",
            second.message
        );
        drop(first);
        NightLock::acquire(dir.path(), "2026-11-30T02:10:00Z").unwrap();
    }

    #[test]
    fn the_state_round_trips_and_a_broken_file_is_a_fresh_start() {
        let dir = tempfile::tempdir().unwrap();
        let mut state = NightlyState::default();
        state.marks.insert("a/b".into(), Mark { high_water_ms: 5.0, run_id: Some("r".into()), finished_seen: 2 });
        state.save(dir.path()).unwrap();
        let (back, warning) = NightlyState::load(dir.path());
        assert_eq!(back.marks["a/b"], state.marks["a/b"]);
        assert!(warning.is_none());
        std::fs::write(NightlyState::path(dir.path()), "{not json").unwrap();
        let (fresh, warning) = NightlyState::load(dir.path());
        assert!(fresh.marks.is_empty() && warning.is_some());
    }
}
