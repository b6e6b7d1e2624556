//! Reading: cursors, get by seq, and seeking by seq or time.
//!
//! Readers take no lock. They copy a frame out, validate the copy, then check
//! that the writer has not moved the tail past it meanwhile (the seqlock
//! discipline described in spec/format.md, "Reading").

use core::sync::atomic::{fence, Ordering};

use zerocopy::FromBytes;

use crate::error::{Error, Result};
use crate::frame::{read_payload, read_slot, resync, FrameInfo, Slot};
use crate::layout::{offsets, IndexSlot, INDEX_SLOT_SIZE};
use crate::pool::{Pool, State, RETRIES};
use crate::region::Region;
use crate::writer::end_of;

/// A reader's position: the ring position of the next frame and the seq it
/// must carry. Plain data, so it can be stored and resumed later.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Cursor {
    /// Ring position of the next frame to read.
    pub pos: u64,
    /// Seq expected there (0: take whatever seq is found first).
    pub seq: u64,
}

/// Where a cursor starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Start {
    /// At the oldest retained message.
    Oldest,
    /// After the newest message: only messages appended from now on.
    Newest,
    /// At the last `n` messages (all of them if fewer are retained).
    Last(u64),
    /// At this seq, or the oldest retained one if it was evicted.
    Seq(u64),
    /// At the first message appended at or after this time (ns since epoch).
    Time(u64),
}

/// The outcome of one [`Pool::read`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Read {
    /// A message; its payload is in the caller's buffer.
    Message(FrameInfo),
    /// Nothing new yet.
    Empty,
    /// Messages this reader had not read are gone: evicted by the writer
    /// (the cursor now points at the oldest retained message), or never
    /// published by a writer that crashed (a gap in seqs).
    Lapped {
        /// How many messages were lost to this reader.
        missed: u64,
    },
}

impl<R: Region> Pool<R> {
    /// A cursor at `start`.
    pub fn cursor(&self, start: Start) -> Result<Cursor> {
        match start {
            Start::Oldest => self.cursor_oldest(),
            Start::Newest => self.cursor_newest(),
            Start::Last(n) => {
                let next = self.state().next_seq;
                self.cursor_at_seq(next.saturating_sub(n).max(1))
            }
            Start::Seq(seq) => self.cursor_at_seq(seq),
            Start::Time(t) => self.cursor_at_time(t),
        }
    }

    fn cursor_oldest(&self) -> Result<Cursor> {
        for _ in 0..RETRIES {
            let s = self.state();
            self.check_state(&s)?;
            if s.tail >= s.head {
                return self.cursor_newest();
            }
            let Some((pos, h)) = self.frame_at(s.tail) else {
                if self.state().tail != s.tail {
                    continue;
                }
                return Err(Error::corrupt(
                    "unreadable frame at the tail",
                    Some(s.tail),
                    None,
                ));
            };
            if self.state().tail == s.tail {
                return Ok(Cursor {
                    pos,
                    seq: h.seq.get(),
                });
            }
        }
        Err(Error::Contended)
    }

    /// A cursor at the head. The seq expected there comes from a consistent
    /// snapshot of the published state: every word only grows, so loading
    /// them all, reading the frames, and loading them again unchanged proves
    /// the frames belonged to that state.
    fn cursor_newest(&self) -> Result<Cursor> {
        for _ in 0..RETRIES {
            let s = self.state();
            self.check_state(&s)?;
            let newest = (s.tail < s.head)
                .then(|| self.newest_from(s.last_pos, s.tail, s.head, false))
                .flatten();
            if self.state() != s {
                continue;
            }
            let seq = match newest {
                Some((_, h)) => h.seq.get() + 1,
                // Empty: the next frame gets next_seq (or, if a dead writer
                // left next_seq ahead, a reader learns the true seq from the
                // frame; see Read::Lapped).
                None if s.tail >= s.head => s.next_seq,
                None => 0,
            };
            return Ok(Cursor { pos: s.head, seq });
        }
        Err(Error::Contended)
    }

    /// A cursor at `seq`; at the oldest message if it was evicted, or at the
    /// next new message if it has not been written yet.
    fn cursor_at_seq(&self, seq: u64) -> Result<Cursor> {
        for _ in 0..RETRIES {
            // Loaded before the lookup: a publish landing during it must not
            // make a future seq look evicted.
            let next = self.state().next_seq;
            match self.locate(seq) {
                Err(Error::NotFound { .. }) if seq >= next => {
                    let c = self.cursor_newest()?;
                    // Published in the meantime: look it up again.
                    if c.seq != 0 && c.seq > seq {
                        continue;
                    }
                    return Ok(c);
                }
                Err(Error::NotFound { .. }) => return self.cursor_oldest(),
                other => return other,
            }
        }
        Err(Error::Contended)
    }

