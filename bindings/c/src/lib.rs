//! libplasmite: the C ABI of Plasmite.
//!
//! Every function here is `extern "C"`, declared in `include/plasmite.h`
//! (generated from this file by cbindgen; `tests/header.rs` fails when the
//! committed header drifts). The conventions, repeated in the header:
//!
//! - Functions return `0` on success and `-1` on failure. Stream reads return
//!   `PLSM_STREAM_MESSAGE` (1), `PLSM_STREAM_END` (0), `PLSM_STREAM_PENDING`
//!   (2) or `-1`.
//! - On failure `*out_err` (when `out_err` is not NULL) receives an error the
//!   caller frees with `plsm_error_free`; on success it is set to NULL.
//! - Every pointer argument is checked: a NULL where a value is required, or
//!   a string that is not UTF-8, is a `PLSM_ERROR_USAGE` error, never a crash.
//!   (A pointer that is not NULL but dangling cannot be detected.)
//! - No Rust panic crosses the boundary: one is reported as
//!   `PLSM_ERROR_INTERNAL` (in builds with `panic = "unwind"`, such as the
//!   default `dev` and `ci` profiles; a `panic = "abort"` build aborts).
//! - Handles are opaque and freed with their `*_free` function, which accepts
//!   NULL. Buffers the library returns are freed with their own free function.
//!
//! The real work is done by the Rust library (`plasmite`): this crate only
//! converts arguments, results and errors. Filtering (tags, jq `where`
//! predicates), idle timeouts and futex wake-ups are the library `Tail`'s.
#![allow(non_camel_case_types)]
#![warn(missing_docs)]

mod util;

use std::ffi::{c_char, c_int};
use std::time::Duration;

use plasmite::filter::Filter;
use plasmite::{
    Durability, Error, ErrorKind, Pool, PoolDir, PoolInfo, PoolOptions, RawMessage, Tail,
    TailOptions, TailPoll,
};

use util::{
    boundary, handle, handle_mut, opt_str_arg, out_ptr, owned_cstring, str_arg, str_array, usage,
};

/// Error kind: a bug or an unexpected condition.
pub const PLSM_ERROR_INTERNAL: i32 = 1;
/// Error kind: bad input (a NULL or non-UTF-8 argument, invalid JSON, a bad
/// option, an oversized message).
pub const PLSM_ERROR_USAGE: i32 = 2;
/// Error kind: the pool or the message does not exist.
pub const PLSM_ERROR_NOT_FOUND: i32 = 3;
/// Error kind: the pool already exists.
pub const PLSM_ERROR_ALREADY_EXISTS: i32 = 4;
/// Error kind: something else holds the resource; retry.
pub const PLSM_ERROR_BUSY: i32 = 5;
/// Error kind: the operating system refused access.
pub const PLSM_ERROR_PERMISSION: i32 = 6;
/// Error kind: the pool file is damaged or not a pool.
pub const PLSM_ERROR_CORRUPT: i32 = 7;
/// Error kind: any other I/O failure, such as a full disk.
pub const PLSM_ERROR_IO: i32 = 8;

/// Durability: the append returns once the message is in the shared page
/// cache (survives the process, not a power cut).
pub const PLSM_DURABILITY_FAST: u32 = 0;
/// Durability: the append returns once the message is on disk (fdatasync).
pub const PLSM_DURABILITY_FLUSH: u32 = 1;

/// Stream read result: the stream is over (its `max` was reached or it sat
/// idle for its idle timeout). Every later read says so again.
pub const PLSM_STREAM_END: c_int = 0;
/// Stream read result: a message was returned.
pub const PLSM_STREAM_MESSAGE: c_int = 1;
/// Stream read result (`plsm_stream_poll` only): nothing arrived within the
/// wait given; the stream goes on.
pub const PLSM_STREAM_PENDING: c_int = 2;

/// An error. Allocated by the library; free it with `plsm_error_free`.
#[repr(C)]
pub struct plsm_error_t {
    /// One of the `PLSM_ERROR_*` kinds (1..8).
    pub kind: i32,
    /// What went wrong (never NULL; may be empty).
    pub message: *mut c_char,
    /// The file concerned, or NULL.
    pub path: *mut c_char,
    /// The message seq concerned, valid when `has_seq` is 1.
    pub seq: u64,
    /// The ring offset concerned, valid when `has_offset` is 1.
    pub offset: u64,
    /// 1 when `seq` is set, else 0.
    pub has_seq: u8,
    /// 1 when `offset` is set, else 0.
    pub has_offset: u8,
    /// What to do about it, or NULL.
    pub hint: *mut c_char,
}

/// A byte buffer owned by the library: `len` bytes at `data`, followed by a
/// NUL byte (not counted in `len`) so JSON text can be printed as a C string.
/// Free it with `plsm_buf_free`.
#[repr(C)]
pub struct plsm_buf_t {
    /// The bytes, or NULL when empty or freed.
    pub data: *mut u8,
    /// Their number (without the trailing NUL).
    pub len: usize,
}

/// Bytes borrowed from a stream: valid until the next call on that stream or
/// until it is freed. Not to be freed by the caller.
#[repr(C)]
pub struct plsm_view_t {
    /// The bytes (no trailing NUL).
    pub data: *const u8,
    /// Their number.
    pub len: usize,
}

/// What an append returns when the caller needs no envelope.
#[repr(C)]
pub struct plsm_receipt_t {
    /// The seq the message got (1 for a pool's first message).
    pub seq: u64,
    /// Its append time, nanoseconds since the Unix epoch (UTC).
    pub time_ns: u64,
}

/// Facts about a pool. `path` is owned by the library: release it with
/// `plsm_pool_info_free`.
#[repr(C)]
pub struct plsm_pool_info_t {
    /// Path of the pool file.
    pub path: *mut c_char,
    /// File size in bytes.
    pub file_size: u64,
    /// Offset of the seq index in the file.
    pub index_offset: u64,
    /// Seq index slots.
    pub index_capacity: u64,
    /// Offset of the ring in the file.
    pub ring_offset: u64,
    /// Bytes of ring (message storage).
    pub ring_size: u64,
    /// Largest message payload (tags plus data) accepted.
    pub max_payload: u64,
    /// Creation time, nanoseconds since the Unix epoch.
    pub created_ns: u64,
    /// Retained messages: the seq span from oldest to newest.
    pub count: u64,
    /// Ring bytes in use.
    pub used_bytes: u64,
    /// Seq of the oldest retained message (valid when `has_oldest`).
    pub oldest_seq: u64,
    /// Append time of the oldest retained message, ns since the epoch.
    pub oldest_time_ns: u64,
    /// Seq of the newest message (valid when `has_newest`).
    pub newest_seq: u64,
    /// Append time of the newest message, ns since the epoch.
    pub newest_time_ns: u64,
    /// 1 when the pool holds a message (`oldest_*` are set), else 0.
    pub has_oldest: u8,
    /// 1 when the pool holds a message (`newest_*` are set), else 0.
    pub has_newest: u8,
}

