//! `pls poke`: append one message, or a stream of them.
//!
//! A stream is read and validated on one thread while another appends what
//! has arrived so far as one batch (one lock hold, one publish): a fast
//! producer gets large batches, a trickle gets one message per batch and so
//! no added latency.

use std::fs::File;
use std::io::{self, BufWriter, IsTerminal, Read, Write};
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

use plasmite::json::CompactObject;
use plasmite::{Batch, Durability, Error, ErrorKind, Pool, RawMessage};
use serde_json::json;

use super::{emit, open_pool, shell_word, usage_error, Ctx, Outcome};
use crate::args::{self, ErrorPolicy, FileArg, InputFormat, PokeArgs};
use crate::ingest::{
    Framing, IngestError, IngestErrorKind, Mode, Record, RecordReader, DEFAULT_RECORD_LIMIT,
};
use crate::units;

/// Most records appended under one hold of the writer lock.
const MAX_BATCH: usize = 4096;

/// Validated options of one `poke`.
struct Plan {
    tags: Vec<String>,
    tag_block: Vec<u8>,
    durability: Durability,
    retry: u64,
    retry_delay: Duration,
}

enum Input {
    Inline(String),
    Stream(Box<dyn Read + Send>),
}

/// Runs `poke`.
pub fn run(ctx: &Ctx, a: PokeArgs) -> Outcome {
    if super::remote::is_ref(&a.pool) {
        return super::remote::poke(ctx, a);
    }
    if a.input == InputFormat::Jq && a.errors == ErrorPolicy::Skip {
        return Err(usage_error(
            "skip is not supported for jq-style streams",
            "Use --in jsonl or --in auto for resyncable streams.",
        ));
    }
    let create_size = match &a.create_size {
        Some(s) => units::parse_size(s).map_err(value_error)?,
        None => plasmite::DEFAULT_POOL_SIZE,
    };
    let retry_delay = match &a.retry_delay {
        Some(d) => units::parse_duration(d).map_err(value_error)?,
        None => Duration::from_millis(50),
    };
    let mut tag_block = vec![0u8; plasmite::core::tags::encoded_len(&a.tags)];
    plasmite::core::tags::encode(&a.tags, &mut tag_block);
    let plan = Plan {
        tags: a.tags.clone(),
        tag_block,
        durability: match a.durability {
            args::Durability::Fast => Durability::Fast,
            args::Durability::Flush => Durability::Flush,
        },
        retry: a.retry,
        retry_delay,
    };
    let input = if let Some(data) = &a.data {
        Input::Inline(data.clone())
    } else if let Some(file) = &a.file {
        match file {
            FileArg::Stdin => Input::Stream(Box::new(io::stdin())),
            FileArg::Path(p) => {
                let f = File::open(p).map_err(|e| {
                    Error::io(e, "open input file", p)
                        .with_hint("Check the path given to -f/--file.")
                })?;
                Input::Stream(Box::new(f))
            }
        }
    } else if !io::stdin().is_terminal() {
        Input::Stream(Box::new(io::stdin()))
    } else {
        return Err(usage_error(
            "missing data input",
            "Provide JSON via DATA, --file, or pipe JSON to stdin.",
        ));
    };

    match input {
        Input::Inline(text) => {
            // Bad data must not create a pool as a side effect.
            let data = CompactObject::parse(text.as_bytes())?;
            let pool = open(ctx, &a, create_size)?;
            let receipt = with_retry(&plan, || {
                let mut batch = pool.batch()?;
                let tags: Vec<&str> = plan.tags.iter().map(String::as_str).collect();
                let r = batch.append_object(&data, &tags)?;
                batch.finish(plan.durability)?;
                Ok(r)
            })?;
            let mut out = Vec::with_capacity(128);
            receipt_line(&plan, receipt, &mut out);
            let mut doc = Vec::with_capacity(256);
            ctx.term.write_document(&mut doc, &out);
            emit(&mut io::stdout().lock(), &doc)?;
            Ok(0)
        }
        Input::Stream(src) => {
            let pool = open(ctx, &a, create_size)?;
            let mode = match a.input {
                InputFormat::Auto => Mode::Auto,
                InputFormat::Jsonl => Mode::Jsonl,
                InputFormat::Json => Mode::Json,
                InputFormat::Seq => Mode::Seq,
                InputFormat::Jq => Mode::Jq,
            };
            ingest(ctx, &a, &plan, &pool, src, mode)
        }
    }
}

