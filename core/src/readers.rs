//! Durable named readers: a small table in the pool where a consumer keeps
//! the seq it resumes at, so a restarted process picks up exactly where it
//! acknowledged.
//!
//! Claiming and freeing a slot happen under the pool's writer lock (they are
//! rare); storing a position is one 8-byte atomic store and takes no lock, so
//! a consumer can acknowledge every message cheaply. Lookups take no lock
//! either: they copy a slot and trust it only if its name checksum matches.

use zerocopy::FromBytes;

use crate::error::{Error, Result};
use crate::layout::{reader_offsets, ReaderSlot, READER_NAME_MAX, READER_SLOT_SIZE};
use crate::pool::Pool;
use crate::region::Region;

/// A named reader as stored in the table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NamedReader {
    /// Slot number in the table (stable while the reader exists).
    pub slot: u32,
    /// The seq the reader reads next: everything before it is acknowledged.
    pub next_seq: u64,
    /// When the position was last stored, ns since the Unix epoch.
    pub acked_ns: u64,
    /// When the reader was created, ns since the Unix epoch.
    pub created_ns: u64,
    name: [u8; READER_NAME_MAX],
    name_len: u8,
    state: u64,
}

impl NamedReader {
    /// The reader's name.
    pub fn name(&self) -> &str {
        // Only names of checked ASCII are ever accepted (see `parse_slot`).
        core::str::from_utf8(&self.name[..usize::from(self.name_len)]).unwrap_or("")
    }
}

/// Whether `name` may name a reader: 1 to 32 bytes of `[A-Za-z0-9._-]`.
pub fn valid_reader_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= READER_NAME_MAX
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

fn state_word(name: &[u8]) -> u64 {
    u64::from(crc32fast::hash(name)) | ((name.len() as u64) << 32)
}

impl<R: Region> Pool<R> {
    /// Slots in this pool's named-reader table (0 for a pool without one).
    pub fn reader_capacity(&self) -> u32 {
        self.geo.readers_capacity
    }

    fn slot_offset(&self, slot: u32) -> usize {
        (self.geo.readers_offset + u64::from(slot) * READER_SLOT_SIZE as u64) as usize
    }

    /// The reader in `slot`, if the slot is in use and intact. A slot whose
    /// name fails its checksum reads as free (and [`Pool::validate`] reports
    /// it).
    pub fn reader_at(&self, slot: u32) -> Option<NamedReader> {
        if slot >= self.geo.readers_capacity {
            return None;
        }
        let off = self.slot_offset(slot);
        let state = self.region.load_u64(off + reader_offsets::STATE);
        if state == 0 {
            return None;
        }
        let mut raw = [0u8; READER_SLOT_SIZE];
        self.region.read(off, &mut raw);
        parse_slot(slot, &raw, state)
    }

    /// Whether `slot` holds something that is neither free nor a valid
    /// reader: damage for validation to report.
    pub(crate) fn reader_damaged(&self, slot: u32) -> bool {
        let off = self.slot_offset(slot);
        let state = self.region.load_u64(off + reader_offsets::STATE);
        state != 0 && self.reader_at(slot).is_none()
    }

    /// The reader called `name`, if any.
    pub fn find_reader(&self, name: &str) -> Option<NamedReader> {
        (0..self.geo.readers_capacity)
            .filter_map(|s| self.reader_at(s))
            .find(|r| r.name() == name)
    }

    /// Creates the reader `name` positioned at `next_seq`, or returns the
    /// existing one unchanged.
    ///
    /// The caller must hold the pool's writer lock, as for a
    /// [`Writer`](crate::Writer): two processes claiming at once could
    /// otherwise take the same free slot.
    pub fn claim_reader(&self, name: &str, next_seq: u64, now_ns: u64) -> Result<NamedReader> {
        if !valid_reader_name(name) {
            return Err(Error::BadReaderName);
        }
        if self.geo.readers_capacity == 0 {
            return Err(Error::NoReaderTable);
        }
        if let Some(r) = self.find_reader(name) {
            return Ok(r);
        }
        // Free slots, and slots too damaged to name anyone, can be taken.
        let slot = (0..self.geo.readers_capacity)
            .find(|&s| self.reader_at(s).is_none())
            .ok_or(Error::ReadersFull {
                capacity: self.geo.readers_capacity,
            })?;
        let off = self.slot_offset(slot);
        self.region.store_u64(off + reader_offsets::STATE, 0);
        let mut slot_bytes = [0u8; READER_SLOT_SIZE];
        slot_bytes[..8].copy_from_slice(&next_seq.to_le_bytes());
        slot_bytes[8..16].copy_from_slice(&now_ns.to_le_bytes());
        slot_bytes[16..24].copy_from_slice(&now_ns.to_le_bytes());
        slot_bytes[32..32 + name.len()].copy_from_slice(name.as_bytes());
        // Everything but the state word, then the state word: published.
        self.region.write(off, &slot_bytes[..reader_offsets::STATE]);
        self.region.write(off + 32, &slot_bytes[32..]);
        self.region
            .store_u64(off + reader_offsets::STATE, state_word(name.as_bytes()));
        self.reader_at(slot).ok_or(Error::ReadersFull {
            capacity: self.geo.readers_capacity,
        })
    }

