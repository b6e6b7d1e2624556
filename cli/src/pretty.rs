//! Pretty-printing of JSON text for human eyes, optionally with ANSI colors.
//!
//! The layout matches `serde_json::to_string_pretty` (2-space indent, `": "`
//! after keys, `{}`/`[]` for empty containers) but works directly on the JSON
//! bytes: object keys keep their order and numbers are emitted exactly as
//! written, so nothing is lost to an `f64` or map round trip. Strings are
//! re-escaped the way serde_json writes them (e.g. `\u00e9` becomes `é`,
//! `\/` becomes `/`), so the output is byte-identical to serde_json's for
//! equivalent input.
//!
//! The scanner is iterative (an explicit container stack), so hostile nesting
//! depth cannot overflow the call stack, and malformed input is reported as a
//! [`PrettyError`] instead of producing garbage.

use std::fmt;

const KEY: &[u8] = b"\x1b[36m";
const STRING: &[u8] = b"\x1b[32m";
const NUMBER: &[u8] = b"\x1b[33m";
const BOOLEAN: &[u8] = b"\x1b[35m";
const PLAIN: &[u8] = b"\x1b[39m";
const RESET: &[u8] = b"\x1b[0m";

/// The input was not a single well-formed JSON value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrettyError {
    /// Byte offset in the input where the problem was found.
    pub offset: usize,
    /// What was wrong there.
    pub reason: &'static str,
}

impl fmt::Display for PrettyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid JSON at byte {}: {}", self.offset, self.reason)
    }
}

impl std::error::Error for PrettyError {}

/// Renders `json` (one JSON value, surrounding whitespace allowed) as pretty
/// JSON and appends it to `out`, without a trailing newline.
///
/// With `color`, every token is wrapped as `ESC[<n>m…ESC[0m`: keys cyan (36),
/// strings green (32), numbers yellow (33), booleans magenta (35), `null` and
/// punctuation default (39). On error `out` is restored to its original length.
pub fn write_pretty(json: &[u8], color: bool, out: &mut Vec<u8>) -> Result<(), PrettyError> {
    let start_len = out.len();
    let result = Printer {
        input: json,
        pos: 0,
        out,
        color,
        stack: Vec::new(),
    }
    .run();
    if result.is_err() {
        out.truncate(start_len);
    }
    result
}

/// Convenience wrapper around [`write_pretty`] returning a fresh buffer.
pub fn to_pretty(json: &[u8], color: bool) -> Result<Vec<u8>, PrettyError> {
    let mut out = Vec::with_capacity(json.len() * 2);
    write_pretty(json, color, &mut out)?;
    Ok(out)
}

/// What the grammar allows next.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// A value: at top level, after `:` or after `,` in an array.
    Value,
    /// Right after `[`: a value or `]`.
    FirstElementOrEnd,
    /// Right after `{`: a key or `}`.
    FirstKeyOrEnd,
    /// After `,` in an object.
    Key,
    /// After a key.
    Colon,
    /// After a value inside a container.
    CommaOrEnd,
    /// After the top-level value: only whitespace may follow.
    Done,
}

struct Printer<'a> {
    input: &'a [u8],
    pos: usize,
    out: &'a mut Vec<u8>,
    color: bool,
    /// Open containers, innermost last: `b'{'` or `b'['`.
    stack: Vec<u8>,
}

