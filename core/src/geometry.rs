//! Where the index and the ring sit in a region, and how large they are.

use zerocopy::little_endian::{U32, U64};
use zerocopy::FromZeros;

use crate::error::{Error, Result};
use crate::layout::*;

/// How a new pool is laid out.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FormatOptions {
    /// Index slots; `None` picks one slot per 512 bytes of pool.
    pub index_capacity: Option<u64>,
    /// Creation time to record, ns since the Unix epoch.
    pub created_ns: u64,
}

/// The validated, immutable layout of a pool.
///
/// It is read from the header once, at open; later reads use this copy, so a
/// process that scribbles over the header cannot steer reads out of bounds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Geometry {
    /// Total size of the region.
    pub file_size: u64,
    /// Offset of the seq index.
    pub index_offset: u64,
    /// Index slots (0: no index).
    pub index_capacity: u64,
    /// Seqs that are multiples of this have an index entry (0: no index).
    pub index_stride: u64,
    /// Offset of the named-reader table (0: the pool has none).
    pub readers_offset: u64,
    /// Slots in the named-reader table.
    pub readers_capacity: u32,
    /// Offset of the ring.
    pub ring_offset: u64,
    /// Ring size in bytes.
    pub ring_size: u64,
    /// Creation time, ns since the Unix epoch.
    pub created_ns: u64,
}

impl Geometry {
    /// Lays out a pool of `file_size` bytes.
    pub fn plan(file_size: u64, opts: &FormatOptions) -> Result<Self> {
        if file_size < MIN_POOL_SIZE {
            return Err(Error::BadGeometry {
                what: "pool size too small: the minimum is",
                min: MIN_POOL_SIZE,
            });
        }
        let capacity = opts.index_capacity.unwrap_or((file_size / 512).max(8));
        let index_bytes = capacity
            .checked_mul(INDEX_SLOT_SIZE as u64)
            .filter(|b| *b <= file_size / 2)
            .ok_or(Error::BadGeometry {
                what: "index would take more than half the pool; raise the size to at least",
                min: capacity.saturating_mul(INDEX_SLOT_SIZE as u64 * 2),
            })?;
        // The named-reader table sits between the index and the ring: one
        // slot per 16 KiB of pool, at least 4 and at most 64.
        let readers_capacity = (file_size / 16384).clamp(4, MAX_READERS as u64) as u32;
        let readers_offset = align_up(HEADER_SIZE as u64 + index_bytes, READER_SLOT_SIZE as u64);
        let readers_end = readers_offset + u64::from(readers_capacity) * READER_SLOT_SIZE as u64;
        let ring_offset = align_up(readers_end, RING_ALIGN);
        let ring_size = (file_size - ring_offset) & !(FRAME_ALIGN - 1);
        let max_messages = ring_size / MIN_FRAME_SIZE;
        // With capacity * stride > max_messages, the slot of a retained seq is
        // never overwritten by a newer one (see spec/format.md, "Seq index").
        let index_stride = max_messages.checked_div(capacity).map_or(0, |q| q + 1);
        Ok(Geometry {
            file_size,
            index_offset: HEADER_SIZE as u64,
            index_capacity: capacity,
            index_stride,
            readers_offset,
            readers_capacity,
            ring_offset,
            ring_size,
            created_ns: opts.created_ns,
        })
    }

