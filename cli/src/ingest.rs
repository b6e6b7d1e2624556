//! Splitting an input stream into JSON records for `pls poke`.
//!
//! [`RecordReader`] reads incrementally from any [`Read`] (stdin, a file) and
//! yields one [`Record`] per JSON text: the exact bytes of the value as they
//! appeared in the input (never re-serialized), with a 1-based record number
//! and the line the record starts on. Syntax validation is left to the caller
//! (serde_json); this module only finds record boundaries, using a JSON-aware
//! scanner that tracks strings, escapes and bracket depth without building
//! values.
//!
//! Framings ([`Mode`]):
//! * `jsonl` — one value per line; blank lines skipped; CRLF tolerated.
//! * `json`, `jq` — one or more concatenated values: pretty multi-line
//!   documents, several values per line, JSONL, in any mix.
//! * `seq` — RFC 7464 JSON text sequences (records introduced by `0x1E`).
//! * `auto` — sniffs the first non-blank bytes: `0x1E` means `seq`; an SSE
//!   field (`data:`, `event:`, `id:`, `retry:`, or a `:` comment) means
//!   Server-Sent Events, whose `data:` payloads become records (multi-line
//!   data joined with `\n`; LF or CRLF line ends); anything else uses the
//!   concatenated-JSON scanner.
//!
//! Errors are per record ([`IngestError`]), and the reader resynchronises so a
//! caller using `--errors skip` can keep going: line- and separator-based
//! framings resume at the next line / separator; the concatenated scanner
//! resumes at the next line that starts a value (a `{` or `[` as the first
//! non-blank character, indented no deeper than the broken record), which
//! skips the remainder of a broken pretty-printed document instead of
//! emitting its inner objects as bogus records. Memory stays bounded by the
//! per-record size limit: oversized records are scanned through and
//! discarded, never buffered.

use std::fmt;
use std::io::{self, Read};
use std::str::FromStr;

/// Default per-record size limit (1 MiB of JSON text).
pub const DEFAULT_RECORD_LIMIT: usize = 1 << 20;

/// Bytes requested from the source per read.
const CHUNK: usize = 64 * 1024;
/// How much of the input `auto` may buffer while looking for the first non-blank byte.
const SNIFF_LIMIT: usize = 8 * 1024;
/// Longest excerpt of a bad record kept for error reports.
const SNIPPET_LIMIT: usize = 200;
/// Slack allowed on top of the record limit for a raw line (CR, field names, padding).
const LINE_SLACK: usize = 64;

const RS: u8 = 0x1E;
const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Input framing selected with `poke --in`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Sniff the input (see the module docs).
    Auto,
    /// One JSON value per line.
    Jsonl,
    /// One or more JSON values, pretty or compact, concatenated.
    Json,
    /// RFC 7464 JSON text sequences.
    Seq,
    /// Concatenated values as printed by `jq -c` / `jq -n` (same scanner as `json`).
    Jq,
}

impl Mode {
    /// Parses a `--in` value (`auto|jsonl|json|seq|jq`, case-insensitive).
    pub fn parse(value: &str) -> Result<Mode, String> {
        match value.trim().to_ascii_lowercase().as_str() {
            "auto" => Ok(Mode::Auto),
            "jsonl" | "ndjson" => Ok(Mode::Jsonl),
            "json" => Ok(Mode::Json),
            "seq" => Ok(Mode::Seq),
            "jq" => Ok(Mode::Jq),
            _ => Err(format!(
                "invalid input mode '{value}' (expected auto, jsonl, json, seq or jq)"
            )),
        }
    }

    /// The flag spelling of this mode.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Auto => "auto",
            Mode::Jsonl => "jsonl",
            Mode::Json => "json",
            Mode::Seq => "seq",
            Mode::Jq => "jq",
        }
    }
}

impl FromStr for Mode {
    type Err = String;

    fn from_str(s: &str) -> Result<Mode, String> {
        Mode::parse(s)
    }
}

/// The concrete framing in use, as reported in `ingest_skip` notices (never `auto`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// Line-delimited JSON; also what `auto` reports for plain JSON input, like
    /// upstream (whose auto parser was "jsonl with multi-line recovery").
    Jsonl,
    /// Concatenated JSON selected with `--in json`.
    Json,
    /// RFC 7464 sequences.
    Seq,
    /// Concatenated JSON selected with `--in jq`.
    Jq,
    /// Server-Sent Events (auto-detected only).
    Event,
}

impl Framing {
    /// Name used in notices: `jsonl|json|seq|jq|event`.
    pub fn as_str(self) -> &'static str {
        match self {
            Framing::Jsonl => "jsonl",
            Framing::Json => "json",
            Framing::Seq => "seq",
            Framing::Jq => "jq",
            Framing::Event => "event",
        }
    }
}

/// One JSON text found in the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Record<'a> {
    /// 1-based record number, counting error items too.
    pub index: u64,
    /// 1-based line on which the record starts.
    pub line: u64,
    /// The JSON text, trimmed of surrounding whitespace, exactly as in the input
    /// (for SSE, the `data:` lines joined with `\n`).
    pub bytes: &'a [u8],
}

/// Why a record could not be delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IngestErrorKind {
    /// The record is not well-formed JSON (reported as `Parse` in notices).
    Parse,
    /// The record exceeds the size limit (`Oversize` in notices).
    Oversize,
    /// Reading the input failed; the reader stops after reporting it.
    Io,
}

impl IngestErrorKind {
    /// Name used in notices (`Parse`, `Oversize`, `Io`).
    pub fn as_str(self) -> &'static str {
        match self {
            IngestErrorKind::Parse => "Parse",
            IngestErrorKind::Oversize => "Oversize",
            IngestErrorKind::Io => "Io",
        }
    }
}

/// A record that failed; displays as `record 3 (line 7): <message>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IngestError {
    /// What went wrong.
    pub kind: IngestErrorKind,
    /// 1-based record number.
    pub index: u64,
    /// 1-based line on which the record starts.
    pub line: u64,
    /// Human-readable description (without the record/line prefix).
    pub message: String,
    /// Up to 200 bytes of the record (lossy UTF-8, `...` when cut), for notices.
    pub snippet: String,
}

impl IngestError {
    /// Builds a `Parse` error for a record the caller found invalid, e.g. from a
    /// serde_json error, so all ingest errors look alike.
    pub fn invalid_record(record: &Record<'_>, message: impl Into<String>) -> IngestError {
        IngestError {
            kind: IngestErrorKind::Parse,
            index: record.index,
            line: record.line,
            message: message.into(),
            snippet: snippet(record.bytes),
        }
    }
}

impl fmt::Display for IngestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "record {} (line {}): {}",
            self.index, self.line, self.message
        )
    }
}

impl std::error::Error for IngestError {}

/// Renders at most [`SNIPPET_LIMIT`] bytes of `bytes` for an error report.
fn snippet(bytes: &[u8]) -> String {
    let trimmed = trim(bytes);
    if trimmed.len() <= SNIPPET_LIMIT {
        return String::from_utf8_lossy(trimmed).into_owned();
    }
    let mut text = String::from_utf8_lossy(&trimmed[..SNIPPET_LIMIT]).into_owned();
    // A multi-byte character cut in half shows up as U+FFFD; drop it.
    if text.ends_with('\u{FFFD}') {
        text.pop();
    }
    text.push_str("...");
    text
}

fn is_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r')
}

fn trim(bytes: &[u8]) -> &[u8] {
    let start = bytes.iter().position(|&b| !is_ws(b)).unwrap_or(bytes.len());
    let end = bytes
        .iter()
        .rposition(|&b| !is_ws(b))
        .map_or(start, |p| p + 1);
    &bytes[start..end]
}

/// Offsets of `bytes` once surrounding whitespace is removed.
fn trim_range(buf: &[u8], start: usize, end: usize) -> (usize, usize) {
    let mut s = start;
    let mut e = end;
    while s < e && is_ws(buf[s]) {
        s += 1;
    }
    while e > s && is_ws(buf[e - 1]) {
        e -= 1;
    }
    (s, e)
}

// --- word-at-a-time byte search (SWAR), so the hot loops need neither memchr nor unsafe ---

const LO: u64 = 0x0101_0101_0101_0101;
const HI: u64 = 0x8080_8080_8080_8080;

