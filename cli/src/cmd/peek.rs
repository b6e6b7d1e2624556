//! `pls peek`: print messages as they arrive, after an optional look back.
//!
//! History (`--tail`, `--since`) is found through the seq index and read
//! forward, so it costs time in proportion to what is printed, never to the
//! pool's size. Following sleeps on the pool's futex between messages.

use std::io::{self, BufWriter, Write};
use std::time::{Duration, Instant};

use plasmite::filter::Filter;
use plasmite::{Cursor, Error, ErrorKind, Pool, RawMessage, Ready, Resume, Start, TailOptions};
use serde_json::json;

use super::{emit, open_pool, shell_word, stdout_error, usage_error, Ctx, Outcome, EXIT_TIMEOUT};
use crate::args::{OutputFormat, PeekArgs};
use crate::{pretty, units};

/// Runs `peek`.
pub fn run(ctx: &Ctx, a: PeekArgs) -> Outcome {
    if super::remote::is_ref(&a.pool) {
        return super::remote::peek(ctx, a);
    }
    let Some(Options {
        since,
        timeout,
        filter,
        replay,
    }) = Options::parse(&a)?
    else {
        // Nothing can have been appended at a future time yet.
        return Ok(0);
    };
    let pool = open(ctx, &a)?;
    let pretty = match a.format {
        Some(OutputFormat::Pretty) => true,
        Some(OutputFormat::Jsonl) => false,
        None => ctx.term.stdout_tty,
    };
    let mut peek = Peek {
        ctx,
        a: &a,
        pool: &pool,
        filter,
        pretty,
        color: ctx.term.color_stdout(),
        out: BufWriter::with_capacity(1 << 16, io::stdout().lock()),
        envelope: Vec::with_capacity(512),
        line: Vec::with_capacity(1024),
        drops: Drops::default(),
        last_seen: None,
        named: None,
        unacked: None,
    };
    peek.run(since, timeout, replay)
}

/// The values of peek's options, parsed and checked the same way for local
/// and remote pools.
pub(super) struct Options {
    /// `--since`, ns since the epoch.
    pub(super) since: Option<u64>,
    /// `--timeout`.
    pub(super) timeout: Option<Duration>,
    /// `--where`, compiled.
    pub(super) filter: Filter,
    /// `--replay` speed.
    pub(super) replay: Option<f64>,
}

impl Options {
    /// Parses peek's option values; `None` when `--since` lies in the
    /// future, so there is nothing to show.
    pub(super) fn parse(a: &PeekArgs) -> Result<Option<Options>, Error> {
        let unit = |e: units::ValueError| usage_error(e.message(), e.hint());
        let now = plasmite::time::now_ns();
        let since = a
            .since
            .as_deref()
            .map(|s| units::parse_since(s, now))
            .transpose()
            .map_err(unit)?;
        let timeout = a
            .timeout
            .as_deref()
            .map(units::parse_duration)
            .transpose()
            .map_err(unit)?;
        let filter = Filter::compile(&a.wheres).map_err(Error::from)?;
        let replay = a
            .replay
            .as_deref()
            .map(units::parse_replay_speed)
            .transpose()
            .map_err(unit)?;
        if replay.is_some() && a.tail == 0 && since.is_none() {
            return Err(usage_error(
                "--replay requires --tail or --since",
                "Pick the history to replay, e.g. --tail 100 or --since 1h (speed 1 = real time, 2 = twice as fast, 0 = no delay).",
            ));
        }
        if since.is_some_and(|t| t > now) {
            return Ok(None);
        }
        Ok(Some(Options {
            since,
            timeout,
            filter,
            replay,
        }))
    }
}

