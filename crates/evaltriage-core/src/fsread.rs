//! Reading a file the user or a store named, safely: only a regular file, only under a size
//! limit, and (when asked) only inside a given folder.
//!
//! Every file evaltriage reads from a folder it does not own — run documents and blobs of a
//! store, files of an unpacked blob, prior reports — goes through [`read_regular`] or
//! [`read_regular_under`]. The file type is checked on the *opened* handle (so a path swapped for
//! a device between a check and the open is still caught), the open never blocks on a named pipe,
//! and the bytes are read through `take(limit + 1)`, so a file whose metadata lies (a device, a
//! file still growing) never costs more than `limit` bytes of memory.

use std::fmt;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

/// Why a file could not be read.
#[derive(Debug)]
pub enum ReadErrorKind {
    /// Nothing at that path.
    NotFound,
    /// Something other than a regular file: a folder, a device, a named pipe, a socket.
    NotRegular(&'static str),
    /// More bytes than the limit allows.
    TooLarge { limit: u64 },
    /// The path (through a link) leads out of the folder it must stay in.
    OutsideRoot { root: PathBuf },
    /// The operating system refused (permissions, a disk error).
    Io(std::io::Error),
}

/// A file that could not be read, with its path.
#[derive(Debug)]
pub struct ReadError {
    pub path: PathBuf,
    pub kind: ReadErrorKind,
}

impl ReadError {
    fn new(path: &Path, kind: ReadErrorKind) -> Self {
        Self { path: path.to_path_buf(), kind }
    }

    /// Whether nothing exists at the path (callers often treat that as "absent", not an error).
    pub fn is_not_found(&self) -> bool {
        matches!(self.kind, ReadErrorKind::NotFound)
    }

    /// Whether the file itself is unusable as given (wrong type, too large, outside its folder,
    /// missing) rather than the system failing to read it: the fault of whoever named or made it.
    pub fn is_unusable_input(&self) -> bool {
        !matches!(self.kind, ReadErrorKind::Io(_))
    }
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path.display(), self.kind)
    }
}

/// Why, without the path (for callers that name the file themselves).
impl fmt::Display for ReadErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotFound => write!(f, "no such file"),
            Self::NotRegular(what) => write!(f, "not a regular file ({what}); refusing to read it"),
            Self::TooLarge { limit } => write!(f, "larger than the {} limit; refusing to read it", human_bytes(*limit)),
            Self::OutsideRoot { root } => {
                write!(f, "leads outside {} through a link; refusing to follow it", root.display())
            }
            Self::Io(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for ReadError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.kind {
            ReadErrorKind::Io(e) => Some(e),
            _ => None,
        }
    }
}

/// `1.5 GiB`, `256 MiB`, `12 KiB`, `10 bytes`.
pub fn human_bytes(n: u64) -> String {
    const UNITS: [(&str, u64); 3] = [("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)];
    for (unit, size) in UNITS {
        if n >= size {
            let whole = n / size;
            let tenth = (n % size) * 10 / size;
            return if tenth == 0 { format!("{whole} {unit}") } else { format!("{whole}.{tenth} {unit}") };
        }
    }
    format!("{n} bytes")
}

/// What a file type is, for messages.
fn type_name(file_type: std::fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if file_type.is_fifo() {
            return "a named pipe";
        }
        if file_type.is_socket() {
            return "a socket";
        }
        if file_type.is_char_device() {
            return "a character device";
        }
        if file_type.is_block_device() {
            return "a block device";
        }
    }
    if file_type.is_dir() {
        "a folder"
    } else if file_type.is_symlink() {
        "a link"
    } else {
        "not a regular file"
    }
}

/// Opens a file for reading without blocking on a named pipe (whose open waits for a writer).
fn open_nonblocking(path: &Path) -> std::io::Result<File> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::fs::OpenOptionsExt;
        // O_NONBLOCK: opening a FIFO returns at once; for a regular file it changes nothing.
        const O_NONBLOCK: i32 = 0o4000;
        options.custom_flags(O_NONBLOCK);
    }
    options.open(path)
}

/// Opens `path` and checks, on the opened handle, that it is a regular file.
pub fn open_regular(path: &Path) -> Result<File, ReadError> {
    // Refuse a FIFO or device before opening where possible (other systems have no O_NONBLOCK
    // here); the check on the handle below is the one that counts.
    match std::fs::metadata(path) {
        Ok(meta) if !meta.is_file() => {
            return Err(ReadError::new(path, ReadErrorKind::NotRegular(type_name(meta.file_type()))));
        }
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(ReadError::new(path, ReadErrorKind::NotFound));
        }
        Err(e) => return Err(ReadError::new(path, ReadErrorKind::Io(e))),
    }
    let file = open_nonblocking(path).map_err(|e| {
        let kind =
            if e.kind() == std::io::ErrorKind::NotFound { ReadErrorKind::NotFound } else { ReadErrorKind::Io(e) };
        ReadError::new(path, kind)
    })?;
    let meta = file.metadata().map_err(|e| ReadError::new(path, ReadErrorKind::Io(e)))?;
    if !meta.is_file() {
        return Err(ReadError::new(path, ReadErrorKind::NotRegular(type_name(meta.file_type()))));
    }
    Ok(file)
}

