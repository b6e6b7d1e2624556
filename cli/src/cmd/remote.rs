//! Remote pool refs (`http://host:port/POOL`) for `poke` and `peek`: the
//! same commands spoken over `pls serve`'s HTTP/JSON v0 protocol.
//!
//! Poke opens the pool (`POST /v0/pools/open`), then appends one record per
//! request; records already sent stay sent when a later one fails. Peek
//! follows `GET /v0/pools/{pool}/tail` (JSON Lines), reconnecting with
//! `since_seq = last + 1` whenever the server ends a stream; `--where`,
//! `--one`, `--timeout` and rendering are applied here as for local pools.
//! History is found with short bounded streams (`max`): `--tail N` with
//! filters reads back from the newest message in growing windows, `--since`
//! binary-searches seqs by `time`, and `--replay` paces the history by the
//! messages' `time` like a local replay.

use std::fs::File;
use std::io::{self, BufRead, BufReader, IsTerminal, Read, Write};
use std::time::{Duration, Instant};

use plasmite::json::CompactObject;
use plasmite::{Error, ErrorKind};
use serde_json::{json, Value};

use super::{emit, stdout_error, usage_error, Ctx, Outcome, EXIT_TIMEOUT};
use crate::args::{self, ErrorPolicy, FileArg, InputFormat, OutputFormat, PeekArgs, PokeArgs};
use crate::ingest::{Mode, RecordReader, DEFAULT_RECORD_LIMIT};
use crate::{pretty, units};
use plasmite::filter::Filter;

/// Whether a pool ref is meant as a URL (any scheme: wrong ones are refused
/// by [`Target::parse`], not taken for local paths).
pub(crate) fn is_ref(pool: &str) -> bool {
    pool.contains("://")
}

const SHORTHAND_HINT: &str = "Use shorthand: http(s)://host:port/<pool>.";

/// A parsed remote ref: `base` is `http://host:port/`.
#[derive(Debug, PartialEq, Eq)]
struct Target {
    base: String,
    pool: String,
}

impl Target {
    fn parse(r: &str) -> Result<Target, Error> {
        let (scheme, rest) = if let Some(rest) = r.strip_prefix("http://") {
            ("http", rest)
        } else if let Some(rest) = r.strip_prefix("https://") {
            ("https", rest)
        } else {
            return Err(usage_error(
                "remote pool ref must use http or https scheme",
                SHORTHAND_HINT,
            ));
        };
        if rest.contains('?') || rest.contains('#') {
            return Err(usage_error(
                "remote pool ref must not include query or fragment",
                SHORTHAND_HINT,
            ));
        }
        let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
        if host.is_empty() || host.contains('@') || host.contains(char::is_whitespace) {
            return Err(usage_error("invalid remote pool ref", SHORTHAND_HINT));
        }
        if path.to_ascii_lowercase().contains("%2f") || path.contains('\\') {
            return Err(usage_error(
                "remote pool name must not contain path separators",
                SHORTHAND_HINT,
            ));
        }
        if path.is_empty() || path.contains('/') || path == "pool" || path == ".." || path == "." {
            return Err(usage_error(
                "remote pool ref must use shorthand http(s)://host:port/<pool>",
                "API-shaped URLs are not accepted as pool refs.",
            ));
        }
        Ok(Target {
            base: format!("{scheme}://{host}/"),
            pool: path.to_string(),
        })
    }
}

/// A blocking HTTP client for one remote pool.
struct Client {
    agent: ureq::Agent,
    target: Target,
    token: Option<String>,
}

/// A request's failure before any response: the server is not there.
fn transport_error(url: &str, e: ureq::Error) -> Error {
    let message = format!("request to {url} failed: {e}");
    let hint = if message.contains("certificate") {
        "The server's TLS certificate is not trusted: pass --tls-ca FILE with its certificate \
         (e.g. the one `pls serve init` wrote)."
    } else {
        "Check the URL, and that `pls serve` is running there and reachable."
    };
    Error::new(ErrorKind::Io, message).with_hint(hint)
}

