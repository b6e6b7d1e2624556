//! Test doubles shared by the core's integration tests.

use std::cell::Cell;

use plasmite_core::{MemRegion, Region};

/// A region whose writes stop after a budget of bytes, like a process that
/// dies mid-append.
pub struct CutRegion<'a> {
    /// The memory written through.
    pub inner: MemRegion<'a>,
    /// Bytes still to be written; word stores cost 8.
    pub budget: Cell<usize>,
}

impl CutRegion<'_> {
    fn spend(&self, n: usize) -> usize {
        let b = self.budget.get();
        let take = b.min(n);
        self.budget.set(b - take);
        take
    }
}

impl Region for CutRegion<'_> {
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
}
