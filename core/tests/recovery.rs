//! Regression tests for crash recovery and damaged rings: each case is a
//! state a dead writer, a power cut, or a flipped bit can leave behind.

use plasmite_core::layout::{HEADER_SIZE, INDEX_SLOT_SIZE};
use plasmite_core::*;

fn data(i: u64, len: usize) -> Vec<u8> {
    let mut v = format!("{{\"i\":{i},\"p\":\"").into_bytes();
    while v.len() + 2 < len {
        v.push(b'x');
    }
    v.extend_from_slice(b"\"}");
    v
}

fn append_all<R: Region>(pool: &Pool<R>, range: std::ops::Range<u64>, len: usize) {
    let mut w = pool.writer().unwrap();
    for i in range {
        w.append(i, b"", &data(i, len)).unwrap();
    }
    w.publish();
}

fn read_all<R: Region>(pool: &Pool<R>) -> Vec<u64> {
    let mut c = pool.cursor(Start::Oldest).unwrap();
    let mut buf = vec![0u8; 1 << 16];
    let mut seqs = Vec::new();
    loop {
        match pool.read(&mut c, &mut buf).unwrap() {
            Read::Message(f) => seqs.push(f.seq),
            Read::Empty => return seqs,
            Read::Lapped { .. } => {}
        }
    }
}

fn assert_clean<R: Region>(pool: &Pool<R>) {
    let r = pool.validate(|i| panic!("issue after recovery: {i:?}"));
    assert!(r.is_clean());
}

#[test]
fn abandoned_batch_larger_than_the_ring_is_recovered() {
    let mut ram = vec![0u8; 8192];
    let pool = Pool::format(MemRegion::new(&mut ram), &FormatOptions::default()).unwrap();
    append_all(&pool, 1..10, 100);
    {
        let mut w = pool.writer().unwrap();
        for i in 0..300 {
            w.append(i, b"", &data(i, 100)).unwrap();
        }
        // Dropped unpublished, like a writer killed mid-batch.
    }
    assert_eq!(
        pool.bounds().unwrap().count(),
        0,
        "readers see an empty pool, not corruption"
    );
    let next = {
        let w = pool.writer().unwrap();
        assert!(w.recovery().repaired);
        w.next_seq()
    };
    assert!(next >= 10);
    append_all(&pool, 0..3, 100);
    assert_eq!(read_all(&pool).len(), 3);
    assert_clean(&pool);
}

#[test]
fn newest_frame_lost_in_a_power_cut_is_cut_back_without_reusing_seqs() {
    let mut ram = vec![0u8; 8192];
    let last_pos;
    {
        let pool = Pool::format(MemRegion::new(&mut ram), &FormatOptions::default()).unwrap();
        append_all(&pool, 1..6, 200);
        last_pos = pool.state().last_pos;
    }
    let ring_offset = {
        let pool = Pool::open(MemRegion::new(&mut ram)).unwrap();
        pool.geometry().ring_offset as usize
    };
    // The page holding the newest frame never reached the disk.
    let at = ring_offset + last_pos as usize;
    ram[at..at + 200].fill(0);
    let pool = Pool::open(MemRegion::new(&mut ram)).unwrap();
    let w = pool.writer().unwrap();
    assert!(w.recovery().repaired);
    assert_eq!(
        w.next_seq(),
        6,
        "seq 5 was published once; it is never handed out again"
    );
    append_all(&pool, 0..1, 50);
    assert_eq!(read_all(&pool), vec![1, 2, 3, 4, 6]);
    assert_clean(&pool);
}

#[test]
fn a_flipped_bit_in_the_newest_frame_does_not_poison_later_times() {
    let mut ram = vec![0u8; 8192];
    {
        let pool = Pool::format(MemRegion::new(&mut ram), &FormatOptions::default()).unwrap();
        append_all(&pool, 1..4, 60);
    }
    let (ring_offset, last_pos) = {
        let pool = Pool::open(MemRegion::new(&mut ram)).unwrap();
        (
            pool.geometry().ring_offset as usize,
            pool.state().last_pos as usize,
        )
    };
    ram[ring_offset + last_pos + 16 + 7] ^= 0x40; // top byte of time_ns
    let pool = Pool::open(MemRegion::new(&mut ram)).unwrap();
    let mut w = pool.writer().unwrap();
    let r = w.append(1000, b"", b"{}").unwrap();
    w.publish();
    assert!(
        r.time_ns < 1 << 40,
        "time {} came from the damaged frame",
        r.time_ns
    );
    assert_clean(&pool);
}

