//! The `http` target: `pls serve`'s router over arbitrary requests.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use plasmite::{Durability, PoolDir, PoolOptions};
use plasmite_server::{answer, configure, Access, Config, Options, PlainRequest};
use serde_json::Value;

use crate::image::scratch_name;

/// The bearer token of the configurations that have one.
const TOKEN: &str = "secret";
/// The CORS origin of the configurations that allow one.
const ORIGIN: &str = "https://ok.example";
/// Largest pool a request may create here (the server itself has no cap;
/// a fuzzer asking for terabytes would only fill the disk).
const MAX_POOL: u64 = 1 << 20;

/// Server configurations an input can pick: auth on or off, each access
/// mode, CORS on or off, a small body limit.
fn configs() -> &'static [Config] {
    static CONFIGS: OnceLock<Vec<Config>> = OnceLock::new();
    CONFIGS.get_or_init(|| {
        [
            (false, Access::ReadWrite, false),
            (true, Access::ReadWrite, true),
            (true, Access::ReadOnly, false),
            (false, Access::WriteOnly, true),
        ]
        .into_iter()
        .map(|(auth, access, cors)| {
            let o = Options {
                bind: "127.0.0.1:9700".into(),
                access,
                token: auth.then(|| TOKEN.to_string()),
                cors_origins: if cors { vec![ORIGIN.into()] } else { vec![] },
                max_body_bytes: 2048,
                max_tail_timeout_ms: 1000,
                max_tail_concurrency: 4,
                ..Options::default()
            };
            configure(&o, "pls").expect("a valid configuration")
        })
        .collect()
    })
}

/// A pool file with a few messages, copied into each input's directory.
fn template() -> &'static [u8] {
    static POOL: OnceLock<Vec<u8>> = OnceLock::new();
    POOL.get_or_init(|| {
        let path = scratch_name("template.plasmite");
        let opts = PoolOptions {
            size: 8192,
            index_capacity: None,
            overwrite: true,
        };
        let pool = plasmite::Pool::create(&path, &opts).expect("create the template pool");
        for (i, tags) in [&["a"][..], &[], &["a", "b"]].iter().enumerate() {
            let data = format!("{{\"n\":{i}}}");
            pool.append_json(data.as_bytes(), tags, Durability::Fast)
                .expect("fill the template pool");
        }
        drop(pool);
        let bytes = std::fs::read(&path).expect("read the template pool");
        let _ = std::fs::remove_file(&path);
        bytes
    })
}

/// One request parsed from the input: `METHOD URL`, header lines, a blank
/// line, the body.
struct Req {
    method: String,
    url: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

fn parse(raw: &[u8]) -> Req {
    let (head, body) = match raw.windows(2).position(|w| w == b"\n\n") {
        Some(i) => (&raw[..i], &raw[i + 2..]),
        None => (raw, &[][..]),
    };
    let head = String::from_utf8_lossy(head);
    let mut lines = head.split('\n');
    let first = lines.next().unwrap_or("");
    let (method, url) = first.split_once(' ').unwrap_or((first, "/"));
    let headers = lines
        .map(|l| match l.split_once(':') {
            Some((n, v)) => (n.trim().to_string(), v.trim().to_string()),
            None => (l.trim().to_string(), String::new()),
        })
        .collect();
    Req {
        method: method.to_string(),
        url: url.to_string(),
        headers,
        body: body.to_vec(),
    }
}

/// The path segments the router matches on: everything after the first
/// `/` of the path (the router ignores what comes before it).
fn segments(url: &str) -> Vec<&str> {
    let path = url.split('?').next().unwrap_or("");
    path.split('/').skip(1).collect()
}

/// Whether `url` names one of the routes anyone may use.
fn public_route(url: &str) -> bool {
    matches!(segments(url).first(), Some(&"healthz" | &"ui"))
}

/// Fuzz target: up to 6 requests (separated by NUL bytes) answered one
/// after the other against a scratch pool directory holding pool `p`,
/// under one of four configurations (first byte).
///
/// Checks: every answer has a known status and, when JSON, a body that
/// parses (errors carry a kind and message); without the token, or outside
/// the access mode, nothing but the public routes succeeds; a message read
/// by seq has that seq; and nothing is ever created outside the pool
/// directory, nor anything in it but pool files.
pub fn http(data: &[u8]) {
    let Some((&sel, rest)) = data.split_first() else {
        return;
    };
    let config = &configs()[usize::from(sel % 4)];
    let root = scratch_name("http");
    let pools = root.join("pools");
    std::fs::create_dir_all(&pools).expect("make the scratch pool directory");
    std::fs::write(pools.join("p.plasmite"), template()).expect("copy the template pool");
    let dir = PoolDir::new(&pools);
    for raw in rest.split(|&b| b == 0).take(6) {
        let req = parse(raw);
        if too_big_a_pool(&req.body) {
            continue;
        }
        let headers: Vec<(&str, &str)> = req
            .headers
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        let plain = PlainRequest {
            method: &req.method,
            url: &req.url,
            headers: &headers,
            body: &req.body,
        };
        let a = answer(&dir, config, &plain);
        check(config, &req, &headers, a);
    }
    check_tree(&root, &pools);
    let _ = std::fs::remove_dir_all(&root);
}

fn too_big_a_pool(body: &[u8]) -> bool {
    let Ok(v) = serde_json::from_slice::<Value>(body) else {
        return false;
    };
    v.get("size_bytes")
        .and_then(Value::as_u64)
        .is_some_and(|n| n > MAX_POOL)
}

fn check(config: &Config, req: &Req, headers: &[(&str, &str)], a: plasmite_server::PlainAnswer) {
    let what = format!("{} {} -> {}", req.method, req.url, a.status);
    assert!(
        [200, 204, 400, 401, 403, 404, 405, 409, 413, 415, 423].contains(&a.status),
        "unexpected status: {what}: {}",
        String::from_utf8_lossy(&a.body)
    );
    if a.content_type == "application/json" && !a.body.is_empty() {
        let v: Value = serde_json::from_slice(&a.body).expect("JSON answers parse");
        if a.status >= 400 {
            assert!(
                v["error"]["kind"].is_string(),
                "{what}: error without a kind"
            );
            assert!(
                v["error"]["message"].is_string(),
                "{what}: error without a message"
            );
        }
    }
    if !(200..300).contains(&a.status) || req.method == "OPTIONS" || public_route(&req.url) {
        return;
    }
    let auth = headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("authorization"))
        .map(|(_, v)| *v);
    if config.token.is_some() {
        assert!(
            auth == Some(&format!("Bearer {TOKEN}")[..]),
            "{what}: succeeded without the token"
        );
    }
    let segs = segments(&req.url);
    let writes =
        req.method == "DELETE" || (req.method == "POST" && segs != ["v0", "pools", "open"]);
    match config.access {
        Access::ReadOnly => assert!(!writes, "{what}: a write in read-only mode"),
        Access::WriteOnly => assert!(writes, "{what}: a read in write-only mode"),
        Access::ReadWrite => {}
    }
    if let ["v0", "pools", _, "messages", seq] = segs[..] {
        let v: Value = serde_json::from_slice(&a.body).expect("a message answer");
        assert_eq!(
            v["message"]["seq"].as_u64(),
            seq.parse().ok(),
            "{what}: another seq"
        );
    }
}

