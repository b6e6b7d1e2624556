//! The `power_cut` target: random appends, batches, reads, lookups and
//! wraps on a small in-memory pool, with writes cut short at a random byte,
//! checked against a model of what was committed.
//!
//! The cut is core's `CutRegion`: a budget of bytes the writer may still
//! store, after which every write is dropped, as when the process dies
//! mid-append. The bytes already stored stay (a crash, not a
//! lost page). The pool is then reopened from the same bytes, as a
//! restarted process would, and checked twice: before any writer takes
//! over (what readers see of a dead writer's pool) and after recovery.

use std::collections::BTreeMap;

use plasmite_core::{Cursor, CutRegion, Error, FormatOptions, MemRegion, Pool, Read, Start};

use crate::bytes::Bytes;
use crate::core_checks::assert_intact;

/// One committed message: tag block, data, time.
type Msg = (Vec<u8>, Vec<u8>, u64);

/// What must be true of the pool.
struct Model {
    /// Every message ever committed, by seq (a seq of a batch lost in a cut
    /// is handed out again, so it enters only once committed).
    committed: BTreeMap<u64, Msg>,
    /// The seqs readers see now, oldest first: a contiguous run.
    retained: Vec<u64>,
    /// The seq the next committed message gets.
    next_seq: u64,
    /// Time of the next message (times only grow).
    clock: u64,
    /// A long-lived reader and the seq it expects next.
    reader: Option<(Cursor, u64)>,
    /// Whether a cut happened since the last writer take-over.
    cut_pending: bool,
}

fn message(b: &mut Bytes, seq: u64, max: usize) -> (Vec<u8>, Vec<u8>) {
    let sel = b.u8();
    let tags: Vec<u8> = match sel % 4 {
        0 => Vec::new(),
        1 => br#"["a"]"#.to_vec(),
        2 => br#"["a","bb"]"#.to_vec(),
        _ => br#"["c"]"#.to_vec(),
    };
    // Mostly small messages, sometimes one that fills most of the ring, and
    // sometimes one too large for it.
    let len = match sel >> 6 {
        0 | 1 => usize::from(b.u8()),
        2 => usize::from(b.u16()) % (max + 1),
        _ => usize::from(b.u16()) % (max + 64),
    };
    let mut data = format!("{{\"seq\":{seq},\"f\":\"").into_bytes();
    while data.len() + 2 < len {
        data.push(b'a' + (data.len() % 26) as u8);
    }
    data.extend_from_slice(b"\"}");
    (tags, data)
}

/// Fuzz target: see the module docs. Input: a size byte, an index byte,
/// then operations until the input runs out (64 at most).
pub fn power_cut(data: &[u8]) {
    let mut b = Bytes::new(data);
    let size = 4096 + usize::from(b.u8() % 16) * 512;
    let index = match b.u8() % 4 {
        0 => Some(0),
        1 => None,
        2 => Some(u64::from(b.u8() % 8) + 1),
        _ => Some(u64::from(b.u8() % 64) + 1),
    };
    let mut ram = vec![0u8; size];
    let region = CutRegion::new(MemRegion::new(&mut ram));
    let opts = FormatOptions {
        index_capacity: index,
        created_ns: 1,
    };
    let mut pool = Pool::format(region, &opts).expect("format");
    let max = pool.geometry().max_payload() as usize;
    let mut m = Model {
        committed: BTreeMap::new(),
        retained: Vec::new(),
        next_seq: 1,
        clock: 1_000,
        reader: None,
        cut_pending: false,
    };
    for _ in 0..64 {
        if b.is_empty() {
            break;
        }
        match b.u8() % 8 {
            0..=2 => {
                append(&pool, &mut m, &mut b, max, None);
            }
            3 => {
                let budget = usize::from(b.u16());
                let batch = append(&pool, &mut m, &mut b, max, Some(budget));
                // The process died; a new one maps the same bytes.
                pool.region().heal();
                pool = Pool::open(pool.into_region()).expect("reopen after a cut");
                after_cut(&pool, &mut m, batch);
            }
            4 => read_some(&pool, &mut m, usize::from(b.u8() % 8) + 1),
            5 => check_get(&pool, &m, &mut b),
            6 => check_starts(&pool, &m, &mut b),
            _ => {
                let w = pool.writer().expect("take over");
                if !m.cut_pending {
                    assert!(!w.recovery().repaired, "repair without a crash");
                }
                m.cut_pending = false;
            }
        }
        check_all(&pool, &m);
    }
}

