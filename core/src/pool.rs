//! A pool over a region: opening, formatting, and its published state.

use zerocopy::{FromBytes, IntoBytes};

use crate::error::{Error, Result};
use crate::frame::{crc_matches, read_slot, resync, Slot};
use crate::geometry::{FormatOptions, Geometry};
use crate::layout::FrameHeader;
use crate::layout::{offsets, Header, HEADER_SIZE};
use crate::region::Region;
use crate::writer::end_of;

/// A pool: a validated geometry over a region.
///
/// Reading needs only `&Pool`. Writing goes through a [`Writer`](crate::Writer),
/// which the caller may create only while holding the pool's exclusive writer
/// lock (a file lock in the `plasmite` crate; trivially true for a pool one
/// thread owns).
pub struct Pool<R> {
    pub(crate) region: R,
    pub(crate) geo: Geometry,
}

/// The writer's published positions, loaded with `Acquire`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct State {
    /// One past the newest published frame.
    pub head: u64,
    /// The oldest retained frame.
    pub tail: u64,
    /// The seq the next message will get.
    pub next_seq: u64,
    /// Where the newest published frame starts.
    pub last_pos: u64,
}

/// A snapshot of what a pool retains.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Bounds {
    /// Seq and time (ns) of the oldest retained message.
    pub oldest: Option<(u64, u64)>,
    /// Seq and time (ns) of the newest message.
    pub newest: Option<(u64, u64)>,
    /// Ring bytes in use.
    pub used_bytes: u64,
    /// The seq the next message will get.
    pub next_seq: u64,
}

impl Bounds {
    /// Number of retained messages: the seq span from oldest to newest
    /// (which also counts seqs lost in a gap or held by damaged frames).
    pub fn count(&self) -> u64 {
        match (self.oldest, self.newest) {
            (Some((o, _)), Some((n, _))) if n >= o => n - o + 1,
            _ => 0,
        }
    }
}

/// Bounded retries for snapshots that race with the writer. Each retry means
/// the writer made progress, so this only fails against a writer that
/// outruns a reader thousands of times in a row.
pub(crate) const RETRIES: usize = 10_000;

impl<R: Region> Pool<R> {
    /// Formats `region` as an empty pool.
    ///
    /// Everything but the header is left as it is: no byte outside the
    /// published range is ever trusted, so the ring needs no clearing, and
    /// index slots are validated against the frames they point at.
    pub fn format(region: R, opts: &FormatOptions) -> Result<Self> {
        let geo = Geometry::plan(region.len() as u64, opts)?;
        // Clear the index so that stale slots from an earlier use of the
        // region do not cost fallback scans.
        let zeros = [0u8; 256];
        let (start, end) = (geo.index_offset, geo.ring_offset);
        let mut off = start;
        while off < end {
            let n = (end - off).min(zeros.len() as u64);
            region.write(off as usize, &zeros[..n as usize]);
            off += n;
        }
        region.write(0, geo.to_header().as_bytes());
        region.flush();
        Ok(Pool { region, geo })
    }

    /// Opens a formatted region, validating its header.
    pub fn open(region: R) -> Result<Self> {
        if region.len() < HEADER_SIZE {
            return Err(Error::corrupt(
                "file too short for a pool header",
                Some(0),
                None,
            ));
        }
        let mut raw = [0u8; HEADER_SIZE];
        region.read(0, &mut raw);
        let header = Header::read_from_bytes(&raw).map_err(|_| Error::NotAPool)?;
        let geo = Geometry::from_header(&header, region.len() as u64)?;
        Ok(Pool { region, geo })
    }

    /// The pool's layout.
    pub fn geometry(&self) -> &Geometry {
        &self.geo
    }

    /// The region the pool lives in.
    pub fn region(&self) -> &R {
        &self.region
    }

    /// Consumes the pool, returning its region.
    pub fn into_region(self) -> R {
        self.region
    }

    /// Loads the published writer state.
    pub fn state(&self) -> State {
        let r = &self.region;
        State {
            head: r.load_u64(offsets::HEAD),
            tail: r.load_u64(offsets::TAIL),
            next_seq: r.load_u64(offsets::NEXT_SEQ),
            last_pos: r.load_u64(offsets::LAST_POS),
        }
    }

