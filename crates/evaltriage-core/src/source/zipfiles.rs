//! Unzipping a blob into a [`FileSet`]: text by the benchmark's extension rule and then by
//! content (a NUL byte in the first 8 KiB makes a file binary, whatever its name), `node_modules`
//! dropped, unsafe paths refused, and hard limits against zip bombs. An unpacked blob folder on
//! disk is read with the same rules, regular files only.

use std::io::Read;
use std::path::Path;

use crate::evidence::{FileContent, FileSet, is_text_path};

/// Limits on what one zip (or unpacked blob folder) may expand to.
#[derive(Debug, Clone, Copy)]
pub struct ZipLimits {
    /// Most bytes of one text file kept. A longer text file keeps its first and last halves of
    /// this, with `[... N lines cut ...]` between: a long `run.log` stays text, its head and its
    /// closing summary kept.
    pub max_text_file: u64,
    /// Most bytes read (decompressed) from all entries together.
    pub max_total: u64,
    /// Most entries read.
    pub max_entries: usize,
}

impl Default for ZipLimits {
    fn default() -> Self {
        Self { max_text_file: 4 << 20, max_total: 256 << 20, max_entries: 20_000 }
    }
}

/// How far into a file a NUL byte makes it binary (git's and ripgrep's rule).
const BINARY_SNIFF: usize = 8 << 10;

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

/// The mark appended to a text file whose reading stopped because the blob's read budget ran out.
const BUDGET_SPENT: &str = "[... not read further: this blob's read budget is spent ...]\n";

/// Reads a file whose name says text, keeping at most `max_text_file` bytes (head and tail) and
/// reading at most `budget` bytes. Returns the content and the bytes read.
fn read_text(
    reader: &mut dyn Read,
    declared_len: u64,
    limits: &ZipLimits,
    budget: u64,
) -> std::io::Result<(FileContent, u64)> {
    let (content, read, spent) = read_text_within(reader, declared_len, limits, budget)?;
    let content = match content {
        FileContent::Text(mut text) if spent => {
            if !text.is_empty() && !text.ends_with('\n') {
                text.push('\n');
            }
            text.push_str(BUDGET_SPENT);
            FileContent::Text(text)
        }
        other => other,
    };
    Ok((content, read))
}

/// [`read_text`], and whether the budget ran out before the end of the file.
fn read_text_within(
    reader: &mut dyn Read,
    declared_len: u64,
    limits: &ZipLimits,
    budget: u64,
) -> std::io::Result<(FileContent, u64, bool)> {
    let half = usize::try_from(limits.max_text_file / 2).unwrap_or(usize::MAX).max(1);
    let mut limited = reader.take(budget);
    let mut head = Vec::new();
    (&mut limited).take(limits.max_text_file.saturating_add(1)).read_to_end(&mut head)?;
    let mut read = head.len() as u64;
    if head[..head.len().min(BINARY_SNIFF)].contains(&0) {
        // Binary by content: only its length matters, and the rest is not read.
        return Ok((FileContent::Binary { len: declared_len.max(read) }, read, false));
    }
    if (head.len() as u64) <= limits.max_text_file {
        let spent = limited.limit() == 0 && read < declared_len;
        let content = match String::from_utf8(head) {
            Ok(text) => FileContent::Text(text),
            // Cut by the budget inside a character: still text, up to the last whole one.
            Err(e) if spent && e.utf8_error().error_len().is_none() => {
                let mut bytes = e.into_bytes();
                bytes.truncate(utf8_prefix_len(&bytes));
                String::from_utf8(bytes).map_or(FileContent::Binary { len: declared_len }, FileContent::Text)
            }
            Err(_) => FileContent::Binary { len: declared_len.max(read) },
        };
        return Ok((content, read, spent));
    }
    // Longer than the limit: keep the first half and a rolling last half.
    let mut tail = head.split_off(half.min(head.len()));
    let mut cut_lines = 0u64;
    let mut chunk = vec![0u8; 64 << 10];
    loop {
        let n = limited.read(&mut chunk)?;
        if n == 0 {
            break;
        }
        read += n as u64;
        tail.extend_from_slice(&chunk[..n]);
        if tail.len() > 2 * half {
            let drop = tail.len() - half;
            cut_lines += tail[..drop].iter().filter(|&&b| b == b'\n').count() as u64;
            tail.drain(..drop);
        }
    }
    let spent = limited.limit() == 0 && read < declared_len;
    if tail.len() > half {
        let drop = tail.len() - half;
        cut_lines += tail[..drop].iter().filter(|&&b| b == b'\n').count() as u64;
        tail.drain(..drop);
    }
    // The cuts may fall inside a character: end the head and start the tail on whole ones.
    let head_len = utf8_prefix_len(&head);
    head.truncate(head_len);
    let skip = tail.iter().take(3).take_while(|&&b| b & 0xC0 == 0x80).count();
    tail.drain(..skip);
    let (Ok(head), Ok(tail)) = (String::from_utf8(head), String::from_utf8(tail)) else {
        return Ok((FileContent::Binary { len: declared_len.max(read) }, read, false));
    };
    let mut text = head;
    if !text.ends_with('\n') {
        text.push('\n');
    }
    text.push_str(&format!("[... {cut_lines} lines cut ...]\n"));
    text.push_str(&tail);
    Ok((FileContent::Text(text), read, spent))
}

