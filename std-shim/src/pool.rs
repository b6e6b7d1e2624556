//! File-backed pools: creation, opening, appending, and reading by seq.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use plasmite_core::{layout, FormatOptions, Pool as CorePool, Writer};
use rustix::fs::{flock, FlockOperation};

use crate::cursor::{Cursor, Start};
use crate::error::{Error, ErrorKind, Result};
use crate::json;
use crate::map::Mapping;
use crate::message::{Message, RawMessage};
use crate::time::now_ns;
use crate::wake;

/// Default pool size: 1 MiB.
pub const DEFAULT_POOL_SIZE: u64 = 1 << 20;

/// How a pool is created.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PoolOptions {
    /// File size in bytes (fixed for the pool's life). Default 1 MiB.
    pub size: u64,
    /// Seq index slots; `None` sizes the index automatically, `Some(0)`
    /// disables it (get by seq then walks from the oldest message).
    pub index_capacity: Option<u64>,
    /// Replace an existing file instead of failing with AlreadyExists.
    pub overwrite: bool,
}

impl Default for PoolOptions {
    fn default() -> Self {
        PoolOptions {
            size: DEFAULT_POOL_SIZE,
            index_capacity: None,
            overwrite: false,
        }
    }
}

impl PoolOptions {
    /// Options for a pool of `size` bytes.
    pub fn with_size(size: u64) -> Self {
        PoolOptions {
            size,
            ..Self::default()
        }
    }
}

/// How durable an append is when it returns.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Durability {
    /// In the shared page cache: survives the process, not a power cut.
    #[default]
    Fast,
    /// On disk (`fdatasync`) before the append returns.
    Flush,
}

/// What an append returns: the message's seq and timestamp.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Receipt {
    /// The seq the message got.
    pub seq: u64,
    /// Its append time, ns since the Unix epoch.
    pub time_ns: u64,
}

/// Facts about a pool, for `pool info` and `pool list`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PoolInfo {
    /// Path of the pool file.
    pub path: PathBuf,
    /// File size in bytes.
    pub file_size: u64,
    /// Offset of the seq index in the file.
    pub index_offset: u64,
    /// Seq index slots (16 bytes each).
    pub index_capacity: u64,
    /// Offset of the ring in the file.
    pub ring_offset: u64,
    /// Bytes of ring (message storage).
    pub ring_size: u64,
    /// Largest message payload (tags plus data) accepted.
    pub max_payload: u64,
    /// Creation time, ns since the Unix epoch.
    pub created_ns: u64,
    /// Retained messages: the seq span from oldest to newest (gaps and
    /// damaged frames included).
    pub count: u64,
    /// Seq and time of the oldest retained message.
    pub oldest: Option<(u64, u64)>,
    /// Seq and time of the newest message.
    pub newest: Option<(u64, u64)>,
    /// Ring bytes in use.
    pub used_bytes: u64,
    /// Durable named readers and where they are.
    pub readers: Vec<crate::readers::ReaderInfo>,
}

impl PoolInfo {
    /// Share of the ring in use, 0.0 to 1.0.
    pub fn utilization(&self) -> f64 {
        self.used_bytes as f64 / self.ring_size.max(1) as f64
    }
}

/// The outcome of [`Pool::validate`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Validation {
    /// Counts and bounds of what was checked.
    pub report: plasmite_core::Report,
    /// Every problem found, in ring order.
    pub issues: Vec<plasmite_core::Issue>,
}

/// An open pool. Cheap to clone; clones share one mapping.
///
/// Any number of processes may open the same pool and read and append at
/// once: appends serialize on an exclusive `flock` of the pool file (released
/// by the kernel if a writer dies), reads take no lock at all.
#[derive(Clone)]
pub struct Pool {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) core: CorePool<Mapping>,
    file: File,
    path: PathBuf,
    // flock excludes other open files, not threads sharing this one.
    writers: Mutex<()>,
}

