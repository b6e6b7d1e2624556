//! The `frame` target, and the checks every core-level target shares: what
//! a reader may return from a pool whose bytes are anything at all.

use plasmite_core::layout::{offsets, FRAME_COMMITTED, FRAME_HEADER_SIZE, HEADER_SIZE};
use plasmite_core::{Error, FormatOptions, IssueKind, MemRegion, Pool, Read, Region, Start};

use crate::bytes::Bytes;

/// Fuzz target: a pool with a valid header and arbitrary state words
/// (head, tail, next seq, last position), index slots and ring bytes.
///
/// Input: a flags byte, a size byte, an index byte, the four state words
/// (ring-relative unless flag 8 asks for raw 64-bit values), then the bytes
/// of the index and the ring. Flag 4 recomputes the checksum of every
/// committed-looking frame, so the fuzzer reaches past checksum checks into
/// lengths, seqs, pads and wraps.
pub fn frame(data: &[u8]) {
    let mut b = Bytes::new(data);
    let flags = b.u8();
    let size = 4096 + usize::from(b.u8() % 32) * 256;
    let index = match flags & 3 {
        0 => Some(0),
        1 => None,
        2 => Some(u64::from(b.u8() % 16) + 1),
        _ => Some(u64::from(b.u8())),
    };
    let mut ram = vec![0u8; size];
    let geo = {
        let opts = FormatOptions {
            index_capacity: index,
            created_ns: 1,
        };
        match Pool::format(MemRegion::new(&mut ram), &opts) {
            Ok(p) => *p.geometry(),
            Err(_) => return,
        }
    };
    let ring = geo.ring_size;
    let raw = flags & 8 != 0;
    let pos = |b: &mut Bytes| {
        if raw {
            b.u64()
        } else {
            let lap = u64::from(b.u8() % 3);
            (lap * ring + u64::from(b.u16()) % ring) & !7
        }
    };
    let (head, tail, last_pos) = (pos(&mut b), pos(&mut b), pos(&mut b));
    let next_seq = if raw { b.u64() } else { u64::from(b.u16()) };
    for (off, v) in [
        (offsets::HEAD, head),
        (offsets::TAIL, tail),
        (offsets::NEXT_SEQ, next_seq),
        (offsets::LAST_POS, last_pos),
    ] {
        ram[off..off + 8].copy_from_slice(&v.to_le_bytes());
    }
    let body = b.rest();
    let start = geo.index_offset as usize;
    let n = body.len().min(size - start);
    ram[start..start + n].copy_from_slice(&body[..n]);
    if flags & 4 != 0 {
        fix_checksums(&mut ram[geo.ring_offset as usize..]);
    }
    let pool = Pool::open(MemRegion::new(&mut ram)).expect("a formatted header opens");
    exercise(&pool);
    write_and_read_back(&pool);
}

/// Recomputes the checksum of every aligned frame that carries a commit
/// word and fits the ring.
fn fix_checksums(ring: &mut [u8]) {
    let mut at = 0;
    while at + FRAME_HEADER_SIZE <= ring.len() {
        if u32_at(ring, at) == FRAME_COMMITTED {
            let len = u32_at(ring, at + 24) as usize;
            let end = at + FRAME_HEADER_SIZE + len;
            if end <= ring.len() {
                let crc = checksum(&ring[at..at + FRAME_HEADER_SIZE], &ring[at + 32..end]);
                ring[at + 4..at + 8].copy_from_slice(&crc.to_le_bytes());
            }
        }
        at += 8;
    }
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().unwrap())
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().unwrap())
}

/// A frame's checksum, computed here from the spec (header bytes 8..32,
/// then the payload) rather than by the code under test.
fn checksum(header: &[u8], payload: &[u8]) -> u32 {
    let mut h = crc32fast::Hasher::new();
    h.update(&header[8..FRAME_HEADER_SIZE]);
    h.update(payload);
    h.finalize()
}

