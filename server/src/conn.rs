//! The public socket: a bounded number of connections, idle timeouts, and a
//! relay to tiny_http on a private Unix socket.
//!
//! tiny_http accepts every connection and gives each its own thread, with no
//! upper bound and no read timeout, so a few hundred idle or slow clients
//! would pin threads forever. The server therefore accepts TCP itself:
//! beyond `max_conns` open connections it answers 503 and closes; each
//! accepted connection is relayed to tiny_http (listening on a Unix socket
//! in a private 0700 directory) by two small threads, and closed once it
//! has been silent in both directions for `idle`. (The same seam is where a
//! TLS terminator goes.)
//!
//! On a TLS listener each connection is one thread running a rustls
//! [`ServerConnection`] sans-IO: it polls the TCP and Unix sockets, decrypts
//! what the client sends into tiny_http and encrypts what comes back, with the
//! same caps and idle timeout. A failed handshake just closes the connection.
//!
//! Either way the relay follows where each request's head and body end
//! ([`Watch`]): a head must arrive within [`HEAD_DEADLINE`] of its first byte
//! (as must a TLS handshake) and a body at [`BODY_RATE`] on average after
//! that grace, so a client trickling bytes cannot hold a connection forever
//! by never going idle.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustls::{ServerConfig, ServerConnection};

/// How often a silent connection re-checks its idle clock.
const TICK: Duration = Duration::from_secs(1);
/// How long a request may wait for its first response bytes before the
/// relay suspects tiny_http left its connection queued (see [`kick`]).
const KICK_AFTER: Duration = Duration::from_millis(100);
/// Stack of relay threads: they only copy through a small buffer.
const STACK: usize = 128 * 1024;
/// Longest a request head (request line and headers) may take to arrive,
/// counted from its first byte; also the longest TLS handshake, and the
/// grace a request body gets before [`BODY_RATE`] applies.
const HEAD_DEADLINE: Duration = Duration::from_secs(10);
/// Largest request head accepted; a longer one closes the connection.
const MAX_HEAD: usize = 64 * 1024;
/// Least average rate, in bytes per second, at which a request body must
/// arrive once [`HEAD_DEADLINE`] has passed since its head ended.
const BODY_RATE: u64 = 16 * 1024;

pub(crate) struct Gate {
    pub(crate) open: AtomicU64,
    pub(crate) max: u64,
    pub(crate) idle: Duration,
    pub(crate) stop: AtomicBool,
}

/// A private directory for the relay socket, removed on drop.
pub(crate) struct PrivateDir(pub(crate) PathBuf);

impl PrivateDir {
    pub(crate) fn new() -> std::io::Result<PrivateDir> {
        use std::os::unix::fs::DirBuilderExt;
        let base = std::env::temp_dir();
        remove_stale(&base);
        let nanos = plasmite::time::now_ns();
        let path = base.join(format!("pls-serve-{}-{nanos:x}", std::process::id()));
        std::fs::DirBuilder::new().mode(0o700).create(&path)?;
        Ok(PrivateDir(path))
    }

    pub(crate) fn socket(&self) -> PathBuf {
        self.0.join("http.sock")
    }
}

/// Removes relay directories of servers that died without cleaning up
/// (SIGKILL): `pls-serve-<pid>-…` whose process is gone.
fn remove_stale(base: &Path) {
    if !Path::new("/proc/self").exists() {
        return;
    }
    let Ok(entries) = std::fs::read_dir(base) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let Some(pid) = name
            .strip_prefix("pls-serve-")
            .and_then(|r| r.split('-').next())
            .and_then(|p| p.parse::<u32>().ok())
        else {
            continue;
        };
        if !Path::new(&format!("/proc/{pid}")).exists() {
            let _ = std::fs::remove_dir_all(e.path());
        }
    }
}