/// One pool found by `plsm_pool_list`.
#[repr(C)]
pub struct plsm_pool_entry_t {
    /// Pool name (file name without `.plasmite`).
    pub name: *mut c_char,
    /// Path of the file.
    pub path: *mut c_char,
    /// Its info; all zero when `error` is not NULL.
    pub info: plsm_pool_info_t,
    /// Why the pool could not be read (one bad pool does not spoil a
    /// listing), or NULL. Owned by the list.
    pub error: *mut plsm_error_t,
}

/// The pools of a directory, sorted by name. Release it with
/// `plsm_pool_list_free`.
#[repr(C)]
pub struct plsm_pool_list_t {
    /// `len` entries, or NULL when there are none.
    pub entries: *mut plsm_pool_entry_t,
    /// Number of entries.
    pub len: usize,
}

/// Where a stream starts, which messages it keeps and when it ends. A
/// zero-filled struct (`plsm_tail_options_t o = {0};`) reads every retained
/// message, then follows the pool forever.
#[repr(C)]
pub struct plsm_tail_options_t {
    /// Start at the first retained message with seq >= this (when
    /// `has_since_seq`).
    pub since_seq: u64,
    /// Start at the last `last` messages that pass the filters (when
    /// `has_last`; not together with `has_since_seq`).
    pub last: u64,
    /// End after this many messages (when `has_max`).
    pub max: u64,
    /// End when no message has been delivered for this long, counted from
    /// the open and then from each delivered message (when
    /// `has_idle_timeout`).
    pub idle_timeout_ms: u64,
    /// 1 to use `since_seq`.
    pub has_since_seq: u8,
    /// 1 to use `last`.
    pub has_last: u8,
    /// 1 to use `max`.
    pub has_max: u8,
    /// 1 to use `idle_timeout_ms`.
    pub has_idle_timeout: u8,
    /// Keep only messages carrying every one of these tags (NULL when
    /// `tags_len` is 0).
    pub tags: *const *const c_char,
    /// Number of `tags`.
    pub tags_len: usize,
    /// Keep only messages every one of these jq predicates accepts, as in
    /// `pls peek --where` (NULL when `where_len` is 0).
    pub where_exprs: *const *const c_char,
    /// Number of `where_exprs`.
    pub where_len: usize,
    /// A durable named reader (NULL: none): its position is kept in the
    /// pool, so the next stream of that name resumes right after the last
    /// acknowledged message. The start options apply only when the reader
    /// is created. Names are 1 to 32 bytes of `A-Z a-z 0-9 . _ -`.
    pub name: *const c_char,
    /// With `name`: 0 acknowledges what a read returned when the next read
    /// is made (for `plsm_stream_poll_lines`, the whole batch), so delivery
    /// is at-least-once: what is in hand when the process dies or frees the
    /// stream comes again; 1 stores a position only on `plsm_stream_ack`.
    pub manual_ack: u8,
}

/// Counters of a stream, from `plsm_stream_stats`.
#[repr(C)]
pub struct plsm_stream_stats_t {
    /// Messages delivered so far.
    pub delivered: u64,
    /// Messages writers evicted before the stream could read them.
    pub dropped: u64,
    /// Damaged frames stepped over.
    pub damaged: u64,
    /// The seq the stream reads next (to resume later with `since_seq`).
    pub next_seq: u64,
}

/// A durable named reader of a pool, from `plsm_pool_readers`.
#[repr(C)]
pub struct plsm_reader_t {
    /// Its name (owned by the list).
    pub name: *mut c_char,
    /// The seq it reads next: every message before it is acknowledged.
    pub next_seq: u64,
    /// When it last acknowledged, nanoseconds since the Unix epoch.
    pub acked_ns: u64,
    /// When it was created, nanoseconds since the Unix epoch.
    pub created_ns: u64,
}

/// The named readers of a pool. Release it with `plsm_reader_list_free`.
#[repr(C)]
pub struct plsm_reader_list_t {
    /// `len` readers, or NULL when there are none.
    pub entries: *mut plsm_reader_t,
    /// Number of readers.
    pub len: usize,
}

/// A pool directory: the "client" pools are created in, opened from, listed
/// and deleted. Thread-safe.
pub struct plsm_client_t {
    dir: PoolDir,
}

/// An open pool. Thread-safe: several threads may append and get at once.
pub struct plsm_pool_t {
    pool: Pool,
}

/// A filtered, bounded reader over one pool. Use from one thread at a time.
/// It keeps its pool open by itself: freeing the pool handle first is fine.
pub struct plsm_stream_t {
    tail: Tail,
    /// Envelope(s) of the last plsm_stream_poll(_lines) result (its view).
    buf: Vec<u8>,
    /// An error met after plsm_stream_poll_lines had already gathered some
    /// messages: reported by the next read, so it is not lost.
    pending: Option<Error>,
    /// A named stream that acknowledges on the next read. Done here rather
    /// than by the library's per-message auto-ack, which would acknowledge
    /// a batch of plsm_stream_poll_lines before the caller saw it.
    auto_ack: bool,
}

impl plsm_stream_t {
    /// Acknowledges what earlier reads returned, for an auto-ack stream:
    /// the caller asking for more is done with them.
    fn ack_returned(&self) {
        if self.auto_ack {
            self.tail.ack();
        }
    }
}

/// The library version, e.g. "0.1.0" (a static string; do not free).
#[no_mangle]
pub extern "C" fn plsm_version() -> *const c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast()
}

