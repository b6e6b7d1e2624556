//! Durable named readers (`peek --name`), with real processes: a consumer
//! killed with SIGKILL at any moment resumes without skipping a message.

#[path = "common/cli.rs"]
mod cli;

use std::io::{BufRead, BufReader};
use std::time::Duration;

use cli::Sandbox;
use serde_json::{json, Value};

fn seq(v: &Value) -> u64 {
    v["seq"].as_u64().expect("seq")
}

#[test]
fn killed_consumer_resumes_at_least_once_in_order() {
    let sb = Sandbox::new("named-kill");
    sb.create_pool("jobs", &["--size", "4M"]);
    // Messages big enough that a pipe holds only a few dozen of them, so
    // the consumer is killed mid-stream many times.
    let total = 600u64;
    let pad = "x".repeat(2000);
    let datas: Vec<Value> = (1..=total).map(|i| json!({ "i": i, "pad": pad })).collect();
    sb.poke_lines("jobs", &datas);

    // Each round a consumer runs for a moment and is SIGKILLed. What it
    // wrote to its stdout pipe before dying counts as delivered (that is
    // the contract: acknowledged once written out); the next consumer must
    // start at or before the message after the last one delivered, and
    // never skip one. The pipe is read directly, not by a draining thread,
    // so a consumer can run at most a pipe's worth (~40 messages) ahead of
    // the kill: every round ends mid-stream, whatever the scheduler does.
    let mut last_seen = 0u64;
    let mut rounds = 0u64;
    while last_seen < total {
        rounds += 1;
        assert!(rounds < 300, "no progress after {rounds} rounds");
        let mut bg = sb.spawn_unread(&[
            "peek", "jobs", "--name", "billing", "--jsonl", "--tail", "100000",
        ]);
        let pid = bg.pid();
        let watchdog = Watchdog::arm(pid, Duration::from_secs(60));
        let mut out = BufReader::new(bg.take_stdout());
        let take = rounds * 7 % 50;
        let mut first = None;
        let mut at = 0;
        let mut taken = 0;
        let mut killed = false;
        let mut line = String::new();
        loop {
            line.clear();
            if out.read_line(&mut line).unwrap_or(0) == 0 {
                break;
            }
            // A line cut short by the kill was not acknowledged.
            let Ok(v) = serde_json::from_str::<Value>(&line) else {
                assert!(killed, "bad line from a live process: {line}");
                break;
            };
            let s = seq(&v);
            match first {
                None => {
                    assert!(
                        s <= last_seen + 1,
                        "round {rounds}: resumed at {s}, but {} was never delivered",
                        last_seen + 1
                    );
                    first = Some(s);
                }
                Some(_) => assert_eq!(s, at + 1, "messages in order, none skipped"),
            }
            at = s;
            taken += 1;
            // Kill without warning after a varying number of lines, or once
            // everything is delivered (a live consumer then waits forever);
            // then drain what the dead process had already written.
            if !killed && (taken > take || at == total) {
                kill9(pid);
                killed = true;
            }
        }
        assert!(!watchdog.fired(), "round {rounds}: the consumer hung");
        assert!(killed, "round {rounds}: the consumer ended on its own");
        last_seen = last_seen.max(at);
        drop(bg);
    }
    let info = sb.info("jobs");
    let r = &info["readers"][0];
    assert_eq!(r["name"], "billing");
    assert!(r["next_seq"].as_u64().unwrap() <= total + 1);
    assert!(
        rounds > 3,
        "the consumer was killed mid-stream several times"
    );
}

/// Kills a process that has not been killed within a time limit, so a hung
/// consumer fails the test instead of blocking it forever.
struct Watchdog {
    done: std::sync::mpsc::Sender<()>,
    fired: std::thread::JoinHandle<bool>,
}

impl Watchdog {
    fn arm(pid: u32, limit: Duration) -> Watchdog {
        let (done, rx) = std::sync::mpsc::channel::<()>();
        let fired = std::thread::spawn(move || {
            let timed_out = matches!(
                rx.recv_timeout(limit),
                Err(std::sync::mpsc::RecvTimeoutError::Timeout)
            );
            if timed_out {
                kill9(pid);
            }
            timed_out
        });
        Watchdog { done, fired }
    }

    fn fired(self) -> bool {
        let _ = self.done.send(());
        self.fired.join().unwrap_or(true)
    }
}

fn kill9(pid: u32) {
    let status = std::process::Command::new("kill")
        .args(["-9", &pid.to_string()])
        .status()
        .expect("run kill");
    assert!(status.success());
}

#[test]
fn reader_away_while_the_ring_laps_it_is_told_what_it_missed() {
    let sb = Sandbox::new("named-lapped");
    sb.create_pool("small", &["--size", "64K"]);
    sb.poke_lines("small", &[json!({ "i": 0 })]);
    let out = sb.run(&[
        "peek", "small", "--name", "slow", "--tail", "1", "--one", "--jsonl",
    ]);
    assert_eq!(out.ok().jsonl().len(), 1);
    let datas: Vec<Value> = (1..=3000)
        .map(|i| json!({ "i": i, "pad": "x".repeat(40) }))
        .collect();
    sb.poke_lines("small", &datas);
    let oldest = sb.info("small")["bounds"]["oldest"].as_u64().unwrap();
    assert!(oldest > 2, "the ring lapped the reader");
    let out = sb.run(&[
        "peek",
        "small",
        "--name",
        "slow",
        "--jsonl",
        "--timeout",
        "100ms",
    ]);
    assert_eq!(out.code(), 124, "ends on --timeout");
    let got = out.jsonl();
    assert_eq!(seq(&got[0]), oldest, "resumes at the oldest retained");
    let notices = out.stderr_jsonl();
    let dropped: u64 = notices
        .iter()
        .filter_map(|n| n["notice"]["details"]["dropped_count"].as_u64())
        .sum();
    assert_eq!(dropped, oldest - 2, "notices: {notices:?}");
}

#[test]
fn pool_info_lists_and_deletes_readers() {
    let sb = Sandbox::new("named-info");
    sb.create_pool("q", &[]);
    sb.poke_lines("q", &[json!({ "a": 1 }), json!({ "a": 2 })]);
    for name in ["alpha", "beta"] {
        let out = sb.run(&[
            "peek", "q", "--name", name, "--tail", "1", "--one", "--jsonl",
        ]);
        out.ok();
    }
    let info = sb.info("q");
    let names: Vec<&str> = info["readers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["alpha", "beta"]);
    assert_eq!(info["readers"][0]["next_seq"], 3);
    assert_eq!(info["readers"][0]["lag"], 0);
    let text = sb.run(&["pool", "info", "q"]).ok();
    assert!(text.stdout.contains("alpha: next seq 3"), "{}", text.stdout);
    let after = sb
        .run(&["pool", "info", "q", "--delete-reader", "alpha", "--json"])
        .ok()
        .json();
    assert_eq!(after["readers"].as_array().unwrap().len(), 1);
    let e = sb
        .run(&["pool", "info", "q", "--delete-reader", "alpha"])
        .fails("NotFound");
    assert!(cli::hint(&e).contains("pool info"));
    let e = sb.run(&["peek", "q", "--name", "has space"]).fails("Usage");
    assert!(e["message"].as_str().unwrap().contains("reader name"));
}