impl Pool {
    /// Creates a pool file at `path`.
    ///
    /// The file is built as an anonymous file (`O_TMPFILE`; where the file
    /// system cannot, under a temporary name), fully allocated (so a full
    /// disk fails here, never as a SIGBUS later), and then linked into place,
    /// so no process ever sees a half-made pool, and a failure, or on Linux
    /// even a crash, leaves no file.
    pub fn create(path: impl AsRef<Path>, opts: &PoolOptions) -> Result<Pool> {
        let path = path.as_ref();
        // Refuse impossible sizes before touching the file system.
        let format = FormatOptions {
            index_capacity: opts.index_capacity,
            created_ns: 0,
        };
        plasmite_core::Geometry::plan(opts.size, &format).map_err(|e| Error::core(e, path))?;
        if !opts.overwrite && path.exists() {
            return Err(Error::io(
                io::ErrorKind::AlreadyExists.into(),
                "create pool",
                path,
            ));
        }
        let dir = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
        // An anonymous file where the kernel can make one: a process killed
        // while it allocates and formats then leaves nothing behind, where a
        // named temporary file would keep the pool's whole size on disk,
        // hidden. Errors name the pool asked for, not the temporary file.
        let result = match build_anonymous(dir, opts) {
            Ok(Some(file)) => link_anonymous(&file, &tmp, path, opts.overwrite)
                .map_err(|e| Error::io(e, "create pool", path)),
            Ok(None) => build(&tmp, opts).and_then(|()| {
                if opts.overwrite {
                    std::fs::rename(&tmp, path).map_err(|e| Error::io(e, "create pool", path))
                } else {
                    std::fs::hard_link(&tmp, path).map_err(|e| Error::io(e, "create pool", path))
                }
            }),
            Err(e) => Err(e),
        }
        .map_err(|e| e.with_path(path));
        let _ = std::fs::remove_file(&tmp);
        result?;
        // Make the new name itself durable, not just the file's contents.
        if let Ok(d) = File::open(dir) {
            let _ = d.sync_all();
        }
        Pool::open(path)
    }

