//! The workloads behind `pls bench` and `cargo bench -p plasmite --bench throughput`.
//!
//! Each measurement is defined once, here, so the command users run on their own machines
//! and the project's cargo benchmark report the same thing. Everything goes through the
//! public API the CLI uses ([`Pool::append_json`], [`Pool::batch`], [`Cursor`](crate::Cursor), [`Pool::get`]).
//!
//! Figures that need a second process (wake-up latency, several writers) run worker
//! processes: the caller says how to start one (a [`Spawn`] closure returning a
//! [`Command`] that ends up calling [`worker`]; `pls` re-runs itself with a hidden
//! subcommand, the cargo benchmark re-runs its own executable), and this module appends
//! the role, pool path, count and message size to it. A worker talks over its stdin and
//! stdout, one line at a time; it starts with `ready`, so a program that is not a worker is
//! caught at once instead of hanging the run.
//!
//! This is a tool's API, not part of the library's stable surface: it exists so both
//! benchmark front ends share one implementation.

use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use crate::cursor::{RawEvent, Start};
use crate::error::{Error, ErrorKind, Result};
use crate::pool::{Durability, Pool, PoolOptions};

/// Smallest message [`message`] can build: `{"msg":""}`.
pub const MIN_MESSAGE_SIZE: usize = 10;

/// Size from which [`message`] uses the reference shape
/// `{"id":"0000000001","kind":"bench","msg":"xxx…"}`.
const FULL_SHAPE: usize = 43;

/// Distinct messages cycled through by the single-process append phases, so the data is not
/// one repeated string while building it costs nothing during the timed loop.
const DISTINCT: u64 = 1000;

/// First line every worker prints, once its pool is open.
const READY: &str = "ready";

/// A JSON object of exactly `size` bytes (at least [`MIN_MESSAGE_SIZE`]): from 43 bytes on,
/// `{"id":"<i, ten digits>","kind":"bench","msg":"xxx…"}`, the shape the performance docs
/// use; below that `{"msg":"xxx…"}`.
pub fn message(i: u64, size: usize) -> Vec<u8> {
    let size = size.max(MIN_MESSAGE_SIZE);
    let head = if size >= FULL_SHAPE {
        format!(
            "{{\"id\":\"{:010}\",\"kind\":\"bench\",\"msg\":\"",
            i % 10_000_000_000
        )
    } else {
        "{\"msg\":\"".to_owned()
    };
    let mut m = head.into_bytes();
    m.resize(size - 2, b'x');
    m.extend_from_slice(b"\"}");
    m
}

/// Writes `n` [`message`]s of `size` bytes as JSON Lines to `path` (the input of the
/// ingest benchmarks).
///
/// # Errors
///
/// An I/O error creating or writing the file.
pub fn write_jsonl(path: &Path, n: u64, size: usize) -> Result<()> {
    let io = |e| Error::io(e, "write benchmark input", path);
    let mut f = BufWriter::new(std::fs::File::create(path).map_err(io)?);
    for i in 0..n {
        f.write_all(&message(i, size)).map_err(io)?;
        f.write_all(b"\n").map_err(io)?;
    }
    f.flush().map_err(io)
}

/// What one run measures. [`Config::standard`] is the run the performance docs quote;
/// [`Config::quick`] takes a few seconds, for smoke tests.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// Messages per throughput phase (single appends, batched appends, the multi-writer
    /// total, and the CLI's ingest and export).
    pub messages: u64,
    /// Bytes of JSON data per message.
    pub size: usize,
    /// Size of the pools the throughput phases write (they wrap when it is exceeded, as
    /// long-lived pools do).
    pub pool_size: u64,
    /// Messages per batch in the batched-append phase.
    pub batch: u64,
    /// Messages appended with [`Durability::Flush`] (each waits for the disk).
    pub flush_messages: u64,
    /// Random lookups in the get-by-seq phase.
    pub get_samples: u64,
    /// Messages timed from append to a reader in another process.
    pub wake_samples: u64,
    /// Pause before each wake-up sample, so the reader is asleep when the message lands.
    pub wake_gap: Duration,
    /// Writer processes compared with one writer process.
    pub writers: u64,
}

impl Config {
    /// The full run: a million 100-byte messages per phase in 64 MiB pools.
    pub fn standard() -> Config {
        Config {
            messages: 1_000_000,
            size: 100,
            pool_size: 64 << 20,
            batch: 1000,
            flush_messages: 200,
            get_samples: 100_000,
            wake_samples: 2000,
            wake_gap: Duration::from_micros(300),
            writers: 4,
        }
    }

