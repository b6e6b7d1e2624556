//! Streams: `GET /v0/pools/{pool}/tail` (JSONL) and
//! `GET /v0/ui/pools/{pool}/events` (SSE).
//!
//! Everything that can fail (pool name, query, the pool itself, a free
//! stream slot) is decided before the 200 goes out. The body is written
//! chunk by chunk straight to the connection and flushed after every
//! message: tiny_http's own chunked responses buffer 8 KiB.
//!
//! Start: `since_seq` if given (clamped to the oldest retained message; a
//! seq beyond the newest waits for it), else the oldest retained message,
//! as upstream. `timeout_ms` is an idle timeout: the stream ends once that
//! long passes without a message to send.

use std::io::Write;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use plasmite::{Error, ErrorKind, Pool, Ready, Start};

use crate::http::{allowed_origin, percent_decode, respond_error, Fail, State};

/// Longest wait between checks of the shutdown flag.
const STOP_CHECK: Duration = Duration::from_millis(500);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum StreamKind {
    Jsonl,
    Sse,
}

#[derive(Debug, Default)]
pub(crate) struct TailQuery {
    pub(crate) since_seq: Option<u64>,
    pub(crate) max: Option<u64>,
    pub(crate) timeout_ms: u64,
    pub(crate) tags: Vec<String>,
}

fn bad(message: String) -> Fail {
    Fail {
        status: 400,
        error: Error::new(ErrorKind::Usage, message),
    }
}

impl TailQuery {
    pub(crate) fn parse(query: &str, max_timeout_ms: u64) -> Result<TailQuery, Fail> {
        let mut q = TailQuery {
            timeout_ms: max_timeout_ms,
            ..TailQuery::default()
        };
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let v = percent_decode(&v.replace('+', " "))
                .ok_or_else(|| bad(format!("invalid percent-encoding in query parameter {k}")))?;
            let num = |v: &str| {
                v.parse::<u64>().map_err(|_| {
                    bad(format!(
                        "invalid {k} {v:?}: expected a non-negative integer"
                    ))
                })
            };
            match k {
                "since_seq" => q.since_seq = Some(num(&v)?),
                "max" => q.max = Some(num(&v)?),
                "timeout_ms" => q.timeout_ms = num(&v)?,
                "tag" => {
                    let t = v.trim();
                    if !t.is_empty() {
                        q.tags.push(t.to_string());
                    }
                }
                _ => {}
            }
        }
        if q.timeout_ms > max_timeout_ms {
            return Err(Fail {
                status: 400,
                error: Error::new(ErrorKind::Usage, "tail timeout exceeds server limit")
                    .with_hint(format!("Use timeout_ms <= {max_timeout_ms}.")),
            });
        }
        Ok(q)
    }
}

/// Holds one of the `--max-tail-concurrency` slots.
struct Slot(Arc<State>);

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.tails.fetch_sub(1, Ordering::SeqCst);
    }
}

pub(crate) fn start(
    state: &Arc<State>,
    request: tiny_http::Request,
    kind: StreamKind,
    pool: Pool,
    q: TailQuery,
) {
    let max = state.config.max_tail_concurrency;
    if state.tails.fetch_add(1, Ordering::SeqCst) >= max {
        state.tails.fetch_sub(1, Ordering::SeqCst);
        let f = Fail {
            status: 423,
            error: Error::new(ErrorKind::Busy, "too many concurrent tail requests").with_hint(
                format!("This server streams to at most {max} clients at once; retry later."),
            ),
        };
        return respond_error(state, request, f);
    }
    let slot = Slot(state.clone());
    let start = match q.since_seq {
        None | Some(0) => Start::Oldest,
        Some(seq) => Start::Seq(seq),
    };
    let cursor = match pool.cursor(start) {
        Ok(c) => c.with_tags(q.tags.clone()),
        Err(e) => return respond_error(state, request, e.into()),
    };
    let origin = allowed_origin(state, &request);
    let spawned = std::thread::Builder::new()
        .name("pls-stream".into())
        .spawn(move || {
            let writer = request.into_writer();
            let _ = pump(&slot.0, writer, kind, cursor, &q, origin);
            drop(slot);
        });
    if spawned.is_err() {
        // The request moved into the closure and was dropped with it,
        // which closes the connection; the slot was released too.
    }
}

fn pump(
    state: &State,
    mut w: Box<dyn Write + Send>,
    kind: StreamKind,
    mut cursor: plasmite::Cursor,
    q: &TailQuery,
    origin: Option<String>,
) -> std::io::Result<()> {
    let content_type = match kind {
        StreamKind::Jsonl => "application/jsonl",
        StreamKind::Sse => "text/event-stream",
    };
    let mut head = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\nTransfer-Encoding: chunked\r\n\
         plasmite-version: 0\r\nCache-Control: no-cache, no-transform\r\n\
         X-Accel-Buffering: no\r\nConnection: close\r\n"
    );
    if let Some(o) = origin {
        head.push_str(&format!(
            "Access-Control-Allow-Origin: {o}\r\nVary: Origin\r\n"
        ));
    }
    head.push_str("\r\n");
    w.write_all(head.as_bytes())?;
    w.flush()?;
    let idle = Duration::from_millis(q.timeout_ms);
    let since = q.since_seq.unwrap_or(0);
    let mut last = Instant::now();
    let mut sent = 0u64;
    let mut line = Vec::with_capacity(512);
    let mut damaged = 0u32;
    loop {
        if state.stop.load(Ordering::SeqCst) || q.max.is_some_and(|m| sent >= m) {
            break;
        }
        let left = idle.saturating_sub(last.elapsed());
        if left.is_zero() {
            break;
        }
        match cursor.advance_wait(Some(left.min(STOP_CHECK))) {
            Ok(None) | Ok(Some(Ready::Dropped { .. })) => continue,
            Ok(Some(Ready::Message)) => {
                let Some(m) = cursor.current() else { continue };
                if m.seq < since {
                    continue;
                }
                line.clear();
                match kind {
                    StreamKind::Jsonl => {
                        m.write_json(&mut line);
                        line.push(b'\n');
                    }
                    StreamKind::Sse => {
                        line.extend_from_slice(
                            format!("id: {}\nevent: message\ndata: ", m.seq).as_bytes(),
                        );
                        m.write_json(&mut line);
                        line.extend_from_slice(b"\n\n");
                    }
                }
                chunk(&mut w, &line)?;
                sent += 1;
                last = Instant::now();
            }
            Err(e) if e.kind() == ErrorKind::Corrupt && damaged < 64 => {
                damaged += 1;
                cursor.skip_damaged();
            }
            Err(_) => break,
        }
    }
    w.write_all(b"0\r\n\r\n")?;
    w.flush()
}

fn chunk(w: &mut dyn Write, data: &[u8]) -> std::io::Result<()> {
    w.write_all(format!("{:x}\r\n", data.len()).as_bytes())?;
    w.write_all(data)?;
    w.write_all(b"\r\n")?;
    w.flush()
}
