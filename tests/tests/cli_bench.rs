//! `pls bench`, run as a user would: the JSON report's shape, that every figure is a real
//! measurement of what was asked, the table, clean-up, and usage errors.

#[path = "common/cli.rs"]
mod cli;

use std::path::Path;

use cli::{exclusive, hint, Sandbox};
use serde_json::Value;

fn keys(v: &Value) -> Vec<&str> {
    let mut k: Vec<&str> = v
        .as_object()
        .unwrap_or_else(|| panic!("not an object: {v}"))
        .keys()
        .map(String::as_str)
        .collect();
    k.sort_unstable();
    k
}

/// Every number under `v` (recursively), with its path.
fn numbers<'a>(v: &'a Value, at: String, out: &mut Vec<(String, &'a Value)>) {
    match v {
        Value::Object(o) => {
            for (k, x) in o {
                numbers(x, format!("{at}.{k}"), out);
            }
        }
        Value::Number(_) => out.push((at, v)),
        other => panic!("{at}: unexpected {other}"),
    }
}

fn f(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"))
}

fn u(v: &Value) -> u64 {
    v.as_u64().unwrap_or_else(|| panic!("not a count: {v}"))
}

fn is_empty_dir(p: &Path) -> bool {
    std::fs::read_dir(p).unwrap().next().is_none()
}

#[test]
fn quick_json_report_measures_what_was_asked() {
    let _serial = exclusive();
    let sb = Sandbox::new("bench-json");
    let scratch = sb.path("scratch");
    std::fs::create_dir(&scratch).unwrap();
    let dir = scratch.to_str().unwrap();
    let out = sb
        .run(&[
            "bench",
            "--quick",
            "--json",
            "--messages",
            "3000",
            "--size",
            "200",
            "--writers",
            "3",
            "--dir",
            dir,
        ])
        .ok();
    let v = out.json();
    assert_eq!(keys(&v), ["config", "machine", "plasmite", "results"]);

    let c = &v["config"];
    assert_eq!(u(&c["messages"]), 3000);
    assert_eq!(u(&c["size"]), 200);
    assert_eq!(u(&c["writers"]), 3);
    assert_eq!(c["quick"], true);
    assert_eq!(c["dir"], dir);
    assert!(u(&v["machine"]["cpus"]) >= 1);

    let r = &v["results"];
    assert_eq!(
        keys(r),
        [
            "append",
            "append_batch",
            "append_flush",
            "export",
            "get",
            "ingest",
            "multi_writer",
            "read",
            "wake"
        ]
    );
    let mut all = Vec::new();
    numbers(r, "results".into(), &mut all);
    assert!(all.len() > 30, "{all:?}");
    for (at, n) in &all {
        let x = f(n);
        assert!(x.is_finite() && x > 0.0, "{at} = {x}");
    }

    // Throughput figures: the counts asked for, and a rate that is count / time.
    for phase in ["append", "append_batch", "ingest", "export"] {
        let p = &r[phase];
        assert!(keys(p).contains(&"msgs_per_sec"), "{phase}");
        assert_eq!(u(&p["msgs"]), 3000, "{phase}");
        let rate = f(&p["msgs"]) / f(&p["seconds"]);
        assert!((rate / f(&p["msgs_per_sec"]) - 1.0).abs() < 1e-6, "{phase}");
    }
    assert_eq!(u(&r["append_batch"]["batch"]), 1000);
    assert_eq!(u(&r["append_flush"]["msgs"]), u(&c["flush_messages"]));
    // 6000 messages of 200 bytes fit the quick 8 MiB pool, so the read sees them all, and
    // get searches them plus the flushed ones.
    assert_eq!(u(&c["pool_size"]), 8 << 20);
    assert_eq!(u(&r["read"]["msgs"]), 6000);
    assert_eq!(u(&r["get"]["retained"]), 6000 + u(&c["flush_messages"]));
    assert_eq!(u(&r["get"]["samples"]), u(&c["get_samples"]));
    assert_eq!(u(&r["wake"]["samples"]), u(&c["wake_samples"]));
    for lat in ["get", "wake"] {
        let l = &r[lat];
        let p: Vec<f64> = ["p50_us", "p90_us", "p99_us", "max_us"]
            .iter()
            .map(|k| f(&l[*k]))
            .collect();
        assert!(p.windows(2).all(|w| w[0] <= w[1]), "{lat}: {p:?}");
    }
    let mw = &r["multi_writer"];
    assert_eq!(u(&mw["writers"]), 3);
    assert_eq!(u(&mw["msgs"]), 3000);
    let ratio = f(&mw["many_processes_msgs_per_sec"]) / f(&mw["one_process_msgs_per_sec"]);
    assert!((ratio / f(&mw["ratio"]) - 1.0).abs() < 1e-9);

    // Everything it made is gone, and the pool directory was never touched.
    assert!(is_empty_dir(&scratch), "left behind in {dir}");
    assert!(!sb.pools().exists());
}