/// The certificates of a `--tls-ca` PEM file, trusted instead of the
/// built-in roots (e.g. the self-signed cert `pls serve init` made).
fn load_ca(path: &std::path::Path) -> Result<ureq::tls::RootCerts, Error> {
    let pem = std::fs::read(path).map_err(|e| Error::io(e, "read --tls-ca file", path))?;
    let mut certs = Vec::new();
    for item in ureq::tls::parse_pem(&pem) {
        match item {
            Ok(ureq::tls::PemItem::Certificate(c)) => certs.push(c.to_owned()),
            Ok(_) => {}
            Err(e) => {
                return Err(usage_error(
                    format!("invalid PEM in --tls-ca file: {e}"),
                    "Pass a PEM file of CA or server certificates.",
                )
                .with_path(path))
            }
        }
    }
    if certs.is_empty() {
        return Err(usage_error(
            "no certificate in --tls-ca file",
            "Pass a PEM file of CA or server certificates.",
        )
        .with_path(path));
    }
    Ok(ureq::tls::RootCerts::new_with_certs(&certs))
}

impl Client {
    fn new(pool_ref: &str, remote: &args::RemoteArgs) -> Result<Client, Error> {
        let target = Target::parse(pool_ref)?;
        let token = match &remote.token_file {
            Some(p) => {
                let text =
                    std::fs::read_to_string(p).map_err(|e| Error::io(e, "read token file", p))?;
                Some(text.trim().to_string())
            }
            None => std::env::var("PLASMITE_TOKEN")
                .ok()
                .map(|t| t.trim().to_string())
                .filter(|t| !t.is_empty()),
        };
        let mut config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_connect(Some(Duration::from_secs(5)));
        if let Some(ca) = &remote.tls_ca {
            config = config.tls_config(
                ureq::tls::TlsConfig::builder()
                    .root_certs(load_ca(ca)?)
                    .build(),
            );
        }
        let agent = config.build().into();
        Ok(Client {
            agent,
            target,
            token,
        })
    }

    fn url(&self, route: &str) -> String {
        format!("{}v0/pools/{}", self.target.base, route)
    }

    fn auth<B>(&self, req: ureq::RequestBuilder<B>) -> ureq::RequestBuilder<B> {
        match &self.token {
            Some(t) => req.header("Authorization", format!("Bearer {t}")),
            None => req,
        }
    }

    /// POSTs a JSON body; the parsed JSON answer, or the server's error.
    fn post(&self, route: &str, body: &[u8]) -> Result<Value, Error> {
        let url = self.url(route);
        let req = self
            .auth(self.agent.post(&url))
            .header("Content-Type", "application/json");
        let resp = req.send(body).map_err(|e| transport_error(&url, e))?;
        self.answer(&url, resp)
    }

    fn get(&self, route: &str) -> Result<Value, Error> {
        let url = self.url(route);
        let resp = self
            .auth(self.agent.get(&url))
            .call()
            .map_err(|e| transport_error(&url, e))?;
        self.answer(&url, resp)
    }

    fn answer(&self, url: &str, resp: ureq::http::Response<ureq::Body>) -> Result<Value, Error> {
        let status = resp.status().as_u16();
        let text = resp
            .into_body()
            .read_to_string()
            .map_err(|e| transport_error(url, e))?;
        if status >= 300 {
            return Err(self.status_error(status, &text));
        }
        serde_json::from_str(&text)
            .map_err(|e| Error::new(ErrorKind::Internal, format!("bad response from {url}: {e}")))
    }

