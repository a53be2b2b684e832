//! The per-report lock: one analysis of a run (and scope) at a time. A second `analyze-run` of the
//! same run refuses at once, before it spends a single LLM call, instead of finding the report
//! already written at the end.
//!
//! The lock is an OS advisory lock (`flock`) on a small file under
//! `<reports-dir>/.evaltriage/locks/`, so the kernel releases it when the process ends, however it
//! ends. The file holds who took it (process id and start time) for the message of the one that
//! was refused. Lock files are left in place: removing one would let a third process lock a fresh
//! file while the second still waits on the old one.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

use crate::error::ReportError;
use crate::path_scheme::parse_report_file_name;

/// An advisory lock on a file, held while this value lives (and released by the kernel however
/// the process ends).
#[derive(Debug)]
pub struct HeldLock {
    _file: File,
    pub path: PathBuf,
}

/// What [`try_lock_file`] found.
#[derive(Debug)]
pub enum LockAttempt {
    /// The lock is ours; the file now says who holds it.
    Held(HeldLock),
    /// Another process holds it: who, as its lock file says (`pid N, started T`).
    Busy { holder: String },
}

/// Takes the advisory lock of `path` (created with its folder when missing) without waiting. The
/// one that gets it writes `pid <pid>, started <started>` into the file, for the message of the
/// one that is refused. Both the per-report lock and the nightly's lock are taken this way.
pub fn try_lock_file(path: &Path, started: &str) -> std::io::Result<LockAttempt> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    // Never truncate before holding the lock: the content names the current holder.
    let mut file = OpenOptions::new().read(true).write(true).create(true).truncate(false).open(path)?;
    if !file.metadata()?.is_file() {
        return Err(std::io::Error::new(std::io::ErrorKind::InvalidInput, "the lock file is not a regular file"));
    }
    match file.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => {
            let mut holder = String::new();
            let _ = (&file).take(256).read_to_string(&mut holder);
            let holder = holder.trim();
            let holder =
                if holder.is_empty() { "a process that has not said who it is".to_owned() } else { holder.to_owned() };
            return Ok(LockAttempt::Busy { holder });
        }
        Err(std::fs::TryLockError::Error(e)) => return Err(e),
    }
    let who = format!("pid {}, started {started}", std::process::id());
    let written = file.set_len(0).and_then(|()| file.rewind()).and_then(|()| file.write_all(who.as_bytes()));
    if let Err(e) = written {
        tracing::warn!("could not write who holds {}: {e}", path.display());
    }
    Ok(LockAttempt::Held(HeldLock { _file: file, path: path.to_owned() }))
}

/// The lock file of a report path: its folder under the reports folder and its run-id prefix and
/// scope, without the date, so two analyses of one run on either side of midnight still meet.
pub fn lock_path(reports_dir: &Path, report: &Path) -> Result<PathBuf, ReportError> {
    let invalid = |reason| ReportError::InvalidPath { path: report.to_owned(), reason };
    let name = report.file_name().and_then(|n| n.to_str()).ok_or_else(|| invalid("no file name"))?;
    let parsed =
        parse_report_file_name(name).ok_or_else(|| invalid("the file name is not <runIdPrefix>_<YYYY-MM-DD>.md"))?;
    let folder = report.parent().unwrap_or(Path::new(""));
    let relative = folder.strip_prefix(reports_dir).unwrap_or(folder);
    let mut key: Vec<String> =
        relative.components().map(|c| c.as_os_str().to_string_lossy().replace(['/', '\\'], "-")).collect();
    key.push(parsed.prefix.clone());
    if let Some(scope) = &parsed.scope {
        key.push(scope.category.clone());
        key.extend(scope.eval.clone());
    }
    Ok(reports_dir.join(".evaltriage").join("locks").join(format!("{}.lock", key.join("__"))))
}

/// Takes the lock of a report path, or says who holds it ([`ReportError::Busy`]).
pub fn lock_report(reports_dir: &Path, report: &Path) -> Result<HeldLock, ReportError> {
    let path = lock_path(reports_dir, report)?;
    // The folder first, so that a reports folder that cannot hold one (a file in its place) is
    // said as such, like the report folder, not as a failed lock.
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|source| ReportError::Io {
            action: "create the lock folder",
            path: dir.to_owned(),
            source,
        })?;
    }
    let started = chrono::Utc::now().format("%Y-%m-%d %H:%M:%S UTC").to_string();
    match try_lock_file(&path, &started) {
        Ok(LockAttempt::Held(lock)) => Ok(lock),
        Ok(LockAttempt::Busy { holder }) => Err(ReportError::Busy { path: report.to_owned(), holder }),
        Err(source) => Err(ReportError::Io { action: "lock", path, source }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_of_the_same_run_is_refused_and_names_the_holder() {
        let dir = tempfile::tempdir().unwrap();
        let reports = dir.path();
        let report = reports.join("openai/gpt-5").join("jn7ak4x9_2026-11-30.md");
        let held = lock_report(reports, &report).unwrap();
        // Another day's report of the same run meets the same lock.
        let next_day = reports.join("openai/gpt-5").join("jn7ak4x9_2026-12-01.md");
        let err = lock_report(reports, &next_day).unwrap_err();
        let message = err.to_string();
        assert!(message.contains(&format!("pid {}", std::process::id())), "{message}");
        // Another run, or a scope of its own, is not blocked.
        lock_report(reports, &reports.join("openai/gpt-5").join("aaaa1111_2026-11-30.md")).unwrap();
        lock_report(reports, &reports.join("openai/gpt-5").join("jn7ak4x9_2026-11-30.002-queries.md")).unwrap();
        drop(held);
        lock_report(reports, &next_day).unwrap();
    }
}
