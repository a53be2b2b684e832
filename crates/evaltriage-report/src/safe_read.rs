//! Reading a prior report's bytes safely: regular files only, never a FIFO, device or socket, and
//! never more than a limit, whatever the metadata says.
//!
//! NOTE: to be replaced by core's reader (`evaltriage_core::fsread` or similar), being written on
//! another branch; this private copy keeps the report crate safe until the two are unified.

use std::fs::{File, OpenOptions};
use std::io::{self, Read};
use std::path::Path;

/// Why a file was not read.
#[derive(Debug)]
pub(crate) enum ReadProblem {
    /// Not a regular file: a folder, FIFO, device or socket (`what` says which).
    NotRegular { what: &'static str },
    /// Larger than the limit: `size` is the metadata's length, `None` when the file said it was
    /// smaller and then gave more.
    TooLarge { size: Option<u64>, limit: u64 },
    /// The file system refused.
    Io(io::Error),
}

impl std::fmt::Display for ReadProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::NotRegular { what } => write!(f, "{what}, not a regular file; not read"),
            Self::TooLarge { size: Some(size), limit } => {
                write!(f, "{size} bytes, larger than a report can be ({limit}); not read")
            }
            Self::TooLarge { size: None, limit } => {
                write!(f, "more than {limit} bytes, larger than a report can be; not read")
            }
            Self::Io(e) => write!(f, "cannot read: {e}"),
        }
    }
}

/// `O_NONBLOCK`: should a FIFO appear between the type check and the open, opening it for reading
/// returns at once instead of waiting for a writer. It changes nothing for regular files.
#[cfg(target_os = "linux")]
const O_NONBLOCK: i32 = 0o4000;
#[cfg(all(unix, not(target_os = "linux")))]
const O_NONBLOCK: i32 = 0x0004;

fn kind(meta: &std::fs::Metadata) -> &'static str {
    let t = meta.file_type();
    if t.is_dir() {
        return "a folder";
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt as _;
        if t.is_fifo() {
            return "a named pipe";
        }
        if t.is_char_device() || t.is_block_device() {
            return "a device";
        }
        if t.is_socket() {
            return "a socket";
        }
    }
    "not a regular file"
}

fn open_nonblocking(path: &Path) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.custom_flags(O_NONBLOCK);
    }
    options.open(path)
}

/// Reads at most `limit` bytes of a regular file (following a link to one). The type is checked
/// before opening (a FIFO is never opened, so it cannot hang) and again on the opened handle (the
/// path may have changed in between); the read goes through `take`, so a file that lies about its
/// size, or grows, costs at most `limit + 1` bytes. Returns the bytes and whether the file was
/// longer than `limit`.
pub(crate) fn read_prefix(path: &Path, limit: u64) -> Result<(Vec<u8>, bool), ReadProblem> {
    let before = std::fs::metadata(path).map_err(ReadProblem::Io)?;
    if !before.is_file() {
        return Err(ReadProblem::NotRegular { what: kind(&before) });
    }
    let file = open_nonblocking(path).map_err(ReadProblem::Io)?;
    let meta = file.metadata().map_err(ReadProblem::Io)?;
    if !meta.is_file() {
        return Err(ReadProblem::NotRegular { what: kind(&meta) });
    }
    let mut bytes = Vec::with_capacity(meta.len().min(limit) as usize);
    file.take(limit.saturating_add(1)).read_to_end(&mut bytes).map_err(ReadProblem::Io)?;
    let longer = bytes.len() as u64 > limit;
    bytes.truncate(limit as usize);
    Ok((bytes, longer))
}

/// Reads a whole regular file of at most `limit` bytes; a larger one is refused without reading
/// more than `limit + 1` bytes of it.
pub(crate) fn read_limited(path: &Path, limit: u64) -> Result<Vec<u8>, ReadProblem> {
    let before = std::fs::metadata(path).map_err(ReadProblem::Io)?;
    if before.is_file() && before.len() > limit {
        return Err(ReadProblem::TooLarge { size: Some(before.len()), limit });
    }
    match read_prefix(path, limit)? {
        (_, true) => Err(ReadProblem::TooLarge { size: None, limit }),
        (bytes, false) => Ok(bytes),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regular_files_are_read_up_to_the_limit() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.md");
        std::fs::write(&path, "0123456789").unwrap();
        assert_eq!(read_limited(&path, 10).unwrap(), b"0123456789");
        assert!(matches!(read_limited(&path, 9), Err(ReadProblem::TooLarge { size: Some(10), limit: 9 })));
        assert_eq!(read_prefix(&path, 4).unwrap(), (b"0123".to_vec(), true));
        assert_eq!(read_prefix(&path, 40).unwrap(), (b"0123456789".to_vec(), false));
        assert!(matches!(read_limited(dir.path(), 9), Err(ReadProblem::NotRegular { what: "a folder" })));
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_device_is_never_read() {
        // /dev/zero reports a length of 0 and never ends: metadata alone would let it through.
        let dir = tempfile::tempdir().unwrap();
        let link = dir.path().join("x_2026-01-01.md");
        std::os::unix::fs::symlink("/dev/zero", &link).unwrap();
        assert!(matches!(read_limited(&link, 1024), Err(ReadProblem::NotRegular { what: "a device" })));
        assert!(matches!(read_prefix(&link, 1024), Err(ReadProblem::NotRegular { what: "a device" })));
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn the_limit_holds_when_the_metadata_lies() {
        // A regular file whose metadata says 0 bytes and which has more: the read itself is cut.
        let path = Path::new("/proc/self/status");
        assert_eq!(std::fs::metadata(path).unwrap().len(), 0);
        assert!(matches!(read_limited(path, 16), Err(ReadProblem::TooLarge { size: None, limit: 16 })));
        assert_eq!(read_prefix(path, 16).unwrap().0.len(), 16);
    }
}