/// High bit set in each byte of `word` equal to `needle`. Only the lowest flagged
/// byte is guaranteed exact (borrows can flag bytes above a real match), which is
/// all a forward search needs.
#[inline(always)]
fn byte_mask(word: u64, needle: u8) -> u64 {
    let x = word ^ (LO * u64::from(needle));
    x.wrapping_sub(LO) & !x & HI
}

#[inline(always)]
fn load8(chunk: &[u8]) -> u64 {
    let mut word = [0u8; 8];
    word.copy_from_slice(chunk);
    u64::from_le_bytes(word)
}

/// Position of the first `needle` in `hay`.
#[inline]
fn find_byte(hay: &[u8], needle: u8) -> Option<usize> {
    let mut chunks = hay.chunks_exact(8);
    let mut offset = 0;
    for chunk in &mut chunks {
        let mask = byte_mask(load8(chunk), needle);
        if mask != 0 {
            return Some(offset + (mask.trailing_zeros() / 8) as usize);
        }
        offset += 8;
    }
    chunks
        .remainder()
        .iter()
        .position(|&b| b == needle)
        .map(|p| offset + p)
}

/// Position of the first byte inside a JSON string that needs attention:
/// `"` (end), `\` (escape) or a raw line feed (always an error in JSON).
#[inline]
fn find_string_special(hay: &[u8]) -> Option<usize> {
    let mut chunks = hay.chunks_exact(8);
    let mut offset = 0;
    for chunk in &mut chunks {
        let word = load8(chunk);
        let mask = byte_mask(word, b'"') | byte_mask(word, b'\\') | byte_mask(word, b'\n');
        if mask != 0 {
            return Some(offset + (mask.trailing_zeros() / 8) as usize);
        }
        offset += 8;
    }
    chunks
        .remainder()
        .iter()
        .position(|&b| matches!(b, b'"' | b'\\' | b'\n'))
        .map(|p| offset + p)
}

// Byte classes for the concatenated scanner outside strings.
const PLAIN: u8 = 0;
const QUOTE: u8 = 1;
const OPEN: u8 = 2;
const CLOSE: u8 = 3;
const NEWLINE: u8 = 4;

const CLASS: [u8; 256] = {
    let mut table = [PLAIN; 256];
    table[b'"' as usize] = QUOTE;
    table[b'{' as usize] = OPEN;
    table[b'[' as usize] = OPEN;
    table[b'}' as usize] = CLOSE;
    table[b']' as usize] = CLOSE;
    table[b'\n' as usize] = NEWLINE;
    table
};

/// Bytes that end a bare scalar (number or literal) at top level.
fn ends_bare(b: u8) -> bool {
    is_ws(b) || matches!(b, b'{' | b'}' | b'[' | b']' | b'"' | b',' | b':' | RS)
}

/// The scanner chosen for the stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scanner {
    Lines,
    Concat,
    Seq,
    Event,
}

/// Result of one scanning step, before the record number is attached.
enum Found {
    /// A record at `buf[start..end]`.
    Span { start: usize, end: usize, line: u64 },
    /// A record in the SSE accumulator `event[start..end]`.
    Event { start: usize, end: usize, line: u64 },
    /// A failed record.
    Fail(Failure),
}

struct Failure {
    kind: IngestErrorKind,
    line: u64,
    message: String,
    snippet: String,
}

/// Outcome of reading one raw line.
enum Line {
    /// `buf[start..end]`, without the line feed.
    Text { start: usize, end: usize },
    /// Longer than allowed; the line was discarded. `prefix` holds its first bytes.
    TooLong { prefix: Vec<u8> },
    /// No more input.
    Eof,
}

/// Splits a byte stream into JSON records; see the module documentation.
pub struct RecordReader<R> {
    src: R,
    buf: Vec<u8>,
    /// Stream offset of `buf[0]`.
    base: u64,
    /// First byte that must be kept (start of the record being scanned).
    head: usize,
    /// Next byte to examine.
    scan: usize,
    /// End of valid data in `buf`.
    tail: usize,
    eof: bool,
    /// Set after an I/O error has been reported; the reader then stays finished.
    finished: bool,
    mode: Mode,
    scanner: Option<Scanner>,
    limit: usize,
    /// Number of items (records and errors) handed out so far.
    index: u64,
    /// Line number at `scan`.
    line: u64,
    /// Stream offset of the first byte of the line containing `scan`.
    line_start: u64,
    /// Concatenated scanner: after an error, the maximum indentation of the line
    /// at which scanning may resume.
    resync: Option<u64>,
    /// SSE: accumulated `data:` payload of the current event.
    event: Vec<u8>,
}

impl<R: Read> RecordReader<R> {
    /// Creates a reader over `src` using `mode`, rejecting records longer than
    /// `limit` bytes (see [`DEFAULT_RECORD_LIMIT`]).
    pub fn new(src: R, mode: Mode, limit: usize) -> Self {
        RecordReader {
            src,
            buf: vec![0; CHUNK],
            base: 0,
            head: 0,
            scan: 0,
            tail: 0,
            eof: false,
            finished: false,
            mode,
            scanner: None,
            limit,
            index: 0,
            line: 1,
            line_start: 0,
            resync: None,
            event: Vec::new(),
        }
    }

    /// The per-record size limit in bytes.
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// The concrete framing, once known (for `auto`, after the first call to
    /// [`next_record`](Self::next_record)).
    pub fn framing(&self) -> Option<Framing> {
        let scanner = self.scanner.or(match self.mode {
            Mode::Auto => None,
            Mode::Jsonl => Some(Scanner::Lines),
            _ => Some(Scanner::Concat),
        })?;
        Some(match (scanner, self.mode) {
            (Scanner::Seq, _) => Framing::Seq,
            (Scanner::Event, _) => Framing::Event,
            (Scanner::Lines, _) | (Scanner::Concat, Mode::Auto | Mode::Jsonl) => Framing::Jsonl,
            (Scanner::Concat, Mode::Jq) => Framing::Jq,
            (Scanner::Concat, Mode::Json | Mode::Seq) => Framing::Json,
        })
    }

