//! Throughput and latency of the pool engine, for `docs/performance.md`.
//!
//! `cargo bench -p plasmite --bench throughput` prints a table; add
//! `-- --json` for one JSON object. Each figure is measured in this one run,
//! so ratios between them are comparable even on a noisy machine. The
//! cross-process figures re-run this binary as child processes.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use plasmite::{Durability, Pool, PoolOptions, RawEvent, Start};

/// A 100-byte JSON object, like the brief's reference message.
fn message(i: u64) -> Vec<u8> {
    let mut m = format!("{{\"id\":\"{i:010}\",\"kind\":\"bench\",\"msg\":\"").into_bytes();
    while m.len() < 98 {
        m.push(b'x');
    }
    m.extend_from_slice(b"\"}");
    m
}

fn rate(n: u64, d: Duration) -> f64 {
    n as f64 / d.as_secs_f64()
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("child-writer") => return child_writer(Path::new(&args[2]), args[3].parse().unwrap()),
        Some("child-waiter") => return child_waiter(Path::new(&args[2]), args[3].parse().unwrap()),
        _ => {}
    }
    let json = args.iter().any(|a| a == "--json");
    let dir = std::env::temp_dir().join(format!("plasmite-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut results: Vec<(&str, f64, &str)> = Vec::new();

    let n = 1_000_000u64;
    let pool = Pool::create(dir.join("a.plasmite"), &PoolOptions::with_size(64 << 20)).unwrap();
    let msgs: Vec<Vec<u8>> = (0..1000).map(message).collect();
    let t = Instant::now();
    for i in 0..n {
        pool.append_json(&msgs[(i % 1000) as usize], &[], Durability::Fast)
            .unwrap();
    }
    results.push((
        "append (Fast, one lock per message)",
        rate(n, t.elapsed()),
        "msgs/s",
    ));

    let t = Instant::now();
    let mut left = n;
    while left > 0 {
        let mut b = pool.batch().unwrap();
        for i in 0..left.min(1000) {
            b.append_json(&msgs[i as usize], &[]).unwrap();
        }
        b.finish(Durability::Fast).unwrap();
        left = left.saturating_sub(1000);
    }
    results.push((
        "append_batch (1000 per batch)",
        rate(n, t.elapsed()),
        "msgs/s",
    ));

    let mut c = pool.cursor(Start::Oldest).unwrap();
    let t = Instant::now();
    let mut read = 0u64;
    while let Some(e) = c.next_raw().unwrap() {
        if let RawEvent::Message(m) = e {
            read += u64::from(m.data.len() == 100);
        }
    }
    results.push(("sequential read", rate(read, t.elapsed()), "msgs/s"));

    let t = Instant::now();
    let flush_n = 200;
    for i in 0..flush_n {
        pool.append_json(&msgs[i as usize], &[], Durability::Flush)
            .unwrap();
    }
    results.push((
        "append (Flush: fdatasync each)",
        rate(flush_n, t.elapsed()),
        "msgs/s",
    ));
    drop(c);
    drop(pool);

    // get by seq on a 1 GiB pool that has seen 10 M messages.
    let big = Pool::create(dir.join("big.plasmite"), &PoolOptions::with_size(1 << 30)).unwrap();
    let mut left = 10_000_000u64;
    while left > 0 {
        let mut b = big.batch().unwrap();
        for i in 0..left.min(10_000) {
            b.append_json(&msgs[(i % 1000) as usize], &[]).unwrap();
        }
        b.finish(Durability::Fast).unwrap();
        left = left.saturating_sub(10_000);
    }
    let info = big.info().unwrap();
    let (lo, hi) = (info.oldest.unwrap().0, info.newest.unwrap().0);
    let mut lat = Vec::new();
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    for _ in 0..100_000 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let seq = lo + x % (hi - lo + 1);
        let t = Instant::now();
        let m = big.get(seq).unwrap();
        lat.push(t.elapsed());
        assert_eq!(m.seq, seq);
    }
    lat.sort();
    results.push((
        "get by seq, 1 GiB pool, p50",
        micros(lat[lat.len() / 2]),
        "µs",
    ));
    results.push((
        "get by seq, 1 GiB pool, p99",
        micros(lat[lat.len() * 99 / 100]),
        "µs",
    ));
    results.push(("messages retained in that pool", info.count as f64, "msgs"));
    drop(big);
    std::fs::remove_file(dir.join("big.plasmite")).ok();

    // Cross-process wake-up: a child waits, the parent appends.
    let wake = Pool::create(dir.join("wake.plasmite"), &PoolOptions::default()).unwrap();
    let samples = 2000;
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "child-waiter",
            dir.join("wake.plasmite").to_str().unwrap(),
            &samples.to_string(),
        ])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap(); // "ready"
    for i in 0..samples {
        std::thread::sleep(Duration::from_micros(300));
        wake.append_json(&msgs[(i % 1000) as usize], &[], Durability::Fast)
            .unwrap();
        line.clear();
        out.read_line(&mut line).unwrap(); // child's ack, so samples do not overlap
    }
    let mut lat: Vec<u64> = Vec::new();
    for l in out.lines() {
        lat.extend(
            l.unwrap()
                .split_whitespace()
                .filter_map(|v| v.parse::<u64>().ok()),
        );
    }
    child.wait().unwrap();
    lat.sort();
    results.push((
        "wake-up latency cross-process, p50",
        lat[lat.len() / 2] as f64 / 1000.0,
        "µs",
    ));
    results.push((
        "wake-up latency cross-process, p99",
        lat[lat.len() * 99 / 100] as f64 / 1000.0,
        "µs",
    ));

    // Writers in separate processes sharing one pool.
    for writers in [1u64, 4] {
        let path = dir.join(format!("w{writers}.plasmite"));
        Pool::create(&path, &PoolOptions::with_size(64 << 20)).unwrap();
        let per = 1_000_000 / writers;
        let t = Instant::now();
        let kids: Vec<_> = (0..writers)
            .map(|_| {
                Command::new(std::env::current_exe().unwrap())
                    .args(["child-writer", path.to_str().unwrap(), &per.to_string()])
                    .spawn()
                    .unwrap()
            })
            .collect();
        for mut k in kids {
            assert!(k.wait().unwrap().success());
        }
        let label = if writers == 1 {
            "1 writer process, total"
        } else {
            "4 writer processes, total"
        };
        results.push((label, rate(per * writers, t.elapsed()), "msgs/s"));
    }
    std::fs::remove_dir_all(&dir).ok();

    if json {
        let obj: serde_json::Map<String, serde_json::Value> = results
            .iter()
            .map(|(k, v, u)| {
                (
                    format!("{k} ({u})"),
                    serde_json::json!((v * 100.0).round() / 100.0),
                )
            })
            .collect();
        println!("{}", serde_json::Value::Object(obj));
    } else {
        println!(
            "{:<42} {:>14}",
            "benchmark (100-byte JSON messages)", "result"
        );
        for (k, v, u) in results {
            println!("{k:<42} {:>14} {u}", fmt_num(v));
        }
    }
}