/// Reads a regular file of at most `limit` bytes.
///
/// Refuses (with a [`ReadError`] naming the file and why) a missing file, anything that is not a
/// regular file once opened (folder, device, named pipe, socket — a pipe never hangs the call), and
/// a file with more than `limit` bytes, which is detected by reading, not by trusting its size.
pub fn read_regular(path: &Path, limit: u64) -> Result<Vec<u8>, ReadError> {
    let file = open_regular(path)?;
    let expected = file.metadata().map(|m| m.len()).unwrap_or(0);
    if expected > limit {
        return Err(ReadError::new(path, ReadErrorKind::TooLarge { limit }));
    }
    let mut bytes = Vec::with_capacity(usize::try_from(expected).unwrap_or(0));
    file.take(limit.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|e| ReadError::new(path, ReadErrorKind::Io(e)))?;
    if bytes.len() as u64 > limit {
        return Err(ReadError::new(path, ReadErrorKind::TooLarge { limit }));
    }
    Ok(bytes)
}

/// The first `limit` bytes of a regular file (the same checks as [`read_regular`]), and whether
/// the file has more: for reading a header without reading the whole file.
pub fn read_prefix(path: &Path, limit: u64) -> Result<(Vec<u8>, bool), ReadError> {
    let file = open_regular(path)?;
    let expected = file.metadata().map(|m| m.len()).unwrap_or(0);
    let mut bytes = Vec::with_capacity(usize::try_from(expected.min(limit)).unwrap_or(0));
    file.take(limit.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|e| ReadError::new(path, ReadErrorKind::Io(e)))?;
    let longer = bytes.len() as u64 > limit;
    bytes.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
    Ok((bytes, longer))
}

/// [`read_regular`], and the file must resolve (through any links) to a path inside `root`.
pub fn read_regular_under(root: &Path, path: &Path, limit: u64) -> Result<Vec<u8>, ReadError> {
    let inside = resolve_under(root, path)?;
    read_regular(&inside, limit).map_err(|e| ReadError { path: path.to_path_buf(), kind: e.kind })
}

/// The canonical form of `path`, if it exists and stays inside `root` once every link is followed.
pub fn resolve_under(root: &Path, path: &Path) -> Result<PathBuf, ReadError> {
    let canonical_root = std::fs::canonicalize(root).map_err(|e| {
        let kind =
            if e.kind() == std::io::ErrorKind::NotFound { ReadErrorKind::NotFound } else { ReadErrorKind::Io(e) };
        ReadError::new(root, kind)
    })?;
    let canonical = std::fs::canonicalize(path).map_err(|e| {
        let kind =
            if e.kind() == std::io::ErrorKind::NotFound { ReadErrorKind::NotFound } else { ReadErrorKind::Io(e) };
        ReadError::new(path, kind)
    })?;
    if canonical.starts_with(&canonical_root) {
        Ok(canonical)
    } else {
        Err(ReadError::new(path, ReadErrorKind::OutsideRoot { root: root.to_path_buf() }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_regular_file_within_its_limit() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("a.json");
        std::fs::write(&file, b"0123456789").unwrap();
        assert_eq!(read_regular(&file, 10).unwrap(), b"0123456789");
        let err = read_regular(&file, 9).unwrap_err();
        assert!(matches!(err.kind, ReadErrorKind::TooLarge { limit: 9 }), "{err}");
        assert!(err.to_string().contains("a.json: larger than the 9 bytes limit"), "{err}");
        assert!(read_regular(&dir.path().join("none"), 10).unwrap_err().is_not_found());
        let err = read_regular(dir.path(), 10).unwrap_err();
        assert!(err.to_string().contains("not a regular file (a folder)"), "{err}");
    }

    #[cfg(unix)]
    #[test]
    fn a_device_is_refused_and_never_read() {
        // /dev/zero reports a size of 0 and never ends: only the type check on the handle stops it.
        let err = read_regular(Path::new("/dev/zero"), 1 << 30).unwrap_err();
        assert!(err.to_string().contains("/dev/zero: not a regular file (a character device)"), "{err}");
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_named_pipe_is_refused_without_hanging() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("run.json");
        let status = std::process::Command::new("mkfifo").arg(&fifo).status().unwrap();
        assert!(status.success());
        let err = read_regular(&fifo, 1 << 20).unwrap_err();
        assert!(err.to_string().contains("not a regular file (a named pipe)"), "{err}");
    }

    #[cfg(unix)]
    #[test]
    fn a_link_out_of_the_root_is_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("store");
        std::fs::create_dir(&root).unwrap();
        std::fs::write(dir.path().join("secret.txt"), b"outside").unwrap();
        std::fs::write(root.join("inside.txt"), b"inside").unwrap();
        std::os::unix::fs::symlink(dir.path().join("secret.txt"), root.join("out.txt")).unwrap();
        std::os::unix::fs::symlink(root.join("inside.txt"), root.join("in.txt")).unwrap();
        assert_eq!(read_regular_under(&root, &root.join("in.txt"), 100).unwrap(), b"inside");
        let err = read_regular_under(&root, &root.join("out.txt"), 100).unwrap_err();
        assert!(matches!(err.kind, ReadErrorKind::OutsideRoot { .. }), "{err}");
        assert!(err.to_string().contains("out.txt: leads outside"), "{err}");
    }

    #[test]
    fn sizes_read_as_people_write_them() {
        assert_eq!(human_bytes(256 << 20), "256 MiB");
        assert_eq!(human_bytes(1536 << 20), "1.5 GiB");
        assert_eq!(human_bytes(10), "10 bytes");
    }
}
