//! `pls serve` over TLS and `pls serve init`: the real binary on a free
//! loopback port, spoken to with a rustls client that trusts the certificate
//! `serve init` made.

#[path = "common/cli.rs"]
mod cli;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Child, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use cli::Sandbox;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, ClientConnection, DigitallySignedStruct, RootCertStore, StreamOwned};
use serde_json::{json, Value};

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A client trusting exactly the PEM certificate at `cert`.
fn trusting(cert: &Path) -> Arc<ClientConfig> {
    let mut roots = RootCertStore::empty();
    for c in CertificateDer::pem_file_iter(cert).expect("cert file") {
        roots.add(c.expect("cert")).expect("add root");
    }
    Arc::new(
        ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .expect("versions")
            .with_root_certificates(roots)
            .with_no_client_auth(),
    )
}

/// Accepts any certificate (for `--tls-self-signed`, whose cert is not on disk).
#[derive(Debug)]
struct AnyCert(Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for AnyCert {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

fn any_cert() -> Arc<ClientConfig> {
    Arc::new(
        ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .expect("versions")
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AnyCert(provider())))
            .with_no_client_auth(),
    )
}

/// One HTTP/1.1 request over TLS: (status, body).
fn https(
    client: &Arc<ClientConfig>,
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> std::io::Result<(u16, Vec<u8>)> {
    let tcp = TcpStream::connect(("127.0.0.1", port))?;
    tcp.set_read_timeout(Some(Duration::from_secs(10)))?;
    let name = ServerName::try_from("localhost").expect("name");
    let conn = ClientConnection::new(client.clone(), name).map_err(std::io::Error::other)?;
    let mut s = StreamOwned::new(conn, tcp);
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: localhost:{port}\r\nConnection: close\r\n\
         Content-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    s.write_all(head.as_bytes())?;
    s.write_all(body)?;
    s.flush()?;
    let mut raw = Vec::new();
    match s.read_to_end(&mut raw) {
        Ok(_) => {}
        // The server may close without close_notify after a full response.
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof && !raw.is_empty() => {}
        Err(e) => return Err(e),
    }
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| std::io::Error::other("no header end"))?;
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let status: u16 = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other("no status"))?;
    let mut body = raw[split + 4..].to_vec();
    if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        body = dechunk(&body);
    }
    Ok((status, body))
}

fn dechunk(mut b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(i) = b.windows(2).position(|w| w == b"\r\n") {
        let n = usize::from_str_radix(String::from_utf8_lossy(&b[..i]).trim(), 16).unwrap_or(0);
        if n == 0 {
            break;
        }
        out.extend_from_slice(&b[i + 2..i + 2 + n]);
        b = &b[i + 2 + n + 2..];
    }
    out
}

/// A running `pls serve` over TLS, stopped with SIGTERM on drop.
struct Server {
    _sb: Sandbox,
    child: Option<Child>,
    port: u16,
    client: Arc<ClientConfig>,
}