/// Appends a batch of 1 to 4 messages and publishes it. Without a budget
/// it commits, and the model learns it; with one, the writes stop after
/// `budget` bytes and the batch is returned for [`after_cut`] to judge.
fn append(
    pool: &Pool<CutRegion<MemRegion>>,
    m: &mut Model,
    b: &mut Bytes,
    max: usize,
    budget: Option<usize>,
) -> Vec<(u64, Msg)> {
    let count = usize::from(b.u8() % 4) + 1;
    let mut w = pool.writer().expect("take over");
    if !m.cut_pending {
        assert!(!w.recovery().repaired, "repair without a crash");
    }
    m.cut_pending = false;
    assert_eq!(w.next_seq(), m.next_seq, "writer's next seq");
    if let Some(budget) = budget {
        pool.region().cut_after(budget);
    }
    let mut batch = Vec::new();
    for _ in 0..count {
        let seq = m.next_seq + batch.len() as u64;
        let (tags, data) = message(b, seq, max);
        m.clock += 1_000;
        match w.append(m.clock, &tags, &data) {
            Ok(a) => {
                assert_eq!(a.seq, seq);
                assert_eq!(a.time_ns, m.clock);
                batch.push((seq, (tags, data, m.clock)));
            }
            Err(Error::TooLarge { .. }) => assert!(tags.len() + data.len() > max),
            Err(e) => panic!("append failed with {e:?}"),
        }
    }
    w.publish();
    if budget.is_none() {
        commit(m, &batch);
        // Without a crash, the newest message is always retained.
        let seen = read_from(pool, Start::Oldest);
        if let Some((last, _)) = batch.last() {
            assert_eq!(seen.last(), Some(last), "newest message not retained");
        }
        m.retained = seen;
    }
    batch
}

fn commit(m: &mut Model, batch: &[(u64, Msg)]) {
    for (seq, msg) in batch {
        m.committed.insert(*seq, msg.clone());
        m.next_seq = seq + 1;
    }
}

/// Judges a batch cut short: readers see it whole or not at all, before a
/// new writer takes over and after, and they see the same either way.
fn after_cut(pool: &Pool<CutRegion<MemRegion>>, m: &mut Model, batch: Vec<(u64, Msg)>) {
    m.cut_pending = true;
    let report = pool.validate(|_| {});
    assert_eq!(report.damaged, 0, "a dead writer left damage in view");
    let before = read_from_checked(pool, m, Some(&batch));
    let landed = batch
        .last()
        .is_some_and(|(last, _)| before.last() == Some(last));
    if landed {
        commit(m, &batch);
    } else {
        for (seq, _) in &batch {
            assert!(!before.contains(seq), "part of a batch is visible");
        }
        if let Some(&newest) = before.last() {
            assert_eq!(
                newest + 1,
                m.next_seq,
                "the retained run ends at the newest commit"
            );
        }
    }
    let w = pool.writer().expect("take over after a cut");
    assert_eq!(w.next_seq(), m.next_seq, "next seq after recovery");
    m.cut_pending = false;
    let report = pool.validate(|i| panic!("issue after recovery: {i:?}"));
    assert!(report.is_clean());
    let after = read_from(pool, Start::Oldest);
    assert_eq!(before, after, "recovery changed what readers see");
    m.retained = after;
}

