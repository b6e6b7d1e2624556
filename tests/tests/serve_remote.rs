//! Remote pool refs in the CLI: `pls poke`/`pls peek` on
//! `http://127.0.0.1:PORT/POOL`, against the real `pls serve` on a free
//! loopback port.

#[path = "common/cli.rs"]
mod cli;

use std::net::{TcpListener, TcpStream};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use cli::{hint, Sandbox};
use serde_json::{json, Value};

/// A running `pls serve` on its sandbox's pools, stopped on drop.
struct Server {
    sb: Sandbox,
    child: Option<Child>,
    port: u16,
}

impl Server {
    fn start(name: &str, extra: &[&str]) -> Server {
        Server::try_start(Sandbox::new(name), extra).expect("pls serve did not start")
    }

    /// Starts `pls serve EXTRA...`; `None` if it exits instead.
    fn try_start(sb: Sandbox, extra: &[&str]) -> Option<Server> {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("free port");
        let bind = format!("127.0.0.1:{port}");
        let mut args = vec!["serve", "--bind", bind.as_str()];
        args.extend_from_slice(extra);
        let mut child = sb
            .cmd(&args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn pls serve");
        let t0 = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Ok(Some(_)) = child.try_wait() {
                return None;
            }
            assert!(
                t0.elapsed() < Duration::from_secs(10),
                "server did not start"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        Some(Server {
            sb,
            child: Some(child),
            port,
        })
    }

    /// The remote ref of pool `name`.
    fn url(&self, name: &str) -> String {
        format!("http://127.0.0.1:{}/{name}", self.port)
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

#[test]
fn remote_poke_and_peek_work_like_local() {
    let s = Server::start("remote-rw", &[]);
    let sb = &s.sb;
    sb.create_pool("demo", &[]);
    let url = s.url("demo");

    // Remote poke; a local get sees it.
    let r = sb
        .run(&["poke", &url, r#"{"x":1}"#, "--tag", "a"])
        .ok()
        .json();
    assert_eq!(r["seq"], 1);
    assert_eq!(r["meta"]["tags"], json!(["a"]));
    assert!(r.get("data").is_none(), "a receipt has no data: {r}");
    let got = sb.run(&["get", "demo", "1"]).ok().json();
    assert_eq!(got["data"], json!({"x": 1}));

    // A stream of records: one receipt each, in order.
    let out = sb
        .run_in(
            &["poke", &url, "--tag", "b", "--durability", "flush"],
            "{\"x\":2}\n{\"x\":3}\n",
        )
        .ok();
    let receipts = out.jsonl();
    assert_eq!(receipts.len(), 2);
    assert_eq!(receipts[0]["seq"], 2);
    assert_eq!(receipts[1]["seq"], 3);

    // Local poke, remote peek --tail sees it (envelope exactly as local).
    sb.run(&["poke", "demo", r#"{"x":4}"#]).ok();
    let remote = sb.run(&["peek", &url, "--tail", "4", "--jsonl", "--timeout", "200ms"]);
    remote.timed_out();
    let local = sb.run(&[
        "peek",
        "demo",
        "--tail",
        "4",
        "--jsonl",
        "--timeout",
        "50ms",
    ]);
    local.timed_out();
    assert_eq!(remote.stdout, local.stdout);
    assert_eq!(remote.jsonl().len(), 4);

    // --tag, --where, --data-only, --one.
    let tagged = sb.run(&[
        "peek",
        &url,
        "--tail",
        "10",
        "--tag",
        "b",
        "--jsonl",
        "--timeout",
        "200ms",
    ]);
    tagged.timed_out();
    let seqs: Vec<Value> = tagged.jsonl().iter().map(|m| m["seq"].clone()).collect();
    assert_eq!(seqs, vec![json!(2), json!(3)]);
    let one = sb
        .run(&[
            "peek",
            &url,
            "--tail",
            "1",
            "--one",
            "--where",
            ".data.x >= 2",
            "--tag",
            "b",
            "--data-only",
            "--jsonl",
        ])
        .ok();
    assert_eq!(one.stdout, "{\"x\":3}\n");
    let first = sb
        .run(&[
            "peek",
            &url,
            "--tail",
            "1",
            "--one",
            "--where",
            ".data.x == 4",
            "--jsonl",
        ])
        .ok()
        .json();
    assert_eq!(first["seq"], 4);

    // Without --tail, remote peek starts at the live edge: nothing old.
    let quiet = sb.run(&["peek", &url, "--jsonl", "--timeout", "300ms"]);
    quiet.timed_out();
    assert_eq!(quiet.stdout, "");

    // A live remote peek sees a new local poke within a second.
    let bg = sb.spawn(&["peek", &url, "--jsonl", "--where", ".data.live == true"]);
    std::thread::sleep(Duration::from_millis(500));
    sb.run(&["poke", "demo", r#"{"live":false}"#]).ok();
    let poked = Instant::now();
    sb.run(&["poke", "demo", r#"{"live":true}"#]).ok();
    let m = bg.json_line(Duration::from_secs(5));
    assert_eq!(m["data"], json!({"live": true}));
    assert!(
        poked.elapsed() < Duration::from_secs(2),
        "{:?}",
        poked.elapsed()
    );

    // A --timeout longer than the server's limit is clamped, not refused.
    let long = Server::start("remote-short", &["--max-tail-timeout-ms", "200"]);
    long.sb.create_pool("p", &[]);
    let t = long.sb.run(&["peek", &long.url("p"), "--timeout", "700ms"]);
    t.timed_out();
    assert!(t.elapsed >= Duration::from_millis(650), "{:?}", t.elapsed);
}

#[test]
fn remote_auth_with_token_file_and_env() {
    let s = Server::start("remote-auth", &["--token", "s3cret"]);
    let sb = &s.sb;
    sb.create_pool("demo", &[]);
    let url = s.url("demo");
    let e = sb.run(&["poke", &url, r#"{"x":1}"#]).fails("Permission");
    assert!(hint(&e).contains("PLASMITE_TOKEN"), "{e:?}");
    sb.run(&["peek", &url, "--timeout", "100ms"])
        .fails("Permission");

    std::fs::write(sb.path("tok"), "s3cret\n").unwrap();
    let tok = sb.path("tok");
    let tok = tok.to_str().unwrap();
    sb.run(&["poke", &url, r#"{"x":1}"#, "--token-file", tok])
        .ok();
    let mut cmd = sb.cmd(&["poke", &url, r#"{"x":2}"#]);
    cmd.env("PLASMITE_TOKEN", "s3cret");
    cli::run(cmd, None, Duration::from_secs(20)).ok();
    let mut cmd = sb.cmd(&["peek", &url, "--tail", "5", "--jsonl", "--timeout", "200ms"]);
    cmd.env("PLASMITE_TOKEN", "s3cret");
    let out = cli::run(cmd, None, Duration::from_secs(20));
    out.timed_out();
    assert_eq!(out.jsonl().len(), 2);
    std::fs::write(sb.path("bad"), "nope").unwrap();
    let bad = sb.path("bad");
    sb.run(&["poke", &url, "{}", "--token-file", bad.to_str().unwrap()])
        .fails("Permission");
}

#[test]
fn remote_errors_map_to_kinds() {
    let s = Server::start("remote-errors", &[]);
    let sb = &s.sb;
    let e = sb.run(&["poke", &s.url("missing"), "{}"]).fails("NotFound");
    assert!(hint(&e).contains("server"), "{e:?}");
    sb.run(&["peek", &s.url("missing"), "--timeout", "100ms"])
        .fails("NotFound");

    let base = format!("http://127.0.0.1:{}", s.port);
    for bad in [
        format!("{base}/demo?x=1"),
        format!("{base}/demo#f"),
        format!("{base}/demo/"),
        format!("{base}/v0/pools/demo/append"),
        format!("{base}/"),
        format!("tcp://127.0.0.1:{}/demo", s.port),
    ] {
        sb.run(&["poke", &bad, "{}"]).fails("Usage");
        sb.run(&["peek", &bad]).fails("Usage");
    }
    let url = s.url("demo");
    for flags in [
        vec!["poke", &url, "{}", "--create"],
        vec!["peek", &url, "--create"],
        vec!["peek", &url, "--no-notify"],
        vec!["peek", &url, "--name", "reader"],
        // Checked before asking the server, as for local pools.
        vec!["peek", &url, "--replay", "1"],
        vec!["peek", &url, "--tail", "1", "--replay", "-2"],
        vec!["peek", &url, "--since", "yesterday"],
    ] {
        sb.run(&flags).fails("Usage");
    }

    // Nobody listening: Io, with a hint naming `pls serve`.
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap();
    let down = format!("http://127.0.0.1:{port}/demo");
    let e = sb.run(&["poke", &down, "{}"]).fails("Io");
    assert!(hint(&e).contains("pls serve"), "{e:?}");
    sb.run(&["peek", &down]).fails("Io");
}

#[test]
fn remote_https_with_tls_ca() {
    let sb = Sandbox::new("remote-tls");
    let made = sb.sh(
        "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
         -keyout key.pem -out cert.pem -days 2 -subj /CN=localhost \
         -addext subjectAltName=IP:127.0.0.1,DNS:localhost \
         -addext basicConstraints=critical,CA:FALSE",
    );
    if made.code() != 0 {
        eprintln!(
            "skipped: openssl could not make a test certificate: {}",
            made.stderr
        );
        return;
    }
    let Some(s) = Server::try_start(sb, &["--tls-cert", "cert.pem", "--tls-key", "key.pem"]) else {
        eprintln!("skipped: this pls serve does not take --tls-cert/--tls-key");
        return;
    };
    let sb = &s.sb;
    sb.create_pool("demo", &[]);
    let url = format!("https://127.0.0.1:{}/demo", s.port);
    let e = sb.run(&["poke", &url, r#"{"x":1}"#]).fails("Io");
    assert!(hint(&e).contains("--tls-ca"), "{e:?}");
    let r = sb
        .run(&["poke", &url, r#"{"x":1}"#, "--tls-ca", "cert.pem"])
        .ok()
        .json();
    assert_eq!(r["seq"], 1);
    let out = sb.run(&[
        "peek",
        &url,
        "--tail",
        "1",
        "--tls-ca",
        "cert.pem",
        "--jsonl",
        "--timeout",
        "200ms",
    ]);
    out.timed_out();
    assert_eq!(out.jsonl()[0]["data"], json!({"x": 1}));
}

/// `peek URL ARGS... --jsonl` next to `peek POOL ARGS... --jsonl` on the
/// same pool: both outputs, which must be equal.
fn same_as_local(s: &Server, pool: &str, args: &[&str]) -> String {
    let url = s.url(pool);
    let run = |target: &str| {
        let mut a = vec!["peek", target];
        a.extend_from_slice(args);
        a.extend_from_slice(&["--jsonl", "--timeout", "300ms"]);
        let out = s.sb.run(&a);
        out.timed_out();
        out.stdout
    };
    let (remote, local) = (run(&url), run(pool));
    assert_eq!(remote, local, "peek {args:?}: remote and local differ");
    remote
}

fn seqs_of(out: &str) -> Vec<u64> {
    out.lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["seq"]
                .as_u64()
                .unwrap()
        })
        .collect()
}

#[test]
fn remote_tail_with_filters_finds_the_last_matches() {
    // --tail N with filters reads back from the newest message in growing
    // windows (N, 4N, 16N, ...); the matches here are far apart, so it takes
    // several windows, the last one reaching the oldest message.
    let s = Server::start("remote-tail-windows", &[]);
    let sb = &s.sb;
    sb.create_pool("big", &["--size", "8M"]);
    let datas: Vec<Value> = (1..=6000)
        .map(|i| {
            let hit = matches!(i, 1 | 2 | 3000 | 5990);
            json!({"i": i, "hit": hit})
        })
        .collect();
    sb.poke_lines("big", &datas);
    let hits = |args: &[&str]| seqs_of(&same_as_local(&s, "big", args));
    let w = ".data.hit";
    assert_eq!(hits(&["--tail", "3", "--where", w]), vec![2, 3000, 5990]);
    assert_eq!(hits(&["--tail", "1", "--where", w]), vec![5990]);
    assert_eq!(
        hits(&["--tail", "10", "--where", w]),
        vec![1, 2, 3000, 5990]
    );
    assert_eq!(
        hits(&["--tail", "2", "--where", ".data.i % 1000 == 0"]),
        vec![5000, 6000]
    );
    assert!(hits(&["--tail", "5", "--where", ".data.i < 0"]).is_empty());
    // --one with --tail N prints the N-th match from the window's start.
    let one = sb
        .run(&[
            "peek",
            &s.url("big"),
            "--tail",
            "2",
            "--where",
            w,
            "--one",
            "--jsonl",
        ])
        .ok();
    assert_eq!(seqs_of(&one.stdout), vec![5990]);

    // With a tag: the same, and the live part filters on the server.
    sb.create_pool("tagged", &[]);
    for (i, tag) in ["a", "b", "a", "b", "b"].iter().enumerate() {
        sb.run(&["poke", "tagged", &format!("{{\"i\":{i}}}"), "--tag", tag])
            .ok();
    }
    assert_eq!(
        seqs_of(&same_as_local(&s, "tagged", &["--tail", "1", "--tag", "a"])),
        vec![3]
    );
    let bg = sb.spawn(&[
        "peek",
        &s.url("tagged"),
        "--tail",
        "1",
        "--tag",
        "a",
        "--jsonl",
    ]);
    assert_eq!(bg.json_line(Duration::from_secs(10))["seq"], 3);
    sb.run(&["poke", "tagged", r#"{"live":0}"#, "--tag", "b"])
        .ok();
    sb.run(&["poke", "tagged", r#"{"live":1}"#, "--tag", "a"])
        .ok();
    assert_eq!(bg.json_line(Duration::from_secs(10))["seq"], 7);
}

#[test]
fn remote_since_matches_local() {
    let s = Server::start("remote-since", &[]);
    let sb = &s.sb;
    sb.create_pool("p", &["--size", "8M"]);
    // An old part, a pause, then a newer part with tags.
    let old: Vec<Value> = (0..3000).map(|i| json!({"old": i})).collect();
    sb.poke_lines("p", &old);
    std::thread::sleep(Duration::from_millis(300));
    for i in 0..5 {
        let tag = if i % 2 == 0 { "even" } else { "odd" };
        sb.run(&["poke", "p", &format!("{{\"new\":{i}}}"), "--tag", tag])
            .ok();
    }
    let first_new = sb.run(&["get", "p", "3001"]).ok().json();
    let t = first_new["time"].as_str().unwrap().to_string();
    // From a message's exact time: that message on.
    let out = same_as_local(&s, "p", &["--since", &t]);
    assert_eq!(seqs_of(&out), (3001..=3005).collect::<Vec<_>>());
    // A time between two messages: the later one on.
    let last_old = sb.run(&["get", "p", "3000"]).ok().json();
    let t0 = cli::time_ns(&last_old["time"]) + 1;
    let between = plasmite::time::rfc3339(t0);
    assert_eq!(
        seqs_of(&same_as_local(&s, "p", &["--since", &between])),
        (3001..=3005).collect::<Vec<_>>()
    );
    // Filters apply to the history too.
    assert_eq!(
        seqs_of(&same_as_local(&s, "p", &["--since", &t, "--tag", "odd"])),
        vec![3002, 3004]
    );
    assert_eq!(
        seqs_of(&same_as_local(
            &s,
            "p",
            &["--since", &t, "--where", ".data.new >= 3"]
        )),
        vec![3004, 3005]
    );
    // Relative: everything retained is younger than an hour.
    assert_eq!(
        same_as_local(&s, "p", &["--since", "1h"]).lines().count(),
        3005
    );
    // After the newest message: nothing old, but live messages come.
    let bg = sb.spawn(&[
        "peek",
        &s.url("p"),
        "--since",
        "1s",
        "--where",
        ".data.live",
        "--jsonl",
    ]);
    std::thread::sleep(Duration::from_millis(1500));
    sb.run(&["poke", "p", r#"{"live":true}"#]).ok();
    assert_eq!(bg.json_line(Duration::from_secs(10))["seq"], 3006);
    // In the future: exit 0 at once, without asking the server.
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap();
    let nobody = format!("http://127.0.0.1:{port}/p");
    let out = sb
        .run(&["peek", &nobody, "--since", "2999-01-01T00:00:00Z"])
        .ok();
    assert_eq!(out.stdout, "");
}

#[test]
fn remote_replay_paces_like_local() {
    let s = Server::start("remote-replay", &[]);
    let sb = &s.sb;
    sb.create_pool("r", &[]);
    sb.run(&["poke", "r", r#"{"skip":true}"#]).ok();
    for i in 0..4 {
        if i > 0 {
            std::thread::sleep(Duration::from_millis(300));
        }
        sb.run(&["poke", "r", &format!("{{\"i\":{i}}}"), "--tag", "x"])
            .ok();
    }
    let url = s.url("r");
    // Real time: the three 300 ms gaps are kept, then peek exits.
    let bg = sb.spawn(&[
        "peek", &url, "--tail", "4", "--tag", "x", "--replay", "1", "--jsonl",
    ]);
    let arrivals: Vec<(Instant, Value)> = (0..4)
        .map(|_| {
            let (at, l) = bg.line(Duration::from_secs(10)).expect("a replayed line");
            (at, serde_json::from_str(&l).unwrap())
        })
        .collect();
    let out = bg.finish(Duration::from_secs(10));
    assert_eq!(out.code(), 0);
    let spread = arrivals[3].0 - arrivals[0].0;
    assert!(
        spread >= Duration::from_millis(800) && spread < Duration::from_secs(3),
        "{spread:?}"
    );
    let seqs: Vec<Value> = arrivals.iter().map(|(_, v)| v["seq"].clone()).collect();
    assert_eq!(seqs, vec![json!(2), json!(3), json!(4), json!(5)]);
    // The same lines as a local replay; speed 0 has no pauses.
    let fast = |target: &str| {
        let out = sb
            .run(&[
                "peek", target, "--tail", "4", "--tag", "x", "--replay", "0", "--jsonl",
            ])
            .ok();
        (out.stdout.clone(), out.elapsed)
    };
    let (remote, took) = fast(&url);
    assert_eq!(remote, fast("r").0);
    assert!(took < Duration::from_millis(850), "{took:?}");
    // Twice as fast: about half the spacing.
    let t = Instant::now();
    sb.run(&["peek", &url, "--since", "1h", "--replay", "2", "--jsonl"])
        .ok();
    let half = t.elapsed();
    assert!(half >= Duration::from_millis(400), "{half:?}");
    // --one: the first of the history, at once.
    let one = sb
        .run(&[
            "peek", &url, "--since", "1h", "--replay", "1", "--one", "--jsonl",
        ])
        .ok();
    assert_eq!(seqs_of(&one.stdout), vec![1]);
    // Nothing to replay: exit 0, no output.
    let none = sb
        .run(&[
            "peek",
            &url,
            "--tail",
            "3",
            "--where",
            ".data.i == 99",
            "--replay",
            "1",
        ])
        .ok();
    assert_eq!(none.stdout, "");
}