    /// The error an HTTP error answer stands for: the envelope's kind and
    /// message when there is one, else a kind from the status.
    fn status_error(&self, status: u16, body: &str) -> Error {
        let env: Option<Value> = serde_json::from_str(body).ok();
        let env = env.as_ref().and_then(|v| v.get("error"));
        let kind = match env.and_then(|e| e["kind"].as_str()) {
            Some("Usage") => ErrorKind::Usage,
            Some("NotFound") => ErrorKind::NotFound,
            Some("AlreadyExists") => ErrorKind::AlreadyExists,
            Some("Busy") => ErrorKind::Busy,
            Some("Permission") => ErrorKind::Permission,
            Some("Corrupt") => ErrorKind::Corrupt,
            Some("Io") => ErrorKind::Io,
            Some(_) => ErrorKind::Internal,
            None => match status {
                400 | 413 | 415 | 422 => ErrorKind::Usage,
                401 | 403 => ErrorKind::Permission,
                404 => ErrorKind::NotFound,
                409 => ErrorKind::AlreadyExists,
                423 => ErrorKind::Busy,
                500..=599 => ErrorKind::Internal,
                _ => ErrorKind::Io,
            },
        };
        let message = env
            .and_then(|e| e["message"].as_str())
            .map(str::to_string)
            .unwrap_or_else(|| {
                let b = body.trim();
                if b.is_empty() {
                    format!("server answered HTTP {status}")
                } else {
                    format!("server answered HTTP {status}: {b}")
                }
            });
        let hint = match (kind, status) {
            (ErrorKind::NotFound, _) => Some(format!(
                "Remote pool not found. Create it on the server first, e.g. `pls pool create {}` there.",
                self.target.pool
            )),
            (ErrorKind::Permission, 401) => Some(
                "The server wants a token: pass --token-file FILE or set PLASMITE_TOKEN."
                    .to_string(),
            ),
            _ => env.and_then(|e| e["hint"].as_str()).map(str::to_string),
        };
        let mut e = Error::new(kind, message);
        if let Some(h) = hint {
            e = e.with_hint(h);
        }
        e
    }

    fn open(&self) -> Result<Value, Error> {
        let body = serde_json::to_vec(&json!({"pool": self.target.pool})).unwrap_or_default();
        self.post("open", &body)
    }
}

/// Runs `poke` on a remote pool.
pub(crate) fn poke(ctx: &Ctx, a: PokeArgs) -> Outcome {
    if a.create {
        return Err(usage_error(
            "remote poke does not support --create",
            "Create the pool with server-side tooling first (`pls pool create NAME` on the server).",
        ));
    }
    let client = Client::new(&a.pool, &a.remote)?;
    let retry_delay = match &a.retry_delay {
        Some(d) => units::parse_duration(d).map_err(|e| usage_error(e.message(), e.hint()))?,
        None => Duration::from_millis(50),
    };
    if a.input == InputFormat::Jq && a.errors == ErrorPolicy::Skip {
        return Err(usage_error(
            "skip is not supported for jq-style streams",
            "Use --in jsonl or --in auto for resyncable streams.",
        ));
    }
    let src: Option<Box<dyn Read>> = if a.data.is_some() {
        None
    } else if let Some(file) = &a.file {
        match file {
            FileArg::Stdin => Some(Box::new(io::stdin())),
            FileArg::Path(p) => Some(Box::new(
                File::open(p).map_err(|e| Error::io(e, "open input file", p))?,
            )),
        }
    } else if !io::stdin().is_terminal() {
        Some(Box::new(io::stdin()))
    } else {
        return Err(usage_error(
            "missing data input",
            "Provide JSON via DATA, --file, or pipe JSON to stdin.",
        ));
    };
    let poker = Poker {
        client,
        tags: a.tags.clone(),
        flush: a.durability == args::Durability::Flush,
        retry: a.retry,
        retry_delay,
    };
    let Some(src) = src else {
        let data = CompactObject::parse(a.data.as_deref().unwrap_or("").as_bytes())?;
        poker.client.open()?;
        let receipt = poker.append(data.as_bytes())?;
        let mut doc = Vec::with_capacity(256);
        ctx.term.write_document(&mut doc, &receipt);
        emit(&mut io::stdout().lock(), &doc)?;
        return Ok(0);
    };
    poker.client.open()?;
    let mode = match a.input {
        InputFormat::Auto => Mode::Auto,
        InputFormat::Jsonl => Mode::Jsonl,
        InputFormat::Json => Mode::Json,
        InputFormat::Seq => Mode::Seq,
        InputFormat::Jq => Mode::Jq,
    };
    let mut reader = RecordReader::new(BufReader::new(src), mode, DEFAULT_RECORD_LIMIT);
    let (mut total, mut skipped) = (0u64, 0u64);
    let mut out = io::stdout().lock();
    while let Some(next) = reader.next_record() {
        total += 1;
        let rec = match next {
            Ok(rec) => rec,
            Err(e) if a.errors == ErrorPolicy::Skip => {
                skipped += 1;
                ctx.term.notice(
                    "ingest_skip",
                    "poke",
                    &a.pool,
                    &format!("skipped {e}"),
                    json!({"index": e.index, "line": e.line}),
                );
                continue;
            }
            Err(e) => {
                return Err(
                    Error::new(ErrorKind::Usage, format!("invalid json input: {e}"))
                        .with_hint("Records before it were appended."),
                )
            }
        };
        let (index, line) = (rec.index, rec.line);
        let sent = CompactObject::parse(rec.bytes).and_then(|d| poker.append(d.as_bytes()));
        let mut receipt = sent.map_err(|e| {
            let hint = e.hint().map_or(String::new(), |h| format!("{h} "));
            Error::new(
                e.kind(),
                format!("record {index} (line {line}): {}", e.message()),
            )
            .with_hint(format!("{hint}Records before it were appended."))
        })?;
        receipt.push(b'\n');
        out.write_all(&receipt)
            .and_then(|()| out.flush())
            .map_err(stdout_error)?;
    }
    if total == 0 {
        return Err(usage_error(
            "missing data input",
            "Provide JSON via DATA, --file, or pipe JSON to stdin.",
        ));
    }
    Ok(if skipped > 0 { 1 } else { 0 })
}

