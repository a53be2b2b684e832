//! Unzipping a blob into a [`FileSet`]: text by the benchmark's extension rule, binaries by size,
//! `node_modules` dropped, unsafe paths refused, and hard limits against zip bombs.

use std::io::Read;

use crate::evidence::{FileContent, FileSet, is_text_path};

/// Limits on what one zip may expand to.
#[derive(Debug, Clone, Copy)]
pub struct ZipLimits {
    /// Largest text file kept as text; larger ones are kept as binary (size only).
    pub max_text_file: u64,
    /// Most bytes read from all entries together.
    pub max_total: u64,
    /// Most entries read.
    pub max_entries: usize,
}

impl Default for ZipLimits {
    fn default() -> Self {
        Self { max_text_file: 4 << 20, max_total: 64 << 20, max_entries: 20_000 }
    }
}

/// Normalises a path inside a zip; `None` for paths that could escape or are not files.
fn clean_path(raw: &str) -> Option<String> {
    let raw = raw.replace('\\', "/");
    let mut parts = Vec::new();
    for part in raw.split('/') {
        match part {
            "" | "." => {}
            ".." => return None,
            p if p.chars().any(char::is_control) => return None,
            p => parts.push(p),
        }
    }
    if parts.is_empty() { None } else { Some(parts.join("/")) }
}

/// Unzips a blob. Returns an error string (kept as data by the caller) for a corrupt zip.
pub fn unzip_files(bytes: &[u8], limits: ZipLimits) -> Result<FileSet, String> {
    let mut archive =
        zip::ZipArchive::new(std::io::Cursor::new(bytes)).map_err(|e| format!("not a readable zip: {e}"))?;
    let mut files = FileSet::new();
    let mut total = 0u64;
    for i in 0..archive.len().min(limits.max_entries) {
        let mut entry = archive.by_index(i).map_err(|e| format!("zip entry {i}: {e}"))?;
        if entry.is_dir() {
            continue;
        }
        let Ok(name) = entry.name() else { continue };
        let Some(path) = clean_path(&name) else { continue };
        if path.split('/').any(|p| p == "node_modules") {
            continue;
        }
        let size = entry.size();
        let content = if is_text_path(&path) && size <= limits.max_text_file && total + size <= limits.max_total {
            let mut buf = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
            entry.by_ref().take(limits.max_text_file + 1).read_to_end(&mut buf).map_err(|e| format!("{path}: {e}"))?;
            total += buf.len() as u64;
            match String::from_utf8(buf) {
                Ok(text) => FileContent::Text(text),
                Err(e) => FileContent::Binary { len: e.into_bytes().len() as u64 },
            }
        } else {
            FileContent::Binary { len: size }
        };
        files.insert(path, content);
    }
    Ok(files)
}

/// Reads an unpacked blob directory (a hand-made store) into a [`FileSet`] with the same rules.
pub(crate) fn read_dir_files(root: &std::path::Path, limits: ZipLimits) -> Result<FileSet, String> {
    let mut files = FileSet::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let entries = std::fs::read_dir(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        for entry in entries {
            let entry = entry.map_err(|e| format!("{}: {e}", dir.display()))?;
            let path = entry.path();
            let file_type = entry.file_type().map_err(|e| format!("{}: {e}", path.display()))?;
            if file_type.is_symlink() {
                continue;
            }
            let rel = path.strip_prefix(root).unwrap_or(&path).to_string_lossy().replace('\\', "/");
            if rel.split('/').any(|p| p == "node_modules") {
                continue;
            }
            if file_type.is_dir() {
                stack.push(path);
                continue;
            }
            let len = entry.metadata().map(|m| m.len()).unwrap_or(0);
            let content = if is_text_path(&rel) && len <= limits.max_text_file {
                match std::fs::read_to_string(&path) {
                    Ok(text) => FileContent::Text(text),
                    Err(_) => FileContent::Binary { len },
                }
            } else {
                FileContent::Binary { len }
            };
            files.insert(rel, content);
        }
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn make_zip(entries: &[(&str, &[u8])]) -> Vec<u8> {
        let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        for (name, data) in entries {
            w.start_file(*name, zip::write::SimpleFileOptions::default()).unwrap();
            w.write_all(data).unwrap();
        }
        w.finish().unwrap().into_inner()
    }

    #[test]
    fn text_binary_node_modules_and_unsafe_paths() {
        let bytes = make_zip(&[
            ("convex/crons.ts", b"export default 1;"),
            ("./run.log", b"FAIL x"),
            ("logo.png", b"\x89PNG...."),
            ("node_modules/x/index.js", b"nope"),
            ("../escape.ts", b"nope"),
            ("bad.ts", b"\xff\xfe"),
        ]);
        let files = unzip_files(&bytes, ZipLimits::default()).unwrap();
        assert_eq!(files.get("convex/crons.ts"), Some(&FileContent::Text("export default 1;".into())));
        assert_eq!(files.get("run.log"), Some(&FileContent::Text("FAIL x".into())));
        assert_eq!(files.get("logo.png"), Some(&FileContent::Binary { len: 8 }));
        assert_eq!(files.get("bad.ts"), Some(&FileContent::Binary { len: 2 }));
        assert_eq!(files.len(), 4);
        assert!(unzip_files(b"not a zip", ZipLimits::default()).is_err());
    }

    #[test]
    fn oversized_text_is_kept_as_binary() {
        let big = vec![b'a'; 100];
        let bytes = make_zip(&[("big.ts", &big)]);
        let files = unzip_files(&bytes, ZipLimits { max_text_file: 10, ..ZipLimits::default() }).unwrap();
        assert_eq!(files.get("big.ts"), Some(&FileContent::Binary { len: 100 }));
    }
}
