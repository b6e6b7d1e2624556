//! Every error kind, with its exit code and the one-line JSON envelope a
//! non-terminal stderr gets: `{"error":{"kind","message","hint"?,"path"?,"seq"?}}`.
//! None of these may panic.

#[path = "common/cli.rs"]
mod cli;

use std::ffi::OsStr;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use cli::{hint, Sandbox};
use serde_json::json;

#[test]
fn bad_json_and_non_object_data_are_usage_errors() {
    let sb = Sandbox::new("err-json");
    sb.run(&["pool", "create", "p"]).ok();
    for bad in [
        "{bad",
        "{\"a\":}",
        "{\"a\":1",
        "'{\"a\":1}'",
        "{a:1}",
        "{\"a\":1} x",
        "\u{feff}",
    ] {
        let e = sb.run(&["poke", "p", bad]).fails("Usage");
        assert!(!hint(&e).is_empty(), "{bad}: {e:?}");
        assert!(
            e["message"]
                .as_str()
                .unwrap()
                .to_lowercase()
                .contains("json"),
            "{bad}: {e:?}"
        );
    }
    for not_object in ["[1,2]", "\"text\"", "42", "1.5", "true", "null", "[]"] {
        let e = sb.run(&["poke", "p", not_object]).fails("Usage");
        assert!(
            e["message"].as_str().unwrap().contains("object"),
            "{not_object}: {e:?}"
        );
    }
    // The same in a stream.
    let out = sb.run_in(&["poke", "p"], "\"just a string\"\n");
    assert_eq!(out.error()["kind"], "Usage");
    assert_eq!(sb.info("p")["bounds"], json!({}), "nothing was appended");
}