/// Reads everything from `start`, checking each message against the model;
/// returns the seqs read.
fn read_from(pool: &Pool<CutRegion<MemRegion>>, start: Start) -> Vec<u64> {
    let mut cursor = pool.cursor(start).expect("cursor");
    let mut buf = vec![0u8; pool.geometry().ring_size as usize];
    let mut seqs = Vec::new();
    loop {
        match pool.read(&mut cursor, &mut buf).expect("read") {
            Read::Message(f) => {
                assert_intact(pool, &f, &buf);
                seqs.push(f.seq);
            }
            Read::Empty => return seqs,
            Read::Lapped { missed } => panic!("lapped by {missed} without a writer"),
        }
    }
}

/// [`read_from`] the oldest message, checking contents against committed
/// messages (or the cut batch) and that seqs form one contiguous run.
fn read_from_checked(
    pool: &Pool<CutRegion<MemRegion>>,
    m: &Model,
    batch: Option<&[(u64, Msg)]>,
) -> Vec<u64> {
    let mut cursor = pool.cursor(Start::Oldest).expect("cursor");
    let mut buf = vec![0u8; pool.geometry().ring_size as usize];
    let mut seqs: Vec<u64> = Vec::new();
    loop {
        match pool.read(&mut cursor, &mut buf).expect("read") {
            Read::Message(f) => {
                assert_intact(pool, &f, &buf);
                let from_batch = batch
                    .and_then(|b| b.iter().find(|(s, _)| *s == f.seq))
                    .map(|(_, msg)| msg);
                let want = from_batch
                    .or_else(|| m.committed.get(&f.seq))
                    .unwrap_or_else(|| panic!("seq {} was never committed", f.seq));
                assert_eq!(
                    (f.tags(&buf), f.data(&buf), f.time_ns),
                    (&want.0[..], &want.1[..], want.2),
                    "seq {} differs from what was committed",
                    f.seq
                );
                if let Some(&last) = seqs.last() {
                    assert_eq!(f.seq, last + 1, "seqs not contiguous");
                }
                seqs.push(f.seq);
            }
            Read::Empty => return seqs,
            Read::Lapped { missed } => panic!("lapped by {missed} without a writer"),
        }
    }
}

/// The whole picture: readers see exactly the retained run, bounds agree,
/// validation is clean.
fn check_all(pool: &Pool<CutRegion<MemRegion>>, m: &Model) {
    let seen = read_from_checked(pool, m, None);
    assert_eq!(seen, m.retained, "readers see other messages than retained");
    if let Some(&newest) = seen.last() {
        assert_eq!(
            newest + 1,
            m.next_seq,
            "retained run must end at the newest"
        );
    }
    let b = pool.bounds().expect("bounds");
    assert_eq!(b.oldest.map(|o| o.0), seen.first().copied());
    assert_eq!(b.newest.map(|n| n.0), seen.last().copied());
    assert_eq!(b.count(), seen.len() as u64);
    if !m.cut_pending {
        let r = pool.validate(|i| panic!("issue: {i:?}"));
        assert_eq!(r.messages, seen.len() as u64);
    }
}

/// The long-lived reader takes up to `n` steps: it must see every retained
/// message in order, or be told exactly how many it lost.
fn read_some(pool: &Pool<CutRegion<MemRegion>>, m: &mut Model, n: usize) {
    let (mut cursor, mut expect) = match m.reader {
        Some(r) => r,
        None => (
            pool.cursor(Start::Oldest).expect("cursor"),
            m.retained.first().copied().unwrap_or(m.next_seq),
        ),
    };
    let mut buf = vec![0u8; pool.geometry().ring_size as usize];
    for _ in 0..n {
        match pool.read(&mut cursor, &mut buf).expect("read") {
            Read::Message(f) => {
                assert_intact(pool, &f, &buf);
                assert_eq!(f.seq, expect, "reader skipped or repeated a message");
                let want = &m.committed[&f.seq];
                assert_eq!((f.tags(&buf), f.data(&buf)), (&want.0[..], &want.1[..]));
                expect += 1;
            }
            Read::Empty => {
                // A reader whose messages were all evicted by a batch that a
                // crash then lost hears of it with the next message.
                assert!(
                    expect == m.next_seq || m.retained.is_empty(),
                    "reader caught up too early"
                );
                break;
            }
            Read::Lapped { missed } => {
                expect += missed;
                let oldest = m.retained.first().copied().unwrap_or(m.next_seq);
                assert_eq!(expect, oldest, "lapped reader told a wrong count");
            }
        }
    }
    m.reader = Some((cursor, expect));
}