/// Opens a pool directory. `pool_dir` NULL means the default directory
/// (`$PLASMITE_DIR`, else `~/.plasmite/pools`). The directory need not exist:
/// `plsm_pool_create` creates it.
///
/// Errors: `out_client` NULL or `pool_dir` not UTF-8 → USAGE.
///
/// # Safety
/// Each pointer argument is NULL or valid for its use: handles not yet
/// freed, strings NUL-terminated, arrays `*_len` long, out-pointers writable.
#[no_mangle]
pub unsafe extern "C" fn plsm_client_new(
    pool_dir: *const c_char,
    out_client: *mut *mut plsm_client_t,
    out_err: *mut *mut plsm_error_t,
) -> c_int {
    boundary(out_err, || {
        let out = out_ptr(out_client, "out_client")?;
        // SAFETY: the caller passes NULL or a NUL-terminated string.
        let dir = match unsafe { opt_str_arg(pool_dir, "pool_dir")? } {
            None => PoolDir::default(),
            Some("") => return Err(usage("pool_dir is empty")),
            Some(d) => PoolDir::new(d),
        };
        let client = Box::into_raw(Box::new(plsm_client_t { dir }));
        // SAFETY: `out` was checked non-NULL; the caller owns that slot.
        unsafe { out.write(client) };
        Ok(())
    })
}

/// Frees a client. NULL is ignored. Pools opened through it stay usable.
///
/// # Safety
/// `client` is NULL or a client from `plsm_client_new`, not used again afterwards.
#[no_mangle]
pub unsafe extern "C" fn plsm_client_free(client: *mut plsm_client_t) {
    if !client.is_null() {
        // SAFETY: a non-NULL client came from plsm_client_new (Box::into_raw)
        // and the caller frees it once.
        drop(unsafe { Box::from_raw(client) });
    }
}

/// Creates a pool of `size_bytes` (0 means 1 MiB) and opens it. `pool_ref`
/// is a name in the client's directory (created if missing), or a path when
/// it contains `/`. An existing pool is never replaced: that is
/// ALREADY_EXISTS.
///
/// Errors: NULL arguments, a non-UTF-8 or invalid name, a size too small →
/// USAGE; the pool exists → ALREADY_EXISTS; PERMISSION, IO.
///
/// # Safety
/// Each pointer argument is NULL or valid for its use: handles not yet
/// freed, strings NUL-terminated, arrays `*_len` long, out-pointers writable.
#[no_mangle]
pub unsafe extern "C" fn plsm_pool_create(
    client: *const plsm_client_t,
    pool_ref: *const c_char,
    size_bytes: u64,
    out_pool: *mut *mut plsm_pool_t,
    out_err: *mut *mut plsm_error_t,
) -> c_int {
    boundary(out_err, || {
        // SAFETY: the caller passes NULL or a live client handle.
        let client = unsafe { handle(client, "client")? };
        // SAFETY: the caller passes NULL or a NUL-terminated string.
        let pool_ref = unsafe { str_arg(pool_ref, "pool_ref")? };
        let out = out_ptr(out_pool, "out_pool")?;
        let size = if size_bytes == 0 {
            plasmite::DEFAULT_POOL_SIZE
        } else {
            size_bytes
        };
        let pool = client.dir.create(pool_ref, &PoolOptions::with_size(size))?;
        // SAFETY: `out` was checked non-NULL; the caller owns that slot.
        unsafe { out.write(Box::into_raw(Box::new(plsm_pool_t { pool }))) };
        Ok(())
    })
}

/// Opens an existing pool by name or path (see `plsm_pool_create`).
///
/// Errors: NULL arguments or non-UTF-8 `pool_ref` → USAGE; missing →
/// NOT_FOUND (with the path); not a pool or damaged → CORRUPT; PERMISSION.
///
/// # Safety
/// Each pointer argument is NULL or valid for its use: handles not yet
/// freed, strings NUL-terminated, arrays `*_len` long, out-pointers writable.
#[no_mangle]
pub unsafe extern "C" fn plsm_pool_open(
    client: *const plsm_client_t,
    pool_ref: *const c_char,
    out_pool: *mut *mut plsm_pool_t,
    out_err: *mut *mut plsm_error_t,
) -> c_int {
    boundary(out_err, || {
        // SAFETY: the caller passes NULL or a live client handle.
        let client = unsafe { handle(client, "client")? };
        // SAFETY: the caller passes NULL or a NUL-terminated string.
        let pool_ref = unsafe { str_arg(pool_ref, "pool_ref")? };
        let out = out_ptr(out_pool, "out_pool")?;
        let pool = client.dir.open(pool_ref)?;
        // SAFETY: `out` was checked non-NULL; the caller owns that slot.
        unsafe { out.write(Box::into_raw(Box::new(plsm_pool_t { pool }))) };
        Ok(())
    })
}

/// Fills `*out_info` with what the pool `pool_ref` retains right now.
/// Release it with `plsm_pool_info_free`.
///
/// Errors: as `plsm_pool_open`.
///
/// # Safety
/// Each pointer argument is NULL or valid for its use: handles not yet
/// freed, strings NUL-terminated, arrays `*_len` long, out-pointers writable.
#[no_mangle]
pub unsafe extern "C" fn plsm_pool_info(
    client: *const plsm_client_t,
    pool_ref: *const c_char,
    out_info: *mut plsm_pool_info_t,
    out_err: *mut *mut plsm_error_t,
) -> c_int {
    boundary(out_err, || {
        // SAFETY: the caller passes NULL or a live client handle.
        let client = unsafe { handle(client, "client")? };
        // SAFETY: the caller passes NULL or a NUL-terminated string.
        let pool_ref = unsafe { str_arg(pool_ref, "pool_ref")? };
        let out = out_ptr(out_info, "out_info")?;
        let info = client.dir.open(pool_ref)?.info()?;
        // SAFETY: `out` was checked non-NULL and points at caller memory
        // for one plsm_pool_info_t (possibly uninitialised: write, not assign).
        unsafe { out.write(info_to_c(&info)) };
        Ok(())
    })
}

/// Fills `*out_info` with what an open pool retains right now. Release it
/// with `plsm_pool_info_free`.
///
/// Errors: NULL arguments → USAGE; CORRUPT.
///
/// # Safety
/// Each pointer argument is NULL or valid for its use: handles not yet
/// freed, strings NUL-terminated, arrays `*_len` long, out-pointers writable.
#[no_mangle]
pub unsafe extern "C" fn plsm_pool_handle_info(
    pool: *const plsm_pool_t,
    out_info: *mut plsm_pool_info_t,
    out_err: *mut *mut plsm_error_t,
) -> c_int {
    boundary(out_err, || {
        // SAFETY: the caller passes NULL or a live pool handle.
        let pool = unsafe { handle(pool, "pool")? };
        let out = out_ptr(out_info, "out_info")?;
        let info = pool.pool.info()?;
        // SAFETY: `out` was checked non-NULL (see plsm_pool_info).
        unsafe { out.write(info_to_c(&info)) };
        Ok(())
    })
}

