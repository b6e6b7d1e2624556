//! Appending: placement, eviction, writing, publishing, and crash recovery.
//!
//! The order of stores is the whole crash-safety argument; spec/format.md
//! ("Writing" and "Crash points") explains why each step is safe to die in.

use core::sync::atomic::{fence, Ordering};

use zerocopy::little_endian::U64;
use zerocopy::IntoBytes;

use crate::error::{Error, Result};
use crate::frame::{crc_matches, frame_size, header_for, read_slot, resync, Slot};
use crate::layout::{offsets, FrameHeader, IndexSlot, PadMarker, PAD_MARKER};
use crate::pool::Pool;
use crate::region::Region;

/// The receipt of one append.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Appended {
    /// The seq the message got.
    pub seq: u64,
    /// Its timestamp, ns since the Unix epoch (never earlier than the
    /// previous message's).
    pub time_ns: u64,
    /// Ring position of its frame.
    pub pos: u64,
}

/// What the writer found and mended when it took over the pool.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Recovery {
    /// A complete frame a dead writer had not published was published.
    pub adopted: bool,
    /// The published state had to be rebuilt (a writer died mid-publish).
    pub repaired: bool,
}

/// Exclusive append access to a pool.
///
/// Create it only while holding the pool's writer lock. Appends become
/// visible to readers at [`Writer::publish`] (a batch becomes visible at
/// once); dropping a writer without publishing discards unpublished appends.
pub struct Writer<'p, R: Region> {
    pool: &'p Pool<R>,
    head: u64,
    tail: u64,
    next_seq: u64,
    last_pos: u64,
    last_time: u64,
    dirty: bool,
    recovery: Recovery,
}

impl<R: Region> Pool<R> {
    /// Takes over appending. The caller must hold the writer lock.
    ///
    /// Checks the published state against the newest frame and repairs what a
    /// writer that died mid-append left behind (see [`Recovery`]).
    pub fn writer(&self) -> Result<Writer<'_, R>> {
        let s = self.state();
        self.check_state(&s)?;
        let mut w = Writer {
            pool: self,
            head: s.head,
            tail: s.tail,
            next_seq: s.next_seq,
            last_pos: s.last_pos,
            last_time: 0,
            dirty: false,
            recovery: Recovery::default(),
        };
        w.recover()?;
        Ok(w)
    }
}

impl<'p, R: Region> Writer<'p, R> {
    /// What was mended when this writer took over.
    pub fn recovery(&self) -> Recovery {
        self.recovery
    }

    /// The seq the next append will get.
    pub fn next_seq(&self) -> u64 {
        self.next_seq
    }

    fn recover(&mut self) -> Result<()> {
        let (pool, geo) = (self.pool, &self.pool.geo);
        // The newest published frame, which must end exactly at the head.
        let mut newest: Option<FrameHeader> = None;
        if self.tail < self.head {
            newest = pool
                .frame_at(self.last_pos)
                .filter(|(pos, h)| {
                    *pos == self.last_pos && *pos >= self.tail && end_of(*pos, h) == self.head
                })
                .map(|(_, h)| h);
        } else if self.tail > self.head {
            // Died while placing a frame that evicted everything.
            self.head = self.tail;
            self.recovery.repaired = true;
        }
        // A complete frame right at the head that was never published: the
        // writer died after finishing it, before storing the head. Adopt it.
        // Its seq follows the newest frame or, if the dead writer got as far
        // as storing `last_pos`, is one below `next_seq`.
        let follows = newest.map(|h| h.seq.get() + 1);
        let lp = self.last_pos;
        let candidate = pool.frame_at(self.head).filter(|(pos, h)| {
            let seq = h.seq.get();
            let seq_ok = match follows {
                Some(f) => seq == f,
                None => seq + 1 == self.next_seq && (*pos == lp || self.tail == self.head),
            };
            seq_ok && *pos - self.head < geo.ring_size && crc_matches(&pool.region, geo, *pos, h)
        });
        if let Some((pos, h)) = candidate {
            self.head = end_of(pos, &h);
            self.last_pos = pos;
            newest = Some(h);
            self.recovery.adopted = true;
        } else if newest.is_none() && self.tail < self.head {
            newest = Some(self.rebuild()?);
        }
        if let Some(h) = newest {
            self.last_time = h.time_ns.get();
            if self.next_seq != h.seq.get() + 1 {
                self.recovery.repaired = true;
            }
            self.next_seq = h.seq.get() + 1;
        }
        if self.recovery != Recovery::default() {
            if self.tail > self.head || self.head - self.tail > geo.ring_size {
                self.tail = self.head;
            }
            self.pool.region.store_u64(offsets::TAIL, self.tail);
            self.dirty = true;
            self.publish();
        }
        Ok(())
    }

