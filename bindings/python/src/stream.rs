//! `Stream`: a library `Tail` as a Python iterator.
//!
//! Reading what is already in the pool costs no lock and no GIL release:
//! `__next__` first polls without waiting. Only when it must wait does it
//! let go of the GIL, and then in short slices, checking for signals
//! (Ctrl-C raises `KeyboardInterrupt` within a slice) and for `close()`
//! called from another thread between slices. The wait itself sleeps on
//! the pool's futex, so a writer in any process wakes it at once.
//!
//! Filtering (tags, jq `where` predicates), `max_messages`, `last`, the
//! idle timeout and durable named readers (`name`, auto-acknowledgement)
//! are the library's (`plasmite::TailOptions`); this file only drives it.
//!
//! A named stream keeps its library tail after `close()`, so that `ack()`
//! can still store what was delivered before: a consumer stopped by
//! `close()` from another thread (a signal handler, a shutdown hook) while
//! it handles a message acknowledges that message as usual.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, TryLockError};
use std::time::{Duration, Instant};

use plasmite::{RawMessage, Tail, TailPoll};
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use crate::errors::{usage, OrRaise};
use crate::message::Message;
use crate::pool::seq_arg;

/// Longest stretch spent waiting without the GIL before looking for
/// signals and `close()`: the worst-case delay of a Ctrl-C.
const SLICE: Duration = Duration::from_millis(50);

/// An iterator over a pool's messages: see `Pool.tail` and `Pool.replay`.
#[pyclass(module = "plasmite", frozen)]
pub struct Stream {
    state: Mutex<State>,
    /// The durable named reader's name, if any.
    name: Option<String>,
    /// Set by `close()`; seen by a reader in another thread between slices.
    cancelled: AtomicBool,
    delivered: AtomicU64,
    dropped: AtomicU64,
    damaged: AtomicU64,
    next_seq: AtomicU64,
}

struct State {
    /// `None` once closed (a named stream keeps it, for `ack()`).
    tail: Option<Tail>,
    /// Replays pace messages by their append times and end when caught up.
    pacer: Option<Pacer>,
    /// A replay that caught up, or a tail that reported its end.
    ended: bool,
}

/// Replay pacing: message `i` is due `Σ Δtime / speed` after the first,
/// as `pls peek --replay` paces them.
struct Pacer {
    speed: f64,
    started: Option<Instant>,
    offset: Duration,
    prev_ns: Option<u64>,
}

/// What one poll produced, owned (so it can cross a GIL release).
enum Got<T> {
    Item(T),
    Pending,
    End,
}

impl Stream {
    /// A stream over `tail`; with `replay` (a speed ≥ 0), a paced replay;
    /// `name` is the durable named reader `tail` was opened as, if any.
    pub fn new(tail: Tail, replay: Option<f64>, name: Option<String>) -> Self {
        let (next_seq, dropped) = (tail.next_seq(), tail.dropped());
        Stream {
            state: Mutex::new(State {
                tail: Some(tail),
                pacer: replay.map(|speed| Pacer {
                    speed,
                    started: None,
                    offset: Duration::ZERO,
                    prev_ns: None,
                }),
                ended: false,
            }),
            name,
            cancelled: AtomicBool::new(false),
            delivered: AtomicU64::new(0),
            // A named reader that was away already knows what the ring
            // evicted meanwhile: `dropped` says so before the first message.
            dropped: AtomicU64::new(dropped),
            damaged: AtomicU64::new(0),
            next_seq: AtomicU64::new(next_seq),
        }
    }