/// Releases what a `plsm_pool_info_t` owns (its `path`) and zeroes it.
/// NULL is ignored.
///
/// # Safety
/// `info` is NULL or a struct this library filled (or already zeroed).
#[no_mangle]
pub unsafe extern "C" fn plsm_pool_info_free(info: *mut plsm_pool_info_t) {
    if info.is_null() {
        return;
    }
    // SAFETY: a non-NULL info was filled by this library; its path is NULL
    // or came from owned_cstring (CString::into_raw).
    unsafe {
        util::free_cstring((*info).path);
        info.write(info_to_c_zero());
    }
}

/// Fills `*out_list` with every pool in the client's directory, sorted by
/// name (a missing directory lists as empty). Release it with
/// `plsm_pool_list_free`.
///
/// Errors: NULL arguments → USAGE; the directory cannot be read →
/// PERMISSION or IO.
///
/// # Safety
/// Each pointer argument is NULL or valid for its use: handles not yet
/// freed, strings NUL-terminated, arrays `*_len` long, out-pointers writable.
#[no_mangle]
pub unsafe extern "C" fn plsm_pool_list(
    client: *const plsm_client_t,
    out_list: *mut plsm_pool_list_t,
    out_err: *mut *mut plsm_error_t,
) -> c_int {
    boundary(out_err, || {
        // SAFETY: the caller passes NULL or a live client handle.
        let client = unsafe { handle(client, "client")? };
        let out = out_ptr(out_list, "out_list")?;
        let entries: Vec<plsm_pool_entry_t> = client
            .dir
            .list()?
            .into_iter()
            .map(|e| {
                let (info, error) = match &e.info {
                    Ok(i) => (info_to_c(i), std::ptr::null_mut()),
                    Err(err) => (info_to_c_zero(), util::error_to_c(err)),
                };
                plsm_pool_entry_t {
                    name: owned_cstring(&e.name),
                    path: owned_cstring(&e.path.to_string_lossy()),
                    info,
                    error,
                }
            })
            .collect();
        let (entries, len) = util::array_into_raw(entries);
        // SAFETY: `out` was checked non-NULL; the caller owns that struct.
        unsafe { out.write(plsm_pool_list_t { entries, len }) };
        Ok(())
    })
}

/// Releases a list filled by `plsm_pool_list` and zeroes it. NULL is
/// ignored.
///
/// # Safety
/// `list` is NULL or a list `plsm_pool_list` filled (or already zeroed).
#[no_mangle]
pub unsafe extern "C" fn plsm_pool_list_free(list: *mut plsm_pool_list_t) {
    if list.is_null() {
        return;
    }
    // SAFETY: a non-NULL list was filled by plsm_pool_list: `entries` is NULL
    // or a boxed slice of exactly `len` entries, each owning its strings.
    unsafe {
        for e in util::array_from_raw((*list).entries, (*list).len).iter() {
            util::free_cstring(e.name);
            util::free_cstring(e.path);
            util::free_cstring(e.info.path);
            plsm_error_free(e.error);
        }
        list.write(plsm_pool_list_t {
            entries: std::ptr::null_mut(),
            len: 0,
        });
    }
}

/// Deletes a pool file. Only a file that is a pool (or a damaged one that
/// still looks like one) is deleted. Processes that have it open keep
/// reading their mapping until they close it.
///
/// Errors: NULL arguments → USAGE; missing → NOT_FOUND (with the path); a
/// file that is not a pool → USAGE; PERMISSION, IO.
///
/// # Safety
/// Each pointer argument is NULL or valid for its use: handles not yet
/// freed, strings NUL-terminated, arrays `*_len` long, out-pointers writable.
#[no_mangle]
pub unsafe extern "C" fn plsm_pool_delete(
    client: *const plsm_client_t,
    pool_ref: *const c_char,
    out_err: *mut *mut plsm_error_t,
) -> c_int {
    boundary(out_err, || {
        // SAFETY: the caller passes NULL or a live client handle.
        let client = unsafe { handle(client, "client")? };
        // SAFETY: the caller passes NULL or a NUL-terminated string.
        let pool_ref = unsafe { str_arg(pool_ref, "pool_ref")? };
        client.dir.delete(pool_ref)
    })
}

/// Closes a pool handle. NULL is ignored. Streams opened from it stay usable.
///
/// # Safety
/// `pool` is NULL or a pool from `plsm_pool_create` or `plsm_pool_open`, not used again afterwards.
#[no_mangle]
pub unsafe extern "C" fn plsm_pool_free(pool: *mut plsm_pool_t) {
    if !pool.is_null() {
        // SAFETY: a non-NULL pool came from plsm_pool_create/open
        // (Box::into_raw) and the caller frees it once.
        drop(unsafe { Box::from_raw(pool) });
    }
}

fn durability_arg(d: u32) -> Result<Durability, Error> {
    match d {
        PLSM_DURABILITY_FAST => Ok(Durability::Fast),
        PLSM_DURABILITY_FLUSH => Ok(Durability::Flush),
        other => Err(usage(format!(
            "durability must be 0 (fast) or 1 (flush), got {other}"
        ))),
    }
}

/// Appends one message: `json_len` bytes of JSON object text at
/// `json_bytes` (stored compact, key order and number spelling kept),
/// tagged with `tags_len` NUL-terminated `tags` (NULL when `tags_len` is 0).
/// `durability` is `PLSM_DURABILITY_FAST` or `PLSM_DURABILITY_FLUSH`. When
/// `out_message` is not NULL it receives the stored message's envelope,
/// `{"data":…,"meta":{"tags":[…]},"seq":N,"time":"…"}`; free it with
/// `plsm_buf_free`.
///
/// Errors: NULL arguments, a NULL tag, non-UTF-8 text, invalid JSON, data
/// that is not an object, a bad durability, a message too large → USAGE;
/// the pool is read-only → PERMISSION; CORRUPT, IO.
///
/// # Safety
/// Each pointer argument is NULL or valid for its use: handles not yet
/// freed, strings NUL-terminated, arrays `*_len` long, out-pointers writable.
#[no_mangle]
pub unsafe extern "C" fn plsm_pool_append_json(
    pool: *const plsm_pool_t,
    json_bytes: *const u8,
    json_len: usize,
    tags: *const *const c_char,
    tags_len: usize,
    durability: u32,
    out_message: *mut plsm_buf_t,
    out_err: *mut *mut plsm_error_t,
) -> c_int {
    boundary(out_err, || {
        // SAFETY: the caller passes NULL or a live pool handle.
        let pool = unsafe { &handle(pool, "pool")?.pool };
        // SAFETY: the caller passes NULL or `json_len` readable bytes.
        let json = unsafe { util::bytes_arg(json_bytes, json_len, "json_bytes")? };
        // SAFETY: the caller passes NULL or `tags_len` string pointers.
        let tags = unsafe { str_array(tags, tags_len, "tags")? };
        let durability = durability_arg(durability)?;
        if out_message.is_null() {
            pool.append_json(json, &tags, durability)?;
            return Ok(());
        }
        let data = plasmite::json::CompactObject::parse(json)?;
        let mut batch = pool.batch()?;
        let receipt = batch.append_object(&data, &tags)?;
        batch.finish(durability)?;
        let mut tag_block = vec![0u8; plasmite::core::tags::encoded_len(&tags)];
        plasmite::core::tags::encode(&tags, &mut tag_block);
        let raw = RawMessage {
            seq: receipt.seq,
            time_ns: receipt.time_ns,
            tags_json: &tag_block,
            data: data.as_bytes(),
        };
        let mut text = Vec::with_capacity(data.as_bytes().len() + tag_block.len() + 96);
        raw.write_json(&mut text);
        // SAFETY: `out_message` is non-NULL (checked above) and points at a
        // caller-owned plsm_buf_t.
        unsafe { out_message.write(util::buf_from_vec(text)) };
        Ok(())
    })
}

