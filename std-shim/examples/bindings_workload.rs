//! The Rust baseline of the binding benchmark (`scripts/bench-bindings`):
//! the same workload every binding runs, through the Rust API.
//!
//! 200,000 appends of a 100-byte JSON object, one call each, then a tail
//! from the oldest reading them all back as envelope bytes. Prints one JSON
//! line: `{"lang":"rust","append_per_s":…,"read_per_s":…,…}`.

use std::time::Instant;

use plasmite::{Durability, Pool, PoolOptions, TailOptions};

const N: u64 = 200_000;

fn main() -> plasmite::Result<()> {
    let dir = std::env::temp_dir().join(format!("plasmite-bench-rust-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| plasmite::Error::io(e, "create dir", &dir))?;
    let path = dir.join("bench.plasmite");
    let result = run(&path);
    let _ = std::fs::remove_dir_all(&dir);
    result
}

/// `{"i":<i>,"pad":"xxx…"}` padded so the compact JSON is 100 bytes.
fn payload(i: u64) -> String {
    let head = format!("{{\"i\":{i},\"pad\":\"");
    let pad = 100 - head.len() - 2;
    format!("{head}{}\"}}", "x".repeat(pad))
}

fn run(path: &std::path::Path) -> plasmite::Result<()> {
    let pool = Pool::create(path, &PoolOptions::with_size(64 << 20))?;
    let payloads: Vec<String> = (0..N).map(payload).collect();
    let t = Instant::now();
    for p in &payloads {
        pool.append_json(p.as_bytes(), &[], Durability::Fast)?;
    }
    let append = N as f64 / t.elapsed().as_secs_f64();

    let t = Instant::now();
    let mut tail = pool.tail(TailOptions::default().max(N))?;
    let mut envelope = Vec::with_capacity(256);
    let mut read = 0u64;
    while let Some(m) = tail.next_raw()? {
        envelope.clear();
        m.write_json(&mut envelope);
        std::hint::black_box(&envelope);
        read += 1;
    }
    let read_rate = read as f64 / t.elapsed().as_secs_f64();
    assert_eq!(read, N, "read back every message");
    println!(
        "{{\"lang\":\"rust\",\"append_per_s\":{append:.0},\"read_per_s\":{read_rate:.0},\"n\":{N},\"read_form\":\"envelope bytes\"}}"
    );
    Ok(())
}