impl Drop for PrivateDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Accepts until `gate.stop` is set (then a wake-up connection unblocks it).
pub(crate) fn accept_loop(
    listener: TcpListener,
    relay: PathBuf,
    gate: Arc<Gate>,
    tls: Option<Arc<ServerConfig>>,
) {
    for conn in listener.incoming() {
        if gate.stop.load(Ordering::SeqCst) {
            break;
        }
        let Ok(tcp) = conn else {
            // EMFILE and friends: back off instead of spinning.
            std::thread::sleep(Duration::from_millis(10));
            continue;
        };
        if gate.open.fetch_add(1, Ordering::SeqCst) >= gate.max {
            gate.open.fetch_sub(1, Ordering::SeqCst);
            if tls.is_none() {
                refuse(tcp);
            }
            continue;
        }
        let g = gate.clone();
        let relay = relay.clone();
        let tls = tls.clone();
        let spawned = std::thread::Builder::new()
            .name("pls-conn".into())
            .stack_size(STACK)
            .spawn(move || {
                match tls {
                    Some(cfg) => serve_tls(tcp, &relay, &g, cfg),
                    None => serve_conn(tcp, &relay, &g),
                }
                g.open.fetch_sub(1, Ordering::SeqCst);
            });
        if spawned.is_err() {
            gate.open.fetch_sub(1, Ordering::SeqCst);
        }
    }
}

/// Connects to `addr` to wake the accept loop (an unspecified address is
/// reached through loopback).
pub(crate) fn wake(addr: SocketAddr) {
    let mut a = addr;
    if a.ip().is_unspecified() {
        a.set_ip(if a.is_ipv4() {
            std::net::Ipv4Addr::LOCALHOST.into()
        } else {
            std::net::Ipv6Addr::LOCALHOST.into()
        });
    }
    let _ = TcpStream::connect_timeout(&a, Duration::from_secs(1));
}

fn refuse(mut tcp: TcpStream) {
    let body = br#"{"error":{"kind":"Busy","message":"too many open connections; retry later"}}"#;
    let head = format!(
        "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n\
         plasmite-version: 0\r\nRetry-After: 1\r\nConnection: close\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    let _ = tcp.set_write_timeout(Some(Duration::from_millis(200)));
    let _ = tcp.write_all(head.as_bytes());
    let _ = tcp.write_all(body);
    let _ = tcp.shutdown(Shutdown::Both);
}

fn serve_conn(tcp: TcpStream, relay: &Path, gate: &Gate) {
    let Ok(unix) = UnixStream::connect(relay) else {
        return;
    };

    let (Ok(tcp_w), Ok(unix_r)) = (tcp.try_clone(), unix.try_clone()) else {
        return;
    };
    let t0 = Instant::now();
    let ms = move || t0.elapsed().as_millis() as u64;
    // When bytes last went up (client → server) and down, in ms from t0.
    let up = Arc::new(AtomicU64::new(0));
    let down_at = Arc::new(AtomicU64::new(0));
    let _ = tcp.set_nodelay(true);
    // A client that stops reading cannot pin a stream forever.
    let _ = tcp_w.set_write_timeout(Some(gate.idle));
    let d2 = down_at.clone();
    // Responses: tiny_http → client, forwarded as soon as they come.
    let down = std::thread::Builder::new()
        .name("pls-conn-out".into())
        .stack_size(STACK)
        .spawn(move || {
            let (mut from, mut to) = (unix_r, tcp_w);
            let mut buf = [0u8; 16 * 1024];
            loop {
                match from.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        if to.write_all(&buf[..n]).is_err() {
                            break;
                        }
                        d2.store(ms().max(1), Ordering::Relaxed);
                    }
                }
            }
            let _ = to.shutdown(Shutdown::Both);
            let _ = from.shutdown(Shutdown::Both);
        });
    if down.is_err() {
        return;
    }
    // Requests: client → tiny_http, closed after `idle` of silence both
    // ways, or when a request is overdue (see `Watch`).
    let (mut from, mut to) = (tcp, unix);
    let mut buf = [0u8; 16 * 1024];
    let mut last_kick = 0;
    let mut watch = Watch::new();
    loop {
        // Waiting for an answer: look again soon (see `kick`).
        let (u, d) = (up.load(Ordering::Relaxed), down_at.load(Ordering::Relaxed));
        let pending = u > d;
        if d > 0 {
            watch.answered(d);
        }
        let now = ms();
        if watch.overdue(now) {
            break;
        }
        let mut wait = if pending { KICK_AFTER } else { TICK };
        if let Some(due) = watch.due_in(now) {
            wait = wait.min(due);
        }
        let _ = from.set_read_timeout(Some(wait));
        match from.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                if !watch.up(&buf[..n], ms()) || to.write_all(&buf[..n]).is_err() {
                    break;
                }
                up.store(ms().max(1), Ordering::Relaxed);
            }
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                let now = ms();
                if pending
                    && now.saturating_sub(u) >= KICK_AFTER.as_millis() as u64
                    && now.saturating_sub(last_kick) >= KICK_AFTER.as_millis() as u64
                {
                    last_kick = now;
                    kick(relay);
                }
                let quiet = now.saturating_sub(u.max(d));
                if quiet >= gate.idle.as_millis() as u64 || gate.stop.load(Ordering::SeqCst) {
                    break;
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => break,
        }
    }
    // Half-close: a response still being written reaches the client.
    let _ = to.shutdown(Shutdown::Write);
    if let Ok(h) = down {
        let _ = h.join();
    }
}