/// Appends one message like `plsm_pool_append_json` but returns only its
/// seq and time in `*out_receipt` (NULL: not returned), with no envelope to
/// build or free: the fast path.
///
/// Errors: as `plsm_pool_append_json`.
///
/// # Safety
/// Each pointer argument is NULL or valid for its use: handles not yet
/// freed, strings NUL-terminated, arrays `*_len` long, out-pointers writable.
#[no_mangle]
pub unsafe extern "C" fn plsm_pool_append(
    pool: *const plsm_pool_t,
    json_bytes: *const u8,
    json_len: usize,
    tags: *const *const c_char,
    tags_len: usize,
    durability: u32,
    out_receipt: *mut plsm_receipt_t,
    out_err: *mut *mut plsm_error_t,
) -> c_int {
    boundary(out_err, || {
        // SAFETY: the caller passes NULL or a live pool handle.
        let pool = unsafe { &handle(pool, "pool")?.pool };
        // SAFETY: the caller passes NULL or `json_len` readable bytes.
        let json = unsafe { util::bytes_arg(json_bytes, json_len, "json_bytes")? };
        // SAFETY: the caller passes NULL or `tags_len` string pointers.
        let tags = unsafe { str_array(tags, tags_len, "tags")? };
        let r = pool.append_json(json, &tags, durability_arg(durability)?)?;
        if !out_receipt.is_null() {
            // SAFETY: non-NULL, points at a caller-owned plsm_receipt_t.
            unsafe {
                out_receipt.write(plsm_receipt_t {
                    seq: r.seq,
                    time_ns: r.time_ns,
                })
            };
        }
        Ok(())
    })
}

/// Fills `*out_message` with the envelope of the message `seq`; free it
/// with `plsm_buf_free`.
///
/// Errors: NULL arguments → USAGE; no such message (never written, or
/// evicted) → NOT_FOUND with `has_seq`; CORRUPT.
///
/// # Safety
/// Each pointer argument is NULL or valid for its use: handles not yet
/// freed, strings NUL-terminated, arrays `*_len` long, out-pointers writable.
#[no_mangle]
pub unsafe extern "C" fn plsm_pool_get_json(
    pool: *const plsm_pool_t,
    seq: u64,
    out_message: *mut plsm_buf_t,
    out_err: *mut *mut plsm_error_t,
) -> c_int {
    boundary(out_err, || {
        // SAFETY: the caller passes NULL or a live pool handle.
        let pool = unsafe { &handle(pool, "pool")?.pool };
        let out = out_ptr(out_message, "out_message")?;
        let m = pool.get(seq)?;
        // SAFETY: `out` was checked non-NULL; caller-owned plsm_buf_t.
        unsafe { out.write(util::buf_from_vec(m.to_json().into_bytes())) };
        Ok(())
    })
}

/// Opens a stream over `pool` as `*opts` says (NULL: every retained message,
/// then follow forever). Tag and jq filters, `last`, `max` and the idle
/// timeout are applied by the library; waiting readers sleep on the pool's
/// futex and wake as soon as a writer publishes. Free it with
/// `plsm_stream_free`.
///
/// Errors: NULL arguments, a NULL or non-UTF-8 tag or predicate, an invalid
/// jq predicate, both `has_since_seq` and `has_last` → USAGE; CORRUPT.
///
/// # Safety
/// Each pointer argument is NULL or valid for its use: handles not yet
/// freed, strings NUL-terminated, arrays `*_len` long, out-pointers writable.
#[no_mangle]
pub unsafe extern "C" fn plsm_tail_open(
    pool: *const plsm_pool_t,
    opts: *const plsm_tail_options_t,
    out_stream: *mut *mut plsm_stream_t,
    out_err: *mut *mut plsm_error_t,
) -> c_int {
    boundary(out_err, || {
        // SAFETY: the caller passes NULL or a live pool handle.
        let pool = unsafe { &handle(pool, "pool")?.pool };
        let out = out_ptr(out_stream, "out_stream")?;
        // SAFETY: the caller passes NULL or a readable options struct.
        let (opts, auto_ack) = match unsafe { opts.as_ref() } {
            None => (TailOptions::default(), false),
            // SAFETY: its string arrays are as documented on the struct.
            Some(o) => unsafe { tail_options(o)? },
        };
        let tail = pool.tail(opts)?;
        // SAFETY: `out` was checked non-NULL; the caller owns that slot.
        unsafe {
            out.write(Box::into_raw(Box::new(plsm_stream_t {
                tail,
                buf: Vec::new(),
                pending: None,
                auto_ack,
            })))
        };
        Ok(())
    })
}

