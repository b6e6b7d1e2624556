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
    // The message the last advance read into `buf`.
    current: Option<FrameInfo>,
}

/// What [`Cursor::advance`] found; the message itself is
/// [`Cursor::current`]. Owning nothing, it leaves the cursor free for the
/// caller to act on (say, to skip a damaged frame) before reading it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ready {
    /// A message: see [`Cursor::current`].
    Message,
    /// The writer evicted this many messages before the reader got to them.
    Dropped {
        /// How many.
        missed: u64,
    },
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
            current: None,
        })
    }

    /// Only yields messages carrying every one of `tags`.
    pub fn with_tags(mut self, tags: Vec<String>) -> Self {
        self.tags = tags;
        self
    }

    /// The tags a message must carry to be yielded.
    pub fn tags(&self) -> &[String] {
        &self.tags
    }

    /// The pool this cursor reads.
    pub fn pool(&self) -> &Pool {
        &self.pool
    }

    /// The position (ring position and expected seq), e.g. to resume later.
    pub fn position(&self) -> Position {
        self.pos
    }

    /// Moves to the next event without waiting; `None` when caught up.
    pub fn advance(&mut self) -> Result<Option<Ready>> {
        let s = self.step()?;
        Ok(self.settle(s))
    }

    /// Moves to the next event, waiting up to `timeout` (forever if `None`)
    /// for one; `None` on timeout.
    pub fn advance_wait(&mut self, timeout: Option<Duration>) -> Result<Option<Ready>> {
        let deadline = timeout.map(|t| Instant::now() + t);
        let writable = self.pool.inner.core.region().writable();
        let mut backoff = Duration::from_micros(500);
        loop {
            let word = self.pool.inner.core.notify_word();
            if let Some(s) = self.step()? {
                return Ok(self.settle(Some(s)));
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
                // Writers wake sleepers until this deadline; a margin covers
                // the slice and clock granularity.
                let now_s = crate::time::now_ns() / 1_000_000_000;
                let until = now_s + slice.as_secs() + 2;
                core.announce_waiter(until.min(u64::from(u32::MAX)) as u32);
                // Pairs with the writer's fence between bumping the notify
                // word and reading the deadline (see core's publish).
                fence(Ordering::SeqCst);
                if core.notify_word() == word {
                    wake::wait(self.pool.wake_word(), word, slice);
                }
            } else {
                // A read-only mapping cannot register as a waiter: poll.
                std::thread::sleep(backoff.min(slice));
                backoff = (backoff * 2).min(Duration::from_millis(20));
            }
        }
    }

    /// The message the last [`Cursor::advance`] moved to, valid until the
    /// next advance.
    pub fn current(&self) -> Option<RawMessage<'_>> {
        self.current.map(|f| RawMessage {
            seq: f.seq,
            time_ns: f.time_ns,
            tags_json: f.tags(&self.buf),
            data: f.data(&self.buf),
        })
    }

    /// The next event, without waiting; `None` when caught up.
    pub fn next_raw(&mut self) -> Result<Option<RawEvent<'_>>> {
        let r = self.advance()?;
        Ok(r.map(|r| self.event(r)))
    }

    /// The next event, owned; `None` when caught up.
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> Result<Option<Event>> {
        Ok(self.next_raw()?.map(owned))
    }

    /// The next event, waiting up to `timeout` (forever if `None`) for one.
    /// Returns `None` on timeout.
    pub fn wait_raw(&mut self, timeout: Option<Duration>) -> Result<Option<RawEvent<'_>>> {
        let r = self.advance_wait(timeout)?;
        Ok(r.map(|r| self.event(r)))
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

    fn settle(&mut self, s: Option<Step>) -> Option<Ready> {
        self.current = None;
        match s? {
            Step::Message(f) => {
                self.current = Some(f);
                Some(Ready::Message)
            }
            Step::Dropped(missed) => Some(Ready::Dropped { missed }),
        }
    }

    fn event(&self, r: Ready) -> RawEvent<'_> {
        match (r, self.current()) {
            (Ready::Message, Some(m)) => RawEvent::Message(m),
            (Ready::Dropped { missed }, _) => RawEvent::Dropped { missed },
            // settle() sets `current` whenever it returns Ready::Message.
            (Ready::Message, None) => RawEvent::Dropped { missed: 0 },
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