/// Checks that a message a reader returned is exactly a committed frame in
/// the ring: header fields, payload bytes and checksum all agree, and the
/// frame lies within the ring without straddling its end.
pub(crate) fn assert_intact<R: Region>(pool: &Pool<R>, f: &plasmite_core::FrameInfo, buf: &[u8]) {
    let geo = pool.geometry();
    let ring_pos = f.pos % geo.ring_size;
    assert_eq!(f.pos % 8, 0, "misaligned frame returned: {f:?}");
    assert!(
        ring_pos + (FRAME_HEADER_SIZE + f.len) as u64 <= geo.ring_size,
        "returned frame straddles the ring end: {f:?}"
    );
    let off = (geo.ring_offset + ring_pos) as usize;
    let mut raw = [0u8; FRAME_HEADER_SIZE];
    pool.region().read(off, &mut raw);
    assert_eq!(
        u32_at(&raw, 0),
        FRAME_COMMITTED,
        "uncommitted frame returned"
    );
    assert_eq!(u64_at(&raw, 8), f.seq, "seq differs from the frame's");
    assert_eq!(u64_at(&raw, 16), f.time_ns, "time differs from the frame's");
    assert_eq!(u32_at(&raw, 24) as usize, f.len, "length differs");
    assert_eq!(u32_at(&raw, 28) as usize, f.tags_len, "tag length differs");
    assert!(f.tags_len <= f.len, "tag block longer than the payload");
    let mut payload = vec![0u8; f.len];
    pool.region().read(off + FRAME_HEADER_SIZE, &mut payload);
    assert_eq!(&buf[..f.len], &payload[..], "payload differs from the ring");
    assert_eq!(
        checksum(&raw, &payload),
        u32_at(&raw, 4),
        "frame with a bad checksum returned: {f:?}"
    );
}

/// Reads from `start` until the cursor reaches the head, stepping over
/// damage as `pls peek` does. Every message must be intact and seqs must
/// grow; the walk must end within a bound set by the ring's size (a cursor
/// that stops making progress is a bug). Returns the seqs read.
pub(crate) fn read_all<R: Region>(pool: &Pool<R>, start: Start) -> Vec<u64> {
    let mut cursor = match pool.cursor(start) {
        Ok(c) => c,
        Err(Error::Corrupt(_)) => return Vec::new(),
        Err(e) => panic!("cursor({start:?}) failed with {e:?}"),
    };
    let geo = *pool.geometry();
    let mut buf = vec![0u8; geo.ring_size as usize];
    let mut seqs: Vec<u64> = Vec::new();
    for _ in 0..geo.ring_size / 4 + 16 {
        match pool.read(&mut cursor, &mut buf) {
            Ok(Read::Message(f)) => {
                assert_intact(pool, &f, &buf);
                if let Some(&last) = seqs.last() {
                    assert!(f.seq > last, "seq {} read after {last}", f.seq);
                }
                seqs.push(f.seq);
            }
            Ok(Read::Empty) => return seqs,
            Ok(Read::Lapped { .. }) => {}
            Err(Error::Corrupt(_)) => {
                pool.skip_damaged(&mut cursor);
            }
            Err(e) => panic!("read failed with {e:?} at {cursor:?}"),
        }
    }
    panic!("cursor from {start:?} never reached the head (now at {cursor:?})");
}

