//! `NativeTail`: a library `Tail` whose waits run on a thread of its own.
//!
//! Reading what is already in the pool is a memory copy, so `readNow` does it
//! right on the JavaScript thread, many messages per call. Only when nothing
//! is there does `wait` hand the tail to its worker thread, which sleeps on
//! the pool's futex and settles a promise once something arrives: the event
//! loop never blocks, and a waiting tail holds no libuv pool thread (which
//! `fs`, `dns` and `zlib` share). The worker waits in short slices so that
//! `cancel` takes effect within one slice.
//!
//! A durable named tail reads one message per call instead of a batch. The
//! library's auto-ack stores a position each time the tail is polled, and
//! reading a batch polls ahead of the JavaScript loop: a consumer that died
//! would have acknowledged messages it never saw. One message per call
//! means the library polls when JavaScript asks for the next message and at
//! no other time. `ack` stores the position after the last message handed
//! to JavaScript (recorded on the JavaScript thread) with one atomic store
//! through the reader's own handle, so it never waits for the worker's lock
//! and never acknowledges a message the worker has found but not yet
//! handed over.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{channel, Sender};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use napi::bindgen_prelude::*;
use napi::{JsDeferred, JsString};
use napi_derive::napi;
use plasmite::{Resume, Tail, TailPoll};

use crate::error::{to_js, usage, OrThrow};

/// Longest a cancelled wait goes unnoticed. New messages wake the worker at
/// once (futex); this only bounds how long `cancel` takes.
const SLICE: Duration = Duration::from_millis(20);

/// What a read found.
enum Chunk {
    /// Envelopes in `State::out`: a JSON array, or one per line (see
    /// `Shared::lines`).
    Batch,
    /// Nothing yet; the tail goes on.
    Nothing,
    /// The tail is over (max reached, idle timeout, or cancelled).
    End,
}

/// How much one read may return.
#[derive(Clone, Copy)]
struct Limits {
    messages: u32,
    bytes: usize,
}

struct State {
    tail: Tail,
    ended: bool,
    // An error met after some messages were already batched: reported by
    // the next read, so those messages are not lost.
    held_error: Option<plasmite::Error>,
    // The batch being built; kept between reads so a hot read loop does not
    // allocate (and fault in) a fresh buffer per batch.
    out: Vec<u8>,
}

impl State {
    /// The batch in `out` as text. Envelopes are UTF-8 (data was validated
    /// as JSON text when appended, and frames are checksummed); lossy only
    /// as a fallback.
    fn text(&self) -> std::borrow::Cow<'_, str> {
        String::from_utf8_lossy(&self.out)
    }
}

struct Shared {
    state: Mutex<State>,
    // Batches as lines (`e1\ne2`) rather than a JSON array (`[e1,e2]`).
    lines: bool,
    // A named tail: one message per read (see the module docs).
    one_at_a_time: bool,
    // The position after the last message handed to JavaScript: what `ack`
    // stores. Written on the JavaScript thread only.
    handed: AtomicU64,
    cancelled: AtomicBool,
    delivered: AtomicU64,
    dropped: AtomicU64,
    damaged: AtomicU64,
    next_seq: AtomicU64,
}

type Resolver = Box<dyn FnOnce(Env) -> Result<Option<String>> + Send>;

/// A batch's text and the tail's position after it.
type Found = (String, u64);

/// One `wait` request for the worker thread.
struct Job {
    limits: Limits,
    deferred: JsDeferred<Option<String>, Resolver>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Reads up to `limits` of what is there, waiting at most `first_wait`
    /// for the first message.
    fn collect(
        &self,
        state: &mut State,
        limits: Limits,
        first_wait: Duration,
    ) -> plasmite::Result<Chunk> {
        if let Some(e) = state.held_error.take() {
            return Err(e);
        }
        if state.ended || self.cancelled.load(Ordering::Acquire) {
            state.ended = true;
            return Ok(Chunk::End);
        }
        let (open, sep) = if self.lines {
            (None, b'\n')
        } else {
            (Some(b'['), b',')
        };
        let mut out = Vec::with_capacity(4096);
        out.extend(open);
        let mut n = 0u32;
        let mut wait = first_wait;
        loop {
            match state.tail.poll(Some(wait)) {
                Ok(TailPoll::Message(m)) => {
                    if n > 0 {
                        out.push(sep);
                    }
                    m.write_json(&mut out);
                    n += 1;
                    wait = Duration::ZERO;
                    if n >= limits.messages || out.len() >= limits.bytes {
                        break;
                    }
                }
                Ok(TailPoll::Pending) => break,
                Ok(TailPoll::End) => {
                    state.ended = true;
                    break;
                }
                Err(e) if n == 0 => {
                    self.record(&state.tail);
                    state.out = out;
                    return Err(e);
                }
                Err(e) => {
                    state.held_error = Some(e);
                    break;
                }
            }
        }
        self.record(&state.tail);
        if open.is_some() {
            out.push(b']');
        }
        state.out = out;
        Ok(match n {
            0 if state.ended => Chunk::End,
            0 => Chunk::Nothing,
            _ => Chunk::Batch,
        })
    }