struct Poker {
    client: Client,
    tags: Vec<String>,
    flush: bool,
    retry: u64,
    retry_delay: Duration,
}

impl Poker {
    /// Appends one compact JSON object; its receipt (the stored envelope
    /// without `data`), compact.
    fn append(&self, data: &[u8]) -> Result<Vec<u8>, Error> {
        let mut body = Vec::with_capacity(data.len() + 64);
        body.extend_from_slice(b"{\"data\":");
        body.extend_from_slice(data);
        body.extend_from_slice(b",\"tags\":");
        body.extend_from_slice(&serde_json::to_vec(&self.tags).unwrap_or_default());
        body.extend_from_slice(if self.flush {
            b",\"durability\":\"flush\"}"
        } else {
            b",\"durability\":\"fast\"}"
        });
        let route = format!("{}/append", self.client.target.pool);
        // Busy (423), a server-side failure (5xx) or no answer at all: worth
        // another try.
        let transient = |e: &Error| {
            matches!(
                e.kind(),
                ErrorKind::Busy | ErrorKind::Io | ErrorKind::Internal
            )
        };
        let mut answer = super::with_retry(self.retry, self.retry_delay, transient, || {
            self.client.post(&route, &body)
        })?;
        let mut message = answer["message"].take();
        if let Some(m) = message.as_object_mut() {
            m.remove("data");
        }
        Ok(serde_json::to_vec(&message).unwrap_or_default())
    }
}