/// get by seq: exact for every retained seq, NotFound for others.
fn check_get(pool: &Pool<CutRegion<MemRegion>>, m: &Model, b: &mut Bytes) {
    let mut buf = vec![0u8; pool.geometry().ring_size as usize];
    let pick = u64::from(b.u8());
    let seq = match m.retained.first() {
        Some(&o) => (o + pick).saturating_sub(16),
        None => pick,
    };
    for seq in [seq, 0, m.next_seq] {
        match pool.get(seq, &mut buf) {
            Ok(f) => {
                assert!(m.retained.contains(&seq), "got unretained seq {seq}");
                assert_intact(pool, &f, &buf);
                let want = &m.committed[&seq];
                assert_eq!((f.tags(&buf), f.data(&buf)), (&want.0[..], &want.1[..]));
            }
            Err(Error::NotFound { .. }) => {
                assert!(!m.retained.contains(&seq), "retained seq {seq} not found");
            }
            Err(e) => panic!("get({seq}) failed with {e:?}"),
        }
    }
}

/// Cursors at a seq, at the last n, and at a time start where they must.
fn check_starts(pool: &Pool<CutRegion<MemRegion>>, m: &Model, b: &mut Bytes) {
    let first = |start| {
        let mut c = pool.cursor(start).expect("cursor");
        let mut buf = vec![0u8; pool.geometry().ring_size as usize];
        match pool.read(&mut c, &mut buf).expect("read") {
            Read::Message(f) => Some(f.seq),
            Read::Empty => None,
            Read::Lapped { missed } => panic!("lapped by {missed} without a writer"),
        }
    };
    let (oldest, newest) = match (m.retained.first(), m.retained.last()) {
        (Some(&o), Some(&n)) => (o, n),
        _ => {
            assert_eq!(first(Start::Oldest), None);
            return;
        }
    };
    let k = u64::from(b.u8());
    let at = oldest.saturating_sub(4) + k % (newest - oldest + 8);
    let want = |s: u64| (s <= newest).then(|| s.max(oldest));
    assert_eq!(first(Start::Seq(at)), want(at), "Start::Seq({at})");
    assert_eq!(
        first(Start::Last(k)),
        want(m.next_seq.saturating_sub(k).max(1)),
        "Start::Last({k})"
    );
    let t = m.committed[&at.clamp(oldest, newest)].2 - 500 * (k % 3);
    let by_time = m.retained.iter().copied().find(|s| m.committed[s].2 >= t);
    assert_eq!(first(Start::Time(t)), by_time, "Start::Time({t})");
    assert_eq!(first(Start::Newest), None);
}

/// Seeds: a few op sequences that wrap, batch, cut and read.
pub(crate) fn seeds() -> Vec<Vec<u8>> {
    vec![
        // Small pool, small messages, many appends then reads.
        [&[0u8, 1][..], &[0, 0, 40].repeat(30), &[4, 7, 5, 3, 6, 9]].concat(),
        // Cuts at several budgets between appends.
        [
            &[2u8, 2, 3][..],
            &[0, 1, 60, 0, 80],
            &[3, 0x10, 0x00, 0, 50],
            &[3, 0x80, 0x00, 1, 1, 90, 1, 70],
            &[4, 3, 7, 0, 0, 30],
            &[3, 0x20, 0x01, 3, 0x80, 0x10, 0x0f, 0, 20, 0, 20, 0, 20],
            &[5, 2, 6, 1],
        ]
        .concat(),
        // Large messages that wrap and evict everything.
        [
            &[0u8, 3, 20][..],
            &[0, 0, 0x80, 0xff, 0x0a].repeat(6),
            &[3, 0x00, 0x02, 0, 0x80, 0xff, 0x0f],
            &[4, 7],
        ]
        .concat(),
    ]
}