/// Works around a tiny_http task-pool race: when two connections arrive at
/// once, the second can be queued although the thread that will take the
/// first was counted idle, and connection tasks run as long as their
/// connection, so the queued one waits for some other connection to end. A
/// connection that closes at once is a task that ends at once: the pool
/// either starts a new thread for it (which then takes the queued task) or
/// wakes an idle one. Sent only while a request has had no answer for
/// [`KICK_AFTER`], so a slow request costs at most a few of these.
fn kick(relay: &Path) {
    drop(UnixStream::connect(relay));
}

/// Relays one TLS connection: client ⇄ rustls ⇄ tiny_http, in one thread.
fn serve_tls(tcp: TcpStream, relay: &Path, gate: &Gate, cfg: Arc<ServerConfig>) {
    use std::os::fd::AsRawFd;
    let Ok(mut tls) = ServerConnection::new(cfg) else {
        return;
    };
    let Ok(unix) = UnixStream::connect(relay) else {
        return;
    };
    if tcp.set_nonblocking(true).is_err() || unix.set_nonblocking(true).is_err() {
        return;
    }
    let _ = tcp.set_nodelay(true);
    let (mut tcp, mut unix) = (tcp, unix);
    let t0 = Instant::now();
    let ms = move || t0.elapsed().as_millis() as u64;
    // When bytes last went up (client → server) and down, in ms from t0.
    let (mut up_at, mut down_at, mut last_kick) = (0u64, 0u64, 0u64);
    // Any bytes from the client (the handshake too), for the idle clock.
    let mut heard_at = 0u64;
    // Plaintext decrypted but not yet taken by tiny_http.
    let mut up: Vec<u8> = Vec::new();
    let mut client_eof = false;
    let mut server_eof = false;
    let mut watch = Watch::new();
    let mut buf = [0u8; 16 * 1024];
    let would_block = |e: &std::io::Error| {
        matches!(
            e.kind(),
            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::Interrupted
        )
    };
    loop {
        // Encrypted output first: as much as the socket takes.
        while tls.wants_write() {
            match tls.write_tls(&mut tcp) {
                Ok(0) => return,
                Ok(_) => down_at = ms(),
                Err(e) if would_block(&e) => break,
                Err(_) => return,
            }
        }
        // Plaintext to tiny_http.
        while !up.is_empty() {
            match unix.write(&up) {
                Ok(0) => return,
                Ok(n) => {
                    up.drain(..n);
                    up_at = ms().max(1);
                }
                Err(e) if would_block(&e) => break,
                Err(_) => return,
            }
        }
        if client_eof && up.is_empty() {
            let _ = unix.shutdown(Shutdown::Write);
        }
        if server_eof && !tls.wants_write() {
            let _ = tcp.shutdown(Shutdown::Both);
            return;
        }
        if gate.stop.load(Ordering::SeqCst) {
            return;
        }
        // A handshake or request that is taking too long (see `Watch`).
        let now = ms();
        if watch.overdue(now) || (tls.is_handshaking() && now > HEAD_DEADLINE.as_millis() as u64) {
            return;
        }
        let pending = up_at > down_at;
        let mut fds = [
            libc::pollfd {
                fd: tcp.as_raw_fd(),
                events: 0,
                revents: 0,
            },
            libc::pollfd {
                fd: unix.as_raw_fd(),
                events: 0,
                revents: 0,
            },
        ];
        if !client_eof && up.is_empty() && tls.wants_read() {
            fds[0].events |= libc::POLLIN;
        }
        if tls.wants_write() {
            fds[0].events |= libc::POLLOUT;
        }
        // Read responses only once the previous ones went out (backpressure).
        if !server_eof && !tls.wants_write() && !tls.is_handshaking() {
            fds[1].events |= libc::POLLIN;
        }
        if !up.is_empty() {
            fds[1].events |= libc::POLLOUT;
        }
        let mut wait = if pending { KICK_AFTER } else { TICK };
        if let Some(due) = watch.due_in(now) {
            wait = wait.min(due);
        }
        // SAFETY: `fds` is a valid array of two pollfd for the call.
        let r = unsafe { libc::poll(fds.as_mut_ptr(), 2, wait.as_millis() as libc::c_int) };
        if r < 0 {
            if std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            return;
        }
        let now = ms();
        if now.saturating_sub(up_at.max(down_at).max(heard_at)) >= gate.idle.as_millis() as u64 {
            return;
        }
        if r == 0 {
            if pending
                && now.saturating_sub(up_at) >= KICK_AFTER.as_millis() as u64
                && now.saturating_sub(last_kick) >= KICK_AFTER.as_millis() as u64
            {
                last_kick = now;
                kick(relay);
            }
            continue;
        }
        if fds[0].revents & libc::POLLERR != 0 {
            return;
        }
        if fds[0].events & libc::POLLIN == 0 && fds[0].revents & libc::POLLHUP != 0 {
            // The client hung up while tiny_http still has our bytes to take:
            // do not spin on the hang-up.
            std::thread::sleep(Duration::from_millis(10));
        }
        let ready = |i: usize, ev: libc::c_short| {
            fds[i].revents & (ev | libc::POLLHUP | libc::POLLERR) != 0
        };
        if fds[0].events & libc::POLLIN != 0 && ready(0, libc::POLLIN) {
            match tls.read_tls(&mut tcp) {
                Ok(0) => client_eof = true,
                Ok(_) => {
                    if tls.process_new_packets().is_err() {
                        // Send the alert if we can, then drop quietly.
                        let _ = tcp.set_nonblocking(false);
                        let _ = tcp.set_write_timeout(Some(Duration::from_millis(200)));
                        while tls.wants_write() {
                            if tls.write_tls(&mut tcp).is_err() {
                                break;
                            }
                        }
                        return;
                    }
                    heard_at = ms();
                    loop {
                        match tls.reader().read(&mut buf) {
                            Ok(0) => {
                                client_eof = true;
                                break;
                            }
                            Ok(n) => {
                                if !watch.up(&buf[..n], heard_at) {
                                    return;
                                }
                                up.extend_from_slice(&buf[..n]);
                            }
                            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                            Err(_) => {
                                client_eof = true;
                                break;
                            }
                        }
                    }
                }
                Err(e) if would_block(&e) => {}
                Err(_) => return,
            }
        }
        if fds[1].events & libc::POLLIN != 0 && ready(1, libc::POLLIN) {
            match unix.read(&mut buf) {
                Ok(0) => {
                    server_eof = true;
                    tls.send_close_notify();
                }
                Ok(n) => {
                    if tls.writer().write_all(&buf[..n]).is_err() {
                        return;
                    }
                    down_at = ms();
                    watch.answered(down_at);
                }
                Err(e) if would_block(&e) => {}
                Err(_) => {
                    server_eof = true;
                    tls.send_close_notify();
                }
            }
        }
    }
}

