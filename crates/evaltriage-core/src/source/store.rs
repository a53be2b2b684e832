//! The local store: run documents and blobs on disk, laid out so that reading a run offline gives
//! exactly what reading it from Convex gives.
//!
//! ```text
//! <store>/runs/<runId>.json       the value of runs:getRunDetails, unchanged
//! <store>/blobs/<storageId>.zip   a blob as downloaded
//! <store>/blobs/<storageId>/      or the same blob unpacked (hand-made stores)
//! ```
//!
//! Everything read from a store is a regular file inside it, read under a size limit
//! ([`crate::fsread`]): a device, a named pipe or a link that leads out of the store is refused
//! with a message naming the file, and never read.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::evidence::Evidence;
use crate::fsread::{read_regular, read_regular_under, resolve_under};
use crate::ids::{EvalId, RunId, StorageId};
use crate::model::Run;
use crate::source::limits::{DEFAULT_MAX_BLOB_BYTES, MAX_RUN_DOCUMENT_BYTES};
use crate::source::zipfiles::{ZipLimits, read_dir_files, unzip_files};
use crate::source::{BlobRead, RunFilter, RunHeader, Source, SourceError, assemble_evidence, wire};
use crate::target::RunRef;

/// The largest blob zip read from a store (the same default cap as a download).
pub const MAX_STORE_BLOB_BYTES: u64 = DEFAULT_MAX_BLOB_BYTES;

/// Reads runs from a local store.
#[derive(Debug, Clone)]
pub struct StoreSource {
    root: PathBuf,
    /// A single run document given by path, read instead of `runs/<id>.json`.
    run_file: Option<(RunId, PathBuf)>,
}

pub(crate) fn io(path: &Path) -> impl FnOnce(std::io::Error) -> SourceError + '_ {
    move |source| SourceError::Io { path: path.to_path_buf(), source }
}

impl StoreSource {
    /// Opens a store directory (it must exist; `runs/` and `blobs/` may be missing).
    pub fn open(root: &Path) -> Result<Self, SourceError> {
        if !root.is_dir() {
            return Err(SourceError::Store(format!("{} is not a store directory", root.display())));
        }
        Ok(Self { root: root.to_path_buf(), run_file: None })
    }

