//! The shared file mapping a pool lives in, as a [`Region`].

use std::fs::File;
use std::io;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use plasmite_core::Region;
use rustix::mm::{mmap, munmap, MapFlags, ProtFlags};

/// A `MAP_SHARED` mapping of a whole pool file.
///
/// Other processes write the same pages at any time. Plain copies out of it
/// race with those writes by design: the format layer validates every copy
/// (checksum, seq, then a tail re-check) before trusting it, which is the
/// seqlock discipline. Words that carry the protocol are accessed atomically.
pub(crate) struct Mapping {
    ptr: NonNull<u8>,
    len: usize,
    writable: bool,
}

// SAFETY: the mapping is plain shared memory; all shared mutation goes
// through atomics or through copies the format layer validates, and only
// the holder of the writer lock writes frames.
unsafe impl Send for Mapping {}
// SAFETY: as above.
unsafe impl Sync for Mapping {}

impl Mapping {
    /// Maps `len` bytes of `file`, read-write if `writable`.
    pub(crate) fn new(file: &File, len: usize, writable: bool) -> io::Result<Self> {
        let prot = if writable {
            ProtFlags::READ | ProtFlags::WRITE
        } else {
            ProtFlags::READ
        };
        // SAFETY: a fresh mapping at an address the kernel picks, so no
        // existing memory is affected; the length was checked against the
        // file's size by the caller.
        let ptr = unsafe { mmap(std::ptr::null_mut(), len, prot, MapFlags::SHARED, file, 0)? };
        let ptr =
            NonNull::new(ptr.cast::<u8>()).ok_or_else(|| io::Error::other("mmap returned null"))?;
        Ok(Mapping { ptr, len, writable })
    }

    /// Whether the mapping accepts writes.
    pub(crate) fn writable(&self) -> bool {
        self.writable
    }

    /// The word at `offset` as an atomic, for futex calls.
    pub(crate) fn atomic_u32(&self, offset: usize) -> &AtomicU32 {
        assert!(offset % 4 == 0 && offset + 4 <= self.len);
        // SAFETY: in bounds and 4-aligned (the mapping is page-aligned);
        // the mapping outlives the returned reference, and all accesses to
        // this word are atomic.
        unsafe { AtomicU32::from_ptr(self.ptr.as_ptr().add(offset).cast()) }
    }

    fn atomic_u64(&self, offset: usize) -> &AtomicU64 {
        assert!(offset % 8 == 0 && offset + 8 <= self.len);
        // SAFETY: as for `atomic_u32`, with 8-byte alignment.
        unsafe { AtomicU64::from_ptr(self.ptr.as_ptr().add(offset).cast()) }
    }

    fn assert_writable(&self) {
        // Writing a read-only mapping would fault; refuse loudly instead.
        assert!(self.writable, "write to a read-only pool mapping");
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: `ptr`/`len` are exactly what mmap returned, and no
        // reference into the mapping outlives `self`.
        let _ = unsafe { munmap(self.ptr.as_ptr().cast(), self.len) };
    }
}

#[cfg(target_endian = "big")]
compile_error!(
    "plasmite's file mapping assumes a little-endian host (the format is little-endian)"
);

impl Region for Mapping {
    fn len(&self) -> usize {
        self.len
    }

    fn read(&self, offset: usize, dst: &mut [u8]) {
        assert!(offset
            .checked_add(dst.len())
            .is_some_and(|end| end <= self.len));
        // SAFETY: the source range is inside the mapping (checked above) and
        // cannot overlap `dst`, which is ordinary memory. Concurrent writes
        // from other processes may tear the copy; callers validate it.
        unsafe {
            std::ptr::copy_nonoverlapping(
                self.ptr.as_ptr().add(offset),
                dst.as_mut_ptr(),
                dst.len(),
            )
        }
    }

    fn write(&self, offset: usize, src: &[u8]) {
        self.assert_writable();
        assert!(offset
            .checked_add(src.len())
            .is_some_and(|end| end <= self.len));
        // SAFETY: the destination range is inside a writable mapping
        // (checked above); only the writer-lock holder writes frame bytes,
        // and readers never form references to them.
        unsafe {
            std::ptr::copy_nonoverlapping(src.as_ptr(), self.ptr.as_ptr().add(offset), src.len())
        }
    }

    fn load_u64(&self, offset: usize) -> u64 {
        self.atomic_u64(offset).load(Ordering::Acquire)
    }

    fn store_u64(&self, offset: usize, value: u64) {
        self.assert_writable();
        self.atomic_u64(offset).store(value, Ordering::Release)
    }

    fn load_u32(&self, offset: usize) -> u32 {
        self.atomic_u32(offset).load(Ordering::Acquire)
    }

    fn fetch_add_u32(&self, offset: usize, delta: u32) -> u32 {
        self.assert_writable();
        self.atomic_u32(offset).fetch_add(delta, Ordering::SeqCst)
    }

    fn fetch_max_u32(&self, offset: usize, value: u32) -> u32 {
        self.assert_writable();
        self.atomic_u32(offset).fetch_max(value, Ordering::SeqCst)
    }
}
