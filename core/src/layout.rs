//! The on-disk format, defined once: every struct that is ever stored.
//!
//! All integers are little-endian and every struct has alignment 1, so the
//! layout is the same on every host. `spec/format.md` draws each struct byte
//! for byte; the `layout_matches_spec` test pins the offsets drawn there.
//!
//! ```text
//! +----------------+----------------------+-----------------------+----+---------------------+
//! | header (256 B) | index (16 B x slots) | named readers (64 B x) | .. | ring of frames      |
//! +----------------+----------------------+-----------------------+----+---------------------+
//! 0                256                    readers_offset              ring_offset   file_size
//! ```

use zerocopy::little_endian::{U32, U64};
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout, Unaligned};

/// The first eight bytes of every pool.
pub const MAGIC: [u8; 8] = *b"PLASMITE";

/// The format version this crate reads and writes.
pub const FORMAT_VERSION: u32 = 1;

/// The largest format version taken at its word when the header checksum
/// does not match: a bigger number there is a damaged version field
/// ([`crate::Geometry::from_header`]).
pub const MAX_PLAUSIBLE_VERSION: u32 = 0xFFFF;

/// Size of the pool header in bytes.
pub const HEADER_SIZE: usize = 256;

/// Frames start on multiples of this many bytes (ring positions are too).
pub const FRAME_ALIGN: u64 = 8;

/// Size of a frame header in bytes.
pub const FRAME_HEADER_SIZE: usize = 32;

/// Size of one index slot in bytes.
pub const INDEX_SLOT_SIZE: usize = 16;

/// The ring starts on a multiple of this many bytes (a cache line).
pub const RING_ALIGN: u64 = 64;

/// Size of one named-reader slot in bytes.
pub const READER_SLOT_SIZE: usize = 64;

/// Most named-reader slots a pool may have.
pub const MAX_READERS: u32 = 64;

/// Longest named-reader name in bytes.
pub const READER_NAME_MAX: usize = 32;

/// Value of a frame's commit word once the frame is completely written.
pub const FRAME_COMMITTED: u32 = u32::from_le_bytes(*b"PLF1");

/// First word of a padding marker that fills the ring's end before a wrap.
pub const PAD_MARKER: u32 = u32::from_le_bytes(*b"PLPD");

/// The smallest pool (file) size accepted: one 4 KiB page.
pub const MIN_POOL_SIZE: u64 = 4096;

/// The largest payload (tag block plus data) one message may carry, on top
/// of the limit set by the ring's size.
pub const MAX_PAYLOAD: u64 = 1 << 30;

/// The smallest frame: a header with an empty payload. (The `plasmite`
/// crate never stores less than `{}`, but the format allows it, and the index
/// sizing must hold for anything the format allows.)
pub const MIN_FRAME_SIZE: u64 = FRAME_HEADER_SIZE as u64;

/// Rounds `value` up to a multiple of `align` (a power of two).
pub const fn align_up(value: u64, align: u64) -> u64 {
    (value + align - 1) & !(align - 1)
}

