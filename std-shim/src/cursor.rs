//! Readers: non-blocking and blocking iteration over a pool.

use std::sync::atomic::{fence, Ordering};
use std::time::{Duration, Instant};

use plasmite_core::{Cursor as Position, FrameInfo, Read};

use crate::error::{Error, Result};
use crate::message::{Message, RawMessage};
use crate::pool::Pool;
use crate::wake;

pub use plasmite_core::Start;

/// What a reader gets next.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// A message.
    Message(Message),
    /// The writer evicted this many messages before the reader got to them.
    Dropped {
        /// How many.
        missed: u64,
    },
}

/// [`Event`] borrowing the reader's buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RawEvent<'a> {
    /// A message, valid until the next read.
    Message(RawMessage<'a>),
    /// The writer evicted this many messages before the reader got to them.
    Dropped {
        /// How many.
        missed: u64,
    },
}

/// A reader's position in a pool. Takes no lock; any number of readers in
/// any number of processes read while writers append.
pub struct Cursor {
    pool: Pool,
    pos: Position,
    buf: Vec<u8>,
    tags: Vec<String>,
}

/// Longest single futex wait: a safety net should a wake-up ever be lost
/// (say, on a file system that does not share futexes between machines).
const MAX_WAIT: Duration = Duration::from_secs(1);

impl Cursor {
    pub(crate) fn new(pool: Pool, start: Start) -> Result<Cursor> {
        let pos = pool
            .inner
            .core
            .cursor(start)
            .map_err(|e| Error::core(e, pool.path()))?;
        Ok(Cursor {
            pool,
            pos,
            buf: vec![0u8; 4096],
            tags: Vec::new(),
        })
    }

    /// Only yields messages carrying every one of `tags`.
    pub fn with_tags(mut self, tags: Vec<String>) -> Self {
        self.tags = tags;
        self
    }

    /// The pool this cursor reads.
    pub fn pool(&self) -> &Pool {
        &self.pool
    }

    /// The position (ring position and expected seq), e.g. to resume later.
    pub fn position(&self) -> Position {
        self.pos
    }

    /// The next event, without waiting; `None` when caught up.
    pub fn next_raw(&mut self) -> Result<Option<RawEvent<'_>>> {
        Ok(self.step()?.map(|s| self.event(s)))
    }

    /// The next event, owned; `None` when caught up.
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> Result<Option<Event>> {
        Ok(self.next_raw()?.map(owned))
    }

    /// The next event, waiting up to `timeout` (forever if `None`) for one.
    /// Returns `None` on timeout.
    pub fn wait_raw(&mut self, timeout: Option<Duration>) -> Result<Option<RawEvent<'_>>> {
        let deadline = timeout.map(|t| Instant::now() + t);
        let writable = self.pool.inner.core.region().writable();
        let mut backoff = Duration::from_micros(500);
        loop {
            let word = self.pool.inner.core.notify_word();
            if let Some(s) = self.step()? {
                return Ok(Some(self.event(s)));
            }
            let mut slice = MAX_WAIT;
            if let Some(d) = deadline {
                let now = Instant::now();
                if now >= d {
                    return Ok(None);
                }
                slice = slice.min(d - now);
            }
            let core = &self.pool.inner.core;
            if writable {
                core.add_waiter();
                // Pairs with the writer's fence between bumping the notify
                // word and reading the waiter count (see core's publish).
                fence(Ordering::SeqCst);
                if core.notify_word() == word {
                    wake::wait(self.pool.wake_word(), word, slice);
                }
                core.remove_waiter();
            } else {
                // A read-only mapping cannot register as a waiter: poll.
                std::thread::sleep(backoff.min(slice));
                backoff = (backoff * 2).min(Duration::from_millis(20));
            }
        }
    }

    /// The next event, owned, waiting up to `timeout` (forever if `None`).
    pub fn wait(&mut self, timeout: Option<Duration>) -> Result<Option<Event>> {
        Ok(self.wait_raw(timeout)?.map(owned))
    }

    /// Steps over a damaged frame (after a Corrupt error), returning how many
    /// seqs were skipped when known.
    pub fn skip_damaged(&mut self) -> u64 {
        self.pool.inner.core.skip_damaged(&mut self.pos)
    }

    fn step(&mut self) -> Result<Option<Step>> {
        let core = &self.pool.inner.core;
        loop {
            match core.read(&mut self.pos, &mut self.buf) {
                Ok(Read::Message(f)) => {
                    if self
                        .tags
                        .iter()
                        .all(|t| plasmite_core::tags::contains(f.tags(&self.buf), t))
                    {
                        return Ok(Some(Step::Message(f)));
                    }
                }
                Ok(Read::Empty) => return Ok(None),
                Ok(Read::Lapped { missed }) => return Ok(Some(Step::Dropped(missed))),
                Err(plasmite_core::Error::BufferTooSmall { needed }) => self.buf.resize(needed, 0),
                Err(e) => return Err(Error::core(e, self.pool.path())),
            }
        }
    }

    fn event(&self, s: Step) -> RawEvent<'_> {
        match s {
            Step::Message(f) => RawEvent::Message(RawMessage {
                seq: f.seq,
                time_ns: f.time_ns,
                tags_json: f.tags(&self.buf),
                data: f.data(&self.buf),
            }),
            Step::Dropped(missed) => RawEvent::Dropped { missed },
        }
    }
}

enum Step {
    Message(FrameInfo),
    Dropped(u64),
}

fn owned(e: RawEvent<'_>) -> Event {
    match e {
        RawEvent::Message(m) => Event::Message(m.to_message()),
        RawEvent::Dropped { missed } => Event::Dropped { missed },
    }
}
