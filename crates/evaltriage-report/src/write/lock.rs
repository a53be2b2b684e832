//! The per-report lock: one analysis of a run (and scope) at a time. A second `analyze-run` of the
//! same run refuses at once, before it spends a single LLM call, instead of finding the report
//! already written at the end.
//!
//! The lock is an OS advisory lock (`flock`) on a small file under
//! `<reports-dir>/.evaltriage/locks/`, so the kernel releases it when the process ends, however it
//! ends. The file holds who took it (process id and start time) for the message of the one that
//! was refused. Lock files are left in place: removing one would let a third process lock a fresh
//! file while the second still waits on the old one.
//!
//! A lock file is opened without following a link (`O_NOFOLLOW`) in a folder that must resolve
//! inside the reports folder (`crate::write::create_dir_inside`): a reports repository holding a
//! link at `.evaltriage/nightly.lock`, at a lock under `locks/`, or in place of `.evaltriage` or
//! `locks`, must not make us overwrite the file it points to with "pid N, started …".

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

/// Takes the advisory lock of `path`, a file under `reports_dir` (created with its folder when
/// missing), without waiting. The one that gets it writes `pid <pid>, started <started>` into the
/// file, for the message of the one that is refused. Both the per-report lock and the nightly's
/// lock are taken this way.
///
/// A link at `path`, or a folder on the way that resolves outside `reports_dir`, is refused with an
/// error naming it; nothing is written.
pub fn try_lock_file(reports_dir: &Path, path: &Path, started: &str) -> std::io::Result<LockAttempt> {
    let refused = |reason: String| std::io::Error::new(std::io::ErrorKind::InvalidInput, reason);
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        crate::write::create_dir_inside(reports_dir, dir).map_err(|e| match e {
            ReportError::Io { source, .. } => source,
            other => refused(other.to_string()),
        })?;
    }
    // Never truncate before holding the lock: the content names the current holder. Never follow
    // a link: it may lead to any file the user can write.
    let mut options = OpenOptions::new();
    options.read(true).write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK);
    }
    let mut file = match options.open(path) {
        Ok(file) => file,
        Err(_) if std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink()) => {
            return Err(refused(format!(
                "the lock file {} is a link; refusing to open it (it may lead to any file)",
                path.display()
            )));
        }
        Err(e) => return Err(e),
    };
    if !file.metadata()?.is_file() {
        return Err(refused(format!("the lock file {} is not a regular file", path.display())));
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

/// A path as the file system resolves it, whether or not it exists yet: its deepest existing
/// ancestor canonicalized (links and `..` resolved, made absolute), then the missing names, with
/// `.` and `..` among them applied by hand. Two spellings of one place give one answer.
fn resolved(path: &Path) -> PathBuf {
    let mut existing = path.to_path_buf();
    let mut missing = Vec::new();
    let mut base = loop {
        if let Ok(found) = existing.canonicalize() {
            break found;
        }
        let Some(last) = existing.components().next_back() else {
            break std::env::current_dir().unwrap_or_default();
        };
        missing.push(last.as_os_str().to_owned());
        if !existing.pop() {
            break std::env::current_dir().unwrap_or_default();
        }
    };
    for name in missing.iter().rev() {
        match name.to_str() {
            Some("..") => {
                base.pop();
            }
            Some(".") => {}
            _ => base.push(name),
        }
    }
    base
}

/// Whether `path` lies inside `reports_dir`, by where both resolve rather than how they are
/// spelled (`r/openai/../openai/x.md`, a relative path against an absolute folder, a link).
pub fn inside_reports_dir(reports_dir: &Path, path: &Path) -> bool {
    resolved(path).starts_with(resolved(reports_dir))
}

/// The lock file of a report path: its folder under the reports folder and its run-id prefix and
/// scope, without the date, so two analyses of one run on either side of midnight still meet.
/// The folder is keyed by where it resolves, so every spelling of one report (with `..`,
/// relative, through a link) meets the same lock.
pub fn lock_path(reports_dir: &Path, report: &Path) -> Result<PathBuf, ReportError> {
    let invalid = |reason| ReportError::InvalidPath { path: report.to_owned(), reason };
    let name = report.file_name().and_then(|n| n.to_str()).ok_or_else(|| invalid("no file name"))?;
    let parsed =
        parse_report_file_name(name).ok_or_else(|| invalid("the file name is not <runIdPrefix>_<YYYY-MM-DD>.md"))?;
    let folder = resolved(report.parent().unwrap_or(Path::new("")));
    let root = resolved(reports_dir);
    let relative = folder.strip_prefix(&root).unwrap_or(&folder);
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
    // said as such, like the report folder, not as a failed lock; and one that leads outside the
    // reports folder is refused by name.
    if let Some(dir) = path.parent() {
        crate::write::create_dir_inside(reports_dir, dir)?;
    }
    if std::fs::symlink_metadata(&path).is_ok_and(|m| m.file_type().is_symlink()) {
        return Err(ReportError::InvalidPath {
            path,
            reason: "the lock file is a link; refusing to open it (it may lead to any file)",
        });
    }
    let started = chrono::Utc::now().format("%Y-%m-%d %H:%M:%S UTC").to_string();
    match try_lock_file(reports_dir, &path, &started) {
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

    #[test]
    fn every_spelling_of_one_report_meets_one_lock() {
        let dir = tempfile::tempdir().unwrap();
        let reports = dir.path().join("r");
        let report = reports.join("openai/gpt-5").join("jn7ak4x9_2026-11-30.md");
        std::fs::create_dir_all(report.parent().unwrap()).unwrap();
        let _held = lock_report(&reports, &report).unwrap();
        let dotted = reports.join("openai/../openai/gpt-5/./jn7ak4x9_2026-11-30.md");
        let via_parent = dir.path().join("r/../r/openai/gpt-5/jn7ak4x9_2026-11-30.md");
        for spelling in [dotted, via_parent] {
            assert_eq!(lock_path(&reports, &spelling).unwrap(), lock_path(&reports, &report).unwrap());
            let err = lock_report(&reports, &spelling).unwrap_err();
            assert!(matches!(err, ReportError::Busy { .. }), "{}: {err}", spelling.display());
        }
        // A folder not made yet resolves the same way too.
        let missing = reports.join("new/model/../model/jn7ak4x9_2026-11-30.md");
        assert_eq!(
            lock_path(&reports, &missing).unwrap(),
            lock_path(&reports, &reports.join("new/model/jn7ak4x9_2026-11-30.md")).unwrap()
        );
        assert!(inside_reports_dir(&reports, &reports.join("openai/../openai/gpt-5")));
        assert!(!inside_reports_dir(&reports, &reports.join("openai/../../elsewhere")));
    }

    /// A reports folder (in a tempdir) and a folder outside it holding a file that must survive.
    #[cfg(unix)]
    fn outside() -> (tempfile::TempDir, PathBuf, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let reports = dir.path().join("reports");
        let elsewhere = dir.path().join("elsewhere");
        std::fs::create_dir_all(&reports).unwrap();
        std::fs::create_dir_all(&elsewhere).unwrap();
        let victim = elsewhere.join("victim.txt");
        std::fs::write(&victim, "precious").unwrap();
        (dir, reports, victim)
    }

    #[cfg(unix)]
    #[test]
    fn a_link_at_a_lock_file_is_refused_and_its_target_untouched() {
        use std::os::unix::fs::symlink;
        let (_dir, reports, victim) = outside();
        let report = reports.join("openai/gpt-5").join("jn7ak4x9_2026-11-30.md");
        let lock = lock_path(&reports, &report).unwrap();
        std::fs::create_dir_all(lock.parent().unwrap()).unwrap();
        symlink(&victim, &lock).unwrap();
        let err = lock_report(&reports, &report).unwrap_err();
        assert!(matches!(err, ReportError::InvalidPath { .. }), "{err}");
        assert!(err.to_string().contains(&lock.display().to_string()), "{err}");
        // The nightly's lock, through the shared function.
        let nightly = reports.join(".evaltriage").join("nightly.lock");
        symlink(&victim, &nightly).unwrap();
        let err = try_lock_file(&reports, &nightly, "now").unwrap_err();
        assert!(err.to_string().contains("nightly.lock") && err.to_string().contains("link"), "{err}");
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
    }

    #[cfg(unix)]
    #[test]
    fn a_linked_lock_folder_leading_outside_is_refused() {
        use std::os::unix::fs::symlink;
        for linked in [".evaltriage", ".evaltriage/locks"] {
            let (_dir, reports, victim) = outside();
            let elsewhere = victim.parent().unwrap();
            let at = reports.join(linked);
            std::fs::create_dir_all(at.parent().unwrap()).unwrap();
            symlink(elsewhere, &at).unwrap();
            let report = reports.join("openai/gpt-5").join("jn7ak4x9_2026-11-30.md");
            // A lock named like the victim: followed, the folder link would overwrite it.
            let err = lock_report(&reports, &report).unwrap_err();
            assert!(matches!(err, ReportError::InvalidPath { .. }), "{linked}: {err}");
            assert!(err.to_string().contains("outside the reports folder"), "{err}");
            let nightly_victim = at.join("victim.txt");
            let err = try_lock_file(&reports, &nightly_victim, "now").unwrap_err();
            assert!(err.to_string().contains("outside the reports folder"), "{linked}: {err}");
            assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
            let stray: Vec<_> = std::fs::read_dir(elsewhere).unwrap().collect();
            assert_eq!(stray.len(), 1, "{linked}: nothing created outside");
        }
    }

    #[cfg(unix)]
    #[test]
    fn a_link_inside_the_reports_folder_is_fine() {
        let dir = tempfile::tempdir().unwrap();
        let reports = dir.path();
        std::fs::create_dir_all(reports.join("state")).unwrap();
        std::os::unix::fs::symlink(reports.join("state"), reports.join(".evaltriage")).unwrap();
        let report = reports.join("openai/gpt-5").join("jn7ak4x9_2026-11-30.md");
        lock_report(reports, &report).unwrap();
    }
}
