//! `Client`: a pool directory (create, open, inspect, list, delete), and the
//! `PoolInfo` / `PoolEntry` records it returns.

use std::path::PathBuf;
use std::sync::Mutex;

use plasmite::{PoolDir, PoolOptions};
use pyo3::prelude::*;
use pyo3::types::{PyString, PyTuple};

use crate::errors::{closed, err, usage, OrRaise};
use crate::pool::Pool;

/// A pool directory: pools are addressed by name in it, or by path.
#[pyclass(module = "plasmite", frozen)]
pub struct Client {
    dir: Mutex<Option<PoolDir>>,
    path: PathBuf,
}

impl Client {
    fn dir(&self) -> PyResult<PoolDir> {
        self.dir
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
            .ok_or_else(|| closed("client"))
    }
}

/// `os.fspath(obj)` as a str (bytes paths are refused: pool names are text).
fn fspath(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<String> {
    if let Ok(s) = obj.cast::<PyString>() {
        return Ok(s.to_str()?.to_owned());
    }
    let os = obj.py().import("os")?;
    match os.call_method1("fspath", (obj,)) {
        Ok(p) => p
            .extract::<String>()
            .map_err(|_| usage(format!("{what} must be a str or a text path, not bytes"))),
        Err(_) => Err(usage(format!(
            "{what} must be a str or os.PathLike, got {}",
            obj.get_type().name()?
        ))),
    }
}

/// A pool reference: a str containing `/` is a path, another str a name in
/// the directory; an `os.PathLike` is always a path.
fn pool_ref(obj: &Bound<'_, PyAny>) -> PyResult<String> {
    let is_str = obj.is_instance_of::<PyString>();
    let r = fspath(obj, "pool")?;
    if r.starts_with("http://") || r.starts_with("https://") {
        return Err(usage(format!(
            "remote pool refs are not supported by Client ({r}); use `pls poke`/`pls peek` or the HTTP API of `pls serve`"
        )));
    }
    if !is_str && !r.contains('/') {
        return Ok(format!("./{r}"));
    }
    Ok(r)
}

#[pymethods]
impl Client {
    /// A client for `pool_dir` (default: `$PLASMITE_DIR`, else
    /// `~/.plasmite/pools`). The directory is created by the first
    /// `create_pool` that needs it.
    #[new]
    #[pyo3(signature = (pool_dir = None))]
    fn new(pool_dir: Option<&Bound<'_, PyAny>>) -> PyResult<Self> {
        let dir = match pool_dir {
            None => PoolDir::default(),
            Some(d) => {
                let p = fspath(d, "pool_dir")?;
                if p.is_empty() {
                    return Err(usage(
                        "pool_dir must not be empty (None means the default directory)",
                    ));
                }
                PoolDir::new(p)
            }
        };
        Ok(Client {
            path: dir.path().to_path_buf(),
            dir: Mutex::new(Some(dir)),
        })
    }

    /// The pool directory.
    #[getter]
    fn pool_dir(&self) -> String {
        self.path.to_string_lossy().into_owned()
    }

    /// Whether `close()` was called.
    #[getter]
    fn closed(&self) -> bool {
        self.dir.lock().unwrap_or_else(|p| p.into_inner()).is_none()
    }

    /// Creates a pool of `size_bytes` (AlreadyExistsError if it exists:
    /// an existing pool is never truncated) and opens it.
    // 1048576 is plasmite::DEFAULT_POOL_SIZE, spelled out so Python sees it.
    #[pyo3(signature = (pool, size_bytes = 1048576, *, index_capacity = None))]
    fn create_pool(
        &self,
        py: Python<'_>,
        pool: &Bound<'_, PyAny>,
        size_bytes: u64,
        index_capacity: Option<u64>,
    ) -> PyResult<Pool> {
        let r = pool_ref(pool)?;
        let dir = self.dir()?;
        let opts = PoolOptions {
            index_capacity,
            ..PoolOptions::with_size(size_bytes)
        };
        // Creating allocates and syncs the whole file: other threads run.
        let p = py.detach(|| dir.create(&r, &opts)).or_raise()?;
        Ok(Pool::wrap(p))
    }

    /// Opens an existing pool (NotFoundError if there is none).
    fn open_pool(&self, pool: &Bound<'_, PyAny>) -> PyResult<Pool> {
        let r = pool_ref(pool)?;
        Ok(Pool::wrap(self.dir()?.open(&r).or_raise()?))
    }

    /// Facts about a pool, without keeping it open.
    fn pool_info(&self, pool: &Bound<'_, PyAny>) -> PyResult<PoolInfo> {
        let r = pool_ref(pool)?;
        let p = self.dir()?.open(&r).or_raise()?;
        Ok(PoolInfo::new(p.info().or_raise()?, r))
    }

    /// Every pool in the directory, sorted by name. A pool that cannot be
    /// read is listed with its `error` instead of its `info`.
    fn list_pools(&self, py: Python<'_>) -> PyResult<Vec<PoolEntry>> {
        let dir = self.dir()?;
        let entries = py.detach(|| dir.list()).or_raise()?;
        entries
            .into_iter()
            .map(|e| {
                let (info, error) = match e.info {
                    Ok(i) => (Some(PoolInfo::new(i, e.name.clone())), None),
                    Err(x) => (None, Some(err(x).into_value(py).into_any())),
                };
                Ok(PoolEntry {
                    name: e.name,
                    path: e.path.to_string_lossy().into_owned(),
                    info: info.map(|i| Py::new(py, i)).transpose()?,
                    error,
                })
            })
            .collect()
    }

    /// Deletes a pool file (NotFoundError if there is none). Processes that
    /// have it open keep reading their mapping until they close it.
    fn delete_pool(&self, pool: &Bound<'_, PyAny>) -> PyResult<()> {
        let r = pool_ref(pool)?;
        self.dir()?.delete(&r).or_raise()
    }

    /// Releases the client. Pools opened from it stay open.
    fn close(&self) {
        self.dir.lock().unwrap_or_else(|p| p.into_inner()).take();
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    #[pyo3(signature = (*_exc))]
    fn __exit__(&self, _exc: &Bound<'_, PyTuple>) -> bool {
        self.close();
        false
    }

    fn __repr__(&self) -> String {
        let state = if self.closed() { " closed" } else { "" };
        format!("<plasmite.Client {:?}{state}>", self.pool_dir())
    }
}

/// Facts about a pool at one moment.
#[pyclass(module = "plasmite", frozen)]
pub struct PoolInfo {
    /// The pool's name (or the reference it was asked by).
    #[pyo3(get)]
    name: String,
    /// Path of the pool file.
    #[pyo3(get)]
    path: String,
    /// File size in bytes.
    #[pyo3(get)]
    file_size: u64,
    /// Offset of the seq index in the file.
    #[pyo3(get)]
    index_offset: u64,
    /// Seq index slots.
    #[pyo3(get)]
    index_capacity: u64,
    /// Offset of the ring in the file.
    #[pyo3(get)]
    ring_offset: u64,
    /// Bytes of ring (message storage).
    #[pyo3(get)]
    ring_size: u64,
    /// Largest message payload (tags plus data) accepted.
    #[pyo3(get)]
    max_payload: u64,
    /// Creation time, ns since the Unix epoch.
    #[pyo3(get)]
    created_ns: u64,
    /// Retained messages (the seq span from oldest to newest).
    #[pyo3(get)]
    count: u64,
    /// Seq of the oldest retained message, or None when empty.
    #[pyo3(get)]
    oldest_seq: Option<u64>,
    /// Append time (ns) of the oldest retained message.
    #[pyo3(get)]
    oldest_time_ns: Option<u64>,
    /// Seq of the newest message, or None when empty.
    #[pyo3(get)]
    newest_seq: Option<u64>,
    /// Append time (ns) of the newest message.
    #[pyo3(get)]
    newest_time_ns: Option<u64>,
    /// Ring bytes in use.
    #[pyo3(get)]
    used_bytes: u64,
    info: plasmite::PoolInfo,
}

impl PoolInfo {
    /// Wraps the library's info for the pool called `name`.
    pub fn new(i: plasmite::PoolInfo, name: String) -> Self {
        PoolInfo {
            name,
            path: i.path.to_string_lossy().into_owned(),
            file_size: i.file_size,
            index_offset: i.index_offset,
            index_capacity: i.index_capacity,
            ring_offset: i.ring_offset,
            ring_size: i.ring_size,
            max_payload: i.max_payload,
            created_ns: i.created_ns,
            count: i.count,
            oldest_seq: i.oldest.map(|(s, _)| s),
            oldest_time_ns: i.oldest.map(|(_, t)| t),
            newest_seq: i.newest.map(|(s, _)| s),
            newest_time_ns: i.newest.map(|(_, t)| t),
            used_bytes: i.used_bytes,
            info: i,
        }
    }
}

#[pymethods]
impl PoolInfo {
    /// Share of the ring in use, 0.0 to 1.0.
    #[getter]
    fn utilization(&self) -> f64 {
        self.info.utilization()
    }

    /// The object `pls pool info --json` prints for this pool.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let doc = self
            .info
            .to_json(&self.name, plasmite::time::now_ns())
            .to_string();
        py.import("json")?.call_method1("loads", (doc,))
    }

    fn __repr__(&self) -> String {
        let bounds = match (self.oldest_seq, self.newest_seq) {
            (Some(o), Some(n)) => format!("{o}..{n}"),
            _ => "empty".to_owned(),
        };
        format!(
            "PoolInfo(name={:?}, file_size={}, messages={bounds})",
            self.name, self.file_size
        )
    }
}

/// One pool found by `Client.list_pools()`.
#[pyclass(module = "plasmite", frozen)]
pub struct PoolEntry {
    /// Pool name (file name without `.plasmite`).
    #[pyo3(get)]
    name: String,
    /// Path of the file.
    #[pyo3(get)]
    path: String,
    /// Its info, or None when it could not be read (see `error`).
    info: Option<Py<PoolInfo>>,
    /// Why it could not be read (a `PlasmiteError`), or None.
    error: Option<Py<PyAny>>,
}

#[pymethods]
impl PoolEntry {
    /// Its info, or None when it could not be read (see `error`).
    #[getter]
    fn info(&self, py: Python<'_>) -> Option<Py<PoolInfo>> {
        self.info.as_ref().map(|i| i.clone_ref(py))
    }

    /// Why it could not be read (a `PlasmiteError`), or None.
    #[getter]
    fn error(&self, py: Python<'_>) -> Option<Py<PyAny>> {
        self.error.as_ref().map(|e| e.clone_ref(py))
    }

    fn __repr__(&self) -> String {
        let state = if self.error.is_some() {
            " unreadable"
        } else {
            ""
        };
        format!("<plasmite.PoolEntry {:?}{state}>", self.name)
    }
}
