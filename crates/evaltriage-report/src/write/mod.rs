//! Writing a report: atomically (a temp file in the same folder, fsync, rename; nothing left
//! behind on failure), never replacing a report of the same run without `force`, and carrying the
//! hand-edited **Actions taken** section over when it does.
//!
//! One rule for every folder written under the reports folder (reports, the nightly's digest and
//! state, the locks): [`create_dir_inside`] creates it and refuses one that resolves outside the
//! reports folder (`reports/openai` or `.evaltriage` linked elsewhere), so a reports repository
//! holding such a link cannot make us write anywhere else.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use chrono::NaiveDate;

use crate::error::ReportError;
use crate::lines::{actions_taken_range, close_open_fence};
use crate::path_scheme::{ReportFileName, parse_report_file_name};

pub(crate) mod lock;

/// What [`write_report`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteOutcome {
    pub path: PathBuf,
    /// Earlier reports of the same run that this one replaced (with `force`).
    pub replaced: Vec<PathBuf>,
    /// The replaced report's **Actions taken** section was kept.
    pub kept_actions_taken: bool,
    /// Reviewers' verdicts of the replaced report carried into this one (`reports review`).
    pub kept_reviews: usize,
}

/// Writes `markdown` to `path` (`<dir>/<runIdPrefix>_<YYYY-MM-DD>[.<category>[.<eval>]].md`),
/// creating the folder.
///
/// An existing report for the same run and the same scope (same prefix and scope, any date, in the
/// same folder) is an [`ReportError::Exists`] unless `force`; with `force` the new report replaces
/// it and keeps its **Actions taken** section, which people edit by hand. A scoped report never
/// counts as the run's full report nor the other way round: neither refuses or replaces the
/// other.
///
/// `path` must lie inside `reports_dir`: a folder on the way that resolves outside it is an
/// [`ReportError::InvalidPath`] naming that folder ([`create_dir_inside`]).
pub fn write_report(reports_dir: &Path, path: &Path, markdown: &str, force: bool) -> Result<WriteOutcome, ReportError> {
    write_report_with(reports_dir, path, markdown, force, |_| Ok(()))
}

/// [`write_report`], with a hook run after the temp file is written and synced and before the
/// rename: tests use it to simulate a crash at the worst moment.
pub(crate) fn write_report_with(
    reports_dir: &Path,
    path: &Path,
    markdown: &str,
    force: bool,
    before_rename: impl FnOnce(&Path) -> std::io::Result<()>,
) -> Result<WriteOutcome, ReportError> {
    let invalid = |reason| ReportError::InvalidPath { path: path.to_owned(), reason };
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let name = path.file_name().and_then(|n| n.to_str()).ok_or_else(|| invalid("no file name"))?;
    let parsed =
        parse_report_file_name(name).ok_or_else(|| invalid("the file name is not <runIdPrefix>_<YYYY-MM-DD>.md"))?;
    create_dir_inside(reports_dir, dir)?;
    let existing = same_run_reports(dir, &parsed)?;
    // The redaction layer: no configured secret and no URL userinfo is ever written to a report.
    let mut text = evaltriage_core::redact::redact(markdown).into_owned();
    let mut kept_actions_taken = false;
    let mut kept_reviews = 0;
    if let Some(newest) = existing.first() {
        if !force {
            return Err(ReportError::Exists { path: newest.clone() });
        }
        // A link is replaced, never read through: it may lead anywhere (a device, a pipe).
        let is_link = std::fs::symlink_metadata(newest).is_ok_and(|m| m.file_type().is_symlink());
        // Read like any report: a regular file, at most `MAX_REPORT_BYTES` (a 3 GiB file in its
        // place is no report of ours, and has nothing to carry over).
        let old = match is_link {
            true => None,
            false => evaltriage_core::fsread::read_regular(newest, crate::read::prior_report::MAX_REPORT_BYTES).ok(),
        };
        if let Some(old) = old {
            let old = String::from_utf8_lossy(&old);
            if let Some(kept) = carry_actions_taken(&old, &text) {
                text = kept;
                kept_actions_taken = true;
            }
            (text, kept_reviews) = carry_reviews(&old, newest, text);
        }
    }
    write_atomic(dir, path, text.as_bytes(), before_rename)?;
    for old in &existing {
        if old != path {
            std::fs::remove_file(old).map_err(io_error("remove the replaced report", old))?;
        }
    }
    Ok(WriteOutcome { path: path.to_owned(), replaced: existing, kept_actions_taken, kept_reviews })
}