/// Runs `peek` on a remote pool.
pub(crate) fn peek(ctx: &Ctx, a: PeekArgs) -> Outcome {
    for (given, flag) in [
        (a.create, "--create"),
        (a.no_notify, "--no-notify"),
        // Named readers keep their position in the pool file.
        (a.name.is_some(), "--name"),
    ] {
        if given {
            return Err(usage_error(
                format!("remote peek does not support {flag}"),
                "Run it on the server's machine against the local pool, or leave the flag out.",
            ));
        }
    }
    // The same checks, in the same order, as a local peek.
    let Some(super::peek::Options {
        since,
        timeout,
        filter,
        replay,
    }) = super::peek::Options::parse(&a)?
    else {
        return Ok(0);
    };
    let client = Client::new(&a.pool, &a.remote)?;
    client.open()?;
    let info = client.get(&format!("{}/info", client.target.pool))?;
    let bounds = &info["pool"]["bounds"];
    let (oldest, newest) = (bounds["oldest"].as_u64(), bounds["newest"].as_u64());
    let pretty = match a.format {
        Some(OutputFormat::Pretty) => true,
        Some(OutputFormat::Jsonl) => false,
        None => ctx.term.stdout_tty,
    };
    let mut p = Peeker {
        client,
        color: ctx.term.color_stdout(),
        pretty,
        filter,
        next: 0,
        history_end: None,
        since,
        matched: 0,
        target: a.tail.max(1),
        server_max_ms: None,
        out: io::stdout().lock(),
        a: &a,
    };
    // History: from the first of the last N matches, or the first message
    // at or after --since, up to the newest message now.
    let start = match (oldest, newest, since) {
        (Some(o), Some(n), _) if a.tail > 0 => p.tail_start(o, n)?,
        (Some(o), Some(n), Some(t)) => p.since_start(o, n, t)?,
        _ => None,
    };
    match (start, newest) {
        (Some(s), Some(n)) => {
            p.next = s;
            p.history_end = Some(n);
        }
        // No history: the live edge (an empty pool: from its first message).
        (None, Some(n)) => p.next = n + 1,
        _ => p.next = 0,
    }
    match replay {
        Some(_) if start.is_none() => Ok(0),
        Some(speed) => p.replay(speed),
        None => p.run(timeout),
    }
}

struct Peeker<'a> {
    client: Client,
    a: &'a PeekArgs,
    color: bool,
    pretty: bool,
    filter: Filter,
    /// The next seq wanted.
    next: u64,
    /// The newest message when peek started, if history is printed first.
    history_end: Option<u64>,
    /// `--since`, in ns: history messages older than this are skipped.
    since: Option<u64>,
    matched: u64,
    /// With `--one`: which match to print (as local peek).
    target: u64,
    /// The server's longest tail timeout, once it has told us.
    server_max_ms: Option<u64>,
    out: io::StdoutLock<'static>,
}

/// What one line of a stream came to.
enum Step {
    Go,
    Done,
}

/// How long the short streams of history scans may idle on the server: they
/// ask for messages that exist, so the wait only bounds odd cases (seq gaps,
/// messages evicted meanwhile), and a stream ended early is simply asked
/// again from where it stopped.
const SCAN_IDLE_MS: u64 = 1000;

/// The `time` of a message, in ns since the epoch.
fn time_ns(v: &Value) -> Option<u64> {
    let t = units::parse_rfc3339(v["time"].as_str()?)?;
    Some(t.clamp(0, i128::from(u64::MAX)) as u64)
}