    /// The state, unless another thread is reading: blocking on the lock
    /// while holding the GIL could deadlock with that reader, which needs
    /// the GIL back to finish its wait.
    fn lock(&self) -> PyResult<MutexGuard<'_, State>> {
        match self.state.try_lock() {
            Ok(g) => Ok(g),
            Err(TryLockError::Poisoned(p)) => Ok(p.into_inner()),
            Err(TryLockError::WouldBlock) => Err(usage(
                "plasmite: stream is being read by another thread; use one stream per thread",
            )),
        }
    }

    /// Lets go of the tail once closed, unless it is named: `ack()` still
    /// needs it then.
    fn release(&self, st: &mut State) {
        if self.name.is_none() {
            st.tail = None;
        }
        st.ended = true;
    }

    fn note(&self, tail: &Tail) {
        self.delivered.store(tail.delivered(), Ordering::Relaxed);
        self.dropped.store(tail.dropped(), Ordering::Relaxed);
        self.damaged.store(tail.damaged(), Ordering::Relaxed);
        self.next_seq.store(tail.next_seq(), Ordering::Relaxed);
    }

    /// The next message, rendered by `make` (to a `Message`, or envelope
    /// bytes); `None` at the end.
    fn next_with<T: Send>(
        &self,
        py: Python<'_>,
        make: impl Fn(&RawMessage<'_>) -> T + Sync,
    ) -> PyResult<Option<T>> {
        let mut guard = self.lock()?;
        let st = &mut *guard;
        // A closed stream ends, like a closed generator: a consumer loop
        // stops cleanly whether close() came while it waited or between
        // two messages.
        if self.cancelled.load(Ordering::Acquire) {
            self.release(st);
            return Ok(None);
        }
        let Some(tail) = st.tail.as_mut() else {
            return Ok(None);
        };
        if st.ended {
            return Ok(None);
        }
        // Fast path: whatever is already there, without letting go of the GIL.
        let mut got = poll(tail, Duration::ZERO, &make).or_raise()?;
        if matches!(got, Got::Pending) && st.pacer.is_some() {
            // A replay covers the history there is, then ends.
            got = Got::End;
        }
        while matches!(got, Got::Pending) {
            got = py.detach(|| poll(tail, SLICE, &make)).or_raise()?;
            if matches!(got, Got::Pending) {
                self.note(tail);
                py.check_signals()?;
                if self.cancelled.load(Ordering::Acquire) {
                    self.release(st);
                    return Ok(None);
                }
            }
        }
        self.note(tail);
        match got {
            Got::Item((item, time_ns)) => {
                if let Some(p) = st.pacer.as_mut() {
                    if let Some(due) = p.due(time_ns) {
                        if !self.sleep_until(py, due)? {
                            self.release(st);
                            return Ok(None);
                        }
                    }
                }
                Ok(Some(item))
            }
            Got::End | Got::Pending => {
                st.ended = true;
                Ok(None)
            }
        }
    }

    /// Sleeps until `due` without the GIL, in slices; false if `close()`
    /// was called meanwhile.
    fn sleep_until(&self, py: Python<'_>, due: Instant) -> PyResult<bool> {
        loop {
            let now = Instant::now();
            if now >= due {
                return Ok(true);
            }
            let nap = (due - now).min(SLICE);
            py.detach(|| std::thread::sleep(nap));
            py.check_signals()?;
            if self.cancelled.load(Ordering::Acquire) {
                return Ok(false);
            }
        }
    }
}

impl Pacer {
    /// When the message appended at `time_ns` is due, if it must wait.
    fn due(&mut self, time_ns: u64) -> Option<Instant> {
        let started = *self.started.get_or_insert_with(Instant::now);
        let prev = self.prev_ns.replace(time_ns);
        if self.speed <= 0.0 {
            return None;
        }
        let prev = prev?;
        let delta = Duration::from_nanos(time_ns.saturating_sub(prev));
        self.offset += delta.div_f64(self.speed);
        Some(started + self.offset)
    }
}