/// Replaces an existing report's text atomically (temp file in the same folder, fsync, rename), as
/// `reports review` does after adding a reviewer's verdict. The path must be a regular file: a link
/// is never written through, nor a folder that resolves outside `reports_dir`. The text passes
/// through the redaction layer like every report.
pub fn rewrite_report(reports_dir: &Path, path: &Path, markdown: &str) -> Result<(), ReportError> {
    let meta = std::fs::symlink_metadata(path).map_err(io_error("read", path))?;
    if !meta.file_type().is_file() {
        return Err(ReportError::InvalidPath {
            path: path.to_owned(),
            reason: "not a regular file (a link is never written through)",
        });
    }
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    create_dir_inside(reports_dir, dir)?;
    let text = evaltriage_core::redact::redact(markdown);
    write_atomic(dir, path, text.as_bytes(), |_| Ok(()))
}

/// The newest existing report of the same run and scope as `path` (same folder, same run id
/// prefix and scope, any date), if any: what [`write_report`] would refuse to replace without
/// `force`. Lets a caller refuse before spending anything on an analysis.
pub fn existing_report_for(path: &Path) -> Result<Option<PathBuf>, ReportError> {
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let Some(parsed) = path.file_name().and_then(|n| n.to_str()).and_then(parse_report_file_name) else {
        return Err(ReportError::InvalidPath {
            path: path.to_owned(),
            reason: "the file name is not <runIdPrefix>_<YYYY-MM-DD>.md",
        });
    };
    if !dir.is_dir() {
        return Ok(None);
    }
    Ok(same_run_reports(dir, &parsed)?.into_iter().next())
}

/// Writes any file (the nightly digest, the nightly state) the way reports are written: a temp
/// file in the same folder, fsync, rename, so a reader never sees half of it and a failure leaves
/// the old file in place. Creates the folder, which must lie inside `reports_dir`
/// ([`create_dir_inside`]).
pub fn write_file_atomically(reports_dir: &Path, path: &Path, bytes: &[u8]) -> Result<(), ReportError> {
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    create_dir_inside(reports_dir, dir)?;
    write_atomic(dir, path, bytes, |_| Ok(()))
}

/// Why [`create_dir_inside`] refuses a folder.
const RESOLVES_OUTSIDE: &str =
    "it resolves outside the reports folder (a link on the way leads elsewhere); nothing is written through it";

/// Creates `dir` and every missing folder up to it (creating `root`, the reports folder, too),
/// and refuses — an [`ReportError::InvalidPath`] naming the folder — when `dir` does not resolve
/// inside `root`: the deepest folder that exists is resolved (every link on the way followed) and
/// must lie inside the resolved `root`, and the missing ones below it are created one at a time,
/// plain names only. A link inside the reports folder to another folder inside it is fine; the
/// reports folder itself may be a link (the user chose it).
pub(crate) fn create_dir_inside(root: &Path, dir: &Path) -> Result<PathBuf, ReportError> {
    std::fs::create_dir_all(root).map_err(io_error("create the folder", root))?;
    let resolved_root = root.canonicalize().map_err(io_error("resolve", root))?;
    let refuse = |path: &Path| ReportError::InvalidPath { path: path.to_owned(), reason: RESOLVES_OUTSIDE };
    // The deepest part of `dir` that exists, and the names below it.
    let mut existing = dir.to_path_buf();
    let mut missing = Vec::new();
    while std::fs::symlink_metadata(&existing).is_err() {
        let Some(name) = existing.file_name().map(ToOwned::to_owned) else { break };
        missing.push(name);
        if !existing.pop() {
            break;
        }
    }
    if existing.as_os_str().is_empty() {
        existing = PathBuf::from(".");
    }
    let mut current = existing.canonicalize().map_err(io_error("resolve", &existing))?;
    if !current.starts_with(&resolved_root) {
        return Err(refuse(&existing));
    }
    for name in missing.iter().rev() {
        let next = current.join(name);
        match std::fs::create_dir(&next) {
            Ok(()) => {}
            // Made meanwhile by another process: check what it is.
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                let resolved = next.canonicalize().map_err(io_error("resolve", &next))?;
                if !resolved.starts_with(&resolved_root) {
                    return Err(refuse(&next));
                }
            }
            Err(e) => return Err(io_error("create the folder", &next)(e)),
        }
        current = next;
    }
    // `dir` may end in `..` (a path the caller spelled): the end must still be inside.
    if !current.starts_with(&resolved_root) {
        return Err(refuse(dir));
    }
    Ok(current)
}

