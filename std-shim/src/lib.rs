//! Plasmite: durable interprocess messaging through pool files.
//!
//! A *pool* is one file holding a fixed-size, memory-mapped ring of JSON
//! messages. Any number of processes append to it and read from it at once,
//! with no daemon: writers take turns through a file lock the kernel releases
//! if they die, readers take no lock at all and sleep on a futex in the file
//! until something arrives. Every message is checksummed; a crash at any
//! moment never shows a reader a torn message. The oldest messages are
//! evicted when the ring is full, so disk use is bounded.
//!
//! ```no_run
//! use plasmite::{Durability, Event, PoolDir, PoolOptions, Start};
//! use serde_json::json;
//!
//! # fn main() -> plasmite::Result<()> {
//! let dir = PoolDir::default(); // ~/.plasmite/pools, or $PLASMITE_DIR
//! let pool = dir.create("chat", &PoolOptions::default())?;
//! let receipt = pool.append(&json!({"from": "alice", "msg": "hi"}), &["greeting"], Durability::Fast)?;
//!
//! let mut reader = pool.cursor(Start::Oldest)?;
//! while let Some(Event::Message(m)) = reader.wait(Some(std::time::Duration::from_secs(1)))? {
//!     println!("{} {}", m.seq, m.data);
//! }
//! # let _ = receipt; Ok(()) }
//! ```
//!
//! The on-disk format and its concurrency protocol live in the `no_std`
//! crate `plasmite-core` and are specified in `spec/format.md`.
#![warn(missing_docs)]

pub mod bench;
mod cursor;
mod dir;
mod error;
#[cfg(feature = "filter")]
pub mod filter;
pub mod json;
mod map;
mod message;
mod pool;
mod readers;
mod tail;
pub mod time;
mod wake;

pub use cursor::{Cursor, Event, RawEvent, Ready, Start};
pub use dir::{PoolDir, PoolEntry, POOL_EXTENSION};
pub use error::{Error, ErrorKind, Result};
pub use message::{Message, RawMessage};
pub use plasmite_core as core;
pub use pool::{
    Batch, Durability, Pool, PoolInfo, PoolOptions, Receipt, Validation, DEFAULT_POOL_SIZE,
};
pub use readers::{ReaderInfo, Resume};
pub use tail::{Tail, TailOptions, TailPoll};
