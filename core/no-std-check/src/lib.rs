//! A `#![no_std]` static library over plasmite-core. It defines its own
//! panic handler, which fails to compile ("duplicate lang item") if anything
//! in the dependency graph links `std`; there is no global allocator, so any
//! use of `alloc` fails to link as well. `scripts/test` builds it.
#![no_std]

use plasmite_core::{FormatOptions, MemRegion, Pool, Read, Start};

#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    loop {}
}

/// Formats `len` bytes at `buf` as a pool, appends one message and reads it
/// back; returns its seq, or 0 on failure. Shows the core API works from a
/// plain RAM buffer, as on a microcontroller.
///
/// # Safety
/// `buf` must point to `len` writable bytes that nothing else uses.
#[no_mangle]
pub unsafe extern "C" fn plasmite_core_selftest(buf: *mut u8, len: usize) -> u64 {
    // SAFETY: the caller guarantees `buf` is valid for `len` bytes.
    let ram = unsafe { core::slice::from_raw_parts_mut(buf, len) };
    let Ok(pool) = Pool::format(MemRegion::new(ram), &FormatOptions::default()) else {
        return 0;
    };
    let Ok(mut w) = pool.writer() else { return 0 };
    if w.append(1, b"", b"{\"ok\":true}").is_err() {
        return 0;
    }
    w.publish();
    let mut out = [0u8; 64];
    match pool.cursor(Start::Oldest).and_then(|mut c| pool.read(&mut c, &mut out)) {
        Ok(Read::Message(m)) => m.seq,
        _ => 0,
    }
}
