//! Frames: encoding, checksums and the validation every read goes through.

use zerocopy::little_endian::{U32, U64};
use zerocopy::{FromBytes, IntoBytes};

use crate::error::{Error, Result};
use crate::geometry::Geometry;
use crate::layout::*;
use crate::region::Region;

/// A message read from the ring. Its payload sits in the caller's buffer:
/// the tag block in `buf[..tags_len]`, the data in `buf[tags_len..len]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameInfo {
    /// Sequence number.
    pub seq: u64,
    /// Append time, ns since the Unix epoch.
    pub time_ns: u64,
    /// Ring position of the frame.
    pub pos: u64,
    /// Payload length.
    pub len: usize,
    /// Length of the tag block at the payload's start.
    pub tags_len: usize,
}

impl FrameInfo {
    /// The tag block within a buffer this frame was read into.
    pub fn tags<'b>(&self, buf: &'b [u8]) -> &'b [u8] {
        &buf[..self.tags_len]
    }

    /// The data JSON within a buffer this frame was read into.
    pub fn data<'b>(&self, buf: &'b [u8]) -> &'b [u8] {
        &buf[self.tags_len..self.len]
    }
}

/// The largest seq a frame may carry (2^63). No pool appends that many
/// messages; bounding seqs keeps every `seq + 1` from overflowing, whatever
/// a damaged or crafted file holds.
pub(crate) const MAX_SEQ: u64 = 1 << 63;

/// Ring bytes a frame with a payload of `len` bytes occupies.
pub const fn frame_size(len: u64) -> u64 {
    align_up(FRAME_HEADER_SIZE as u64 + len, FRAME_ALIGN)
}

/// The checksum of a frame: header bytes 8..32, then the payload pieces.
pub fn frame_crc(header: &FrameHeader, payload: &[&[u8]]) -> u32 {
    let mut h = crc32fast::Hasher::new();
    h.update(&header.as_bytes()[8..]);
    for p in payload {
        h.update(p);
    }
    h.finalize()
}

/// Builds a committed frame header for a payload.
pub(crate) fn header_for(seq: u64, time_ns: u64, tags: &[u8], data: &[u8]) -> FrameHeader {
    let mut h = FrameHeader {
        commit: U32::new(FRAME_COMMITTED),
        crc: U32::new(0),
        seq: U64::new(seq),
        time_ns: U64::new(time_ns),
        len: U32::new((tags.len() + data.len()) as u32),
        tags_len: U32::new(tags.len() as u32),
    };
    h.crc = U32::new(frame_crc(&h, &[tags, data]));
    h
}

/// What a ring position holds, after structural validation.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Slot {
    /// A padding marker; the next frame is at this position.
    Pad { next: u64 },
    /// A committed frame whose lengths fit the ring (payload not yet checked).
    Frame(FrameHeader),
}

/// Reads and structurally validates whatever starts at ring position `pos`.
///
/// Checks the commit word or pad marker and that every length stays inside
/// the ring without straddling its end. The checksum is checked separately,
/// by [`read_payload`], since walking over frames does not need it.
pub(crate) fn read_slot<R: Region>(region: &R, geo: &Geometry, pos: u64) -> Result<Slot> {
    let corrupt = |what| Err(Error::corrupt(what, Some(pos), None));
    if pos % FRAME_ALIGN != 0 {
        return corrupt("misaligned frame position");
    }
    let to_end = geo.bytes_to_end(pos);
    let off = geo.offset(pos);
    let mut pad = [0u8; 8];
    region.read(off, &mut pad);
    let marker =
        PadMarker::read_from_bytes(&pad).map_err(|_| Error::corrupt("pad", Some(pos), None))?;
    if marker.marker.get() == PAD_MARKER {
        if u64::from(marker.len.get()) != to_end {
            return corrupt("padding marker with a wrong length");
        }
        return Ok(Slot::Pad { next: pos + to_end });
    }
    if to_end < FRAME_HEADER_SIZE as u64 {
        return corrupt("frame header straddles the ring end");
    }
    let mut raw = [0u8; FRAME_HEADER_SIZE];
    region.read(off, &mut raw);
    let Ok(h) = FrameHeader::read_from_bytes(&raw) else {
        return corrupt("frame header");
    };
    if h.commit.get() != FRAME_COMMITTED {
        return corrupt("frame not committed");
    }
    let len = u64::from(h.len.get());
    if len > geo.max_payload() || frame_size(len) > to_end {
        return corrupt("frame length out of bounds");
    }
    if h.tags_len.get() > h.len.get() {
        return corrupt("tag block longer than the payload");
    }
    if !(1..=MAX_SEQ).contains(&h.seq.get()) {
        return corrupt("frame seq out of range");
    }
    Ok(Slot::Frame(h))
}

/// Copies the payload of a frame into `buf` and verifies its checksum.
pub(crate) fn read_payload<R: Region>(
    region: &R,
    geo: &Geometry,
    pos: u64,
    h: &FrameHeader,
    buf: &mut [u8],
) -> Result<FrameInfo> {
    let len = h.len.get() as usize;
    if buf.len() < len {
        return Err(Error::BufferTooSmall { needed: len });
    }
    region.read(geo.offset(pos) + FRAME_HEADER_SIZE, &mut buf[..len]);
    let seq = h.seq.get();
    if frame_crc(h, &[&buf[..len]]) != h.crc.get() {
        return Err(Error::corrupt(
            "frame checksum mismatch",
            Some(pos),
            Some(seq),
        ));
    }
    Ok(FrameInfo {
        seq,
        time_ns: h.time_ns.get(),
        pos,
        len,
        tags_len: h.tags_len.get() as usize,
    })
}

/// Verifies a frame's checksum against the ring without copying the payload
/// anywhere but a small stack buffer (the writer has no allocator).
pub(crate) fn crc_matches<R: Region>(
    region: &R,
    geo: &Geometry,
    pos: u64,
    h: &FrameHeader,
) -> bool {
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(&h.as_bytes()[8..]);
    let mut chunk = [0u8; 512];
    let mut off = geo.offset(pos) + FRAME_HEADER_SIZE;
    let mut left = h.len.get() as usize;
    while left > 0 {
        let n = left.min(chunk.len());
        region.read(off, &mut chunk[..n]);
        hasher.update(&chunk[..n]);
        off += n;
        left -= n;
    }
    hasher.finalize() == h.crc.get()
}

/// Finds the first frame after `from` and before `limit` that is intact
/// (structure and checksum), for stepping over damaged bytes. Scans every
/// aligned position, so it always terminates.
pub(crate) fn resync<R: Region>(
    region: &R,
    geo: &Geometry,
    from: u64,
    limit: u64,
    min_seq: u64,
) -> Option<(u64, FrameHeader)> {
    let mut pos = from + FRAME_ALIGN;
    while pos < limit {
        match read_slot(region, geo, pos) {
            Ok(Slot::Frame(h))
                if h.seq.get() >= min_seq
                    && pos + frame_size(u64::from(h.len.get())) <= limit
                    && crc_matches(region, geo, pos, &h) =>
            {
                return Some((pos, h));
            }
            Ok(Slot::Pad { next }) if next <= limit => {
                // A pad is only trusted if an intact frame follows it.
                if let Ok(Slot::Frame(h)) = read_slot(region, geo, next) {
                    let fits = next + frame_size(u64::from(h.len.get())) <= limit;
                    if fits && h.seq.get() >= min_seq && crc_matches(region, geo, next, &h) {
                        return Some((next, h));
                    }
                }
            }
            _ => {}
        }
        pos += FRAME_ALIGN;
    }
    None
}
