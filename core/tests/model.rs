//! Model-based tests: random appends, wraps, index capacities and reads,
//! checked against a plain in-memory model of what the ring must retain;
//! simulated power cuts; and damaged bytes.

use std::collections::VecDeque;

use plasmite_core::*;

use proptest::prelude::*;

struct Model {
    msgs: VecDeque<(u64, Vec<u8>, Vec<u8>)>,
}

fn encode_tags(tags: &[String]) -> Vec<u8> {
    let mut buf = vec![0u8; tags::encoded_len(tags)];
    tags::encode(tags, &mut buf).unwrap();
    buf
}

fn data_of(len: usize, seq: u64) -> Vec<u8> {
    let body = format!("{{\"seq\":{seq},\"pad\":\"");
    let mut v = body.into_bytes();
    while v.len() + 2 < len {
        v.push(b'a' + (v.len() % 26) as u8);
    }
    v.extend_from_slice(b"\"}");
    v
}

/// Reads everything from the oldest message and checks it is exactly the
/// newest `k` messages of the model, for some k.
fn check_all<R: Region>(pool: &Pool<R>, model: &Model) {
    let mut c = pool.cursor(Start::Oldest).unwrap();
    let mut buf = vec![0u8; pool.geometry().ring_size as usize];
    let mut got = Vec::new();
    loop {
        match pool.read(&mut c, &mut buf).unwrap() {
            Read::Message(f) => got.push((f.seq, f.tags(&buf).to_vec(), f.data(&buf).to_vec())),
            Read::Empty => break,
            Read::Lapped { .. } => panic!("lapped without a concurrent writer"),
        }
    }
    let tail: Vec<_> = model
        .msgs
        .iter()
        .skip(model.msgs.len() - got.len())
        .cloned()
        .collect();
    assert_eq!(
        got, tail,
        "ring must hold a contiguous suffix of what was appended"
    );
    if let Some(last) = model.msgs.back() {
        assert_eq!(
            got.last().map(|m| m.0),
            Some(last.0),
            "newest message must survive"
        );
    }
    let b = pool.bounds().unwrap();
    assert_eq!(b.count(), got.len() as u64);
    let report = pool.validate(|i| panic!("unexpected issue {i:?}"));
    assert!(report.is_clean());
    assert_eq!(report.messages, got.len() as u64);
    // Every retained seq is reachable by get; evicted ones are NotFound.
    for (seq, _, data) in &tail {
        let f = pool.get(*seq, &mut buf).unwrap();
        assert_eq!(f.data(&buf), &data[..]);
    }
    if let Some((first, _, _)) = tail.first() {
        if *first > 1 {
            assert!(matches!(
                pool.get(first - 1, &mut buf),
                Err(Error::NotFound { .. })
            ));
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn appends_match_model(
        size in 4096usize..20_000,
        index in prop_oneof![Just(None), Just(Some(0u64)), (1u64..64).prop_map(Some)],
        ops in prop::collection::vec((2usize..900, 0usize..3, 1usize..6), 1..120),
    ) {
        let mut ram = vec![0u8; size];
        let pool = Pool::format(MemRegion::new(&mut ram), &FormatOptions { index_capacity: index, created_ns: 1 }).unwrap();
        let mut model = Model { msgs: VecDeque::new() };
        let max = pool.geometry().max_payload() as usize;
        let mut time = 0;
        for (len, ntags, batch) in ops {
            let mut w = pool.writer().unwrap();
            prop_assert_eq!(w.recovery(), Recovery::default());
            for _ in 0..batch {
                let seq = w.next_seq();
                let tags: Vec<String> = (0..ntags).map(|i| format!("t{i}")).collect();
                let tb = encode_tags(&tags);
                let data = data_of(len, seq);
                time += 7;
                if tb.len() + data.len() > max {
                    let too_large = matches!(w.append(time, &tb, &data), Err(Error::TooLarge { .. }));
                    prop_assert!(too_large);
                    continue;
                }
                let r = w.append(time, &tb, &data).unwrap();
                prop_assert_eq!(r.seq, seq);
                model.msgs.push_back((seq, tb, data));
            }
            w.publish();
            check_all(&pool, &model);
        }
    }

    /// A writer dies after writing only `cut` bytes of an append (a process
    /// crash: the bytes it wrote are all visible). The next writer recovers,
    /// and readers see every published message intact, plus the interrupted
    /// one only if it was completely written.
    #[test]
    fn power_cut_anywhere_is_recovered(
        lens in prop::collection::vec(2usize..700, 1..60),
        cut_at in 0usize..60,
        cut_bytes in 0usize..800,
    ) {
        let mut ram = vec![0u8; 8192];
        let mut model = Model { msgs: VecDeque::new() };
        {
            let region = CutRegion::new(MemRegion::new(&mut ram));
            let pool = Pool::format(region, &FormatOptions::default()).unwrap();
            for (i, len) in lens.iter().enumerate() {
                if i == cut_at {
                    pool.region().cut_after(cut_bytes);
                }
                let mut w = pool.writer().unwrap();
                let seq = w.next_seq();
                let data = data_of(*len, seq);
                w.append(i as u64, b"", &data).unwrap();
                w.publish();
                if i == cut_at {
                    break;
                }
                model.msgs.push_back((seq, vec![], data));
            }
        }
        let pool = Pool::open(MemRegion::new(&mut ram)).unwrap();
        let next = pool.writer().unwrap().next_seq();
        // The interrupted append may have completed; nothing else may change.
        if next == model.msgs.back().map_or(1, |m| m.0 + 1) + 1 {
            let seq = next - 1;
            let mut buf = vec![0u8; 8192];
            let f = pool.get(seq, &mut buf).unwrap();
            model.msgs.push_back((seq, vec![], f.data(&buf).to_vec()));
            prop_assert_eq!(f.data(&buf), &data_of(lens[cut_at], seq)[..]);
        } else {
            prop_assert_eq!(next, model.msgs.back().map_or(1, |m| m.0 + 1));
        }
        check_all(&pool, &model);
    }

    /// Random bytes flipped anywhere in the ring: every read terminates with
    /// intact data or a Corrupt error, never altered bytes.
    #[test]
    fn damaged_bytes_never_come_back(
        flips in prop::collection::vec((0usize..8192, 0u8..8), 1..20),
        n in 1usize..80,
    ) {
        let mut ram = vec![0u8; 8192];
        let mut sent = std::collections::HashMap::new();
        let ring_offset;
        {
            let pool = Pool::format(MemRegion::new(&mut ram), &FormatOptions::default()).unwrap();
            ring_offset = pool.geometry().ring_offset as usize;
            let mut w = pool.writer().unwrap();
            for i in 0..n {
                let data = data_of(20 + i * 13 % 300, i as u64 + 1);
                let r = w.append(i as u64, b"", &data).unwrap();
                sent.insert(r.seq, data);
            }
            w.publish();
        }
        for (at, bit) in flips {
            let at = ring_offset + at % (8192 - ring_offset);
            ram[at] ^= 1 << bit;
        }
        let pool = Pool::open(MemRegion::new(&mut ram)).unwrap();
        let mut buf = vec![0u8; 8192];
        if let Ok(mut c) = pool.cursor(Start::Oldest) {
            for _ in 0..1000 {
                match pool.read(&mut c, &mut buf) {
                    Ok(Read::Message(f)) => prop_assert_eq!(f.data(&buf), &sent[&f.seq][..]),
                    Ok(Read::Empty) => break,
                    Ok(Read::Lapped { .. }) => {}
                    Err(Error::Corrupt(_)) => { pool.skip_damaged(&mut c); }
                    Err(e) => prop_assert!(false, "unexpected error {:?}", e),
                }
            }
        }
        for seq in 1..=n as u64 {
            if let Ok(f) = pool.get(seq, &mut buf) {
                prop_assert_eq!(f.data(&buf), &sent[&seq][..]);
            }
        }
        let _ = pool.validate(|_| {});
        // A writer can still append after damage.
        if let Ok(mut w) = pool.writer() {
            let _ = w.append(u64::MAX, b"", b"{}");
            w.publish();
        }
    }
}

/// Frames that end at every distance from the ring's end, including less
/// than a frame header: the ring stays bounded, contiguous and intact.
#[test]
fn wrap_at_every_distance() {
    for first in (2..200).step_by(1) {
        let mut ram = vec![0u8; 4096];
        let pool = Pool::format(MemRegion::new(&mut ram), &FormatOptions::default()).unwrap();
        let mut model = Model {
            msgs: VecDeque::new(),
        };
        for i in 0..200u64 {
            let len = if i == 0 {
                first
            } else {
                2 + (i as usize * 37 + first) % 150
            };
            let mut w = pool.writer().unwrap();
            let seq = w.next_seq();
            let data = data_of(len, seq);
            w.append(i, b"", &data).unwrap();
            w.publish();
            model.msgs.push_back((seq, vec![], data));
        }
        check_all(&pool, &model);
    }
}

/// A reader lapped by the writer learns exactly how many it missed.
#[test]
fn lapped_reader_counts_misses() {
    let mut ram = vec![0u8; 4096];
    let pool = Pool::format(MemRegion::new(&mut ram), &FormatOptions::default()).unwrap();
    let mut c = pool.cursor(Start::Newest).unwrap();
    let mut w = pool.writer().unwrap();
    for i in 0..500 {
        w.append(i, b"", &data_of(60, i)).unwrap();
    }
    w.publish();
    let mut buf = vec![0u8; 4096];
    let Read::Lapped { missed } = pool.read(&mut c, &mut buf).unwrap() else {
        panic!("not lapped")
    };
    let oldest = pool.bounds().unwrap().oldest.unwrap().0;
    assert_eq!(missed, oldest - 1);
    let Read::Message(f) = pool.read(&mut c, &mut buf).unwrap() else {
        panic!()
    };
    assert_eq!(f.seq, oldest);
}

#[test]
fn start_positions() {
    let mut ram = vec![0u8; 1 << 16];
    let pool = Pool::format(MemRegion::new(&mut ram), &FormatOptions::default()).unwrap();
    let mut w = pool.writer().unwrap();
    for i in 1..=100u64 {
        w.append(i * 1000, b"", &data_of(30, i)).unwrap();
    }
    w.publish();
    let mut buf = vec![0u8; 1024];
    let mut first = |start| {
        let mut c = pool.cursor(start).unwrap();
        match pool.read(&mut c, &mut buf).unwrap() {
            Read::Message(f) => Some(f.seq),
            _ => None,
        }
    };
    assert_eq!(first(Start::Oldest), Some(1));
    assert_eq!(first(Start::Newest), None);
    assert_eq!(first(Start::Last(10)), Some(91));
    assert_eq!(first(Start::Last(1000)), Some(1));
    assert_eq!(first(Start::Last(0)), None);
    assert_eq!(first(Start::Seq(42)), Some(42));
    assert_eq!(first(Start::Time(42_500)), Some(43));
    assert_eq!(first(Start::Time(0)), Some(1));
    assert_eq!(first(Start::Time(u64::MAX)), None);
    let mut c = pool.cursor(Start::Newest).unwrap();
    let mut w = pool.writer().unwrap();
    w.append(1, b"", b"{}").unwrap();
    w.publish();
    let Read::Message(f) = pool.read(&mut c, &mut buf).unwrap() else {
        panic!()
    };
    assert_eq!(
        (f.seq, f.time_ns),
        (101, 100_000),
        "time never goes backwards"
    );
}

#[test]
fn zeroed_header_is_not_a_pool() {
    let mut ram = vec![0u8; 4096];
    Pool::format(MemRegion::new(&mut ram), &FormatOptions::default()).unwrap();
    ram[..256].fill(0);
    assert!(matches!(
        Pool::open(MemRegion::new(&mut ram)),
        Err(Error::NotAPool)
    ));
}

#[test]
fn oversized_message_writes_nothing() {
    let mut ram = vec![0u8; 4096];
    let pool = Pool::format(MemRegion::new(&mut ram), &FormatOptions::default()).unwrap();
    let mut w = pool.writer().unwrap();
    let big = vec![b' '; 5000];
    assert!(matches!(w.append(0, b"", &big), Err(Error::TooLarge { max, .. }) if max < 4096));
    w.publish();
    assert_eq!(pool.bounds().unwrap().count(), 0);
    assert_eq!(pool.state().next_seq, 1);
}
