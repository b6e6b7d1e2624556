//! Regression tests for bugs the fuzz targets in `fuzz/` found (see
//! docs/testing.md, "Fuzzing"). Each reproduces the failing input directly.

use plasmite_core::*;
use zerocopy::FromBytes;

/// The seqs a reader from the oldest gets, stepping over damage as
/// applications do.
fn intact_seqs<R: Region>(pool: &Pool<R>) -> Vec<u64> {
    let mut c = pool.cursor(Start::Oldest).unwrap();
    let mut buf = [0u8; 256];
    let mut seen = Vec::new();
    for _ in 0..100 {
        match pool.read(&mut c, &mut buf) {
            Ok(Read::Message(f)) => seen.push(f.seq),
            Ok(Read::Empty) => break,
            Ok(Read::Lapped { .. }) => {}
            Err(Error::Corrupt(_)) => {
                pool.skip_damaged(&mut c);
            }
            Err(e) => panic!("{e:?}"),
        }
    }
    seen
}

/// `fuzz/` target `frame`, first seed: a cursor at seq 0 on an empty pool
/// retried until it gave up with `Contended`, taking the seq it found at the
/// head for one published in the meantime.
#[test]
fn cursor_at_a_seq_below_an_empty_pools_next_seq_starts_at_the_head() {
    let mut ram = vec![0u8; 4096];
    let pool = Pool::format(MemRegion::new(&mut ram), &FormatOptions::default()).unwrap();
    let c = pool.cursor(Start::Seq(0)).unwrap();
    assert_eq!(c, pool.cursor(Start::Newest).unwrap());
    // The same after everything was evicted and the writer that did so died
    // before publishing: empty, with next_seq past 1.
    let mut w = pool.writer().unwrap();
    for i in 0..3 {
        w.append(i, b"", br#"{"a":1}"#).unwrap();
    }
    w.publish();
    {
        let mut w = pool.writer().unwrap();
        for i in 0..200 {
            w.append(10 + i, b"", &[b' '; 200]).unwrap();
        }
        // Dropped unpublished.
    }
    assert_eq!(pool.bounds().unwrap().count(), 0);
    for seq in [0, 1, 2, 3] {
        let c = pool.cursor(Start::Seq(seq)).unwrap();
        let mut buf = [0u8; 64];
        assert_eq!(pool.read(&mut { c }, &mut buf).unwrap(), Read::Empty);
    }
}

/// `fuzz/` target `frame`: after damage, validation stepped onto any intact
/// frame, even one with an older seq (a stale frame, as a page that reverted
/// in a power cut leaves), and counted it as a message, while readers and
/// the writer's recovery step over such frames. Validation now does too.
#[test]
fn validation_steps_over_stale_frames_like_readers_do() {
    let mut ram = vec![0u8; 8192];
    let pool = Pool::format(MemRegion::new(&mut ram), &FormatOptions::default()).unwrap();
    // The writer and pool borrow `ram`; their scope ends before it is edited.
    let at: Vec<usize> = {
        let geo = *pool.geometry();
        let mut w = pool.writer().unwrap();
        let at = (1..=20u64)
            .map(|i| {
                let a = w
                    .append(i, b"", format!("{{\"i\":{i:03}}}").as_bytes())
                    .unwrap();
                (geo.ring_offset + a.pos % geo.ring_size) as usize
            })
            .collect();
        w.publish();
        at
    };
    let size = at[1] - at[0];
    // Seq 10 damaged; seq 3's frame, intact, where seq 11 was.
    ram[at[9] + 40] ^= 1;
    ram.copy_within(at[2]..at[2] + size, at[10]);
    let pool = Pool::open(MemRegion::new(&mut ram)).unwrap();
    let seen = intact_seqs(&pool);
    let want: Vec<u64> = (1..=9).chain(12..=20).collect();
    assert_eq!(seen, want);
    let mut kinds = Vec::new();
    let report = pool.validate(|i| kinds.push(i.kind));
    assert_eq!(report.messages, want.len() as u64, "{kinds:?}");
    assert_eq!((report.oldest_seq, report.newest_seq), (Some(1), Some(20)));
    assert_eq!(report.gaps, 2, "seqs 10 and 11");
    assert!(kinds.contains(&IssueKind::Frame) && !kinds.contains(&IssueKind::State));
}

/// `fuzz/` target `frame`: an intact frame with seq `u64::MAX` was returned
/// as a message, and `seq + 1` then overflowed: a panic in debug builds, a
/// cursor that forgot its place (and a writer handing out seq 0) in release
/// builds. Seqs above 2^63 now make a frame damaged.
#[test]
fn a_frame_with_an_impossible_seq_is_damage() {
    for victim in [2usize, 4] {
        let mut ram = vec![0u8; 4096];
        let pool = Pool::format(MemRegion::new(&mut ram), &FormatOptions::default()).unwrap();
        let geo = *pool.geometry();
        let mut w = pool.writer().unwrap();
        let at: Vec<usize> = (1..=5u64)
            .map(|i| {
                let a = w
                    .append(i, b"", format!("{{\"i\":{i}}}").as_bytes())
                    .unwrap();
                (geo.ring_offset + a.pos % geo.ring_size) as usize
            })
            .collect();
        w.publish();
        let len = at[1] - at[0];
        let f = at[victim];
        ram[f + 8..f + 16].copy_from_slice(&u64::MAX.to_le_bytes());
        let header = layout::FrameHeader::read_from_bytes(&ram[f..f + 32]).unwrap();
        let payload_len = header.len.get() as usize;
        let crc = frame_crc(&header, &[&ram[f + 32..f + 32 + payload_len]]);
        ram[f + 4..f + 8].copy_from_slice(&crc.to_le_bytes());
        assert!(32 + payload_len <= len);
        let pool = Pool::open(MemRegion::new(&mut ram)).unwrap();
        let seen = intact_seqs(&pool);
        let want: Vec<u64> = (1..=5).filter(|&s| s != victim as u64 + 1).collect();
        assert_eq!(seen, want, "victim {victim}");
        let mut w = pool.writer().unwrap();
        let a = w.append(9, b"", b"{}").unwrap();
        w.publish();
        assert_eq!(a.seq, 6, "the writer keeps counting from next_seq");
        assert_eq!(pool.get(6, &mut [0u8; 256]).unwrap().seq, 6);
    }
}