fn value_error(e: units::ValueError) -> Error {
    usage_error(e.message(), e.hint())
}

/// Opens the pool, creating it with `--create`.
fn open(ctx: &Ctx, a: &PokeArgs, size: u64) -> Result<Pool, Error> {
    open_pool(ctx, &a.pool, a.create.then_some(size), || retry_words(a))
}

/// The user's command again, with `--create` added.
fn retry_words(a: &PokeArgs) -> Vec<String> {
    let mut words = vec!["poke".into(), shell_word(&a.pool), "--create".into()];
    for t in &a.tags {
        words.push(format!("--tag {}", shell_word(t)));
    }
    if let Some(d) = &a.data {
        words.push(shell_word(d));
    }
    if let Some(FileArg::Path(p)) = &a.file {
        words.push(format!("--file {}", shell_word(&p.to_string_lossy())));
    }
    if a.durability != args::Durability::Fast {
        words.push(format!("--durability {}", a.durability.name()));
    }
    if a.input != InputFormat::Auto {
        words.push(format!("--in {}", a.input.name()));
    }
    if a.errors != ErrorPolicy::Stop {
        words.push(format!("--errors {}", a.errors.name()));
    }
    words
}

/// Runs `f` up to `--retry` more times while the pool is busy or I/O fails.
fn with_retry<T>(plan: &Plan, f: impl FnMut() -> Result<T, Error>) -> Result<T, Error> {
    let transient = |e: &Error| matches!(e.kind(), ErrorKind::Busy | ErrorKind::Io);
    super::with_retry(plan.retry, plan.retry_delay, transient, f)
}

fn receipt_line(plan: &Plan, r: plasmite::Receipt, out: &mut Vec<u8>) {
    RawMessage {
        seq: r.seq,
        time_ns: r.time_ns,
        tags_json: &plan.tag_block,
        data: b"",
    }
    .write_receipt(out);
}

/// One item from the reading thread.
enum Item {
    Record {
        index: u64,
        line: u64,
        len: usize,
        data: Result<CompactObject, Error>,
    },
    Bad(IngestError, Option<Framing>),
}

/// Records read ahead and handed to the appender together.
type Chunk = Vec<Item>;

/// Most records per chunk.
const CHUNK: usize = 256;

/// Reads and validates records on a thread of its own, handing them over in
/// chunks. A chunk also goes out whenever the reader is about to wait for
/// more input, so a slow producer's records are never held back. Spent
/// chunks and data buffers come back through `free` for reuse.
fn spawn_reader(
    src: Box<dyn Read + Send>,
    mode: Mode,
) -> (Receiver<Chunk>, mpsc::Sender<Vec<Vec<u8>>>) {
    let (tx, rx) = mpsc::sync_channel::<Chunk>(MAX_BATCH / CHUNK);
    let (free_tx, free_rx) = mpsc::channel::<Vec<Vec<u8>>>();
    std::thread::spawn(move || {
        let pending = std::rc::Rc::new(std::cell::RefCell::new(Vec::with_capacity(CHUNK)));
        let src = FlushBeforeRead {
            inner: src,
            pending: pending.clone(),
            tx: tx.clone(),
        };
        let mut reader = RecordReader::new(
            io::BufReader::with_capacity(1 << 16, src),
            mode,
            DEFAULT_RECORD_LIMIT,
        );
        let mut spares: Vec<Vec<u8>> = Vec::new();
        while let Some(next) = reader.next_record() {
            if spares.is_empty() {
                // Reclaim the buffers of chunks the appender is done with.
                while let Ok(bufs) = free_rx.try_recv() {
                    spares.extend(bufs);
                }
            }
            let item = match next {
                Ok(rec) => record_item(rec, spares.pop().unwrap_or_default()),
                Err(e) => Err(e),
            };
            let item = item.unwrap_or_else(|e| Item::Bad(e, reader.framing()));
            let full = {
                let mut p = pending.borrow_mut();
                p.push(item);
                p.len() >= CHUNK
            };
            if full && !send(&pending, &tx) {
                return;
            }
        }
        send(&pending, &tx);
    });
    (rx, free_tx)
}

