//! Messages as readers see them, and the JSON envelope they are shown in.

use crate::time::{rfc3339_into, RFC3339_MAX};

/// A message copied out of a pool.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    /// Sequence number: 1 for the pool's first message, never reused.
    pub seq: u64,
    /// Append time, ns since the Unix epoch (UTC).
    pub time_ns: u64,
    /// Tags, in the order given when appended.
    pub tags: Vec<String>,
    /// The data object as compact JSON text, key order as written.
    pub data: String,
}

/// A message borrowed from a reader's buffer, valid until its next read.
/// Rendering it costs no JSON parsing: the stored tag block and data text
/// are spliced into the envelope as they are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RawMessage<'a> {
    /// Sequence number.
    pub seq: u64,
    /// Append time, ns since the Unix epoch.
    pub time_ns: u64,
    /// The tag block: a compact JSON array of strings, empty for no tags.
    pub tags_json: &'a [u8],
    /// The data object as compact JSON text.
    pub data: &'a [u8],
}

impl RawMessage<'_> {
    /// Whether the message carries `tag`.
    pub fn has_tag(&self, tag: &str) -> bool {
        plasmite_core::tags::contains(self.tags_json, tag)
    }

    /// The tags, decoded.
    pub fn tags(&self) -> Vec<String> {
        if self.tags_json.is_empty() {
            return Vec::new();
        }
        serde_json::from_slice(self.tags_json).unwrap_or_default()
    }

    /// The data as text. Stored data passed JSON validation, which implies
    /// UTF-8; damaged bytes never get here (checksums), so this is lossless.
    pub fn data_str(&self) -> &str {
        std::str::from_utf8(self.data).unwrap_or("{}")
    }

    /// An owned copy.
    pub fn to_message(&self) -> Message {
        Message {
            seq: self.seq,
            time_ns: self.time_ns,
            tags: self.tags(),
            data: self.data_str().to_owned(),
        }
    }

    /// Appends the envelope `{"data":…,"meta":{"tags":[…]},"seq":…,"time":…}`
    /// as one line of compact JSON (no newline). Envelope keys are in
    /// alphabetical order, as every plasmite tool has always printed them;
    /// keys inside `data` keep the order they were written in.
    pub fn write_json(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"{\"data\":");
        out.extend_from_slice(self.data);
        out.push(b',');
        self.write_tail(out);
    }

    /// Appends the receipt: the envelope without `data`.
    pub fn write_receipt(&self, out: &mut Vec<u8>) {
        out.push(b'{');
        self.write_tail(out);
    }

    /// `"meta":{"tags":[…]},"seq":…,"time":"…"}`
    fn write_tail(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"\"meta\":{\"tags\":");
        if self.tags_json.is_empty() {
            out.extend_from_slice(b"[]");
        } else {
            out.extend_from_slice(self.tags_json);
        }
        out.extend_from_slice(b"},\"seq\":");
        out.extend_from_slice(itoa(self.seq, &mut [0u8; 20]));
        out.extend_from_slice(b",\"time\":\"");
        let mut time = [0u8; RFC3339_MAX];
        let n = rfc3339_into(self.time_ns, &mut time);
        out.extend_from_slice(&time[..n]);
        out.extend_from_slice(b"\"}");
    }
}

impl Message {
    /// Borrows this message as a [`RawMessage`] over `tags_buf`, which
    /// receives the encoded tag block.
    fn with_raw<T>(&self, f: impl FnOnce(RawMessage<'_>) -> T) -> T {
        let mut tags = vec![0u8; plasmite_core::tags::encoded_len(&self.tags)];
        plasmite_core::tags::encode(&self.tags, &mut tags);
        f(RawMessage {
            seq: self.seq,
            time_ns: self.time_ns,
            tags_json: &tags,
            data: self.data.as_bytes(),
        })
    }

    /// The data parsed as a JSON value.
    pub fn data_value(&self) -> serde_json::Value {
        serde_json::from_str(&self.data).unwrap_or_default()
    }

    /// The append time as RFC 3339 UTC.
    pub fn time_rfc3339(&self) -> String {
        crate::time::rfc3339(self.time_ns)
    }

    /// The envelope as compact JSON text.
    pub fn to_json(&self) -> String {
        let mut out = Vec::with_capacity(self.data.len() + 96);
        self.with_raw(|r| r.write_json(&mut out));
        String::from_utf8(out).unwrap_or_default()
    }

    /// The receipt (envelope without data) as compact JSON text.
    pub fn receipt_json(&self) -> String {
        let mut out = Vec::with_capacity(96);
        self.with_raw(|r| r.write_receipt(&mut out));
        String::from_utf8(out).unwrap_or_default()
    }
}

/// Formats `n` in decimal into `buf`, returning the digits.
fn itoa(mut n: u64, buf: &mut [u8; 20]) -> &[u8] {
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            return &buf[i..];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelope_is_valid_json_in_order() {
        let m = Message {
            seq: 42,
            time_ns: 1_770_404_281_500_000_000,
            tags: vec!["a\"b".into(), "ping".into()],
            data: r#"{"z":1,"a":2}"#.into(),
        };
        let json = m.to_json();
        assert_eq!(
            json,
            r#"{"data":{"z":1,"a":2},"meta":{"tags":["a\"b","ping"]},"seq":42,"time":"2026-02-06T18:58:01.5Z"}"#
        );
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(v["meta"]["tags"][0], "a\"b");
        assert_eq!(
            m.receipt_json(),
            r#"{"meta":{"tags":["a\"b","ping"]},"seq":42,"time":"2026-02-06T18:58:01.5Z"}"#
        );
    }
}