impl Server {
    fn start(sb: Sandbox, client: Arc<ClientConfig>, extra: &[&str]) -> Server {
        let port = free_port();
        let bind = format!("127.0.0.1:{port}");
        let mut args = vec!["serve", "--bind", bind.as_str()];
        args.extend_from_slice(extra);
        let child = sb
            .cmd(&args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn pls serve");
        let s = Server {
            _sb: sb,
            child: Some(child),
            port,
            client,
        };
        let t0 = Instant::now();
        loop {
            if let Ok((status, _)) = s.req("GET", "/healthz", &[], b"") {
                assert_eq!(status, 200);
                break;
            }
            assert!(
                t0.elapsed() < Duration::from_secs(10),
                "server did not start"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        s
    }

    fn req(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> std::io::Result<(u16, Vec<u8>)> {
        https(&self.client, self.port, method, path, headers, body)
    }

    fn healthy(&self) {
        let (status, body) = self.req("GET", "/healthz", &[], b"").expect("healthz");
        assert_eq!(status, 200);
        assert_eq!(
            serde_json::from_slice::<Value>(&body).expect("json"),
            json!({"ok": true})
        );
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = std::process::Command::new("kill")
                .args(["-TERM", &c.id().to_string()])
                .status();
            let t0 = Instant::now();
            while t0.elapsed() < Duration::from_secs(5) {
                if let Ok(Some(_)) = c.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).expect("metadata").permissions().mode() & 0o777
}

#[test]
fn init_writes_private_files_and_refuses_to_overwrite() {
    let sb = Sandbox::new("tls-init");
    let out = sb.run(&["serve", "init", "--output-dir", "sec"]).ok();
    let doc = out.json();
    let paths = &doc["init"]["artifact_paths"];
    let token_file = sb.path("sec/serve-token.txt");
    let cert = sb.path("sec/serve-cert.pem");
    let key = sb.path("sec/serve-key.pem");
    let as_path = |v: &Value| Path::new(v.as_str().expect("path")).to_path_buf();
    assert_eq!(
        as_path(&paths["token_file"]).canonicalize().unwrap(),
        token_file.canonicalize().unwrap()
    );
    assert_eq!(
        as_path(&paths["tls_cert"]).canonicalize().unwrap(),
        cert.canonicalize().unwrap()
    );
    assert_eq!(
        as_path(&paths["tls_key"]).canonicalize().unwrap(),
        key.canonicalize().unwrap()
    );
    let cmds = doc["init"]["next_commands"].as_array().expect("commands");
    assert_eq!(cmds.len(), 3);
    assert!(cmds[0].as_str().unwrap().contains("--tls-cert"));
    let token = std::fs::read_to_string(&token_file).unwrap();
    assert_eq!(token.len(), 65);
    assert!(token.ends_with('\n'));
    assert!(token[..64]
        .bytes()
        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));
    assert!(!out.stdout.contains(token.trim()), "token printed");
    assert!(std::fs::read_to_string(&cert)
        .unwrap()
        .starts_with("-----BEGIN CERTIFICATE-----"));
    assert!(std::fs::read_to_string(&key)
        .unwrap()
        .starts_with("-----BEGIN PRIVATE KEY-----"));
    for p in [&token_file, &cert, &key] {
        assert_eq!(mode(p), 0o600, "{}", p.display());
    }

    // No overwrite without --force: exit 4, hint names --force, file unchanged.
    let again = sb.run(&["serve", "init", "--output-dir", "sec"]);
    let e = again.fails("AlreadyExists");
    assert_eq!(again.code(), 4);
    assert!(cli::hint(&e).contains("--force"));
    assert_eq!(std::fs::read_to_string(&token_file).unwrap(), token);

    // --force replaces all three, still 0600.
    sb.run(&["serve", "init", "--output-dir", "sec", "--force"])
        .ok();
    assert_ne!(std::fs::read_to_string(&token_file).unwrap(), token);
    for p in [&token_file, &cert, &key] {
        assert_eq!(mode(p), 0o600, "{}", p.display());
    }

    // Distinct paths.
    let same = sb.run(&[
        "serve",
        "init",
        "--output-dir",
        "other",
        "--tls-cert",
        "x.pem",
        "--tls-key",
        "x.pem",
    ]);
    same.fails("Usage");
}

#[test]
fn serves_https_with_the_init_certificate() {
    let sb = Sandbox::new("tls-serve");
    sb.run(&["serve", "init"]).ok();
    let cert = sb.path("serve-cert.pem");
    let key = sb.path("serve-key.pem");
    let token_file = sb.path("serve-token.txt");
    let token = std::fs::read_to_string(&token_file).unwrap();
    let token = token.trim().to_string();
    let (c, k, t) = (
        cert.to_string_lossy().into_owned(),
        key.to_string_lossy().into_owned(),
        token_file.to_string_lossy().into_owned(),
    );
    let client = trusting(&cert);
    let srv = Server::start(
        sb,
        client,
        &["--tls-cert", &c, "--tls-key", &k, "--token-file", &t],
    );
    srv.healthy();

    let auth = format!("Bearer {token}");
    let (status, _) = srv
        .req(
            "POST",
            "/v0/pools",
            &[
                ("Content-Type", "application/json"),
                ("Authorization", &auth),
            ],
            json!({"pool": "demo", "size_bytes": 262144})
                .to_string()
                .as_bytes(),
        )
        .expect("create");
    assert!(status == 200 || status == 201, "create: {status}");
    let (status, body) = srv
        .req(
            "POST",
            "/v0/pools/demo/append",
            &[
                ("Content-Type", "application/json"),
                ("Authorization", &auth),
            ],
            json!({"data": {"hello": "tls"}}).to_string().as_bytes(),
        )
        .expect("append");
    assert!(
        status == 200 || status == 201,
        "append: {status} {}",
        String::from_utf8_lossy(&body)
    );
    // A body larger than one TLS record, and a streamed tail back.
    let big = "x".repeat(100_000);
    let (status, _) = srv
        .req(
            "POST",
            "/v0/pools/demo/append",
            &[
                ("Content-Type", "application/json"),
                ("Authorization", &auth),
            ],
            json!({"data": {"big": big}}).to_string().as_bytes(),
        )
        .expect("append big");
    assert!(status == 200 || status == 201, "append big: {status}");
    let (status, body) = srv
        .req(
            "GET",
            "/v0/pools/demo/tail?since_seq=0&timeout_ms=300",
            &[("Authorization", &auth)],
            b"",
        )
        .expect("tail");
    assert_eq!(status, 200);
    let lines: Vec<Value> = String::from_utf8(body)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).expect("jsonl"))
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["data"], json!({"hello": "tls"}));
    assert_eq!(lines[1]["data"]["big"].as_str().unwrap().len(), 100_000);
    // Without the token: 401.
    let (status, _) = srv
        .req(
            "POST",
            "/v0/pools/demo/append",
            &[("Content-Type", "application/json")],
            json!({"data": 1}).to_string().as_bytes(),
        )
        .expect("append without token");
    assert_eq!(status, 401);

    // Plain HTTP to the TLS port fails cleanly; the server keeps serving.
    let mut plain = TcpStream::connect(("127.0.0.1", srv.port)).unwrap();
    plain
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let _ = plain.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    let mut raw = Vec::new();
    let _ = plain.read_to_end(&mut raw);
    assert!(!raw.starts_with(b"HTTP/1.1 200"), "plain HTTP answered");
    // A client that does not trust the certificate is refused.
    let stranger = Arc::new(
        ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(RootCertStore::empty())
            .with_no_client_auth(),
    );
    assert!(https(&stranger, srv.port, "GET", "/healthz", &[], b"").is_err());
    // Garbage instead of a ClientHello.
    let mut junk = TcpStream::connect(("127.0.0.1", srv.port)).unwrap();
    let _ = junk.write_all(&[0x16, 0x03, 0x01, 0xff, 0xff, 1, 2, 3, 4, 5]);
    drop(junk);
    srv.healthy();
}

#[test]
fn serves_https_with_a_self_signed_certificate() {
    let sb = Sandbox::new("tls-self");
    let srv = Server::start(sb, any_cert(), &["--tls-self-signed"]);
    srv.healthy();
}

/// Sends `bytes` a byte at a time, each followed by a read of at most a
/// second, until the connection is closed (a write or a read fails or sees
/// the end); how long that took. `answers` says whether the peer may send
/// something back meanwhile (a TLS alert may; an HTTP answer to a request
/// that never ended may not).
fn trickle_until_closed<'a>(
    mut s: impl Read + Write,
    bytes: impl Iterator<Item = &'a u8>,
    answers: bool,
) -> Duration {
    let t0 = Instant::now();
    let mut buf = [0u8; 4096];
    for b in bytes {
        assert!(t0.elapsed() < Duration::from_secs(30), "still open");
        if s.write_all(&[*b]).and_then(|()| s.flush()).is_err() {
            break;
        }
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(_) => assert!(answers, "an answer to a request that never ended"),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(_) => break,
        }
    }
    t0.elapsed()
}