/// The library's options, and whether the stream acknowledges on each read.
///
/// # Safety
/// The string arrays of `o` must be as documented on the struct.
unsafe fn tail_options(o: &plsm_tail_options_t) -> Result<(TailOptions, bool), Error> {
    if o.has_since_seq != 0 && o.has_last != 0 {
        return Err(usage("since_seq and last cannot be used together"));
    }
    // SAFETY: forwarded from the caller.
    let tags = unsafe { str_array(o.tags, o.tags_len, "tags")? };
    // SAFETY: forwarded from the caller.
    let wheres = unsafe { str_array(o.where_exprs, o.where_len, "where_exprs")? };
    let wheres: Vec<String> = wheres.into_iter().map(str::to_owned).collect();
    let filter = Filter::compile(&wheres).map_err(|e| usage(e.to_string()))?;
    let mut t = TailOptions::default().tags(tags).filter(filter);
    if o.has_since_seq != 0 {
        t = t.since_seq(o.since_seq);
    }
    if o.has_last != 0 {
        t = t.last(o.last);
    }
    if o.has_max != 0 {
        t = t.max(o.max);
    }
    if o.has_idle_timeout != 0 {
        t = t.idle_timeout(Duration::from_millis(o.idle_timeout_ms));
    }
    // SAFETY: forwarded from the caller.
    let name = unsafe { opt_str_arg(o.name, "name")? };
    if let Some(name) = name {
        t = t.name(name);
    }
    Ok((t, name.is_some() && o.manual_ack == 0))
}

/// Opens a stream from the oldest retained message with seq >= `since_seq`
/// (when `has_since`), ending after `max` messages (when `has_max`) or
/// after `timeout_ms` without a message (when `has_timeout`; an idle
/// timeout, restarted by every message). The shape of upstream's
/// `plsm_stream_open`; `plsm_tail_open` adds tags, jq predicates and
/// `last`.
///
/// Errors: as `plsm_tail_open`.
///
/// # Safety
/// Each pointer argument is NULL or valid for its use: handles not yet
/// freed, strings NUL-terminated, arrays `*_len` long, out-pointers writable.
#[no_mangle]
pub unsafe extern "C" fn plsm_stream_open(
    pool: *const plsm_pool_t,
    since_seq: u64,
    has_since: u8,
    max: u64,
    has_max: u8,
    timeout_ms: u64,
    has_timeout: u8,
    out_stream: *mut *mut plsm_stream_t,
    out_err: *mut *mut plsm_error_t,
) -> c_int {
    let opts = plsm_tail_options_t {
        since_seq,
        last: 0,
        max,
        idle_timeout_ms: timeout_ms,
        has_since_seq: has_since,
        has_last: 0,
        has_max,
        has_idle_timeout: has_timeout,
        tags: std::ptr::null(),
        tags_len: 0,
        where_exprs: std::ptr::null(),
        where_len: 0,
        name: std::ptr::null(),
        manual_ack: 0,
    };
    // SAFETY: `opts` is a valid struct with no string arrays; the other
    // arguments are forwarded from the caller.
    unsafe { plsm_tail_open(pool, &opts, out_stream, out_err) }
}

/// Waits for the stream's next message and fills `*out_message` with its
/// envelope (free it with `plsm_buf_free`). Returns `PLSM_STREAM_MESSAGE`
/// (1), `PLSM_STREAM_END` (0: `max` reached or idle timeout; without either
/// this blocks until a message comes) or -1 on error.
///
/// Errors: NULL arguments → USAGE; a jq predicate that yields a non-boolean
/// → USAGE; IO.
///
/// # Safety
/// Each pointer argument is NULL or valid for its use: handles not yet
/// freed, strings NUL-terminated, arrays `*_len` long, out-pointers writable.
#[no_mangle]
pub unsafe extern "C" fn plsm_stream_next(
    stream: *mut plsm_stream_t,
    out_message: *mut plsm_buf_t,
    out_err: *mut *mut plsm_error_t,
) -> c_int {
    util::boundary_code(out_err, || {
        // SAFETY: the caller passes NULL or a live stream handle, used by
        // one thread at a time.
        let stream = unsafe { handle_mut(stream, "stream")? };
        let out = out_ptr(out_message, "out_message")?;
        stream.ack_returned();
        if let Some(e) = stream.pending.take() {
            return Err(e);
        }
        match stream.tail.poll(None)? {
            TailPoll::Message(m) => {
                let mut text = Vec::with_capacity(m.data.len() + m.tags_json.len() + 96);
                m.write_json(&mut text);
                // SAFETY: `out` was checked non-NULL; caller-owned plsm_buf_t.
                unsafe { out.write(util::buf_from_vec(text)) };
                Ok(PLSM_STREAM_MESSAGE)
            }
            TailPoll::Pending | TailPoll::End => Ok(PLSM_STREAM_END),
        }
    })
}

/// Waits at most `wait_ms` milliseconds (negative: with no bound but the
/// idle timeout) for the stream's next message. On `PLSM_STREAM_MESSAGE`
/// `*out_view` points at its envelope inside the stream: valid until the
/// next call on this stream or until it is freed, not to be freed. Returns
/// `PLSM_STREAM_MESSAGE` (1), `PLSM_STREAM_PENDING` (2: nothing within
/// `wait_ms`; call again), `PLSM_STREAM_END` (0) or -1 on error. Polling in
/// short slices lets a caller stay responsive to cancellation; the idle
/// timeout spans the slices.
///
/// Errors: as `plsm_stream_next`.
///
/// # Safety
/// Each pointer argument is NULL or valid for its use: handles not yet
/// freed, strings NUL-terminated, arrays `*_len` long, out-pointers writable.
#[no_mangle]
pub unsafe extern "C" fn plsm_stream_poll(
    stream: *mut plsm_stream_t,
    wait_ms: i64,
    out_view: *mut plsm_view_t,
    out_err: *mut *mut plsm_error_t,
) -> c_int {
    util::boundary_code(out_err, || {
        // SAFETY: the caller passes NULL or a live stream handle, used by
        // one thread at a time.
        let stream = unsafe { handle_mut(stream, "stream")? };
        let out = out_ptr(out_view, "out_view")?;
        let wait = u64::try_from(wait_ms).ok().map(Duration::from_millis);
        stream.ack_returned();
        if let Some(e) = stream.pending.take() {
            return Err(e);
        }
        let plsm_stream_t { tail, buf, .. } = stream;
        match tail.poll(wait)? {
            TailPoll::Message(m) => {
                buf.clear();
                m.write_json(buf);
                // SAFETY: `out` was checked non-NULL; caller-owned
                // plsm_view_t. The view borrows `buf`, which lives in the
                // stream and is only touched again by the next call.
                unsafe {
                    out.write(plsm_view_t {
                        data: buf.as_ptr(),
                        len: buf.len(),
                    })
                };
                Ok(PLSM_STREAM_MESSAGE)
            }
            TailPoll::Pending => Ok(PLSM_STREAM_PENDING),
            TailPoll::End => Ok(PLSM_STREAM_END),
        }
    })
}

