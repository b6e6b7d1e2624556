//! Cross-process wake-ups: a futex on the pool's notify word.
//!
//! The word lives in the shared file mapping, so the futex is keyed by the
//! file (inode and offset), not by an address space: readers in any process
//! that maps the pool wait on the same futex. Non-Linux hosts poll instead.

use std::sync::atomic::AtomicU32;
use std::time::Duration;

/// Waits while `word` still holds `expected`, for at most `timeout`.
/// Returns early on a wake-up, a signal, or a changed word; callers re-check
/// the ring either way, so a spurious return is harmless.
pub(crate) fn wait(word: &AtomicU32, expected: u32, timeout: Duration) {
    #[cfg(target_os = "linux")]
    {
        use rustix::thread::futex;
        let ts = rustix::time::Timespec {
            tv_sec: timeout.as_secs().min(i64::MAX as u64) as i64,
            tv_nsec: i64::from(timeout.subsec_nanos()),
        };
        // Shared (no PRIVATE flag): the waker is another process.
        let _ = futex::wait(word, futex::Flags::empty(), expected, Some(&ts));
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = (word, expected);
        std::thread::sleep(timeout.min(Duration::from_millis(2)));
    }
}

/// Wakes every waiter on `word`.
pub(crate) fn wake_all(word: &AtomicU32) {
    #[cfg(target_os = "linux")]
    {
        use rustix::thread::futex;
        let _ = futex::wake(word, futex::Flags::empty(), i32::MAX as u32);
    }
    #[cfg(not(target_os = "linux"))]
    let _ = word;
}
