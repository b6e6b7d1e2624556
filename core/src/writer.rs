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
    /// The published state had to be rebuilt: a writer died mid-publish or
    /// mid-append (what it had not published is discarded), or damage cut
    /// the newest frames off.
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
    // Recovery published on take-over; its wake-up rides on the next publish.
    pending_wake: bool,
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
            pending_wake: false,
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
        let pool = self.pool;
        let published = (self.head, self.tail, self.next_seq, self.last_pos);
        let mut newest = None;
        if self.tail > self.head {
            // Died placing a frame that evicted everything: nothing published
            // is left, and what it never published is discarded.
            self.head = self.tail;
        } else if self.tail < self.head {
            newest = match pool.newest_from(self.last_pos, self.tail, self.head, true) {
                Some(found) => Some(found),
                None => self.rebuild(),
            };
        }
        if let Some((pos, h)) = newest {
            self.head = end_of(pos, &h);
            self.last_pos = pos;
            self.last_time = h.time_ns.get();
            // A writer that died after storing head but before next_seq left
            // it behind. It is never lowered: after damage is cut back, the
            // lost seqs stay a gap rather than being handed out again.
            self.next_seq = self.next_seq.max(h.seq.get() + 1);
        }
        if (self.head, self.tail, self.next_seq, self.last_pos) != published {
            self.recovery.repaired = true;
            self.pool.region.store_u64(offsets::TAIL, self.tail);
            self.dirty = true;
            self.pending_wake = self.publish();
        }
        Ok(())
    }

    /// Walks every frame from the tail, verifying checksums and seq order,
    /// to find the newest intact frame. If damage (say, pages lost in a power
    /// cut) leaves no intact frame ending at the head, the head is cut back
    /// to the end of the last intact one.
    fn rebuild(&mut self) -> Option<(u64, FrameHeader)> {
        let (region, geo) = (&self.pool.region, &self.pool.geo);
        self.recovery.repaired = true;
        let mut pos = self.tail;
        let mut last: Option<(u64, FrameHeader)> = None;
        while pos < self.head {
            let want = last.map_or(0, |(_, h)| h.seq.get() + 1);
            let found = match read_slot(region, geo, pos) {
                Ok(Slot::Pad { next }) => {
                    pos = next;
                    continue;
                }
                // Seqs grow along the ring; they may jump over a gap.
                Ok(Slot::Frame(h))
                    if end_of(pos, &h) <= self.head
                        && h.seq.get() >= want
                        && crc_matches(region, geo, pos, &h) =>
                {
                    Some((pos, h))
                }
                _ => resync(region, geo, pos, self.head, want),
            };
            let Some((p, h)) = found else { break };
            last = Some((p, h));
            pos = end_of(p, &h);
        }
        if pos != self.head {
            self.head = last.map_or(self.tail, |(p, h)| end_of(p, &h));
        }
        last
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
        // The commit word is cleared first and set last, so a frame whose
        // writer died midway never carries a commit word (a stale one from
        // the previous lap included); the checksum backs this up.
        region.write(off, &[0; 4]);
        fence(Ordering::Release);
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
        let pending = core::mem::take(&mut self.pending_wake);
        if !self.dirty {
            return pending;
        }
        self.dirty = false;
        let region = &self.pool.region;
        // The head is the publish point; next_seq and last_pos only ever
        // trail it, so a reader or a recovering writer can always derive
        // them from the frames (see spec/format.md, "Writing").
        region.store_u64(offsets::HEAD, self.head);
        region.store_u64(offsets::NEXT_SEQ, self.next_seq);
        region.store_u64(offsets::LAST_POS, self.last_pos);
        region.fetch_add_u32(offsets::NOTIFY, 1);
        // Pairs with the fence a reader issues between announcing itself and
        // re-checking the notify word: one of the two always sees the other,
        // so no wake-up is lost. The clock is the newest message's time.
        fence(Ordering::SeqCst);
        let now_s = (self.last_time / 1_000_000_000).min(u64::from(u32::MAX)) as u32;
        region.load_u32(offsets::WAIT_UNTIL) >= now_s || pending
    }
}

/// One past the last byte of the frame at `pos`.
pub(crate) fn end_of(pos: u64, h: &FrameHeader) -> u64 {
    pos + frame_size(u64::from(h.len.get()))
}