/// Like `plsm_stream_poll`, but gathers up to `max_messages` messages in
/// one call: it waits at most `wait_ms` (negative: no bound but the idle
/// timeout) for the first, then takes only those already there, stopping
/// once `max_bytes` (0: no limit) is reached. On `PLSM_STREAM_MESSAGE`,
/// `*out_count` (>= 1) envelopes are in `*out_view` as JSON Lines: each
/// followed by a newline, none containing one. The view is valid until the
/// next call on this stream or until it is freed. Returns as
/// `plsm_stream_poll`; an error met after some messages were gathered is
/// returned by the next call. One call per batch instead of per message is
/// what makes a binding with a costly foreign call (cgo) read fast.
///
/// Errors: `max_messages` 0 → USAGE; otherwise as `plsm_stream_next`.
///
/// # Safety
/// Each pointer argument is NULL or valid for its use: handles not yet
/// freed, strings NUL-terminated, arrays `*_len` long, out-pointers writable.
#[no_mangle]
pub unsafe extern "C" fn plsm_stream_poll_lines(
    stream: *mut plsm_stream_t,
    wait_ms: i64,
    max_messages: usize,
    max_bytes: usize,
    out_view: *mut plsm_view_t,
    out_count: *mut usize,
    out_err: *mut *mut plsm_error_t,
) -> c_int {
    util::boundary_code(out_err, || {
        // SAFETY: the caller passes NULL or a live stream handle, used by
        // one thread at a time.
        let stream = unsafe { handle_mut(stream, "stream")? };
        let out = out_ptr(out_view, "out_view")?;
        let out_count = out_ptr(out_count, "out_count")?;
        if max_messages == 0 {
            return Err(usage("max_messages must be at least 1"));
        }
        let max_bytes = if max_bytes == 0 {
            usize::MAX
        } else {
            max_bytes
        };
        stream.ack_returned();
        if let Some(e) = stream.pending.take() {
            return Err(e);
        }
        let plsm_stream_t {
            tail, buf, pending, ..
        } = stream;
        buf.clear();
        let mut count = 0usize;
        let mut wait = u64::try_from(wait_ms).ok().map(Duration::from_millis);
        while count < max_messages && buf.len() < max_bytes {
            match tail.poll(wait) {
                Ok(TailPoll::Message(m)) => {
                    m.write_json(buf);
                    buf.push(b'\n');
                    count += 1;
                    wait = Some(Duration::ZERO);
                }
                Ok(TailPoll::Pending) if count == 0 => return Ok(PLSM_STREAM_PENDING),
                Ok(TailPoll::End) if count == 0 => return Ok(PLSM_STREAM_END),
                Ok(TailPoll::Pending | TailPoll::End) => break,
                Err(e) if count == 0 => return Err(e),
                Err(e) => {
                    *pending = Some(e);
                    break;
                }
            }
        }
        // SAFETY: both out-pointers were checked non-NULL and point at
        // caller-owned memory. The view borrows `buf`, which lives in the
        // stream and is only touched again by the next call.
        unsafe {
            out.write(plsm_view_t {
                data: buf.as_ptr(),
                len: buf.len(),
            });
            out_count.write(count);
        }
        Ok(PLSM_STREAM_MESSAGE)
    })
}

/// Fills `*out_stats` with the stream's counters. Returns 0, or -1 when an
/// argument is NULL (USAGE).
///
/// # Safety
/// Each pointer argument is NULL or valid for its use: handles not yet
/// freed, strings NUL-terminated, arrays `*_len` long, out-pointers writable.
#[no_mangle]
pub unsafe extern "C" fn plsm_stream_stats(
    stream: *const plsm_stream_t,
    out_stats: *mut plsm_stream_stats_t,
    out_err: *mut *mut plsm_error_t,
) -> c_int {
    boundary(out_err, || {
        // SAFETY: the caller passes NULL or a live stream handle.
        let tail = unsafe { &handle(stream, "stream")?.tail };
        let out = out_ptr(out_stats, "out_stats")?;
        // SAFETY: `out` was checked non-NULL; caller-owned struct.
        unsafe {
            out.write(plsm_stream_stats_t {
                delivered: tail.delivered(),
                dropped: tail.dropped(),
                damaged: tail.damaged(),
                next_seq: tail.next_seq(),
            })
        };
        Ok(())
    })
}

/// Acknowledges every message the stream delivered so far: for a stream
/// opened with a `name`, stores its position in the pool, so the next stream
/// of that name starts after them. One atomic store, no lock, no system call;
/// it survives the process, not a power cut. Does nothing for an unnamed
/// stream. Returns 0, or -1 when `stream` is NULL (USAGE).
///
/// # Safety
/// Each pointer argument is NULL or valid for its use: handles not yet
/// freed, strings NUL-terminated, arrays `*_len` long, out-pointers writable.
#[no_mangle]
pub unsafe extern "C" fn plsm_stream_ack(
    stream: *const plsm_stream_t,
    out_err: *mut *mut plsm_error_t,
) -> c_int {
    boundary(out_err, || {
        // SAFETY: the caller passes NULL or a live stream handle.
        unsafe { handle(stream, "stream")? }.tail.ack();
        Ok(())
    })
}

/// Acknowledges the messages of a named stream up to and including `seq`,
/// never past what it delivered (it may move the stored position back): for
/// a caller that hands messages on and learns later which were handled.
/// Does nothing for an unnamed stream. Returns 0, or -1 when `stream` is
/// NULL (USAGE).
///
/// # Safety
/// Each pointer argument is NULL or valid for its use: handles not yet
/// freed, strings NUL-terminated, arrays `*_len` long, out-pointers writable.
#[no_mangle]
pub unsafe extern "C" fn plsm_stream_ack_through(
    stream: *const plsm_stream_t,
    seq: u64,
    out_err: *mut *mut plsm_error_t,
) -> c_int {
    boundary(out_err, || {
        // SAFETY: the caller passes NULL or a live stream handle.
        unsafe { handle(stream, "stream")? }.tail.ack_through(seq);
        Ok(())
    })
}