    /// Validates a header against the region length it was read from.
    ///
    /// A version above [`MAX_PLAUSIBLE_VERSION`] with a header checksum
    /// that does not match is reported as damage (`Corrupt`), not as an
    /// unsupported version.
    pub fn from_header(h: &Header, region_len: u64) -> Result<Self> {
        if h.magic != MAGIC {
            return Err(Error::NotAPool);
        }
        let version = h.version.get();
        // Versions are handed out one at a time, so a newer pool carries a
        // small number. A huge one in a header that also fails this
        // version's checksum is damage, not a pool from the future: say so,
        // rather than send the user off to upgrade.
        if version > MAX_PLAUSIBLE_VERSION && h.header_crc.get() != header_crc(h) {
            return Err(Error::corrupt(
                "header: format version field damaged",
                Some(0),
                None,
            ));
        }
        if version > FORMAT_VERSION {
            return Err(Error::UnsupportedVersion {
                found: version,
                supported: FORMAT_VERSION,
            });
        }
        let bad = |what| Err(Error::corrupt(what, Some(0), None));
        if version == 0 {
            return bad("header: format version 0");
        }
        if h.header_crc.get() != header_crc(h) {
            return bad("header checksum mismatch");
        }
        let g = Geometry {
            file_size: h.file_size.get(),
            index_offset: h.index_offset.get(),
            index_capacity: h.index_capacity.get(),
            index_stride: h.index_stride.get(),
            readers_offset: h.readers_offset.get(),
            readers_capacity: h.readers_capacity.get(),
            ring_offset: h.ring_offset.get(),
            ring_size: h.ring_size.get(),
            created_ns: h.created_ns.get(),
        };
        if h.flags.get() != 0 {
            return bad("header: unknown feature flags (written by a newer plasmite?)");
        }
        if h.header_size.get() as usize != HEADER_SIZE {
            return bad("header: unexpected header size");
        }
        if g.file_size != region_len {
            return bad("header: pool size does not match the file size");
        }
        let index_end = g
            .index_capacity
            .checked_mul(INDEX_SLOT_SIZE as u64)
            .and_then(|b| b.checked_add(g.index_offset));
        let index_end = match index_end {
            Some(end) if g.index_offset == HEADER_SIZE as u64 && end <= g.ring_offset => end,
            _ => return bad("header: index out of bounds"),
        };
        let readers_end = u64::from(g.readers_capacity)
            .checked_mul(READER_SLOT_SIZE as u64)
            .and_then(|b| b.checked_add(g.readers_offset));
        let readers_ok = match readers_end {
            _ if g.readers_capacity == 0 => g.readers_offset == 0,
            Some(end) => {
                g.readers_offset >= index_end
                    && g.readers_offset % READER_SLOT_SIZE as u64 == 0
                    && g.readers_capacity <= MAX_READERS
                    && end <= g.ring_offset
            }
            None => false,
        };
        if !readers_ok {
            return bad("header: named-reader table out of bounds");
        }
        if (g.index_capacity == 0) != (g.index_stride == 0) {
            return bad("header: index stride inconsistent with capacity");
        }
        let ring_end = g.ring_offset.checked_add(g.ring_size);
        if g.ring_offset % RING_ALIGN != 0
            || g.ring_size % FRAME_ALIGN != 0
            || g.ring_size < MIN_FRAME_SIZE
            || ring_end.is_none_or(|end| end > g.file_size)
        {
            return bad("header: ring out of bounds");
        }
        Ok(g)
    }

    /// The header that describes this geometry, with an empty ring.
    pub fn to_header(&self) -> Header {
        let mut h = Header::new_zeroed();
        h.magic = MAGIC;
        h.version = U32::new(FORMAT_VERSION);
        h.header_size = U32::new(HEADER_SIZE as u32);
        h.file_size = U64::new(self.file_size);
        h.index_offset = U64::new(self.index_offset);
        h.index_capacity = U64::new(self.index_capacity);
        h.index_stride = U64::new(self.index_stride);
        h.readers_offset = U64::new(self.readers_offset);
        h.readers_capacity = U32::new(self.readers_capacity);
        h.ring_offset = U64::new(self.ring_offset);
        h.ring_size = U64::new(self.ring_size);
        h.created_ns = U64::new(self.created_ns);
        h.next_seq = U64::new(1);
        h.header_crc = U32::new(header_crc(&h));
        h
    }

    /// Largest payload (tag block plus data) one message may carry.
    pub fn max_payload(&self) -> u64 {
        (self.ring_size - FRAME_HEADER_SIZE as u64).min(MAX_PAYLOAD)
    }