fn open(ctx: &Ctx, a: &PeekArgs) -> Result<Pool, Error> {
    let create = a.create.then_some(plasmite::DEFAULT_POOL_SIZE);
    open_pool(ctx, &a.pool, create, || {
        let mut words = vec!["peek".into(), shell_word(&a.pool), "--create".into()];
        for t in &a.tags {
            words.push(format!("--tag {}", shell_word(t)));
        }
        for w in &a.wheres {
            words.push(format!("--where {}", shell_word(w)));
        }
        words
    })
}

/// Drop notices. Each gap in what a follower saw is reported exactly once,
/// with the seqs on either side; consecutive drops (nothing seen between)
/// make one gap, and notices go out at most once a second, the rest queued
/// until then (or until peek ends).
#[derive(Default)]
struct Drops {
    /// Messages missed since the last message seen.
    pending: u64,
    /// The last message seen before them.
    last_seen: Option<u64>,
    /// Gaps not reported yet: (count, last seen, next seen).
    queue: std::collections::VecDeque<(u64, Option<u64>, u64)>,
    last_notice: Option<Instant>,
}

/// Least time between two drop notices.
const NOTICE_EVERY: Duration = Duration::from_secs(1);

struct Peek<'a> {
    ctx: &'a Ctx,
    a: &'a PeekArgs,
    pool: &'a Pool,
    filter: Filter,
    pretty: bool,
    color: bool,
    out: BufWriter<io::StdoutLock<'static>>,
    envelope: Vec<u8>,
    line: Vec<u8>,
    drops: Drops,
    last_seen: Option<u64>,
    /// The durable named reader (`--name`), if any.
    named: Option<Resume>,
    /// With `--name`: messages printed since the last stored position, and
    /// the position after the last of them.
    unacked: Option<(u64, u64)>,
}

