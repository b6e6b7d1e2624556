//! Full validation of a pool, for `doctor`: every problem, with its place.

use zerocopy::FromBytes;

use crate::error::Error;
use crate::frame::{crc_matches, read_slot, resync, Slot};
use crate::layout::{IndexSlot, INDEX_SLOT_SIZE};
use crate::pool::Pool;
use crate::region::Region;
use crate::writer::end_of;

/// What kind of problem validation found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IssueKind {
    /// The published state (head, tail, next seq, last position) disagrees
    /// with the ring. A writer repairs most of this when it next takes over;
    /// state that breaks the header's invariants makes writers refuse.
    State,
    /// A frame or pad marker is damaged; its bytes are never returned.
    Frame,
    /// Seqs do not follow each other.
    Sequence,
    /// An index slot points at the wrong frame (costs speed, not data).
    Index,
    /// A named-reader slot is damaged: that reader is forgotten (it reads
    /// as free and will restart at its default position).
    Reader,
}

/// One problem found by [`Pool::validate`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Issue {
    /// Its kind.
    pub kind: IssueKind,
    /// What is wrong.
    pub what: &'static str,
    /// Ring position, when it concerns the ring.
    pub pos: Option<u64>,
    /// The seq concerned, when known.
    pub seq: Option<u64>,
}

/// Summary of a validation run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Report {
    /// Intact messages found between tail and head.
    pub messages: u64,
    /// Oldest intact seq found.
    pub oldest_seq: Option<u64>,
    /// Newest intact seq found.
    pub newest_seq: Option<u64>,
    /// Ring bytes between tail and head.
    pub used_bytes: u64,
    /// Seqs missing between retained messages (or after the newest): lost
    /// to damage a writer cut back, or held by damaged frames.
    pub gaps: u64,
    /// Problems found (each also passed to the callback).
    pub issues: u64,
    /// Problems that lose or hide messages (frame and sequence issues).
    pub damaged: u64,
}

impl Report {
    /// Whether nothing at all was wrong.
    pub fn is_clean(&self) -> bool {
        self.issues == 0
    }
}

impl<R: Region> Pool<R> {
    /// Checks every frame between tail and head (structure, checksum, seq
    /// order), the published state, and the index, calling `on_issue` for
    /// each problem. Run it under the writer lock for a stable picture; it
    /// terminates whatever the bytes are.
    pub fn validate(&self, mut on_issue: impl FnMut(Issue)) -> Report {
        let (region, geo) = (&self.region, &self.geo);
        let mut report = Report::default();
        let mut issue = |kind, what, pos, seq| {
            report.issues += 1;
            if matches!(kind, IssueKind::Frame | IssueKind::Sequence) {
                report.damaged += 1;
            }
            on_issue(Issue {
                kind,
                what,
                pos,
                seq,
            });
        };
        let s = self.state();
        if let Err(Error::Corrupt(c)) = self.check_state(&s) {
            issue(IssueKind::State, c.what, None, None);
            return summary(report, None, None, 0);
        }
        if s.tail > s.head {
            issue(
                IssueKind::State,
                "tail beyond head (writer died mid-append)",
                Some(s.tail),
                None,
            );
            return summary(report, None, None, 0);
        }
        let (mut pos, mut expect, mut last) = (s.tail, None::<u64>, None);
        let (mut first, mut count) = (None, 0);
        while pos < s.head {
            let slot = read_slot(region, geo, pos);
            let good = match slot {
                Ok(Slot::Pad { next }) if next <= s.head => {
                    pos = next;
                    continue;
                }
                Ok(Slot::Frame(h))
                    if end_of(pos, &h) <= s.head && crc_matches(region, geo, pos, &h) =>
                {
                    match expect {
                        // An intact frame with an older seq is stale (say, a
                        // page that reverted in a power cut): readers and the
                        // writer's recovery step over it, and so does this walk.
                        Some(e) if h.seq.get() < e => {
                            issue(
                                IssueKind::Sequence,
                                "seq does not grow along the ring",
                                Some(pos),
                                Some(e),
                            );
                            None
                        }
                        _ => Some(h),
                    }
                }
                Ok(Slot::Frame(h)) if end_of(pos, &h) <= s.head => {
                    issue(
                        IssueKind::Frame,
                        "frame checksum mismatch",
                        Some(pos),
                        Some(h.seq.get()),
                    );
                    None
                }
                Ok(_) => {
                    issue(
                        IssueKind::Frame,
                        "frame extends past the head",
                        Some(pos),
                        expect,
                    );
                    None
                }
                Err(Error::Corrupt(c)) => {
                    issue(IssueKind::Frame, c.what, Some(pos), expect);
                    None
                }
                Err(_) => None,
            };
            let (at, h) = match good {
                Some(h) => (pos, h),
                None => match resync(region, geo, pos, s.head, expect.unwrap_or(0)) {
                    Some(found) => found,
                    None => break,
                },
            };
            let seq = h.seq.get();
            // A jump is a gap (counted, not an issue: what damage cost is
            // reported where the damage is); seqs never go back here.
            if let Some(e) = expect.filter(|&e| seq > e) {
                report.gaps += seq - e;
            }
            first.get_or_insert(seq);
            count += 1;
            expect = Some(seq + 1);
            last = Some((at, seq));
            pos = end_of(at, &h);
        }
        match last {
            Some((at, _)) if at != s.last_pos => {
                issue(
                    IssueKind::State,
                    "last_pos does not point at the newest intact frame (the next writer repairs it)",
                    Some(at),
                    None,
                );
            }
            Some((_, seq)) if s.next_seq <= seq => {
                issue(
                    IssueKind::State,
                    "next seq would reuse a stored seq",
                    Some(s.head),
                    Some(seq),
                );
            }
            Some((_, seq)) => report.gaps += s.next_seq - seq - 1,
            None => {}
        }
        if s.head != s.tail && last.is_none() {
            issue(
                IssueKind::State,
                "no intact frame between tail and head",
                Some(s.tail),
                None,
            );
        }
        for i in 0..geo.index_capacity {
            let mut raw = [0u8; INDEX_SLOT_SIZE];
            region.read(
                (geo.index_offset + i * INDEX_SLOT_SIZE as u64) as usize,
                &mut raw,
            );
            let Ok(slot) = IndexSlot::read_from_bytes(&raw) else {
                continue;
            };
            let (seq, at) = (slot.seq.get(), slot.pos.get());
            let live = matches!((first, last), (Some(f), Some((_, l))) if seq >= f && seq <= l);
            if !live || at < s.tail || at >= s.head {
                continue;
            }
            let ok = matches!(self.frame_at(at), Some((p, h)) if p == at && h.seq.get() == seq);
            if !ok {
                issue(
                    IssueKind::Index,
                    "index slot points at the wrong frame",
                    Some(at),
                    Some(seq),
                );
            }
        }
        for slot in 0..geo.readers_capacity {
            if self.reader_damaged(slot) {
                issue(IssueKind::Reader, "named-reader slot damaged", None, None);
            }
        }
        report.messages = count;
        summary(report, first, last.map(|l| l.1), s.head - s.tail)
    }
}

fn summary(mut r: Report, first: Option<u64>, last: Option<u64>, used: u64) -> Report {
    r.oldest_seq = first;
    r.newest_seq = last;
    r.used_bytes = used;
    r
}
