//! `NativePool`: appends, reads by seq, and tails of one open pool.

use std::cell::RefCell;
use std::time::Duration;

use napi::bindgen_prelude::*;
use napi_derive::napi;
use plasmite::json::CompactObject;
use plasmite::{Durability, Pool, RawMessage, Start};

use crate::dir::whole_number;
use crate::error::{usage, OrThrow};
use crate::tail::NativeTail;

/// An open pool. Cheap to keep open: one mapping, shared by its tails.
#[napi]
pub struct NativePool {
    pool: Pool,
    name: String,
    // Reused between appends so a hot append loop does not allocate.
    scratch: RefCell<Scratch>,
}

#[derive(Default)]
struct Scratch {
    data: Vec<u8>,
    tags: Vec<u8>,
}

/// What an append returns: the message's seq and its append time
/// (RFC 3339, UTC, nanoseconds).
#[napi(object)]
pub struct Receipt {
    /// The seq the message got.
    pub seq: f64,
    /// When it was appended.
    pub time: String,
}

/// Where a tail starts, what it keeps and when it ends.
#[napi(object)]
pub struct TailOptions {
    /// Start at the first retained message with seq ≥ this.
    pub since_seq: Option<f64>,
    /// Start at the last this-many messages that pass the filters.
    pub last: Option<f64>,
    /// End after this many messages.
    pub max: Option<f64>,
    /// End once this long passes without a message (an idle timeout).
    pub idle_timeout_ms: Option<f64>,
    /// Keep only messages carrying every one of these tags.
    pub tags: Option<Vec<String>>,
    /// Keep only messages every one of these jq predicates accepts.
    #[napi(js_name = "where")]
    pub filters: Option<Vec<String>>,
    /// Batches as envelopes one per line (for callers that want each
    /// envelope's text) instead of one JSON array (for one `JSON.parse`).
    pub lines: Option<bool>,
    /// A durable named reader: its position is kept in the pool under this
    /// name, and a later tail with the same name resumes right after the
    /// last acknowledged message (the start options apply only when the
    /// reader is created). 1 to 32 characters of `[A-Za-z0-9._-]`, else a
    /// Usage error.
    pub name: Option<String>,
    /// With `name`: acknowledge each message when the next one is asked for
    /// (default true); false leaves acknowledging to `NativeTail.ack`.
    /// Ignored without `name`.
    pub auto_ack: Option<bool>,
}

/// A durable named reader of a pool and its stored position.
#[napi(object)]
pub struct ReaderInfo {
    /// The reader's name.
    pub name: String,
    /// The seq it reads next: every message before it is acknowledged.
    pub next_seq: f64,
    /// When it last acknowledged, in ns since the Unix epoch (a number, so
    /// exact to within 256 ns, like `timeNs`).
    pub acked_ns: f64,
    /// When it was created, in ns since the Unix epoch (a number, as above).
    pub created_ns: f64,
}

impl NativePool {
    pub(crate) fn new(pool: Pool, name: String) -> Self {
        NativePool {
            pool,
            name,
            scratch: RefCell::default(),
        }
    }

    /// Validates `data` (JSON object text), appends it, and hands the stored
    /// message to `f` (to build a receipt or an envelope).
    fn append_with<T>(
        &self,
        data: &[u8],
        tags: &[String],
        flush: bool,
        f: impl FnOnce(RawMessage<'_>) -> T,
    ) -> plasmite::Result<T> {
        let mut scratch = self.scratch.borrow_mut();
        let scratch = &mut *scratch;
        // Validate and compact before taking the writer lock.
        let object = CompactObject::parse_into(data, std::mem::take(&mut scratch.data))?;
        let tag_refs: Vec<&str> = tags.iter().map(String::as_str).collect();
        let result = (|| {
            let mut batch = self.pool.batch()?;
            let receipt = batch.append_object(&object, &tag_refs)?;
            let durability = if flush {
                Durability::Flush
            } else {
                Durability::Fast
            };
            batch.finish(durability)?;
            scratch
                .tags
                .resize(plasmite::core::tags::encoded_len(&tag_refs), 0);
            plasmite::core::tags::encode(&tag_refs, &mut scratch.tags);
            Ok(f(RawMessage {
                seq: receipt.seq,
                time_ns: receipt.time_ns,
                tags_json: &scratch.tags,
                data: object.as_bytes(),
            }))
        })();
        scratch.data = object.into_inner();
        result
    }
}

#[napi]
impl NativePool {
    /// The pool file's path.
    #[napi(getter)]
    pub fn path(&self) -> String {
        self.pool.path().to_string_lossy().into_owned()
    }

    /// The reference the pool was opened with.
    #[napi(getter)]
    pub fn name(&self) -> String {
        self.name.clone()
    }