/// A batch whose writer dies at every possible byte: readers then see all of
/// the batch or none of it, seqs are never reused, and a reader that was
/// waiting at the newest message carries on without a false error.
#[test]
fn batches_cut_at_every_byte_are_all_or_nothing() {
    for prior in [0u64, 4] {
        for cut in (0..1400).step_by(7) {
            let mut ram = vec![0u8; 8192];
            let waiting;
            {
                let region = CutRegion::new(MemRegion::new(&mut ram));
                let pool = Pool::format(region, &FormatOptions::default()).unwrap();
                append_all(&pool, 1..prior + 1, 90);
                waiting = pool.cursor(Start::Newest).unwrap();
                pool.region().cut_after(cut);
                append_all(&pool, 0..5, 200);
            }
            let pool = Pool::open(MemRegion::new(&mut ram)).unwrap();
            let next = pool.writer().unwrap().next_seq();
            let seen = read_all(&pool);
            let batch: Vec<u64> = (prior + 1..prior + 6).collect();
            let before: Vec<u64> = (1..prior + 1).collect();
            let all: Vec<u64> = before.iter().chain(&batch).copied().collect();
            assert!(seen == before || seen == all, "cut {cut}: saw {seen:?}");
            assert!(
                next > *seen.last().unwrap_or(&0),
                "cut {cut}: next seq {next} reuses one"
            );
            assert_clean(&pool);

            append_all(&pool, 0..1, 40);
            let mut c = waiting;
            let mut buf = vec![0u8; 4096];
            let mut got = Vec::new();
            loop {
                match pool.read(&mut c, &mut buf) {
                    Ok(Read::Message(f)) => got.push(f.seq),
                    Ok(Read::Lapped { .. }) => {}
                    Ok(Read::Empty) => break,
                    Err(e) => panic!("cut {cut}: waiting reader got {e:?}"),
                }
            }
            assert_eq!(got.last(), Some(&next), "cut {cut}");
        }
    }
}

#[test]
fn lapped_reader_meeting_damage_at_the_tail_gets_corrupt_and_can_skip() {
    let mut ram = vec![0u8; 8192];
    let (ring_offset, tail, mut c);
    {
        let pool = Pool::format(MemRegion::new(&mut ram), &FormatOptions::default()).unwrap();
        c = pool.cursor(Start::Oldest).unwrap();
        append_all(&pool, 0..200, 100);
        ring_offset = pool.geometry().ring_offset as usize;
        tail = pool.state().tail as usize % pool.geometry().ring_size as usize;
    }
    ram[ring_offset + tail + 1] ^= 1; // the commit word
    let pool = Pool::open(MemRegion::new(&mut ram)).unwrap();
    let mut buf = vec![0u8; 4096];
    let r = pool.read(&mut c, &mut buf);
    assert!(matches!(r, Err(Error::Corrupt(_))), "{r:?}");
    pool.skip_damaged(&mut c);
    assert!(matches!(pool.read(&mut c, &mut buf), Ok(Read::Message(_))));
}

#[test]
fn caught_up_reader_is_not_told_of_drops_when_a_frame_fills_the_ring() {
    let mut ram = vec![0u8; 8192];
    let pool = Pool::format(MemRegion::new(&mut ram), &FormatOptions::default()).unwrap();
    append_all(&pool, 0..3, 1000);
    let mut c = pool.cursor(Start::Newest).unwrap();
    let max = pool.geometry().max_payload() as usize;
    append_all(&pool, 0..1, max - 8);
    let mut buf = vec![0u8; 8192];
    match pool.read(&mut c, &mut buf).unwrap() {
        Read::Message(f) => assert_eq!(f.seq, 4),
        other => panic!("expected the message, got {other:?}"),
    }
}

#[test]
fn a_damaged_index_slot_costs_a_walk_not_an_error() {
    let mut ram = vec![0u8; 1 << 16];
    let stride;
    {
        let pool = Pool::format(MemRegion::new(&mut ram), &FormatOptions::default()).unwrap();
        append_all(&pool, 0..300, 60);
        stride = pool.geometry().index_stride;
    }
    // Point the slot of seq `stride` one frame too far.
    // Slot 1 holds seq `stride`: (stride / stride) % capacity.
    let slot = HEADER_SIZE + INDEX_SLOT_SIZE;
    let pos = u64::from_le_bytes(ram[slot + 8..slot + 16].try_into().unwrap());
    assert_eq!(
        u64::from_le_bytes(ram[slot..slot + 8].try_into().unwrap()),
        stride
    );
    ram[slot + 8..slot + 16].copy_from_slice(&(pos + 72).to_le_bytes());
    let pool = Pool::open(MemRegion::new(&mut ram)).unwrap();
    let mut buf = vec![0u8; 1024];
    for seq in 1..=300 {
        assert_eq!(pool.get(seq, &mut buf).unwrap().seq, seq);
    }
    let mut issues = 0;
    pool.validate(|i| {
        assert_eq!(i.kind, IssueKind::Index);
        issues += 1;
    });
    assert_eq!(issues, 1);
}