    /// Walks from the tail to find the newest frame ending at the head,
    /// stepping over damaged frames.
    fn rebuild(&mut self) -> Result<FrameHeader> {
        let (region, geo) = (&self.pool.region, &self.pool.geo);
        self.recovery.repaired = true;
        let mut pos = self.tail;
        let mut last = None;
        while pos < self.head {
            match read_slot(region, geo, pos) {
                Ok(Slot::Pad { next }) => pos = next,
                Ok(Slot::Frame(h)) if end_of(pos, &h) <= self.head => {
                    last = Some((pos, h));
                    pos = end_of(pos, &h);
                }
                _ => match resync(region, geo, pos, self.head, 0) {
                    Some((p, h)) => {
                        last = Some((p, h));
                        pos = end_of(p, &h);
                    }
                    None => break,
                },
            }
        }
        match last {
            Some((p, h)) if pos == self.head => {
                self.last_pos = p;
                Ok(h)
            }
            _ => Err(Error::corrupt(
                "no intact frame ends at the pool's head",
                Some(self.head),
                None,
            )),
        }
    }

    /// Appends one message. `tags` is an encoded tag block
    /// ([`crate::tags::encode`]), `data` compact JSON object text; the core
    /// stores both as given. `time_ns` is raised to the previous message's
    /// time if the clock went backwards, so times never decrease.
    pub fn append(&mut self, time_ns: u64, tags: &[u8], data: &[u8]) -> Result<Appended> {
        let geo = self.pool.geo;
        let len = (tags.len() + data.len()) as u64;
        if len > geo.max_payload() {
            return Err(Error::TooLarge {
                len,
                max: geo.max_payload(),
            });
        }
        let size = frame_size(len);
        let to_end = geo.bytes_to_end(self.head);
        let start = if size > to_end {
            self.head + to_end
        } else {
            self.head
        };
        let end = start + size;
        self.evict(end.saturating_sub(geo.ring_size), start)?;

        let region = &self.pool.region;
        if start != self.head {
            let pad = PadMarker {
                marker: PAD_MARKER.into(),
                len: (to_end as u32).into(),
            };
            region.write(geo.offset(self.head), pad.as_bytes());
        }
        let time_ns = time_ns.max(self.last_time);
        let seq = self.next_seq;
        let header = header_for(seq, time_ns, tags, data);
        let off = geo.offset(start);
        // Commit word last: a frame is never seen committed but incomplete.
        region.write(off + 4, &header.as_bytes()[4..]);
        region.write(off + 32, tags);
        region.write(off + 32 + tags.len(), data);
        fence(Ordering::Release);
        region.write(off, header.commit.as_bytes());
        if let Some(slot) = geo.index_slot(seq) {
            let entry = IndexSlot {
                seq: U64::new(seq),
                pos: U64::new(start),
            };
            region.write(slot, entry.as_bytes());
        }
        self.head = end;
        self.last_pos = start;
        self.next_seq = seq + 1;
        self.last_time = time_ns;
        self.dirty = true;
        Ok(Appended {
            seq,
            time_ns,
            pos: start,
        })
    }

    /// Frees ring positions below `need` by advancing the tail over the
    /// oldest frames. The new tail is stored before any byte is overwritten,
    /// so a reader that copies a frame and then sees the tail past it knows
    /// the copy may be torn.
    fn evict(&mut self, need: u64, start: u64) -> Result<()> {
        if self.tail >= need {
            return Ok(());
        }
        let (region, geo) = (&self.pool.region, &self.pool.geo);
        let mut tail = self.tail;
        while tail < need {
            if tail >= self.head {
                // The new frame evicts everything, including its own pad.
                tail = start;
                break;
            }
            tail = match read_slot(region, geo, tail) {
                Ok(Slot::Pad { next }) => next,
                Ok(Slot::Frame(h)) if end_of(tail, &h) <= self.head => end_of(tail, &h),
                // A damaged frame at the tail is about to go anyway: step to
                // the next intact one, or drop everything up to the head.
                _ => resync(region, geo, tail, self.head, 0).map_or(self.head, |(p, _)| p),
            };
        }
        self.tail = tail;
        region.store_u64(offsets::TAIL, tail);
        fence(Ordering::Release);
        Ok(())
    }

    /// Makes every append since the last publish visible to readers.
    ///
    /// Returns whether readers are waiting, in which case the caller should
    /// wake them (a futex wake on the notify word, for example).
    pub fn publish(&mut self) -> bool {
        if !self.dirty {
            return false;
        }
        self.dirty = false;
        let region = &self.pool.region;
        region.store_u64(offsets::NEXT_SEQ, self.next_seq);
        region.store_u64(offsets::LAST_POS, self.last_pos);
        region.store_u64(offsets::HEAD, self.head);
        region.fetch_add_u32(offsets::NOTIFY, 1);
        // Pairs with the fence a reader issues between registering as a
        // waiter and re-checking the notify word: one of the two always sees
        // the other, so no wake-up is lost.
        fence(Ordering::SeqCst);
        region.load_u32(offsets::WAITERS) != 0
    }
}

/// One past the last byte of the frame at `pos`.
pub(crate) fn end_of(pos: u64, h: &FrameHeader) -> u64 {
    pos + frame_size(u64::from(h.len.get()))
}
