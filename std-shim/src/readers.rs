//! Durable named readers: positions kept in the pool file itself, so a
//! consumer that restarts resumes right after the last message it
//! acknowledged (at-least-once delivery), and learns what the ring evicted
//! while it was away.

use plasmite_core::{NamedReader, Start};

use crate::error::{Error, ErrorKind, Result};
use crate::pool::Pool;
use crate::time::now_ns;

/// A named reader and its position, as [`Pool::readers`] lists them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReaderInfo {
    /// The reader's name.
    pub name: String,
    /// The seq it reads next: everything before it is acknowledged.
    pub next_seq: u64,
    /// When it last acknowledged, ns since the Unix epoch.
    pub acked_ns: u64,
    /// When it was created, ns since the Unix epoch.
    pub created_ns: u64,
}

/// A durable named reader, opened: where it resumes, what it missed while
/// away, and how to store its progress. [`Tail`](crate::Tail) with
/// [`TailOptions::name`](crate::TailOptions::name) uses this; so does a
/// reader built on [`Cursor`](crate::Cursor) directly.
pub struct Resume {
    pool: Pool,
    reader: NamedReader,
    start: Start,
    missed: u64,
}

impl std::fmt::Debug for Resume {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Resume")
            .field("name", &self.reader.name())
            .field("start", &self.start)
            .field("missed", &self.missed)
            .finish()
    }
}

impl Resume {
    /// Where to start reading: right after the last stored position.
    pub fn start(&self) -> Start {
        self.start
    }

    /// Messages the ring evicted between the stored position and the oldest
    /// message still retained: lost to this reader.
    pub fn missed(&self) -> u64 {
        self.missed
    }

    /// Stores `next_seq` as the reader's position: messages before it are
    /// acknowledged. One atomic store in the pool file, no lock and no
    /// syscall; it survives the process, not a power cut.
    pub fn store(&self, next_seq: u64) {
        self.pool
            .inner
            .core
            .store_reader_position(&self.reader, next_seq, now_ns());
    }
}

impl Pool {
    /// Every named reader of this pool, in table order.
    pub fn readers(&self) -> Vec<ReaderInfo> {
        let core = &self.inner.core;
        (0..core.reader_capacity())
            .filter_map(|slot| core.reader_at(slot))
            .map(|r| ReaderInfo {
                name: r.name().to_owned(),
                next_seq: r.next_seq,
                acked_ns: r.acked_ns,
                created_ns: r.created_ns,
            })
            .collect()
    }

    /// Forgets the named reader `name`; NotFound if there is none.
    pub fn delete_reader(&self, name: &str) -> Result<()> {
        if self.locked(|core| core.delete_reader(name))? {
            Ok(())
        } else {
            Err(
                Error::new(ErrorKind::NotFound, format!("no named reader {name:?}"))
                    .with_path(self.path())
                    .with_hint("`pls pool info POOL` lists the pool's named readers."),
            )
        }
    }

    /// Opens the durable named reader `name`, creating it at `start` if it
    /// is new (an existing reader keeps its position).
    pub fn resume(&self, name: &str, start: Start) -> Result<Resume> {
        let core = &self.inner.core;
        if let Some(reader) = core.find_reader(name) {
            return self.resume_at(reader);
        }
        let next_seq = self.cursor(start)?.position().seq;
        let claimed = self.locked(|core| core.claim_reader(name, next_seq, now_ns()))?;
        let reader = claimed.map_err(|e| Error::core(e, self.path()))?;
        // Another process may have created it first: honour its position.
        self.resume_at(reader)
    }

    fn resume_at(&self, reader: NamedReader) -> Result<Resume> {
        let oldest = self.info()?.oldest.map(|(s, _)| s);
        let missed = oldest.map_or(0, |o| o.saturating_sub(reader.next_seq));
        Ok(Resume {
            pool: self.clone(),
            start: Start::Seq(reader.next_seq),
            reader,
            missed,
        })
    }
}
