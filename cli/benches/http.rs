//! `pls serve` on loopback, for `docs/performance.md`: append requests per
//! second and tail messages per second, over plain HTTP and over TLS, side
//! by side in one run.
//!
//! `cargo bench -p plasmite-cli --bench http` prints a table (`-- --json`
//! for JSON; `-- --secs S` to change how long each append run lasts). The
//! server is the real `pls` binary; the client is this program: keep-alive
//! connections written with std `TcpStream` (wrapped in a rustls client
//! for TLS, trusting the certificate `pls serve init` made), one thread per
//! connection, so client and server share the machine's cores.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{mpsc, Arc, Barrier};
use std::time::{Duration, Instant};

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, ClientConnection, RootCertStore, StreamOwned};

const PLS: &str = env!("CARGO_BIN_EXE_pls");
/// Messages of each tail burst.
const BURST: u64 = 200_000;

/// The 100-byte JSON object every benchmark in docs/performance.md uses.
fn record(i: u64) -> String {
    let head = format!("{{\"id\":\"{i:010}\",\"kind\":\"bench\",\"msg\":\"");
    let pad = 100 - head.len() - 2;
    format!("{head}{}\"}}", "x".repeat(pad))
}

/// A connection to the server: plain TCP or TLS over it.
trait Conn: Read + Write + Send {}
impl<T: Read + Write + Send> Conn for T {}

/// A running `pls serve`, stopped on drop.
struct Server {
    child: Child,
    port: u16,
    tls: Option<Arc<ClientConfig>>,
}

impl Server {
    fn start(dir: &Path, tls: bool) -> Server {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("free port");
        let bind = format!("127.0.0.1:{port}");
        let mut cmd = Command::new(PLS);
        cmd.arg("--dir").arg(dir.join("pools"));
        cmd.args(["serve", "--bind", &bind, "--max-tail-concurrency", "64"]);
        let client = if tls {
            let cert = dir.join("serve-cert.pem");
            if !cert.exists() {
                let made = Command::new(PLS)
                    .args(["serve", "init", "--bind", &bind, "--output-dir"])
                    .arg(dir)
                    .stdout(Stdio::null())
                    .status()
                    .expect("run pls serve init");
                assert!(made.success(), "pls serve init failed");
            }
            cmd.arg("--tls-cert").arg(&cert);
            cmd.arg("--tls-key").arg(dir.join("serve-key.pem"));
            Some(trusting(&cert))
        } else {
            None
        };
        let child = cmd
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn pls serve");
        let s = Server {
            child,
            port,
            tls: client,
        };
        let t0 = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                t0.elapsed() < Duration::from_secs(10),
                "server did not start"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        s
    }