    /// Opens an existing pool, checking its header.
    ///
    /// A pool the user may read but not write opens read-only: reads work,
    /// appends fail with a Permission error.
    pub fn open(path: impl AsRef<Path>) -> Result<Pool> {
        let path = path.as_ref();
        if path.is_dir() {
            return Err(Error::new(ErrorKind::Usage, "not a pool file: a directory")
                .with_path(path)
                .with_hint("Name a pool, or a .plasmite file; --dir sets the pool directory."));
        }
        let (file, writable) = match OpenOptions::new().read(true).write(true).open(path) {
            Ok(f) => (f, true),
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::PermissionDenied | io::ErrorKind::ReadOnlyFilesystem
                ) =>
            {
                match File::open(path) {
                    Ok(f) => (f, false),
                    Err(_) => return Err(Error::io(e, "open pool", path)),
                }
            }
            Err(e) => return Err(Error::io(e, "open pool", path)),
        };
        let meta = file
            .metadata()
            .map_err(|e| Error::io(e, "open pool", path))?;
        if !meta.is_file() {
            return Err(
                Error::new(ErrorKind::Usage, "not a pool file (a directory or device)")
                    .with_path(path),
            );
        }
        let len = meta.len();
        if len < layout::HEADER_SIZE as u64 || len > usize::MAX as u64 {
            return Err(
                Error::new(ErrorKind::Corrupt, "file too short to be a pool")
                    .with_path(path)
                    .with_hint("The file was truncated or is not a plasmite pool; recreate it."),
            );
        }
        let map = Mapping::new(&file, len as usize, writable)
            .map_err(|e| Error::io(e, "map pool", path))?;
        let core = CorePool::open(map).map_err(|e| Error::core(e, path))?;
        Ok(Pool {
            inner: Arc::new(Inner {
                core,
                file,
                path: std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf()),
                writers: Mutex::new(()),
            }),
        })
    }

    /// Path of the pool file.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// The pool's layout, as read from its header at open. Unlike
    /// [`Pool::info`] it cannot fail, so `doctor` can place ring positions
    /// in the file even when the published state is damaged.
    pub fn geometry(&self) -> plasmite_core::Geometry {
        *self.inner.core.geometry()
    }

    /// Largest payload (encoded tags plus compact data) one message may carry.
    pub fn max_payload(&self) -> u64 {
        self.inner.core.geometry().max_payload()
    }

    /// Appends one message whose data is a JSON object value.
    pub fn append(
        &self,
        data: &serde_json::Value,
        tags: &[&str],
        durability: Durability,
    ) -> Result<Receipt> {
        let mut text = Vec::with_capacity(128);
        json::value_object(data, &mut text)?;
        self.append_compact(&text, tags, durability)
    }

    /// Appends one message whose data is JSON object text (validated, then
    /// stored compact with its key order and number spelling intact).
    pub fn append_json(
        &self,
        data: &[u8],
        tags: &[&str],
        durability: Durability,
    ) -> Result<Receipt> {
        let mut text = Vec::with_capacity(data.len());
        json::compact_object(data, &mut text)?;
        self.append_compact(&text, tags, durability)
    }

    fn append_compact(
        &self,
        data: &[u8],
        tags: &[&str],
        durability: Durability,
    ) -> Result<Receipt> {
        let mut batch = self.batch()?;
        let r = batch.append_compact(data, tags)?;
        batch.finish(durability)?;
        Ok(r)
    }

    /// Starts a batch: appends under one hold of the writer lock, published
    /// together. Other writers wait until the batch ends.
    pub fn batch(&self) -> Result<Batch<'_>> {
        let inner = &*self.inner;
        self.check_writable()?;
        let guard = inner.writers.lock().unwrap_or_else(|p| p.into_inner());
        let lock =
            FileLock::acquire(&inner.file).map_err(|e| Error::io(e, "lock pool", &inner.path))?;
        let writer = inner
            .core
            .writer()
            .map_err(|e| Error::core(e, &inner.path))?;
        Ok(Batch {
            pool: self,
            writer,
            lock,
            _guard: guard,
            scratch: Vec::new(),
            tags: Vec::new(),
            done: false,
        })
    }

    /// The message with `seq`: an index hit or a short walk, never a scan.
    pub fn get(&self, seq: u64) -> Result<Message> {
        let mut buf = vec![0u8; 512];
        loop {
            match self.inner.core.get(seq, &mut buf) {
                Ok(f) => {
                    return Ok(RawMessage {
                        seq: f.seq,
                        time_ns: f.time_ns,
                        tags_json: f.tags(&buf),
                        data: f.data(&buf),
                    }
                    .to_message())
                }
                Err(plasmite_core::Error::BufferTooSmall { needed }) => buf.resize(needed, 0),
                Err(e) => return Err(Error::core(e, self.path())),
            }
        }
    }

    /// A reader starting at `start`.
    pub fn cursor(&self, start: Start) -> Result<Cursor> {
        Cursor::new(self.clone(), start)
    }

    /// What the pool retains right now.
    pub fn info(&self) -> Result<PoolInfo> {
        let core = &self.inner.core;
        let b = core.bounds().map_err(|e| Error::core(e, self.path()))?;
        let g = core.geometry();
        Ok(PoolInfo {
            path: self.inner.path.clone(),
            file_size: g.file_size,
            index_offset: g.index_offset,
            index_capacity: g.index_capacity,
            ring_offset: g.ring_offset,
            ring_size: g.ring_size,
            max_payload: g.max_payload(),
            created_ns: g.created_ns,
            count: b.count(),
            oldest: b.oldest,
            newest: b.newest,
            used_bytes: b.used_bytes,
            readers: self.readers(),
        })
    }

    /// Checks every retained frame, the published state and the index.
    ///
    /// Holds the writer lock while it runs, so the picture is stable;
    /// readers are not disturbed.
    pub fn validate(&self) -> Result<Validation> {
        let inner = &*self.inner;
        let _guard = inner.writers.lock().unwrap_or_else(|p| p.into_inner());
        let _lock =
            FileLock::acquire(&inner.file).map_err(|e| Error::io(e, "lock pool", &inner.path))?;
        let mut issues = Vec::new();
        let report = inner.core.validate(|i| issues.push(i));
        Ok(Validation { report, issues })
    }

    fn check_writable(&self) -> Result<()> {
        if self.inner.core.region().writable() {
            return Ok(());
        }
        Err(
            Error::new(ErrorKind::Permission, "pool is read-only for this user")
                .with_path(&self.inner.path)
                .with_hint("Ask for write permission on the pool file."),
        )
    }

    /// Runs `f` under the writer lock, for the rare table updates (named
    /// readers) that must not race with another process doing the same.
    pub(crate) fn locked<T>(&self, f: impl FnOnce(&CorePool<Mapping>) -> T) -> Result<T> {
        let inner = &*self.inner;
        self.check_writable()?;
        let _guard = inner.writers.lock().unwrap_or_else(|p| p.into_inner());
        let _lock =
            FileLock::acquire(&inner.file).map_err(|e| Error::io(e, "lock pool", &inner.path))?;
        Ok(f(&inner.core))
    }

    pub(crate) fn wake_word(&self) -> &std::sync::atomic::AtomicU32 {
        self.inner.core.region().atomic_u32(layout::offsets::NOTIFY)
    }
}

