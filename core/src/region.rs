//! The byte region a pool lives in.
//!
//! The format code never touches memory directly: it reads and writes through
//! [`Region`], so the same logic runs over a shared file mapping (in the
//! `plasmite` crate), a RAM buffer on a microcontroller ([`MemRegion`]), or a
//! test double that cuts writes short to simulate a power failure.

use core::cell::Cell;

/// A fixed-size byte region holding one pool.
///
/// Offsets are relative to the start of the region, which implementations
/// must place on an 8-byte boundary so the word operations below are aligned.
/// Every offset and length the format code passes is already bounds-checked
/// against [`Region::len`]; implementations may still panic on an
/// out-of-bounds access as a last line of defence, since that would be a bug.
///
/// Word operations carry the memory ordering of the pool's concurrency
/// protocol: loads are `Acquire`, stores are `Release`, read-modify-writes are
/// `AcqRel`. Words are stored little-endian, like the rest of the format, and
/// passed as plain values: implementations convert (a no-op on little-endian
/// hosts; a big-endian host swaps bytes and uses a compare-exchange loop for
/// the read-modify-writes).
///
/// Other processes may write the region concurrently (that is the point of a
/// shared mapping). [`Region::read`] therefore copies bytes out; the caller
/// validates the copy, never the live bytes.
pub trait Region {
    /// The region's length in bytes.
    fn len(&self) -> usize;

    /// Whether the region is empty (it never is for a usable pool).
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Copies `dst.len()` bytes starting at `offset` into `dst`.
    fn read(&self, offset: usize, dst: &mut [u8]);

    /// Copies `src` into the region at `offset`.
    ///
    /// Only the writer that holds the pool's writer lock calls this.
    fn write(&self, offset: usize, src: &[u8]);

    /// Loads the 8-byte word at `offset` (8-aligned) with `Acquire` ordering.
    fn load_u64(&self, offset: usize) -> u64;

    /// Stores the 8-byte word at `offset` (8-aligned) with `Release` ordering.
    fn store_u64(&self, offset: usize, value: u64);

    /// Loads the 4-byte word at `offset` (4-aligned) with `Acquire` ordering.
    fn load_u32(&self, offset: usize) -> u32;

    /// Adds to the 4-byte word at `offset` (4-aligned), wrapping, with
    /// `AcqRel` ordering; returns the previous value.
    fn fetch_add_u32(&self, offset: usize, delta: u32) -> u32;

    /// Raises the 4-byte word at `offset` (4-aligned) to at least `value`,
    /// with `AcqRel` ordering; returns the previous value.
    fn fetch_max_u32(&self, offset: usize, value: u32) -> u32;

    /// Makes all earlier writes durable, where the medium supports it.
    ///
    /// The default does nothing, which is right for RAM.
    fn flush(&self) {}
}

/// A region over an ordinary byte buffer, for RAM-resident pools and tests.
///
/// It is `!Sync`: one thread owns it, so its word operations need no atomics
/// and its implementation needs no `unsafe`.
pub struct MemRegion<'a> {
    cells: &'a [Cell<u8>],
}

impl<'a> MemRegion<'a> {
    /// Wraps a buffer. The buffer must start on an 8-byte boundary if it is
    /// ever to be shared with code that uses real atomics; `MemRegion` itself
    /// does not care.
    pub fn new(buf: &'a mut [u8]) -> Self {
        MemRegion {
            cells: Cell::from_mut(buf).as_slice_of_cells(),
        }
    }

    fn word<const N: usize>(&self, offset: usize) -> [u8; N] {
        let mut out = [0u8; N];
        self.read(offset, &mut out);
        out
    }
}

impl Region for MemRegion<'_> {
    fn len(&self) -> usize {
        self.cells.len()
    }

    fn read(&self, offset: usize, dst: &mut [u8]) {
        let src = &self.cells[offset..offset + dst.len()];
        for (d, s) in dst.iter_mut().zip(src) {
            *d = s.get();
        }
    }

    fn write(&self, offset: usize, src: &[u8]) {
        let dst = &self.cells[offset..offset + src.len()];
        for (d, s) in dst.iter().zip(src) {
            d.set(*s);
        }
    }

    fn load_u64(&self, offset: usize) -> u64 {
        u64::from_le_bytes(self.word(offset))
    }

    fn store_u64(&self, offset: usize, value: u64) {
        self.write(offset, &value.to_le_bytes());
    }

    fn load_u32(&self, offset: usize) -> u32 {
        u32::from_le_bytes(self.word(offset))
    }

    fn fetch_add_u32(&self, offset: usize, delta: u32) -> u32 {
        let old = self.load_u32(offset);
        self.write(offset, &old.wrapping_add(delta).to_le_bytes());
        old
    }

    fn fetch_max_u32(&self, offset: usize, value: u32) -> u32 {
        let old = self.load_u32(offset);
        self.write(offset, &old.max(value).to_le_bytes());
        old
    }
}

/// A region that drops every write once a budget of bytes is spent, as when
/// the process writing dies mid-append: for testing that code built on the
/// format keeps its promises across crashes. What was stored before the cut
/// stays (a crash, not a lost page). A word store is all or nothing, as on
/// real hardware.
///
/// The budget starts unlimited; [`cut_after`](Self::cut_after) arms it and
/// [`heal`](Self::heal) lifts it, so a test can cut a writer, then reopen
/// the same bytes as a restarted process would.
pub struct CutRegion<R> {
    inner: R,
    budget: Cell<usize>,
}

impl<R: Region> CutRegion<R> {
    /// Wraps `inner` with an unlimited budget.
    pub fn new(inner: R) -> Self {
        CutRegion {
            inner,
            budget: Cell::new(usize::MAX),
        }
    }

    /// Lets only `bytes` more bytes through (word stores cost 8).
    pub fn cut_after(&self, bytes: usize) {
        self.budget.set(bytes);
    }

    /// Lifts the budget: writes go through again.
    pub fn heal(&self) {
        self.budget.set(usize::MAX);
    }

    /// The region written through.
    pub fn inner(&self) -> &R {
        &self.inner
    }

    fn spend(&self, n: usize) -> usize {
        let b = self.budget.get();
        let take = b.min(n);
        self.budget.set(b - take);
        take
    }
}

impl<R: Region> Region for CutRegion<R> {
    fn len(&self) -> usize {
        self.inner.len()
    }

    fn read(&self, offset: usize, dst: &mut [u8]) {
        self.inner.read(offset, dst)
    }

    fn write(&self, offset: usize, src: &[u8]) {
        let n = self.spend(src.len());
        self.inner.write(offset, &src[..n])
    }

    fn load_u64(&self, offset: usize) -> u64 {
        self.inner.load_u64(offset)
    }

    fn store_u64(&self, offset: usize, value: u64) {
        if self.spend(8) == 8 {
            self.inner.store_u64(offset, value)
        }
    }

    fn load_u32(&self, offset: usize) -> u32 {
        self.inner.load_u32(offset)
    }

    fn fetch_add_u32(&self, offset: usize, delta: u32) -> u32 {
        self.inner.fetch_add_u32(offset, delta)
    }

    fn fetch_max_u32(&self, offset: usize, value: u32) -> u32 {
        self.inner.fetch_max_u32(offset, value)
    }

    fn flush(&self) {
        self.inner.flush()
    }
}