    fn connect(&self) -> Box<dyn Conn> {
        let tcp = TcpStream::connect(("127.0.0.1", self.port)).expect("connect");
        tcp.set_nodelay(true).unwrap();
        tcp.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        match &self.tls {
            None => Box::new(tcp),
            Some(cfg) => {
                let name = ServerName::try_from("127.0.0.1").unwrap();
                let c = ClientConnection::new(cfg.clone(), name).expect("TLS client");
                Box::new(StreamOwned::new(c, tcp))
            }
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }
}

fn trusting(cert: &Path) -> Arc<ClientConfig> {
    let mut roots = RootCertStore::empty();
    for c in CertificateDer::pem_file_iter(cert).expect("read certificate") {
        roots.add(c.expect("PEM")).expect("trust certificate");
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Arc::new(
        ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth(),
    )
}

/// Reads one response head; returns the status and how the body is framed.
fn read_head(r: &mut impl BufRead) -> (u16, Option<usize>) {
    let mut line = String::new();
    r.read_line(&mut line).expect("status line");
    let status = line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("bad status line {line:?}"));
    let mut length = None;
    loop {
        line.clear();
        r.read_line(&mut line).expect("header");
        let l = line.trim_end();
        if l.is_empty() {
            return (status, length);
        }
        if let Some((k, v)) = l.split_once(':') {
            if k.eq_ignore_ascii_case("content-length") {
                length = v.trim().parse().ok();
            }
        }
    }
}

/// One connection appending for `secs`: (requests, latencies in µs).
fn append_loop(conn: Box<dyn Conn>, until: Instant, worker: u64) -> (u64, Vec<u32>) {
    let mut r = BufReader::new(conn);
    let mut lat = Vec::with_capacity(1 << 16);
    let mut body = Vec::new();
    let mut i = worker << 40;
    while Instant::now() < until {
        let data = format!("{{\"data\":{}}}", record(i));
        i += 1;
        let req = format!(
            "POST /v0/pools/bench/append HTTP/1.1\r\nHost: 127.0.0.1\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{data}",
            data.len()
        );
        let t = Instant::now();
        r.get_mut().write_all(req.as_bytes()).expect("send");
        r.get_mut().flush().expect("send");
        let (status, length) = read_head(&mut r);
        body.resize(length.expect("content-length"), 0);
        r.read_exact(&mut body).expect("body");
        assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
        lat.push(t.elapsed().as_micros().min(u32::MAX as u128) as u32);
    }
    (lat.len() as u64, lat)
}

struct AppendRun {
    conns: usize,
    per_sec: f64,
    p50_us: u32,
    p99_us: u32,
}

fn bench_append(s: &Server, conns: usize, secs: f64) -> AppendRun {
    let barrier = Arc::new(Barrier::new(conns + 1));
    let (tx, rx) = mpsc::channel();
    let start = Instant::now() + Duration::from_millis(300);
    let until = start + Duration::from_secs_f64(secs);
    for w in 0..conns {
        let conn = s.connect();
        let (tx, barrier) = (tx.clone(), barrier.clone());
        std::thread::spawn(move || {
            barrier.wait();
            std::thread::sleep(start.saturating_duration_since(Instant::now()));
            tx.send(append_loop(conn, until, w as u64)).unwrap();
        });
    }
    drop(tx);
    barrier.wait();
    let mut total = 0;
    let mut lat = Vec::new();
    for (n, l) in rx {
        total += n;
        lat.extend(l);
    }
    lat.sort_unstable();
    let pick = |q: f64| lat[((lat.len() as f64 * q) as usize).min(lat.len() - 1)];
    AppendRun {
        conns,
        per_sec: total as f64 / secs,
        p50_us: pick(0.5),
        p99_us: pick(0.99),
    }
}

/// Reads a chunked JSONL stream until `want` messages arrived; returns when
/// the last one did.
fn read_tail(conn: Box<dyn Conn>, path: &str, want: u64, ready: mpsc::Sender<()>) -> Instant {
    let mut r = BufReader::with_capacity(1 << 16, conn);
    let req = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    r.get_mut().write_all(req.as_bytes()).expect("send");
    r.get_mut().flush().expect("send");
    let (status, _) = read_head(&mut r);
    assert_eq!(status, 200);
    ready.send(()).unwrap();
    let (mut got, mut line, mut data) = (0u64, String::new(), Vec::new());
    while got < want {
        line.clear();
        r.read_line(&mut line).expect("chunk size");
        let size = usize::from_str_radix(line.trim(), 16).expect("chunk size");
        assert!(size > 0, "stream ended after {got} of {want} messages");
        data.resize(size + 2, 0);
        r.read_exact(&mut data).expect("chunk");
        got += data[..size].iter().filter(|&&b| b == b'\n').count() as u64;
    }
    Instant::now()
}

/// `readers` tails receive a burst of [`BURST`] messages appended locally
/// (batches of 1000): messages delivered per second, over all readers.
fn bench_tail(s: &Server, dir: &Path, readers: usize) -> f64 {
    let pool = plasmite::PoolDir::new(dir.join("pools"))
        .open("bench")
        .expect("open pool");
    let next = pool
        .info()
        .expect("info")
        .newest
        .map_or(1, |(seq, _)| seq + 1);
    let path = format!("/v0/pools/bench/tail?since_seq={next}");
    let (ready_tx, ready_rx) = mpsc::channel();
    let handles: Vec<_> = (0..readers)
        .map(|_| {
            let conn = s.connect();
            let (path, ready) = (path.clone(), ready_tx.clone());
            std::thread::spawn(move || read_tail(conn, &path, BURST, ready))
        })
        .collect();
    for _ in 0..readers {
        ready_rx.recv().expect("a reader failed to start");
    }
    // Every stream is parked on the pool's futex now.
    std::thread::sleep(Duration::from_millis(100));
    let records: Vec<String> = (0..BURST).map(record).collect();
    let t0 = Instant::now();
    for chunk in records.chunks(1000) {
        let mut b = pool.batch().expect("batch");
        for r in chunk {
            b.append_json(r.as_bytes(), &[]).expect("append");
        }
        b.finish(plasmite::Durability::Fast).expect("publish");
    }
    let done = handles
        .into_iter()
        .map(|h| h.join().expect("reader"))
        .max()
        .unwrap();
    (BURST * readers as u64) as f64 / done.duration_since(t0).as_secs_f64()
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let n = std::thread::available_parallelism().map_or(0, |n| n.get());
    format!("{n} × {cpu}")
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let json = args.iter().any(|a| a == "--json");
    let secs: f64 = args
        .iter()
        .position(|a| a == "--secs")
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(3.0);
    let dir = std::env::temp_dir().join(format!("plasmite-http-bench-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("pools")).unwrap();
    // 64 MiB: a whole burst fits in the ring, so no reader is lapped.
    let made = Command::new(PLS)
        .arg("--dir")
        .arg(dir.join("pools"))
        .args(["pool", "create", "bench", "--size", "64M"])
        .stdout(Stdio::null())
        .status()
        .expect("run pls pool create");
    assert!(made.success());

    let conns = [1usize, 4, 16];
    let tails = [1usize, 4];
    let mut rows = Vec::new();
    // Plain and TLS alternate per case, so drift on a busy machine hits both.
    for &c in &conns {
        for tls in [false, true] {
            let s = Server::start(&dir, tls);
            rows.push((tls, bench_append(&s, c, secs)));
        }
    }
    let mut tail_rows = Vec::new();
    for &n in &tails {
        for tls in [false, true] {
            let s = Server::start(&dir, tls);
            tail_rows.push((tls, n, bench_tail(&s, &dir, n)));
        }
    }
    let _ = std::fs::remove_dir_all(&dir);

    let scheme = |tls: bool| if tls { "https" } else { "http" };
    if json {
        let appends: Vec<_> = rows
            .iter()
            .map(|(tls, r)| {
                serde_json::json!({"scheme": scheme(*tls), "connections": r.conns,
                    "requests_per_sec": r.per_sec.round(), "p50_us": r.p50_us, "p99_us": r.p99_us})
            })
            .collect();
        let tails: Vec<_> = tail_rows
            .iter()
            .map(|(tls, n, rate)| {
                serde_json::json!({"scheme": scheme(*tls), "readers": n, "burst": BURST,
                    "messages_per_sec": rate.round()})
            })
            .collect();
        let doc = serde_json::json!({"machine": machine(), "append_secs": secs,
            "append": appends, "tail": tails});
        println!("{doc}");
        return;
    }
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "machine: {}", machine());
    let _ = writeln!(
        out,
        "append: POST /v0/pools/bench/append, 100-byte data, {secs} s per run"
    );
    let _ = writeln!(
        out,
        "| connections | http req/s | https req/s | https/http | http p50 / p99 | https p50 / p99 |"
    );
    let _ = writeln!(out, "|---:|---:|---:|---:|---:|---:|");
    for pair in rows.chunks(2) {
        let (p, t) = (&pair[0].1, &pair[1].1);
        let _ = writeln!(
            out,
            "| {} | {:.0} | {:.0} | {:.2}× | {} / {} µs | {} / {} µs |",
            p.conns,
            p.per_sec,
            t.per_sec,
            t.per_sec / p.per_sec,
            p.p50_us,
            p.p99_us,
            t.p50_us,
            t.p99_us
        );
    }
    let _ = writeln!(
        out,
        "tail: JSONL stream, burst of {BURST} messages appended locally"
    );
    let _ = writeln!(out, "| readers | http msgs/s | https msgs/s | https/http |");
    let _ = writeln!(out, "|---:|---:|---:|---:|");
    for pair in tail_rows.chunks(2) {
        let _ = writeln!(
            out,
            "| {} | {:.0} | {:.0} | {:.2}× |",
            pair[0].1,
            pair[0].2,
            pair[1].2,
            pair[1].2 / pair[0].2
        );
    }
}