    /// Waits (in slices, watching for `cancel`) until something arrives or
    /// the tail ends: the batch's text and the position after it, or `None`
    /// at the end.
    fn wait(&self, limits: Limits) -> plasmite::Result<Option<Found>> {
        let mut state = self.lock();
        Ok(self
            .wait_batch(&mut state, limits)?
            .then(|| (state.text().into_owned(), state.tail.next_seq())))
    }

    /// Waits in slices (watching for `cancel`) until a batch is in
    /// `state.out` (true) or the tail is over (false).
    fn wait_batch(&self, state: &mut State, limits: Limits) -> plasmite::Result<bool> {
        loop {
            match self.collect(state, limits, SLICE)? {
                Chunk::Nothing => continue,
                Chunk::Batch => return Ok(true),
                Chunk::End => return Ok(false),
            }
        }
    }

    /// How much one read may return: one message for a named tail.
    fn limits(&self, max_messages: u32, max_bytes: u32) -> Limits {
        Limits {
            messages: if self.one_at_a_time {
                1
            } else {
                max_messages.max(1)
            },
            bytes: (max_bytes as usize).max(1),
        }
    }

    fn record(&self, tail: &Tail) {
        self.delivered.store(tail.delivered(), Ordering::Relaxed);
        self.dropped.store(tail.dropped(), Ordering::Relaxed);
        self.damaged.store(tail.damaged(), Ordering::Relaxed);
        self.next_seq.store(tail.next_seq(), Ordering::Relaxed);
    }
}

/// A filtered, bounded reader of one pool (see the module docs).
#[napi]
pub struct NativeTail {
    shared: Arc<Shared>,
    // The worker thread's queue, started by the first `wait`.
    jobs: Option<Sender<Job>>,
    // A named tail's reader, for `ack`.
    resume: Option<Resume>,
}

impl NativeTail {
    /// `resume` is the named reader of a named tail (`None` for another).
    pub(crate) fn new(tail: Tail, lines: bool, resume: Option<Resume>) -> Self {
        let next_seq = tail.next_seq();
        NativeTail {
            shared: Arc::new(Shared {
                lines,
                one_at_a_time: resume.is_some(),
                handed: AtomicU64::new(next_seq),
                cancelled: AtomicBool::new(false),
                delivered: AtomicU64::new(tail.delivered()),
                // A named tail starts with what the ring evicted while it was away.
                dropped: AtomicU64::new(tail.dropped()),
                damaged: AtomicU64::new(tail.damaged()),
                next_seq: AtomicU64::new(next_seq),
                state: Mutex::new(State {
                    tail,
                    ended: false,
                    held_error: None,
                    out: Vec::new(),
                }),
            }),
            jobs: None,
            resume,
        }
    }

    /// The worker thread's queue, starting the thread on first use.
    fn worker(&mut self) -> plasmite::Result<&Sender<Job>> {
        let tx = match self.jobs.take() {
            Some(tx) => tx,
            None => {
                let (tx, rx) = channel::<Job>();
                let shared = Arc::clone(&self.shared);
                std::thread::Builder::new()
                    .name("plasmite-tail".into())
                    .spawn(move || {
                        for job in rx {
                            let outcome = shared.wait(job.limits);
                            let shared = Arc::clone(&shared);
                            // Runs on the JavaScript thread as the promise
                            // settles: only now is the batch handed over.
                            let resolver: Resolver = Box::new(move |env| match outcome {
                                Ok(Some((text, after))) => {
                                    shared.handed.store(after, Ordering::Release);
                                    Ok(Some(text))
                                }
                                Ok(None) => Ok(None),
                                Err(e) => Err(to_js(&env, &e)),
                            });
                            job.deferred.resolve(resolver);
                        }
                    })
                    .map_err(|e| {
                        plasmite::Error::new(
                            plasmite::ErrorKind::Io,
                            format!("cannot start a tail thread: {e}"),
                        )
                    })?;
                tx
            }
        };
        Ok(self.jobs.insert(tx))
    }
}

