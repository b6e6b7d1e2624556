//! Threads of one process sharing a pool: clones of one `Pool` (one
//! mapping, appends serialized by its mutex) and a second `Pool::open` of
//! the same file (another mapping, serialized by `flock`). This is also the
//! test `scripts/campaign` runs under ThreadSanitizer, which sees races
//! between threads of one process but not between processes.

use std::collections::BTreeMap;
use std::time::Duration;

use plasmite::{Durability, Event, Pool, PoolOptions, Start};
use plasmite_tests::{decode, encode, pad_len_for, TempDir};

/// Appends `count` bodies of writer `id`, in batches of `batch`.
fn write(pool: &Pool, id: u64, count: u64, batch: u64) {
    let mut n = 0;
    while n < count {
        let k = batch.min(count - n);
        if k == 1 {
            let body = encode(id, n, 0, pad_len_for(id, n, 40));
            pool.append_json(body.as_bytes(), &[], Durability::Fast)
                .expect("append");
        } else {
            let mut b = pool.batch().expect("batch");
            for i in n..n + k {
                let body = encode(id, i, 0, pad_len_for(id, i, 40));
                b.append_json(body.as_bytes(), &[]).expect("append");
            }
            b.finish(Durability::Fast).expect("finish");
        }
        n += k;
    }
}

/// Follows from the start until `total` seqs are accounted for; returns
/// (messages seen, messages missed) after checking every body, that seqs
/// follow each other (a drop accounts for a gap), and that each writer's
/// counter goes up by one between drops.
/// With `slow`, it naps every 100 messages, so a fast writer laps it.
fn follow(pool: &Pool, total: u64, slow: bool) -> (u64, u64) {
    let mut c = pool.cursor(Start::Oldest).expect("cursor");
    let (mut seen, mut missed, mut expect) = (0, 0, 1);
    let mut last: BTreeMap<u64, u64> = BTreeMap::new();
    while seen + missed < total {
        match c.wait(Some(Duration::from_secs(30))).expect("read") {
            Some(Event::Message(m)) => {
                assert_eq!(m.seq, expect, "seq out of order");
                expect += 1;
                seen += 1;
                if slow && seen % 100 == 0 {
                    std::thread::sleep(Duration::from_millis(1));
                }
                let b = decode(&m.data).unwrap_or_else(|e| panic!("seq {}: {e}", m.seq));
                if let Some(prev) = last.insert(b.w, b.n) {
                    assert!(b.n > prev, "writer {} went back", b.w);
                    if missed == 0 {
                        assert_eq!(b.n, prev + 1, "writer {} skipped", b.w);
                    }
                }
            }
            Some(Event::Dropped { missed: k }) => {
                assert!(k > 0);
                missed += k;
                expect += k;
            }
            None => panic!("no message for 30 s after {seen} seen, {missed} missed"),
        }
    }
    (seen, missed)
}

#[test]
fn threads_share_a_pool_exactly_once() {
    const EACH: u64 = 20_000;
    const WRITERS: u64 = 3;
    let total = EACH * WRITERS;
    let dir = TempDir::new("threads");
    let path = dir.join("p.plasmite");
    let pool = Pool::create(&path, &PoolOptions::with_size(32 << 20)).unwrap();
    let other = Pool::open(&path).unwrap();
    let seen: Vec<(u64, u64)> = std::thread::scope(|s| {
        let readers: Vec<_> = (0..2)
            .map(|_| {
                let p = pool.clone();
                s.spawn(move || follow(&p, total, false))
            })
            .collect();
        let a = pool.clone();
        s.spawn(move || write(&a, 1, EACH, 1));
        let b = pool.clone();
        s.spawn(move || write(&b, 2, EACH, 7));
        s.spawn(|| write(&other, 3, EACH, 3));
        readers.into_iter().map(|r| r.join().unwrap()).collect()
    });
    for (s, m) in &seen {
        assert_eq!(
            (*s, *m),
            (total, 0),
            "a reader of a pool that holds everything missed some"
        );
    }
    let v = pool.validate().unwrap();
    assert!(v.report.is_clean(), "{:?}", v.issues);
    assert_eq!(v.report.messages, total);
    println!("threads: {WRITERS} writer threads x {EACH} (two sharing a mapping, one through its own), two reader threads saw all {total}");
}

#[test]
fn lapped_reader_thread_is_told() {
    const COUNT: u64 = 30_000;
    let dir = TempDir::new("threads-lapped");
    let path = dir.join("p.plasmite");
    let pool = Pool::create(&path, &PoolOptions::with_size(64 << 10)).unwrap();
    let (seen, missed) = std::thread::scope(|s| {
        let p = pool.clone();
        let r = s.spawn(move || follow(&p, COUNT, true));
        s.spawn(|| write(&pool, 1, COUNT, 1));
        r.join().unwrap()
    });
    assert_eq!(seen + missed, COUNT);
    assert!(missed > 0, "the slow reader was never lapped");
    println!("threads: a reader thread on a 64 KiB pool saw {seen}, was told of {missed} missed");
}
