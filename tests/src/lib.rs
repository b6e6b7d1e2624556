//! Shared helpers for the black-box and multi-process tests.
//!
//! Every message the tests and the `plasmite-harness` binary write is a
//! *body*: a JSON object carrying its writer id `w`, that writer's counter
//! `n`, a send time `t`, a deterministic filler `p`, and `h`, the FNV-1a
//! checksum (16 hex digits) of all the text before it:
//!
//! ```text
//! {"w":3,"n":41,"t":1770000000000000000,"p":"defghij","h":"89ab..."}
//! ```
//!
//! A reader that gets a torn, partial or foreign message finds that the
//! checksum, the filler or the JSON does not check out ([`decode`]).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// FNV-1a, 64 bits: a small checksum with no dependencies.
pub fn fnv64(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// Wall-clock time (`CLOCK_REALTIME`) in ns since the Unix epoch.
pub fn realtime_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

/// The fields of a verified body.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Body {
    /// Writer id.
    pub w: u64,
    /// The writer's counter: 0 for its first message, then +1 per message.
    pub n: u64,
    /// The writer's clock (ns since the epoch) just before it appended.
    pub t: u64,
    /// Length of the filler.
    pub pad_len: usize,
}

/// Length of the checksum suffix `,"h":"<16 hex>"}`.
const SUFFIX_LEN: usize = 6 + 16 + 2;

/// The filler of writer `w`'s message `n`: `len` letters, determined by
/// `(w, n)` so that a reader can check them too.
pub fn pad(w: u64, n: u64, len: usize) -> String {
    let start = (w.wrapping_mul(7).wrapping_add(n) % 26) as u8;
    (0..len)
        .map(|i| (b'a' + (start + (i % 26) as u8) % 26) as char)
        .collect()
}

/// A filler length between 0 and `max` that varies with `(w, n)`.
pub fn pad_len_for(w: u64, n: u64, max: usize) -> usize {
    if max == 0 {
        return 0;
    }
    (fnv64(&[w.to_le_bytes(), n.to_le_bytes()].concat()) % (max as u64 + 1)) as usize
}

/// Encodes a body with a filler of `pad_len` letters.
pub fn encode(w: u64, n: u64, t: u64, pad_len: usize) -> String {
    let mut s = format!(r#"{{"w":{w},"n":{n},"t":{t},"p":"{}""#, pad(w, n, pad_len));
    let h = fnv64(s.as_bytes());
    s.push_str(&format!(r#","h":"{h:016x}"}}"#));
    s
}

/// Encodes a body of exactly `len` bytes, if that is long enough to hold
/// the fields.
pub fn encode_exact(w: u64, n: u64, t: u64, len: usize) -> Option<String> {
    let base = encode(w, n, t, 0).len();
    let body = encode(w, n, t, len.checked_sub(base)?);
    debug_assert_eq!(body.len(), len);
    Some(body)
}

/// Checks a body: its checksum, its JSON, and its filler. Returns the
/// fields, or what is wrong.
pub fn decode(data: &str) -> Result<Body, String> {
    let bad = |what: &str| Err(format!("{what}: {data:?}"));
    if data.len() < SUFFIX_LEN || !data.is_char_boundary(data.len() - SUFFIX_LEN) {
        return bad("too short");
    }
    let (text, suffix) = data.split_at(data.len() - SUFFIX_LEN);
    let Some(hex) = suffix
        .strip_prefix(r#","h":""#)
        .and_then(|s| s.strip_suffix(r#""}"#))
    else {
        return bad("no checksum suffix");
    };
    if u64::from_str_radix(hex, 16).ok() != Some(fnv64(text.as_bytes())) {
        return bad("checksum mismatch");
    }
    let v: serde_json::Value = match serde_json::from_str(&format!("{text}}}")) {
        Ok(v) => v,
        Err(_) => return bad("invalid JSON"),
    };
    let field = |k: &str| v.get(k).and_then(|x| x.as_u64());
    let (Some(w), Some(n), Some(t), Some(p)) = (
        field("w"),
        field("n"),
        field("t"),
        v.get("p").and_then(|x| x.as_str()),
    ) else {
        return bad("missing fields");
    };
    if p != pad(w, n, p.len()) {
        return bad("wrong filler");
    }
    Ok(Body {
        w,
        n,
        t,
        pad_len: p.len(),
    })
}

/// A small deterministic random number generator (xorshift64*).
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    /// A generator seeded with `seed` (any value, 0 included).
    pub fn new(seed: u64) -> Self {
        Rng(seed ^ 0x9e37_79b9_7f4a_7c15 | 1)
    }

    /// A seed that differs between runs, printed by tests so that a failure
    /// can be replayed with `PLASMITE_TEST_SEED`.
    pub fn seed_from_env() -> u64 {
        std::env::var("PLASMITE_TEST_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| realtime_ns() ^ u64::from(std::process::id()))
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A number in `0..n` (`n > 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    /// A number in `lo..=hi`.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi - lo + 1)
    }
}

/// A fresh directory, removed (with its contents) on drop.
#[derive(Debug)]
pub struct TempDir(PathBuf);

impl TempDir {
    /// Creates a directory whose name contains `name`, unique to this
    /// process and call.
    pub fn new(name: &str) -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let path = std::env::temp_dir().join(format!(
            "plasmite-tests-{name}-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).expect("create temp dir");
        TempDir(path)
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.0
    }

    /// A path inside the directory.
    pub fn join(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_round_trip_and_damage_is_caught() {
        let b = encode(3, 41, 12345, 17);
        assert_eq!(
            decode(&b),
            Ok(Body {
                w: 3,
                n: 41,
                t: 12345,
                pad_len: 17
            })
        );
        for i in 0..b.len() {
            let mut bytes = b.clone().into_bytes();
            bytes[i] ^= 0x04;
            if let Ok(s) = String::from_utf8(bytes) {
                assert!(decode(&s).is_err(), "flip at {i} not caught: {s}");
            }
        }
        assert!(decode(&b[..b.len() - 1]).is_err());
        assert_eq!(encode_exact(1, 2, 3, 200).unwrap().len(), 200);
        assert!(encode_exact(1, 2, 3, 10).is_none());
    }
}