    fn cursor_at_time(&self, t: u64) -> Result<Cursor> {
        let b = self.bounds()?;
        let (Some((mut lo, _)), Some((newest, _))) = (b.oldest, b.newest) else {
            return self.cursor_newest();
        };
        // Times never decrease along seqs, so binary-search for the first
        // seq at or after `t`. Evictions during the search only move `lo`.
        let mut hi = newest + 1;
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            match self.header_of(mid) {
                Ok((_, time)) if time < t => lo = mid + 1,
                Ok(_) => hi = mid,
                Err(Error::NotFound { .. }) => lo = mid + 1,
                Err(e) => return Err(e),
            }
        }
        self.cursor_at_seq(lo)
    }

    fn header_of(&self, seq: u64) -> Result<(Cursor, u64)> {
        let c = self.locate(seq)?;
        match self.frame_at(c.pos) {
            Some((_, h)) if h.seq.get() == seq => Ok((c, h.time_ns.get())),
            _ => Err(Error::NotFound { seq }),
        }
    }

    /// Finds the frame of `seq` through the index (a hit, or an anchor a few
    /// frames before it) and a short walk over frame headers.
    fn locate(&self, seq: u64) -> Result<Cursor> {
        'retry: for _ in 0..RETRIES {
            let s = self.state();
            self.check_state(&s)?;
            if seq == 0 || seq >= s.next_seq || s.tail >= s.head {
                return Err(Error::NotFound { seq });
            }
            let mut c = match self.anchor(seq, &s) {
                Some(c) => c,
                None => match self.frame_at(s.tail) {
                    Some((pos, h)) => Cursor {
                        pos,
                        seq: h.seq.get(),
                    },
                    None if self.lapped(s.tail) => continue,
                    None => {
                        return Err(Error::corrupt(
                            "unreadable frame at the tail",
                            Some(s.tail),
                            None,
                        ))
                    }
                },
            };
            if seq < c.seq {
                return Err(Error::NotFound { seq });
            }
            while c.pos < s.head {
                let slot = read_slot(&self.region, &self.geo, c.pos);
                if self.lapped(c.pos) {
                    continue 'retry;
                }
                match slot {
                    Ok(Slot::Pad { next }) => c.pos = next,
                    // Seqs only grow along the ring; a jump is a gap left by a
                    // crashed writer.
                    Ok(Slot::Frame(h)) if h.seq.get() >= c.seq => {
                        let at = h.seq.get();
                        if at == seq {
                            return Ok(Cursor { pos: c.pos, seq });
                        }
                        if at > seq {
                            return Err(Error::NotFound { seq });
                        }
                        c = Cursor {
                            pos: end_of(c.pos, &h),
                            seq: at + 1,
                        };
                    }
                    Ok(Slot::Frame(_)) => {
                        return Err(Error::corrupt(
                            "frame out of sequence",
                            Some(c.pos),
                            Some(c.seq),
                        ))
                    }
                    Err(e) => return Err(e),
                }
            }
            return Err(Error::NotFound { seq });
        }
        Err(Error::Contended)
    }

    /// The index entry at or shortly before `seq`, if it is still valid.
    fn anchor(&self, seq: u64, s: &State) -> Option<Cursor> {
        let stride = self.geo.index_stride;
        if stride == 0 {
            return None;
        }
        let a = seq - seq % stride;
        let off = self.geo.index_slot(a)?;
        let mut raw = [0u8; INDEX_SLOT_SIZE];
        self.region.read(off, &mut raw);
        let slot = IndexSlot::read_from_bytes(&raw).ok()?;
        let pos = slot.pos.get();
        if a == 0 || slot.seq.get() != a || pos < s.tail || pos >= s.head {
            return None;
        }
        // A slot damaged on disk must cost a walk, not an error.
        let (at, h) = self.frame_at(pos)?;
        (at == pos && h.seq.get() == a).then_some(Cursor { pos, seq: a })
    }

    /// Whether the writer has evicted ring position `pos`. The fence orders
    /// every copy made before it ahead of the tail load.
    fn lapped(&self, pos: u64) -> bool {
        fence(Ordering::Acquire);
        self.region.load_u64(offsets::TAIL) > pos
    }

    /// Copies the message with `seq` into `buf`.
    pub fn get(&self, seq: u64, buf: &mut [u8]) -> Result<FrameInfo> {
        for _ in 0..RETRIES {
            let mut c = self.locate(seq)?;
            match self.read(&mut c, buf)? {
                Read::Message(f) if f.seq == seq => return Ok(f),
                Read::Message(_) | Read::Empty => {
                    return Err(Error::corrupt(
                        "index led to the wrong frame",
                        Some(c.pos),
                        Some(seq),
                    ))
                }
                Read::Lapped { .. } => continue,
            }
        }
        Err(Error::Contended)
    }

    /// Reads the next message at `cursor` into `buf` and advances the cursor.
    ///
    /// Returns a Corrupt error (leaving the cursor in place) for a damaged
    /// frame; [`Pool::skip_damaged`] steps over it. A buffer that is too small
    /// gets [`Error::BufferTooSmall`] with the size needed, cursor unmoved.
    pub fn read(&self, cursor: &mut Cursor, buf: &mut [u8]) -> Result<Read> {
        for _ in 0..RETRIES {
            let s = self.state();
            if cursor.pos < s.tail {
                if s.tail >= s.head {
                    // Lapped, but the frame that lapped us is not published.
                    return Ok(Read::Empty);
                }
                let found = self.frame_at(s.tail);
                if self.lapped(s.tail) {
                    continue;
                }
                let Some((pos, h)) = found else {
                    // Damage at the tail: report it there, so skip_damaged
                    // can step over it.
                    *cursor = Cursor {
                        pos: s.tail,
                        seq: 0,
                    };
                    return Err(Error::corrupt(
                        "unreadable frame at the tail",
                        Some(s.tail),
                        None,
                    ));
                };
                let seq = h.seq.get();
                let missed = if cursor.seq == 0 {
                    0
                } else {
                    seq.saturating_sub(cursor.seq)
                };
                *cursor = Cursor { pos, seq };
                if missed == 0 {
                    // Only a pad or the writer's wrap was skipped; nothing lost.
                    continue;
                }
                return Ok(Read::Lapped { missed });
            }
            if cursor.pos >= s.head {
                return Ok(Read::Empty);
            }
            let slot = read_slot(&self.region, &self.geo, cursor.pos);
            let result = match slot {
                Ok(Slot::Pad { next }) => {
                    if self.lapped(cursor.pos) {
                        continue;
                    }
                    cursor.pos = next;
                    continue;
                }
                Ok(Slot::Frame(h)) if end_of(cursor.pos, &h) > s.head => Err(Error::corrupt(
                    "frame extends past the head",
                    Some(cursor.pos),
                    Some(cursor.seq),
                )),
                Ok(Slot::Frame(h)) if cursor.seq != 0 && h.seq.get() > cursor.seq => {
                    // A gap: seqs a crashed writer counted but never published.
                    // Told like an eviction, once the frame proves intact.
                    match read_payload(&self.region, &self.geo, cursor.pos, &h, buf) {
                        Ok(f) if !self.lapped(cursor.pos) => {
                            let missed = f.seq - cursor.seq;
                            cursor.seq = f.seq;
                            return Ok(Read::Lapped { missed });
                        }
                        Ok(_) => continue,
                        Err(e) => Err(e),
                    }
                }
                Ok(Slot::Frame(h)) if cursor.seq != 0 && h.seq.get() != cursor.seq => Err(
                    Error::corrupt("frame out of sequence", Some(cursor.pos), Some(cursor.seq)),
                ),
                Ok(Slot::Frame(h)) => read_payload(&self.region, &self.geo, cursor.pos, &h, buf),
                Err(e) => Err(e),
            };
            // Only now is it known whether the copy can be trusted.
            if self.lapped(cursor.pos) {
                continue;
            }
            let f = match result {
                Ok(f) => f,
                Err(Error::Corrupt(mut c)) => {
                    c.seq = c.seq.or((cursor.seq != 0).then_some(cursor.seq));
                    return Err(Error::Corrupt(c));
                }
                Err(e) => return Err(e),
            };
            cursor.pos += crate::frame::frame_size(f.len as u64);
            cursor.seq = f.seq + 1;
            return Ok(Read::Message(f));
        }
        Err(Error::Contended)
    }

    /// Moves `cursor` past a damaged frame to the next intact one (or the
    /// head), returning how many seqs were skipped when that is known.
    pub fn skip_damaged(&self, cursor: &mut Cursor) -> u64 {
        let s = self.state();
        match resync(&self.region, &self.geo, cursor.pos, s.head, cursor.seq) {
            Some((pos, h)) => {
                let skipped = if cursor.seq == 0 {
                    0
                } else {
                    h.seq.get() - cursor.seq
                };
                *cursor = Cursor {
                    pos,
                    seq: h.seq.get(),
                };
                skipped
            }
            None => {
                let skipped = s.next_seq.saturating_sub(cursor.seq.max(1));
                *cursor = Cursor {
                    pos: s.head,
                    seq: if cursor.seq == 0 { 0 } else { s.next_seq },
                };
                skipped
            }
        }
    }
}
