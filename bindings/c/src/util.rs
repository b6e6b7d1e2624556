//! The checks and conversions every entry point shares: argument pointers
//! to Rust values (NULL and non-UTF-8 become Usage errors), Rust results and
//! panics to status codes and `plsm_error_t`, owned buffers and strings.

use std::any::Any;
use std::ffi::{c_char, c_int, CStr, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};

use plasmite::{Error, ErrorKind};

use crate::{kind_code, plsm_buf_t, plsm_error_t};

/// A Usage error with `message`.
pub(crate) fn usage(message: impl Into<String>) -> Error {
    Error::new(ErrorKind::Usage, message)
}

/// Runs one entry point's body: catches a panic (reported as Internal),
/// stores an error in `*out_err` (or NULL on success), returns 0 or -1.
pub(crate) fn boundary(
    out_err: *mut *mut plsm_error_t,
    body: impl FnOnce() -> Result<(), Error>,
) -> c_int {
    boundary_code(out_err, || body().map(|()| 0))
}

/// [`boundary`] for bodies that return their own non-negative status.
pub(crate) fn boundary_code(
    out_err: *mut *mut plsm_error_t,
    body: impl FnOnce() -> Result<c_int, Error>,
) -> c_int {
    // AssertUnwindSafe: after a panic the error is reported and the handle
    // the body touched is left as the panic left it; the library's own
    // state (mutexes) recovers from poisoning.
    let result = catch_unwind(AssertUnwindSafe(body)).unwrap_or_else(|p| Err(panic_error(p)));
    let (code, err) = match result {
        Ok(code) => (code, std::ptr::null_mut()),
        Err(e) => (-1, error_to_c(&e)),
    };
    if !out_err.is_null() {
        // SAFETY: a non-NULL `out_err` points at the caller's
        // `plsm_error_t *` slot; write does not read what was there.
        unsafe { out_err.write(err) };
    } else if !err.is_null() {
        // SAFETY: `err` was just made by error_to_c and is owned here.
        unsafe { crate::plsm_error_free(err) };
    }
    code
}

fn panic_error(payload: Box<dyn Any + Send>) -> Error {
    let what = payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".to_owned());
    Error::new(
        ErrorKind::Internal,
        format!("internal error (panic): {what}"),
    )
}

/// A heap `plsm_error_t` for `e`, owned by the caller from now on.
pub(crate) fn error_to_c(e: &Error) -> *mut plsm_error_t {
    let path = e.path().map_or(std::ptr::null_mut(), |p| {
        owned_cstring(&p.to_string_lossy())
    });
    let hint = e.hint().map_or(std::ptr::null_mut(), owned_cstring);
    Box::into_raw(Box::new(plsm_error_t {
        kind: kind_code(e.kind()),
        message: owned_cstring(e.message()),
        path,
        seq: e.seq().unwrap_or(0),
        offset: e.offset().unwrap_or(0),
        has_seq: u8::from(e.seq().is_some()),
        has_offset: u8::from(e.offset().is_some()),
        hint,
    }))
}

/// A NUL-terminated copy of `s` for C, freed by [`free_cstring`]. Interior
/// NUL bytes (which a C reader would stop at) become U+FFFD.
pub(crate) fn owned_cstring(s: &str) -> *mut c_char {
    let c = CString::new(s)
        .unwrap_or_else(|_| CString::new(s.replace('\0', "\u{FFFD}")).unwrap_or_default());
    c.into_raw()
}

/// Frees a string from [`owned_cstring`]; NULL is ignored.
///
/// # Safety
/// `p` is NULL or came from [`owned_cstring`] and is freed once.
pub(crate) unsafe fn free_cstring(p: *mut c_char) {
    if !p.is_null() {
        // SAFETY: guaranteed by the caller (CString::into_raw).
        drop(unsafe { CString::from_raw(p) });
    }
}

/// A library-owned buffer holding `bytes` plus a trailing NUL.
pub(crate) fn buf_from_vec(mut bytes: Vec<u8>) -> plsm_buf_t {
    let len = bytes.len();
    bytes.push(0);
    let data = Box::into_raw(bytes.into_boxed_slice()).cast::<u8>();
    plsm_buf_t { data, len }
}

/// Frees what [`buf_from_vec`] allocated and zeroes the buffer.
///
/// # Safety
/// `buf.data` is NULL or came from [`buf_from_vec`] with this `len`.
pub(crate) unsafe fn free_buf(buf: &mut plsm_buf_t) {
    if !buf.data.is_null() {
        let slice = std::ptr::slice_from_raw_parts_mut(buf.data, buf.len + 1);
        // SAFETY: guaranteed by the caller: a boxed slice of len + 1 bytes.
        drop(unsafe { Box::from_raw(slice) });
    }
    buf.data = std::ptr::null_mut();
    buf.len = 0;
}

/// A library-owned array handed to C as `(pointer, len)`; NULL when empty.
pub(crate) fn array_into_raw<T>(items: Vec<T>) -> (*mut T, usize) {
    let len = items.len();
    if len == 0 {
        return (std::ptr::null_mut(), 0);
    }
    (Box::into_raw(items.into_boxed_slice()).cast::<T>(), len)
}