impl Printer<'_> {
    fn fail<T>(&self, reason: &'static str) -> Result<T, PrettyError> {
        Err(PrettyError {
            offset: self.pos,
            reason,
        })
    }

    fn newline_indent(&mut self) {
        self.out.push(b'\n');
        let width = self.stack.len() * 2;
        self.out.resize(self.out.len() + width, b' ');
    }

    /// Writes a token whose bytes need no transformation, colored if enabled.
    fn token(&mut self, color: &[u8], bytes: &[u8]) {
        if self.color {
            self.out.extend_from_slice(color);
            self.out.extend_from_slice(bytes);
            self.out.extend_from_slice(RESET);
        } else {
            self.out.extend_from_slice(bytes);
        }
    }

    fn run(mut self) -> Result<(), PrettyError> {
        let mut expect = Expect::Value;
        loop {
            while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.input.get(self.pos) {
                self.pos += 1;
            }
            let Some(&b) = self.input.get(self.pos) else {
                return match expect {
                    Expect::Done => Ok(()),
                    _ => self.fail("unexpected end of input"),
                };
            };
            expect = match (expect, b) {
                (Expect::Done, _) => return self.fail("trailing characters after the value"),
                (Expect::FirstKeyOrEnd, b'}') | (Expect::FirstElementOrEnd, b']') => {
                    // Empty container: serde_json prints `{}` / `[]` on one line.
                    self.pos += 1;
                    self.stack.pop();
                    self.token(PLAIN, &[b]);
                    self.after_value()
                }
                (Expect::CommaOrEnd, b'}' | b']') => {
                    let open = if b == b'}' { b'{' } else { b'[' };
                    if self.stack.pop() != Some(open) {
                        return self.fail("mismatched closing bracket");
                    }
                    self.pos += 1;
                    self.newline_indent();
                    self.token(PLAIN, &[b]);
                    self.after_value()
                }
                (Expect::CommaOrEnd, b',') => {
                    self.pos += 1;
                    self.token(PLAIN, b",");
                    self.newline_indent();
                    if self.stack.last() == Some(&b'{') {
                        Expect::Key
                    } else {
                        Expect::Value
                    }
                }
                (Expect::Colon, b':') => {
                    self.pos += 1;
                    self.token(PLAIN, b":");
                    self.out.push(b' ');
                    Expect::Value
                }
                (Expect::FirstKeyOrEnd | Expect::Key, b'"') => {
                    if expect == Expect::FirstKeyOrEnd {
                        self.newline_indent();
                    }
                    self.string(KEY)?;
                    Expect::Colon
                }
                (Expect::FirstElementOrEnd | Expect::Value, _) => {
                    if expect == Expect::FirstElementOrEnd {
                        self.newline_indent();
                    }
                    self.value(b)?
                }
                (Expect::FirstKeyOrEnd | Expect::Key, _) => {
                    return self.fail("expected an object key")
                }
                (Expect::Colon, _) => return self.fail("expected `:`"),
                (Expect::CommaOrEnd, _) => return self.fail("expected `,` or a closing bracket"),
            };
        }
    }

    /// State after a complete value, depending on the enclosing container.
    fn after_value(&self) -> Expect {
        if self.stack.is_empty() {
            Expect::Done
        } else {
            Expect::CommaOrEnd
        }
    }

    /// Handles the start of a value whose first byte is `b`.
    fn value(&mut self, b: u8) -> Result<Expect, PrettyError> {
        match b {
            b'{' | b'[' => {
                self.pos += 1;
                self.token(PLAIN, &[b]);
                self.stack.push(b);
                return Ok(if b == b'{' {
                    Expect::FirstKeyOrEnd
                } else {
                    Expect::FirstElementOrEnd
                });
            }
            b'"' => self.string(STRING)?,
            b't' => self.literal(b"true", BOOLEAN)?,
            b'f' => self.literal(b"false", BOOLEAN)?,
            b'n' => self.literal(b"null", PLAIN)?,
            b'-' | b'0'..=b'9' => self.number()?,
            _ => return self.fail("expected a JSON value"),
        }
        Ok(self.after_value())
    }

    fn literal(&mut self, word: &'static [u8], color: &[u8]) -> Result<(), PrettyError> {
        if !self.input[self.pos..].starts_with(word) {
            return self.fail("invalid literal");
        }
        self.pos += word.len();
        self.token(color, word);
        Ok(())
    }

    /// Validates a number against the JSON grammar and copies it verbatim.
    fn number(&mut self) -> Result<(), PrettyError> {
        let start = self.pos;
        let input = self.input;
        let digits = |mut i: usize| {
            while input.get(i).is_some_and(u8::is_ascii_digit) {
                i += 1;
            }
            i
        };
        let mut i = start;
        if input.get(i) == Some(&b'-') {
            i += 1;
        }
        match input.get(i) {
            Some(b'0') => i += 1,
            Some(b'1'..=b'9') => i = digits(i + 1),
            _ => return self.fail("invalid number"),
        }
        if input.get(i) == Some(&b'.') {
            let end = digits(i + 1);
            if end == i + 1 {
                self.pos = end;
                return self.fail("expected digits after the decimal point");
            }
            i = end;
        }
        if let Some(b'e' | b'E') = input.get(i) {
            i += 1;
            if let Some(b'+' | b'-') = input.get(i) {
                i += 1;
            }
            let end = digits(i);
            if end == i {
                self.pos = end;
                return self.fail("expected digits in the exponent");
            }
            i = end;
        }
        self.pos = i;
        self.token(NUMBER, &input[start..i]);
        Ok(())
    }

    /// Copies a string token, normalising escapes to serde_json's style.
    fn string(&mut self, color: &[u8]) -> Result<(), PrettyError> {
        if self.color {
            self.out.extend_from_slice(color);
        }
        self.out.push(b'"');
        self.pos += 1; // opening quote
        loop {
            // Copy the run of bytes that need no attention in one go.
            let run_start = self.pos;
            while let Some(&b) = self.input.get(self.pos) {
                if b == b'"' || b == b'\\' || b < 0x20 {
                    break;
                }
                self.pos += 1;
            }
            self.out.extend_from_slice(&self.input[run_start..self.pos]);
            match self.input.get(self.pos) {
                None => return self.fail("unterminated string"),
                Some(b'"') => {
                    self.pos += 1;
                    break;
                }
                Some(b'\\') => self.escape()?,
                Some(_) => return self.fail("control character in string"),
            }
        }
        self.out.push(b'"');
        if self.color {
            self.out.extend_from_slice(RESET);
        }
        Ok(())
    }

    /// Reads 4 hex digits at `at`.
    fn hex4(&self, at: usize) -> Option<u16> {
        let digits = self.input.get(at..at + 4)?;
        let text = std::str::from_utf8(digits).ok()?;
        if !text.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        u16::from_str_radix(text, 16).ok()
    }

    /// Handles one escape sequence starting at the backslash.
    fn escape(&mut self) -> Result<(), PrettyError> {
        let Some(&kind) = self.input.get(self.pos + 1) else {
            return self.fail("unterminated string");
        };
        match kind {
            b'"' | b'\\' | b'b' | b'f' | b'n' | b'r' | b't' => {
                self.out.extend_from_slice(&[b'\\', kind]);
                self.pos += 2;
            }
            b'/' => {
                self.out.push(b'/');
                self.pos += 2;
            }
            b'u' => {
                let Some(unit) = self.hex4(self.pos + 2) else {
                    return self.fail("invalid \\u escape");
                };
                let mut consumed = 6;
                let mut code = Some(u32::from(unit));
                if (0xD800..0xDC00).contains(&unit) {
                    // A high surrogate must pair with a following low surrogate.
                    let low = match self.input.get(self.pos + 6..self.pos + 8) {
                        Some(b"\\u") => self.hex4(self.pos + 8),
                        _ => None,
                    };
                    code = match low {
                        Some(low @ 0xDC00..=0xDFFF) => {
                            consumed = 12;
                            Some(
                                0x10000
                                    + ((u32::from(unit) - 0xD800) << 10)
                                    + (u32::from(low) - 0xDC00),
                            )
                        }
                        _ => None,
                    };
                }
                match code.and_then(char::from_u32) {
                    Some(c) => push_char_escaped(self.out, c),
                    // Lone surrogate: not representable as UTF-8, keep the escape as written.
                    None => self
                        .out
                        .extend_from_slice(&self.input[self.pos..self.pos + 6]),
                }
                if code.is_none() {
                    consumed = 6;
                }
                self.pos += consumed;
            }
            _ => {
                self.pos += 1;
                return self.fail("invalid escape sequence");
            }
        }
        Ok(())
    }
}

