//! Typed errors with stable kinds, exit codes, and hints that say what to do.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

/// The stable category of an error. Each maps to one process exit code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// A bug or an unexpected condition (exit 1).
    Internal,
    /// Bad input: a bad argument, invalid JSON, an oversized message (exit 2).
    Usage,
    /// The pool or message does not exist (exit 3).
    NotFound,
    /// The pool already exists (exit 4).
    AlreadyExists,
    /// Something else holds the resource; retry (exit 5).
    Busy,
    /// The OS refused access (exit 6).
    Permission,
    /// The pool file is damaged or not a pool (exit 7).
    Corrupt,
    /// Any other I/O failure, such as a full disk (exit 8).
    Io,
}

impl ErrorKind {
    /// The process exit code for this kind.
    pub fn exit_code(self) -> i32 {
        match self {
            ErrorKind::Internal => 1,
            ErrorKind::Usage => 2,
            ErrorKind::NotFound => 3,
            ErrorKind::AlreadyExists => 4,
            ErrorKind::Busy => 5,
            ErrorKind::Permission => 6,
            ErrorKind::Corrupt => 7,
            ErrorKind::Io => 8,
        }
    }

    /// The kind's stable name, as used in JSON error envelopes.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Internal => "Internal",
            ErrorKind::Usage => "Usage",
            ErrorKind::NotFound => "NotFound",
            ErrorKind::AlreadyExists => "AlreadyExists",
            ErrorKind::Busy => "Busy",
            ErrorKind::Permission => "Permission",
            ErrorKind::Corrupt => "Corrupt",
            ErrorKind::Io => "Io",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An error: a kind, a message, and whatever context is known.
#[derive(Debug)]
pub struct Error {
    kind: ErrorKind,
    message: String,
    hint: Option<String>,
    path: Option<PathBuf>,
    seq: Option<u64>,
    offset: Option<u64>,
    source: Option<io::Error>,
}

/// Result of library operations.
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// An error of `kind` with a message.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error {
            kind,
            message: message.into(),
            hint: None,
            path: None,
            seq: None,
            offset: None,
            source: None,
        }
    }

    /// Adds a hint telling the user what to do.
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// Adds the path concerned.
    pub fn with_path(mut self, path: impl AsRef<Path>) -> Self {
        self.path = Some(path.as_ref().to_path_buf());
        self
    }

    /// Adds the seq concerned.
    pub fn with_seq(mut self, seq: u64) -> Self {
        self.seq = Some(seq);
        self
    }

    /// Adds the ring position concerned.
    pub fn with_offset(mut self, offset: u64) -> Self {
        self.offset = Some(offset);
        self
    }

    /// The kind.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// What went wrong.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// What to do about it, if there is advice.
    pub fn hint(&self) -> Option<&str> {
        self.hint.as_deref()
    }

    /// The path concerned, if any.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// The seq concerned, if any.
    pub fn seq(&self) -> Option<u64> {
        self.seq
    }

    /// The ring position concerned, if any.
    pub fn offset(&self) -> Option<u64> {
        self.offset
    }

    /// Shorthand for the exit code of the kind.
    pub fn exit_code(&self) -> i32 {
        self.kind.exit_code()
    }

    /// Maps an OS error on `path` to a kind, message and hint. `doing` says
    /// what was attempted ("open pool", "create pool").
    pub fn io(err: io::Error, doing: &str, path: &Path) -> Self {
        let (kind, hint) = match err.kind() {
            io::ErrorKind::NotFound => (
                ErrorKind::NotFound,
                "Check the pool name and --dir, or create it with `pls pool create NAME`.",
            ),
            io::ErrorKind::PermissionDenied => (
                ErrorKind::Permission,
                "Check the file's permissions, or use --dir to point at a writable directory.",
            ),
            io::ErrorKind::AlreadyExists => (
                ErrorKind::AlreadyExists,
                "Pick another name, or delete the old pool first with `pls pool delete NAME`.",
            ),
            io::ErrorKind::StorageFull | io::ErrorKind::QuotaExceeded => (
                ErrorKind::Io,
                "The disk is full: free space or choose a smaller --size.",
            ),
            io::ErrorKind::WouldBlock => (ErrorKind::Busy, "Retry shortly."),
            _ => (
                ErrorKind::Io,
                "Check the path, the file system and free disk space.",
            ),
        };
        let message = match kind {
            ErrorKind::NotFound => format!("{doing}: no such file"),
            _ => format!("{doing}: {err}"),
        };
        let mut e = Error::new(kind, message).with_hint(hint).with_path(path);
        e.source = Some(err);
        e
    }

    /// Maps a format-layer error for the pool at `path`.
    pub(crate) fn core(err: plasmite_core::Error, path: &Path) -> Self {
        use plasmite_core::Error as C;
        let doctor = format!("Run `pls doctor {}` for details.", path.display());
        match err {
            C::NotAPool => Error::new(ErrorKind::Corrupt, "not a plasmite pool (bad magic)")
                .with_hint("Check the path: this file was not created by plasmite."),
            C::UnsupportedVersion { found, supported } => Error::new(
                ErrorKind::Usage,
                format!("unsupported pool format version {found} (this build reads up to {supported})"),
            )
            .with_hint("Upgrade plasmite to open this pool."),
            C::Corrupt(c) => {
                let mut e = Error::new(ErrorKind::Corrupt, format!("pool is corrupt: {}", c.what)).with_hint(doctor);
                e.seq = c.seq;
                e.offset = c.pos;
                e
            }
            C::BadGeometry { what, min } => Error::new(ErrorKind::Usage, format!("{what} {min} bytes"))
                .with_hint(format!(
                    "Use a size of {} or larger (--size, or --create-size with --create).",
                    human_min(min)
                )),
            C::TooLarge { len, max } => Error::new(
                ErrorKind::Usage,
                format!("message of {len} bytes is larger than the pool's maximum of {max} bytes"),
            )
            .with_hint("Create a larger pool (--size), or send smaller messages."),
            C::NotFound { seq } => Error::new(ErrorKind::NotFound, format!("message {seq} not found"))
                .with_hint("It was never written or has been evicted; `pls pool info` shows the retained range.")
                .with_seq(seq),
            C::BufferTooSmall { needed } => {
                Error::new(ErrorKind::Internal, format!("read buffer too small ({needed} bytes needed)"))
            }
            C::Contended => Error::new(ErrorKind::Busy, "the writer is too busy for a consistent read")
                .with_hint("Retry shortly."),
            C::BadReaderName => Error::new(ErrorKind::Usage, err.to_string())
                .with_hint("Pick a name like `billing` or `worker-1`."),
            C::ReadersFull { .. } => Error::new(ErrorKind::Busy, err.to_string())
                .with_hint("Delete readers you no longer use: `pls pool info POOL` lists them, `--delete-reader NAME` removes one."),
            C::NoReaderTable => Error::new(ErrorKind::Usage, err.to_string())
                .with_hint("Recreate the pool with this version of plasmite to use named readers."),
        }
        .with_path(path)
    }
}

fn human_min(bytes: u64) -> String {
    if bytes % (1 << 20) == 0 {
        format!("{}M", bytes >> 20)
    } else if bytes % 1024 == 0 {
        format!("{}K", bytes >> 10)
    } else {
        bytes.to_string()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        if let Some(p) = &self.path {
            write!(f, " ({})", p.display())?;
        }
        Ok(())
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source.as_ref().map(|e| e as _)
    }
}
