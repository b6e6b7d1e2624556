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

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How often a silent connection re-checks its idle clock.
const TICK: Duration = Duration::from_secs(1);
/// How long a request may wait for its first response bytes before the
/// relay suspects tiny_http left its connection queued (see [`kick`]).
const KICK_AFTER: Duration = Duration::from_millis(100);
/// Stack of relay threads: they only copy through a small buffer.
const STACK: usize = 128 * 1024;

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
pub(crate) fn accept_loop(listener: TcpListener, relay: PathBuf, gate: Arc<Gate>) {
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
            refuse(tcp);
            continue;
        }
        let g = gate.clone();
        let relay = relay.clone();
        let spawned = std::thread::Builder::new()
            .name("pls-conn".into())
            .stack_size(STACK)
            .spawn(move || {
                serve_conn(tcp, &relay, &g);
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
                        d2.store(ms(), Ordering::Relaxed);
                    }
                }
            }
            let _ = to.shutdown(Shutdown::Both);
            let _ = from.shutdown(Shutdown::Both);
        });
    if down.is_err() {
        return;
    }
    // Requests: client → tiny_http, closed after `idle` of silence both ways.
    let (mut from, mut to) = (tcp, unix);
    let mut buf = [0u8; 16 * 1024];
    let mut last_kick = 0;
    loop {
        // Waiting for an answer: look again soon (see `kick`).
        let (u, d) = (up.load(Ordering::Relaxed), down_at.load(Ordering::Relaxed));
        let pending = u > d;
        let _ = from.set_read_timeout(Some(if pending { KICK_AFTER } else { TICK }));
        match from.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                if to.write_all(&buf[..n]).is_err() {
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
