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
    /// (the cursor now points at the oldest retained message), or cut off
    /// by a writer that repaired damage (a gap in seqs).
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
                self.cursor_at_seq(next.saturating_sub(n).max(1), true)
            }
            Start::Seq(seq) => self.cursor_at_seq(seq, true),
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
            let found = self.intact_at(s.tail, s.head);
            if self.lapped(s.tail) {
                continue;
            }
            // A damaged oldest frame: start on it with the seq unknown, so
            // the first read reports it and skip_damaged steps over it.
            let (pos, seq) = found.map_or((s.tail, 0), |(p, h)| (p, h.seq.get()));
            return Ok(Cursor { pos, seq });
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
                // Empty: next_seq is stored only after the head, so with the
                // head unmoved it is exact.
                None if s.tail >= s.head => s.next_seq,
                // Unreadable: learn the seq from the first frame read.
                None => 0,
            };
            return Ok(Cursor { pos: s.head, seq });
        }
        Err(Error::Contended)
    }

    /// A cursor at `seq`: at the oldest message if it was evicted, at the
    /// next one if it falls in a gap, or where new messages will appear if it
    /// has not been published yet. With `report`, if damage lies where `seq`
    /// (or what comes after it) should be, the cursor is left on the damage,
    /// so that the first read reports it and [`Pool::skip_damaged`] steps
    /// over it, counting the seqs lost when that is known.
    fn cursor_at_seq(&self, seq: u64, report: bool) -> Result<Cursor> {
        for _ in 0..RETRIES {
            let s = self.state();
            match self.locate_noting_damage(seq) {
                // Damage walked over on the way to `seq` itself lay below it.
                Ok((c, Some(_))) if c.seq != 0 && c.seq == seq.max(1) => return Ok(c),
                // The walk stepped over damage to get past `seq`: a reader
                // starting there must hear of it, as one starting at the
                // oldest message hears of a damaged oldest frame. The seq
                // expected on the damage is `seq`, unless no intact frame
                // preceded it (unknown: 0).
                Ok((_, Some((pos, after)))) if report => {
                    let expect = if after == 0 { 0 } else { seq };
                    return Ok(Cursor { pos, seq: expect });
                }
                Ok((c, _)) => return Ok(c),
                Err(Error::NotFound { .. }) => {
                    let c = self.cursor_newest()?;
                    // Published in the meantime: look it up again. With the
                    // state unchanged, a seq below the newest cursor's is
                    // simply not retained (0, or an empty pool's past).
                    if c.seq > seq && self.state() != s {
                        continue;
                    }
                    return Ok(c);
                }
                Err(e) => return Err(e),
            }
        }
        Err(Error::Contended)
    }

    fn cursor_at_time(&self, t: u64) -> Result<Cursor> {
        let b = self.bounds()?;
        let (Some((mut lo, _)), Some((newest, _))) = (b.oldest, b.newest) else {
            return self.cursor_newest();
        };
        // Times never decrease along seqs, and neither does the time of the
        // first frame at or after a seq (gaps included): binary-search for
        // the first seq whose frame is at or after `t`.
        let mut hi = newest + 1;
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            let c = match self.locate(mid) {
                Ok(c) => c,
                Err(Error::NotFound { .. }) => {
                    hi = mid;
                    continue;
                }
                Err(e) => return Err(e),
            };
            // Seq 0: only damage lies ahead, so nothing there is a match.
            match self.frame_at(c.pos).filter(|_| c.seq != 0) {
                Some((_, h)) if h.time_ns.get() < t => lo = c.seq + 1,
                _ => hi = mid,
            }
        }
        // The search found `lo` by the times of intact frames; damage there
        // has no time to compare, so it is stepped over as before.
        self.cursor_at_seq(lo, false)
    }

    /// Finds the first retained frame whose seq is `seq` or, if that was
    /// evicted or lost in a gap, the next one: through the index (an entry a
    /// few frames before it) and a short walk that verifies every frame, so a
    /// damaged length cannot send it astray. NotFound if no frame at or after
    /// `seq` is published yet.
    fn locate(&self, seq: u64) -> Result<Cursor> {
        self.locate_noting_damage(seq).map(|(c, _)| c)
    }

    /// [`Pool::locate`], also telling where it stepped over a damaged frame
    /// (which may have been `seq` itself) and the seq after the last intact
    /// frame before the damage (0 if the walk met none).
    fn locate_noting_damage(&self, seq: u64) -> Result<(Cursor, Option<(u64, u64)>)> {
        'retry: for _ in 0..RETRIES {
            let s = self.state();
            self.check_state(&s)?;
            if s.tail >= s.head {
                return Err(Error::NotFound { seq });
            }
            let at = match self.anchor(seq, &s) {
                Some(c) => c.pos,
                None => s.tail,
            };
            if seq >= s.next_seq {
                // Beyond next_seq: not published, unless a writer died
                // between storing head and next_seq. The newest frame says.
                match self.newest_from(s.last_pos, s.tail, s.head, false) {
                    Some((_, h)) if seq <= h.seq.get() => {}
                    _ => return Err(Error::NotFound { seq }),
                }
            }
            let (mut at, mut min, mut damage) = (at, 0, None);
            while at < s.head {
                let mut found = self.intact_at(at, s.head);
                if found.is_none() {
                    damage = Some((at, min));
                    found = resync(&self.region, &self.geo, at, s.head, min);
                }
                if self.lapped(at) {
                    continue 'retry;
                }
                let Some((pos, h)) = found else {
                    // Damage up to the head: nothing intact follows, so a
                    // reader starts where new messages will appear.
                    if damage.is_some() {
                        return Ok((
                            Cursor {
                                pos: s.head,
                                seq: 0,
                            },
                            damage,
                        ));
                    }
                    break;
                };
                let got = h.seq.get();
                if got >= seq.max(1) {
                    return Ok((Cursor { pos, seq: got }, damage));
                }
                // Damage before a seq below the target is not the target's.
                damage = None;
                min = got + 1;
                at = end_of(pos, &h);
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
            if seq == 0 {
                return Err(Error::NotFound { seq });
            }
            let (mut c, damage) = self.locate_noting_damage(seq)?;
            if c.seq != seq {
                return Err(match damage {
                    Some((pos, _)) => Error::corrupt("message damaged", Some(pos), Some(seq)),
                    None => Error::NotFound { seq },
                });
            }
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
                let found = self.intact_at(s.tail, s.head);
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
                    // A gap: seqs lost to damage a writer cut back. Told
                    // like an eviction, once the frame proves intact.
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
                // Nothing intact before the head: wait there, seq unknown
                // (next_seq may already count a batch being published).
                let skipped = match cursor.seq {
                    0 => 0,
                    seq => s.next_seq.saturating_sub(seq),
                };
                *cursor = Cursor {
                    pos: s.head,
                    seq: 0,
                };
                skipped
            }
        }
    }
}
