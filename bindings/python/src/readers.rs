//! `Reader`: one durable named reader of a pool, as `Pool.readers()` lists
//! it. Times are ns since the Unix epoch, as in `PoolInfo`.

use pyo3::prelude::*;

/// A durable named reader and its stored position, at one moment.
#[pyclass(module = "plasmite", frozen)]
pub struct Reader {
    /// The reader's name.
    #[pyo3(get)]
    name: String,
    /// The seq it reads next: every message before it is acknowledged.
    #[pyo3(get)]
    next_seq: u64,
    /// When it last acknowledged, ns since the Unix epoch.
    #[pyo3(get)]
    acked_ns: u64,
    /// When it was created, ns since the Unix epoch.
    #[pyo3(get)]
    created_ns: u64,
}

impl From<plasmite::ReaderInfo> for Reader {
    fn from(r: plasmite::ReaderInfo) -> Self {
        Reader {
            name: r.name,
            next_seq: r.next_seq,
            acked_ns: r.acked_ns,
            created_ns: r.created_ns,
        }
    }
}

#[pymethods]
impl Reader {
    // Names are `[A-Za-z0-9._-]`, so quoting them needs no escaping.
    fn __repr__(&self) -> String {
        format!(
            "Reader(name='{}', next_seq={}, acked_ns={}, created_ns={})",
            self.name, self.next_seq, self.acked_ns, self.created_ns
        )
    }
}