/// Runs every read path over `pool`: bounds, validation, cursors from every
/// kind of start, and get by seq around every interesting seq.
pub(crate) fn exercise<R: Region>(pool: &Pool<R>) {
    let bounds = match pool.bounds() {
        Ok(b) => Some(b),
        Err(Error::Corrupt(_)) => None,
        Err(e) => panic!("bounds failed with {e:?}"),
    };
    let report = pool.validate(|_| {});
    assert!(report.issues >= report.damaged);
    let oldest = bounds.and_then(|b| b.oldest).map_or(1, |o| o.0);
    let newest = bounds.and_then(|b| b.newest).map_or(1, |n| n.0);
    let mid_time = bounds
        .and_then(|b| Some((b.oldest?.1, b.newest?.1)))
        .map_or(0, |(o, n)| o / 2 + n / 2);
    let mut seen = Vec::new();
    for start in [
        Start::Oldest,
        Start::Newest,
        Start::Last(1),
        Start::Last(7),
        Start::Seq(0),
        Start::Seq(1),
        Start::Seq(oldest / 2 + newest / 2),
        Start::Seq(newest.wrapping_add(1)),
        Start::Time(0),
        Start::Time(mid_time),
        Start::Time(u64::MAX),
    ] {
        let seqs = read_all(pool, start);
        if seen.is_empty() {
            seen = seqs;
        }
    }
    let mut probe: Vec<u64> = vec![0, 1, u64::MAX, pool.state().next_seq];
    for s in [oldest, newest] {
        probe.extend((0..3).map(|d| s.wrapping_add(d)));
        probe.extend((1..3).map(|d| s.wrapping_sub(d)));
    }
    probe.extend(seen.iter().take(32));
    let mut buf = vec![0u8; pool.geometry().ring_size as usize];
    for seq in probe {
        match pool.get(seq, &mut buf) {
            Ok(f) => {
                assert_eq!(f.seq, seq, "get({seq}) returned another seq");
                assert_intact(pool, &f, &buf);
            }
            Err(Error::NotFound { .. } | Error::Corrupt(_)) => {}
            Err(e) => panic!("get({seq}) failed with {e:?}"),
        }
    }
}

