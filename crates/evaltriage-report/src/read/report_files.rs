//! Every report in the reports folder by its path below it (`<provider>/<model>/<file>` where we
//! write), and one of them read by that name: the MCP server's report resources. The reports are
//! the catalog's, by the same rule (`find::walk_reports`). Read-only, and nothing outside the
//! reports folder: the walk follows no link out and skips hidden entries, a name is plain
//! components (no separator, no `..`, nothing hidden) ending in a report file name, and the read
//! goes through core's `fsread` (regular files only, resolved inside the reports folder, through a
//! size limit).

use std::path::{Path, PathBuf};

use evaltriage_core::fsread::read_regular_under;

use crate::error::ReportError;
use crate::path_scheme::{ReportFileName, parse_report_file_name};
use crate::read::find::walk_reports;
use crate::read::prior_report::{MAX_REPORT_BYTES, PriorWarning};

/// A report file of the reports folder, such as `<reports_dir>/<provider>/<model>/<file>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportFile {
    /// Its folders below the reports folder (`[provider, model]` where we write).
    pub folders: Vec<String>,
    pub file_name: String,
    /// What the file name says: run id prefix, date, scope.
    pub name: ReportFileName,
    pub path: PathBuf,
    /// Its size in bytes.
    pub size: u64,
}

impl ReportFile {
    /// Its path below the reports folder, `/`-separated: the name [`read_report_file`] takes.
    pub fn relative(&self) -> String {
        self.folders.iter().chain([&self.file_name]).map(String::as_str).collect::<Vec<_>>().join("/")
    }
}

/// Every report below the reports folder (the catalog's rule: named like a report, at any depth the
/// walk reaches), by folder, newest first within a folder (by the date in the file name, then the
/// file name). Links are not followed out; a folder that cannot be listed is a warning. A missing
/// reports folder is no reports.
pub fn list_report_files(reports_dir: &Path) -> (Vec<ReportFile>, Vec<PriorWarning>) {
    let mut files = Vec::new();
    let mut warnings = Vec::new();
    walk_reports(reports_dir, &mut warnings, |path, folders, file_name, name| {
        let size = std::fs::metadata(path).map(|m| m.len()).unwrap_or_default();
        files.push(ReportFile { folders: folders.to_vec(), file_name, name, path: path.to_owned(), size });
    });
    files.sort_by(|a, b| {
        a.folders
            .cmp(&b.folders)
            .then_with(|| b.name.date.cmp(&a.name.date))
            .then_with(|| b.file_name.cmp(&a.file_name))
    });
    (files, warnings)
}

