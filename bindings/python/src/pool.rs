//! `Pool`: append, get, tail, replay and info on one open pool.

use std::sync::Mutex;
use std::time::Duration;

use plasmite::filter::Filter;
use plasmite::json::CompactObject;
use plasmite::{Durability, ErrorKind, TailOptions};
use pyo3::prelude::*;
use pyo3::pybacked::PyBackedStr;
use pyo3::types::{PyBytes, PyString, PyTuple};

use crate::client::PoolInfo;
use crate::errors::{closed, kind_error, usage, OrRaise};
use crate::jsonenc;
use crate::message::{encode_tags, Message};
use crate::readers::Reader;
use crate::stream::Stream;

/// An open pool. Cheap to share between threads; `close()` releases it
/// (streams already opened from it keep their own reference and go on).
#[pyclass(module = "plasmite", frozen)]
pub struct Pool {
    inner: Mutex<Option<plasmite::Pool>>,
    path: String,
}

impl Pool {
    /// Wraps an opened library pool.
    pub fn wrap(pool: plasmite::Pool) -> Self {
        Pool {
            path: pool.path().to_string_lossy().into_owned(),
            inner: Mutex::new(Some(pool)),
        }
    }

    /// The library pool (a cheap clone, so no lock is held across a wait).
    fn pool(&self) -> PyResult<plasmite::Pool> {
        self.inner
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
            .ok_or_else(|| closed("pool"))
    }
}

/// `tags` as given: an iterable of str; a lone str is refused, since
/// iterating it would tag the message with each of its characters.
fn tag_list(tags: Option<&Bound<'_, PyAny>>) -> PyResult<Vec<PyBackedStr>> {
    let Some(tags) = tags else {
        return Ok(Vec::new());
    };
    if tags.is_instance_of::<PyString>() {
        return Err(usage(
            "tags must be a list of str, not one str (write tags=[\"x\"])",
        ));
    }
    if let Ok(t) = tags.cast::<PyTuple>() {
        if t.is_empty() {
            return Ok(Vec::new());
        }
    }
    let mut out = Vec::new();
    for t in tags.try_iter()? {
        let t = t?;
        match t.extract::<PyBackedStr>() {
            Ok(s) => out.push(s),
            Err(_) => {
                return Err(usage(format!(
                    "tags must be str, got {}",
                    t.get_type().name()?
                )))
            }
        }
    }
    Ok(out)
}

fn durability(d: u32) -> PyResult<Durability> {
    match d {
        0 => Ok(Durability::Fast),
        1 => Ok(Durability::Flush),
        _ => Err(usage(format!(
            "durability must be Durability.FAST (0) or Durability.FLUSH (1), got {d}"
        ))),
    }
}

/// Seconds (int or float, ≥ 0) as a Duration.
fn seconds(what: &str, s: f64) -> PyResult<Duration> {
    Duration::try_from_secs_f64(s)
        .map_err(|_| usage(format!("{what} must be a number of seconds ≥ 0, got {s}")))
}

/// Appends validated, compact data with `tags`, releasing the GIL only for
/// a flushed append, which waits for the disk.
fn append_object(
    py: Python<'_>,
    pool: &plasmite::Pool,
    data: CompactObject,
    tags: &[PyBackedStr],
    d: Durability,
) -> PyResult<Message> {
    let refs: Vec<&str> = tags.iter().map(|t| &**t).collect();
    let run = || -> plasmite::Result<plasmite::Receipt> {
        let mut batch = pool.batch()?;
        let r = batch.append_object(&data, &refs)?;
        batch.finish(d)?;
        Ok(r)
    };
    let receipt = if d == Durability::Flush {
        py.detach(run)
    } else {
        run()
    }
    .or_raise()?;
    // The returned message is exactly what readers will see: the stored
    // compact text, not the caller's spelling.
    Ok(Message::new(
        receipt.seq,
        receipt.time_ns,
        encode_tags(&refs),
        data.into_inner(),
    ))
}

