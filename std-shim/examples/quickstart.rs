//! Creates a pool, appends a few messages, and reads them back: first all of
//! them, then by seq, then by waiting for one more written by a thread, and
//! last as a durable named reader that resumes where it left off.
//!
//! Run with `cargo run -p plasmite --example quickstart`.

use std::time::Duration;

use plasmite::{Durability, Event, Pool, PoolOptions, Start, TailOptions};
use serde_json::json;

fn main() -> plasmite::Result<()> {
    let dir = std::env::temp_dir().join(format!("plasmite-quickstart-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("demo.plasmite");
    let pool = Pool::create(&path, &PoolOptions::default())?;

    for i in 1..=3 {
        let r = pool.append(
            &json!({"n": i, "msg": "hello"}),
            &["demo"],
            Durability::Fast,
        )?;
        println!(
            "appended seq {} at {}",
            r.seq,
            plasmite::time::rfc3339(r.time_ns)
        );
    }

    let mut reader = pool.cursor(Start::Oldest)?;
    while let Some(event) = reader.next()? {
        if let Event::Message(m) = event {
            println!("read {}", m.to_json());
        }
    }

    println!("get(2) = {}", pool.get(2)?.data);

    let writer = pool.clone();
    let t = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(50));
        writer.append_json(br#"{"late": true}"#, &[], Durability::Flush)
    });
    if let Some(Event::Message(m)) = reader.wait(Some(Duration::from_secs(5)))? {
        println!("woke for seq {}: {}", m.seq, m.data);
    }
    t.join().expect("writer thread")?;

    // A durable consumer: its position lives in the pool, and each message
    // is acknowledged when the next is asked for. The first run handles two
    // messages; the second resumes right after them.
    let billing = || TailOptions::default().name("billing").auto_ack(true).max(2);
    for run in 1..=2 {
        let mut jobs = pool.tail(billing())?;
        while let Some(m) = jobs.next()? {
            println!("billing run {run} handles seq {}", m.seq);
        }
    }
    std::fs::remove_dir_all(&dir).ok();
    Ok(())
}