    /// Appends one message whose data is JSON object text; returns the
    /// receipt. `flush` waits until it is on disk.
    #[napi]
    pub fn append_text(
        &self,
        env: Env,
        data: Either<String, BufferSlice>,
        tags: Option<Vec<String>>,
        flush: bool,
    ) -> Result<Receipt> {
        let bytes = bytes_of(&data);
        self.append_with(bytes, tags.as_deref().unwrap_or(&[]), flush, |m| Receipt {
            seq: m.seq as f64,
            time: plasmite::time::rfc3339(m.time_ns),
        })
        .or_throw(&env)
    }

    /// Appends one message whose data is JSON object text; returns the
    /// stored message's envelope `{"data":…,"meta":{"tags":[…]},"seq":…,"time":…}`
    /// as bytes.
    #[napi]
    pub fn append_json(
        &self,
        env: Env,
        data: Either<String, BufferSlice>,
        tags: Option<Vec<String>>,
        flush: bool,
    ) -> Result<BufferSlice<'_>> {
        let bytes = bytes_of(&data);
        let envelope = self
            .append_with(bytes, tags.as_deref().unwrap_or(&[]), flush, |m| {
                let mut out = Vec::with_capacity(m.data.len() + 96);
                m.write_json(&mut out);
                out
            })
            .or_throw(&env)?;
        // A copy into a V8-owned buffer: for small messages far cheaper than
        // an external buffer with a finalizer.
        BufferSlice::copy_from(&env, envelope)
    }

    /// The envelope of the message with `seq`, as text.
    #[napi]
    pub fn get_text(&self, env: Env, seq: f64) -> Result<String> {
        let seq = whole_number(seq, "seq").or_throw(&env)?;
        let m = self.pool.get(seq).or_throw(&env)?;
        Ok(m.to_json())
    }

    /// The envelope of the message with `seq`, as bytes.
    #[napi]
    pub fn get_json(&self, env: Env, seq: f64) -> Result<BufferSlice<'_>> {
        let text = self.get_text(env, seq)?;
        BufferSlice::copy_from(&env, text)
    }

    /// The pool's info as JSON text (see `NativeDir.infoJson`).
    #[napi]
    pub fn info_json(&self, env: Env) -> Result<String> {
        let info = self.pool.info().or_throw(&env)?;
        Ok(info
            .to_json(&self.name, plasmite::time::now_ns())
            .to_string())
    }

    /// Opens a tail. Bad options (a jq predicate that does not compile, a
    /// negative count, an invalid reader name) fail here, before any
    /// message is read. A named tail creates its reader here if it is new.
    #[napi]
    pub fn open_tail(&self, env: Env, options: TailOptions) -> Result<NativeTail> {
        let lines = options.lines.unwrap_or(false);
        let name = options.name.clone();
        let opts = tail_options(options).or_throw(&env)?;
        let tail = self.pool.tail(opts).or_throw(&env)?;
        // The tail has found or created the reader; this handle stores the
        // positions `NativeTail.ack` asks for without taking the tail.
        let resume = match &name {
            Some(name) => Some(self.pool.resume(name, Start::Oldest).or_throw(&env)?),
            None => None,
        };
        Ok(NativeTail::new(tail, lines, resume))
    }

    /// Every durable named reader of this pool, in table order.
    #[napi]
    pub fn readers(&self) -> Vec<ReaderInfo> {
        self.pool
            .readers()
            .into_iter()
            .map(|r| ReaderInfo {
                name: r.name,
                // Seqs stay far below 2^53, where f64 is exact.
                next_seq: r.next_seq as f64,
                acked_ns: r.acked_ns as f64,
                created_ns: r.created_ns as f64,
            })
            .collect()
    }

    /// Forgets the named reader `name`: the next tail of that name starts
    /// anew. NotFound if there is no such reader.
    #[napi]
    pub fn delete_reader(&self, env: Env, name: String) -> Result<()> {
        self.pool.delete_reader(&name).or_throw(&env)
    }
}

fn bytes_of<'a>(data: &'a Either<String, BufferSlice<'_>>) -> &'a [u8] {
    match data {
        Either::A(s) => s.as_bytes(),
        Either::B(b) => b,
    }
}

fn tail_options(o: TailOptions) -> plasmite::Result<plasmite::TailOptions> {
    let mut opts = plasmite::TailOptions::default();
    if let Some(s) = o.since_seq {
        opts = opts.since_seq(whole_number(s, "sinceSeq")?);
    }
    if let Some(n) = o.last {
        opts = opts.last(whole_number(n, "last")?);
    }
    if let Some(n) = o.max {
        opts = opts.max(whole_number(n, "maxMessages")?);
    }
    if let Some(ms) = o.idle_timeout_ms {
        opts = opts.idle_timeout(Duration::from_millis(whole_number(ms, "timeoutMs")?));
    }
    if let Some(tags) = o.tags {
        opts = opts.tags(tags);
    }
    if let Some(name) = o.name {
        opts = opts.name(name).auto_ack(o.auto_ack.unwrap_or(true));
    }
    let exprs = o.filters.unwrap_or_default();
    let filter = plasmite::filter::Filter::compile(&exprs).map_err(|e| usage(e.to_string()))?;
    Ok(opts.filter(filter))
}
