//! Regression tests for bugs the `http` fuzz target in `fuzz/` found (see
//! docs/testing.md, "Fuzzing"), driving the router through
//! `plasmite_server::answer` as the target does.

use plasmite::PoolDir;
use plasmite_server::{answer, configure, Options, PlainRequest};

fn ask(dir: &PoolDir, method: &str, url: &str, body: &[u8]) -> (u16, serde_json::Value) {
    let opts = Options {
        bind: "127.0.0.1:0".into(),
        max_body_bytes: 4096,
        max_tail_timeout_ms: 10,
        max_tail_concurrency: 1,
        ..Options::default()
    };
    let config = configure(&opts, "pls").unwrap();
    let headers = [("Content-Type", "application/json")];
    let req = PlainRequest {
        method,
        url,
        headers: &headers,
        body,
    };
    let a = answer(dir, &config, &req);
    (
        a.status,
        serde_json::from_slice(&a.body).unwrap_or_default(),
    )
}

/// A pool name longer than a file name may be reached the file system and
/// came back as an I/O error: a 500 for a client's mistake.
#[test]
fn an_overlong_pool_name_is_a_usage_error_not_a_server_error() {
    let root = std::env::temp_dir().join(format!("pls-fuzz-regress-{}", std::process::id()));
    let dir = PoolDir::new(root.join("pools"));
    let long = format!("%28{}", "8".repeat(300));
    for (method, url, body) in [
        ("DELETE", format!("/v0/pools/{long}"), String::new()),
        ("GET", format!("/v0/pools/{long}/info"), String::new()),
        (
            "POST",
            "/v0/pools".to_string(),
            format!("{{\"pool\":\"{}\"}}", "x".repeat(231)),
        ),
    ] {
        let (status, body) = ask(&dir, method, &url, body.as_bytes());
        assert_eq!(status, 400, "{method} {url}: {body}");
        assert_eq!(body["error"]["kind"], "Usage");
    }
    // The longest name that fits still works.
    let name = "n".repeat(230);
    let (status, body) = ask(
        &dir,
        "POST",
        "/v0/pools",
        format!("{{\"pool\":\"{name}\",\"size_bytes\":4096}}").as_bytes(),
    );
    assert_eq!(status, 200, "{body}");
    let _ = std::fs::remove_dir_all(&root);
}
