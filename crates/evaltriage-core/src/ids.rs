//! Validated identifiers: run and eval ids, storage ids, eval paths.

use std::fmt;

/// Why a string is not a valid identifier.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what} must be 1 to 64 lowercase letters or digits, got {got:?}")]
pub struct IdError {
    what: &'static str,
    got: String,
}

fn valid_convex_id(s: &str) -> bool {
    !s.is_empty() && s.len() <= 64 && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
}

macro_rules! convex_id {
    ($(#[$meta:meta])* $name:ident, $what:literal) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(String);

        impl $name {
            /// Validates a Convex document id (`[0-9a-z]`, about 32 characters).
            pub fn new(s: &str) -> Result<Self, IdError> {
                if valid_convex_id(s) {
                    Ok(Self(s.to_owned()))
                } else {
                    Err(IdError { what: $what, got: s.chars().take(80).collect() })
                }
            }

            /// The id as it is written.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

convex_id!(
    /// The id of a benchmark run.
    RunId,
    "a run id"
);
convex_id!(
    /// The id of one eval of a run.
    EvalId,
    "an eval id"
);

impl RunId {
    /// The first eight characters, used in report file names.
    pub fn prefix(&self) -> &str {
        let end = self.0.len().min(8);
        &self.0[..end]
    }
}

/// The id of a stored blob (a zip of files). Convex storage ids are opaque; we only require that
/// they are safe to use as a file name in a local store.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct StorageId(String);

impl StorageId {
    /// Validates a storage id: 1 to 128 ASCII letters, digits, `-` or `_`.
    pub fn new(s: &str) -> Result<Self, IdError> {
        let ok =
            !s.is_empty() && s.len() <= 128 && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if ok {
            Ok(Self(s.to_owned()))
        } else {
            Err(IdError { what: "a storage id", got: s.chars().take(80).collect() })
        }
    }

    /// The id as it is written.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for StorageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An eval's path in the benchmark, `<category>/<name>` such as `000-fundamentals/003-crons`.
///
/// Ordering is by the full path, which is the order reports list failures in.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EvalPath(String);

impl EvalPath {
    /// Builds a path from whatever the source wrote; it is kept as given (trimmed).
    pub fn new(s: &str) -> Self {
        Self(s.trim().trim_matches('/').to_owned())
    }

    /// Builds a path from a category and a name.
    pub fn from_parts(category: &str, name: &str) -> Self {
        Self(format!("{}/{}", category.trim_matches('/'), name.trim_matches('/')))
    }

    /// The path as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The part before the first `/` (the whole path when there is none).
    pub fn category(&self) -> &str {
        self.0.split_once('/').map_or(self.0.as_str(), |(c, _)| c)
    }

    /// The part after the first `/` (the whole path when there is none).
    pub fn name(&self) -> &str {
        self.0.split_once('/').map_or(self.0.as_str(), |(_, n)| n)
    }
}

impl fmt::Display for EvalPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn convex_ids_are_lowercase_alphanumerics() {
        assert!(RunId::new("jn7b2c3d4e5f6g7h8j9k0m1n2p3q4r5s").is_ok());
        assert!(RunId::new("").is_err());
        assert!(RunId::new("ABC").is_err());
        assert!(RunId::new("abc/def").is_err());
        assert!(RunId::new(&"a".repeat(65)).is_err());
        assert_eq!(RunId::new("abcdefghijk").unwrap().prefix(), "abcdefgh");
        assert_eq!(RunId::new("abc").unwrap().prefix(), "abc");
    }

    #[test]
    fn storage_ids_are_file_name_safe() {
        assert!(StorageId::new("kg2abc-def_1").is_ok());
        assert!(StorageId::new("../x").is_err());
        assert!(StorageId::new("a/b").is_err());
    }

    #[test]
    fn eval_path_parts() {
        let p = EvalPath::new("000-fundamentals/003-crons");
        assert_eq!(p.category(), "000-fundamentals");
        assert_eq!(p.name(), "003-crons");
        assert_eq!(EvalPath::from_parts("a", "b").as_str(), "a/b");
    }
}