impl Peek<'_> {
    fn run(
        &mut self,
        since: Option<u64>,
        timeout: Option<Duration>,
        replay: Option<f64>,
    ) -> Outcome {
        let outcome = self.run_inner(since, timeout, replay);
        // Drops still queued by the once-a-second limit are reported now.
        self.send_notices(true);
        // What was printed (and reached stdout) is acknowledged, whatever
        // ended the run; an unwritable stdout acknowledges nothing more.
        let acked = self.acknowledge();
        outcome.and_then(|code| acked.map(|()| code))
    }

    /// Writes the rendered line; with `--name`, every `--ack-every` lines
    /// flushes stdout and then stores `next_seq` as the reader's position,
    /// so a message is acknowledged only once it is out (at-least-once).
    fn emit_line(&mut self, next_seq: u64) -> Result<(), Error> {
        emit(&mut self.out, &self.line)?;
        if self.named.is_some() {
            let n = self.unacked.map_or(0, |(n, _)| n) + 1;
            self.unacked = Some((n, next_seq));
            if n >= self.a.ack_every {
                self.acknowledge()?;
            }
        }
        Ok(())
    }

    fn acknowledge(&mut self) -> Result<(), Error> {
        if let (Some(r), Some((_, next_seq))) = (&self.named, self.unacked) {
            self.out.flush().map_err(stdout_error)?;
            r.store(next_seq);
            self.unacked = None;
        }
        Ok(())
    }

    fn run_inner(
        &mut self,
        since: Option<u64>,
        timeout: Option<Duration>,
        replay: Option<f64>,
    ) -> Outcome {
        let a = self.a;
        let tags = a.tags.clone();
        // History first: the last N matches, or everything since a time.
        let (start, history) = if a.tail > 0 {
            (self.tail_start(a.tail)?, true)
        } else if let Some(t) = since {
            (Start::Time(t), true)
        } else {
            (Start::Newest, false)
        };
        let (start, history) = match &a.name {
            Some(name) => {
                let r = self.pool.resume(name, start)?;
                // Evicted while this reader was away: reported as a drop.
                self.drops.pending += r.missed();
                let start = r.start();
                self.named = Some(r);
                // A resumed reader first prints its backlog.
                (start, true)
            }
            None => (start, history),
        };
        let mut cursor = self.pool.cursor(start)?.with_tags(tags);
        if let Some(speed) = replay {
            return self.replay(&mut cursor, speed);
        }
        // With --one, print the target-th match: the first, or with --tail N
        // the N-th counting from the start of the tail window (so the newest
        // of N historical matches, else a later live one).
        let target = a.tail.max(1);
        let mut matched = 0u64;
        if history {
            while let Some(r) = self.step(&mut cursor, None)? {
                if !self.accept(r, &cursor)? {
                    continue;
                }
                matched += 1;
                if a.one && matched < target {
                    continue;
                }
                self.render(&cursor);
                self.emit_line(cursor.position().seq)?;
                if a.one {
                    self.flush()?;
                    return Ok(0);
                }
            }
            self.flush()?;
        }
        let mut deadline = timeout.map(|t| Instant::now() + t);
        let mut poll = Duration::from_millis(1);
        loop {
            self.send_notices(false);
            let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
            if left == Some(Duration::ZERO) {
                self.flush()?;
                return Ok(EXIT_TIMEOUT);
            }
            // Wake up in time for a queued drop notice, too.
            let notice = self
                .notice_due_in()
                .map(|d| d.max(Duration::from_millis(1)));
            let wait = match (left, notice) {
                (Some(l), Some(n)) => Some(l.min(n)),
                (l, n) => l.or(n),
            };
            let r = if a.no_notify {
                let r = self.step(&mut cursor, None)?;
                if r.is_none() {
                    std::thread::sleep(wait.map_or(poll, |w| poll.min(w)));
                    poll = (poll * 2).min(Duration::from_millis(50));
                }
                r
            } else {
                self.step(&mut cursor, Some(wait))?
            };
            let Some(r) = r else { continue };
            poll = Duration::from_millis(1);
            if !self.accept(r, &cursor)? {
                continue;
            }
            matched += 1;
            if a.one && matched < target {
                continue;
            }
            self.render(&cursor);
            self.emit_line(cursor.position().seq)?;
            self.flush()?;
            if a.one {
                return Ok(0);
            }
            deadline = timeout.map(|t| Instant::now() + t);
        }
    }

    /// Where history starts for `--tail n`: the n-th newest message that
    /// passes the filters (the library's tail search, which reads about as
    /// many messages as it will print).
    fn tail_start(&mut self, n: u64) -> Result<Start, Error> {
        if self.filter.is_empty() && self.a.tags.is_empty() {
            return Ok(Start::Last(n));
        }
        let filter = Filter::compile(&self.a.wheres).map_err(Error::from)?;
        let opts = TailOptions::default()
            .last(n)
            .tags(self.a.tags.clone())
            .filter(filter);
        Ok(Start::Seq(self.pool.tail(opts)?.next_seq()))
    }

    /// Plays history back with the original spacing, divided by `speed`.
    fn replay(&mut self, cursor: &mut Cursor, speed: f64) -> Outcome {
        let mut prev: Option<u64> = None;
        let started = Instant::now();
        let mut offset = Duration::ZERO;
        while let Some(r) = self.step(cursor, None)? {
            if !self.accept(r, cursor)? {
                continue;
            }
            let Some(time_ns) = cursor.current().map(|m| m.time_ns) else {
                continue;
            };
            if let (Some(p), true) = (prev, speed > 0.0) {
                offset += Duration::from_nanos(time_ns.saturating_sub(p)).div_f64(speed);
                let due = started + offset;
                let now = Instant::now();
                if due > now {
                    self.flush()?;
                    std::thread::sleep(due - now);
                }
            }
            prev = Some(time_ns);
            self.render(cursor);
            self.emit_line(cursor.position().seq)?;
            if self.a.one {
                break;
            }
        }
        self.flush()?;
        Ok(0)
    }

    /// Whether the event is a message to print; notes drops.
    fn accept(&mut self, r: Ready, c: &Cursor) -> Result<bool, Error> {
        let m = match (r, c.current()) {
            (Ready::Message, Some(m)) => m,
            (Ready::Dropped { missed }, _) => {
                self.drops.pending += missed;
                if self.drops.last_seen.is_none() {
                    self.drops.last_seen = self.last_seen;
                }
                return Ok(false);
            }
            (Ready::Message, None) => return Ok(false),
        };
        self.note_drops(m.seq);
        self.last_seen = Some(m.seq);
        self.passes(&m)
    }

    fn note_drops(&mut self, next_seq: u64) {
        let d = &mut self.drops;
        if d.pending > 0 && !self.a.quiet_drops {
            d.queue.push_back((d.pending, d.last_seen, next_seq));
        }
        d.pending = 0;
        d.last_seen = None;
        self.send_notices(false);
    }

    /// Reports queued drops: one, if a second has passed since the last
    /// notice, or all of them when peek is about to end.
    fn send_notices(&mut self, all: bool) {
        while let Some(&(count, last_seen, next_seen)) = self.drops.queue.front() {
            let due = self
                .drops
                .last_notice
                .is_none_or(|t| t.elapsed() >= NOTICE_EVERY);
            if !all && !due {
                return;
            }
            self.drops.queue.pop_front();
            let details = json!({
                "dropped_count": count,
                "last_seen_seq": last_seen,
                "next_seen_seq": next_seen,
                "pool_path": self.pool.path(),
            });
            let msg = format!("dropped {count} messages");
            self.ctx
                .term
                .notice("drop", "peek", &self.a.pool, &msg, details);
            self.drops.last_notice = Some(Instant::now());
        }
    }

    /// How long the follow loop may sleep before a queued notice is due.
    fn notice_due_in(&self) -> Option<Duration> {
        self.drops.queue.front()?;
        let since = self.drops.last_notice.map_or(NOTICE_EVERY, |t| t.elapsed());
        Some(NOTICE_EVERY.saturating_sub(since))
    }

    /// Whether a message passes `--where` (tags were checked by the cursor).
    fn passes(&mut self, m: &RawMessage<'_>) -> Result<bool, Error> {
        if self.filter.is_empty() {
            return Ok(true);
        }
        self.envelope.clear();
        m.write_json(&mut self.envelope);
        self.filter.matches(&self.envelope).map_err(Error::from)
    }

    /// Renders the cursor's current message into `self.line`.
    fn render(&mut self, c: &Cursor) {
        self.line.clear();
        let Some(m) = c.current() else { return };
        let body: &[u8] = if self.a.data_only {
            m.data
        } else {
            self.envelope.clear();
            m.write_json(&mut self.envelope);
            &self.envelope
        };
        if !self.pretty || pretty::write_pretty(body, self.color, &mut self.line).is_err() {
            self.line.extend_from_slice(body);
        }
        self.line.push(b'\n');
    }

    /// Moves the cursor to its next event, waiting when `wait` is given (an
    /// inner `None` waits forever). A damaged message is stepped over with a
    /// notice, so one bad frame does not stop a reader.
    fn step(&self, c: &mut Cursor, wait: Option<Option<Duration>>) -> Result<Option<Ready>, Error> {
        loop {
            let r = match wait {
                Some(w) => c.advance_wait(w),
                None => c.advance(),
            };
            match r {
                Err(e) if e.kind() == ErrorKind::Corrupt => {
                    let skipped = c.skip_damaged();
                    let details = json!({
                        "error": e.message(),
                        "offset": e.offset(),
                        "pool_path": self.pool.path(),
                        "seq": e.seq(),
                        "skipped": skipped,
                    });
                    let msg = "skipped a damaged message";
                    self.ctx
                        .term
                        .notice("corrupt", "peek", &self.a.pool, msg, details);
                }
                other => return other,
            }
        }
    }

    fn flush(&mut self) -> Result<(), Error> {
        self.out.flush().map_err(stdout_error)
    }
}
