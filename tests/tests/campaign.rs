//! The crash and load campaign's file-level part, black box: damaged pool
//! files met by every command (and by `pls serve`), and full disks.
//!
//! CI runs a quick matrix. `scripts/campaign` sets `PLASMITE_CAMPAIGN=full`,
//! which adds every truncation length through the header, random lengths
//! through the rest of the file, and random garbage spans
//! (`PLASMITE_TEST_SEED` replays them).

#[path = "common/cli.rs"]
mod cli;

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use cli::{Out, Sandbox};
use plasmite::core::frame_size;
use plasmite::core::layout::{offsets, FRAME_HEADER_SIZE, PAD_MARKER};
use plasmite_tests::{Rng, TempDir};
use serde_json::{json, Value};

fn full() -> bool {
    std::env::var("PLASMITE_CAMPAIGN").is_ok_and(|v| v == "full")
}

fn word(bytes: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap())
}

fn word32(bytes: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap())
}

/// A pool whose ring has wrapped, as `pls` wrote it, and what it holds.
struct Pristine {
    bytes: Vec<u8>,
    /// Every retained message, as `pls get` prints it, by seq.
    messages: BTreeMap<u64, Value>,
    ring_offset: u64,
    ring_size: u64,
    index_offset: u64,
    /// Retained frames: (ring position, frame size, seq), oldest first.
    frames: Vec<(u64, u64, u64)>,
}

impl Pristine {
    fn new(sb: &Sandbox) -> Pristine {
        sb.create_pool("src", &["--size", "64K"]);
        // About 2.5 rings' worth, with sizes that vary, so that the ring has
        // wrapped and a pad marker sits somewhere.
        let mut lines = String::new();
        for i in 0..1_200u64 {
            let pad = "x".repeat((i * 37 % 90) as usize);
            lines.push_str(&format!("{{\"i\":{i},\"pad\":\"{pad}\"}}\n"));
        }
        sb.run_in(&["poke", "src"], lines).ok();
        let info = sb.info("src");
        let messages: BTreeMap<u64, Value> = sb
            .messages("src")
            .into_iter()
            .map(|m| (m["seq"].as_u64().unwrap(), m))
            .collect();
        let bytes = fs::read(sb.pool_file("src")).unwrap();
        let ring_offset = info["ring_offset"].as_u64().unwrap();
        let ring_size = info["ring_size"].as_u64().unwrap();
        let (head, tail) = (word(&bytes, offsets::HEAD), word(&bytes, offsets::TAIL));
        assert!(tail > 0, "the ring did not wrap");
        // Walk the frames from tail to head.
        let mut frames = Vec::new();
        let mut pos = tail;
        while pos < head {
            let at = (ring_offset + pos % ring_size) as usize;
            let left = ring_size - pos % ring_size;
            if left < FRAME_HEADER_SIZE as u64 || word32(&bytes, at) == PAD_MARKER {
                pos += left;
                continue;
            }
            let len = word32(&bytes, at + 24) as u64;
            let size = frame_size(len);
            frames.push((pos, size, word(&bytes, at + 8)));
            pos += size;
        }
        assert_eq!(pos, head, "frames do not end at the head");
        let seqs: Vec<u64> = frames.iter().map(|f| f.2).collect();
        assert_eq!(seqs, messages.keys().copied().collect::<Vec<_>>());
        assert!(seqs.len() > 100, "{} messages retained", seqs.len());
        Pristine {
            bytes,
            messages,
            ring_offset,
            ring_size,
            index_offset: info["index_offset"].as_u64().unwrap(),
            frames,
        }
    }

    /// File byte range of a retained frame.
    fn frame_bytes(&self, i: usize) -> (usize, usize) {
        let (pos, size, _) = self.frames[i];
        let at = (self.ring_offset + pos % self.ring_size) as usize;
        (at, at + size as usize)
    }

    /// Seqs of the frames that overlap the file bytes `[from, to)`.
    fn seqs_in(&self, from: usize, to: usize) -> BTreeSet<u64> {
        (0..self.frames.len())
            .filter(|&i| {
                let (a, b) = self.frame_bytes(i);
                a < to && from < b
            })
            .map(|i| self.frames[i].2)
            .collect()
    }

    fn oldest(&self) -> u64 {
        *self.messages.keys().next().unwrap()
    }

    fn newest(&self) -> u64 {
        *self.messages.keys().next_back().unwrap()
    }
}

