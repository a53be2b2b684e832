//! Reading an Inspect log file, bounded: a `.eval` zip (zstd members in current inspect_ai,
//! deflate in older) member by member, or a `.json` log, both streamed through a reader that
//! turns Python's bare `NaN` and `Infinity` into JSON and stops at a byte limit.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;

use serde::de::DeserializeOwned;

use crate::fsread::{human_bytes, open_regular};

/// Bounds on what one log may make evaltriage read.
#[derive(Debug, Clone, Copy)]
pub struct InspectLimits {
    /// Most bytes of a `.json` log (read as a stream; the samples are kept without their events).
    pub max_json_log: u64,
    /// Most decompressed bytes of one `.eval` member (a sample with its events can be large;
    /// the events are skipped while streaming, never kept).
    pub max_member: u64,
    /// Most decompressed bytes read from one `.eval` log in one pass.
    pub max_total: u64,
    /// Most members a `.eval` log may have.
    pub max_entries: usize,
    /// Most decompressed bytes per compressed byte of a member larger than 1 MiB (zstd and
    /// deflate reach about 50 on JSON; a zip bomb reaches thousands).
    pub max_ratio: u64,
}

impl Default for InspectLimits {
    fn default() -> Self {
        Self { max_json_log: 4 << 30, max_member: 1 << 30, max_total: 16 << 30, max_entries: 200_000, max_ratio: 1_000 }
    }
}

/// Turns the bare `NaN`, `Infinity` and `-Infinity` Python's `json` writes into JSON outside
/// strings (`null`, `1e308`, `-1e308`); everything else passes through unchanged.
pub(super) struct NanTolerant<R> {
    inner: R,
    in_string: bool,
    escaped: bool,
    /// Bytes of a token being replaced still to drop.
    skip: usize,
    buf: Box<[u8]>,
    out: Vec<u8>,
    pos: usize,
}

impl<R: Read> NanTolerant<R> {
    pub(super) fn new(inner: R) -> Self {
        Self {
            inner,
            in_string: false,
            escaped: false,
            skip: 0,
            buf: vec![0; 64 << 10].into_boxed_slice(),
            out: Vec::with_capacity(70 << 10),
            pos: 0,
        }
    }

    pub(super) fn get_ref(&self) -> &R {
        &self.inner
    }

    fn push(&mut self, b: u8) {
        if self.skip > 0 {
            self.skip -= 1;
            return;
        }
        if self.in_string {
            if self.escaped {
                self.escaped = false;
            } else if b == b'\\' {
                self.escaped = true;
            } else if b == b'"' {
                self.in_string = false;
            }
            self.out.push(b);
            return;
        }
        match b {
            b'"' => {
                self.in_string = true;
                self.out.push(b);
            }
            // Outside a string, JSON has no `N` or `I`: these start Python's NaN and Infinity.
            b'N' => {
                self.out.extend_from_slice(b"null");
                self.skip = 2;
            }
            b'I' => {
                self.out.extend_from_slice(b"1e308");
                self.skip = 7;
            }
            _ => self.out.push(b),
        }
    }
}