#[test]
fn table_and_default_temporary_directory() {
    let _serial = exclusive();
    let sb = Sandbox::new("bench-table");
    let tmp = sb.path("tmp");
    std::fs::create_dir(&tmp).unwrap();
    let mut cmd = sb.cmd(&["bench", "--quick", "--messages", "800"]);
    cmd.env("TMPDIR", &tmp);
    let out = cli::run(cmd, None, cli::LIMIT).ok();
    let text = &out.stdout;
    assert!(text.starts_with("pls bench "), "{text}");
    assert!(text.contains("800 messages of 100 bytes per phase, pools of 8M in "));
    let rows: Vec<&str> = text
        .lines()
        .skip_while(|l| !l.starts_with("benchmark"))
        .skip(1)
        .collect();
    assert_eq!(rows.len(), 12, "{text}");
    for (row, needle) in rows.iter().zip([
        "append, one lock per message (800)",
        "append_batch, 1,000 per batch",
        "sequential read, cursor (1,600 retained)",
        "append with Flush",
        "get by seq, random",
        "get by seq, p99",
        "wake-up latency, reader in another process, p50",
        "wake-up latency, p99",
        "1 writer process",
        "4 writer processes together",
        "ingest 800 JSONL records (pls poke, from stdin)",
        "export them (pls peek --tail 800 --jsonl, to a file)",
    ]) {
        assert!(row.starts_with(needle), "{row:?} vs {needle:?}");
        assert!(
            row.ends_with("msgs/s") || row.ends_with("µs") || row.ends_with("x)"),
            "{row:?}"
        );
    }
    assert!(is_empty_dir(&tmp), "left behind in TMPDIR");
}

#[test]
fn usage_errors() {
    let sb = Sandbox::new("bench-usage");
    let cases: &[(&[&str], &str)] = &[
        (
            &["bench", "--size", "9"],
            "messages must be at least 10 bytes",
        ),
        (&["bench", "--size", "lots"], "--size: invalid size"),
        (&["bench", "--writers", "0"], "writer process count"),
        (
            &["bench", "--messages", "2", "--writers", "3"],
            "2 messages cannot be split over 3 writer processes",
        ),
        (
            &["bench", "--messages", "0"],
            "message count must be at least 1",
        ),
        (
            &["bench", "--pool-size", "1X"],
            "--pool-size: invalid size suffix",
        ),
    ];
    for (args, needle) in cases {
        let e = sb.run(args).fails("Usage");
        let message = e["message"].as_str().unwrap();
        assert!(message.contains(needle), "{args:?}: {message}");
        assert!(!hint(&e).is_empty());
    }
    // A message bigger than the pool is refused before anything is measured.
    let scratch = sb.path("s");
    std::fs::create_dir(&scratch).unwrap();
    let e = sb
        .run(&[
            "bench",
            "--quick",
            "--size",
            "2M",
            "--pool-size",
            "1M",
            "--dir",
            scratch.to_str().unwrap(),
        ])
        .fails("Usage");
    assert!(
        e["message"].as_str().unwrap().contains("do not fit"),
        "{e:?}"
    );
    assert!(hint(&e).contains("--pool-size"));
    assert!(is_empty_dir(&scratch));
    // A --dir that does not exist is not created.
    let missing = sb.path("missing");
    let out = sb.run(&["bench", "--quick", "--dir", missing.to_str().unwrap()]);
    let e = out.error();
    assert_eq!(e["kind"], "NotFound", "{e:?}");
    assert!(hint(&e).contains("does not exist"), "{e:?}");
    assert!(!missing.exists());
}
