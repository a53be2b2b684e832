//! The static review site (pages from `evaltriage_report::site`): reads the catalog, each
//! report's text and the nightly digests, and writes every page, again only where a report
//! changed.

use std::path::Path;

use evaltriage_report::read_report_text;
use evaltriage_report::site::report_page_path;
use evaltriage_report::site::{NightlyDigest, SiteOptions, SitePage, report_page, site_pages, template_fingerprint};
use serde_json::{Value, json};

use super::catalog;
use crate::error::Error;

/// What a site build wrote.
#[derive(Debug)]
pub struct SiteBuilt {
    pub index: std::path::PathBuf,
    pub out_dir: std::path::PathBuf,
    /// Pages written, and report pages that were already up to date.
    pub pages: usize,
    pub unchanged: usize,
    pub reports: usize,
    pub nightly_digests: usize,
    /// Reports whose page could not be written (unreadable).
    pub skipped: usize,
}

impl SiteBuilt {
    pub fn json(&self) -> Value {
        json!({
            "index": self.index.display().to_string(),
            "pages": self.pages,
            "unchanged": self.unchanged,
            "reports": self.reports,
            "nightly_digests": self.nightly_digests,
            "skipped": self.skipped,
        })
    }
}

/// Builds the site of the reports folder into `out_dir`, showing `runs` runs per model and the
/// findings `across` makes.
pub fn build(
    reports_dir: &Path,
    out_dir: &Path,
    runs: usize,
    across: &evaltriage_report::AcrossOptions,
) -> Result<SiteBuilt, Error> {
    let reports = catalog(reports_dir)?;
    let digests = nightly_digests(reports_dir);
    let pages = site_pages(&reports, &digests, SiteOptions { runs, across: *across });
    let mut written = 0usize;
    for page in &pages {
        write_page(out_dir, page, false)?;
        written += 1;
    }
    // A report's page is rendered again only when the report is newer than it, or when the pages
    // in the folder were rendered by another version of the templates (the stamp file says which).
    let stamp_path = out_dir.join(STAMP_FILE);
    let fingerprint = template_fingerprint();
    let same_templates = std::fs::read_to_string(&stamp_path).is_ok_and(|s| s.trim() == fingerprint);
    // Until every page is written there is no stamp: an interrupted build is redone in full.
    if same_templates {
        std::fs::remove_file(&stamp_path).map_err(|e| site_error(&stamp_path, &e))?;
    }
    // Each report's folder is made once, here, rather than checked for every page.
    let folders: std::collections::BTreeSet<std::path::PathBuf> =
        reports.iter().filter_map(|r| out_dir.join(report_page_path(r)).parent().map(Path::to_path_buf)).collect();
    for folder in &folders {
        std::fs::create_dir_all(folder).map_err(|e| site_error(folder, &e))?;
    }
    // Each report's page is read, rendered and written on its own: a few threads share them.
    #[derive(Clone, Copy)]
    enum Page {
        Written,
        Unchanged,
        Unreadable,
    }
    let pages = evaltriage_core::threads::map_in_threads(&reports, evaltriage_core::threads::default_threads(), |r| {
        let path = reports_dir.join(&r.relative);
        if same_templates && is_fresh(&out_dir.join(report_page_path(r)), &path) {
            return Ok(Page::Unchanged);
        }
        match read_report_text(&path) {
            Ok(text) => write_page(out_dir, &report_page(r, &text), true).map(|()| Page::Written),
            Err(e) => {
                tracing::warn!("{e}; its page was not written");
                Ok(Page::Unreadable)
            }
        }
    });
    let (mut unchanged, mut skipped) = (0usize, 0usize);
    for page in pages {
        match page.unwrap_or_else(|| Err(Error::failed("a thread writing report pages failed")))? {
            Page::Written => written += 1,
            Page::Unchanged => unchanged += 1,
            Page::Unreadable => skipped += 1,
        }
    }
    std::fs::write(&stamp_path, format!("{fingerprint}\n")).map_err(|e| site_error(&stamp_path, &e))?;
    Ok(SiteBuilt {
        index: out_dir.join("index.html"),
        out_dir: out_dir.to_owned(),
        pages: written,
        unchanged,
        reports: reports.len(),
        nightly_digests: digests.len(),
        skipped,
    })
}

/// Which build of the templates wrote the report pages of a site folder.
const STAMP_FILE: &str = ".evaltriage-site";

/// Whether a report's page was written after the report last changed.
fn is_fresh(page: &Path, report: &Path) -> bool {
    let modified = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified());
    matches!((modified(page), modified(report)), (Ok(p), Ok(r)) if p >= r)
}

/// Writes a page, creating its folder unless `folders_made` says it is there already.
fn write_page(out_dir: &Path, page: &SitePage, folders_made: bool) -> Result<(), Error> {
    let path = out_dir.join(&page.path);
    if let Some(parent) = path.parent().filter(|_| !folders_made) {
        std::fs::create_dir_all(parent).map_err(|e| site_error(parent, &e))?;
    }
    // Never write through a link someone left in the output folder.
    if std::fs::symlink_metadata(&path).is_ok_and(|m| m.file_type().is_symlink()) {
        std::fs::remove_file(&path).map_err(|e| site_error(&path, &e))?;
    }
    std::fs::write(&path, &page.html).map_err(|e| site_error(&path, &e))
}

fn site_error(path: &Path, e: &std::io::Error) -> Error {
    let message = format!("cannot write {}: {e}", path.display());
    match e.kind() {
        std::io::ErrorKind::PermissionDenied
        | std::io::ErrorKind::NotADirectory
        | std::io::ErrorKind::IsADirectory
        | std::io::ErrorKind::ReadOnlyFilesystem
        | std::io::ErrorKind::AlreadyExists => Error::bad_input(message),
        _ => Error::failed(message),
    }
}

/// `<reports-dir>/nightly/*.md`, newest first by name (digests are named by date); none when the
/// folder is missing. A digest that resolves outside the reports folder (a link to any file) is
/// skipped, never published.
fn nightly_digests(reports_dir: &Path) -> Vec<NightlyDigest> {
    let Ok(entries) = std::fs::read_dir(reports_dir.join("nightly")) else { return Vec::new() };
    let mut digests: Vec<NightlyDigest> = entries
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let stem = name.strip_suffix(".md")?.to_owned();
            if stem.starts_with('.') {
                return None;
            }
            if !evaltriage_report::inside_reports_dir(reports_dir, &e.path()) {
                tracing::warn!(
                    "{}: a link that leads outside the reports folder; not followed, nightly digest skipped",
                    e.path().display()
                );
                return None;
            }
            match read_report_text(&e.path()) {
                Ok(markdown) => Some(NightlyDigest { name: stem, markdown }),
                Err(err) => {
                    tracing::warn!("{err}; nightly digest skipped");
                    None
                }
            }
        })
        .collect();
    digests.sort_by(|a, b| b.name.cmp(&a.name));
    digests
}