/// Creates and formats the pool file at `tmp`.
fn build(tmp: &Path, opts: &PoolOptions) -> Result<()> {
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .mode(0o644)
        .open(tmp)
        .map_err(|e| Error::io(e, "create pool", tmp))?;
    format_file(&file, opts, tmp)
}

/// Creates and formats an anonymous pool file (`O_TMPFILE`) in `dir`, which
/// the kernel frees if this process dies before [`link_anonymous`] names it.
/// `Ok(None)` if this kernel, file system or set-up cannot (then the named
/// path runs, and reports any error that made this one fail).
#[cfg(target_os = "linux")]
fn build_anonymous(dir: &Path, opts: &PoolOptions) -> Result<Option<File>> {
    use rustix::fs::{Mode, OFlags};
    // Naming the file later goes through /proc.
    if !Path::new("/proc/self/fd").is_dir() {
        return Ok(None);
    }
    let flags = OFlags::TMPFILE | OFlags::RDWR | OFlags::CLOEXEC;
    let Ok(fd) = rustix::fs::open(dir, flags, Mode::from_raw_mode(0o644)) else {
        return Ok(None);
    };
    let file = File::from(fd);
    format_file(&file, opts, dir)?;
    Ok(Some(file))
}

#[cfg(not(target_os = "linux"))]
fn build_anonymous(_dir: &Path, _opts: &PoolOptions) -> Result<Option<File>> {
    Ok(None)
}

/// Names the anonymous `file`: `path`, failing if it exists, or (with
/// `overwrite`) `tmp`, then renamed over `path`.
fn link_anonymous(file: &File, tmp: &Path, path: &Path, overwrite: bool) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    let me = format!("/proc/self/fd/{}", file.as_raw_fd());
    let to = if overwrite { tmp } else { path };
    rustix::fs::linkat(
        rustix::fs::CWD,
        me.as_str(),
        rustix::fs::CWD,
        to,
        rustix::fs::AtFlags::SYMLINK_FOLLOW,
    )?;
    if overwrite {
        std::fs::rename(tmp, path)?;
    }
    Ok(())
}

