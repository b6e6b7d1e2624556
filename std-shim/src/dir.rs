//! Pool directories: resolving names to files, listing, and deleting.

use std::path::{Path, PathBuf};

use crate::error::{Error, ErrorKind, Result};
use crate::pool::{Pool, PoolInfo, PoolOptions};

/// The file extension of pool files.
pub const POOL_EXTENSION: &str = "plasmite";

/// A directory of pools, addressed by name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PoolDir {
    path: PathBuf,
}

/// One pool found by [`PoolDir::list`].
#[derive(Debug)]
pub struct PoolEntry {
    /// Name (file name without the extension).
    pub name: String,
    /// Path of the file.
    pub path: PathBuf,
    /// Its info, or why it could not be read (one bad pool does not spoil a
    /// listing).
    pub info: Result<PoolInfo>,
}

/// Longest file name Linux file systems take (`NAME_MAX`).
const NAME_MAX: usize = 255;
/// What a pool's temporary name while it is created (`.NAME.PID.tmp`)
/// adds to its file name, at most.
const TMP_EXTRA: usize = ".".len() + ".4294967295.tmp".len();

impl PoolDir {
    /// The default directory: `$PLASMITE_DIR`, else `~/.plasmite/pools`.
    pub fn default_path() -> PathBuf {
        if let Some(dir) = std::env::var_os("PLASMITE_DIR").filter(|d| !d.is_empty()) {
            return PathBuf::from(dir);
        }
        let home = std::env::var_os("HOME")
            .filter(|h| !h.is_empty())
            .map(PathBuf::from);
        home.unwrap_or_default().join(".plasmite").join("pools")
    }

    /// The directory at `path` (it need not exist yet).
    pub fn new(path: impl Into<PathBuf>) -> Self {
        PoolDir { path: path.into() }
    }

    /// The directory's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The file a pool reference names: a reference containing `/` is a path
    /// as given; `NAME.plasmite` and `NAME` are `NAME.plasmite` in this
    /// directory.
    pub fn resolve(&self, pool: &str) -> PathBuf {
        if pool.contains('/') {
            PathBuf::from(pool)
        } else if pool.ends_with(".plasmite") {
            self.path.join(pool)
        } else {
            self.path.join(format!("{pool}.{POOL_EXTENSION}"))
        }
    }

    /// Checks a bare pool name: non-empty, no path separators, no `..`.
    pub fn check_name(pool: &str) -> Result<()> {
        let bad = pool.is_empty()
            || pool.contains(['/', '\\', '\0'])
            || pool == "."
            || pool == ".."
            || pool.starts_with('.');
        if bad {
            return Err(Error::new(ErrorKind::Usage, format!("invalid pool name {pool:?}"))
                .with_hint("A pool name must not be empty, start with '.', or contain '/' or '\\'; to use a path, include a '/'."));
        }
        // Longer file names (or their temporary names while created) fail
        // in the file system, as an I/O error (a 500 from `pls serve`)
        // rather than a usage error.
        let file_len = if pool.ends_with(".plasmite") {
            pool.len()
        } else {
            pool.len() + 1 + POOL_EXTENSION.len()
        };
        if file_len + TMP_EXTRA > NAME_MAX {
            let max = NAME_MAX - TMP_EXTRA - 1 - POOL_EXTENSION.len();
            return Err(Error::new(
                ErrorKind::Usage,
                format!(
                    "pool name too long ({} bytes; the most is {max})",
                    pool.len()
                ),
            )
            .with_hint("Pick a shorter name."));
        }
        Ok(())
    }

    /// Creates a pool, creating the directory first if needed.
    pub fn create(&self, pool: &str, opts: &PoolOptions) -> Result<Pool> {
        if !pool.contains('/') {
            Self::check_name(pool)?;
            std::fs::create_dir_all(&self.path)
                .map_err(|e| Error::io(e, "create pool directory", &self.path))?;
        }
        Pool::create(self.resolve(pool), opts)
    }

    /// Opens a pool.
    pub fn open(&self, pool: &str) -> Result<Pool> {
        let path = self.resolve(pool);
        Pool::open(&path).map_err(|e| {
            if e.kind() == ErrorKind::NotFound {
                let create = if pool.contains('/') {
                    "pls pool create --help".to_string()
                } else {
                    format!("pls pool create {pool}")
                };
                Error::new(ErrorKind::NotFound, format!("pool not found: {pool}"))
                    .with_path(&path)
                    .with_hint(format!(
                        "Create it with `{create}`, or pass --create to poke/peek."
                    ))
            } else {
                e
            }
        })
    }

    /// Deletes a pool file. Processes that have it open keep their mapping
    /// until they close it.
    pub fn delete(&self, pool: &str) -> Result<()> {
        let path = self.resolve(pool);
        // Only delete what is really a pool, not any file a typo names: a
        // file that opens as a pool, or a damaged one that still carries the
        // magic or the pool extension.
        if let Err(e) = Pool::open(&path) {
            if e.kind() != ErrorKind::Corrupt {
                return Err(e);
            }
            let mut magic = [0u8; 8];
            let has_magic = std::fs::File::open(&path)
                .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut magic))
                .is_ok_and(|()| magic == plasmite_core::layout::MAGIC);
            let named_like_one = path.extension().is_some_and(|x| x == POOL_EXTENSION);
            if !has_magic && !named_like_one {
                return Err(
                    Error::new(ErrorKind::Usage, "not a pool file; refusing to delete it")
                        .with_path(&path)
                        .with_hint("Delete it with rm if you really mean to."),
                );
            }
        }
        std::fs::remove_file(&path).map_err(|e| Error::io(e, "delete pool", &path))
    }

    /// Every `*.plasmite` file in the directory, sorted by name. A missing
    /// directory lists as empty.
    pub fn list(&self) -> Result<Vec<PoolEntry>> {
        let entries = match std::fs::read_dir(&self.path) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(Error::io(e, "read pool directory", &self.path)),
        };
        let mut out = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| Error::io(e, "read pool directory", &self.path))?;
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            let Some(stem) = name.strip_suffix(".plasmite") else {
                continue;
            };
            if stem.starts_with('.') {
                continue;
            }
            let info = Pool::open(&path).and_then(|p| p.info());
            out.push(PoolEntry {
                name: stem.to_string(),
                path,
                info,
            });
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }
}

impl Default for PoolDir {
    fn default() -> Self {
        PoolDir::new(Self::default_path())
    }
}