/// Reads the report at `relative` (`/`-separated, as [`ReportFile::relative`] gives it, such as
/// `<provider>/<model>/<file>`) of the reports folder, as text. A name that is not plain components
/// ending in a report file name is [`ReportError::InvalidPath`]; a file that is missing, not
/// regular, too large or reached through a link that leads out of the reports folder is
/// [`ReportError::Unreadable`].
pub fn read_report_file(reports_dir: &Path, relative: &str) -> Result<String, ReportError> {
    let invalid = |reason| ReportError::InvalidPath { path: PathBuf::from(relative), reason };
    let parts: Vec<&str> = relative.split('/').collect();
    let Some(file_name) = parts.last() else { return Err(invalid("expected <provider>/<model>/<file>")) };
    for part in &parts {
        if part.is_empty() || part.starts_with('.') || part.contains(['\\', '\0']) {
            return Err(invalid("a component is empty, hidden or holds a separator"));
        }
    }
    if parse_report_file_name(file_name).is_none() {
        return Err(invalid("not a report file name (PREFIX_YYYY-MM-DD.md)"));
    }
    let path = parts.iter().fold(reports_dir.to_path_buf(), |p, part| p.join(part));
    let bytes = read_regular_under(reports_dir, &path, MAX_REPORT_BYTES).map_err(|e| ReportError::Unreadable {
        path: path.clone(),
        reason: e.kind.to_string(),
        not_found: e.is_not_found(),
    })?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(root: &Path, relative: &str, text: &str) {
        let path = root.join(relative);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    #[test]
    fn lists_reports_at_any_depth_newest_first_within_a_folder() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        write(root, "openai/gpt-5/abc_2026-11-01.md", "old");
        write(root, "openai/gpt-5/abc_2026-11-02.md", "new");
        write(root, "openai/gpt-5/notes.md", "not a report");
        write(root, "openai/gpt-5/.abc_2026-11-03.md.tmp", "temp");
        write(root, ".cache/x/abc_2026-11-03.md", "hidden");
        write(root, "nightly/2026-11-02.md", "a digest, one folder down");
        write(root, "a/b/c/abc_2026-11-03.md", "deeper");
        write(root, "abc_2026-11-04.md", "at the top");
        let (files, warnings) = list_report_files(root);
        assert!(warnings.is_empty(), "{warnings:?}");
        let names: Vec<String> = files.iter().map(ReportFile::relative).collect();
        assert_eq!(
            names,
            [
                "abc_2026-11-04.md",
                "a/b/c/abc_2026-11-03.md",
                "openai/gpt-5/abc_2026-11-02.md",
                "openai/gpt-5/abc_2026-11-01.md"
            ]
        );
        assert_eq!(files[2].size, 3);
        assert_eq!(read_report_file(root, "a/b/c/abc_2026-11-03.md").unwrap(), "deeper");
        assert_eq!(read_report_file(root, "abc_2026-11-04.md").unwrap(), "at the top");
        assert_eq!(read_report_file(root, "openai/gpt-5/abc_2026-11-01.md").unwrap(), "old");
        assert!(list_report_files(&root.join("missing")).0.is_empty());
    }

    #[test]
    fn the_report_files_are_the_catalogs_reports() {
        // A report filed under the endpoint provider's folder, three folders down: `reports list`
        // (the catalog) showed it, the MCP resources (two folders down only) did not.
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let report = "# Triage\n\n- **Model**: arcee-ai/trinity-large-preview\n- **Pass rate**: 40/50\n";
        write(root, "openrouter/arcee-ai/trinity-large-preview/jn72t14a_2026-11-05.md", report);
        write(root, "anthropic/claude-opus-4-6/jn72t14b_2026-11-06.md", report);
        let (catalog, warnings) = crate::read::catalog::all_reports(root);
        assert!(warnings.is_empty(), "{warnings:?}");
        let mut seen_by_catalog: Vec<String> = catalog.iter().map(|r| r.relative.clone()).collect();
        let (files, _) = list_report_files(root);
        let mut seen_as_files: Vec<String> = files.iter().map(ReportFile::relative).collect();
        seen_by_catalog.sort();
        seen_as_files.sort();
        assert_eq!(seen_as_files, seen_by_catalog);
        assert!(seen_as_files.contains(&"openrouter/arcee-ai/trinity-large-preview/jn72t14a_2026-11-05.md".to_owned()));
        assert_eq!(
            read_report_file(root, "openrouter/arcee-ai/trinity-large-preview/jn72t14a_2026-11-05.md").unwrap(),
            report
        );
    }

    #[test]
    fn reads_nothing_outside_the_reports_folder() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("reports");
        write(&root, "openai/gpt-5/abc_2026-11-01.md", "ok");
        write(dir.path(), "secret/abc_2026-11-01.md", "secret");
        for bad in [
            "../secret/abc_2026-11-01.md",
            "openai/../../secret/abc_2026-11-01.md",
            "/etc/passwd",
            "openai/gpt-5/../abc_2026-11-01.md",
            "openai/.hidden/abc_2026-11-01.md",
            "openai/gpt-5/passwd",
            "openai/gpt-5",
        ] {
            assert!(matches!(read_report_file(&root, bad), Err(ReportError::InvalidPath { .. })), "{bad}");
        }
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(dir.path().join("secret"), root.join("openai/leak")).unwrap();
            let err = read_report_file(&root, "openai/leak/abc_2026-11-01.md").unwrap_err();
            assert!(err.to_string().contains("outside"), "{err}");
            let (files, _) = list_report_files(&root);
            assert_eq!(files.len(), 1, "{files:?}");
        }
        let err = read_report_file(&root, "openai/gpt-5/abc_2026-11-09.md").unwrap_err();
        assert!(matches!(err, ReportError::Unreadable { not_found: true, .. }), "{err}");
    }
}
