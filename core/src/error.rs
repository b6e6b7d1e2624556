//! Errors of the format layer.

use core::fmt;

/// Where and what: the context of a corrupt structure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Corruption {
    /// What is wrong, as a short phrase ("frame checksum mismatch").
    pub what: &'static str,
    /// Ring position (or region offset, for the header) of the bad bytes.
    pub pos: Option<u64>,
    /// The seq that was expected there, when known.
    pub seq: Option<u64>,
}

/// Everything that can go wrong in the format layer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// The region does not start with the pool magic: not a pool.
    NotAPool,
    /// The pool was written by a newer format version than this code reads.
    UnsupportedVersion {
        /// Version found in the header.
        found: u32,
        /// Newest version this code supports.
        supported: u32,
    },
    /// A structure failed validation.
    Corrupt(Corruption),
    /// The requested pool geometry is impossible.
    BadGeometry {
        /// Why, phrased to be followed by `min` bytes.
        what: &'static str,
        /// The smallest acceptable value of the offending quantity, if any.
        min: u64,
    },
    /// A message is larger than the pool can hold.
    TooLarge {
        /// Payload bytes requested.
        len: u64,
        /// Largest payload this pool accepts.
        max: u64,
    },
    /// No retained message has this seq (never written, or evicted).
    NotFound {
        /// The seq asked for.
        seq: u64,
    },
    /// The caller's buffer cannot hold the payload; nothing was consumed.
    BufferTooSmall {
        /// Bytes needed.
        needed: usize,
    },
    /// A named reader's name is not 1 to 32 bytes of `[A-Za-z0-9._-]`.
    BadReaderName,
    /// Every named-reader slot is taken.
    ReadersFull {
        /// Slots in the table.
        capacity: u32,
    },
    /// The pool has no named-reader table (made by a build without one).
    NoReaderTable,
    /// The writer kept moving faster than this reader could take a
    /// consistent snapshot; retrying later will succeed.
    Contended,
}

impl Error {
    pub(crate) const fn corrupt(what: &'static str, pos: Option<u64>, seq: Option<u64>) -> Self {
        Error::Corrupt(Corruption { what, pos, seq })
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::NotAPool => f.write_str("not a plasmite pool (bad magic)"),
            Error::UnsupportedVersion { found, supported } => write!(
                f,
                "pool format version {found} is newer than this build supports ({supported})"
            ),
            Error::Corrupt(c) => {
                f.write_str(c.what)?;
                if let Some(pos) = c.pos {
                    write!(f, " at position {pos}")?;
                }
                if let Some(seq) = c.seq {
                    write!(f, " (seq {seq})")?;
                }
                Ok(())
            }
            Error::BadGeometry { what, min } => write!(f, "{what} {min} bytes"),
            Error::TooLarge { len, max } => {
                write!(
                    f,
                    "message of {len} bytes exceeds the pool's maximum of {max} bytes"
                )
            }
            Error::NotFound { seq } => write!(f, "no message with seq {seq} in the pool"),
            Error::BufferTooSmall { needed } => {
                write!(f, "buffer too small: {needed} bytes needed")
            }
            Error::BadReaderName => f.write_str(
                "a reader name must be 1 to 32 characters of letters, digits, '.', '_' or '-'",
            ),
            Error::ReadersFull { capacity } => {
                write!(f, "all {capacity} named-reader slots of the pool are taken")
            }
            Error::NoReaderTable => f.write_str("this pool has no room for named readers"),
            Error::Contended => f.write_str("writer too busy to take a consistent snapshot"),
        }
    }
}

impl core::error::Error for Error {}

/// Result of format-layer operations.
pub type Result<T> = core::result::Result<T, Error>;