/// One way to damage a copy of the pristine file.
enum Damage {
    /// Cut to this length.
    Truncate(usize),
    /// Grow by this many zero bytes.
    Extend(usize),
    /// Overwrite `[from, to)` with zeros.
    Zero(usize, usize),
    /// Overwrite `[from, to)` with random bytes.
    Garbage(usize, usize, u64),
    /// Flip the bits of one byte.
    Flip(usize),
}

impl Damage {
    fn apply(&self, pristine: &[u8]) -> Vec<u8> {
        let mut b = pristine.to_vec();
        match *self {
            Damage::Truncate(len) => b.truncate(len),
            Damage::Extend(n) => b.resize(b.len() + n, 0),
            Damage::Zero(from, to) => b[from..to].fill(0),
            Damage::Garbage(from, to, seed) => {
                let mut rng = Rng::new(seed);
                for x in &mut b[from..to] {
                    *x = rng.below(256) as u8;
                }
            }
            Damage::Flip(at) => b[at] ^= 0xff,
        }
        b
    }

    fn describe(&self) -> String {
        match *self {
            Damage::Truncate(len) => format!("truncated to {len} bytes"),
            Damage::Extend(n) => format!("extended by {n} bytes"),
            Damage::Zero(a, b) => format!("bytes {a}..{b} zeroed"),
            Damage::Garbage(a, b, seed) => format!("bytes {a}..{b} garbage (seed {seed})"),
            Damage::Flip(at) => format!("byte {at} flipped"),
        }
    }
}

/// A running `pls serve` on a free loopback port, stopped on drop.
struct Serve {
    child: Child,
    port: u16,
}