    /// A run of a few seconds with the same phases and shapes, smaller counts.
    pub fn quick() -> Config {
        Config {
            messages: 20_000,
            pool_size: 8 << 20,
            flush_messages: 20,
            get_samples: 2000,
            wake_samples: 200,
            ..Config::standard()
        }
    }

    /// Checks the values make a meaningful run.
    ///
    /// # Errors
    ///
    /// A usage error naming the first value that does not.
    pub fn check(&self) -> Result<()> {
        let bad = |msg: String| Err(Error::new(ErrorKind::Usage, msg));
        if self.messages == 0 {
            return bad("the message count must be at least 1".into());
        }
        if self.size < MIN_MESSAGE_SIZE {
            return bad(format!(
                "messages must be at least {MIN_MESSAGE_SIZE} bytes (got {})",
                self.size
            ));
        }
        if self.writers == 0 {
            return bad("the writer process count must be at least 1".into());
        }
        if self.messages < self.writers {
            return bad(format!(
                "{} messages cannot be split over {} writer processes",
                self.messages, self.writers
            ));
        }
        if self.batch == 0 || self.get_samples == 0 || self.wake_samples == 0 {
            return bad("batch and sample counts must be at least 1".into());
        }
        Ok(())
    }
}

/// Messages moved in a time.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Throughput {
    /// How many messages.
    pub msgs: u64,
    /// Seconds they took.
    pub seconds: f64,
}

impl Throughput {
    /// From a count and a duration (never zero seconds, so rates stay finite).
    pub fn new(msgs: u64, elapsed: Duration) -> Throughput {
        Throughput {
            msgs,
            seconds: elapsed.as_secs_f64().max(1e-9),
        }
    }

    /// Messages per second.
    pub fn rate(&self) -> f64 {
        self.msgs as f64 / self.seconds
    }

    /// `{"msgs", "seconds", "msgs_per_sec"}`.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "msgs": self.msgs,
            "seconds": self.seconds,
            "msgs_per_sec": self.rate(),
        })
    }
}

/// Percentiles of a set of timings.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Latency {
    /// How many timings.
    pub samples: u64,
    /// Median.
    pub p50: Duration,
    /// 90th percentile.
    pub p90: Duration,
    /// 99th percentile.
    pub p99: Duration,
    /// Slowest.
    pub max: Duration,
}

impl Latency {
    /// Percentiles of `samples` (sorted here). An empty set gives all zeros.
    pub fn of(mut samples: Vec<Duration>) -> Latency {
        samples.sort_unstable();
        let at = |q: usize| {
            samples
                .get((samples.len() * q / 100).min(samples.len().saturating_sub(1)))
                .copied()
                .unwrap_or_default()
        };
        Latency {
            samples: samples.len() as u64,
            p50: at(50),
            p90: at(90),
            p99: at(99),
            max: samples.last().copied().unwrap_or_default(),
        }
    }

    /// `{"samples", "p50_us", "p90_us", "p99_us", "max_us"}`.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "samples": self.samples,
            "p50_us": micros(self.p50),
            "p90_us": micros(self.p90),
            "p99_us": micros(self.p99),
            "max_us": micros(self.max),
        })
    }
}

fn micros(d: Duration) -> f64 {
    d.as_nanos() as f64 / 1000.0
}

/// Everything one run measured.
#[derive(Clone, Debug, PartialEq)]
pub struct Report {
    /// The run's parameters.
    pub config: Config,
    /// Single appends ([`Durability::Fast`]): one lock, one publish per message.
    pub append: Throughput,
    /// Appends in batches of [`Config::batch`] under one lock.
    pub append_batch: Throughput,
    /// A cursor reading everything the pool retains after the append phases.
    pub read: Throughput,
    /// Single appends with [`Durability::Flush`] (`fdatasync` each).
    pub append_flush: Throughput,
    /// [`Pool::get`] of random retained seqs.
    pub get: Latency,
    /// Messages retained by the pool `get` searched.
    pub get_retained: u64,
    /// From append to a blocked reader in another process having the message.
    pub wake: Latency,
    /// One writer process appending [`Config::messages`].
    pub one_writer: Throughput,
    /// [`Config::writers`] processes appending the same total together.
    pub many_writers: Throughput,
}