impl Peeker<'_> {
    /// Opens `GET /v0/pools/{pool}/tail?QUERY`; learns the server's longest
    /// timeout from a 400 once and asks again within it (`timeout_ms` is
    /// then clamped by the caller through `server_max_ms`).
    fn tail(
        &mut self,
        query: impl Fn(Option<u64>) -> String,
    ) -> Result<BufReader<impl Read>, Error> {
        loop {
            let url = self.client.url(&format!(
                "{}/tail?{}",
                self.client.target.pool,
                query(self.server_max_ms)
            ));
            let resp = self
                .client
                .auth(self.client.agent.get(&url))
                .call()
                .map_err(|e| transport_error(&url, e))?;
            let status = resp.status().as_u16();
            if status < 300 {
                return Ok(BufReader::new(resp.into_body().into_reader()));
            }
            let body = resp.into_body().read_to_string().unwrap_or_default();
            let e = self.client.status_error(status, &body);
            if !self.learn_limit(&e) {
                return Err(e);
            }
        }
    }

    /// A `--timeout` beyond the server's limit: note its limit (from the
    /// error's hint) so the next request stays within it. False if `e` is
    /// some other error, or the limit was known already.
    fn learn_limit(&mut self, e: &Error) -> bool {
        if e.kind() != ErrorKind::Usage
            || !e.message().contains("tail timeout exceeds server limit")
            || self.server_max_ms.is_some()
        {
            return false;
        }
        let max = e
            .hint()
            .and_then(|h| {
                let digits: String = h.chars().filter(char::is_ascii_digit).collect();
                digits.parse().ok()
            })
            .unwrap_or(1000);
        self.server_max_ms = Some(max);
        true
    }

    /// Calls `f` on each retained message with a seq in `from..=to`, in
    /// order, through short streams bounded by `max` (so the server ends
    /// them); `f` returns false to stop.
    fn scan(
        &mut self,
        from: u64,
        to: u64,
        mut f: impl FnMut(&mut Self, u64, &Value, &[u8]) -> Result<bool, Error>,
    ) -> Result<(), Error> {
        let mut next = from;
        while next <= to {
            let want = to - next + 1;
            let mut lines = self.tail(move |max| {
                let idle = max.map_or(SCAN_IDLE_MS, |m| m.min(SCAN_IDLE_MS));
                format!("since_seq={next}&max={want}&timeout_ms={idle}")
            })?;
            let before = next;
            let mut line = Vec::with_capacity(1024);
            loop {
                line.clear();
                match lines.read_until(b'\n', &mut line) {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {}
                }
                let Some((seq, v)) = parse_line(&line)? else {
                    continue;
                };
                if seq < next {
                    continue;
                }
                if seq > to {
                    return Ok(());
                }
                next = seq + 1;
                if !f(self, seq, &v, line.trim_ascii())? {
                    return Ok(());
                }
            }
            // A stream with nothing at or after `next`: nothing left to read.
            if next == before {
                break;
            }
        }
        Ok(())
    }

    /// The first message at or after `seq` (the oldest retained one if
    /// `seq` was evicted): its seq and time.
    fn probe(&mut self, seq: u64) -> Result<Option<(u64, Option<u64>)>, Error> {
        let mut lines = self.tail(move |max| {
            let idle = max.map_or(SCAN_IDLE_MS, |m| m.min(SCAN_IDLE_MS));
            format!("since_seq={seq}&max=1&timeout_ms={idle}")
        })?;
        let mut line = Vec::new();
        loop {
            line.clear();
            match lines.read_until(b'\n', &mut line) {
                Ok(0) | Err(_) => return Ok(None),
                Ok(_) => {}
            }
            if let Some((s, v)) = parse_line(&line)? {
                return Ok(Some((s, time_ns(&v))));
            }
        }
    }

    /// Where `--tail N` history starts: the N-th newest message that passes
    /// the filters, found by reading back from the newest (`n`) in growing
    /// windows, so about as many messages are read as are printed, not the
    /// whole pool. `None`: no message matches.
    fn tail_start(&mut self, oldest: u64, n: u64) -> Result<Option<u64>, Error> {
        let want = self.a.tail;
        if self.filter.is_empty() && self.a.tags.is_empty() {
            return Ok(Some(n.saturating_sub(want - 1).max(oldest)));
        }
        // Matches found so far (ascending), from `upto + 1` to `n`.
        let mut found: Vec<u64> = Vec::new();
        let mut upto = n;
        let mut window = want;
        loop {
            let from = n.saturating_sub(window.saturating_sub(1)).max(oldest);
            let mut part = Vec::new();
            if from <= upto {
                self.scan(from, upto, |p, seq, v, text| {
                    if p.passes(v, text)? {
                        part.push(seq);
                    }
                    Ok(true)
                })?;
            }
            part.extend_from_slice(&found);
            found = part;
            if found.len() as u64 >= want || from <= oldest {
                let i = found.len().saturating_sub(want as usize);
                return Ok(found.get(i).copied());
            }
            upto = from - 1;
            window = window.saturating_mul(4);
        }
    }

    /// Where `--since T` history starts: the first message appended at or
    /// after `t`, by binary search over seqs (a pool's times never decrease
    /// along seqs: the writer stores `max(now, previous time)`), one short
    /// request per step. `None`: every message is older.
    fn since_start(&mut self, oldest: u64, n: u64, t: u64) -> Result<Option<u64>, Error> {
        let (mut lo, mut hi) = (oldest, n + 1);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            match self.probe(mid)? {
                Some((seq, Some(time))) if time < t => lo = seq + 1,
                _ => hi = mid,
            }
        }
        Ok((lo <= n).then_some(lo))
    }

    /// Prints the history (`next..=history_end`) with its original spacing
    /// divided by `speed`, then ends (exit 0), as a local replay does.
    fn replay(&mut self, speed: f64) -> Outcome {
        let Some(end) = self.history_end else {
            return Ok(0);
        };
        let started = Instant::now();
        let mut offset = Duration::ZERO;
        let mut prev: Option<u64> = None;
        self.scan(self.next, end, |p, _, v, text| {
            if p.too_old(v) || !p.passes(v, text)? {
                return Ok(true);
            }
            let time = time_ns(v);
            if let (Some(before), Some(now), true) = (prev, time, speed > 0.0) {
                offset += Duration::from_nanos(now.saturating_sub(before)).div_f64(speed);
                let due = started + offset;
                let wall = Instant::now();
                if due > wall {
                    std::thread::sleep(due - wall);
                }
            }
            prev = time.or(prev);
            let line = p.render(v, text);
            emit(&mut p.out, &line)?;
            p.out.flush().map_err(stdout_error)?;
            Ok(!p.a.one)
        })?;
        Ok(0)
    }

    /// A history message from before `--since` (possible only if the
    /// server's pool had times going backwards).
    fn too_old(&self, v: &Value) -> bool {
        match (self.since, time_ns(v)) {
            (Some(t), Some(time)) => time < t,
            _ => false,
        }
    }

    fn run(&mut self, timeout: Option<Duration>) -> Outcome {
        let mut deadline = timeout.map(|t| Instant::now() + t);
        loop {
            let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
            if left == Some(Duration::ZERO) {
                return Ok(EXIT_TIMEOUT);
            }
            let mut url = self.client.url(&format!(
                "{}/tail?since_seq={}",
                self.client.target.pool, self.next
            ));
            if let Some(l) = left {
                let mut ms = (l.as_millis() as u64).max(1);
                if let Some(max) = self.server_max_ms {
                    ms = ms.min(max);
                }
                url.push_str(&format!("&timeout_ms={ms}"));
            }
            // Tags filter on the server too; --where only here.
            for t in &self.a.tags {
                url.push_str(&format!("&tag={}", percent_encode(t)));
            }
            let mut req = self.client.auth(self.client.agent.get(&url));
            if let Some(l) = left {
                // Non-matching messages keep a stream open past our
                // deadline: stop reading then.
                req = req
                    .config()
                    .timeout_global(Some(l + Duration::from_millis(100)))
                    .build();
            }
            let resp = match req.call() {
                Ok(r) => r,
                Err(_) if deadline.is_some_and(|d| Instant::now() >= d) => return Ok(EXIT_TIMEOUT),
                Err(e) => return Err(transport_error(&url, e)),
            };
            let status = resp.status().as_u16();
            if status >= 300 {
                let body = resp.into_body().read_to_string().unwrap_or_default();
                let e = self.client.status_error(status, &body);
                // A --timeout beyond the server's limit: use its limit and
                // go on asking again.
                if self.learn_limit(&e) {
                    continue;
                }
                return Err(e);
            }
            let mut lines = BufReader::new(resp.into_body().into_reader());
            let mut line = Vec::with_capacity(1024);
            loop {
                line.clear();
                match lines.read_until(b'\n', &mut line) {
                    Ok(0) => break,
                    Ok(_) => {}
                    Err(_) if deadline.is_some_and(|d| Instant::now() >= d) => {
                        return Ok(EXIT_TIMEOUT)
                    }
                    // The stream broke off: ask again from where it stopped.
                    Err(_) => break,
                }
                let Some((seq, v)) = parse_line(&line)? else {
                    continue;
                };
                if seq < self.next {
                    continue;
                }
                self.next = seq + 1;
                let (emitted, step) = self.message(seq, &v, line.trim_ascii())?;
                if emitted {
                    deadline = timeout.map(|t| Instant::now() + t);
                }
                if let Step::Done = step {
                    return Ok(0);
                }
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                return Ok(EXIT_TIMEOUT);
            }
        }
    }

    /// Handles one message: whether something was printed, and whether
    /// peek is done.
    fn message(&mut self, seq: u64, v: &Value, text: &[u8]) -> Result<(bool, Step), Error> {
        // Live messages are not checked against --since (as local peek).
        let history = self.history_end.is_some_and(|end| seq <= end);
        if (history && self.too_old(v)) || !self.passes(v, text)? {
            return Ok((false, Step::Go));
        }
        let line = self.render(v, text);
        self.emit_match(line)
    }

    fn emit_match(&mut self, line: Vec<u8>) -> Result<(bool, Step), Error> {
        self.matched += 1;
        if self.a.one && self.matched < self.target {
            return Ok((false, Step::Go));
        }
        emit(&mut self.out, &line)?;
        self.out.flush().map_err(stdout_error)?;
        Ok((true, if self.a.one { Step::Done } else { Step::Go }))
    }

    fn passes(&self, v: &Value, text: &[u8]) -> Result<bool, Error> {
        let tags = v["meta"]["tags"].as_array();
        let has = |t: &String| tags.is_some_and(|ts| ts.iter().any(|x| x.as_str() == Some(t)));
        if !self.a.tags.iter().all(has) {
            return Ok(false);
        }
        if self.filter.is_empty() {
            return Ok(true);
        }
        self.filter.matches(text).map_err(|e| {
            usage_error(
                e.to_string(),
                "Check the jq expression; it must produce true or false, e.g. '.data.status == \"green\"'.",
            )
        })
    }

    fn render(&self, v: &Value, text: &[u8]) -> Vec<u8> {
        let data;
        let body: &[u8] = if self.a.data_only {
            data = serde_json::to_vec(&v["data"]).unwrap_or_default();
            &data
        } else {
            text
        };
        let mut line = Vec::with_capacity(body.len() + 1);
        if !self.pretty || pretty::write_pretty(body, self.color, &mut line).is_err() {
            line.clear();
            line.extend_from_slice(body);
        }
        line.push(b'\n');
        line
    }
}