/// Takes back an array [`array_into_raw`] handed out, to drop it.
///
/// # Safety
/// `ptr` is NULL or came from [`array_into_raw`] with this `len`, and is
/// not used again.
pub(crate) unsafe fn array_from_raw<T>(ptr: *mut T, len: usize) -> Box<[T]> {
    if ptr.is_null() {
        return Box::default();
    }
    // SAFETY: guaranteed by the caller: a boxed slice of exactly `len`.
    unsafe { Box::from_raw(std::ptr::slice_from_raw_parts_mut(ptr, len)) }
}

/// An out-parameter, checked non-NULL (its target is written later, once
/// the call has succeeded).
pub(crate) fn out_ptr<T>(p: *mut T, what: &str) -> Result<*mut T, Error> {
    if p.is_null() {
        Err(usage(format!("{what} is null")))
    } else {
        Ok(p)
    }
}

/// A handle argument.
///
/// # Safety
/// `p` is NULL or points at a live handle of this type.
pub(crate) unsafe fn handle<'a, T>(p: *const T, what: &str) -> Result<&'a T, Error> {
    // SAFETY: guaranteed by the caller.
    unsafe { p.as_ref() }.ok_or_else(|| usage(format!("{what} is null")))
}

/// A handle argument the call mutates.
///
/// # Safety
/// `p` is NULL or points at a live handle no other thread is using.
pub(crate) unsafe fn handle_mut<'a, T>(p: *mut T, what: &str) -> Result<&'a mut T, Error> {
    // SAFETY: guaranteed by the caller.
    unsafe { p.as_mut() }.ok_or_else(|| usage(format!("{what} is null")))
}

/// A required string argument: non-NULL and UTF-8.
///
/// # Safety
/// `p` is NULL or points at a NUL-terminated string that outlives `'a`.
pub(crate) unsafe fn str_arg<'a>(p: *const c_char, what: &str) -> Result<&'a str, Error> {
    // SAFETY: forwarded from the caller.
    unsafe { opt_str_arg(p, what) }?.ok_or_else(|| usage(format!("{what} is null")))
}

/// An optional string argument: NULL is `None`, else it must be UTF-8.
///
/// # Safety
/// As [`str_arg`].
pub(crate) unsafe fn opt_str_arg<'a>(
    p: *const c_char,
    what: &str,
) -> Result<Option<&'a str>, Error> {
    if p.is_null() {
        return Ok(None);
    }
    // SAFETY: non-NULL and NUL-terminated, guaranteed by the caller.
    let c = unsafe { CStr::from_ptr(p) };
    c.to_str()
        .map(Some)
        .map_err(|_| usage(format!("{what} is not valid UTF-8")))
}

/// An array of `len` required strings; NULL is allowed only when `len` is 0.
///
/// # Safety
/// `p` is NULL or points at `len` pointers, each NULL or a NUL-terminated
/// string outliving `'a`.
pub(crate) unsafe fn str_array<'a>(
    p: *const *const c_char,
    len: usize,
    what: &str,
) -> Result<Vec<&'a str>, Error> {
    if len == 0 {
        return Ok(Vec::new());
    }
    if p.is_null() {
        return Err(usage(format!("{what} is null but its length is {len}")));
    }
    // SAFETY: `p` points at `len` pointers (caller's guarantee).
    let ptrs = unsafe { std::slice::from_raw_parts(p, len) };
    ptrs.iter()
        .enumerate()
        .map(|(i, &s)| {
            // SAFETY: each entry is NULL or a NUL-terminated string.
            unsafe { str_arg(s, &format!("{what}[{i}]")) }
        })
        .collect()
}

/// A required byte-range argument; NULL is refused even when `len` is 0.
///
/// # Safety
/// `p` is NULL or points at `len` readable bytes outliving `'a`.
pub(crate) unsafe fn bytes_arg<'a>(
    p: *const u8,
    len: usize,
    what: &str,
) -> Result<&'a [u8], Error> {
    if p.is_null() {
        return Err(usage(format!("{what} is null")));
    }
    // SAFETY: guaranteed by the caller.
    Ok(unsafe { std::slice::from_raw_parts(p, len) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_becomes_an_internal_error() {
        let mut err: *mut plsm_error_t = std::ptr::null_mut();
        let rc = boundary(&mut err, || panic!("boom"));
        assert_eq!(rc, -1);
        assert!(!err.is_null());
        // SAFETY: `err` was just filled by boundary.
        unsafe {
            assert_eq!((*err).kind, crate::PLSM_ERROR_INTERNAL);
            let msg = CStr::from_ptr((*err).message).to_str().unwrap();
            assert!(msg.contains("boom"), "{msg}");
            crate::plsm_error_free(err);
        }
        // With no error slot the error is freed, not leaked or written.
        assert_eq!(boundary(std::ptr::null_mut(), || panic!("again")), -1);
    }

    #[test]
    fn success_clears_the_error_slot() {
        let mut err: *mut plsm_error_t = std::ptr::dangling_mut();
        assert_eq!(boundary_code(&mut err, || Ok(2)), 2);
        assert!(err.is_null());
    }

    #[test]
    fn interior_nul_is_replaced_not_truncated() {
        let p = owned_cstring("a\0b");
        // SAFETY: `p` is a fresh CString pointer, freed below.
        unsafe {
            assert_eq!(CStr::from_ptr(p).to_str().unwrap(), "a\u{FFFD}b");
            free_cstring(p);
        }
    }
}