impl Report {
    /// How the writer processes together compare with one (1.0 = as fast).
    pub fn writer_ratio(&self) -> f64 {
        self.many_writers.rate() / self.one_writer.rate()
    }

    /// The results object of the JSON report (`pls bench --json`'s `results`).
    pub fn to_json(&self) -> serde_json::Value {
        let mut batch = self.append_batch.to_json();
        batch["batch"] = self.config.batch.into();
        let mut get = self.get.to_json();
        get["retained"] = self.get_retained.into();
        serde_json::json!({
            "append": self.append.to_json(),
            "append_batch": batch,
            "read": self.read.to_json(),
            "append_flush": self.append_flush.to_json(),
            "get": get,
            "wake": self.wake.to_json(),
            "multi_writer": {
                "writers": self.config.writers,
                "msgs": self.one_writer.msgs,
                "one_process_msgs_per_sec": self.one_writer.rate(),
                "many_processes_msgs_per_sec": self.many_writers.rate(),
                "ratio": self.writer_ratio(),
            },
        })
    }

    /// Table rows: what was measured, and the result with its unit.
    pub fn rows(&self) -> Vec<(String, String)> {
        let c = &self.config;
        let us = |d: Duration| format!("{:.1} µs", micros(d));
        vec![
            (
                format!("append, one lock per message ({})", count(self.append.msgs)),
                rate(&self.append),
            ),
            (
                format!("append_batch, {} per batch", count(c.batch)),
                rate(&self.append_batch),
            ),
            (
                format!(
                    "sequential read, cursor ({} retained)",
                    count(self.read.msgs)
                ),
                rate(&self.read),
            ),
            (
                format!(
                    "append with Flush, fdatasync each ({})",
                    count(self.append_flush.msgs)
                ),
                rate(&self.append_flush),
            ),
            (
                format!(
                    "get by seq, random, {} retained, p50",
                    count(self.get_retained)
                ),
                us(self.get.p50),
            ),
            ("get by seq, p99".to_owned(), us(self.get.p99)),
            (
                "wake-up latency, reader in another process, p50".to_owned(),
                us(self.wake.p50),
            ),
            ("wake-up latency, p99".to_owned(), us(self.wake.p99)),
            ("1 writer process".to_owned(), rate(&self.one_writer)),
            (
                format!("{} writer processes together", c.writers),
                format!("{} ({:.2}x)", rate(&self.many_writers), self.writer_ratio()),
            ),
        ]
    }
}

/// `1,234,567 msgs/s`.
pub fn rate(t: &Throughput) -> String {
    format!("{} msgs/s", count(t.rate().round() as u64))
}

/// A count with thousands separators: `1,234,567`.
pub fn count(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Renders rows as a two-column table: labels left-aligned, results right-aligned.
pub fn render_table(title: &str, rows: &[(String, String)]) -> String {
    let width = |s: &str| s.chars().count();
    let left = rows
        .iter()
        .map(|(l, _)| width(l))
        .chain([width(title)])
        .max()
        .unwrap_or(0);
    let right = rows
        .iter()
        .map(|(_, r)| width(r))
        .chain([width("result")])
        .max()
        .unwrap_or(0);
    let mut out = format!("{title:<left$}  {:>right$}\n", "result");
    for (l, r) in rows {
        out.push_str(&format!("{l:<left$}  {r:>right$}\n"));
    }
    out
}

/// The system's one-minute load average, where the OS reports one (Linux).
pub fn load_average() -> Option<f64> {
    std::fs::read_to_string("/proc/loadavg")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// Starts a worker process: a command that, given `ROLE POOL COUNT SIZE` as further
/// arguments, calls [`worker`] with them.
pub type Spawn<'a> = &'a dyn Fn() -> Command;

/// What a worker process does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// Waits on the pool; for each message prints how long after its append it arrived, in
    /// ns, and stops after COUNT.
    Waiter,
    /// Waits for a line on stdin, appends COUNT messages of SIZE bytes one by one, prints
    /// `done`.
    Writer,
}

impl Role {
    /// Every role's name, as passed on the worker's command line.
    pub const NAMES: &'static [&'static str] = &["waiter", "writer"];

    /// The role named `name`.
    pub fn from_name(name: &str) -> Option<Role> {
        match name {
            "waiter" => Some(Role::Waiter),
            "writer" => Some(Role::Writer),
            _ => None,
        }
    }

    /// The role's name.
    pub fn name(self) -> &'static str {
        match self {
            Role::Waiter => "waiter",
            Role::Writer => "writer",
        }
    }
}