/// The pool header: static geometry (checksummed), the writer's published
/// state, and the wake-up word, each group on its own 64-byte cache line(s).
#[derive(FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned, Clone, Copy, Debug)]
#[repr(C)]
pub struct Header {
    /// [`MAGIC`].
    pub magic: [u8; 8],
    /// [`FORMAT_VERSION`] of the writer that created the pool.
    pub version: U32,
    /// [`HEADER_SIZE`].
    pub header_size: U32,
    /// Size of the whole region (file) in bytes.
    pub file_size: U64,
    /// Offset of the seq index from the start of the region.
    pub index_offset: U64,
    /// Number of 16-byte index slots (0: no index).
    pub index_capacity: U64,
    /// Every `index_stride`-th seq has an index entry.
    pub index_stride: U64,
    /// Offset of the ring from the start of the region.
    pub ring_offset: U64,
    /// Size of the ring in bytes (a multiple of [`FRAME_ALIGN`]).
    pub ring_size: U64,
    /// Creation time, ns since the Unix epoch.
    pub created_ns: U64,
    /// Offset of the table of durable named readers (0: none).
    pub readers_offset: U64,
    /// Slots in the named-reader table.
    pub readers_capacity: U32,
    /// Feature flags; all must be 0 in version 1 (a reader refuses a pool
    /// with flags it does not know).
    pub flags: U32,
    /// Reserved, zero.
    pub reserved0: [u8; 36],
    /// CRC-32 of bytes 0..124 (everything above).
    pub header_crc: U32,
    /// Ring position one past the newest published frame (the publish point).
    pub head: U64,
    /// Ring position of the oldest retained frame.
    pub tail: U64,
    /// Seq the next appended message will get.
    pub next_seq: U64,
    /// Ring position of the newest published frame.
    pub last_pos: U64,
    /// Reserved, zero.
    pub reserved1: [u8; 32],
    /// Wake-up word: bumped after every publish; readers futex-wait on it.
    pub notify: U32,
    /// Seconds since the Unix epoch until which a reader may be asleep on
    /// `notify`: writers skip the wake-up call once it has passed. A deadline
    /// rather than a count, so a reader killed in its sleep is forgotten
    /// within seconds instead of costing every later publish a syscall.
    pub wait_until: U32,
    /// Reserved, zero.
    pub reserved2: [u8; 56],
}

/// Byte offsets of the header words accessed atomically.
pub mod offsets {
    use core::mem::offset_of;

    use super::Header;

    /// Bytes covered by the header checksum.
    pub const HEADER_CRC_END: usize = offset_of!(Header, header_crc);
    /// [`Header::head`](super::Header::head).
    pub const HEAD: usize = offset_of!(Header, head);
    /// [`Header::tail`](super::Header::tail).
    pub const TAIL: usize = offset_of!(Header, tail);
    /// [`Header::next_seq`](super::Header::next_seq).
    pub const NEXT_SEQ: usize = offset_of!(Header, next_seq);
    /// [`Header::last_pos`](super::Header::last_pos).
    pub const LAST_POS: usize = offset_of!(Header, last_pos);
    /// [`Header::notify`](super::Header::notify).
    pub const NOTIFY: usize = offset_of!(Header, notify);
    /// [`Header::wait_until`](super::Header::wait_until).
    pub const WAIT_UNTIL: usize = offset_of!(Header, wait_until);
}

/// The header of one frame (message) in the ring; the payload follows it.
///
/// The payload is the tag block (`tags_len` bytes, a compact JSON array of
/// strings, or nothing when there are no tags) followed by the compact JSON
/// text of the message's data object.
#[derive(FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned, Clone, Copy, Debug)]
#[repr(C)]
pub struct FrameHeader {
    /// [`FRAME_COMMITTED`] once the frame is completely written; cleared to 0
    /// before a frame is written over this position.
    pub commit: U32,
    /// CRC-32 of header bytes 8..32 followed by the payload.
    pub crc: U32,
    /// The message's sequence number.
    pub seq: U64,
    /// Append time, ns since the Unix epoch (UTC).
    pub time_ns: U64,
    /// Payload length in bytes.
    pub len: U32,
    /// Length of the tag block at the start of the payload.
    pub tags_len: U32,
}

/// Marks the unused bytes at the ring's end when the next frame wraps.
#[derive(FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned, Clone, Copy, Debug)]
#[repr(C)]
pub struct PadMarker {
    /// [`PAD_MARKER`].
    pub marker: U32,
    /// Bytes from this marker to the ring's end.
    pub len: U32,
}

/// One entry of the seq index: where the frame of `seq` starts.
#[derive(FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned, Clone, Copy, Debug)]
#[repr(C)]
pub struct IndexSlot {
    /// The seq this slot points at (0: empty).
    pub seq: U64,
    /// Ring position of that seq's frame.
    pub pos: U64,
}