    /// Checks the invariants of a state snapshot that must always hold.
    pub(crate) fn check_state(&self, s: &State) -> Result<()> {
        let bad = |what| Err(Error::corrupt(what, Some(0), None));
        if s.head % 8 != 0 || s.tail % 8 != 0 || s.last_pos % 8 != 0 {
            return bad("header: misaligned ring positions");
        }
        if s.next_seq == 0 {
            return bad("header: next seq is 0");
        }
        if s.next_seq > crate::frame::MAX_SEQ {
            return bad("header: next seq out of range");
        }
        // The tail passes the head while a writer places a frame (or a batch)
        // that evicts everything (see spec/format.md, "Wrapping"); readers
        // then see an empty pool and the next writer repairs a dead one's.
        if s.tail < s.head && s.head - s.tail > self.geo.ring_size {
            return bad("header: head and tail further apart than the ring");
        }
        Ok(())
    }

    /// The seq and time of the structurally valid frame at `pos`, skipping
    /// a pad marker; `None` if there is none or it is not committed.
    pub(crate) fn frame_at(&self, pos: u64) -> Option<(u64, FrameHeader)> {
        match read_slot(&self.region, &self.geo, pos).ok()? {
            Slot::Frame(h) => Some((pos, h)),
            Slot::Pad { next } => match read_slot(&self.region, &self.geo, next).ok()? {
                Slot::Frame(h) => Some((next, h)),
                Slot::Pad { .. } => None,
            },
        }
    }

    /// The intact frame (structure and checksum) at `pos`, skipping a pad
    /// marker, that ends by `head`.
    pub(crate) fn intact_at(&self, pos: u64, head: u64) -> Option<(u64, FrameHeader)> {
        self.frame_at(pos)
            .filter(|(p, h)| end_of(*p, h) <= head && crc_matches(&self.region, &self.geo, *p, h))
    }

    /// The first intact frame at or after `pos` and before `head`, stepping
    /// over damaged bytes.
    pub(crate) fn first_intact(&self, pos: u64, head: u64) -> Option<(u64, FrameHeader)> {
        self.intact_at(pos, head)
            .or_else(|| resync(&self.region, &self.geo, pos, head, 0))
    }

    /// The newest frame of the published range `[tail, head)`. It is found
    /// from `last_pos` and the frames that follow it up to `head` (a writer
    /// stores `last_pos` last, so it may lag); if the frame at `last_pos` was
    /// evicted or is damaged, from the oldest intact frame instead. With
    /// `verify`, every frame walked over must pass its checksum.
    pub(crate) fn newest_from(
        &self,
        last_pos: u64,
        tail: u64,
        head: u64,
        verify: bool,
    ) -> Option<(u64, FrameHeader)> {
        let ok = |p: u64, h: &FrameHeader| {
            end_of(p, h) <= head && (!verify || crc_matches(&self.region, &self.geo, p, h))
        };
        let start = self
            .frame_at(last_pos)
            .filter(|(p, h)| *p == last_pos && *p >= tail && ok(*p, h))
            .or_else(|| self.first_intact(tail, head))?;
        let (mut pos, mut h) = start;
        while end_of(pos, &h) < head {
            let after = end_of(pos, &h);
            let next = self
                .frame_at(after)
                .filter(|(p, n)| n.seq.get() > h.seq.get() && ok(*p, n))
                .or_else(|| resync(&self.region, &self.geo, after, head, h.seq.get() + 1))?;
            (pos, h) = next;
        }
        Some((pos, h))
    }

    /// What the pool retains right now.
    pub fn bounds(&self) -> Result<Bounds> {
        for _ in 0..RETRIES {
            let s = self.state();
            self.check_state(&s)?;
            if s.tail >= s.head {
                return Ok(Bounds {
                    next_seq: s.next_seq,
                    ..Bounds::default()
                });
            }
            let oldest = self.first_intact(s.tail, s.head);
            let newest = self.newest_from(s.last_pos, s.tail, s.head, false);
            if self.state() != s {
                continue;
            }
            let (Some((_, o)), Some((_, n))) = (oldest, newest) else {
                return Err(Error::corrupt(
                    "unreadable frame at the pool's bounds",
                    Some(s.tail),
                    None,
                ));
            };
            return Ok(Bounds {
                oldest: Some((o.seq.get(), o.time_ns.get())),
                newest: Some((n.seq.get(), n.time_ns.get())),
                used_bytes: s.head - s.tail,
                next_seq: s.next_seq,
            });
        }
        Err(Error::Contended)
    }

    /// The current value of the wake-up word. Read it before checking for
    /// new messages, then wait only while it still has this value.
    pub fn notify_word(&self) -> u32 {
        self.region.load_u32(offsets::NOTIFY)
    }

    /// Announces a reader about to sleep on the notify word until at most
    /// `until` (seconds since the Unix epoch), so writers publishing before
    /// then issue a wake-up call. Re-announce before every sleep.
    pub fn announce_waiter(&self, until: u32) {
        self.region.fetch_max_u32(offsets::WAIT_UNTIL, until);
    }
}
