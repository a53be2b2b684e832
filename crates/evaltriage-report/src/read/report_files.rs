//! Every report in the reports folder, as `<provider>/<model>/<file>`, and one of them read by that
//! name: the MCP server's report resources. Read-only, and nothing outside the reports folder: the
//! walk (find.rs's, shared with the prior-report search) follows no link out and skips hidden entries, a name is three plain components (no separator,
//! no `..`, nothing hidden) whose file is named like a report, and the read goes through core's
//! `fsread` (regular files only, resolved inside the reports folder, through a size limit).

use std::path::{Path, PathBuf};

use evaltriage_core::fsread::read_regular_under;

use crate::error::ReportError;
use crate::path_scheme::{ReportFileName, parse_report_file_name};
use crate::read::prior::{MAX_REPORT_BYTES, PriorWarning};

/// A report file where we write reports: `<reports_dir>/<provider>/<model>/<file>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportFile {
    pub provider: String,
    pub model: String,
    pub file_name: String,
    /// What the file name says: run id prefix, date, scope.
    pub name: ReportFileName,
    pub path: PathBuf,
    /// Its size in bytes.
    pub size: u64,
}

impl ReportFile {
    /// `<provider>/<model>/<file>`, the name [`read_report_file`] takes.
    pub fn relative(&self) -> String {
        format!("{}/{}/{}", self.provider, self.model, self.file_name)
    }
}

/// The reports two folders below the reports folder, by provider and model, newest first within a
/// model (by the date in the file name, then the file name). Links are not followed; files not named
/// like reports are left out; a folder that cannot be listed is a warning. A missing reports folder
/// is no reports.
pub fn list_report_files(reports_dir: &Path) -> (Vec<ReportFile>, Vec<PriorWarning>) {
    let mut files = Vec::new();
    let mut warnings = Vec::new();
    // The one safe walk of the reports tree (no link out, hidden entries skipped, bounded).
    crate::read::find::walk_markdown(reports_dir, &mut warnings, |path, folders, file_name| {
        let [provider, model] = folders else { return };
        let Some(name) = parse_report_file_name(&file_name) else { return };
        let size = std::fs::metadata(path).map(|m| m.len()).unwrap_or_default();
        files.push(ReportFile {
            provider: provider.clone(),
            model: model.clone(),
            file_name,
            name,
            path: path.to_owned(),
            size,
        });
    });
    files.sort_by(|a, b| {
        (&a.provider, &a.model)
            .cmp(&(&b.provider, &b.model))
            .then_with(|| b.name.date.cmp(&a.name.date))
            .then_with(|| b.file_name.cmp(&a.file_name))
    });
    (files, warnings)
}

/// Reads the report `<provider>/<model>/<file>` of the reports folder, as text. A name that is not
/// three plain components naming a report file is [`ReportError::InvalidPath`]; a file that is
/// missing, not regular, too large or reached through a link that leads out of the reports folder
/// is [`ReportError::Unreadable`].
pub fn read_report_file(reports_dir: &Path, relative: &str) -> Result<String, ReportError> {
    let invalid = |reason| ReportError::InvalidPath { path: PathBuf::from(relative), reason };
    let parts: Vec<&str> = relative.split('/').collect();
    let [provider, model, file_name] = parts.as_slice() else {
        return Err(invalid("expected <provider>/<model>/<file>"));
    };
    for part in [provider, model, file_name] {
        if part.is_empty() || part.starts_with('.') || part.contains(['\\', '\0']) {
            return Err(invalid("a component is empty, hidden or holds a separator"));
        }
    }
    if parse_report_file_name(file_name).is_none() {
        return Err(invalid("not a report file name (PREFIX_YYYY-MM-DD.md)"));
    }
    let path = reports_dir.join(provider).join(model).join(file_name);
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
    fn lists_reports_two_folders_down_newest_first() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        write(root, "openai/gpt-5/abc_2026-11-01.md", "old");
        write(root, "openai/gpt-5/abc_2026-11-02.md", "new");
        write(root, "openai/gpt-5/notes.md", "not a report");
        write(root, "openai/gpt-5/.abc_2026-11-03.md.tmp", "temp");
        write(root, ".cache/x/abc_2026-11-03.md", "hidden");
        write(root, "nightly/2026-11-02.md", "a digest, one folder down");
        write(root, "a/b/c/abc_2026-11-03.md", "too deep");
        let (files, warnings) = list_report_files(root);
        assert!(warnings.is_empty(), "{warnings:?}");
        let names: Vec<String> = files.iter().map(ReportFile::relative).collect();
        assert_eq!(names, ["openai/gpt-5/abc_2026-11-02.md", "openai/gpt-5/abc_2026-11-01.md"]);
        assert_eq!(files[0].size, 3);
        assert_eq!(read_report_file(root, "openai/gpt-5/abc_2026-11-01.md").unwrap(), "old");
        assert!(list_report_files(&root.join("missing")).0.is_empty());
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
