//! Whole-process figures of the `pls` binary, for `docs/performance.md`.
//!
//! `cargo bench -p plasmite-cli --bench cli` prints a table (`-- --json` for
//! JSON). Each run of `pls` is a real process; peak memory is its maximum
//! resident set, from wait4(2).

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const PLS: &str = env!("CARGO_BIN_EXE_pls");
const N: u64 = 1_000_000;

/// Runs `pls` with `args`, stdin from `input`, stdout to `out`; returns the
/// wall time and the peak RSS in KiB.
// The child is reaped by wait4, which clippy cannot see.
#[allow(clippy::zombie_processes)]
fn run(dir: &Path, args: &[&str], input: Option<&Path>, out: Option<&Path>) -> (Duration, u64) {
    let mut cmd = Command::new(PLS);
    cmd.arg("--dir").arg(dir).args(args);
    cmd.stdin(input.map_or(Stdio::null(), |p| std::fs::File::open(p).unwrap().into()));
    cmd.stdout(out.map_or(Stdio::null(), |p| std::fs::File::create(p).unwrap().into()));
    let started = Instant::now();
    let child = cmd.spawn().unwrap();
    let mut status = 0;
    // SAFETY: an all-zero rusage is a valid value for wait4 to fill in.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: waits for our own child, with valid pointers to locals.
    let pid = unsafe { libc::wait4(child.id() as i32, &mut status, 0, &mut usage) };
    let elapsed = started.elapsed();
    assert_eq!(pid, child.id() as i32);
    assert!(libc::WIFEXITED(status), "pls {args:?} did not exit normally");
    let code = libc::WEXITSTATUS(status);
    assert!(code == 0 || code == 124, "pls {args:?} exited {code}");
    (elapsed, usage.ru_maxrss as u64)
}

fn median<T: Copy + Ord>(mut v: Vec<T>) -> T {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    let json = std::env::args().any(|a| a == "--json");
    let dir = std::env::temp_dir().join(format!("plasmite-cli-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let input = dir.join("input.jsonl");
    {
        let mut f = std::io::BufWriter::new(std::fs::File::create(&input).unwrap());
        for i in 0..N {
            let head = format!("{{\"id\":{i},\"kind\":\"bench\",\"msg\":\"");
            let pad = "x".repeat(100 - head.len() - 2);
            writeln!(f, "{head}{pad}\"}}").unwrap();
        }
    }
    let mut rows: Vec<(String, String, String)> = Vec::new();
    let mut row = |name: &str, value: String, mem: Option<u64>| {
        rows.push((name.to_string(), value, mem.map_or(String::new(), |k| format!("{:.1} MB", k as f64 / 1024.0))));
    };

    let (t, mem) = run(&dir, &["poke", "big", "--create", "--create-size", "256M"], Some(&input), None);
    row("ingest 1 M JSONL records (poke from stdin)", format!("{:.0} msgs/s", N as f64 / t.as_secs_f64()), Some(mem));

    let out = dir.join("export.jsonl");
    let (t, mem) = run(&dir, &["peek", "big", "--tail", "1000000", "--jsonl", "--timeout", "1ms"], None, Some(&out));
    let lines = std::fs::read(&out).unwrap().iter().filter(|b| **b == b'\n').count() as u64;
    assert_eq!(lines, N, "export must print every message");
    let export = t.saturating_sub(Duration::from_millis(1));
    row("export 1 M (peek --tail 1000000 --jsonl, to a file)", format!("{:.0} msgs/s", N as f64 / export.as_secs_f64()), Some(mem));

    let mut times = Vec::new();
    let mut mems = Vec::new();
    for _ in 0..20 {
        let (t, m) = run(&dir, &["peek", "big", "--tail", "1000", "--jsonl", "--timeout", "0ms"], None, None);
        times.push(t);
        mems.push(m);
    }
    row("peek --tail 1000 on a pool of 1 M messages (median of 20)", format!("{:.2} ms", median(times).as_secs_f64() * 1e3), Some(median(mems)));

    for (label, seq) in [("oldest", 1u64), ("middle", N / 2), ("newest", N)] {
        let s = seq.to_string();
        let mut times = Vec::new();
        let mut mems = Vec::new();
        for _ in 0..20 {
            let (t, m) = run(&dir, &["get", "big", &s], None, None);
            times.push(t);
            mems.push(m);
        }
        row(&format!("get of the {label} seq (median of 20)"), format!("{:.2} ms", median(times).as_secs_f64() * 1e3), Some(median(mems)));
    }

    let mut times = Vec::new();
    let mut mems = Vec::new();
    for i in 0..50 {
        let data = format!("{{\"n\":{i}}}");
        let (t, m) = run(&dir, &["poke", "small", "--create", &data], None, None);
        times.push(t);
        mems.push(m);
    }
    row("one poke as a whole process (median of 50)", format!("{:.2} ms", median(times).as_secs_f64() * 1e3), Some(median(mems)));

    let size = std::fs::metadata(PLS).map(|m| m.len()).unwrap_or(0);
    row("pls binary size (this build profile)", format!("{:.2} MB", size as f64 / 1e6), None);
    std::fs::remove_dir_all(&dir).ok();

    if json {
        let obj: serde_json::Map<String, serde_json::Value> = rows
            .iter()
            .map(|(k, v, m)| (k.clone(), serde_json::json!({"result": v, "peak_rss": m})))
            .collect();
        println!("{}", serde_json::Value::Object(obj));
    } else {
        println!("{:<60} {:>16} {:>10}", "benchmark (100-byte JSON records)", "result", "peak RSS");
        for (k, v, m) in rows {
            println!("{k:<60} {v:>16} {m:>10}");
        }
    }
}