/// The new report with the old report's **Actions taken** body in place of its own, or `None`
/// when the old one has nothing there worth keeping ("None" or empty).
fn carry_actions_taken(old: &str, new: &str) -> Option<String> {
    let old_body = &old[actions_taken_range(old)?];
    let meaningful = old_body.trim().trim_end_matches('.');
    if meaningful.is_empty() || meaningful.eq_ignore_ascii_case("none") {
        return None;
    }
    let mut body = old_body.to_owned();
    close_open_fence(&mut body);
    if !body.starts_with('\n') {
        body.insert(0, '\n');
    }
    if !body.ends_with("\n\n") {
        body.truncate(body.trim_end_matches('\n').len());
        body.push_str("\n\n");
    }
    Some(match actions_taken_range(new) {
        Some(r) => format!("{}{}{}", &new[..r.start], body, &new[r.end..]),
        None => format!("{}\n## Actions taken\n{body}", new.trim_end_matches('\n')),
    })
}

/// The new report with the old report's reviewers' verdicts recorded again, for the evals the new
/// report still has a section for: a re-analysis never loses a person's review.
fn carry_reviews(old: &str, old_path: &Path, mut new: String) -> (String, usize) {
    let Ok(report) = crate::read::prior::parse_report(old, Some(old_path)) else { return (new, 0) };
    let mut kept = 0;
    for entry in &report.entries {
        if let Some(human) = &entry.human
            && let Ok(edited) = crate::review::human::add_review(&new, &entry.eval, human)
        {
            new = edited;
            kept += 1;
        }
    }
    (new, kept)
}

/// Reports in `dir` whose file name has this run id prefix and scope, newest date first.
fn same_run_reports(dir: &Path, name: &ReportFileName) -> Result<Vec<PathBuf>, ReportError> {
    let mut found: Vec<(NaiveDate, PathBuf)> = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io_error("list", dir))?.flatten() {
        let file = entry.file_name();
        let Some(other) = file.to_str().and_then(parse_report_file_name) else { continue };
        // A symlink counts as an existing report too: it is never written through or replaced
        // without `force`.
        let is_report = entry.file_type().is_ok_and(|t| t.is_file() || t.is_symlink());
        if other.prefix == name.prefix && other.scope == name.scope && is_report {
            found.push((other.date, entry.path()));
        }
    }
    found.sort_by(|a, b| b.cmp(a));
    Ok(found.into_iter().map(|(_, p)| p).collect())
}

fn write_atomic(
    dir: &Path,
    path: &Path,
    bytes: &[u8],
    before_rename: impl FnOnce(&Path) -> std::io::Result<()>,
) -> Result<(), ReportError> {
    let mut builder = tempfile::Builder::new();
    builder.prefix(".evaltriage-").suffix(".md.tmp");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        builder.permissions(std::fs::Permissions::from_mode(0o644));
    }
    // On any error below the temp file is dropped, which deletes it.
    let mut tmp = builder.tempfile_in(dir).map_err(io_error("create a temporary file in", dir))?;
    tmp.write_all(bytes).map_err(io_error("write", tmp.path()))?;
    tmp.as_file().sync_all().map_err(io_error("sync", tmp.path()))?;
    before_rename(tmp.path()).map_err(io_error("finish writing", path))?;
    tmp.persist(path).map_err(|e| io_error("rename the temporary file to", path)(e.error))?;
    // Make the rename itself durable; not every platform can open a folder, which is fine.
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

