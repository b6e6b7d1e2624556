//! Whole-process figures of the `pls` binary, for `docs/performance.md`.
//!
//! `cargo bench -p plasmite-cli --bench cli` prints a table (`-- --json` for
//! JSON). Each run of `pls` is a real process; its peak memory is sampled
//! from /proc, split into anonymous memory (heap) and mapped file pages.

use std::path::Path;
use std::time::Duration;

use plasmite::bench::write_jsonl;
use plasmite_cli::cmd::bench::{count_lines, run_pls, Peak};

const PLS: &str = env!("CARGO_BIN_EXE_pls");
const N: u64 = 1_000_000;

/// Runs `pls` (see `run_pls`, shared with `pls bench`), sampling its peak memory; a run
/// must succeed (or end with `peek --timeout`'s 124).
fn run(dir: &Path, args: &[&str], input: Option<&Path>, out: Option<&Path>) -> (Duration, Peak) {
    let mut peak = Peak::default();
    let (elapsed, code) = run_pls(Path::new(PLS), dir, args, input, out, Some(&mut peak))
        .unwrap_or_else(|e| panic!("pls {args:?}: {e}"));
    assert!(code == 0 || code == 124, "pls {args:?} exited {code}");
    (elapsed, peak)
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
    // The messages `pls bench` and the engine benchmark use.
    write_jsonl(&input, N, 100).unwrap();
    let mut rows: Vec<(String, String, String, String)> = Vec::new();
    let mut row = |name: &str, value: String, mem: Option<Peak>| {
        let mb = |k: u64| format!("{:.1} MB", k as f64 / 1024.0);
        let (anon, file) = mem.map_or((String::new(), String::new()), |p| {
            (mb(p.anon_kib), mb(p.file_kib))
        });
        rows.push((name.to_string(), value, anon, file));
    };

    let (t, mem) = run(
        &dir,
        &["poke", "big", "--create", "--create-size", "256M"],
        Some(&input),
        None,
    );
    row(
        "ingest 1 M JSONL records (poke from stdin)",
        format!("{:.0} msgs/s", N as f64 / t.as_secs_f64()),
        Some(mem),
    );

    let out = dir.join("export.jsonl");
    let (t, mem) = run(
        &dir,
        &[
            "peek",
            "big",
            "--tail",
            "1000000",
            "--jsonl",
            "--timeout",
            "1ms",
        ],
        None,
        Some(&out),
    );
    // Streamed: reading the file whole would swell this process, and a
    // child's exec inherits the parent's peak RSS in the kernel's books.
    let lines = count_lines(&out).unwrap();
    assert_eq!(lines, N, "export must print every message");
    let export = t.saturating_sub(Duration::from_millis(1));
    row(
        "export 1 M (peek --tail 1000000 --jsonl, to a file)",
        format!("{:.0} msgs/s", N as f64 / export.as_secs_f64()),
        Some(mem),
    );

    let mut times = Vec::new();
    let mut mems = Vec::new();
    for _ in 0..20 {
        let (t, m) = run(
            &dir,
            &[
                "peek",
                "big",
                "--tail",
                "1000",
                "--jsonl",
                "--timeout",
                "0ms",
            ],
            None,
            None,
        );
        times.push(t);
        mems.push(m);
    }
    row(
        "peek --tail 1000 on a pool of 1 M messages (median of 20)",
        format!("{:.2} ms", median(times).as_secs_f64() * 1e3),
        Some(median(mems)),
    );

    for (label, seq) in [("oldest", 1u64), ("middle", N / 2), ("newest", N)] {
        let s = seq.to_string();
        let mut times = Vec::new();
        let mut mems = Vec::new();
        for _ in 0..20 {
            let (t, m) = run(&dir, &["get", "big", &s], None, None);
            times.push(t);
            mems.push(m);
        }
        row(
            &format!("get of the {label} seq (median of 20)"),
            format!("{:.2} ms", median(times).as_secs_f64() * 1e3),
            Some(median(mems)),
        );
    }

    let mut times = Vec::new();
    let mut mems = Vec::new();
    for i in 0..50 {
        let data = format!("{{\"n\":{i}}}");
        let (t, m) = run(&dir, &["poke", "small", "--create", &data], None, None);
        times.push(t);
        mems.push(m);
    }
    row(
        "one poke as a whole process (median of 50)",
        format!("{:.2} ms", median(times).as_secs_f64() * 1e3),
        Some(median(mems)),
    );

    let size = std::fs::metadata(PLS).map(|m| m.len()).unwrap_or(0);
    row(
        "pls binary size (this build profile)",
        format!("{:.2} MB", size as f64 / 1e6),
        None,
    );
    std::fs::remove_dir_all(&dir).ok();

    if json {
        let obj: serde_json::Map<String, serde_json::Value> = rows
            .iter()
            .map(|(k, v, a, f)| {
                let o = serde_json::json!({"result": v, "peak_anon": a, "peak_file": f});
                (k.clone(), o)
            })
            .collect();
        println!("{}", serde_json::Value::Object(obj));
    } else {
        println!(
            "{:<58} {:>15} {:>10} {:>10}",
            "benchmark (100-byte JSON records)", "result", "peak anon", "peak file"
        );
        for (k, v, a, f) in rows {
            println!("{k:<58} {v:>15} {a:>10} {f:>10}");
        }
    }
}
