//! Message data as compact JSON text: validation and minification.
//!
//! Pools store the data object's JSON text as the user wrote it, minus
//! insignificant whitespace: key order and number spelling survive exactly.

use std::fmt;

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

use crate::error::{Error, ErrorKind, Result};

/// Validates that `input` is one JSON object and appends its compact form to
/// `out`. Nothing is appended on error.
pub fn compact_object(input: &[u8], out: &mut Vec<u8>) -> Result<()> {
    let text = trim(input);
    if text.first() != Some(&b'{') {
        let what = match text.first() {
            None => "empty input",
            Some(b'[') => "an array",
            Some(b'"') => "a string",
            Some(b't' | b'f') => "a boolean",
            Some(b'n') => "null",
            Some(_) => "not an object",
        };
        return Err(Error::new(
            ErrorKind::Usage,
            format!("data must be a JSON object, got {what}"),
        )
        .with_hint("Wrap the value in an object, e.g. {\"value\": ...}."));
    }
    // Skipping a value (IgnoredAny), serde_json checks neither that strings
    // are UTF-8, nor what a \u escape decodes to, nor that a number fits an
    // f64; stored data must pass all three, or readers that decode it (jq
    // filters, the HTTP API) fail on a message poke accepted. `Checked`
    // makes it decode everything, as building a Value would, keeping nothing.
    let checked = match std::str::from_utf8(text) {
        Err(e) => Err(format!(
            "invalid JSON: not UTF-8 (at byte {})",
            e.valid_up_to()
        )),
        Ok(_) => serde_json::from_slice::<Checked>(text)
            .map(drop)
            .map_err(|e| format!("invalid JSON: {e}")),
    };
    if let Err(message) = checked {
        return Err(Error::new(ErrorKind::Usage, message).with_hint(
            "Check the quoting: shells need single quotes around JSON, e.g. '{\"a\":1}'.",
        ));
    }
    minify(text, out);
    Ok(())
}

/// Any JSON value, decoded (every string, escape and number) and dropped.
struct Checked;

impl<'de> Deserialize<'de> for Checked {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        d.deserialize_any(Checked)
    }
}

