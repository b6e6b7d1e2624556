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
        let wait = if pending { KICK_AFTER } else { TICK };
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
                            Ok(n) => up.extend_from_slice(&buf[..n]),
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