impl Serve {
    fn start(sb: &Sandbox) -> Serve {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("free port");
        let bind = format!("127.0.0.1:{port}");
        let child = sb
            .cmd(&["serve", "--bind", &bind])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn pls serve");
        let s = Serve { child, port };
        let t0 = Instant::now();
        while s.try_req("GET", "/healthz", "").is_err() {
            assert!(
                t0.elapsed() < Duration::from_secs(10),
                "serve did not start"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        s
    }

    fn try_req(&self, method: &str, path: &str, body: &str) -> std::io::Result<(u16, String)> {
        let mut s = TcpStream::connect(("127.0.0.1", self.port))?;
        s.set_read_timeout(Some(Duration::from_secs(20)))?;
        write!(
            s,
            "{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )?;
        let mut raw = Vec::new();
        s.read_to_end(&mut raw)?;
        let text = String::from_utf8_lossy(&raw).into_owned();
        let status = text
            .split(' ')
            .nth(1)
            .and_then(|c| c.parse().ok())
            .unwrap_or(0);
        let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
        // A chunked stream: keep only the JSON lines.
        let body = if head
            .to_ascii_lowercase()
            .contains("transfer-encoding: chunked")
        {
            body.lines()
                .filter(|l| l.starts_with('{'))
                .collect::<Vec<_>>()
                .join("\n")
        } else {
            body.to_string()
        };
        Ok((status, body))
    }

    fn req(&self, method: &str, path: &str, body: &str) -> (u16, String) {
        self.try_req(method, path, body)
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"))
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Asserts a server answer is the Corrupt error (status 500).
fn serve_corrupt(what: &str, (status, body): (u16, String)) {
    let v: Value = serde_json::from_str(&body)
        .unwrap_or_else(|e| panic!("{what}: body is not JSON ({e}): {body:?}"));
    assert_eq!(
        (status, v["error"]["kind"].as_str()),
        (500, Some("Corrupt")),
        "{what}: {body}"
    );
}

/// Asserts a command failed with Corrupt (exit 7, the JSON envelope naming
/// the pool file, with a hint).
fn corrupt(out: &Out, name: &str, what: &str) {
    let e = out.fails("Corrupt");
    assert!(
        e["path"]
            .as_str()
            .is_some_and(|p| p.ends_with(&format!("{name}.plasmite"))),
        "{what}: {e:?}"
    );
    assert!(
        e["hint"].as_str().is_some_and(|h| !h.is_empty()),
        "{what}: no hint: {e:?}"
    );
}

/// `doctor NAME --json` on a damaged file: exit 7, status corrupt, and at
/// least one issue that says what and (for ring damage) where.
fn doctor_says_corrupt(sb: &Sandbox, name: &str, what: &str, ring: bool) -> Value {
    let out = sb.run(&["doctor", name, "--json"]);
    assert_eq!(out.code(), 7, "{what}: doctor: {out:?}");
    let r = out.json()["reports"][0].clone();
    assert_eq!(r["status"], "corrupt", "{what}: {r}");
    let issues = r["issues"].as_array().unwrap();
    assert!(!issues.is_empty(), "{what}: no issue: {r}");
    for i in issues {
        assert!(
            i["message"].as_str().is_some_and(|m| m.len() > 5),
            "{what}: {i}"
        );
    }
    if ring {
        assert!(
            issues.iter().any(|i| i["offset"].is_u64()),
            "{what}: no issue says where: {r}"
        );
    }
    // The human form says the same.
    let human = sb.run(&["doctor", name]);
    assert_eq!(human.code(), 7, "{what}");
    assert!(
        human.stdout.starts_with(&format!("CORRUPT: {name}")),
        "{what}: {}",
        human.stdout
    );
    r
}

/// Every command on a file that cannot be opened as a pool (bad or cut
/// header, wrong size): Corrupt, exit 7, the file untouched; `pool list`
/// lists it as broken; `doctor` says what is wrong; the server answers
/// Corrupt on every route; `pool delete` removes it.
fn header_damage(sb: &Sandbox, serve: &Serve, p: &Pristine, name: &str, d: &Damage) {
    let what = format!("{name}: {}", d.describe());
    let bytes = d.apply(&p.bytes);
    let file = sb.pool_file(name);
    fs::write(&file, &bytes).unwrap();
    let newest = p.newest().to_string();
    let commands: Vec<Vec<&str>> = vec![
        vec!["poke", name, r#"{"a":1}"#],
        vec!["poke", name, "--create", r#"{"a":1}"#],
        vec!["get", name, "1"],
        vec!["get", name, &newest],
        vec!["peek", name, "--timeout", "50ms"],
        vec!["peek", name, "--tail", "5", "--timeout", "50ms"],
        vec!["peek", name, "--since", "1h", "--timeout", "50ms"],
        vec!["pool", "info", name],
        vec!["pool", "info", name, "--json"],
    ];
    for args in &commands {
        corrupt(&sb.run(args), name, &format!("{what}: {args:?}"));
    }
    let r = doctor_says_corrupt(sb, name, &what, false);
    let said = r["issues"][0]["message"].as_str().unwrap().to_string();

    let list = sb.run(&["pool", "list", "--json"]).ok().json();
    let entry = list["pools"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == name)
        .unwrap_or_else(|| panic!("{what}: not listed: {list}"))
        .clone();
    let err = &entry["error"];
    let kind = err.get("kind").or_else(|| err["error"].get("kind"));
    assert_eq!(kind, Some(&json!("Corrupt")), "{what}: {entry}");

    let base = format!("/v0/pools/{name}");
    serve_corrupt(&what, serve.req("GET", &format!("{base}/info"), ""));
    serve_corrupt(&what, serve.req("GET", &format!("{base}/messages/1"), ""));
    serve_corrupt(
        &what,
        serve.req("POST", &format!("{base}/append"), r#"{"data":{"a":1}}"#),
    );
    serve_corrupt(
        &what,
        serve.req("GET", &format!("{base}/tail?timeout_ms=50"), ""),
    );
    let (status, body) = serve.req("GET", "/v0/pools", "");
    assert_eq!(status, 200, "{what}: {body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    assert!(
        v["errors"].as_array().is_some_and(|e| e
            .iter()
            .any(|e| e["name"] == name && e["error"]["kind"] == "Corrupt")),
        "{what}: list: {body}"
    );

    assert_eq!(
        fs::read(&file).unwrap(),
        bytes,
        "{what}: a command changed the file"
    );
    sb.run(&["pool", "delete", name]).ok();
    assert!(!file.exists(), "{what}: delete left the file");
    println!("  {what}: doctor says {said:?}");
}

/// Reads everything `peek --tail` gives on a damaged copy: the messages
/// printed and the damage notices.
fn peek_all(sb: &Sandbox, name: &str, what: &str) -> (Vec<Value>, Vec<Value>) {
    let out = sb.run(&[
        "peek",
        name,
        "--tail",
        "1000000",
        "--jsonl",
        "--timeout",
        "100ms",
    ]);
    assert!(
        [124, 7].contains(&out.code()),
        "{what}: peek --tail: {out:?}"
    );
    let printed = out.jsonl();
    let mut notices = Vec::new();
    for l in out.stderr_jsonl() {
        if l.get("notice").is_some() {
            notices.push(l);
        } else {
            assert_eq!(out.code(), 7, "{what}: {l}");
            assert_eq!(l["error"]["kind"], "Corrupt", "{what}: {l}");
        }
    }
    (printed, notices)
}

/// Damage inside the ring (the header intact): `doctor` says what and
/// where; readers return every intact message exactly and no damaged one,
/// and tell of what they skipped; `get` of a damaged seq is Corrupt; the
/// server agrees; `poke` still appends (the writer cuts damage at the head
/// back) and what it appended reads back.
fn ring_damage(
    sb: &Sandbox,
    serve: &Serve,
    p: &Pristine,
    name: &str,
    d: &Damage,
    hit: &BTreeSet<u64>,
) {
    let what = format!(
        "{name}: {} (seqs {:?}..)",
        d.describe(),
        hit.iter().take(3).collect::<Vec<_>>()
    );
    let bytes = d.apply(&p.bytes);
    let file = sb.pool_file(name);
    fs::write(&file, &bytes).unwrap();
    let intact: BTreeSet<u64> = p
        .messages
        .keys()
        .copied()
        .filter(|s| !hit.contains(s))
        .collect();

    let r = doctor_says_corrupt(sb, name, &what, true);
    assert!(
        r["last_good_seq"].is_null()
            || r["last_good_seq"]
                .as_u64()
                .is_some_and(|s| intact.contains(&s)),
        "{what}: {r}"
    );

    // Every damaged seq, and a sample of intact ones, by get.
    let sample: Vec<u64> = intact
        .iter()
        .copied()
        .step_by(intact.len() / 10 + 1)
        .collect();
    for &seq in hit.iter().chain(&sample) {
        let out = sb.run(&["get", name, &seq.to_string()]);
        if hit.contains(&seq) {
            corrupt(&out, name, &format!("{what}: get {seq}"));
        } else {
            assert_eq!(
                out.code(),
                0,
                "{what}: get {seq} of an intact message: {out:?}"
            );
            assert_eq!(out.json(), p.messages[&seq], "{what}: get {seq}");
        }
    }

    // Reading from the start: every intact message, nothing else, and a
    // notice for the damage skipped.
    let (printed, notices) = peek_all(sb, name, &what);
    let seqs: Vec<u64> = printed.iter().map(|m| m["seq"].as_u64().unwrap()).collect();
    for m in &printed {
        assert_eq!(
            m,
            &p.messages[&m["seq"].as_u64().unwrap()],
            "{what}: peek printed"
        );
    }
    assert_eq!(
        seqs,
        intact.iter().copied().collect::<Vec<_>>(),
        "{what}: peek --tail"
    );
    assert!(
        !notices.is_empty() && notices.iter().all(|n| n["notice"]["kind"] == "corrupt"),
        "{what}: damage skipped without a notice: {notices:?}"
    );

    // The server, likewise.
    let base = format!("/v0/pools/{name}");
    for &seq in hit.iter().take(3) {
        serve_corrupt(
            &what,
            serve.req("GET", &format!("{base}/messages/{seq}"), ""),
        );
    }
    let (status, body) = serve.req(
        "GET",
        &format!("{base}/tail?since_seq=1&timeout_ms=100"),
        "",
    );
    assert_eq!(status, 200, "{what}: tail: {body}");
    let streamed: Vec<Value> = body
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{what}: {e}: {l}")))
        .collect();
    for m in &streamed {
        let seq = m["seq"].as_u64().unwrap();
        assert!(intact.contains(&seq), "{what}: tail streamed seq {seq}");
        assert_eq!(m, &p.messages[&seq], "{what}: tail");
    }
    assert!(
        !streamed.is_empty() || intact.is_empty(),
        "{what}: tail streamed nothing"
    );
    let (status, body) = serve.req("GET", &format!("{base}/info"), "");
    assert!(
        status == 200 || (status == 500 && body.contains("Corrupt")),
        "{what}: info: {status} {body}"
    );

    // A writer still appends.
    let out = sb.run(&["poke", name, r#"{"after":"damage"}"#]).ok();
    let seq = out.json()["seq"].as_u64().unwrap();
    assert!(seq > p.newest(), "{what}: new message got seq {seq}");
    let got = sb.run(&["get", name, &seq.to_string()]).ok().json();
    assert_eq!(got["data"], json!({"after": "damage"}), "{what}");
    sb.run(&["pool", "delete", name]).ok();
    println!(
        "  {what}: {} of {} messages read back, {} notice(s); doctor: {}",
        seqs.len(),
        p.messages.len(),
        notices.len(),
        r["issues"][0]["message"]
    );
}

/// Any damage at all, no expectation about which: every command ends
/// (exit 0, NotFound, Corrupt, or a peek timeout), never panics, never
/// prints a message that differs from what was written; and when `doctor`
/// says OK, every message still reads back.
fn any_damage(sb: &Sandbox, p: &Pristine, name: &str, d: &Damage) -> bool {
    let what = format!("{name}: {}", d.describe());
    fs::write(sb.pool_file(name), d.apply(&p.bytes)).unwrap();
    let same = |m: &Value, what: &str| {
        let seq = m["seq"].as_u64().unwrap();
        assert_eq!(Some(m), p.messages.get(&seq), "{what}: wrong message");
    };
    let doctor = sb.run(&["doctor", name, "--json"]);
    assert!(
        [0, 7].contains(&doctor.code()),
        "{what}: doctor: {doctor:?}"
    );
    let clean = doctor.code() == 0;
    for seq in [p.oldest(), (p.oldest() + p.newest()) / 2, p.newest()] {
        let out = sb.run(&["get", name, &seq.to_string()]);
        match out.code() {
            0 => same(&out.json(), &what),
            3 | 7 if !clean => {
                out.error();
            }
            _ => panic!("{what}: get {seq} (doctor clean: {clean}): {out:?}"),
        }
    }
    let (printed, _) = peek_all(sb, name, &what);
    for m in &printed {
        same(m, &format!("{what}: peek"));
    }
    if clean {
        assert_eq!(
            printed.len(),
            p.messages.len(),
            "{what}: doctor OK, messages lost"
        );
    }
    let info = sb.run(&["pool", "info", name, "--json"]);
    assert!([0, 7].contains(&info.code()), "{what}: info: {info:?}");
    let poke = sb.run(&["poke", name, r#"{"a":1}"#]);
    assert!([0, 7].contains(&poke.code()), "{what}: poke: {poke:?}");
    assert_eq!(sb.run(&["pool", "list", "--json"]).code(), 0, "{what}");
    sb.run(&["pool", "delete", name]).ok();
    clean
}

#[test]
fn damaged_pool_files_give_clear_corrupt_errors() {
    let sb = Sandbox::new("campaign-damage");
    let p = Pristine::new(&sb);
    let serve = Serve::start(&sb);
    let len = p.bytes.len();
    let (index, ring) = (p.index_offset as usize, p.ring_offset as usize);
    let seed = Rng::seed_from_env();
    println!(
        "damage matrix on a {len}-byte pool (index at {index}, ring at {ring}), {} messages \
         retained; seed {seed}",
        p.messages.len()
    );
    let mut rng = Rng::new(seed);
    let t0 = Instant::now();

    // The header is unreadable or the size is wrong.
    let mut header: Vec<Damage> = [
        0,
        1,
        8,
        100,
        255,
        256,
        (index + ring) / 2,
        ring,
        ring + 1000,
        len / 2,
        len - 4096,
        len - 1,
    ]
    .into_iter()
    .map(Damage::Truncate)
    .collect();
    header.extend([
        Damage::Extend(1),
        Damage::Extend(4096),
        Damage::Zero(0, len),
        Damage::Zero(0, 256),
        Damage::Zero(0, 8),
        Damage::Garbage(0, len, 1),
        Damage::Garbage(0, 256, 2),
        Damage::Garbage(8, offsets::HEADER_CRC_END, 3),
        Damage::Garbage(8, 12, 6),
        Damage::Flip(offsets::HEADER_CRC_END),
        Damage::Flip(40),
    ]);
    if full() {
        header.extend(
            (0..256)
                .filter(|n| ![0, 1, 8, 100, 255].contains(n))
                .map(Damage::Truncate),
        );
        header.extend((0..40).map(|_| Damage::Truncate(rng.range(257, len as u64 - 1) as usize)));
        header.extend((0..40).map(|_| {
            let from = rng.below(offsets::HEADER_CRC_END as u64) as usize;
            let to = rng.range(from as u64 + 1, offsets::HEADER_CRC_END as u64) as usize;
            Damage::Garbage(from, to, rng.next_u64())
        }));
    }
    let n_header = header.len();
    for (i, d) in header.iter().enumerate() {
        // Random bytes can happen to equal the old ones.
        if d.apply(&p.bytes)[..offsets::HEADER_CRC_END.min(d.apply(&p.bytes).len())]
            == p.bytes[..offsets::HEADER_CRC_END]
            && matches!(d, Damage::Garbage(..))
        {
            continue;
        }
        header_damage(&sb, &serve, &p, &format!("h{i}"), d);
    }

    // Damage inside the ring, the header intact.
    let n = p.frames.len();
    let (first_a, _) = p.frame_bytes(0);
    let (last_a, last_b) = p.frame_bytes(n - 1);
    let (mid_a, mid_b) = p.frame_bytes(n / 2);
    let (mid3_a, _) = p.frame_bytes(n / 3);
    let (_, mid3_b) = p.frame_bytes(n / 3 + 4);
    let mut ring_cases = vec![
        Damage::Flip(mid_a + FRAME_HEADER_SIZE + 3),
        Damage::Flip(mid_a + 12),
        Damage::Zero(mid_a, mid_b),
        Damage::Zero(first_a, p.frame_bytes(0).1),
        Damage::Zero(last_a, last_b),
        Damage::Garbage(mid3_a + 5, mid3_b - 5, 4),
        Damage::Zero(ring, len),
        Damage::Garbage(ring, len, 5),
    ];
    if full() {
        for _ in 0..40 {
            let i = rng.below(n as u64) as usize;
            let (a, b) = p.frame_bytes(i);
            ring_cases.push(Damage::Flip(rng.range(a as u64, b as u64 - 1) as usize));
        }
    }
    let mut n_ring = 0;
    for (i, d) in ring_cases.iter().enumerate() {
        let (from, to) = match *d {
            Damage::Zero(a, b) | Damage::Garbage(a, b, _) => (a, b),
            Damage::Flip(at) => (at, at + 1),
            _ => unreachable!(),
        };
        let hit = p.seqs_in(from, to);
        // A flip in a frame's alignment bytes damages nothing.
        if hit.is_empty() || d.apply(&p.bytes) == p.bytes {
            continue;
        }
        // Alignment bytes are not covered by the checksum.
        let covered = (0..n).any(|i| {
            let (a, _) = p.frame_bytes(i);
            let len = word32(&p.bytes, a + 24) as usize;
            from < a + FRAME_HEADER_SIZE + len && a < to
        });
        if !covered {
            continue;
        }
        ring_damage(&sb, &serve, &p, &format!("r{i}"), d, &hit);
        n_ring += 1;
    }

    // Anything, anywhere (full campaign only).
    let mut n_any = (0, 0);
    if full() {
        for i in 0..150 {
            let from = rng.below(len as u64) as usize;
            let to = (from + rng.range(1, 64) as usize).min(len);
            let d = Damage::Garbage(from, to, rng.next_u64());
            let clean = any_damage(&sb, &p, &format!("a{i}"), &d);
            n_any.0 += 1;
            n_any.1 += u64::from(clean);
        }
    }
    println!(
        "damage matrix: {n_header} header/size cases x 9 commands + doctor + list + 5 server \
         routes + delete, {n_ring} ring cases, {} random spans ({} of them left doctor clean, \
         all messages intact) in {:?}",
        n_any.0,
        n_any.1,
        t0.elapsed()
    );
}

/// Unmounts (and detaches a loop device) on drop.
struct Mounted {
    at: PathBuf,
    loop_dev: Option<String>,
}

impl Drop for Mounted {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.at).status();
        if let Some(dev) = &self.loop_dev {
            let _ = Command::new("losetup").args(["-d", dev]).status();
        }
    }
}

fn run_quiet(cmd: &mut Command) -> bool {
    cmd.stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// A small tmpfs at `at`.
fn tmpfs(at: &Path, size: &str) -> Option<Mounted> {
    fs::create_dir_all(at).unwrap();
    run_quiet(
        Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(at),
    )
    .then(|| Mounted {
        at: at.to_path_buf(),
        loop_dev: None,
    })
}

/// A small ext4 file system in an image file, loop-mounted at `at`.
fn ext4(image: &Path, at: &Path, mib: u64) -> Option<Mounted> {
    fs::create_dir_all(at).unwrap();
    let f = fs::File::create(image).ok()?;
    f.set_len(mib << 20).ok()?;
    drop(f);
    if !run_quiet(
        Command::new("mkfs.ext4")
            .args(["-q", "-F", "-m", "0"])
            .arg(image),
    ) {
        return None;
    }
    let out = Command::new("losetup")
        .args(["-f", "--show"])
        .arg(image)
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let dev = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let m = Mounted {
        at: at.to_path_buf(),
        loop_dev: Some(dev.clone()),
    };
    run_quiet(Command::new("mount").arg(&dev).arg(at)).then_some(m)
}

/// Fills the file system holding `dir` until a write fails; returns the
/// error.
fn fill(dir: &Path) -> std::io::Error {
    let mut f = fs::File::create(dir.join("filler")).unwrap();
    let chunk = vec![0x5au8; 64 << 10];
    loop {
        if let Err(e) = f.write_all(&chunk).and_then(|()| f.sync_all()) {
            // Small writes may still fit in what is left.
            loop {
                if let Err(e) = f.write_all(&[1u8; 512]).and_then(|()| f.sync_all()) {
                    let _ = e;
                    break;
                }
            }
            return e;
        }
    }
}

/// One full-disk scenario on a mounted file system at `dir`.
fn full_disk_on(sb: &Sandbox, dir: &Path, fs_name: &str) -> String {
    let d = dir.to_str().unwrap();
    // A pool that does not fit: Io (exit 8), nothing left behind.
    let e = sb
        .run(&["--dir", d, "pool", "create", "big", "--size", "64M"])
        .fails("Io");
    assert!(
        e["message"].as_str().unwrap().contains("No space"),
        "{fs_name}: {e:?}"
    );
    assert!(
        e["hint"].as_str().is_some_and(|h| !h.is_empty()),
        "{fs_name}"
    );
    let left: Vec<_> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .filter(|n| n != "lost+found")
        .collect();
    assert!(left.is_empty(), "{fs_name}: a failed create left {left:?}");

    // Pools that fit, then a full disk.
    sb.run(&["--dir", d, "pool", "create", "a", "--size", "256K"])
        .ok();
    sb.run(&["--dir", d, "pool", "create", "b", "--size", "512K"])
        .ok();
    let err = fill(dir);
    assert_eq!(
        err.raw_os_error(),
        Some(28),
        "{fs_name}: filling gave {err}"
    );
    // Creating anything now fails cleanly, with every way in.
    for args in [
        vec!["--dir", d, "pool", "create", "c", "--size", "64K"],
        vec!["--dir", d, "poke", "c", "--create", r#"{"a":1}"#],
    ] {
        let e = sb.run(&args).fails("Io");
        assert!(
            e["message"].as_str().unwrap().contains("No space"),
            "{fs_name}: {args:?}: {e:?}"
        );
        assert!(!dir.join("c.plasmite").exists(), "{fs_name}: {args:?}");
    }
    let stray: Vec<_> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    assert!(stray.is_empty(), "{fs_name}: {stray:?}");

    // The pools that exist own their space: several writer processes wrap
    // their rings many times over, a follower keeps reading, and nothing
    // faults (a SIGBUS would show as death by signal).
    let per_writer = 20_000;
    let t0 = Instant::now();
    let mut procs = Vec::new();
    for pool in ["a", "b"] {
        let follower = sb
            .cmd(&[
                "--dir",
                d,
                "peek",
                pool,
                "--jsonl",
                "--timeout",
                "2s",
                "--quiet-drops",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        procs.push(("peek", follower));
        for w in 0..2 {
            let lines = cli::id_lines(w * per_writer, per_writer);
            let mut c = sb
                .cmd(&["--dir", d, "poke", pool])
                .stdin(Stdio::piped())
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            let mut stdin = c.stdin.take().unwrap();
            std::thread::spawn(move || {
                let _ = stdin.write_all(lines.as_bytes());
            });
            procs.push(("poke", c));
        }
    }
    for (what, c) in procs {
        let out = c.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.code().is_some(),
            "{fs_name}: {what} killed by a signal ({:?}): {stderr}",
            std::os::unix::process::ExitStatusExt::signal(&out.status)
        );
        assert!(!stderr.contains("panicked"), "{fs_name}: {what}: {stderr}");
        let want = if what == "peek" { 124 } else { 0 };
        assert_eq!(out.status.code(), Some(want), "{fs_name}: {what}: {stderr}");
    }
    let elapsed = t0.elapsed();
    let mut wraps = Vec::new();
    for pool in ["a", "b"] {
        let i = sb
            .run(&["--dir", d, "pool", "info", pool, "--json"])
            .ok()
            .json();
        assert_eq!(
            i["bounds"]["newest"],
            2 * per_writer,
            "{fs_name}: {pool}: {i}"
        );
        let used = i["metrics"]["utilization"]["used_bytes"].as_u64().unwrap();
        let count = i["metrics"]["message_count"].as_u64().unwrap().max(1);
        wraps.push(2 * per_writer * used / count / i["ring_size"].as_u64().unwrap());
        sb.run(&["--dir", d, "doctor", pool]).ok();
    }
    // Still full, and deleting a pool gives its space back.
    sb.run(&["--dir", d, "pool", "delete", "b"]).ok();
    sb.run(&["--dir", d, "pool", "create", "c", "--size", "256K"])
        .ok();
    format!(
        "{fs_name}: create of 64M refused with Io and nothing left; disk filled ({err}); \
         create refused again; 4 writer processes x {per_writer} messages wrapped the \
         rings about {wraps:?} times in {elapsed:?} with followers, no signal, doctor clean"
    )
}

/// A full disk: creating a pool that does not fit fails with Io (exit 8)
/// and leaves no file; pools that exist keep working at full speed with
/// the disk full, because their blocks were reserved at creation; no
/// process ever dies of SIGBUS. On a tmpfs, and on a loop-mounted ext4.
#[test]
fn full_disk_never_faults() {
    let dir = TempDir::new("campaign-disk");
    let sb = Sandbox::new("campaign-disk");
    let mut ran = Vec::new();
    if let Some(_m) = tmpfs(&dir.join("tmpfs"), "2m") {
        ran.push(full_disk_on(&sb, &dir.join("tmpfs"), "tmpfs (2 MiB)"));
    }
    if let Some(_m) = ext4(&dir.join("ext4.img"), &dir.join("ext4"), 8) {
        ran.push(full_disk_on(
            &sb,
            &dir.join("ext4"),
            "ext4 on a loop device (8 MiB)",
        ));
    }
    if ran.is_empty() {
        eprintln!("SKIPPED full_disk_never_faults: cannot mount a tmpfs or a loop device here (needs root)");
    }
    for r in ran {
        println!("full disk: {r}");
    }
}

/// Regression (found by the campaign): a `pls pool create` killed while it
/// allocated and formatted the file left a hidden `.NAME.PID.tmp` behind,
/// as big as the pool, for good. Now the file is anonymous until it is
/// complete: a killed create leaves either the whole pool or nothing. With
/// `strace` installed, the kill lands exactly at the file's `fsync`; and
/// either way, kills at random moments.
#[test]
fn killed_create_leaves_nothing() {
    let sb = Sandbox::new("campaign-killed-create");
    let dir = sb.path("pools");
    fs::create_dir_all(&dir).unwrap();
    let leftovers = |dir: &Path| -> Vec<String> {
        fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| !n.ends_with(".plasmite"))
            .collect()
    };
    let mut exact = "strace not installed";
    let strace = Command::new("strace")
        .args(["-f", "-o", "/dev/null", "-e", "inject=fsync:signal=SIGKILL"])
        .arg(cli::pls())
        .args(["pool", "create", "traced", "--size", "64M"])
        .env("PLASMITE_DIR", &dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    if let Ok(status) = strace {
        if !status.success() {
            assert!(
                !dir.join("traced.plasmite").exists(),
                "killed at fsync, yet a pool"
            );
            assert_eq!(leftovers(&dir), Vec::<String>::new(), "killed at fsync");
            exact = "killed exactly at its fsync: nothing left";
        }
    }
    let seed = Rng::seed_from_env();
    let mut rng = Rng::new(seed);
    let (mut killed, mut done) = (0, 0);
    for i in 0..30 {
        let name = format!("p{i}");
        let mut c = sb
            .cmd(&["pool", "create", &name, "--size", "64M"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_micros(rng.range(0, 20_000)));
        let _ = c.kill();
        let status = c.wait().unwrap();
        let exists = dir.join(format!("{name}.plasmite")).exists();
        if status.success() {
            done += 1;
            assert!(exists);
        } else if !exists {
            killed += 1;
        }
        assert_eq!(
            leftovers(&dir),
            Vec::<String>::new(),
            "kill {i} (seed {seed})"
        );
        if exists {
            // A pool that is there is whole.
            sb.run(&["doctor", &name]).ok();
        }
    }
    println!(
        "killed create: with strace, {exact}; 30 kills at random moments (seed {seed}): \
         {killed} before the pool existed, {done} after it was done; no file left behind"
    );
}