    /// Stores `next_seq` as the position of `reader`: one atomic store, no
    /// lock. Does nothing if the slot was freed or reused meanwhile.
    pub fn store_reader_position(&self, reader: &NamedReader, next_seq: u64, now_ns: u64) {
        let off = self.slot_offset(reader.slot);
        if self.region.load_u64(off + reader_offsets::STATE) != reader.state {
            return;
        }
        self.region
            .store_u64(off + reader_offsets::NEXT_SEQ, next_seq);
        self.region
            .store_u64(off + reader_offsets::ACKED_NS, now_ns);
    }

    /// Frees the slot of the reader called `name`; false if there is none.
    /// The caller must hold the pool's writer lock (see
    /// [`claim_reader`](Self::claim_reader)).
    pub fn delete_reader(&self, name: &str) -> bool {
        match self.find_reader(name) {
            Some(r) => {
                let off = self.slot_offset(r.slot);
                self.region.store_u64(off + reader_offsets::STATE, 0);
                true
            }
            None => false,
        }
    }
}

/// Decodes a copied slot whose state word was `state`, checking the name
/// against the checksum in that word.
fn parse_slot(slot: u32, raw: &[u8; READER_SLOT_SIZE], state: u64) -> Option<NamedReader> {
    let s = ReaderSlot::read_from_bytes(&raw[..]).ok()?;
    if s.state.get() != state {
        return None; // changed while copying
    }
    let len = ((state >> 32) & 0xff) as usize;
    let name = s.name.get(..len)?;
    let name_str = core::str::from_utf8(name).ok()?;
    if state >> 40 != 0 || !valid_reader_name(name_str) || state_word(name) != state {
        return None;
    }
    Some(NamedReader {
        slot,
        next_seq: s.next_seq.get(),
        acked_ns: s.acked_ns.get(),
        created_ns: s.created_ns.get(),
        name: s.name,
        name_len: len as u8,
        state,
    })
}

#[cfg(test)]
mod tests {
    use crate::{FormatOptions, MemRegion, Pool};

    #[test]
    fn claim_find_store_delete() {
        let mut ram = [0u8; 65536];
        let pool = Pool::format(MemRegion::new(&mut ram), &FormatOptions::default()).unwrap();
        assert_eq!(pool.reader_capacity(), 4);
        let a = pool.claim_reader("billing", 1, 10).unwrap();
        assert_eq!(a.name(), "billing");
        assert_eq!(pool.claim_reader("billing", 99, 11).unwrap().next_seq, 1);
        pool.store_reader_position(&a, 42, 12);
        let found = pool.find_reader("billing").unwrap();
        assert_eq!(
            (found.next_seq, found.acked_ns, found.created_ns),
            (42, 12, 10)
        );
        for n in ["b", "c", "d"] {
            pool.claim_reader(n, 1, 0).unwrap();
        }
        assert_eq!(
            pool.claim_reader("e", 1, 0),
            Err(crate::Error::ReadersFull { capacity: 4 })
        );
        assert!(pool.delete_reader("billing"));
        assert!(!pool.delete_reader("billing"));
        // A stale handle cannot move a slot that now belongs to another.
        let e = pool.claim_reader("e", 5, 0).unwrap();
        pool.store_reader_position(&a, 77, 0);
        assert_eq!(pool.find_reader("e").unwrap().next_seq, 5);
        assert_eq!(e.slot, a.slot);
        assert_eq!(
            pool.claim_reader("bad name", 1, 0),
            Err(crate::Error::BadReaderName)
        );
        assert_eq!(
            pool.claim_reader("", 1, 0),
            Err(crate::Error::BadReaderName)
        );
    }

    #[test]
    fn reopened_pool_keeps_readers_and_damage_reads_as_free() {
        let mut ram = [0u8; 65536];
        {
            let pool = Pool::format(MemRegion::new(&mut ram), &FormatOptions::default()).unwrap();
            let r = pool.claim_reader("keep", 3, 1).unwrap();
            pool.store_reader_position(&r, 9, 2);
        }
        let readers_offset = {
            let pool = Pool::open(MemRegion::new(&mut ram)).unwrap();
            assert_eq!(pool.find_reader("keep").unwrap().next_seq, 9);
            pool.geometry().readers_offset as usize
        };
        ram[readers_offset + 33] ^= 1; // flip a bit of the name
        let pool = Pool::open(MemRegion::new(&mut ram)).unwrap();
        assert_eq!(pool.find_reader("keep"), None);
        assert!(pool.reader_damaged(0));
        pool.claim_reader("fresh", 1, 0).unwrap();
        assert!(!pool.reader_damaged(0));
    }
}
