//! The Plasmite pool format: a ring of checksummed JSON messages in any byte
//! region, safe to share between processes and to crash in.
//!
//! This crate is `#![no_std]` and needs no allocator. It holds all of the
//! format: the on-disk structs ([`layout`]), framing and checksums, placement
//! and wrap, eviction, the seq index, lock-free reads that validate every
//! byte they return, crash recovery, and full validation. The OS parts (file
//! mapping, locking, wake-ups) live in the `plasmite` crate, which implements
//! [`Region`] over a shared file mapping.
//!
//! ```
//! use plasmite_core::{tags, FormatOptions, MemRegion, Pool, Read, Start};
//!
//! let mut ram = [0u8; 8192];
//! let pool = Pool::format(MemRegion::new(&mut ram), &FormatOptions::default()).unwrap();
//! let mut tag_block = [0u8; 32];
//! let n = tags::encode(&["greeting"], &mut tag_block).unwrap();
//!
//! let mut w = pool.writer().unwrap();
//! let receipt = w.append(1_700_000_000_000_000_000, &tag_block[..n], br#"{"hi":1}"#).unwrap();
//! w.publish();
//!
//! let mut cursor = pool.cursor(Start::Oldest).unwrap();
//! let mut buf = [0u8; 64];
//! let Read::Message(m) = pool.read(&mut cursor, &mut buf).unwrap() else { panic!() };
//! assert_eq!(m.seq, receipt.seq);
//! assert_eq!(m.data(&buf), br#"{"hi":1}"#);
//! assert!(tags::contains(m.tags(&buf), "greeting"));
//! ```
#![no_std]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod error;
mod frame;
mod geometry;
pub mod layout;
mod pool;
mod reader;
mod readers;
mod region;
pub mod tags;
mod validate;
mod writer;

pub use error::{Corruption, Error, Result};
pub use frame::{frame_crc, frame_size, FrameInfo};
pub use geometry::{FormatOptions, Geometry};
pub use pool::{Bounds, Pool, State};
pub use reader::{Cursor, Read, Start};
pub use readers::{valid_reader_name, NamedReader};
pub use region::{CutRegion, MemRegion, Region};
pub use validate::{Issue, IssueKind, Report};
pub use writer::{Appended, Recovery, Writer};