/// Reserves the file's blocks, maps it and formats it as a pool, then syncs
/// it. `what` names it in errors.
fn format_file(file: &File, opts: &PoolOptions, what: &Path) -> Result<()> {
    allocate(file, opts.size).map_err(|e| Error::io(e, "allocate pool", what))?;
    let map =
        Mapping::new(file, opts.size as usize, true).map_err(|e| Error::io(e, "map pool", what))?;
    let format = FormatOptions {
        index_capacity: opts.index_capacity,
        created_ns: now_ns(),
    };
    CorePool::format(map, &format).map_err(|e| Error::core(e, what))?;
    file.sync_all().map_err(|e| Error::io(e, "sync pool", what))
}

/// Reserves every block of the file now, so later writes through the
/// mapping cannot hit a full disk.
fn allocate(file: &File, size: u64) -> io::Result<()> {
    match rustix::fs::fallocate(file, rustix::fs::FallocateFlags::empty(), 0, size) {
        Ok(()) => Ok(()),
        Err(e) if e == rustix::io::Errno::OPNOTSUPP || e == rustix::io::Errno::NOSYS => {
            // No fallocate here: write zeros, which allocates just the same.
            use std::os::unix::fs::FileExt;
            let zeros = vec![0u8; 1 << 16];
            let mut off = 0;
            while off < size {
                let n = (size - off).min(zeros.len() as u64) as usize;
                file.write_all_at(&zeros[..n], off)?;
                off += n as u64;
            }
            Ok(())
        }
        Err(e) => Err(e.into()),
    }
}

/// Non-blocking attempts before a blocking wait for the writer lock.
const SPINS: usize = 512;

/// An exclusive `flock` on the pool file, released on drop (or by the
/// kernel, if the process dies).
struct FileLock<'f>(&'f File);

impl<'f> FileLock<'f> {
    fn acquire(file: &'f File) -> io::Result<Self> {
        // Appends hold the lock for about a microsecond, so yielding a few
        // times beats going to sleep in the kernel and being woken.
        for _ in 0..SPINS {
            match flock(file, FlockOperation::NonBlockingLockExclusive) {
                Ok(()) => return Ok(FileLock(file)),
                Err(rustix::io::Errno::WOULDBLOCK | rustix::io::Errno::INTR) => {
                    std::thread::yield_now()
                }
                Err(e) => return Err(e.into()),
            }
        }
        loop {
            match flock(file, FlockOperation::LockExclusive) {
                Ok(()) => return Ok(FileLock(file)),
                Err(rustix::io::Errno::INTR) => continue,
                Err(e) => return Err(e.into()),
            }
        }
    }
}

impl Drop for FileLock<'_> {
    fn drop(&mut self) {
        let _ = flock(self.0, FlockOperation::Unlock);
    }
}

/// Appends under one hold of the writer lock; see [`Pool::batch`].
///
/// Messages become visible to readers together, at [`Batch::finish`] (or
/// when the batch is dropped). A batch larger than the ring evicts its own
/// first messages, as any append would.
pub struct Batch<'p> {
    pool: &'p Pool,
    writer: Writer<'p, Mapping>,
    lock: FileLock<'p>,
    _guard: MutexGuard<'p, ()>,
    scratch: Vec<u8>,
    tags: Vec<u8>,
    done: bool,
}