#[test]
fn trickled_handshakes_and_heads_are_cut_off() {
    // A handshake must complete, and a request head arrive, within 10 s of
    // their first byte, as on a plain listener; a byte a second would
    // otherwise keep the connection from ever going idle.
    let sb = Sandbox::new("tls-trickle");
    let srv = Server::start(sb, any_cert(), &["--tls-self-signed"]);
    // A real ClientHello, sent a byte at a time.
    let mut hello = Vec::new();
    let mut c =
        ClientConnection::new(any_cert(), ServerName::try_from("localhost").unwrap()).unwrap();
    c.write_tls(&mut hello).unwrap();
    let handshake = {
        let tcp = TcpStream::connect(("127.0.0.1", srv.port)).unwrap();
        tcp.set_read_timeout(Some(Duration::from_secs(1))).unwrap();
        std::thread::spawn(move || trickle_until_closed(tcp, hello.iter().cycle(), true))
    };
    // A finished handshake, then a request head a byte at a time: each byte
    // is its own TLS record.
    let head = {
        let tcp = TcpStream::connect(("127.0.0.1", srv.port)).unwrap();
        tcp.set_read_timeout(Some(Duration::from_secs(1))).unwrap();
        let conn =
            ClientConnection::new(any_cert(), ServerName::try_from("localhost").unwrap()).unwrap();
        let mut s = StreamOwned::new(conn, tcp);
        while s.conn.is_handshaking() {
            s.conn.complete_io(&mut s.sock).expect("handshake");
        }
        std::thread::spawn(move || {
            let head = b"GET /healthz HTTP/1.1\r\nX-Slow: ";
            trickle_until_closed(s, head.iter().chain(std::iter::repeat(&b'a')), false)
        })
    };
    std::thread::sleep(Duration::from_secs(3));
    srv.healthy();
    for (what, t) in [("handshake", handshake), ("head", head)] {
        let took = t.join().unwrap();
        assert!(
            took >= Duration::from_millis(9500) && took < Duration::from_secs(14),
            "trickled {what} cut after {took:?}"
        );
    }
    srv.healthy();
}