#[napi]
impl NativeTail {
    /// What is there now, without waiting: up to `max_messages` envelopes
    /// (fewer once `max_bytes` is passed; one for a named tail) as a JSON
    /// array or one per line, `""` when nothing has arrived yet, `null` once
    /// the tail is over.
    #[napi(ts_return_type = "string | null")]
    pub fn read_now<'env>(
        &self,
        env: &'env Env,
        max_messages: u32,
        max_bytes: u32,
    ) -> Result<Option<JsString<'env>>> {
        // The worker holds the state only while a `wait` is pending; then
        // there is nothing to read here either.
        let Ok(mut state) = self.shared.state.try_lock() else {
            return env.create_string("").map(Some);
        };
        let limits = self.shared.limits(max_messages, max_bytes);
        let chunk = self
            .shared
            .collect(&mut state, limits, Duration::ZERO)
            .or_throw(env)?;
        if let Chunk::Batch = chunk {
            self.shared
                .handed
                .store(state.tail.next_seq(), Ordering::Release);
        }
        match chunk {
            // Most envelopes are ASCII: then V8 takes the bytes as they are
            // (a copy), without decoding UTF-8.
            Chunk::Batch if state.out.is_ascii() => env.create_string_latin1(&state.out).map(Some),
            Chunk::Batch => env.create_string(state.text()).map(Some),
            Chunk::Nothing => env.create_string("").map(Some),
            Chunk::End => Ok(None),
        }
    }

    /// Waits on the tail's own thread until at least one message is there:
    /// resolves to envelopes as in `readNow`, or `null` once the tail is over
    /// or cancelled; rejects with a `PlasmiteError`.
    #[napi(ts_return_type = "Promise<string | null>")]
    pub fn wait<'env>(
        &mut self,
        env: &'env Env,
        max_messages: u32,
        max_bytes: u32,
    ) -> Result<Object<'env>> {
        let (deferred, promise) = env.create_deferred::<Option<String>, Resolver>()?;
        let job = Job {
            limits: self.shared.limits(max_messages, max_bytes),
            deferred,
        };
        let sent = self.worker().or_throw(env)?.send(job);
        if let Err(std::sync::mpsc::SendError(job)) = sent {
            // The worker is gone (it cannot panic, but be safe): end here.
            job.deferred.resolve(Box::new(|_| Ok(None)));
        }
        Ok(promise)
    }

    /// The next messages' envelopes as bytes, one per line (no trailing
    /// newline), blocking this thread until the first arrives, then taking
    /// the others already there, up to `max_messages` (one for a named
    /// tail) and about `max_bytes`; `null` once the tail is over. For
    /// scripts that want a plain loop; servers should use the async
    /// iterator instead.
    #[napi]
    pub fn next_lines(
        &self,
        env: Env,
        max_messages: u32,
        max_bytes: u32,
    ) -> Result<Option<BufferSlice<'_>>> {
        let mut state = self.shared.lock();
        let limits = self.shared.limits(max_messages, max_bytes);
        let found = self
            .shared
            .wait_batch(&mut state, limits)
            .map_err(|e| to_js(&env, &e))?;
        if !found {
            return Ok(None);
        }
        self.shared
            .handed
            .store(state.tail.next_seq(), Ordering::Release);
        BufferSlice::copy_from(&env, &state.out).map(Some)
    }

    /// Acknowledges every message handed out so far (by `readNow`, a settled
    /// `wait`, or `nextLines`): a named tail stores the position after them,
    /// so the next tail of that name starts there. Never includes a message
    /// a pending `wait` has not delivered yet. One atomic store in the pool
    /// file; it survives the process, not a power cut. Does nothing for a
    /// tail without a name. Works after `cancel` too.
    #[napi]
    pub fn ack(&self) {
        if let Some(resume) = &self.resume {
            resume.store(self.shared.handed.load(Ordering::Acquire));
        }
    }

    /// Acknowledges the messages up to and including `seq`, never past what
    /// was handed out (it may move the stored position back): for a
    /// consumer that hands messages on and learns later which were handled.
    /// Does nothing for a tail without a name.
    #[napi]
    pub fn ack_through(&self, env: &Env, seq: f64) -> Result<()> {
        if !(seq.is_finite() && seq >= 0.0) {
            let e = usage(format!("seq must be a finite number >= 0, got {seq}"));
            return Err(to_js(env, &e));
        }
        if let Some(resume) = &self.resume {
            let handed = self.shared.handed.load(Ordering::Acquire);
            resume.store((seq as u64).saturating_add(1).min(handed));
        }
        Ok(())
    }

    /// Ends the tail: a pending `wait` resolves to `null` within a few
    /// milliseconds, and every later read finds the end.
    #[napi]
    pub fn cancel(&self) {
        self.shared.cancelled.store(true, Ordering::Release);
    }

    /// Messages delivered so far.
    #[napi(getter)]
    pub fn delivered(&self) -> f64 {
        self.shared.delivered.load(Ordering::Relaxed) as f64
    }

    /// Messages writers evicted before this tail could read them (for a
    /// named tail, including those evicted while the reader was away).
    #[napi(getter)]
    pub fn dropped(&self) -> f64 {
        self.shared.dropped.load(Ordering::Relaxed) as f64
    }

    /// Damaged frames stepped over.
    #[napi(getter)]
    pub fn damaged(&self) -> f64 {
        self.shared.damaged.load(Ordering::Relaxed) as f64
    }

    /// The seq read next: resume after a restart with `sinceSeq` of this.
    #[napi(getter)]
    pub fn next_seq(&self) -> f64 {
        self.shared.next_seq.load(Ordering::Relaxed) as f64
    }
}

impl Drop for NativeTail {
    fn drop(&mut self) {
        // Collected by the GC: stop a pending wait; dropping the queue then
        // ends the worker thread.
        self.shared.cancelled.store(true, Ordering::Release);
    }
}
