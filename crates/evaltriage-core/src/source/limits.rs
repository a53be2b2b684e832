//! The caps every source shares: the largest run document and the largest blob read, whether
//! downloaded or read from a store.

/// The largest run document read: 64 MiB. A real 111-eval run is a few MB and a 20,000-eval run
/// (far past any benchmark's size) about 25 MB, so 64 MiB refuses only what no run needs, and a
/// hostile document costs at most that much while it is parsed (its free text is capped on the way
/// in).
pub const MAX_RUN_DOCUMENT_BYTES: u64 = 64 << 20;

/// The default cap on one blob download: 64 MiB (real output and eval source zips are a few MiB;
/// four downloads in flight then hold at most 256 MiB).
pub const DEFAULT_MAX_BLOB_BYTES: u64 = 64 << 20;
