//! The tag block: a message's tags as a compact JSON array of strings.
//!
//! Storing tags as JSON text lets readers splice them into output unchanged,
//! and because the encoding is canonical (the same escapes serde_json uses),
//! a tag can be matched by comparing escaped bytes, without decoding.
//! No tags are stored as an empty block, not `[]`, to save two bytes.

/// Bytes `tags` take once encoded (0 for no tags).
pub fn encoded_len<S: AsRef<str>>(tags: &[S]) -> usize {
    if tags.is_empty() {
        return 0;
    }
    let inner: usize = tags.iter().map(|t| escaped_len(t.as_ref()) + 2).sum();
    inner + tags.len() - 1 + 2
}

/// Encodes `tags` into the front of `out`, returning the bytes written.
///
/// `out` must hold at least [`encoded_len`] bytes; returns `None` otherwise.
pub fn encode<S: AsRef<str>>(tags: &[S], out: &mut [u8]) -> Option<usize> {
    let need = encoded_len(tags);
    if out.len() < need {
        return None;
    }
    if need == 0 {
        return Some(0);
    }
    let mut w = 0;
    let mut put = |b: &[u8]| {
        out[w..w + b.len()].copy_from_slice(b);
        w += b.len();
    };
    put(b"[");
    for (i, tag) in tags.iter().enumerate() {
        if i > 0 {
            put(b",");
        }
        put(b"\"");
        for c in tag.as_ref().bytes() {
            let mut esc = [0u8; 6];
            put(escape(c, &mut esc));
        }
        put(b"\"");
    }
    put(b"]");
    Some(w)
}

/// Whether the tag block `block` contains `tag`.
///
/// A malformed block contains nothing.
pub fn contains(block: &[u8], tag: &str) -> bool {
    raw_elements(block).any(|raw| escaped_eq(raw, tag))
}

/// Iterates the escaped contents (between the quotes) of each string in a
/// tag block. Stops at the first malformed byte.
pub fn raw_elements(block: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut rest = match block {
        [b'[', inner @ .., b']'] => inner,
        _ => &[][..],
    };
    core::iter::from_fn(move || {
        let body = rest.strip_prefix(b"\"")?;
        let mut i = 0;
        while i < body.len() {
            match body[i] {
                b'\\' => i += 2,
                b'"' => {
                    let raw = &body[..i];
                    rest = &body[i + 1..];
                    rest = rest.strip_prefix(b",").unwrap_or(rest);
                    return Some(raw);
                }
                _ => i += 1,
            }
        }
        rest = &[];
        None
    })
}

fn escaped_eq(raw: &[u8], tag: &str) -> bool {
    let mut rest = raw;
    for c in tag.bytes() {
        let mut esc = [0u8; 6];
        let e = escape(c, &mut esc);
        match rest.strip_prefix(e) {
            Some(r) => rest = r,
            None => return false,
        }
    }
    rest.is_empty()
}

fn escaped_len(s: &str) -> usize {
    s.bytes()
        .map(|c| {
            let mut esc = [0u8; 6];
            escape(c, &mut esc).len()
        })
        .sum()
}

/// The JSON escape of one UTF-8 byte, as serde_json writes it.
fn escape(c: u8, buf: &mut [u8; 6]) -> &[u8] {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let two = |b: u8, buf: &mut [u8; 6]| {
        buf[0] = b'\\';
        buf[1] = b;
        2
    };
    let n = match c {
        b'"' => two(b'"', buf),
        b'\\' => two(b'\\', buf),
        b'\n' => two(b'n', buf),
        b'\r' => two(b'r', buf),
        b'\t' => two(b't', buf),
        0x08 => two(b'b', buf),
        0x0c => two(b'f', buf),
        0..=0x1f => {
            *buf = [
                b'\\',
                b'u',
                b'0',
                b'0',
                HEX[(c >> 4) as usize],
                HEX[(c & 15) as usize],
            ];
            6
        }
        _ => {
            buf[0] = c;
            1
        }
    };
    &buf[..n]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(tags: &[&str]) -> ([u8; 256], usize) {
        let mut buf = [0u8; 256];
        let n = encode(tags, &mut buf).unwrap();
        assert_eq!(n, encoded_len(tags));
        (buf, n)
    }

    #[test]
    fn encodes_like_json() {
        let (buf, n) = enc(&["a", "b c", "q\"uote", "back\\slash", "nl\n", "\u{1}", "é"]);
        assert_eq!(
            &buf[..n],
            "[\"a\",\"b c\",\"q\\\"uote\",\"back\\\\slash\",\"nl\\n\",\"\\u0001\",\"é\"]"
                .as_bytes()
        );
        assert_eq!(enc(&[]).1, 0);
    }

    #[test]
    fn matches_exact_tags_only() {
        let (buf, n) = enc(&["a\",\"b", "ping", "x\\"]);
        let block = &buf[..n];
        assert!(contains(block, "ping"));
        assert!(contains(block, "a\",\"b"));
        assert!(contains(block, "x\\"));
        assert!(!contains(block, "a"));
        assert!(!contains(block, "b"));
        assert!(!contains(block, "pin"));
        assert!(!contains(b"", "ping"));
        assert!(!contains(b"[\"unterminated", "unterminated"));
    }

    #[test]
    fn too_small_buffer_is_refused() {
        let mut buf = [0u8; 4];
        assert_eq!(encode(&["long tag"], &mut buf), None);
    }
}