/// The length of `bytes` without a character cut off at its end.
fn utf8_prefix_len(bytes: &[u8]) -> usize {
    match std::str::from_utf8(bytes) {
        Ok(_) => bytes.len(),
        Err(e) if e.error_len().is_none() => e.valid_up_to(),
        Err(_) => bytes.len(),
    }
}

/// What a file is, by the extension rule and then by content.
fn file_content(
    path: &str,
    declared_len: u64,
    reader: &mut dyn Read,
    limits: &ZipLimits,
    total: &mut u64,
) -> std::io::Result<FileContent> {
    let budget = limits.max_total.saturating_sub(*total);
    if !is_text_path(path) || budget == 0 {
        return Ok(FileContent::Binary { len: declared_len });
    }
    let (content, read) = read_text(reader, declared_len, limits, budget)?;
    *total += read;
    Ok(content)
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
        let content = file_content(&path, size, &mut entry, &limits, &mut total).map_err(|e| format!("{path}: {e}"))?;
        files.insert(path, content);
    }
    Ok(files)
}

/// Reads an unpacked blob directory (a hand-made store) into a [`FileSet`] with the same rules.
/// Only regular files are read; links are not followed; anything else (a device, a named pipe, a
/// socket, a file that cannot be opened) is left out and named in the second value, with why.
pub(crate) fn read_dir_files(root: &Path, limits: ZipLimits) -> Result<(FileSet, Vec<(String, String)>), String> {
    let mut files = FileSet::new();
    let mut refused = Vec::new();
    let mut total = 0u64;
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let entries = std::fs::read_dir(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        for entry in entries {
            let entry = entry.map_err(|e| format!("{}: {e}", dir.display()))?;
            let path = entry.path();
            let rel = path.strip_prefix(root).unwrap_or(&path).to_string_lossy().replace('\\', "/");
            let file_type = entry.file_type().map_err(|e| format!("{}: {e}", path.display()))?;
            if rel.split('/').any(|p| p == "node_modules") {
                continue;
            }
            if file_type.is_symlink() {
                refused.push((rel, "a link; links in a store are not followed".to_owned()));
                continue;
            }
            if file_type.is_dir() {
                stack.push(path);
                continue;
            }
            if files.len() >= limits.max_entries {
                continue;
            }
            // The type is checked again on the opened handle; a named pipe never blocks.
            let file = match crate::fsread::open_regular(&path) {
                Ok(file) => file,
                Err(e) => {
                    refused.push((rel, reason_of(&e)));
                    continue;
                }
            };
            let len = file.metadata().map(|m| m.len()).unwrap_or(0);
            let mut reader = std::io::BufReader::new(file);
            match file_content(&rel, len, &mut reader, &limits, &mut total) {
                Ok(content) => {
                    files.insert(rel, content);
                }
                Err(e) => refused.push((rel, e.to_string())),
            }
        }
    }
    refused.sort();
    Ok((files, refused))
}