/// How long a waiter waits for one message before giving up (its parent died or hung).
const WAITER_PATIENCE: Duration = Duration::from_secs(10);

/// The body of a worker process: plays `role` on the pool file at `path`, talking over
/// stdin and stdout as [`Role`] describes.
///
/// # Errors
///
/// The pool cannot be opened or written, a waiter waited its patience in vain, or
/// the parent went away (a closed pipe).
pub fn worker(role: Role, path: &Path, count: u64, size: usize) -> Result<()> {
    let pool = Pool::open(path)?;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let pipe = |e| Error::io(e, "talk to the benchmark", path);
    match role {
        Role::Waiter => {
            let mut cursor = pool.cursor(Start::Newest)?;
            writeln!(out, "{READY}")
                .and_then(|()| out.flush())
                .map_err(pipe)?;
            let mut seen = 0;
            while seen < count {
                match cursor.wait_raw(Some(WAITER_PATIENCE))? {
                    Some(RawEvent::Message(m)) => {
                        let lag = crate::time::now_ns().saturating_sub(m.time_ns);
                        seen += 1;
                        // The line is also the acknowledgement the parent waits for before
                        // the next sample, so samples never overlap.
                        writeln!(out, "{lag}")
                            .and_then(|()| out.flush())
                            .map_err(pipe)?;
                    }
                    Some(RawEvent::Dropped { .. }) => {}
                    None => {
                        return Err(Error::new(
                            ErrorKind::Io,
                            "benchmark waiter: no message arrived in 10 s",
                        ))
                    }
                }
            }
        }
        Role::Writer => {
            let m = message(u64::from(std::process::id()), size);
            writeln!(out, "{READY}")
                .and_then(|()| out.flush())
                .map_err(pipe)?;
            let mut go = String::new();
            if std::io::stdin().lock().read_line(&mut go).map_err(pipe)? == 0 {
                return Err(Error::new(
                    ErrorKind::Io,
                    "benchmark writer: the parent went away before the start",
                ));
            }
            for _ in 0..count {
                pool.append_json(&m, &[], Durability::Fast)?;
            }
            writeln!(out, "done")
                .and_then(|()| out.flush())
                .map_err(pipe)?;
        }
    }
    Ok(())
}

/// A running worker process. Dropping it kills and reaps the process, so an error on the
/// parent's side never leaves workers behind.
struct Worker {
    child: Child,
    out: BufReader<ChildStdout>,
    input: Option<ChildStdin>,
    what: String,
}

impl Worker {
    /// Starts a worker and waits for its `ready`.
    fn start(spawn: Spawn<'_>, role: Role, path: &Path, count: u64, size: usize) -> Result<Worker> {
        let mut cmd = spawn();
        cmd.arg(role.name())
            .arg(path)
            .arg(count.to_string())
            .arg(size.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped());
        let what = format!("{:?}", cmd.get_program());
        let mut child = cmd.spawn().map_err(|e| {
            Error::new(
                ErrorKind::Io,
                format!("cannot start a benchmark worker process {what}: {e}"),
            )
        })?;
        let out = child.stdout.take().map(BufReader::new);
        let input = child.stdin.take();
        let Some(out) = out else {
            let _ = child.kill();
            let _ = child.wait();
            return Err(Error::new(ErrorKind::Internal, "worker stdout missing"));
        };
        let mut w = Worker {
            child,
            out,
            input,
            what,
        };
        let hint = "Cross-process figures re-run this program; run the `pls` executable itself.";
        let line = w.line().map_err(|e| e.with_hint(hint))?;
        if line != READY {
            return Err(Error::new(
                ErrorKind::Io,
                format!("benchmark worker {} answered {line:?}", w.what),
            )
            .with_hint(hint));
        }
        Ok(w)
    }

    /// The worker's next line, without its newline.
    fn line(&mut self) -> Result<String> {
        let mut line = String::new();
        let n = self.out.read_line(&mut line).map_err(|e| {
            Error::new(
                ErrorKind::Io,
                format!("reading from benchmark worker {}: {e}", self.what),
            )
        })?;
        if n == 0 {
            let status = self.child.wait().ok();
            return Err(Error::new(
                ErrorKind::Io,
                format!(
                    "benchmark worker {} stopped early ({})",
                    self.what,
                    status.map_or("unknown status".to_owned(), |s| s.to_string())
                ),
            ));
        }
        Ok(line.trim_end().to_owned())
    }