/// One poll of `tail`, waiting at most `wait`.
fn poll<T>(
    tail: &mut Tail,
    wait: Duration,
    make: &impl Fn(&RawMessage<'_>) -> T,
) -> plasmite::Result<Got<(T, u64)>> {
    Ok(match tail.poll(Some(wait))? {
        TailPoll::Message(m) => Got::Item((make(&m), m.time_ns)),
        TailPoll::Pending => Got::Pending,
        TailPoll::End => Got::End,
    })
}

#[pymethods]
impl Stream {
    fn __iter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    fn __next__(&self, py: Python<'_>) -> PyResult<Option<Message>> {
        self.next_with(py, Message::from_raw)
    }

    /// The next message's envelope as compact JSON bytes, or `None` at the
    /// end: the cheapest way to forward messages without looking inside.
    fn next_json<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyBytes>>> {
        let env = self.next_with(py, |m| {
            let mut out = Vec::with_capacity(m.data.len() + m.tags_json.len() + 80);
            m.write_json(&mut out);
            out
        })?;
        Ok(env.map(|e| PyBytes::new(py, &e)))
    }

    /// Messages delivered so far.
    #[getter]
    fn delivered(&self) -> u64 {
        self.delivered.load(Ordering::Relaxed)
    }

    /// Messages evicted by writers before this stream could read them;
    /// for a named stream, including those evicted while the reader was
    /// away (known as soon as the stream is opened).
    #[getter]
    fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Damaged frames stepped over.
    #[getter]
    fn damaged(&self) -> u64 {
        self.damaged.load(Ordering::Relaxed)
    }

    /// The seq this stream reads next (to resume later with `since_seq`).
    #[getter]
    fn next_seq(&self) -> u64 {
        self.next_seq.load(Ordering::Relaxed)
    }

    /// The durable named reader this stream reads as, or None.
    #[getter]
    fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    /// Acknowledges every message delivered so far: for a named stream,
    /// stores its position in the pool, so the next stream of that name
    /// starts after them. One atomic store in the pool file (no file lock,
    /// no syscall); it survives the process, not a power cut. Works after
    /// `close()` too, for what was delivered before it. Does nothing for an
    /// unnamed stream.
    fn ack(&self) -> PyResult<()> {
        if self.name.is_none() {
            return Ok(());
        }
        let st = self.lock()?;
        if let Some(tail) = st.tail.as_ref() {
            tail.ack();
        }
        Ok(())
    }

    /// Acknowledges the messages up to and including `seq`, never past what
    /// was delivered (it may move the stored position back): for a consumer
    /// that hands messages to other threads and learns later which were
    /// handled. Does nothing for an unnamed stream.
    fn ack_through(&self, seq: &Bound<'_, PyAny>) -> PyResult<()> {
        let seq = seq_arg(seq)?;
        if self.name.is_none() {
            return Ok(());
        }
        let st = self.lock()?;
        if let Some(tail) = st.tail.as_ref() {
            tail.ack_through(seq);
        }
        Ok(())
    }

    /// Whether `close()` was called.
    #[getter]
    fn closed(&self) -> bool {
        self.cancelled.load(Ordering::Acquire)
    }

    /// Stops the stream: iteration ends (`StopIteration`, `next_json()`
    /// returns None), as after closing a generator. Safe from any thread:
    /// a reader blocked in another thread wakes within a fraction of a
    /// second and its loop ends. It acknowledges nothing: for a named
    /// stream the message being handled comes again unless `ack()` is
    /// called.
    fn close(&self) {
        self.cancelled.store(true, Ordering::Release);
        if let Ok(mut st) = self.state.try_lock() {
            self.release(&mut st);
        }
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    #[pyo3(signature = (*_exc))]
    fn __exit__(&self, _exc: &Bound<'_, pyo3::types::PyTuple>) -> bool {
        self.close();
        false
    }

    fn __repr__(&self) -> String {
        let state = if self.closed() { "closed" } else { "open" };
        let name = self
            .name
            .as_deref()
            .map(|n| format!(" name='{n}'"))
            .unwrap_or_default();
        format!(
            "<plasmite.Stream {state}{name} next_seq={} delivered={}>",
            self.next_seq(),
            self.delivered()
        )
    }
}