impl<'de> Visitor<'de> for Checked {
    type Value = Checked;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, _: bool) -> std::result::Result<Checked, E> {
        Ok(Checked)
    }
    fn visit_i64<E>(self, _: i64) -> std::result::Result<Checked, E> {
        Ok(Checked)
    }
    fn visit_u64<E>(self, _: u64) -> std::result::Result<Checked, E> {
        Ok(Checked)
    }
    fn visit_f64<E>(self, _: f64) -> std::result::Result<Checked, E> {
        Ok(Checked)
    }
    fn visit_str<E>(self, _: &str) -> std::result::Result<Checked, E> {
        Ok(Checked)
    }
    fn visit_unit<E>(self) -> std::result::Result<Checked, E> {
        Ok(Checked)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> std::result::Result<Checked, A::Error> {
        while a.next_element::<Checked>()?.is_some() {}
        Ok(Checked)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> std::result::Result<Checked, A::Error> {
        while a.next_entry::<Checked, Checked>()?.is_some() {}
        Ok(Checked)
    }
}

/// A data object that passed validation, as compact JSON text.
///
/// Validating outside the writer lock (say, on an ingest thread) and
/// appending with [`crate::Batch::append_object`] keeps the lock short.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CompactObject(Vec<u8>);

impl CompactObject {
    /// Validates JSON object text (see [`compact_object`]).
    pub fn parse(input: &[u8]) -> Result<Self> {
        let mut out = Vec::with_capacity(input.len());
        compact_object(input, &mut out)?;
        Ok(CompactObject(out))
    }

    /// Validates into an existing buffer, reusing its allocation.
    pub fn parse_into(input: &[u8], mut buf: Vec<u8>) -> Result<Self> {
        buf.clear();
        compact_object(input, &mut buf)?;
        Ok(CompactObject(buf))
    }

    /// The compact JSON text.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// Gives the buffer back for reuse.
    pub fn into_inner(self) -> Vec<u8> {
        self.0
    }
}

/// Appends `value` (which must be an object) as compact JSON to `out`.
pub fn value_object(value: &serde_json::Value, out: &mut Vec<u8>) -> Result<()> {
    if !value.is_object() {
        return Err(Error::new(ErrorKind::Usage, "data must be a JSON object"));
    }
    serde_json::to_writer(out, value).map_err(|e| Error::new(ErrorKind::Internal, e.to_string()))
}

/// Strips a byte order mark and JSON's whitespace (space, tab, LF, CR:
/// not form feed, which `is_ascii_whitespace` would also take).
fn trim(b: &[u8]) -> &[u8] {
    let b = b.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(b);
    let ws = |c: &u8| matches!(c, b' ' | b'\t' | b'\n' | b'\r');
    let start = b.iter().position(|c| !ws(c)).unwrap_or(b.len());
    let end = b.iter().rposition(|c| !ws(c)).map_or(start, |e| e + 1);
    &b[start..end]
}

/// Drops whitespace outside strings. `text` must be valid JSON.
fn minify(text: &[u8], out: &mut Vec<u8>) {
    if !text
        .iter()
        .any(|c| matches!(c, b' ' | b'\n' | b'\r' | b'\t'))
    {
        out.extend_from_slice(text);
        return;
    }
    out.reserve(text.len());
    let (mut in_str, mut esc) = (false, false);
    for &c in text {
        if in_str {
            out.push(c);
            if esc {
                esc = false;
            } else if c == b'\\' {
                esc = true;
            } else if c == b'"' {
                in_str = false;
            }
        } else if !matches!(c, b' ' | b'\n' | b'\r' | b'\t') {
            in_str = c == b'"';
            out.push(c);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(s: &str) -> Result<String> {
        let mut out = Vec::new();
        compact_object(s.as_bytes(), &mut out).map(|()| String::from_utf8(out).unwrap())
    }

    #[test]
    fn keeps_order_and_numbers() {
        assert_eq!(
            c("{ \"z\": 1.0,\n \"a\" : [1, 2], \"s\": \"a b\\\" c\" }").unwrap(),
            r#"{"z":1.0,"a":[1,2],"s":"a b\" c"}"#
        );
        assert_eq!(
            c("\u{feff}{\"big\":18446744073709551616}").unwrap(),
            r#"{"big":18446744073709551616}"#
        );
    }

    #[test]
    fn rejects_non_objects_and_bad_json() {
        for bad in ["[1]", "\"s\"", "1", "null", "", "{", "{\"a\":}", "{} {}"] {
            let e = c(bad).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Usage, "{bad}");
        }
    }

    /// Found by the `ingest` fuzz target: serde_json skips strings without
    /// checking them, so non-UTF-8 bytes and lone surrogate escapes were
    /// stored as data that no JSON decoder would take back, and so were
    /// numbers beyond an f64; and a form feed around the object, not JSON
    /// whitespace, was trimmed as if it were.
    #[test]
    fn rejects_text_that_does_not_decode() {
        let mut out = Vec::new();
        let e = compact_object(b"{\"a\xf9\xf9\":1}", &mut out).unwrap_err();
        assert!(e.message().contains("UTF-8"), "{}", e.message());
        assert!(out.is_empty());
        for bad in [
            r#"{"n":-1e999}"#,
            r#"{"n":[1E400]}"#,
            "{\"a\":0}\x0c",
            "\x0c{}",
            r#"{"a":"\ud800"}"#,
            r#"{"a":"\udc00x"}"#,
            r#"{"\ud83dx":1}"#,
        ] {
            assert_eq!(c(bad).unwrap_err().kind(), ErrorKind::Usage, "{bad}");
        }
        assert_eq!(
            c(r#"{ "e": "\ud83d\ude00 \u00e9\\u" }"#).unwrap(),
            r#"{"e":"\ud83d\ude00 \u00e9\\u"}"#
        );
    }
}