/// Nothing outside the pool directory, and only pool files inside it.
fn check_tree(root: &Path, pools: &Path) {
    let names = |p: &Path| -> Vec<PathBuf> {
        std::fs::read_dir(p)
            .map(|d| d.filter_map(|e| e.ok()).map(|e| e.path()).collect())
            .unwrap_or_default()
    };
    assert_eq!(
        names(root),
        [pools.to_path_buf()],
        "files outside the pool directory"
    );
    for f in names(pools) {
        let name = f
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        assert!(
            f.is_file() && name.ends_with(".plasmite") && !name.starts_with('.'),
            "unexpected entry in the pool directory: {name:?}"
        );
    }
}

/// Seeds: each route, with and without auth, good and bad bodies.
pub(crate) fn seeds() -> Vec<Vec<u8>> {
    let auth = "Authorization: Bearer secret\n";
    let json = "Content-Type: application/json\n";
    let reqs: Vec<(u8, Vec<String>)> = vec![
        (0, vec!["GET /healthz\n\n".into(), "GET /v0/pools\n\n".into(), "GET /ui\n\n".into()]),
        (
            1,
            vec![
                format!("POST /v0/pools\n{auth}{json}\n{{\"pool\":\"q\",\"size_bytes\":8192}}"),
                format!("POST /v0/pools/q/append\n{auth}{json}\n{{\"data\":{{\"x\":1}},\"tags\":[\"t\"]}}"),
                format!("GET /v0/pools/q/messages/1\n{auth}\n"),
                format!("GET /v0/pools/p/tail?since_seq=2&max=1&timeout_ms=10&tag=a\n{auth}\n"),
                format!("DELETE /v0/pools/q\n{auth}\n"),
            ],
        ),
        (
            1,
            vec![
                "OPTIONS /v0/pools\nOrigin: https://ok.example\n\n".into(),
                "GET /v0/pools/p/info\n\n".into(),
                format!("GET /v0/pools/p/info\n{auth}Origin: https://ok.example\n\n"),
                format!("POST /v0/pools/open\n{auth}{json}\n{{\"pool\":\"p\"}}"),
            ],
        ),
        (
            2,
            vec![
                format!("POST /v0/pools/p/append\n{auth}{json}\n{{\"data\":{{}}}}"),
                format!("GET /v0/ui/pools/p/events\n{auth}Last-Event-ID: 1\n\n"),
                format!("GET /v0/pools/%70/messages/2\n{auth}\n"),
            ],
        ),
        (
            3,
            vec![
                format!("POST /v0/pools/p/append\n{json}\n{{\"data\":{{\"a\":[1,2]}},\"durability\":\"flush\"}}"),
                format!("POST /v0/pools/p/append\nContent-Type: text/plain\n\n{{}}"),
                format!("POST /v0/pools\n{json}\n{{\"pool\":\"..\"}}"),
                format!("DELETE /v0/pools/%2e%2e%2fp\n\n"),
                format!("GET /v0/ui/pools\n\n"),
            ],
        ),
    ];
    reqs.into_iter()
        .map(|(sel, rs)| {
            let mut v = vec![sel];
            v.extend_from_slice(rs.join("\0").as_bytes());
            v
        })
        .collect()
}