fn io_error(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> ReportError {
    let path = path.to_owned();
    move |source| ReportError::Io { action, path, source }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NEW: &str = "# Report v2\n\n## Net impact\n\nx\n\n## Actions taken\n\nNone\n\n<!-- evaltriage:v1 {} -->\n";

    fn files(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> =
            std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
        names.sort();
        names
    }

    #[test]
    fn a_rewrite_replaces_a_file_and_never_writes_through_a_link() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("abcdefgh_2026-02-06.md");
        std::fs::write(&path, "old").unwrap();
        rewrite_report(dir.path(), &path, NEW).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), NEW);
        assert_eq!(files(dir.path()), ["abcdefgh_2026-02-06.md"]);
        #[cfg(unix)]
        {
            let target = dir.path().join("target.txt");
            std::fs::write(&target, "keep").unwrap();
            let link = dir.path().join("bbbbbbbb_2026-02-06.md");
            std::os::unix::fs::symlink(&target, &link).unwrap();
            assert!(matches!(rewrite_report(dir.path(), &link, NEW), Err(ReportError::InvalidPath { .. })));
            assert_eq!(std::fs::read_to_string(&target).unwrap(), "keep");
        }
    }

    #[test]
    fn writes_then_refuses_without_force() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("anthropic/opus/abcdefgh_2026-02-06.md");
        let out = write_report(dir.path(), &path, NEW, false).unwrap();
        assert_eq!(out.replaced, Vec::<PathBuf>::new());
        assert_eq!(std::fs::read_to_string(&path).unwrap(), NEW);
        // Same run, another day: still the same run's report.
        let later = dir.path().join("anthropic/opus/abcdefgh_2026-02-07.md");
        let err = write_report(dir.path(), &later, "other", false).unwrap_err();
        assert!(matches!(&err, ReportError::Exists { path: p } if p == &path), "{err}");
        let message = err.to_string();
        assert!(message.contains("abcdefgh_2026-02-06.md") && !message.contains("--force"), "{message}");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), NEW);
        assert_eq!(files(path.parent().unwrap()), ["abcdefgh_2026-02-06.md"]);
    }

    #[test]
    fn force_replaces_and_keeps_actions_taken() {
        let dir = tempfile::tempdir().unwrap();
        let old_path = dir.path().join("abcdefgh_2026-02-06.md");
        let edited = "# Report v1\n\n## Actions taken\n\n- 2026-02-07: relaxed `prefer-const` (fixes 003-crons)\n\
                      ```\n## not a heading\n```\n\n<!-- evaltriage:v1 {} -->\n";
        std::fs::write(&old_path, edited).unwrap();
        let new_path = dir.path().join("abcdefgh_2026-02-08.md");
        let out = write_report(dir.path(), &new_path, NEW, true).unwrap();
        assert!(out.kept_actions_taken);
        assert_eq!(out.replaced, vec![old_path]);
        let written = std::fs::read_to_string(&new_path).unwrap();
        assert_eq!(
            written,
            "# Report v2\n\n## Net impact\n\nx\n\n## Actions taken\n\n- 2026-02-07: relaxed `prefer-const` (fixes 003-crons)\n\
             ```\n## not a heading\n```\n\n<!-- evaltriage:v1 {} -->\n"
        );
        assert_eq!(files(dir.path()), ["abcdefgh_2026-02-08.md"]);
        // Forcing again carries the same section over again.
        let out = write_report(dir.path(), &new_path, NEW, true).unwrap();
        assert_eq!(out.replaced, vec![new_path]);
        assert!(out.kept_actions_taken);
    }

    #[test]
    fn an_unclosed_fence_in_the_kept_section_is_closed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("abcdefgh_2026-02-06.md");
        std::fs::write(&path, "# v1\n\n## Actions taken\n\n- ran:\n```\nnpm test\n").unwrap();
        write_report(dir.path(), &path, NEW, true).unwrap();
        let written = std::fs::read_to_string(&path).unwrap();
        assert!(
            written.ends_with("## Actions taken\n\n- ran:\n```\nnpm test\n```\n\n<!-- evaltriage:v1 {} -->\n"),
            "{written}"
        );
    }

    #[test]
    fn a_crash_before_the_rename_leaves_the_old_report_and_no_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("abcdefgh_2026-02-06.md");
        std::fs::write(&path, "old report").unwrap();
        let mut saw_temp = None;
        let err = write_report_with(dir.path(), &path, NEW, true, |tmp| {
            saw_temp = Some(std::fs::read_to_string(tmp).unwrap());
            Err(std::io::Error::other("simulated crash"))
        })
        .unwrap_err();
        assert!(matches!(err, ReportError::Io { .. }), "{err}");
        assert_eq!(saw_temp.as_deref(), Some(NEW), "the temp file was complete before the rename");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "old report");
        assert_eq!(files(dir.path()), ["abcdefgh_2026-02-06.md"]);
    }

    #[test]
    fn a_symlink_at_the_report_path_is_an_existing_report_and_never_written_through() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("elsewhere.txt");
        std::fs::write(&target, "not a report").unwrap();
        let path = dir.path().join("jn7ak4x9_2026-11-30.md");
        std::os::unix::fs::symlink(&target, &path).unwrap();
        assert_eq!(existing_report_for(&path).unwrap(), Some(path.clone()));
        assert!(matches!(write_report(dir.path(), &path, "# new\n", false), Err(ReportError::Exists { .. })));
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "not a report", "nothing written through the link");
        // A dangling link too.
        let dangling = dir.path().join("jn7bbbbb_2026-11-30.md");
        std::os::unix::fs::symlink(dir.path().join("nowhere"), &dangling).unwrap();
        assert!(matches!(write_report(dir.path(), &dangling, "# new\n", false), Err(ReportError::Exists { .. })));
        assert!(!dir.path().join("nowhere").exists());
        // With force, the link itself is replaced by the report; its target is untouched.
        write_report(dir.path(), &path, "# new\n", true).unwrap();
        assert!(!std::fs::symlink_metadata(&path).unwrap().file_type().is_symlink());
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "# new\n");
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "not a report");
    }

    #[test]
    fn a_failing_rename_leaves_no_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        // A folder where the report should go makes the rename fail.
        let path = dir.path().join("abcdefgh_2026-02-06.md");
        std::fs::create_dir(&path).unwrap();
        std::fs::write(path.join("keep"), "x").unwrap();
        let err = write_report(dir.path(), &path, NEW, false).unwrap_err();
        assert!(matches!(err, ReportError::Io { .. }), "{err}");
        assert_eq!(files(dir.path()), ["abcdefgh_2026-02-06.md"]);
        assert!(path.is_dir());
    }

    #[test]
    fn a_scoped_report_never_collides_with_the_full_one() {
        let dir = tempfile::tempdir().unwrap();
        let full = dir.path().join("abcdefgh_2026-02-06.md");
        let category = dir.path().join("abcdefgh_2026-02-07.000-fundamentals.md");
        let eval = dir.path().join("abcdefgh_2026-02-07.000-fundamentals.003-crons.md");
        write_report(dir.path(), &full, "full", false).unwrap();
        assert_eq!(existing_report_for(&category).unwrap(), None);
        write_report(dir.path(), &category, "category", false).unwrap();
        assert_eq!(existing_report_for(&eval).unwrap(), None);
        write_report(dir.path(), &eval, "eval", false).unwrap();
        // The same scope again (another day) is refused, and `force` replaces only that file.
        let eval_later = dir.path().join("abcdefgh_2026-02-08.000-fundamentals.003-crons.md");
        assert_eq!(existing_report_for(&eval_later).unwrap(), Some(eval.clone()));
        assert!(
            matches!(write_report(dir.path(), &eval_later, "x", false), Err(ReportError::Exists { path }) if path == eval)
        );
        let out = write_report(dir.path(), &eval_later, NEW, true).unwrap();
        assert_eq!(out.replaced, vec![eval]);
        assert_eq!(
            files(dir.path()),
            [
                "abcdefgh_2026-02-06.md",
                "abcdefgh_2026-02-07.000-fundamentals.md",
                "abcdefgh_2026-02-08.000-fundamentals.003-crons.md"
            ]
        );
        assert_eq!(std::fs::read_to_string(&full).unwrap(), "full");
        assert_eq!(std::fs::read_to_string(&category).unwrap(), "category");
        // And the full report is refused by the full report only.
        let full_later = dir.path().join("abcdefgh_2026-02-09.md");
        assert_eq!(existing_report_for(&full_later).unwrap(), Some(full));
    }

    #[test]
    fn bad_paths_are_typed_errors() {
        let dir = tempfile::tempdir().unwrap();
        let err = write_report(dir.path(), &dir.path().join("notes.md"), NEW, false).unwrap_err();
        assert!(matches!(err, ReportError::InvalidPath { .. }), "{err}");
    }

    #[cfg(unix)]
    #[test]
    fn writes_never_follow_a_folder_link_out_of_the_reports_folder() {
        use std::os::unix::fs::symlink;
        let dir = tempfile::tempdir().unwrap();
        let reports = dir.path().join("reports");
        let elsewhere = dir.path().join("elsewhere");
        std::fs::create_dir_all(&reports).unwrap();
        std::fs::create_dir_all(&elsewhere).unwrap();
        // `reports/openai` linked elsewhere: the report would land there.
        symlink(&elsewhere, reports.join("openai")).unwrap();
        let path = reports.join("openai/gpt-5/abcdefgh_2026-02-06.md");
        let err = write_report(&reports, &path, NEW, false).unwrap_err();
        assert!(matches!(&err, ReportError::InvalidPath { path: p, .. } if p == &reports.join("openai")), "{err}");
        assert!(err.to_string().contains("outside the reports folder"), "{err}");
        // The nightly's digest and state, and a review's rewrite, the same way.
        symlink(&elsewhere, reports.join("nightly")).unwrap();
        let digest = reports.join("nightly/2026-02-06.md");
        assert!(matches!(write_file_atomically(&reports, &digest, b"x"), Err(ReportError::InvalidPath { .. })));
        std::fs::write(elsewhere.join("abcdefgh_2026-02-06.md"), "theirs").unwrap();
        let linked = reports.join("openai/abcdefgh_2026-02-06.md");
        assert!(matches!(rewrite_report(&reports, &linked, NEW), Err(ReportError::InvalidPath { .. })));
        assert_eq!(std::fs::read_to_string(elsewhere.join("abcdefgh_2026-02-06.md")).unwrap(), "theirs");
        assert_eq!(files(&elsewhere), ["abcdefgh_2026-02-06.md"], "nothing else written outside");
        // A path spelled with `..` out of the folder is refused too.
        let dotted = reports.join("x/../../elsewhere2/abcdefgh_2026-02-06.md");
        assert!(write_report(&reports, &dotted, NEW, false).is_err());
        assert!(!dir.path().join("elsewhere2").exists());
        // A link to a folder inside the reports folder is fine.
        std::fs::create_dir_all(reports.join("archive")).unwrap();
        symlink(reports.join("archive"), reports.join("anthropic")).unwrap();
        write_report(&reports, &reports.join("anthropic/m/abcdefgh_2026-02-06.md"), NEW, false).unwrap();
        assert!(reports.join("archive/m/abcdefgh_2026-02-06.md").is_file());
    }

    #[test]
    fn a_huge_file_in_the_reports_place_is_replaced_without_being_read_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("anthropic/opus/abcdefgh_2026-02-06.md");
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        // A sparse file far past any report's size: reading it whole would take gigabytes.
        std::fs::File::create(&path).unwrap().set_len(3 << 30).unwrap();
        let out = write_report(dir.path(), &path, "# new\n", true).unwrap();
        assert!(!out.kept_actions_taken);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "# new\n");
    }
}