    /// Tells a writer to start.
    fn go(&mut self) -> Result<()> {
        let sent = self
            .input
            .as_mut()
            .map(|i| i.write_all(b"go\n").and_then(|()| i.flush()));
        match sent {
            Some(Ok(())) => Ok(()),
            _ => Err(Error::new(
                ErrorKind::Io,
                format!("benchmark worker {} is not listening", self.what),
            )),
        }
    }

    /// Waits for a clean exit.
    fn finish(mut self) -> Result<()> {
        self.input = None;
        let status = self
            .child
            .wait()
            .map_err(|e| Error::new(ErrorKind::Io, format!("waiting for benchmark worker: {e}")))?;
        if status.success() {
            Ok(())
        } else {
            Err(Error::new(
                ErrorKind::Io,
                format!("benchmark worker {} failed ({status})", self.what),
            ))
        }
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// [`DISTINCT`] different messages of `size` bytes.
fn corpus(size: usize) -> Vec<Vec<u8>> {
    (0..DISTINCT).map(|i| message(i, size)).collect()
}

/// Appends `n` messages one by one, cycling through `msgs`.
///
/// # Errors
///
/// Any append error.
pub fn append_each(
    pool: &Pool,
    msgs: &[Vec<u8>],
    n: u64,
    durability: Durability,
) -> Result<Throughput> {
    let t = Instant::now();
    for (_, m) in (0..n).zip(msgs.iter().cycle()) {
        pool.append_json(m, &[], durability)?;
    }
    Ok(Throughput::new(n, t.elapsed()))
}

/// Appends `n` messages in batches of `batch`, cycling through `msgs`.
///
/// # Errors
///
/// Any append error.
pub fn append_batches(pool: &Pool, msgs: &[Vec<u8>], n: u64, batch: u64) -> Result<Throughput> {
    let t = Instant::now();
    let mut left = n;
    let mut next = msgs.iter().cycle();
    while left > 0 {
        let k = left.min(batch);
        let mut b = pool.batch()?;
        for (_, m) in (0..k).zip(&mut next) {
            b.append_json(m, &[])?;
        }
        b.finish(Durability::Fast)?;
        left -= k;
    }
    Ok(Throughput::new(n, t.elapsed()))
}

/// Reads every retained message with a cursor.
///
/// # Errors
///
/// Any read error.
pub fn read_all(pool: &Pool) -> Result<Throughput> {
    let mut c = pool.cursor(Start::Oldest)?;
    let t = Instant::now();
    let mut read = 0u64;
    while let Some(e) = c.next_raw()? {
        if let RawEvent::Message(m) = e {
            // Touch the data so the copy out of the ring is not optimized away.
            std::hint::black_box(m.data.len());
            read += 1;
        }
    }
    Ok(Throughput::new(read, t.elapsed()))
}

/// Times [`Pool::get`] of `samples` random retained seqs; also returns how many messages
/// the pool retains.
///
/// # Errors
///
/// An empty pool, or any read error.
pub fn get_random(pool: &Pool, samples: u64) -> Result<(Latency, u64)> {
    let info = pool.info()?;
    let (Some((lo, _)), Some((hi, _))) = (info.oldest, info.newest) else {
        return Err(Error::new(ErrorKind::Internal, "get benchmark: empty pool"));
    };
    let mut lat = Vec::with_capacity(samples as usize);
    // xorshift64: the same seqs every run, spread over the whole range.
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    for _ in 0..samples {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let seq = lo + x % (hi - lo + 1);
        let t = Instant::now();
        let m = pool.get(seq)?;
        lat.push(t.elapsed());
        if m.seq != seq {
            return Err(Error::new(
                ErrorKind::Internal,
                format!("get({seq}) returned seq {}", m.seq),
            ));
        }
    }
    Ok((Latency::of(lat), info.count))
}

/// Wake-up latency: a waiter process blocks on the (fresh, empty) pool at `path`; this
/// process appends one message every `gap` and the waiter reports how long after the append
/// it had the message.
///
/// # Errors
///
/// The worker cannot be started or fails, or an append fails.
pub fn wake_latency(
    spawn: Spawn<'_>,
    path: &Path,
    samples: u64,
    gap: Duration,
    size: usize,
) -> Result<Latency> {
    let pool = Pool::open(path)?;
    let msgs = corpus(size);
    let mut waiter = Worker::start(spawn, Role::Waiter, path, samples, size)?;
    let mut lat = Vec::with_capacity(samples as usize);
    for (_, m) in (0..samples).zip(msgs.iter().cycle()) {
        std::thread::sleep(gap);
        pool.append_json(m, &[], Durability::Fast)?;
        let line = waiter.line()?;
        let ns: u64 = line.parse().map_err(|_| {
            Error::new(
                ErrorKind::Io,
                format!("benchmark waiter printed {line:?}, not a number of ns"),
            )
        })?;
        lat.push(Duration::from_nanos(ns));
    }
    waiter.finish()?;
    Ok(Latency::of(lat))
}

/// `processes` writer processes append `total` messages (split evenly) to a fresh pool of
/// `pool_size` bytes at `path`. The clock runs from the moment all are ready (so process
/// start-up is not counted) until the last is done.
///
/// # Errors
///
/// A worker cannot be started or fails, or the pool cannot be created.
pub fn writer_processes(
    spawn: Spawn<'_>,
    path: &Path,
    pool_size: u64,
    processes: u64,
    total: u64,
    size: usize,
) -> Result<Throughput> {
    let _ = std::fs::remove_file(path);
    drop(Pool::create(path, &PoolOptions::with_size(pool_size))?);
    let per = total / processes.max(1);
    let mut workers = Vec::with_capacity(processes as usize);
    for _ in 0..processes {
        workers.push(Worker::start(spawn, Role::Writer, path, per, size)?);
    }
    let t = Instant::now();
    for w in &mut workers {
        w.go()?;
    }
    for w in &mut workers {
        let line = w.line()?;
        if line != "done" {
            return Err(Error::new(
                ErrorKind::Io,
                format!("benchmark writer printed {line:?}"),
            ));
        }
    }
    let elapsed = t.elapsed();
    for w in workers {
        w.finish()?;
    }
    let _ = std::fs::remove_file(path);
    Ok(Throughput::new(per * processes, elapsed))
}

/// Runs every phase of `config` with pools in `dir` (which must exist; the pools are
/// removed afterwards). `progress` is told the name of each phase as it starts.
///
/// # Errors
///
/// A usage error for a meaningless [`Config`] or a message too big for the pool; otherwise
/// whatever a phase hit (I/O, a worker that could not be started).
pub fn run(
    config: &Config,
    dir: &Path,
    spawn: Spawn<'_>,
    progress: &mut dyn FnMut(&str),
) -> Result<Report> {
    config.check()?;
    let path = |name: &str| -> PathBuf { dir.join(format!("{name}.plasmite")) };
    let msgs = corpus(config.size);

    let main = path("bench-append");
    let pool = Pool::create(&main, &PoolOptions::with_size(config.pool_size))?;
    if config.size as u64 > pool.max_payload() {
        let _ = std::fs::remove_file(&main);
        return Err(Error::new(
            ErrorKind::Usage,
            format!(
                "{}-byte messages do not fit a {}-byte pool (at most {} bytes)",
                config.size,
                config.pool_size,
                pool.max_payload()
            ),
        )
        .with_hint("Use a smaller --size or a larger --pool-size."));
    }
    let result = (|| {
        progress("append");
        let append = append_each(&pool, &msgs, config.messages, Durability::Fast)?;
        progress("append_batch");
        let append_batch = append_batches(&pool, &msgs, config.messages, config.batch)?;
        progress("read");
        let read = read_all(&pool)?;
        progress("append_flush");
        let append_flush = append_each(&pool, &msgs, config.flush_messages, Durability::Flush)?;
        progress("get");
        let (get, get_retained) = get_random(&pool, config.get_samples)?;
        Ok::<_, Error>((append, append_batch, read, append_flush, get, get_retained))
    })();
    drop(pool);
    let _ = std::fs::remove_file(&main);
    let (append, append_batch, read, append_flush, get, get_retained) = result?;

    progress("wake");
    let wake_path = path("bench-wake");
    drop(Pool::create(&wake_path, &PoolOptions::default())?);
    let wake = wake_latency(
        spawn,
        &wake_path,
        config.wake_samples,
        config.wake_gap,
        config.size,
    );
    let _ = std::fs::remove_file(&wake_path);
    let wake = wake?;

    progress("multi_writer");
    let writers_path = path("bench-writers");
    let writers = |processes| {
        writer_processes(
            spawn,
            &writers_path,
            config.pool_size,
            processes,
            config.messages,
            config.size,
        )
    };
    let both = writers(1).and_then(|one| Ok((one, writers(config.writers)?)));
    let _ = std::fs::remove_file(&writers_path);
    let (one_writer, many_writers) = both?;

    Ok(Report {
        config: config.clone(),
        append,
        append_batch,
        read,
        append_flush,
        get,
        get_retained,
        wake,
        one_writer,
        many_writers,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_have_the_asked_size_and_are_json_objects() {
        for size in [10, 11, 42, 43, 44, 100, 4096] {
            let m = message(123, size);
            assert_eq!(m.len(), size);
            let v: serde_json::Value = serde_json::from_slice(&m).unwrap();
            assert!(v.is_object(), "{size}");
        }
        assert_eq!(
            message(1, 100)[..42],
            *b"{\"id\":\"0000000001\",\"kind\":\"bench\",\"msg\":\"x"
        );
        assert_eq!(message(u64::MAX, 43).len(), 43);
    }

    #[test]
    fn percentiles() {
        let l = Latency::of((1..=100).rev().map(Duration::from_micros).collect());
        assert_eq!(l.samples, 100);
        assert_eq!(l.p50, Duration::from_micros(51));
        assert_eq!(l.p99, Duration::from_micros(100));
        assert_eq!(l.max, Duration::from_micros(100));
        let one = Latency::of(vec![Duration::from_nanos(7)]);
        let seven = Duration::from_nanos(7);
        assert_eq!(
            (one.p50, one.p90, one.p99, one.max),
            (seven, seven, seven, seven)
        );
    }

    #[test]
    fn single_process_phases_count_what_they_did() {
        let dir = std::env::temp_dir().join(format!("plasmite-bench-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("p.plasmite");
        let pool = Pool::create(&path, &PoolOptions::with_size(1 << 20)).unwrap();
        let msgs = corpus(100);
        assert_eq!(
            append_each(&pool, &msgs, 250, Durability::Fast)
                .unwrap()
                .msgs,
            250
        );
        assert_eq!(append_batches(&pool, &msgs, 1001, 100).unwrap().msgs, 1001);
        assert_eq!(pool.info().unwrap().newest.unwrap().0, 1251);
        let read = read_all(&pool).unwrap();
        assert_eq!(read.msgs, 1251);
        assert!(read.rate().is_finite() && read.rate() > 0.0);
        let (lat, retained) = get_random(&pool, 50).unwrap();
        assert_eq!((lat.samples, retained), (50, 1251));
        assert!(lat.p50 <= lat.p99 && lat.p99 <= lat.max);
        drop(pool);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_program_that_is_not_a_worker_fails_cleanly() {
        let dir = std::env::temp_dir().join(format!("plasmite-bench-nw-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("w.plasmite");
        drop(Pool::create(&path, &PoolOptions::default()).unwrap());
        // One answers something else, one exits without a word.
        let chatty = || {
            let mut c = Command::new("sh");
            c.args(["-c", "echo hello; exec sleep 30", "sh"]);
            c
        };
        let silent = || {
            let mut c = Command::new("sh");
            c.args(["-c", "exit 3", "sh"]);
            c
        };
        for spawn in [&chatty as Spawn<'_>, &silent] {
            let t = Instant::now();
            let e = wake_latency(spawn, &path, 5, Duration::ZERO, 100).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Io, "{e}");
            assert!(e.hint().unwrap().contains("`pls` executable"), "{e}");
            // The chatty one is killed, not waited for.
            assert!(t.elapsed() < Duration::from_secs(10));
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn counts_and_config_checks() {
        assert_eq!(count(0), "0");
        assert_eq!(count(999), "999");
        assert_eq!(count(1000), "1,000");
        assert_eq!(count(1_234_567), "1,234,567");
        assert!(Config::standard().check().is_ok());
        assert!(Config::quick().check().is_ok());
        let bad = Config {
            messages: 3,
            writers: 4,
            ..Config::quick()
        };
        assert_eq!(bad.check().unwrap_err().kind(), ErrorKind::Usage);
        let small = Config {
            size: 9,
            ..Config::quick()
        };
        assert_eq!(small.check().unwrap_err().kind(), ErrorKind::Usage);
    }
}