/// Fills `*out_list` with the pool's durable named readers and their
/// positions. Release it with `plsm_reader_list_free`.
///
/// Errors: NULL arguments → USAGE.
///
/// # Safety
/// Each pointer argument is NULL or valid for its use: handles not yet
/// freed, strings NUL-terminated, arrays `*_len` long, out-pointers writable.
#[no_mangle]
pub unsafe extern "C" fn plsm_pool_readers(
    pool: *const plsm_pool_t,
    out_list: *mut plsm_reader_list_t,
    out_err: *mut *mut plsm_error_t,
) -> c_int {
    boundary(out_err, || {
        // SAFETY: the caller passes NULL or a live pool handle.
        let pool = unsafe { &handle(pool, "pool")?.pool };
        let out = out_ptr(out_list, "out_list")?;
        let entries: Vec<plsm_reader_t> = pool
            .readers()
            .into_iter()
            .map(|r| plsm_reader_t {
                name: owned_cstring(&r.name),
                next_seq: r.next_seq,
                acked_ns: r.acked_ns,
                created_ns: r.created_ns,
            })
            .collect();
        let (entries, len) = util::array_into_raw(entries);
        // SAFETY: `out` was checked non-NULL; the caller owns that struct.
        unsafe { out.write(plsm_reader_list_t { entries, len }) };
        Ok(())
    })
}

/// Releases a list filled by `plsm_pool_readers` and zeroes it. NULL is
/// ignored.
///
/// # Safety
/// `list` is NULL or a list `plsm_pool_readers` filled (or already zeroed).
#[no_mangle]
pub unsafe extern "C" fn plsm_reader_list_free(list: *mut plsm_reader_list_t) {
    if list.is_null() {
        return;
    }
    // SAFETY: a non-NULL list was filled by plsm_pool_readers: `entries` is
    // NULL or a boxed slice of exactly `len` readers, each owning its name.
    unsafe {
        for r in util::array_from_raw((*list).entries, (*list).len).iter() {
            util::free_cstring(r.name);
        }
        list.write(plsm_reader_list_t {
            entries: std::ptr::null_mut(),
            len: 0,
        });
    }
}

/// Forgets the durable named reader `name` of `pool`: the next stream of
/// that name starts afresh.
///
/// Errors: NULL or non-UTF-8 arguments → USAGE; no such reader → NOT_FOUND
/// (with the pool's path); BUSY when the writer lock cannot be taken.
///
/// # Safety
/// Each pointer argument is NULL or valid for its use: handles not yet
/// freed, strings NUL-terminated, arrays `*_len` long, out-pointers writable.
#[no_mangle]
pub unsafe extern "C" fn plsm_pool_delete_reader(
    pool: *const plsm_pool_t,
    name: *const c_char,
    out_err: *mut *mut plsm_error_t,
) -> c_int {
    boundary(out_err, || {
        // SAFETY: the caller passes NULL or a live pool handle.
        let pool = unsafe { &handle(pool, "pool")?.pool };
        // SAFETY: the caller passes NULL or a NUL-terminated string.
        let name = unsafe { str_arg(name, "name")? };
        pool.delete_reader(name)
    })
}

/// Frees a stream. NULL is ignored.
///
/// # Safety
/// `stream` is NULL or a stream from `plsm_tail_open` or `plsm_stream_open`, not used again afterwards.
#[no_mangle]
pub unsafe extern "C" fn plsm_stream_free(stream: *mut plsm_stream_t) {
    if !stream.is_null() {
        // SAFETY: a non-NULL stream came from plsm_tail_open or
        // plsm_stream_open (Box::into_raw) and the caller frees it once.
        drop(unsafe { Box::from_raw(stream) });
    }
}

/// Frees the bytes of a buffer the library filled and sets it to
/// `{NULL, 0}`. NULL, and a buffer already freed, are ignored.
///
/// # Safety
/// `buf` is NULL or a buffer this library filled (or already zeroed),
/// its fields unchanged.
#[no_mangle]
pub unsafe extern "C" fn plsm_buf_free(buf: *mut plsm_buf_t) {
    if buf.is_null() {
        return;
    }
    // SAFETY: a non-NULL buf was filled by buf_from_vec (or zeroed by an
    // earlier free): `data` is NULL or a boxed slice of `len + 1` bytes.
    unsafe {
        util::free_buf(&mut *buf);
    }
}

/// Frees an error. NULL is ignored.
///
/// # Safety
/// `err` is NULL or an error this library returned, not used again afterwards.
#[no_mangle]
pub unsafe extern "C" fn plsm_error_free(err: *mut plsm_error_t) {
    if err.is_null() {
        return;
    }
    // SAFETY: a non-NULL error came from error_to_c (Box::into_raw), its
    // strings from owned_cstring; the caller frees it once.
    unsafe {
        let e = Box::from_raw(err);
        util::free_cstring(e.message);
        util::free_cstring(e.path);
        util::free_cstring(e.hint);
    }
}

fn info_to_c(i: &PoolInfo) -> plsm_pool_info_t {
    let (oldest_seq, oldest_time_ns) = i.oldest.unwrap_or((0, 0));
    let (newest_seq, newest_time_ns) = i.newest.unwrap_or((0, 0));
    plsm_pool_info_t {
        path: owned_cstring(&i.path.to_string_lossy()),
        file_size: i.file_size,
        index_offset: i.index_offset,
        index_capacity: i.index_capacity,
        ring_offset: i.ring_offset,
        ring_size: i.ring_size,
        max_payload: i.max_payload,
        created_ns: i.created_ns,
        count: i.count,
        used_bytes: i.used_bytes,
        oldest_seq,
        oldest_time_ns,
        newest_seq,
        newest_time_ns,
        has_oldest: u8::from(i.oldest.is_some()),
        has_newest: u8::from(i.newest.is_some()),
    }
}

fn info_to_c_zero() -> plsm_pool_info_t {
    plsm_pool_info_t {
        path: std::ptr::null_mut(),
        file_size: 0,
        index_offset: 0,
        index_capacity: 0,
        ring_offset: 0,
        ring_size: 0,
        max_payload: 0,
        created_ns: 0,
        count: 0,
        used_bytes: 0,
        oldest_seq: 0,
        oldest_time_ns: 0,
        newest_seq: 0,
        newest_time_ns: 0,
        has_oldest: 0,
        has_newest: 0,
    }
}

/// Kinds in the C numbering.
fn kind_code(k: ErrorKind) -> i32 {
    match k {
        ErrorKind::Internal => PLSM_ERROR_INTERNAL,
        ErrorKind::Usage => PLSM_ERROR_USAGE,
        ErrorKind::NotFound => PLSM_ERROR_NOT_FOUND,
        ErrorKind::AlreadyExists => PLSM_ERROR_ALREADY_EXISTS,
        ErrorKind::Busy => PLSM_ERROR_BUSY,
        ErrorKind::Permission => PLSM_ERROR_PERMISSION,
        ErrorKind::Corrupt => PLSM_ERROR_CORRUPT,
        ErrorKind::Io => PLSM_ERROR_IO,
    }
}