#[pymethods]
impl Pool {
    /// Path of the pool file.
    #[getter]
    fn path(&self) -> &str {
        &self.path
    }

    /// Whether `close()` was called.
    #[getter]
    fn closed(&self) -> bool {
        self.inner
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .is_none()
    }

    /// Appends `data` (a dict) with `tags`; returns the stored message.
    #[pyo3(signature = (data, tags = None, durability = 0))]
    fn append(
        &self,
        py: Python<'_>,
        data: &Bound<'_, PyAny>,
        tags: Option<&Bound<'_, PyAny>>,
        durability: u32,
    ) -> PyResult<Message> {
        let d = self::durability(durability)?;
        let pool = self.pool()?;
        let tags = tag_list(tags)?;
        let mut text = Vec::with_capacity(128);
        jsonenc::encode_object(data, &mut text)?;
        // Validated by the library all the same: the encoder is ours, the
        // pool's integrity is not its to risk.
        let data = CompactObject::parse(&text).or_raise()?;
        append_object(py, &pool, data, &tags, d)
    }

    /// Appends JSON object text (bytes, bytearray, memoryview or str) as is:
    /// key order and number spelling are kept.
    #[pyo3(signature = (data, tags = None, durability = 0))]
    fn append_json(
        &self,
        py: Python<'_>,
        data: &Bound<'_, PyAny>,
        tags: Option<&Bound<'_, PyAny>>,
        durability: u32,
    ) -> PyResult<Message> {
        let d = self::durability(durability)?;
        let pool = self.pool()?;
        let tags = tag_list(tags)?;
        let owned: Vec<u8>;
        let raw: &[u8] = if let Ok(s) = data.cast::<PyString>() {
            s.to_str()?.as_bytes()
        } else if let Ok(b) = data.cast::<PyBytes>() {
            b.as_bytes()
        } else if let Ok(v) = data.extract::<Vec<u8>>() {
            // bytearray, memoryview and other byte sequences.
            owned = v;
            &owned
        } else {
            return Err(usage(format!(
                "append_json takes JSON text as bytes or str, got {}",
                data.get_type().name()?
            )));
        };
        let data = CompactObject::parse(raw).or_raise()?;
        append_object(py, &pool, data, &tags, d)
    }

    /// The message with `seq`.
    fn get(&self, seq: &Bound<'_, PyAny>) -> PyResult<Message> {
        let seq = seq_arg(seq)?;
        Ok(Message::from_owned(self.pool()?.get(seq).or_raise()?))
    }