/// What the client of one connection is sending: between requests, a
/// request head, or a body. The relay copies bytes without parsing HTTP, so
/// this is all it knows of requests, and it is enough to bound how long one
/// may take to arrive: a client trickling a head or a body a byte at a time
/// would otherwise hold a connection, and with it a tiny_http thread (or a
/// worker reading the body), for as long as it keeps the connection from
/// going idle.
pub(crate) struct Watch {
    phase: Phase,
    /// The head received so far (up to [`MAX_HEAD`] bytes).
    head: Vec<u8>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    /// No request being received (between requests, or waiting for an
    /// answer): only the idle timeout applies.
    Between,
    /// A head whose first byte came at `since` (ms).
    Head { since: u64 },
    /// A body whose head ended at `since`, `got` bytes of it so far, and
    /// `left` bytes to go (`None`: chunked, over once the answer starts).
    Body {
        since: u64,
        got: u64,
        left: Option<u64>,
    },
}

impl Watch {
    pub(crate) fn new() -> Watch {
        Watch {
            phase: Phase::Between,
            head: Vec::new(),
        }
    }

    /// Follows bytes the client sent, received at `now` (ms). False if a
    /// head grew beyond [`MAX_HEAD`]: close the connection.
    pub(crate) fn up(&mut self, mut bytes: &[u8], now: u64) -> bool {
        while !bytes.is_empty() {
            match &mut self.phase {
                Phase::Between => {
                    // Line breaks between requests are not a request.
                    let skip = bytes.iter().take_while(|b| matches!(b, b'\r' | b'\n'));
                    bytes = &bytes[skip.count()..];
                    if !bytes.is_empty() {
                        self.head.clear();
                        self.phase = Phase::Head { since: now };
                    }
                }
                Phase::Head { .. } => {
                    let old = self.head.len();
                    let from = old.saturating_sub(3);
                    self.head.extend_from_slice(bytes);
                    let Some(at) = find(&self.head[from..], b"\r\n\r\n") else {
                        return self.head.len() <= MAX_HEAD;
                    };
                    // The head ends inside `bytes` (it did not end before).
                    let end = from + at + 4;
                    bytes = &bytes[end - old..];
                    self.phase = match body_length(&self.head[..end]) {
                        None => Phase::Between,
                        Some(left) => Phase::Body {
                            since: now,
                            got: 0,
                            left,
                        },
                    };
                    if self.head.capacity() > 4096 {
                        self.head = Vec::new();
                    }
                    self.head.clear();
                }
                Phase::Body { got, left, .. } => {
                    let take = match left {
                        Some(n) => (*n).min(bytes.len() as u64),
                        None => bytes.len() as u64,
                    };
                    *got += take;
                    bytes = &bytes[take as usize..];
                    if let Some(n) = left {
                        *n -= take;
                        if *n == 0 {
                            self.phase = Phase::Between;
                        }
                    }
                }
            }
        }
        true
    }