impl Batch<'_> {
    /// Appends one message whose data is JSON object text.
    pub fn append_json(&mut self, data: &[u8], tags: &[&str]) -> Result<Receipt> {
        let mut text = std::mem::take(&mut self.scratch);
        text.clear();
        let r =
            json::compact_object(data, &mut text).and_then(|()| self.append_compact(&text, tags));
        self.scratch = text;
        r
    }

    /// Appends one message whose data was validated beforehand.
    pub fn append_object(&mut self, data: &json::CompactObject, tags: &[&str]) -> Result<Receipt> {
        self.append_compact(data.as_bytes(), tags)
    }

    /// Appends one message whose data is a JSON object value.
    pub fn append(&mut self, data: &serde_json::Value, tags: &[&str]) -> Result<Receipt> {
        let mut text = std::mem::take(&mut self.scratch);
        text.clear();
        let r = json::value_object(data, &mut text).and_then(|()| self.append_compact(&text, tags));
        self.scratch = text;
        r
    }

    fn append_compact(&mut self, data: &[u8], tags: &[&str]) -> Result<Receipt> {
        self.tags.resize(plasmite_core::tags::encoded_len(tags), 0);
        plasmite_core::tags::encode(tags, &mut self.tags);
        let a = self
            .writer
            .append(now_ns(), &self.tags, data)
            .map_err(|e| Error::core(e, self.pool.path()))?;
        Ok(Receipt {
            seq: a.seq,
            time_ns: a.time_ns,
        })
    }

    /// Publishes the batch, wakes readers, and with [`Durability::Flush`]
    /// waits until it is on disk.
    pub fn finish(mut self, durability: Durability) -> Result<()> {
        self.publish();
        if durability == Durability::Flush {
            let inner = &self.pool.inner;
            rustix::fs::fdatasync(&inner.file)
                .map_err(|e| Error::io(e.into(), "sync pool", &inner.path))?;
        }
        Ok(())
    }

    fn publish(&mut self) {
        if self.done {
            return;
        }
        self.done = true;
        if self.writer.publish() {
            wake::wake_all(self.pool.wake_word());
        }
        let _ = &self.lock;
    }
}

impl Drop for Batch<'_> {
    fn drop(&mut self) {
        self.publish();
    }
}

/// Bytes per seq index slot.
const INDEX_SLOT_BYTES: u64 = 16;

impl PoolInfo {
    /// The pool object of `pool info --json` and of the HTTP API (one
    /// builder for both): `name` is echoed as given, `now_ns` dates the ages.
    pub fn to_json(&self, name: &str, now_ns: u64) -> serde_json::Value {
        use crate::time::rfc3339;
        let time = |b: Option<(u64, u64)>| b.map(|(_, t)| rfc3339(t));
        let age = |b: Option<(u64, u64)>| b.map(|(_, t)| now_ns.saturating_sub(t) / 1_000_000);
        // Ring use in hundredths of a percent, rounded down.
        let used_hundredths = if self.ring_size == 0 {
            0
        } else {
            (u128::from(self.used_bytes) * 10_000 / u128::from(self.ring_size)).min(10_000) as u64
        };
        let mut bounds = serde_json::Map::new();
        if let Some((seq, _)) = self.newest {
            bounds.insert("newest".into(), seq.into());
        }
        if let Some((seq, _)) = self.oldest {
            bounds.insert("oldest".into(), seq.into());
        }
        serde_json::json!({
            "bounds": bounds,
            "file_size": self.file_size,
            "index_capacity": self.index_capacity,
            "index_offset": self.index_offset,
            "index_size_bytes": self.index_capacity.saturating_mul(INDEX_SLOT_BYTES),
            "metrics": {
                "age": {
                    "newest_age_ms": age(self.newest),
                    "newest_time": time(self.newest),
                    "oldest_age_ms": age(self.oldest),
                    "oldest_time": time(self.oldest),
                },
                "message_count": self.count,
                "seq_span": self.count,
                "utilization": {
                    "free_bytes": self.ring_size.saturating_sub(self.used_bytes),
                    "used_bytes": self.used_bytes,
                    "used_percent": used_hundredths as f64 / 100.0,
                },
            },
            "name": name,
            "path": self.path.display().to_string(),
            "readers": self.readers.iter().map(|r| serde_json::json!({
                "acked_time": rfc3339(r.acked_ns),
                "created_time": rfc3339(r.created_ns),
                "lag": self.newest.map_or(0, |(n, _)| (n + 1).saturating_sub(r.next_seq)),
                "name": r.name,
                "next_seq": r.next_seq,
            })).collect::<Vec<_>>(),
            "ring_offset": self.ring_offset,
            "ring_size": self.ring_size,
        })
    }
}