#[test]
fn empty_payloads_keep_the_index_guarantee() {
    let mut ram = vec![0u8; 4096];
    let pool = Pool::format(MemRegion::new(&mut ram), &FormatOptions::default()).unwrap();
    append_all_raw(&pool, 500);
    let b = pool.bounds().unwrap();
    let mut buf = [0u8; 8];
    for seq in b.oldest.unwrap().0..=b.newest.unwrap().0 {
        assert_eq!(pool.get(seq, &mut buf).unwrap().len, 0);
    }
    assert_eq!(pool.state().next_seq, 501);
}

fn append_all_raw<R: Region>(pool: &Pool<R>, n: u64) {
    let mut w = pool.writer().unwrap();
    for i in 0..n {
        w.append(i, b"", b"").unwrap();
    }
    w.publish();
}

/// Frames 1-4, a gap at 5 (lost to damage), 6 intact, 7 damaged: a rebuild
/// keeps 6 and never reuses 5 or 7; get of the gap seq is NotFound even
/// though the walk stepped over damage before it.
#[test]
fn rebuild_across_a_gap_keeps_the_intact_frame_after_it() {
    let mut ram = vec![0u8; 8192];
    let ring_offset;
    let frame5;
    {
        let pool = Pool::format(MemRegion::new(&mut ram), &FormatOptions::default()).unwrap();
        ring_offset = pool.geometry().ring_offset as usize;
        append_all(&pool, 1..6, 100);
        frame5 = pool.state().last_pos as usize;
    }
    ram[ring_offset + frame5..ring_offset + frame5 + 100].fill(0);
    let frame7;
    {
        let pool = Pool::open(MemRegion::new(&mut ram)).unwrap();
        append_all(&pool, 6..8, 100);
        frame7 = pool.state().last_pos as usize;
        assert_eq!(read_all(&pool), vec![1, 2, 3, 4, 6, 7]);
    }
    // Damage the newest frame and point last_pos at garbage: a rebuild.
    ram[ring_offset + frame7 + 40] ^= 1;
    ram[152..160].copy_from_slice(&8u64.to_le_bytes());
    let pool = Pool::open(MemRegion::new(&mut ram)).unwrap();
    let w = pool.writer().unwrap();
    assert!(w.recovery().repaired);
    assert_eq!(w.next_seq(), 8);
    assert_eq!(read_all(&pool), vec![1, 2, 3, 4, 6]);
    let mut buf = vec![0u8; 1024];
    assert!(matches!(
        pool.get(5, &mut buf),
        Err(Error::NotFound { seq: 5 })
    ));
    assert_eq!(pool.get(6, &mut buf).unwrap().seq, 6);
}

/// A writer that died after storing the head but before next_seq: the
/// batch is readable, by cursor and by get, before anyone repairs it.
#[test]
fn batch_published_with_next_seq_lagging_is_readable() {
    let mut ram = vec![0u8; 8192];
    let pool = Pool::format(MemRegion::new(&mut ram), &FormatOptions::default()).unwrap();
    append_all(&pool, 1..4, 100);
    append_all(&pool, 4..8, 100);
    pool.region()
        .store_u64(plasmite_core::layout::offsets::NEXT_SEQ, 4);
    let mut buf = vec![0u8; 1024];
    for seq in 1..=7 {
        assert_eq!(pool.get(seq, &mut buf).unwrap().seq, seq);
    }
    let mut c = pool.cursor(Start::Seq(6)).unwrap();
    assert!(matches!(pool.read(&mut c, &mut buf).unwrap(), Read::Message(f) if f.seq == 6));
    assert_eq!(read_all(&pool), (1..=7).collect::<Vec<_>>());
    assert_eq!(pool.writer().unwrap().next_seq(), 8);
}

/// A time seek on a pool whose newest frame is damaged terminates.
#[test]
fn time_seek_past_damage_at_the_head_terminates() {
    let mut ram = vec![0u8; 8192];
    let (ring_offset, last);
    {
        let pool = Pool::format(MemRegion::new(&mut ram), &FormatOptions::default()).unwrap();
        append_all(&pool, 1..200, 100);
        ring_offset = pool.geometry().ring_offset as usize;
        last = pool.state().last_pos as usize % pool.geometry().ring_size as usize;
    }
    ram[ring_offset + last + 40] ^= 1;
    let pool = Pool::open(MemRegion::new(&mut ram)).unwrap();
    let c = pool.cursor(Start::Time(u64::MAX)).unwrap();
    assert_eq!(c.pos, pool.state().head);
    let c = pool.cursor(Start::Time(0)).unwrap();
    assert!(c.seq > 1, "evicted seqs are not where a time seek starts");
}