    /// Notes that answer bytes went to the client at `at` (ms): a chunked
    /// body that began before is over (the server answers once it has read
    /// it, or refused it).
    pub(crate) fn answered(&mut self, at: u64) {
        if let Phase::Body {
            since, left: None, ..
        } = self.phase
        {
            if at >= since {
                self.phase = Phase::Between;
            }
        }
    }

    /// Whether the request being received is overdue at `now` (ms): a head
    /// begun more than [`HEAD_DEADLINE`] ago, or a body arriving slower than
    /// [`BODY_RATE`] on average after that grace.
    pub(crate) fn overdue(&self, now: u64) -> bool {
        let grace = HEAD_DEADLINE.as_millis() as u64;
        match self.phase {
            Phase::Between => false,
            Phase::Head { since } => now.saturating_sub(since) > grace,
            Phase::Body { since, got, .. } => {
                now.saturating_sub(since) > grace + got.saturating_mul(1000) / BODY_RATE
            }
        }
    }

    /// How long until [`Watch::overdue`] can next turn true, for a poll
    /// timeout (at least 1 ms).
    fn due_in(&self, now: u64) -> Option<Duration> {
        let grace = HEAD_DEADLINE.as_millis() as u64;
        let at = match self.phase {
            Phase::Between => return None,
            Phase::Head { since } => since + grace + 1,
            Phase::Body { since, got, .. } => {
                since + grace + got.saturating_mul(1000) / BODY_RATE + 1
            }
        };
        Some(Duration::from_millis(at.saturating_sub(now).max(1)))
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// The body a request head announces, read as tiny_http reads it: any
/// `Transfer-Encoding` means a chunked body of unknown length
/// (`Some(None)`); otherwise a `Content-Length` above zero (`Some(Some(n))`);
/// otherwise none.
fn body_length(head: &[u8]) -> Option<Option<u64>> {
    let mut length = None;
    for line in head.split(|&b| b == b'\n').skip(1) {
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            continue;
        };
        let name = line[..colon].trim_ascii();
        let value = line[colon + 1..].trim_ascii();
        if name.eq_ignore_ascii_case(b"transfer-encoding") {
            return Some(None);
        }
        if name.eq_ignore_ascii_case(b"content-length") && length.is_none() {
            length = std::str::from_utf8(value)
                .ok()
                .and_then(|v| v.parse::<u64>().ok());
        }
    }
    length.filter(|&n| n > 0).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    const GRACE: u64 = HEAD_DEADLINE.as_millis() as u64;

    #[test]
    fn a_head_must_end_within_the_deadline() {
        let mut w = Watch::new();
        assert!(!w.overdue(1_000_000), "nothing sent yet");
        assert!(w.up(b"GET /healthz HTTP/1.1\r\nHo", 100));
        assert!(!w.overdue(100 + GRACE));
        // Each byte counts, but not as new time: the head is still late.
        assert!(w.up(b"s", 100 + GRACE));
        assert!(w.overdue(101 + GRACE));
        assert!(w.up(b"t: x\r\n\r\n", 200));
        assert!(!w.overdue(1_000_000), "head done, no body: no deadline");
        // The terminator split across reads is found.
        assert!(w.up(b"GET / HTTP/1.1\r\n\r", 300));
        assert!(w.up(b"\n", 301));
        assert!(!w.overdue(1_000_000));
    }

    #[test]
    fn line_breaks_between_requests_start_nothing() {
        let mut w = Watch::new();
        assert!(w.up(b"\r\n\r\n", 0));
        assert!(!w.overdue(1_000_000));
    }

    #[test]
    fn a_body_must_keep_up_the_rate() {
        let mut w = Watch::new();
        let head = b"POST /v0/pools/p/append HTTP/1.1\r\nContent-Length: 40000\r\n\r\n{";
        assert!(w.up(head, 0));
        assert!(!w.overdue(GRACE));
        assert!(w.overdue(GRACE + 1), "one byte in the grace period");
        let mut w = Watch::new();
        assert!(w.up(head, 0));
        assert!(w.up(&[b' '; 16 * 1024], 5));
        // 16 KiB buys a second more.
        assert!(!w.overdue(GRACE + 1000));
        assert!(w.overdue(GRACE + 1001));
        // The rest of the body ends it; the next request is pipelined.
        let rest = vec![b' '; 40000 - 1 - 16 * 1024];
        assert!(w.up(&rest, 6));
        assert!(!w.overdue(1_000_000));
        assert!(w.up(b"GET / HTTP/1.1\r\n", 7));
        assert!(w.overdue(8 + GRACE));
    }

    #[test]
    fn a_chunked_body_ends_with_the_answer() {
        let mut w = Watch::new();
        let head = b"POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n";
        assert!(w.up(head, 50));
        assert!(w.up(b"5\r\nab", 60));
        w.answered(40);
        assert!(
            w.overdue(51 + GRACE),
            "an answer from before does not count"
        );
        w.answered(70);
        assert!(!w.overdue(1_000_000));
    }

    #[test]
    fn heads_are_bounded() {
        let mut w = Watch::new();
        assert!(w.up(b"GET / HTTP/1.1\r\n", 0));
        let line = vec![b'a'; 16 * 1024];
        for _ in 0..3 {
            assert!(w.up(&line, 0));
        }
        assert!(!w.up(&line, 0));
    }

    #[test]
    fn body_lengths() {
        assert_eq!(body_length(b"GET / HTTP/1.1\r\n\r\n"), None);
        assert_eq!(
            body_length(b"POST / HTTP/1.1\r\ncontent-length:  12 \r\n\r\n"),
            Some(Some(12))
        );
        assert_eq!(
            body_length(b"POST / HTTP/1.1\r\nContent-Length: 0\r\n\r\n"),
            None
        );
        assert_eq!(
            body_length(b"POST / HTTP/1.1\r\nContent-Length: x\r\n\r\n"),
            None
        );
        assert_eq!(
            body_length(b"POST / HTTP/1.1\r\nTRANSFER-ENCODING: chunked\r\n\r\n"),
            Some(None)
        );
    }
}