/// Takes over as writer (recovering whatever the bytes say), then appends
/// one message: it must come back exactly, by get and by cursor, and a
/// second take-over must find nothing left to repair.
///
/// One kind of pool is let off these checks: one holding an intact frame,
/// anywhere but at the newest frame (the published `last_pos`, exact once
/// a writer took over), whose seq is at least the newest's. No writer makes
/// such a frame: every frame before the newest has a lower seq, and so does
/// a stale frame that a lost page brings back. It takes crafted bytes with
/// matching checksums; lookups by seq and cursors then stop at that frame,
/// and validation, which trusts the order of seqs, disagrees with the writer
/// about which frame is the newest. There only termination and intact bytes
/// are checked.
pub(crate) fn write_and_read_back<R: Region>(pool: &Pool<R>) {
    let mut w = match pool.writer() {
        Ok(w) => w,
        // Published state that breaks the header's invariants: refused.
        Err(Error::Corrupt(_)) => return,
        Err(e) => panic!("writer() failed with {e:?}"),
    };
    let ordered = !has_frame_out_of_order(pool);
    let mut state_issues = Vec::new();
    pool.validate(|i| {
        if i.kind == IssueKind::State {
            state_issues.push(i)
        }
    });
    assert!(
        state_issues.is_empty() || !ordered,
        "state issues left after recovery: {state_issues:?}"
    );
    let (tags, data) = (br#"["probe"]"#, br#"{"probe":true}"#);
    let a = w
        .append(u64::MAX / 2, tags, data)
        .expect("a small message fits every pool");
    w.publish();
    let mut buf = vec![0u8; pool.geometry().ring_size as usize];
    let got = pool.get(a.seq, &mut buf);
    let last = read_all(pool, Start::Last(1));
    let all = read_all(pool, Start::Oldest);
    if ordered {
        let f = got.expect("the new message reads back");
        assert_intact(pool, &f, &buf);
        assert_eq!((f.tags(&buf), f.data(&buf)), (&tags[..], &data[..]));
        let b = pool.bounds().expect("bounds after an append");
        assert_eq!(
            b.newest.map(|n| n.0),
            Some(a.seq),
            "newest is the new message"
        );
        assert_eq!(last, [a.seq], "Start::Last(1) reads the new message only");
        assert_eq!(
            all.last(),
            Some(&a.seq),
            "a full read ends at the new message"
        );
    }
    let w = pool.writer().expect("a second take-over");
    assert!(
        !w.recovery().repaired,
        "recovery found more to repair right after recovering"
    );
}

/// Whether an intact frame between tail and head other than the newest has
/// a seq of at least the newest's (see [`write_and_read_back`]), judged from
/// the bytes with this crate's own checksum.
fn has_frame_out_of_order<R: Region>(pool: &Pool<R>) -> bool {
    let (geo, s) = (pool.geometry(), pool.state());
    let intact = |pos: u64| -> Option<u64> {
        let ring_pos = pos % geo.ring_size;
        if ring_pos + FRAME_HEADER_SIZE as u64 > geo.ring_size {
            return None;
        }
        let off = (geo.ring_offset + ring_pos) as usize;
        let mut raw = [0u8; FRAME_HEADER_SIZE];
        pool.region().read(off, &mut raw);
        let len = u64::from(u32_at(&raw, 24));
        if u32_at(&raw, 0) != FRAME_COMMITTED
            || ring_pos + FRAME_HEADER_SIZE as u64 + len > geo.ring_size
        {
            return None;
        }
        let mut payload = vec![0u8; len as usize];
        pool.region().read(off + FRAME_HEADER_SIZE, &mut payload);
        (checksum(&raw, &payload) == u32_at(&raw, 4)).then(|| u64_at(&raw, 8))
    };
    if s.tail >= s.head {
        return false;
    }
    let Some(newest) = intact(s.last_pos) else {
        return false;
    };
    let mut pos = s.tail & !7;
    while pos < s.head {
        if pos != s.last_pos && intact(pos).is_some_and(|seq| seq >= newest) {
            return true;
        }
        pos += 8;
    }
    false
}

/// Seeds: real pools (empty, a few messages, wrapped, with tags and an
/// index) in the `frame` input encoding.
pub(crate) fn seeds() -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for (sel, index_flags, count, len) in [
        (0u8, 1u8, 0u64, 10usize),
        (0, 1, 5, 40),
        (4, 2, 60, 90),
        (8, 0, 200, 17),
        (2, 3, 30, 300),
    ] {
        let size = 4096 + usize::from(sel) * 256;
        let index = match index_flags {
            0 => Some(0),
            1 => None,
            2 => Some(4),
            _ => Some(u64::from(sel)),
        };
        let mut ram = vec![0u8; size];
        let pool = Pool::format(
            MemRegion::new(&mut ram),
            &FormatOptions {
                index_capacity: index,
                created_ns: 1,
            },
        )
        .unwrap();
        let mut w = pool.writer().unwrap();
        for i in 0..count {
            let tags: &[u8] = if i % 3 == 0 { br#"["a","b"]"# } else { b"" };
            let data = format!(
                "{{\"i\":{i},\"p\":\"{}\"}}",
                "x".repeat(len % 97 + i as usize % 7)
            );
            w.append(1000 + i, tags, data.as_bytes()).unwrap();
        }
        w.publish();
        let s = pool.state();
        let ring = pool.geometry().ring_size;
        let mut input = vec![index_flags | 4, sel];
        if index_flags >= 2 {
            input.push(match index {
                Some(n) => n as u8 - u8::from(index_flags == 2),
                None => 0,
            });
        }
        for p in [s.head, s.tail, s.last_pos] {
            assert!(p / ring < 3, "seed pool wrapped too often to encode");
            input.push((p / ring) as u8);
            input.extend_from_slice(&((p % ring) as u16).to_le_bytes());
        }
        input.extend_from_slice(&(s.next_seq as u16).to_le_bytes());
        let start = HEADER_SIZE;
        let end = ram.len();
        let body = &ram[start..end];
        // Trailing zeros cost the fuzzer nothing to leave out.
        let used = body.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
        input.extend_from_slice(&body[..used]);
        out.push(input);
    }
    out
}