/// A read error without its path (the caller names the file).
fn reason_of(e: &crate::fsread::ReadError) -> String {
    let full = e.to_string();
    let prefix = format!("{}: ", e.path.display());
    full.strip_prefix(&prefix).map_or_else(|| full.clone(), str::to_owned)
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
        let Some(FileContent::Text(text)) = files.get("big.ts") else { panic!("{files:?}") };
        assert_eq!(text, "aaaaa\n[... 0 lines cut ...]\naaaaa");
    }

    #[test]
    fn a_long_log_stays_text_with_its_head_and_its_end() {
        let mut log = String::new();
        for i in 0..200_000 {
            log.push_str(&format!("line {i} of the test output\n"));
        }
        log.push_str("Tests  3 failed | 7 passed (10)\n");
        assert!(log.len() > 4 << 20);
        let files = unzip_files(&make_zip(&[("run.log", log.as_bytes())]), ZipLimits::default()).unwrap();
        let Some(FileContent::Text(text)) = files.get("run.log") else { panic!("run.log is not text") };
        assert!(text.starts_with("line 0 of the test output\n"), "{}", &text[..100]);
        assert!(text.ends_with("Tests  3 failed | 7 passed (10)\n"));
        assert!(text.contains(" lines cut ...]\n"));
        assert!(text.len() as u64 <= (4 << 20) + 100);
    }

    #[test]
    fn text_by_name_with_a_nul_near_the_start_is_binary() {
        let mut data = b"SQLite format 3".to_vec();
        data.push(0);
        data.extend_from_slice(&[b'x'; 100]);
        let mut late = vec![b'a'; 9000];
        late.push(0);
        let files = unzip_files(&make_zip(&[("db.json", &data), ("late.txt", &late)]), ZipLimits::default()).unwrap();
        assert_eq!(files.get("db.json"), Some(&FileContent::Binary { len: 116 }));
        assert!(matches!(files.get("late.txt"), Some(FileContent::Text(_))), "a NUL past 8 KiB is not sniffed");
    }

    #[test]
    fn a_zip_bomb_reads_at_most_the_total_budget() {
        let big = vec![b'a'; 1 << 20];
        let bytes = make_zip(&[("a.txt", &big), ("b.txt", &big), ("c.txt", &big)]);
        let limits = ZipLimits { max_text_file: 4 << 20, max_total: (1 << 20) + 10, max_entries: 10 };
        let files = unzip_files(&bytes, limits).unwrap();
        let text_bytes: usize = files.values().filter_map(FileContent::as_text).map(str::len).sum();
        assert!(text_bytes as u64 <= limits.max_total + 100, "{text_bytes}");
        assert_eq!(files.len(), 3, "every file is still named");
        let cut = files.values().filter_map(FileContent::as_text).find(|t| t.len() < 1 << 20).expect("a cut file");
        assert!(cut.ends_with(BUDGET_SPENT), "a file cut by the budget says so");
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn an_unpacked_blob_reads_regular_files_only() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("TASK.txt"), "the task").unwrap();
        assert!(std::process::Command::new("mkfifo").arg(dir.path().join("run.log")).status().unwrap().success());
        std::os::unix::fs::symlink("/dev/zero", dir.path().join("zero.txt")).unwrap();
        let (files, refused) = read_dir_files(dir.path(), ZipLimits::default()).unwrap();
        assert_eq!(files.keys().collect::<Vec<_>>(), ["TASK.txt"]);
        assert_eq!(refused.len(), 2, "{refused:?}");
        assert_eq!(refused[0].0, "run.log");
        assert!(refused[0].1.contains("not a regular file (a named pipe)"), "{refused:?}");
        assert_eq!(refused[1].0, "zero.txt");
    }
}