    /// Returns the next record or per-record error, or `None` at end of input.
    ///
    /// After an error item, calling again resumes with the following record
    /// (except after an `Io` error, which ends the stream).
    pub fn next_record(&mut self) -> Option<Result<Record<'_>, IngestError>> {
        if self.finished {
            return None;
        }
        let found = match self.step() {
            Ok(found) => found?,
            Err(err) => {
                self.finished = true;
                Found::Fail(Failure {
                    kind: IngestErrorKind::Io,
                    line: self.line,
                    message: format!("failed to read input: {err}"),
                    snippet: String::new(),
                })
            }
        };
        self.index += 1;
        let index = self.index;
        Some(match found {
            Found::Span { start, end, line } => Ok(Record {
                index,
                line,
                bytes: &self.buf[start..end],
            }),
            Found::Event { start, end, line } => Ok(Record {
                index,
                line,
                bytes: &self.event[start..end],
            }),
            Found::Fail(f) => Err(IngestError {
                kind: f.kind,
                index,
                line: f.line,
                message: f.message,
                snippet: f.snippet,
            }),
        })
    }

    fn step(&mut self) -> io::Result<Option<Found>> {
        let scanner = match self.scanner {
            Some(scanner) => scanner,
            None => {
                let scanner = self.start()?;
                self.scanner = Some(scanner);
                scanner
            }
        };
        // The previous record's bytes are no longer borrowed: release them.
        self.head = self.scan;
        match scanner {
            Scanner::Lines => self.next_line_record(),
            Scanner::Concat => self.next_concat(),
            Scanner::Seq => self.next_seq(),
            Scanner::Event => self.next_event(),
        }
    }

    // --- buffer management ---

    /// Reads more input after `tail`, compacting or growing the buffer as needed.
    /// Returns `false` at end of input.
    fn fill(&mut self) -> io::Result<bool> {
        if self.eof {
            return Ok(false);
        }
        if self.tail + CHUNK / 2 > self.buf.len() {
            if self.head > 0 {
                let shift = self.head;
                self.buf.copy_within(shift..self.tail, 0);
                self.base += shift as u64;
                self.head = 0;
                self.scan -= shift;
                self.tail -= shift;
            }
            if self.tail + CHUNK / 2 > self.buf.len() {
                // Only reached while a record below the limit is still growing, so
                // the buffer stays within about twice (limit + CHUNK).
                let new_len = (self.buf.len() * 2).max(self.tail + CHUNK);
                self.buf.resize(new_len, 0);
            }
        }
        loop {
            match self.src.read(&mut self.buf[self.tail..]) {
                Ok(0) => {
                    self.eof = true;
                    return Ok(false);
                }
                Ok(n) => {
                    self.tail += n.min(self.buf.len() - self.tail);
                    return Ok(true);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
    }

    /// Accounts for a line feed at buffer position `lf`.
    #[inline]
    fn newline_at(&mut self, lf: usize) {
        self.line += 1;
        self.line_start = self.base + lf as u64 + 1;
    }

    /// Column (0-based, in bytes) of buffer position `pos`.
    fn column(&self, pos: usize) -> u64 {
        (self.base + pos as u64).saturating_sub(self.line_start)
    }

    /// Strips a UTF-8 BOM and, for `auto`, sniffs the framing.
    fn start(&mut self) -> io::Result<Scanner> {
        // Only wait for more bytes while what we have could still be a BOM.
        while !self.eof && self.tail < BOM.len() && BOM.starts_with(&self.buf[..self.tail]) {
            self.fill()?;
        }
        if self.buf[..self.tail].starts_with(BOM) {
            self.head = BOM.len();
            self.scan = BOM.len();
            self.line_start = BOM.len() as u64;
        }
        let concat = match self.mode {
            Mode::Jsonl => return Ok(Scanner::Lines),
            Mode::Seq => return Ok(Scanner::Seq),
            Mode::Json | Mode::Jq => return Ok(Scanner::Concat),
            Mode::Auto => Scanner::Concat,
        };
        // Read until the first non-blank byte is visible (or the sniff window is
        // full, or input ends). Never wait for more than that: a live stream may
        // deliver its first record and then pause for a long time.
        let pos = loop {
            let first = self.buf[self.scan..self.tail]
                .iter()
                .position(|&b| !is_ws(b));
            if let Some(p) = first {
                break self.scan + p;
            }
            if self.tail >= SNIFF_LIMIT || !self.fill()? {
                return Ok(concat);
            }
        };
        let b = self.buf[pos];
        if b == RS || self.buf[pos..self.tail].contains(&RS) {
            return Ok(Scanner::Seq);
        }
        if !matches!(b, b':' | b'd' | b'e' | b'i' | b'r') {
            return Ok(concat);
        }
        // Possibly an SSE field: look at the name before the first `:` on the line.
        loop {
            let rest = &self.buf[pos..self.tail];
            if let Some(stop) = rest.iter().position(|&b| b == b':' || b == b'\n') {
                let name = trim(&rest[..stop]);
                let is_sse = if rest[stop] == b':' {
                    matches!(name, b"" | b"data" | b"event" | b"id" | b"retry")
                } else {
                    matches!(name, b"data" | b"event" | b"id")
                };
                return Ok(if is_sse { Scanner::Event } else { concat });
            }
            if rest.len() > 16 || !self.fill()? {
                return Ok(concat);
            }
        }
    }

    /// Reads one raw line starting at `scan`. Lines longer than `max` bytes are
    /// discarded as they stream past (keeping a short prefix for the report).
    fn read_line(&mut self, max: usize) -> io::Result<Line> {
        self.head = self.scan;
        let mut prefix: Option<Vec<u8>> = None;
        loop {
            if let Some(p) = find_byte(&self.buf[self.scan..self.tail], b'\n') {
                let lf = self.scan + p;
                self.scan = lf + 1;
                self.newline_at(lf);
                return Ok(match prefix {
                    Some(prefix) => Line::TooLong { prefix },
                    None => Line::Text {
                        start: self.head,
                        end: lf,
                    },
                });
            }
            self.scan = self.tail;
            if prefix.is_none() && self.scan - self.head > max {
                prefix = Some(self.record_prefix());
            }
            if prefix.is_some() {
                self.head = self.scan; // discard: never buffer an oversized line
            }
            if !self.fill()? {
                return Ok(match prefix {
                    Some(prefix) => Line::TooLong { prefix },
                    None if self.scan == self.head => Line::Eof,
                    None => Line::Text {
                        start: self.head,
                        end: self.scan,
                    },
                });
            }
        }
    }

    /// Copy of the start of the record being scanned, kept for the error report
    /// before its bytes are discarded.
    fn record_prefix(&self) -> Vec<u8> {
        let end = self.scan.min(self.head + SNIPPET_LIMIT + 8);
        self.buf[self.head..end].to_vec()
    }

    fn oversize(&self, line: u64, bytes: &[u8]) -> Found {
        Found::Fail(Failure {
            kind: IngestErrorKind::Oversize,
            line,
            message: format!("record exceeds size limit ({})", describe_limit(self.limit)),
            snippet: snippet(bytes),
        })
    }

    fn parse_failure(line: u64, message: String, bytes: &[u8]) -> Found {
        Found::Fail(Failure {
            kind: IngestErrorKind::Parse,
            line,
            message,
            snippet: snippet(bytes),
        })
    }

    // --- jsonl ---

    fn next_line_record(&mut self) -> io::Result<Option<Found>> {
        loop {
            let line = self.line;
            match self.read_line(self.limit.saturating_add(LINE_SLACK))? {
                Line::Eof => return Ok(None),
                Line::TooLong { prefix } => return Ok(Some(self.oversize(line, &prefix))),
                Line::Text { start, end } => {
                    let (start, end) = trim_range(&self.buf, start, end);
                    if start == end {
                        continue; // blank line
                    }
                    if end - start > self.limit {
                        return Ok(Some(self.oversize(line, &self.buf[start..end])));
                    }
                    return Ok(Some(Found::Span { start, end, line }));
                }
            }
        }
    }

    // --- RFC 7464 ---

    fn next_seq(&mut self) -> io::Result<Option<Found>> {
        loop {
            // Skip separators and whitespace: empty records are ignored.
            loop {
                while self.scan < self.tail {
                    match self.buf[self.scan] {
                        b'\n' => {
                            self.scan += 1;
                            self.newline_at(self.scan - 1);
                        }
                        b' ' | b'\t' | b'\r' | RS => self.scan += 1,
                        _ => break,
                    }
                }
                self.head = self.scan;
                if self.scan < self.tail {
                    break;
                }
                if !self.fill()? {
                    return Ok(None);
                }
            }
            let line = self.line;
            let mut discarded: Option<Vec<u8>> = None;
            let end = loop {
                let mut hit = None;
                while self.scan < self.tail {
                    match self.buf[self.scan] {
                        RS => {
                            hit = Some(self.scan);
                            break;
                        }
                        b'\n' => self.newline_at(self.scan),
                        _ => {}
                    }
                    self.scan += 1;
                }
                if let Some(rs) = hit {
                    break rs;
                }
                if discarded.is_none() && self.scan - self.head > self.limit {
                    discarded = Some(self.record_prefix());
                }
                if discarded.is_some() {
                    self.head = self.scan;
                }
                if !self.fill()? {
                    break self.tail;
                }
            };
            if let Some(prefix) = discarded {
                return Ok(Some(self.oversize(line, &prefix)));
            }
            let (start, end) = trim_range(&self.buf, self.head, end);
            if start == end {
                continue;
            }
            if end - start > self.limit {
                return Ok(Some(self.oversize(line, &self.buf[start..end])));
            }
            return Ok(Some(Found::Span { start, end, line }));
        }
    }

    // --- Server-Sent Events ---

    fn next_event(&mut self) -> io::Result<Option<Found>> {
        // Events whose data is blank are skipped, hence the outer loop.
        loop {
            match self.read_event()? {
                None => return Ok(None),
                Some((line, Some(prefix))) => return Ok(Some(self.oversize(line, &prefix))),
                Some((line, None)) => {
                    let (start, end) = trim_range(&self.event, 0, self.event.len());
                    if start < end {
                        return Ok(Some(Found::Event { start, end, line }));
                    }
                }
            }
        }
    }

    /// Accumulates one event's `data:` lines into `self.event`. Returns the line
    /// of its first data line and, if the event was too large, the start of its
    /// data (the rest was discarded); `None` at end of input.
    fn read_event(&mut self) -> io::Result<Option<(u64, Option<Vec<u8>>)>> {
        let max_line = self.limit.saturating_add(LINE_SLACK);
        self.event.clear();
        let mut data_line: Option<u64> = None;
        let mut oversize: Option<Vec<u8>> = None;
        loop {
            let line_no = self.line;
            let value = match self.read_line(max_line)? {
                Line::Eof => return Ok(data_line.map(|line| (line, oversize))),
                Line::TooLong { prefix } => {
                    // Only a `data` line matters; other huge fields are ignored.
                    if !prefix.starts_with(b"data") {
                        continue;
                    }
                    data_line.get_or_insert(line_no);
                    if oversize.is_none() {
                        let colon = prefix.iter().position(|&b| b == b':');
                        let value_start = colon.map_or(prefix.len(), |p| p + 1);
                        oversize = Some(prefix[value_start..].to_vec());
                    }
                    continue;
                }
                Line::Text { start, mut end } => {
                    if end > start && self.buf[end - 1] == b'\r' {
                        end -= 1;
                    }
                    let text = &self.buf[start..end];
                    if text.is_empty() {
                        // A blank line dispatches the event (if it has data).
                        match data_line {
                            Some(line) => return Ok(Some((line, oversize))),
                            None => continue,
                        }
                    }
                    let (name, value_start) = match text.iter().position(|&b| b == b':') {
                        Some(0) => continue, // comment
                        Some(colon) => {
                            // One space after the colon is part of the syntax.
                            let skip = usize::from(text.get(colon + 1) == Some(&b' '));
                            (&text[..colon], start + colon + 1 + skip)
                        }
                        None => (text, end),
                    };
                    if name != b"data" {
                        continue; // event:, id:, retry: and unknown fields are ignored
                    }
                    value_start..end
                }
            };
            if data_line.is_some() {
                self.event.push(b'\n');
            } else {
                data_line = Some(line_no);
            }
            if oversize.is_some() {
                continue;
            }
            let value = &self.buf[value];
            if self.event.len() + value.len() > self.limit {
                let mut prefix = std::mem::take(&mut self.event);
                prefix.extend_from_slice(&value[..value.len().min(SNIPPET_LIMIT + 8)]);
                oversize = Some(prefix);
            } else {
                self.event.extend_from_slice(value);
            }
        }
    }

    // --- concatenated JSON ---

    fn next_concat(&mut self) -> io::Result<Option<Found>> {
        if let Some(max_indent) = self.resync {
            if !self.resync_to_value_line(max_indent)? {
                return Ok(None);
            }
        }
        // Skip whitespace between values.
        let first = loop {
            while self.scan < self.tail {
                match self.buf[self.scan] {
                    b' ' | b'\t' | b'\r' => self.scan += 1,
                    b'\n' => {
                        self.scan += 1;
                        self.newline_at(self.scan - 1);
                    }
                    _ => break,
                }
            }
            self.head = self.scan;
            if self.scan < self.tail {
                break self.buf[self.scan];
            }
            if !self.fill()? {
                return Ok(None);
            }
        };
        let line = self.line;
        let column = self.column(self.scan);
        match first {
            b'{' | b'[' | b'"' => self.scan_value(line, column).map(Some),
            b'-' | b'0'..=b'9' | b't' | b'f' | b'n' => self.scan_bare(line, column).map(Some),
            other => {
                self.scan += 1;
                self.resync = Some(column);
                let message = match other {
                    b'}' | b']' => {
                        format!("unexpected `{}` outside of any JSON value", other as char)
                    }
                    RS => "unexpected record separator (0x1E); use --in seq".to_owned(),
                    _ => format!(
                        "unexpected {} where a JSON value should start",
                        describe_byte(other)
                    ),
                };
                // Read on to the end of the line (or the snippet's length), so
                // the snippet does not depend on how the input arrived.
                while find_byte(&self.buf[self.head..self.tail], b'\n').is_none()
                    && self.tail - self.head < SNIPPET_LIMIT
                    && self.fill()?
                {}
                let window = &self.buf[self.head..self.tail.min(self.head + SNIPPET_LIMIT)];
                let end = find_byte(window, b'\n').unwrap_or(window.len());
                Ok(Some(Self::parse_failure(line, message, &window[..end])))
            }
        }
    }

    /// Discards input up to the next non-blank line indented at most
    /// `max_indent` whose first byte is not a closing bracket. Deeper lines and
    /// closers belong to the broken value; anything else (a new record, or a
    /// garbage line that then costs its own error) is where scanning resumes.
    /// Returns `false` at EOF.
    fn resync_to_value_line(&mut self, max_indent: u64) -> io::Result<bool> {
        // `None` while looking for the next line feed, `Some(indent)` while
        // reading the leading whitespace of a line.
        let mut indent: Option<u64> = None;
        loop {
            while self.scan < self.tail {
                match indent {
                    None => match find_byte(&self.buf[self.scan..self.tail], b'\n') {
                        Some(p) => {
                            self.scan += p + 1;
                            self.newline_at(self.scan - 1);
                            indent = Some(0);
                        }
                        None => self.scan = self.tail,
                    },
                    Some(n) => match self.buf[self.scan] {
                        b' ' | b'\t' | b'\r' => {
                            indent = Some(n + 1);
                            self.scan += 1;
                        }
                        b'\n' => {
                            self.scan += 1;
                            self.newline_at(self.scan - 1);
                            indent = Some(0);
                        }
                        b'}' | b']' => indent = None,
                        _ if n <= max_indent => {
                            self.resync = None;
                            self.head = self.scan;
                            return Ok(true);
                        }
                        _ => indent = None,
                    },
                }
            }
            self.head = self.scan;
            if !self.fill()? {
                self.resync = None;
                return Ok(false);
            }
        }
    }

    /// Scans a string, object or array starting at `scan`.
    fn scan_value(&mut self, line: u64, column: u64) -> io::Result<Found> {
        let mut depth: usize = 0;
        let mut in_string = false;
        let mut escaped = false;
        // Set once the record is known to be too large; its bytes are then discarded.
        let mut oversize: Option<Vec<u8>> = None;
        // Last significant byte before `head` while discarding (see `may_start_value`).
        let mut carry: Option<u8> = None;
        loop {
            let mut i = self.scan;
            let tail = self.tail;
            while i < tail {
                if in_string {
                    if escaped {
                        if self.buf[i] == b'\n' {
                            self.scan = i;
                            return Ok(self.broken_string(line, column, oversize));
                        }
                        escaped = false;
                        i += 1;
                        continue;
                    }
                    match find_string_special(&self.buf[i..tail]) {
                        None => i = tail,
                        Some(p) => {
                            i += p;
                            match self.buf[i] {
                                b'"' => {
                                    in_string = false;
                                    i += 1;
                                    if depth == 0 {
                                        self.scan = i;
                                        return Ok(self.finish_value(line, oversize));
                                    }
                                }
                                b'\\' => {
                                    escaped = true;
                                    i += 1;
                                }
                                _ => {
                                    self.scan = i;
                                    return Ok(self.broken_string(line, column, oversize));
                                }
                            }
                        }
                    }
                    continue;
                }
                match CLASS[usize::from(self.buf[i])] {
                    PLAIN => i += 1,
                    QUOTE => {
                        in_string = true;
                        i += 1;
                    }
                    OPEN => {
                        if depth > 0 && !self.may_start_value(i, carry) {
                            self.scan = i;
                            return Ok(self.unclosed_value(line, column, oversize));
                        }
                        depth += 1;
                        i += 1;
                    }
                    CLOSE => {
                        // depth >= 1 here (a value starts with `{`, `[` or `"`);
                        // saturating anyway so no input can ever underflow it.
                        depth = depth.saturating_sub(1);
                        i += 1;
                        if depth == 0 {
                            self.scan = i;
                            return Ok(self.finish_value(line, oversize));
                        }
                    }
                    _ => {
                        self.newline_at(i);
                        i += 1;
                    }
                }
            }
            self.scan = i;
            if oversize.is_none() && self.scan - self.head > self.limit {
                oversize = Some(self.record_prefix());
            }
            if oversize.is_some() {
                if let Some(&b) = self.buf[self.head..self.scan]
                    .iter()
                    .rev()
                    .find(|&&b| !is_ws(b))
                {
                    carry = Some(b);
                }
                self.head = self.scan;
            }
            if !self.fill()? {
                let end = self.tail.min(self.head + SNIPPET_LIMIT + 8);
                return Ok(match oversize {
                    Some(prefix) => self.oversize(line, &prefix),
                    None => Self::parse_failure(
                        line,
                        "unexpected end of input: the JSON value is not closed".to_owned(),
                        &self.buf[self.head..end],
                    ),
                });
            }
        }
    }

    /// Whether a `{`/`[` at `pos` (inside a container) can legally start a value:
    /// only after `[`, `{`, `,` or `:`. Anything else means the enclosing value
    /// was never closed (typically a truncated line followed by the next record).
    fn may_start_value(&self, pos: usize, carry: Option<u8>) -> bool {
        let before = self.buf[self.head..pos].iter().rev().find(|&&b| !is_ws(b));
        match before.copied().or(carry) {
            Some(b) => matches!(b, b'[' | b'{' | b',' | b':'),
            None => true,
        }
    }

    /// A complete value ends at `scan`.
    fn finish_value(&self, line: u64, oversize: Option<Vec<u8>>) -> Found {
        if let Some(prefix) = oversize {
            return self.oversize(line, &prefix);
        }
        if self.scan - self.head > self.limit {
            return self.oversize(line, &self.buf[self.head..self.scan]);
        }
        Found::Span {
            start: self.head,
            end: self.scan,
            line,
        }
    }

    /// A raw line feed inside a string at `scan`: the value cannot be valid JSON.
    fn broken_string(&mut self, line: u64, column: u64, oversize: Option<Vec<u8>>) -> Found {
        self.resync = Some(column);
        if let Some(prefix) = oversize {
            return self.oversize(line, &prefix);
        }
        let message = if self.line == line {
            "unterminated string (line break inside a string)".to_owned()
        } else {
            format!(
                "unterminated string on line {} (line break inside a string)",
                self.line
            )
        };
        Self::parse_failure(line, message, &self.buf[self.head..self.scan])
    }

    /// A new value starts at `scan` although the current one is still open.
    /// If that new value begins its own line (indented no deeper than the broken
    /// record), scanning restarts right there so the new record is not lost.
    fn unclosed_value(&mut self, line: u64, column: u64, oversize: Option<Vec<u8>>) -> Found {
        let here = self.scan;
        // Buffer index of the current line's start, if the line began inside
        // this record (otherwise the `{` cannot be the first thing on its line).
        let line_begin = usize::try_from(self.line_start.saturating_sub(self.base)).unwrap_or(0);
        let starts_line = line_begin > self.head
            && line_begin <= here
            && self.buf[line_begin..here]
                .iter()
                .all(|&b| matches!(b, b' ' | b'\t' | b'\r'));
        if !(starts_line && self.column(here) <= column) {
            self.resync = Some(column);
        }
        if let Some(prefix) = oversize {
            return self.oversize(line, &prefix);
        }
        let message = if self.line == line {
            "expected `,` or a closing bracket before the next value".to_owned()
        } else {
            format!(
                "value is not closed before line {} (missing `}}` or `]`?)",
                self.line
            )
        };
        Self::parse_failure(line, message, &self.buf[self.head..here])
    }

    /// Scans a top-level number or literal starting at `scan`.
    fn scan_bare(&mut self, line: u64, column: u64) -> io::Result<Found> {
        let mut oversize: Option<Vec<u8>> = None;
        loop {
            while self.scan < self.tail && !ends_bare(self.buf[self.scan]) {
                self.scan += 1;
            }
            if oversize.is_none() && self.scan - self.head > self.limit {
                oversize = Some(self.record_prefix());
            }
            if oversize.is_some() {
                self.head = self.scan; // keep scanning to the token's end, but don't buffer it
            }
            if self.scan < self.tail || !self.fill()? {
                break;
            }
        }
        if let Some(prefix) = oversize {
            return Ok(self.oversize(line, &prefix));
        }
        let token = &self.buf[self.head..self.scan];
        let plausible = match token.first() {
            Some(b't' | b'f' | b'n') => matches!(token, b"true" | b"false" | b"null"),
            _ => token
                .iter()
                .all(|b| matches!(b, b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E')),
        };
        if plausible {
            // Syntax details (e.g. `01`) are left to the caller's JSON parser.
            return Ok(Found::Span {
                start: self.head,
                end: self.scan,
                line,
            });
        }
        self.resync = Some(column);
        let shown = String::from_utf8_lossy(&token[..token.len().min(40)]).into_owned();
        Ok(Self::parse_failure(
            line,
            format!("unexpected `{shown}` where a JSON value should start"),
            token,
        ))
    }
}

/// `1048576 bytes = 1 MiB`, or just the byte count when it is not a round size.
fn describe_limit(limit: usize) -> String {
    match limit {
        0 => "0 bytes".to_owned(),
        n if n % (1 << 20) == 0 => format!("{n} bytes = {} MiB", n >> 20),
        n if n % (1 << 10) == 0 => format!("{n} bytes = {} KiB", n >> 10),
        n => format!("{n} bytes"),
    }
}

/// Names a byte for an error message.
fn describe_byte(b: u8) -> String {
    if b.is_ascii_graphic() {
        format!("`{}`", b as char)
    } else {
        format!("byte 0x{b:02X}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Owned test view of one item: Ok((text, index, line)) or Err((kind, index, line)).
    type Item = Result<(String, u64, u64), (IngestErrorKind, u64, u64)>;

    /// Reads everything into owned results.
    fn split_with(input: &[u8], mode: Mode, limit: usize) -> Vec<Item> {
        let mut reader = RecordReader::new(input, mode, limit);
        let mut out = Vec::new();
        while let Some(item) = reader.next_record() {
            out.push(match item {
                Ok(r) => Ok((
                    String::from_utf8_lossy(r.bytes).into_owned(),
                    r.index,
                    r.line,
                )),
                Err(e) => Err((e.kind, e.index, e.line)),
            });
            assert!(out.len() < 10_000, "runaway reader");
        }
        assert!(reader.next_record().is_none(), "stays finished");
        out
    }

    fn texts(input: &[u8], mode: Mode) -> Vec<String> {
        split_with(input, mode, DEFAULT_RECORD_LIMIT)
            .into_iter()
            .map(|r| match r {
                Ok((t, _, _)) => t,
                Err((k, i, l)) => format!("ERR {} #{i} L{l}", k.as_str()),
            })
            .collect()
    }

    fn framing_of(input: &[u8], mode: Mode) -> Option<Framing> {
        let mut reader = RecordReader::new(input, mode, DEFAULT_RECORD_LIMIT);
        let _ = reader.next_record();
        reader.framing()
    }

    /// A reader that hands out one byte per `read` call, to exercise every
    /// buffer boundary.
    struct Trickle<'a>(&'a [u8]);

    impl Read for Trickle<'_> {
        fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
            match (self.0.split_first(), out.first_mut()) {
                (Some((&b, rest)), Some(slot)) => {
                    *slot = b;
                    self.0 = rest;
                    Ok(1)
                }
                _ => Ok(0),
            }
        }
    }

    fn trickle_texts(input: &[u8], mode: Mode, limit: usize) -> Vec<String> {
        let mut reader = RecordReader::new(Trickle(input), mode, limit);
        let mut out = Vec::new();
        while let Some(item) = reader.next_record() {
            out.push(match item {
                Ok(r) => String::from_utf8_lossy(r.bytes).into_owned(),
                Err(e) => format!("ERR {} #{} L{}", e.kind.as_str(), e.index, e.line),
            });
        }
        out
    }

    const TRICKY: &str = r#"{"a":"}{][\"\\","b":["]","\\"],"c":{"d":"\u0022{"}}"#;

    #[test]
    fn mode_parsing() {
        assert_eq!("auto".parse(), Ok(Mode::Auto));
        assert_eq!(Mode::parse("JSONL"), Ok(Mode::Jsonl));
        assert_eq!(Mode::parse("json"), Ok(Mode::Json));
        assert_eq!(Mode::parse("seq"), Ok(Mode::Seq));
        assert_eq!(Mode::parse(" jq "), Ok(Mode::Jq));
        let err = Mode::parse("xml").unwrap_err();
        assert!(err.contains("'xml'") && err.contains("auto, jsonl, json, seq or jq"));
        for m in [Mode::Auto, Mode::Jsonl, Mode::Json, Mode::Seq, Mode::Jq] {
            assert_eq!(Mode::parse(m.as_str()), Ok(m));
        }
    }

    #[test]
    fn jsonl_basic() {
        let input = b"{\"a\":1}\n\n  {\"b\":2}  \r\n\r\n{\"c\":3}";
        let got = split_with(input, Mode::Jsonl, DEFAULT_RECORD_LIMIT);
        assert_eq!(
            got,
            vec![
                Ok(("{\"a\":1}".into(), 1, 1)),
                Ok(("{\"b\":2}".into(), 2, 3)),
                Ok(("{\"c\":3}".into(), 3, 5)),
            ]
        );
    }

    #[test]
    fn jsonl_keeps_lines_whole() {
        // Two values on one line stay one record: the caller's parser rejects it.
        assert_eq!(
            texts(b"{\"a\":1} {\"b\":2}\nnot json\n", Mode::Jsonl),
            vec!["{\"a\":1} {\"b\":2}".to_owned(), "not json".to_owned(),]
        );
        assert_eq!(
            texts(format!("{TRICKY}\n").as_bytes(), Mode::Jsonl),
            vec![TRICKY.to_owned()]
        );
    }

    #[test]
    fn empty_and_blank_inputs() {
        for mode in [Mode::Auto, Mode::Jsonl, Mode::Json, Mode::Seq, Mode::Jq] {
            for input in [
                &b""[..],
                b"   ",
                b"\n\n\r\n\t",
                b"\xEF\xBB\xBF",
                b"\xEF\xBB\xBF \n",
            ] {
                assert!(texts(input, mode).is_empty(), "{mode:?} {input:?}");
            }
        }
        assert!(texts(b"\x1e\x1e \n\x1e", Mode::Seq).is_empty());
        assert!(texts(b"data:\n\n: only a comment\n\n", Mode::Auto).is_empty());
    }

    #[test]
    fn bom_is_stripped() {
        for mode in [Mode::Auto, Mode::Jsonl, Mode::Json, Mode::Jq] {
            assert_eq!(
                texts(b"\xEF\xBB\xBF{\"a\":1}\n{\"b\":2}", mode),
                vec!["{\"a\":1}", "{\"b\":2}"],
                "{mode:?}"
            );
        }
        assert_eq!(
            texts(b"\xEF\xBB\xBF\x1e{\"a\":1}\n", Mode::Auto),
            vec!["{\"a\":1}"]
        );
        assert_eq!(
            texts(b"\xEF\xBB\xBFdata: {\"a\":1}\n\n", Mode::Auto),
            vec!["{\"a\":1}"]
        );
        // A BOM that is not at the very start is just a bad byte.
        assert_eq!(
            texts(b"{\"a\":1}\n\xEF\xBB\xBF{\"b\":2}\n{\"c\":3}", Mode::Auto),
            vec!["{\"a\":1}", "ERR Parse #2 L2", "{\"c\":3}",]
        );
    }

    #[test]
    fn concatenated_values_in_every_layout() {
        let input = format!(
            "{{\"a\":1}}\n{{\n  \"b\": [\n    1,\n    {{\"x\": \"}}\"}}\n  ]\n}}\n{{\"c\":1}} {{\"d\":2}}{{\"e\":3}}\r\n[1,2]\n\"str\" 12 -3.5e2 true false null\n{TRICKY}"
        );
        let expected = vec![
            "{\"a\":1}".to_owned(),
            "{\n  \"b\": [\n    1,\n    {\"x\": \"}\"}\n  ]\n}".to_owned(),
            "{\"c\":1}".to_owned(),
            "{\"d\":2}".to_owned(),
            "{\"e\":3}".to_owned(),
            "[1,2]".to_owned(),
            "\"str\"".to_owned(),
            "12".to_owned(),
            "-3.5e2".to_owned(),
            "true".to_owned(),
            "false".to_owned(),
            "null".to_owned(),
            TRICKY.to_owned(),
        ];
        for mode in [Mode::Auto, Mode::Json, Mode::Jq] {
            assert_eq!(texts(input.as_bytes(), mode), expected, "{mode:?}");
            assert_eq!(
                trickle_texts(input.as_bytes(), mode, DEFAULT_RECORD_LIMIT),
                expected,
                "{mode:?} trickle"
            );
        }
        let lines: Vec<u64> = split_with(input.as_bytes(), Mode::Auto, DEFAULT_RECORD_LIMIT)
            .into_iter()
            .map(|r| r.map(|(_, _, l)| l).unwrap_or(0))
            .collect();
        assert_eq!(lines, vec![1, 2, 8, 8, 8, 9, 10, 10, 10, 10, 10, 10, 11]);
    }

    #[test]
    fn tricky_strings_do_not_split() {
        for doc in [
            r#"{"s":"\\"}"#,
            r#"{"s":"\\\""}"#,
            r#"{"s":"\\\\"}"#,
            r#"{"s":"a\"}{\"b"}"#,
            r#"{"s":"[[[[{{{{"}"#,
            r#"{"s":"é ✓ 😀","t":"\u00e9"}"#,
            r#"{"k}":{"[":"]"}}"#,
        ] {
            let input = format!("{doc}\n{doc}{doc}");
            assert_eq!(texts(input.as_bytes(), Mode::Auto), vec![doc; 3], "{doc}");
            assert_eq!(
                trickle_texts(input.as_bytes(), Mode::Json, 1 << 10),
                vec![doc; 3],
                "{doc}"
            );
        }
    }

    #[test]
    fn crlf_and_no_trailing_newline() {
        assert_eq!(
            texts(b"{\"a\":1}\r\n{\"b\":\r\n 2}\r\n", Mode::Auto),
            vec!["{\"a\":1}", "{\"b\":\r\n 2}"]
        );
        assert_eq!(
            texts(b"{\"a\":1}\r\n{\"b\":2}", Mode::Jsonl),
            vec!["{\"a\":1}", "{\"b\":2}"]
        );
        assert_eq!(texts(b"{\"a\":1}", Mode::Seq), vec!["{\"a\":1}"]);
        assert_eq!(texts(b"42", Mode::Json), vec!["42"]);
    }

    #[test]
    fn truncated_line_resyncs_at_next_record() {
        // A line cut mid-value followed by good lines: one error, nothing else lost.
        let input = b"{\"a\":1}\n{\"b\": {\"c\": 2\n{\"d\":3}\n{\"e\": \"cut\n{\"f\":4}\n";
        assert_eq!(
            texts(input, Mode::Auto),
            vec![
                "{\"a\":1}",
                "ERR Parse #2 L2",
                "{\"d\":3}",
                "ERR Parse #4 L4",
                "{\"f\":4}"
            ]
        );
        assert_eq!(
            trickle_texts(input, Mode::Auto, DEFAULT_RECORD_LIMIT),
            vec![
                "{\"a\":1}",
                "ERR Parse #2 L2",
                "{\"d\":3}",
                "ERR Parse #4 L4",
                "{\"f\":4}"
            ]
        );
    }

    #[test]
    fn garbage_lines_cost_one_error_each() {
        let input = b"{\"a\":1}\nnot json at all {\"x\":1}\n}\n  oops\n{\"b\":2}\nnothing\n12abc\n{\"c\":3}";
        // Line 3 (a closer) and line 4 (indented deeper) are treated as debris
        // of the broken line 2; every other bad line is its own error.
        assert_eq!(
            texts(input, Mode::Auto),
            vec![
                "{\"a\":1}",
                "ERR Parse #2 L2",
                "{\"b\":2}",
                "ERR Parse #4 L6",
                "ERR Parse #5 L7",
                "{\"c\":3}",
            ]
        );
    }

    #[test]
    fn broken_pretty_document_is_skipped_whole() {
        // The broken document's inner objects must not surface as records.
        let input = b"{\n  \"a\": \"multi\nline\",\n  \"items\": [\n    {\"x\": 1}\n  ]\n}\n{\"ok\":true}\n";
        let got = texts(input, Mode::Auto);
        assert_eq!(
            got.last().map(String::as_str),
            Some("{\"ok\":true}"),
            "{got:?}"
        );
        assert!(
            got[..got.len() - 1]
                .iter()
                .all(|t| t.starts_with("ERR Parse")),
            "{got:?}"
        );
        assert!(got.len() <= 3, "{got:?}");
        // Values that never close, then a column-0 record: recovered at that line.
        let input = b"{\n  \"a\": [1, 2\n  \"b\": 3\n}\n{\"ok\":true}\n";
        let got = texts(input, Mode::Auto);
        assert_eq!(
            got.last().map(String::as_str),
            Some("{\"ok\":true}"),
            "{got:?}"
        );
        assert!(got[0].starts_with("ERR Parse"), "{got:?}");
    }

    #[test]
    fn valid_nested_values_on_column_zero_are_not_split() {
        let input = b"[\n{\"a\":1},\n{\"b\":2}\n]\n{\"c\":\n{\"d\":1}}\n";
        assert_eq!(
            texts(input, Mode::Auto),
            vec!["[\n{\"a\":1},\n{\"b\":2}\n]", "{\"c\":\n{\"d\":1}}"]
        );
    }

    #[test]
    fn indented_records_resync_at_same_indent() {
        let input = b"  {\"a\":1}\n  {\"b\": \"x\n  {\"c\":3}\n";
        assert_eq!(
            texts(input, Mode::Auto),
            vec!["{\"a\":1}", "ERR Parse #2 L2", "{\"c\":3}"]
        );
    }

    #[test]
    fn stray_closers_and_unterminated_eof() {
        assert_eq!(
            texts(b"}\n{\"a\":1}\n]]\n[2]", Mode::Json),
            vec!["ERR Parse #1 L1", "{\"a\":1}", "ERR Parse #3 L3", "[2]"]
        );
        assert_eq!(
            texts(b"{\"a\":1}\n{\"b\":[1,2", Mode::Json),
            vec!["{\"a\":1}", "ERR Parse #2 L2"]
        );
        assert_eq!(texts(b"{\"a\":\"open", Mode::Json), vec!["ERR Parse #1 L1"]);
        assert_eq!(texts(b"\"ab\\", Mode::Json), vec!["ERR Parse #1 L1"]);
    }

    #[test]
    fn error_messages_and_snippets() {
        let mut reader = RecordReader::new(
            &b"{\"a\":1}\n{\"b\": {\"c\": 2\n{\"d\":3}\n"[..],
            Mode::Auto,
            100,
        );
        assert!(reader.next_record().expect("item").is_ok());
        let err = reader.next_record().expect("item").expect_err("broken");
        assert_eq!(err.kind, IngestErrorKind::Parse);
        assert_eq!((err.index, err.line), (2, 2));
        assert_eq!(err.snippet, "{\"b\": {\"c\": 2");
        assert_eq!(
            err.to_string(),
            "record 2 (line 2): value is not closed before line 3 (missing `}` or `]`?)"
        );
        assert_eq!(
            reader.next_record().expect("item").expect("ok").bytes,
            b"{\"d\":3}"
        );

        let long = format!("{{\"k\":\"{}\"}}", "é".repeat(300));
        let mut reader = RecordReader::new(long.as_bytes(), Mode::Jsonl, 100);
        let err = reader.next_record().expect("item").expect_err("oversize");
        assert_eq!(err.kind, IngestErrorKind::Oversize);
        assert_eq!(err.message, "record exceeds size limit (100 bytes)");
        assert_eq!(describe_limit(1 << 20), "1048576 bytes = 1 MiB");
        assert_eq!(describe_limit(64 << 10), "65536 bytes = 64 KiB");
        assert!(err.snippet.ends_with("...") && err.snippet.len() <= SNIPPET_LIMIT + 3);
        assert!(!err.snippet.contains('\u{FFFD}'));

        let record = Record {
            index: 9,
            line: 4,
            bytes: b" {\"x\" 1} ",
        };
        let err = IngestError::invalid_record(&record, "expected `:` at line 1 column 6");
        assert_eq!(
            err.to_string(),
            "record 9 (line 4): expected `:` at line 1 column 6"
        );
        assert_eq!(err.snippet, "{\"x\" 1}");
    }

    fn big_record(n: usize) -> String {
        format!("{{\"big\":\"{}\",\"n\":[{{}}]}}", "x}{[\\\"".repeat(n / 7))
    }

    #[test]
    fn oversize_then_good_record_in_every_mode() {
        let limit = 1000;
        let big = big_record(5000);
        let cases: Vec<(Mode, String)> = vec![
            (Mode::Jsonl, format!("{{\"a\":1}}\n{big}\n{{\"b\":2}}\n")),
            (Mode::Auto, format!("{{\"a\":1}}\n{big}\n{{\"b\":2}}\n")),
            (Mode::Json, format!("{{\"a\":1}} {big} {{\"b\":2}}")),
            (Mode::Jq, format!("{{\"a\":1}}\n{big}{{\"b\":2}}")),
            (
                Mode::Seq,
                format!("\x1e{{\"a\":1}}\n\x1e{big}\n\x1e{{\"b\":2}}\n"),
            ),
            (
                Mode::Auto,
                format!("data: {{\"a\":1}}\n\ndata: {big}\n\ndata: {{\"b\":2}}\n\n"),
            ),
            (
                Mode::Auto,
                format!(
                    "data: {{\"a\":1}}\n\ndata: {}\ndata: {}\n\ndata: {{\"b\":2}}\n\n",
                    &big[..600],
                    &big[..600]
                ),
            ),
        ];
        for (mode, input) in cases {
            let got = texts_limited(input.as_bytes(), mode, limit);
            assert_eq!(got.len(), 3, "{mode:?}: {got:?}");
            assert_eq!(got[0], "{\"a\":1}", "{mode:?}");
            assert!(got[1].starts_with("ERR Oversize #2"), "{mode:?}: {got:?}");
            assert_eq!(got[2], "{\"b\":2}", "{mode:?}");
            assert_eq!(
                trickle_texts(input.as_bytes(), mode, limit),
                got,
                "{mode:?} trickle"
            );
        }
    }

    fn texts_limited(input: &[u8], mode: Mode, limit: usize) -> Vec<String> {
        split_with(input, mode, limit)
            .into_iter()
            .map(|r| match r {
                Ok((t, _, _)) => t,
                Err((k, i, l)) => format!("ERR {} #{i} L{l}", k.as_str()),
            })
            .collect()
    }

    #[test]
    fn limit_is_exact() {
        let rec = "{\"k\":\"12345\"}"; // 13 bytes
        for mode in [Mode::Jsonl, Mode::Json, Mode::Seq, Mode::Auto] {
            assert_eq!(
                texts_limited(rec.as_bytes(), mode, 13),
                vec![rec],
                "{mode:?}"
            );
            assert_eq!(
                texts_limited(rec.as_bytes(), mode, 12),
                vec!["ERR Oversize #1 L1"],
                "{mode:?}"
            );
        }
        assert_eq!(
            texts_limited(b"12345 6", Mode::Json, 4),
            vec!["ERR Oversize #1 L1", "6"]
        );
    }

    #[test]
    fn oversize_does_not_buffer() {
        // 64 MiB single record with a 1 MiB limit: the buffer must stay small.
        struct Endless {
            left: usize,
            started: bool,
        }
        impl Read for Endless {
            fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
                if !self.started {
                    self.started = true;
                    out[0] = b'[';
                    return Ok(1);
                }
                let n = out.len().min(self.left);
                out[..n].fill(b'1');
                for (i, b) in out[..n].iter_mut().enumerate() {
                    if i % 2 == 1 {
                        *b = b',';
                    }
                }
                self.left -= n;
                Ok(n)
            }
        }
        let mut reader = RecordReader::new(
            Endless {
                left: 64 << 20,
                started: false,
            },
            Mode::Auto,
            1 << 20,
        );
        let err = reader.next_record().expect("item").expect_err("oversize");
        assert_eq!(err.kind, IngestErrorKind::Oversize);
        assert!(
            reader.buf.len() <= 4 << 20,
            "buffer grew to {}",
            reader.buf.len()
        );
        assert!(reader.next_record().is_none());
    }

    #[test]
    fn seq_records() {
        let input =
            b"\x1e{\"a\":1}\n\x1e{\n \"b\": 2\n}\n\x1e \n\x1e{\"c\":\"x\x1ey\"}\x1e{\"d\":4}";
        let got = split_with(input, Mode::Seq, DEFAULT_RECORD_LIMIT);
        assert_eq!(
            got,
            vec![
                Ok(("{\"a\":1}".into(), 1, 1)),
                Ok(("{\n \"b\": 2\n}".into(), 2, 2)),
                Ok(("{\"c\":\"x".into(), 3, 6)),
                Ok(("y\"}".into(), 4, 6)),
                Ok(("{\"d\":4}".into(), 5, 6)),
            ]
        );
        // Bytes before the first separator form a record too.
        assert_eq!(
            texts(b"{\"a\":1}\x1e{\"b\":2}", Mode::Seq),
            vec!["{\"a\":1}", "{\"b\":2}"]
        );
    }

    #[test]
    fn auto_detection() {
        assert_eq!(framing_of(b"\x1e{\"a\":1}", Mode::Auto), Some(Framing::Seq));
        assert_eq!(
            framing_of(b"\n  \x1e{\"a\":1}", Mode::Auto),
            Some(Framing::Seq)
        );
        assert_eq!(
            framing_of(b"{\"a\":1}\x1e{\"b\":1}", Mode::Auto),
            Some(Framing::Seq)
        );
        assert_eq!(
            framing_of(b"data: {}\n\n", Mode::Auto),
            Some(Framing::Event)
        );
        assert_eq!(
            framing_of(b"event: x\ndata: {}\n\n", Mode::Auto),
            Some(Framing::Event)
        );
        assert_eq!(framing_of(b"id: 1\n", Mode::Auto), Some(Framing::Event));
        assert_eq!(
            framing_of(b"retry: 100\n", Mode::Auto),
            Some(Framing::Event)
        );
        assert_eq!(framing_of(b": hello\n", Mode::Auto), Some(Framing::Event));
        assert_eq!(framing_of(b"{\"a\":1}\n", Mode::Auto), Some(Framing::Jsonl));
        assert_eq!(
            framing_of(b"  {\n\"a\":1}", Mode::Auto),
            Some(Framing::Jsonl)
        );
        assert_eq!(framing_of(b"dat", Mode::Auto), Some(Framing::Jsonl));
        assert_eq!(framing_of(b"database\n", Mode::Auto), Some(Framing::Jsonl));
        assert_eq!(framing_of(b"", Mode::Auto), Some(Framing::Jsonl));
        assert_eq!(framing_of(b"{}", Mode::Json), Some(Framing::Json));
        assert_eq!(framing_of(b"{}", Mode::Jq), Some(Framing::Jq));
        assert_eq!(framing_of(b"{}", Mode::Seq), Some(Framing::Seq));
        assert_eq!(framing_of(b"{}", Mode::Jsonl), Some(Framing::Jsonl));
        assert_eq!(RecordReader::new(&b""[..], Mode::Auto, 10).framing(), None);
        assert_eq!(
            RecordReader::new(&b""[..], Mode::Jq, 10).framing(),
            Some(Framing::Jq)
        );
    }

    #[test]
    fn sniffing_does_not_wait_for_a_full_window() {
        // A live stream that delivers one record and then blocks must yield that
        // record right away: simulate "blocking" with an error after the data.
        struct OneThenFail(Option<&'static [u8]>);
        impl Read for OneThenFail {
            fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
                match self.0.take() {
                    Some(data) => {
                        out[..data.len()].copy_from_slice(data);
                        Ok(data.len())
                    }
                    None => Err(io::Error::other("would block forever")),
                }
            }
        }
        for data in [
            &b"{\"a\":1}\n"[..],
            b"\x1e{\"a\":1}\n\x1e",
            b"data: {\"a\":1}\n\n",
        ] {
            let mut reader = RecordReader::new(OneThenFail(Some(data)), Mode::Auto, 1000);
            assert_eq!(
                reader.next_record().expect("item").expect("record").bytes,
                b"{\"a\":1}"
            );
            let err = reader.next_record().expect("item").expect_err("io");
            assert_eq!(err.kind, IngestErrorKind::Io);
            assert!(err.message.contains("would block forever"));
            assert!(reader.next_record().is_none());
        }
    }

    #[test]
    fn sse_events() {
        let input = b": keep-alive\nevent: update\nid: 7\ndata: {\"a\":\ndata:  1}\n\nretry: 5\n\ndata:{\"b\":2}\r\n\r\ndata\ndata: {\"c\":3}\n\nevent: done\ndata: {\"d\":4}";
        let got = split_with(input, Mode::Auto, DEFAULT_RECORD_LIMIT);
        assert_eq!(
            got,
            vec![
                Ok(("{\"a\":\n 1}".into(), 1, 4)),
                Ok(("{\"b\":2}".into(), 2, 9)),
                Ok(("{\"c\":3}".into(), 3, 11)),
                Ok(("{\"d\":4}".into(), 4, 15)),
            ]
        );
        assert_eq!(
            trickle_texts(input, Mode::Auto, 1000),
            vec!["{\"a\":\n 1}", "{\"b\":2}", "{\"c\":3}", "{\"d\":4}"]
        );
    }

    #[test]
    fn line_numbers_survive_buffer_refills() {
        let mut input = String::new();
        for i in 0..20_000 {
            input.push_str(&format!(
                "{{\"i\":{i},\"pad\":\"{}\"}}\n",
                "p".repeat(i % 50)
            ));
            if i % 3 == 0 {
                input.push('\n');
            }
        }
        for mode in [Mode::Auto, Mode::Jsonl] {
            let mut reader = RecordReader::new(input.as_bytes(), mode, 1000);
            let mut expected_line = 1;
            let mut n = 0u64;
            while let Some(item) = reader.next_record() {
                let rec = item.expect("valid");
                let i = n as usize;
                assert_eq!(rec.line, expected_line, "{mode:?} record {i}");
                assert!(rec.bytes.starts_with(format!("{{\"i\":{i},").as_bytes()));
                n += 1;
                assert_eq!(rec.index, n);
                expected_line += if i % 3 == 0 { 2 } else { 1 };
            }
            assert_eq!(n, 20_000);
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic() {
        // Deterministic mutation fuzzing over all modes and tiny limits.
        let seed = b"\xEF\xBB\xBF{\"a\":[1,\"}\\\"{\"]}\n\x1e{\"b\":\n2}\ndata: {\"c\":3}\n\n: x\n[1] \"s\" -1 true\r\n";
        let alphabet = b"{}[]\",:\\ \n\r\x1e\x00\xffdat-1tn";
        let mut seen = 0usize;
        for i in 0..seed.len() {
            for &replacement in alphabet {
                let mut doc = seed.to_vec();
                doc[i] = replacement;
                for mode in [Mode::Auto, Mode::Jsonl, Mode::Json, Mode::Seq, Mode::Jq] {
                    for limit in [0, 3, 16, 1000] {
                        seen += split_with(&doc, mode, limit).len();
                        seen += split_with(&doc[..i], mode, limit).len();
                    }
                }
            }
        }
        assert!(seen > 0);
    }

    /// `cargo test --release -p plasmite-cli --lib ingest::tests::throughput -- --ignored --nocapture`
    #[test]
    #[ignore]
    fn throughput() {
        let mut input = Vec::new();
        for i in 0..1_000_000u64 {
            input.extend_from_slice(
                format!(
                    "{{\"ts\":{},\"level\":\"info\",\"msg\":\"request {i} handled\",\"path\":\"/api/v1/items/{i}\",\"ms\":{}}}\n",
                    1_700_000_000_000u64 + i,
                    i % 97
                )
                .as_bytes(),
            );
        }
        let mut seq_input = Vec::with_capacity(input.len() + 1_000_000);
        for line in input.split_inclusive(|&b| b == b'\n') {
            seq_input.push(RS);
            seq_input.extend_from_slice(line);
        }
        for mode in [Mode::Auto, Mode::Jsonl, Mode::Json, Mode::Seq] {
            let input = if mode == Mode::Seq {
                &seq_input
            } else {
                &input
            };
            let started = std::time::Instant::now();
            let mut reader = RecordReader::new(&input[..], mode, DEFAULT_RECORD_LIMIT);
            let (mut n, mut bytes) = (0u64, 0usize);
            while let Some(item) = reader.next_record() {
                bytes += item.expect("valid").bytes.len();
                n += 1;
            }
            let secs = started.elapsed().as_secs_f64();
            assert_eq!(n, 1_000_000);
            println!(
                "{mode:?}: {n} records, {:.1} MB in {:.3}s = {:.2} M records/s, {:.0} MB/s",
                input.len() as f64 / 1e6,
                secs,
                n as f64 / secs / 1e6,
                input.len() as f64 / secs / 1e6,
            );
            let _ = bytes;
        }
        // Same data through a real file, as `pls poke -f big.jsonl` reads it.
        let path = std::env::temp_dir().join(format!(
            "plasmite-ingest-bench-{}.jsonl",
            std::process::id()
        ));
        std::fs::write(&path, &input).expect("write temp file");
        let started = std::time::Instant::now();
        let file = std::fs::File::open(&path).expect("open temp file");
        let mut reader = RecordReader::new(file, Mode::Auto, DEFAULT_RECORD_LIMIT);
        let mut n = 0u64;
        while let Some(item) = reader.next_record() {
            item.expect("valid");
            n += 1;
        }
        let secs = started.elapsed().as_secs_f64();
        let _ = std::fs::remove_file(&path);
        assert_eq!(n, 1_000_000);
        println!("Auto from file: {:.2} M records/s", n as f64 / secs / 1e6);
    }
}