/// Validates one record. Malformed JSON is a framing problem, skippable
/// under `--errors skip`; well-formed JSON that is not an object is bad data
/// and stops the stream (see `handle`).
fn record_item(rec: Record<'_>, buf: Vec<u8>) -> Result<Item, IngestError> {
    match CompactObject::parse_into(rec.bytes, buf) {
        Err(e) if serde_json::from_slice::<serde_json::Value>(rec.bytes).is_err() => {
            Err(IngestError::invalid_record(&rec, e.message()))
        }
        data => Ok(Item::Record {
            index: rec.index,
            line: rec.line,
            len: rec.bytes.len(),
            data,
        }),
    }
}

/// Sends the pending chunk, if any; false once the appender has gone.
fn send(pending: &std::cell::RefCell<Chunk>, tx: &mpsc::SyncSender<Chunk>) -> bool {
    let chunk = std::mem::replace(&mut *pending.borrow_mut(), Vec::with_capacity(CHUNK));
    chunk.is_empty() || tx.send(chunk).is_ok()
}

/// Hands over the records read so far before every read that may block.
struct FlushBeforeRead {
    inner: Box<dyn Read + Send>,
    pending: std::rc::Rc<std::cell::RefCell<Chunk>>,
    tx: mpsc::SyncSender<Chunk>,
}

impl Read for FlushBeforeRead {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if !send(&self.pending, &self.tx) {
            return Err(io::Error::new(
                io::ErrorKind::BrokenPipe,
                "appender stopped",
            ));
        }
        self.inner.read(buf)
    }
}

/// Counts for the summary and the progress line.
#[derive(Default)]
struct Tally {
    total: u64,
    ok: u64,
    skipped: u64,
    bytes: u64,
}

fn ingest(
    ctx: &Ctx,
    a: &PokeArgs,
    plan: &Plan,
    pool: &Pool,
    src: Box<dyn Read + Send>,
    mode: Mode,
) -> Outcome {
    let (rx, free) = spawn_reader(src, mode);
    let stdout = io::stdout();
    let mut out = BufWriter::with_capacity(1 << 16, stdout.lock());
    let mut line = Vec::with_capacity(128);
    let mut tally = Tally::default();
    let mut progress = Progress::new(ctx.term.stderr_tty);
    let tags: Vec<&str> = plan.tags.iter().map(String::as_str).collect();
    let mut receipts_ok = true;

    while let Ok(first) = rx.recv() {
        let mut batch = with_retry(plan, || pool.batch())?;
        let mut next = Some(first);
        let mut n = 0;
        while let Some(chunk) = next {
            let len = chunk.len();
            let mut spent = Vec::with_capacity(len);
            for item in chunk {
                let appended = handle(
                    ctx, a, pool, &mut batch, &tags, item, &mut tally, &mut spent,
                )?;
                if let (Some(r), true) = (appended, receipts_ok) {
                    line.clear();
                    receipt_line(plan, r, &mut line);
                    line.push(b'\n');
                    // Nobody reading the receipts is no reason to stop
                    // ingesting: keep appending, stop printing.
                    receipts_ok = out.write_all(&line).is_ok();
                }
            }
            n += len;
            let _ = free.send(spent);
            next = if n < MAX_BATCH {
                rx.try_recv().ok()
            } else {
                None
            };
        }
        batch.finish(plan.durability)?;
        if receipts_ok {
            receipts_ok = out.flush().is_ok();
        }
        progress.tick(&tally);
    }
    progress.finish();
    let _ = out.flush();
    if tally.total == 0 {
        return Err(usage_error(
            "missing data input",
            "Provide JSON via DATA, --file, or pipe JSON to stdin.",
        ));
    }
    if tally.skipped > 0 {
        ctx.term.notice(
            "ingest_summary",
            "poke",
            &a.pool,
            "ingestion completed with skipped records",
            json!({"failed": tally.skipped, "ok": tally.ok, "pool_path": pool.path(), "total": tally.total}),
        );
        return Ok(1);
    }
    Ok(0)
}