    /// Upper bound on the number of messages the ring can retain.
    pub fn max_messages(&self) -> u64 {
        self.ring_size / MIN_FRAME_SIZE
    }

    /// Region offset of ring position `pos`.
    pub(crate) fn offset(&self, pos: u64) -> usize {
        (self.ring_offset + pos % self.ring_size) as usize
    }

    /// Bytes from ring position `pos` to the ring's end.
    pub(crate) fn bytes_to_end(&self, pos: u64) -> u64 {
        self.ring_size - pos % self.ring_size
    }

    /// The index slot holding `seq`, if `seq` is indexed.
    pub(crate) fn index_slot(&self, seq: u64) -> Option<usize> {
        if self.index_stride == 0 || seq % self.index_stride != 0 {
            return None;
        }
        let slot = (seq / self.index_stride) % self.index_capacity;
        Some((self.index_offset + slot * INDEX_SLOT_SIZE as u64) as usize)
    }
}

/// CRC-32 of the checksummed part of a header.
fn header_crc(h: &Header) -> u32 {
    use zerocopy::IntoBytes;
    crc32fast::hash(&h.as_bytes()[..offsets::HEADER_CRC_END])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plans_and_round_trips() {
        let g = Geometry::plan(1 << 20, &FormatOptions::default()).unwrap();
        assert_eq!(g.index_capacity, 2048);
        assert_eq!(g.ring_offset % RING_ALIGN, 0);
        assert!(g.index_capacity * g.index_stride > g.max_messages());
        assert_eq!(Geometry::from_header(&g.to_header(), 1 << 20), Ok(g));
    }

    #[test]
    fn refuses_impossible_sizes() {
        assert!(matches!(
            Geometry::plan(100, &FormatOptions::default()),
            Err(Error::BadGeometry {
                min: MIN_POOL_SIZE,
                ..
            })
        ));
        let opts = FormatOptions {
            index_capacity: Some(1 << 20),
            ..Default::default()
        };
        assert!(Geometry::plan(1 << 20, &opts).is_err());
        let none = FormatOptions {
            index_capacity: Some(0),
            ..Default::default()
        };
        assert_eq!(Geometry::plan(4096, &none).unwrap().index_stride, 0);
    }

    #[test]
    fn rejects_damaged_headers() {
        let g = Geometry::plan(8192, &FormatOptions::default()).unwrap();
        let mut h = g.to_header();
        h.ring_size = U64::new(1 << 40);
        assert!(matches!(
            Geometry::from_header(&h, 8192),
            Err(Error::Corrupt(_))
        ));
        let mut h = g.to_header();
        h.magic[0] = b'X';
        assert_eq!(Geometry::from_header(&h, 8192), Err(Error::NotAPool));
        let mut h = g.to_header();
        h.readers_offset = U64::new(g.ring_offset);
        assert!(Geometry::from_header(&h, 8192).is_err(), "checksum");
        let mut h = g.to_header();
        h.version = U32::new(9);
        assert!(matches!(
            Geometry::from_header(&h, 8192),
            Err(Error::UnsupportedVersion { found: 9, .. })
        ));
        // Regression (found by the crash and load campaign): garbage over
        // the version field read as "unsupported version 1738932225", with
        // advice to upgrade. A huge version with a bad checksum is damage.
        let mut h = g.to_header();
        h.version = U32::new(1_738_932_225);
        assert!(matches!(
            Geometry::from_header(&h, 8192),
            Err(Error::Corrupt(_))
        ));
        // The same number under a checksum that matches was written so.
        h.header_crc = U32::new(header_crc(&h));
        assert!(matches!(
            Geometry::from_header(&h, 8192),
            Err(Error::UnsupportedVersion {
                found: 1_738_932_225,
                ..
            })
        ));
        assert!(Geometry::from_header(&g.to_header(), 4096).is_err());
    }
}