/// One line of a JSONL stream: its seq and envelope (`None` for a blank
/// line or an envelope without a seq).
fn parse_line(line: &[u8]) -> Result<Option<(u64, Value)>, Error> {
    let text = line.trim_ascii();
    if text.is_empty() {
        return Ok(None);
    }
    let v: Value = serde_json::from_slice(text)
        .map_err(|e| Error::new(ErrorKind::Internal, format!("bad message from server: {e}")))?;
    Ok(v["seq"].as_u64().map(|seq| (seq, v)))
}

/// Percent-encodes a query value.
fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_shorthand_refs() {
        let t = Target::parse("http://127.0.0.1:9700/demo").unwrap();
        assert_eq!(t.base, "http://127.0.0.1:9700/");
        assert_eq!(t.pool, "demo");
        for bad in [
            "http://h:9700/demo/",
            "http://h/v0/pools/demo/append",
            "http://h/",
            "http://h",
            "http://h/pool",
            "http://h/demo?x=1",
            "http://h/demo#f",
            "http://h/a%2Fb",
            "tcp://h/demo",
        ] {
            let e = Target::parse(bad).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Usage, "{bad}");
        }
        assert_eq!(
            Target::parse("tcp://h/demo").unwrap_err().message(),
            "remote pool ref must use http or https scheme"
        );
        assert_eq!(
            Target::parse("http://h/demo?x").unwrap_err().message(),
            "remote pool ref must not include query or fragment"
        );
    }
}