/// A reader that announced a sleep and was killed in it stops costing
/// writers a wake-up call once its deadline has passed.
#[test]
fn a_dead_waiter_is_forgotten_after_its_deadline() {
    let mut ram = vec![0u8; 8192];
    let pool = Pool::format(MemRegion::new(&mut ram), &FormatOptions::default()).unwrap();
    let publish_at = |secs: u64| {
        let mut w = pool.writer().unwrap();
        w.append(secs * 1_000_000_000, b"", b"{}").unwrap();
        w.publish()
    };
    assert!(!publish_at(90), "nobody waits yet");
    pool.announce_waiter(100);
    assert!(publish_at(95), "a reader may sleep until 100 s");
    assert!(publish_at(100));
    assert!(!publish_at(101), "its deadline has passed");
}

/// Regression (found by the crash and load campaign): a cursor started at a
/// seq (`Start::Seq`, `Start::Last`) stepped over damage at
/// or after that seq without a word, so `pls peek --tail N` on a pool whose
/// oldest messages were damaged, or all of them, printed what was left and
/// never said that anything was skipped. Now the first read reports the
/// damage, and `skip_damaged` steps over it and counts it when it can.
#[test]
fn a_cursor_started_on_damage_reports_it() {
    const LEN: usize = 100;
    let size = frame_size(LEN as u64) as usize;
    let mut ram = vec![0u8; 16384];
    let ring_offset;
    {
        let pool = Pool::format(MemRegion::new(&mut ram), &FormatOptions::default()).unwrap();
        append_all(&pool, 1..41, LEN); // seqs 1..=40, frame k at (k - 1) * size
        assert_eq!(pool.state().tail, 0);
        ring_offset = pool.geometry().ring_offset as usize;
    }
    let frame = |seq: usize| ring_offset + (seq - 1) * size;
    ram[frame(1)] ^= 0xff; // the oldest frame's commit word
    ram[frame(20) + 40] ^= 0x01; // a payload byte of seq 20
    for seq in 38..=40 {
        ram[frame(seq)..frame(seq) + size].fill(0); // the newest three
    }
    let pool = Pool::open(MemRegion::new(&mut ram)).unwrap();
    let mut buf = vec![0u8; 4096];
    let first = |start: Start, buf: &mut [u8]| {
        let mut c = pool.cursor(start).unwrap();
        let r = pool.read(&mut c, buf);
        (
            c,
            r.map(|r| match r {
                Read::Message(f) => f.seq,
                other => panic!("{start:?}: {other:?}"),
            }),
        )
    };

    // Starting on a damaged frame: Corrupt first, then the next intact one.
    for (start, next) in [
        (Start::Seq(1), 2),
        (Start::Last(100), 2),
        (Start::Seq(20), 21),
        (Start::Last(21), 21),
    ] {
        let (mut c, r) = first(start, &mut buf);
        assert!(matches!(r, Err(Error::Corrupt(_))), "{start:?}: {r:?}");
        let skipped = pool.skip_damaged(&mut c);
        assert!(skipped <= 1, "{start:?}: skipped {skipped}");
        match pool.read(&mut c, &mut buf) {
            Ok(Read::Message(f)) => assert_eq!(f.seq, next, "{start:?}"),
            other => panic!("{start:?}: then {other:?}"),
        }
    }
    // Past a damaged seq from an intact one before it: the count is exact.
    let (mut c, r) = first(Start::Seq(20), &mut buf);
    assert!(r.is_err());
    if c.seq == 20 {
        assert_eq!(pool.skip_damaged(&mut c), 1);
    }
    // Damage below the start is not the reader's: no error.
    for (start, want) in [
        (Start::Seq(2), 2),
        (Start::Seq(21), 21),
        (Start::Last(20), 21),
    ] {
        assert_eq!(first(start, &mut buf).1.ok(), Some(want), "{start:?}");
    }
    // Damage that runs up to the head: Corrupt, then the head, every lost
    // seq counted.
    let (mut c, r) = first(Start::Seq(38), &mut buf);
    assert!(matches!(r, Err(Error::Corrupt(_))), "{r:?}");
    assert_eq!(pool.skip_damaged(&mut c), 3);
    assert!(matches!(pool.read(&mut c, &mut buf), Ok(Read::Empty)));
    let (_, r) = first(Start::Last(1), &mut buf);
    assert!(matches!(r, Err(Error::Corrupt(_))), "{r:?}");
}
