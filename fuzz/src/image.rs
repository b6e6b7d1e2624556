//! The `pool_image` target: an arbitrary file image, opened by the core over
//! memory and by `plasmite::Pool::open` from a file.

use std::path::PathBuf;

use plasmite::{Durability, ErrorKind, RawEvent, Start};
use plasmite_core::{MemRegion, Pool as CorePool};

use crate::core_checks::{exercise, write_and_read_back};

/// A directory for scratch files: tmpfs when there is one (no disk writes,
/// and fsync costs nothing), else the system temp directory.
pub(crate) fn scratch_root() -> PathBuf {
    let shm = PathBuf::from("/dev/shm");
    if shm.is_dir() {
        shm
    } else {
        std::env::temp_dir()
    }
}

/// A name no other process or thread uses at the same time.
pub(crate) fn scratch_name(what: &str) -> PathBuf {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let n = N.fetch_add(1, Ordering::Relaxed);
    scratch_root().join(format!("plasmite-fuzz-{}-{n}-{what}", std::process::id()))
}

/// Fuzz target: the bytes are a whole pool file.
///
/// The core opens them over memory and runs every read path, then takes
/// over as writer and appends. `plasmite::Pool::open` opens them from a
/// file and runs info, validate, get and cursors (with and without a tag
/// filter), then appends through a batch. Opening may fail only with a
/// clear Corrupt (or unsupported-version Usage) error; nothing may panic,
/// hang, or return bytes that are not an intact frame.
pub fn pool_image(data: &[u8]) {
    let mut ram = data.to_vec();
    if let Ok(pool) = CorePool::open(MemRegion::new(&mut ram)) {
        exercise(&pool);
        write_and_read_back(&pool);
    }

    let path = scratch_name("image.plasmite");
    std::fs::write(&path, data).expect("write the scratch pool file");
    let opened = plasmite::Pool::open(&path);
    // The open pool keeps its mapping and lock file descriptor.
    let _ = std::fs::remove_file(&path);
    let pool = match opened {
        Ok(p) => p,
        Err(e) => {
            assert!(
                matches!(e.kind(), ErrorKind::Corrupt | ErrorKind::Usage),
                "open failed with {:?}: {e}",
                e.kind()
            );
            return;
        }
    };
    let corrupt_ok = |what: &str, e: plasmite::Error| {
        assert_eq!(e.kind(), ErrorKind::Corrupt, "{what} failed: {e}");
    };
    let info = pool.info();
    let (oldest, newest) = match &info {
        Ok(i) => (i.oldest.map_or(1, |o| o.0), i.newest.map_or(1, |n| n.0)),
        Err(_) => (1, 1),
    };
    if let Err(e) = info {
        corrupt_ok("info", e);
    }
    pool.validate().expect("validate runs on any pool");
    let bound = pool.geometry().ring_size / 4 + 16;
    for (start, tags) in [
        (Start::Oldest, vec![]),
        (Start::Oldest, vec!["a".to_string()]),
        (Start::Last(3), vec![]),
        (Start::Seq(newest), vec![]),
    ] {
        let mut cursor = match pool.cursor(start) {
            Ok(c) => c.with_tags(tags.clone()),
            Err(e) => {
                corrupt_ok("cursor", e);
                continue;
            }
        };
        let mut last = 0;
        let mut done = false;
        for _ in 0..bound {
            match cursor.next_raw() {
                Ok(Some(RawEvent::Message(m))) => {
                    assert!(m.seq > last, "seq {} after {last}", m.seq);
                    last = m.seq;
                    for t in &tags {
                        assert!(m.has_tag(t), "tag filter let through {m:?}");
                    }
                    let _ = m.to_message().to_json();
                }
                Ok(Some(RawEvent::Dropped { .. })) => {}
                Ok(None) => {
                    done = true;
                    break;
                }
                Err(e) => {
                    corrupt_ok("next", e);
                    cursor.skip_damaged();
                }
            }
        }
        assert!(done, "cursor from {start:?} never caught up");
    }
    for seq in [0, 1, oldest, oldest + 1, newest, newest + 1, u64::MAX] {
        match pool.get(seq) {
            Ok(m) => assert_eq!(m.seq, seq),
            Err(e) if e.kind() == ErrorKind::NotFound => {}
            Err(e) => corrupt_ok("get", e),
        }
    }
    match pool.append_json(br#"{"fuzz": 1}"#, &["t"], Durability::Fast) {
        Ok(r) => {
            let m = pool.get(r.seq).expect("a fresh message reads back");
            assert_eq!(
                (m.data.as_str(), &m.tags[..]),
                (r#"{"fuzz":1}"#, &["t".to_string()][..])
            );
        }
        Err(e) => corrupt_ok("append", e),
    }
}

/// Seeds: pool files as `plasmite::Pool::create` makes them, empty, with a
/// few messages, and wrapped.
pub(crate) fn seeds() -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for (size, index, count) in [
        (4096u64, None, 0u64),
        (4096, None, 3),
        (4096, Some(0), 40),
        (8192, Some(4), 100),
    ] {
        let path = scratch_name("seed.plasmite");
        let opts = plasmite::PoolOptions {
            size,
            index_capacity: index,
            overwrite: true,
        };
        let pool = plasmite::Pool::create(&path, &opts).expect("create a seed pool");
        for i in 0..count {
            let tags: &[&str] = if i % 2 == 0 { &["a"] } else { &[] };
            let data = format!(
                "{{\"i\":{i},\"s\":\"{}\"}}",
                "y".repeat((i * 7 % 50) as usize)
            );
            pool.append_json(data.as_bytes(), tags, Durability::Fast)
                .expect("append to a seed pool");
        }
        drop(pool);
        out.push(std::fs::read(&path).expect("read the seed pool"));
        let _ = std::fs::remove_file(&path);
    }
    out
}