/// Writes `c` inside a string the way serde_json does.
fn push_char_escaped(out: &mut Vec<u8>, c: char) {
    match c {
        '"' => out.extend_from_slice(b"\\\""),
        '\\' => out.extend_from_slice(b"\\\\"),
        '\u{8}' => out.extend_from_slice(b"\\b"),
        '\u{c}' => out.extend_from_slice(b"\\f"),
        '\n' => out.extend_from_slice(b"\\n"),
        '\r' => out.extend_from_slice(b"\\r"),
        '\t' => out.extend_from_slice(b"\\t"),
        c if (c as u32) < 0x20 => {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            let n = c as usize;
            out.extend_from_slice(b"\\u00");
            out.push(HEX[n >> 4]);
            out.push(HEX[n & 0xF]);
        }
        c => {
            let mut buf = [0u8; 4];
            out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pretty(json: &str) -> String {
        String::from_utf8(to_pretty(json.as_bytes(), false).expect(json)).expect("utf8")
    }

    /// Compares against serde_json (whose maps are sorted, so inputs use sorted keys).
    fn same_as_serde(json: &str) {
        let value: serde_json::Value = serde_json::from_str(json).expect(json);
        let expected = serde_json::to_string_pretty(&value).expect("serialize");
        assert_eq!(pretty(json), expected, "input: {json}");
        // Feeding serde's own compact output must give the same result too.
        let compact = serde_json::to_string(&value).expect("serialize");
        assert_eq!(pretty(&compact), expected, "compact: {compact}");
    }

    #[test]
    fn matches_serde_json_layout() {
        for doc in [
            r#"{}"#,
            r#"[]"#,
            r#"{"a":{}}"#,
            r#"{"a":[]}"#,
            r#"[[],{},[[]],[{}]]"#,
            r#"{"a":1,"b":"two","c":true,"d":false,"e":null}"#,
            r#"{"data":{"from":"alice","msg":"hello world"},"meta":{"tags":["a","b"]},"seq":1,"time":"2026-02-06T18:58:01Z"}"#,
            r#"[1,-2,3.5,-0.25,1e+30,{"x":[1,[2,[3,{"y":{"z":null}}]]]}]"#,
            r#""just a string""#,
            r#"42"#,
            r#"true"#,
            r#"null"#,
            r#"{"esc":"quote \" backslash \\ newline \n tab \t cr \r bs \b ff \f ctl \u0001 \u001f del \u007f"}"#,
            r#"{"uni":"héllo ✓ 😀 \u00e9 \u2713 \ud83d\ude00 \/ slash"}"#,
            r#"{"":"","a b":" ","k\"ey":"v"}"#,
            r#"  {"a" : [ 1 , 2 ] ,"b":{ "c" :"d" } }  "#,
            "{\"a\":\r\n\t[1,\n2]}",
        ] {
            same_as_serde(doc);
        }
    }

    #[test]
    fn preserves_key_order_and_number_text() {
        let out = pretty(r#"{"z":1.50,"a":1E2,"m":-0,"big":123456789012345678901234567890}"#);
        assert_eq!(
            out,
            "{\n  \"z\": 1.50,\n  \"a\": 1E2,\n  \"m\": -0,\n  \"big\": 123456789012345678901234567890\n}"
        );
    }

    #[test]
    fn duplicate_keys_are_kept() {
        assert_eq!(pretty(r#"{"a":1,"a":2}"#), "{\n  \"a\": 1,\n  \"a\": 2\n}");
    }

    #[test]
    fn lone_surrogates_are_kept_verbatim() {
        assert_eq!(pretty(r#""\ud800x""#), r#""\ud800x""#);
        assert_eq!(pretty(r#""\udc00""#), r#""\udc00""#);
        assert_eq!(pretty(r#""\ud800\u0041""#), r#""\ud800A""#);
        assert_eq!(pretty(r#""\uD83D\uDE00""#), "\"😀\"");
    }

    #[test]
    fn colors_every_token() {
        let out = String::from_utf8(
            to_pretty(br#"{"k":["s",1,true,null],"e":{}}"#, true).expect("valid"),
        )
        .expect("utf8");
        let expected = concat!(
            "\x1b[39m{\x1b[0m\n",
            "  \x1b[36m\"k\"\x1b[0m\x1b[39m:\x1b[0m \x1b[39m[\x1b[0m\n",
            "    \x1b[32m\"s\"\x1b[0m\x1b[39m,\x1b[0m\n",
            "    \x1b[33m1\x1b[0m\x1b[39m,\x1b[0m\n",
            "    \x1b[35mtrue\x1b[0m\x1b[39m,\x1b[0m\n",
            "    \x1b[39mnull\x1b[0m\n",
            "  \x1b[39m]\x1b[0m\x1b[39m,\x1b[0m\n",
            "  \x1b[36m\"e\"\x1b[0m\x1b[39m:\x1b[0m \x1b[39m{\x1b[0m\x1b[39m}\x1b[0m\n",
            "\x1b[39m}\x1b[0m",
        );
        assert_eq!(out, expected);
        // Stripping the escapes yields the plain rendering.
        let stripped = out
            .split('\x1b')
            .enumerate()
            .map(|(i, part)| {
                if i == 0 {
                    part
                } else {
                    &part[part.find('m').unwrap() + 1..]
                }
            })
            .collect::<String>();
        assert_eq!(stripped, pretty(r#"{"k":["s",1,true,null],"e":{}}"#));
    }

    #[test]
    fn appends_to_existing_buffer() {
        let mut out = b"prefix:".to_vec();
        write_pretty(b"[1]", false, &mut out).expect("valid");
        assert_eq!(out, b"prefix:[\n  1\n]");
    }

    #[test]
    fn rejects_malformed_input_without_output() {
        for bad in [
            "",
            "   ",
            "{",
            "[",
            "}",
            "]",
            "[1,]",
            "[,1]",
            "{\"a\"}",
            "{\"a\":}",
            "{\"a\" 1}",
            "{1:2}",
            "{\"a\":1,}",
            "[1 2]",
            "[1}",
            "{\"a\":1]",
            "tru",
            "nul",
            "falsey",
            "01",
            "-",
            "1.",
            "1e",
            "1e+",
            ".5",
            "+1",
            "\"abc",
            "\"\\x\"",
            "\"\\u12\"",
            "\"\\u12g4\"",
            "\"a\nb\"",
            "1 2",
            "{}{}",
            "[1]x",
            "\"\\",
            "NaN",
            "Infinity",
            "'a'",
        ] {
            let mut out = b"keep".to_vec();
            let err = write_pretty(bad.as_bytes(), true, &mut out).expect_err(bad);
            assert_eq!(out, b"keep", "{bad}");
            assert!(err.offset <= bad.len(), "{bad}: {err}");
            assert!(
                serde_json::from_str::<serde_json::Value>(bad).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn deep_nesting_does_not_overflow() {
        let depth = 2_000; // output is quadratic in depth (indentation)
        let doc = "[".repeat(depth) + &"]".repeat(depth);
        let out = to_pretty(doc.as_bytes(), false).expect("valid");
        assert!(out.len() > doc.len());
        let unbalanced = "[".repeat(depth);
        assert!(to_pretty(unbalanced.as_bytes(), false).is_err());
    }

    #[test]
    fn arbitrary_bytes_never_panic() {
        // A cheap deterministic fuzz: mutate valid documents byte by byte.
        let seed = br#"{"a":[1,-2.5e3,"x\"\\\u00e9\ud83d\ude00",true,false,null,{}],"b":{"c":[]}}"#;
        let alphabet = b"{}[]\",:\\ u0123456789abcdefDE.-+etrufalsn\n\x01\xff";
        for i in 0..seed.len() {
            for &replacement in alphabet {
                let mut doc = seed.to_vec();
                doc[i] = replacement;
                let ours = to_pretty(&doc, false);
                let theirs = serde_json::from_slice::<serde_json::Value>(&doc);
                if let (Ok(_), Err(e)) = (&ours, &theirs) {
                    // The only accepted difference: we pass lone surrogates and raw
                    // non-UTF-8 bytes through where serde_json refuses them.
                    let text = e.to_string();
                    assert!(
                        text.contains("surrogate")
                            || text.contains("hex escape")
                            || text.contains("unicode code point"),
                        "{}: {text}",
                        String::from_utf8_lossy(&doc)
                    );
                }
                if theirs.is_ok() {
                    assert!(ours.is_ok(), "{}", String::from_utf8_lossy(&doc));
                }
                let _ = to_pretty(&doc[..i], true);
            }
        }
    }
}