    /// Opens a target path: a store directory, or one run document file (whose blobs are looked
    /// up in the store it sits in, when it sits in `<store>/runs/`). Returns the run it names: the
    /// file's run, or the store's only run.
    pub fn open_target(path: &Path) -> Result<(Self, RunRef), SourceError> {
        if path.is_dir() {
            let store = Self::open(path)?;
            let ids = store.run_ids()?;
            return match ids.as_slice() {
                [one] => Ok((store, RunRef::run(one.clone()))),
                [] => Err(SourceError::Store(format!(
                    "{} holds no runs (expected {}/runs/<runId>.json)",
                    path.display(),
                    path.display()
                ))),
                many => Err(SourceError::Store(format!(
                    "{} holds {} runs; name one: --store {} <runId> (runs: {})",
                    path.display(),
                    many.len(),
                    path.display(),
                    many.iter().take(5).map(RunId::as_str).collect::<Vec<_>>().join(", ")
                ))),
            };
        }
        let bytes = read_regular(path, MAX_RUN_DOCUMENT_BYTES)?;
        let (header, _) = wire::header_from_slice(&bytes)
            .map_err(|message| SourceError::BadRunFile { path: path.to_path_buf(), message })?;
        let parent = path.parent().unwrap_or(Path::new("."));
        let root = if parent.file_name().is_some_and(|n| n == "runs") {
            parent.parent().unwrap_or(Path::new("."))
        } else {
            parent
        };
        let store = Self { root: root.to_path_buf(), run_file: Some((header.run_id.clone(), path.to_path_buf())) };
        Ok((store, RunRef::run(header.run_id)))
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub(crate) fn runs_dir(&self) -> PathBuf {
        self.root.join("runs")
    }

    fn run_path(&self, id: &RunId) -> PathBuf {
        match &self.run_file {
            Some((file_id, path)) if file_id == id => path.clone(),
            _ => self.runs_dir().join(format!("{id}.json")),
        }
    }

    /// The ids of the runs in the store, sorted.
    pub fn run_ids(&self) -> Result<Vec<RunId>, SourceError> {
        let dir = self.runs_dir();
        let mut ids = BTreeSet::new();
        if let Some((id, _)) = &self.run_file {
            ids.insert(id.clone());
        }
        match std::fs::read_dir(&dir) {
            Ok(entries) => {
                for entry in entries {
                    let name = entry.map_err(io(&dir))?.file_name();
                    let name = name.to_string_lossy();
                    if let Some(id) = name.strip_suffix(".json").and_then(|s| RunId::new(s).ok()) {
                        ids.insert(id);
                    }
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io(&dir)(e)),
        }
        Ok(ids.into_iter().collect())
    }

    /// The bytes of a run document and where they were read, or `None` when the store does not
    /// have the run. A document of the store must be a regular file inside it; one the user named
    /// by path must be a regular file.
    fn run_bytes(&self, id: &RunId) -> Result<Option<(PathBuf, Vec<u8>)>, SourceError> {
        let path = self.run_path(id);
        let named = matches!(&self.run_file, Some((file_id, _)) if file_id == id);
        let read = if named {
            read_regular(&path, MAX_RUN_DOCUMENT_BYTES)
        } else {
            read_regular_under(&self.root, &path, MAX_RUN_DOCUMENT_BYTES)
        };
        match read {
            Ok(bytes) => Ok(Some((path, bytes))),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// The raw run document, or `None` when the store does not have the run.
    pub fn run_document(&self, id: &RunId) -> Result<Option<Value>, SourceError> {
        let Some((path, bytes)) = self.run_bytes(id)? else { return Ok(None) };
        let value = serde_json::from_slice(&bytes)
            .map_err(|e| SourceError::BadRunFile { path, message: format!("run document: {e}") })?;
        Ok(Some(value))
    }

    /// A blob's files: the unpacked folder `blobs/<id>/`, else the zip `blobs/<id>.zip`. Either
    /// must be inside the store once links are followed.
    fn blob_files(&self, id: &StorageId) -> BlobRead {
        let blobs = self.root.join("blobs");
        let dir = blobs.join(id.as_str());
        if std::fs::symlink_metadata(&dir).is_ok() {
            let inside = resolve_under(&self.root, &dir).map_err(|e| e.to_string())?;
            if inside.is_dir() {
                return read_dir_files(&inside, ZipLimits::default());
            }
        }
        let zip = blobs.join(format!("{id}.zip"));
        match read_regular_under(&self.root, &zip, MAX_STORE_BLOB_BYTES) {
            Ok(bytes) => unzip_files(&bytes, ZipLimits::default())
                .map(|files| (files, Vec::new()))
                .map_err(|e| format!("blob {id}: {e}")),
            Err(e) if e.is_not_found() => Err(format!("blob {id} is not in the store {}", self.root.display())),
            Err(e) => Err(e.to_string()),
        }
    }

    pub(crate) fn has_blob(&self, id: &StorageId) -> bool {
        self.root.join("blobs").join(id.as_str()).is_dir()
            || self.root.join("blobs").join(format!("{id}.zip")).is_file()
    }

    /// Writes a run document, atomically.
    pub fn write_run_document(&self, id: &RunId, value: &Value) -> Result<PathBuf, SourceError> {
        let path = self.runs_dir().join(format!("{id}.json"));
        let mut bytes = serde_json::to_vec_pretty(value).map_err(|e| SourceError::Malformed(e.to_string()))?;
        bytes.push(b'\n');
        write_atomic(&path, &bytes)?;
        Ok(path)
    }

    /// Writes a blob as a zip, atomically.
    pub fn write_blob(&self, id: &StorageId, bytes: &[u8]) -> Result<PathBuf, SourceError> {
        let path = self.root.join("blobs").join(format!("{id}.zip"));
        write_atomic(&path, bytes)?;
        Ok(path)
    }
}

/// Writes a file through a temporary file in the same folder and a rename, so a reader never sees
/// half a file and a failure leaves the old one in place.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), SourceError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(io(dir))?;
    tmp.write_all(bytes).map_err(io(path))?;
    tmp.as_file().sync_all().map_err(io(path))?;
    tmp.persist(path).map_err(|e| io(path)(e.error))?;
    Ok(())
}

impl Source for StoreSource {
    async fn run(&self, run: &RunRef) -> Result<Run, SourceError> {
        let (path, bytes) = self.run_bytes(&run.run_id)?.ok_or_else(|| SourceError::RunNotFound(run.run_id.clone()))?;
        let parsed = wire::run_from_slice(&bytes).map_err(|message| SourceError::BadRunFile { path, message })?;
        drop(bytes);
        let from = format!("store {}", self.root().display());
        super::the_run_asked_for(&run.run_id, parsed, &from, true)
    }

    async fn evidence(&self, run: &Run, eval_id: &EvalId) -> Result<Evidence, SourceError> {
        let eval =
            run.evals.iter().find(|e| &e.id == eval_id).ok_or_else(|| SourceError::NoSuchEval(eval_id.to_string()))?;
        let output = eval.output_storage_id().map(|id| self.blob_files(id));
        let source = eval.eval_source_storage_id.as_ref().map(|id| self.blob_files(id));
        assemble_evidence(run, eval_id, output, source)
    }

    async fn runs(&self, filter: &RunFilter) -> Result<Vec<RunHeader>, SourceError> {
        let mut headers = Vec::new();
        for id in self.run_ids()? {
            let Some((path, bytes)) = self.run_bytes(&id)? else { continue };
            let (header, model_id) =
                wire::header_from_slice(&bytes).map_err(|message| SourceError::BadRunFile { path, message })?;
            if filter.experiment.as_ref().is_some_and(|e| e != &header.experiment) {
                continue;
            }
            if filter.model_id.as_ref().is_some_and(|m| Some(m) != model_id.as_ref() && m != &header.model) {
                continue;
            }
            headers.push(header);
        }
        headers.sort_by(|a, b| b.created_at_ms.total_cmp(&a.created_at_ms));
        if let Some(limit) = filter.limit {
            headers.truncate(limit as usize);
        }
        Ok(headers)
    }
}