#[test]
fn missing_pool_is_not_found_with_a_create_hint() {
    let sb = Sandbox::new("err-missing");
    let checks: &[&[&str]] = &[
        &["poke", "nope", r#"{"a":1}"#],
        &["poke", "nope", "--tag", "t", r#"{"a":1}"#],
        &["peek", "nope"],
        &["peek", "nope", "--tail", "3", "--where", ".data.a == 1"],
    ];
    for args in checks {
        let e = sb.run(args).fails("NotFound");
        assert!(hint(&e).contains("--create"), "{args:?}: {e:?}");
        assert!(
            e["path"].as_str().unwrap().ends_with("pools/nope.plasmite"),
            "{e:?}"
        );
    }
    // Piped input gets the same advice.
    let e = sb
        .run_in(&["poke", "nope"], "{\"a\":1}\n")
        .fails("NotFound");
    assert!(hint(&e).contains("--create"), "{e:?}");
    for args in [
        &["get", "nope", "1"][..],
        &["pool", "info", "nope"],
        &["doctor", "nope"],
    ] {
        let e = sb.run(args).fails("NotFound");
        assert!(!hint(&e).is_empty(), "{args:?}: {e:?}");
    }
    // A path (contains `/`) that does not exist.
    let e = sb
        .run(&["poke", "./no/such.plasmite", r#"{"a":1}"#])
        .fails("NotFound");
    assert!(!hint(&e).is_empty());
    // Nothing was created along the way.
    assert!(!sb.pools().exists() || fs::read_dir(sb.pools()).unwrap().next().is_none());
}

#[test]
fn already_exists() {
    let sb = Sandbox::new("err-exists");
    sb.run(&["pool", "create", "p"]).ok();
    let e = sb.run(&["pool", "create", "p"]).fails("AlreadyExists");
    assert!(e["path"].as_str().unwrap().ends_with("p.plasmite"));
    assert!(!hint(&e).is_empty());
    // --create on an existing pool just uses it.
    sb.run(&["poke", "p", "--create", r#"{"a":1}"#]).ok();
    sb.run(&[
        "poke",
        "p",
        "--create",
        "--create-size",
        "64K",
        r#"{"a":2}"#,
    ])
    .ok();
    assert_eq!(sb.info("p")["file_size"], 1 << 20);
}

/// Every command that opens a pool, on a damaged pool file: Corrupt, exit 7,
/// with the path and a hint.
fn all_corrupt(sb: &Sandbox, name: &str) {
    let commands: Vec<Vec<&str>> = vec![
        vec!["poke", name, r#"{"a":1}"#],
        vec!["poke", name, "--create", r#"{"a":1}"#],
        vec!["peek", name, "--timeout", "1s"],
        vec!["get", name, "1"],
        vec!["pool", "info", name],
    ];
    for args in commands {
        let e = sb.run(&args).fails("Corrupt");
        assert!(
            e["path"]
                .as_str()
                .unwrap()
                .ends_with(&format!("{name}.plasmite")),
            "{args:?}: {e:?}"
        );
        assert!(!hint(&e).is_empty(), "{args:?}: {e:?}");
    }
    let out = sb.run(&["doctor", name, "--json"]);
    assert_eq!(out.code(), 7);
    assert_eq!(out.json()["reports"][0]["status"], "corrupt");
}

#[test]
fn corrupt_files() {
    let sb = Sandbox::new("err-corrupt");
    fs::create_dir_all(sb.pools()).unwrap();
    // Garbage, short and long.
    fs::write(sb.pool_file("x"), b"this is not a pool").unwrap();
    all_corrupt(&sb, "x");
    fs::write(sb.pool_file("y"), vec![0xC3u8; 1 << 20]).unwrap();
    all_corrupt(&sb, "y");
    // An empty file.
    fs::write(sb.pool_file("e"), b"").unwrap();
    all_corrupt(&sb, "e");
    // A real pool whose header was zeroed.
    sb.run(&["pool", "create", "z"]).ok();
    sb.run(&["poke", "z", r#"{"a":1}"#]).ok();
    let mut bytes = fs::read(sb.pool_file("z")).unwrap();
    bytes[..256].fill(0);
    fs::write(sb.pool_file("z"), &bytes).unwrap();
    all_corrupt(&sb, "z");
    // A truncated pool.
    sb.run(&["pool", "create", "t"]).ok();
    let f = fs::OpenOptions::new()
        .write(true)
        .open(sb.pool_file("t"))
        .unwrap();
    f.set_len(300_000).unwrap();
    all_corrupt(&sb, "t");
    // The damaged files are left alone.
    assert_eq!(fs::read(sb.pool_file("x")).unwrap(), b"this is not a pool");
}

#[test]
fn oversized_message_is_a_usage_error() {
    let sb = Sandbox::new("err-oversize");
    sb.run(&["pool", "create", "small", "--size", "16K"]).ok();
    let big = format!(r#"{{"big":"{}"}}"#, "x".repeat(20_000));
    let e = sb.run(&["poke", "small", &big]).fails("Usage");
    assert!(!hint(&e).is_empty());
    let out = sb.run_in(
        &["poke", "small"],
        format!("{{\"a\":1}}\n{big}\n{{\"a\":3}}\n"),
    );
    assert_eq!(out.error()["kind"], "Usage");
    // A message that fits is fine, and the pool is intact.
    sb.run(&[
        "poke",
        "small",
        &format!(r#"{{"fits":"{}"}}"#, "y".repeat(5_000)),
    ])
    .ok();
    sb.run(&["doctor", "small"]).ok();
}

#[test]
fn bad_flags_and_values_are_usage_errors() {
    let sb = Sandbox::new("err-flags");
    sb.run(&["pool", "create", "p"]).ok();
    let cases: &[&[&str]] = &[
        &["peek", "p", "--bogus"],
        &["poke", "p", "--tag"],
        &["poke", "p", "--in", "xml", r#"{"a":1}"#],
        &["poke", "p", "--errors", "ignore", r#"{"a":1}"#],
        &["peek"],
        &["poke"],
        &["get", "p"],
        &["pool"],
        &["pool", "frobnicate"],
        &["pool", "info"],
        &["frobnicate"],
        &["peek", "p", "--tail"],
        &["peek", "p", "--tail", "ten"],
        &["peek", "p", "--timeout", "forever"],
        &["peek", "p", "--timeout", "10"],
        &["peek", "p", "--since", "last week"],
        &["peek", "p", "--format", "xml"],
        &["peek", "p", "extra-positional"],
        &["pool", "create", "q", "--size", "big"],
        &["pool", "create", "q", "--size", "10X"],
        &[
            "poke",
            "q",
            "--create",
            "--create-size",
            "0.5M",
            r#"{"a":1}"#,
        ],
        &[
            "poke",
            "p",
            "--retry",
            "1",
            "--retry-delay",
            "soon",
            r#"{"a":1}"#,
        ],
        &["--color"],
        &["--dir"],
    ];
    for args in cases {
        let out = sb.run(args);
        if args == &["pool"] {
            // `pls pool` alone prints the pool help (exit 0) in this build.
            out.no_panic();
            continue;
        }
        let e = out.fails("Usage");
        assert!(!hint(&e).is_empty(), "{args:?}: {e:?}");
    }
    assert!(!sb.pool_file("q").exists());
}

#[test]
fn get_of_a_missing_seq() {
    let sb = Sandbox::new("err-seq");
    sb.run(&["poke", "p", "--create", r#"{"a":1}"#]).ok();
    let e = sb.run(&["get", "p", "2"]).fails("NotFound");
    assert_eq!(e["seq"], 2);
    assert!(
        hint(&e).contains("pool info") || hint(&e).contains("--tail"),
        "{e:?}"
    );
}

/// Arguments that are odd in every way never crash the program.
#[test]
fn never_a_panic() {
    let sb = Sandbox::new("err-odd");
    sb.run(&["pool", "create", "p", "--size", "64K"]).ok();
    let long = "x".repeat(100_000);
    let odd: Vec<Vec<&OsStr>> = vec![
        vec![OsStr::from_bytes(b"\xff\xfe")],
        vec![
            OsStr::new("poke"),
            OsStr::from_bytes(b"p\xff"),
            OsStr::new(r#"{"a":1}"#),
        ],
        vec![
            OsStr::new("poke"),
            OsStr::new("p"),
            OsStr::from_bytes(b"{\"a\":\"\xff\"}"),
        ],
        vec![
            OsStr::new("peek"),
            OsStr::new("p"),
            OsStr::new("--tag"),
            OsStr::from_bytes(b"\xc0"),
        ],
        vec![
            OsStr::new("peek"),
            OsStr::new("p"),
            OsStr::new("--where"),
            OsStr::new(""),
        ],
        vec![
            OsStr::new("peek"),
            OsStr::new("p"),
            OsStr::new("--where"),
            OsStr::new("(((((((((("),
        ],
        vec![
            OsStr::new("peek"),
            OsStr::new("p"),
            OsStr::new("--where"),
            OsStr::new(&long),
        ],
        vec![
            OsStr::new("peek"),
            OsStr::new("p"),
            OsStr::new("-n"),
            OsStr::new("18446744073709551615"),
            OsStr::new("--timeout"),
            OsStr::new("10ms"),
        ],
        vec![
            OsStr::new("peek"),
            OsStr::new("p"),
            OsStr::new("--since"),
            OsStr::new("999999999999d"),
            OsStr::new("--timeout"),
            OsStr::new("10ms"),
        ],
        vec![
            OsStr::new("peek"),
            OsStr::new("p"),
            OsStr::new("--since"),
            OsStr::new("0001-01-01T00:00:00Z"),
            OsStr::new("--timeout"),
            OsStr::new("10ms"),
        ],
        vec![
            OsStr::new("peek"),
            OsStr::new("p"),
            OsStr::new("--timeout"),
            OsStr::new("18446744073709551615h"),
        ],
        vec![
            OsStr::new("peek"),
            OsStr::new("p"),
            OsStr::new("--replay"),
            OsStr::new("1e308"),
            OsStr::new("-n"),
            OsStr::new("1"),
        ],
        vec![
            OsStr::new("pool"),
            OsStr::new("create"),
            OsStr::new("q"),
            OsStr::new("--size"),
            OsStr::new("16G"),
            OsStr::new("--index-capacity"),
            OsStr::new("4294967296"),
        ],
        vec![OsStr::new("pool"), OsStr::new("create"), OsStr::new("")],
        vec![OsStr::new("poke"), OsStr::new(""), OsStr::new(r#"{"a":1}"#)],
        vec![
            OsStr::new("poke"),
            OsStr::new("p"),
            OsStr::new("--tag"),
            OsStr::new(&long),
            OsStr::new(r#"{"a":1}"#),
        ],
        vec![
            OsStr::new("get"),
            OsStr::new("p"),
            OsStr::new("99999999999999999999999"),
        ],
        vec![
            OsStr::new("--dir"),
            OsStr::new(""),
            OsStr::new("pool"),
            OsStr::new("list"),
        ],
        vec![
            OsStr::new("--dir"),
            OsStr::new("/dev/null"),
            OsStr::new("pool"),
            OsStr::new("list"),
        ],
        vec![
            OsStr::new("--dir"),
            OsStr::new("/dev/null"),
            OsStr::new("poke"),
            OsStr::new("p"),
            OsStr::new("--create"),
            OsStr::new(r#"{"a":1}"#),
        ],
        vec![OsStr::new("--"), OsStr::new("peek")],
        vec![OsStr::new("-")],
    ];
    assert!(sb.pool_file("p").is_file());
    for (i, args) in odd.into_iter().enumerate() {
        let mut c = sb.cmd(&[]);
        c.args(&args);
        let out = cli::run(c, None, cli::LIMIT);
        if i == 0 {
            // A command name that is not even UTF-8.
            out.fails("Usage");
        }
        if out.code() != 0 && out.code() != 124 {
            // Failures are reported as one JSON error with a matching exit code.
            out.error();
        }
    }
    // Odd stdin.
    for input in [
        &b"\xff\xfe\x00\x01"[..],
        b"{\"a\":\"\xff\"}\n",
        b"\x1e\x1e\x1e",
        b"data:\n\n",
        b"{{{{{{{{",
        b"\0\0\0",
    ] {
        let out = sb.run_in(&["poke", "p", "-e", "skip"], input.to_vec());
        assert!([0, 1, 2].contains(&out.code()), "{out:?}");
    }
}

/// A tmpfs mount of `size`, unmounted on drop.
struct Mount(PathBuf);

impl Mount {
    fn tmpfs(at: &Path, size: &str) -> Option<Mount> {
        fs::create_dir_all(at).unwrap();
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(at)
            .output()
            .is_ok_and(|o| o.status.success());
        ok.then(|| Mount(at.to_path_buf()))
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

#[test]
fn full_disk_is_an_io_error_and_leaves_no_file() {
    let sb = Sandbox::new("err-disk");
    let dir = sb.path("small-disk");
    let Some(_mount) = Mount::tmpfs(&dir, "1m") else {
        eprintln!("SKIPPED full_disk_is_an_io_error_and_leaves_no_file: cannot mount a tmpfs here (needs root)");
        return;
    };
    let d = dir.to_str().unwrap();
    let e = sb
        .run(&["--dir", d, "pool", "create", "big", "--size", "4M"])
        .fails("Io");
    assert!(!hint(&e).is_empty());
    assert!(
        !dir.join("big.plasmite").exists(),
        "a failed create left a file"
    );
    let e = sb
        .run(&[
            "--dir",
            d,
            "poke",
            "big",
            "--create",
            "--create-size",
            "4M",
            r#"{"a":1}"#,
        ])
        .fails("Io");
    assert!(e["path"].is_string());
    assert!(!dir.join("big.plasmite").exists());
    assert_eq!(fs::read_dir(&dir).unwrap().count(), 0);

    // A pool that was created owns its space: filling the rest of the disk
    // does not stop it from taking (and overwriting) messages.
    sb.run(&["--dir", d, "pool", "create", "fits", "--size", "512K"])
        .ok();
    let filler = fs::write(dir.join("filler"), vec![1u8; 1 << 20]);
    assert!(filler.is_err(), "the disk should be full now");
    let n = 20_000;
    let out = sb
        .run_in(&["--dir", d, "poke", "fits"], cli::id_lines(1, n))
        .ok();
    assert_eq!(out.stdout.lines().count() as u64, n);
    let i = sb
        .run(&["--dir", d, "pool", "info", "fits", "--json"])
        .ok()
        .json();
    assert_eq!(i["bounds"]["newest"], n);
    sb.run(&["--dir", d, "doctor", "fits"]).ok();
}