/// Appends one item, or reports or skips a bad one. Returns the receipt of
/// an appended record.
#[allow(clippy::too_many_arguments)]
fn handle(
    ctx: &Ctx,
    a: &PokeArgs,
    pool: &Pool,
    batch: &mut Batch<'_>,
    tags: &[&str],
    item: Item,
    tally: &mut Tally,
    spent: &mut Vec<Vec<u8>>,
) -> Result<Option<plasmite::Receipt>, Error> {
    tally.total += 1;
    match item {
        Item::Record {
            index,
            line,
            len,
            data,
        } => {
            tally.bytes += len as u64;
            // A record that is JSON but not an object is a data error, not
            // a framing error: it stops the stream even under --errors skip.
            let data = data.map_err(|e| record_error(e, index, line))?;
            let r = batch
                .append_object(&data, tags)
                .map_err(|e| record_error(e, index, line))?;
            spent.push(data.into_inner());
            tally.ok += 1;
            Ok(Some(r))
        }
        Item::Bad(e, framing) if a.errors == ErrorPolicy::Skip && e.kind != IngestErrorKind::Io => {
            tally.skipped += 1;
            let mode = framing.map_or("jsonl", Framing::as_str);
            ctx.term.notice(
                "ingest_skip",
                "poke",
                &a.pool,
                &format!("skipped {e}"),
                json!({
                    "error_kind": e.kind.as_str(),
                    "index": e.index,
                    "line": e.line,
                    "mode": mode,
                    "pool_path": pool.path(),
                    "snippet": e.snippet,
                }),
            );
            Ok(None)
        }
        Item::Bad(e, _) => {
            let (kind, message, hint) = match e.kind {
                IngestErrorKind::Oversize => (ErrorKind::Usage, "record too large", None),
                IngestErrorKind::Parse => (
                    ErrorKind::Usage,
                    "invalid json input",
                    Some(if a.input == InputFormat::Jq {
                        "Use --in jsonl or --in auto for resyncable streams."
                    } else {
                        "Use -e skip to continue or select the correct input mode."
                    }),
                ),
                IngestErrorKind::Io => (ErrorKind::Io, "reading input failed", None),
            };
            let mut err = Error::new(kind, format!("{message}: {e}"));
            if let Some(h) = hint {
                err = err.with_hint(format!("{h} Records before it were appended."));
            }
            Err(err)
        }
    }
}

/// Names the record an error belongs to, keeping the error's kind.
fn record_error(e: Error, index: u64, line: u64) -> Error {
    let mut out = Error::new(
        e.kind(),
        format!("record {index} (line {line}): {}", e.message()),
    );
    let hint = e.hint().map_or(String::new(), |h| format!("{h} "));
    out = out.with_hint(format!("{hint}Records before it were appended."));
    if let Some(p) = e.path() {
        out = out.with_path(p);
    }
    out
}

/// A one-line progress report on a terminal's stderr for long ingests.
struct Progress {
    enabled: bool,
    started: Instant,
    last: Instant,
    shown: bool,
}

impl Progress {
    fn new(enabled: bool) -> Self {
        let now = Instant::now();
        Progress {
            enabled,
            started: now,
            last: now,
            shown: false,
        }
    }

    fn tick(&mut self, t: &Tally) {
        if !self.enabled || self.last.elapsed() < Duration::from_millis(250) {
            return;
        }
        let secs = self.started.elapsed().as_secs_f64();
        if secs < 1.0 {
            return;
        }
        self.last = Instant::now();
        self.shown = true;
        let rate = t.ok as f64 / secs;
        let mut err = io::stderr().lock();
        let _ = write!(
            err,
            "\r\x1b[K{} records, {:.1} MB, {:.0} records/s",
            t.ok,
            t.bytes as f64 / 1e6,
            rate
        );
        let _ = err.flush();
    }

    fn finish(&mut self) {
        if self.shown {
            let _ = write!(io::stderr().lock(), "\r\x1b[K");
        }
    }
}