/// One slot of the named-reader table: a durable reader's name and the seq
/// it resumes at.
///
/// `state` publishes the slot: 0 means free; otherwise its low 32 bits are
/// the CRC-32 of `name[..name_len]` and bits 32..40 are `name_len`. It is
/// stored last when a slot is claimed and cleared to free it, so a crash
/// mid-claim leaves the slot free and a reader never trusts a name whose
/// checksum does not match.
#[derive(FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned, Clone, Copy, Debug)]
#[repr(C)]
pub struct ReaderSlot {
    /// The seq the reader reads next: everything before it is acknowledged.
    pub next_seq: U64,
    /// When `next_seq` was last stored, ns since the Unix epoch.
    pub acked_ns: U64,
    /// When the reader was created, ns since the Unix epoch.
    pub created_ns: U64,
    /// Publication word (see the type docs).
    pub state: U64,
    /// The name, `name_len` bytes of `[A-Za-z0-9._-]`, zero-padded.
    pub name: [u8; READER_NAME_MAX],
}

/// Byte offsets of the named-reader slot words accessed atomically.
pub mod reader_offsets {
    use core::mem::offset_of;

    use super::ReaderSlot;

    /// [`ReaderSlot::next_seq`](super::ReaderSlot::next_seq).
    pub const NEXT_SEQ: usize = offset_of!(ReaderSlot, next_seq);
    /// [`ReaderSlot::acked_ns`](super::ReaderSlot::acked_ns).
    pub const ACKED_NS: usize = offset_of!(ReaderSlot, acked_ns);
    /// [`ReaderSlot::state`](super::ReaderSlot::state).
    pub const STATE: usize = offset_of!(ReaderSlot, state);
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::mem::{offset_of, size_of};

    #[test]
    fn layout_matches_spec() {
        assert_eq!(size_of::<Header>(), HEADER_SIZE);
        assert_eq!(offset_of!(Header, version), 8);
        assert_eq!(offset_of!(Header, file_size), 16);
        assert_eq!(offset_of!(Header, index_offset), 24);
        assert_eq!(offset_of!(Header, index_capacity), 32);
        assert_eq!(offset_of!(Header, index_stride), 40);
        assert_eq!(offset_of!(Header, ring_offset), 48);
        assert_eq!(offset_of!(Header, ring_size), 56);
        assert_eq!(offset_of!(Header, created_ns), 64);
        assert_eq!(offset_of!(Header, readers_offset), 72);
        assert_eq!(offset_of!(Header, readers_capacity), 80);
        assert_eq!(offsets::HEADER_CRC_END, 124);
        assert_eq!(offsets::HEAD, 128);
        assert_eq!(offsets::TAIL, 136);
        assert_eq!(offsets::NEXT_SEQ, 144);
        assert_eq!(offsets::LAST_POS, 152);
        assert_eq!(offsets::NOTIFY, 192);
        assert_eq!(offsets::WAIT_UNTIL, 196);
        assert_eq!(size_of::<FrameHeader>(), FRAME_HEADER_SIZE);
        assert_eq!(size_of::<ReaderSlot>(), READER_SLOT_SIZE);
        assert_eq!(reader_offsets::NEXT_SEQ, 0);
        assert_eq!(reader_offsets::ACKED_NS, 8);
        assert_eq!(reader_offsets::STATE, 24);
        assert_eq!(offset_of!(FrameHeader, seq), 8);
        assert_eq!(offset_of!(FrameHeader, time_ns), 16);
        assert_eq!(offset_of!(FrameHeader, len), 24);
        assert_eq!(offset_of!(FrameHeader, tags_len), 28);
        assert_eq!(size_of::<PadMarker>(), 8);
        assert_eq!(size_of::<IndexSlot>(), INDEX_SLOT_SIZE);
        assert_eq!(MIN_FRAME_SIZE, 32);
    }
}