fn micros(d: Duration) -> f64 {
    d.as_nanos() as f64 / 1000.0
}

fn fmt_num(v: f64) -> String {
    if v >= 1000.0 {
        let s = format!("{:.0}", v);
        let mut out = String::new();
        for (i, c) in s.chars().enumerate() {
            if i > 0 && (s.len() - i) % 3 == 0 {
                out.push(',');
            }
            out.push(c);
        }
        out
    } else {
        format!("{v:.1}")
    }
}

fn child_writer(path: &Path, n: u64) {
    let pool = Pool::open(path).unwrap();
    let m = message(std::process::id() as u64);
    for _ in 0..n {
        pool.append_json(&m, &[], Durability::Fast).unwrap();
    }
}

fn child_waiter(path: &Path, samples: usize) {
    let pool = Pool::open(PathBuf::from(path)).unwrap();
    let mut c = pool.cursor(Start::Newest).unwrap();
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    writeln!(out, "ready").unwrap();
    out.flush().unwrap();
    let mut lat = Vec::with_capacity(samples);
    while lat.len() < samples {
        if let Some(RawEvent::Message(m)) = c.wait_raw(Some(Duration::from_secs(10))).unwrap() {
            lat.push(plasmite::time::now_ns().saturating_sub(m.time_ns));
            writeln!(out, "ack").unwrap();
            out.flush().unwrap();
        }
    }
    let all: Vec<String> = lat.iter().map(u64::to_string).collect();
    writeln!(out, "{}", all.join(" ")).unwrap();
}
