//! `pls serve`, black box: the real binary on a free loopback port, spoken
//! to over raw TCP (so malformed requests can be sent as they are).

#[path = "common/cli.rs"]
mod cli;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use cli::Sandbox;
use serde_json::{json, Value};

/// A running `pls serve`, stopped with SIGTERM on drop.
struct Server {
    sb: Sandbox,
    child: Option<Child>,
    port: u16,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

impl Server {
    fn start(name: &str, extra: &[&str]) -> Server {
        let sb = Sandbox::new(name);
        Server::start_in(sb, extra)
    }

    fn start_in(sb: Sandbox, extra: &[&str]) -> Server {
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
            sb,
            child: Some(child),
            port,
        };
        let t0 = Instant::now();
        loop {
            if let Ok(r) = s.try_req("GET", "/healthz", &[], b"") {
                assert_eq!(r.status, 200);
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

    fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    fn try_req(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> std::io::Result<Resp> {
        let mut s = TcpStream::connect(self.addr())?;
        s.set_read_timeout(Some(Duration::from_secs(20)))?;
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nContent-Length: {}\r\n",
            self.addr(),
            body.len()
        );
        for (k, v) in headers {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        head.push_str("\r\n");
        s.write_all(head.as_bytes())?;
        // A server may answer (413) before reading a large body.
        let _ = s.write_all(body);
        let mut raw = Vec::new();
        s.read_to_end(&mut raw)?;
        Ok(Resp::parse(&raw))
    }

    fn req(&self, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Resp {
        self.try_req(method, path, headers, body)
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"))
    }

    fn get(&self, path: &str) -> Resp {
        self.req("GET", path, &[], b"")
    }

    fn post(&self, path: &str, body: Value) -> Resp {
        self.req(
            "POST",
            path,
            &[("Content-Type", "application/json")],
            body.to_string().as_bytes(),
        )
    }

    fn healthy(&self) {
        let r = self.get("/healthz");
        assert_eq!(r.status, 200);
        assert_eq!(r.json(), json!({"ok": true}));
    }

    /// Sends SIGTERM and returns the exit code.
    fn stop(&mut self) -> Option<i32> {
        let mut child = self.child.take()?;
        let _ = std::process::Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
        let t0 = Instant::now();
        loop {
            if let Some(st) = child.try_wait().expect("wait") {
                return st.code();
            }
            if t0.elapsed() > Duration::from_secs(10) {
                let _ = child.kill();
                let _ = child.wait();
                panic!("server did not stop within 10 s of SIGTERM");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(c) = &self.child {
            // SIGTERM first, so the server removes its relay directory.
            let _ = std::process::Command::new("kill")
                .args(["-TERM", &c.id().to_string()])
                .status();
        }
        if let Some(mut c) = self.child.take() {
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

#[derive(Debug)]
struct Resp {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Resp {
    fn parse(raw: &[u8]) -> Resp {
        let split = raw
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .unwrap_or_else(|| panic!("no header end in {:?}", String::from_utf8_lossy(raw)));
        let head = String::from_utf8_lossy(&raw[..split]).into_owned();
        let mut lines = head.split("\r\n");
        let status: u16 = lines
            .next()
            .and_then(|l| l.split(' ').nth(1))
            .and_then(|s| s.parse().ok())
            .expect("status line");
        let headers: Vec<(String, String)> = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
            .collect();
        let rest = &raw[split + 4..];
        let chunked = headers
            .iter()
            .any(|(k, v)| k == "transfer-encoding" && v.eq_ignore_ascii_case("chunked"));
        let body = if chunked {
            dechunk(rest)
        } else {
            rest.to_vec()
        };
        Resp {
            status,
            headers,
            body,
        }
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "status {} body is not JSON ({e}): {:?}",
                self.status,
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    /// Asserts an error envelope with `status` and `kind`.
    fn error(&self, status: u16, kind: &str) -> Value {
        assert_eq!(
            self.status,
            status,
            "body: {}",
            String::from_utf8_lossy(&self.body)
        );
        assert_eq!(self.header("plasmite-version"), Some("0"));
        let v = self.json();
        assert_eq!(v["error"]["kind"], kind, "{v}");
        assert!(v["error"]["message"].is_string(), "{v}");
        v
    }

    fn lines(&self) -> Vec<Value> {
        String::from_utf8_lossy(&self.body)
            .lines()
            .filter(|l| !l.is_empty())
            .map(|l| serde_json::from_str(l).expect("JSONL line"))
            .collect()
    }
}

fn dechunk(mut b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let Some(eol) = b.windows(2).position(|w| w == b"\r\n") else {
            panic!("truncated chunked body");
        };
        let size = usize::from_str_radix(std::str::from_utf8(&b[..eol]).expect("size"), 16)
            .expect("chunk size");
        b = &b[eol + 2..];
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&b[..size]);
        b = &b[size + 2..];
    }
}

#[test]
fn routes_round_trip() {
    let s = Server::start("serve-routes", &[]);
    s.healthy();
    assert_eq!(s.get("/healthz").header("plasmite-version"), Some("0"));

    // The server created its pool directory; the list starts empty.
    assert_eq!(s.get("/v0/pools").json(), json!({"pools": []}));

    let r = s.post("/v0/pools", json!({"pool": "demo", "size_bytes": 262144}));
    assert_eq!(r.status, 200, "{:?}", r);
    let info = r.json()["pool"].clone();
    assert_eq!(info["name"], "demo");
    assert_eq!(info["file_size"], 262144);
    assert!(info["metrics"]["message_count"].is_u64());
    // Same object as the CLI's `pool info --json` (the age fields aside).
    let cli = s.sb.info("demo");
    for k in [
        "bounds",
        "file_size",
        "index_capacity",
        "ring_size",
        "path",
        "name",
    ] {
        assert_eq!(cli[k], info[k], "{k}");
    }

    // Create never truncates: 409.
    s.post("/v0/pools", json!({"pool": "demo"}))
        .error(409, "AlreadyExists");

    let r = s.post(
        "/v0/pools/demo/append",
        json!({"data": {"n": 1}, "tags": ["a", "b"], "durability": "flush"}),
    );
    assert_eq!(r.status, 200, "{r:?}");
    let m = r.json()["message"].clone();
    assert_eq!(m["seq"], 1);
    assert_eq!(m["data"], json!({"n": 1}));
    assert_eq!(m["meta"]["tags"], json!(["a", "b"]));
    assert!(m["time"].as_str().unwrap().ends_with('Z'));
    s.post("/v0/pools/demo/append", json!({"data": {"n": 2}}));

    assert_eq!(s.get("/v0/pools/demo/messages/1").json()["message"], m);
    s.get("/v0/pools/demo/messages/99").error(404, "NotFound");

    let r = s.post("/v0/pools/open", json!({"pool": "demo"}));
    assert_eq!(
        r.json()["pool"]["bounds"],
        json!({"oldest": 1, "newest": 2})
    );
    s.post("/v0/pools/open", json!({"pool": "nope"}))
        .error(404, "NotFound");
    assert_eq!(s.get("/v0/pools/demo/info").json()["pool"]["name"], "demo");
    assert_eq!(
        s.get("/v0/ui/pools/demo/info").json()["pool"]["name"],
        "demo"
    );
    let list = s.get("/v0/ui/pools").json();
    assert_eq!(list["pools"][0]["name"], "demo");
    assert_eq!(s.get("/v0/pools").json()["pools"][0]["name"], "demo");

    // Tail: JSONL, since_seq, max, tag filter, idle timeout.
    let r = s.get("/v0/pools/demo/tail?timeout_ms=200");
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("application/jsonl"));
    assert_eq!(r.header("plasmite-version"), Some("0"));
    let seqs: Vec<u64> = r
        .lines()
        .iter()
        .map(|l| l["seq"].as_u64().unwrap())
        .collect();
    assert_eq!(seqs, [1, 2]);
    let r = s.get("/v0/pools/demo/tail?since_seq=2&timeout_ms=200");
    assert_eq!(r.lines().len(), 1);
    assert_eq!(r.lines()[0]["data"], json!({"n": 2}));
    let r = s.get("/v0/pools/demo/tail?since_seq=0&timeout_ms=200");
    assert_eq!(r.lines().len(), 2);
    // Beyond the newest: waits for it (nothing here), skipping nothing newer.
    let r = s.get("/v0/pools/demo/tail?since_seq=50&timeout_ms=200");
    assert_eq!(r.lines().len(), 0);
    let r = s.get("/v0/pools/demo/tail?max=1&timeout_ms=5000");
    assert_eq!(r.lines().len(), 1);
    let r = s.get("/v0/pools/demo/tail?tag=b&tag=a&timeout_ms=200");
    assert_eq!(r.lines().len(), 1);
    assert_eq!(r.lines()[0]["seq"], 1);

    // SSE with ids, resuming from Last-Event-ID.
    let r = s.get("/v0/ui/pools/demo/events?timeout_ms=200");
    assert_eq!(r.header("content-type"), Some("text/event-stream"));
    let text = String::from_utf8_lossy(&r.body).into_owned();
    assert!(text.starts_with("id: 1\nevent: message\ndata: {"), "{text}");
    assert!(text.contains("id: 2\n"), "{text}");
    let r = s.req(
        "GET",
        "/v0/ui/pools/demo/events?since_seq=1&timeout_ms=200",
        &[("Last-Event-ID", "1")],
        b"",
    );
    let text = String::from_utf8_lossy(&r.body).into_owned();
    assert!(
        !text.contains("id: 1\n") && text.contains("id: 2\n"),
        "{text}"
    );

    // UI pages.
    for p in ["/ui", "/ui/pools/demo"] {
        let r = s.get(p);
        assert_eq!(r.status, 200);
        assert!(r.header("content-type").unwrap().starts_with("text/html"));
        assert!(String::from_utf8_lossy(&r.body).contains("Plasmite"));
    }

    let r = s.req("DELETE", "/v0/pools/demo", &[], b"");
    assert_eq!(r.json(), json!({"ok": true}));
    s.req("DELETE", "/v0/pools/demo", &[], b"")
        .error(404, "NotFound");
    s.get("/v0/pools/demo/info").error(404, "NotFound");
    // A stream on a missing pool is a 404 before any 200.
    s.get("/v0/pools/demo/tail").error(404, "NotFound");
    s.get("/v0/ui/pools/demo/events").error(404, "NotFound");
    s.get("/v1/pools").error(404, "NotFound");
    s.req("PUT", "/v0/pools", &[], b"").error(405, "Usage");
    s.healthy();
}

#[test]
fn corrupt_pool_does_not_spoil_the_list() {
    let sb = Sandbox::new("serve-corrupt");
    sb.create_pool("good", &[]);
    std::fs::write(sb.pool_file("bad"), b"junk").unwrap();
    let s = Server::start_in(sb, &[]);
    let v = s.get("/v0/pools").json();
    assert_eq!(v["pools"].as_array().unwrap().len(), 1, "{v}");
    assert_eq!(v["pools"][0]["name"], "good");
    assert_eq!(v["errors"][0]["name"], "bad");
    assert_eq!(v["errors"][0]["error"]["kind"], "Corrupt");
    s.get("/v0/pools/bad/info").error(500, "Corrupt");
    s.get("/v0/pools/bad/tail").error(500, "Corrupt");
}

#[test]
fn hostile_input_gets_4xx_and_the_server_keeps_serving() {
    let s = Server::start("serve-hostile", &["--max-body-bytes", "4096"]);
    s.post("/v0/pools", json!({"pool": "p"}));
    let json_ct = [("Content-Type", "application/json")];
    // Bad JSON, wrong shapes.
    s.req("POST", "/v0/pools/p/append", &json_ct, b"{not json")
        .error(400, "Usage");
    s.req("POST", "/v0/pools/p/append", &json_ct, b"[1,2]")
        .error(400, "Usage");
    s.post("/v0/pools/p/append", json!({"data": [1]}))
        .error(400, "Usage");
    s.post("/v0/pools/p/append", json!({"data": "x"}))
        .error(400, "Usage");
    s.post("/v0/pools/p/append", json!({"tags": ["x"]}))
        .error(400, "Usage");
    s.post("/v0/pools/p/append", json!({"data": {}, "tags": [1]}))
        .error(400, "Usage");
    s.post("/v0/pools", json!({"pool": 5})).error(400, "Usage");
    s.post("/v0/pools", json!({"pool": "x", "size_bytes": -1}))
        .error(400, "Usage");
    s.post("/v0/pools", json!({"pool": "x", "size_bytes": 10}))
        .error(400, "Usage");
    // Wrong or missing content type.
    s.req(
        "POST",
        "/v0/pools/p/append",
        &[("Content-Type", "text/plain")],
        b"{\"data\":{}}",
    )
    .error(415, "Usage");
    s.req("POST", "/v0/pools/p/append", &[], b"{\"data\":{}}")
        .error(415, "Usage");
    // Huge body: announced, and sent chunked without a length.
    let big = vec![b' '; 100_000];
    s.req("POST", "/v0/pools/p/append", &json_ct, &big)
        .error(413, "Usage");
    // Traversal and separators in names, raw and encoded.
    for name in ["..%2Fx", "%2e%2e", "..", ".hidden", "a%5Cb", "%zz", "a%00b"] {
        let r = s.get(&format!("/v0/pools/{name}/info"));
        assert!(
            (400..500).contains(&r.status),
            "{name}: {} {}",
            r.status,
            String::from_utf8_lossy(&r.body)
        );
        s.get(&format!("/v0/pools/{name}/tail")).json();
    }
    s.get("/v0/pools/a/b/info").error(404, "NotFound");
    for name in ["../x", "a/b", ".x", ""] {
        s.post("/v0/pools", json!({"pool": name}))
            .error(400, "Usage");
    }
    assert!(!s.sb.root().join("x.plasmite").exists());
    // Bad seqs and query numbers.
    for seq in ["abc", "-1", "1.5", "99999999999999999999999"] {
        s.get(&format!("/v0/pools/p/messages/{seq}"))
            .error(400, "Usage");
    }
    s.get("/v0/pools/p/tail?since_seq=x").error(400, "Usage");
    s.get("/v0/pools/p/tail?timeout_ms=99999999")
        .error(400, "Usage");
    // Garbage that is not HTTP at all.
    for junk in [
        &b"\x00\x01\x02garbage\r\n\r\n"[..],
        b"GET\r\n\r\n",
        b"GET / HTTP/9.9\r\n\r\n",
    ] {
        let mut c = TcpStream::connect(s.addr()).unwrap();
        c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let _ = c.write_all(junk);
        let mut out = Vec::new();
        let _ = c.read_to_end(&mut out);
        if !out.is_empty() {
            let status = String::from_utf8_lossy(&out);
            assert!(
                status.starts_with("HTTP/1.1 4") || status.starts_with("HTTP/1.1 5"),
                "{status}"
            );
            assert!(
                !status.starts_with("HTTP/1.1 5") || status.starts_with("HTTP/1.1 505"),
                "{status}"
            );
        }
    }
    // A slow client holding a half-sent request does not block others.
    let mut slow = TcpStream::connect(s.addr()).unwrap();
    slow.write_all(b"POST /v0/pools/p/append HTTP/1.1\r\nContent-Length: 100\r\nContent-Type: application/json\r\n\r\n{\"da")
        .unwrap();
    let mut idle = TcpStream::connect(s.addr()).unwrap();
    idle.write_all(b"GE").unwrap();
    s.healthy();
    assert_eq!(
        s.post("/v0/pools/p/append", json!({"data": {"ok": 1}}))
            .status,
        200
    );
    drop((slow, idle));
    s.healthy();
}

#[test]
fn auth_and_access_modes() {
    let s = Server::start("serve-auth", &["--token", "s3cret"]);
    let good = [("Authorization", "Bearer s3cret")];
    s.get("/v0/pools").error(401, "Permission");
    s.req("GET", "/v0/pools", &[("Authorization", "Bearer nope")], b"")
        .error(401, "Permission");
    s.req("GET", "/v0/pools", &[("Authorization", "s3cret")], b"")
        .error(401, "Permission");
    s.get("/v0/pools/x/tail").error(401, "Permission");
    assert_eq!(s.req("GET", "/v0/pools", &good, b"").status, 200);
    // healthz and the UI need no token.
    s.healthy();
    assert_eq!(s.get("/ui").status, 200);

    // Token from a file (trimmed).
    let sb = Sandbox::new("serve-auth-file");
    std::fs::write(sb.path("tok"), "filetoken\n").unwrap();
    let tf = sb.path("tok");
    let s2 = Server::start_in(sb, &["--token-file", tf.to_str().unwrap()]);
    s2.get("/v0/pools").error(401, "Permission");
    assert_eq!(
        s2.req(
            "GET",
            "/v0/pools",
            &[("Authorization", "Bearer filetoken")],
            b""
        )
        .status,
        200
    );

    let ro = Server::start("serve-ro", &["--access", "read-only"]);
    ro.sb.create_pool("p", &[]);
    let e = ro
        .post("/v0/pools", json!({"pool": "q"}))
        .error(403, "Permission");
    assert!(e["error"]["message"]
        .as_str()
        .unwrap()
        .starts_with("forbidden:"));
    ro.post("/v0/pools/p/append", json!({"data": {}}))
        .error(403, "Permission");
    ro.req("DELETE", "/v0/pools/p", &[], b"")
        .error(403, "Permission");
    assert_eq!(ro.get("/v0/pools/p/info").status, 200);
    assert_eq!(ro.get("/v0/pools/p/tail?timeout_ms=10").status, 200);

    let wo = Server::start("serve-wo", &["--access", "write-only"]);
    assert_eq!(wo.post("/v0/pools", json!({"pool": "p"})).status, 200);
    assert_eq!(
        wo.post("/v0/pools/p/append", json!({"data": {}})).status,
        200
    );
    wo.get("/v0/pools").error(403, "Permission");
    wo.get("/v0/pools/p/info").error(403, "Permission");
    wo.get("/v0/pools/p/messages/1").error(403, "Permission");
    wo.get("/v0/pools/p/tail").error(403, "Permission");
    wo.get("/v0/ui/pools/p/events").error(403, "Permission");
    wo.healthy();
}

#[test]
fn cors_preflight_allowed_and_refused() {
    let s = Server::start(
        "serve-cors",
        &["--cors-origin", "http://App.example:80/", "--token", "t"],
    );
    let r = s.req(
        "OPTIONS",
        "/v0/pools",
        &[
            ("Origin", "http://app.example"),
            ("Access-Control-Request-Method", "POST"),
            (
                "Access-Control-Request-Headers",
                "authorization, content-type",
            ),
        ],
        b"",
    );
    assert_eq!(r.status, 204);
    assert_eq!(
        r.header("access-control-allow-origin"),
        Some("http://app.example")
    );
    assert!(r
        .header("access-control-allow-headers")
        .unwrap()
        .contains("authorization"));
    let r = s.req(
        "OPTIONS",
        "/v0/pools",
        &[
            ("Origin", "http://evil.example"),
            ("Access-Control-Request-Method", "POST"),
        ],
        b"",
    );
    assert!(r.status >= 400, "{r:?}");
    assert_eq!(r.header("access-control-allow-origin"), None);
    // Actual requests: the allowed origin gets its header, on errors too.
    let r = s.req(
        "GET",
        "/v0/pools",
        &[
            ("Origin", "http://app.example"),
            ("Authorization", "Bearer t"),
        ],
        b"",
    );
    assert_eq!(r.status, 200);
    assert_eq!(
        r.header("access-control-allow-origin"),
        Some("http://app.example")
    );
    let r = s.req("GET", "/v0/pools", &[("Origin", "http://app.example")], b"");
    assert_eq!(r.status, 401);
    assert_eq!(
        r.header("access-control-allow-origin"),
        Some("http://app.example")
    );
    let r = s.req(
        "GET",
        "/v0/pools",
        &[
            ("Origin", "http://evil.example"),
            ("Authorization", "Bearer t"),
        ],
        b"",
    );
    assert_eq!(r.header("access-control-allow-origin"), None);

    // Without --cors-origin, OPTIONS is not allowed.
    let plain = Server::start("serve-nocors", &[]);
    plain
        .req("OPTIONS", "/v0/pools", &[("Origin", "http://a.b")], b"")
        .error(405, "Usage");
}

#[test]
fn tail_sees_a_poke_within_a_second_and_busy_beyond_the_cap() {
    let s = Server::start("serve-live", &["--max-tail-concurrency", "16"]);
    s.post("/v0/pools", json!({"pool": "live"}));
    // A streaming client reading incrementally.
    let mut c = TcpStream::connect(s.addr()).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    c.write_all(b"GET /v0/pools/live/tail?timeout_ms=10000 HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while !got.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = c.read(&mut buf).unwrap();
        assert!(n > 0);
        got.extend_from_slice(&buf[..n]);
    }
    assert!(got.starts_with(b"HTTP/1.1 200"));
    let t0 = Instant::now();
    s.sb.run(&["poke", "live", "{\"hello\":\"world\"}"]).ok();
    while !String::from_utf8_lossy(&got).contains("\"hello\":\"world\"") {
        let n = c.read(&mut buf).expect("message arrives");
        assert!(n > 0, "stream ended early");
        got.extend_from_slice(&buf[..n]);
    }
    assert!(
        t0.elapsed() < Duration::from_secs(1),
        "took {:?}",
        t0.elapsed()
    );

    // timeout_ms is an idle timeout: a stream fed every 250 ms outlives
    // a 400 ms timeout, then ends 400 ms after the last message.
    let tail = {
        let addr = s.addr();
        std::thread::spawn(move || {
            let mut c = TcpStream::connect(addr).unwrap();
            c.write_all(b"GET /v0/pools/live/tail?since_seq=2&timeout_ms=400 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").unwrap();
            let t0 = Instant::now();
            let mut out = Vec::new();
            let _ = c.read_to_end(&mut out);
            (Resp::parse(&out), t0.elapsed())
        })
    };
    for i in 0..4 {
        std::thread::sleep(Duration::from_millis(250));
        assert_eq!(
            s.post("/v0/pools/live/append", json!({"data": {"i": i}}))
                .status,
            200
        );
    }
    let (r, took) = tail.join().unwrap();
    assert_eq!(r.lines().len(), 4, "{r:?}");
    assert!(took >= Duration::from_millis(1300), "{took:?}");

    // 200 concurrent tails against a cap of 16: the excess get 423.
    let handles: Vec<_> = (0..200)
        .map(|_| {
            let addr = s.addr();
            std::thread::spawn(move || {
                let mut c = TcpStream::connect(addr).ok()?;
                c.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
                c.write_all(b"GET /v0/pools/live/tail?since_seq=999&timeout_ms=1500 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").ok()?;
                let mut out = Vec::new();
                let _ = c.read_to_end(&mut out);
                let text = String::from_utf8_lossy(&out).into_owned();
                text.get(9..12).and_then(|s| s.parse::<u16>().ok())
            })
        })
        .collect();
    let codes: Vec<Option<u16>> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let ok = codes.iter().filter(|c| **c == Some(200)).count();
    let busy = codes.iter().filter(|c| **c == Some(423)).count();
    assert!(ok <= 15, "ok={ok} codes={codes:?}");
    assert_eq!(ok + busy, 200, "{codes:?}");
    drop(c);
    s.healthy();
}

#[test]
fn sigterm_stops_cleanly_even_mid_stream() {
    let mut s = Server::start("serve-stop", &[]);
    s.post("/v0/pools", json!({"pool": "p"}));
    let mut c = TcpStream::connect(s.addr()).unwrap();
    c.write_all(b"GET /v0/pools/p/tail HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let t0 = Instant::now();
    assert_eq!(s.stop(), Some(0));
    assert!(t0.elapsed() < Duration::from_secs(3), "{:?}", t0.elapsed());
    // The stream was ended, not cut: the last chunk arrived.
    c.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    let mut out = Vec::new();
    let _ = c.read_to_end(&mut out);
    assert!(
        out.ends_with(b"0\r\n\r\n"),
        "{:?}",
        String::from_utf8_lossy(&out)
    );
}

#[test]
fn silent_connections_are_closed() {
    // Idle limit: --max-tail-timeout-ms plus 5 s.
    let s = Server::start("serve-idle", &["--max-tail-timeout-ms", "300"]);
    let mut slow = TcpStream::connect(s.addr()).unwrap();
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHo").unwrap();
    slow.set_read_timeout(Some(Duration::from_secs(15)))
        .unwrap();
    let t0 = Instant::now();
    let mut out = Vec::new();
    let _ = slow.read_to_end(&mut out);
    let took = t0.elapsed();
    assert!(
        took >= Duration::from_secs(4) && took < Duration::from_secs(9),
        "{took:?}"
    );
    s.healthy();
}

/// Sends `start`, then one more byte a second, until the server closes the
/// connection: how long that took and what it answered (if anything).
fn trickle(mut c: TcpStream, start: &[u8], limit: Duration) -> (Duration, Vec<u8>) {
    c.set_read_timeout(Some(Duration::from_secs(1))).unwrap();
    let t0 = Instant::now();
    c.write_all(start).expect("send the start");
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        assert!(t0.elapsed() < limit, "still open after {:?}", t0.elapsed());
        match c.read(&mut buf) {
            Ok(0) => return (t0.elapsed(), answer),
            Ok(n) => answer.extend_from_slice(&buf[..n]),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                if c.write_all(b"a").is_err() {
                    return (t0.elapsed(), answer);
                }
            }
            Err(_) => return (t0.elapsed(), answer),
        }
    }
}

#[test]
fn trickled_requests_are_cut_off_but_patient_clients_are_not() {
    // A request head must arrive within 10 s of its first byte, a body at
    // 16 KiB/s on average after that grace. Without that, a client sending a
    // byte a second never goes idle and holds its connection forever.
    let s = Server::start("serve-slowloris", &["--max-tail-concurrency", "1"]);
    s.sb.create_pool("p", &[]);
    let addr = s.addr();
    let t0 = Instant::now();
    let connect = || TcpStream::connect(&addr).expect("connect");
    let head = {
        let c = connect();
        std::thread::spawn(move || {
            trickle(
                c,
                b"GET /healthz HTTP/1.1\r\nX-Slow: ",
                Duration::from_secs(30),
            )
        })
    };
    let body = {
        let c = connect();
        std::thread::spawn(move || {
            trickle(
                c,
                b"POST /v0/pools/p/append HTTP/1.1\r\nContent-Type: application/json\r\n\
                  Content-Length: 5000\r\n\r\n{\"data\":{\"x\":\"",
                Duration::from_secs(30),
            )
        })
    };
    // A patient client: connects, says nothing for longer than the head
    // deadline, then asks. Silence is the idle timeout's business (35 s here).
    let patient = {
        let mut c = connect();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_secs(11));
            c.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                .unwrap();
            c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
            let mut out = Vec::new();
            let _ = c.read_to_end(&mut out);
            Resp::parse(&out)
        })
    };
    // Enough trickling heads to fill the other connection slots (256 + 1).
    let mut flood: Vec<TcpStream> = (0..254)
        .map(|_| {
            let mut c = connect();
            c.write_all(b"GET /healthz HTTP/1.1\r\n").unwrap();
            c
        })
        .collect();
    std::thread::sleep(Duration::from_secs(2));
    // The flood holds every slot: a newcomer is refused.
    let mut extra = TcpStream::connect(&addr).unwrap();
    extra
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut out = Vec::new();
    let _ = extra.read_to_end(&mut out);
    Resp::parse(&out).error(503, "Busy");
    // Keep trickling the flood; the server cuts every one of them.
    let mut closed = 0;
    while closed < flood.len() && t0.elapsed() < Duration::from_secs(20) {
        std::thread::sleep(Duration::from_secs(1));
        closed = 0;
        for c in &mut flood {
            if c.write_all(b"a").is_err() {
                closed += 1;
            }
        }
    }
    assert_eq!(
        closed,
        flood.len(),
        "flood still open after {:?}",
        t0.elapsed()
    );
    drop(flood);
    let (took, answer) = head.join().unwrap();
    assert!(
        took >= Duration::from_millis(9500) && took < Duration::from_secs(14),
        "trickled head cut after {took:?}"
    );
    assert!(answer.is_empty(), "{}", String::from_utf8_lossy(&answer));
    let (took, answer) = body.join().unwrap();
    assert!(
        took >= Duration::from_millis(9500) && took < Duration::from_secs(14),
        "trickled body cut after {took:?}"
    );
    // The worker reading the body sees it end early: a 400, or nothing.
    if !answer.is_empty() {
        Resp::parse(&answer).error(400, "Usage");
    }
    assert_eq!(patient.join().unwrap().status, 200);
    let t = Instant::now();
    loop {
        match s.try_req("GET", "/healthz", &[], b"") {
            Ok(r) if r.status == 200 => break,
            _ if t.elapsed() < Duration::from_secs(5) => {
                std::thread::sleep(Duration::from_millis(50))
            }
            other => panic!("healthz after the slow clients: {other:?}"),
        }
    }
    let info = s.get("/v0/pools/p/info").json();
    assert_eq!(info["pool"]["metrics"]["message_count"], 0);
}

#[test]
fn connections_beyond_the_cap_are_refused_cleanly() {
    // The cap is 256 + --max-tail-concurrency open connections.
    let s = Server::start("serve-conns", &["--max-tail-concurrency", "1"]);
    // A burst of connections, each asking at once: every one is answered
    // promptly (tiny_http's pool can strand one; the relay unsticks it).
    let burst: Vec<TcpStream> = (0..200)
        .map(|_| TcpStream::connect(s.addr()).expect("connect"))
        .collect();
    for mut c in &burst {
        c.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            .unwrap();
    }
    let t0 = Instant::now();
    for mut c in &burst {
        c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut buf = [0u8; 12];
        c.read_exact(&mut buf).expect("answer");
        assert_eq!(&buf, b"HTTP/1.1 200");
    }
    assert!(t0.elapsed() < Duration::from_secs(2), "{:?}", t0.elapsed());
    drop(burst);
    std::thread::sleep(Duration::from_millis(300));
    let held: Vec<TcpStream> = (0..257)
        .map(|_| TcpStream::connect(s.addr()).expect("connect"))
        .collect();
    let mut extra = TcpStream::connect(s.addr()).unwrap();
    extra
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut out = Vec::new();
    let _ = extra.read_to_end(&mut out);
    let r = Resp::parse(&out);
    r.error(503, "Busy");
    drop(held);
    let t0 = Instant::now();
    loop {
        match s.try_req("GET", "/healthz", &[], b"") {
            Ok(r) if r.status == 200 => break,
            _ if t0.elapsed() < Duration::from_secs(5) => {
                std::thread::sleep(Duration::from_millis(50))
            }
            other => panic!("healthz after the flood: {other:?}"),
        }
    }
}

#[test]
fn serve_check_and_startup_validation() {
    let sb = Sandbox::new("serve-check");
    let out = sb.run(&["serve", "check", "--json"]).ok();
    let v: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(v["check"]["status"], "valid");
    assert!(v["check"]["base_url"]
        .as_str()
        .unwrap()
        .contains("127.0.0.1:9700"));
    assert_eq!(v["check"]["tls"], "disabled");
    let out = sb
        .run(&[
            "serve",
            "--cors-origin",
            "https://a.example:443/",
            "--cors-origin",
            "https://a.example",
            "--token",
            "x",
            "check",
            "--json",
        ])
        .ok();
    let v: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(
        v["check"]["cors_allowed_origins"],
        json!(["https://a.example"])
    );
    assert_eq!(v["check"]["auth"], "bearer token (--token)");
    let text = sb.run(&["serve", "check"]).ok();
    assert!(text.stdout.contains("status: valid"));
    for (args, msg) in [
        (
            &["serve", "--bind", "nope", "check"][..],
            "invalid bind address",
        ),
        (
            &["serve", "--cors-origin", "*", "check"],
            "CORS wildcard origin is not allowed",
        ),
        (
            &["serve", "--bind", "0.0.0.0:9700", "check"],
            "non-loopback bind requires explicit opt-in",
        ),
        (
            &["serve", "--tls-cert", "c.pem", "check"],
            "TLS requires both --tls-cert and --tls-key",
        ),
        (
            &["serve", "--max-body-bytes", "0", "check"],
            "--max-body-bytes must be greater than zero",
        ),
        (
            &[
                "serve",
                "--bind",
                "0.0.0.0:9700",
                "--allow-non-loopback",
                "check",
            ],
            "non-loopback write requires --token-file",
        ),
        (
            &["serve", "--tls-cert", "c.pem", "check"],
            "TLS requires both --tls-cert and --tls-key",
        ),
        (
            &[
                "serve",
                "--tls-self-signed",
                "--tls-cert",
                "c.pem",
                "--tls-key",
                "k.pem",
                "check",
            ],
            "--tls-self-signed cannot be combined with --tls-cert/--tls-key",
        ),
    ] {
        let out = sb.run(args);
        assert_eq!(out.code(), 2, "{args:?}");
        let err: Value = serde_json::from_str(&out.stderr).unwrap();
        assert_eq!(err["error"]["message"], msg, "{args:?}");
    }
    // Non-loopback read-only needs neither token nor TLS.
    sb.run(&[
        "serve",
        "--bind",
        "0.0.0.0:9700",
        "--allow-non-loopback",
        "--access",
        "read-only",
        "check",
    ])
    .ok();
    // A port in use: Io, exit 8.
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let bind = taken.local_addr().unwrap().to_string();
    assert_eq!(sb.run(&["serve", "--bind", &bind]).code(), 8);
}