#[test]
fn check_reports_tls() {
    let sb = Sandbox::new("tls-check");
    let doc = sb
        .run(&[
            "serve",
            "--tls-cert",
            "c.pem",
            "--tls-key",
            "k.pem",
            "check",
            "--json",
        ])
        .ok()
        .json();
    assert_eq!(doc["check"]["tls"], "enabled");
    assert_eq!(doc["check"]["base_url"], "https://127.0.0.1:9700");
    let doc = sb
        .run(&["serve", "--tls-self-signed", "check", "--json"])
        .ok()
        .json();
    assert_eq!(doc["check"]["tls"], "self-signed");
}

#[test]
fn tls_flag_errors() {
    let sb = Sandbox::new("tls-errors");
    let port = free_port().to_string();
    let bind = format!("127.0.0.1:{port}");
    // Cert without key: Usage (exit 2).
    let out = sb.run(&["serve", "--bind", &bind, "--tls-cert", "c.pem"]);
    out.fails("Usage");
    assert_eq!(out.code(), 2);
    // Unreadable cert: Io (exit 8).
    let out = sb.run(&[
        "serve",
        "--bind",
        &bind,
        "--tls-cert",
        "missing-cert.pem",
        "--tls-key",
        "missing-key.pem",
    ]);
    out.fails("Io");
    assert_eq!(out.code(), 8);
    // A file with no certificate: Usage.
    std::fs::write(sb.path("empty.pem"), "nothing here\n").unwrap();
    let out = sb.run(&[
        "serve",
        "--bind",
        &bind,
        "--tls-cert",
        "empty.pem",
        "--tls-key",
        "empty.pem",
    ]);
    out.fails("Usage");
    // A key that is not the certificate's: Usage.
    sb.run(&["serve", "init", "--output-dir", "a"]).ok();
    sb.run(&["serve", "init", "--output-dir", "b"]).ok();
    let out = sb.run(&[
        "serve",
        "--bind",
        &bind,
        "--tls-cert",
        "a/serve-cert.pem",
        "--tls-key",
        "b/serve-key.pem",
    ]);
    let e = out.fails("Usage");
    assert!(e["message"]
        .as_str()
        .unwrap()
        .contains("invalid TLS certificate or key"));
}
