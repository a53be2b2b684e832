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

/// Held while a report is being produced; dropping it releases the lock.
#[derive(Debug)]
pub struct ReportLock {
    _file: File,
    pub path: PathBuf,
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
pub fn lock_report(reports_dir: &Path, report: &Path) -> Result<ReportLock, ReportError> {
    let path = lock_path(reports_dir, report)?;
    let lock_file = path.clone();
    let io = move |action| {
        let path = lock_file.clone();
        move |source| ReportError::Io { action, path, source }
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|source| ReportError::Io {
            action: "create the lock folder",
            path: dir.to_owned(),
            source,
        })?;
    }
    // Never truncate before holding the lock: the content names the current holder.
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(io("open the lock file"))?;
    if !file.metadata().map_err(io("inspect the lock file"))?.is_file() {
        return Err(ReportError::InvalidPath { path: path.clone(), reason: "the lock file is not a regular file" });
    }
    match file.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => {
            let mut holder = String::new();
            let _ = (&file).take(256).read_to_string(&mut holder);
            let holder = holder.trim();
            return Err(ReportError::Busy {
                path: report.to_owned(),
                holder: if holder.is_empty() {
                    "a process that has not said who it is".to_owned()
                } else {
                    holder.to_owned()
                },
            });
        }
        Err(std::fs::TryLockError::Error(e)) => return Err(io("lock")(e)),
    }
    let who = format!("pid {}, started {}", std::process::id(), chrono::Utc::now().format("%Y-%m-%d %H:%M:%S UTC"));
    let _ = file.set_len(0).and_then(|()| file.rewind()).and_then(|()| file.write_all(who.as_bytes()));
    Ok(ReportLock { _file: file, path })
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
