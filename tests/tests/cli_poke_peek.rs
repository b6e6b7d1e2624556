//! `pls poke`, `pls peek` and `pls get`: every flag, run as a user would.

#[path = "common/cli.rs"]
mod cli;

use std::fs;
use std::time::{Duration, Instant};

use cli::{check_message, check_receipt, check_time, datas, hint, seqs, time_ns, Sandbox};
use serde_json::{json, Value};

const WAIT: Duration = Duration::from_secs(10);

fn lines(vals: &[Value]) -> String {
    vals.iter().map(|v| format!("{v}\n")).collect()
}

// ---------------------------------------------------------------- poke

#[test]
fn poke_inline_receipt_tags_and_values_round_trip() {
    let sb = Sandbox::new("poke-inline");
    let text = r#"{"s": "é ✓ \u0000 \"q\"", "i": 9007199254740993, "min": -9223372036854775808,
        "max": 9223372036854775807, "f": 1.5, "neg": -0.25, "t": true, "n": null,
        "nested": {"arr": [1, {"x": []}, "y"], "empty": {}}}"#;
    let out = sb
        .run(&[
            "poke", "p", "--create", "--tag", "b", "--tag", "a", "--tag", "b", "--tag", "", text,
        ])
        .ok();
    // Tags keep their order and duplicates; an empty tag is a tag.
    check_receipt(&out.json(), 1, &["b", "a", "b", ""]);
    let want: Value = serde_json::from_str(text).unwrap();
    let got = sb.run(&["get", "p", "1"]).ok().json();
    check_message(&got, 1, &want, &["b", "a", "b", ""]);
    // Integers beyond 2^53 survive exactly (no trip through f64).
    let raw = sb.run(&["get", "p", "1"]).ok().stdout;
    assert!(raw.contains("9007199254740993"), "{raw}");
    assert!(raw.contains("-9223372036854775808") && raw.contains("9223372036854775807"));

    // The receipt's time is the message's time.
    assert_eq!(out.json()["time"], got["time"]);
    // Seqs go up by one per message.
    let out = sb.run(&["poke", "p", r#"{"second": 2}"#]).ok();
    check_receipt(&out.json(), 2, &[]);
}

#[test]
fn poke_reads_file_dash_and_piped_stdin() {
    let sb = Sandbox::new("poke-file");
    sb.run(&["pool", "create", "p"]).ok();
    let a: Vec<Value> = (0..3).map(|i| json!({"from": "file", "i": i})).collect();
    let b: Vec<Value> = (0..2).map(|i| json!({"from": "dash", "i": i})).collect();
    let c: Vec<Value> = (0..2).map(|i| json!({"from": "pipe", "i": i})).collect();
    fs::write(sb.path("in.jsonl"), lines(&a)).unwrap();

    let out = sb.run(&["poke", "p", "-f", "in.jsonl"]).ok();
    assert_eq!(seqs(&out.jsonl()), [1, 2, 3]);
    let out = sb
        .run(&["poke", "p", "--file", "in.jsonl", "--tag", "t"])
        .ok();
    for (i, r) in out.jsonl().iter().enumerate() {
        check_receipt(r, 4 + i as u64, &["t"]);
    }
    let out = sb.run_in(&["poke", "p", "-f", "-"], lines(&b)).ok();
    assert_eq!(seqs(&out.jsonl()), [7, 8]);
    let out = sb.run_in(&["poke", "p"], lines(&c)).ok();
    assert_eq!(seqs(&out.jsonl()), [9, 10]);

    let mut want = a.clone();
    want.extend(a.iter().cloned());
    want.extend(b);
    want.extend(c);
    let msgs = sb.messages("p");
    assert_eq!(datas(&msgs), want);
    assert_eq!(msgs[3]["meta"]["tags"], json!(["t"]));

    // DATA and --file together are a usage error; a missing file is not found.
    sb.run(&["poke", "p", "-f", "in.jsonl", r#"{"a":1}"#])
        .fails("Usage");
    let e = sb.run(&["poke", "p", "-f", "nope.jsonl"]).error();
    assert_eq!(e["kind"], "NotFound", "{e:?}");
    assert_eq!(sb.info("p")["bounds"], json!({"oldest": 1, "newest": 10}));
}

/// Runs `poke p --in MODE` on `input` and checks the messages appended.
fn ingest(sb: &Sandbox, pool: &str, mode: &str, input: &[u8], want: &[Value]) {
    let before = sb.messages(pool).len();
    let out = sb
        .run_in(&["poke", pool, "--in", mode], input.to_vec())
        .ok();
    assert_eq!(out.jsonl().len(), want.len(), "{mode}: receipts: {out:?}");
    let msgs = sb.messages(pool);
    assert_eq!(datas(&msgs[before..]), want, "{mode}");
}

#[test]
fn poke_input_modes() {
    let sb = Sandbox::new("poke-modes");
    sb.run(&["pool", "create", "p"]).ok();
    let (a, b, c) = (
        json!({"a": 1}),
        json!({"b": [1, 2]}),
        json!({"c": {"d": "}{"}}),
    );
    let pretty = format!(
        "{}\n{}\n",
        serde_json::to_string_pretty(&b).unwrap(),
        serde_json::to_string_pretty(&c).unwrap()
    );

    // auto: JSON Lines, pretty-printed documents, json-seq.
    ingest(
        &sb,
        "p",
        "auto",
        b"{\"a\":1}\n\n{\"b\":[1,2]}\n",
        &[a.clone(), b.clone()],
    );
    ingest(&sb, "p", "auto", pretty.as_bytes(), &[b.clone(), c.clone()]);
    ingest(
        &sb,
        "p",
        "auto",
        b"\x1e{\"a\":1}\n\x1e{\"c\":{\"d\":\"}{\"}}\n",
        &[a.clone(), c.clone()],
    );

    // jsonl: one value per line, blank lines skipped, CRLF tolerated.
    ingest(
        &sb,
        "p",
        "jsonl",
        b"{\"a\":1}\r\n\r\n{\"b\":[1,2]}\r\n",
        &[a.clone(), b.clone()],
    );
    // ... but two values on a line, or a value across lines, are errors.
    let out = sb.run_in(&["poke", "p", "--in", "jsonl"], "{\"a\":1} {\"a\":2}\n");
    out.error();
    assert_eq!(out.code(), 2);
    let out = sb.run_in(&["poke", "p", "-i", "jsonl"], pretty.clone());
    assert_eq!(out.code(), 2, "{out:?}");

    // json: one (pretty) document.
    let doc = serde_json::to_string_pretty(&c).unwrap();
    ingest(&sb, "p", "json", doc.as_bytes(), std::slice::from_ref(&c));

    // seq: RFC 7464; whitespace-only records ignored, a record may span lines.
    ingest(
        &sb,
        "p",
        "seq",
        b"\x1e{\"a\":1}\n\x1e \n\x1e{\"b\":\n[1,2]}\n",
        &[a.clone(), b.clone()],
    );

    // jq: concatenated values, several on one line, compact or pretty.
    let jq = format!("{a} {b}{c}\n{pretty}");
    ingest(
        &sb,
        "p",
        "jq",
        jq.as_bytes(),
        &[a, b.clone(), c.clone(), b, c],
    );
}

#[test]
fn poke_errors_skip_reports_notices_and_exits_1() {
    let sb = Sandbox::new("poke-skip");
    sb.run(&["pool", "create", "p"]).ok();
    let input = "{\"n\":1}\nnot json\n{\"n\":3}\n{\"n\":4}\n";
    let out = sb.run_in(&["poke", "p", "--errors", "skip"], input);
    assert_eq!(out.code(), 1, "{out:?}");
    assert_eq!(seqs(&out.jsonl()), [1, 2, 3]);
    assert_eq!(
        datas(&sb.messages("p")),
        [json!({"n":1}), json!({"n":3}), json!({"n":4})]
    );

    let pool_path = sb.pool_file("p");
    let notices = out.stderr_jsonl();
    assert_eq!(notices.len(), 2, "{out:?}");
    let skip = &notices[0]["notice"];
    assert_eq!(skip["kind"], "ingest_skip");
    assert_eq!(skip["cmd"], "poke");
    assert_eq!(skip["pool"], "p");
    assert!(skip["message"].as_str().is_some_and(|m| !m.is_empty()));
    check_time(&skip["time"]);
    let d = &skip["details"];
    assert_eq!(d["error_kind"], "Parse");
    assert_eq!(d["index"], 2);
    assert_eq!(d["line"], 2);
    assert_eq!(d["mode"], "jsonl");
    assert!(
        d["pool_path"]
            .as_str()
            .unwrap()
            .ends_with("/pools/p.plasmite"),
        "{d}"
    );
    assert!(pool_path.exists());
    let sum = &notices[1]["notice"];
    assert_eq!(sum["kind"], "ingest_summary");
    assert_eq!(sum["message"], "ingestion completed with skipped records");
    assert_eq!(sum["details"]["total"], 4);
    assert_eq!(sum["details"]["ok"], 3);
    assert_eq!(sum["details"]["failed"], 1);

    // An oversized record (over 1 MiB of JSON text) is skipped too.
    let big = format!("{{\"big\":\"{}\"}}", "x".repeat(1_100_000));
    let input = format!("{{\"n\":5}}\n{big}\n{{\"n\":6}}\n");
    let out = sb.run_in(&["poke", "p", "-e", "skip"], input);
    assert_eq!(out.code(), 1, "{}", out.stderr);
    let notices = out.stderr_jsonl();
    assert_eq!(notices[0]["notice"]["details"]["error_kind"], "Oversize");
    assert_eq!(notices[0]["notice"]["details"]["index"], 2);
    let tail: Vec<Value> = datas(&sb.messages("p")).split_off(3);
    assert_eq!(tail, [json!({"n":5}), json!({"n":6})]);

    // In a json-seq stream, the notice names the concrete mode.
    let mut input = b"\x1e{\"n\":7}\n\x1e".to_vec();
    input.extend_from_slice(big.as_bytes());
    input.extend_from_slice(b"\n\x1e{\"n\":9}\n");
    let out = sb.run_in(&["poke", "p", "-e", "skip"], input);
    assert_eq!(out.code(), 1, "{}", out.stderr);
    let notices = out.stderr_jsonl();
    assert_eq!(
        notices[0]["notice"]["details"]["mode"], "seq",
        "{notices:?}"
    );
    assert_eq!(notices[0]["notice"]["details"]["index"], 2, "{notices:?}");
    assert_eq!(notices[0]["notice"]["details"]["error_kind"], "Oversize");
    let tail: Vec<Value> = datas(&sb.messages("p")).split_off(5);
    assert_eq!(tail, [json!({"n":7}), json!({"n":9})]);
}

/// Skipping must cover every malformed record, not only those whose
/// brackets do not balance.
#[test]
fn poke_errors_skip_skips_malformed_objects() {
    let sb = Sandbox::new("poke-skip-malformed");
    sb.run(&["pool", "create", "p"]).ok();
    for bad in [r#"{bad}"#, r#"{"a": tru}"#, r#"{"a": 1,}"#] {
        let input = format!("{{\"ok\":1}}\n{bad}\n{{\"ok\":2}}\n");
        let out = sb.run_in(&["poke", "p", "-e", "skip"], input);
        assert_eq!(out.code(), 1, "{bad}: {out:?}");
        let notices = out.stderr_jsonl();
        assert_eq!(notices[0]["notice"]["kind"], "ingest_skip", "{bad}");
        assert_eq!(
            notices[0]["notice"]["details"]["error_kind"], "Parse",
            "{bad}"
        );
    }
    // The same in a json-seq stream.
    let out = sb.run_in(
        &["poke", "p", "-e", "skip"],
        b"\x1e{\"ok\":3}\n\x1e{\"n\" 8\n\x1e{\"ok\":4}\n".to_vec(),
    );
    assert_eq!(out.code(), 1, "{out:?}");
    assert_eq!(out.stderr_jsonl()[0]["notice"]["details"]["mode"], "seq");
    assert_eq!(sb.messages("p").len(), 8);
}

#[test]
fn poke_errors_stop_keeps_what_came_before() {
    let sb = Sandbox::new("poke-stop");
    sb.run(&["pool", "create", "p"]).ok();
    let out = sb.run_in(&["poke", "p"], "{\"n\":1}\n{\"n\":2}\n{oops\n{\"n\":4}\n");
    let e = out.error();
    assert_eq!(e["kind"], "Usage");
    assert!(!hint(&e).is_empty());
    // The receipts of the records appended before the bad one were printed.
    assert_eq!(seqs(&out.jsonl()), [1, 2]);
    assert_eq!(datas(&sb.messages("p")), [json!({"n":1}), json!({"n":2})]);

    // A record that is JSON but not an object stops the stream even with
    // --errors skip (it is a data error, not a framing error).
    let out = sb.run_in(
        &["poke", "p", "-e", "skip"],
        "{\"n\":3}\n[1,2]\n{\"n\":5}\n",
    );
    assert_eq!(out.error()["kind"], "Usage");
    assert_eq!(datas(&sb.messages("p")).len(), 3);

    // jq-style streams cannot resynchronise, so skip is refused up front.
    let out = sb.run_in(
        &["poke", "p", "--in", "jq", "--errors", "skip"],
        "{\"n\":6}\n",
    );
    out.fails("Usage");
    assert_eq!(sb.messages("p").len(), 3);
}

#[test]
fn poke_durability_create_size_and_retry_flags() {
    let sb = Sandbox::new("poke-flags");
    sb.run(&[
        "poke",
        "p",
        "--create",
        "--durability",
        "flush",
        r#"{"a":1}"#,
    ])
    .ok();
    sb.run(&["poke", "p", "--durability", "fast", r#"{"a":2}"#])
        .ok();
    sb.run_in(
        &["poke", "p", "--durability", "flush"],
        "{\"a\":3}\n{\"a\":4}\n",
    )
    .ok();
    assert_eq!(sb.messages("p").len(), 4);
    sb.run(&["poke", "p", "--durability", "sync", r#"{"a":5}"#])
        .fails("Usage");

    // --create-size sizes a pool made by --create.
    let out = sb
        .run(&[
            "poke",
            "small",
            "--create",
            "--create-size",
            "64K",
            r#"{"a":1}"#,
        ])
        .ok();
    check_receipt(&out.json(), 1, &[]);
    assert_eq!(fs::metadata(sb.pool_file("small")).unwrap().len(), 65536);
    assert_eq!(sb.info("small")["file_size"], 65536);
    sb.run(&["poke", "p", "--create-size", "64K", r#"{"a":1}"#])
        .fails("Usage");
    for bad in ["12Q", "1.5M", "M", "-1"] {
        let out = sb.run(&[
            "poke",
            "bad",
            "--create",
            "--create-size",
            bad,
            r#"{"a":1}"#,
        ]);
        out.fails("Usage");
        assert!(
            !sb.pool_file("bad").exists(),
            "--create-size {bad} left a pool"
        );
    }

    // Retries: accepted with a delay; a delay needs --retry; bad values are usage errors.
    sb.run(&[
        "poke",
        "p",
        "--retry",
        "3",
        "--retry-delay",
        "10ms",
        r#"{"a":6}"#,
    ])
    .ok();
    sb.run(&["poke", "p", "--retry", "2", r#"{"a":7}"#]).ok();
    sb.run(&["poke", "p", "--retry-delay", "10ms", r#"{"a":8}"#])
        .fails("Usage");
    for (n, d) in [
        ("2", "5"),
        ("2", "1.5s"),
        ("2", "10us"),
        ("x", "10ms"),
        ("-1", "10ms"),
    ] {
        sb.run(&["poke", "p", "--retry", n, "--retry-delay", d, r#"{"a":9}"#])
            .fails("Usage");
    }
    assert_eq!(sb.messages("p").len(), 6);
}

#[test]
fn poke_without_input_or_with_bad_data_creates_nothing() {
    let sb = Sandbox::new("poke-nothing");
    for input in ["", "  \n\n", "\r\n"] {
        let e = sb.run_in(&["poke", "p", "--create"], input).fails("Usage");
        assert!(!hint(&e).is_empty());
    }
    for data in [
        "{bad",
        "[1,2]",
        "\"text\"",
        "42",
        "null",
        "{\"a\":1} {\"b\":2}",
        "",
    ] {
        sb.run(&["poke", "q", "--create", data]).fails("Usage");
        assert!(
            !sb.pool_file("q").exists(),
            "bad data {data:?} created the pool"
        );
    }
}

// ---------------------------------------------------------------- peek

/// A pool `p` with messages `{"i": 1..=n}`.
fn pool_of(sb: &Sandbox, n: u64) -> Vec<Value> {
    sb.run(&["pool", "create", "p"]).ok();
    let want: Vec<Value> = (1..=n).map(|i| json!({"i": i})).collect();
    sb.poke_lines("p", &want);
    sb.messages("p")
}

fn peek(sb: &Sandbox, args: &[&str]) -> Vec<Value> {
    let mut all = vec!["peek", "p", "--jsonl", "--timeout", "100ms"];
    all.extend_from_slice(args);
    let out = sb.run(&all);
    out.timed_out();
    out.jsonl()
}

#[test]
fn peek_tail() {
    let sb = Sandbox::new("peek-tail");
    let all = pool_of(&sb, 10);
    assert_eq!(peek(&sb, &["--tail", "3"]), all[7..]);
    assert_eq!(peek(&sb, &["-n", "2"]), all[8..]);
    assert_eq!(peek(&sb, &["-n", "100"]), all);
    assert_eq!(peek(&sb, &["--tail", "0"]), Vec::<Value>::new());
    assert_eq!(peek(&sb, &[]), Vec::<Value>::new());
    for (i, m) in all.iter().enumerate() {
        let i = i as u64 + 1;
        check_message(m, i, &json!({"i": i}), &[]);
    }
    sb.run(&["peek", "p", "--tail", "x"]).fails("Usage");
    sb.run(&["peek", "p", "--tail", "-1"]).fails("Usage");
}

#[test]
fn peek_since_rfc3339_and_relative() {
    let sb = Sandbox::new("peek-since");
    sb.run(&["pool", "create", "p"]).ok();
    sb.poke_lines("p", &[json!({"i": 1}), json!({"i": 2})]);
    std::thread::sleep(Duration::from_millis(1100));
    sb.poke_lines("p", &[json!({"i": 3}), json!({"i": 4})]);
    let all = sb.messages("p");

    assert_eq!(peek(&sb, &["--since", "1h"]), all);
    assert_eq!(peek(&sb, &["--since", "2d"]), all);
    assert_eq!(
        peek(&sb, &["--since", "1s"]),
        all[2..],
        "relative: the last second"
    );
    let t3 = all[2]["time"].as_str().unwrap();
    assert_eq!(
        peek(&sb, &["--since", t3]),
        all[2..],
        "RFC 3339: from message 3 on"
    );
    // The same instant with another UTC offset.
    let ns = time_ns(&all[2]["time"]);
    let (secs, frac) = (ns / 1_000_000_000, ns % 1_000_000_000);
    let shifted = rfc3339_with_offset(secs, frac, 2 * 3600);
    assert_eq!(peek(&sb, &["--since", &shifted]), all[2..], "{shifted}");
    // One nanosecond later excludes message 3.
    let later = rfc3339_with_offset(
        secs + (frac + 1) / 1_000_000_000,
        (frac + 1) % 1_000_000_000,
        0,
    );
    assert_eq!(peek(&sb, &["--since", &later]), all[3..], "{later}");
    // In a filtered follow, --since composes with the filters.
    assert_eq!(
        peek(&sb, &["--since", "1h", "--where", ".data.i % 2 == 0"]),
        [all[1].clone(), all[3].clone()]
    );

    for bad in [
        "yesterday",
        "5",
        "2026-13-01T00:00:00Z",
        "2026-01-01",
        "1w",
        "",
    ] {
        sb.run(&["peek", "p", "--since", bad]).fails("Usage");
    }
    sb.run(&["peek", "p", "--since", "1h", "--tail", "2"])
        .fails("Usage");
}

/// `2026-02-06T20:58:01.5+02:00` style text for an instant.
fn rfc3339_with_offset(secs: u64, nanos: u64, offset_secs: i64) -> String {
    let local = secs as i64 + offset_secs;
    let days = local.div_euclid(86_400);
    let rem = local.rem_euclid(86_400);
    // Civil date from days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    let off = if offset_secs == 0 {
        "Z".to_string()
    } else {
        format!(
            "{}{:02}:{:02}",
            if offset_secs < 0 { '-' } else { '+' },
            offset_secs.abs() / 3600,
            offset_secs.abs() % 3600 / 60
        )
    };
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{nanos:09}{off}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Contract §1.7.7: a `--since` in the future selects nothing and exits 0
/// at once (upstream does; the acceptance suite pins it).
#[test]
fn peek_since_in_the_future_exits_at_once() {
    let sb = Sandbox::new("peek-future");
    pool_of(&sb, 2);
    let mut c = sb.cmd(&["peek", "p", "--since", "2099-01-01T00:00:00Z"]);
    c.stdin(std::process::Stdio::null());
    let out = cli::run(c, None, Duration::from_secs(5));
    assert_eq!(out.code(), 0, "{out:?}");
    assert_eq!(out.stdout, "");
}

#[test]
fn peek_tags_and_where_are_anded() {
    let sb = Sandbox::new("peek-filters");
    sb.run(&["pool", "create", "p"]).ok();
    for (tags, n) in [
        (&["a"][..], 1),
        (&["b"], 2),
        (&["a", "b"], 3),
        (&[], 4),
        (&["b", "a", "c"], 5),
    ] {
        let mut args = vec!["poke", "p"];
        for t in tags {
            args.extend(["--tag", t]);
        }
        let data = format!(
            r#"{{"n": {n}, "level": "{}"}}"#,
            if n % 2 == 1 { "error" } else { "info" }
        );
        args.push(&data);
        sb.run(&args).ok();
    }
    let n = |msgs: Vec<Value>| -> Vec<u64> {
        msgs.iter()
            .map(|m| m["data"]["n"].as_u64().unwrap())
            .collect()
    };
    assert_eq!(n(peek(&sb, &["--tail", "9", "--tag", "a"])), [1, 3, 5]);
    assert_eq!(
        n(peek(&sb, &["--tail", "9", "--tag", "a", "--tag", "b"])),
        [3, 5]
    );
    assert_eq!(
        n(peek(&sb, &["--tail", "9", "--tag", "A"])),
        Vec::<u64>::new()
    );
    assert_eq!(
        n(peek(
            &sb,
            &["--tail", "9", "--where", r#".data.level == "error""#]
        )),
        [1, 3, 5]
    );
    assert_eq!(
        n(peek(
            &sb,
            &[
                "--tail",
                "9",
                "--where",
                r#".data.level == "error""#,
                "--where",
                ".data.n > 1"
            ]
        )),
        [3, 5]
    );
    assert_eq!(
        n(peek(
            &sb,
            &["--tail", "9", "--tag", "b", "--where", ".data.n < 5"]
        )),
        [2, 3]
    );
    // Filters see the whole envelope.
    assert_eq!(n(peek(&sb, &["--tail", "9", "--where", ".seq == 4"])), [4]);
    assert_eq!(
        n(peek(
            &sb,
            &[
                "--tail",
                "9",
                "--where",
                r#".meta.tags | index("c") != null"#
            ]
        )),
        [5]
    );
    // --tail N counts matches, not messages.
    assert_eq!(n(peek(&sb, &["--tail", "2", "--tag", "a"])), [3, 5]);
    // A runtime error (test() on a missing field) is no match, not a failure.
    assert_eq!(
        n(peek(
            &sb,
            &["--tail", "9", "--where", r#".data.msg | test("x")"#]
        )),
        Vec::<u64>::new()
    );

    // Compile errors and non-boolean results are usage errors.
    for bad in [".data.n ==", ".data.n", "\"yes\"", "nosuchfn(1)"] {
        let e = sb
            .run(&[
                "peek",
                "p",
                "--tail",
                "9",
                "--where",
                bad,
                "--timeout",
                "1s",
            ])
            .fails("Usage");
        assert!(!hint(&e).is_empty(), "{bad}: {e:?}");
    }
}

#[test]
fn peek_one() {
    let sb = Sandbox::new("peek-one");
    let all = pool_of(&sb, 5);
    // With --tail N, --one prints the N-th match counting from the start of
    // the window of the last N matches: with a full window, its newest.
    let out = sb
        .run(&["peek", "p", "--tail", "3", "--one", "--jsonl"])
        .ok();
    assert_eq!(out.jsonl(), [all[4].clone()]);
    let out = sb
        .run(&["peek", "p", "--tail", "1", "--one", "--jsonl"])
        .ok();
    assert_eq!(out.jsonl(), [all[4].clone()]);
    let out = sb
        .run(&[
            "peek",
            "p",
            "--tail",
            "2",
            "--one",
            "--where",
            ".data.i < 4",
            "--jsonl",
        ])
        .ok();
    assert_eq!(out.jsonl(), [all[2].clone()]);

    // With fewer matches than N retained, it waits for the rest: the 7th
    // match here is the second message poked from now on.
    let mut w = sb.spawn(&["peek", "p", "--tail", "7", "--one", "--jsonl"]);
    w.wait_following();
    sb.run(&["poke", "p", r#"{"i": 6}"#]).ok();
    std::thread::sleep(Duration::from_millis(200));
    assert!(!w.exited(), "exited before the 7th match");
    sb.run(&["poke", "p", r#"{"i": 7}"#]).ok();
    let out = w.finish(WAIT).ok();
    assert_eq!(datas(&out.jsonl()), [json!({"i": 7})]);

    // Without history, --one waits for the next match and exits 0.
    let w = sb.spawn(&["peek", "p", "--one", "--where", ".data.i > 8"]);
    w.wait_following();
    sb.poke_lines("p", &[json!({"i": 8}), json!({"i": 9}), json!({"i": 10})]);
    let out = w.finish(WAIT).ok();
    let msgs = out.jsonl();
    assert_eq!(msgs.len(), 1);
    check_message(&msgs[0], 9, &json!({"i": 9}), &[]);
}

#[test]
fn peek_timeout_exits_124_silently_and_resets_on_output() {
    let sb = Sandbox::new("peek-timeout");
    sb.run(&["pool", "create", "p"]).ok();
    let out = sb.run(&["peek", "p", "--timeout", "300ms"]);
    out.timed_out();
    assert_eq!(out.stdout, "");
    assert!(
        out.elapsed >= Duration::from_millis(300),
        "{:?}",
        out.elapsed
    );

    // The deadline restarts after each message printed.
    let w = sb.spawn(&["peek", "p", "--timeout", "700ms", "--jsonl"]);
    w.wait_following();
    let started = Instant::now();
    std::thread::sleep(Duration::from_millis(400));
    sb.run(&["poke", "p", r#"{"late": true}"#]).ok();
    let poked = started.elapsed();
    let out = w.finish(WAIT);
    let total = started.elapsed();
    out.timed_out();
    assert_eq!(datas(&out.jsonl()), [json!({"late": true})]);
    assert!(
        total >= poked + Duration::from_millis(650),
        "exited {total:?} after start, poke at {poked:?}"
    );

    for bad in ["5", "1.5s", "10us", "s", "-1s", "1 s"] {
        sb.run(&["peek", "p", "--timeout", bad]).fails("Usage");
    }
    // 0s times out at once.
    sb.run(&["peek", "p", "--timeout", "0s"]).timed_out();
}

#[test]
fn peek_output_formats() {
    let sb = Sandbox::new("peek-format");
    let all = pool_of(&sb, 2);
    // Keys are in alphabetical order on the wire.
    let out = sb.run(&[
        "peek",
        "p",
        "--tail",
        "2",
        "--format",
        "jsonl",
        "--timeout",
        "50ms",
    ]);
    out.timed_out();
    for (line, m) in out.stdout.lines().zip(&all) {
        assert!(line.starts_with(r#"{"data":{"i":"#), "{line}");
        assert_eq!(line, m.to_string());
    }
    let out2 = sb.run(&["peek", "p", "--tail", "2", "--jsonl", "--timeout", "50ms"]);
    assert_eq!(out2.stdout, out.stdout);
    // In a pipe the default is JSON Lines too (pretty is for terminals).
    let out3 = sb.run(&["peek", "p", "--tail", "2", "--timeout", "50ms"]);
    assert_eq!(out3.stdout, out.stdout);

    // pretty: indented multi-line JSON per message, even in a pipe.
    let out = sb.run(&[
        "peek",
        "p",
        "--tail",
        "2",
        "--format",
        "pretty",
        "--timeout",
        "50ms",
    ]);
    out.timed_out();
    let want: String = all
        .iter()
        .map(|m| serde_json::to_string_pretty(m).unwrap() + "\n")
        .collect();
    assert_eq!(out.stdout, want);

    // --color always colours pretty output; never does not.
    let out = sb.run(&[
        "--color",
        "always",
        "peek",
        "p",
        "--tail",
        "1",
        "--format",
        "pretty",
        "--timeout",
        "50ms",
    ]);
    assert!(
        out.stdout.contains("\x1b[36m\"data\"\x1b[0m"),
        "{:?}",
        out.stdout
    );
    let out = sb.run(&[
        "peek",
        "p",
        "--tail",
        "1",
        "--format",
        "pretty",
        "--timeout",
        "50ms",
        "--color",
        "never",
    ]);
    assert!(!out.stdout.contains('\x1b'));
    // Colour never applies to JSON Lines.
    let out = sb.run(&[
        "peek",
        "p",
        "--tail",
        "1",
        "--jsonl",
        "--timeout",
        "50ms",
        "--color",
        "always",
    ]);
    assert!(!out.stdout.contains('\x1b'), "{:?}", out.stdout);

    // Both --jsonl and --format: a usage error, whatever the format.
    for f in ["jsonl", "pretty"] {
        let e = sb
            .run(&["peek", "p", "--jsonl", "--format", f])
            .fails("Usage");
        assert_eq!(e["message"], "conflicting output options");
    }
    sb.run(&["peek", "p", "--format", "yaml"]).fails("Usage");
}

#[test]
fn peek_data_only() {
    let sb = Sandbox::new("peek-data-only");
    sb.run(&["pool", "create", "p"]).ok();
    sb.run(&["poke", "p", "--tag", "x", r#"{"a": 1}"#]).ok();
    sb.run(&["poke", "p", r#"{"b": {"c": [true]}}"#]).ok();
    let out = sb.run(&[
        "peek",
        "p",
        "--tail",
        "5",
        "--data-only",
        "--jsonl",
        "--timeout",
        "50ms",
    ]);
    out.timed_out();
    assert_eq!(out.stdout, "{\"a\":1}\n{\"b\":{\"c\":[true]}}\n");
    // Filters still see the envelope.
    let out = sb.run(&[
        "peek",
        "p",
        "--tail",
        "5",
        "--data-only",
        "--tag",
        "x",
        "--where",
        ".seq == 1",
        "--timeout",
        "50ms",
    ]);
    assert_eq!(out.timed_out().jsonl(), [json!({"a": 1})]);
}

#[test]
fn peek_replay_validation() {
    let sb = Sandbox::new("peek-replay");
    let all = pool_of(&sb, 3);
    for args in [
        &["--replay", "1"][..],
        &["--replay=-1", "--tail", "2"],
        &["--replay", "nan", "--tail", "2"],
        &["--replay", "inf", "--since", "1h"],
        &["--replay", "fast", "--tail", "2"],
    ] {
        let mut a = vec!["peek", "p"];
        a.extend_from_slice(args);
        let e = sb.run(&a).fails("Usage");
        assert!(!hint(&e).is_empty(), "{args:?}");
    }
    let out = sb.run(&["peek", "p", "--tail", "2", "--replay", "0"]).ok();
    assert_eq!(out.jsonl(), all[1..]);
    let out = sb
        .run(&["peek", "p", "--tail", "3", "--replay", "0", "--one"])
        .ok();
    assert_eq!(out.jsonl(), all[..1]);
    // Nothing to replay: exit 0 at once.
    let out = sb
        .run(&[
            "peek", "p", "--tail", "2", "--replay", "0", "--where", "false",
        ])
        .ok();
    assert_eq!(out.stdout, "");
}

#[test]
fn peek_create_makes_a_missing_pool() {
    let sb = Sandbox::new("peek-create");
    let e = sb
        .run(&["peek", "p", "--timeout", "50ms"])
        .fails("NotFound");
    assert!(hint(&e).contains("--create"), "{e:?}");
    assert!(!sb.pool_file("p").exists());

    let w = sb.spawn(&["peek", "p", "--create", "--jsonl", "--timeout", "5s"]);
    w.wait_following();
    assert!(sb.pool_file("p").exists());
    assert_eq!(sb.info("p")["file_size"], 1 << 20);
    sb.run(&["poke", "p", r#"{"hello": 1}"#]).ok();
    let m = w.json_line(WAIT);
    check_message(&m, 1, &json!({"hello": 1}), &[]);
}

// ---------------------------------------------------------------- get

#[test]
fn get_by_seq() {
    let sb = Sandbox::new("get");
    let all = pool_of(&sb, 3);
    for (i, m) in all.iter().enumerate() {
        let got = sb.run(&["get", "p", &(i + 1).to_string()]).ok().json();
        assert_eq!(&got, m);
    }
    for seq in ["0", "4", "18446744073709551615"] {
        let e = sb.run(&["get", "p", seq]).fails("NotFound");
        assert_eq!(e["seq"], seq.parse::<u64>().unwrap());
        assert!(
            hint(&e).contains("pool info") || hint(&e).contains("peek"),
            "{e:?}"
        );
    }
    for bad in ["x", "-1", "1.5", "18446744073709551616"] {
        sb.run(&["get", "p", bad]).fails("Usage");
    }
    sb.run(&["get", "p"]).fails("Usage");
    sb.run(&["get", "p", "1", "2"]).fails("Usage");
    let e = sb.run(&["get", "nope", "1"]).fails("NotFound");
    assert!(e["path"].as_str().unwrap().ends_with("nope.plasmite"));

    // Evicted messages are gone: a small pool overwritten many times.
    sb.run(&["pool", "create", "tiny", "--size", "16K"]).ok();
    let many: Vec<Value> = (0..2000)
        .map(|i| json!({"i": i, "pad": "x".repeat(40)}))
        .collect();
    sb.poke_lines("tiny", &many);
    let info = sb.info("tiny");
    let oldest = info["bounds"]["oldest"].as_u64().unwrap();
    assert!(oldest > 1 && info["bounds"]["newest"] == 2000, "{info}");
    sb.run(&["get", "tiny", "1"]).fails("NotFound");
    let m = sb.run(&["get", "tiny", &oldest.to_string()]).ok().json();
    assert_eq!(m["data"], many[oldest as usize - 1]);
    let m = sb.run(&["get", "tiny", "2000"]).ok().json();
    assert_eq!(m["data"], many[1999]);
}

/// A stream record may hold up to 1 MiB (1,048,576 bytes) of JSON text.
#[test]
fn poke_stream_record_limit_is_1_mib() {
    let sb = Sandbox::new("poke-limit");
    sb.run(&["pool", "create", "p", "--size", "4M"]).ok();
    let record = |len: usize| format!(r#"{{"a":"{}"}}"#, "x".repeat(len - 8));
    assert_eq!(record(1 << 20).len(), 1 << 20);
    for mode in ["jsonl", "json", "auto"] {
        sb.run_in(&["poke", "p", "--in", mode], record(1 << 20))
            .ok();
        let out = sb.run_in(&["poke", "p", "--in", mode], record((1 << 20) + 1));
        assert_eq!(out.error()["kind"], "Usage", "{mode}");
    }
    let out = sb.run_in(&["poke", "p", "-e", "skip"], record((1 << 20) + 1) + "\n");
    assert_eq!(out.code(), 1);
    assert_eq!(
        out.stderr_jsonl()[0]["notice"]["details"]["error_kind"],
        "Oversize"
    );
    assert_eq!(sb.messages("p").len(), 3);
}

/// `--where` speaks jq, standard library included.
#[test]
fn peek_where_has_the_jq_standard_library() {
    let sb = Sandbox::new("peek-jq");
    sb.run(&["pool", "create", "p"]).ok();
    sb.run(&[
        "poke",
        "p",
        "--tag",
        "sev1",
        "--tag",
        "billing",
        r#"{"msg": "payment gateway timeout", "n": 1}"#,
    ])
    .ok();
    sb.run(&["poke", "p", "--tag", "sev2", r#"{"level": "info", "n": 2}"#])
        .ok();
    let cases: &[(&str, &[u64])] = &[
        (r#".data.msg | test("TIME"; "i")"#, &[1]),
        (r#".data.msg | startswith("pay")"#, &[1]),
        (r#".data.msg | ascii_downcase | endswith("timeout")"#, &[1]),
        (r#".data.msg | contains("gate")"#, &[1]),
        (r#".data | has("msg")"#, &[1]),
        (r#".meta.tags | any(. == "sev2")"#, &[2]),
        (".meta.tags | length > 1", &[1]),
        (r#"(.data.level == "info") | not"#, &[1]),
        ("[.data.n] | all(. > 1)", &[2]),
        (r#".data.n | tostring | . == "2""#, &[2]),
        (".data | keys | length == 2", &[1, 2]),
        ("select(.data.n > 1) | true", &[2]),
        ("empty", &[]),
    ];
    for (expr, want) in cases {
        let out = sb.run(&[
            "peek",
            "p",
            "--tail",
            "5",
            "--where",
            expr,
            "--jsonl",
            "--timeout",
            "50ms",
        ]);
        out.timed_out();
        let got: Vec<u64> = out
            .jsonl()
            .iter()
            .map(|m| m["data"]["n"].as_u64().unwrap())
            .collect();
        assert_eq!(&got, want, "--where {expr}");
    }
}