    /// The message with `seq` as its envelope's compact JSON bytes.
    fn get_json<'py>(
        &self,
        py: Python<'py>,
        seq: &Bound<'_, PyAny>,
    ) -> PyResult<Bound<'py, PyBytes>> {
        let seq = seq_arg(seq)?;
        let m = Message::from_owned(self.pool()?.get(seq).or_raise()?);
        Ok(PyBytes::new(py, &m.envelope()))
    }

    /// A stream of messages: see the stubs for the arguments. With `name`,
    /// a durable named reader whose position is kept in the pool; it
    /// acknowledges each message when the next is asked for, unless
    /// `auto_ack` is false (then only `Stream.ack()` does).
    #[allow(clippy::too_many_arguments)]
    #[pyo3(signature = (since_seq = None, last = None, max_messages = None, timeout = None, tags = None, r#where = None, *, name = None, auto_ack = true))]
    fn tail(
        &self,
        since_seq: Option<u64>,
        last: Option<u64>,
        max_messages: Option<u64>,
        timeout: Option<f64>,
        tags: Option<&Bound<'_, PyAny>>,
        r#where: Option<&Bound<'_, PyAny>>,
        name: Option<String>,
        auto_ack: bool,
    ) -> PyResult<Stream> {
        let mut opts = tail_options(since_seq, last, max_messages, timeout, tags, r#where)?;
        if let Some(n) = &name {
            opts = opts.name(n.as_str()).auto_ack(auto_ack);
        }
        let tail = self.pool()?.tail(opts).or_raise()?;
        Ok(Stream::new(tail, None, name))
    }

    /// The history (from `since_seq`, or the `last` matches, else all),
    /// paced by the messages' append times divided by `speed` (0: no
    /// delay); ends when caught up.
    // No `name`: a replay shows history again (to watch or test against
    // it); storing a position would make the next replay skip what this
    // one showed. Durable consumers use `tail(name=...)`.
    #[pyo3(signature = (speed = 1.0, since_seq = None, last = None, max_messages = None, tags = None, r#where = None))]
    fn replay(
        &self,
        speed: f64,
        since_seq: Option<u64>,
        last: Option<u64>,
        max_messages: Option<u64>,
        tags: Option<&Bound<'_, PyAny>>,
        r#where: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Stream> {
        if !(speed.is_finite() && speed >= 0.0) {
            return Err(usage(format!(
                "speed must be a finite number ≥ 0 (0: no delay), got {speed}"
            )));
        }
        let opts = tail_options(since_seq, last, max_messages, None, tags, r#where)?;
        let tail = self.pool()?.tail(opts).or_raise()?;
        Ok(Stream::new(tail, Some(speed), None))
    }

    /// What the pool holds right now.
    fn info(&self) -> PyResult<PoolInfo> {
        let pool = self.pool()?;
        let name = pool
            .path()
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        Ok(PoolInfo::new(pool.info().or_raise()?, name))
    }

    /// Every durable named reader of this pool (see `tail(name=...)`), in
    /// the order of the pool's reader table.
    fn readers(&self) -> PyResult<Vec<Reader>> {
        Ok(self
            .pool()?
            .readers()
            .into_iter()
            .map(Reader::from)
            .collect())
    }

    /// Forgets the named reader `name` (NotFoundError if there is none): a
    /// later tail of that name starts afresh, as its options say.
    fn delete_reader(&self, name: &str) -> PyResult<()> {
        self.pool()?.delete_reader(name).or_raise()
    }

    /// Releases the pool. Later calls raise `UsageError`; streams opened
    /// from it are not affected.
    fn close(&self) {
        self.inner.lock().unwrap_or_else(|p| p.into_inner()).take();
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
        format!("<plasmite.Pool {:?}{state}>", self.path)
    }
}

/// A seq argument: a non-negative int.
pub(crate) fn seq_arg(seq: &Bound<'_, PyAny>) -> PyResult<u64> {
    seq.extract::<u64>().map_err(|_| {
        let shown = seq
            .repr()
            .map(|r| r.to_string())
            .unwrap_or_else(|_| "?".to_owned());
        usage(format!("seq must be an int ≥ 0, got {shown}"))
    })
}

fn tail_options(
    since_seq: Option<u64>,
    last: Option<u64>,
    max_messages: Option<u64>,
    timeout: Option<f64>,
    tags: Option<&Bound<'_, PyAny>>,
    r#where: Option<&Bound<'_, PyAny>>,
) -> PyResult<TailOptions> {
    let mut opts = TailOptions::default();
    match (since_seq, last) {
        (Some(_), Some(_)) => {
            return Err(usage("give since_seq or last, not both"));
        }
        (Some(s), None) => opts = opts.since_seq(s),
        (None, Some(n)) => opts = opts.last(n),
        (None, None) => {}
    }
    if let Some(n) = max_messages {
        opts = opts.max(n);
    }
    if let Some(t) = timeout {
        opts = opts.idle_timeout(seconds("timeout", t)?);
    }
    let tags = tag_list(tags)?;
    if !tags.is_empty() {
        opts = opts.tags(tags.iter().map(|t| t.to_string()));
    }
    let exprs: Vec<String> = tag_list(r#where)
        .map_err(|_| usage("where must be a list of jq predicates (str)"))?
        .iter()
        .map(|e| e.to_string())
        .collect();
    if !exprs.is_empty() {
        let filter =
            Filter::compile(&exprs).map_err(|e| kind_error(ErrorKind::Usage, &e.to_string()))?;
        opts = opts.filter(filter);
    }
    Ok(opts)
}
