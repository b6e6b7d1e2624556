//! `Message`: one message as Python sees it.
//!
//! A message is kept as the library stores it — seq, time, the compact tag
//! block and the compact data text — and turned into Python objects only
//! when asked: a consumer that looks at `seq` and `tags`, or forwards
//! `json`, never pays for parsing `data`. `data` is parsed once, with the
//! standard `json` module (so big ints, floats and key order behave exactly
//! as `json.loads` has them), and the same dict is returned afterwards.
//! It calls the decoder's `raw_decode` on a `str` rather than `json.loads`
//! on bytes: stored data is compact, validated JSON, so the encoding
//! detection and whitespace checks `loads` adds (three quarters of its time
//! for a 100-byte object) have nothing to do.

use std::hash::{Hash, Hasher};

use plasmite::RawMessage;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBytes, PyDict};

/// `json.JSONDecoder().raw_decode`, resolved once.
static RAW_DECODE: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
/// `(datetime(1970, 1, 1, tzinfo=timezone.utc), timedelta)`, resolved once.
static EPOCH: PyOnceLock<(Py<PyAny>, Py<PyAny>)> = PyOnceLock::new();

/// A message read from (or just appended to) a pool.
///
/// Envelope as JSON: `{"data":{…},"meta":{"tags":[…]},"seq":N,"time":"RFC3339"}`.
#[pyclass(module = "plasmite", frozen, name = "Message")]
pub struct Message {
    seq: u64,
    time_ns: u64,
    /// The stored tag block: a compact JSON array, empty for no tags.
    tags_json: Vec<u8>,
    /// The data object as compact JSON text.
    data: Vec<u8>,
    /// `data` parsed, on first access.
    parsed: PyOnceLock<Py<PyAny>>,
}

impl Message {
    /// A message from its stored parts.
    pub fn new(seq: u64, time_ns: u64, tags_json: Vec<u8>, data: Vec<u8>) -> Self {
        Message {
            seq,
            time_ns,
            tags_json,
            data,
            parsed: PyOnceLock::new(),
        }
    }

    /// An owned copy of a message borrowed from a reader.
    pub fn from_raw(m: &RawMessage<'_>) -> Self {
        Message::new(m.seq, m.time_ns, m.tags_json.to_vec(), m.data.to_vec())
    }

    /// An owned library message (from `Pool::get`).
    pub fn from_owned(m: plasmite::Message) -> Self {
        Message::new(m.seq, m.time_ns, encode_tags(&m.tags), m.data.into_bytes())
    }

    fn raw(&self) -> RawMessage<'_> {
        RawMessage {
            seq: self.seq,
            time_ns: self.time_ns,
            tags_json: &self.tags_json,
            data: &self.data,
        }
    }

    /// The envelope as compact JSON bytes.
    pub fn envelope(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.data.len() + self.tags_json.len() + 80);
        self.raw().write_json(&mut out);
        out
    }
}

/// Tags as the stored tag block (a compact JSON array; empty for none).
pub fn encode_tags<S: AsRef<str>>(tags: &[S]) -> Vec<u8> {
    let mut block = vec![0u8; plasmite::core::tags::encoded_len(tags)];
    plasmite::core::tags::encode(tags, &mut block);
    block
}

#[pymethods]
impl Message {
    /// Sequence number: 1 for a pool's first message, never reused.
    #[getter]
    fn seq(&self) -> u64 {
        self.seq
    }

    /// Append time in nanoseconds since the Unix epoch (UTC).
    #[getter]
    fn time_ns(&self) -> u64 {
        self.time_ns
    }

    /// Append time as an aware UTC `datetime` (microsecond precision; the
    /// nanoseconds are in `time_ns`).
    #[getter]
    fn time<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let (epoch, timedelta) = EPOCH.get_or_try_init(py, || {
            let dt = py.import("datetime")?;
            let utc = dt.getattr("timezone")?.getattr("utc")?;
            let kwargs = PyDict::new(py);
            kwargs.set_item("tzinfo", utc)?;
            let epoch = dt.getattr("datetime")?.call((1970, 1, 1), Some(&kwargs))?;
            Ok::<_, PyErr>((epoch.unbind(), dt.getattr("timedelta")?.unbind()))
        })?;
        let kwargs = PyDict::new(py);
        kwargs.set_item("microseconds", self.time_ns / 1000)?;
        let delta = timedelta.bind(py).call((), Some(&kwargs))?;
        epoch.bind(py).add(delta)
    }

    /// Append time as RFC 3339 UTC text with nanoseconds, as in the envelope.
    #[getter]
    fn time_rfc3339(&self) -> String {
        plasmite::time::rfc3339(self.time_ns)
    }

    /// Tags, in the order given when appended.
    #[getter]
    fn tags(&self) -> Vec<String> {
        self.raw().tags()
    }

    /// The data object, parsed on first access (then the same dict).
    #[getter]
    fn data(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        self.parsed
            .get_or_try_init(py, || {
                let decode = RAW_DECODE.get_or_try_init(py, || {
                    let decoder = py.import("json")?.getattr("JSONDecoder")?.call0()?;
                    Ok::<_, PyErr>(decoder.getattr("raw_decode")?.unbind())
                })?;
                // Stored data passed the library's JSON validation, so it is
                // UTF-8; the lossy path is never taken for a sound frame.
                let text = String::from_utf8_lossy(&self.data);
                let (value, _end): (Py<PyAny>, usize) =
                    decode.bind(py).call1((text.as_ref(),))?.extract()?;
                Ok::<_, PyErr>(value)
            })
            .map(|d| d.clone_ref(py))
    }

    /// The data object as compact JSON bytes, exactly as stored.
    #[getter]
    fn data_json<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.data)
    }

    /// The whole envelope as compact JSON bytes (what `pls get` prints).
    #[getter]
    fn json<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.envelope())
    }

    /// The envelope as a dict: `{"data", "meta": {"tags"}, "seq", "time"}`.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let meta = PyDict::new(py);
        meta.set_item("tags", self.tags())?;
        let d = PyDict::new(py);
        d.set_item("data", self.data(py)?)?;
        d.set_item("meta", meta)?;
        d.set_item("seq", self.seq)?;
        d.set_item("time", self.time_rfc3339())?;
        Ok(d)
    }

    fn __repr__(&self) -> String {
        const MAX: usize = 80;
        let text = String::from_utf8_lossy(&self.data);
        let data = if text.len() > MAX {
            let mut cut = MAX;
            while !text.is_char_boundary(cut) {
                cut -= 1;
            }
            format!("{}…", &text[..cut])
        } else {
            text.into_owned()
        };
        format!(
            "Message(seq={}, time='{}', tags={:?}, data={})",
            self.seq,
            self.time_rfc3339(),
            self.tags(),
            data
        )
    }

    fn __eq__(&self, other: PyRef<'_, Message>) -> bool {
        self.seq == other.seq
            && self.time_ns == other.time_ns
            && self.tags_json == other.tags_json
            && self.data == other.data
    }

    fn __hash__(&self) -> u64 {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        (self.seq, self.time_ns, &self.tags_json, &self.data).hash(&mut h);
        h.finish()
    }
}