impl<R: Read> Read for NanTolerant<R> {
    fn read(&mut self, dst: &mut [u8]) -> std::io::Result<usize> {
        while self.pos == self.out.len() {
            self.out.clear();
            self.pos = 0;
            let n = self.inner.read(&mut self.buf)?;
            if n == 0 {
                return Ok(0);
            }
            for i in 0..n {
                self.push(self.buf[i]);
            }
        }
        let n = dst.len().min(self.out.len() - self.pos);
        dst[..n].copy_from_slice(&self.out[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

/// Below this many bytes a member is read whole and parsed from memory (several times faster
/// than a stream); a larger one is parsed as a stream, its events skipped as they pass.
const SLURP_BELOW: u64 = 64 << 20;

/// Parses JSON from `reader` (NaN-tolerant) reading at most `limit` bytes; `what` names the part
/// in errors. `expected` is the size the container declares, when it declares one.
pub(super) fn parse_bounded<T: DeserializeOwned>(
    reader: impl Read,
    limit: u64,
    expected: Option<u64>,
    what: &str,
) -> Result<T, String> {
    let mut tolerant = NanTolerant::new(reader.take(limit.saturating_add(1)));
    let too_large = || format!("{what} is larger than the {} limit; refusing to read it", human_bytes(limit));
    if expected.is_some_and(|n| n < SLURP_BELOW) {
        let mut bytes = Vec::with_capacity(expected.map_or(0, |n| n as usize + n as usize / 8));
        tolerant.read_to_end(&mut bytes).map_err(|e| format!("{what}: {e}"))?;
        if tolerant.get_ref().limit() == 0 {
            return Err(too_large());
        }
        return serde_json::from_slice(&bytes).map_err(|e| format!("{what}: {e}"));
    }
    // serde_json reads a stream byte by byte: a buffer in front keeps each read cheap.
    let parsed = serde_json::from_reader(BufReader::with_capacity(64 << 10, &mut tolerant));
    match parsed {
        _ if tolerant.get_ref().limit() == 0 => Err(too_large()),
        Ok(value) => Ok(value),
        Err(e) => Err(format!("{what}: {e}")),
    }
}

/// An opened `.eval` log: the archive and, per member name, its last entry (inspect_ai rewrites
/// a member by appending a newer one under the same name; readers take the last).
pub(super) struct EvalZip {
    archive: zip::ZipArchive<BufReader<File>>,
    members: BTreeMap<String, usize>,
    limits: InspectLimits,
    /// Decompressed bytes this pass may still read.
    budget: u64,
}

impl std::fmt::Debug for EvalZip {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EvalZip").field("members", &self.members.len()).finish()
    }
}

impl EvalZip {
    /// Opens a `.eval` log (a regular file, a zip of at most `max_entries` members).
    pub(super) fn open(path: &Path, limits: InspectLimits) -> Result<Self, String> {
        let file = open_regular(path).map_err(|e| e.kind.to_string())?;
        let archive =
            zip::ZipArchive::new(BufReader::new(file)).map_err(|e| format!("not a readable .eval log (a zip): {e}"))?;
        if archive.len() > limits.max_entries {
            return Err(format!("has {} members, more than the {} a log may have", archive.len(), limits.max_entries));
        }
        let mut members = BTreeMap::new();
        for i in 0..archive.len() {
            if let Some(Ok(name)) = archive.name_for_index(i) {
                members.insert(name.into_owned(), i);
            }
        }
        Ok(Self { archive, members, limits, budget: limits.max_total })
    }

    pub(super) fn has(&self, name: &str) -> bool {
        self.members.contains_key(name)
    }

    /// The member names, sorted.
    pub(super) fn names(&self) -> impl Iterator<Item = &str> {
        self.members.keys().map(String::as_str)
    }

    /// Parses one member, streamed, within the member and pass limits.
    pub(super) fn member<T: DeserializeOwned>(&mut self, name: &str) -> Result<T, String> {
        let index = *self.members.get(name).ok_or_else(|| format!("has no {name}"))?;
        let limit = self.limits.max_member.min(self.budget);
        let file = self.archive.by_index(index).map_err(|e| format!("{name}: {e}"))?;
        let (size, packed) = (file.size(), file.compressed_size());
        if size > limit {
            return Err(format!(
                "{name} would expand to {}, more than the {} limit; refusing to read it",
                human_bytes(size),
                human_bytes(limit)
            ));
        }
        if size > 1 << 20 && size / packed.max(1) > self.limits.max_ratio {
            return Err(format!(
                "{name} expands {}x ({} from {}): a zip bomb, not a log; refusing to read it",
                size / packed.max(1),
                human_bytes(size),
                human_bytes(packed)
            ));
        }
        let mut counted = Counted { inner: file, read: 0 };
        let parsed = parse_bounded(&mut counted, limit, Some(size), name);
        self.budget = self.budget.saturating_sub(counted.read);
        parsed
    }
}

/// A reader that counts the bytes read through it.
struct Counted<R> {
    inner: R,
    read: u64,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read += n as u64;
        Ok(n)
    }
}

/// Opens a `.json` log for one streamed parse, at most `limit` bytes.
pub(super) fn json_log<T: DeserializeOwned>(path: &Path, limit: u64) -> Result<T, String> {
    let file = open_regular(path).map_err(|e| e.kind.to_string())?;
    parse_bounded(BufReader::with_capacity(64 << 10, file), limit, None, "the log")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tolerant(input: &str) -> String {
        let mut out = String::new();
        NanTolerant::new(input.as_bytes()).read_to_string(&mut out).unwrap();
        out
    }

    #[test]
    fn bare_nan_and_infinity_become_json_outside_strings() {
        assert_eq!(tolerant(r#"{"a": NaN, "b": [Infinity, -Infinity]}"#), r#"{"a": null, "b": [1e308, -1e308]}"#);
        assert_eq!(tolerant(r#"{"NaN": "Infinity \" NaN", "c": "\\"}"#), r#"{"NaN": "Infinity \" NaN", "c": "\\"}"#);
        let v: serde_json::Value = parse_bounded(r#"{"x": NaN}"#.as_bytes(), 100, None, "t").unwrap();
        assert!(v["x"].is_null());
    }

    #[test]
    fn a_stream_past_the_limit_is_refused() {
        let long = format!(r#"{{"x": "{}"}}"#, "a".repeat(500));
        for expected in [None, Some(50)] {
            let err = parse_bounded::<serde_json::Value>(long.as_bytes(), 100, expected, "member m").unwrap_err();
            assert!(err.starts_with("member m is larger than the"), "{err}");
        }
    }
}
